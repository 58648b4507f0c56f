import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// The gather output unit alone under Verilator against the golden functions of CTA_GATHER:
// every factor bit against `CTANumerics.outputFactor`, every output element against
// `CTANumerics.normalizedOutput` (docs/CTA-HARDWARE.md, "Gather output unit").

@Suite("GatherOutputUnit under Verilator against CTANumerics.outputFactor and normalizedOutput")
struct GatherOutputUnitTests {
    static let unit = GatherOutputUnit(lanes: 4, accumulatorBits: 26, outputBits: 8)

    /// One compressed row: its maxima, denominator and s_out, and the product rows that use
    /// its factors.
    struct Row {
        var maxima: (Int64, Int64)
        var denominator: Int64
        var scale: UInt32
        var products: [[(Int64, Int64)]]
    }

    static func finiteScale(using random: inout SeededGenerator) -> UInt32 {
        while true {
            let bits = random.interestingFloatBits(allowNaN: false)
            if Float(bitPattern: bits).isFinite { return bits }
        }
    }

    /// A random row of one of the kinds the unit must get right.
    static func row(using random: inout SeededGenerator, lanes: Int, accumulatorBits: Int) -> Row {
        let largest = (Int64(1) << Int64(accumulatorBits)) - 1
        let sign = UInt32(random.next() & 1) << 31
        func power(_ exponent: Int) -> UInt32 { UInt32(exponent + 127) << 23 }
        var denominator = Int64(random.next() % UInt64(1 << 25)) + 1
        var maxima = (Int64(random.next() % UInt64(2 * denominator + 1)), Int64(random.next() % UInt64(2 * denominator + 1)))
        var scale = UInt32(random.next() & 1) << 31 | power(-12 + Int(random.next() % 12)) | UInt32(random.bits(23))
        // How the products are drawn: 0 any int32, 1 small (ties), 2 int32 extremes.
        var products = 0
        switch random.next() % 8 {
        case 0:
            break
        case 1:
            denominator = 0
        case 2:
            // σ subnormal (or underflowing to zero): tiny s_out.
            scale = sign | UInt32(random.next() % 40) << 23 | UInt32(random.bits(23))
        case 3:
            // σ huge, or infinite: s_out near the top of the range.
            scale = sign | UInt32(200 + random.next() % 55) << 23 | UInt32(random.bits(23))
        case 4:
            // Exact ties: σ = s_out = 2^−k, small products.
            denominator = 1
            maxima = (127, random.chance(0.5) ? 127 : 254)
            scale = sign | power(-Int(random.next() % 6) - 1)
            products = 1
        case 5:
            // Saturation both ways: factors around 1 … 2^10.
            denominator = 1
            maxima = (127, 127)
            scale = sign | power(Int(random.next() % 11)) | UInt32(random.bits(23))
        case 6:
            denominator = Int64(random.interestingUnsigned(width: accumulatorBits))
            maxima = (Int64(random.interestingUnsigned(width: accumulatorBits)), Int64(random.interestingUnsigned(width: accumulatorBits)))
            scale = Self.finiteScale(using: &random)
        default:
            products = 2
        }
        maxima = (min(maxima.0, largest), min(maxima.1, largest))
        denominator = min(denominator, largest)
        let extremes: [Int64] = [Int64(Int32.min), Int64(Int32.max), Int64(Int32.min) + 1, Int64(Int32.max) - 1, 0, -1, 1]
        func product() -> Int64 {
            switch products {
            case 1: Int64(random.next() % 4096) - 2048
            case 2: extremes[Int(random.next() % 7)]
            default: random.interestingInteger(width: 32)
            }
        }
        var rows: [[(Int64, Int64)]] = []
        for _ in 0..<Int(1 + random.next() % 3) {
            var row: [(Int64, Int64)] = []
            for _ in 0..<lanes { row.append((product(), product())) }
            rows.append(row)
        }
        return Row(maxima: maxima, denominator: denominator, scale: scale, products: rows)
    }

