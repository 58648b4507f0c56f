import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelISA
import SpinelSim
import Testing

// The probability aggregation unit alone under Verilator against the golden function
// `ProbabilityAggregation` (docs/CTA-HARDWARE.md, "Probability aggregation unit"). Every AP entry
// of every compressed query row and every denominator must equal the golden one; the cycles of
// each row group must follow the documented formula. Runs go back to back in one simulator, so
// every run meets the AP memories as the previous run's read-out left them.

/// One aggregation: k0 score rows, the two cluster tables, λ, and how to drive it.
struct AggregationCase: CustomStringConvertible {
    var label: String
    var scores: [[Int64]]
    var levelOne: ClusterIndex.Table
    var levelTwo: ClusterIndex.Table
    var lambda: Float
    /// Probabilities of `valid` on the load ports (while beats remain) and of `out.ready`.
    var loadChance = 1.0
    var readyChance = 1.0

    var n: Int { levelOne.ids.count }
    var k1: Int { levelOne.count }
    var k2: Int { levelTwo.count }
    var description: String {
        "\(label): k0 \(scores.count), k1 \(k1), k2 \(k2), n \(n), λ \(lambda), load \(loadChance), ready \(readyChance)"
    }
}

/// What the unit produced for one case.
struct AggregationRun {
    var rows: [[Int64]] = []
    var denominators: [Int64] = []
    /// Per row group: cycles from the `start` cycle to the first and to the last `out` beat.
    var firstBeat: [Int] = []
    var lastBeat: [Int] = []
    var tokenBeats = 0, scoreBeats = 0
    var tokenCycles = 0, scoreCycles = 0
}

/// Drives a `ProbabilityAggregationUnit` under Verilator.
final class AggregationBench {
    let unit: ProbabilityAggregationUnit
    let sim: VerilatorSimulation
    var random: SeededGenerator
    /// Cycles from reset to `idle` (the clear of the AP memories).
    var clearCycles = 0

    init(_ unit: ProbabilityAggregationUnit, seed: UInt64) throws {
        self.unit = unit
        sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        random = SeededGenerator(seed: seed)
        for port in ["start", "tokens_valid", "scores_valid", "out_ready"] { sim.poke(port, false) }
        sim.reset()
        sim.eval()
        while !sim.peekBool("idle") {
            clearCycles += 1
            try #require(clearCycles <= 4 * unit.maximumClusters + 10, "never idle after reset")
            sim.tick()
            sim.eval()
        }
    }

    /// Presents `beats` on a Decoupled port (`valid` with probability `chance`, garbage when not
    /// valid); returns the cycles taken.
    func load(_ port: String, _ beats: [[(String, BigInteger)]], chance: Double) throws -> Int {
        var sent = 0, cycles = 0
        let garbage = beats.first ?? []
        while sent < beats.count {
            cycles += 1
            try #require(cycles < 20 * beats.count + 100, "\(port) never ready")
            let valid = chance >= 1 || random.chance(chance)
            sim.poke("\(port)_valid", valid)
            for (field, value) in valid ? beats[sent] : garbage {
                sim.poke("\(port)_bits_\(field)", valid ? value : BigInteger(random.next()))
            }
            sim.eval()
            if valid && sim.peekBool("\(port)_ready") { sent += 1 }
            sim.tick()
        }
        sim.poke("\(port)_valid", false)
        return cycles
    }

