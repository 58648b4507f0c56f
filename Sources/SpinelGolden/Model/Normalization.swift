import SpinelISA

// The transformer nonlinear functions of docs/NUMERICS.md (I-GELU, LayerNorm, Softmax), written once
// for the golden model, the normalizer's statistics passes and the tests of the C reference.
//
// Domain: accumulator values (`x`, `q`) and the CONFIG_NORM constants are accType values of at
// most 32 bits (the configuration refuses wider accumulators with normalizations). Every
// function below is total on that domain: it never traps, and each intermediate is either
// exact or wraps as stated.

extension Numerics {
    // MARK: I-GELU (activation 3)

    /// I-GELU of one accumulator value `q` with CONFIG_NORM's `qb` and `qc`:
    /// `q_clip = min(|q|, −qb)`, `q_poly = (q_clip + qb)² + qc`, `q_erf = sign(q)·q_poly`,
    /// `y = q·(q_erf + qc)`.
    ///
    /// `|q|`, `−qb` and the clip are exact (33 bits, so `q = −2^31` and `qb = −2^31` mean what
    /// they say); the polynomial and the product are accType arithmetic: the result is the exact
    /// value wrapped to `accumulatorBits` (two's complement), which is the C reference's int32
    /// arithmetic wherever that does not overflow, and what an accType-wide datapath computes
    /// everywhere.
    public static func igelu(_ q: Int64, qb: Int64, qc: Int64, accumulatorBits: Int) -> Int64 {
        let clip = min(abs(q), -qb)
        let base = clip &+ qb
        let polynomial = base &* base &+ qc
        let erf = q < 0 ? 0 &- polynomial : polynomial
        return wrap(q &* (erf &+ qc), bits: accumulatorBits)
    }

    // MARK: LayerNorm (activation 2)

    /// `trunc(sum / count)`: integer division toward zero (`count` ≥ 1).
    public static func truncatedMean(sum: Int64, count: Int) -> Int64 {
        precondition(count > 0, "a mean of no elements")
        return sum / Int64(count)
    }

    /// `trunc(sumOfSquares / count)`, the LayerNorm variance (`count` ≥ 1). Deviations of
    /// accType values (at most 32 bits) are below 2^32, their squares below 2^64, so the
    /// variance fits 64 unsigned bits — but not always Int64: a VARIANCE pass over other data
    /// than its mean's can pass 2^63, as the normalizer's 64-bit variance does.
    public static func truncatedVariance(sumOfSquares: WideSum, count: Int) -> UInt64 {
        precondition(count > 0, "a variance of no elements")
        let (quotient, _) = UInt64(count).dividingFullWidth((high: sumOfSquares.high, low: sumOfSquares.low))
        return quotient
    }

    /// The LayerNorm divisor: `isqrt(variance)`, or 1 for a zero variance.
    public static func standardDeviation(variance: UInt64) -> Int64 {
        variance == 0 ? 1 : isqrt(variance)
    }

    /// `rne(numerator / denominator)`: the exact rational quotient rounded to the nearest
    /// integer, ties to even (`denominator` ≥ 1).
    public static func divideRoundingToNearestEven(_ numerator: Int64, by denominator: Int64) -> Int64 {
        precondition(denominator > 0, "division by \(denominator)")
        let quotient = numerator / denominator, remainder = numerator % denominator  // toward zero
        let twiceRemainder = 2 * remainder.magnitude, divisor = denominator.magnitude
        let awayFromZero = twiceRemainder > divisor || (twiceRemainder == divisor && quotient % 2 != 0)
        guard awayFromZero else { return quotient }
        return numerator < 0 ? quotient - 1 : quotient + 1
    }

