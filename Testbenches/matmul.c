// One DIM×DIM tile per case: WS and OS, every permitted transpose pair, bias D from the
// accumulator, results to the accumulator (overwrite and accumulate) or the scratchpad
// (OS rounding shift, saturation, ReLU), checked against a plain C matrix product.
#include "common/testbench.h"

static elem_t A[DIM][DIM] row_align(1), B[DIM][DIM] row_align(1);
static acc_t D[DIM][DIM] row_align_acc(1);
static acc_t C_wide[DIM][DIM] row_align_acc(1);
static elem_t C_narrow[DIM][DIM] row_align(1);

#define SP_A 0
#define SP_B DIM
#define ACC_D (1u << 31)
#define ACC_C ((1u << 31) | DIM)

// Reference: (A')·(B') + D', where X' is X transposed when asked.
static int64_t product(int i, int j, int transpose_a, int transpose_b, int with_bias) {
  int64_t sum = with_bias ? D[i][j] : 0;
  for (int k = 0; k < DIM; k++) {
    int64_t a = transpose_a ? A[k][i] : A[i][k];
    int64_t b = transpose_b ? B[j][k] : B[k][j];
    sum += a * b;
  }
  return sum;
}

static void load_operands(void) {
  tb_fill(&A[0][0], DIM * DIM, 127);
  tb_fill(&B[0][0], DIM * DIM, 127);
  tb_fill_acc(&D[0][0], DIM * DIM, 1 << 16);
  gemmini_extended4_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  gemmini_extended_mvin(&A[0][0], SP_A, DIM, DIM);
  gemmini_extended_mvin(&B[0][0], SP_B, DIM, DIM);
  gemmini_extended4_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 1);
  gemmini_extended_mvin2(&D[0][0], ACC_D, DIM, DIM);
}

static void read_wide(void) {
  gemmini_extended_config_st(DIM * sizeof(acc_t), 0, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&C_wide[0][0], ACC_C | (1u << 29), DIM, DIM);
  gemmini_fence();
}

// WS: C (accumulator) = A'·B' + D, then once more accumulated on top (reusing the weights).
static void weight_stationary(int transpose_a, int transpose_b) {
  load_operands();
  gemmini_extended3_config_ex(1, 0, 0, ACC_SCALE_IDENTITY, 1, 1, transpose_a, transpose_b, false);
  gemmini_extended_preload(SP_B, ACC_C, DIM, DIM, DIM, DIM);
  gemmini_extended_compute_preloaded(SP_A, ACC_D, DIM, DIM, DIM, DIM);
  gemmini_extended_preload(GARBAGE_ADDR, ACC_C | (1u << 30), DIM, DIM, DIM, DIM);
  gemmini_extended_compute_accumulated(SP_A, GARBAGE_ADDR, DIM, DIM, DIM, DIM);
  read_wide();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      acc_t expected = tb_wrap_acc(product(i, j, transpose_a, transpose_b, 1) + product(i, j, transpose_a, transpose_b, 0));
      TB_CHECK(C_wide[i][j] == expected, "WS transposes (%d,%d) C[%d][%d] = %d, expected %d", transpose_a, transpose_b, i, j, C_wide[i][j], expected);
    }
}

// OS: C (scratchpad) = ReLU(sat(ROUNDING_RIGHT_SHIFT(D + A'·B', shift))).
static void output_stationary(int transpose_a, int transpose_b, int shift, int relu) {
  load_operands();
  gemmini_extended3_config_ex(0, relu, shift, ACC_SCALE_IDENTITY, 1, 1, transpose_a, transpose_b, false);
  gemmini_extended_preload(ACC_D, 2 * DIM, DIM, DIM, DIM, DIM);
  gemmini_extended_compute_preloaded(SP_A, SP_B, DIM, DIM, DIM, DIM);
  gemmini_extended_config_st(DIM * sizeof(elem_t), 0, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&C_narrow[0][0], 2 * DIM, DIM, DIM);
  gemmini_fence();
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      int64_t value = tb_wrap_acc(product(i, j, transpose_a, transpose_b, 1));
      value = ROUNDING_RIGHT_SHIFT(value, shift);
      value = tb_saturate(value, elem_t_min, elem_t_max);
      if (relu && value < 0) value = 0;
      TB_CHECK(C_narrow[i][j] == value, "OS transposes (%d,%d) shift %d relu %d: C[%d][%d] = %d, expected %" PRId64, transpose_a, transpose_b,
               shift, relu, i, j, C_narrow[i][j], value);
    }
}

// The cases of each dataflow the configuration has; the others are named as not run.
int main(void) {
#if SPINEL_HAS_WS
  weight_stationary(0, 0);
  weight_stationary(0, 1);
  weight_stationary(1, 0);
#else
  printf("matmul: the WS cases are not run: %s has no weight-stationary dataflow\n", SPINEL_CONFIG_NAME);
#endif
#if SPINEL_HAS_OS
  output_stationary(0, 0, 4, 0);
  output_stationary(1, 0, 7, 1);
  output_stationary(1, 1, 0, 0);
#else
  printf("matmul: the OS cases are not run: %s has no output-stationary dataflow\n", SPINEL_CONFIG_NAME);
#endif
  return tb_finish("matmul");
}
