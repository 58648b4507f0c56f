import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelISA
import SpinelSim
import Testing

// The centroid aggregation unit alone under Verilator against the golden functions
// `CentroidAggregation.sums`, `.centroids` and `.residuals` (docs/CTA-HARDWARE.md, "Centroid
// aggregation unit"). A workload is n token rows of any width with a cluster table; the bench
// drives it as the integration will, one column block of `lanes` at a time: an `accumulate`
// stream, an `average` read-out, a `residual` stream. Workloads run back to back in one
// simulator, so every stream meets the sums and centroids its predecessors left in the memories.

/// Token rows, their cluster table, and how to drive them.
struct CentroidWorkload: CustomStringConvertible {
    var label: String
    /// n rows of int8 values, all of one width (any width: the last block is padded).
    var rows: [[Int64]]
    var table: ClusterIndex.Table
    /// Probabilities of `in.valid` (while rows remain) and of `out.ready` in a cycle.
    var inValidChance = 1.0
    var outReadyChance = 1.0

    var description: String {
        "\(label): \(rows.count) rows of \(rows.first?.count ?? 0), \(table.count) clusters, in.valid \(inValidChance), out.ready \(outReadyChance)"
    }

    var backPressured: Bool { inValidChance < 1 || outReadyChance < 1 }
}

/// What one workload exercised.
struct CentroidCoverage: CustomStringConvertible {
    var rows = 0, residualRows = 0, centroids = 0
    /// Accumulated tokens whose id equals the previous token's (merged in the buffer), the one
    /// two back with another id between them in consecutive cycles (forwarded from the word just
    /// written back), three back with two others between (read right after its write-back).
    var merged = 0, forwarded = 0, revisitedThreeLater = 0
    /// Elements that saturated: centroids at −128 or 127 from a wider value, residuals.
    var saturatedAverages = 0, saturatedResiduals = 0

    mutating func add(_ other: CentroidCoverage) {
        rows += other.rows; residualRows += other.residualRows; centroids += other.centroids
        merged += other.merged; forwarded += other.forwarded; revisitedThreeLater += other.revisitedThreeLater
        saturatedAverages += other.saturatedAverages; saturatedResiduals += other.saturatedResiduals
    }

    var description: String {
        "\(rows) token rows accumulated, \(centroids) centroids, \(residualRows) residual rows; \(merged) merged, \(forwarded) forwarded, "
            + "\(revisitedThreeLater) revisited 3 later; saturated \(saturatedAverages) centroid and \(saturatedResiduals) residual elements"
    }
}

/// Drives a `CentroidAggregationUnit` under Verilator.
final class CentroidBench {
    let unit: CentroidAggregationUnit
    let sim: VerilatorSimulation
    var random: SeededGenerator

    struct Result {
        var id: Int
        var row: [Int64]
        var count: Int
        var sums: [Int64]
    }

    init(_ unit: CentroidAggregationUnit, seed: UInt64) throws {
        self.unit = unit
        sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        random = SeededGenerator(seed: seed)
        sim.poke("start", false)
        sim.poke("operation", 0)
        sim.poke("in_valid", false)
        sim.poke("out_ready", false)
        sim.reset()
    }

    /// `start` with `operation`, while idle: takes effect at once.
    func begin(_ operation: CentroidOperation) throws {
        sim.poke("start", true)
        sim.poke("operation", operation.rawValue)
        sim.eval()
        try #require(sim.peekBool("idle") && !sim.peekBool("in_ready"), "start while idle")
        sim.tick()
        sim.poke("start", false)
    }

    func pokeRow(_ row: [Int64], id: Int) {
        for (lane, value) in row.enumerated() { sim.poke("in_bits_row_\(lane)", Int(value)) }
        sim.poke("in_bits_id", id)
    }

    func pokeGarbage() {
        for lane in 0..<unit.lanes { sim.poke("in_bits_row_\(lane)", random.bits(8)) }
        sim.poke("in_bits_id", random.bits(unit.idBits))
    }

    func peekResult() -> Result {
        Result(id: Int(sim.peek("out_bits_id")), row: (0..<unit.lanes).map { sim.peekSigned("out_bits_row_\($0)") },
               count: Int(sim.peek("out_bits_count")), sums: (0..<unit.lanes).map { sim.peekSigned("out_bits_sums_\($0)") })
    }

