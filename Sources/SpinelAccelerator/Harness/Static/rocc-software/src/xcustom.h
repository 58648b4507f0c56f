/*
 * Spinel harness: rocc-software/src/xcustom.h, the header Gemmini's own include/gemmini.h
 * includes for its RoCC instructions. Gemmini's macros issue commands through
 * ROCC_INSTRUCTION_RS1_RS2, which here (rocc.h) goes to the simulated accelerator, so a copy of
 * Gemmini's include/ folder builds against a Spinel harness without edits.
 *
 * Gemmini's gemmini_fence() is the RISC-V instruction `asm volatile("fence")`, which a host of
 * another architecture cannot assemble, and which would not wait for a simulated accelerator.
 * While this header is in use, an `asm volatile(...)` statement is therefore a call into the
 * harness: "fence" waits until the accelerator is idle (spinel_fence); any other instruction
 * text stops the program with a message that names it. Use __asm__ for real inline assembly.
 * Gemmini's read_cycles() in its gemmini_testutils.h is such an instruction (rdcycle): use the
 * harness's include/gemmini_testutils.h, whose read_cycles() returns simulated cycles.
 *
 * Written for Spinel.
 */
#ifndef SPINEL_XCUSTOM_H
#define SPINEL_XCUSTOM_H

#include "rocc.h"

/* The custom opcodes of RISC-V (major opcodes custom-0 to custom-3). The harness ignores them:
 * there is one accelerator. */
#define CUSTOM_0 0x0b
#define CUSTOM_1 0x2b
#define CUSTOM_2 0x5b
#define CUSTOM_3 0x7b
#define XCUSTOM_OPCODE(x) CUSTOM_##x

#ifndef STR1
#define STR1(x) #x
#endif
#ifndef STR
#define STR(x) STR1(x)
#endif
#ifndef CAT_
#define CAT_(A, B) A##B
#endif
#ifndef CAT
#define CAT(A, B) CAT_(A, B)
#endif

#ifdef __cplusplus
extern "C" {
#endif
void spinel_rocc_inline_assembly(const char *text);
#ifdef __cplusplus
}
#endif

#define asm
#define volatile(...) spinel_rocc_inline_assembly(#__VA_ARGS__)

#endif /* SPINEL_XCUSTOM_H */
