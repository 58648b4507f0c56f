/*
 * Spinel harness: the RoCC shim. Code written for a RoCC accelerator issues custom
 * instructions through these macros; here each one becomes a command on the simulated
 * accelerator's command port (spinel_issue), created on first use from the environment
 * (spinel_options_from_environment: SPINEL_TRACE, SPINEL_VCD, ...).
 *
 * The opcode argument `x` (XCUSTOM_ACC, the custom-N opcode) is ignored: there is one
 * accelerator. Each macro expands to a block, as the inline-assembly versions do, so that
 * Gemmini-style macros can chain them without semicolons. Instructions with a destination
 * register wait until the command retires and write its answer to it (a COUNTER's value; 0
 * for commands that do not answer). A harness failure (cycle limit) prints the error and exits with
 * status SPINEL_EXIT_SIMULATION_FAILED.
 *
 * Written for Spinel.
 */
#ifndef SPINEL_ROCC_H
#define SPINEL_ROCC_H

#include <stdint.h>

#include "spinel.h"

#ifdef __cplusplus
extern "C" {
#endif

void spinel_rocc_issue(uint32_t funct, uint64_t rs1, uint64_t rs2);
uint64_t spinel_rocc_issue_rd(uint32_t funct, uint64_t rs1, uint64_t rs2);
void spinel_rocc_fence(void);

#ifdef __cplusplus
}
#endif

/* The forms of Gemmini's rocc-software/src/xcustom.h: 0_R_R (no destination), R_R_R (with
 * one, which receives the command's answer), and ROCC_INSTRUCTION_RS1_RS2 over 0_R_R exactly as Gemmini's
 * gemmini.h defines it (so that its definition repeats this one without a warning). */
#define ROCC_INSTRUCTION_0_R_R(x, rs1, rs2, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), (uint64_t)(rs2)); }

#define ROCC_INSTRUCTION_R_R_R(x, rd, rs1, rs2, funct) \
    { (rd) = spinel_rocc_issue_rd((uint32_t)(funct), (uint64_t)(rs1), (uint64_t)(rs2)); }

#define ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct) \
  ROCC_INSTRUCTION_0_R_R(x, rs1, rs2, funct)

#define ROCC_INSTRUCTION_RS1(x, rs1, funct) ROCC_INSTRUCTION_0_R_R(x, rs1, 0, funct)
#define ROCC_INSTRUCTION_0_R_0(x, rs1, funct) ROCC_INSTRUCTION_0_R_R(x, rs1, 0, funct)
#define ROCC_INSTRUCTION_0_0_0(x, funct) ROCC_INSTRUCTION_0_R_R(x, 0, 0, funct)
#define ROCC_INSTRUCTION_SS(x, rs1, rs2, funct) ROCC_INSTRUCTION_0_R_R(x, rs1, rs2, funct)
#define ROCC_INSTRUCTION_S(x, rs1, funct) ROCC_INSTRUCTION_0_R_R(x, rs1, 0, funct)
#define ROCC_INSTRUCTION_DSS(x, rd, rs1, rs2, funct) ROCC_INSTRUCTION_R_R_R(x, rd, rs1, rs2, funct)
#define ROCC_INSTRUCTION_DS(x, rd, rs1, funct) ROCC_INSTRUCTION_R_R_R(x, rd, rs1, 0, funct)
#define ROCC_INSTRUCTION_D(x, rd, funct) ROCC_INSTRUCTION_R_R_R(x, rd, 0, 0, funct)

/* ROCC_INSTRUCTION takes Spinel's two arguments (x, funct: no registers) or Gemmini's five
 * (x, rd, rs1, rs2, funct); any other count is a compile-time error that says so. */
#define SPINEL_ROCC_ARITY(_1, _2, _3, _4, _5, form, ...) form
#define SPINEL_ROCC_BAD_ARITY(...) \
    _Static_assert(0, "ROCC_INSTRUCTION takes (x, funct) or Gemmini's (x, rd, rs1, rs2, funct)")
#define ROCC_INSTRUCTION(...) \
    SPINEL_ROCC_ARITY(__VA_ARGS__, ROCC_INSTRUCTION_R_R_R, SPINEL_ROCC_BAD_ARITY, SPINEL_ROCC_BAD_ARITY, ROCC_INSTRUCTION_0_0_0, \
                      SPINEL_ROCC_BAD_ARITY)(__VA_ARGS__)

#endif /* SPINEL_ROCC_H */
