// mvin / mvout round trips: scratchpad and accumulator, strides, block moves, zeros, shrunk,
// scaled accumulator mvins (Gemmini's mvin_scale_acc) and bit 29 on an mvin destination.
#include "common/testbench.h"

#define ROWS DIM
static elem_t source[4 * DIM][4 * DIM] row_align(1);
static elem_t back[4 * DIM][4 * DIM] row_align(1);
static acc_t wide[DIM][DIM] row_align_acc(1);
static acc_t wide_back[DIM][DIM] row_align_acc(1);
static elem_t narrow_back[DIM][DIM] row_align(1);
static acc_t scaled_back[DIM][DIM] row_align_acc(1);

int main(void) {
  tb_fill(&source[0][0], sizeof(source) / sizeof(elem_t), 127);
  tb_fill_acc(&wide[0][0], sizeof(wide) / sizeof(acc_t), 1 << 20);
  memset(back, 0x55, sizeof(back));

  // Two DIM-column blocks per row into the scratchpad, block stride 2·DIM rows apart.
  gemmini_extended4_config_ld(4 * DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 2 * DIM, 0);
  gemmini_extended_mvin(&source[0][0], 0, 2 * DIM, DIM);
  // Zeros into a row block.
  gemmini_extended_mvin(0, 6 * DIM, DIM, DIM);
  gemmini_extended_config_st(4 * DIM * sizeof(elem_t), 0, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&back[0][0], 0, DIM, DIM);
  gemmini_extended_mvout(&back[0][DIM], 2 * DIM, DIM, DIM);
  gemmini_extended_mvout(&back[DIM][0], 6 * DIM, DIM, DIM);
  // Partial rows and columns.
  gemmini_extended_mvout(&back[2 * DIM][0], 0, DIM - 1, DIM - 2);
  gemmini_fence();
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < 2 * DIM; c++) TB_CHECK(back[r][c] == source[r][c], "scratchpad [%d][%d] = %d, expected %d", r, c, back[r][c], source[r][c]);
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) TB_CHECK(back[DIM + r][c] == 0, "zeros [%d][%d] = %d", r, c, back[DIM + r][c]);
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) {
      elem_t expected = (r < DIM - 2 && c < DIM - 1) ? source[r][c] : (elem_t)0x55;
      TB_CHECK(back[2 * DIM + r][c] == expected, "partial [%d][%d] = %d, expected %d", r, c, back[2 * DIM + r][c], expected);
    }

  // Accumulator: full width in, accumulate shrunk inputs on top, out full width and scaled.
  gemmini_extended4_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 1);
  gemmini_extended_mvin2(&wide[0][0], (1u << 31), DIM, DIM);
  gemmini_extended4_config_ld(4 * DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, true, DIM, 2);
  gemmini_extended_mvin3(&source[0][0], (1u << 31) | (1u << 30), DIM, DIM);
  gemmini_extended_config_st(DIM * sizeof(acc_t), 0, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&wide_back[0][0], (1u << 31) | (1u << 29), DIM, DIM);
  gemmini_extended_config_st(DIM * sizeof(elem_t), 1, (acc_scale_t)0.25);
  gemmini_extended_mvout(&narrow_back[0][0], (1u << 31), DIM, DIM);
  gemmini_fence();
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) {
      acc_t sum = tb_wrap_acc((int64_t)wide[r][c] + source[r][c]);
      TB_CHECK(wide_back[r][c] == sum, "accumulator [%d][%d] = %d, expected %d", r, c, wide_back[r][c], sum);
      elem_t scaled = (elem_t)ACC_SCALE(sum, (acc_scale_t)0.25);
      if (scaled < 0) scaled = 0;
      TB_CHECK(narrow_back[r][c] == scaled, "scaled [%d][%d] = %d, expected %d", r, c, narrow_back[r][c], scaled);
    }

#ifdef HAS_MVIN_ACC_SCALE
  // Scaled accumulator mvins: acc_t rows scaled by 0.37 (bit 29 set on the destination, which a
  // write ignores), then shrunk elem_t rows scaled by -3 accumulated on top; near-limit values
  // saturate. Checked against MVIN_SCALE_ACC.
  const scale_t acc_scale = 0.37f, elem_scale = -3.0f;
  wide[0][0] = INT32_MAX;
  wide[0][1] = INT32_MIN;
  wide[1][0] = 16777217;
  gemmini_extended4_config_ld(DIM * sizeof(acc_t), acc_scale, false, DIM, 0);
  gemmini_extended_mvin(&wide[0][0], (1u << 31) | (1u << 29) | (2 * DIM), DIM, DIM);
  gemmini_extended4_config_ld(4 * DIM * sizeof(elem_t), elem_scale, true, DIM, 1);
  gemmini_extended_mvin2(&source[0][0], (1u << 31) | (1u << 30) | (2 * DIM), DIM, DIM);
  gemmini_extended_config_st(DIM * sizeof(acc_t), 0, ACC_SCALE_IDENTITY);
  gemmini_extended_mvout(&scaled_back[0][0], (1u << 31) | (1u << 29) | (2 * DIM), DIM, DIM);
  gemmini_fence();
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) {
      const acc_t expected = tb_wrap_acc((int64_t)MVIN_SCALE_ACC(wide[r][c], acc_scale) + MVIN_SCALE_ACC(source[r][c], elem_scale));
      TB_CHECK(scaled_back[r][c] == expected, "scaled accumulator mvin [%d][%d] = %d, expected %d", r, c, scaled_back[r][c], expected);
    }
  TB_CHECK(MVIN_SCALE_ACC(INT32_MAX, 3.0f) == INT32_MAX && MVIN_SCALE_ACC(16777217, 1.0f) == 16777217 &&
               MVIN_SCALE_ACC(7, 0.5f) == 4 && MVIN_SCALE_ACC(5, 0.5f) == 2,
           "MVIN_SCALE_ACC against hand-computed values");
#endif
  return tb_finish("mvin_mvout");
}
