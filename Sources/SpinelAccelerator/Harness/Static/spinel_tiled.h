/*
 * Spinel harness: tiled matrix multiplication on the accelerator (docs/ACCELERATOR.md,
 * "LOOP_WS"), written for Spinel after Gemmini's tiled_matmul_auto (its arguments and meaning,
 * docs/GEMMINI-COMPATIBILITY.md).
 *
 *   C = act(ACC_SCALE(A·B + D, scale))       A: I×K, B: K×J, D (acc_t, optional): I×J, C: I×J
 *
 * Tile sizes (in DIM tiles): the I×J block of C that fits in half the accumulator (with its
 * operands in half the scratchpad) and gives the fewest output blocks, then the fewest
 * operand bytes, then the widest J; then K split evenly into as few loops as fit. Each output
 * tile is one LOOP_WS (or several along K, accumulating, when K does not fit), its operands
 * alternating between the scratchpad halves so that a loop's loads overlap the previous
 * loop's computation.
 *
 * TILED_COMMANDS issues, for each loop, exactly the commands the hardware unrolls LOOP_WS
 * into, from the host, in the golden model's order (each controller gets them in the same
 * order as from LOOP_WS; the hardware interleaves the controllers differently).
 */
/* gemmini.h includes this file at its end: include it first, so that either order works. */
#include "gemmini.h"

#ifndef SPINEL_TILED_H
#define SPINEL_TILED_H

#include <stdio.h>
#include <stdlib.h>

#include "spinel_reference.h"

/* Gemmini's dataflow choice: OS and WS run on the accelerator, CPU computes the same result on
 * the host; TILED_COMMANDS (Spinel's) is WS issued command by command from the host. */
enum tiled_matmul_type_t { OS, WS, CPU, TILED_COMMANDS };

typedef struct {
    size_t I, J, K;     /* tiles of DIM per loop */
} spinel_tiles_t;

static inline size_t spinel_tiles_of(size_t elements) { return (elements + DIM - 1) / DIM; }

static inline size_t spinel_min(size_t a, size_t b) { return a < b ? a : b; }

/* The choice: I, J, K in tiles for an I×J×K problem given in tiles. Every LOOP_WS pays a
 * prologue (its first K block's loads start only when the previous loop has been emitted)
 * and an epilogue (its mvouts follow its last K block), so I×J (C in half the accumulator,
 * its operands in half the scratchpad) is chosen for the fewest output blocks, then the
 * fewest operand bytes loaded, then the widest J (B mvins of whole blocks, the fewest mvouts
 * after the last column). K is then split evenly into as few loops as fit. */
/* K split evenly into as few loops as fit, with I×J chosen. */
static inline spinel_tiles_t spinel_split_K(spinel_tiles_t t, size_t tiles_K) {
    const size_t max_K = BANK_NUM * BANK_ROWS / 2 / DIM / (t.I + t.J), loops_K = (tiles_K + max_K - 1) / max_K;
    t.K = (tiles_K + loops_K - 1) / loops_K;
    return t;
}

static inline spinel_tiles_t spinel_choose_tiles(size_t tiles_I, size_t tiles_J, size_t tiles_K) {
    const size_t sp_half = BANK_NUM * BANK_ROWS / 2 / DIM, acc_half = ACC_ROWS / 2 / DIM;
    spinel_tiles_t t = {1, 1, 1};
    size_t best_blocks = (size_t)-1, best_loads = (size_t)-1;
    for (size_t I = 1; I <= spinel_min(tiles_I, acc_half); I++)
        for (size_t J = 1; J <= spinel_min(tiles_J, acc_half / I) && I + J <= sp_half; J++) {
            const size_t n_I = (tiles_I + I - 1) / I, n_J = (tiles_J + J - 1) / J;
            const size_t blocks = n_I * n_J, loads = tiles_I * n_J + tiles_J * n_I;
            if (blocks < best_blocks || (blocks == best_blocks && (loads < best_loads || (loads == best_loads && J > t.J)))) {
                t.I = I;
                t.J = J;
                best_blocks = blocks;
                best_loads = loads;
            }
        }
    return spinel_split_K(t, tiles_K);
}

/* The choice for LayerNorm and Softmax: all of J in every loop (the passes need whole rows),
 * the most rows of tiles that fit, K as in spinel_choose_tiles. */
static inline spinel_tiles_t spinel_choose_row_tiles(size_t tiles_I, size_t tiles_J, size_t tiles_K) {
    const size_t sp_half = BANK_NUM * BANK_ROWS / 2 / DIM, acc_half = ACC_ROWS / 2 / DIM;
    if (tiles_J > acc_half || tiles_J + 1 > sp_half) {
        fprintf(stderr, "spinel_tiled: a normalized row of %zu tiles does not fit half the accumulator (%zu tiles) with its operands "
                        "in half the scratchpad (%zu tiles); use a shorter row or a configuration with more memory\n",
                tiles_J, acc_half, sp_half);
        exit(2);
    }
    spinel_tiles_t t = {spinel_min(tiles_I, spinel_min(acc_half / tiles_J, sp_half - tiles_J)), tiles_J, 1};
    return spinel_split_K(t, tiles_K);
}

