import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

// FloatAdder under Verilator against Swift's own `Float` addition (IEEE binary32, round to
// nearest even) on this machine, every output bit compared. The stimulus is built to reach the
// cases an adder gets wrong: cancellation, equal exponents, every alignment distance, subnormal
// operands and results, carries into the next binade, exact ties, overflow.

@Suite("FloatAdder under Verilator against Swift's Float addition")
struct FloatAdderTests {
    /// binary32 bits from a sign, a biased exponent field and a fraction.
    static func float(sign: UInt64, exponent: Int, fraction: UInt64) -> UInt32 {
        UInt32(sign & 1) << 31 | UInt32(max(0, min(255, exponent))) << 23 | UInt32(fraction & 0x7F_FFFF)
    }

    /// A finite exponent field for the first operand: anywhere, or near the subnormals.
    static func exponent(using random: inout SeededGenerator) -> Int {
        random.chance(0.2) ? Int(random.next() % 30) : Int(random.next() % 255)
    }

    /// The operand pairs, by kind; `count` of them besides the named corners.
    static func vectors(count: Int, using random: inout SeededGenerator) -> [(UInt32, UInt32)] {
        var vectors: [(UInt32, UInt32)] = []
        for a in FloatCorners.all { for b in FloatCorners.all { vectors.append((a, b)) } }
        vectors += [(FloatCorners.quietNaN, FloatCorners.one), (0x7F80_0001, 0), (0xFFC0_1234, FloatCorners.infinity),
                    (FloatCorners.largestFinite, 0x7380_0000) /* + half an ulp: a tie that overflows */,
                    (FloatCorners.largestFinite, 0x737F_FFFF) /* just below half an ulp: stays finite */,
                    (0x3F80_0000, 0x3380_0000) /* 1 + 2^−24: a tie to 1 */, (0x3F80_0001, 0x3380_0000) /* a tie up */,
                    (0x0080_0000, 0x8000_0001) /* smallest normal − smallest subnormal */]
        while vectors.count < count {
            let sign = random.next()
            let a = Self.exponent(using: &random)
            switch random.next() % 10 {
            case 0:
                vectors.append((random.uniformFloatBits(), random.uniformFloatBits()))
            case 1:
                vectors.append((random.interestingFloatBits(), random.interestingFloatBits()))
            case 2:
                // Near cancellation: b ≈ −a, a few ulps apart, or one binade down.
                let first = float(sign: sign, exponent: a, fraction: random.bits(23))
                let delta = Int64(random.next() % 9) - 4
                let magnitude = UInt32(truncatingIfNeeded: max(0, min(0x7F7F_FFFF, Int64(first & 0x7FFF_FFFF) + delta)))
                let second = random.chance(0.2) && magnitude >= 0x0080_0000 ? magnitude - 0x0080_0000 : magnitude
                vectors.append((first, second | (~first & 0x8000_0000)))
            case 3:
                // Equal exponents, either sign.
                vectors.append((float(sign: sign, exponent: a, fraction: random.bits(23)),
                                float(sign: sign >> 1, exponent: a, fraction: random.bits(23))))
            case 4, 5:
                // Every alignment distance 0 … 40.
                let distance = Int(random.next() % 41)
                let first = float(sign: sign, exponent: a, fraction: random.bits(23))
                let second = float(sign: sign >> 1, exponent: a - distance, fraction: random.bits(23))
                vectors.append(random.chance(0.5) ? (first, second) : (second, first))
            case 6:
                // Subnormals: both, or one with a small normal.
                let first = float(sign: sign, exponent: 0, fraction: random.bits(23))
                let second = float(sign: sign >> 1, exponent: random.chance(0.5) ? 0 : Int(random.next() % 3) + 1,
                                   fraction: random.bits(23))
                vectors.append((first, second))
            case 7:
                // Rounding into the next binade: a full fraction plus at least half its ulp.
                let first = float(sign: sign, exponent: max(1, min(254, a)), fraction: 0x7F_FFFF - random.next() % 3)
                let distance = Int(random.next() % 26) + 1
                let second = float(sign: sign, exponent: max(1, min(254, a)) - distance, fraction: random.bits(23))
                vectors.append((first, second))
            case 8:
                // Exact ties: the bits the alignment drops are exactly 100…0 (plus one of a carry).
                let distance = Int(random.next() % 24) + 1
                let tail: UInt64 = 1 << UInt64(distance - 1)
                let keep = random.bits(23) & ~((1 << UInt64(distance)) - 1)
                let first = float(sign: sign, exponent: max(1, a), fraction: random.bits(23))
                let second = float(sign: random.chance(0.7) ? sign : sign >> 1, exponent: max(1, a) - distance,
                                   fraction: keep | tail)
                vectors.append(random.chance(0.5) ? (first, second) : (second, first))
            default:
                // Near overflow: both large.
                vectors.append((float(sign: sign, exponent: 254 - Int(random.next() % 3), fraction: random.bits(23)),
                                float(sign: random.chance(0.8) ? sign : sign >> 1, exponent: 254 - Int(random.next() % 26),
                                      fraction: random.bits(23))))
            }
        }
        return vectors
    }

