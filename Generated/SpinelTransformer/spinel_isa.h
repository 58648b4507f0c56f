/* spinel_isa.h: Spinel's command encodings beyond Gemmini's (docs/ISA.md), written by spinel
 * generate from the definitions the hardware and the golden model use. Do not edit. */
#ifndef SPINEL_ISA_H
#define SPINEL_ISA_H

#define SPINEL_FUNCT_LOAD_AFFINE          40  /* LOAD_AFFINE: γ and β rows into the normalizer (affine LayerNorm) */
#define SPINEL_FUNCT_LOAD_REQUANT         41  /* LOAD_REQUANT: the requantizer's per-lane multipliers */
#define SPINEL_FUNCT_LOAD_LANE_SCALES     42  /* LOAD_LANE_SCALES: the per-lane fp32 store scales */
#define SPINEL_ACTIVATION_SOFTMAX_MAX     5  /* Softmax relative to the row maximum */
#define SPINEL_ACTIVATION_IGELU2          7  /* the two-segment I-GELU */
#define SPINEL_SCALE_SOURCE_STORE         0  /* ACC_SCALE's scale: CONFIG_ST's */
#define SPINEL_SCALE_SOURCE_LANES         1  /* ACC_SCALE's scale: the lane's */
#define SPINEL_SCALE_SOURCE_ROW           2  /* ACC_SCALE's scale: the row's ρ ⊗ CONFIG_ST's */
#define SPINEL_SCALE_SOURCE_LOW           18  /* CONFIG_ST rs1: the scale source's lowest bit */
#define SPINEL_SCALE_SOURCE_MASK          3  /* CONFIG_ST rs1: the scale source's mask */
#define SPINEL_REQUANT_SHIFT_LOW          12  /* CONFIG_ST rs1: the requantizer shift K's lowest bit */
#define SPINEL_REQUANT_SHIFT_MASK         63  /* CONFIG_ST rs1: the requantizer shift's mask */
#define SPINEL_NORM_CONSTANT_SET_LOW      19  /* CONFIG_NORM rs1: the constant set's lowest bit */
#define SPINEL_NORM_CONSTANTS_GELU_FIRST  1  /* CONFIG_NORM constant set: the two-segment I-GELU's first segment */
#define SPINEL_NORM_CONSTANTS_GELU_SECOND 2  /* CONFIG_NORM constant set: its second segment */
#define SPINEL_ISA_LAYERNORM_F            16  /* F: fractional bits of LayerNorm's normalized value */
#define SPINEL_ISA_AFFINE_GAMMA_BITS      18  /* the affine LayerNorm's γ: bits */
#define SPINEL_ISA_AFFINE_GAMMA_FRACTION  12  /* the affine LayerNorm's γ: fractional bits */
#define SPINEL_FUNCT_CTA_CONFIG           48  /* CTA_CONFIG: a level's hash instance (offsets row, M, K) or λ */
#define SPINEL_FUNCT_CTA_CLUSTER          49  /* CTA_CLUSTER: hash and cluster a level's tokens */
#define SPINEL_FUNCT_CTA_AGGREGATE        50  /* CTA_AGGREGATE: a level's centroids (and the level-1 residuals) */
#define SPINEL_FUNCT_CTA_PROBABILITIES    51  /* CTA_PROBABILITIES: AP's int8 halves from the compressed scores */
#define SPINEL_FUNCT_CTA_GATHER           52  /* CTA_GATHER: the normalized output, one DRAM row per token */
#define SPINEL_FUNCT_CTA_STATUS           53  /* CTA_STATUS: k0, k1, k2 and the overflow token into accumulator rows */
#define SPINEL_CTA_EXPONENT_TARGET        3  /* CTA_CONFIG rs1[1:0]: the target λ (0-2 are the levels) */
#define SPINEL_CTA_HASH_M_LOW             8  /* CTA_CONFIG rs1: M's lowest bit */
#define SPINEL_CTA_HASH_K_LOW             32  /* CTA_CONFIG rs1: K's lowest bit */
#define SPINEL_CTA_EXPONENT_LOW           32  /* CTA_CONFIG rs1: λ's lowest bit */
#define SPINEL_CTA_AGGREGATE_LEVEL_LOW    32  /* CTA_AGGREGATE rs1: the level's lowest bit */
#define SPINEL_CTA_FIRST_ROW_LOW          32  /* CTA_PROBABILITIES rs1: the group's first compressed row, lowest bit */
#define SPINEL_CTA_RESIDUALS_BIT          34  /* CTA_AGGREGATE rs1: replace the tokens by their residuals */
#define SPINEL_CTA_STATUS_VALUES          4  /* CTA_STATUS: values written (k0, k1, k2, overflow token) */

#endif /* SPINEL_ISA_H */
