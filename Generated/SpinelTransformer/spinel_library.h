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
 *
 * and, on a configuration with CTA (SPINEL_HAS_CTA; docs/CTA.md), the CTA commands the hardware
 * runs, one command each,
 * issued like gemmini_extended_mvin (they do not wait; gemmini_fence does):
 *   spinel_cta_config_hash    CTA_CONFIG of a level: its offsets row, M and K
 *   spinel_cta_config_lambda  CTA_CONFIG of the target λ
 *   spinel_cta_cluster        CTA_CLUSTER: hash and cluster n tokens' products
 *   spinel_cta_status         CTA_STATUS: k0, k1, k2 and the overflow token into a row
 */
#include "gemmini.h"

#ifndef SPINEL_LIBRARY_H
#define SPINEL_LIBRARY_H

static inline void* spinel_allocate(size_t bytes) {
    void* p = malloc(bytes ? bytes : 1);
    if (!p) { fprintf(stderr, "spinel: out of memory\n"); exit(2); }
    return p;
}

/* tiled_matmul_auto on whole row-major matrices (strides are the widths); with `check`, the
 * result is compared with the CPU's and a difference ends the program naming `layer_name`.
 * Gemmini declares A, B and C as variable-length 2-D arrays; they are taken here as pointers
 * (the same calls compile, in C++ too). */
static inline void tiled_matmul_nn_auto(size_t dim_I, size_t dim_J, size_t dim_K, const void* A, const void* B, const void* D, void* C,
                                        int act, acc_scale_t scale, bool repeating_bias, enum tiled_matmul_type_t tiled_matmul_type,
                                        bool check, const char* layer_name) {
    tiled_matmul_auto(dim_I, dim_J, dim_K, (const elem_t*)A, (const elem_t*)B, D, C, dim_K, dim_J, dim_J, dim_J, MVIN_SCALE_IDENTITY,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0, repeating_bias, false, false, false, false, 0,
                      tiled_matmul_type);
    if (!check || tiled_matmul_type == CPU) return;
    elem_t* expected = (elem_t*)spinel_allocate(dim_I * dim_J * sizeof(elem_t));
    tiled_matmul_auto(dim_I, dim_J, dim_K, (const elem_t*)A, (const elem_t*)B, D, expected, dim_K, dim_J, dim_J, dim_J,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, act, scale, 0, repeating_bias, false, false, false,
                      false, 0, CPU);
    const elem_t* got = (const elem_t*)C;
    for (size_t x = 0; x < dim_I * dim_J; x++)
        if (got[x] != expected[x]) {
            fprintf(stderr, "tiled_matmul_nn_auto: %s: C[%zu][%zu] is %d on the accelerator, %d on the CPU\n",
                    layer_name ? layer_name : "(unnamed layer)", x / dim_J, x % dim_J, (int)got[x], (int)expected[x]);
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
        spinel_normalize_rows(act, (uint64_t)(uintptr_t)(out + i * J), 1u << 31, rows, J);
    }
    if (act == SOFTMAX) spinel_reset_norm(&constants);
    gemmini_fence();
}

/* ---- CTA (docs/CTA.md); every field position comes from spinel_isa.h ---- */
#if SPINEL_HAS_CTA

/* CTA_CONFIG of `level` (0-2): its hash instance sat(floor((p + offset)·M / 2^K)) with the
 * SPINEL_CTA_HASH_LENGTH offsets in the accumulator row `offsets_row` (an accumulator address,
 * bit 31 set, not accumulating). */
static inline void spinel_cta_config_hash(unsigned level, uint32_t offsets_row, uint32_t multiplier, uint32_t shift) {
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC,
                             (uint64_t)level | (uint64_t)multiplier << SPINEL_CTA_HASH_M_LOW | (uint64_t)shift << SPINEL_CTA_HASH_K_LOW,
                             SPINEL_OPERAND(offsets_row, SPINEL_CTA_HASH_LENGTH, 1), SPINEL_FUNCT_CTA_CONFIG);
}

/* CTA_CONFIG of the target λ (fp32, positive and finite), for CTA_PROBABILITIES. */
static inline void spinel_cta_config_lambda(float lambda) {
    uint32_t bits;
    memcpy(&bits, &lambda, sizeof bits);
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)SPINEL_CTA_EXPONENT_TARGET | (uint64_t)bits << SPINEL_CTA_EXPONENT_LOW, 0,
                             SPINEL_FUNCT_CTA_CONFIG);
}

/* CTA_CLUSTER of `level`: the n tokens' SPINEL_CTA_HASH_LENGTH products, one accumulator row
 * per token from `products_row` on, hashed with the level's instance and clustered (ids in
 * order of first appearance). A token that needs cluster SPINEL_CTA_MAX_CLUSTERS + 1 raises
 * clusterOverflow (13) and the level keeps no table; CTA_STATUS names the token. */
static inline void spinel_cta_cluster(unsigned level, uint32_t products_row, size_t n) {
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)level, SPINEL_OPERAND(products_row, SPINEL_CTA_HASH_LENGTH, n), SPINEL_FUNCT_CTA_CLUSTER);
}

/* CTA_STATUS: k0, k1, k2 (-1 for a level without a table) and the last overflow token (-1 if
 * none) into the first SPINEL_CTA_STATUS_VALUES lanes of the accumulator row `row`. */
static inline void spinel_cta_status(uint32_t row) {
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, 0, SPINEL_OPERAND(row, 0, 0), SPINEL_FUNCT_CTA_STATUS);
}
#endif /* SPINEL_HAS_CTA */

#endif /* SPINEL_LIBRARY_H */
