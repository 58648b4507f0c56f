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
 *   spinel_cta_aggregate, spinel_cta_aggregate_probabilities, spinel_cta_gather
 *                             CTA_AGGREGATE, CTA_PROBABILITIES, CTA_GATHER (the golden model runs
 *                             them; the RTL does not yet: docs/CTA.md, "State of the work")
 * and the library call of one head of CTA attention (waits, like tiled_matmul_auto):
 *   spinel_cta_attention      every product through tiled_matmul_auto, every CTA step a command,
 *                             the counts read back with CTA_STATUS
 *   spinel_cta_attention_heads  all heads of a layer: the front (clustering, centroids) once,
 *                             then each head (spinel_cta_compress, spinel_cta_head)
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

/* CTA_AGGREGATE of `level` on one column block: the n token rows (`cols` of at most DIM columns)
 * at scratchpad row `tokens_row`, their centroids to scratchpad row `output_row`; with
 * `residuals` (level 1) the token rows become their residuals, in place. */
static inline void spinel_cta_aggregate(unsigned level, bool residuals, uint32_t output_row, uint32_t tokens_row, size_t n, size_t cols) {
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC,
                             (uint64_t)output_row | (uint64_t)level << SPINEL_CTA_AGGREGATE_LEVEL_LOW | (uint64_t)(residuals ? 1 : 0) << SPINEL_CTA_RESIDUALS_BIT,
                             SPINEL_OPERAND(tokens_row, cols, n), SPINEL_FUNCT_CTA_AGGREGATE);
}

/* CTA_PROBABILITIES of a group of compressed query rows first_row ..< first_row + rows: their
 * score rows of k1 + k2 entries from accumulator row `scores_row` in CTAScoreLayout's blocks
 * (block b of group row t at row b·rows + t; level 1's entries in the first ceil(k1/DIM)
 * blocks), AP's int8 halves to scratchpad row `output_row` likewise. A group follows the rows
 * so far; first_row 0 starts a new set (all k0 rows at once: first_row 0, rows k0). */
static inline void spinel_cta_aggregate_probabilities(uint32_t output_row, uint32_t scores_row, size_t first_row, size_t rows, size_t entries) {
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)output_row | (uint64_t)first_row << SPINEL_CTA_FIRST_ROW_LOW,
                             SPINEL_OPERAND(scores_row, entries, rows), SPINEL_FUNCT_CTA_PROBABILITIES);
}

/* CTA_GATHER: the k0 rows AP₁·V̄₁ at accumulator row `products_row` and the k0 rows AP₂·V̄₂ after
 * them (`cols` columns), normalized with CONFIG_ST's scale; token i's row to dram + i·stride. */
static inline void spinel_cta_gather(void* dram, uint32_t products_row, size_t k0, size_t cols) {
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, (uint64_t)(uintptr_t)dram, SPINEL_OPERAND(products_row, cols, k0), SPINEL_FUNCT_CTA_GATHER);
}

/* One LSH instance: l directions of `width` int8 (row-major), l offsets in accumulator units, M, K. */
typedef struct {
    const elem_t* directions;
    const acc_t* offsets;
    uint32_t multiplier, shift;
} spinel_cta_hash_t;

/* One head's linear: d rows of `width` int8 weights (Wᵀ, one row per output column), d biases. */
typedef struct {
    const elem_t* weights;
    const acc_t* bias;
} spinel_cta_linear_t;

/* rows × cols (cols ≤ DIM) from `src` (row stride `stride` bytes) into local rows from `local`. */
static inline void spinel_cta_move_in(const void* src, size_t stride, uint32_t local, size_t rows, size_t cols) {
    gemmini_extended3_config_ld(stride, MVIN_SCALE_IDENTITY, false, 0);
    for (size_t r = 0; r < rows; r += DIM)
        gemmini_extended_mvin((const char*)src + r * stride, local + (uint32_t)r, cols, spinel_min(DIM, rows - r));
}

/* rows × cols (cols ≤ DIM) of local rows from `local` to `dst`, with the row stride of the last CONFIG_ST. */
static inline void spinel_cta_move_out(void* dst, size_t stride, uint32_t local, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r += DIM)
        gemmini_extended_mvout((char*)dst + r * stride, local + (uint32_t)r, cols, spinel_min(DIM, rows - r));
}

