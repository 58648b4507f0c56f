// Code written against Gemmini's own include/gemmini.h reaches the accelerator through
// rocc-software/src/xcustom.h. This program includes the headers as Gemmini's gemmini.h does
// (its parameters as include/gemmini_params.h, then xcustom.h), defines its command macro the
// way that header does, and issues commands through every RoCC form it may use: the
// five-argument ROCC_INSTRUCTION with a destination register, ROCC_INSTRUCTION_0_R_R and
// ROCC_INSTRUCTION_RS1_RS2; its fence is Gemmini's inline-assembly `fence`. Its performance
// counters answer in the destination register, as Gemmini's counter_configure and counter_read
// issue them (COUNTER, funct 126: slot 2 counts LOAD_ACTIVE_CYCLE, event 9).
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "include/gemmini_params.h"
#include "rocc-software/src/xcustom.h"

// As Gemmini's gemmini.h defines it: the same tokens as xcustom.h's, so no redefinition warning.
#define ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct) \
  ROCC_INSTRUCTION_0_R_R(x, rs1, rs2, funct)

#define OPERAND(address, cols, rows) (((uint64_t)(rows) << (ADDR_LEN + 16)) | ((uint64_t)(cols) << ADDR_LEN) | (uint64_t)(address))

static elem_t in[DIM][DIM] row_align(1), out[DIM][DIM] row_align(1), out2[DIM][DIM] row_align(1);

int main(void) {
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) in[r][c] = (elem_t)(r * 7 - c * 3);
  memset(out, 0, sizeof out);
  uint64_t rd = 12345, configured = 12345, count = 0;
  ROCC_INSTRUCTION(XCUSTOM_ACC, configured, (2 << 4) | 0x8 | (9 << 12), 0, 126);
  // CONFIG_LD and CONFIG_ST (stride DIM bytes, scale 1.0), then MVIN with the destination form.
  ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, ((uint64_t)0x3F800000 << 32) | ((uint64_t)DIM << 16) | 1, DIM, 0);
  ROCC_INSTRUCTION_0_R_R(XCUSTOM_ACC, 2, ((uint64_t)0x3F800000 << 32) | DIM, 0);
  ROCC_INSTRUCTION(XCUSTOM_ACC, rd, (uint64_t)(uintptr_t)in, OPERAND(0, DIM, DIM), 2);
  ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)out, OPERAND(0, DIM, DIM), 3);
  asm volatile("fence");
  ROCC_INSTRUCTION(XCUSTOM_ACC, count, 2 << 4, 0, 126);
  int wrong = rd != 0 || configured != 0 || count == 0;
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) wrong += out[r][c] != in[r][c];
  // The fence form with operands, as newer code writes it.
  ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)out2, OPERAND(0, DIM, DIM), 3);
  asm volatile("fence rw, rw" ::: "memory");
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) wrong += out2[r][c] != in[r][c];
  printf("gemmini_xcustom: %d wrong, rd %" PRIu64 ", LOAD_ACTIVE_CYCLE %" PRIu64 "\n", wrong, rd, count);
  printf("%s\n", wrong == 0 && spinel_error_code() == 0 ? "PASSED" : "FAILED");
  return wrong == 0 ? 0 : 1;
}
