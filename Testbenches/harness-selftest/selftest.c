/*
 * Self-test of the C testbench harness, run against the stand-in top module of
 * Tests/SpinelAcceleratorTests/HarnessTests.swift (not the real accelerator). Its commands,
 * with n = rs1[63:56] bytes (1..SPINEL_DMA_MAX_BYTES):
 *   funct 3 COPY  rs1[47:0] source, rs2 destination
 *   funct 2 TOUCH rs1[47:0] source (read and dropped; several in flight)
 *   funct 7 NOP   (gemmini_flush)
 *   others        unknownCommand
 *
 *   selftest MODE [ARGS]   exit 0 on success, 1 with "FAIL: ..." on a failed check
 *
 * Modes: copy, rocc, read-fault, write-fault, unknown, cycle-limit, create, waveform, progress, timing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gemmini.h"
#include "spinel.h"

#define COPY 3
#define TOUCH 2
#define NOP 7

static int failures = 0;

#define CHECK(condition, ...)                                    \
    do {                                                         \
        if (!(condition)) {                                      \
            printf("FAIL: %s:%d: ", __FILE__, __LINE__);         \
            printf(__VA_ARGS__);                                 \
            printf("\n");                                        \
            failures++;                                          \
        }                                                        \
    } while (0)

static uint64_t command(const void *address, unsigned bytes) {
    return ((uint64_t)bytes << 56) | (uint64_t)(uintptr_t)address;
}

static uint8_t pattern(size_t offset) { return (uint8_t)(offset * 7 + 3); }

static int finish(const char *mode) {
    if (failures) {
        printf("%d check(s) failed in mode %s\n", failures, mode);
        return 1;
    }
    printf("PASS %s\n", mode);
    return 0;
}

static void options_with_trace(spinel_options *options, int argc, char **argv) {
    spinel_default_options(options);
    options->quiet = 1;
    if (argc > 2) options->trace_path = argv[2];
}

/* Copies through the accelerator at many offsets and lengths, across a 4 KiB boundary, with
 * reads in flight, and checks every byte. */
