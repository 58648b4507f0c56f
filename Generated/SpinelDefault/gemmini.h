/*
 * Spinel harness: Gemmini's command macros, written for Spinel from docs/ISA.md (shared spec)
 * with the names and argument lists of Gemmini's include/gemmini.h, so that a Gemmini-style
 * C kernel compiles unchanged. Commands go to the simulated accelerator through the RoCC shim
 * (rocc.h); gemmini_fence() waits until it is idle.
 *
 * Gemmini's software library comes with it: tiled_matmul_auto (spinel_tiled.h) and the other
 * tiled_* functions (spinel_library.h). Not provided: convolutions and LOOP_CONV_WS, which
 * Spinel does not implement (docs/GEMMINI-COMPATIBILITY.md).
 */
#ifndef SPINEL_GEMMINI_H
#define SPINEL_GEMMINI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gemmini_params.h"
#include "spinel_isa.h"
#include "rocc.h"

/* funct codes */
#define k_CONFIG 0
#define k_MVIN2 1
#define k_MVIN 2
#define k_MVOUT 3
#define k_COMPUTE_PRELOADED 4
#define k_COMPUTE_ACCUMULATE 5
#define k_PRELOAD 6
#define k_FLUSH 7
#define k_LOOP_WS 8
#define k_LOOP_WS_CONFIG_BOUNDS 9
#define k_LOOP_WS_CONFIG_ADDRS_AB 10
#define k_LOOP_WS_CONFIG_ADDRS_DC 11
#define k_LOOP_WS_CONFIG_STRIDES_AB 12
#define k_LOOP_WS_CONFIG_STRIDES_DC 13
#define k_MVIN3 14
#define k_COUNTER 126
#define k_LOAD_AFFINE SPINEL_FUNCT_LOAD_AFFINE  /* Spinel extension (HAS_AFFINE_LAYERNORM) */
#define k_LOAD_REQUANT SPINEL_FUNCT_LOAD_REQUANT  /* Spinel extension (HAS_NUMERICS_EXTENSIONS) */
#define k_LOAD_LANE_SCALES SPINEL_FUNCT_LOAD_LANE_SCALES  /* Spinel extension (HAS_NUMERICS_EXTENSIONS) */

/* CONFIG selectors, rs1[1:0] */
#define CONFIG_EX 0
#define CONFIG_LD 1
#define CONFIG_ST 2
#define CONFIG_NORM 3
#define CONFIG_BERT CONFIG_NORM

#define GARBAGE_ADDR ((uint32_t)(-1))
#define OUTPUT_STATIONARY 0
#define WEIGHT_STATIONARY 1

/* Activations (CONFIG_EX uses 0 and 1; CONFIG_ST 0 to 3, and 4 with the CONFIG_NORM MSB) */
#define NO_ACTIVATION 0
#define RELU 1
#define LAYERNORM 2
#define IGELU 3
#define SOFTMAX 4
/* Spinel extension (HAS_AFFINE_LAYERNORM): CONFIG_ST LAYERNORM with the CONFIG_NORM activation MSB */
#define AFFINE_LAYERNORM 6
/* Spinel extensions (HAS_NUMERICS_EXTENSIONS): Softmax relative to the row maximum (CONFIG_ST
 * RELU with the MSB) and the two-segment I-GELU (CONFIG_ST IGELU with the MSB) */
#define SOFTMAX_MAX SPINEL_ACTIVATION_SOFTMAX_MAX
#define IGELU2 SPINEL_ACTIVATION_IGELU2
/* ACC_SCALE's scale on an accumulator mvout (spinel_config_st): CONFIG_ST's, the lanes', the row's ρ ⊗ CONFIG_ST's */
#define SPINEL_SCALE_STORE SPINEL_SCALE_SOURCE_STORE
#define SPINEL_SCALE_LANES SPINEL_SCALE_SOURCE_LANES
#define SPINEL_SCALE_ROW SPINEL_SCALE_SOURCE_ROW

/* Normalization commands in local address bits 28:26 (accumulator mvout statistics passes) */
#define SPINEL_NORM_RESET 0
#define SPINEL_NORM_SUM 1
#define SPINEL_NORM_MEAN 2
#define SPINEL_NORM_VARIANCE 3
#define SPINEL_NORM_INV_STDDEV 4
#define SPINEL_NORM_MAX 5
#define SPINEL_NORM_SUM_EXP 6
#define SPINEL_NORM_INV_SUM_EXP 7

