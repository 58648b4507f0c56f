import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelSim

/// Runs generated programs on the RTL (Verilator, through `Testbenches/program_runner.c` and the
/// generated harness) and checks them against the golden model (docs/VERIFICATION.md):
///
/// 1. the harness trace, replayed on the golden model (`TraceReplay`): every DMA write bit for
///    bit, and no error;
/// 2. the DRAM buffer after the run, byte for byte, against the buffer the generator's golden
///    model ended with;
/// 3. the same program again with Verilator's random initial values
///    (`+verilator+rand+reset+2 +verilator+seed+N`; the model is built with `--x-assign unique
///    --x-initial unique`, `HarnessBuild.modelFlags`): each run's trace replays, and its final
///    buffer equals the first run's.
public struct DifferentialRunner: Sendable {
    public let config: AcceleratorConfig
    public let parameters: AcceleratorParameters
    public let executable: URL

    /// Builds (or finds in the cache) the program runner against the configuration's model.
    public init(config: AcceleratorConfig, runnerSource: URL) throws {
        self.config = config
        parameters = try config.parameters()
        let inputs = try AcceleratorGeneration.simulationInputs(for: config)
        executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                 sources: [runnerSource], name: "program_runner").path
    }

    /// `Testbenches/program_runner.c` of the checkout this file belongs to, or of `directory`.
    public static func defaultRunnerSource(in directory: URL? = nil, _ file: String = #filePath) -> URL {
        if let directory {
            let candidate = directory.appendingPathComponent("Testbenches/program_runner.c")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        var root = URL(fileURLWithPath: file).deletingLastPathComponent()
        while root.path != "/" && !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root = root.deletingLastPathComponent()
        }
        return root.appendingPathComponent("Testbenches/program_runner.c")
    }

    /// What one seed gave.
    public struct Outcome: Sendable {
        public var seed: UInt64
        public var programFile: URL
        /// Empty when every check passed; otherwise one entry per failed check, the first first.
        public var failures: [String] = []
        /// The replay's first problem of the first failing run, in words.
        public var firstMismatch: String?
        public var commands = 0
        public var cycles: UInt64?
        public var runs = 0
        public var rejected = 0
        public var passed: Bool { failures.isEmpty }
    }

    /// Generates the program of `seed`, writes it to `directory`, runs and checks it once plus once
    /// per random-reset seed. Files of a passing seed are removed unless `keepFiles`.
    public func check(seed: UInt64, generator: ProgramGenerator, directory: URL, randomResetSeeds: [UInt64] = [],
                      keepFiles: Bool = false) throws -> Outcome {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let generated = generator.generate(seed: seed)
        let programFile = directory.appendingPathComponent("seed-\(seed).program")
        try generated.program.render().write(to: programFile, atomically: true, encoding: .utf8)
        var outcome = Outcome(seed: seed, programFile: programFile)
        outcome.commands = generated.program.instructions.count
        outcome.rejected = generated.rejected
        var files = [programFile]

        var firstImage: [UInt8]?
        for reset in [nil] + randomResetSeeds.map(Optional.some) {
            let label = reset.map { "random reset, Verilator seed \($0)" } ?? "zero reset"
            let stem = "seed-\(seed)" + (reset.map { "-reset-\($0)" } ?? "")
            let run = try self.run(programFile, program: generated.program, stem: stem, in: directory, randomResetSeed: reset)
            files += run.files
            outcome.runs += 1
            if reset == nil { outcome.cycles = run.cycles }
            if let problem = run.failure {
                outcome.failures.append("\(label): \(problem)")
                if outcome.firstMismatch == nil { outcome.firstMismatch = run.firstMismatch }
                continue
            }
            guard let image = run.image else { continue }
            if let firstImage {
                if let difference = Self.firstDifference(firstImage, image) {
                    outcome.failures.append("\(label): the final DRAM buffer differs from the zero-reset run's at offset 0x\(String(difference, radix: 16)) "
                                            + "(zero reset 0x\(String(firstImage[difference], radix: 16)), this run 0x\(String(image[difference], radix: 16)))")
                }
            } else {
                firstImage = image
                if let difference = Self.firstDifference(generated.expectedDRAM, image) {
                    outcome.failures.append("\(label): the final DRAM buffer differs from the golden model's at offset 0x\(String(difference, radix: 16)) "
                                            + "(golden 0x\(String(generated.expectedDRAM[difference], radix: 16)), hardware 0x\(String(image[difference], radix: 16)))")
                }
            }
        }
        if outcome.passed && !keepFiles {
            for file in files { try? FileManager.default.removeItem(at: file) }
        }
        return outcome
    }

    struct Run {
        var files: [URL] = []
        var failure: String?
        var firstMismatch: String?
        var image: [UInt8]?
        var cycles: UInt64?
    }

    /// One simulation of a program file with its trace replayed.
    func run(_ programFile: URL, program: CommandProgram, stem: String, in directory: URL, randomResetSeed: UInt64?) throws -> Run {
        let trace = directory.appendingPathComponent("\(stem).trace.jsonl")
        let dump = directory.appendingPathComponent("\(stem).dram")
        var result = Run(files: [trace, dump])
        var arguments = [programFile.path, "--dump", dump.path]
        if let randomResetSeed { arguments += ["+verilator+rand+reset+2", "+verilator+seed+\(randomResetSeed)"] }
        let process = try HarnessBuild.run(executable, arguments, environment: ["SPINEL_TRACE": trace.path, "SPINEL_QUIET": "1"])
        if let line = process.standardOutput.split(separator: "\n").last(where: { $0.hasPrefix("program_runner:") }),
           let cycles = line.split(separator: ",").dropFirst().first?.split(separator: " ").first {
            result.cycles = UInt64(cycles)
        }
        if !process.succeeded {
            result.failure = "program_runner exited with status \(process.status): "
                + (process.standardOutput + process.standardError).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard FileManager.default.fileExists(atPath: trace.path) else {
            result.failure = result.failure ?? "no trace written"
            return result
        }
        let report = TraceReplay.replay(try HarnessTrace.load(trace), parameters: parameters)
        if report.verdict != .match {
            let first = report.firstProblem.map { "\($0)" } ?? report.stoppedAt.map { "stopped at command \($0.command): \($0.reason)" } ?? ""
            result.failure = result.failure ?? "trace replay: \(report.verdict.rawValue), \(report.problems.count) problem(s)"
            result.firstMismatch = first
        }
        if FileManager.default.fileExists(atPath: dump.path) {
            result.image = try CommandProgram.parseImage(String(contentsOf: dump, encoding: .utf8), size: program.dram.count, name: dump.path)
        } else if result.failure == nil {
            result.failure = "program_runner wrote no DRAM dump"
        }
        return result
    }

    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        if a.count != b.count { return min(a.count, b.count) }
        return a.indices.first { a[$0] != b[$0] }
    }
}