    @Test func matchesGoldenFunctions() throws {
        let unit = Self.unit
        let sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        let seed = SeededGenerator.testSeed(0x6A7E_0000)
        var random = SeededGenerator(seed: seed)
        let bits = unit.outputBits
        let high = (Int64(1) << Int64(bits - 1)) - 1, low = -high - 1

        var rows = [Row(maxima: (0, 0), denominator: 0, scale: FloatCorners.one, products: [[(Int64, Int64)](repeating: (1, 1), count: 4)]),
                    Row(maxima: (1, 2), denominator: 1, scale: FloatCorners.one,
                        products: [[(Int64(Int32.max), Int64(Int32.max)), (Int64(Int32.min), Int64(Int32.min)), (1, -1), (63, 64)]]),
                    Row(maxima: (127, 127), denominator: 1, scale: 0x3F00_0000 /* σ = 0.5 */,
                        products: [[(1, 0), (3, 0), (5, -2), (-1, 0)], [(255, 0), (256, -1), (-255, 0), (-257, 0)]])]
        while rows.count < 10_000 { rows.append(Self.row(using: &random, lanes: unit.lanes, accumulatorBits: unit.accumulatorBits)) }

        sim.poke("start", false)
        sim.poke("in_valid", false)
        sim.reset()
        var cycle = 0
        var expectedOutputs: [(due: Int, values: [Int64], label: String)] = []
        var ties = 0, saturatedHigh = 0, saturatedLow = 0, zeroDenominators = 0, subnormalFactors = 0, hugeFactors = 0
        var extremes = 0, startsWhileBusy = 0, outputs = 0

        /// One cycle: evaluate, check any output due, tick.
        func step() throws {
            sim.eval()
            if sim.peekBool("out_valid") {
                let expected = try #require(expectedOutputs.first, "an output with none expected, cycle \(cycle); seed \(seed)")
                expectedOutputs.removeFirst()
                try #require(expected.due == cycle, "output due in cycle \(expected.due) came in \(cycle) (\(expected.label)); seed \(seed)")
                for lane in 0..<unit.lanes {
                    let actual = sim.peekSigned("out_bits_\(lane)")
                    try #require(actual == expected.values[lane],
                                 "\(expected.label), lane \(lane): expected \(expected.values[lane]), got \(actual); seed \(seed)")
                }
                outputs += 1
            } else {
                try #require(expectedOutputs.first.map { $0.due != cycle } ?? true, "no output in cycle \(cycle); seed \(seed)")
            }
            sim.tick()
            cycle += 1
        }