/* Scales travel as their bit patterns. */
static inline scale_t_bits scale_t_to_scale_t_bits(scale_t x) {
    scale_t_bits bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static inline scale_t scale_t_bits_to_scale_t(scale_t_bits bits) {
    scale_t x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static inline acc_scale_t_bits acc_scale_t_to_acc_scale_t_bits(acc_scale_t x) {
    acc_scale_t_bits bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static inline acc_scale_t acc_scale_t_bits_to_acc_scale_t(acc_scale_t_bits bits) {
    acc_scale_t x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* An operand: [31:0] local address, [47:32] columns, [63:48] rows. */
#define SPINEL_OPERAND(local_addr, cols, rows) \
    (((uint64_t)(rows) << (ADDR_LEN + 16)) | ((uint64_t)(cols) << ADDR_LEN) | (uint64_t)(uint32_t)(local_addr))

/* ---- Data movement ---- */

#define gemmini_extended_mvin(dram_addr, spad_addr, cols, rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, dram_addr, SPINEL_OPERAND(spad_addr, cols, rows), k_MVIN)

#define gemmini_extended_mvin2(dram_addr, spad_addr, cols, rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, dram_addr, SPINEL_OPERAND(spad_addr, cols, rows), k_MVIN2)

#define gemmini_extended_mvin3(dram_addr, spad_addr, cols, rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, dram_addr, SPINEL_OPERAND(spad_addr, cols, rows), k_MVIN3)

#define gemmini_block_mvin(dram_addr, spad_addr, len) \
    gemmini_extended_mvin(dram_addr, spad_addr, (len) * DIM, DIM)

#define gemmini_mvin(dram_addr, spad_addr) \
    gemmini_extended_mvin(dram_addr, spad_addr, DIM, DIM)

#define gemmini_extended_mvout(dram_addr, spad_addr, cols, rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, dram_addr, SPINEL_OPERAND(spad_addr, cols, rows), k_MVOUT)

#define gemmini_mvout(dram_addr, spad_addr) \
    gemmini_extended_mvout(dram_addr, spad_addr, DIM, DIM)

/* ---- Preload and compute ---- */

#define gemmini_extended_preload(BD, C, BD_cols, BD_rows, C_cols, C_rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, SPINEL_OPERAND(BD, BD_cols, BD_rows), SPINEL_OPERAND(C, C_cols, C_rows), k_PRELOAD)

#define gemmini_preload(BD, C) \
    gemmini_extended_preload(BD, C, DIM, DIM, DIM, DIM)

#define gemmini_preload_zeros(C) \
    gemmini_preload(GARBAGE_ADDR, C)

#define gemmini_extended_compute_preloaded(A, BD, A_cols, A_rows, BD_cols, BD_rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, SPINEL_OPERAND(A, A_cols, A_rows), SPINEL_OPERAND(BD, BD_cols, BD_rows), \
                             k_COMPUTE_PRELOADED)

#define gemmini_extended_compute_accumulated(A, BD, A_cols, A_rows, BD_cols, BD_rows) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, SPINEL_OPERAND(A, A_cols, A_rows), SPINEL_OPERAND(BD, BD_cols, BD_rows), \
                             k_COMPUTE_ACCUMULATE)

#define gemmini_compute_preloaded(A, BD) \
    gemmini_extended_compute_preloaded(A, BD, DIM, DIM, DIM, DIM)

#define gemmini_compute_accumulated(A, BD) \
    gemmini_extended_compute_accumulated(A, BD, DIM, DIM, DIM, DIM)

/* ---- Configuration ---- */

/* CONFIG_EX rs1: [2] dataflow, [4:3] activation, [7] set only strides, [8] transpose A,
 * [9] transpose B, [31:16] A stride, [63:32] acc scale; rs2: [31:0] shift, [63:48] C stride. */
#define gemmini_extended3_config_ex(dataflow, sys_act, sys_shift, sys_acc_scale, C_stride, A_stride, A_transpose, \
                                    B_transpose, set_only_strides) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, \
        ((uint64_t)acc_scale_t_to_acc_scale_t_bits((acc_scale_t)(sys_acc_scale)) << 32) | \
            ((uint64_t)(uint16_t)(A_stride) << 16) | ((uint64_t)(B_transpose) << 9) | ((uint64_t)(A_transpose) << 8) | \
            ((uint64_t)(set_only_strides) << 7) | ((uint64_t)(sys_act) << 3) | ((uint64_t)(dataflow) << 2) | CONFIG_EX, \
        ((uint64_t)(uint16_t)(C_stride) << 48) | (uint64_t)(uint32_t)(sys_shift), k_CONFIG)