    func run(_ test: AggregationCase) throws -> AggregationRun {
        let lanes = unit.lanes, k1 = test.k1, k2 = test.k2
        var result = AggregationRun()
        sim.poke("k1", k1)
        sim.poke("k2", k2)
        sim.poke("n", test.n)
        sim.poke("lambda", UInt64(test.lambda.bitPattern))

        // The cluster tables, in a random order (the index is on the port).
        let tokenBeats = zip(test.levelOne.ids, test.levelTwo.ids).enumerated().map { index, ids in
            [("index", BigInteger(index)), ("level_one", BigInteger(ids.0)), ("level_two", BigInteger(ids.1))]
        }.shuffled(using: &random)
        result.tokenBeats = tokenBeats.count
        result.tokenCycles = try load("tokens", tokenBeats, chance: test.loadChance)

        let k0 = test.scores.count
        result.rows = Array(repeating: Array(repeating: -1, count: k1 + k2), count: k0)
        result.denominators = Array(repeating: -1, count: k0)
        for group in stride(from: 0, to: k0, by: unit.tiles) {
            let rows = Array(group..<min(group + unit.tiles, k0))
            // Each row's two halves in chunks of `lanes`; entries past k1 (k2) carry garbage.
            var beats: [[(String, BigInteger)]] = []
            for (tile, q) in rows.enumerated() {
                for (level, half) in [test.scores[q][..<k1], test.scores[q][k1...]].enumerated() {
                    let values = Array(half)
                    for chunk in 0..<((values.count + lanes - 1) / lanes) {
                        var beat: [(String, BigInteger)] = [("tile", BigInteger(tile)), ("level_two", BigInteger(level)),
                                                            ("chunk", BigInteger(chunk))]
                        for lane in 0..<lanes {
                            let entry = chunk * lanes + lane
                            let value = entry < values.count ? values[entry] : Int64(Int32(truncatingIfNeeded: random.next()))
                            beat.append(("values_\(lane)", BigInteger(Int(value))))
                        }
                        beats.append(beat)
                    }
                }
            }
            beats.shuffle(using: &random)
            result.scoreBeats += beats.count
            result.scoreCycles += try load("scores", beats, chance: test.loadChance)

            sim.eval()
            try #require(sim.peekBool("idle"), "idle before start: \(test)")
            sim.poke("start", true)
            sim.tick()
            sim.poke("start", false)
            let start = sim.cycle - 1
            var expected = 0
            while expected < k1 + k2 {
                try #require(sim.cycle - start < 20 * (test.n + k1 + k2) + 100, "no AP entry \(expected) of group \(group): \(test)")
                let ready = test.readyChance >= 1 || random.chance(test.readyChance)
                sim.poke("out_ready", ready)
                sim.eval()
                if ready && sim.peekBool("out_valid") {
                    let entry = Int(sim.peek("out_bits_entry"))
                    try #require(entry == expected, "entry \(entry), expected \(expected): \(test)")
                    try #require(sim.peekBool("out_bits_last") == (entry == k1 + k2 - 1), "last on entry \(entry): \(test)")
                    if entry == 0 {
                        result.firstBeat.append(sim.cycle - start)
                        for (tile, q) in rows.enumerated() { result.denominators[q] = Int64(sim.peek("denominators_\(tile)")) }
                    }
                    for (tile, q) in rows.enumerated() { result.rows[q][entry] = Int64(sim.peek("out_bits_values_\(tile)")) }
                    expected += 1
                    if expected == k1 + k2 { result.lastBeat.append(sim.cycle - start) }
                }
                sim.tick()
            }
            sim.poke("out_ready", false)
            sim.eval()
            try #require(sim.peekBool("idle") && !sim.peekBool("out_valid"), "idle after the read-out: \(test)")
        }
        return result
    }

    /// Runs `test` and compares every AP entry and denominator with `ProbabilityAggregation`.
    @discardableResult
    func check(_ test: AggregationCase, seed: UInt64) throws -> AggregationRun {
        let run = try run(test)
        let golden = ProbabilityAggregation(scores: test.scores, levelOne: test.levelOne, levelTwo: test.levelTwo,
                                            exponentFactor: test.lambda, expTable: unit.expTable, tiles: unit.tiles)
        let context = "\(unit.name), \(test), seed \(seed)"
        for q in 0..<test.scores.count {
            for entry in 0..<(test.k1 + test.k2) where run.rows[q][entry] != golden.rows[q][entry] {
                Issue.record("AP[\(q)][\(entry)] = \(run.rows[q][entry]), expected \(golden.rows[q][entry]); \(context)")
                throw AggregationMismatch()
            }
            try #require(run.denominators[q] == golden.denominators[q],
                         "denominator \(q): \(run.denominators[q]), expected \(golden.denominators[q]); \(context)")
        }
        return run
    }
}

struct AggregationMismatch: Error {}

/// Cases: score rows, cluster tables and λ.
struct AggregationCases {
    let unit: ProbabilityAggregationUnit
    var random: SeededGenerator

