/// The fixed-point formats of LayerNorm's output (docs/NUMERICS.md, "LayerNorm" and "Spinel numerics
/// extensions"), read by the golden model, the C reference and the normalizer.
public enum LayerNormFormat {
    /// F: fractional bits of the normalized value `n_j`.
    public static let fractionBits = 16
    /// The per-row reciprocal `inv = rne(2^(e+23) / std)` lies in (2^23, 2^24]: 25 bits.
    public static let reciprocalBits = 25
    /// The affine LayerNorm's γ: signed Q.12 in 18 bits.
    public static let gammaBits = 18
    public static let gammaFractionBits = 12
}

/// What one row of a statistics slot holds (docs/ACCELERATOR.md, "Normalization"). The
/// dispatcher keeps the same machine to check passes in program order, the normalizer to know
/// whether a pass starts or continues.
public enum NormalizationRowState: Int, CaseIterable, Sendable {
    case empty, sum, meanReady, variance, layerNormReady, maximum, sumOfExponentials, softmaxReady

    public static let bits = 3
}

/// The normalization commands of accumulator mvouts (address bits 28:26, docs/NUMERICS.md).
public enum NormalizationCommand: Int, CaseIterable, Sendable {
    case output = 0, sum, mean, variance, inverseStandardDeviation, maximum, sumOfExponentials, inverseSumOfExponentials

    /// The command ends its pass with a computation on the whole row's sums.
    public var finishes: Bool { self == .mean || self == .inverseStandardDeviation || self == .inverseSumOfExponentials }

    /// The command a block of a wide mvout runs when another block follows it: a finishing
    /// command accumulates (MEAN → SUM, INV_STDDEV → VARIANCE, INV_SUM_EXP → SUM_EXP) and
    /// finishes on the last block only, as Gemmini's software issues the pieces itself.
    public var accumulating: NormalizationCommand {
        switch self {
        case .mean: .sum
        case .inverseStandardDeviation: .variance
        case .inverseSumOfExponentials: .sumOfExponentials
        default: self
        }
    }

    /// The two statistics passes before a row's output pass, in order, each as the command of
    /// its mvouts but the last and the command of the last (docs/ACCELERATOR.md, "Normalization").
    public static func passes(softmax: Bool) -> [(each: NormalizationCommand, last: NormalizationCommand)] {
        softmax ? [(.maximum, .maximum), (.sumOfExponentials, .inverseSumOfExponentials)]
            : [(.sum, .mean), (.variance, .inverseStandardDeviation)]
    }
}
