import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim
@testable import SpinelMapping
import Testing

/// One CTA head as one command program (CTAHeadMapping.swift): every product on the mesh through
/// LOOP_WS, every CTA step through the CTA commands, run on the golden model; the output rows and
/// CTA_STATUS's values in the final buffer must equal `CTAAttention.run` and its cluster counts,
/// which compose the golden CTA functions without any command.
@Suite("CTA head mapped onto the accelerator's commands")
struct CTAHeadMappingTests {
    static func smallCTA(_ name: String = "small-cta") throws -> AcceleratorConfig {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { directory.deleteLastPathComponent() }
        return try AcceleratorConfig.fromJSON(Data(contentsOf: directory.appendingPathComponent("Testbenches/configs/\(name).json")))
    }

    /// Tokens near a few prototypes (so that they cluster), l random directions per hash.
    static func head(n: Int, width: Int, d: Int, prototypes: Int, bucket: Double, l: Int, seed: UInt64) -> CTAHeadMapping.Head {
        var random = SeededGenerator(seed: seed)
        let centers = (0..<prototypes).map { _ in (0..<width).map { _ in Int64.random(in: -100...100, using: &random) } }
        let tokens = (0..<n).map { _ in
            centers[Int.random(in: 0..<prototypes, using: &random)].map { max(-128, min(127, $0 + Int64.random(in: -3...3, using: &random))) }
        }
        let hashes = (0..<3).map { level in
            let width = bucket * (level == 2 ? 0.25 : 1)
            let (multiplier, shift) = CTANumerics.reciprocal(ofWidth: width, bits: 16)
            return LocalitySensitiveHash(directions: (0..<l).map { _ in (0..<tokens[0].count).map { _ in Int64.random(in: -60...60, using: &random) } },
                                         offsets: (0..<l).map { _ in Int64(Double.random(in: 0..<width, using: &random)) },
                                         multiplier: multiplier, shift: shift)
        }
        func linear() -> CTAAttention.Linear {
            CTAAttention.Linear(weights: (0..<d).map { _ in (0..<width).map { _ in Int64.random(in: -50...50, using: &random) } },
                                bias: (0..<d).map { _ in Int64.random(in: -2000...2000, using: &random) })
        }
        return CTAHeadMapping.Head(tokens: tokens, hashes: hashes, query: linear(), key: linear(), value: linear(),
                                   scales: CTAAttention.Scales(query: 1 / 600, key: 1 / 700, value: 1 / 500, exponent: 0.2, output: 2))
    }

    /// small-cta, a head of 4 prototypes, and what `CTAAttention.run` makes of it.
    static func headCase(seed: UInt64, n: Int, width: Int, d: Int, prototypes: Int = 4, config name: String = "small-cta") throws
        -> (config: AcceleratorConfig, parameters: AcceleratorParameters, head: CTAHeadMapping.Head, expected: CTAAttention.Result) {
        let config = try smallCTA(name)
        let parameters = try config.parameters(), cta = try #require(config.cta)
        let head = head(n: n, width: width, d: d, prototypes: prototypes, bucket: 6_000, l: cta.hashLength, seed: seed)
        let expected = try CTAAttention.run(tokens: head.tokens, hashes: head.hashes, query: head.query, key: head.key, value: head.value,
                                            scales: head.scales, parameters: cta)
        return (config, parameters, head, expected)
    }

