import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim

/// A testbench's command stream, cut at its fences: what the host issues, in order, with
/// nothing simulated (Testbenches/explore/command_recorder.c).
///
/// The testbenches measure `spinel_cycles()` from a first read to a read after their last
/// fence, and `tb_finish` fences once more before its own read. So the measured window is from
/// the first read to the last read before the last fence: its fences are counted, whether they
/// wait for work or not (a `tiled_matmul_auto` that fences before returning, then the
/// testbench's own fence, are two). A stream without reads is measured from its first command to
/// its first fence after the last command.
public struct RecordedProgram: Sendable {
    public typealias Command = (funct: UInt8, rs1: UInt64, rs2: UInt64)
    /// The commands before the measured window: they set state, their cycles are not counted.
    public var prelude: [Command] = []
    /// The commands of the window between consecutive fences, each segment closed by a fence
    /// (a segment may be empty: two fences in a row).
    public var segments: [[Command]]

    public var commandCount: Int { segments.reduce(0) { $0 + $1.count } }

    private enum Event { case command(Command), fence, read }

    /// Reads the recorder's text (`c FUNCT RS1 RS2`, `f`, `t`, `e`).
    public init(text: String, source: String) throws {
        var events: [Event] = []
        var ended = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            switch fields.first {
            case "c" where fields.count == 4:
                guard let funct = UInt8(fields[1]), let rs1 = UInt64(fields[2]), let rs2 = UInt64(fields[3]) else { fallthrough }
                events.append(.command((funct, rs1, rs2)))
            case "f" where fields.count == 1:
                events.append(.fence)
            case "t" where fields.count == 1:
                events.append(.read)
            case "e" where fields.count == 1:
                ended = true
            default:
                throw ToolError(tool: "command recorder", message: "\(source): unreadable line \"\(line)\"")
            }
        }
        guard ended else {
            throw ToolError(tool: "command recorder", message: "\(source): the testbench stopped before its end (no 'e' line)")
        }
        let reads = events.indices.filter { if case .read = events[$0] { return true } else { return false } }
        let lastFence = events.lastIndex { if case .fence = $0 { return true } else { return false } }
        let window: Range<Int>
        if let first = reads.first, let lastFence, let end = reads.last(where: { $0 < lastFence }), first < end {
            window = first ..< end
        } else {
            window = 0 ..< events.count
        }
        segments = [[]]
        for (index, event) in events.enumerated() {
            guard case .command(let command) = event else {
                if case .fence = event, window.contains(index) { segments.append([]) }
                continue
            }
            if index < window.lowerBound { prelude.append(command) } else if window.contains(index) { segments[segments.count - 1].append(command) }
        }
        // The last segment is the one no fence closed (empty in a measured window).
        let unclosed = segments.removeLast()
        if !unclosed.isEmpty { segments.append(unclosed) }
        if reads.isEmpty || window == 0 ..< events.count {
            // No window: fences after the last command wait for nothing and are not counted.
            while segments.last?.isEmpty == true { segments.removeLast() }
        }
    }
}

/// Builds a testbench against a configuration's harness headers and the command recorder, runs
/// it, and reads its command stream. Executables are kept in `directory` per configuration hash.
public struct CommandRecorder: Sendable {
    /// Where `sweep_matmul.c`, `encoder_layer.c`, `common/` and `explore/command_recorder.c` are.
    public var testbenches: URL
    /// Scratch space of the explorer (its `build/` folder).
    public var directory: URL

    public init(testbenches: URL, directory: URL) {
        self.testbenches = testbenches
        self.directory = directory
    }

    var recorderSource: URL { testbenches.appendingPathComponent("explore/command_recorder.c") }

    /// Checks that the sources are there, before any work.
    public func checkSources(_ workloads: [Workload]) throws {
        for path in [recorderSource.path] + workloads.map({ testbenches.appendingPathComponent($0.testbench).path }) {
            try UserFiles.checkReadable(path, role: "testbench source")
        }
    }

