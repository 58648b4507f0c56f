// Spinel's numerics extensions (docs/NUMERICS.md; encodings in docs/ACCELERATOR.md "Numerics
// extensions") against the C reference in spinel_reference.h, on rows of J = 3·DIM − 2 elements
// over several mvouts, each column block with its own per-lane parameters:
//   - the per-lane requantizer (LOAD_REQUANT, CONFIG_ST K) on plain stores, ties and the K and M
//     extremes in the first round;
//   - the lane scales (LOAD_LANE_SCALES) with ReLU;
//   - the two-segment I-GELU (activation 7, constants by CONFIG_NORM constant sets) after the
//     requantizer;
//   - LayerNorm whose statistics passes see the requantized values;
//   - Softmax relative to the row maximum (activation 5) after the requantizer, then P·V-like
//     rows stored with the row scale ρ ⊗ acc_scale (scale source 2);
//   - at the end, a LOAD_LANE_SCALES with a NaN: invalidScale at its index, older than a younger
//     refused command, and the lane scales unchanged.
// Usage: numerics_extensions [ROUNDS] (default 3: the first three rounds hold the ties and the
// extremes); every round draws new rows and parameters, ROWS rows of each kind.
// Needs a configuration with hasNumericsExtensions (Testbenches/configs/small-numerics.json).
#include <stdlib.h>
#include <string.h>

#include "common/testbench.h"
#include "spinel_reference.h"

#ifndef HAS_NUMERICS_EXTENSIONS
#error "numerics_extensions.c needs a configuration with hasNumericsExtensions (Testbenches/configs/small-numerics.json)"
#endif

#define ROWS DIM
#define J (3 * DIM - 2)
#define CHUNKS ((J + DIM - 1) / DIM)
#define ACC (1u << 31)
#define Y_ROWS (CHUNKS * ROWS)          // the P·V-like rows, after x's
#define PARAMS (2 * CHUNKS * ROWS)      // accumulator row of chunk c's lane parameters: PARAMS + c

enum { SUM = 1, MEAN = 2, VARIANCE = 3, INV_STDDEV = 4, MAX = 5, SUM_EXP = 6, INV_SUM_EXP = 7 };

static acc_t x[ROWS][J] row_align_acc(1);
static acc_t y[ROWS][J] row_align_acc(1);
static acc_t lanes[J] row_align_acc(1);
static elem_t out[ROWS][J] row_align(1);
static elem_t expected[ROWS][J];
static acc_t requantized[ROWS][J];
static uint16_t multipliers[J];
static long rows_checked[5];

static int width_of(int c) { return J - c * DIM < DIM ? J - c * DIM : DIM; }

static void load_block(acc_t (*m)[J], uint32_t first) {
  gemmini_extended4_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  for (int c = 0; c < CHUNKS; c++) gemmini_extended_mvin(&m[0][c * DIM], ACC | (first + (uint32_t)(c * ROWS)), width_of(c), ROWS);
}

// `lanes` (J values) into one accumulator row per chunk.
static void load_lanes(void) {
  gemmini_extended4_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  for (int c = 0; c < CHUNKS; c++) gemmini_extended_mvin(&lanes[c * DIM], ACC | (uint32_t)(PARAMS + c), width_of(c), 1);
}

// New multipliers M_j into `lanes` and the accumulator; x' computed on the host with K.
static void new_multipliers(unsigned k, int round) {
  for (int j = 0; j < J; j++) {
    uint32_t m = tb_random() & 0xFFFF;
    const int edges = round == 1 || round == 2;
    if (edges && j == 0) m = 0xFFFF;
    if (edges && j == 1) m = 0;
    if (edges && j == 2) m = 70000;   // saturates to 65535 at LOAD_REQUANT
    lanes[j] = (acc_t)m;
    multipliers[j] = (uint16_t)(m > 0xFFFF ? 0xFFFF : m);
  }
  load_lanes();
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++) requantized[r][j] = spinel_requantize(x[r][j], multipliers[j], k);
}

// One pass or output mvout per chunk of x, each after its chunk's LOAD_REQUANT when `requant`.
static void over_chunks(int command_each, int command_last, int requant, elem_t* destination) {
  for (int c = 0; c < CHUNKS; c++) {
    if (requant) spinel_load_requant(ACC | (uint32_t)(PARAMS + c), width_of(c));
    const int command = c == CHUNKS - 1 ? command_last : command_each;
    gemmini_extended_mvout(destination ? destination + c * DIM : &out[0][0], ACC | (uint32_t)command << 26 | (uint32_t)(c * ROWS),
                           width_of(c), ROWS);
  }
}

static void compare(const char* what, int kind) {
  gemmini_fence();
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++)
      TB_CHECK(out[r][j] == expected[r][j], "%s [%d][%d] = %d, expected %d", what, r, j, out[r][j], expected[r][j]);
  rows_checked[kind] += ROWS;
}