/* spinel_cta_aggregate_probabilities of `rows` rows from `first_row`, then AP's `blocks` blocks
 * out to `ap` (k0 rows of blocks·DIM int8; CONFIG_ST's stride blocks·DIM set in between with
 * `configure`, else before). */
static inline void spinel_cta_probability_group(elem_t* ap, uint32_t ap_row, uint32_t scores_row, size_t first_row, size_t rows,
                                                size_t entries, size_t blocks, bool configure) {
    spinel_cta_aggregate_probabilities(ap_row, scores_row, first_row, rows, entries);
    if (configure) gemmini_extended_config_st(blocks * DIM, NO_ACTIVATION, ACC_SCALE_IDENTITY);
    for (size_t b = 0; b < blocks; b++)
        spinel_cta_move_out(ap + first_row * blocks * DIM + b * DIM, blocks * DIM, ap_row + (uint32_t)(b * rows), rows, DIM);
}

/* Hashes and clusters `level`'s n tokens (tokens: n × width int8 in DRAM, row stride `stride`):
 * the products X·Aᵀ on the mesh, moved into accumulator rows 0 ..< n with the offsets at row n. */
static inline void spinel_cta_cluster_level(unsigned level, const elem_t* tokens, size_t stride, size_t n, size_t width,
                                            const spinel_cta_hash_t* hash, acc_t* products) {
    const size_t l = SPINEL_CTA_HASH_LENGTH;
    tiled_matmul_auto(n, l, width, tokens, hash->directions, NULL, products, stride, width, 0, l, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                      MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, false, false, true, true, false, 0, WS);
    spinel_cta_move_in(hash->offsets, l * sizeof(acc_t), (1u << 31) | (uint32_t)n, 1, l);
    spinel_cta_move_in(products, l * sizeof(acc_t), 1u << 31, n, l);
    spinel_cta_config_hash(level, (1u << 31) | (uint32_t)n, hash->multiplier, hash->shift);
    spinel_cta_cluster(level, 1u << 31, n);
}

/* k0, k1, k2 and the overflow token: CTA_STATUS into accumulator row `row`, moved out full width. */
static inline void spinel_cta_read_status(uint32_t row, acc_t* status) {
    spinel_cta_status((1u << 31) | row);
    gemmini_extended_config_st(DIM * sizeof(acc_t), NO_ACTIVATION, ACC_SCALE_IDENTITY);
    spinel_cta_move_out(status, DIM * sizeof(acc_t), (1u << 31) | (1u << 29) | row, (SPINEL_CTA_STATUS_VALUES + DIM - 1) / DIM, DIM);
    gemmini_fence();
}

/* The front of compressed-token attention, shared by every head of a layer (it works on the
 * layer's input tokens only): the three levels hashed and clustered (the products on the mesh,
 * the counts read back with CTA_STATUS) and the centroids C⁰, C¹, C² (level 2 on level 1's
 * residuals). `centroids[L]` must hold n × width int8 (row stride width). Writes k0, k1, k2 to
 * counts; returns 0, or -1 - level for the first level left without a table (a cluster overflow). */