    /// LayerNorm's one division per row: with `e = bits(std)` (std's bit length; std ≥ 1),
    /// `inverse = rne(2^(e+23) / std)` (in (2^23, 2^24], never a tie) and the shift `e + 23 − F`
    /// that `n_j = RRS((x_j − mean)·inverse, shift)` needs.
    public static func layerNormReciprocal(standardDeviation std: Int64) -> (inverse: Int64, shift: Int) {
        precondition(std >= 1 && std < 1 << 40, "a LayerNorm divisor of \(std)")
        let e = Int64.bitWidth - std.leadingZeroBitCount
        return (divideRoundingToNearestEven(1 << Int64(e + 23), by: std), e + 23 - LayerNormFormat.fractionBits)
    }

    /// The scale LayerNorm's output pass applies to `n_j`: `scale ⊗ 2^−F`, one binary32 multiply
    /// (exact unless the product is subnormal, where it rounds like any fp32 multiply).
    public static func layerNormScale(_ scale: Float) -> Float {
        scale * Float(sign: .plus, exponent: -LayerNormFormat.fractionBits, significand: 1)
    }

    /// LayerNorm's normalized values `n_j = RRS((x_j − mean)·inv, e + 23 − F)` for a whole row
    /// (F fractional bits, before the scale): mean and variance truncated toward zero, sums
    /// exact. Empty rows have no statistics.
    public static func layerNorm(_ row: [Int64]) -> [Int64] {
        let statistics = LayerNormStatistics(row: row)
        return row.map { statistics.normalize($0) }
    }

    /// LayerNorm's output row: `sat(ACC_SCALE(n_j, scale ⊗ 2^−F))` into `outputBits`.
    public static func layerNormOutput(_ row: [Int64], scale: Float, outputBits: Int) -> [Int64] {
        let folded = layerNormScale(scale)
        return layerNorm(row).map { Numerics.scale($0, by: folded, toBits: outputBits) }
    }

    // MARK: Softmax (activation 4)

    /// I-BERT's integer exponential of `q = x − max`:
    /// `z = (−q·qln2_inv) >> 16` (a 64-bit product, exact as −q ≤ 2^32 and |qln2_inv| < 2^31;
    /// the shift arithmetic), clamped below at 0 — Spinel's rule for q > 0 (an element above the
    /// maximum) or qln2_inv ≤ 0 (docs/ACCELERATOR.md, "Normalization") —, `e = 0` when `z ≥ 32`,
    /// otherwise `qp = q + z·qln2`, `e = ((qp + qb)² + qc) >> z`. `qp` and the polynomial are
    /// accType arithmetic (wrapped to `accumulatorBits`, as the C reference's acc_t), the shift
    /// is arithmetic.
    public static func iexp(_ q: Int64, constants: IExpConstants, accumulatorBits: Int) -> Int64 {
        let z = max((-q * constants.qln2Inverse) >> 16, 0)
        guard z < 32 else { return 0 }
        let base = q &+ z &* constants.qln2 &+ constants.qb
        let polynomial = wrap(base &* base &+ constants.qc, bits: accumulatorBits)
        return polynomial >> z
    }

    /// Softmax's scale `fp32(127) ⊘ fp32(sum)`: the sum rounded to binary32 (nearest even),
    /// then one correctly rounded binary32 division; 0 for a zero sum (possible only with a
    /// negative qc), so that the row's outputs are 0.
    public static func softmaxFactor(sumOfExponentials sum: Int64) -> Float {
        sum == 0 ? 0 : Float(127) / Float(sum)
    }

    /// The exponentials of a row and its Softmax factor (nil for an empty row). The sum of at
    /// most 2^32 accType values is exact in 64 bits.
    public static func softmax(_ row: [Int64], constants: IExpConstants, accumulatorBits: Int) -> (exponentials: [Int64], factor: Float?) {
        guard let maximum = row.max() else { return ([], nil) }
        let exponentials = row.map { iexp($0 - maximum, constants: constants, accumulatorBits: accumulatorBits) }
        let sum = exponentials.reduce(0, +)
        return (exponentials, softmaxFactor(sumOfExponentials: sum))
    }

