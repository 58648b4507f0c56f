// Matmuls with a fused normalization: tiled_matmul_auto with act LAYERNORM and SOFTMAX, whose
// LOOP_WS issue the statistics passes themselves (docs/ACCELERATOR.md, "LOOP_WS"), then the same
// commands from the host (TILED_COMMANDS); every element against the C reference
// (spinel_reference.h after an integer matmul).
//
//   Y = LayerNorm(A·B + D)    D: acc_t bias, the first loop of each output block loads it
//   P = Softmax(A·B)          no bias
//
// Usage: loop_normalization [M N K]  (any sizes whose row of N fits half the accumulator;
// default: 3 rows of tiles, N and K not multiples of DIM, K split over loops by
// spinel_force_tiles_K). Needs a configuration with normalizations.
#include "common/testbench.h"
#include "spinel_reference.h"
#include "spinel_tiled.h"

#if !SPINEL_HAS_WS
#error "loop_normalization.c needs the weight-stationary dataflow (LOOP_WS is weight-stationary): use a configuration whose dataflow is \"ws\" or \"both\""
#endif

#ifndef HAS_NORMALIZATIONS
#error "loop_normalization.c needs a configuration with normalizations (e.g. the transformer preset)"
#endif

static size_t M = 3 * DIM - 1, N = 2 * DIM + 3, K = 3 * DIM - 2;
static const acc_scale_t LAYERNORM_SCALE = 24.0f;
// i-exp constants for an input scale of 1/16 (docs/NUMERICS.md's formulas, as encoder_layer.c).
static const acc_t QLN2 = 11, QLN2_INV = 65536 / 11, EXP_QB = 21, EXP_QC = 245;

static void* allocate(size_t bytes) {
  void* p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
  return p;
}

// acc = A·B (+ D), wrapping in acc_t.
static void ref_matmul(const elem_t* A, const elem_t* B, const acc_t* D, acc_t* acc) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      int64_t sum = D ? D[i * N + j] : 0;
      for (size_t k = 0; k < K; k++) sum += (int64_t)A[i * K + k] * B[k * N + j];
      acc[i * N + j] = tb_wrap_acc(sum);
    }
}

static void check(const char* what, const elem_t* got, const elem_t* want) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++)
      TB_CHECK(got[i * N + j] == want[i * N + j], "%s [%zu][%zu] = %d, expected %d", what, i, j, got[i * N + j], want[i * N + j]);
}

int main(int argc, char** argv) {
  if (argc == 4) {
    M = (size_t)atoi(argv[1]);
    N = (size_t)atoi(argv[2]);
    K = (size_t)atoi(argv[3]);
  } else if (argc != 1) {
    fprintf(stderr, "usage: loop_normalization [M N K]\n");
    return 2;
  }
  if (M == 0 || N == 0 || K == 0) {
    fprintf(stderr, "loop_normalization: M, N and K must be positive\n");
    return 2;
  }
  elem_t *A = allocate(M * K), *B = allocate(K * N), *out = allocate(M * N), *want = allocate(M * N);
  acc_t *D = allocate(M * N * sizeof(acc_t)), *acc = allocate(M * N * sizeof(acc_t));
  tb_fill(A, M * K, 40);
  tb_fill(B, K * N, 12);
  tb_fill_acc(D, M * N, 3000);
  // Softmax inputs: scores of a few units of 1/16 (A·B is up to ~|40·12·K|; shrink B's range).
  elem_t* Bs = allocate(K * N);
  tb_fill(Bs, K * N, 2);
  // Tiles: at the default size, K split over two loops, so that D and ex_accumulate meet (given
  // sizes keep tiled_matmul_auto's choice, which splits K when the operands need it).
  const size_t tiles_K = (K + DIM - 1) / DIM;
  if (argc == 1) spinel_force_tiles_K = tiles_K > 1 ? (tiles_K + 1) / 2 : 0;

  const enum tiled_matmul_type_t types[2] = {WS, TILED_COMMANDS};
  const char* names[2] = {"LOOP_WS", "host-issued commands"};
  for (int t = 0; t < 2; t++) {
    char what[64];
    // LayerNorm(A·B + D).
    memset(out, 0, M * N);
    uint64_t start = spinel_cycles();
    tiled_matmul_auto(M, N, K, A, B, D, out, K, N, N, N, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, LAYERNORM,
                      LAYERNORM_SCALE, 0, false, false, false, false, false, 0, types[t]);
    gemmini_fence();
    const uint64_t layernorm_cycles = spinel_cycles() - start;
    ref_matmul(A, B, D, acc);
    for (size_t i = 0; i < M; i++) spinel_layernorm_row(&acc[i * N], N, LAYERNORM_SCALE, &want[i * N]);
    snprintf(what, sizeof what, "LayerNorm (%s)", names[t]);
    check(what, out, want);

    // Softmax(A·Bs): CONFIG_NORM's MSB and constants first, the MSB cleared after.
    memset(out, 0, M * N);
    start = spinel_cycles();
    gemmini_config_norm(QLN2, 0, 0, 1, 0, EXP_QB, EXP_QC);
    gemmini_config_norm(QLN2_INV, 1, 0, 1, 0, EXP_QB, EXP_QC);
    tiled_matmul_auto(M, N, K, A, Bs, NULL, out, K, N, 0, N, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, 0, SOFTMAX,
                      ACC_SCALE_IDENTITY, 0, false, false, false, false, false, 0, types[t]);
    gemmini_config_norm(0, 0, 0, 0, 0, 0, 0);
    gemmini_fence();
    const uint64_t softmax_cycles = spinel_cycles() - start;
    ref_matmul(A, Bs, NULL, acc);
    for (size_t i = 0; i < M; i++) spinel_softmax_row(&acc[i * N], N, QLN2, QLN2_INV, EXP_QB, EXP_QC, &want[i * N]);
    snprintf(what, sizeof what, "Softmax (%s)", names[t]);
    check(what, out, want);
    printf("%zu×%zu×%zu through %s: LayerNorm(A·B + D) %" PRIu64 " cycles, Softmax(A·B) %" PRIu64 " cycles\n", M, N, K, names[t],
           layernorm_cycles, softmax_cycles);
  }
  return tb_finish("loop_normalization");
}