static inline int spinel_cta_compress(size_t n, size_t width, const elem_t* x, size_t x_stride, const spinel_cta_hash_t hashes[3],
                                      elem_t* centroids[3], size_t counts[3]) {
    const size_t l = SPINEL_CTA_HASH_LENGTH, blocks = (width + DIM - 1) / DIM, status_row = n + 1;
    const uint32_t token_rows = 0;
    acc_t* products = (acc_t*)spinel_allocate(n * l * sizeof(acc_t));
    acc_t status[(SPINEL_CTA_STATUS_VALUES + DIM - 1) / DIM * DIM] row_align_acc(1);
    elem_t* residuals = (elem_t*)spinel_allocate(n * width);
    int failed = 0;
    /* One column block of the tokens at a time: its n rows at scratchpad row 0, level L's
     * centroids of the block at row n + L·SPINEL_CTA_MAX_CLUSTERS. */
#define SPINEL_CTA_CENTROID_ROW(level) ((uint32_t)(n + (size_t)(level) * SPINEL_CTA_MAX_CLUSTERS))
#define SPINEL_CTA_COLUMNS(block, total) spinel_min(DIM, (total) - (block) * DIM)
    /* Levels 0 and 1 on the tokens, then their centroids and level 1's residuals. */
    spinel_cta_cluster_level(0, x, x_stride, n, width, &hashes[0], products);
    spinel_cta_cluster_level(1, x, x_stride, n, width, &hashes[1], products);
    spinel_cta_read_status((uint32_t)status_row, status);
    for (unsigned level = 0; level < 2; level++) {
        if (status[level] < 0 && !failed) failed = -1 - (int)level;
        counts[level] = status[level] < 0 ? 0 : (size_t)status[level];
    }
    if (!failed) {
        gemmini_extended_config_st(width, NO_ACTIVATION, ACC_SCALE_IDENTITY);
        for (size_t c = 0; c < blocks; c++) {
            const size_t columns = SPINEL_CTA_COLUMNS(c, width);
            spinel_cta_move_in(x + c * DIM, x_stride, token_rows, n, columns);
            spinel_cta_aggregate(0, false, SPINEL_CTA_CENTROID_ROW(0), token_rows, n, columns);
            spinel_cta_aggregate(1, true, SPINEL_CTA_CENTROID_ROW(1), token_rows, n, columns);
            spinel_cta_move_out(centroids[0] + c * DIM, width, SPINEL_CTA_CENTROID_ROW(0), counts[0], columns);
            spinel_cta_move_out(centroids[1] + c * DIM, width, SPINEL_CTA_CENTROID_ROW(1), counts[1], columns);
            spinel_cta_move_out(residuals + c * DIM, width, token_rows, n, columns);
        }
        gemmini_fence();
        /* Level 2 on the residuals. */
        spinel_cta_cluster_level(2, residuals, width, n, width, &hashes[2], products);
        spinel_cta_read_status((uint32_t)status_row, status);
        if (status[2] < 0) failed = -3;
        counts[2] = status[2] < 0 ? 0 : (size_t)status[2];
    }
    if (!failed) {
        gemmini_extended_config_st(width, NO_ACTIVATION, ACC_SCALE_IDENTITY);
        for (size_t c = 0; c < blocks; c++) {
            const size_t columns = SPINEL_CTA_COLUMNS(c, width);
            spinel_cta_move_in(residuals + c * DIM, width, token_rows, n, columns);
            spinel_cta_aggregate(2, false, SPINEL_CTA_CENTROID_ROW(2), token_rows, n, columns);
            spinel_cta_move_out(centroids[2] + c * DIM, width, SPINEL_CTA_CENTROID_ROW(2), counts[2], columns);
        }
        gemmini_fence();
    }
#undef SPINEL_CTA_CENTROID_ROW
    free(products);
    free(residuals);
    return failed;
}

/* One head on the compressed tokens (after spinel_cta_compress, whose centroids and counts it
 * takes, and which leaves level 0's table for the gather): Q̄, K̄, V̄ through tiled_matmul_auto (K̄
 * and V̄'s level-2 rows from a DIM boundary), the scores, CTA_PROBABILITIES, Ō's two products,
 * CTA_GATHER per output column block: n × d output rows (row stride out_stride). */
