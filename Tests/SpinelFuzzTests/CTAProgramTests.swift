import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim
import Testing

/// The CTA commands the RTL runs (all six: CTA_CONFIG, CTA_CLUSTER, CTA_AGGREGATE, CTA_PROBABILITIES, CTA_GATHER,
/// CTA_STATUS) on the small CTA
/// configuration (Testbenches/configs/small-cta.json: DIM 4, l = 3, 4-bit codes, at most 8
/// clusters), in hand-written programs: each runs on the Verilated accelerator, its harness
/// trace replays on the golden model (every DMA write, the final error) and the timing model
/// predicts every command's retire cycle exactly. The golden model's own results (counts,
/// errors) are checked too, so that each program tests what its name says.
@Suite("CTA commands: RTL vs golden model and timing model")
struct CTAProgramTests {
    static let config = Result { try AcceleratorConfig.fromJSON(Data(contentsOf: root().appendingPathComponent("Testbenches/configs/small-cta.json"))) }
    static let runner = Result { try DifferentialRunner(config: config.get(), runnerSource: DifferentialRunner.defaultRunnerSource()) }

    static func root(_ file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }

    /// A program under construction: accumulator rows come in from DRAM, status rows go out.
    struct Builder {
        static let dim = 4, accumulatorBit: UInt64 = 1 << 31, fullWidthBit: UInt64 = 1 << 29
        var dram = [UInt8](repeating: 0, count: 16384)
        var steps: [CommandProgram.Step] = []
        var dataOffset = 0
        /// Where the status and scratchpad rows go, one 16-byte row after another.
        var outputOffset = 8192

        init() {
            let one = UInt64(Float(1).bitPattern) << 32
            // CONFIG_LD: rows of DIM int32 (16 bytes apart); CONFIG_ST: the same stride.
            command(Funct.config, 1 | UInt64(Self.dim) << 16 | one, UInt64(4 * Self.dim))
            command(Funct.config, 2, one | UInt64(4 * Self.dim))
        }

        mutating func command(_ funct: UInt8, _ rs1: UInt64, _ rs2: UInt64, rs1IsDRAM: Bool = false) {
            steps.append(.command(CommandProgram.Instruction(funct: funct, rs1: rs1, rs2: rs2, rs1IsDRAM: rs1IsDRAM)))
        }

        /// Accumulator rows `row`… from int32 values (lanes past a row's values are 0), DIM rows per MVIN.
        mutating func accumulatorRows(_ rows: [[Int32]], at row: Int) {
            for (r, values) in rows.enumerated() {
                for (lane, value) in values.enumerated() {
                    let bytes = withUnsafeBytes(of: value.littleEndian, Array.init)
                    dram.replaceSubrange(dataOffset + r * 16 + lane * 4 ..< dataOffset + r * 16 + lane * 4 + 4, with: bytes)
                }
            }
            for first in stride(from: 0, to: rows.count, by: Self.dim) {
                let count = min(Self.dim, rows.count - first)
                command(Funct.mvin, UInt64(dataOffset + first * 16),
                        UInt64(count) << 48 | UInt64(Self.dim) << 32 | Self.accumulatorBit | UInt64(row + first), rs1IsDRAM: true)
            }
            dataOffset += rows.count * 16
        }

        /// CTA_CONFIG of `level`: M, K and the offsets (in accumulator row `row`).
        mutating func configure(level: Int, multiplier: UInt64, shift: UInt64, offsets: [Int32], row: Int) {
            accumulatorRows([offsets], at: row)
            command(Funct.ctaConfig, UInt64(level) | multiplier << 8 | shift << 32,
                    1 << 48 | UInt64(offsets.count) << 32 | Self.accumulatorBit | UInt64(row))
        }

        mutating func cluster(level: Int, products: [[Int32]], row: Int) {
            accumulatorRows(products, at: row)
            command(Funct.ctaCluster, UInt64(level), UInt64(products.count) << 48 | 3 << 32 | Self.accumulatorBit | UInt64(row))
        }

        /// CTA_STATUS into accumulator row `row`, then that row out to DRAM at full width.
        mutating func status(row: Int) {
            command(Funct.ctaStatus, 0, Self.accumulatorBit | UInt64(row))
            command(Funct.mvout, UInt64(outputOffset), 1 << 48 | UInt64(Self.dim) << 32 | Self.accumulatorBit | Self.fullWidthBit | UInt64(row),
                    rs1IsDRAM: true)
            outputOffset += 16
        }

        /// Scratchpad rows `row`… from int8 values (lanes past a row's values are 0), DIM rows per MVIN.
        mutating func scratchpadRows(_ rows: [[Int8]], at row: Int) {
            for (r, values) in rows.enumerated() {
                for (lane, value) in values.enumerated() { dram[dataOffset + r * 16 + lane] = UInt8(bitPattern: value) }
            }
            for first in stride(from: 0, to: rows.count, by: Self.dim) {
                let count = min(Self.dim, rows.count - first)
                command(Funct.mvin, UInt64(dataOffset + first * 16), UInt64(count) << 48 | UInt64(Self.dim) << 32 | UInt64(row + first), rs1IsDRAM: true)
            }
            dataOffset += rows.count * 16
        }

        /// CTA_CONFIG of `level` with M = 1, K = 0 and zero offsets, then CTA_CLUSTER of tokens
        /// whose codes are (id, 0, 0): the table numbers the distinct ids by first appearance.
        mutating func cluster(level: Int, ids: [Int], row: Int) {
            configure(level: level, multiplier: 1, shift: 0, offsets: [0, 0, 0], row: 100 + level)
            cluster(level: level, products: ids.map { [Int32($0), 0, 0] }, row: row)
        }