    mutating func uniform(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// λ from 2^-12 to 2^12, log-uniform.
    mutating func lambda() -> Float { Float(exp2(Double(uniform(-12_000...12_000)) / 1000)) }

    /// Score rows whose sums spread over about `spread` exponent units below the bound (the
    /// table's useful range is 17·256 units at the default table), around a random centre.
    mutating func scores(rows: Int, width: Int, lambda: Float, spread: Double = 3000) -> [[Int64]] {
        let range = Int64(min(max(spread / Double(lambda) / 2, 1), 1e9))
        return (0..<rows).map { _ in
            let centre = uniform(-1_000_000_000...1_000_000_000)
            return (0..<width).map { _ in max(Int64(Int32.min), min(Int64(Int32.max), centre + uniform(-range...range))) }
        }
    }

    /// A cluster table of `n` tokens and `k` clusters (each used at least once if n ≥ k):
    /// ids in first-appearance order, then tokens drawn from recent clusters (consecutive tokens
    /// often share an id) or any cluster.
    mutating func table(n: Int, clusters k: Int, repeats: Double = 0.5) -> ClusterIndex.Table {
        var ids: [Int] = []
        var next = 0
        for token in 0..<n {
            let remaining = n - token
            if next < k && (remaining <= k - next || next == 0 || random.chance(0.3)) {
                ids.append(next)
                next += 1
            } else if random.chance(repeats), let last = ids.last {
                ids.append(random.chance(0.5) || ids.count < 2 ? last : ids[ids.count - 2])
            } else {
                ids.append(Int(random.next() % UInt64(next)))
            }
        }
        return ClusterIndex.Table(ids: ids, count: next, overflowToken: nil)
    }

    /// Random ids in 0 ..< k, in any order.
    mutating func scattered(n: Int, clusters k: Int) -> ClusterIndex.Table {
        ClusterIndex.Table(ids: (0..<n).map { _ in Int(random.next() % UInt64(k)) }, count: k, overflowToken: nil)
    }

    /// Pairs of the pipeline hit the same entries: patterns AABB (both tokens of a pair), ABAB
    /// (token j and j + 2), AAAA.
    mutating func patterned(n: Int, clusters k: Int) -> ClusterIndex.Table {
        var ids: [Int] = []
        while ids.count < n {
            let a = Int(random.next() % UInt64(k)), b = Int(random.next() % UInt64(k))
            let pattern: [Int]
            switch random.next() % 4 {
            case 0: pattern = [a, a, b, b]
            case 1: pattern = [a, b, a, b]
            case 2: pattern = [a, a, a, a]
            default: pattern = [a, b, b, a]
            }
            ids.append(contentsOf: pattern)
        }
        return ClusterIndex.Table(ids: Array(ids.prefix(n)), count: k, overflowToken: nil)
    }
}

/// How often the cases meet what the unit's structure must get right, counted on the inputs.
struct AggregationCoverage: CustomStringConvertible {
    /// Both tokens of a pair hit the same level-1 entry, the same level-2 entry, or both.
    var pairSameOne = 0, pairSameTwo = 0, pairSameBoth = 0
    /// Token j and token j + 2 (the same slot in consecutive cycles) hit the same entry.
    var forwardOne = 0, forwardTwo = 0
    /// Exponentials equal to table[0] (the sum is the bound), and exponentials that are 0.
    var atBound = 0, underflows = 0
    var rowTokens = 0, tokens = 0

    mutating func add(_ test: AggregationCase, table: [Int64]) {
        let one = test.levelOne.ids, two = test.levelTwo.ids, n = test.n
        tokens += n
        rowTokens += n * test.scores.count
        for j in stride(from: 0, to: n - 1, by: 2) {
            let sameOne = one[j] == one[j + 1], sameTwo = two[j] == two[j + 1]
            if sameOne && sameTwo { pairSameBoth += test.scores.count }
            else if sameOne { pairSameOne += test.scores.count }
            else if sameTwo { pairSameTwo += test.scores.count }
        }
        for j in 0..<max(0, n - 2) {
            if one[j] == one[j + 2] { forwardOne += test.scores.count }
            if two[j] == two[j + 2] { forwardTwo += test.scores.count }
        }
        for row in test.scores {
            let bound = CTANumerics.rowBound(row, levelOneClusters: test.k1)
            for j in 0..<n {
                let z = row[one[j]] + row[test.k1 + two[j]] - bound
                let e = CTANumerics.exp(CTANumerics.exponent(z, factor: test.lambda), table: table)
                if z == 0 { atBound += 1 }
                if e == 0 { underflows += 1 }
            }
        }
    }

