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

#endif /* SPINEL_ISA_H */
