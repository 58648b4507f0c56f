// The normalizer on the accumulator read path (docs/ACCELERATOR.md, "Normalization"): I-GELU,
// LayerNorm and Softmax over rows of J elements (J not a multiple of DIM), each row spread over
// several mvouts per pass, both statistics slots; every output element against the C reference
// (spinel_reference.h). Needs a configuration with normalizations.
#include "common/testbench.h"
#include "spinel_reference.h"

#ifndef HAS_NORMALIZATIONS
#error "normalization.c needs a configuration with normalizations (e.g. the transformer preset)"
#endif

#define ROWS DIM
#define J (3 * DIM - 2)
#define CHUNKS ((J + DIM - 1) / DIM)
#define ACC (1u << 31)

static acc_t x[ROWS][J] row_align_acc(1);
static elem_t out[ROWS][J] row_align(1);
static elem_t expected[ROWS][J];

// The chunk c of every row sits in accumulator rows base + c·ROWS … (one mvin per chunk).
static void load_rows(uint32_t base) {
  gemmini_extended4_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  for (int c = 0; c < CHUNKS; c++) {
    const int width = J - c * DIM < DIM ? J - c * DIM : DIM;
    gemmini_extended_mvin(&x[0][c * DIM], ACC | (base + c * ROWS), width, ROWS);
  }
}

// One pass over every chunk: `running` on all but the last chunk, `finishing` on the last.
static void pass(uint32_t base, int running, int finishing) {
  for (int c = 0; c < CHUNKS; c++) {
    const int width = J - c * DIM < DIM ? J - c * DIM : DIM;
    const uint32_t command = (uint32_t)(c == CHUNKS - 1 ? finishing : running);
    gemmini_extended_mvout(&out[0][0], ACC | (command << 26) | (base + c * ROWS), width, ROWS);
  }
}

// The output pass: every chunk into `out`.
static void output(uint32_t base) {
  for (int c = 0; c < CHUNKS; c++) {
    const int width = J - c * DIM < DIM ? J - c * DIM : DIM;
    gemmini_extended_mvout(&out[0][c * DIM], ACC | (base + c * ROWS), width, ROWS);
  }
}

static void compare(const char* what) {
  gemmini_fence();
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++)
      TB_CHECK(out[r][j] == expected[r][j], "%s [%d][%d] = %d, expected %d", what, r, j, out[r][j], expected[r][j]);
}

int main(void) {
  enum { SUM = 1, MEAN = 2, VARIANCE = 3, INV_STDDEV = 4, MAX = 5, SUM_EXP = 6, INV_SUM_EXP = 7 };
  tb_fill_normalization_rows(&x[0][0], ROWS, J);
  load_rows(0);
  gemmini_config_st(J * sizeof(elem_t));

  // I-GELU (activation 3) with the software's constants for an input scale S = 1/64:
  // qb = (int)(-1.769 / (S/√2)), qc = (int)(1 / (-0.2888·S²/2)).
  const acc_t qb = -160, qc = -28364;
  const acc_scale_t igelu_scale = (acc_scale_t)1.0e-6f;
  gemmini_config_norm(0, 0, 0, 0, 0, qb, qc);
  gemmini_extended_config_st(J * sizeof(elem_t), 3, igelu_scale);
  output(0);
  for (int r = 0; r < ROWS; r++) spinel_igelu_row(x[r], J, qb, qc, igelu_scale, expected[r]);
  compare("I-GELU");

  // LayerNorm (activation 2) in slot 1.
  const acc_scale_t layernorm_scale = (acc_scale_t)24.0f;
  gemmini_config_norm(0, 0, 1, 0, 1, 0, 0);
  pass(0, SUM, MEAN);
  pass(0, VARIANCE, INV_STDDEV);
  gemmini_extended_config_st(J * sizeof(elem_t), 2, layernorm_scale);
  output(0);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_row(x[r], J, layernorm_scale, expected[r]);
  compare("LayerNorm");

  // Softmax (activation 4: CONFIG_ST 0 with the MSB) in slot 0, input scale S = 1/16:
  // qln2 = (int)(0.693147/S), qln2_inv = 65536/qln2, qb = (int)(1.353/S), qc = (int)(0.344/(0.3585·S²)).
  const acc_t qln2 = 11, qln2_inv = 65536 / 11, sqb = 21, sqc = 245;
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++) x[r][j] = (acc_t)((int64_t)(tb_random() % 301) - 200);
  load_rows(0);
  gemmini_config_norm(qln2, 0, 0, 1, 0, sqb, sqc);
  gemmini_config_norm(qln2_inv, 1, 0, 1, 0, sqb, sqc);
  pass(0, MAX, MAX);
  pass(0, SUM_EXP, INV_SUM_EXP);
  gemmini_extended_config_st(J * sizeof(elem_t), 0, ACC_SCALE_IDENTITY);
  output(0);
  for (int r = 0; r < ROWS; r++) spinel_softmax_row(x[r], J, qln2, qln2_inv, sqb, sqc, expected[r]);
  compare("Softmax");

  // The LayerNorm statistics of slot 1 are still there: the output pass again, after Softmax.
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++) x[r][j] = (acc_t)((int64_t)(tb_random() % 2001) - 1000);
  load_rows(0);
  gemmini_config_norm(0, 0, 1, 0, 1, 0, 0);
  gemmini_config_norm(0, 0, 0, 0, 1, 0, 0);  // the MSB off again (and qb = qc = 0)
  pass(0, SUM, MEAN);
  pass(0, VARIANCE, INV_STDDEV);
  gemmini_extended_config_st(J * sizeof(elem_t), 2, layernorm_scale);
  output(0);
  for (int r = 0; r < ROWS; r++) spinel_layernorm_row(x[r], J, layernorm_scale, expected[r]);
  compare("LayerNorm again");
  return tb_finish("normalization");
}
