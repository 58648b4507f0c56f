// Compressed-token attention through the library calls spinel_cta_attention (one head) and
// spinel_cta_attention_heads (all heads of a layer: the clustering once, then every head)
// (spinel_library.h; docs/CTA.md, "One head as one program"): every product on the mesh through
// tiled_matmul_auto, every CTA step a command, the cluster counts read back with CTA_STATUS.
// Each head's counts and output rows are compared with the C reference spinel_cta_head_reference
// (spinel_reference.h), which the tests check against the golden model's CTAAttention.run.
//
//   spinel sim --config Testbenches/configs/small-cta.json --testbench Testbenches/cta_attention.c [-- n width d [heads [prototypes]]]
//
// Defaults: n = SPINEL_CTA_MAX_TOKENS tokens of width 2·DIM + 1 (not a multiple of DIM), head
// size DIM + 1, one head (spinel_cta_attention; 2 to 4 heads use spinel_cta_attention_heads with
// each head's own linears, scales and λ), from 3 prototypes (the tokens cluster; more prototypes,
// up to n, give more clusters).
#include <stdlib.h>

#include "common/testbench.h"
#include "spinel_reference.h"

#if !SPINEL_HAS_CTA
#error "cta_attention.c needs a configuration with CTA (e.g. Testbenches/configs/small-cta.json)"
#endif

#define L SPINEL_CTA_HASH_LENGTH
#define MAX_HEADS 4

static elem_t random_int8(int range) { return (elem_t)((int)(tb_random() % (2u * (unsigned)range + 1)) - range); }

static float reciprocal_scale(unsigned low, unsigned spread) { return 1.0f / (float)(low + tb_random() % spread); }