    var description: String {
        "pairs sharing x1 \(pairSameOne), x2 \(pairSameTwo), both \(pairSameBoth); j and j+2 sharing x1 \(forwardOne), x2 \(forwardTwo); "
            + "sums at the bound \(atBound), exponentials 0 \(underflows); \(tokens) key tokens, \(rowTokens) (row, token) pairs"
    }
}

@Suite("Probability aggregation unit under Verilator against ProbabilityAggregation", .serialized)
struct ProbabilityAggregationUnitTests {
    /// The `cta` preset's exponential table (256 entries of 16 bits) on a small unit: 2 tiles,
    /// 4 scores per load beat, n ≤ 128, K = 45 (not a multiple of the beat).
    static let table = CTANumerics.expTable(entries: 256, entryBits: 16)
    static let small = ProbabilityAggregationUnit(tiles: 2, lanes: 4, maximumTokens: 128, maximumClusters: 45,
                                                  expTable: table, expTableBits: 16)
    /// The documented pipeline latency (docs/CTA-HARDWARE.md): table, scores, sum, two scale
    /// stages, exp table, accumulate.
    static let documentedLatency = 6

    @Test("Every AP entry and denominator against the golden function, corner cases and random runs with back-pressure")
    func againstGolden() throws {
        let unit = Self.small
        let seed = SeededGenerator.testSeed(0x9A6_0001)
        let bench = try AggregationBench(unit, seed: seed)
        #expect(bench.clearCycles == unit.maximumClusters, "clear after reset: \(bench.clearCycles) cycles")
        var cases = AggregationCases(unit: unit, random: SeededGenerator(seed: seed ^ 0x5555))
        let n = unit.maximumTokens, k = unit.maximumClusters
        var tests: [AggregationCase] = []

        func add(_ label: String, k0: Int, one: ClusterIndex.Table, two: ClusterIndex.Table, lambda: Float? = nil,
                 spread: Double = 3000, load: Double = 1, ready: Double = 1) {
            let λ = lambda ?? cases.lambda()
            tests.append(AggregationCase(label: label, scores: cases.scores(rows: k0, width: one.count + two.count, lambda: λ, spread: spread),
                                         levelOne: one, levelTwo: two, lambda: λ, loadChance: load, readyChance: ready))
        }
        let ones = ClusterIndex.Table(ids: Array(repeating: 0, count: n), count: 1, overflowToken: nil)
        add("all tokens one cluster", k0: 3, one: ones, two: ones)
        add("all tokens one cluster, back-pressure", k0: 2, one: ones, two: ones, load: 0.5, ready: 0.4)
        let distinct = ClusterIndex.Table(ids: Array(0..<k), count: k, overflowToken: nil)
        let single = ClusterIndex.Table(ids: Array(repeating: 0, count: k), count: 1, overflowToken: nil)
        add("all distinct (k1 = n = K), k2 = 1", k0: 4, one: distinct, two: single)
        add("k2 = 1", k0: 3, one: cases.table(n: n, clusters: 20), two: ClusterIndex.Table(ids: Array(repeating: 0, count: n), count: 1, overflowToken: nil))
        add("maximum clusters (k1 = k2 = K)", k0: 5, one: cases.table(n: n, clusters: k), two: cases.scattered(n: n, clusters: k))
        add("maximum clusters, back-pressure", k0: 3, one: cases.scattered(n: n, clusters: k), two: cases.table(n: n, clusters: k),
            load: 0.6, ready: 0.5)
        add("n = 1", k0: 1, one: cases.table(n: 1, clusters: 1), two: cases.table(n: 1, clusters: 1))
        add("n = 2", k0: 3, one: cases.table(n: 2, clusters: 2), two: cases.table(n: 2, clusters: 1))
        add("n = 37 (odd, not a multiple of the beat), k0 = 3", k0: 3, one: cases.table(n: 37, clusters: 11), two: cases.table(n: 37, clusters: 5))
        add("n = 127, k0 = 5", k0: 5, one: cases.table(n: 127, clusters: 30), two: cases.table(n: 127, clusters: 9))
        add("pairs and j, j + 2 on the same entries", k0: 3, one: cases.patterned(n: n, clusters: 3), two: cases.patterned(n: n, clusters: 2))
        add("same entries, few clusters, back-pressure", k0: 2, one: cases.patterned(n: 99, clusters: 2), two: cases.patterned(n: 99, clusters: 1),
            load: 0.7, ready: 0.6)
        add("scores far below the bound (most exponentials 0)", k0: 3, one: cases.table(n: n, clusters: 25), two: cases.table(n: n, clusters: 10),
            spread: 200_000)
        add("scores at the bound (every sum 0)", k0: 2, one: ones, two: ones, spread: 0)
        add("λ = smallest subnormal", k0: 2, one: cases.table(n: 64, clusters: 12), two: cases.table(n: 64, clusters: 4),
            lambda: .leastNonzeroMagnitude)
        add("λ = largest finite", k0: 2, one: cases.table(n: 64, clusters: 12), two: cases.table(n: 64, clusters: 4),
            lambda: .greatestFiniteMagnitude)
        add("λ = 2^-40", k0: 3, one: cases.table(n: 90, clusters: 30), two: cases.table(n: 90, clusters: 6), lambda: 0x1p-40)
        add("λ = 2^40", k0: 3, one: cases.table(n: 90, clusters: 30), two: cases.table(n: 90, clusters: 6), lambda: 0x1p40)
        // Int32 extremes: sums of −2^31 and 2^31 − 1, the bound at its widest.
        var extremes = AggregationCase(label: "int32 extremes", scores: [], levelOne: cases.table(n: 80, clusters: 9),
                                       levelTwo: cases.table(n: 80, clusters: 7), lambda: 1)
        extremes.scores = (0..<3).map { _ in (0..<16).map { _ in [Int64(Int32.min), Int64(Int32.max), 0, -1][Int(cases.random.next() % 4)] } }
        tests.append(extremes)
        for round in 0..<120 {
            let tokens = 40 + Int(cases.random.next() % UInt64(n - 39))
            let k1 = 1 + Int(cases.random.next() % UInt64(min(k, tokens)))
            let k2 = 1 + Int(cases.random.next() % UInt64(min(k, tokens, 12)))
            let k0 = 1 + Int(cases.random.next() % 5)
            let one = round % 3 == 2 ? cases.patterned(n: tokens, clusters: k1) : cases.table(n: tokens, clusters: k1, repeats: 0.6)
            let two = round % 4 == 3 ? cases.scattered(n: tokens, clusters: k2) : cases.table(n: tokens, clusters: k2)
            let pressured = round % 2 == 1
            add("random \(round)", k0: k0, one: one, two: two, spread: [3000, 300, 30_000][round % 3],
                load: pressured ? [0.5, 0.8][(round / 2) % 2] : 1, ready: pressured ? [0.9, 0.4, 0.7][(round / 2) % 3] : 1)
        }

        var coverage = AggregationCoverage()
        var groups = 0
        for test in tests {
            let run = try bench.check(test, seed: seed)
            coverage.add(test, table: unit.expTable)
            groups += run.firstBeat.count
            // Loads: one beat per cycle without gaps.
            if test.loadChance >= 1 {
                #expect(run.tokenCycles == test.n && run.scoreCycles == run.scoreBeats, "load cycles: \(test)")
            }
        }
        print("\(unit.name), seed \(seed): \(tests.count) cases, \(groups) row groups; \(coverage)")
        #expect(coverage.tokens >= 10_000 && coverage.rowTokens >= 10_000, "size; seed \(seed)")
        #expect(coverage.pairSameOne >= 500 && coverage.pairSameTwo >= 500 && coverage.pairSameBoth >= 500, "\(coverage)")
        #expect(coverage.forwardOne >= 1000 && coverage.forwardTwo >= 1000 && coverage.atBound >= 200 && coverage.underflows >= 1000,
                "\(coverage)")
    }