    /// Softmax's output row: `sat(ACC_SCALE(e_j, factor))` into `outputBits`; nil for an empty row.
    public static func softmaxOutput(_ row: [Int64], constants: IExpConstants, accumulatorBits: Int,
                                     outputBits: Int) -> [Int64]? {
        let (exponentials, factor) = softmax(row, constants: constants, accumulatorBits: accumulatorBits)
        guard let factor else { return nil }
        return exponentials.map { scale($0, by: factor, toBits: outputBits) }
    }
}

/// The constants of I-BERT's integer exponential (CONFIG_NORM: qln2, qln2_inv; qb and qc travel
/// in the igelu_qb and igelu_qc fields).
public struct IExpConstants: Hashable, Sendable {
    public var qln2: Int64
    public var qln2Inverse: Int64
    public var qb: Int64
    public var qc: Int64

    public init(qln2: Int64, qln2Inverse: Int64, qb: Int64, qc: Int64) {
        self.qln2 = qln2
        self.qln2Inverse = qln2Inverse
        self.qb = qb
        self.qc = qc
    }
}

/// A LayerNorm row's mean and divisor, from the whole row at once (the normalizer gathers the
/// same sums over several mvouts).
public struct LayerNormStatistics: Hashable, Sendable {
    public var mean: Int64
    public var standardDeviation: Int64

    public init(mean: Int64, standardDeviation: Int64) {
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The statistics of `row` (not empty): `mean = trunc(Σx / J)`, `var = trunc(Σ(x − mean)² / J)`.
    public init(row: [Int64]) {
        precondition(!row.isEmpty, "LayerNorm of an empty row")
        let mean = Numerics.truncatedMean(sum: row.reduce(0, +), count: row.count)
        var squares = WideSum()
        for x in row { squares.addSquare(of: x - mean) }
        let variance = Numerics.truncatedVariance(sumOfSquares: squares, count: row.count)
        self.init(mean: mean, standardDeviation: Numerics.standardDeviation(variance: variance))
    }

    /// `n = RRS((x − mean)·inv, e + 23 − F)`: `(x − mean)/std` with F fractional bits, through
    /// the row's reciprocal (`Numerics.layerNormReciprocal`). |x − mean| < 2^33 and inv ≤ 2^24:
    /// the product is exact in 64 bits.
    public func normalize(_ x: Int64) -> Int64 {
        let (inverse, shift) = Numerics.layerNormReciprocal(standardDeviation: standardDeviation)
        return Numerics.roundingRightShift((x - mean) * inverse, by: shift)
    }

    /// The affine LayerNorm (docs/NUMERICS.md, "Spinel numerics extensions"; docs/ACCELERATOR.md,
    /// "Affine LayerNorm"): `z = sat(RRS(n·γ, 12) + β)` into accumulatorBits, with n of
    /// `normalize(x)`, γ signed Q.12 (18 bits), β in units of 2^−F. A product n·γ beyond 64 bits
    /// is far beyond accType after the shift: it saturates by its sign.
    public func normalize(_ x: Int64, gamma: Int64, beta: Int64, accumulatorBits: Int) -> Int64 {
        let n = normalize(x)
        let (product, overflow) = n.multipliedReportingOverflow(by: gamma)
        if overflow { return Numerics.saturate((n < 0) != (gamma < 0) ? Int64.min : Int64.max, bits: accumulatorBits) }
        let scaled = Numerics.roundingRightShift(product, by: LayerNormFormat.gammaFractionBits)
        return Numerics.saturate(scaled + beta, bits: accumulatorBits)
    }
}

/// A 128-bit unsigned sum of squares: a deviation of accType values is below 2^32 in magnitude,
/// its square below 2^64, and a row's sum of them needs more than 64 bits.
public struct WideSum: Hashable, Sendable {
    public private(set) var high: UInt64 = 0
    public private(set) var low: UInt64 = 0

    public init() {}

    public mutating func addSquare(of deviation: Int64) {
        let square = deviation.magnitude.multipliedFullWidth(by: deviation.magnitude)
        let (sum, carry) = low.addingReportingOverflow(square.low)
        low = sum
        high += square.high + (carry ? 1 : 0)
    }
}
