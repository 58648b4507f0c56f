import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

// The sequential arithmetic units of the normalization hardware under Verilator, each against
// an independent reference: Swift's `/` and `%` on UInt64 for the divider, and a square root by
// Double plus integer correction for the root. Every operation also checks the start/busy/done
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

    // MARK: Output quality

    static let qualityDesigns: [String: @Sendable () throws -> Design] = [
        "SequentialDivider_48by16": { try Elaborator.elaborate(SequentialDivider(dividendBits: 48, divisorBits: 16)) },
        "SequentialDivider_64by32": { try Elaborator.elaborate(SequentialDivider(dividendBits: 64, divisorBits: 32)) },
        "SequentialDivider_32by16": { try Elaborator.elaborate(SequentialDivider(dividendBits: 32, divisorBits: 16)) },
        "SequentialDivider_12by20": { try Elaborator.elaborate(SequentialDivider(dividendBits: 12, divisorBits: 20)) },
        "SequentialSquareRoot_32": { try Elaborator.elaborate(SequentialSquareRoot(bits: 32)) },
        "SequentialSquareRoot_64": { try Elaborator.elaborate(SequentialSquareRoot(bits: 64)) },
    ]

    @Test("Each unit is lint-clean, latch-free and compiles under Icarus",
          arguments: qualityDesigns.keys.sorted())
    func outputQuality(label: String) throws {
        let design = try Self.qualityDesigns[label]!()
        #expect(design.top.name == label)
        try checkOutputQuality(design)
    }
}