static int mode_copy(int argc, char **argv) {
    spinel_options options;
    options_with_trace(&options, argc, argv);
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    CHECK(spinel_cycles() == 0, "cycles after reset: %" PRIu64, spinel_cycles());

    const size_t size = 3 * 4096;
    uint8_t *source = aligned_alloc(4096, size);
    uint8_t *target = aligned_alloc(4096, size);
    for (size_t i = 0; i < size; i++) source[i] = pattern(i);
    memset(target, 0, size);
    printf("source=0x%" PRIxPTR " target=0x%" PRIxPTR " size=%zu\n", (uintptr_t)source, (uintptr_t)target, size);

    size_t expected_commands = 0;
    /* Lengths 1..MAX at shifting source and target offsets. */
    size_t offset = 0;
    for (unsigned bytes = 1; bytes <= SPINEL_DMA_MAX_BYTES; bytes++) {
        size_t from = offset, to = 2 * offset + 5;
        CHECK(spinel_issue(COPY, command(source + from, bytes), (uint64_t)(uintptr_t)(target + to)) == SPINEL_OK, "issue");
        expected_commands++;
        offset += bytes + 3;
    }
    /* Across the 4 KiB boundary at 4096, on both sides. */
    CHECK(spinel_issue(COPY, command(source + 4096 - 13, SPINEL_DMA_MAX_BYTES),
                       (uint64_t)(uintptr_t)(target + 8192 - 7)) == SPINEL_OK, "issue");
    expected_commands++;
    /* Reads in flight, then a no-op. */
    for (int i = 0; i < 6; i++) {
        CHECK(spinel_issue(TOUCH, command(source + 100 * i + 1, 1 + i * 5), 0) == SPINEL_OK, "touch");
        expected_commands++;
    }
    CHECK(spinel_issue(NOP, 0, 0) == SPINEL_OK, "nop");
    expected_commands++;
    CHECK(spinel_fence() == SPINEL_OK, "fence: %s", spinel_error_text());

    offset = 0;
    for (unsigned bytes = 1; bytes <= SPINEL_DMA_MAX_BYTES; bytes++) {
        size_t from = offset, to = 2 * offset + 5;
        CHECK(memcmp(target + to, source + from, bytes) == 0, "copy of %u bytes from +%zu to +%zu", bytes, from, to);
        offset += bytes + 3;
    }
    CHECK(memcmp(target + 8192 - 7, source + 4096 - 13, SPINEL_DMA_MAX_BYTES) == 0, "copy across 4 KiB");
    /* Bytes around the copies are untouched: count the nonzero bytes written. */
    size_t written = 0;
    for (size_t i = 0; i < size; i++) written += target[i] != 0;
    size_t copied = 0;
    for (unsigned bytes = 1; bytes <= SPINEL_DMA_MAX_BYTES; bytes++) copied += bytes;
    copied += SPINEL_DMA_MAX_BYTES;
    size_t zeros_in_source = 0;
    offset = 0;
    for (unsigned bytes = 1; bytes <= SPINEL_DMA_MAX_BYTES; bytes++) {
        for (unsigned k = 0; k < bytes; k++) zeros_in_source += source[offset + k] == 0;
        offset += bytes + 3;
    }
    for (unsigned k = 0; k < SPINEL_DMA_MAX_BYTES; k++) zeros_in_source += source[4096 - 13 + k] == 0;
    CHECK(written == copied - zeros_in_source, "%zu bytes changed, expected %zu", written, copied - zeros_in_source);

    CHECK(spinel_error_code() == 0, "unexpected error: %s", spinel_error_text());
    CHECK(strcmp(spinel_error_text(), "no error") == 0, "error text: %s", spinel_error_text());
    CHECK(spinel_commands() == expected_commands, "%" PRIu64 " commands, expected %zu", spinel_commands(), expected_commands);
    CHECK(spinel_cycles() > 0, "cycles");
    /* The stand-in's counter starts with reset released one cycle earlier than the harness's. */
    CHECK(spinel_hw_cycles() >= spinel_cycles(), "hardware cycles %" PRIu64 " < %" PRIu64, spinel_hw_cycles(), spinel_cycles());
    printf("commands=%" PRIu64 " cycles=%" PRIu64 "\n", spinel_commands(), spinel_cycles());
    spinel_destroy();
    free(source);
    free(target);
    return finish("copy");
}

/* Never called: Gemmini-style code that must compile against gemmini.h. */
void gemmini_style_kernel(const elem_t *A, const elem_t *B, acc_t *D, elem_t *C) {
    const uint32_t a = 0, b = BANK_NUM * BANK_ROWS - DIM, acc = 1u << (ADDR_LEN - 1);
    gemmini_extended3_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0, ACC_SCALE_IDENTITY, 1, 1, false, false, false);
    gemmini_config_ex(OUTPUT_STATIONARY, RELU, 0);
    gemmini_extended4_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 1);
    gemmini_config_ld(DIM * sizeof(elem_t));
    gemmini_extended_config_st(DIM * sizeof(elem_t), RELU, 0.5f);
    gemmini_config_st(DIM * sizeof(elem_t));
    gemmini_config_norm(1, 0, 0, 1, 0, -5, 7);
    gemmini_extended_mvin(A, a, DIM, DIM);
    gemmini_extended_mvin2(B, b, DIM, DIM);
    gemmini_extended_mvin3(D, acc, DIM, DIM);
    gemmini_mvin(A, a);
    gemmini_block_mvin(A, a, 1);
    gemmini_extended_preload(b, acc, DIM, DIM, DIM, DIM);
    gemmini_extended_compute_preloaded(a, GARBAGE_ADDR, DIM, DIM, DIM, DIM);
    gemmini_preload(GARBAGE_ADDR, GARBAGE_ADDR);
    gemmini_extended_compute_accumulated(a, GARBAGE_ADDR, DIM, DIM, DIM, DIM);
    gemmini_preload_zeros(acc);
    gemmini_compute_preloaded(a, b);
    gemmini_compute_accumulated(a, b);
    gemmini_extended_mvout(C, acc, DIM, DIM);
    gemmini_mvout(C, a);
    gemmini_loop_ws(1, 1, 1, 0, 0, 0, A, B, D, C, DIM, DIM, DIM, DIM, false, false, false, false, false, NO_ACTIVATION, 0, 0,
                    false);
    gemmini_flush(0);
    gemmini_fence();
    elem_t scaled = ACC_SCALE((acc_t)1000, 0.25f);
    elem_t moved = MVIN_SCALE((elem_t)-3, 2.0f);
    acc_t shifted = ROUNDING_RIGHT_SHIFT((acc_t)-11, 2);
    (void)scaled;
    (void)moved;
    (void)shifted;
}

