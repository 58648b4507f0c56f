/// The encodings and formats of Spinel's numerics extensions (`hasNumericsExtensions`;
/// docs/NUMERICS.md "Spinel numerics extensions", docs/NUMERICS.md and docs/ACCELERATOR.md
/// "Numerics extensions"), read by the golden model, the C harness and the hardware.
public enum NumericsExtensions {
    // MARK: CONFIG_ST fields (bits 12–23 are not Gemmini's pooling fields)

    /// CONFIG_ST rs1[17:12]: the requantizer's shift K; 0 turns the requantizer off.
    public static let requantizerShiftLow = 12
    public static let requantizerShiftBits = 6
    /// The shifts the requantizer accepts (48…63 are `unsupportedField`).
    public static let requantizerShifts = 1...47
    /// CONFIG_ST rs1[19:18]: where ACC_SCALE's scale comes from (`ScaleSource`).
    public static let scaleSourceLow = 18
    public static let scaleSourceBits = 2
    /// CONFIG_ST rs1[63:4] bits the extensions own; the others stay Gemmini's pooling fields,
    /// which must be 0.
    public static var configStoreFieldMask: UInt64 {
        ((1 << UInt64(requantizerShiftBits)) - 1) << UInt64(requantizerShiftLow)
            | ((1 << UInt64(scaleSourceBits)) - 1) << UInt64(scaleSourceLow)
    }

    /// The scale of an accumulator mvout's ACC_SCALE (CONFIG_ST rs1[19:18]).
    public enum ScaleSource: Int, CaseIterable, Sendable {
        /// CONFIG_ST's acc_scale (Gemmini's).
        case store = 0
        /// Lane j's fp32 scale from LOAD_LANE_SCALES.
        case lane = 1
        /// The row's Softmax statistic ρ ⊗ acc_scale (the row-scale store).
        case row = 2
    }

    // MARK: CONFIG_NORM constant sets (rs1[20:19])

    /// CONFIG_NORM rs1[20:19]: which constants the command sets. 0 is Gemmini's CONFIG_NORM;
    /// 1 and 2 set the two-segment I-GELU's constants and nothing else.
    public static let constantSetLow = 19
    public static let constantSetBits = 2

    public enum ConstantSet: Int, CaseIterable, Sendable {
        /// Gemmini's: slot, activation MSB, qln2 or qln2_inv, qb, qc.
        case gemmini = 0
        /// rs2[31:0] qb1, rs2[63:32] qc1, rs1[63:32] qt.
        case geluFirstSegment = 1
        /// rs2[31:0] qb2, rs2[63:32] qc2, rs1[63:32] q1.
        case geluSecondSegment = 2
    }

    // MARK: Per-lane parameters

    /// The requantizer's per-lane multiplier M_j: unsigned, 16 bits.
    public static let multiplierBits = 16

    // The extensions' activations (store activation = CONFIG_NORM MSB · 4 | CONFIG_ST activation)
    // are `Activation.softmaxRelativeToMaximum` and `Activation.twoSegmentGELU`.
}