/* Tests: when nonzero, the K tiles per loop (to split K over several loops on small sizes). */
static size_t spinel_force_tiles_K = 0;

/* The LOOP_WS registers, as the host's copy for TILED_COMMANDS. */
typedef struct {
    size_t I, J, K, pad_I, pad_J, pad_K;
    uint64_t A, B, D, C, A_stride, B_stride, D_stride, C_stride;
    int full_C, low_D, ex_accumulate, a_spad_id, b_spad_id, A_transpose, B_transpose;
    int act;            /* LOOP_WS act: 0, IGELU, or LAYERNORM / SOFTMAX for the normalization passes */
} spinel_loop_t;

static int spinel_acc_half = 0;

static inline uint64_t spinel_operand(size_t rows, size_t cols, uint64_t address) {
    return ((uint64_t)rows << 48) | ((uint64_t)cols << 32) | address;
}

/* LOOP_WS issued as plain commands, in the golden model's order (docs/ACCELERATOR.md, "LOOP_WS"). */
#define SPINEL_ROWS_I(i) (DIM - ((i) == l->I - 1 ? l->pad_I : 0))
#define SPINEL_COLS_J(j) (DIM - ((j) == l->J - 1 ? l->pad_J : 0))
#define SPINEL_DEPTH_K(k) (DIM - ((k) == l->K - 1 ? l->pad_K : 0))
#define SPINEL_WIDTH(first, count, total, pad) ((count) * DIM - ((first) + (count) == (total) ? (pad) : 0))
#define SPINEL_C_ROW(i, j) (spinel_c_base() + (uint64_t)(((i) * l->J + (j)) * DIM))
#define SPINEL_A_ROW(i, k) (spinel_a_base(l) + (l->A_transpose ? (k) * l->I + (i) : (i) * l->K + (k)) * DIM)
#define SPINEL_B_ROW(k, j) (spinel_b_base(l) + (l->B_transpose ? (j) * l->K + (k) : (k) * l->J + (j)) * DIM)

static inline uint64_t spinel_c_base(void) { return (1ull << 31) | (uint64_t)(spinel_acc_half * (ACC_ROWS / 2)); }
static inline size_t spinel_a_base(const spinel_loop_t* l) { return l->a_spad_id == 2 ? BANK_NUM * BANK_ROWS / 2 : 0; }
static inline size_t spinel_b_base(const spinel_loop_t* l) {
    return (l->b_spad_id == 2 ? BANK_NUM * BANK_ROWS : BANK_NUM * BANK_ROWS / 2) - l->K * l->J * DIM;
}

/* Commands waiting to be issued, in order. */
typedef struct {
    size_t head, count, capacity;
    uint64_t (*items)[3];   /* funct, rs1, rs2 */
} spinel_queue_t;

static inline void spinel_push(spinel_queue_t* q, uint64_t funct, uint64_t rs1, uint64_t rs2) {
    if (q->count == q->capacity) {
        q->capacity = q->capacity ? 2 * q->capacity : 64;
        q->items = (uint64_t(*)[3])realloc(q->items, q->capacity * sizeof *q->items);
        if (!q->items) { fprintf(stderr, "spinel_tiled: out of memory\n"); exit(2); }
    }
    q->items[q->count][0] = funct;
    q->items[q->count][1] = rs1;
    q->items[q->count][2] = rs2;
    q->count++;
}

/* Issues the oldest waiting command; 0 if none waits. */
static inline int spinel_pop(spinel_queue_t* q) {
    if (q->head == q->count) return 0;
    const uint64_t* c = q->items[q->head++];
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, c[1], c[2], c[0]);
    return 1;
}

