/*
 * Spinel harness: gemmini_testutils.h, the helpers Gemmini's test programs use, written for
 * Spinel with the names and argument lists of Gemmini's include/gemmini_testutils.h: CPU
 * references over DIM×DIM tiles, comparisons, printing, and read_cycles(), which here returns
 * the simulated accelerator's clock cycles on any host (Gemmini's reads the RISC-V cycle CSR).
 * Gemmini's rand() replacement is not provided: the C library's rand() is used.
 */
#ifndef SPINEL_GEMMINI_TESTUTILS_H
#define SPINEL_GEMMINI_TESTUTILS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemmini.h"
#include "spinel.h"

/* Clock cycles since the accelerator's reset (spinel_cycles). */
static inline uint64_t read_cycles(void) { return spinel_cycles(); }

/* C = D + A·B over DIM×DIM tiles: full_t results (matmul, matmul_full with a full_t D) or
 * elem_t ones wrapping as Gemmini's do (matmul_short); the _transposed forms read A or B (or
 * both) transposed. */
#define SPINEL_TESTUTILS_MATMUL(name, D_t, C_t, a, b)                                              \
    static inline void name(elem_t A[DIM][DIM], elem_t B[DIM][DIM], D_t D[DIM][DIM], C_t C[DIM][DIM]) { \
        for (size_t r = 0; r < DIM; r++)                                                           \
            for (size_t c = 0; c < DIM; c++) {                                                     \
                full_t sum = D[r][c];                                                              \
                for (size_t k = 0; k < DIM; k++) sum += (full_t)(a) * (full_t)(b);                 \
                C[r][c] = (C_t)sum;                                                                \
            }                                                                                      \
    }
/* The three forms (full_t C, elem_t C, full_t D and C) of one operand orientation. */
#define SPINEL_TESTUTILS_MATMULS(suffix, a, b)                         \
    SPINEL_TESTUTILS_MATMUL(matmul##suffix, elem_t, full_t, a, b)       \
    SPINEL_TESTUTILS_MATMUL(matmul_short##suffix, elem_t, elem_t, a, b) \
    SPINEL_TESTUTILS_MATMUL(matmul_full##suffix, full_t, full_t, a, b)
SPINEL_TESTUTILS_MATMULS(, A[r][k], B[k][c])
SPINEL_TESTUTILS_MATMULS(_A_transposed, A[k][r], B[k][c])
SPINEL_TESTUTILS_MATMULS(_B_transposed, A[r][k], B[c][k])
SPINEL_TESTUTILS_MATMULS(_AB_transposed, A[k][r], B[c][k])
#undef SPINEL_TESTUTILS_MATMULS
#undef SPINEL_TESTUTILS_MATMUL

static inline void matadd(full_t sum[DIM][DIM], full_t m1[DIM][DIM], full_t m2[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++) sum[r][c] = m1[r][c] + m2[r][c];
}

static inline elem_t spinel_saturate_elem(full_t x) { return x > elem_t_max ? elem_t_max : x < elem_t_min ? elem_t_min : (elem_t)x; }

/* ROUNDING_RIGHT_SHIFT by `shift`, then saturated into elem_t. */
static inline void matshift(full_t full[DIM][DIM], elem_t out[DIM][DIM], int shift) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++) out[r][c] = spinel_saturate_elem(ROUNDING_RIGHT_SHIFT(full[r][c], shift));
}

/* ACC_SCALE by `scale` (saturating into elem_t). */
static inline void matscale(full_t full[DIM][DIM], elem_t out[DIM][DIM], acc_scale_t scale) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++) out[r][c] = ACC_SCALE(full[r][c], scale);
}

static inline void matrelu(elem_t in[DIM][DIM], elem_t out[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++) out[r][c] = in[r][c] > 0 ? in[r][c] : 0;
}

static inline void transpose(elem_t in[DIM][DIM], elem_t out[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++) out[c][r] = in[r][c];
}

/* printMatrix and printMatrixAcc: one row per line. */
#define SPINEL_TESTUTILS_PRINT(name, type)                                                          \
    static inline void name(type m[DIM][DIM]) {                                                     \
        for (size_t r = 0; r < DIM; r++) {                                                          \
            for (size_t c = 0; c < DIM; c++) printf("%" PRId64 " ", (int64_t)m[r][c]);              \
            printf("\n");                                                                           \
        }                                                                                           \
    }
SPINEL_TESTUTILS_PRINT(printMatrix, elem_t)
SPINEL_TESTUTILS_PRINT(printMatrixAcc, acc_t)
#undef SPINEL_TESTUTILS_PRINT

static inline int is_equal(elem_t x[DIM][DIM], elem_t y[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++)
            if (x[r][c] != y[r][c]) return 0;
    return 1;
}

static inline int is_equal_transposed(elem_t x[DIM][DIM], elem_t y[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++)
        for (size_t c = 0; c < DIM; c++)
            if (x[r][c] != y[c][r]) return 0;
    return 1;
}

/* Whether the first dim_i × dim_j elements of two 2-D arrays are equal (a statement expression). */
#define MAT_IS_EQUAL(dim_i, dim_j, x, y)                                      \
    ({                                                                        \
        int spinel_equal_ = 1;                                                \
        for (size_t spinel_i_ = 0; spinel_i_ < (size_t)(dim_i); spinel_i_++)  \
            for (size_t spinel_j_ = 0; spinel_j_ < (size_t)(dim_j); spinel_j_++) \
                if ((x)[spinel_i_][spinel_j_] != (y)[spinel_i_][spinel_j_]) spinel_equal_ = 0; \
        spinel_equal_;                                                        \
    })

#endif /* SPINEL_GEMMINI_TESTUTILS_H */