    /// The command stream `workload` issues on `parameters`.
    public func record(_ workload: Workload, parameters: AcceleratorParameters) throws -> RecordedProgram {
        let build = directory.appendingPathComponent(parameters.hash)
        let name = (workload.testbench as NSString).deletingPathExtension
        let executable = build.appendingPathComponent(name)
        if !FileManager.default.isExecutableFile(atPath: executable.path) {
            let headers = build.appendingPathComponent("harness")
            try OutputChecks.write(HarnessGenerator.files(for: parameters), to: headers)
            let temporary = build.appendingPathComponent(".\(name).\(ProcessInfo.processInfo.processIdentifier).tmp")
            let source = testbenches.appendingPathComponent(workload.testbench)
            let result = try Tools.run("gcc", ["-std=gnu11", "-O2", "-w", "-I", headers.path, "-I", testbenches.path,
                                               source.path, recorderSource.path, "-o", temporary.path, "-lm"])
            guard result.succeeded else {
                try? FileManager.default.removeItem(at: temporary)
                let needs = HarnessBuild.UnmetRequirement.messages(inCompilerOutput: result.output)
                throw ToolError(tool: "gcc", message: needs.isEmpty ? "building \(workload.testbench) for \(parameters.name) failed:\n\(result.output)"
                                                                   : "\(workload.testbench) cannot run on this configuration: " + needs.joined(separator: "; "))
            }
            // Another worker may have built it meanwhile: either copy is the same program.
            _ = rename(temporary.path, executable.path)
        }
        let output = build.appendingPathComponent("\(workload.name).\(ProcessInfo.processInfo.processIdentifier).commands")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = executable
        process.arguments = workload.arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SPINEL_RECORD"] = output.path
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit, let text = try? String(contentsOf: output, encoding: .utf8) else {
            throw ToolError(tool: workload.testbench, message: "\(workload.name) on \(parameters.name): the testbench did not finish "
                            + "(status \(process.terminationStatus)); run it with `spinel sim` to see why")
        }
        // The testbench's own checks fail (nothing was computed); a usage error writes no command.
        let program = try RecordedProgram(text: text, source: "\(workload.name) on \(parameters.name)")
        guard program.commandCount > 0 else {
            throw ToolError(tool: workload.testbench, message: "\(workload.name) issued no command on \(parameters.name) "
                            + "(its sizes must suit the configuration, e.g. multiples of DIM = \(parameters.dim)); run it with `spinel sim` to see its message")
        }
        return program
    }
}

/// Cycles of a recorded program as the harness counts them (`spinel_cycles()` from before the
/// first command to after the last fence), from the golden timing model.
///
/// Between fences the host offers commands back to back; the timing model predicts each
/// segment from an idle accelerator, starting from the golden model's state after the
/// previous segments (configuration registers, the LOOP_WS accumulator half); `FencedCycles`
/// adds up the segments and fences. Only the fences of the testbench's measured window count
/// (`RecordedProgram`).
public enum FencedTiming {

    public struct Result: Sendable, Hashable {
        public var cycles: UInt64
        public var commands: Int
        public var fences: Int
        /// Fences that waited for work, and fences with nothing to wait for.
        public var busyFences = 0, idleFences = 0
        /// Cycles per kind of segment, in order of first appearance (`stageName`).
        public var stages: [(name: String, cycles: UInt64)]
        /// Cycles the timing model's fast path jumped over, and of those the repeating loop
        /// periods' (not part of the result's identity).
        public var skippedCycles: UInt64 = 0, periodicCycles: UInt64 = 0

        public static func == (a: Result, b: Result) -> Bool {
            a.cycles == b.cycles && a.commands == b.commands && a.fences == b.fences
                && a.stages.map(\.name) == b.stages.map(\.name) && a.stages.map(\.cycles) == b.stages.map(\.cycles)
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(cycles) }
    }

    /// What a fence-to-fence segment does, by its commands: matmuls through LOOP_WS, moves
    /// out of the accumulator (the normalizer's passes), or configuration only.
    public static func stageName(_ segment: [RecordedProgram.Command]) -> String {
        if segment.contains(where: { $0.funct == Funct.loopWS }) { return "matmul (LOOP_WS)" }
        if segment.contains(where: { $0.funct == Funct.computePreloaded || $0.funct == Funct.computeAccumulated }) { return "matmul (host-issued)" }
        if segment.contains(where: { $0.funct == Funct.mvout }) { return "accumulator passes (normalizer)" }
        return "configuration and loads"
    }

    public static func cycles(of program: RecordedProgram, parameters: AcceleratorParameters, stepping: TimingStepping = .fast) -> Result {
        // One golden pass over the whole stream gives every command's configuration state
        // (the expensive part: it runs the matmuls); each segment then replays its slice from idle.
        let stream = program.prelude + program.segments.flatMap { $0 }
        let whole = TimingProgram(stream, issueCycles: Array(repeating: 0, count: stream.count), parameters: parameters)
        let timing = TimingModel(parameters: parameters, memory: MemoryTimingSettings(parameters.config.memory), stepping: stepping)
        var accounting = FencedCycles()
        var busyFences = 0, idleFences = 0, skipped: UInt64 = 0, periodic: UInt64 = 0
        var stages: [(name: String, cycles: UInt64)] = []
        func add(_ name: String, _ cycles: UInt64) {
            if let index = stages.firstIndex(where: { $0.name == name }) { stages[index].cycles += cycles } else { stages.append((name, cycles)) }
        }
        var first = program.prelude.count
        for segment in program.segments {
            guard !segment.isEmpty else {
                idleFences += 1
                add("fences", accounting.addEmptyFence())
                continue
            }
            var part = whole
            part.commands = whole.commands[first ..< first + segment.count].enumerated().map { offset, command in
                var command = command
                command.index = offset
                return command
            }
            first += segment.count
            let prediction = timing.predict(part, cycleLimit: 100_000_000)
            skipped += prediction.skippedCycles
            periodic += prediction.periodicCycles
            busyFences += 1
            add(stageName(segment), accounting.addSegment(prediction))
        }
        return Result(cycles: accounting.total, commands: program.commandCount, fences: program.segments.count, busyFences: busyFences,
                      idleFences: idleFences, stages: stages, skippedCycles: skipped, periodicCycles: periodic)
    }
}