static acc_scale_t random_scale(void) {
  const int exponent = (int)(tb_random() % 24) - 16;
  const float magnitude = (1.0f + (float)(tb_random() % 1024) / 1024.0f) * (exponent >= 0 ? (float)(1 << exponent) : 1.0f / (float)(1 << -exponent));
  return (acc_scale_t)(tb_random() % 4 == 0 ? -magnitude : magnitude);
}

static void round_of_tests(int round) {
  tb_fill_normalization_rows(&x[0][0], ROWS, J);
  if (round == 0)  // exact halves of RRS(x·1, 2) in row 0: 0.5 → 0, 1.5 → 2, −0.5 → 0, −1.5 → −2
    for (int j = 0; j < J; j++) x[0][j] = (acc_t)((j % 4 < 2 ? 2 : -2) + 4 * (j % 2));
  if (round < 3) {  // the int32 extremes: x'·M saturates at K = 1, keeps ≈ 1 at K = 47
    for (int j = 0; j < J; j++) x[3][j] = j % 2 ? INT32_MIN : INT32_MAX;
  }
  load_block(x, 0);

  // Requantizer, plain store (activation 0).
  const unsigned k = round == 0 ? 2 : round == 1 ? 47 : round == 2 ? 1 : 8 + tb_random() % 24;
  new_multipliers(k, round);
  if (round == 0) {
    for (int j = 0; j < J; j++) lanes[j] = 1;
    load_lanes();
    for (int r = 0; r < ROWS; r++)
      for (int j = 0; j < J; j++) requantized[r][j] = spinel_requantize(x[r][j], 1, k);
  }
  acc_scale_t scale = round == 0 ? (acc_scale_t)1.0f : random_scale();
  spinel_config_st(J * sizeof(elem_t), NO_ACTIVATION, scale, k, SPINEL_SCALE_STORE);
  over_chunks(0, 0, 1, &out[0][0]);
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++) expected[r][j] = ACC_SCALE(requantized[r][j], scale);
  compare("requantizer", 0);

  // Lane scales with ReLU, no requantizer.
  static acc_scale_t scales[J];
  for (int j = 0; j < J; j++) {
    scales[j] = random_scale();
    memcpy(&lanes[j], &scales[j], sizeof(acc_t));
  }
  load_lanes();
  spinel_config_st(J * sizeof(elem_t), RELU, ACC_SCALE_IDENTITY, 0, SPINEL_SCALE_LANES);
  for (int c = 0; c < CHUNKS; c++) {
    spinel_load_lane_scales(ACC | (uint32_t)(PARAMS + c), width_of(c));
    gemmini_extended_mvout(&out[0][c * DIM], ACC | (uint32_t)(c * ROWS), width_of(c), ROWS);
  }
  for (int r = 0; r < ROWS; r++) {
    spinel_lane_scale_row(x[r], J, scales, expected[r]);
    for (int j = 0; j < J; j++) expected[r][j] = expected[r][j] < 0 ? 0 : expected[r][j];
  }
  compare("lane scales with ReLU", 1);

  // Two-segment I-GELU after the requantizer, constants for an input unit of 0.005 … 0.05.
  const float s = 0.005f + (float)(tb_random() % 1000) / 1000.0f * 0.045f;
  const float s_prime = s / 1.41421356f, a = -0.2284088f * s_prime * s_prime;
  const spinel_igelu2_constants_t gelu = {(acc_t)(-2.37091198f / s_prime), (acc_t)(1.31460745f / a), (acc_t)(-1.83209186f / s_prime),
                                          (acc_t)(0.99717067f / a), (acc_t)(0.81734265f / s_prime), (acc_t)(1.0f / a)};
  spinel_config_igelu2(gelu.qb1, gelu.qc1, gelu.qt, gelu.qb2, gelu.qc2, gelu.q1);
  const unsigned gelu_k = 16 + tb_random() % 8;
  new_multipliers(gelu_k, round + 3);
  gemmini_config_norm(0, 0, 0, 1, 0, 0, 0);
  scale = random_scale();
  spinel_config_st(J * sizeof(elem_t), IGELU, scale, gelu_k, SPINEL_SCALE_STORE);
  over_chunks(0, 0, 1, &out[0][0]);
  for (int r = 0; r < ROWS; r++) spinel_igelu2_row(requantized[r], J, gelu, scale, expected[r]);
  compare("two-segment I-GELU", 2);

  // LayerNorm (activation 2) whose passes see the requantized values.
  const unsigned norm_k = 1 + tb_random() % 16;
  new_multipliers(norm_k, round + 3);
  gemmini_config_norm(0, 0, 0, 0, 0, 0, 0);
  scale = random_scale();
  spinel_config_st(J * sizeof(elem_t), LAYERNORM, scale, norm_k, SPINEL_SCALE_STORE);
  over_chunks(SUM, MEAN, 1, NULL);
  over_chunks(VARIANCE, INV_STDDEV, 1, NULL);
  over_chunks(0, 0, 1, &out[0][0]);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_row(requantized[r], J, scale, expected[r]);
  compare("LayerNorm after the requantizer", 3);

  // Softmax relative to the maximum (activation 5) after the requantizer, then the row scale.
  const float softmax_s = 0.01f + (float)(tb_random() % 1000) / 1000.0f * 0.2f;
  const acc_t qln2 = (acc_t)(0.693147f / softmax_s), qln2_inv = 65536 / qln2, qb = (acc_t)(1.353f / softmax_s),
              qc = (acc_t)(0.344f / (0.3585f * softmax_s * softmax_s));
  gemmini_config_norm(qln2, 0, 0, 1, 0, qb, qc);
  gemmini_config_norm(qln2_inv, 1, 0, 1, 0, qb, qc);
  const unsigned softmax_k = 4 + tb_random() % 12;
  new_multipliers(softmax_k, round + 3);
  spinel_config_st(J * sizeof(elem_t), RELU, ACC_SCALE_IDENTITY, softmax_k, SPINEL_SCALE_STORE);  // RELU with the MSB: 5
  over_chunks(MAX, MAX, 1, NULL);
  over_chunks(SUM_EXP, INV_SUM_EXP, 1, NULL);
  over_chunks(0, 0, 1, &out[0][0]);
  float rho[ROWS];
  for (int r = 0; r < ROWS; r++) spinel_softmax_max_row(requantized[r], J, qln2, qln2_inv, qb, qc, expected[r], &rho[r]);
  compare("Softmax relative to the maximum", 4);

  tb_fill_normalization_rows(&y[0][0], ROWS, J);
  load_block(y, Y_ROWS);
  gemmini_config_norm(qln2, 0, 0, 0, 0, qb, qc);  // the MSB cleared: activation 0 with the row scale
  scale = random_scale();
  spinel_config_st(J * sizeof(elem_t), NO_ACTIVATION, scale, 0, SPINEL_SCALE_ROW);
  for (int c = 0; c < CHUNKS; c++)
    gemmini_extended_mvout(&out[0][c * DIM], ACC | (uint32_t)(Y_ROWS + c * ROWS), width_of(c), ROWS);
  for (int r = 0; r < ROWS; r++) spinel_row_scale_row(y[r], J, rho[r], scale, expected[r]);
  compare("row scale", 4);
}

