import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

// The sequential arithmetic units of the normalization hardware under Verilator, each against
// an independent reference: Swift's `/` and `%` on UInt64 for the divider, a square root by
// Double plus integer correction for the root, and Swift's own `Float` division (IEEE binary32,
// round to nearest even) for the float divider. Every operation also checks the start/busy/done
// handshake cycle by cycle (`runOperations`), and each test counts the cases that matter and
// fails if the stimulus stopped reaching them.

/// How many random operations each unit sees, besides its corner cases.
private let randomOperations = 10_000

@Suite("Sequential arithmetic units under Verilator against Swift's integer and binary32 arithmetic")
struct ArithmeticUnitTests {
    // MARK: SequentialDivider

    struct DividerWidths: CustomStringConvertible, Sendable {
        var dividendBits: Int, divisorBits: Int
        var description: String { "\(dividendBits) by \(divisorBits) bits" }
    }

    @Test(arguments: [
        DividerWidths(dividendBits: 48, divisorBits: 16),   // a LayerNorm row sum by its length
        DividerWidths(dividendBits: 64, divisorBits: 32),
        DividerWidths(dividendBits: 32, divisorBits: 16),
        DividerWidths(dividendBits: 12, divisorBits: 20),   // a divisor wider than the dividend
    ])
    func sequentialDividerMatchesSwiftDivision(widths: DividerWidths) throws {
        let divider = SequentialDivider(dividendBits: widths.dividendBits, divisorBits: widths.divisorBits)
        #expect(divider.latency == widths.dividendBits)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(divider))
        let seed = SeededGenerator.testSeed(0xD1_0000 + UInt64(widths.dividendBits * 100 + widths.divisorBits))
        var random = SeededGenerator(seed: seed)
        let dividendMask = widths.dividendBits == 64 ? UInt64.max : (1 << UInt64(widths.dividendBits)) - 1
        let divisorMask = (UInt64(1) << UInt64(widths.divisorBits)) - 1

        var operations: [(dividend: UInt64, divisor: UInt64)] = []
        let dividendCorners: [UInt64] = [0, 1, 2, 3, dividendMask, dividendMask - 1, dividendMask >> 1, (dividendMask >> 1) + 1]
        let divisorCorners: [UInt64] = [0, 1, 2, 3, divisorMask, divisorMask - 1, divisorMask >> 1, (divisorMask >> 1) + 1]
        for dividend in dividendCorners { for divisor in divisorCorners { operations.append((dividend, divisor)) } }
        for _ in 0..<1_000 {
            // Exact multiples (the multiplier takes the dividend bits the divisor leaves), one
            // below and one above them, and dividends below the divisor.
            let divisor = max(1, random.interestingUnsigned(width: min(widths.dividendBits, widths.divisorBits)))
            let room = widths.dividendBits - (64 - divisor.leadingZeroBitCount)
            let dividend = divisor * (room > 0 ? random.interestingUnsigned(width: room) : 1)
            let offset = [0, 0, 1, dividend == 0 ? 0 : UInt64.max][Int(random.next() % 4)]   // +0, +1, −1
            operations.append(((dividend &+ offset) & dividendMask, divisor))
            let wideDivisor = max(1, random.interestingUnsigned(width: widths.divisorBits))
            operations.append((random.next() % wideDivisor & dividendMask, wideDivisor))
        }
        // Quotients with their top bit set.
        for _ in 0..<200 {
            operations.append((random.bits(widths.dividendBits) | ((dividendMask >> 1) + 1), 1 + random.next() % 3))
        }
        for _ in 0..<randomOperations {
            operations.append((random.interestingUnsigned(width: widths.dividendBits), random.interestingUnsigned(width: widths.divisorBits)))
        }

        var zeroDivisors = 0, unitDivisors = 0, divisorsAboveDividend = 0, exact = 0, wideQuotients = 0
        let coverage = try runOperations(sim, latency: divider.latency, operations, using: &random, apply: { operation in
            sim.poke("dividend", operation.dividend)
            sim.poke("divisor", operation.divisor)
        }, scramble: { random in
            sim.poke("dividend", random.bits(widths.dividendBits))
            sim.poke("divisor", random.bits(widths.divisorBits))
        }) { operation in
            // Documented: divisor 0 gives an all-ones quotient and the dividend's low bits.
            let expected = operation.divisor == 0
                ? (quotient: dividendMask, remainder: operation.dividend & divisorMask)
                : (quotient: operation.dividend / operation.divisor, remainder: operation.dividend % operation.divisor)
            let actual = (quotient: sim.peek("quotient"), remainder: sim.peek("remainder"))
            try #require(actual == expected,
                         "\(divider.name)(\(operation.dividend), \(operation.divisor)): expected \(expected), got \(actual); seed \(seed)")
        }
        for operation in operations {
            if operation.divisor == 0 { zeroDivisors += 1; continue }
            if operation.divisor == 1 { unitDivisors += 1 }
            if operation.divisor > operation.dividend { divisorsAboveDividend += 1 }
            if operation.dividend % operation.divisor == 0, operation.dividend != 0, operation.divisor > 1 { exact += 1 }
            if operation.dividend / operation.divisor > dividendMask >> 1 { wideQuotients += 1 }
        }
        #expect(zeroDivisors > 100 && unitDivisors > 100 && divisorsAboveDividend > 1_000 && exact > 300 && wideQuotients > 100
                    && coverage.startsWhileBusy > 5_000 && coverage.backToBack > 2_000,
                "coverage: \(zeroDivisors) zero and \(unitDivisors) unit divisors, \(divisorsAboveDividend) divisors above the dividend, \(exact) exact, \(wideQuotients) quotients with the top bit, \(coverage.startsWhileBusy) starts while busy, \(coverage.backToBack) back-to-back; seed \(seed)")
    }

    // MARK: SequentialSquareRoot

    /// floor(sqrt(n)): the Double square root (off by at most one for 64-bit n), corrected with
    /// the exact test r ≤ n / r ⟺ r² ≤ n.
    static func isqrt(_ n: UInt64) -> UInt64 {
        var root = UInt64(Double(n).squareRoot())
        while root > 0 && root > n / root { root -= 1 }
        while root + 1 <= n / (root + 1) { root += 1 }
        return root
    }

    @Test(arguments: [32, 64])
    func sequentialSquareRootMatchesIntegerSquareRoot(bits: Int) throws {
        let unit = SequentialSquareRoot(bits: bits)
        #expect(unit.latency == bits / 2)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        let seed = SeededGenerator.testSeed(0x5_0127_0000 + UInt64(bits))
        var random = SeededGenerator(seed: seed)
        let largest = bits == 64 ? UInt64.max : (1 << UInt64(bits)) - 1
        let largestRoot = (UInt64(1) << UInt64(bits / 2)) - 1

        var values: [UInt64] = [0, 1, 2, 3, 4, 5, 8, 9, 15, 16, 17, largest, largest - 1, largest >> 1, (largest >> 1) + 1,
                                largestRoot * largestRoot, largestRoot * largestRoot - 1, largestRoot * largestRoot + 1]
        for _ in 0..<1_500 {
            // Perfect squares and their neighbours, over every root length.
            let root = random.interestingUnsigned(width: bits / 2)
            let square = root * root
            values += [square, square &- 1, square &+ 1, square &+ 2 &* root].filter { $0 <= largest }
        }
        values += (0..<randomOperations).map { _ in random.interestingUnsigned(width: bits) }

        let coverage = try runOperations(sim, latency: unit.latency, values, using: &random, apply: { value in
            sim.poke("value", value)
        }, scramble: { random in
            sim.poke("value", random.bits(bits))
        }) { value in
            let expected = Self.isqrt(value)
            let actual = sim.peek("root")
            try #require(actual == expected, "\(unit.name)(\(value)): expected \(expected), got \(actual); seed \(seed)")
        }
        var squares = 0, belowSquares = 0, largestRemainders = 0, topBitSet = 0
        for value in values {
            let root = Self.isqrt(value)
            if root * root == value { squares += 1 }
            if value < largest, Self.isqrt(value + 1) != root { belowSquares += 1 }
            if value - root * root == 2 * root, root > 0 { largestRemainders += 1 }
            if value > largest >> 1 { topBitSet += 1 }
        }
        #expect(squares > 1_000 && belowSquares > 1_000 && largestRemainders > 1_000 && topBitSet > 2_000
                    && coverage.startsWhileBusy > 5_000 && coverage.backToBack > 2_000,
                "coverage: \(squares) squares, \(belowSquares) squares − 1, \(largestRemainders) squares + 2·root, \(topBitSet) with the top bit, \(coverage.startsWhileBusy) starts while busy, \(coverage.backToBack) back-to-back; seed \(seed)")
    }

    // MARK: FloatDivider

    /// Normal operands whose exponent fields differ by about `difference` (a's minus b's), which
    /// puts the quotient next to overflow (≈ 128) or into the subnormal range (≈ −127 … −150).
    static func pair(exponentDifference difference: Int, using random: inout SeededGenerator) -> (UInt32, UInt32) {
        let smaller = max(1, 1 + Int(random.next() % UInt64(254 - abs(difference))))
        let (first, second) = difference >= 0 ? (smaller + difference, smaller) : (smaller, smaller - difference)
        let a = random.interestingFloatBits() & 0x807F_FFFF | UInt32(max(1, min(254, first))) << 23
        let b = random.interestingFloatBits() & 0x807F_FFFF | UInt32(max(1, min(254, second))) << 23
        return (a, b)
    }

    /// Operands whose quotient is exactly half-way between two subnormals (or between the
    /// largest subnormal and the smallest normal): k · 2^−150 with k odd. Such ties exist only
    /// there: a tie in the normal range needs 25 significant bits, which no quotient of two
    /// binary32 numbers has. With b = s · 2^e (s odd) and a = k · s · 2^(e − 150), both exact.
    static func subnormalTie(using random: inout SeededGenerator) -> (UInt32, UInt32) {
        // k · s has at most 24 bits; the Double products are exact, and so are the conversions.
        let kLength = Int(random.next() % 23) + 1
        let k = random.bits(kLength) | 1 | 1 << UInt64(kLength - 1)
        let sLength = Int(random.next() % UInt64(24 - kLength)) + 1
        let s = random.bits(sLength) | 1 | 1 << UInt64(sLength - 1)
        let e = Int(random.next() % 120) + 1
        let b = Float(Double(s) * Double(sign: .plus, exponent: e, significand: 1))
        let a = Float(Double(k * s) * Double(sign: .plus, exponent: e - 150, significand: 1))
        let signs = UInt32(random.bits(2))
        return (a.bitPattern | (signs & 1) << 31, b.bitPattern | (signs >> 1) << 31)
    }

    /// Operands whose quotient c is exact: short significands c and b with a = c · b exact.
    static func exactQuotient(using random: inout SeededGenerator) -> (UInt32, UInt32) {
        while true {
            let cLength = Int(random.next() % 23) + 1
            let bLength = Int(random.next() % UInt64(24 - cLength)) + 1
            let c = Float(bitPattern: FloatUnitTests.shortSignificand(length: cLength, exponent: UInt32(64 + random.next() % 128), using: &random))
            let b = Float(bitPattern: FloatUnitTests.shortSignificand(length: bLength, exponent: UInt32(64 + random.next() % 128), using: &random))
            let a = c * b
            if a.isNormal, Double(a) == Double(c) * Double(b) { return (a.bitPattern, b.bitPattern) }
        }
    }

    @Test func floatDividerMatchesSwiftDivision() throws {
        let unit = FloatDivider()
        #expect(unit.latency == 27)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        let seed = SeededGenerator.testSeed(0xF1_0D17)
        var random = SeededGenerator(seed: seed)

        var operations: [(UInt32, UInt32)] = []
        for a in FloatCorners.all { for b in FloatCorners.all { operations.append((a, b)) } }
        let third = Float(1) / 3
        operations += [
            (FloatCorners.one, 0x4040_0000),                              // 1 / 3
            (0x4000_0000, 0x4040_0000),                                   // 2 / 3
            (third.bitPattern, third.bitPattern),                         // exactly 1
            (FloatCorners.quietNaN, FloatCorners.one), (FloatCorners.one, 0xFFC0_1234), (0x7F80_0001, 0),
            (FloatCorners.infinity, 0xFF80_0000), (0, 0x8000_0000),       // ∞ / −∞, 0 / −0
            (FloatCorners.largestFinite, FloatCorners.smallestSubnormal), // overflow
            (FloatCorners.smallestSubnormal, FloatCorners.largestFinite), // underflow to 0
            (FloatCorners.smallestSubnormal, 0x4000_0000),                // 2^−150: a tie, to 0
            (0x0000_0003, 0x4000_0000),                                   // 1.5 ulp: a tie, to 2 ulp
            (FloatCorners.smallestNormal, 0x3F80_0001),                   // just below the smallest normal
            (FloatCorners.largestSubnormal, 0x3F7F_FFFF),                 // rounds up to the smallest normal
            (FloatCorners.smallestSubnormal, FloatCorners.smallestSubnormal),
            (FloatCorners.largestSubnormal, FloatCorners.smallestSubnormal),
        ]
        for _ in 0..<500 {
            // A zero, infinite or NaN operand (any payload) against anything.
            let special = [0, FloatCorners.infinity, FloatCorners.infinity | UInt32(1 + random.bits(22))][Int(random.next() % 3)]
                | UInt32(random.bits(1)) << 31
            let other = random.chance(0.2) ? [0, FloatCorners.infinity][Int(random.next() % 2)] : random.interestingFloatBits()
            operations.append(random.chance(0.5) ? (special, other) : (other, special))
        }
        for _ in 0..<1_000 { operations.append(Self.subnormalTie(using: &random)) }
        for _ in 0..<1_000 { operations.append(Self.exactQuotient(using: &random)) }
        for _ in 0..<1_500 { operations.append(Self.pair(exponentDifference: -127 - Int(random.next() % 26), using: &random)) }
        for _ in 0..<500 { operations.append(Self.pair(exponentDifference: 126 + Int(random.next() % 5), using: &random)) }
        for _ in 0..<(randomOperations - 4_000) / 2 {
            operations.append((random.interestingFloatBits(), random.interestingFloatBits()))
            operations.append((random.uniformFloatBits(), random.uniformFloatBits()))
        }

        let coverage = try runOperations(sim, latency: unit.latency, operations, using: &random, apply: { pair in
            sim.poke("a", UInt64(pair.0))
            sim.poke("b", UInt64(pair.1))
        }, scramble: { random in
            sim.poke("a", random.bits(32))
            sim.poke("b", random.bits(32))
        }) { pair in
            let quotient = Float(bitPattern: pair.0) / Float(bitPattern: pair.1)
            // NaN results are the canonical quiet NaN (documented; payloads are not kept).
            let expected = quotient.isNaN ? FloatCorners.quietNaN : quotient.bitPattern
            let actual = UInt32(sim.peek("quotient"))
            try #require(actual == expected,
                         "FloatDivider(\(describeFloat(pair.0)), \(describeFloat(pair.1))): expected \(describeFloat(expected)), got \(describeFloat(actual)); seed \(seed)")
        }

        var ties = 0, subnormalResults = 0, underflowsToZero = 0, overflows = 0, subnormalOperands = 0, exact = 0, inexact = 0
        var divisionsByZero = 0, invalid = 0, infiniteOperands = 0, nanOperands = 0
        for pair in operations {
            let (a, b) = (Float(bitPattern: pair.0), Float(bitPattern: pair.1))
            let quotient = a / b
            if a.isNaN || b.isNaN { nanOperands += 1 }
            if a.isFinite, a != 0, b == 0 { divisionsByZero += 1 }
            if (a == 0 && b == 0) || (a.isInfinite && b.isInfinite) { invalid += 1 }
            if a.isInfinite != b.isInfinite, !a.isNaN, !b.isNaN { infiniteOperands += 1 }
            guard a.isFinite, b.isFinite, a != 0, b != 0 else { continue }
            if a.isSubnormal || b.isSubnormal { subnormalOperands += 1 }
            if quotient.isSubnormal { subnormalResults += 1 }
            if quotient == 0 { underflowsToZero += 1 }
            if quotient.isInfinite { overflows += 1 }
            guard quotient.isFinite else { continue }
            // The Double quotient is exact when the binary32 one is exact or a tie (at most
            // 25 significant bits), and otherwise too far from any such value to equal it.
            let wide = Double(a) / Double(b)
            if wide == Double(quotient) { exact += 1; continue }
            inexact += 1
            let neighbour = wide > Double(quotient) ? quotient.nextUp : quotient.nextDown
            if (Double(quotient) + Double(neighbour)) / 2 == wide { ties += 1 }
        }
        #expect(ties > 800 && subnormalResults > 1_000 && underflowsToZero > 300 && overflows > 200 && subnormalOperands > 500
                    && exact > 1_000 && inexact > 5_000 && divisionsByZero > 100 && invalid > 40 && infiniteOperands > 300 && nanOperands > 300
                    && coverage.startsWhileBusy > 5_000 && coverage.backToBack > 2_000,
                "coverage: \(ties) ties, \(subnormalResults) subnormal results, \(underflowsToZero) underflows to zero, \(overflows) overflows, \(subnormalOperands) subnormal operands, \(exact) exact, \(inexact) inexact, \(divisionsByZero) x/0, \(invalid) 0/0 or ∞/∞, \(infiniteOperands) with one infinite operand, \(nanOperands) with a NaN operand, \(coverage.startsWhileBusy) starts while busy, \(coverage.backToBack) back-to-back; seed \(seed)")
    }

    // MARK: Output quality

    static let qualityDesigns: [String: @Sendable () throws -> Design] = [
        "SequentialDivider_48by16": { try Elaborator.elaborate(SequentialDivider(dividendBits: 48, divisorBits: 16)) },
        "SequentialDivider_64by32": { try Elaborator.elaborate(SequentialDivider(dividendBits: 64, divisorBits: 32)) },
        "SequentialDivider_32by16": { try Elaborator.elaborate(SequentialDivider(dividendBits: 32, divisorBits: 16)) },
        "SequentialDivider_12by20": { try Elaborator.elaborate(SequentialDivider(dividendBits: 12, divisorBits: 20)) },
        "SequentialSquareRoot_32": { try Elaborator.elaborate(SequentialSquareRoot(bits: 32)) },
        "SequentialSquareRoot_64": { try Elaborator.elaborate(SequentialSquareRoot(bits: 64)) },
        "FloatDivider": { try Elaborator.elaborate(FloatDivider()) },
    ]

    @Test("Each unit is lint-clean, latch-free and compiles under Icarus",
          arguments: qualityDesigns.keys.sorted())
    func outputQuality(label: String) throws {
        let design = try Self.qualityDesigns[label]!()
        #expect(design.top.name == label)
        try checkOutputQuality(design)
    }
}