    /// Feeds an `accumulate` stream; returns the cycle of each row's `in.fire`, the cycles
    /// in which a row waited with `in.ready` low, and the first cycle the unit is idle after.
    func accumulate(_ rows: [[Int64]], ids: [Int], inValidChance: Double) throws -> (fires: [Int], refusals: Int, idle: Int) {
        try begin(.accumulate)
        var fires: [Int] = [], refusals = 0
        let deadline = sim.cycle + 8 * rows.count + 100
        sim.poke("out_ready", false)
        while fires.count < rows.count {
            try #require(sim.cycle < deadline, "accumulate hangs after \(fires.count) rows")
            let valid = inValidChance >= 1 || random.chance(inValidChance)
            sim.poke("in_valid", valid)
            if valid { pokeRow(rows[fires.count], id: ids[fires.count]) } else { pokeGarbage() }
            sim.eval()
            if valid {
                if sim.peekBool("in_ready") { fires.append(sim.cycle) } else { refusals += 1 }
            }
            sim.tick()
        }
        sim.poke("in_valid", false)
        return (fires, refusals, try drain())
    }

    /// Runs `average`: the centroids of the clusters of the last accumulated stream, and the
    /// cycles from the `start` to the last `out.fire`, both included.
    func average(outReadyChance: Double) throws -> (results: [Result], span: Int) {
        let first = sim.cycle
        try begin(.average)
        let clusters = Int(sim.peek("clusters"))
        var results: [Result] = [], span = 0
        let deadline = sim.cycle + 8 * clusters + 100
        while results.count < clusters {
            try #require(sim.cycle < deadline, "average hangs after \(results.count) of \(clusters) centroids")
            let ready = outReadyChance >= 1 || random.chance(outReadyChance)
            sim.poke("out_ready", ready)
            sim.eval()
            try #require(!sim.peekBool("in_ready"), "no rows enter while averaging")
            if ready && sim.peekBool("out_valid") {
                results.append(peekResult())
                span = sim.cycle - first + 1
            }
            sim.tick()
        }
        sim.poke("out_ready", false)
        try drain()
        return (results, span)
    }

    /// Feeds a `residual` stream; returns the results in order, the cycles from the first
    /// `in.fire` to the last `out.fire`, and the refusals.
    func residual(_ rows: [[Int64]], ids: [Int], inValidChance: Double, outReadyChance: Double) throws
        -> (results: [Result], span: Int, refusals: Int) {
        try begin(.residual)
        var results: [Result] = [], sent = 0, refusals = 0, span = 0
        var firstIn: Int?
        let deadline = sim.cycle + 8 * rows.count + 100
        while results.count < rows.count {
            try #require(sim.cycle < deadline, "residual hangs after \(results.count) rows")
            let valid = sent < rows.count && (inValidChance >= 1 || random.chance(inValidChance))
            let ready = outReadyChance >= 1 || random.chance(outReadyChance)
            sim.poke("in_valid", valid)
            if valid { pokeRow(rows[sent], id: ids[sent]) } else { pokeGarbage() }
            sim.poke("out_ready", ready)
            sim.eval()
            if valid {
                if sim.peekBool("in_ready") {
                    sent += 1
                    if firstIn == nil { firstIn = sim.cycle }
                } else {
                    refusals += 1
                }
            }
            if ready && sim.peekBool("out_valid") {
                results.append(peekResult())
                span = sim.cycle - firstIn! + 1
            }
            sim.tick()
        }
        sim.poke("in_valid", false)
        sim.poke("out_ready", false)
        try drain()
        return (results, span, refusals)
    }

    /// Waits until nothing is in flight (a few cycles at most); returns that cycle.
    @discardableResult
    func drain() throws -> Int {
        for _ in 0..<(unit.latency + 2) {
            sim.eval()
            if sim.peekBool("idle") { return sim.cycle }
            sim.tick()
        }
        Issue.record("the unit is not idle \(unit.latency + 2) cycles after its last input")
        return sim.cycle
    }

