extension HarnessSources {
    /// `spinel_library.h`: the rest of Gemmini's software library (residual addition, global
    /// average, normalization, `tiled_matmul_nn_auto`) over Spinel's commands.
    static let libraryHeader = #"""
/*
 * Spinel harness: the rest of Gemmini's software library, written for Spinel with the names,
 * argument lists and meaning of Gemmini's functions (tiled_matmul_auto is in spinel_tiled.h).
 * Each runs on the accelerator (type OS or WS; the choice only matters where an array is
 * used) or on the host (type CPU) with the same arithmetic, and waits for the accelerator
 * before it returns. gemmini.h includes this file.
 *
 *   tiled_matmul_nn_auto   tiled_matmul_auto over whole row-major matrices, optionally checked
 *                          against the CPU
 *   tiled_resadd_auto      C = act(ACC_SCALE(MVIN_SCALE_ACC(A, sA) + MVIN_SCALE_ACC(B, sB), sC))
 *   tiled_global_average_auto
 *                          the mean of every channel over a dim×dim image, ACC_SCALE(Σ, 1/dim²)
 *   tiled_norm_auto        LayerNorm or Softmax of the rows of an acc_t matrix
 */
#include "gemmini.h"

#ifndef SPINEL_LIBRARY_H
#define SPINEL_LIBRARY_H

static inline void* spinel_allocate(size_t bytes) {
    void* p = malloc(bytes ? bytes : 1);
    if (!p) { fprintf(stderr, "spinel: out of memory\n"); exit(2); }
    return p;
}

/* tiled_matmul_auto on whole matrices (strides are the widths); with `check`, the result is
 * compared with the CPU's and a difference ends the program naming `layer_name`. */
static inline void tiled_matmul_nn_auto(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t A[dim_I][dim_K],
                                 const elem_t B[dim_K][dim_J], const void* D, elem_t C[dim_I][dim_J], int act, acc_scale_t scale,
                                 bool repeating_bias, enum tiled_matmul_type_t tiled_matmul_type, bool check, char* layer_name) {
    tiled_matmul_auto(dim_I, dim_J, dim_K, &A[0][0], &B[0][0], D, &C[0][0], dim_K, dim_J, dim_J, dim_J, MVIN_SCALE_IDENTITY,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0, repeating_bias, false, false, false, false, 0,
                      tiled_matmul_type);
    if (!check || tiled_matmul_type == CPU) return;
    elem_t* expected = (elem_t*)spinel_allocate(dim_I * dim_J * sizeof(elem_t));
    tiled_matmul_auto(dim_I, dim_J, dim_K, &A[0][0], &B[0][0], D, expected, dim_K, dim_J, dim_J, dim_J, MVIN_SCALE_IDENTITY,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0, repeating_bias, false, false, false, false, 0, CPU);
    for (size_t i = 0; i < dim_I; i++)
        for (size_t j = 0; j < dim_J; j++)
            if (C[i][j] != expected[i * dim_J + j]) {
                fprintf(stderr, "tiled_matmul_nn_auto: %s: C[%zu][%zu] is %d on the accelerator, %d on the CPU\n",
                        layer_name ? layer_name : "(unnamed layer)", i, j, (int)C[i][j], (int)expected[i * dim_J + j]);
                exit(1);
            }
    free(expected);
}

/* Gemmini's residual addition: both operands move into the accumulator with their mvin scales
 * (the second accumulating), then leave through ACC_SCALE with C_scale (and ReLU). I×J
 * matrices, strides J. */
static inline void tiled_resadd_auto(const size_t I, const size_t J, const scale_t A_scale, const scale_t B_scale,
                              const acc_scale_t C_scale, const elem_t* A, const elem_t* B, elem_t* C, bool relu,
                              enum tiled_matmul_type_t matadd_type) {
    if (matadd_type == CPU) {
        for (size_t i = 0; i < I * J; i++) {
            const elem_t v = ACC_SCALE((acc_t)spinel_wrap_acc((uint64_t)(int64_t)MVIN_SCALE_ACC(A[i], A_scale) +
                                                              (uint64_t)(int64_t)MVIN_SCALE_ACC(B[i], B_scale)),
                                       C_scale);
            C[i] = relu && v < 0 ? 0 : v;
        }
        return;
    }
    gemmini_extended3_config_ld(J * sizeof(elem_t), A_scale, true, 0);
    gemmini_extended3_config_ld(J * sizeof(elem_t), B_scale, true, 1);
    gemmini_extended_config_st(J * sizeof(elem_t), relu ? RELU : NO_ACTIVATION, C_scale);
    const size_t tiles = ACC_ROWS / DIM;
    size_t next = 0;
    for (size_t i = 0; i < I; i += DIM)
        for (size_t j = 0; j < J; j += DIM, next = (next + 1) % tiles) {
            const uint32_t acc = (1u << 31) | (uint32_t)(next * DIM);
            const size_t rows = spinel_min(DIM, I - i), cols = spinel_min(DIM, J - j);
            gemmini_extended_mvin(A + i * J + j, acc, cols, rows);
            gemmini_extended_mvin2(B + i * J + j, acc | (1u << 30), cols, rows);
            gemmini_extended_mvout(C + i * J + j, acc, cols, rows);
        }
    gemmini_fence();
}

/* Gemmini's global average pooling: input is batches × dim × dim × channels (NHWC), output
 * batches × channels, each the ACC_SCALE of its channel's sum by 1/dim². On the accelerator
 * the sums are a matmul by a row of ones. */
static inline void tiled_global_average_auto(const elem_t* input, elem_t* output, int batches, int channels, int dim,
                                      enum tiled_matmul_type_t type) {
    const size_t pixels = (size_t)dim * (size_t)dim;
    const acc_scale_t scale = (acc_scale_t)1 / (acc_scale_t)pixels;
    elem_t* ones = (elem_t*)spinel_allocate(pixels * sizeof(elem_t));
    for (size_t p = 0; p < pixels; p++) ones[p] = 1;
    for (int b = 0; b < batches; b++)
        tiled_matmul_auto(1, (size_t)channels, pixels, ones, input + (size_t)b * pixels * (size_t)channels, NULL,
                          output + (size_t)b * (size_t)channels, pixels, (size_t)channels, 0, (size_t)channels, MVIN_SCALE_IDENTITY,
                          MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, scale, 0, false, false, false, false, false, 0,
                          type);
    free(ones);
}

/* Gemmini's tiled_norm_auto: LayerNorm (act LAYERNORM, output scale C_scale) or Softmax (act
 * SOFTMAX, with the constants of Gemmini's, from a fixed quantization scale of 0.05) of each of
 * the I rows of J acc_t values; outputs elem_t, strides J. On the accelerator, DIM rows at a
 * time move into the accumulator and go through the normalization passes (a row must fit the
 * accumulator). */
static inline void tiled_norm_auto(const size_t I, const size_t J, const acc_t* in, elem_t* out, const acc_scale_t C_scale, int act,
                            enum tiled_matmul_type_t norm_type) {
    if (act != LAYERNORM && act != SOFTMAX) {
        fprintf(stderr, "tiled_norm_auto: act must be LAYERNORM or SOFTMAX, not %d\n", act);
        exit(2);
    }
    spinel_norm_constants_t constants = spinel_norm_constants(SOFTMAX, (acc_scale_t)0.05);
    if (norm_type == CPU) {
        for (size_t i = 0; i < I; i++) {
            if (act == LAYERNORM) spinel_layernorm_row(in + i * J, J, C_scale, out + i * J);
            else spinel_softmax_row(in + i * J, J, constants.qln2, constants.qln2_inv, constants.exp_qb, constants.exp_qc, out + i * J);
        }
        return;
    }
    if (!SPINEL_HAS_NORMALIZATIONS) {
        fprintf(stderr, "tiled_norm_auto: " SPINEL_CONFIG_NAME " has no normalization units; use type CPU or a configuration with "
                        "hasNormalizations\n");
        exit(2);
    }
    if (spinel_tiles_of(J) * DIM > ACC_ROWS) {
        fprintf(stderr, "tiled_norm_auto: a row of %zu values needs %zu accumulator rows; " SPINEL_CONFIG_NAME " has %d\n", J,
                spinel_tiles_of(J) * DIM, ACC_ROWS);
        exit(2);
    }
    if (act == SOFTMAX) spinel_configure_norm(&constants, SOFTMAX);
    gemmini_extended_config_st(J * sizeof(elem_t), act & 3, C_scale);
    gemmini_extended3_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, 0);
    for (size_t i = 0; i < I; i += DIM) {
        const size_t rows = spinel_min(DIM, I - i);
        for (size_t j = 0; j < J; j += DIM)
            gemmini_extended_mvin(in + i * J + j, (1u << 31) | (uint32_t)j, spinel_min(DIM, J - j), rows);
        spinel_normalize_rows(act, (uint64_t)(uintptr_t)(out + i * J), J * sizeof(elem_t), 1u << 31, rows, J);
    }
    if (act == SOFTMAX) spinel_reset_norm(&constants);
    gemmini_fence();
}

