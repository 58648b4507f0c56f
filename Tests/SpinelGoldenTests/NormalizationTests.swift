import Foundation
import SpinelAccelerator
import SpinelGolden
import Testing

// I-GELU, LayerNorm and Softmax (docs/NUMERICS.md) and the normalizer's statistics passes
// (docs/ACCELERATOR.md, "Normalization"). The tables are worked out by hand from docs/NUMERICS.md;
// the property tests compare with `NormalizationReference`, which computes the same
// definitions by other means (Int32 wrapping types, Double where it is exact, exact
// inequalities in Decimal).

@Suite("Golden model: I-GELU, LayerNorm and Softmax arithmetic")
struct NormalizationArithmeticTests {
    // MARK: I-GELU

    /// (q, qb, qc, y): `clip = min(|q|, −qb)`, `poly = (clip + qb)² + qc`, `y = q·(sign·poly + qc)`.
    static let igeluTable: [(q: Int64, qb: Int64, qc: Int64, y: Int64)] = [
        (0, -4, -10, 0),        // poly 6, y = 0·(6 − 10)
        (1, -4, -10, -11),      // poly 9 − 10 = −1, y = 1·(−1 − 10)
        (-1, -4, -10, 9),       // erf = +1: the sign flips the polynomial, y = −1·(1 − 10)
        (3, -4, -10, -57),      // poly 1 − 10 = −9, y = 3·(−19)
        (-3, -4, -10, 3),       // y = −3·(9 − 10)
        (4, -4, -10, -80),      // |q| = −qb: clip boundary, poly = qc, y = 4·(−20)
        (10, -4, -10, -200),    // clipped to 4
        (-10, -4, -10, 0),      // clipped negative: erf = −qc, y = q·0
        (10, -25, -692, -11590),    // Gemmini's constants for S = 0.1: poly 225 − 692
        (-10, -25, -692, 2250),
        (100, -25, -692, -138_400), // clipped: 100·(2·−692)
        (Int64(Int32.min), -4, -10, 0),         // |q| = 2^31 exactly, clipped
        (Int64(Int32.max), -4, -10, 20),        // (2^31 − 1)·(−20) wraps in 32 bits to 20
        (100_000, -200_000, 0, -1_530_494_976), // 10^15 wrapped in 32 bits
    ]

    @Test(arguments: igeluTable.indices)
    func igelu(index: Int) {
        let c = Self.igeluTable[index]
        #expect(Numerics.igelu(c.q, qb: c.qb, qc: c.qc, accumulatorBits: 32) == c.y, "q \(c.q), qb \(c.qb), qc \(c.qc)")
    }

    /// I-GELU results through ACC_SCALE: rounding ties to even and saturation.
    @Test func igeluOutputsRoundAndSaturate() {
        func out(_ q: Int64, _ qb: Int64, _ qc: Int64, _ scale: Float) -> Int64 {
            Numerics.scale(Numerics.igelu(q, qb: qb, qc: qc, accumulatorBits: 32), by: scale, toBits: 8)
        }
        #expect(out(3, -4, -10, 0.5) == -28)     // −28.5
        #expect(out(-1, -4, -10, 0.5) == 4)      // 4.5
        #expect(out(1, -4, -10, 0.5) == -6)      // −5.5
        #expect(out(10, -4, -10, 1) == -128)     // −200 saturates
        #expect(out(-10, -25, -692, 1) == 127)   // 2250 saturates
        #expect(out(-10, -25, -692, 0.05) == 112) // 2250 · fp32(0.05) = 112.5000017, rounded to fp32 112.5: a tie, to even
    }

    // MARK: LayerNorm

    /// (row, n), computed by hand: mean and variance truncated toward zero, std = isqrt(var) (1
    /// for 0), e = bits(std), inv = rne(2^(e+23) / std), n = RRS((x − mean)·inv, e + 7).
    static let layerNormTable: [(row: [Int64], n: [Int64])] = [
        ([5, 5, 5, 5], [0, 0, 0, 0]),                 // zero variance: std 1
        ([-7], [0]),
        ([-1, -2], [0, -65536]),                      // mean trunc(−1.5) = −1 (floor would give −2); std 1: n = (x − mean)·2^16
        ([-3, 0, 0, 0], [-196_608, 0, 0, 0]),         // mean trunc(−0.75) = 0, var trunc(2.25) = 2, std 1
        // var 5, std 2, e 2: inv = 2^25 / 2 = 2^24, shift 9, n = (x − mean)·2^15: the halves exact.
        ([97, 99, 101, 103], [-98_304, -32_768, 32_768, 98_304]),
        // var 13, std 3, e 2: inv = rne(2^25 / 3) = 11184811 (11184810.67), shift 9:
        // 5·11184811 / 512 = 109226.67 → 109227, 11184811 / 512 = 21845.33 → 21845.
        ([95, 99, 101, 105], [-109_227, -21_845, 21_845, 109_227]),
        // mean 100, var 30000, std 173, e 8: inv = rne(2^31 / 173) = 12413200 (2147483600 + 48), shift 15:
        // 100·12413200 / 32768 = 37882.08 → 37882, 300·12413200 / 32768 = 113646.24 → 113646.
        ([0, 0, 0, 400], [-37_882, -37_882, -37_882, 113_646]),
        // The sum of squares 2^65 − 2^34 + 4 needs more than 64 bits: var 2^62 − 2^31, std 2^31 − 1,
        // e 31: inv = rne(2^54 / (2^31 − 1)) = 2^23 (2^23 + 0.0039), shift 38:
        // (2^31 − 1)·2^23 / 2^38 = 2^16 − 2^−15 → 2^16; −2^31·2^23 / 2^38 = −2^16 exactly.
        (Array(repeating: [Int64(Int32.max), Int64(Int32.min)], count: 4).flatMap { $0 }, Array(repeating: [65_536, -65_536], count: 4).flatMap { $0 }),
    ]

