import Foundation
import SpinelISA

/// `spinel check`: replays a harness trace on the golden model (docs/ARCHITECTURE.md,
/// "Verification").
///
/// Every `cmd` runs on a `GoldenModel` in order. Its DMA reads are answered from the trace's
/// `rd` bursts (`TraceReplayMemory`); its DMA writes are collected and compared, bit for bit, with
/// the strobed bytes of the trace's `wr` bursts. The final error state (`error` events) is
/// compared with the golden model's `errorInfo`. Cycles are reported as measured (done − issue)
/// and as the golden timing model predicts them (`TimingComparison`, docs/TIMING.md).
///
/// **Matching reads to bursts.** A command's requests are issued after the port took it and
/// complete before it retires, so the bursts a command can have used are those recorded between
/// its `cmd` line and its `done` line (its *flight*). A golden read of byte x takes x from the
/// earliest burst in the flight that covers x and has not yet given x to an earlier golden
/// read (or from the last one, if all have). Bytes that no burst in the flight covers are a
/// replay problem ("the hardware never read …"), unless a burst in the flight that failed may
/// cover them: a failed burst records no length, so it is taken to cover from its address to
/// the end of its 4 KiB page (AXI bursts do not cross one); the golden read then fails with
/// `DMAFault`, as the hardware's did.
///
/// **Comparing writes.** For every byte address, the sequence of values the golden model wrote
/// there (in program order) must equal the sequence of strobed values the hardware wrote there
/// (in the order the B responses came back). A golden write fails with `DMAFault` where a failed
/// `wr` burst of its flight had strobed bytes. After a DMA write fault, the hardware may still
/// complete requests of that command that it had already issued (docs/ACCELERATOR.md, "Errors"):
/// such bytes are reported as a note, not a mismatch.
public enum TraceReplay {
    /// Loads the trace and its configuration (see `TraceConfiguration.resolve`) and replays it.
    /// Throws `TraceFormatError` or `TraceConfigurationError` when the inputs cannot be used.
    public static func check(traceFile: URL, configFile: URL? = nil,
                             preset: AcceleratorConfig.Preset? = nil) throws -> TraceReplayReport {
        let trace = try HarnessTrace.load(traceFile)
        let configuration = try TraceConfiguration.resolve(traceFile: traceFile, configFile: configFile, preset: preset,
                                                           recorded: trace.configuration)
        let parameters = configuration.parameters
        var report = replay(trace, parameters: parameters)
        report.traceFile = traceFile.path
        report.configurationSource = configuration.source
        return report
    }

    /// Replays a parsed trace on the golden model of `parameters`.
    public static func replay(_ trace: HarnessTrace, parameters: AcceleratorParameters) -> TraceReplayReport {
        let index = TraceIndex(trace)
        var first = GoldenPass(trace: trace, index: index, parameters: parameters)
        first.run(describing: [])

        var problems: [TraceProblem] = first.memory.unread
        var notes: [String] = []
        let stop = first.stop

        // Retirement.
        for anomaly in trace.anomalies {
            problems.append(TraceProblem(kind: .retirement, commandIndex: anomaly.commandIndex, traceLine: anomaly.line,
                                         message: anomaly.message))
        }
        for command in trace.commands where command.doneCycle == nil {
            problems.append(TraceProblem(kind: .retirement, commandIndex: command.index, traceLine: command.line,
                                         message: "command \(command.index) never retired: the trace has no done event for it"))
        }

        // Counter answers: the timing model predicts every count (docs/GEMMINI-COMPATIBILITY.md, "Performance counters").
        let timing = TimingComparison(trace: trace, parameters: parameters)
        problems += compareResponses(trace, timing: timing, stop: stop?.command)

        // Writes.
        let comparison = WriteComparison(trace: trace, index: index, golden: first, stop: stop?.command)
        problems += comparison.problems
        notes += comparison.notes

        // The error state.
        let hardwareError = trace.finalError
        let goldenError = first.model.error
        if let problem = compareErrors(hardware: hardwareError, golden: goldenError, stop: stop?.command) {
            problems.append(problem)
        }

        // Bursts nowhere near a golden read (a burst that repeats bytes another burst gave is normal:
        // the hardware reads a shared beat once per row).
        let unneeded = trace.reads.indices.filter { b in
            let burst = trace.reads[b]
            guard !burst.failed, !first.memory.used[b], let chunks = TraceIndex.chunks(address: burst.address, count: burst.data.count) else {
                return false
            }
            return !chunks.contains { first.memory.goldenReadChunks.contains($0) }
        }
        if let example = unneeded.first {
            notes.append("\(unneeded.count) read burst(s) of the hardware hold no byte that the golden model read, the first at "
                         + "\(hexAddress(trace.reads[example].address)) (trace line \(trace.reads[example].line)): reads the golden model "
                         + "does not make, or requests of a command that completed after its DMA fault")
        }

        // Describe the commands with problems, with the state they ran with.
        problems.sort { ($0.commandIndex ?? Int.max, $0.kind.order, $0.traceLine ?? 0) < ($1.commandIndex ?? Int.max, $1.kind.order, $1.traceLine ?? 0) }
        let wanted = Set(problems.compactMap(\.commandIndex).filter { $0 < trace.commands.count })
        var descriptions: [Int: String] = [:]
        if !wanted.isEmpty {
            var second = GoldenPass(trace: trace, index: index, parameters: parameters)
            second.run(describing: wanted)
            descriptions = second.descriptions
        }
        for i in problems.indices {
            if let command = problems[i].commandIndex, command < trace.commands.count {
                problems[i].command = descriptions[command] ?? TraceReplay.words(trace.commands[command], parameters: parameters, model: nil)
            }
        }

        var report = TraceReplayReport(parameters: parameters, commands: trace.commands)
        report.problems = problems
        report.notes = notes
        report.stoppedAt = stop.map { ($0.command, $0.reason) }
        report.lineCount = trace.lineCount
        report.hardwareReadBursts = trace.reads.count
        report.failedReadBursts = trace.reads.filter(\.failed).count
        report.hardwareReadBytes = trace.reads.reduce(0) { $0 + $1.data.count }
        report.goldenReadBytes = first.memory.goldenReadBytes
        report.hardwareWriteBursts = trace.writes.count
        report.failedWriteBursts = trace.writes.filter(\.failed).count
        report.hardwareWrittenBytes = trace.writes.filter { !$0.failed }.reduce(0) { $0 + $1.strobedByteCount }
        report.goldenWrites = first.memory.goldenWrites.count
        report.goldenWrittenBytes = first.memory.goldenWrites.reduce(0) { $0 + $1.bytes.count }
        report.hardwareError = hardwareError
        report.goldenError = goldenError
        report.verdict = !problems.isEmpty ? .mismatch : stop != nil ? .incomplete : .match
        report.timing = timing
        return report
    }

