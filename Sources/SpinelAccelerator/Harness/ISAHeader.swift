/// Writes `spinel_isa.h`: the encodings of Spinel's own commands and fields, from the Swift
/// definitions the hardware and the golden model use (SpinelISA's `Funct`, `Activation`,
/// `NumericsExtensions`, `LayerNormFormat`), so that the static C of the harness (`Harness/Static/`) never spells a
/// number of its own. The same for every configuration.
public enum ISAHeader {
    public static let fileName = "spinel_isa.h"

    /// Every macro: name, value, and what it is.
    static var definitions: [(name: String, value: String, meaning: String)] {
        let e = NumericsExtensions.self
        return [
            ("SPINEL_FUNCT_LOAD_AFFINE", "\(Funct.loadAffine)", "LOAD_AFFINE: γ and β rows into the normalizer (affine LayerNorm)"),
            ("SPINEL_FUNCT_LOAD_REQUANT", "\(Funct.loadRequantizer)", "LOAD_REQUANT: the requantizer's per-lane multipliers"),
            ("SPINEL_FUNCT_LOAD_LANE_SCALES", "\(Funct.loadLaneScales)", "LOAD_LANE_SCALES: the per-lane fp32 store scales"),
            ("SPINEL_ACTIVATION_SOFTMAX_MAX", "\(Activation.softmaxRelativeToMaximum.rawValue)", "Softmax relative to the row maximum"),
            ("SPINEL_ACTIVATION_IGELU2", "\(Activation.twoSegmentGELU.rawValue)", "the two-segment I-GELU"),
            ("SPINEL_SCALE_SOURCE_STORE", "\(e.ScaleSource.store.rawValue)", "ACC_SCALE's scale: CONFIG_ST's"),
            ("SPINEL_SCALE_SOURCE_LANES", "\(e.ScaleSource.lane.rawValue)", "ACC_SCALE's scale: the lane's"),
            ("SPINEL_SCALE_SOURCE_ROW", "\(e.ScaleSource.row.rawValue)", "ACC_SCALE's scale: the row's ρ ⊗ CONFIG_ST's"),
            ("SPINEL_SCALE_SOURCE_LOW", "\(e.scaleSourceLow)", "CONFIG_ST rs1: the scale source's lowest bit"),
            ("SPINEL_SCALE_SOURCE_MASK", "\((1 << e.scaleSourceBits) - 1)", "CONFIG_ST rs1: the scale source's mask"),
            ("SPINEL_REQUANT_SHIFT_LOW", "\(e.requantizerShiftLow)", "CONFIG_ST rs1: the requantizer shift K's lowest bit"),
            ("SPINEL_REQUANT_SHIFT_MASK", "\((1 << e.requantizerShiftBits) - 1)", "CONFIG_ST rs1: the requantizer shift's mask"),
            ("SPINEL_NORM_CONSTANT_SET_LOW", "\(e.constantSetLow)", "CONFIG_NORM rs1: the constant set's lowest bit"),
            ("SPINEL_NORM_CONSTANTS_GELU_FIRST", "\(e.ConstantSet.geluFirstSegment.rawValue)", "CONFIG_NORM constant set: the two-segment I-GELU's first segment"),
            ("SPINEL_NORM_CONSTANTS_GELU_SECOND", "\(e.ConstantSet.geluSecondSegment.rawValue)", "CONFIG_NORM constant set: its second segment"),
            ("SPINEL_ISA_LAYERNORM_F", "\(LayerNormFormat.fractionBits)", "F: fractional bits of LayerNorm's normalized value"),
            ("SPINEL_ISA_AFFINE_GAMMA_BITS", "\(LayerNormFormat.gammaBits)", "the affine LayerNorm's γ: bits"),
            ("SPINEL_ISA_AFFINE_GAMMA_FRACTION", "\(LayerNormFormat.gammaFractionBits)", "the affine LayerNorm's γ: fractional bits"),
            ("SPINEL_FUNCT_CTA_CONFIG", "\(Funct.ctaConfig)", "CTA_CONFIG: a level's hash instance (offsets row, M, K) or λ"),
            ("SPINEL_FUNCT_CTA_CLUSTER", "\(Funct.ctaCluster)", "CTA_CLUSTER: hash and cluster a level's tokens"),
            ("SPINEL_FUNCT_CTA_AGGREGATE", "\(Funct.ctaAggregate)", "CTA_AGGREGATE: a level's centroids (and the level-1 residuals)"),
            ("SPINEL_FUNCT_CTA_PROBABILITIES", "\(Funct.ctaProbabilities)", "CTA_PROBABILITIES: AP's int8 halves from the compressed scores"),
            ("SPINEL_FUNCT_CTA_GATHER", "\(Funct.ctaGather)", "CTA_GATHER: the normalized output, one DRAM row per token"),
            ("SPINEL_FUNCT_CTA_STATUS", "\(Funct.ctaStatus)", "CTA_STATUS: k0, k1, k2 and the overflow token into accumulator rows"),
            ("SPINEL_CTA_EXPONENT_TARGET", "\(CTAFields.exponentTarget)", "CTA_CONFIG rs1[1:0]: the target λ (0-2 are the levels)"),
            ("SPINEL_CTA_HASH_M_LOW", "\(CTAFields.hashMultiplier.low)", "CTA_CONFIG rs1: M's lowest bit"),
            ("SPINEL_CTA_HASH_K_LOW", "\(CTAFields.hashShift.low)", "CTA_CONFIG rs1: K's lowest bit"),
            ("SPINEL_CTA_EXPONENT_LOW", "\(CTAFields.exponentFactor.low)", "CTA_CONFIG rs1: λ's lowest bit"),
            ("SPINEL_CTA_AGGREGATE_LEVEL_LOW", "\(CTAFields.aggregateLevel.low)", "CTA_AGGREGATE rs1: the level's lowest bit"),
            ("SPINEL_CTA_FIRST_ROW_LOW", "\(CTAFields.firstRow.low)", "CTA_PROBABILITIES rs1: the group's first compressed row, lowest bit"),
            ("SPINEL_CTA_RESIDUALS_BIT", "\(CTAFields.residualsBit)", "CTA_AGGREGATE rs1: replace the tokens by their residuals"),
            ("SPINEL_CTA_STATUS_VALUES", "\(CTAFields.statusValues)", "CTA_STATUS: values written (k0, k1, k2, overflow token)"),
        ]
    }

    public static func render() -> String {
        let width = definitions.map(\.name.count).max() ?? 0
        var text = """
            /* spinel_isa.h: Spinel's command encodings beyond Gemmini's (docs/ISA.md), written by spinel
             * generate from the definitions the hardware and the golden model use. Do not edit. */
            #ifndef SPINEL_ISA_H
            #define SPINEL_ISA_H


            """
        for definition in definitions {
            let padding = String(repeating: " ", count: width - definition.name.count)
            text += "#define \(definition.name)\(padding) \(definition.value)  /* \(definition.meaning) */\n"
        }
        text += "\n#endif /* SPINEL_ISA_H */\n"
        return text
    }
}
