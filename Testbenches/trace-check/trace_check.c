/*
 * A small weight-stationary matmul through the accelerator with the harness trace on, for
 * `spinel check` (Tests/SpinelAcceleratorTests/TraceReplayTests.swift builds and runs it on
 * the `small` preset and replays the trace on the golden model).
 *
 *   trace_check TRACE [MODE]     exit 0 and "PASSED" when every check holds
 *
 * Modes:
 *   matmul (default)  C = A·B + D with D moved into the accumulator (MVIN2), B preloaded as the
 *                     weights and A streamed through (COMPUTE_PRELOADED), accumulating onto D. C
 *                     leaves twice: scaled to elem_t (saturating) and full width as acc_t; both
 *                     are checked against the C reference.
 *   reject            an MVIN with DIM + 1 rows (tooManyRows) in the middle of the matmul: the
 *                     error names it, and the commands after it still run.
 *   read-fault        an MVIN whose rows 2 and 3 lie in an unmapped page (dmaReadFault); rows 0
 *                     and 1 arrive, and a later MVOUT writes what the scratchpad holds.
 *   write-fault       an MVOUT with a stride of one page whose row 1 lies in a read-only page
 *                     (dmaWriteFault); rows 2 and 3 go to writable pages.
 *   write-fault-then-mvout
 *                     the same faulting MVOUT, then (no fence between) a good MVOUT of other
 *                     data over page 2, where the faulted one's row 2 went: its bytes must be
 *                     compared, not excused as the fault's leftovers.
 *   loop-write-fault-then-mvout
 *                     the same with LOOP_WS writing C (stride one page, row 1 read-only) in
 *                     place of the faulting MVOUT.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gemmini.h"
#include "spinel.h"

static elem_t A[DIM][DIM] row_align(1);
static elem_t B[DIM][DIM] row_align(1);
static acc_t D[DIM][DIM] row_align_acc(1);
static elem_t C[DIM][DIM] row_align(1);
static acc_t C_full[DIM][DIM] row_align_acc(1);

static elem_t saturate(acc_t x) {
    const acc_t high = (acc_t)((1u << (8 * sizeof(elem_t) - 1)) - 1), low = -high - 1;
    return (elem_t)(x > high ? high : x < low ? low : x);
}

static int run_faults(const char *mode);

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TRACE [matmul|reject|read-fault|write-fault|write-fault-then-mvout|loop-write-fault-then-mvout]\n", argv[0]);
        return 2;
    }
    const char *mode = argc > 2 ? argv[2] : "matmul";
    spinel_options options;
    spinel_default_options(&options);
    options.quiet = 1;
    options.trace_path = argv[1];
    if (spinel_create(&options) != SPINEL_OK) return 2;
    if (strcmp(mode, "read-fault") == 0 || strncmp(mode, "write-fault", 11) == 0 || strcmp(mode, "loop-write-fault-then-mvout") == 0)
        return run_faults(mode);
    const int reject = strcmp(mode, "reject") == 0;
    if (!reject && strcmp(mode, "matmul") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }

    for (int i = 0; i < DIM; i++) {
        for (int j = 0; j < DIM; j++) {
            A[i][j] = (elem_t)(i * DIM + j - 7);
            B[i][j] = (elem_t)((i + 2 * j) % 9 - 4);
            D[i][j] = (acc_t)(40 * i - 25 * j + 3);
        }
    }
    memset(C, 0x55, sizeof C);
    memset(C_full, 0x55, sizeof C_full);

    const uint32_t sp_A = 0, sp_B = DIM;
    const uint32_t acc_C = 1u << 31;  /* accumulator row 0 */
    const uint32_t accumulate = 1u << 30, full_width = 1u << 29;

    gemmini_extended3_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 0); /* MVIN: A, B */
    gemmini_extended3_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, 1);  /* MVIN2: D */
    gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
    gemmini_config_st(DIM * sizeof(elem_t));
    gemmini_mvin(A, sp_A);
    gemmini_mvin(B, sp_B);
    if (reject) gemmini_extended_mvin(B, sp_B, DIM, DIM + 1); /* tooManyRows: changes nothing */
    gemmini_extended_mvin2(D, acc_C, DIM, DIM);
    gemmini_preload(sp_B, acc_C | accumulate);
    gemmini_compute_preloaded(sp_A, GARBAGE_ADDR);
    gemmini_mvout(C, acc_C);
    gemmini_config_st(DIM * sizeof(acc_t));
    gemmini_mvout(C_full, acc_C | full_width);
    gemmini_fence();

    int failures = 0;
    for (int i = 0; i < DIM; i++) {
        for (int j = 0; j < DIM; j++) {
            acc_t sum = D[i][j];
            for (int k = 0; k < DIM; k++) sum += (acc_t)A[i][k] * B[k][j];
            if (C_full[i][j] != sum) {
                printf("FAIL: C_full[%d][%d] = %" PRId32 ", expected %" PRId32 "\n", i, j, (int32_t)C_full[i][j], (int32_t)sum);
                failures++;
            }
            if (C[i][j] != saturate(sum)) {
                printf("FAIL: C[%d][%d] = %d, expected %d\n", i, j, C[i][j], saturate(sum));
                failures++;
            }
        }
    }
    if (!reject && spinel_error_code() != 0) {
        printf("FAIL: accelerator error: %s\n", spinel_error_text());
        failures++;
    }
    if (reject && (spinel_error_code() != 2 || spinel_error_index() != 6)) {
        printf("FAIL: expected tooManyRows at command 6, got %s\n", spinel_error_text());
        failures++;
    }
    printf("%s: %" PRIu64 " commands, %" PRIu64 " cycles\n", failures ? "FAILED" : "PASSED", spinel_commands(), spinel_cycles());
    spinel_destroy(); /* closes the trace */
    return failures ? 1 : 0;
}