    @Test(arguments: layerNormTable.indices)
    func layerNorm(index: Int) {
        let c = Self.layerNormTable[index]
        #expect(Numerics.layerNorm(c.row) == c.n, "row \(c.row)")
    }

    @Test func layerNormStatisticsOfTheWideRow() {
        let statistics = LayerNormStatistics(row: Self.layerNormTable.last!.row)
        #expect(statistics.mean == 0 && statistics.standardDeviation == Int64(Int32.max))
    }

    /// Reciprocals by hand: std 1 and every power of two give 2^24 (25 bits); otherwise 24 bits.
    @Test func layerNormReciprocals() {
        let cases: [(std: Int64, inverse: Int64, shift: Int)] = [
            (1, 1 << 24, 8), (2, 1 << 24, 9), (3, 11_184_811, 9), (173, 12_413_200, 15), (1 << 20, 1 << 24, 28),
            ((1 << 20) + 1, 16_777_200, 28),  // 2^44 / (2^20 + 1) = 16777200.0000153
            (Int64(UInt32.max), 8_388_608, 39),  // 2^55 / (2^32 − 1) = 2^23 + 0.00195
        ]
        for c in cases {
            let (inverse, shift) = Numerics.layerNormReciprocal(standardDeviation: c.std)
            #expect(inverse == c.inverse && shift == c.shift, "std \(c.std): \(inverse), \(shift)")
        }
    }

    /// Outputs by hand: n·scale·2^−16, rounded to even and saturated.
    @Test func layerNormOutputsSaturateBothWays() {
        // n·100 / 65536: −57.80 → −58, 173.41 → 127.
        #expect(Numerics.layerNormOutput([0, 0, 0, 400], scale: 100, outputBits: 8) == [-58, -58, -58, 127])
        #expect(Numerics.layerNormOutput([0, 0, 0, 400], scale: -100, outputBits: 8) == [58, 58, 58, -128])
        #expect(Numerics.layerNormOutput([0, 0, 0, 400], scale: 10, outputBits: 8) == [-6, -6, -6, 17])  // −5.78, 17.34
        // −1.5·0.75 = −1.125, −0.375, 0.375, 1.125 (the old whole-std rounding gave −2, 0, 0, 2).
        #expect(Numerics.layerNormOutput([97, 99, 101, 103], scale: 0.75, outputBits: 8) == [-1, 0, 0, 1])
        // Ties stay exact: −1.5, −0.5, 0.5, 1.5 to even.
        #expect(Numerics.layerNormOutput([97, 99, 101, 103], scale: 1, outputBits: 8) == [-2, 0, 0, 2])
        // 109227·4 / 65536 = 6.667 → 7, 21845·4 / 65536 = 1.333 → 1.
        #expect(Numerics.layerNormOutput([95, 99, 101, 105], scale: 4, outputBits: 8) == [-7, -1, 1, 7])
    }

    @Test func roundingDivision() {
        let cases: [(Int64, Int64, Int64)] = [(5, 2, 2), (7, 2, 4), (-5, 2, -2), (-7, 2, -4), (1, 2, 0), (-1, 2, 0), (3, 2, 2),
                                              (-3, 2, -2), (5, 3, 2), (-5, 3, -2), (4, 3, 1), (-4, 3, -1), (0, 7, 0), (9, 1, 9)]
        for (n, d, q) in cases { #expect(Numerics.divideRoundingToNearestEven(n, by: d) == q, "\(n) / \(d)") }
    }

    // MARK: Softmax

    static let small = IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: 2)