    /// Runs `workload` block by block and compares every output with the golden functions.
    @discardableResult
    func check(_ workload: CentroidWorkload, seed: UInt64) throws -> CentroidCoverage {
        let context = "\(unit.name), \(workload), seed \(seed)"
        let fractionBits = unit.averageFractionBits
        let golden = CentroidAggregation.sums(workload.rows, table: workload.table)
        let centroids = CentroidAggregation.centroids(workload.rows, table: workload.table, fractionBits: fractionBits)
        let residuals = CentroidAggregation.residuals(workload.rows, centroids: centroids, table: workload.table)
        let ids = workload.table.ids
        let width = workload.rows[0].count
        var coverage = CentroidCoverage()
        for start in stride(from: 0, to: width, by: unit.lanes) {
            let columns = Array(start..<min(width, start + unit.lanes))
            let block = workload.rows.map { row in columns.map { row[$0] } + Array(repeating: 0, count: unit.lanes - columns.count) }

            let (fires, _, _) = try accumulate(block, ids: ids, inValidChance: workload.inValidChance)
            coverage.rows += block.count
            coverage.count(ids: ids, fires: fires)
            try #require(Int(sim.peek("clusters")) == workload.table.count, "clusters: \(sim.peek("clusters")); \(context)")
            try #require(!sim.peekBool("id_error"), "id_error; \(context)")

            let (averages, _) = try average(outReadyChance: workload.outReadyChance)
            coverage.centroids += averages.count
            for (cluster, result) in averages.enumerated() {
                let at = "cluster \(cluster), columns \(start)…; \(context)"
                try #require(result.id == cluster && result.count == golden.counts[cluster],
                             "id \(result.id), count \(result.count), expected \(golden.counts[cluster]); \(at)")
                for (lane, column) in columns.enumerated() {
                    let sum = golden.sums[cluster][column]
                    try #require(result.sums[lane] == sum, "lane \(lane) sum \(result.sums[lane]), expected \(sum); \(at)")
                    try #require(result.row[lane] == centroids[cluster][column],
                                 "lane \(lane) centroid \(result.row[lane]), expected \(centroids[cluster][column]) (sum \(sum)); \(at)")
                    let reciprocal = CTANumerics.averageReciprocal(count: golden.counts[cluster], fractionBits: fractionBits)
                    let rounded = Numerics.roundingRightShift(sum * reciprocal, by: fractionBits)
                    if rounded < -128 || rounded > 127 { coverage.saturatedAverages += 1 }
                }
            }

            let (out, _, _) = try residual(block, ids: ids, inValidChance: workload.inValidChance, outReadyChance: workload.outReadyChance)
            coverage.residualRows += out.count
            for (token, result) in out.enumerated() {
                try #require(result.id == ids[token], "token \(token): id \(result.id), expected \(ids[token]); \(context)")
                for (lane, column) in columns.enumerated() where result.row[lane] != residuals[token][column] {
                    Issue.record("token \(token), column \(column): residual \(result.row[lane]), expected \(residuals[token][column]); \(context)")
                    return coverage
                }
                for column in columns {
                    let difference = workload.rows[token][column] - centroids[ids[token]][column]
                    if difference < -128 || difference > 127 { coverage.saturatedResiduals += 1 }
                }
            }
        }
        return coverage
    }
}

extension CentroidCoverage {
    /// Classifies each accumulated token by the cycle-level case it meets in the unit.
    mutating func count(ids: [Int], fires: [Int]) {
        for token in ids.indices {
            if token >= 1 && ids[token] == ids[token - 1] {
                merged += 1
            } else if token >= 2 && ids[token] == ids[token - 2] && fires[token] == fires[token - 1] + 1 {
                forwarded += 1
            } else if token >= 3 && ids[token] == ids[token - 3] && ids[token - 1] != ids[token] && ids[token - 2] != ids[token]
                        && fires[token] == fires[token - 1] + 1 && fires[token - 1] == fires[token - 2] + 1 {
                revisitedThreeLater += 1
            }
        }
    }
}

/// Workload generators.
struct CentroidWorkloads {
    let unit: CentroidAggregationUnit
    var random: SeededGenerator

    func table(_ ids: [Int]) -> ClusterIndex.Table {
        ClusterIndex.Table(ids: ids, count: (ids.max() ?? -1) + 1, overflowToken: nil)
    }

    mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    /// Cluster ids in table order (each id seen before or the next one), at most `limit`
    /// clusters: a new cluster with probability `newChance`, otherwise the id one, two or three
    /// tokens back (the buffer, the bypass, the read after a write-back) or any earlier one.
    mutating func ids(_ tokens: Int, newChance: Double, limit: Int) -> [Int] {
        var ids: [Int] = [], clusters = 0
        for token in 0..<tokens {
            if clusters == 0 || (clusters < limit && random.chance(newChance)) {
                ids.append(clusters)
                clusters += 1
            } else {
                let back = 1 + below(4)
                ids.append(back <= 3 && token >= back ? ids[token - back] : below(clusters))
            }
        }
        return ids
    }

    /// A repeating pattern of `period` clusters (A B A B …, A B C A B C …).
    func cycling(_ tokens: Int, period: Int) -> [Int] { (0..<tokens).map { $0 % period } }

    enum Values { case uniform, lowest, highest, extremes, narrow }

    mutating func rows(_ tokens: Int, width: Int, _ values: Values) -> [[Int64]] {
        (0..<tokens).map { _ in
            (0..<width).map { _ in
                switch values {
                case .uniform: Int64(below(256)) - 128
                case .lowest: -128
                case .highest: 127
                case .extremes: random.chance(0.5) ? -128 : 127
                case .narrow: Int64(below(7)) - 3
                }
            }
        }
    }

    /// Extremes with a per-cluster bias, so a cluster's centroid sits near one end and its
    /// rows at the other end saturate the residual.
    mutating func biasedExtremes(_ ids: [Int], width: Int) -> [[Int64]] {
        let bias = (0...(ids.max() ?? 0)).map { _ in (0..<width).map { _ in random.chance(0.5) ? 0.9 : 0.1 } }
        return ids.map { id in (0..<width).map { random.chance(bias[id][$0]) ? 127 : -128 } }
    }
}

@Suite("Centroid aggregation unit under Verilator against CentroidAggregation", .serialized)
struct CentroidAggregationUnitTests {
    /// The `cta` preset's shape: DIM 16 lanes, n = K = 512, F_c = 16.
    static let cta = CentroidAggregationUnit(dim: try! AcceleratorParameters(.cta).dim, parameters: AcceleratorConfig.cta.cta!)
    /// Few lanes, K = 20 (not a power of two: an id can be out of range), n = 64, and F_c = 8,
    /// below the configuration's rule (log2 n + 7 = 13): the table's rounding then pushes
    /// averages of extreme rows past int8, so the centroid saturation is exercised.
    static let small = CentroidAggregationUnit(lanes: 4, maximumTokens: 64, maximumClusters: 20, averageFractionBits: 8)

    static func shape(_ name: String) -> CentroidAggregationUnit { name == "small" ? small : cta }

