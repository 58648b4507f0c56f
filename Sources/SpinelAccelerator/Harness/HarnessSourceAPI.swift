// The static C/C++ sources of the harness, kept as Swift text so that the generator
// needs no resources. Edit the C here; `HarnessGenerator` writes it out unchanged.

extension HarnessSources {
    /// The C API (`spinel.h`).
    static let spinelHeader = #"""
/*
 * Spinel harness: the C API of one simulated accelerator (Verilator model + AXI4 memory model).
 *
 * One accelerator per process. Every call advances the simulation only as far as it needs;
 * between calls the clock stands still, so the C code of a testbench costs no cycles.
 *
 *   spinel_options options;
 *   spinel_default_options(&options);
 *   options.trace_path = "run.jsonl";
 *   spinel_create(&options);                      // or let the first command create it
 *   spinel_issue(funct, rs1, rs2);                // waits until the command port takes it
 *   spinel_fence();                               // waits until the accelerator is idle
 *   if (spinel_error_code()) puts(spinel_error_text());
 *   spinel_destroy();
 *
 * DMA addresses are host virtual addresses of this process: pass pointers to your arrays.
 * An access to memory the process may not read or write is answered with an AXI error, which
 * the accelerator reports as dmaReadFault / dmaWriteFault; it never crashes the simulation.
 *
 * Written for Spinel (see docs/ACCELERATOR.md and docs/MICROARCHITECTURE.md).
 */
#ifndef SPINEL_H
#define SPINEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. 1 to 12 are the accelerator's own (error_info[63:56], docs/ACCELERATOR.md);
 * the harness adds its own failures from 256 on. */
#define SPINEL_OK 0
#define SPINEL_ERROR_UNKNOWN_COMMAND 1
#define SPINEL_ERROR_TOO_MANY_ROWS 2
#define SPINEL_ERROR_TOO_MANY_COLUMNS 3
#define SPINEL_ERROR_LOCAL_ADDRESS_OUT_OF_RANGE 4
#define SPINEL_ERROR_UNSUPPORTED_DATAFLOW 5
#define SPINEL_ERROR_UNSUPPORTED_FIELD 6
#define SPINEL_ERROR_INVALID_SCALE 7
#define SPINEL_ERROR_COMPUTE_WITHOUT_PRELOAD 8
#define SPINEL_ERROR_PRELOAD_PENDING 9
#define SPINEL_ERROR_ILLEGAL_OPERAND 10
#define SPINEL_ERROR_DMA_READ_FAULT 11
#define SPINEL_ERROR_DMA_WRITE_FAULT 12
/* A spinel_issue or spinel_fence saw no progress (no command taken, no command retired, no
 * AXI transfer) for `cycle_limit` cycles: the accelerator hangs. The harness refuses to
 * simulate further. */
#define SPINEL_ERROR_CYCLE_LIMIT 256
/* A request the harness cannot serve (e.g. a waveform from a model built without tracing). */
#define SPINEL_ERROR_UNSUPPORTED 257

/* Exit statuses of the harness itself. */
#define SPINEL_EXIT_CONFIG_MISMATCH 3 /* config_hash of the hardware differs from gemmini_params.h */
#define SPINEL_EXIT_SIMULATION_FAILED 4 /* the RoCC shim hit a harness failure (cycle limit) */
#define SPINEL_EXIT_UNSUPPORTED_ASSEMBLY 5 /* RISC-V inline assembly other than fence (xcustom.h) */

typedef struct spinel_options {
    /* Cycles from an AR (AW) handshake to the first R beat (the B response); <= 0: the
     * configuration's memory model (SPINEL_MEMORY_LATENCY_CYCLES). */
    int memory_latency;
    /* Bytes per cycle for reads and for writes, each; <= 0: SPINEL_MEMORY_BYTES_PER_CYCLE. */
    int memory_bytes_per_cycle;
    /* Bursts outstanding per direction that the memory accepts; <= 0: 64. */
    int memory_max_outstanding;
    /* JSON Lines trace of commands, completions, DMA bursts and errors; NULL: none. */
    const char *trace_path;
    /* Waveform file; NULL: none. Needs a model built with tracing: VCD from a model built with
     * `--trace`, FST from one built with `--trace-fst` (HarnessBuild's `waveforms`). */
    const char *vcd_path;
    /* The cycle window dumped to the waveform: from wave_from (inclusive) to wave_to (exclusive;
     * 0: to the end), counted like spinel_cycles. */
    uint64_t wave_from;
    uint64_t wave_to;
    /* Most cycles one spinel_issue or spinel_fence may go without progress; 0: 1000000. */
    uint64_t cycle_limit;
    /* Nonzero: do not print errors and warnings to stderr as they happen. */
    int quiet;
    /* Seconds between progress lines on stderr (cycle, simulation speed, commands); 0: none. */
    double progress_seconds;
} spinel_options;

/* The defaults: the configuration's memory model, no trace, no waveform. */
void spinel_default_options(spinel_options *options);
/* The defaults, then the environment: SPINEL_TRACE, SPINEL_VCD (the waveform file, VCD or FST),
 * SPINEL_WAVE_FROM, SPINEL_WAVE_TO, SPINEL_CYCLE_LIMIT, SPINEL_MEMORY_LATENCY,
 * SPINEL_MEMORY_BYTES_PER_CYCLE, SPINEL_QUIET, SPINEL_PROGRESS (seconds between progress lines). */
void spinel_options_from_environment(spinel_options *options);

/* Verilator's own run-time arguments (+verilator+rand+reset+2, +verilator+seed+N, ...), handed
 * to VerilatedContext::commandArgs when spinel_create builds the model, so they must come before
 * the first command. A testbench usually passes its main's argc and argv; arguments Verilator
 * does not know are ignored. */
void spinel_verilator_args(int argc, char **argv);

/* Builds the simulated accelerator, resets it and checks its config_hash against
 * SPINEL_CONFIG_HASH (a mismatch prints both and exits with SPINEL_EXIT_CONFIG_MISMATCH).
 * NULL options: spinel_options_from_environment. Returns SPINEL_OK or an error code. */
int spinel_create(const spinel_options *options);
/* Finishes the trace and the waveform and frees the model. Called at exit if needed. */
void spinel_destroy(void);
int spinel_is_created(void);

/* Offers one command until the accelerator takes it. Returns SPINEL_OK, or
 * SPINEL_ERROR_CYCLE_LIMIT when the command port hangs. Creates the accelerator with
 * spinel_options_from_environment if there is none. */
int spinel_issue(uint32_t funct, uint64_t rs1, uint64_t rs2);
/* Waits until busy is low and every AXI burst has been answered, in two consecutive cycles,
 * with every command retired (or 16 idle cycles if some command never retires: a warning
 * names it). Returns SPINEL_OK or SPINEL_ERROR_CYCLE_LIMIT. An accelerator error does not
 * make it fail: read spinel_error_code. */
int spinel_fence(void);

/* Clock cycles since reset (the harness's count). */
uint64_t spinel_cycles(void);
/* The hardware's own cycle counter (the `cycles` port). */
uint64_t spinel_hw_cycles(void);
/* Commands the accelerator has taken so far (the next command's index). */
uint64_t spinel_commands(void);

/* Pause (0) or resume (1) the trace file. Returns SPINEL_OK, or SPINEL_ERROR_UNSUPPORTED
 * when no trace_path was given. */
int spinel_trace_enable(int on);
/* Pause (0) or resume (1) waveform dumping. Returns SPINEL_OK, or SPINEL_ERROR_UNSUPPORTED
 * when no vcd_path was given or the model was built without tracing. */
int spinel_waveform_enable(int on);
/* Whether the Verilated model was built with waveform support: 0 no, 1 VCD, 2 FST. */
int spinel_waveform_supported(void);

/* The first error: an accelerator error (1..12, from the error port) or a harness failure
 * (>= 256), whichever came first; 0 if none. When the hardware replaces error_info by the
 * error of an older command (program order), the harness follows it. */
uint32_t spinel_error_code(void);
/* The index of the command it concerns (error_info[55:0] for accelerator errors). */
uint64_t spinel_error_index(void);
/* The error in words: code name, command index, the command as issued (funct, rs1, rs2,
 * issue cycle) and, for DMA faults, the burst and why the memory refused it. "no error" if none. */
const char *spinel_error_text(void);
/* The name of an error code ("dmaReadFault"), or "unknown". */
const char *spinel_error_name(uint32_t code);
/* The name of a command ("MVIN", "CONFIG_LD", ...). */
const char *spinel_command_name(uint32_t funct, uint64_t rs1);

/* The configuration this harness was generated for (SPINEL_CONFIG_NAME). */
const char *spinel_config_name(void);

#ifdef __cplusplus
}
#endif

#endif /* SPINEL_H */
"""#

    /// The RoCC shim (`rocc.h`).
    static let roccHeader = #"""
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

/* The forms of Gemmini's rocc-software/src/xcustom.h: 0_R_R (no destination), R_R_R (with
 * one, which receives 0), and ROCC_INSTRUCTION_RS1_RS2 over 0_R_R exactly as Gemmini's
 * gemmini.h defines it (so that its definition repeats this one without a warning). */
#define ROCC_INSTRUCTION_0_R_R(x, rs1, rs2, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), (uint64_t)(rs2)); }

#define ROCC_INSTRUCTION_R_R_R(x, rd, rs1, rs2, funct) \
    { spinel_rocc_issue((uint32_t)(funct), (uint64_t)(rs1), (uint64_t)(rs2)); (rd) = 0; }

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
"""#

    /// `rocc-software/src/xcustom.h`: what Gemmini's own `include/gemmini.h` includes for its
    /// RoCC instructions.
    static let xcustomHeader = #"""
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
"""#
}
