import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim
import Testing

/// Random differential testing on the `small` accelerator (docs/VERIFICATION.md): a bounded
/// set of seeds here; `make fuzz SEEDS=N` runs more.
@Suite("Random differential: RTL vs golden model")
struct DifferentialTests {
    static let runner = Result { try DifferentialRunner(config: .small, runnerSource: DifferentialRunner.defaultRunnerSource()) }

    static func directory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("spinel-fuzz-\(name)-\(UUID().uuidString)")
    }

    /// Each seed: the trace replays on the golden model, the final DRAM buffer equals the golden
    /// model's, and a run with Verilator's random initial values ends with the same buffer.
    @Test(arguments: 0..<10)
    func randomProgram(offset: UInt64) throws {
        let runner = try Self.runner.get()
        let seed = SeededGenerator.testSeed(20_000) + offset
        let directory = Self.directory("seed-\(seed)")
        var options = ProgramGenerator.Options()
        options.commands = 80
        let outcome = try runner.check(seed: seed, generator: ProgramGenerator(parameters: runner.parameters, options: options),
                                       directory: directory, randomResetSeeds: [seed % 1000 + 1])
        #expect(outcome.passed, """
            seed \(seed) (rerun: spinel fuzz --preset small --first-seed \(seed) --seeds 1 --keep), program \(outcome.programFile.path):
            \(outcome.failures.joined(separator: "\n"))
            \(outcome.firstMismatch ?? "")
            """)
        #expect(outcome.runs == 2)
        if outcome.passed { try? FileManager.default.removeItem(at: directory) }
    }

    /// `small` with the normalization units and the affine LayerNorm: LOOP_WS with act 2 and 4
    /// issuing the passes, CONFIG_NORM, LOAD_AFFINE and activation 6 join the programs.
    static let normalizingRunner = Result {
        var config = AcceleratorConfig.small
        config.name = "SpinelSmallAffine"
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        return try DifferentialRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource())
    }

    @Test(arguments: 0..<6)
    func randomProgramWithNormalizations(offset: UInt64) throws {
        try Self.checkSeed(SeededGenerator.testSeed(30_000) + offset, on: Self.normalizingRunner.get(), name: "norm",
                           configFile: "Testbenches/configs/small-affine.json")
    }

    /// One seed of 80 random commands without random resets, its files kept when it fails.
    static func checkSeed(_ seed: UInt64, on runner: DifferentialRunner, name: String, configFile: String) throws {
        let directory = Self.directory("\(name)-seed-\(seed)")
        var options = ProgramGenerator.Options()
        options.commands = 80
        let outcome = try runner.check(seed: seed, generator: ProgramGenerator(parameters: runner.parameters, options: options),
                                       directory: directory, randomResetSeeds: [])
        #expect(outcome.passed, """
            seed \(seed) (rerun: spinel fuzz --config \(configFile) --first-seed \(seed) --seeds 1 --keep), \
            program \(outcome.programFile.path):
            \(outcome.failures.joined(separator: "\n"))
            \(outcome.firstMismatch ?? "")
            """)
        if outcome.passed { try? FileManager.default.removeItem(at: directory) }
    }

    /// `small` with the numerics extensions (Testbenches/configs/small-numerics.json): LOAD_REQUANT,
    /// LOAD_LANE_SCALES, K and the scale sources, the two-segment I-GELU's constants and Softmax
    /// loops relative to the maximum join the programs.
    static let numericsRunner = Result {
        var config = AcceleratorConfig.small
        config.name = "SpinelSmallNumerics"
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        config.hasNumericsExtensions = true
        return try DifferentialRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource())
    }

    @Test(arguments: 0..<4)
    func randomProgramWithTheNumericsExtensions(offset: UInt64) throws {
        try Self.checkSeed(SeededGenerator.testSeed(40_000) + offset, on: Self.numericsRunner.get(), name: "numerics",
                           configFile: "Testbenches/configs/small-numerics.json")
    }

    /// A 6×6 array (Testbenches/configs/small-dim6.json): DIM need not be a power of two.
    static let dim6Runner = Result {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        let config = try AcceleratorConfig.fromJSON(Data(contentsOf: directory.appendingPathComponent("Testbenches/configs/small-dim6.json")))
        return try DifferentialRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource())
    }

    @Test(arguments: 0..<4)
    func randomProgramOnDIM6(offset: UInt64) throws {
        let runner = try Self.dim6Runner.get()
        #expect(runner.parameters.dim == 6)
        let seed = SeededGenerator.testSeed(40_000) + offset
        let directory = Self.directory("dim6-seed-\(seed)")
        var options = ProgramGenerator.Options()
        options.commands = 80
        let outcome = try runner.check(seed: seed, generator: ProgramGenerator(parameters: runner.parameters, options: options),
                                       directory: directory, randomResetSeeds: [])
        #expect(outcome.passed, """
            seed \(seed) (rerun: spinel fuzz --config Testbenches/configs/small-dim6.json --first-seed \(seed) --seeds 1 --keep), \
            program \(outcome.programFile.path):
            \(outcome.failures.joined(separator: "\n"))
            \(outcome.firstMismatch ?? "")
            """)
        if outcome.passed { try? FileManager.default.removeItem(at: directory) }
    }

    /// The check can fail: one byte of one recorded DMA write changed in a copy of a passing
    /// trace must give a mismatch at that write.
    @Test func aCorruptedWriteIsAMismatch() throws {
        let runner = try Self.runner.get()
        let seed = SeededGenerator.testSeed(7)
        let directory = Self.directory("corrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let generated = ProgramGenerator(parameters: runner.parameters).generate(seed: seed)
        let programFile = directory.appendingPathComponent("p.program")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try generated.program.render().write(to: programFile, atomically: true, encoding: .utf8)
        let trace = directory.appendingPathComponent("p.trace.jsonl")
        let run = try HarnessBuild.run(runner.executable, [programFile.path], environment: ["SPINEL_TRACE": trace.path, "SPINEL_QUIET": "1"])
        #expect(run.succeeded, "\(run.standardOutput)\(run.standardError)")
        let text = try String(contentsOf: trace, encoding: .utf8)
        #expect(TraceReplay.replay(try HarnessTrace.parse(text), parameters: runner.parameters).verdict == .match)

        // Flip the first strobed byte of the middle write burst.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let writes = lines.indices.filter { lines[$0].contains("\"ev\":\"wr\"") }
        try #require(!writes.isEmpty, "seed \(seed): the program wrote nothing")
        let target = writes[writes.count / 2]
        let line = lines[target]
        let data = try #require(Self.field("data", in: line)), strobe = try #require(Self.field("strb", in: line))
        let byte = try #require(Self.firstStrobedByte(strobe: strobe, dataBytes: data.count / 2))
        var digits = Array(data)
        digits[2 * byte] = digits[2 * byte] == "0" ? "8" : "0"
        lines[target] = line.replacingOccurrences(of: "\"data\":\"\(data)\"", with: "\"data\":\"\(String(digits))\"")
        let report = TraceReplay.replay(try HarnessTrace.parse(lines.joined(separator: "\n")), parameters: runner.parameters)
        #expect(report.verdict == .mismatch)
        #expect(report.firstProblem?.kind == .writeDiffers, "\(report.render(commandTable: false, maximumProblems: 3))")
    }

    /// Verilator's run-time arguments reach the model: a program that reads scratchpad rows it
    /// never wrote matches the golden model (which starts from zeros) with zero initial values,
    /// and does not with random ones.
    @Test func randomInitialValuesReachTheModel() throws {
        let runner = try Self.runner.get()
        let directory = Self.directory("reset")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dim = UInt64(runner.parameters.dim)
        let mvout = CommandProgram.Instruction(funct: Funct.mvout, rs1: 0, rs2: dim << 48 | dim << 32 | 8, rs1IsDRAM: true)
        let configStore = CommandProgram.Instruction(funct: Funct.config, rs1: 2, rs2: UInt64(Float(1).bitPattern) << 32 | dim)
        let program = CommandProgram(dram: [UInt8](repeating: 0, count: 256), steps: [.command(configStore), .command(mvout)])
        let file = directory.appendingPathComponent("uninitialized.program")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try program.render().write(to: file, atomically: true, encoding: .utf8)
        var verdicts: [TraceReplayReport.Verdict] = []
        for arguments in [[], ["+verilator+rand+reset+2", "+verilator+seed+3"]] {
            let trace = directory.appendingPathComponent("t\(arguments.count).jsonl")
            let run = try HarnessBuild.run(runner.executable, [file.path] + arguments, environment: ["SPINEL_TRACE": trace.path, "SPINEL_QUIET": "1"])
            #expect(run.succeeded, "\(run.standardOutput)\(run.standardError)")
            verdicts.append(TraceReplay.replay(try HarnessTrace.load(trace), parameters: runner.parameters).verdict)
        }
        #expect(verdicts == [.match, .mismatch])
    }

    /// Strobe hex digit pairs are bytes; bit i of strobe byte k covers data byte 8k+i.
    static func firstStrobedByte(strobe: String, dataBytes: Int) -> Int? {
        let digits: [Int] = strobe.map { Int(String($0), radix: 16) ?? 0 }
        var strobeBytes: [Int] = []
        for k in stride(from: 0, to: digits.count - 1, by: 2) { strobeBytes.append(digits[k] << 4 | digits[k + 1]) }
        for byte in 0..<dataBytes where byte / 8 < strobeBytes.count {
            if (strobeBytes[byte / 8] >> (byte % 8)) & 1 == 1 { return byte }
        }
        return nil
    }

    /// The second simulator: Icarus Verilog, with the generated behavioural testbench, ends with
    /// the golden model's buffer (and the Verilator run's) for a few seeds.
    @Test func icarusAgrees() throws {
        let runner = try Self.runner.get()
        let icarus = try IcarusBench(config: .small)
        let directory = Self.directory("icarus")
        let generator = ProgramGenerator(parameters: runner.parameters)
        for offset in 0..<UInt64(2) {
            let seed = SeededGenerator.testSeed(30_000) + offset
            let outcome = try runner.check(seed: seed, generator: generator, directory: directory, keepFiles: true)
            #expect(outcome.passed, "seed \(seed): \(outcome.failures)")
            let failures = try icarus.check(seed: seed, generator: generator, directory: directory)
            #expect(failures.isEmpty, "seed \(seed) under Icarus (files in \(directory.path)): \(failures)")
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static func field(_ name: String, in line: String) -> String? {
        guard let start = line.range(of: "\"\(name)\":\"") else { return nil }
        let rest = line[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