#define gemmini_extended2_config_ex(dataflow, sys_act, sys_shift, A_stride, A_transpose, B_transpose) \
    gemmini_extended3_config_ex(dataflow, sys_act, sys_shift, ACC_SCALE_IDENTITY, 1, A_stride, A_transpose, B_transpose, 0)

#define gemmini_extended_config_ex(dataflow, sys_act, sys_shift, A_stride, A_transpose, B_transpose) \
    gemmini_extended2_config_ex(dataflow, sys_act, sys_shift, A_stride, A_transpose, B_transpose)

#define gemmini_config_ex(dataflow, sys_act, sys_shift) \
    gemmini_extended_config_ex(dataflow, sys_act, sys_shift, 1, 0, 0)

/* CONFIG_LD rs1: [2] shrunk, [4:3] which mvin, [15:8] pixel repeats, [31:16] block stride,
 * [63:32] mvin scale; rs2: DRAM row stride in bytes. */
#define gemmini_extended5_config_ld(stride, scale, shrunk, block_mvin_stride, pixel_repeats, id) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, \
        ((uint64_t)scale_t_to_scale_t_bits((scale_t)(scale)) << 32) | ((uint64_t)(uint16_t)(block_mvin_stride) << 16) | \
            ((uint64_t)(uint8_t)(pixel_repeats) << 8) | ((uint64_t)(id) << 3) | ((uint64_t)(shrunk) << 2) | CONFIG_LD, \
        stride, k_CONFIG)

#define gemmini_extended4_config_ld(stride, scale, shrunk, block_mvin_stride, id) \
    gemmini_extended5_config_ld(stride, scale, shrunk, block_mvin_stride, 1, id)

#define gemmini_extended3_config_ld(stride, scale, shrunk, id) \
    gemmini_extended4_config_ld(stride, scale, shrunk, DIM, id)

#define gemmini_extended2_config_ld(stride, scale, shrunk) \
    gemmini_extended3_config_ld(stride, scale, shrunk, 0)

#define gemmini_extended_config_ld(stride, scale) \
    gemmini_extended2_config_ld(stride, scale, false)

#define gemmini_config_ld(stride) \
    gemmini_extended_config_ld(stride, MVIN_SCALE_IDENTITY)

/* CONFIG_ST rs1: [3:2] activation, pooling fields [63:4] (must be 0 on Spinel);
 * rs2: [31:0] DRAM row stride in bytes, [63:32] acc scale. */
#define gemmini_extended2_config_st(stride, acc_act, acc_scale, pool_stride, pool_size, pool_out_dim, porows, pocols, \
                                    orows, ocols, upad, lpad) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, \
        ((uint64_t)(ocols) << 56) | ((uint64_t)(orows) << 48) | ((uint64_t)(pocols) << 40) | ((uint64_t)(porows) << 32) | \
            ((uint64_t)(pool_out_dim) << 24) | ((uint64_t)(lpad) << 10) | ((uint64_t)(upad) << 8) | \
            ((uint64_t)(pool_size) << 6) | ((uint64_t)(pool_stride) << 4) | ((uint64_t)(acc_act) << 2) | CONFIG_ST, \
        ((uint64_t)acc_scale_t_to_acc_scale_t_bits((acc_scale_t)(acc_scale)) << 32) | (uint64_t)(uint32_t)(stride), k_CONFIG)

#define gemmini_extended_config_st(stride, acc_act, acc_scale) \
    gemmini_extended2_config_st(stride, acc_act, acc_scale, 0, 0, 0, 0, 0, 0, 0, 0, 0)

#define gemmini_config_st(stride) \
    gemmini_extended_config_st(stride, NO_ACTIVATION, ACC_SCALE_IDENTITY)