/* The operands of K block s, queued. */
static inline void spinel_loop_loads(const spinel_loop_t* l, size_t s, spinel_queue_t* q) {
    const size_t blocks = SPINEL_LOOP_BLOCK_TILES, k0 = s * blocks, nk = spinel_min(blocks, l->K - k0);
    if (l->A && !l->A_transpose) {
        for (size_t i = 0; i < l->I; i++)
            spinel_push(q, k_MVIN, l->A + (i * DIM * l->A_stride + k0 * DIM) * sizeof(elem_t),
                        spinel_operand(SPINEL_ROWS_I(i), SPINEL_WIDTH(k0, nk, l->K, l->pad_K), SPINEL_A_ROW(i, k0)));
    } else if (l->A) {
        for (size_t k = k0; k < k0 + nk; k++)
            for (size_t i = 0; i < l->I; i += blocks) {
                const size_t n = spinel_min(blocks, l->I - i);
                spinel_push(q, k_MVIN, l->A + (k * DIM * l->A_stride + i * DIM) * sizeof(elem_t),
                            spinel_operand(SPINEL_DEPTH_K(k), SPINEL_WIDTH(i, n, l->I, l->pad_I), SPINEL_A_ROW(i, k)));
            }
    }
    if (l->B && !l->B_transpose) {
        for (size_t k = k0; k < k0 + nk; k++)
            for (size_t j = 0; j < l->J; j += blocks) {
                const size_t n = spinel_min(blocks, l->J - j);
                spinel_push(q, k_MVIN2, l->B + (k * DIM * l->B_stride + j * DIM) * sizeof(elem_t),
                            spinel_operand(SPINEL_DEPTH_K(k), SPINEL_WIDTH(j, n, l->J, l->pad_J), SPINEL_B_ROW(k, j)));
            }
    } else if (l->B) {
        for (size_t j = 0; j < l->J; j++)
            spinel_push(q, k_MVIN2, l->B + (j * DIM * l->B_stride + k0 * DIM) * sizeof(elem_t),
                        spinel_operand(SPINEL_COLS_J(j), SPINEL_WIDTH(k0, nk, l->K, l->pad_K), SPINEL_B_ROW(k0, j)));
    }
}

static inline int spinel_loop_normalizes(const spinel_loop_t* l) { return l->act == LAYERNORM || l->act == SOFTMAX; }

/* The pairs of K block s, each followed by one waiting command (a load of the next block, or
 * in the last block an mvout of a finished column of C); then whatever still waits. */
static inline void spinel_loop_pairs(const spinel_loop_t* l, size_t s, size_t steps) {
    const size_t blocks = SPINEL_LOOP_BLOCK_TILES, k0 = s * blocks, nk = spinel_min(blocks, l->K - k0);
    const uint64_t garbage = 0xFFFFFFFFull;
    const size_t c_bytes = l->full_C ? sizeof(acc_t) : sizeof(elem_t);
    spinel_queue_t waiting = {0, 0, 0, NULL};
    if (s + 1 < steps) spinel_loop_loads(l, s + 1, &waiting);
    for (size_t j = 0; j < l->J; j++) {
        for (size_t k = k0; k < k0 + nk; k++)
            for (size_t i = 0; i < l->I; i++) {
                const uint64_t b = i == 0 ? spinel_operand(l->B_transpose ? SPINEL_COLS_J(j) : SPINEL_DEPTH_K(k),
                                                           l->B_transpose ? SPINEL_DEPTH_K(k) : SPINEL_COLS_J(j), SPINEL_B_ROW(k, j))
                                          : spinel_operand(DIM, DIM, garbage);
                const uint64_t c = spinel_operand(SPINEL_ROWS_I(i), SPINEL_COLS_J(j),
                                                  SPINEL_C_ROW(i, j) | (l->ex_accumulate || k > 0 ? 1ull << 30 : 0));
                const uint64_t a = spinel_operand(l->A_transpose ? SPINEL_DEPTH_K(k) : SPINEL_ROWS_I(i),
                                                  l->A_transpose ? SPINEL_ROWS_I(i) : SPINEL_DEPTH_K(k), SPINEL_A_ROW(i, k));
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, b, c, k_PRELOAD);
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, a, spinel_operand(DIM, DIM, garbage),
                                         i == 0 ? k_COMPUTE_PRELOADED : k_COMPUTE_ACCUMULATE);
                spinel_pop(&waiting);
            }
        if (s == steps - 1 && l->C && !spinel_loop_normalizes(l))
            for (size_t i = 0; i < l->I; i++)
                spinel_push(&waiting, k_MVOUT, l->C + (i * DIM * l->C_stride + j * DIM) * c_bytes,
                            spinel_operand(SPINEL_ROWS_I(i), SPINEL_COLS_J(j), SPINEL_C_ROW(i, j) | (l->full_C ? 1ull << 29 : 0)));
    }
    while (spinel_pop(&waiting)) {}
    free(waiting.items);
}

/* The normalization of `rows` (at most DIM) accumulator rows of `columns` values, DIM per tile,
 * tile t at accumulator address acc_row + t·DIM: the two statistics passes over each whole row
 * (the last tile's mvout with the finishing command), then the output mvouts to C (row stride:
 * CONFIG_ST's). act is LAYERNORM or SOFTMAX. */