    /// (q, constants, e): `z = (−q·qln2_inv) >> 16`, `qp = q + z·qln2`, `e = ((qp + qb)² + qc) >> z`.
    static let iexpTable: [(q: Int64, constants: IExpConstants, e: Int64)] = [
        (0, small, 11),         // z 0: 3² + 2
        (-1, small, 6),         // z 0: (−1 + 3)² + 2
        (-5, small, 3),         // z = 81920 >> 16 = 1, qp = −1: 6 >> 1
        (-200, small, 0),       // z = 50
        (-127, IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: -100), -1),  // z 31, qp −3: −100 >> 31
        (-128, IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: -100), 0),   // z = 32 gives 0, not −1
        (0, IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: -100), -91),
        (0, IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 50000, qc: 0), -1_794_967_296),  // 2.5·10^9 wraps
        // −q·qln2_inv = 2147516416 overflows 32 bits (a negative z there); in 64 bits z = 32768.
        (-65537, IExpConstants(qln2: 2, qln2Inverse: 32768, qb: 3, qc: 2), 0),
        (-(Int64(1) << 32) + 1, IExpConstants(qln2: 1, qln2Inverse: Int64(Int32.max), qb: 3, qc: 2), 0),
    ]

    @Test(arguments: iexpTable.indices)
    func iexp(index: Int) {
        let c = Self.iexpTable[index]
        #expect(Numerics.iexp(c.q, constants: c.constants, accumulatorBits: 32) == c.e, "q \(c.q), \(c.constants)")
    }

    /// fp32(127) ⊘ fp32(sum): the sum rounds to binary32 first (ties to even), then one division.
    @Test func softmaxFactorIsOneCorrectlyRoundedDivision() {
        #expect(Numerics.softmaxFactor(sumOfExponentials: 16_777_217).bitPattern == 0x36FE_0000)  // fp32(2^24 + 1) = 2^24: 127·2^−24
        // fp32(2^24 + 3) = 2^24 + 4; 127 / (2^24 + 4) = 127·2^−24·(1 − 2^−22 + …), 3.97 ulp below 127·2^−24: 4 ulp
        #expect(Numerics.softmaxFactor(sumOfExponentials: 16_777_219).bitPattern == 0x36FD_FFFC)
        #expect(Numerics.softmaxFactor(sumOfExponentials: 3).bitPattern == 0x4229_5555)  // 42.33333206…
        #expect(Numerics.softmaxFactor(sumOfExponentials: 127) == 1)
    }

    @Test func softmaxRows() {
        // e = [11, 6, 3, 0], sum 20, factor fp32(6.35): 69.85, 38.1, 19.05, 0
        #expect(Numerics.softmaxOutput([0, -1, -5, -200], constants: Self.small, accumulatorBits: 32, outputBits: 8) == [70, 38, 19, 0])
        // Only differences to the maximum count.
        #expect(Numerics.softmaxOutput([10, 9, 5, -190], constants: Self.small, accumulatorBits: 32, outputBits: 8) == [70, 38, 19, 0])
        // Negative exponentials: e = [−91, −1, 0], sum −92, factor −1.3804348: 125.6, 1.38, 0
        let negative = IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: -100)
        #expect(Numerics.softmaxOutput([0, -127, -128], constants: negative, accumulatorBits: 32, outputBits: 8) == [126, 1, 0])
        // A sum of 0 gives the factor 0: the outputs are 0.
        #expect(Numerics.softmaxOutput([0], constants: IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 0, qc: 0),
                                       accumulatorBits: 32, outputBits: 8) == [0])
        // The extremes of int32: q = −(2^32 − 1) has z ≥ 32.
        let extreme = Numerics.softmax([Int64(Int32.max), Int64(Int32.min)], constants: Self.small, accumulatorBits: 32)
        #expect(extreme.exponentials == [11, 0] && extreme.factor == Float(127) / 11)
    }

    // MARK: Properties against the independent reference

    @Test func igeluMatchesTheReferenceOnRandomValues() {
        var random = SplitMix64(state: 0x16E1_0001)
        for trial in 0..<20_000 {
            let q = trial % 2 == 0 ? Int32.random(in: -5000...5000, using: &random) : Int32(truncatingIfNeeded: random.next())
            let qb = trial % 3 == 0 ? Int32(truncatingIfNeeded: random.next()) : Int32.random(in: -2000...0, using: &random)
            let qc = trial % 5 == 0 ? Int32(truncatingIfNeeded: random.next()) : Int32.random(in: -100_000...0, using: &random)
            let got = Numerics.igelu(Int64(q), qb: Int64(qb), qc: Int64(qc), accumulatorBits: 32)
            let want = NormalizationReference.igelu(q, qb: qb, qc: qc)
            if got != Int64(want) { Issue.record("igelu(\(q), qb \(qb), qc \(qc)): \(got), reference \(want)"); return }
        }
    }

    @Test func layerNormMatchesTheReferenceOnRandomRows() {
        var random = SplitMix64(state: 0x1A7E_0002)
        for trial in 0..<10_000 {
            let length = Int.random(in: 1...40, using: &random)
            let spread = Int64(1) << Int64.random(in: 0...20, using: &random)
            let center = Int64.random(in: -(1 << 20)...(1 << 20), using: &random)
            let row = (0..<length).map { _ in center + Int64.random(in: -spread...spread, using: &random) }
            // Sometimes a scale of any magnitude (2^−16 of the smallest ones is subnormal or 0).
            let scale = trial % 10 == 0
                ? Float(sign: .plus, exponent: Int.random(in: -140...100, using: &random), significand: Float.random(in: 1..<2, using: &random))
                : Float.random(in: -4...4, using: &random)
            let got = Numerics.layerNormOutput(row, scale: scale, outputBits: 8)
            let want = NormalizationReference.layerNormOutput(row, scale: scale)
            if got != want { Issue.record("trial \(trial): row \(row), scale \(scale): \(got), reference \(want)"); return }
        }
    }

    /// Full-range rows, whose sums need more than 64 bits, checked against the defining
    /// inequalities in exact Decimal arithmetic.
    @Test func layerNormSatisfiesItsDefinitionOnFullRangeRows() {
        var random = SplitMix64(state: 0x1A7E_0003)
        for trial in 0..<3_000 {
            let length = Int.random(in: 1...64, using: &random)
            let row: [Int64] = (0..<length).map { _ in
                random.next() % 4 == 0 ? (random.next() % 2 == 0 ? Int64(Int32.max) : Int64(Int32.min)) : Int64(Int32(truncatingIfNeeded: random.next()))
            }
            let statistics = LayerNormStatistics(row: row)
            if let problem = NormalizationReference.layerNormProblem(row, statistics: statistics, n: Numerics.layerNorm(row)) {
                Issue.record("trial \(trial): \(problem), row \(row)")
                return
            }
        }
    }

    @Test func softmaxMatchesTheReferenceOnRandomRows() {
        var random = SplitMix64(state: 0x50F7_0004)
        for trial in 0..<6_000 {
            let constants: IExpConstants
            if trial % 3 == 0 {
                constants = IExpConstants(qln2: Int64(Int32(truncatingIfNeeded: random.next())), qln2Inverse: Int64.random(in: 1...Int64(Int32.max), using: &random),
                                          qb: Int64(Int32(truncatingIfNeeded: random.next())), qc: Int64(Int32(truncatingIfNeeded: random.next())))
            } else {
                constants = NormalizationReference.softwareConstants(inputScale: Double.random(in: 0.005...0.5, using: &random))
            }
            let length = Int.random(in: 1...40, using: &random)
            let spread = Int64(1) << Int64.random(in: 0...31, using: &random)
            let row = (0..<length).map { _ in Int64(Int32(clamping: Int64.random(in: -spread...spread, using: &random))) }
            let got = Numerics.softmaxOutput(row, constants: constants, accumulatorBits: 32, outputBits: 8)
            let want = NormalizationReference.softmax(row.map { Int32($0) }, constants)
            if got != want { Issue.record("trial \(trial): row \(row), \(constants): \(String(describing: got)), reference \(String(describing: want))"); return }
        }
    }
}

/// docs/NUMERICS.md's definitions computed by other means than `Numerics`: accType arithmetic in
/// Swift's Int32 wrapping operators, fp32 results from exact Double arithmetic rounded once,
/// LayerNorm in Double where it is exact, or as inequalities in Decimal.
enum NormalizationReference {
    static func igelu(_ q: Int32, qb: Int32, qc: Int32) -> Int32 {
        let limit = -Int64(qb), magnitude = abs(Int64(q))
        let clip = Int32(truncatingIfNeeded: magnitude < limit ? magnitude : limit)
        let base = clip &+ qb
        let polynomial = base &* base &+ qc
        let erf: Int32 = q < 0 ? 0 &- polynomial : polynomial
        return q &* (erf &+ qc)
    }