    @Test("Cycles: loads one beat per cycle, a row group ⌈n/2⌉ + latency + k1 + k2 + 2 cycles from start to its last AP entry")
    func cycles() throws {
        let unit = Self.small
        #expect(unit.latency == Self.documentedLatency)
        let seed = SeededGenerator.testSeed(0x9A6_0002)
        let bench = try AggregationBench(unit, seed: seed)
        var cases = AggregationCases(unit: unit, random: SeededGenerator(seed: seed))
        for (n, k1, k2, k0) in [(128, 45, 45, 4), (127, 30, 7, 3), (1, 1, 1, 1), (64, 5, 3, 2), (37, 37, 1, 5)] {
            let λ = cases.lambda()
            let one = cases.table(n: n, clusters: k1), two = cases.table(n: n, clusters: k2)
            let test = AggregationCase(label: "n \(n)", scores: cases.scores(rows: k0, width: k1 + k2, lambda: λ),
                                       levelOne: one, levelTwo: two, lambda: λ)
            let run = try bench.check(test, seed: seed)
            let golden = ProbabilityAggregation(scores: test.scores, levelOne: one, levelTwo: two, exponentFactor: λ,
                                                expTable: unit.expTable, tiles: unit.tiles)
            let groups = (k0 + unit.tiles - 1) / unit.tiles, pairs = (n + 1) / 2
            let chunks = (k1 + unit.lanes - 1) / unit.lanes + (k2 + unit.lanes - 1) / unit.lanes
            print("n \(n), k1 \(k1), k2 \(k2), k0 \(k0): tokens \(run.tokenCycles) cycles, scores \(run.scoreCycles) cycles, "
                  + "groups: first AP entry \(run.firstBeat), last \(run.lastBeat) cycles after start; golden inner loop \(golden.cycles)")
            #expect(golden.cycles == groups * pairs)
            #expect(run.tokenCycles == n && run.scoreCycles == k0 * chunks)
            #expect(run.firstBeat == Array(repeating: pairs + Self.documentedLatency + 2, count: groups))
            #expect(run.lastBeat == Array(repeating: pairs + Self.documentedLatency + k1 + k2 + 1, count: groups))
        }
    }