static inline void spinel_normalize_rows(int act, uint64_t C, uint32_t acc_row, size_t rows, size_t columns) {
    const int softmax = act == SOFTMAX;
    const uint64_t each[2] = {(uint64_t)(softmax ? SPINEL_NORM_MAX : SPINEL_NORM_SUM),
                              (uint64_t)(softmax ? SPINEL_NORM_SUM_EXP : SPINEL_NORM_VARIANCE)};
    const uint64_t last[2] = {(uint64_t)(softmax ? SPINEL_NORM_MAX : SPINEL_NORM_MEAN),
                              (uint64_t)(softmax ? SPINEL_NORM_INV_SUM_EXP : SPINEL_NORM_INV_STDDEV)};
    const size_t tiles = spinel_tiles_of(columns);
    for (int pass = 0; pass < 3; pass++)
        for (size_t t = 0; t < tiles; t++) {
            const uint64_t command = pass == 2 ? 0 : (t == tiles - 1 ? last[pass] : each[pass]) << 26;
            const size_t cols = spinel_min(DIM, columns - t * DIM);
            ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, C + t * DIM * sizeof(elem_t),
                                     spinel_operand(rows, cols, (acc_row + t * DIM) | command), k_MVOUT);
        }
}

static inline void spinel_loop_ws_commands(const spinel_loop_t* l) {
    if (l->D) {
        const size_t d_bytes = l->low_D ? sizeof(elem_t) : sizeof(acc_t);
        const size_t d_blocks = l->low_D ? SPINEL_LOOP_BLOCK_TILES : (MAX_BLOCK_LEN_ACC > 0 ? MAX_BLOCK_LEN_ACC : 1);
        for (size_t i = 0; i < l->I; i++)
            for (size_t j = 0; j < l->J; j += d_blocks) {
                const size_t n = spinel_min(d_blocks, l->J - j);
                ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, l->D + (i * DIM * l->D_stride + j * DIM) * d_bytes,
                                         spinel_operand(SPINEL_ROWS_I(i), SPINEL_WIDTH(j, n, l->J, l->pad_J), SPINEL_C_ROW(i, j)), k_MVIN3);
            }
    }
    const size_t steps = (l->K + SPINEL_LOOP_BLOCK_TILES - 1) / SPINEL_LOOP_BLOCK_TILES;
    spinel_queue_t first = {0, 0, 0, NULL};
    spinel_loop_loads(l, 0, &first);
    while (spinel_pop(&first)) {}
    free(first.items);
    for (size_t s = 0; s < steps; s++) spinel_loop_pairs(l, s, steps);
    if (l->C && spinel_loop_normalizes(l))
        for (size_t i = 0; i < l->I; i++)
            spinel_normalize_rows(l->act, l->C + i * DIM * l->C_stride * sizeof(elem_t), (uint32_t)SPINEL_C_ROW(i, 0), SPINEL_ROWS_I(i),
                                  l->J * DIM - l->pad_J);
    if (l->C) spinel_acc_half ^= 1;
}
#undef SPINEL_ROWS_I
#undef SPINEL_COLS_J
#undef SPINEL_DEPTH_K
#undef SPINEL_WIDTH
#undef SPINEL_C_ROW
#undef SPINEL_A_ROW
#undef SPINEL_B_ROW

/* One LOOP_WS, or its commands. */
static inline void spinel_loop(const spinel_loop_t* l, enum tiled_matmul_type_t type) {
    if (type == TILED_COMMANDS) {
        spinel_loop_ws_commands(l);
    } else {
        gemmini_loop_ws(l->I, l->J, l->K, l->pad_I, l->pad_J, l->pad_K, l->A, l->B, l->D, l->C, l->A_stride, l->B_stride,
                        l->D_stride, l->C_stride, l->A_transpose, l->B_transpose, l->full_C, l->low_D, l->ex_accumulate, l->act,
                        l->a_spad_id, l->b_spad_id, 0);
        if (l->C) spinel_acc_half ^= 1;
    }
}

/* Gemmini's I-BERT constants from a quantization scale S (docs/NUMERICS.md): I-GELU's qb and qc, and
 * the exponential's qln2, qln2_inv, qb and qc (Softmax), computed in acc_scale_t. */
static inline void spinel_igelu_constants(acc_scale_t S, acc_t* qb, acc_t* qc) {
    const acc_scale_t root_2 = (acc_scale_t)1.41421356237;
    *qb = (acc_t)((acc_scale_t)-1.769 / (S / root_2));
    *qc = (acc_t)((acc_scale_t)1.0 / ((acc_scale_t)-0.2888 * (S * S / 2)));
}

static inline void spinel_exp_constants(acc_scale_t S, acc_t* qln2, acc_t* qln2_inv, acc_t* qb, acc_t* qc) {
    *qln2 = (acc_t)((acc_scale_t)0.693147 / S);
    *qln2_inv = *qln2 != 0 ? 65536 / *qln2 : 0;
    *qb = (acc_t)((acc_scale_t)1.353 / S);
    *qc = (acc_t)((acc_scale_t)0.344 / ((acc_scale_t)0.3585 * S * S));
}