    @Test("the mapped head equals CTAAttention.run on the golden model",
          arguments: [(UInt64(1), 32, 8, 4, Int?.none), (2, 21, 6, 6, nil), (3, 32, 4, 3, nil), (4, 13, 9, 5, nil),
                      // CTA_PROBABILITIES in groups of 2 and 3 rows (the form that fits n = 512 at the cta preset).
                      (1, 32, 8, 4, 2), (4, 13, 9, 5, 3)])
    func goldenRun(seed: UInt64, n: Int, width: Int, d: Int, groupRows: Int?) throws {
        let (_, parameters, head, expected) = try Self.headCase(seed: seed, n: n, width: width, d: d)
        #expect(expected.clusterCounts[0] < n && expected.clusterCounts[1] < n, "the tokens cluster: \(expected.clusterCounts)")
        let mapped = try CTAHeadMapping.map(head, parameters: parameters, groupRows: groupRows)
        #expect(mapped.counts == expected.clusterCounts)
        let groups = mapped.program.program.instructions.filter { $0.funct == Funct.ctaProbabilities }.count
        // Groups of fewer than DIM rows: every row through DRAM; else a group per full tile of DIM
        // rows (aggregated in place) and one for the rest.
        let k0 = expected.clusterCounts[0], dim = parameters.dim
        #expect(groups == (groupRows.map { (k0 + $0 - 1) / $0 } ?? k0 / dim + (k0 % dim > 0 ? 1 : 0)), "k0 = \(k0)")
        let outcome = try ProgramExecution.golden(mapped.program, parameters: parameters, predictCycles: false)
        let image = outcome.image
        let output = (0..<n).map { row in (0..<d).map { Int64(Int8(bitPattern: image[mapped.output.offset + row * d + $0])) } }
        #expect(output == expected.output, "k = \(expected.clusterCounts)")
        // Not vacuous: the outputs are sizeable and differ between clusters.
        #expect(expected.output.joined().map(abs).max() ?? 0 >= 5 && Set(expected.compressedOutput).count > 1, "\(expected.compressedOutput)")
        func int32(_ offset: Int) -> Int64 {
            Int64(Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(image[offset + $1]) << (8 * UInt32($1)) }))
        }
        let counts = expected.clusterCounts.map(Int64.init)
        #expect((0..<4).map { int32(mapped.status[0] + 4 * $0) } == [counts[0], counts[1], -1, -1])
        #expect((0..<4).map { int32(mapped.status[1] + 4 * $0) } == [counts[0], counts[1], counts[2], -1])
    }

    /// The same program on the Verilated accelerator (small-cta): its trace replays on the
    /// golden model (every DMA write: the products, every CTA command's rows, the output rows in
    /// token order), the final DRAM buffer equals the golden model's, the output rows equal
    /// `CTAAttention.run`, and the timing model predicts the run's cycles exactly.
    @Test("the mapped head on the RTL", arguments: [(UInt64(5), 24, 6, 5, Int?.none), (6, 13, 9, 3, 2)])
    func rtlRun(seed: UInt64, n: Int, width: Int, d: Int, groupRows: Int?) throws {
        let (config, parameters, head, expected) = try Self.headCase(seed: seed, n: n, width: width, d: d)
        let mapped = try CTAHeadMapping.map(head, parameters: parameters, groupRows: groupRows)
        try Self.checkOnRTL(mapped, expected: expected, n: n, d: d, config: config, parameters: parameters, stem: "cta-head-\(seed)")
    }

    /// Many full tiles of compressed rows, aggregated in place by several score products, and a
    /// rest through DRAM: on small-cta-clearing (128 clusters), 64 tokens near 32 prototypes give
    /// k = (26, 26, 21): 6 tiles of 4 rows in products of 2 tiles (a score row is 13 blocks), then
    /// 2 rows. On the RTL as `rtlRun`.
    @Test("the mapped head on the RTL, several in-place products")
    func rtlRunManyTiles() throws {
        let (config, parameters, head, expected) = try Self.headCase(seed: 9, n: 64, width: 8, d: 6, prototypes: 32, config: "small-cta-clearing")
        let mapped = try CTAHeadMapping.map(head, parameters: parameters)
        let k0 = expected.clusterCounts[0], dim = parameters.dim
        let layout = CTAScoreLayout(k0: k0, k1: expected.clusterCounts[1], k2: expected.clusterCounts[2], dim: dim)
        let tilesPerProduct = min(parameters.accRows / 2 / dim / layout.blocks, parameters.spRows / 2 / dim - layout.blocks)
        #expect(k0 / dim > tilesPerProduct && tilesPerProduct >= 1 && k0 % dim > 0, "k = \(expected.clusterCounts), \(tilesPerProduct) tiles per product")
        let groups = mapped.program.program.instructions.filter { $0.funct == Funct.ctaProbabilities }.count
        #expect(groups == k0 / dim + 1)
        try Self.checkOnRTL(mapped, expected: expected, n: 64, d: 6, config: config, parameters: parameters, stem: "cta-head-tiles")
    }

    /// Runs `mapped` on the Verilated accelerator of `config`: the trace replays MATCH, the final
    /// DRAM buffer equals the golden model's, the timing model predicts the measured cycles, and
    /// the output rows equal `CTAAttention.run`'s.
    static func checkOnRTL(_ mapped: CTAHeadMapping.Mapped, expected: CTAAttention.Result, n: Int, d: Int, config: AcceleratorConfig,
                           parameters: AcceleratorParameters, stem: String) throws {
        let golden = try ProgramExecution.golden(mapped.program, parameters: parameters, predictCycles: false)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-cta-head-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
        let runner = try RTLRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource(in: root), directory: directory)
        let check = try runner.check(mapped.program, golden: golden, stem: stem)
        #expect(check.replay == .match, "\(check.firstProblem ?? "")")
        #expect(check.bufferMatches, "the final DRAM buffer")
        #expect(check.measuredCycles > 0 && check.predictedCycles == check.measuredCycles,
                "measured \(check.measuredCycles) cycles, the timing model \(String(describing: check.predictedCycles))")
        let output = (0..<n).map { row in (0..<d).map { Int64(Int8(bitPattern: golden.image[mapped.output.offset + row * d + $0])) } }
        #expect(output == expected.output, "k = \(expected.clusterCounts)")
    }
}
