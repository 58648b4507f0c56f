/// An activation function, numbered as Gemmini numbers them (CONFIG_EX [4:3], CONFIG_ST [3:2];
/// Softmax needs the CONFIG_NORM activation MSB).
public enum Activation: Int, Hashable, Sendable {
    case none = 0
    case relu = 1
    case layerNorm = 2
    case igelu = 3
    case softmax = 4
    /// Spinel extension: LayerNorm with per-column γ and β (CONFIG_ST 2 with the MSB; `hasAffineLayerNorm`).
    /// Spinel extension: Softmax relative to the row maximum (CONFIG_ST 1 with the MSB; `hasNumericsExtensions`).
    case softmaxRelativeToMaximum = 5
    case affineLayerNorm = 6
    /// Spinel extension: the two-segment I-GELU (CONFIG_ST 3 with the MSB; `hasNumericsExtensions`).
    case twoSegmentGELU = 7

    /// Whether the normalization units compute it.
    public var needsNormalizations: Bool { rawValue >= 2 }

    /// Softmax or Softmax relative to the maximum: an output pass over Softmax statistics.
    public var isSoftmax: Bool { self == .softmax || self == .softmaxRelativeToMaximum }

    /// The configuration extension an activation needs beyond `hasNormalizations`, if any.
    public func missingExtension(_ config: AcceleratorConfig) -> String? {
        switch self {
        case .affineLayerNorm: config.hasAffineLayerNorm ? nil : "hasAffineLayerNorm"
        case .softmaxRelativeToMaximum, .twoSegmentGELU: config.hasNumericsExtensions ? nil : "hasNumericsExtensions"
        default: nil
        }
    }

    /// LayerNorm or the affine LayerNorm: an output pass over LayerNorm statistics.
    public var isLayerNorm: Bool { self == .layerNorm || self == .affineLayerNorm }
}