        /// CTA_AGGREGATE of `level`: `rows` token rows at scratchpad row `tokens`, centroids to `output`.
        mutating func aggregate(level: Int, tokens: Int, rows: Int, columns: Int = dim, output: Int, residuals: Bool = false) {
            command(Funct.ctaAggregate, UInt64(output) | UInt64(level) << 32 | (residuals ? 1 << 34 : 0),
                    UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(tokens))
        }

        /// Scratchpad rows out to DRAM (all DIM lanes), DIM rows per MVOUT.
        mutating func scratchpadOut(row: Int, rows: Int) {
            for first in stride(from: 0, to: rows, by: Self.dim) {
                let count = min(Self.dim, rows - first)
                command(Funct.mvout, UInt64(outputOffset), UInt64(count) << 48 | UInt64(Self.dim) << 32 | UInt64(row + first), rs1IsDRAM: true)
                outputOffset += count * 16
            }
        }

        /// CTA_CONFIG of λ.
        mutating func lambda(_ value: Float) {
            command(Funct.ctaConfig, 3 | UInt64(value.bitPattern) << 32, 0)
        }

        /// The compressed scores `scores` (k0 rows of k1 + k2) into accumulator rows `row`… in
        /// `CTAScoreLayout`'s blocks, then CTA_PROBABILITIES with AP to scratchpad row `output`
        /// (compressed rows `firstRow` …).
        mutating func probabilities(_ scores: [[Int32]], k1: Int, k2: Int, row: Int, output: Int, firstRow: Int = 0) {
            let layout = CTAScoreLayout(k0: scores.count, k1: k1, k2: k2, dim: Self.dim)
            var rows = [[Int32]](repeating: Array(repeating: 0, count: Self.dim), count: layout.rows)
            for (q, values) in scores.enumerated() {
                for (j, entry) in layout.entries.enumerated() { rows[entry.block * layout.k0 + q][entry.lane] = values[j] }
            }
            accumulatorRows(rows, at: row)
            command(Funct.ctaProbabilities, UInt64(output) | UInt64(firstRow) << 32, UInt64(scores.count) << 48 | UInt64(k1 + k2) << 32 | Self.accumulatorBit | UInt64(row))
        }

        var program: CommandProgram { CommandProgram(dram: dram, steps: steps + [.fence]) }
    }

    /// What the golden model ends with on `program` (its DRAM at `ProgramGenerator.goldenBase`).
    static func golden(_ program: CommandProgram, _ parameters: AcceleratorParameters) throws -> GoldenModel {
        var model = GoldenModel(parameters: parameters)
        var memory = SparseMemory()
        try memory.write(address: ProgramGenerator.goldenBase, bytes: program.dram)
        for instruction in program.instructions {
            let (rs1, rs2) = instruction.relocated(to: ProgramGenerator.goldenBase)
            try model.execute(instruction.funct, rs1, rs2, memory: &memory)
        }
        return model
    }

    /// Runs `program` on the RTL and checks it against the golden model and the timing model;
    /// returns the golden model after the program.
    @discardableResult
    static func check(_ program: CommandProgram, _ name: String, on other: DifferentialRunner? = nil) throws -> GoldenModel {
        try check(program, name, trace: nil, on: other)
    }

