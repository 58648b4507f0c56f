import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim

/// A program's DRAM buffer as the golden model's main memory, at `base`; accesses outside it
/// are DMA faults (the program is wrong).
struct BufferMemory: MainMemory {
    let base: UInt64
    var bytes: [UInt8]

    mutating func read(address: UInt64, count: Int) throws -> [UInt8] {
        let start = try offset(address, count, isWrite: false)
        return Array(bytes[start ..< start + count])
    }

    mutating func write(address: UInt64, bytes written: [UInt8]) throws {
        let start = try offset(address, written.count, isWrite: true)
        bytes.replaceSubrange(start ..< start + written.count, with: written)
    }

    private func offset(_ address: UInt64, _ count: Int, isWrite: Bool) throws -> Int {
        guard address >= base, address - base + UInt64(count) <= UInt64(bytes.count) else {
            throw DMAFault(isWrite: isWrite, address: address, count: count)
        }
        return Int(address - base)
    }
}

/// What a program's run gave: the final buffer, cycles, and on the RTL the checks.
public struct ProgramOutcome: Sendable {
    public var name: String
    /// The buffer after the golden model's run.
    public var image: [UInt8]
    public var macs: Double
    /// The timing model's cycles from the first command's issue to the last retirement (what
    /// `RTLCheck.measuredCycles` counts), fence to fence, each part from idle (golden-only estimate).
    public var predictedCycles: UInt64
    /// The timing model's cycles of each fence-to-fence segment, in program order (empty
    /// without a prediction): what a breakdown by stage adds up.
    public var segmentCycles: [UInt64] = []
    public var rtl: RTLCheck?
}

/// The RTL run of a program: the trace replayed on the golden model, the final buffers compared.
public struct RTLCheck: Sendable {
    /// First issue to last retirement, as the harness measured it.
    public var measuredCycles: UInt64
    /// The timing model's prediction for the trace (the measured issue cycles).
    public var predictedCycles: UInt64?
    public var replay: TraceReplayReport.Verdict
    public var firstProblem: String?
    /// The hardware's final buffer equals the golden model's, byte for byte.
    public var bufferMatches: Bool
    public var commands: Int
    public var passed: Bool { replay == .match && bufferMatches }
}

/// Runs command programs on the golden model (always) and on the RTL (with a runner).
public enum ProgramExecution {
    /// Where the golden model sees a program's buffer (DRAM address 0 means zeros).
    static let base = ProgramGenerator.goldenBase

    /// The golden model's run; throws if the accelerator rejects a command (the mapping is wrong).
    public static func golden(_ mapped: MappedProgram, parameters: AcceleratorParameters, predictCycles: Bool = true) throws -> ProgramOutcome {
        var model = GoldenModel(parameters: parameters)
        var memory = BufferMemory(base: base, bytes: mapped.program.dram)
        var segmentStart = model
        var segment: [(funct: UInt8, rs1: UInt64, rs2: UInt64)] = []
        // Each segment closed by a fence (the runner's final one closes the last).
        var accounting = FencedCycles()
        func finishSegment() {
            if predictCycles && !segment.isEmpty {
                let timing = TimingProgram(segment, issueCycles: Array(repeating: 0, count: segment.count), startingFrom: segmentStart)
                let prediction = TimingModel(parameters: parameters, memory: MemoryTimingSettings(parameters.config.memory))
                    .predict(timing, cycleLimit: 100_000_000)
                accounting.addSegment(prediction)
            } else if predictCycles {
                accounting.addEmptyFence()
            }
            segment = []
            segmentStart = model
        }
        for step in mapped.program.steps {
            switch step {
            case .fence:
                finishSegment()
            case .command(let instruction):
                let (rs1, rs2) = instruction.relocated(to: base)
                try model.execute(instruction.funct, rs1, rs2, memory: &memory)
                if let rejection = model.lastRejection {
                    throw MappingError("\(mapped.name): the golden model rejects command \(rejection.commandIndex) "
                        + "(funct \(instruction.funct)): \(rejection.reason). The mapping is wrong for \(parameters.name)")
                }
                segment.append((instruction.funct, rs1, rs2))
            }
        }
        finishSegment()
        return ProgramOutcome(name: mapped.name, image: memory.bytes, macs: mapped.macs, predictedCycles: accounting.firstIssueToLastRetirement,
                              segmentCycles: accounting.segments.map(\.cycles))
    }
}

/// Runs programs on the Verilated RTL through `Testbenches/program_runner.c` (built against the
/// configuration and cached like every testbench).
public struct RTLRunner: Sendable {
    public let parameters: AcceleratorParameters
    let executable: URL
    let directory: URL
    let keepFiles: Bool

    public init(config: AcceleratorConfig, runnerSource: URL, directory: URL, keepFiles: Bool = false) throws {
        let runner = try DifferentialRunner(config: config, runnerSource: runnerSource)
        parameters = runner.parameters
        executable = runner.executable
        self.directory = directory
        self.keepFiles = keepFiles
    }

    /// Runs `mapped` on the RTL, replays its trace on the golden model (every DMA write bit for
    /// bit, the timing model's cycles for the trace) and compares the final buffer with `golden`.
    public func check(_ mapped: MappedProgram, golden: ProgramOutcome, stem: String) throws -> RTLCheck {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let programFile = directory.appendingPathComponent("\(stem).program")
        let trace = directory.appendingPathComponent("\(stem).trace.jsonl")
        let dump = directory.appendingPathComponent("\(stem).dram")
        try mapped.program.render().write(to: programFile, atomically: true, encoding: .utf8)
        defer {
            if !keepFiles { for file in [programFile, trace, dump] { try? FileManager.default.removeItem(at: file) } }
        }
        let process = try HarnessBuild.run(executable, [programFile.path, "--dump", dump.path],
                                           environment: ["SPINEL_TRACE": trace.path, "SPINEL_QUIET": "1"])
        guard process.succeeded, FileManager.default.fileExists(atPath: trace.path), FileManager.default.fileExists(atPath: dump.path) else {
            throw MappingError("\(mapped.name): program_runner failed (status \(process.status)): "
                + (process.standardOutput + process.standardError).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let report = TraceReplay.replay(try HarnessTrace.load(trace), parameters: parameters)
        let image = try CommandProgram.parseImage(String(contentsOf: dump, encoding: .utf8), size: golden.image.count, name: dump.path)
        let first = report.firstProblem.map { "\($0)" } ?? report.stoppedAt.map { "stopped at command \($0.command): \($0.reason)" }
        return RTLCheck(measuredCycles: report.timing?.measuredTotal ?? 0, predictedCycles: report.timing?.predictedTotal,
                        replay: report.verdict, firstProblem: first, bufferMatches: image == golden.image,
                        commands: report.commands.count)
    }
}