/* The norm constants of one tiled_matmul_auto call: from bert_scale when it is nonzero (set on
 * the accelerator with CONFIG_NORM, as Gemmini's tiled_matmul_auto does), else unknown (the
 * caller's CONFIG_NORM stays in force). */
typedef struct {
    int known;
    acc_t igelu_qb, igelu_qc, qln2, qln2_inv, exp_qb, exp_qc;
} spinel_norm_constants_t;

static inline spinel_norm_constants_t spinel_norm_constants(int act, acc_scale_t bert_scale) {
    spinel_norm_constants_t n = {0, 0, 0, 0, 0, 0, 0};
    if (bert_scale == 0 || (act != IGELU && act != SOFTMAX)) return n;
    n.known = 1;
    if (act == IGELU) spinel_igelu_constants(bert_scale, &n.igelu_qb, &n.igelu_qc);
    else spinel_exp_constants(bert_scale, &n.qln2, &n.qln2_inv, &n.exp_qb, &n.exp_qc);
    return n;
}

/* CONFIG_NORM for the constants (Softmax's with the activation MSB), and back to none after. */
static inline void spinel_configure_norm(const spinel_norm_constants_t* n, int act) {
    if (!n->known) return;
    if (act == IGELU) {
        gemmini_config_norm(0, 0, 0, 0, 0, n->igelu_qb, n->igelu_qc);
    } else {
        gemmini_config_norm(n->qln2, 0, 0, 1, 0, n->exp_qb, n->exp_qc);
        gemmini_config_norm(n->qln2_inv, 1, 0, 1, 0, n->exp_qb, n->exp_qc);
    }
}

static inline void spinel_reset_norm(const spinel_norm_constants_t* n) {
    if (n->known) gemmini_config_norm(0, 0, 0, 0, 0, 0, 0);
}

/* Element (r, c) of a row-major matrix, or of its transpose. */
#define SPINEL_AT(M, stride, transposed, r, c) ((transposed) ? (M)[(size_t)(c) * (stride) + (r)] : (M)[(size_t)(r) * (stride) + (c)])

/* tiled_matmul_auto with type CPU: the same result on the host, value for value what the
 * accelerator computes (MVIN_SCALE on A and B, the accumulator's mvin scale on D, acc_t
 * arithmetic wrapping, then C at full width or through the store activation). */
static inline void spinel_matmul_cpu(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t* A, const elem_t* B, const void* D, void* C,
                              size_t stride_A, size_t stride_B, size_t stride_D, size_t stride_C, scale_t A_scale_factor,
                              scale_t B_scale_factor, scale_acc_t D_scale_factor, int act, acc_scale_t scale,
                              const spinel_norm_constants_t* n, bool repeating_bias, bool transpose_A, bool transpose_B,
                              bool full_C, bool low_D) {
    if ((act == IGELU || act == SOFTMAX) && !n->known) {
        fprintf(stderr, "tiled_matmul_auto: type CPU with %s needs its constants: pass a nonzero bert_scale\n",
                act == IGELU ? "IGELU" : "SOFTMAX");
        exit(2);
    }
    acc_t* row = (acc_t*)malloc((dim_J ? dim_J : 1) * sizeof(acc_t));
    if (!row) { fprintf(stderr, "tiled_matmul_auto: out of memory\n"); exit(2); }
    for (size_t i = 0; i < dim_I; i++) {
        const size_t bias_row = repeating_bias ? 0 : i;
        for (size_t j = 0; j < dim_J; j++) {
            uint64_t sum = 0;
            if (D != NULL) {
                const int64_t d = low_D ? ((const elem_t*)D)[bias_row * stride_D + j] : ((const acc_t*)D)[bias_row * stride_D + j];
                sum = (uint64_t)(int64_t)MVIN_SCALE_ACC(d, D_scale_factor);
            }
            for (size_t k = 0; k < dim_K; k++) {
                const int64_t a = MVIN_SCALE(SPINEL_AT(A, stride_A, transpose_A, i, k), A_scale_factor);
                const int64_t b = MVIN_SCALE(SPINEL_AT(B, stride_B, transpose_B, k, j), B_scale_factor);
                sum += (uint64_t)(a * b);
            }
            row[j] = (acc_t)spinel_wrap_acc(sum);
        }
        if (full_C) {
            memcpy((acc_t*)C + i * stride_C, row, dim_J * sizeof(acc_t));
            continue;
        }
        elem_t* out = (elem_t*)C + i * stride_C;
        if (act == LAYERNORM) {
            spinel_layernorm_row(row, dim_J, scale, out);
        } else if (act == SOFTMAX) {
            spinel_softmax_row(row, dim_J, n->qln2, n->qln2_inv, n->exp_qb, n->exp_qc, out);
        } else {
            for (size_t j = 0; j < dim_J; j++) {
                const elem_t v = act == IGELU ? ACC_SCALE(spinel_igelu(row[j], n->igelu_qb, n->igelu_qc), scale) : ACC_SCALE(row[j], scale);
                out[j] = act == RELU && v < 0 ? 0 : v;
            }
        }
    }
    free(row);
}
#undef SPINEL_AT