    @Test(arguments: [(1, 200_000), (0, 20_000), (2, 20_000)])
    func matchesSwiftAddition(latency: Int, count: Int) throws {
        let adder = FloatAdder(latency: latency)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(adder))
        let seed = SeededGenerator.testSeed(0xADD0_0000 + UInt64(latency))
        var random = SeededGenerator(seed: seed)
        let vectors = Self.vectors(count: count, using: &random)

        var ties = 0, cancellations = 0, subnormalResults = 0, subnormalOperands = 0, overflows = 0, nextBinade = 0
        var distances = Set<Int>()
        try streamVectors(sim, latency: latency, vectors, apply: { sim.poke("a", UInt64($0.0)); sim.poke("b", UInt64($0.1)) }) { pair in
            let (a, b) = (Float(bitPattern: pair.0), Float(bitPattern: pair.1))
            let expectedValue = a + b
            // NaN results are the canonical quiet NaN (documented; payloads are not kept).
            let expected = expectedValue.isNaN ? FloatCorners.quietNaN : expectedValue.bitPattern
            let actual = UInt32(sim.peek("sum"))
            try #require(actual == expected,
                         "\(adder.name)(\(describeFloat(pair.0)), \(describeFloat(pair.1))): expected \(describeFloat(expected)), got \(describeFloat(actual)); seed \(seed)")

            guard a.isFinite, b.isFinite else { return }
            if a.isSubnormal || b.isSubnormal { subnormalOperands += 1 }
            if expectedValue.isSubnormal { subnormalResults += 1 }
            if expectedValue.isInfinite { overflows += 1 }
            guard a != 0, b != 0 else { return }
            let distance = abs(Int(pair.0 >> 23 & 0xFF) - Int(pair.1 >> 23 & 0xFF))
            distances.insert(distance)
            if a.sign != b.sign, expectedValue != 0, expectedValue.exponent < max(a.exponent, b.exponent) - 1 { cancellations += 1 }
            if expectedValue.isFinite, expectedValue.exponent > max(a.exponent, b.exponent) { nextBinade += 1 }
            // Exact in Double when the operands' bits span at most 53 places.
            guard distance <= 28 else { return }
            let exact = Double(a) + Double(b)
            if expectedValue.isFinite, exact != Double(expectedValue) {
                let neighbour = exact > Double(expectedValue) ? expectedValue.nextUp : expectedValue.nextDown
                if neighbour.isFinite, (Double(expectedValue) + Double(neighbour)) / 2 == exact { ties += 1 }
            }
        }
        let minimum = count / 200
        #expect(ties > minimum && cancellations > minimum && subnormalResults > minimum && subnormalOperands > minimum
                    && overflows > minimum / 4 && nextBinade > minimum && distances.isSuperset(of: 0...40),
                "coverage: \(ties) ties, \(cancellations) cancellations, \(subnormalResults) subnormal results, \(subnormalOperands) subnormal operands, \(overflows) overflows, \(nextBinade) into the next binade, distances \(distances.count); seed \(seed)")
        print("\(adder.name): \(vectors.count) pairs; \(ties) ties, \(cancellations) cancellations, \(subnormalResults) subnormal results, \(subnormalOperands) subnormal operands, \(overflows) overflows, \(nextBinade) into the next binade")
    }

    /// The cells docs/CTA-HARDWARE.md reports (the latency the gather unit uses): run with
    /// SPINEL_CTA_UNITS_FULL_SIZE=1.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SPINEL_CTA_UNITS_FULL_SIZE"] == "1"))
    func cells() throws {
        let synthesis = try MemoriesKeptSynthesis(try Elaborator.elaborate(FloatAdder(latency: 1)))
        #expect((synthesis.memoryCount ?? 0) == 0)
    }

    @Test("Lint-clean, latch-free, compiles under Icarus", arguments: [0, 2])
    func outputQuality(latency: Int) throws {
        let design = try Elaborator.elaborate(FloatAdder(latency: latency))
        try checkOutputQuality(design)
    }
}
