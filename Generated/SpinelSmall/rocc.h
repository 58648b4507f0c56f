/*
 * Spinel harness: the RoCC shim. Code written for a RoCC accelerator issues custom
 * instructions through these macros; here each one becomes a command on the simulated
 * accelerator's command port (spinel_issue), created on first use from the environment
 * (spinel_options_from_environment: SPINEL_TRACE, SPINEL_VCD, ...).
 *
 * The opcode argument `x` (XCUSTOM_ACC, the custom-N opcode) is ignored: there is one
 * accelerator. Each macro expands to a block, as the inline-assembly versions do, so that
 * Gemmini-style macros can chain them without semicolons. Instructions with a destination
 * register write 0 to it. A harness failure (cycle limit) prints the error and exits with
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
void spinel_rocc_fence(void);

#ifdef __cplusplus
}
#endif

#define ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), (uint64_t)(rs2)); }

#define ROCC_INSTRUCTION_RS1(x, rs1, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), 0); }

#define ROCC_INSTRUCTION(x, funct) \
    { spinel_rocc_issue((uint32_t)(funct), 0, 0); }

#define ROCC_INSTRUCTION_0_R_R(x, rs1, rs2, funct) ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct)
#define ROCC_INSTRUCTION_0_R_0(x, rs1, funct) ROCC_INSTRUCTION_RS1(x, rs1, funct)
#define ROCC_INSTRUCTION_0_0_0(x, funct) ROCC_INSTRUCTION(x, funct)
#define ROCC_INSTRUCTION_SS(x, rs1, rs2, funct) ROCC_INSTRUCTION_RS1_RS2(x, rs1, rs2, funct)
#define ROCC_INSTRUCTION_S(x, rs1, funct) ROCC_INSTRUCTION_RS1(x, rs1, funct)

#define ROCC_INSTRUCTION_R_R_R(x, rd, rs1, rs2, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), (uint64_t)(rs2)); (rd) = 0; }

#define ROCC_INSTRUCTION_DSS(x, rd, rs1, rs2, funct) ROCC_INSTRUCTION_R_R_R(x, rd, rs1, rs2, funct)

#define ROCC_INSTRUCTION_DS(x, rd, rs1, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), 0); (rd) = 0; }

#define ROCC_INSTRUCTION_D(x, rd, funct) \
    { spinel_rocc_issue((uint32_t)(funct), 0, 0); (rd) = 0; }

#endif /* SPINEL_ROCC_H */