    static func iexp(_ q: Int64, _ c: IExpConstants) -> Int32 {
        let z = UInt64(-q) * UInt64(c.qln2Inverse) / 65536
        guard z < 32 else { return 0 }
        let qp = Int32(truncatingIfNeeded: q) &+ Int32(z) &* Int32(truncatingIfNeeded: c.qln2)
        let base = qp &+ Int32(truncatingIfNeeded: c.qb)
        return (base &* base &+ Int32(truncatingIfNeeded: c.qc)) >> Int32(z)
    }

    /// `sat8(rne(fp32(x) ⊗ s))`: the product of two binary32 values is exact in Double, so one
    /// rounding to Float is the binary32 multiply.
    static func accScale(_ x: Int64, _ scale: Float) -> Int64 {
        let product = Float(Double(Float(Double(x))) * Double(scale))
        let rounded = Double(product).rounded(.toNearestOrEven)
        return rounded >= 127 ? 127 : rounded <= -128 ? -128 : Int64(rounded)
    }

    /// Softmax's output row, nil for a zero sum. Dividing in Double and rounding to Float is
    /// the correctly rounded binary32 division (Double has more than 2·24 + 2 bits).
    static func softmax(_ row: [Int32], _ c: IExpConstants) -> [Int64]? {
        let maximum = row.max()!
        let exponentials = row.map { iexp(Int64($0) - Int64(maximum), c) }
        let sum = exponentials.reduce(Int64(0)) { $0 + Int64($1) }
        guard sum != 0 else { return nil }
        let factor = Float(127.0 / Double(Float(Double(sum))))
        return exponentials.map { accScale(Int64($0), factor) }
    }

    /// Gemmini's software constants for input scale S (docs/NUMERICS.md, Softmax).
    static func softwareConstants(inputScale s: Double) -> IExpConstants {
        let qln2 = Int64(0.693147 / s)
        return IExpConstants(qln2: qln2, qln2Inverse: 65536 / qln2, qb: Int64(1.353 / s), qc: Int64(0.344 / (0.3585 * s * s)))
    }

    /// docs/NUMERICS.md's reciprocal by other means: e counted in std's binary digits, and
    /// rne(2^(e+23) / std) as floor((2^(e+24) + std) / (2·std)) (there are no ties).
    static func layerNormReciprocal(_ std: Int64) -> (inverse: Int64, shift: Int) {
        let e = String(std, radix: 2).count
        return (Int64(((UInt64(1) << UInt64(e + 24)) + UInt64(std)) / (2 * UInt64(std))), e + 23 - 16)
    }

    /// p / 2^power rounded to the nearest integer, ties to even, through a floor division.
    static func roundedQuotient(_ p: Int64, power: Int) -> Int64 {
        let m = Int64(1) << Int64(power)
        let down = p >= 0 ? p / m : -((-p + m - 1) / m)
        let twiceRest = 2 * (p - down * m)
        return twiceRest > m || (twiceRest == m && down % 2 != 0) ? down + 1 : down
    }

    /// LayerNorm's n for any accType row, statistics by `layerNormStatistics`.
    static func layerNormN(_ row: [Int64]) -> [Int64] {
        let (mean, std) = layerNormStatistics(row)
        let (inverse, shift) = layerNormReciprocal(std)
        return row.map { roundedQuotient(($0 - mean) * inverse, power: shift) }
    }

    /// LayerNorm's output: `accScale(n, scale ⊗ 2^−16)`, the fp32 product exact in Double and
    /// rounded once.
    static func layerNormOutput(_ row: [Int64], scale: Float) -> [Int64] {
        let folded = Float(Double(scale) * 0x1p-16)
        return layerNormN(row).map { accScale($0, folded) }
    }

    /// Checks the statistics and n of a row against their definitions: `mean` truncates Σx / J,
    /// `std = floor(sqrt(S / J))` for S = Σ(x − mean)² (which is isqrt(trunc(S / J))), 1 when
    /// S < J; inv is within std/2 of 2^(e+23)/std for 2^(e−1) ≤ std < 2^e, and each n is the
    /// nearest integer to (x − mean)·inv / 2^(e+7), ties to even. Exact in Decimal (38 digits).
    /// Returns what is wrong, or nil.
    static func layerNormProblem(_ row: [Int64], statistics: LayerNormStatistics, n: [Int64]) -> String? {
        let count = Decimal(row.count), mean = statistics.mean, std = statistics.standardDeviation
        let sum = Decimal(row.reduce(0, +)), rest = sum - count * Decimal(mean)
        guard abs(rest) < count && (rest == 0 || (rest > 0) == (sum > 0)) else { return "mean \(mean) is not trunc(\(sum) / \(count))" }
        let squares = row.reduce(Decimal(0)) { $0 + Decimal($1 - mean) * Decimal($1 - mean) }
        if squares < count {
            guard std == 1 else { return "std \(std) for a zero variance" }
        } else {
            let low = Decimal(std) * Decimal(std) * count, high = Decimal(std + 1) * Decimal(std + 1) * count
            guard low <= squares && squares < high else { return "std \(std) is not floor(sqrt(\(squares) / \(count)))" }
        }
        var e = 1
        while Decimal(sign: .plus, exponent: 0, significand: 1) * pow(2, e) <= Decimal(std) { e += 1 }
        let (inverse, shift) = Numerics.layerNormReciprocal(standardDeviation: std)
        guard shift == e + 7, abs(2 * Decimal(inverse) * Decimal(std) - 2 * pow(2, e + 23)) < Decimal(std) else {
            return "inv \(inverse), shift \(shift) are not rne(2^(\(e) + 23) / \(std)), \(e + 7)"
        }
        let unit = pow(Decimal(2), shift)
        for (x, value) in zip(row, n) {
            let twiceError = 2 * Decimal(x - mean) * Decimal(inverse) - 2 * Decimal(value) * unit
            guard abs(twiceError) < unit || (abs(twiceError) == unit && value % 2 == 0) else {
                return "n \(value) is not rne((\(x) − \(mean))·\(inverse) / 2^\(shift))"
            }
        }
        return nil
    }
}

