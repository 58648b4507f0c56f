import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// The numeric units under Verilator, against two independent references: Swift's own `Float`
// (IEEE binary32, round to nearest even) for the conversion and the multiply, and the golden
// `Numerics` for rounding to integers and for whole scaling. Each test also counts the cases
// that matter (ties, subnormals, saturation, …) and fails if the stimulus stopped reaching them.

/// How many random vectors each unit sees, besides its corner cases.
private let randomVectors = 12_000

@Suite("Floating-point units under Verilator against IEEE binary32 and the golden numerics")
struct FloatUnitTests {
    // MARK: IntToFloat

    /// Whether converting `value` to binary32 needs rounding, and whether it is a tie (the
    /// dropped bits are exactly one half of the last kept bit).
    static func conversionRounding(_ value: Int64) -> (inexact: Bool, tie: Bool) {
        let magnitude = value.magnitude
        let droppedBits = 64 - magnitude.leadingZeroBitCount - 24
        guard magnitude != 0, droppedBits > 0 else { return (false, false) }
        let dropped = magnitude & ((1 << UInt64(droppedBits)) - 1)
        return (dropped != 0, dropped == 1 << UInt64(droppedBits - 1))
    }

    @Test(arguments: [8, 20, 24, 25, 26, 32, 64])
    func intToFloatMatchesSwiftConversion(width: Int) throws {
        let sim = try VerilatorSimulation(try Elaborator.elaborate(IntToFloat(width: width)))
        let seed = SeededGenerator.testSeed(0x1F70_0000 + UInt64(width))
        var random = SeededGenerator(seed: seed)
        let low = width == 64 ? Int64.min : -(Int64(1) << (width - 1))
        let high = width == 64 ? Int64.max : (Int64(1) << (width - 1)) - 1

        // 2^24 is where conversion stops being exact: 2^24 + 1 and 2^24 + 3 are ties (to the
        // even neighbours 2^24 and 2^24 + 4), 2^25 + 3 rounds up, 2^25 + 2 and + 6 are ties.
        var vectors: [Int64] = [0, 1, -1, 2, -2, 3, low, high, low + 1, high - 1]
        for base: Int64 in [1 << 24, 1 << 25, 1 << 31, 1 << 53, 1 << 62] {
            for offset: Int64 in [-3, -1, 0, 1, 2, 3, 5, 6, 7] { vectors += [base + offset, -(base + offset)] }
        }
        // Exact ties at every rounding position, with odd and even kept significands.
        if width >= 26 {
            for _ in 0..<400 {
                let significand = Int64(random.bits(24) | 1 << 23)
                let dropped = Int(random.next() % UInt64(width - 25)) + 1
                let tie = significand << Int64(dropped) | 1 << Int64(dropped - 1)
                vectors.append(random.chance(0.5) ? -tie : tie)
            }
        }
        vectors = vectors.filter { (low...high).contains($0) }
        vectors += (0..<randomVectors).map { _ in random.interestingInteger(width: width) }

        var inexact = 0, ties = 0
        try streamVectors(sim, vectors, apply: { sim.poke("value", signed: $0, width: width) }) { value in
            let expected = Float(value).bitPattern
            let actual = UInt32(sim.peek("result"))
            try #require(actual == expected,
                         "IntToFloat_\(width)(\(value)): expected \(describeFloat(expected)), got \(describeFloat(actual)); seed \(seed)")
            let rounding = Self.conversionRounding(value)
            if rounding.inexact { inexact += 1 }
            if rounding.tie { ties += 1 }
        }
        if width >= 26 {
            #expect(inexact > 1_000 && ties >= 400, "only \(inexact) rounded and \(ties) tied conversions; seed \(seed)")
        }
    }

    // MARK: FloatMultiply

    /// binary32 bits of a number with a short odd significand of `length` bits (1 ... 24) at
    /// biased exponent `exponent`: products of two of them are exact in few bits, so their
    /// rounding lands on exact ties often.
    static func shortSignificand(length: Int, exponent: UInt32, using random: inout SeededGenerator) -> UInt32 {
        let significand = UInt32(random.bits(length)) | 1 | 1 << UInt32(length - 1)
        let fraction = (significand << UInt32(24 - length)) & 0x7F_FFFF
        return UInt32(random.next() & 1) << 31 | exponent << 23 | fraction
    }

    /// A pair of normal operands whose exponent fields sum to about `exponentSum`, which puts the
    /// product next to the subnormal range (≈ 127) or next to overflow (≈ 381).
    static func pair(nearExponentSum exponentSum: Int, using random: inout SeededGenerator) -> (UInt32, UInt32) {
        let target = exponentSum + Int(random.next() % 9) - 4
        let first = max(1, min(254, target - 1 - Int(random.next() % 254)))
        let second = max(0, min(254, target - first))
        let a = random.interestingFloatBits() & 0x807F_FFFF | UInt32(first) << 23
        let b = random.interestingFloatBits() & 0x807F_FFFF | UInt32(second) << 23
        return random.chance(0.5) ? (a, b) : (b, a)
    }

    /// Two normal operands whose product lands in the subnormal range, aligned `shift` bits to
    /// the right, and sits exactly half-way between two results (`exact`), or just above
    /// half-way with the only ones past the guard bit among the `shift` bits the alignment
    /// drops. Random operands almost never do either.
    ///
    /// The significand product P must be ≡ 2^(shift+23) + e (mod 2^(shift+24)), 0 ≤ e < 2^shift.
    /// For e = 0, P has exactly shift + 23 trailing zeros, split between the operands. For
    /// e > 0: a odd, b = (2^(shift+23) + e) · a⁻¹, retried until b is a 24-bit significand
    /// (probability 2^−(shift+1) per try).
    static func subnormalHalfway(shift: Int, exact: Bool, using random: inout SeededGenerator) -> (UInt32, UInt32) {
        precondition((1...23).contains(shift))
        var significands: (UInt64, UInt64)?
        if exact {
            let aZeros = shift + Int(random.next() % UInt64(24 - shift))
            let bZeros = shift + 23 - aZeros
            func odd(trailingZeros: Int) -> UInt64 { (random.bits(23 - trailingZeros) | 1 | 1 << UInt64(23 - trailingZeros)) << UInt64(trailingZeros) }
            significands = (odd(trailingZeros: aZeros), odd(trailingZeros: bZeros))
        } else {
            let modulus: UInt64 = 1 << UInt64(shift + 24)
            let beyondHalf: UInt64 = 1 + random.next() % ((1 << UInt64(shift)) - 1)
            let residue: UInt64 = 1 << UInt64(shift + 23) + beyondHalf
            for _ in 0..<100_000 {
                let a = random.bits(24) | 1 << 23 | 1
                var inverse = a
                for _ in 0..<6 { inverse = inverse &* (2 &- a &* inverse) }
                let b = (residue &* inverse) & (modulus - 1)
                if (1 << 23)..<(1 << 24) ~= b {
                    significands = (a, b)
                    break
                }
            }
        }
        guard let (a, b) = significands else { preconditionFailure("no operands for a half-way product at shift \(shift)") }
        // Exponent fields summing to 127 − shift make the alignment shift right by `shift`.
        let first = UInt64(1 + Int(random.next() % UInt64(125 - shift)))
        let second = UInt64(127 - shift) - first
        let signs = random.next()
        let aBits = signs & 1 << 31 | first << 23 | a & 0x7F_FFFF
        let bBits = (signs >> 1) & 1 << 31 | second << 23 | b & 0x7F_FFFF
        return (UInt32(aBits), UInt32(bBits))
    }

    @Test func floatMultiplyMatchesSwiftMultiplication() throws {
        let sim = try VerilatorSimulation(try Elaborator.elaborate(FloatMultiply()))
        let seed = SeededGenerator.testSeed(0xF1_0A70)
        var random = SeededGenerator(seed: seed)

        var vectors: [(UInt32, UInt32)] = []
        for a in FloatCorners.all { for b in FloatCorners.all { vectors.append((a, b)) } }
        vectors += [(FloatCorners.quietNaN, FloatCorners.one), (0x7F80_0001, 0), (0xFFC0_1234, FloatCorners.infinity)]
        // The smallest subnormal halved is a tie to zero; times 1.5 a tie to 2 · 2^−149.
        vectors += [(FloatCorners.smallestSubnormal, 0x3F00_0000), (FloatCorners.smallestSubnormal, 0x3FC0_0000),
                    (FloatCorners.smallestNormal, 0x3F00_0000), (FloatCorners.largestFinite, 0x4000_0000)]
        for _ in 0..<2_000 {
            // Short odd significands: their exact product has one bit past the 24 kept ones (a
            // tie) when the lengths add up to 25 or 26; in the subnormal range fewer bits are
            // kept, and random lengths find its ties.
            let subnormal = random.chance(0.4)
            let firstLength = Int(random.next() % 22) + 2
            let secondLength = subnormal ? Int(random.next() % 24) + 1 : min(24, 25 - firstLength + Int(random.next() % 2))
            let lengths = (firstLength, secondLength)
            let exponentSum = subnormal ? 127 - Int(random.next() % 30) : 130 + Int(random.next() % 240)
            let first = UInt32(max(1, min(254, exponentSum / 2 + Int(random.next() % 21) - 10)))
            let second = UInt32(max(1, min(254, exponentSum - Int(first))))
            vectors.append((Self.shortSignificand(length: lengths.0, exponent: first, using: &random),
                            Self.shortSignificand(length: lengths.1, exponent: second, using: &random)))
        }
        // (2^23 + 1)(2^24 − 1) = 2^47 + 2^23 − 1: past the guard bit only bits that the
        // subnormal shift drops, so the half-way look is broken by the sticky bit alone.
        vectors.append((0x0080_0001, 0x337F_FFFF))
        for _ in 0..<2_000 {
            vectors.append(Self.subnormalHalfway(shift: Int(random.next() % 8) + 1, exact: random.chance(0.3), using: &random))
        }
        for _ in 0..<2_000 { vectors.append(Self.pair(nearExponentSum: 127, using: &random)) }
        for _ in 0..<1_000 { vectors.append(Self.pair(nearExponentSum: 381, using: &random)) }
        for _ in 0..<(randomVectors - 7_000) / 2 { vectors.append((random.interestingFloatBits(), random.interestingFloatBits())) }
        for _ in 0..<(randomVectors - 7_000) / 2 { vectors.append((random.uniformFloatBits(), random.uniformFloatBits())) }

        var ties = 0, subnormalResults = 0, underflowsToZero = 0, overflows = 0, subnormalOperands = 0
        try streamVectors(sim, vectors, apply: { sim.poke("a", UInt64($0.0)); sim.poke("b", UInt64($0.1)) }) { pair in
            let (a, b) = (Float(bitPattern: pair.0), Float(bitPattern: pair.1))
            let expectedValue = a * b
            // NaN results are the canonical quiet NaN (documented; payloads are not kept).
            let expected = expectedValue.isNaN ? FloatCorners.quietNaN : expectedValue.bitPattern
            let actual = UInt32(sim.peek("product"))
            try #require(actual == expected,
                         "FloatMultiply(\(describeFloat(pair.0)), \(describeFloat(pair.1))): expected \(describeFloat(expected)), got \(describeFloat(actual)); seed \(seed)")

            guard a.isFinite, b.isFinite, a != 0, b != 0 else { return }
            if a.isSubnormal || b.isSubnormal { subnormalOperands += 1 }
            if expectedValue.isSubnormal { subnormalResults += 1 }
            if expectedValue == 0 { underflowsToZero += 1 }
            if expectedValue.isInfinite { overflows += 1 }
            // The exact product fits a Double (48 significant bits, exponent ≥ −298).
            let exact = Double(a) * Double(b)
            if expectedValue.isFinite, exact != Double(expectedValue) {
                let neighbour = exact > Double(expectedValue) ? expectedValue.nextUp : expectedValue.nextDown
                if neighbour.isFinite, (Double(expectedValue) + Double(neighbour)) / 2 == exact { ties += 1 }
            }
        }
        #expect(ties > 500 && subnormalResults > 500 && underflowsToZero > 200 && overflows > 200 && subnormalOperands > 500,
                "coverage: \(ties) ties, \(subnormalResults) subnormal results, \(underflowsToZero) underflows to zero, \(overflows) overflows, \(subnormalOperands) subnormal operands; seed \(seed)")
    }

    // MARK: FloatToInt

    /// 64 bits: an accumulator of SInt64 behind the scaled accumulator mvin.
    @Test(arguments: [2, 8, 16, 32, 64])
    func floatToIntMatchesRoundAndSaturate(width: Int) throws {
        let sim = try VerilatorSimulation(try Elaborator.elaborate(FloatToInt(width: width)))
        let seed = SeededGenerator.testSeed(0xF2_1000 + UInt64(width))
        var random = SeededGenerator(seed: seed)
        let limit = Float(sign: .plus, exponent: width - 1, significand: 1)   // 2^(width − 1)
        let (high, low) = width == 64 ? (Int64.max, Int64.min) : (Int64(limit) - 1, -Int64(limit))

        var vectors: [Float] = FloatCorners.all.map { Float(bitPattern: $0) }
        vectors += [0.5, 1.5, 2.5, 3.5, 0.49999997, 0.50000006, 1.4999999, -0.5, -1.5, -2.5, -3.5]
        // The saturation boundaries from both sides, and the ties next to them.
        for boundary in [limit, -limit, limit - 1, -limit + 1] {
            vectors += [boundary, boundary.nextUp, boundary.nextDown, boundary + 0.5, boundary - 0.5,
                        boundary + 0.25, boundary - 0.75]
        }
        // Ties k + 0.5 with k of both parities, across the range and past it.
        let tieRange: Int64 = width > 22 ? 1 << 22 : Int64(limit) + 4
        for _ in 0..<1_000 {
            let k = Int64.random(in: -tieRange...tieRange, using: &random)
            vectors.append(Float(k) + (k < 0 ? -0.5 : 0.5))
        }
        for _ in 0..<randomVectors {
            switch random.next() % 3 {
            case 0:
                // Around the integer range: exponents from 2^−3 to past the saturation point.
                let exponent = UInt32(124 + Int(random.next() % UInt64(width + 5)))
                vectors.append(Float(bitPattern: random.interestingFloatBits() & 0x807F_FFFF | exponent << 23))
            case 1: vectors.append(Float(bitPattern: random.interestingFloatBits(allowNaN: false)))
            default: vectors.append(Float(bitPattern: random.uniformFloatBits(allowNaN: false)))
            }
        }

        var ties = 0, saturatedHigh = 0, saturatedLow = 0, roundedInRange = 0
        try streamVectors(sim, vectors, apply: { sim.poke("value", UInt64($0.bitPattern)) }) { value in
            let expected = Numerics.roundAndSaturate(value, bits: width)
            let actual = sim.peekSigned("result")
            try #require(actual == expected,
                         "FloatToInt_\(width)(\(describeFloat(value.bitPattern))): expected \(expected), got \(actual); seed \(seed)")
            let magnitude = abs(value)
            if magnitude.isFinite, magnitude - magnitude.rounded(.down) == 0.5, magnitude < limit { ties += 1 }
            if value > 0, expected == high, value.rounded(.toNearestOrEven) >= limit { saturatedHigh += 1 }
            if value < 0, expected == low, value.rounded(.toNearestOrEven) < -limit { saturatedLow += 1 }
            if value != value.rounded(.toNearestOrEven), magnitude < limit { roundedInRange += 1 }
        }
        #expect(ties >= 200 && saturatedHigh > 500 && saturatedLow > 500 && roundedInRange > 2_000,
                "coverage: \(ties) ties, \(saturatedHigh) high and \(saturatedLow) low saturations, \(roundedInRange) rounded in range; seed \(seed)")
    }

    // MARK: ScaleUnit

    struct ScaleCase: CustomStringConvertible, Sendable {
        var inputWidth: Int, outputWidth: Int, latency: Int
        var description: String { "\(inputWidth) → \(outputWidth) bits, latency \(latency)" }
    }

    /// Scales: any finite binary32, powers of two times a random significand from 2^−40 to
    /// 2^12 (the useful range), and named ones (identity, halves that make ties, ±0, subnormal,
    /// huge).
    static func scale(using random: inout SeededGenerator) -> UInt32 {
        switch random.next() % 4 {
        case 0:
            while true {
                let bits = random.interestingFloatBits(allowNaN: false)
                if Float(bitPattern: bits).isFinite { return bits }
            }
        case 1:
            let exponent = UInt32(127 - 40 + Int(random.next() % 53))
            return UInt32(random.next() & 1) << 31 | exponent << 23 | UInt32(random.bits(23))
        default:
            let named: [Float] = [1, -1, 0.5, -0.5, 0.25, 2, 0, -0.0, 1.0 / 3, 0.1, 1e30, -3e38, 0.0078125,
                                  Float(bitPattern: FloatCorners.largestFinite), Float(bitPattern: FloatCorners.smallestNormal),
                                  Float(bitPattern: 0x0001_16C2) /* ≈ 1e−40, subnormal */, -Float(bitPattern: FloatCorners.smallestSubnormal)]
            return named[Int(random.next() % UInt64(named.count))].bitPattern
        }
    }

    @Test(arguments: [
        ScaleCase(inputWidth: 32, outputWidth: 8, latency: 0),    // ACC_SCALE on the accumulator read path
        ScaleCase(inputWidth: 8, outputWidth: 8, latency: 0),     // MVIN_SCALE of int8 inputs
        ScaleCase(inputWidth: 32, outputWidth: 32, latency: 0),
        ScaleCase(inputWidth: 32, outputWidth: 8, latency: 3),
        ScaleCase(inputWidth: 64, outputWidth: 16, latency: 2),
    ])
    func scaleUnitMatchesGoldenScale(unit: ScaleCase) throws {
        let module = ScaleUnit(inputWidth: unit.inputWidth, outputWidth: unit.outputWidth, latency: unit.latency)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(module))
        let seed = SeededGenerator.testSeed(0x5CA1_E000 + UInt64(unit.inputWidth * 1000 + unit.outputWidth * 10 + unit.latency))
        var random = SeededGenerator(seed: seed)

        var vectors: [(value: Int64, scale: UInt32)] = []
        // Identity: every value that fits the output passes unchanged through scale 1.0.
        let outputHigh = (Int64(1) << (unit.outputWidth - 1)) - 1
        for value in [0, 1, -1, outputHigh, -outputHigh - 1, outputHigh + 1, -outputHigh - 2] {
            vectors.append((value, FloatCorners.one))
        }
        for _ in 0..<500 {
            let value = random.interestingInteger(width: min(unit.inputWidth, unit.outputWidth))
            vectors.append((value, random.chance(0.5) ? FloatCorners.one : (-Float(1)).bitPattern))
        }
        for _ in 0..<randomVectors {
            vectors.append((random.interestingInteger(width: unit.inputWidth), Self.scale(using: &random)))
        }
        let inputRange = Int64.min >> (64 - unit.inputWidth)...Int64.max >> (64 - unit.inputWidth)
        vectors = vectors.filter { inputRange.contains($0.value) }

        var identities = 0, saturatedHigh = 0, saturatedLow = 0, ties = 0
        try streamVectors(sim, latency: unit.latency, vectors, apply: { vector in
            sim.poke("value", signed: vector.value, width: unit.inputWidth)
            sim.poke("scale", UInt64(vector.scale))
        }) { vector in
            let scale = Float(bitPattern: vector.scale)
            let expected = Numerics.scale(vector.value, by: scale, toBits: unit.outputWidth)
            let actual = sim.peekSigned("result")
            try #require(actual == expected,
                         "\(module.name)(\(vector.value), scale \(describeFloat(vector.scale))): expected \(expected), got \(actual); seed \(seed)")
            let product = Float(vector.value) * scale
            if scale.magnitude == 1, vector.value.magnitude <= outputHigh.magnitude { identities += 1 }
            if expected == outputHigh, product > Float(outputHigh) { saturatedHigh += 1 }
            if expected == -outputHigh - 1, product < Float(-outputHigh - 1) { saturatedLow += 1 }
            if abs(product) - abs(product).rounded(.down) == 0.5 { ties += 1 }
        }
        #expect(identities > 400 && saturatedHigh > 300 && saturatedLow > 300 && ties > 100,
                "coverage: \(identities) identities, \(saturatedHigh) high and \(saturatedLow) low saturations, \(ties) ties; seed \(seed)")
    }

    // MARK: Output quality

    static let qualityDesigns: [String: @Sendable () throws -> Design] = [
        "IntToFloat_8": { try Elaborator.elaborate(IntToFloat(width: 8)) },
        "IntToFloat_32": { try Elaborator.elaborate(IntToFloat(width: 32)) },
        "IntToFloat_64": { try Elaborator.elaborate(IntToFloat(width: 64)) },
        "IntToFloat_1": { try Elaborator.elaborate(IntToFloat(width: 1)) },
        "FloatMultiply": { try Elaborator.elaborate(FloatMultiply()) },
        "FloatToInt_2": { try Elaborator.elaborate(FloatToInt(width: 2)) },
        "FloatToInt_8": { try Elaborator.elaborate(FloatToInt(width: 8)) },
        "FloatToInt_32": { try Elaborator.elaborate(FloatToInt(width: 32)) },
        "FloatToInt_64": { try Elaborator.elaborate(FloatToInt(width: 64)) },
        "ScaleUnit_32to8": { try Elaborator.elaborate(ScaleUnit(inputWidth: 32, outputWidth: 8)) },
        "ScaleUnit_32to8_latency3": { try Elaborator.elaborate(ScaleUnit(inputWidth: 32, outputWidth: 8, latency: 3)) },
    ]

    @Test("Each unit is lint-clean, latch-free and compiles under Icarus",
          arguments: qualityDesigns.keys.sorted())
    func outputQuality(label: String) throws {
        let design = try Self.qualityDesigns[label]!()
        #expect(design.top.name == label)
        try checkOutputQuality(design)
    }
}
