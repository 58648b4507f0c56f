import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// The probability quantizer alone under Verilator against `CTANumerics.quantizeProbabilities`
// laid out as `CTAScoreLayout` rows (docs/CTA-HARDWARE.md, "Probability quantizer"): every lane
// of every scratchpad row, the rows' order, each tile's two maxima and denominator, and the
// cycles of a group. Groups run back to back in one simulator.

@Suite("ProbabilityQuantizer under Verilator against CTANumerics.quantizeProbabilities")
struct ProbabilityQuantizerTests {
    /// 3 tiles (not a power of two), DIM 4, K = 45 (not a multiple of DIM), the `cta` preset's
    /// 26-bit accumulators.
    static let unit = ProbabilityQuantizer(tiles: 3, lanes: 4, maximumClusters: 45, accumulatorBits: 26)
    /// 2 tiles, K = 16: two full halves make 8 blocks, a power of two (the block count needs a
    /// bit more than a block number, as at the `cta` preset).
    static let powerOfTwoBlocks = ProbabilityQuantizer(tiles: 2, lanes: 4, maximumClusters: 16, accumulatorBits: 26)

    /// One half of an AP row, of a kind the unit must get right.
    static func half(count: Int, bits: Int, using random: inout SeededGenerator) -> [Int64] {
        let largest = (Int64(1) << Int64(bits)) - 1
        func values(_ value: () -> Int64) -> [Int64] { (0..<count).map { _ in value() } }
        switch random.next() % 10 {
        case 0: return values { 0 }
        case 1: return values { Int64(random.next() % 2) }                     // maximum 1 (or 0)
        case 2:
            let value = Int64(random.interestingUnsigned(width: bits))
            return values { value }                                               // all equal
        case 3: return values { largest - Int64(random.next() % 64) }            // near 2^26
        case 4:
            // Ties in the scaling: a maximum of 254 (factor 0.5) or 127·2^j (factor 2^−j).
            let maximum: Int64 = random.chance(0.5) ? 254 : 127 << Int64(random.next() % 12)
            var half = values { Int64(random.next() % UInt64(maximum + 1)) }
            half[Int(random.next() % UInt64(count))] = maximum
            return half
        case 5: return values { Int64(random.interestingUnsigned(width: bits)) }
        case 6: return values { Int64(random.next() % 1_000) }
        case 7:
            // A single large entry among small ones (most quantize to 0).
            var half = values { Int64(random.next() % 300) }
            half[Int(random.next() % UInt64(count))] = Int64(1 << 16) + Int64(random.next() % (1 << 20))
            return half
        default: return values { Int64(random.bits(bits)) }
        }
    }

    struct Group {
        var k1: Int, k2: Int
        /// Per tile: the row's k1 + k2 AP entries.
        var rows: [[Int64]]
        var denominators: [Int64]
        var loadChance: Double
        var readyChance: Double
    }

    static func group(_ unit: ProbabilityQuantizer, k1: Int, k2: Int, using random: inout SeededGenerator, gaps: Bool) -> Group {
        let rows = (0..<unit.tiles).map { _ in
            Self.half(count: k1, bits: unit.accumulatorBits, using: &random) + Self.half(count: k2, bits: unit.accumulatorBits, using: &random)
        }
        return Group(k1: k1, k2: k2, rows: rows, denominators: (0..<unit.tiles).map { _ in Int64(random.bits(unit.accumulatorBits)) },
                     loadChance: gaps ? 0.7 : 1, readyChance: gaps ? 0.6 : 1)
    }