// MARK: - The statistics passes on the golden model

@Suite("Golden model: normalization passes")
struct NormalizationPassTests {
    typealias G = Gemmini

    /// `small` (DIM 4) with the normalization units.
    static var config: AcceleratorConfig {
        var config = AcceleratorConfig.small
        config.hasNormalizations = true
        return config
    }

    static func pass(_ row: Int, _ command: NormalizationCommand, fullWidth: Bool = false) -> UInt32 {
        G.acc(row, fullWidth: fullWidth) | UInt32(command.rawValue) << 26
    }

    static let softmaxConstants = [G.configNorm(qConst: 4, qConstType: 0, actMSB: true, igeluQb: 3, igeluQc: 2),
                                   G.configNorm(qConst: 16384, qConstType: 1, actMSB: true, igeluQb: 3, igeluQc: 2)]

    /// Rows of 6 elements: columns 0–3 in accumulator rows 0…, columns 4–5 in rows 8…, as a
    /// tiled C keeps them (block j of row i at i·… + j·8).
    static func loadRows(_ rows: [[Int64]], into machine: inout Machine) throws {
        try machine.loadAccumulator(rows.map { Array($0[0..<4]) }, row: 0)
        try machine.loadAccumulator(rows.map { Array($0[4..<6]) + [0, 0] }, row: 8)
    }

    /// The three LayerNorm passes of a 6-element row (two mvouts each), `rows` rows at once,
    /// the output at 0x1000 with a 6-byte stride.
    static func layerNormPasses(rows: Int) -> [Encoded] {
        [G.mvout(0, pass(0, .sum), cols: 4, rows: rows), G.mvout(0, pass(8, .mean), cols: 2, rows: rows),
         G.mvout(0, pass(0, .variance), cols: 4, rows: rows), G.mvout(0, pass(8, .inverseStandardDeviation), cols: 2, rows: rows),
         G.mvout(0x1000, G.acc(0), cols: 4, rows: rows), G.mvout(0x1004, G.acc(8), cols: 2, rows: rows)]
    }

