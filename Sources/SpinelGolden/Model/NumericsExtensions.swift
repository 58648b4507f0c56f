import SpinelISA

// Spinel's numerics extensions (docs/NUMERICS.md "Spinel numerics extensions"; docs/NUMERICS.md):
// the per-lane requantizer, the two-segment I-GELU, Softmax relative to the row maximum and its
// row statistic ρ. Written once for the golden model, the C reference's tests and the RTL tests.

extension Numerics {
    // MARK: Per-lane requantizer

    /// `x' = sat_acc(RRS(x·M, K))`: the accumulator value times the lane's unsigned 16-bit
    /// multiplier, shifted right by K (1…47) rounding to nearest even, saturated into
    /// `accumulatorBits`. |x| ≤ 2^31 and M < 2^16: the product is exact in 64 bits.
    public static func requantize(_ x: Int64, multiplier: Int64, shift: Int, accumulatorBits: Int) -> Int64 {
        precondition(NumericsExtensions.requantizerShifts.contains(shift), "a requantizer shift of \(shift)")
        precondition((0..<(1 << Int64(NumericsExtensions.multiplierBits))).contains(multiplier), "a requantizer multiplier of \(multiplier)")
        return saturate(roundingRightShift(x * multiplier, by: shift), bits: accumulatorBits)
    }

    // MARK: Two-segment I-GELU (activation 7)

    /// Spinel's two-segment I-GELU of one accumulator value `q`:
    /// `c = min(|q|, −qb2)`, `(qb, qc) = c < qt ? (qb1, qc1) : (qb2, qc2)`,
    /// `poly = (c + qb)² + qc`, `y = q·(sign(q)·poly + q1)`.
    /// `|q|`, `−qb2`, the clip and the comparison with qt are exact; the polynomial and the
    /// product wrap in `accumulatorBits`, as I-GELU's do (`igelu`).
    public static func twoSegmentGELU(_ q: Int64, constants: TwoSegmentGELUConstants, accumulatorBits: Int) -> Int64 {
        let clip = min(abs(q), -constants.qb2)
        let (qb, qc) = clip < constants.qt ? (constants.qb1, constants.qc1) : (constants.qb2, constants.qc2)
        let base = clip &+ qb
        let polynomial = base &* base &+ qc
        let erf = q < 0 ? 0 &- polynomial : polynomial
        return wrap(q &* (erf &+ constants.q1), bits: accumulatorBits)
    }

    // MARK: Softmax relative to the row maximum (activation 5)

    /// The constant output factor `fp32(127) ⊘ fp32(iexp(0))` (iexp(0) = qb² + qc, wrapped);
    /// 0 when iexp(0) is 0, so that every output is 0 rather than NaN.
    public static func softmaxMaximumFactor(constants: IExpConstants, accumulatorBits: Int) -> Float {
        let peak = iexp(0, constants: constants, accumulatorBits: accumulatorBits)
        return peak == 0 ? 0 : Float(127) / Float(peak)
    }

    /// One output of Softmax relative to the maximum: `sat(ACC_SCALE(iexp(x − max), factor))`.
    public static func softmaxMaximumOutput(_ x: Int64, maximum: Int64, constants: IExpConstants, accumulatorBits: Int,
                                            outputBits: Int) -> Int64 {
        let exponential = iexp(x - maximum, constants: constants, accumulatorBits: accumulatorBits)
        return scale(exponential, by: softmaxMaximumFactor(constants: constants, accumulatorBits: accumulatorBits), toBits: outputBits)
    }

    /// The row statistic `ρ = fp32(1) ⊘ fp32(Σ out_j)` (the sum rounded to binary32, one
    /// correctly rounded division); 0 for a zero sum.
    public static func rowScaleStatistic(sumOfOutputs sum: Int64) -> Float {
        sum == 0 ? 0 : Float(1) / Float(sum)
    }

    /// Softmax relative to the maximum over a whole row: the outputs and ρ (nil for an empty row).
    public static func softmaxRelativeToMaximum(_ row: [Int64], constants: IExpConstants, accumulatorBits: Int,
                                                outputBits: Int) -> (outputs: [Int64], rho: Float)? {
        guard let maximum = row.max() else { return nil }
        let outputs = row.map {
            softmaxMaximumOutput($0, maximum: maximum, constants: constants, accumulatorBits: accumulatorBits, outputBits: outputBits)
        }
        return (outputs, rowScaleStatistic(sumOfOutputs: outputs.reduce(0, +)))
    }

    /// The row-scale store: `sat(ACC_SCALE(x, ρ ⊗ scale))`, ρ ⊗ scale one binary32 multiply.
    public static func rowScaled(_ x: Int64, rho: Float, scale: Float, toBits bits: Int) -> Int64 {
        Numerics.scale(x, by: rho * scale, toBits: bits)
    }
}

/// The two-segment I-GELU's constants (CONFIG_NORM constant sets 1 and 2). Software computes
/// them for input unit S (docs/NUMERICS.md): S' = S/√2, A = a·S'², a = −0.2284088,
/// qb1 = (int)(−2.37091198/S'), qc1 = (int)(1.31460745/A), qb2 = (int)(−1.83209186/S'),
/// qc2 = (int)(0.99717067/A), qt = (int)(0.81734265/S'), q1 = (int)(1/A); output unit S·A/2.
public struct TwoSegmentGELUConstants: Hashable, Sendable {
    public var qb1: Int64, qc1: Int64, qb2: Int64, qc2: Int64, qt: Int64, q1: Int64

    public init(qb1: Int64, qc1: Int64, qb2: Int64, qc2: Int64, qt: Int64, q1: Int64) {
        (self.qb1, self.qc1, self.qb2, self.qc2, self.qt, self.q1) = (qb1, qc1, qb2, qc2, qt, q1)
    }

    /// The constants for input unit `inputScale` (C's `(int)` truncation toward zero).
    public init(inputScale s: Double) {
        let sPrime = s / 2.0.squareRoot(), a = -0.2284088 * sPrime * sPrime
        func int(_ v: Double) -> Int64 { Int64(Int32(clamping: Int64(v.rounded(.towardZero)))) }
        self.init(qb1: int(-2.37091198 / sPrime), qc1: int(1.31460745 / a), qb2: int(-1.83209186 / sPrime),
                  qc2: int(0.99717067 / a), qt: int(0.81734265 / sPrime), q1: int(1 / a))
    }
}