// A LOAD_LANE_SCALES with a NaN in a loaded lane fails with invalidScale (found in the store
// controller when its row arrives) and changes no scale; a younger command that the dispatcher
// refuses at once (CONFIG_ST K = 48) does not hide it: the oldest failure is reported.
static void bad_lane_scales(void) {
  gemmini_fence();
  const float good = 2.0f, nan = __builtin_nanf("");
  for (int j = 0; j < J; j++) memcpy(&lanes[j], j == 1 ? &nan : &good, sizeof(acc_t));
  load_lanes();
  spinel_config_st(J * sizeof(elem_t), NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, SPINEL_SCALE_LANES);
  spinel_load_lane_scales(ACC | (uint32_t)PARAMS, 1);  // lane 0 only: 2.0
  gemmini_fence();
  const uint64_t failing = spinel_commands();
  spinel_load_lane_scales(ACC | (uint32_t)PARAMS, 2);  // lane 1 is NaN: invalidScale
  spinel_config_st(J * sizeof(elem_t), NO_ACTIVATION, ACC_SCALE_IDENTITY, 48, SPINEL_SCALE_LANES);  // unsupportedField
  gemmini_extended_mvout(&out[0][0], ACC, 1, ROWS);
  gemmini_fence();
  TB_CHECK(spinel_error_code() == 7, "error code %u (%s), expected 7 (invalidScale)", spinel_error_code(), spinel_error_text());
  TB_CHECK(spinel_error_index() == failing, "error at command %" PRIu64 ", expected %" PRIu64, spinel_error_index(), failing);
  for (int r = 0; r < ROWS; r++) {
    const acc_scale_t two = (acc_scale_t)2.0f;
    TB_CHECK(out[r][0] == ACC_SCALE(x[r][0], two), "after the failed load [%d][0] = %d, expected %d (scale 2.0 kept)", r, out[r][0],
             ACC_SCALE(x[r][0], two));
  }
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 3;
  TB_CHECK(rounds >= 1, "ROUNDS must be at least 1, not %s", argc > 1 ? argv[1] : "");
  for (int round = 0; round < rounds; round++) round_of_tests(round);
  printf("numerics_extensions: rows checked: requantizer %ld, lane scales %ld, two-segment I-GELU %ld, LayerNorm %ld, "
         "Softmax relative to the maximum and row scale %ld\n",
         rows_checked[0], rows_checked[1], rows_checked[2], rows_checked[3], rows_checked[4]);
  bad_lane_scales();
  // The expected error was checked above; report only the checks.
  printf("numerics_extensions: %d checks, %d failed, %" PRIu64 " cycles\n%s\n", tb_checks, tb_failures, spinel_cycles(),
         tb_failures == 0 ? "PASSED" : "FAILED");
  return tb_failures == 0 ? 0 : 1;
}