    @Test("Workloads of named and random streams, with back-pressure, back to back", arguments: ["cta", "small"])
    func workloads(shape: String) throws {
        let unit = Self.shape(shape)
        let seed = SeededGenerator.testSeed(0xCE47_0001)
        let bench = try CentroidBench(unit, seed: seed)
        var make = CentroidWorkloads(unit: unit, random: SeededGenerator(seed: seed ^ 0xFFFF))
        let n = unit.maximumTokens, k = unit.maximumClusters, lanes = unit.lanes

        var workloads: [CentroidWorkload] = []
        func add(_ label: String, _ ids: [Int], width: Int, _ values: CentroidWorkloads.Values, in inChance: Double = 1, out outChance: Double = 1) {
            workloads.append(.init(label: label, rows: make.rows(ids.count, width: width, values), table: make.table(ids),
                                   inValidChance: inChance, outReadyChance: outChance))
        }
        add("one cluster, all -128", Array(repeating: 0, count: n), width: lanes, .lowest)
        add("one cluster, all 127", Array(repeating: 0, count: n), width: lanes, .highest)
        add("all distinct, maximum clusters", Array(0..<min(n, k)), width: lanes, .uniform)
        add("37 tokens, 3 blocks", make.ids(37, newChance: 0.3, limit: k), width: 3 * lanes, .uniform)
        add("maximum clusters reached, revisited", make.ids(n, newChance: 0.5, limit: k), width: lanes + lanes / 2, .uniform)
        add("alternating A B", make.cycling(n, period: 2), width: lanes, .uniform)
        add("cycling A B C", make.cycling(n, period: 3), width: lanes, .uniform)
        add("cycling A B C, gaps", make.cycling(n, period: 3), width: lanes, .uniform, in: 0.6, out: 0.5)
        add("extremes", make.ids(n, newChance: 0.1, limit: k), width: 2 * lanes, .extremes)
        for (label, values) in [("all -128, 1..n tokens per cluster", CentroidWorkloads.Values.lowest), ("all 127, 1..n tokens per cluster", .highest)] {
            // Cluster c has c + 1 tokens: every count up to the stream's length meets the table.
            var ids: [Int] = []
            for cluster in 0..<k where ids.count + cluster + 1 <= n { ids += Array(repeating: cluster, count: cluster + 1) }
            add(label, ids, width: lanes, values)
        }
        let biased = make.ids(n, newChance: 0.05, limit: k)
        workloads.append(.init(label: "biased extremes", rows: make.biasedExtremes(biased, width: lanes), table: make.table(biased)))
        // Random workloads: half without gaps (every hazard at full rate), half with random
        // gaps on both sides.
        let rounds = shape == "small" ? 80 : 24
        for round in 0..<rounds {
            let length = 1 + make.below(n)
            let ids = make.ids(length, newChance: [0.02, 0.1, 0.3, 0.7][round % 4], limit: round % 5 == 4 ? 1 + make.below(k) : k)
            let width = [lanes, 2 * lanes, lanes + 1 + make.below(lanes)][round % 3]
            let values: CentroidWorkloads.Values = [.uniform, .uniform, .narrow, .extremes][(round / 3) % 4]
            let pressured = round % 2 == 1
            add("random \(round)", ids, width: width, values, in: pressured ? [0.5, 0.8, 0.3, 1.0][(round / 2) % 4] : 1,
                out: pressured ? [0.9, 0.4, 0.7, 0.5][(round / 8) % 4] : 1)
        }

        var total = CentroidCoverage(), backPressured = 0
        for workload in workloads {
            let coverage = try bench.check(workload, seed: seed)
            total.add(coverage)
            if workload.backPressured { backPressured += coverage.rows }
        }
        print("\(unit.name), seed \(seed): \(workloads.count) workloads; \(total); \(backPressured) rows with back-pressure")
        #expect(total.rows >= (shape == "small" ? 5_000 : 12_000) && total.residualRows == total.rows && backPressured >= 1_500,
                "coverage: \(total); seed \(seed)")
        #expect(total.merged >= 500 && total.forwarded >= 300 && total.revisitedThreeLater >= 100, "hazard coverage: \(total); seed \(seed)")
        #expect(total.saturatedResiduals >= 100, "residual saturation: \(total); seed \(seed)")
        if shape == "small" { #expect(total.saturatedAverages >= 10, "centroid saturation: \(total); seed \(seed)") }
    }

    @Test("One row per cycle: n rows take n cycles in, k centroids k + latency + 1, n residuals n + latency")
    func throughput() throws {
        let unit = Self.cta
        let seed = SeededGenerator.testSeed(0xCE47_0002)
        let bench = try CentroidBench(unit, seed: seed)
        var make = CentroidWorkloads(unit: unit, random: SeededGenerator(seed: seed))
        let n = unit.maximumTokens
        for (label, ids) in [("distinct", Array(0..<n)), ("revisits", make.ids(n, newChance: 0.2, limit: n)),
                             ("alternating", make.cycling(n, period: 2))] {
            let rows = make.rows(n, width: unit.lanes, .uniform)
            let table = make.table(ids)
            let (fires, refusals, idle) = try bench.accumulate(rows, ids: ids, inValidChance: 1)
            #expect(refusals == 0 && fires.last! - fires.first! + 1 == n, "\(label): accumulate took \(fires.last! - fires.first! + 1) cycles")
            // The `start` cycle, n rows, the last row's decide cycle: the next `start` is taken at once.
            #expect(idle - fires.first! + 1 == n + 2, "\(label): idle \(idle - fires.first! + 1) cycles after the first row's start")
            let (centroids, averageSpan) = try bench.average(outReadyChance: 1)
            let expected = CentroidAggregation.centroids(rows, table: table, fractionBits: unit.averageFractionBits)
            #expect(centroids.map(\.row) == expected, "\(label): centroids")
            #expect(averageSpan == table.count + unit.latency + 1, "\(label): \(table.count) centroids in \(averageSpan) cycles")
            let (residuals, span, residualRefusals) = try bench.residual(rows, ids: ids, inValidChance: 1, outReadyChance: 1)
            #expect(residuals.map(\.row) == CentroidAggregation.residuals(rows, centroids: expected, table: table), "\(label): residuals")
            #expect(residualRefusals == 0 && span == n + unit.latency, "\(label): \(n) residuals in \(span) cycles")
            print("\(unit.name) \(label): \(n) rows accumulated in \(fires.last! - fires.first! + 1) cycles, "
                  + "\(table.count) centroids in \(averageSpan) cycles from start, \(n) residuals in \(span) cycles (latency \(unit.latency))")
        }
    }