#endif /* SPINEL_LIBRARY_H */
"""#

    /// `gemmini_testutils.h`: the helpers of Gemmini's test programs, with `read_cycles()` in
    /// simulated cycles.
    static let testUtilitiesHeader = #"""
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
SPINEL_TESTUTILS_MATMUL(matmul, elem_t, full_t, A[r][k], B[k][c])
SPINEL_TESTUTILS_MATMUL(matmul_short, elem_t, elem_t, A[r][k], B[k][c])
SPINEL_TESTUTILS_MATMUL(matmul_full, full_t, full_t, A[r][k], B[k][c])
SPINEL_TESTUTILS_MATMUL(matmul_A_transposed, elem_t, full_t, A[k][r], B[k][c])
SPINEL_TESTUTILS_MATMUL(matmul_short_A_transposed, elem_t, elem_t, A[k][r], B[k][c])
SPINEL_TESTUTILS_MATMUL(matmul_full_A_transposed, full_t, full_t, A[k][r], B[k][c])
SPINEL_TESTUTILS_MATMUL(matmul_B_transposed, elem_t, full_t, A[r][k], B[c][k])
SPINEL_TESTUTILS_MATMUL(matmul_short_B_transposed, elem_t, elem_t, A[r][k], B[c][k])
SPINEL_TESTUTILS_MATMUL(matmul_full_B_transposed, full_t, full_t, A[r][k], B[c][k])
SPINEL_TESTUTILS_MATMUL(matmul_AB_transposed, elem_t, full_t, A[k][r], B[c][k])
SPINEL_TESTUTILS_MATMUL(matmul_short_AB_transposed, elem_t, elem_t, A[k][r], B[c][k])
SPINEL_TESTUTILS_MATMUL(matmul_full_AB_transposed, full_t, full_t, A[k][r], B[c][k])
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

static inline void printMatrix(elem_t m[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++) {
        for (size_t c = 0; c < DIM; c++) printf("%d ", (int)m[r][c]);
        printf("\n");
    }
}

static inline void printMatrixAcc(acc_t m[DIM][DIM]) {
    for (size_t r = 0; r < DIM; r++) {
        for (size_t c = 0; c < DIM; c++) printf("%" PRId64 " ", (int64_t)m[r][c]);
        printf("\n");
    }
}

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
"""#
}