/* The same copy through the RoCC shim (lazy creation from the environment) and gemmini.h. */
static int mode_rocc(void) {
    static uint8_t source[64] row_align(1);
    static uint8_t target[64] row_align(1);
    for (int i = 0; i < 64; i++) source[i] = pattern(i);
    gemmini_flush(0);
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, command(source + 3, 29), target + 1, COPY)
    ROCC_INSTRUCTION_RS1(XCUSTOM_ACC, command(source, 8), TOUCH);
    gemmini_fence();
    CHECK(spinel_is_created(), "the shim did not create the accelerator");
    CHECK(memcmp(target + 1, source + 3, 29) == 0, "copy through the RoCC shim");
    CHECK(target[0] == 0 && target[30] == 0, "bytes around the copy");
    /* A command while the trace is paused does not appear in it. */
    const int expected = getenv("SPINEL_TRACE") != NULL ? SPINEL_OK : SPINEL_ERROR_UNSUPPORTED;
    CHECK(spinel_trace_enable(0) == expected, "pausing the trace");
    gemmini_flush(0);
    gemmini_fence();
    CHECK(spinel_trace_enable(1) == expected, "resuming the trace");
    CHECK(spinel_commands() == 4, "%" PRIu64 " commands", spinel_commands());
    CHECK(spinel_error_code() == 0, "unexpected error: %s", spinel_error_text());
    /* Reference numerics of gemmini_params.h (docs/NUMERICS.md). */
    CHECK(ROUNDING_RIGHT_SHIFT(5, 1) == 2 && ROUNDING_RIGHT_SHIFT(7, 1) == 4 && ROUNDING_RIGHT_SHIFT(-5, 1) == -2, "rounding shift");
    CHECK(ROUNDING_RIGHT_SHIFT(6, 2) == 2 && ROUNDING_RIGHT_SHIFT(10, 2) == 2 && ROUNDING_RIGHT_SHIFT(11, 2) == 3, "rounding shift");
    CHECK(ACC_SCALE(1000, 0.25f) == elem_t_max && ACC_SCALE(-1000, 1.0f) == elem_t_min, "saturation");
    CHECK(ACC_SCALE(5, 0.5f) == 2 && ACC_SCALE(7, 0.5f) == 4 && ACC_SCALE(-5, 0.5f) == -2, "ties to even");
    CHECK(MVIN_SCALE(3, 1.0f) == 3, "identity scale");
    return finish("rocc");
}

/* A copy from address 0x10: dmaReadFault with the command index and words; later commands
 * still run. */