    @Test func layerNormOfTwoRowsOverTwoMvoutsEach() throws {
        var machine = try Machine(Self.config)
        // Row 0: mean 100, var trunc(20 / 6) = 3, std 1, y = [−3, −1, 1, 3, 0, 0]; times 0.5 (ties to even).
        // Row 1: sum −3, mean trunc(−0.5) = 0, var trunc(5 / 6) = 0, std 1, y = [−1, −2, 0, 0, 0, 0].
        try Self.loadRows([[97, 99, 101, 103, 100, 100], [-1, -2, 0, 0, 0, 0]], into: &machine)
        try machine.run(G.configSt(stride: 6, activation: 2, accScale: 0.5))
        try machine.run(Self.layerNormPasses(rows: 2))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 2, cols: 6, rowStride: 6, elementBytes: 1) == [[-2, 0, 0, 2, 0, 0], [0, -1, 0, 0, 0, 0]])
        // The statistics stay: the output pass may be repeated.
        try machine.run(G.mvout(0x2000, G.acc(0), cols: 4, rows: 2))
        #expect(machine.get(at: 0x2000, rows: 2, cols: 4, rowStride: 6, elementBytes: 1) == [[-2, 0, 0, 2], [0, -1, 0, 0]])
    }

    @Test func passesWriteNothingToDRAM() throws {
        var machine = try Machine(Self.config)
        try Self.loadRows([[1, 2, 3, 4, 5, 6]], into: &machine)
        try machine.run(G.configSt(stride: 6, activation: 2))
        try machine.run(G.mvout(0x3000, Self.pass(0, .sum), cols: 4, rows: 1), G.mvout(0x3004, Self.pass(8, .mean), cols: 2, rows: 1),
                        G.mvout(0x3000, Self.pass(0, .maximum), cols: 4, rows: 1))
        #expect(machine.model.error == nil)
        #expect(machine.memory.byte(at: 0x3000) == 0 && machine.memory.byte(at: 0x3005) == 0)
    }

    @Test func softmaxWithTheMaximumInTheSecondMvout() throws {
        var machine = try Machine(Self.config)
        // e = [6, 3, 0, 0 | 11, 6]: sum 26, factor fp32(127 / 26) = 4.8846154
        try Self.loadRows([[-1, -5, -200, -128, 0, -1]], into: &machine)
        try machine.run(Self.softmaxConstants + [G.configSt(stride: 6, activation: 0),
            G.mvout(0, Self.pass(0, .maximum), cols: 4, rows: 1), G.mvout(0, Self.pass(8, .maximum), cols: 2, rows: 1),
            G.mvout(0, Self.pass(0, .sumOfExponentials), cols: 4, rows: 1), G.mvout(0, Self.pass(8, .inverseSumOfExponentials), cols: 2, rows: 1),
            G.mvout(0x1000, G.acc(0), cols: 4, rows: 1), G.mvout(0x1004, G.acc(8), cols: 2, rows: 1)])
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 1, cols: 6, rowStride: 6, elementBytes: 1) == [[29, 15, 0, 0, 54, 29]])
    }

    @Test func igeluOnMvout() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[0, 1, -1, 3]], row: 4)
        try machine.run(G.configNorm(igeluQb: -4, igeluQc: -10), G.configSt(stride: 4, activation: 3, accScale: 0.5),
                        G.mvout(0x1000, G.acc(4), cols: 4, rows: 1))
        // y = [0, −11, 9, −57], times 0.5: −5.5 → −6, 4.5 → 4, −28.5 → −28
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 4, elementBytes: 1) == [[0, -6, 4, -28]])
        #expect(machine.model.error == nil)
    }

    /// Gemmini's order: per pass, per slot, one row per mvout (CONFIG_NORM before each row).
    @Test func twoSlotsInterleavedOneRowPerMvout() throws {
        var machine = try Machine(Self.config)
        let rows: [[Int64]] = [[97, 99, 101, 103, 100, 100], [-1, -2, 0, 0, 0, 0]]
        try Self.loadRows(rows, into: &machine)
        try machine.run(G.configSt(stride: 6, activation: 2, accScale: 0.5))
        for (first, last) in [(NormalizationCommand.sum, NormalizationCommand.mean), (.variance, .inverseStandardDeviation), (.output, .output)] {
            for slot in 0..<2 {
                try machine.run(G.configNorm(setStatsIDOnly: true, statID: slot),
                                G.mvout(0x1000 + UInt64(6 * slot), Self.pass(slot, first), cols: 4, rows: 1),
                                G.mvout(0x1004 + UInt64(6 * slot), Self.pass(8 + slot, last), cols: 2, rows: 1))
            }
        }
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 2, cols: 6, rowStride: 6, elementBytes: 1) == [[-2, 0, 0, 2, 0, 0], [0, -1, 0, 0, 0, 0]])
    }

    @Test func configNormSetsWhatItSays() throws {
        var machine = try Machine(Self.config)
        try machine.run(G.configNorm(qConst: 7, qConstType: 0, actMSB: true, statID: 1, igeluQb: -3, igeluQc: 9),
                        G.configNorm(qConst: 11, qConstType: 1, actMSB: true, statID: 1, igeluQb: -3, igeluQc: 9),
                        G.configNorm(qConst: 99, qConstType: 1, setStatsIDOnly: true, statID: 0, igeluQb: 1, igeluQc: 1))
        let settings = machine.model.state.normalization
        #expect(settings.statisticsSlot == 0 && settings.activationMSB)
        #expect(settings.qln2 == 7 && settings.qln2Inverse == 11 && settings.igeluQb == -3 && settings.igeluQc == 9)
        #expect(machine.model.error == nil)
    }

    /// Activations 2 and 3 in CONFIG_EX (Gemmini's software writes `act & 3`) do nothing to mesh
    /// results written to the scratchpad.
    @Test func meshActivationsBeyondReLUAreNone() throws {
        var results: [[[Int64]]] = []
        for activation in [0, 2, 3] {
            var machine = try Machine(Self.config)
            try machine.loadScratchpad([[1, -2, 3, -4], [5, 6, -7, 8], [0, 0, 0, 0], [0, 0, 0, 0]], row: 0)
            try machine.loadScratchpad([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], row: 8)
            try machine.run(G.configEx(dataflow: G.weightStationary, activation: activation),
                            G.preload(8, 16, bdCols: 4, bdRows: 4, cCols: 4, cRows: 2),
                            G.computePreloaded(0, 0xFFFF_FFFF, aCols: 4, aRows: 2, bdCols: 4, bdRows: 4))
            #expect(machine.model.error == nil)
            results.append(machine.scratchpad(16, rows: 2))
        }
        #expect(results[0] == [[1, -2, 3, -4], [5, 6, -7, 8]])
        #expect(results[1] == results[0] && results[2] == results[0])
    }

    // MARK: Illegal sequences

    struct Failure: Sendable, CustomStringConvertible {
        var name: String
        var setup: [Encoded]
        var failing: Encoded
        var code: AcceleratorError.Code
        var words: String
        var description: String { name }
    }

    static let layerNormReady = [G.configSt(stride: 6, activation: 2),
                                 G.mvout(0, pass(0, .mean), cols: 4, rows: 1), G.mvout(0, pass(0, .inverseStandardDeviation), cols: 4, rows: 1)]
    static let maximumReady = softmaxConstants + [G.configSt(stride: 6, activation: 0), G.mvout(0, pass(0, .maximum), cols: 4, rows: 1)]

    static let failures: [Failure] = [
        Failure(name: "CONFIG_NORM slot beyond normalizationSlots", setup: [], failing: G.configNorm(statID: 2),
                code: .unsupportedField, words: "statistics slot 2"),
        Failure(name: "VARIANCE without a mean", setup: [], failing: G.mvout(0, pass(0, .variance), cols: 4, rows: 1),
                code: .illegalOperand, words: "finish a SUM pass with MEAN"),
        Failure(name: "INV_STDDEV after a running SUM", setup: [G.mvout(0, pass(0, .sum), cols: 4, rows: 1)],
                failing: G.mvout(0, pass(0, .inverseStandardDeviation), cols: 4, rows: 1), code: .illegalOperand, words: "not a mean"),
        Failure(name: "MEAN over no element", setup: [], failing: G.mvout(0, pass(0, .mean), cols: 0, rows: 1),
                code: .illegalOperand, words: "at least one row and one column"),
        Failure(name: "SUM over no row", setup: [], failing: G.mvout(0, pass(0, .sum), cols: 4, rows: 0),
                code: .illegalOperand, words: "at least one row and one column"),
        Failure(name: "SUM_EXP without a maximum", setup: softmaxConstants, failing: G.mvout(0, pass(0, .sumOfExponentials), cols: 4, rows: 1),
                code: .illegalOperand, words: "run the MAX pass first"),
        Failure(name: "statistics pass with the full-width bit", setup: [],
                failing: G.mvout(0, pass(0, .sum, fullWidth: true), cols: 4, rows: 1), code: .illegalOperand, words: "clear bit 29"),
        Failure(name: "LayerNorm output without statistics", setup: [G.configSt(stride: 6, activation: 2)],
                failing: G.mvout(0x1000, G.acc(0), cols: 4, rows: 1), code: .illegalOperand, words: "holds no statistics"),
        Failure(name: "LayerNorm output with a row of the slot unfinished", setup: layerNormReady,
                failing: G.mvout(0x1000, G.acc(0), cols: 4, rows: 2), code: .illegalOperand, words: "row 1"),
        Failure(name: "Softmax output over LayerNorm statistics", setup: layerNormReady + softmaxConstants + [G.configSt(stride: 6, activation: 0)],
                failing: G.mvout(0x1000, G.acc(0), cols: 4, rows: 1), code: .illegalOperand, words: "holds LayerNorm statistics"),
        Failure(name: "Softmax output over an unfinished pass", setup: maximumReady,
                failing: G.mvout(0x1000, G.acc(0), cols: 4, rows: 1), code: .illegalOperand, words: "holds a maximum"),
        Failure(name: "store activation 5", setup: [G.configNorm(actMSB: true), G.configSt(stride: 4, activation: 1)],
                failing: G.mvout(0x1000, G.acc(0), cols: 4, rows: 1), code: .unsupportedField, words: "store activation is 5"),
    ]

    /// Row 0 of the accumulator holds [1, 2, 3, 4], row 1 [2, 3, 4, 5], row 2 [0, 0, 0, 0].
    @Test(arguments: failures)
    func illegalSequenceFailsAndChangesNothing(failure: Failure) throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[1, 2, 3, 4], [2, 3, 4, 5], [0, 0, 0, 0]], row: 0)
        try machine.run(failure.setup)
        try #require(machine.model.error == nil, "setup: \(String(describing: machine.model.error))")
        let before = machine.model.state, bytes = machine.memory.byte(at: 0x1000)
        try machine.run(failure.failing)
        let error = try #require(machine.model.error)
        #expect(error.code == failure.code, "\(error)")
        #expect(error.reason.contains(failure.words), "\(error)")
        #expect(machine.model.state == before)
        #expect(machine.memory.byte(at: 0x1000) == bytes)
    }

    // MARK: Edges that are results, not errors (the hardware checks passes from their fields alone)

    /// q > 0 (an element above the maximum) and qln2_inv < 0 clamp z at 0. qln2 = 10,
    /// qln2_inv = ±6553, qb = 3, qc = 1: q = 5 gives z = ⌊−32765 / 65536⌋ = −1 → 0, e = (5 + 3)² + 1
    /// = 65; q = −5 with qln2_inv = −6553 gives z = −1 → 0, e = (−5 + 3)² + 1 = 5.
    @Test func iexpClampsNegativeExponentsAtZero() {
        let positive = IExpConstants(qln2: 10, qln2Inverse: 6553, qb: 3, qc: 1)
        #expect(Numerics.iexp(5, constants: positive, accumulatorBits: 32) == 65)
        let negative = IExpConstants(qln2: 10, qln2Inverse: -6553, qb: 3, qc: 1)
        #expect(Numerics.iexp(-5, constants: negative, accumulatorBits: 32) == 5)
    }

    /// Exponentials summing to 0 give the factor 0, and the row's outputs are 0: qb = qc = 0 and
    /// the row [0, 0, 0, 0] (z = 0, e = 0² + 0 = 0 everywhere).
    @Test func zeroSumOfExponentialsGivesZeroOutputs() throws {
        #expect(Numerics.softmaxFactor(sumOfExponentials: 0) == 0)
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[0, 0, 0, 0]], row: 0)
        try machine.run([G.configNorm(qConst: 16384, qConstType: 1), G.mvout(0, Self.pass(0, .maximum), cols: 4, rows: 1),
                         G.mvout(0, Self.pass(0, .inverseSumOfExponentials), cols: 4, rows: 1),
                         G.configNorm(actMSB: true), G.configSt(stride: 4, activation: 0),
                         G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)])
        #expect(machine.model.error == nil)
        #expect((0..<4).map { machine.memory.byte(at: 0x1000 + UInt64($0)) } == [0, 0, 0, 0])
    }

    /// The variance divides by its own pass's count: a mean over 6 elements ([1, 2, 3, 4] and
    /// [0, 0] of accumulator row 8: sum 10, mean trunc(10 / 6) = 1), then a variance over row 0's 4 elements:
    /// (0² + 1² + 2² + 3²) / 4 = 14 / 4 → 3, std = isqrt(3) = 1.
    @Test func varianceUsesItsOwnCount() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[1, 2, 3, 4], [2, 3, 4, 5], [0, 0, 0, 0]], row: 0)
        try machine.run([G.mvout(0, Self.pass(0, .sum), cols: 4, rows: 1), G.mvout(0, Self.pass(8, .mean), cols: 2, rows: 1),
                         G.mvout(0, Self.pass(0, .inverseStandardDeviation), cols: 4, rows: 1)])
        #expect(machine.model.error == nil)
        let row = machine.model.state.statistics[0][0]
        #expect(row.mean == 1)
        #expect(row.standardDeviation == 1)
    }

    /// A VARIANCE pass over other data than its mean's can pass 2^63: mean −2^31 (of Int32.min),
    /// then Int32.max: var = (2^32 − 1)², std = 2^32 − 1 (the RTL's 64-bit unsigned variance).
    @Test func varianceBeyondInt64() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[Int64(Int32.min), 0, 0, 0], [Int64(Int32.max), 0, 0, 0]], row: 0)
        try machine.run([G.mvout(0, Self.pass(0, .mean), cols: 1, rows: 1), G.mvout(0, Self.pass(1, .inverseStandardDeviation), cols: 1, rows: 1)])
        #expect(machine.model.error == nil)
        #expect(machine.model.state.statistics[0][0].standardDeviation == Int64(UInt32.max))
    }

    // MARK: Random programs against the reference

    /// Random rows of random length in chunks of random width, several rows per mvout, in one of
    /// the two slots, through the three passes of LayerNorm or Softmax; every output element
    /// against `NormalizationReference`.
    @Test func randomRowsThroughThePasses() throws {
        var random = SplitMix64(state: 0x9A55_0005)
        for trial in 0..<150 {
            var machine = try Machine(Self.config)
            let rowCount = Int.random(in: 1...4, using: &random), length = Int.random(in: 1...12, using: &random)
            let softmax = trial % 2 == 1, slot = Int.random(in: 0...1, using: &random)
            let rows: [[Int64]] = (0..<rowCount).map { _ in
                (0..<length).map { _ in softmax ? Int64.random(in: -300...50, using: &random) : Int64(Int32(truncatingIfNeeded: random.next()) >> Int32.random(in: 0...31, using: &random)) }
            }
            // Chunks of 1 to DIM columns; chunk c of every row in accumulator rows 4c….
            var chunks: [Range<Int>] = [], start = 0
            while start < length {
                let width = min(Int.random(in: 1...4, using: &random), length - start)
                chunks.append(start..<start + width)
                start += width
            }
            for (c, chunk) in chunks.enumerated() {
                try machine.loadAccumulator(rows.map { Array($0[chunk]) + Array(repeating: 0, count: 4 - chunk.count) }, row: 4 * c)
            }
            let scale = Float.random(in: 0.1...3, using: &random)
            let constants = softmax ? IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: 2) : IExpConstants(qln2: 0, qln2Inverse: 0, qb: 0, qc: 0)
            var program = softmax ? Self.softmaxConstants : []
            program.append(G.configNorm(qConst: softmax ? 16384 : 0, qConstType: 1, setStatsIDOnly: true, statID: slot))
            program.append(G.configSt(stride: UInt64(length), activation: softmax ? 0 : 2, accScale: scale))
            let passes: [(NormalizationCommand, NormalizationCommand)] = softmax
                ? [(.maximum, .maximum), (.sumOfExponentials, .inverseSumOfExponentials), (.output, .output)]
                : [(.sum, .mean), (.variance, .inverseStandardDeviation), (.output, .output)]
            for (running, finishing) in passes {
                for (c, chunk) in chunks.enumerated() {
                    let command = c == chunks.count - 1 ? finishing : running
                    program.append(G.mvout(0x10_0000 + UInt64(chunk.lowerBound), Self.pass(4 * c, command), cols: chunk.count, rows: rowCount))
                }
            }
            try machine.run(program)
            #expect(machine.model.error == nil, "trial \(trial): \(String(describing: machine.model.error))")
            let got = machine.get(at: 0x10_0000, rows: rowCount, cols: length, rowStride: length, elementBytes: 1)
            let want = rows.map { row in
                softmax ? NormalizationReference.softmax(row.map { Int32($0) }, constants)!
                        : NormalizationReference.layerNormOutput(row, scale: scale)
            }
            if got != want { Issue.record("trial \(trial) (\(softmax ? "Softmax" : "LayerNorm"), chunks \(chunks)): rows \(rows): \(got), reference \(want)"); return }
        }
    }
}