static inline void spinel_cta_head(size_t n, size_t width, size_t d, elem_t* const centroids[3], const size_t counts[3],
                                   const spinel_cta_linear_t linears[3], const float store_scales[3], float lambda, float output_scale,
                                   elem_t* out, size_t out_stride) {
    const uint32_t ap_rows = 0, acc = 1u << 31;
    const size_t k0 = counts[0], k1 = counts[1], k2 = counts[2], k1_padded = (k1 + DIM - 1) / DIM * DIM, kv = k1_padded + k2;
    const size_t score_blocks = (k1 + DIM - 1) / DIM + (k2 + DIM - 1) / DIM;
    (void)n;
    elem_t* q = (elem_t*)spinel_allocate(k0 * d);
    elem_t* kv_rows[2] = {(elem_t*)spinel_allocate(kv * d), (elem_t*)spinel_allocate(kv * d)};
    acc_t* scores = (acc_t*)spinel_allocate(k0 * kv * sizeof(acc_t));
    elem_t* ap = (elem_t*)spinel_allocate(k0 * score_blocks * DIM);
    acc_t* halves[2] = {(acc_t*)spinel_allocate(k0 * d * sizeof(acc_t)), (acc_t*)spinel_allocate(k0 * d * sizeof(acc_t))};
    memset(kv_rows[0], 0, kv * d);
    memset(kv_rows[1], 0, kv * d);
    tiled_matmul_auto(k0, d, width, centroids[0], linears[0].weights, linears[0].bias, q, width, width, 0, d, MVIN_SCALE_IDENTITY,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, store_scales[0], 0, true, false, true, false, false, 0, WS);
    for (int m = 1; m < 3; m++) {
        tiled_matmul_auto(k1, d, width, centroids[1], linears[m].weights, linears[m].bias, kv_rows[m - 1], width, width, 0, d, MVIN_SCALE_IDENTITY,
                          MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, store_scales[m], 0, true, false, true, false, false, 0, WS);
        tiled_matmul_auto(k2, d, width, centroids[2], linears[m].weights, NULL, kv_rows[m - 1] + k1_padded * d, width, width, 0, d,
                          MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, store_scales[m], 0, false, false, true,
                          false, false, 0, WS);
    }
    /* The scores and their probability aggregation. LOOP_WS without C leaves a product in its
     * accumulator half, tile (i, j) at row (i·J + j)·DIM: for a tile of DIM compressed rows that is
     * CTA_PROBABILITIES's layout of a group of DIM rows, so the full tiles are aggregated where
     * their scores lie (`in_place` tiles per product: whole score rows in half the accumulator,
     * their operands in half the scratchpad), AP through the other half of the scratchpad. The
     * last k0 mod DIM rows (or every row when a score row does not fit) go through DRAM: their
     * scores out, then in block by block, in groups whose blocks fit the local memories. */
    const size_t acc_half_tiles = ACC_ROWS / 2 / DIM, sp_half_tiles = BANK_NUM * BANK_ROWS / 2 / DIM;
    const size_t in_place = score_blocks < sp_half_tiles ? spinel_min(acc_half_tiles / score_blocks, sp_half_tiles - score_blocks) : 0;
    const size_t in_place_rows = in_place > 0 ? k0 / DIM * DIM : 0;
    const uint32_t in_place_ap = BANK_NUM * BANK_ROWS / 2;
    spinel_cta_config_lambda(lambda);
    if (in_place_rows < k0)
        tiled_matmul_auto(k0 - in_place_rows, kv, d, q + in_place_rows * d, kv_rows[0], NULL, scores + in_place_rows * kv, d, d, 0, kv,
                          MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, false, false,
                          true, true, false, 0, WS);
    for (size_t first = 0; first < in_place_rows; first += in_place * DIM) {
        const size_t rows = spinel_min(in_place * DIM, in_place_rows - first);
        tiled_matmul_auto(rows, kv, d, q + first * d, kv_rows[0], NULL, NULL, d, d, 0, kv, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                          MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, false, false, true, true, false, 0, WS);
        const uint32_t products = (uint32_t)spinel_c_base();
        gemmini_extended_config_st(score_blocks * DIM, NO_ACTIVATION, ACC_SCALE_IDENTITY);
        for (size_t tile = 0; tile < rows; tile += DIM)
            spinel_cta_probability_group(ap, in_place_ap, products + (uint32_t)(tile * score_blocks), first + tile, DIM, k1 + k2, score_blocks, false);
    }
    if (in_place_rows < k0) {
        gemmini_fence();
        const size_t group = spinel_min(k0 - in_place_rows, spinel_min(ACC_ROWS / score_blocks, BANK_NUM * BANK_ROWS / score_blocks));
        for (size_t first = in_place_rows; first < k0; first += group) {
            const size_t rows = spinel_min(group, k0 - first);
            for (size_t b = 0; b < score_blocks; b++)
                spinel_cta_move_in(scores + first * kv + b * DIM, kv * sizeof(acc_t), acc | (uint32_t)(b * rows), rows, SPINEL_CTA_COLUMNS(b, kv));
            spinel_cta_probability_group(ap, ap_rows, acc, first, rows, k1 + k2, score_blocks, true);
        }
    }
    gemmini_fence();
    /* Ō's two products in int32, then the gather per output column block. */
    tiled_matmul_auto(k0, d, k1, ap, kv_rows[1], NULL, halves[0], score_blocks * DIM, d, 0, d, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                      MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, false, false, false, true, false, 0, WS);
    tiled_matmul_auto(k0, d, k2, ap + k1_padded, kv_rows[1] + k1_padded * d, NULL, halves[1], score_blocks * DIM, d, 0, d,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, 0, false, false, false,
                      true, false, 0, WS);
    gemmini_extended_config_st(out_stride, NO_ACTIVATION, output_scale);
    for (size_t c = 0; c * DIM < d; c++) {
        spinel_cta_move_in(halves[0] + c * DIM, d * sizeof(acc_t), acc, k0, SPINEL_CTA_COLUMNS(c, d));
        spinel_cta_move_in(halves[1] + c * DIM, d * sizeof(acc_t), acc | (uint32_t)k0, k0, SPINEL_CTA_COLUMNS(c, d));
        spinel_cta_gather(out + c * DIM, acc, k0, SPINEL_CTA_COLUMNS(c, d));
    }
    gemmini_fence();
    free(q); free(kv_rows[0]); free(kv_rows[1]); free(scores); free(ap); free(halves[0]); free(halves[1]);
}