/* Pages: [0] writable, [1] unmapped (read-fault) or read-only (write-fault), [2] and [3] writable. */
static int run_faults(const char *mode) {
    const long page = sysconf(_SC_PAGESIZE);
    uint8_t *pages = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) return 2;
    memset(pages, 0x5a, 4 * page);
    for (int i = 0; i < DIM * DIM; i++) A[i / DIM][i % DIM] = (elem_t)(3 * i + 1);
    int failures = 0;
    uint64_t expected_index = 0;
    uint32_t expected_code = 0;
    if (strcmp(mode, "read-fault") == 0) {
        /* Rows of DIM elements at a stride of DIM elements, rows 2 and 3 in the unmapped page. */
        uint8_t *source = pages + page - 2 * DIM * sizeof(elem_t);
        for (int i = 0; i < 2 * DIM; i++) ((elem_t *)source)[i] = (elem_t)(-5 * i);
        if (munmap(pages + page, page) != 0) return 2;
        gemmini_config_ld(DIM * sizeof(elem_t));
        gemmini_config_st(DIM * sizeof(elem_t));
        gemmini_mvin(A, 0);          /* #2: rows 0..DIM-1 = A */
        gemmini_mvin(source, 0);     /* #3: rows 0, 1 from source, then dmaReadFault */
        gemmini_mvout(C, 0);         /* #4: still runs */
        gemmini_fence();
        expected_code = SPINEL_ERROR_DMA_READ_FAULT;
        expected_index = 3;
        for (int r = 0; r < DIM; r++) {
            for (int c = 0; c < DIM; c++) {
                elem_t want = r < 2 ? ((elem_t *)source)[r * DIM + c] : A[r][c];
                if (C[r][c] != want) {
                    printf("FAIL: C[%d][%d] = %d, expected %d\n", r, c, C[r][c], want);
                    failures++;
                }
            }
        }
    } else {
        /* Row r of the MVOUT goes to pages[r]: row 1 is read-only. */
        if (mprotect(pages + page, page, PROT_READ) != 0) return 2;
        const int then_mvout = strstr(mode, "then-mvout") != NULL, loop = strncmp(mode, "loop", 4) == 0;
        memset(B, 0, sizeof B);
        for (int i = 0; i < DIM; i++) B[i][i] = 1; /* the identity */
        for (int i = 0; i < DIM * DIM; i++) C[i / DIM][i % DIM] = (elem_t)(100 - 7 * i);
        gemmini_config_ld(DIM * sizeof(elem_t));
        gemmini_config_st(page);
        gemmini_mvin(A, 0);          /* #2 */
        if (loop) {
            /* #3..#10: C = A·I through LOOP_WS with C's rows one page apart: row 1 faults. The
               LOOP_WS leaves CONFIG_ST's stride to its own C stride. */
            gemmini_extended3_config_ld(DIM * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 1); /* B's stride */
            gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
            gemmini_loop_ws(1, 1, 1, 0, 0, 0, (uint64_t)(uintptr_t)A, (uint64_t)(uintptr_t)B, 0, (uint64_t)(uintptr_t)pages,
                            DIM, DIM, DIM, page, false, false, false, true, false, NO_ACTIVATION, 0, 0, false);
            expected_index = 10;
        } else {
            gemmini_mvout(pages, 0);     /* #3: row 1 faults */
            expected_index = 3;
        }
        if (then_mvout) {
            gemmini_mvin(C, DIM);                       /* other data into rows DIM..2·DIM-1 */
            gemmini_config_st(DIM * sizeof(elem_t));
            gemmini_mvout(pages + 2 * page, DIM);      /* over the faulted command's row 2 */
        }
        gemmini_fence();
        expected_code = SPINEL_ERROR_DMA_WRITE_FAULT;
        if (then_mvout && memcmp(pages + 2 * page, C, DIM * DIM) != 0) {
            printf("FAIL: the MVOUT after the fault did not write page 2\n");
            failures++;
        }
        if (memcmp(pages, A[0], DIM) != 0) {
            printf("FAIL: row 0 was not written\n");
            failures++;
        }
        for (long i = 0; i < page; i++) {
            if (pages[page + i] != 0x5a) {
                printf("FAIL: the read-only page changed at %ld\n", i);
                failures++;
                break;
            }
        }
    }
    if (spinel_error_code() != expected_code || spinel_error_index() != expected_index) {
        printf("FAIL: expected error %u at command %" PRIu64 ", got %s\n", expected_code, expected_index, spinel_error_text());
        failures++;
    }
    printf("%s: %" PRIu64 " commands, %" PRIu64 " cycles\n", failures ? "FAILED" : "PASSED", spinel_commands(), spinel_cycles());
    spinel_destroy();
    return failures ? 1 : 0;
}