        for (index, row) in rows.enumerated() {
            let scale = Float(bitPattern: row.scale)
            let factors = [row.maxima.0, row.maxima.1].map {
                CTANumerics.outputFactor(maximum: $0, denominator: row.denominator, outputScale: scale)
            }
            let label = "row \(index) (m \(row.maxima), D \(row.denominator), s_out \(describeFloat(row.scale)), σ \(factors))"
            if row.denominator == 0 { zeroDenominators += 1 }
            for factor in factors {
                if factor.isSubnormal { subnormalFactors += 1 }
                if factor.magnitude > 1e30 { hugeFactors += 1 }
            }

            sim.poke("start", true)
            sim.poke("maximum_level_one", UInt64(row.maxima.0))
            sim.poke("maximum_level_two", UInt64(row.maxima.1))
            sim.poke("denominator", UInt64(row.denominator))
            sim.poke("output_scale", UInt64(row.scale))
            sim.eval()
            try #require(!sim.peekBool("busy") && !sim.peekBool("in_ready"), "\(label): busy or in ready at start; seed \(seed)")
            try step()
            var waited = 1
            sim.poke("start", false)
            while true {
                // Starts with other operands while busy must be ignored.
                if random.chance(0.1) {
                    sim.poke("start", true)
                    sim.poke("maximum_level_one", random.bits(unit.accumulatorBits))
                    sim.poke("denominator", random.bits(unit.accumulatorBits))
                    sim.poke("output_scale", random.next())
                    startsWhileBusy += 1
                } else {
                    sim.poke("start", false)
                }
                sim.eval()
                if sim.peekBool("factors_valid") { break }
                try #require(sim.peekBool("busy") && !sim.peekBool("in_ready"), "\(label): not busy while dividing, cycle \(waited); seed \(seed)")
                try step()
                waited += 1
            }
            sim.poke("start", false)
            try #require(waited == unit.factorLatency, "\(label): factors after \(waited) cycles, not \(unit.factorLatency); seed \(seed)")
            for (half, factor) in factors.enumerated() {
                let actual = UInt32(sim.peek(half == 0 ? "factor_level_one" : "factor_level_two"))
                try #require(actual == factor.bitPattern, "\(label): σ\(half + 1) expected \(describeFloat(factor.bitPattern)), got \(describeFloat(actual)); seed \(seed)")
            }

            for (r, products) in row.products.enumerated() {
                // ∞ ⊕ −∞ (or 0 ⊗ ∞) has no golden value: such lanes take products that keep it finite.
                var lanes = products
                for lane in lanes.indices where (Float(lanes[lane].0) * factors[0] + Float(lanes[lane].1) * factors[1]).isNaN {
                    lanes[lane] = (1, 1)
                }
                let values = lanes.map { CTANumerics.normalizedOutput(levelOne: $0.0, factor: factors[0], levelTwo: $0.1, factor: factors[1], bits: bits) }
                for pair in lanes {
                    let value = Float(pair.0) * factors[0] + Float(pair.1) * factors[1]
                    if value.isFinite, value.magnitude < Float(high), value.magnitude - value.magnitude.rounded(.down) == 0.5 { ties += 1 }
                    if value.rounded(.toNearestOrEven) > Float(high) { saturatedHigh += 1 }
                    if value.rounded(.toNearestOrEven) < Float(low) { saturatedLow += 1 }
                    if [pair.0, pair.1].contains(where: { $0 == Int64(Int32.min) || $0 == Int64(Int32.max) }) { extremes += 1 }
                }
                // Random gaps before the beat, garbage on the lanes while not valid.
                while random.chance(0.2) {
                    sim.poke("in_valid", false)
                    for lane in 0..<unit.lanes {
                        sim.poke("in_bits_level_one_\(lane)", random.next() & 0xFFFF_FFFF)
                        sim.poke("in_bits_level_two_\(lane)", random.next() & 0xFFFF_FFFF)
                    }
                    try step()
                }
                sim.poke("in_valid", true)
                for (lane, pair) in lanes.enumerated() {
                    sim.poke("in_bits_level_one_\(lane)", signed: pair.0, width: 32)
                    sim.poke("in_bits_level_two_\(lane)", signed: pair.1, width: 32)
                }
                sim.eval()
                try #require(sim.peekBool("in_ready"), "\(label): in not ready while the factors are valid; seed \(seed)")
                expectedOutputs.append((cycle + GatherOutputUnit.latency, values, "\(label), product row \(r) \(lanes)"))
                try step()
                sim.poke("in_valid", false)
            }
        }
        for _ in 0..<GatherOutputUnit.latency { try step() }
        #expect(expectedOutputs.isEmpty, "\(expectedOutputs.count) outputs never came; seed \(seed)")
        let minimum = 200
        #expect(ties > minimum && saturatedHigh > minimum && saturatedLow > minimum && zeroDenominators > minimum
                    && subnormalFactors > minimum && hugeFactors > minimum && extremes > minimum && startsWhileBusy > 1_000,
                "coverage: \(ties) ties, \(saturatedHigh) high and \(saturatedLow) low saturations, \(zeroDenominators) D = 0, \(subnormalFactors) subnormal σ, \(hugeFactors) huge σ, \(extremes) int32 extremes, \(startsWhileBusy) starts while busy; seed \(seed)")
        print("GatherOutputUnit: \(rows.count) rows, \(outputs) output rows in \(cycle) cycles; \(ties) ties, \(saturatedHigh) high and \(saturatedLow) low saturations, \(zeroDenominators) D = 0, \(subnormalFactors) subnormal σ, \(hugeFactors) huge σ, \(extremes) lanes with int32 extremes")
    }

    @Test("Lint-clean, latch-free, compiles under Icarus")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(GatherOutputUnit(lanes: 2, accumulatorBits: 26, outputBits: 8)))
    }

    /// The `cta` preset's shape (DIM 16, 26-bit accumulators, int8), for the cell counts
    /// docs/CTA-HARDWARE.md reports: run with SPINEL_CTA_UNITS_FULL_SIZE=1.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SPINEL_CTA_UNITS_FULL_SIZE"] == "1"))
    func ctaPresetCells() throws {
        let synthesis = try MemoriesKeptSynthesis(try Elaborator.elaborate(GatherOutputUnit(lanes: 16, accumulatorBits: 26, outputBits: 8)))
        #expect((synthesis.memoryCount ?? 0) == 0)
    }
}