/* tiled_matmul_auto with type OS on a configuration with the output-stationary dataflow: per
 * block of C, D moved into the accumulator, A and B tiles into the scratchpad, then for each
 * tile of C its K tiles accumulate in the array (PRELOAD of GARBAGE, COMPUTE_PRELOADED then
 * COMPUTE_ACCUMULATED) and the last writes C to the accumulator, on top of D or of the
 * previous K block; C leaves through the store path. Operands are not transposed and
 * LayerNorm and Softmax are not fused here (use WS or CPU). */
static inline void spinel_matmul_os(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t* A, const elem_t* B, const void* D, void* C,
                             size_t stride_A, size_t stride_B, size_t stride_D, size_t stride_C, bool full_C, bool low_D) {
    const size_t tiles_I = spinel_tiles_of(dim_I), tiles_J = spinel_tiles_of(dim_J), tiles_K = spinel_tiles_of(dim_K);
    const spinel_tiles_t t = spinel_choose_tiles(tiles_I, tiles_J, tiles_K);
    const size_t c_bytes = full_C ? sizeof(acc_t) : sizeof(elem_t), d_bytes = low_D ? sizeof(elem_t) : sizeof(acc_t);
    const uint32_t garbage = GARBAGE_ADDR;
    int half = 0;
    for (size_t i0 = 0; i0 < tiles_I; i0 += t.I)
        for (size_t j0 = 0; j0 < tiles_J; j0 += t.J, half ^= 1) {
            const size_t I = spinel_min(t.I, tiles_I - i0), J = spinel_min(t.J, tiles_J - j0);
            const uint32_t c_base = (1u << 31) | (uint32_t)(half * (ACC_ROWS / 2));
#define SPINEL_ROWS(i) (size_t)spinel_min(DIM, dim_I - ((i0 + (i)) * DIM))
#define SPINEL_COLS(j) (size_t)spinel_min(DIM, dim_J - ((j0 + (j)) * DIM))
#define SPINEL_C_TILE(i, j) (c_base + (uint32_t)(((i) * J + (j)) * DIM))
            if (D != NULL)
                for (size_t i = 0; i < I; i++)
                    for (size_t j = 0; j < J; j++)
                        gemmini_extended_mvin3((const int8_t*)D + (((i0 + i) * DIM) * stride_D + (j0 + j) * DIM) * d_bytes,
                                               SPINEL_C_TILE(i, j), SPINEL_COLS(j), SPINEL_ROWS(i));
            for (size_t k0 = 0; k0 < tiles_K; k0 += t.K) {
                const size_t K = spinel_min(t.K, tiles_K - k0);
                const uint32_t a_base = (uint32_t)(half * (BANK_NUM * BANK_ROWS / 2)), b_base = a_base + (uint32_t)(I * K * DIM);
#define SPINEL_DEPTH(k) (size_t)spinel_min(DIM, dim_K - ((k0 + (k)) * DIM))
                for (size_t i = 0; i < I; i++)
                    for (size_t k = 0; k < K; k++)
                        gemmini_extended_mvin(A + ((i0 + i) * DIM) * stride_A + (k0 + k) * DIM, a_base + (i * K + k) * DIM,
                                              SPINEL_DEPTH(k), SPINEL_ROWS(i));
                for (size_t k = 0; k < K; k++)
                    for (size_t j = 0; j < J; j++)
                        gemmini_extended_mvin2(B + ((k0 + k) * DIM) * stride_B + (j0 + j) * DIM, b_base + (k * J + j) * DIM,
                                               SPINEL_COLS(j), SPINEL_DEPTH(k));
                for (size_t i = 0; i < I; i++)
                    for (size_t j = 0; j < J; j++)
                        for (size_t k = 0; k < K; k++) {
                            const uint32_t accumulate = D != NULL || k0 > 0 ? 1u << 30 : 0;
                            const uint32_t c = k == K - 1 ? SPINEL_C_TILE(i, j) | accumulate : garbage;
                            gemmini_extended_preload(garbage, c, DIM, DIM, SPINEL_COLS(j), SPINEL_ROWS(i));
                            if (k == 0) {
                                gemmini_extended_compute_preloaded(a_base + (i * K + k) * DIM, b_base + (k * J + j) * DIM,
                                                                   SPINEL_DEPTH(k), SPINEL_ROWS(i), SPINEL_COLS(j), SPINEL_DEPTH(k));
                            } else {
                                gemmini_extended_compute_accumulated(a_base + (i * K + k) * DIM, b_base + (k * J + j) * DIM,
                                                                     SPINEL_DEPTH(k), SPINEL_ROWS(i), SPINEL_COLS(j), SPINEL_DEPTH(k));
                            }
                        }
#undef SPINEL_DEPTH
            }
            for (size_t i = 0; i < I; i++)
                for (size_t j = 0; j < J; j++)
                    gemmini_extended_mvout((int8_t*)C + (((i0 + i) * DIM) * stride_C + (j0 + j) * DIM) * c_bytes,
                                           SPINEL_C_TILE(i, j) | (full_C ? 1u << 29 : 0), SPINEL_COLS(j), SPINEL_ROWS(i));
#undef SPINEL_ROWS
#undef SPINEL_COLS
#undef SPINEL_C_TILE
        }
}