static int mode_read_fault(int argc, char **argv) {
    spinel_options options;
    options_with_trace(&options, argc, argv);
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    static uint8_t source[32], target[32];
    for (int i = 0; i < 32; i++) source[i] = pattern(i);
    CHECK(spinel_issue(NOP, 0, 0) == SPINEL_OK, "nop");
    CHECK(spinel_issue(COPY, command((void *)0x10, 16), (uint64_t)(uintptr_t)target) == SPINEL_OK, "issue");
    CHECK(spinel_issue(COPY, command(source, 32), (uint64_t)(uintptr_t)target) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    CHECK(spinel_error_code() == SPINEL_ERROR_DMA_READ_FAULT, "code %u", spinel_error_code());
    CHECK(spinel_error_index() == 1, "index %" PRIu64, spinel_error_index());
    CHECK(strcmp(spinel_error_name(spinel_error_code()), "dmaReadFault") == 0, "name");
    CHECK(memcmp(source, target, 32) == 0, "the command after the fault did not run");
    printf("error: %s\n", spinel_error_text());
    return finish("read-fault");
}

/* A copy into a read-only page: dmaWriteFault, and the page keeps its contents. */
static int mode_write_fault(int argc, char **argv) {
    spinel_options options;
    options_with_trace(&options, argc, argv);
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *read_only = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(read_only != MAP_FAILED, "mmap");
    memset(read_only, 0x5a, page);
    CHECK(mprotect(read_only, page, PROT_READ) == 0, "mprotect");
    static uint8_t source[32];
    for (int i = 0; i < 32; i++) source[i] = pattern(i);
    printf("page=0x%" PRIxPTR "\n", (uintptr_t)read_only);
    CHECK(spinel_issue(COPY, command(source, 20), (uint64_t)(uintptr_t)(read_only + 64)) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    CHECK(spinel_error_code() == SPINEL_ERROR_DMA_WRITE_FAULT, "code %u", spinel_error_code());
    CHECK(spinel_error_index() == 0, "index %" PRIu64, spinel_error_index());
    int intact = 1;
    for (long i = 0; i < page; i++) intact &= read_only[i] == 0x5a;
    CHECK(intact, "the read-only page changed");
    printf("error: %s\n", spinel_error_text());
    return finish("write-fault");
}

/* An unknown funct: unknownCommand at its index. */
static int mode_unknown(int argc, char **argv) {
    spinel_options options;
    options_with_trace(&options, argc, argv);
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    CHECK(spinel_issue(NOP, 0, 0) == SPINEL_OK, "nop");
    CHECK(spinel_issue(NOP, 0, 0) == SPINEL_OK, "nop");
    CHECK(spinel_issue(99, 0x1234, 0x5678) == SPINEL_OK, "issue");
    CHECK(spinel_issue(98, 0, 0) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    CHECK(spinel_error_code() == SPINEL_ERROR_UNKNOWN_COMMAND, "code %u", spinel_error_code());
    CHECK(spinel_error_index() == 2, "index %" PRIu64 " (the first error is kept)", spinel_error_index());
    printf("error: %s\n", spinel_error_text());
    return finish("unknown");
}

/* A memory slower than the cycle limit: the fence fails instead of hanging, and the harness
 * then refuses to go on. */
static int mode_cycle_limit(void) {
    spinel_options options;
    spinel_default_options(&options);
    options.quiet = 1;
    options.cycle_limit = 10;
    options.memory_latency = 100;
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    static uint8_t source[32], target[32];
    CHECK(spinel_issue(COPY, command(source, 8), (uint64_t)(uintptr_t)target) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_ERROR_CYCLE_LIMIT, "fence returned success");
    CHECK(spinel_error_code() == SPINEL_ERROR_CYCLE_LIMIT, "code %u", spinel_error_code());
    CHECK(spinel_error_index() == 0, "index %" PRIu64, spinel_error_index());
    uint64_t cycles = spinel_cycles();
    CHECK(spinel_issue(NOP, 0, 0) == SPINEL_ERROR_CYCLE_LIMIT, "issue after the failure");
    CHECK(spinel_fence() == SPINEL_ERROR_CYCLE_LIMIT, "fence after the failure");
    CHECK(spinel_cycles() == cycles, "simulated after the failure");
    printf("error: %s\n", spinel_error_text());
    return finish("cycle-limit");
}

/* Progress lines: a copy from a slow memory (about 20,000 cycles) with a line every microsecond. */
static int mode_progress(void) {
    spinel_options options;
    spinel_default_options(&options);
    options.quiet = 1;
    options.memory_latency = 20000;
    options.progress_seconds = 1e-6;
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    static uint8_t source[32], target[32];
    for (int i = 0; i < 32; i++) source[i] = pattern(i);
    CHECK(spinel_issue(COPY, command(source, 32), (uint64_t)(uintptr_t)target) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    CHECK(memcmp(source, target, 32) == 0, "copy");
    printf("cycles=%" PRIu64 "\n", spinel_cycles());
    return finish("progress");
}

/* Creation alone (the configuration check happens here). */
static int mode_create(void) {
    int status = spinel_create(NULL);
    printf("created: %d config=%s\n", status, spinel_config_name());
    return status == SPINEL_OK ? 0 : 1;
}

/* A waveform: needs a model built with tracing; otherwise creation refuses. Optional arguments
 * 3 and 4: the cycle window (wave_from, wave_to). */
static int mode_waveform(int argc, char **argv) {
    spinel_options options;
    spinel_default_options(&options);
    options.quiet = 1;
    options.vcd_path = argc > 2 ? argv[2] : "selftest.vcd";
    if (argc > 4) {
        options.wave_from = strtoull(argv[3], NULL, 0);
        options.wave_to = strtoull(argv[4], NULL, 0);
    }
    int status = spinel_create(&options);
    if (!spinel_waveform_supported()) {
        CHECK(status == SPINEL_ERROR_UNSUPPORTED, "status %d", status);
        printf("waveform unsupported\n");
        return finish("waveform");
    }
    CHECK(status == SPINEL_OK, "spinel_create");
    static uint8_t source[32], target[32];
    for (int i = 0; i < 32; i++) source[i] = pattern(i);
    CHECK(spinel_issue(COPY, command(source, 32), (uint64_t)(uintptr_t)target) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    CHECK(spinel_waveform_enable(0) == SPINEL_OK, "waveform off");
    CHECK(spinel_issue(NOP, 0, 0) == SPINEL_OK, "nop");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    CHECK(memcmp(source, target, 32) == 0, "copy");
    spinel_destroy();
    return finish("waveform");
}

/* One TOUCH of `bytes` bytes; prints the cycles from issue to retire (via the trace) and in all. */
static int mode_timing(int argc, char **argv) {
    spinel_options options;
    options_with_trace(&options, argc, argv);
    if (argc > 3) options.memory_latency = atoi(argv[3]);
    if (argc > 4) options.memory_bytes_per_cycle = atoi(argv[4]);
    unsigned bytes = argc > 5 ? (unsigned)atoi(argv[5]) : 8;
    CHECK(spinel_create(&options) == SPINEL_OK, "spinel_create");
    static uint8_t source[64] row_align(16);
    uint64_t start = spinel_cycles();
    CHECK(spinel_issue(TOUCH, command(source, bytes), 0) == SPINEL_OK, "issue");
    CHECK(spinel_fence() == SPINEL_OK, "fence");
    printf("cycles=%" PRIu64 "\n", spinel_cycles() - start);
    CHECK(spinel_error_code() == 0, "unexpected error: %s", spinel_error_text());
    spinel_destroy();
    return finish("timing");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "copy";
    if (strcmp(mode, "copy") == 0) return mode_copy(argc, argv);
    if (strcmp(mode, "rocc") == 0) return mode_rocc();
    if (strcmp(mode, "read-fault") == 0) return mode_read_fault(argc, argv);
    if (strcmp(mode, "write-fault") == 0) return mode_write_fault(argc, argv);
    if (strcmp(mode, "unknown") == 0) return mode_unknown(argc, argv);
    if (strcmp(mode, "cycle-limit") == 0) return mode_cycle_limit();
    if (strcmp(mode, "create") == 0) return mode_create();
    if (strcmp(mode, "waveform") == 0) return mode_waveform(argc, argv);
    if (strcmp(mode, "progress") == 0) return mode_progress();
    if (strcmp(mode, "timing") == 0) return mode_timing(argc, argv);
    printf("unknown mode %s\n", mode);
    return 2;
}