/* LOAD_AFFINE (Spinel extension, HAS_AFFINE_LAYERNORM): the affine LayerNorm's γ (accumulator
 * row acc_addr) and β (the next row), `cols` columns, lane by lane; lanes beyond get 0. */
#define spinel_load_affine(acc_addr, cols) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, 0, ((uint64_t)2 << 48) | ((uint64_t)(cols) << 32) | (uint64_t)(uint32_t)(acc_addr), k_LOAD_AFFINE)

/* CONFIG_ST with the numerics extensions (HAS_NUMERICS_EXTENSIONS): rs1[17:12] the requantizer's
 * K (1 to 47; 0 turns it off), rs1[19:18] the scale source (SPINEL_SCALE_*). */
#define spinel_config_st(stride, acc_act, acc_scale, requant_shift, scale_source) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, \
        ((uint64_t)((scale_source) & SPINEL_SCALE_SOURCE_MASK) << SPINEL_SCALE_SOURCE_LOW) | \
            ((uint64_t)((requant_shift) & SPINEL_REQUANT_SHIFT_MASK) << SPINEL_REQUANT_SHIFT_LOW) | \
            ((uint64_t)(acc_act) << 2) | CONFIG_ST, \
        ((uint64_t)acc_scale_t_to_acc_scale_t_bits((acc_scale_t)(acc_scale)) << 32) | (uint64_t)(uint32_t)(stride), k_CONFIG)

/* LOAD_REQUANT (HAS_NUMERICS_EXTENSIONS): accumulator row acc_addr's first `cols` values become the
 * requantizer's multipliers M_j (saturated to 0..65535); lanes beyond get 0. */
#define spinel_load_requant(acc_addr, cols) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, 0, ((uint64_t)1 << 48) | ((uint64_t)(cols) << 32) | (uint64_t)(uint32_t)(acc_addr), k_LOAD_REQUANT)

/* LOAD_LANE_SCALES (HAS_NUMERICS_EXTENSIONS): accumulator row acc_addr's first `cols` values, fp32
 * bit patterns, become the lanes' store scales; lanes beyond get 0.0. */
#define spinel_load_lane_scales(acc_addr, cols) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, 0, ((uint64_t)1 << 48) | ((uint64_t)(cols) << 32) | (uint64_t)(uint32_t)(acc_addr), k_LOAD_LANE_SCALES)

/* The two-segment I-GELU's constants (HAS_NUMERICS_EXTENSIONS): CONFIG_NORM constant set 1
 * (rs1[20:19]) carries qb1, qc1 and qt, set 2 qb2, qc2 and q1; nothing else changes. */
#define spinel_config_igelu2(qb1, qc1, qt, qb2, qc2, q1) \
    { \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, ((uint64_t)(uint32_t)(qt) << 32) | \
            ((uint64_t)SPINEL_NORM_CONSTANTS_GELU_FIRST << SPINEL_NORM_CONSTANT_SET_LOW) | CONFIG_NORM, \
            ((uint64_t)(uint32_t)(qc1) << 32) | (uint64_t)(uint32_t)(qb1), k_CONFIG) \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, ((uint64_t)(uint32_t)(q1) << 32) | \
            ((uint64_t)SPINEL_NORM_CONSTANTS_GELU_SECOND << SPINEL_NORM_CONSTANT_SET_LOW) | CONFIG_NORM, \
            ((uint64_t)(uint32_t)(qc2) << 32) | (uint64_t)(uint32_t)(qb2), k_CONFIG) \
    }

/* CONFIG_NORM rs1: [15:8] statistics slot, [16] activation MSB, [17] set the slot only,
 * [18] which constant (0 qln2, 1 qln2_inv), [63:32] the constant; rs2: [31:0] igelu_qb,
 * [63:32] igelu_qc. */
#define gemmini_config_norm(q_const, q_const_type, set_stats_id_only, act_msb, stat_id, igelu_qb, igelu_qc) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, \
        ((uint64_t)(uint32_t)(q_const) << 32) | ((uint64_t)((q_const_type) & 1) << 18) | \
            ((uint64_t)((set_stats_id_only) & 1) << 17) | ((uint64_t)((act_msb) & 1) << 16) | \
            ((uint64_t)(uint8_t)(stat_id) << 8) | CONFIG_NORM, \
        ((uint64_t)(uint32_t)(igelu_qc) << 32) | (uint64_t)(uint32_t)(igelu_qb), k_CONFIG)

