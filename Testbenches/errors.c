// Bad commands and DMA faults are reported with their command index, nothing is executed for
// them, and the accelerator keeps working afterwards.
#include "common/testbench.h"

static elem_t data[DIM][DIM] row_align(1), back[DIM][DIM] row_align(1);

int main(void) {
  tb_fill(&data[0][0], DIM * DIM, 100);
  gemmini_extended4_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 0);  // command 0
  gemmini_extended_config_st(DIM * sizeof(elem_t), 0, ACC_SCALE_IDENTITY);                // command 1
  gemmini_extended_mvin(&data[0][0], 0, DIM, DIM + 1);                                      // command 2: too many rows
  gemmini_extended_mvin((void *)0x10, DIM, DIM, DIM);                                       // command 3: DMA fault
  gemmini_extended_mvin(&data[0][0], 0, DIM, DIM);                                          // command 4: fine
  gemmini_extended_mvout(&back[0][0], 0, DIM, DIM);                                         // command 5: fine
  gemmini_fence();
  TB_CHECK(spinel_error_code() == 2, "first error code %u (%s), expected 2 (tooManyRows)", spinel_error_code(), spinel_error_text());
  TB_CHECK(spinel_error_index() == 2, "first error at command %" PRIu64 ", expected 2", spinel_error_index());
  TB_CHECK(strstr(spinel_error_text(), "tooManyRows") != NULL, "error text: %s", spinel_error_text());
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) TB_CHECK(back[r][c] == data[r][c], "after errors [%d][%d] = %d, expected %d", r, c, back[r][c], data[r][c]);
  printf("errors: reported as: %s\n", spinel_error_text());
  // The expected error was checked above; report only the checks.
  printf("errors: %d checks, %d failed, %" PRIu64 " cycles\n%s\n", tb_checks, tb_failures, spinel_cycles(), tb_failures == 0 ? "PASSED" : "FAILED");
  return tb_failures == 0 ? 0 : 1;
}