extension NormalizationReference {
    /// LayerNorm's mean and std for any int32 row, by search: mean by trunc in Int64, std by
    /// bisection on the exact inequality std² · J ≤ S < (std + 1)² · J in Decimal.
    static func layerNormStatistics(_ row: [Int64]) -> (mean: Int64, std: Int64) {
        let count = Int64(row.count), sum = row.reduce(0, +)
        let mean = sum / count  // Swift's division truncates toward zero, as the definition
        let squares = row.reduce(Decimal(0)) { $0 + Decimal($1 - mean) * Decimal($1 - mean) }
        var std: Int64 = 1
        if squares >= Decimal(count) {
            var low: Int64 = 1, high: Int64 = 1 << 33
            while high - low > 1 {
                let middle = (low + high) / 2
                if Decimal(middle) * Decimal(middle) * Decimal(count) <= squares { low = middle } else { high = middle }
            }
            std = low
        }
        return (mean, std)
    }

    /// Gemmini's C reference's LayerNorm, rne((x − mean) / std) in whole standard deviations.
    static func layerNormWholeDeviations(_ row: [Int64]) -> [Int64] {
        let (mean, std) = layerNormStatistics(row)
        return row.map { x in
            let deviation = x - mean
            let down = deviation >= 0 ? deviation / std : -((-deviation + std - 1) / std)  // floor
            let twiceRest = 2 * (deviation - down * std)
            return twiceRest > std || (twiceRest == std && down % 2 != 0) ? down + 1 : down
        }
    }
}