/*
 * Gemmini's tiled_matmul_auto without its final fence (Spinel's):
 *
 *   C = act(ACC_SCALE(MVIN_SCALE(A)·MVIN_SCALE(B) + MVIN_SCALE_ACC(D), scale))
 *
 * A: I×K elem_t, B: K×J elem_t, D: I×J acc_t (elem_t with low_D) or NULL, one row repeated for
 * every row of C with repeating_bias; C: I×J elem_t, or acc_t without scale and activation with
 * full_C. Strides are in elements. `type` WS runs LOOP_WS per block of C (TILED_COMMANDS: the
 * same commands from the host), OS the output-stationary dataflow (configurations that have it;
 * no transposes, no LayerNorm or Softmax), CPU the same arithmetic on the host. A nonzero
 * bert_scale gives IGELU and SOFTMAX their constants (docs/NUMERICS.md; CONFIG_NORM, reset after);
 * with 0 the caller's CONFIG_NORM stays in force (type CPU then needs bert_scale). LAYERNORM and
 * SOFTMAX normalize whole rows of C: a WS loop then covers all of J (dim_J must fit half the
 * accumulator with a row of tiles). spinel_tiled_matmul returns without waiting, so that the
 * next matmul's commands overlap this one's; tiled_matmul_auto (below) waits, as Gemmini's does.
 */
