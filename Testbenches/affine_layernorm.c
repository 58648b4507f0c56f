// The affine LayerNorm (a Spinel extension, docs/ACCELERATOR.md "Affine LayerNorm"): per-column
// γ and β in accumulator rows, LOAD_AFFINE before each output mvout of a column block, store
// activation 6 (CONFIG_ST LayerNorm with the CONFIG_NORM MSB). Rows of J elements over several
// mvouts, against the C reference (spinel_layernorm_affine_row):
//   - int32 γ and β (full-width mvin), then int8 ones (shrunk mvin, sign-extended);
//   - γ = 1.0 (Q.12: 4096), β = 0 everywhere gives plain LayerNorm (activation 2), which still works;
//   - γ beyond 18 bits (saturated by LOAD_AFFINE) and β large enough that z saturates to int32
//     before the scale.
// Needs a configuration with hasAffineLayerNorm (Testbenches/configs/small-affine.json).
#include "common/testbench.h"
#include "spinel_reference.h"

#ifndef HAS_AFFINE_LAYERNORM
#error "affine_layernorm.c needs a configuration with hasAffineLayerNorm (Testbenches/configs/small-affine.json)"
#endif

#define ROWS DIM
#define J (3 * DIM - 2)
#define CHUNKS ((J + DIM - 1) / DIM)
#define ACC (1u << 31)
#define PARAMS (CHUNKS * ROWS)  // accumulator row of chunk c's γ: PARAMS + 2c (β: + 1)

enum { SUM = 1, MEAN = 2, VARIANCE = 3, INV_STDDEV = 4 };

static acc_t x[ROWS][J] row_align_acc(1);
static acc_t params[2][J] row_align_acc(1);      // γ, β
static elem_t small_params[2][J] row_align(1);   // int8 γ, β
static elem_t out[ROWS][J] row_align(1);
static elem_t expected[ROWS][J];

static int width_of(int c) { return J - c * DIM < DIM ? J - c * DIM : DIM; }

static void load_rows(void) {
  gemmini_extended4_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  for (int c = 0; c < CHUNKS; c++) gemmini_extended_mvin(&x[0][c * DIM], ACC | (uint32_t)(c * ROWS), width_of(c), ROWS);
}

// γ and β of chunk c into accumulator rows PARAMS + 2c and + 1: int32 values, or int8 ones
// sign-extended (shrunk mvin).
static void load_params(int shrunk) {
  gemmini_extended4_config_ld(J * (shrunk ? sizeof(elem_t) : sizeof(acc_t)), MVIN_SCALE_IDENTITY, shrunk, DIM, 0);
  for (int c = 0; c < CHUNKS; c++) {
    const uint32_t row = ACC | (uint32_t)(PARAMS + 2 * c);
    if (shrunk) {
      gemmini_extended_mvin(&small_params[0][c * DIM], row, width_of(c), 2);
    } else {
      gemmini_extended_mvin(&params[0][c * DIM], row, width_of(c), 2);
    }
  }
}

// The two statistics passes over every chunk.
static void statistics(void) {
  const int each[2] = {SUM, VARIANCE}, last[2] = {MEAN, INV_STDDEV};
  for (int p = 0; p < 2; p++)
    for (int c = 0; c < CHUNKS; c++)
      gemmini_extended_mvout(&out[0][0], ACC | (uint32_t)(c == CHUNKS - 1 ? last[p] : each[p]) << 26 | (uint32_t)(c * ROWS), width_of(c), ROWS);
}

// The output pass, with (affine) or without LOAD_AFFINE before each chunk.
static void output(int affine) {
  for (int c = 0; c < CHUNKS; c++) {
    if (affine) spinel_load_affine(ACC | (uint32_t)(PARAMS + 2 * c), width_of(c));
    gemmini_extended_mvout(&out[0][c * DIM], ACC | (uint32_t)(c * ROWS), width_of(c), ROWS);
  }
}

static void compare(const char* what) {
  gemmini_fence();
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++)
      TB_CHECK(out[r][j] == expected[r][j], "%s [%d][%d] = %d, expected %d", what, r, j, out[r][j], expected[r][j]);
}

// Store activation 6 (affine) or 2 with `scale`.
static void activation(int affine, acc_scale_t scale) {
  gemmini_config_norm(0, 0, 0, affine, 0, 0, 0);
  gemmini_extended_config_st(J * sizeof(elem_t), LAYERNORM, scale);
}

int main(void) {
  tb_fill_normalization_rows(&x[0][0], ROWS, J);
  load_rows();
  statistics();

  // int32 γ (Q.12: gains −1 … 3, one column 0) and β (units of 2^-16: −4 … 4).
  acc_t gamma[J], beta[J];
  for (int j = 0; j < J; j++) {
    gamma[j] = params[0][j] = j == 3 ? 0 : (acc_t)((int64_t)(tb_random() % 16385) - 4096);
    beta[j] = params[1][j] = (acc_t)((int64_t)(tb_random() % 524289) - 262144);
  }
  load_params(0);
  const acc_scale_t scale = (acc_scale_t)16.0f;
  activation(1, scale);
  output(1);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_affine_row(x[r], J, gamma, beta, scale, expected[r]);
  compare("affine LayerNorm, int32 γ and β");

  // int8 γ and β (shrunk mvin): small gains, so a larger scale.
  for (int j = 0; j < J; j++) {
    gamma[j] = small_params[0][j] = (elem_t)((int)(tb_random() % 255) - 127);
    beta[j] = small_params[1][j] = (elem_t)((int)(tb_random() % 255) - 127);
  }
  load_params(1);
  const acc_scale_t large = (acc_scale_t)1024.0f;
  activation(1, large);
  output(1);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_affine_row(x[r], J, gamma, beta, large, expected[r]);
  compare("affine LayerNorm, int8 γ and β");

  // Plain LayerNorm on the same statistics, and the affine one with γ = 1.0, β = 0: the same.
  const acc_scale_t plain_scale = (acc_scale_t)24.0f;
  activation(0, plain_scale);
  output(0);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_row(x[r], J, plain_scale, expected[r]);
  compare("LayerNorm (activation 2)");
  for (int j = 0; j < J; j++) {
    params[0][j] = 1 << SPINEL_AFFINE_GAMMA_FRACTION;
    params[1][j] = 0;
  }
  load_params(0);
  activation(1, plain_scale);
  output(1);
  compare("affine LayerNorm with γ = 1.0, β = 0");

  // Saturation: γ = ±2^30 saturates to ±2^17 (32.0) at LOAD_AFFINE, and β = ±(2^31 − 1) makes
  // z leave int32 where n·γ has β's sign; with the scale 2^-10 (2^-26 on z) that z gives ±32.
  for (int j = 0; j < J; j++) {
    gamma[j] = params[0][j] = j % 2 ? (acc_t)(1 << 30) : -(acc_t)(1 << 30);
    beta[j] = params[1][j] = j % 2 ? (acc_t)INT32_MAX : (acc_t)INT32_MIN;
  }
  load_params(0);
  const acc_scale_t tiny = (acc_scale_t)(1.0f / (1 << 10));
  activation(1, tiny);
  output(1);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_affine_row(x[r], J, gamma, beta, tiny, expected[r]);
  compare("affine LayerNorm, saturating");
  int saturated = 0;
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++) saturated += expected[r][j] == 32 || expected[r][j] == -32;
  TB_CHECK(saturated > 0, "the saturation case saturates no element (the test lost its point)");
  return tb_finish("affine_layernorm");
}