@Suite("Golden model: LayerNorm at identity scale")
struct LayerNormIdentityScaleTests {
    /// docs/NUMERICS.md: at acc_scale 1 the revised LayerNorm equals Gemmini's rne((x − mean)/std)
    /// whenever std < 2^15 — checked on random rows whose std stays below, with exact ties.
    @Test func identityScaleKeepsGemminisValues() {
        var random = SplitMix64(state: 0x1A7E_0009)
        var ties = 0
        for trial in 0..<10_000 {
            let length = Int.random(in: 1...40, using: &random)
            let spread = Int64(1) << Int64.random(in: 0...14, using: &random)
            let center = Int64(Int32(truncatingIfNeeded: random.next()) >> 1)
            var row = (0..<length).map { _ in center + Int64.random(in: -spread...spread, using: &random) }
            let (mean, std) = NormalizationReference.layerNormStatistics(row)
            if std % 2 == 0 && trial % 2 == 0 { row[0] = mean + std / 2 * (2 * Int64.random(in: 0...3, using: &random) + 1) }
            let (newMean, newStd) = NormalizationReference.layerNormStatistics(row)
            guard newStd < 1 << 15 else { continue }
            let y = NormalizationReference.layerNormWholeDeviations(row)
            ties += row.filter { (2 * ($0 - newMean)).magnitude % UInt64(2 * newStd) == UInt64(newStd) }.count
            let want = y.map { Numerics.saturate($0, bits: 8) }
            let got = Numerics.layerNormOutput(row, scale: 1, outputBits: 8)
            if got != want { Issue.record("trial \(trial): row \(row): \(got), rne((x − mean)/std) \(want)"); return }
        }
        #expect(ties > 1_000, "\(ties) ties")
    }
}