int main(int argc, char** argv) {
  tb_seed = 0xC7A47u;
  const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : SPINEL_CTA_MAX_TOKENS;
  const size_t width = argc > 2 ? strtoul(argv[2], NULL, 10) : 2 * DIM + 1;
  const size_t d = argc > 3 ? strtoul(argv[3], NULL, 10) : DIM + 1;
  const size_t heads = argc > 4 ? strtoul(argv[4], NULL, 10) : 1;
  const size_t count = argc > 5 ? strtoul(argv[5], NULL, 10) : 3;
  if (n < 1 || n > SPINEL_CTA_MAX_TOKENS || width < 1 || d < 1 || heads < 1 || heads > MAX_HEADS || count < 1 || count > n) {
    fprintf(stderr, "cta_attention: n must be 1 to %d, width and d at least 1, heads 1 to %d, prototypes 1 to n (got %zu, %zu, %zu, %zu, %zu)\n",
            SPINEL_CTA_MAX_TOKENS, MAX_HEADS, n, width, d, heads, count);
    return 2;
  }
  elem_t* x = malloc(n * width);
  // At least 4 prototypes drawn (the random stream of the default 3 stays what it was).
  const size_t drawn = count > 4 ? count : 4;
  elem_t* prototypes = malloc(drawn * width);
  for (size_t i = 0; i < drawn * width; i++) prototypes[i] = random_int8(100);
  for (size_t t = 0; t < n; t++)
    for (size_t j = 0; j < width; j++)
      x[t * width + j] = (elem_t)tb_saturate(prototypes[(tb_random() % count) * width + j] + random_int8(3), -128, 127);

  // Three LSH instances: int8 directions, bucket width w = 20000 (levels 0, 1) and 10000 (level 2),
  // narrower by 3/prototypes past 3 prototypes (so that more prototypes make more clusters).
  static elem_t directions[3][L * 64];
  static acc_t offsets[3][L] row_align_acc(1);
  spinel_cta_hash_t hashes[3];
  int64_t reference_offsets[3][L];
  int64_t multipliers[3];
  unsigned shifts[3];
  TB_CHECK(width <= 64, "width %zu: at most 64 in this test", width);
  for (int level = 0; level < 3; level++) {
    const double w = (level == 2 ? 10000.0 : 20000.0) * (count > 3 ? 3.0 / (double)count : 1.0);
    for (size_t i = 0; i < L * width; i++) directions[level][i] = random_int8(60);
    for (int i = 0; i < L; i++) reference_offsets[level][i] = offsets[level][i] = (acc_t)(tb_random() % (unsigned)w);
    tb_cta_reciprocal(w, &multipliers[level], &shifts[level]);
    hashes[level] = (spinel_cta_hash_t){directions[level], offsets[level], (uint32_t)multipliers[level], shifts[level]};
  }
  static elem_t weights[3 * MAX_HEADS][64 * 64];
  static acc_t biases[3 * MAX_HEADS][64];
  spinel_cta_linear_t linears[3 * MAX_HEADS];
  int64_t reference_biases[3 * MAX_HEADS][64];
  float store_scales[3 * MAX_HEADS], lambdas[MAX_HEADS], output_scales[MAX_HEADS];
  TB_CHECK(d <= 64, "d %zu: at most 64 in this test", d);
  for (size_t m = 0; m < 3 * heads; m++) {
    for (size_t i = 0; i < d * width; i++) weights[m][i] = random_int8(50);
    for (size_t i = 0; i < d; i++) reference_biases[m][i] = biases[m][i] = (acc_t)((int)(tb_random() % 4001) - 2000);
    linears[m] = (spinel_cta_linear_t){weights[m], biases[m]};
    store_scales[m] = reciprocal_scale(300, 600);
  }
  for (size_t h = 0; h < heads; h++) {
    lambdas[h] = 0.2f / (float)(h + 1);
    output_scales[h] = 2.0f + (float)h;
  }

  // The reference, head by head.
  elem_t* expected = malloc(n * d * heads);
  size_t expected_counts[3];
  const elem_t* reference_directions[3] = {directions[0], directions[1], directions[2]};
  const int64_t* offset_rows[3] = {reference_offsets[0], reference_offsets[1], reference_offsets[2]};
  for (size_t h = 0; h < heads; h++) {
    long overflow_token = -1;
    const elem_t* reference_weights[3] = {weights[3 * h], weights[3 * h + 1], weights[3 * h + 2]};
    const int64_t* bias_rows[3] = {reference_biases[3 * h], reference_biases[3 * h + 1], reference_biases[3 * h + 2]};
    const int failed = spinel_cta_head_reference(x, n, width, reference_directions, offset_rows, multipliers, shifts, reference_weights,
                                                 bias_rows, d, store_scales + 3 * h, lambdas[h], output_scales[h], expected + h * n * d,
                                                 expected_counts, &overflow_token);
    TB_CHECK(failed < 0, "the reference's level %d overflowed at token %ld: the case tests nothing", failed, overflow_token);
  }
  TB_CHECK(expected_counts[0] < n && expected_counts[1] < n, "the tokens do not cluster (k0 %zu, k1 %zu of %zu)", expected_counts[0],
           expected_counts[1], n);

  // The accelerator: n rows of heads·d outputs, head h in columns h·d ..< (h + 1)·d.
  elem_t* out = malloc(n * d * heads);
  memset(out, 0x55, n * d * heads);
  size_t counts[3] = {0, 0, 0};
  const uint64_t start = spinel_cycles();
  const int result = heads == 1 ? spinel_cta_attention(n, width, d, x, width, hashes, linears, store_scales, lambdas[0], output_scales[0], out, d, counts)
                                : spinel_cta_attention_heads(n, width, heads, d, x, width, hashes, linears, store_scales, lambdas, output_scales, out,
                                                             heads * d, counts);
  const uint64_t cycles = spinel_cycles() - start;
  TB_CHECK(result == 0, "the library call returned %d (error %u: %s)", result, spinel_error_code(), spinel_error_text());
  for (int level = 0; level < 3; level++)
    TB_CHECK(counts[level] == expected_counts[level], "k%d: %zu, the reference %zu", level, counts[level], expected_counts[level]);
  for (size_t h = 0; h < heads; h++) {
    size_t wrong = 0;
    for (size_t t = 0; t < n; t++)
      for (size_t j = 0; j < d; j++) wrong += out[t * heads * d + h * d + j] != expected[h * n * d + t * d + j];
    TB_CHECK(wrong == 0, "head %zu: %zu of %zu output elements differ from the reference (first: %d against %d)", h, wrong, n * d,
             out[h * d], expected[h * n * d]);
  }
  TB_CHECK(spinel_error_code() == 0, "the accelerator reports error %u: %s", spinel_error_code(), spinel_error_text());
  printf("cta_attention: n %zu, width %zu, d %zu, %zu head%s, k %zu %zu %zu, %" PRIu64 " cycles\n", n, width, d, heads, heads == 1 ? "" : "s",
         counts[0], counts[1], counts[2], cycles);
  free(x); free(prototypes); free(expected); free(out);
  return tb_finish("cta_attention");
}