    @Test(arguments: [(0, 10_000), (1, 1_000)])
    func matchesGoldenQuantization(shape: Int, rowCount: Int) throws {
        let unit = [Self.unit, Self.powerOfTwoBlocks][shape]
        let sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        let seed = SeededGenerator.testSeed(0x9A4E_0000 + UInt64(shape))
        var random = SeededGenerator(seed: seed)
        let K = unit.maximumClusters, lanes = unit.lanes

        var groups: [Group] = []
        for (k1, k2) in [(1, 1), (K, K), (1, K), (K, 1), (lanes, lanes), (2 * lanes, 3 * lanes), (lanes + 1, lanes - 1), (5, 7)] {
            groups.append(Self.group(unit, k1: k1, k2: k2, using: &random, gaps: false))
        }
        while groups.count * unit.tiles < rowCount {
            let sizes = [Int(random.next() % UInt64(K)) + 1, Int(random.next() % UInt64(K)) + 1]
            groups.append(Self.group(unit, k1: sizes[0], k2: sizes[1], using: &random, gaps: random.chance(0.5)))
        }

        for port in ["in_valid", "out_ready"] { sim.poke(port, false) }
        sim.reset()
        sim.eval()
        try #require(sim.peekBool("idle") && sim.peekBool("in_ready"), "not idle after reset")

        var cycle = 0
        var ties = 0, zeroHalves = 0, unitHalves = 0, equalHalves = 0, hugeHalves = 0, paddedRows = 0, rowsChecked = 0
        var cycleChecks = 0
        for (index, group) in groups.enumerated() {
            let label = "group \(index) (k1 \(group.k1), k2 \(group.k2))"
            sim.poke("k1", UInt64(group.k1))
            sim.poke("k2", UInt64(group.k2))
            let total = group.k1 + group.k2

            // The expected rows, in the unit's order: blocks in order, the tiles of a block in turn.
            let layout = CTAScoreLayout(k0: 1, k1: group.k1, k2: group.k2, dim: lanes)
            var expected: [[[Int64]]] = (0..<unit.tiles).map { _ in [[Int64]](repeating: [Int64](repeating: 0, count: lanes), count: layout.blocks) }
            for (tile, row) in group.rows.enumerated() {
                let halves = [row[..<group.k1], row[group.k1...]]
                let quantized = CTANumerics.quantizeProbabilities(halves[0]) + CTANumerics.quantizeProbabilities(halves[1])
                for (entry, value) in quantized.enumerated() {
                    let place = layout.entries[entry]
                    expected[tile][place.block][place.lane] = value
                }
                for half in halves {
                    let maximum = half.max()!
                    if maximum == 0 { zeroHalves += 1 }
                    if maximum == 1 { unitHalves += 1 }
                    if half.count > 1, half.allSatisfy({ $0 == maximum }) { equalHalves += 1 }
                    if maximum >= (1 << 25) { hugeHalves += 1 }
                    guard maximum > 0 else { continue }
                    let factor = Float(127) / Float(maximum)
                    for value in half {
                        let product = Float(value) * factor
                        if product - product.rounded(.down) == 0.5 { ties += 1 }
                    }
                }
            }
            var order: [(tile: Int, block: Int)] = []
            for block in 0..<layout.blocks { for tile in 0..<unit.tiles { order.append((tile, block)) } }
            paddedRows += unit.tiles * ((lanes - group.k1 % lanes) % lanes == 0 ? 0 : 1) + unit.tiles * ((lanes - group.k2 % lanes) % lanes == 0 ? 0 : 1)

            // Beats in, rows out; both ports driven every cycle.
            var sent = 0, received = 0
            var lastBeatCycle = -1, firstRowCycle = -1, lastRowCycle = -1
            while received < order.count {
                try #require(cycle < 1_000_000, "\(label): hangs; seed \(seed)")
                let valid = sent < total && (group.loadChance >= 1 || random.chance(group.loadChance))
                sim.poke("in_valid", valid)
                sim.poke("in_bits_entry", UInt64(valid ? sent : Int(random.next() % UInt64(2 * K))))
                sim.poke("in_bits_last", valid ? sent == total - 1 : random.chance(0.5))
                for tile in 0..<unit.tiles {
                    sim.poke("in_bits_values_\(tile)", valid ? UInt64(group.rows[tile][sent]) : random.bits(unit.accumulatorBits))
                    sim.poke("denominators_\(tile)", valid && sent == total - 1 ? UInt64(group.denominators[tile]) : random.bits(unit.accumulatorBits))
                }
                let ready = group.readyChance >= 1 || random.chance(group.readyChance)
                sim.poke("out_ready", ready)
                sim.eval()
                if sent < total {
                    try #require(sim.peekBool("in_ready"), "\(label): in not ready while entries remain (entry \(sent)); seed \(seed)")
                }
                if valid && sim.peekBool("in_ready") {
                    sent += 1
                    if sent == total { lastBeatCycle = cycle }
                }
                if sim.peekBool("out_valid") {
                    try #require(received < order.count, "\(label): more rows than \(order.count); seed \(seed)")
                    let (tile, block) = order[received]
                    let actualTile = Int(sim.peek("out_bits_tile")), actualBlock = Int(sim.peek("out_bits_block"))
                    try #require(actualTile == tile && actualBlock == block,
                                 "\(label): row \(received) is tile \(actualTile) block \(actualBlock), expected tile \(tile) block \(block); seed \(seed)")
                    let values = (0..<lanes).map { sim.peekSigned("out_bits_values_\($0)") }
                    try #require(values == expected[tile][block],
                                 "\(label): tile \(tile) block \(block): expected \(expected[tile][block]), got \(values) (entries \(group.rows[tile])); seed \(seed)")
                    if firstRowCycle < 0 { firstRowCycle = cycle }
                    if ready {
                        received += 1
                        rowsChecked += 1
                        lastRowCycle = cycle
                    }
                }
                sim.tick()
                cycle += 1
            }
            sim.poke("in_valid", false)
            sim.eval()
            try #require(sim.peekBool("idle") && sim.peekBool("in_ready"), "\(label): not idle after its rows; seed \(seed)")
            for tile in 0..<unit.tiles {
                let row = group.rows[tile]
                let maxima = [row[..<group.k1].max()!, row[group.k1...].max()!]
                let actual = [sim.peek("maximum_level_one_\(tile)"), sim.peek("maximum_level_two_\(tile)")].map { Int64($0) }
                try #require(actual == maxima, "\(label), tile \(tile): maxima \(actual), expected \(maxima); seed \(seed)")
                try #require(Int64(sim.peek("row_denominators_\(tile)")) == group.denominators[tile], "\(label), tile \(tile): denominator; seed \(seed)")
            }
            // Without gaps: the first row ProbabilityQuantizer.factorCycles after the last beat,
            // then one row per cycle, and ready for the next group in the cycle after the last.
            if group.loadChance >= 1 && group.readyChance >= 1 {
                try #require(firstRowCycle - lastBeatCycle == ProbabilityQuantizer.factorCycles,
                             "\(label): first row \(firstRowCycle - lastBeatCycle) cycles after the last beat; seed \(seed)")
                try #require(lastRowCycle - firstRowCycle == order.count - 1, "\(label): rows not one per cycle; seed \(seed)")
                cycleChecks += 1
            }
        }
        let minimum = rowCount / 50
        #expect(rowsChecked > rowCount && ties > minimum && zeroHalves > minimum && unitHalves > minimum && equalHalves > minimum
                    && hugeHalves > minimum && paddedRows > minimum && cycleChecks > minimum / 2,
                "coverage: \(rowsChecked) rows, \(ties) ties, halves with maximum 0: \(zeroHalves), 1: \(unitHalves), all equal: \(equalHalves), ≥ 2^25: \(hugeHalves); \(paddedRows) padded rows, \(cycleChecks) timed groups; seed \(seed)")
        print("\(unit.name): \(groups.count) groups, \(groups.count * unit.tiles) AP rows, \(rowsChecked) scratchpad rows in \(cycle) cycles; \(ties) ties, halves with maximum 0: \(zeroHalves), 1: \(unitHalves), all equal: \(equalHalves), ≥ 2^25: \(hugeHalves); \(paddedRows) padded rows")
    }

    @Test("Lint-clean, latch-free, compiles under Icarus")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(ProbabilityQuantizer(tiles: 2, lanes: 2, maximumClusters: 6, accumulatorBits: 10)))
    }

    /// The tested shape, and the `cta` preset's (8 tiles, DIM 16, K = 512, 26-bit entries) with
    /// its memories kept, for the counts docs/CTA-HARDWARE.md reports: run with
    /// SPINEL_CTA_UNITS_FULL_SIZE=1.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SPINEL_CTA_UNITS_FULL_SIZE"] == "1"), arguments: ["small", "cta"])
    func fullSize(size: String) throws {
        let unit = size == "cta" ? ProbabilityQuantizer(tiles: 8, lanes: 16, maximumClusters: 512, accumulatorBits: 26) : Self.unit
        let synthesis = try MemoriesKeptSynthesis(try Elaborator.elaborate(unit))
        let count = unit.memories.reduce(0) { $0 + $1.count }
        #expect(synthesis.memoryCount == count)
        #expect(synthesis.memoryBits == unit.memories.reduce(0) { $0 + $1.count * $1.words * $1.bits })
        #expect(synthesis.keptMemories == count, "every memory survives synthesis as a memory")
    }
}