/* ---- LOOP_WS: C = A·B + D over I×K by K×J tiles of DIM ---- */

#define gemmini_loop_ws(I, J, K, pad_I, pad_J, pad_K, A, B, D, C, A_stride, B_stride, D_stride, C_stride, A_transpose, \
                        B_transpose, full_C, low_D, ex_accumulate, act, a_spad_id, b_spad_id, is_resadd) \
    { \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, ((uint64_t)(pad_K) << 32) | ((uint64_t)(pad_J) << 16) | (uint64_t)(pad_I), \
                                 ((uint64_t)(K) << 32) | ((uint64_t)(J) << 16) | (uint64_t)(I), k_LOOP_WS_CONFIG_BOUNDS) \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, A, B, k_LOOP_WS_CONFIG_ADDRS_AB) \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, D, C, k_LOOP_WS_CONFIG_ADDRS_DC) \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, A_stride, B_stride, k_LOOP_WS_CONFIG_STRIDES_AB) \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, D_stride, C_stride, k_LOOP_WS_CONFIG_STRIDES_DC) \
        ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, \
            ((uint64_t)(a_spad_id) << 18) | ((uint64_t)(b_spad_id) << 16) | ((uint64_t)(act) << 8) | \
                ((uint64_t)(low_D) << 2) | ((uint64_t)(full_C) << 1) | (uint64_t)(ex_accumulate), \
            ((uint64_t)(is_resadd) << 2) | ((uint64_t)(B_transpose) << 1) | (uint64_t)(A_transpose), k_LOOP_WS) \
    }

/* ---- Flush and fence ---- */

#define gemmini_flush(skip) \
    ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, skip, 0, k_FLUSH)

/* Waits until the accelerator is idle (no command queued or in flight, every DMA write
 * acknowledged). */
#define gemmini_fence() spinel_rocc_fence()

/* ---- Performance counters (COUNTER, funct 126; the event names are in gemmini_counter.h) ----
 * Eight slots; each counts one event's cycles (or handshakes) since it was configured or the
 * counters were reset, or reads an external value (an id above INCREMENTAL_COUNTERS). Every
 * COUNTER answers with the addressed slot's value as it was before the command acted; while a
 * snapshot is held, reads return the snapshot. Counts are 32 bits wide and wrap.
 * docs/GEMMINI-COMPATIBILITY.md, "Performance counters", says which events Spinel counts. */
#include "gemmini_counter.h"

#define gemmini_counter_access(rd, config_reg) \
    ROCC_INSTRUCTION(XCUSTOM_ACC, rd, config_reg, 0, k_COUNTER)

/* The value of slot `index` (0 to 7). */
static inline uint32_t counter_read(size_t index) {
    uint64_t value;
    gemmini_counter_access(value, ((uint64_t)index & 0x7) << 4)
    return (uint32_t)value;
}

/* Slot `index` counts `counter_code` (an event of gemmini_counter.h) from 0. */
static inline void counter_configure(size_t index, size_t counter_code) {
    const uint64_t external = counter_code > INCREMENTAL_COUNTERS;
    const uint64_t code = external ? counter_code - INCREMENTAL_COUNTERS : counter_code;
    uint64_t ignored;
    gemmini_counter_access(ignored, ((uint64_t)index & 0x7) << 4 | 0x8 | (code & 0x3f) << 12 | external << 31)
    (void)ignored;
}

/* Reads return the values of this moment until counter_snapshot_reset(). */
static inline void counter_snapshot_take(void) {
    uint64_t ignored;
    gemmini_counter_access(ignored, 0x4)
    (void)ignored;
}

static inline void counter_snapshot_reset(void) {
    uint64_t ignored;
    gemmini_counter_access(ignored, 0x2)
    (void)ignored;
}

/* Every slot (and the byte totals) back to 0; the slots keep their events. */
static inline void counter_reset(void) {
    uint64_t ignored;
    gemmini_counter_access(ignored, 0x1)
    (void)ignored;
}

/* ---- Gemmini's software library ---- */

#include "spinel_tiled.h"
#include "spinel_library.h"

#endif /* SPINEL_GEMMINI_H */