    @Test("An id out of table order is ignored and reported; a start waits for the drain")
    func idErrorsAndStart() throws {
        let unit = Self.small
        let bench = try CentroidBench(unit, seed: 11)
        let sim = bench.sim
        let row: [Int64] = [1, -2, 3, -4]
        // Ids 0, 1, 3 (skips 2): the third is ignored and raises id_error.
        _ = try bench.accumulate([row, row, row], ids: [0, 1, 3], inValidChance: 1)
        #expect(sim.peekBool("id_error") && sim.peek("clusters") == 2, "id 3 after 0, 1")
        let (centroids, _) = try bench.average(outReadyChance: 1)
        #expect(centroids.map(\.count) == [1, 1] && centroids.map(\.row) == [row, row], "the ignored row added nothing")
        // Id 20 ≥ K in a stream that has 20 clusters.
        _ = try bench.accumulate(Array(repeating: row, count: 21), ids: Array(0..<21), inValidChance: 1)
        #expect(sim.peekBool("id_error") && sim.peek("clusters") == 20, "id 20 with K = 20")
        // A residual of an unknown cluster.
        _ = try bench.residual([row], ids: [0], inValidChance: 1, outReadyChance: 1)
        #expect(!sim.peekBool("id_error"), "a start clears id_error")
        _ = try bench.accumulate([row], ids: [0], inValidChance: 1)
        _ = try bench.residual([row], ids: [1], inValidChance: 1, outReadyChance: 1)
        #expect(sim.peekBool("id_error"), "residual of cluster 1 of 1")

        // A start while results wait on `out`: in.ready stays low until they have left, and
        // the new operation begins after.
        _ = try bench.accumulate([row, row, row], ids: [0, 1, 2], inValidChance: 1)
        try bench.begin(.average)
        for _ in 0..<6 { sim.tick() }  // the three centroids wait in the pipeline
        sim.poke("start", true)
        sim.poke("operation", CentroidOperation.residual.rawValue)
        sim.tick()
        sim.poke("start", false)
        sim.poke("operation", CentroidOperation.accumulate.rawValue)
        var taken = 0
        sim.poke("out_ready", true)
        for _ in 0..<10 {
            sim.eval()
            if sim.peekBool("in_ready") { break }
            if sim.peekBool("out_valid") { taken += 1 }
            sim.tick()
        }
        sim.poke("out_ready", false)
        #expect(sim.peekBool("in_ready") && taken == 3 && sim.peek("clusters") == 3, "taken \(taken): the pending start is a residual pass")
    }

    @Test("The unit is lint-clean, latch-free and compiles under Icarus (small shape)")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(Self.small))
    }

    /// The `cta` shape is lint-clean and compiles under Icarus, and Yosys keeps its two memories
    /// as memories. Prints the cell counts docs/CTA-HARDWARE.md reports.
    @Test("The cta shape: lint-clean, Icarus, memories stay memories in Yosys")
    func memoriesStayMemories() throws {
        let unit = Self.cta
        let synthesis = try MemoriesKeptSynthesis(try Elaborator.elaborate(unit))
        #expect(synthesis.memoryCount == 2)
        #expect(synthesis.memoryBits == unit.memories.reduce(0) { $0 + $1.words * $1.bits })
        #expect(synthesis.keptMemories == 2, "both memories survive synthesis as memories")
        let flipFlops = synthesis.flipFlops.reduce(0, +)
        #expect(flipFlops < 1_600, "flip-flops: \(flipFlops) (\(synthesis.flipFlops))")
    }
}