    /// `check`, handing the RTL's trace to `trace`.
    @discardableResult
    static func check(_ program: CommandProgram, _ name: String, trace inspect: ((HarnessTrace) -> Void)?, on other: DifferentialRunner? = nil) throws -> GoldenModel {
        let runner = try other ?? runner.get()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-cta-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("\(name).program"), tracePath = directory.appendingPathComponent("\(name).jsonl")
        try program.render().write(to: file, atomically: true, encoding: .utf8)
        let run = try HarnessBuild.run(runner.executable, [file.path], environment: ["SPINEL_TRACE": tracePath.path, "SPINEL_QUIET": "1"])
        let model = try golden(program, runner.parameters)
        // Exit status 1: the accelerator reported an error (the replay compares it with the golden model's).
        #expect(run.status == 0 || (run.status == 1 && model.error != nil), "\(name): \(run.standardOutput)\(run.standardError)")
        let trace = try HarnessTrace.load(tracePath)
        inspect?(trace)
        let report = TraceReplay.replay(trace, parameters: runner.parameters)
        #expect(report.verdict == .match, "\(name) (files in \(directory.path)): \(report.render(commandTable: false, maximumProblems: 3))")
        #expect(trace.finalError.map { ErrorCode(rawValue: $0.code) } == model.error.map { ErrorCode(rawValue: $0.code.rawValue) },
                "\(name): the hardware's error \(String(describing: trace.finalError)), the golden model's \(String(describing: model.error))")
        let timing = TimingComparison(trace: trace, parameters: runner.parameters)
        #expect(timing.predictedTotal == timing.measuredTotal && (timing.statistics.first?.maxAbsoluteError ?? 0) == 0,
                "\(name): the timing model is not cycle-exact: \(timing.summary)")
        if report.verdict == .match { try? FileManager.default.removeItem(at: directory) }
        return model
    }

    /// n token rows of `columns` int8 values: uniform, with the extremes −128, 127 (and −1, 0, 1) often.
    static func tokenRows(_ n: Int, columns: Int = Builder.dim, _ random: inout SeededGenerator) -> [[Int8]] {
        (0..<n).map { _ in
            (0..<columns).map { _ in random.next() % 3 == 0 ? [Int8.min, Int8.max, -1, 0, 1][Int(random.next() % 5)] : Int8.random(in: .min ... .max, using: &random) }
        }
    }

    /// The values CTA_STATUS wrote at accumulator row `row` in the golden model: k0, k1, k2, token.
    static func status(_ model: GoldenModel, row: Int) -> [Int64] { Array(model.accumulatorRow(row).prefix(4)) }

    @Test func allTokensOneCluster() throws {
        var builder = Builder()
        builder.configure(level: 1, multiplier: 1, shift: 4, offsets: [3, -2, 7], row: 100)
        builder.cluster(level: 1, products: (0..<16).map { _ in [5, 5, 5] }, row: 0)
        builder.status(row: 120)
        let model = try Self.check(builder.program, "one-cluster")
        #expect(Self.status(model, row: 120) == [-1, 1, -1, -1])
    }

    /// Exactly `maxClusters` (8) distinct codes: no overflow; and a second level with 13 tokens
    /// (not a multiple of DIM) clustering into fewer.
    @Test func allDistinctAndPartialRows() throws {
        var builder = Builder()
        builder.configure(level: 0, multiplier: 1, shift: 0, offsets: [0, 0, 0], row: 100)
        builder.cluster(level: 0, products: (0..<8).map { [Int32($0) - 4, 0, 1] }, row: 0)
        builder.configure(level: 2, multiplier: 3, shift: 2, offsets: [1, 0, -1], row: 101)
        builder.cluster(level: 2, products: (0..<13).map { [Int32($0 % 3), Int32($0 % 2) * 5, -1] }, row: 20)
        builder.status(row: 120)
        let model = try Self.check(builder.program, "distinct")
        #expect(Self.status(model, row: 120) == [8, -1, 6, -1])
        #expect(model.error == nil)
    }

    /// Token 8 needs a ninth cluster: clusterOverflow (13), the level keeps no table, CTA_STATUS
    /// reports the token; a later clustering of the level that fits gives it a table again.
    @Test func overflow() throws {
        var builder = Builder()
        builder.configure(level: 1, multiplier: 1, shift: 0, offsets: [0, 0, 0], row: 100)
        builder.cluster(level: 1, products: (0..<11).map { [Int32($0) - 5, 2, 0] }, row: 0)
        builder.status(row: 120)
        builder.cluster(level: 1, products: (0..<6).map { [Int32($0 % 2), 0, 0] }, row: 40)
        builder.status(row: 121)
        let model = try Self.check(builder.program, "overflow")
        #expect(model.error?.code == .clusterOverflow && model.error?.commandIndex == 7)
        #expect(Self.status(model, row: 120) == [-1, -1, -1, 8])
        #expect(Self.status(model, row: 121) == [-1, 2, -1, 8])
    }

    /// Random products, offsets, M and K on all three levels, codes saturating at 4 bits.
    @Test(arguments: 0..<2)
    func randomLevels(offset: UInt64) throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xC7A) + offset)
        var builder = Builder()
        for level in 0..<3 {
            let offsets = (0..<3).map { _ in Int32.random(in: -1000...1000, using: &random) }
            builder.configure(level: level, multiplier: UInt64.random(in: 1...0xFFFF, using: &random), shift: UInt64.random(in: 14...22, using: &random),
                              offsets: offsets, row: 100 + level)
            let tokens = Int.random(in: 1...32, using: &random)
            builder.cluster(level: level, products: (0..<tokens).map { _ in (0..<3).map { _ in Int32.random(in: -3000...3000, using: &random) } },
                            row: 32 * level)
            builder.status(row: 120 + level)
        }
        try Self.check(builder.program, "random-\(offset)")
    }

    /// The fuzzer's programs on the small CTA configuration: 80 random commands, CTA_CONFIG,
    /// CTA_CLUSTER and CTA_STATUS among them, the golden model keeping only legal ones.
    @Test(arguments: 0..<2)
    func randomProgram(offset: UInt64) throws {
        let parameters = try Self.runner.get().parameters
        var options = ProgramGenerator.Options()
        options.commands = 80
        let generated = ProgramGenerator(parameters: parameters, options: options).generate(seed: SeededGenerator.testSeed(50_000) + offset)
        #expect(generated.counts[.cta, default: 0] >= 3, "the program has \(generated.counts) commands by kind")
        try Self.check(generated.program, "fuzz-\(offset)")
    }

    /// Every illegal use fails in the dispatcher with the golden model's code and changes
    /// nothing: after it, CTA_STATUS still sees the state before.
    @Test func illegalUses() throws {
        let acc: UInt64 = 1 << 31
        let operand = 1 << 48 | 3 << 32 | acc | 100
        let products = 4 << 48 | 3 << 32 | acc
        let illegal: [(String, UInt8, UInt64, UInt64, ErrorCode)] = [
            ("config reserved rs1", Funct.ctaConfig, 1 | 1 << 5, operand, .unsupportedField),
            ("config M too wide", Funct.ctaConfig, 1 | 0x10000 << 8, operand, .unsupportedField),
            ("config two offset rows", Funct.ctaConfig, 1, 2 << 48 | 3 << 32 | acc | 100, .illegalOperand),
            ("config offsets in the scratchpad", Funct.ctaConfig, 1, 1 << 48 | 3 << 32 | 100, .illegalOperand),
            ("config offsets accumulating", Funct.ctaConfig, 1, operand | 1 << 30, .illegalOperand),
            ("config offsets past the accumulator", Funct.ctaConfig, 1, 1 << 48 | 3 << 32 | acc | 256, .localAddressOutOfRange),
            ("λ NaN", Funct.ctaConfig, 3 | UInt64(Float.nan.bitPattern) << 32, 0, .invalidScale),
            ("λ zero", Funct.ctaConfig, 3, 0, .invalidScale),
            ("λ negative", Funct.ctaConfig, 3 | UInt64(Float(-1).bitPattern) << 32, 0, .invalidScale),
            ("λ with rs2", Funct.ctaConfig, 3 | UInt64(Float(1).bitPattern) << 32, 1, .unsupportedField),
            ("cluster level 3", Funct.ctaCluster, 3, products, .unsupportedField),
            ("cluster reserved rs1", Funct.ctaCluster, 1 << 40, products, .unsupportedField),
            ("cluster no tokens", Funct.ctaCluster, 0, 3 << 32 | acc, .illegalOperand),
            ("cluster too many tokens", Funct.ctaCluster, 0, 33 << 48 | 3 << 32 | acc, .illegalOperand),
            ("cluster two products per token", Funct.ctaCluster, 0, 4 << 48 | 2 << 32 | acc, .illegalOperand),
            ("cluster garbage", Funct.ctaCluster, 0, 4 << 48 | 3 << 32 | 0xFFFF_FFFF, .illegalOperand),
            ("cluster past the accumulator", Funct.ctaCluster, 0, 4 << 48 | 3 << 32 | acc | 253, .localAddressOutOfRange),
            ("status rs1", Funct.ctaStatus, 1, acc, .unsupportedField),
            ("status rows", Funct.ctaStatus, 0, 1 << 48 | acc, .unsupportedField),
            ("status in the scratchpad", Funct.ctaStatus, 0, 5, .illegalOperand),
            ("status past the accumulator", Funct.ctaStatus, 0, acc | 256, .localAddressOutOfRange),
        ]
        let parameters = try Self.runner.get().parameters
        for (name, funct, rs1, rs2, code) in illegal {
            var builder = Builder()
            builder.configure(level: 1, multiplier: 5, shift: 3, offsets: [1, 2, 3], row: 100)
            builder.cluster(level: 1, products: (0..<5).map { [Int32($0), 0, 0] }, row: 0)
            builder.command(funct, rs1, rs2)
            builder.status(row: 120)
            let model = try Self.golden(builder.program, parameters)
            #expect(model.error?.code.rawValue == code.rawValue, "\(name): the golden model says \(String(describing: model.error))")
            try Self.check(builder.program, name.replacingOccurrences(of: " ", with: "-"))
        }
    }

    // MARK: CTA_AGGREGATE

    /// The three levels: level 0 over 13 tokens (not a multiple of DIM) in 5 clusters, all
    /// columns; level 1 over 10 tokens with residuals on 3 columns, then level 2 over those
    /// residuals on 1 column; and level 1 again without residuals. Centroids and residual rows
    /// are moved out, so the replay compares every one.
    @Test func aggregateLevels() throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xA66))
        var builder = Builder()
        builder.cluster(level: 0, ids: (0..<13).map { ($0 * 7) % 5 }, row: 0)
        builder.scratchpadRows(Self.tokenRows(13, &random), at: 0)
        builder.aggregate(level: 0, tokens: 0, rows: 13, output: 100)
        builder.scratchpadOut(row: 100, rows: 5)
        builder.cluster(level: 1, ids: [3, 1, 3, 3, 0, 1, 2, 0, 3, 2], row: 20)
        builder.scratchpadRows(Self.tokenRows(10, &random), at: 200)
        builder.aggregate(level: 1, tokens: 200, rows: 10, columns: 3, output: 300, residuals: true)
        builder.scratchpadOut(row: 300, rows: 4)
        builder.scratchpadOut(row: 200, rows: 10)
        builder.cluster(level: 2, ids: [0, 1, 1, 2, 0, 2, 1, 1, 0, 0], row: 40)
        builder.aggregate(level: 2, tokens: 200, rows: 10, columns: 1, output: 190)
        builder.scratchpadOut(row: 190, rows: 3)
        builder.scratchpadRows(Self.tokenRows(10, &random), at: 500)
        builder.aggregate(level: 1, tokens: 500, rows: 10, columns: 4, output: 400)
        builder.scratchpadOut(row: 400, rows: 4)
        builder.status(row: 120)
        let model = try Self.check(builder.program, "aggregate-levels")
        #expect(model.error == nil)
        #expect(Self.status(model, row: 120) == [5, 4, 3, -1])
    }

    /// One cluster of 16 equal tokens whose rows are −128 and 127 (with residuals), and the
    /// most clusters, 8, over the most tokens, 32, one column and a second run on all four.
    @Test func aggregateOneAndMostClusters() throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xA67))
        var builder = Builder()
        builder.cluster(level: 1, ids: Array(repeating: 5, count: 16), row: 0)
        builder.scratchpadRows((0..<16).map { Array(repeating: $0 % 3 == 0 ? Int8.min : Int8.max, count: 4) }, at: 0)
        builder.aggregate(level: 1, tokens: 0, rows: 16, output: 16, residuals: true)
        builder.scratchpadOut(row: 16, rows: 1)
        builder.scratchpadOut(row: 0, rows: 16)
        builder.cluster(level: 0, ids: (0..<32).map { ($0 * 3 + $0 / 8) % 8 }, row: 32)
        builder.scratchpadRows(Self.tokenRows(32, &random), at: 600)
        builder.aggregate(level: 0, tokens: 600, rows: 32, columns: 1, output: 590)
        builder.scratchpadOut(row: 590, rows: 8)
        builder.aggregate(level: 0, tokens: 600, rows: 32, output: 632)
        builder.scratchpadOut(row: 632, rows: 8)
        builder.status(row: 120)
        let model = try Self.check(builder.program, "aggregate-one-and-most")
        #expect(model.error == nil)
        #expect(Self.status(model, row: 120) == [8, 1, -1, -1])
    }

    /// Tokens of 7 columns in two column blocks: one command per block (4 columns, then 3),
    /// the centroid rows written over rows that hold other data, whose lanes past the block's
    /// columns must stay; and both blocks' residuals on level 1.
    @Test func aggregateColumnBlocks() throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xA68))
        var builder = Builder()
        builder.cluster(level: 1, ids: [0, 1, 2, 1, 0, 3, 3, 2, 1, 0, 0, 4], row: 0)
        builder.scratchpadRows(Self.tokenRows(12, &random), at: 0)
        builder.scratchpadRows(Self.tokenRows(12, columns: 3, &random), at: 50)
        builder.scratchpadRows(Self.tokenRows(10, &random), at: 100)
        builder.aggregate(level: 1, tokens: 0, rows: 12, output: 100)
        builder.aggregate(level: 1, tokens: 50, rows: 12, columns: 3, output: 105, residuals: true)
        builder.aggregate(level: 1, tokens: 0, rows: 12, output: 30, residuals: true)
        builder.scratchpadOut(row: 100, rows: 10)
        builder.scratchpadOut(row: 0, rows: 12)
        builder.scratchpadOut(row: 50, rows: 12)
        builder.scratchpadOut(row: 30, rows: 5)
        let model = try Self.check(builder.program, "aggregate-blocks")
        #expect(model.error == nil)
    }

    /// Every illegal CTA_AGGREGATE, each alone: the golden model's code (in the dispatcher or,
    /// for the state, in the CTA controller), nothing written (the token and output rows moved
    /// out after it), CTA_STATUS unchanged. Two commands have a mistake of each kind: the
    /// dispatcher's wins, in both.
    @Test func illegalAggregates() throws {
        let acc: UInt64 = 1 << 31
        let tokens: UInt64 = 5 << 48 | 4 << 32 | 10
        let illegal: [(String, UInt64, UInt64, ErrorCode)] = [
            ("aggregate no table", 20, tokens, .illegalOperand),
            ("aggregate rows not n", 20 | 1 << 32, 4 << 48 | 4 << 32 | 10, .illegalOperand),
            ("aggregate overlap", 12 | 1 << 32, tokens, .illegalOperand),
            ("aggregate overlap below", 8 | 1 << 32, tokens, .illegalOperand),
            ("aggregate centroids past the end", 1022 | 1 << 32, tokens, .localAddressOutOfRange),
            ("aggregate residuals level 0", 20 | 1 << 34, tokens, .unsupportedField),
            ("aggregate residuals level 2", 20 | 2 << 32 | 1 << 34, tokens, .unsupportedField),
            ("aggregate level 3", 20 | 3 << 32, tokens, .unsupportedField),
            ("aggregate reserved rs1", 20 | 1 << 32 | 1 << 40, tokens, .unsupportedField),
            ("aggregate five columns", 20 | 1 << 32, 5 << 48 | 5 << 32 | 10, .tooManyColumns),
            ("aggregate no columns", 20 | 1 << 32, 5 << 48 | 10, .illegalOperand),
            ("aggregate accumulator tokens", 20 | 1 << 32, tokens | acc, .illegalOperand),
            ("aggregate garbage tokens", 20 | 1 << 32, 5 << 48 | 4 << 32 | 0xFFFF_FFFF, .illegalOperand),
            ("aggregate tokens past the scratchpad", 20 | 1 << 32, 5 << 48 | 4 << 32 | 1020, .localAddressOutOfRange),
            ("aggregate centroids in the accumulator", acc | 20 | 1 << 32, tokens, .illegalOperand),
            ("aggregate no table and tokens past the scratchpad", 20, 5 << 48 | 4 << 32 | 1020, .localAddressOutOfRange),
            ("aggregate rows not n and centroids past the end", 1022 | 1 << 32, 4 << 48 | 4 << 32 | 10, .illegalOperand),
        ]
        let parameters = try Self.runner.get().parameters
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xA69))
        for (name, rs1, rs2, code) in illegal {
            var builder = Builder()
            builder.cluster(level: 1, ids: [0, 1, 0, 2, 1], row: 0)
            builder.scratchpadRows(Self.tokenRows(5, &random), at: 10)
            builder.scratchpadRows(Self.tokenRows(8, &random), at: 20)
            builder.scratchpadRows(Self.tokenRows(2, &random), at: 1022)
            builder.command(Funct.ctaAggregate, rs1, rs2)
            builder.status(row: 120)
            builder.scratchpadOut(row: 8, rows: 16)
            builder.scratchpadOut(row: 1022, rows: 2)
            let model = try Self.golden(builder.program, parameters)
            #expect(model.error?.code.rawValue == code.rawValue, "\(name): the golden model says \(String(describing: model.error))")
            #expect(Self.status(model, row: 120) == [-1, 3, -1, -1], "\(name)")
            try Self.check(builder.program, name.replacingOccurrences(of: " ", with: "-"))
        }
    }

    /// Every illegal CTA_GATHER, each alone: the dispatcher's (rows, columns, a plain accumulator
    /// operand whose 2·k0 rows fit) and the controller's (level 0's table, the rows of the last
    /// CTA_PROBABILITIES — none here — and k0); nothing is written to DRAM.
    @Test func illegalGathers() throws {
        let parameters = try Self.runner.get().parameters
        let acc: UInt64 = 1 << 31, last = UInt64(parameters.accRows - 5)
        let illegal: [(String, Bool, UInt64, ErrorCode)] = [
            ("gather no table", false, 3 << 48 | 4 << 32 | acc | 40, .illegalOperand),
            ("gather no probabilities", true, 3 << 48 | 4 << 32 | acc | 40, .illegalOperand),
            ("gather rows not k0", true, 2 << 48 | 4 << 32 | acc | 40, .illegalOperand),
            ("gather no rows", true, 4 << 32 | acc | 40, .illegalOperand),
            ("gather no columns", true, 3 << 48 | acc | 40, .illegalOperand),
            ("gather five columns", true, 3 << 48 | 5 << 32 | acc | 40, .tooManyColumns),
            ("gather scratchpad products", true, 3 << 48 | 4 << 32 | 40, .illegalOperand),
            ("gather garbage products", true, 3 << 48 | 4 << 32 | 0xFFFF_FFFF, .illegalOperand),
            ("gather accumulating products", true, 3 << 48 | 4 << 32 | acc | 1 << 30 | 40, .illegalOperand),
            ("gather products past the accumulator", true, 3 << 48 | 4 << 32 | acc | last, .localAddressOutOfRange),
            ("gather second half past the accumulator", true, 3 << 48 | 4 << 32 | acc | (last + 1), .localAddressOutOfRange),
            ("gather no table and past the accumulator", false, 3 << 48 | 4 << 32 | acc | (last + 1), .localAddressOutOfRange),
        ]
        for (name, table, rs2, code) in illegal {
            var builder = Builder()
            if table { builder.cluster(level: 0, ids: [0, 1, 0, 2, 1], row: 0) }
            builder.accumulatorRows((0..<6).map { r in (0..<4).map { Int32(r * 1000 - $0 * 77) } }, at: 40)
            builder.command(Funct.ctaGather, 12_000, rs2, rs1IsDRAM: true)
            builder.status(row: 120)
            let model = try Self.golden(builder.program, parameters)
            #expect(model.error?.code.rawValue == code.rawValue, "\(name): the golden model says \(String(describing: model.error))")
            #expect(Self.status(model, row: 120) == [table ? 3 : -1, -1, -1, -1], "\(name)")
            try Self.check(builder.program, name.replacingOccurrences(of: " ", with: "-"))
        }
    }

    /// A level whose last clustering overflowed has no table: CTA_AGGREGATE of it fails
    /// (illegalOperand) and writes nothing, though the level had a table before.
    @Test func aggregateAfterOverflow() throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xA6A))
        var builder = Builder()
        builder.cluster(level: 1, ids: [0, 1, 0, 1, 1], row: 0)
        builder.cluster(level: 1, products: (0..<11).map { [Int32($0) - 5, 2, 0] }, row: 10)
        builder.scratchpadRows(Self.tokenRows(13, &random), at: 0)
        builder.aggregate(level: 1, tokens: 0, rows: 5, output: 5)
        builder.status(row: 120)
        builder.scratchpadOut(row: 0, rows: 13)
        let model = try Self.check(builder.program, "aggregate-after-overflow")
        #expect(model.error?.code == .clusterOverflow)
        #expect(model.lastRejection == nil)
        #expect(Self.status(model, row: 120) == [-1, -1, -1, 8])
    }

    /// A fuzzer's program of `commands` random commands with CTA-heavy weights (`ctaWeight`) and
    /// at least `atLeast` commands of `funct` among them, checked.
    static func fuzz(_ funct: UInt8, atLeast: Int, commands: Int, ctaWeight: Int, seed: UInt64, _ name: String) throws {
        let parameters = try runner.get().parameters
        var options = ProgramGenerator.Options()
        options.commands = commands
        options.weights[.cta] = ctaWeight
        let generated = ProgramGenerator(parameters: parameters, options: options).generate(seed: seed)
        let count = generated.program.instructions.filter { $0.funct == funct }.count
        #expect(count >= atLeast, "the program has \(count) commands of funct \(funct), \(generated.counts) by kind")
        try check(generated.program, name)
    }

    /// The fuzzer's programs with CTA_AGGREGATE among their commands (CTA-heavy weights).
    @Test(arguments: 0..<2)
    func randomProgramWithAggregates(offset: UInt64) throws {
        try Self.fuzz(Funct.ctaAggregate, atLeast: 2, commands: 100, ctaWeight: 60, seed: SeededGenerator.testSeed(51_000) + offset, "fuzz-aggregate-\(offset)")
    }

    // MARK: CTA_PROBABILITIES

    /// One CTA_PROBABILITIES on levels 1 and 2 clustered from `levelOne` and `levelTwo` (ids by
    /// first appearance, the same n), k0 rows of random scores (or `scores`), AP over random
    /// rows of the scratchpad (so every lane written shows, padding 0 included), moved out; then a
    /// second one over half the rows (another group count, the unit reused).
    static func probabilitiesProgram(k0: Int, levelOne: [Int], levelTwo: [Int], lambda: Float, scores: [[Int32]]? = nil,
                                     seed: UInt64) -> (Builder, rows: Int) {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(seed))
        var builder = Builder()
        builder.cluster(level: 1, ids: levelOne, row: 0)
        builder.cluster(level: 2, ids: levelTwo, row: 40)
        builder.lambda(lambda)
        let k1 = Set(levelOne).count, k2 = Set(levelTwo).count
        let layout = CTAScoreLayout(k0: k0, k1: k1, k2: k2, dim: Builder.dim)
        let values = scores ?? (0..<k0).map { _ in (0..<(k1 + k2)).map { _ in Int32.random(in: -3000...3000, using: &random) } }
        builder.scratchpadRows(tokenRows(layout.rows, &random), at: 300)
        builder.probabilities(values, k1: k1, k2: k2, row: 120, output: 300)
        builder.scratchpadOut(row: 300, rows: layout.rows)
        let half = (k0 + 1) / 2
        builder.probabilities(Array(values.prefix(half)).map { $0.map { $0 / 2 + 7 } }, k1: k1, k2: k2, row: 160, output: 600)
        builder.scratchpadOut(row: 600, rows: CTAScoreLayout(k0: half, k1: k1, k2: k2, dim: Builder.dim).rows)
        builder.status(row: 250)
        return (builder, layout.rows)
    }

    /// The shapes: k0 = 1 over one token; k0 = maxClusters over the most tokens and clusters;
    /// k0 odd (a half-empty last group) with k1, k2 not multiples of DIM and n odd; k1 = 1 and
    /// k2 = 1; rows of equal scores; a large and a small λ.
    @Test(arguments: [
        ("one", 1, [0], [0], Float(0.05)),
        ("most", 8, (0..<32).map { ($0 * 5 + $0 / 4) % 8 }, (0..<32).map { ($0 * 3 + 1) % 8 }, Float(0.05)),
        ("odd", 5, (0..<13).map { ($0 * 7) % 5 }, (0..<13).map { $0 % 3 }, Float(0.1)),
        ("k1-one", 3, Array(repeating: 4, count: 7), (0..<7).map { ($0 * 5) % 6 }, Float(0.2)),
        ("k2-one", 6, (0..<9).map { $0 % 6 }, Array(repeating: 2, count: 9), Float(0.02)),
        ("large-lambda", 4, (0..<10).map { $0 % 7 }, (0..<10).map { ($0 + 3) % 5 }, Float(40)),
        ("small-lambda", 7, (0..<11).map { $0 % 6 }, (0..<11).map { ($0 * 2) % 7 }, Float(0.0005)),
    ])
    func probabilitiesShapes(name: String, k0: Int, levelOne: [Int], levelTwo: [Int], lambda: Float) throws {
        let (builder, _) = Self.probabilitiesProgram(k0: k0, levelOne: levelOne, levelTwo: levelTwo, lambda: lambda, seed: 0xB0 + UInt64(k0))
        let model = try Self.check(builder.program, "probabilities-\(name)")
        #expect(model.error == nil)
        #expect(model.state.cta?.probabilityRows.count == (k0 + 1) / 2)
    }

    /// The probability aggregation unit clears its AP memories after reset, one word of each per
    /// cycle, `maxClusters` cycles (`PipelineTiming.probabilityUnitReadyCycle`); a CTA_PROBABILITIES
    /// taken before then loads its tokens once the unit has cleared. On small-cta (8 clusters) no
    /// legal command can arrive that early, so this runs on a variant of 128 clusters
    /// (Testbenches/configs/small-cta-clearing.json) with one token per level: the command must be
    /// issued well inside the clearing, and the timing model must still predict every cycle.
    @Test func probabilitiesWhileClearing() throws {
        let config = try AcceleratorConfig.fromJSON(Data(contentsOf: Self.root().appendingPathComponent("Testbenches/configs/small-cta-clearing.json")))
        let clearing = try #require(config.cta).maxClusters
        let runner = try DifferentialRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource())
        let (builder, _) = Self.probabilitiesProgram(k0: 1, levelOne: [0], levelTwo: [0], lambda: 0.05, seed: 0xB20)
        var issued: UInt64?
        let model = try Self.check(builder.program, "probabilities-clearing", trace: { trace in
            issued = trace.commands.first { $0.funct == Funct.ctaProbabilities }?.issueCycle
        }, on: runner)
        #expect(model.error == nil)
        let cycle = try #require(issued, "the trace has a CTA_PROBABILITIES")
        #expect(cycle + 20 < UInt64(clearing), "issued in cycle \(cycle), the unit clears until \(clearing): the test does not wait on the clearing")
    }

    /// Groups of compressed rows: 3 rows from row 0, 2 rows from row 3, 3 more from row 5 (the
    /// RTL accepts a group only at the count its predecessors left), then a new set at row 0 and a
    /// group at 1; each group's AP moved out.
    @Test func probabilitiesGroups() throws {
        var groups = GroupsProgram(seed: 0xB12)
        for (first, rows) in [(0, 3), (3, 2), (5, 3), (0, 1), (1, 4)] { groups.group(first: first, rows: rows) }
        let model = try Self.check(groups.builder.program, "probabilities-groups")
        #expect(model.error == nil)
        #expect(model.state.cta?.probabilityRows.count == 5)
    }

    /// A group that continues a set takes the tokens' ids the aggregation unit holds, unless a
    /// CTA_CLUSTER ran since: here level 1 is clustered again between two groups (the same count,
    /// the tokens in other clusters), so the second group must load the new ids — with the old
    /// ones its AP rows (moved out) would differ from the golden model's, and its cycles from the
    /// timing model's. A third group, with no CTA_CLUSTER before it, keeps them.
    @Test func probabilitiesAfterClusteringAgain() throws {
        var groups = GroupsProgram(seed: 0xB14)
        groups.group(first: 0, rows: 3)
        groups.builder.cluster(level: 1, ids: [0, 0, 1, 1, 2, 2, 3, 3, 4], row: 60)
        groups.group(first: 3, rows: 2)
        groups.group(first: 5, rows: 3)
        let model = try Self.check(groups.builder.program, "probabilities-recluster")
        #expect(model.error == nil)
        #expect(model.state.cta?.probabilityRows.count == 8)
    }

    /// Nine tokens clustered into k1 = 5 and k2 = 3, λ set; `group` adds a CTA_PROBABILITIES of
    /// `rows` random score rows from compressed row `first`, its AP moved out.
    struct GroupsProgram {
        var random: SeededGenerator
        var builder = Builder()
        var output = 300

        init(seed: UInt64) {
            random = SeededGenerator(seed: SeededGenerator.testSeed(seed))
            builder.cluster(level: 1, ids: (0..<9).map { ($0 * 4) % 5 }, row: 0)
            builder.cluster(level: 2, ids: (0..<9).map { $0 % 3 }, row: 40)
            builder.lambda(0.07)
        }

        mutating func group(first: Int, rows: Int) {
            let scores = (0..<rows).map { _ in (0..<8).map { _ in Int32.random(in: -2000...2000, using: &random) } }
            builder.probabilities(scores, k1: 5, k2: 3, row: 120 + 8 * first, output: output, firstRow: first)
            builder.scratchpadOut(row: output, rows: 3 * rows)
            output += 3 * rows
        }
    }

    /// Rows whose scores are all equal (and one of all zeros): every exponential the same.
    @Test func probabilitiesEqualScores() throws {
        let scores: [[Int32]] = [Array(repeating: 500, count: 8), Array(repeating: 0, count: 8), Array(repeating: -2_000_000, count: 8)]
        let (builder, _) = Self.probabilitiesProgram(k0: 3, levelOne: [0, 1, 2, 3, 4, 0, 1], levelTwo: [0, 1, 2, 0, 1, 2, 0], lambda: 0.3,
                                                     scores: scores, seed: 0xB10)
        let model = try Self.check(builder.program, "probabilities-equal")
        #expect(model.error == nil)
    }

    /// Every illegal CTA_PROBABILITIES, each alone: the golden model's code (the dispatcher's, or
    /// the state's in the CTA controller), nothing written (AP's rows moved out after it),
    /// CTA_STATUS unchanged, the probability rows of the good one before it kept.
    @Test func illegalProbabilities() throws {
        let acc: UInt64 = 1 << 31
        // Levels 1 (k1 = 3) and 2 (k2 = 2) over 5 tokens: k0 = 2 rows of 5 scores at accumulator row 0, AP to 10.
        let scores: UInt64 = 2 << 48 | 5 << 32 | acc
        struct Case { var name: String; var rs1: UInt64; var rs2: UInt64; var code: ErrorCode; var setup = "" }
        let illegal: [Case] = [
            Case(name: "no level-1 table", rs1: 10, rs2: scores, code: .illegalOperand, setup: "no level 1"),
            Case(name: "no level-2 table", rs1: 10, rs2: scores, code: .illegalOperand, setup: "no level 2"),
            Case(name: "levels over other tokens", rs1: 10, rs2: scores, code: .illegalOperand, setup: "level 2 over 6"),
            Case(name: "no lambda", rs1: 10, rs2: scores, code: .illegalOperand, setup: "no λ"),
            Case(name: "columns not k1 + k2", rs1: 10, rs2: 2 << 48 | 4 << 32 | acc, code: .illegalOperand),
            Case(name: "scores past the accumulator", rs1: 10, rs2: 2 << 48 | 5 << 32 | acc | 253, code: .localAddressOutOfRange),
            Case(name: "AP past the scratchpad", rs1: 1021, rs2: scores, code: .localAddressOutOfRange),
            Case(name: "reserved rs1", rs1: 10 | 1 << 50, rs2: scores, code: .unsupportedField),
            Case(name: "first row past the clusters", rs1: 10 | 7 << 32, rs2: scores, code: .illegalOperand),
            Case(name: "first row not following", rs1: 10 | 1 << 32, rs2: scores, code: .illegalOperand),
            Case(name: "no rows", rs1: 10, rs2: 5 << 32 | acc, code: .illegalOperand),
            Case(name: "more rows than clusters", rs1: 10, rs2: 9 << 48 | 5 << 32 | acc, code: .illegalOperand),
            Case(name: "scores in the scratchpad", rs1: 10, rs2: 2 << 48 | 5 << 32, code: .illegalOperand),
            Case(name: "scores accumulating", rs1: 10, rs2: scores | 1 << 30, code: .illegalOperand),
            Case(name: "scores garbage", rs1: 10, rs2: 2 << 48 | 5 << 32 | 0xFFFF_FFFF, code: .illegalOperand),
            Case(name: "AP in the accumulator", rs1: acc | 10, rs2: scores, code: .illegalOperand),
            Case(name: "AP garbage", rs1: 0xFFFF_FFFF, rs2: scores, code: .illegalOperand),
            Case(name: "reserved rs1 and no lambda", rs1: 10 | 1 << 50, rs2: scores, code: .unsupportedField, setup: "no λ"),
            Case(name: "AP in the accumulator and columns not k1 + k2", rs1: acc | 10, rs2: 2 << 48 | 4 << 32 | acc, code: .illegalOperand),
            Case(name: "no level-2 table and AP past the scratchpad", rs1: 1021, rs2: scores, code: .illegalOperand, setup: "no level 2"),
        ]
        let parameters = try Self.runner.get().parameters
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0xB11))
        for test in illegal {
            var builder = Builder()
            if test.setup != "no level 1" { builder.cluster(level: 1, ids: [0, 1, 0, 2, 1], row: 20) }
            if test.setup != "no level 2" { builder.cluster(level: 2, ids: test.setup == "level 2 over 6" ? [0, 0, 1, 1, 0, 1] : [0, 0, 1, 1, 0], row: 30) }
            if test.setup != "no λ" { builder.lambda(0.1) }
            builder.accumulatorRows((0..<4).map { _ in (0..<4).map { _ in Int32.random(in: -100...100, using: &random) } }, at: 0)
            builder.scratchpadRows(Self.tokenRows(4, &random), at: 10)
            builder.scratchpadRows(Self.tokenRows(3, &random), at: 1021)
            builder.command(Funct.ctaProbabilities, test.rs1, test.rs2)
            builder.status(row: 120)
            builder.scratchpadOut(row: 10, rows: 4)
            builder.scratchpadOut(row: 1021, rows: 3)
            let model = try Self.golden(builder.program, parameters)
            #expect(model.error?.code.rawValue == test.code.rawValue, "\(test.name): the golden model says \(String(describing: model.error))")
            #expect(model.state.cta?.probabilityRows.isEmpty == true, "\(test.name)")
            try Self.check(builder.program, test.name.replacingOccurrences(of: " ", with: "-"))
        }
    }

    /// The fuzzer's programs with CTA_PROBABILITIES among their commands (CTA-heavy weights).
    @Test(arguments: 0..<2)
    func randomProgramWithProbabilities(offset: UInt64) throws {
        try Self.fuzz(Funct.ctaProbabilities, atLeast: 2, commands: 120, ctaWeight: 80, seed: SeededGenerator.testSeed(52_000) + offset,
                      "fuzz-probabilities-\(offset)")
    }
}