    /// The name of an error code, as `spinel.h` names it.
    static func errorName(_ code: Int) -> String {
        if code == 0 { return "none" }
        return AcceleratorError.Code(rawValue: code).map { "\($0)" } ?? "unknown code"
    }

    /// A command in words: what `GoldenModel.describe` says (with the state it runs with, when
    /// `model` is given), then its raw words.
    static func words(_ record: HarnessTrace.CommandRecord, parameters: AcceleratorParameters, model: GoldenModel?) -> String {
        let raw = "funct \(record.funct), rs1 0x\(String(record.rs1, radix: 16)), rs2 0x\(String(record.rs2, radix: 16))"
        do {
            let command = try Command.decode(funct: record.funct, rs1: record.rs1, rs2: record.rs2, parameters: parameters)
            return "\(model?.describe(command) ?? command.description) [\(raw)]"
        } catch {
            return "a command the accelerator rejects (\(error.code): \(error.reason)) [\(raw)]"
        }
    }

    /// The command in words without state (for tables).
    static func shortWords(_ record: HarnessTrace.CommandRecord, parameters: AcceleratorParameters) -> String {
        do {
            return try Command.decode(funct: record.funct, rs1: record.rs1, rs2: record.rs2, parameters: parameters).description
        } catch {
            return "funct \(record.funct): rejected (\(error.code))"
        }
    }
}

/// One run of the golden model over the trace's commands.
struct GoldenPass {
    let trace: HarnessTrace
    let parameters: AcceleratorParameters
    var model: GoldenModel
    var memory: TraceReplayMemory
    var stop: (command: Int, reason: String)?
    /// Golden rejections by command.
    var rejections: [Int: AcceleratorError] = [:]
    var descriptions: [Int: String] = [:]

    init(trace: HarnessTrace, index: TraceIndex, parameters: AcceleratorParameters) {
        self.trace = trace
        self.parameters = parameters
        model = GoldenModel(parameters: parameters)
        memory = TraceReplayMemory(trace: trace, index: index)
    }

    /// Runs every command (up to the last of `describing`, if that is not empty), recording
    /// `describing`'s commands in words with the state they run with.
    mutating func run(describing: Set<Int>) {
        let end = describing.isEmpty ? trace.commands.count : min(trace.commands.count, describing.max()! + 1)
        for record in trace.commands.prefix(end) {
            memory.willRun(command: record.index)
            if describing.contains(record.index) {
                descriptions[record.index] = TraceReplay.words(record, parameters: parameters, model: model)
            }
            do {
                try model.execute(record.funct, record.rs1, record.rs2, memory: &memory)
            } catch {
                stop = (record.index, "\(error)")
                return
            }
            if let rejection = model.lastRejection { rejections[record.index] = rejection }
        }
    }
}