static inline void spinel_tiled_matmul(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t* A, const elem_t* B, const void* D,
                                       void* C, size_t stride_A, size_t stride_B, size_t stride_D, size_t stride_C,
                                       scale_t A_scale_factor, scale_t B_scale_factor, scale_acc_t D_scale_factor, int act,
                                       acc_scale_t scale, acc_scale_t bert_scale, bool repeating_bias, bool transpose_A,
                                       bool transpose_B, bool full_C, bool low_D, enum tiled_matmul_type_t type) {
    const spinel_norm_constants_t constants = spinel_norm_constants(act, bert_scale);
    if (repeating_bias) stride_D = 0;
    if (type == CPU) {
        spinel_matmul_cpu(dim_I, dim_J, dim_K, A, B, D, C, stride_A, stride_B, stride_D, stride_C, A_scale_factor, B_scale_factor,
                          D_scale_factor, act, scale, &constants, repeating_bias, transpose_A, transpose_B, full_C, low_D);
        return;
    }
    const int normalizes = act == LAYERNORM || act == SOFTMAX;
    if (type == OS && (!SPINEL_HAS_OS || transpose_A || transpose_B || normalizes)) {
        fprintf(stderr, "tiled_matmul_auto: type OS %s; use WS or CPU\n",
                !SPINEL_HAS_OS ? "needs a configuration with the output-stationary dataflow (" SPINEL_CONFIG_NAME " has none)"
                               : "takes no transposed operands and no LAYERNORM or SOFTMAX");
        exit(2);
    }
    if (type != OS && transpose_A && transpose_B) {
        fprintf(stderr, "tiled_matmul_auto: type WS cannot transpose both A and B (the weight-stationary ISA has no such pair, as "
                        "on Gemmini); transpose one operand on the host, or use CPU\n");
        exit(2);
    }
    if (type != OS && !SPINEL_HAS_WS) {
        fprintf(stderr, "tiled_matmul_auto: type WS needs a configuration with the weight-stationary dataflow (" SPINEL_CONFIG_NAME
                        " has none); use OS or CPU\n");
        exit(2);
    }
    const size_t c_bytes = full_C ? sizeof(acc_t) : sizeof(elem_t), d_bytes = low_D ? sizeof(elem_t) : sizeof(acc_t);

    spinel_configure_norm(&constants, act);
    gemmini_extended_config_ex(type == OS ? OUTPUT_STATIONARY : WEIGHT_STATIONARY, 0, 0, 1, transpose_A, transpose_B);
    gemmini_extended_config_st(stride_C * c_bytes, act & 3, scale);
    gemmini_extended3_config_ld(stride_A * sizeof(elem_t), A_scale_factor, false, 0);
    gemmini_extended3_config_ld(stride_B * sizeof(elem_t), B_scale_factor, false, 1);
    gemmini_extended3_config_ld(stride_D * d_bytes, D != NULL ? D_scale_factor : MVIN_SCALE_IDENTITY, low_D, 2);

    if (type == OS) {
        spinel_matmul_os(dim_I, dim_J, dim_K, A, B, D, C, stride_A, stride_B, stride_D, stride_C, full_C, low_D);
    } else {
        const size_t tiles_I = spinel_tiles_of(dim_I), tiles_J = spinel_tiles_of(dim_J), tiles_K = spinel_tiles_of(dim_K);
        spinel_tiles_t t = normalizes ? spinel_choose_row_tiles(tiles_I, tiles_J, tiles_K) : spinel_choose_tiles(tiles_I, tiles_J, tiles_K);
        if (spinel_force_tiles_K) t.K = spinel_min(spinel_force_tiles_K, tiles_K);
        int spad = 0;
        for (size_t i0 = 0; i0 < tiles_I; i0 += t.I)
            for (size_t j0 = 0; j0 < tiles_J; j0 += t.J)
                for (size_t k0 = 0; k0 < tiles_K; k0 += t.K, spad ^= 1) {
                    spinel_loop_t l;
                    l.I = spinel_min(t.I, tiles_I - i0);
                    l.J = spinel_min(t.J, tiles_J - j0);
                    l.K = spinel_min(t.K, tiles_K - k0);
                    l.pad_I = i0 + l.I == tiles_I ? tiles_I * DIM - dim_I : 0;
                    l.pad_J = j0 + l.J == tiles_J ? tiles_J * DIM - dim_J : 0;
                    l.pad_K = k0 + l.K == tiles_K ? tiles_K * DIM - dim_K : 0;
                    const size_t a_offset = transpose_A ? k0 * DIM * stride_A + i0 * DIM : i0 * DIM * stride_A + k0 * DIM;
                    const size_t b_offset = transpose_B ? j0 * DIM * stride_B + k0 * DIM : k0 * DIM * stride_B + j0 * DIM;
                    l.A = (uint64_t)(uintptr_t)(A + a_offset);
                    l.B = (uint64_t)(uintptr_t)(B + b_offset);
                    l.D = D != NULL && k0 == 0 ? (uint64_t)(uintptr_t)((const int8_t*)D + (i0 * DIM * stride_D + j0 * DIM) * d_bytes) : 0;
                    l.C = k0 + l.K == tiles_K ? (uint64_t)(uintptr_t)((int8_t*)C + (i0 * DIM * stride_C + j0 * DIM) * c_bytes) : 0;
                    l.A_stride = stride_A;
                    l.B_stride = stride_B;
                    l.D_stride = stride_D;
                    l.C_stride = stride_C;
                    l.full_C = full_C;
                    l.low_D = low_D;
                    l.ex_accumulate = k0 > 0 || D != NULL;
                    l.a_spad_id = 1 + spad;
                    l.b_spad_id = 1 + spad;
                    l.A_transpose = transpose_A;
                    l.B_transpose = transpose_B;
                    l.act = normalizes || act == IGELU ? act : 0;   /* as Gemmini's; CONFIG_ST applies I-GELU */
                    spinel_loop(&l, type);
                }
    }
    spinel_reset_norm(&constants);
}

/* Gemmini's tiled_matmul_auto: spinel_tiled_matmul, then a fence, as Gemmini's waits before it
 * returns. weightA (a Gemmini tiling hint) is ignored. */
static inline void tiled_matmul_auto(size_t dim_I, size_t dim_J, size_t dim_K, const elem_t* A, const elem_t* B, const void* D, void* C,
                                     size_t stride_A, size_t stride_B, size_t stride_D, size_t stride_C, scale_t A_scale_factor,
                                     scale_t B_scale_factor, scale_acc_t D_scale_factor, int act, acc_scale_t scale,
                                     acc_scale_t bert_scale, bool repeating_bias, bool transpose_A, bool transpose_B, bool full_C,
                                     bool low_D, uint8_t weightA, enum tiled_matmul_type_t type) {
    (void)weightA;
    spinel_tiled_matmul(dim_I, dim_J, dim_K, A, B, D, C, stride_A, stride_B, stride_D, stride_C, A_scale_factor, B_scale_factor,
                        D_scale_factor, act, scale, bert_scale, repeating_bias, transpose_A, transpose_B, full_C, low_D, type);
    if (type != CPU) gemmini_fence();
}

#endif /* SPINEL_TILED_H */