    /// The `cta` preset's unit: 8 tiles, DIM 16, n = K = 512, the 256 × 16 table.
    static func preset() throws -> ProbabilityAggregationUnit {
        let config = AcceleratorConfig.cta
        let parameters = try #require(config.cta)
        let unit = ProbabilityAggregationUnit(parameters, dim: try config.parameters().dim,
                                              expTable: CTANumerics.expTable(entries: parameters.expTableEntries, entryBits: parameters.expTableBits))
        #expect(unit.accumulatorBits == parameters.probabilityAccumulatorBits)
        return unit
    }

    /// Lint and Icarus on the full size, and Yosys with the memories kept as memories (the
    /// full `synth` in `outputQuality` maps them to flip-flops). Prints the cell counts
    /// docs/CTA-HARDWARE.md reports.
    /// A tiny unit: 2 tiles, 2 scores per beat, n ≤ 16, K = 6, a 16 × 8 table.
    static let tiny = ProbabilityAggregationUnit(tiles: 2, lanes: 2, maximumTokens: 16, maximumClusters: 6,
                                                 expTable: CTANumerics.expTable(entries: 16, entryBits: 8), expTableBits: 8)

    @Test("Memories stay memories in Yosys, no latches, lint-clean, Icarus (a tiny unit)")
    func memoriesStayMemories() throws {
        try checkKeepingMemories(Self.tiny)
    }

    /// The tested size (about 50 s of Yosys) and the `cta` preset's (about 4 minutes): run with
    /// SPINEL_PAG_FULL_SIZE=1. These print the cell counts docs/CTA-HARDWARE.md reports.
    @Test("The same at the tested size and at the cta preset's (8 tiles, DIM 16, n = K = 512)",
          .enabled(if: ProcessInfo.processInfo.environment["SPINEL_PAG_FULL_SIZE"] == "1"), arguments: ["small", "cta"])
    func fullSize(size: String) throws {
        try checkKeepingMemories(size == "cta" ? try Self.preset() : Self.small)
    }

    func checkKeepingMemories(_ unit: ProbabilityAggregationUnit) throws {
        let synthesis = try MemoriesKeptSynthesis(try Elaborator.elaborate(unit))
        let count = unit.memories.reduce(0) { $0 + $1.count }
        #expect(synthesis.memoryCount == count)
        #expect(synthesis.memoryBits == unit.memories.reduce(0) { $0 + $1.count * $1.words * $1.bits })
        #expect(synthesis.keptMemories == count, "every memory survives synthesis as a memory")
    }

    /// The full gate-level `synth` (memories mapped to flip-flops), as for the other blocks.
    @Test("A tiny unit is lint-clean, latch-free and compiles under Icarus")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(Self.tiny))
    }
}