/* Every head of a layer (docs/CTA.md, "All heads of a layer"): the front once
 * (spinel_cta_compress: the clustering depends on the tokens only), then spinel_cta_head per head
 * h with its linears (linears[3h ..< 3h + 3]), store scales (store_scales[3h ..< 3h + 3]), λ and
 * s_out (lambdas[h], output_scales[h]); head h's n × d output rows at out + h·d (row stride
 * out_stride, e.g. heads·d for a layer's context). Returns as spinel_cta_attention. */
static inline int spinel_cta_attention_heads(size_t n, size_t width, size_t heads, size_t d, const elem_t* x, size_t x_stride,
                                             const spinel_cta_hash_t hashes[3], const spinel_cta_linear_t* linears, const float* store_scales,
                                             const float* lambdas, const float* output_scales, elem_t* out, size_t out_stride, size_t counts[3]) {
    elem_t* centroids[3];
    for (size_t i = 0; i < 3; i++) centroids[i] = (elem_t*)spinel_allocate(n * width);
    const int failed = spinel_cta_compress(n, width, x, x_stride, hashes, centroids, counts);
    for (size_t h = 0; !failed && h < heads; h++)
        spinel_cta_head(n, width, d, centroids, counts, linears + 3 * h, store_scales + 3 * h, lambdas[h], output_scales[h], out + h * d, out_stride);
    for (size_t i = 0; i < 3; i++) free(centroids[i]);
    return failed;
}

/* One head of compressed-token attention on the accelerator (docs/CTA.md, "One head as one
 * program", the same stages as the golden model's CTAHeadMapping): n tokens x (n × width int8,
 * row stride x_stride bytes), the three LSH instances, the query, key and value linears (d
 * outputs), the store scales of Q̄, K̄, V̄, λ and s_out. Writes the n × d output rows (row
 * stride out_stride) and counts k0, k1, k2. Returns 0, or the first CTA_STATUS that reports a
 * level without a table (a cluster overflow): -1 - level, with nothing written to out. Needs
 * n ≤ SPINEL_CTA_MAX_TOKENS and the local memories for n token rows per DIM columns of width. */
static inline int spinel_cta_attention(size_t n, size_t width, size_t d, const elem_t* x, size_t x_stride, const spinel_cta_hash_t hashes[3],
                                       const spinel_cta_linear_t linears[3], const float store_scales[3], float lambda, float output_scale,
                                       elem_t* out, size_t out_stride, size_t counts[3]) {
    return spinel_cta_attention_heads(n, width, 1, d, x, x_stride, hashes, linears, store_scales, &lambda, &output_scale, out, out_stride, counts);
}
#undef SPINEL_CTA_COLUMNS
#endif /* SPINEL_HAS_CTA */

#endif /* SPINEL_LIBRARY_H */
