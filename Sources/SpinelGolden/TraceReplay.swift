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

    /// Every COUNTER the golden model accepted answers with the timing model's value; nothing
    /// else answers.
    private static func compareResponses(_ trace: HarnessTrace, timing: TimingComparison, stop: Int?) -> [TraceProblem] {
        var problems: [TraceProblem] = []
        let predicted = timing.prediction.responses
        for command in trace.commands where stop.map({ command.index < $0 }) ?? true {
            let expected = command.index < predicted.count ? predicted[command.index] : nil
            switch (expected, command.response) {
            case (nil, nil):
                continue
            case (let value?, nil):
                problems.append(TraceProblem(kind: .response, commandIndex: command.index, traceLine: command.line,
                                             message: "COUNTER \(command.index) should answer \(value), but the trace has no resp event for it"))
            case (nil, let value?):
                problems.append(TraceProblem(kind: .response, commandIndex: command.index, traceLine: command.responseLine,
                                             message: "command \(command.index) answered \(value) on the response port; only a COUNTER the golden model accepts answers"))
            case (let value?, let actual?):
                if value != actual {
                    problems.append(TraceProblem(kind: .response, commandIndex: command.index, traceLine: command.responseLine,
                                                 message: "COUNTER \(command.index) answered \(actual); the timing model counts \(value)"))
                }
            }
        }
        return problems
    }

    private static func compareErrors(hardware: HarnessTrace.ErrorRecord?, golden: AcceleratorError?, stop: Int?) -> TraceProblem? {
        func hardwareWords(_ record: HarnessTrace.ErrorRecord) -> String {
            let info = UInt64(record.code) << 56 | (record.commandIndex & (1 << 56 - 1))
            return "\(errorName(record.code)) (code \(record.code)) at command \(record.commandIndex) (error_info 0x\(String(info, radix: 16)), trace line \(record.line))"
        }
        switch (hardware, golden) {
        case (nil, nil):
            return nil
        case (let hardware?, nil):
            if let stop, hardware.commandIndex >= UInt64(stop) { return nil }  // the golden model never got there
            return TraceProblem(kind: .errorState, commandIndex: Int(clamping: hardware.commandIndex), traceLine: hardware.line,
                                message: "error state: the hardware reports \(hardwareWords(hardware)); the golden model reports no error")
        case (nil, let golden?):
            return TraceProblem(kind: .errorState, commandIndex: Int(golden.commandIndex),
                                message: "error state: the golden model rejects command \(golden.commandIndex) with \(golden.code) "
                                    + "(code \(golden.code.rawValue), error_info 0x\(String(golden.info, radix: 16))): \(golden.reason); the hardware reports no error")
        case (let hardware?, let golden?):
            if hardware.code == Int(golden.code.rawValue) && hardware.commandIndex == golden.commandIndex { return nil }
            return TraceProblem(kind: .errorState, commandIndex: Int(min(golden.commandIndex, hardware.commandIndex)), traceLine: hardware.line,
                                message: "error state: the hardware reports \(hardwareWords(hardware)); the golden model reports "
                                    + "\(golden.code) (code \(golden.code.rawValue)) at command \(golden.commandIndex) (error_info 0x\(String(golden.info, radix: 16))): \(golden.reason)")
        }
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

// MARK: - Configuration

/// The configuration a trace is replayed with, and where it came from.
public struct TraceConfiguration: Sendable {
    public var config: AcceleratorConfig
    public var parameters: AcceleratorParameters
    /// In words, for reports: "config.json next to the trace (/path/config.json)".
    public var source: String

    /// `configFile` if given, else the preset `preset`, else `config.json` in the trace's
    /// directory (`spinel generate` writes it next to the Verilog and the harness), else the
    /// preset whose name and hash the trace recorded. When the trace records its configuration
    /// (`recorded`), the chosen one must have the same hash.
    public static func resolve(traceFile: URL, configFile: URL?, preset: AcceleratorConfig.Preset?,
                               recorded: (name: String, hash: String)? = nil) throws(TraceConfigurationError) -> TraceConfiguration {
        if configFile != nil && preset != nil {
            throw TraceConfigurationError(message: "give --config FILE or --preset NAME, not both")
        }
        let chosen: (config: AcceleratorConfig, source: String, option: String?)
        if let preset {
            chosen = (.preset(preset), "preset \(preset.rawValue)", "--preset \(preset.rawValue)")
        } else if let configFile {
            chosen = (try read(configFile, role: "--config file"), configFile.path, "--config \(configFile.path)")
        } else {
            let nextToTrace = traceFile.deletingLastPathComponent().appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: nextToTrace.path) {
                chosen = (try read(nextToTrace, role: "config.json next to the trace"), "config.json next to the trace (\(nextToTrace.path))", nil)
            } else if let recorded, let preset = AcceleratorConfig.Preset.allCases.first(where: { (try? AcceleratorConfig.preset($0).parameters().hash) == recorded.hash }) {
                chosen = (.preset(preset), "preset \(preset.rawValue) (the trace's configuration \(recorded.name), hash \(recorded.hash))", nil)
            } else if let recorded {
                throw TraceConfigurationError(
                    message: "the trace \(traceFile.path) was recorded on configuration \(recorded.name) (hash \(recorded.hash)), which is no preset, "
                        + "and there is no config.json next to it (looked for \(nextToTrace.path)).\n"
                        + "  fix: give its configuration file with --config FILE (spinel generate writes it as config.json)")
            } else {
                throw TraceConfigurationError(
                    message: "no configuration for the trace \(traceFile.path): there is no config.json next to it (looked for \(nextToTrace.path)).\n"
                        + "  fix: write the trace into the directory that `spinel generate --preset NAME --out DIR` wrote (it holds config.json), "
                        + "or name the configuration with --config FILE or --preset NAME (\(AcceleratorConfig.Preset.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        let parameters: AcceleratorParameters
        do {
            parameters = try chosen.config.parameters()
        } catch {
            throw TraceConfigurationError(message: "the configuration from \(chosen.source) is invalid: \(error)")
        }
        if let recorded, recorded.hash != parameters.hash {
            throw TraceConfigurationError(
                message: "the trace \(traceFile.path) was recorded on configuration \(recorded.name) (hash \(recorded.hash)), "
                    + "but \(chosen.source) is \(parameters.name) (hash \(parameters.hash)): replaying it there would mislead.\n"
                    + "  fix: " + (chosen.option.map { "drop \($0) to use the trace's own configuration, or give the one it was recorded on" }
                                    ?? "give the configuration it was recorded on with --config FILE or --preset NAME"))
        }
        return TraceConfiguration(config: chosen.config, parameters: parameters, source: chosen.source)
    }

    private static func read(_ url: URL, role: String) throws(TraceConfigurationError) -> AcceleratorConfig {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TraceConfigurationError(message: "cannot read the \(role) \(url.path): \(error.localizedDescription)")
        }
        do {
            return try AcceleratorConfig.fromJSON(data)
        } catch {
            throw TraceConfigurationError(message: "the \(role) \(url.path) is not a valid configuration: \(error)")
        }
    }
}

/// The configuration of a replay is missing or unusable.
public struct TraceConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Problems

/// One way in which the hardware and the golden model disagree.
public struct TraceProblem: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        /// A golden DMA write whose bytes the hardware wrote differently (or not at all).
        case writeDiffers
        /// A golden DMA write that the hardware never made.
        case missingWrite
        /// The golden model read bytes that the hardware did not read while the command was in flight.
        case unreadBytes
        /// The hardware wrote bytes that the golden model did not write.
        case extraWrite
        /// The final error states differ.
        case errorState
        /// A command retired twice, never, or without having been issued.
        case retirement
        /// A COUNTER's answer differs from the timing model's count, or a response is missing or extra.
        case response

        var order: Int {
            switch self {
            case .unreadBytes: 0
            case .writeDiffers, .missingWrite: 1
            case .extraWrite: 2
            case .errorState: 3
            case .retirement: 4
            case .response: 5
            }
        }
    }

    public var kind: Kind
    /// The command it belongs to (program order index), when one is known.
    public var commandIndex: Int?
    /// That command in words (`GoldenModel.describe` with the state it ran with, and its raw words).
    public var command: String?
    /// The DRAM address of the write or read concerned (its first byte).
    public var address: UInt64?
    /// The first byte that differs, for write problems.
    public var firstDifference: UInt64?
    /// What the golden model wrote there.
    public var expected: [UInt8]?
    /// What the hardware wrote at the same addresses (nil: not written).
    public var actual: [UInt8?]?
    /// The trace line of the hardware's event concerned.
    public var traceLine: Int?
    /// One line in words.
    public var message: String

    public init(kind: Kind, commandIndex: Int?, command: String? = nil, address: UInt64? = nil, firstDifference: UInt64? = nil,
                expected: [UInt8]? = nil, actual: [UInt8?]? = nil, traceLine: Int? = nil, message: String) {
        self.kind = kind
        self.commandIndex = commandIndex
        self.command = command
        self.address = address
        self.firstDifference = firstDifference
        self.expected = expected
        self.actual = actual
        self.traceLine = traceLine
        self.message = message
    }

    /// Several lines: the command, the message, expected and actual bytes.
    public var description: String {
        var lines: [String] = []
        if let commandIndex {
            lines.append("command \(commandIndex): \(command ?? "")")
        }
        lines.append(message)
        if let expected, let actual {
            let (shownExpected, shownActual, skipped) = Self.window(expected: expected, actual: actual)
            let prefix = skipped > 0 ? "(from byte \(skipped)) " : ""
            lines.append("expected (golden model): \(prefix)\(shownExpected)")
            lines.append("actual   (hardware):     \(prefix)\(shownActual)")
            lines.append("                         \(String(repeating: " ", count: prefix.count))\(Self.markers(expected: expected, actual: actual, skipped: skipped))")
        } else if let actual {
            lines.append("written  (hardware):     \(Self.hex(actual))")
        }
        return lines.joined(separator: "\n")
    }

    static func hex(_ bytes: [UInt8?]) -> String {
        bytes.map { $0.map { String(format: "%02x", $0) } ?? "--" }.joined(separator: " ")
    }

    /// At most 32 bytes, starting near the first difference.
    private static func window(expected: [UInt8], actual: [UInt8?]) -> (String, String, Int) {
        let first = expected.indices.first { expected[$0] != actual[$0] } ?? 0
        let start = expected.count <= 32 ? 0 : max(0, min(first - 8, expected.count - 32))
        let end = min(expected.count, start + 32)
        return (hex(expected[start..<end].map { $0 }), hex(Array(actual[start..<end])), start)
    }

    private static func markers(expected: [UInt8], actual: [UInt8?], skipped: Int) -> String {
        let end = min(expected.count, skipped + 32)
        return (skipped..<end).map { expected[$0] == actual[$0] ? "  " : "^^" }.joined(separator: " ")
            .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
}

// MARK: - The report

public struct TraceReplayReport: Sendable {
    public enum Verdict: String, Sendable {
        case match = "MATCH"
        case mismatch = "MISMATCH"
        /// The golden model could not run the whole trace (a feature it lacks), and nothing
        /// disagreed before that.
        case incomplete = "INCOMPLETE"
    }

    public let parameters: AcceleratorParameters
    public var commands: [HarnessTrace.CommandRecord]
    public var verdict: Verdict = .match
    /// Sorted by command index; the first is the first mismatch.
    public var problems: [TraceProblem] = []
    public var notes: [String] = []
    /// The command at which the golden model stopped, and why.
    public var stoppedAt: (command: Int, reason: String)?
    public var traceFile: String?
    public var configurationSource = "given parameters"
    public var lineCount = 0

    public var hardwareReadBursts = 0
    public var failedReadBursts = 0
    public var hardwareReadBytes = 0
    public var goldenReadBytes = 0
    public var hardwareWriteBursts = 0
    public var failedWriteBursts = 0
    public var hardwareWrittenBytes = 0
    public var goldenWrites = 0
    public var goldenWrittenBytes = 0
    public var hardwareError: HarnessTrace.ErrorRecord?
    public var goldenError: AcceleratorError?
    /// The timing model's prediction next to the measured cycles.
    public var timing: TimingComparison?

    init(parameters: AcceleratorParameters, commands: [HarnessTrace.CommandRecord]) {
        self.parameters = parameters
        self.commands = commands
    }

    public var firstProblem: TraceProblem? { problems.first }

    /// The first issue cycle, the last retirement cycle and the cycles between them.
    public var totalCycles: (first: UInt64, last: UInt64, cycles: UInt64)? {
        guard let first = commands.first?.issueCycle, let last = commands.compactMap(\.doneCycle).max() else { return nil }
        return (first, last, last >= first ? last - first : 0)
    }

    /// The report as `spinel check` prints it.
    public func render(commandTable: Bool = true, maximumProblems: Int = 20) -> String {
        var out: [String] = []
        func field(_ name: String, _ value: String) {
            out.append(name.padding(toLength: 15, withPad: " ", startingAt: 0) + value)
        }
        field("trace", "\(traceFile ?? "(in memory)") (\(lineCount) lines)")
        field("configuration", "\(parameters.name) from \(configurationSource)")
        let retired = commands.filter { $0.doneCycle != nil }.count
        field("commands", "\(commands.count)" + (retired == commands.count ? " (all retired)" : " (\(retired) retired)"))
        field("DMA reads", "hardware \(hardwareReadBytes) B in \(hardwareReadBursts) burst(s)"
              + (failedReadBursts > 0 ? ", \(failedReadBursts) failed" : "") + "; the golden model used \(goldenReadBytes) B")
        field("DMA writes", "hardware \(hardwareWrittenBytes) B strobed in \(hardwareWriteBursts) burst(s)"
              + (failedWriteBursts > 0 ? ", \(failedWriteBursts) failed" : "")
              + "; the golden model wrote \(goldenWrittenBytes) B in \(goldenWrites) row(s)")
        let goldenErrorWords = goldenError.map { "\($0.code) (code \($0.code.rawValue)) at command \($0.commandIndex)" } ?? "none"
        let hardwareErrorWords = hardwareError.map { "\(TraceReplay.errorName($0.code)) (code \($0.code)) at command \($0.commandIndex)" } ?? "none"
        field("error state", "hardware \(hardwareErrorWords); golden model \(goldenErrorWords)")
        let answers = commands.filter { $0.response != nil }.count
        if answers > 0 { field("counters", "\(answers) COUNTER answer(s), compared with the timing model's counts") }
        if let stoppedAt {
            field("replay", "stopped at command \(stoppedAt.command): \(stoppedAt.reason)")
        }

        switch verdict {
        case .match:
            field("result", "MATCH: every DMA write matches bit for bit, and the error states agree"
                  + (answers > 0 ? "; every COUNTER answers the timing model's count" : ""))
        case .incomplete:
            field("result", "INCOMPLETE: no disagreement up to command \(stoppedAt?.command ?? 0), where the golden model stopped")
        case .mismatch:
            field("result", "MISMATCH: \(problems.count) problem(s)")
            if let first = problems.first {
                out.append("")
                out.append("first mismatch")
                out += first.description.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
            }
            if problems.count > 1 {
                out.append("")
                out.append("other problems")
                for problem in problems.dropFirst().prefix(maximumProblems) {
                    let head = problem.commandIndex.map { "command \($0): " } ?? ""
                    out.append("  - " + head + problem.message)
                }
                if problems.count - 1 > maximumProblems {
                    out.append("  … and \(problems.count - 1 - maximumProblems) more")
                }
            }
        }
        if !notes.isEmpty {
            out.append("")
            out.append("notes")
            out += notes.map { "  - " + $0 }
        }

        out.append("")
        let predicted = timing?.prediction
        if commandTable {
            out.append("cycles (measured: done − issue; predicted: the timing model's retire cycle and its error)")
            out.append("       #      issue       done     cycles  predicted    error  command")
            for command in commands {
                let done = command.doneCycle.map(String.init) ?? "-"
                let cycles = command.measuredCycles.map(String.init) ?? "-"
                let guess = predicted?.retired[command.index] ?? nil
                var error = "-"
                if let guess, let measured = command.doneCycle { error = String(Int64(bitPattern: guess &- measured)) }
                out.append(Self.right(String(command.index), 8) + Self.right(String(command.issueCycle), 11) + Self.right(done, 11)
                           + Self.right(cycles, 11) + Self.right(guess.map(String.init) ?? "-", 11) + Self.right(error, 9)
                           + "  " + TraceReplay.shortWords(command, parameters: parameters))
            }
            out.append("")
        }
        if let total = totalCycles {
            field("total cycles", "\(total.cycles) (from the first issue at cycle \(total.first) to the last retirement at cycle \(total.last))")
        } else {
            field("total cycles", "unknown (no command retired)")
        }
        if let timing {
            field("timing", timing.summary)
            if commandTable { out += timing.renderTable() }
        }
        return out.joined(separator: "\n")
    }

    private static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }
}

// MARK: - Replay machinery

/// Lookup tables over a trace's bursts and command flights.
struct TraceIndex {
    static let chunkShift: UInt64 = 6

    /// Successful read bursts by 64-byte chunk of the bytes they cover (indices ascending).
    var readChunks: [UInt64: [Int]] = [:]
    /// Failed read bursts by the 4 KiB page of their address.
    var failedReadPages: [UInt64: [Int]] = [:]
    /// Failed write bursts by 64-byte chunk.
    var failedWriteChunks: [UInt64: [Int]] = [:]
    /// For each command: trace lines strictly between which its requests happened.
    var flights: [(from: Int, to: Int)]
    /// For each write burst: the commands in flight when it completed, in program order.
    var inFlightAtWrite: [[Int]]

    init(_ trace: HarnessTrace) {
        for (i, burst) in trace.reads.enumerated() {
            if burst.failed {
                failedReadPages[burst.address >> 12, default: []].append(i)
            } else {
                Self.register(i, address: burst.address, count: burst.data.count, in: &readChunks)
            }
        }
        for (i, burst) in trace.writes.enumerated() where burst.failed {
            Self.register(i, address: burst.address, count: burst.data.count, in: &failedWriteChunks)
        }
        flights = trace.commands.map { ($0.line, $0.doneLine ?? Int.max) }

        // Sweep the lines: which commands are in flight at each write burst.
        enum Mark { case issue(Int), retire(Int), write(Int) }
        var marks: [(line: Int, mark: Mark)] = []
        for command in trace.commands {
            marks.append((command.line, .issue(command.index)))
            if let done = command.doneLine { marks.append((done, .retire(command.index))) }
        }
        for (i, burst) in trace.writes.enumerated() { marks.append((burst.line, .write(i))) }
        marks.sort { $0.line < $1.line }
        var active = Set<Int>()
        inFlightAtWrite = Array(repeating: [], count: trace.writes.count)
        for (_, mark) in marks {
            switch mark {
            case .issue(let c): active.insert(c)
            case .retire(let c): active.remove(c)
            case .write(let w): inFlightAtWrite[w] = active.sorted()
            }
        }
    }

    private static func register(_ burst: Int, address: UInt64, count: Int, in table: inout [UInt64: [Int]]) {
        guard count > 0 else { return }
        let last = address &+ UInt64(count - 1)
        guard last >= address else { return }
        for chunk in (address >> chunkShift)...(last >> chunkShift) { table[chunk, default: []].append(burst) }
    }

    /// Calls `body` for the entries of `list` (ascending burst indices, hence ascending lines)
    /// whose line lies strictly between `from` and `to`.
    static func forEach(in list: [Int], line: (Int) -> Int, from: Int, to: Int, _ body: (Int) -> Void) {
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if line(list[middle]) <= from { low = middle + 1 } else { high = middle }
        }
        var i = low
        while i < list.count && line(list[i]) < to {
            body(list[i])
            i += 1
        }
    }

    /// The chunks covering `count` bytes at `address` (empty if the range wraps).
    static func chunks(address: UInt64, count: Int) -> ClosedRange<UInt64>? {
        guard count > 0 else { return nil }
        let last = address &+ UInt64(count - 1)
        guard last >= address else { return nil }
        return (address >> chunkShift)...(last >> chunkShift)
    }
}

/// A DMA write of the golden model.
struct GoldenWrite {
    var command: Int
    var address: UInt64
    var bytes: [UInt8]
}

/// Main memory for replay: reads come from the trace's `rd` bursts of the current command's
/// flight, writes are collected.
struct TraceReplayMemory: MainMemory {
    let trace: HarnessTrace
    let index: TraceIndex
    var command = 0
    var flight = (from: 0, to: Int.max)
    /// Per read burst, which bytes a golden read has taken (allocated on first use).
    var consumed: [[Bool]]
    /// Per read burst, whether a golden read took any byte of it.
    var used: [Bool]
    var goldenWrites: [GoldenWrite] = []
    /// What faulted MVOUTs would have written after their fault (`MainMemory.abandoned`).
    var abandonedWrites: [GoldenWrite] = []
    var goldenReadBytes = 0
    /// The 64-byte chunks that golden reads touched.
    var goldenReadChunks = Set<UInt64>()
    /// "The hardware never read …": at most one per command.
    var unread: [TraceProblem] = []

    init(trace: HarnessTrace, index: TraceIndex) {
        self.trace = trace
        self.index = index
        consumed = Array(repeating: [], count: trace.reads.count)
        used = Array(repeating: false, count: trace.reads.count)
    }

    mutating func read(address: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        goldenReadBytes += count
        var candidates: [Int] = []
        if let chunks = TraceIndex.chunks(address: address, count: count) {
            let last = address &+ UInt64(count - 1)
            for chunk in chunks {
                goldenReadChunks.insert(chunk)
                guard let list = index.readChunks[chunk] else { continue }
                TraceIndex.forEach(in: list, line: { trace.reads[$0].line }, from: flight.from, to: flight.to) { b in
                    let burst = trace.reads[b]
                    if burst.address <= last && (burst.address >= address || address - burst.address < UInt64(burst.data.count)) {
                        candidates.append(b)
                    }
                }
            }
            candidates = Array(Set(candidates)).sorted()
        }
        var result = [UInt8](repeating: 0, count: count)
        var missing: [Int] = []
        for j in 0..<count {
            let x = address &+ UInt64(j)
            var chosen = -1, fallback = -1
            for b in candidates {
                let burst = trace.reads[b]
                guard burst.address <= x, x - burst.address < UInt64(burst.data.count) else { continue }
                let offset = Int(x - burst.address)
                if consumed[b].isEmpty { consumed[b] = Array(repeating: false, count: burst.data.count) }
                if !consumed[b][offset] {
                    chosen = b
                    break
                }
                fallback = b
            }
            if chosen < 0 { chosen = fallback }
            guard chosen >= 0 else {
                missing.append(j)
                continue
            }
            let offset = Int(x - trace.reads[chosen].address)
            consumed[chosen][offset] = true
            used[chosen] = true
            result[j] = trace.reads[chosen].data[offset]
        }
        guard !missing.isEmpty else { return result }

        // A failed burst of this flight may cover the missing bytes: the read fails as the hardware's did.
        for j in missing {
            let x = address &+ UInt64(j)
            guard let list = index.failedReadPages[x >> 12] else { continue }
            var faulted = false
            TraceIndex.forEach(in: list, line: { trace.reads[$0].line }, from: flight.from, to: flight.to) { b in
                if trace.reads[b].address <= x { faulted = true }
            }
            if faulted { throw DMAFault(isWrite: false, address: address, count: count) }
        }
        recordUnread(address: address, count: count, missing: missing)
        return result
    }

    mutating func write(address: UInt64, bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        if let chunks = TraceIndex.chunks(address: address, count: bytes.count) {
            let last = address &+ UInt64(bytes.count - 1)
            var faulted = false
            for chunk in chunks {
                guard let list = index.failedWriteChunks[chunk] else { continue }
                TraceIndex.forEach(in: list, line: { trace.writes[$0].line }, from: flight.from, to: flight.to) { b in
                    let burst = trace.writes[b]
                    for (k, strobed) in burst.strobe.enumerated() where strobed {
                        let y = burst.address &+ UInt64(k)
                        if y >= address && y <= last { faulted = true }
                    }
                }
            }
            if faulted { throw DMAFault(isWrite: true, address: address, count: bytes.count) }
        }
        goldenWrites.append(GoldenWrite(command: command, address: address, bytes: bytes))
    }

    mutating func abandoned(address: UInt64, bytes: [UInt8]) {
        abandonedWrites.append(GoldenWrite(command: command, address: address, bytes: bytes))
    }

    private mutating func recordUnread(address: UInt64, count: Int, missing: [Int]) {
        guard unread.last?.commandIndex != command else { return }
        let firstMissing = address &+ UInt64(missing[0])
        var run = 1
        while run < missing.count && missing[run] == missing[0] + run { run += 1 }
        let range = run == 1 ? "the byte at \(hexAddress(firstMissing))"
            : "\(run) bytes from \(hexAddress(firstMissing)) to \(hexAddress(firstMissing &+ UInt64(run - 1)))"
        var message = "the golden model reads \(count) B at \(hexAddress(address)), but the hardware never read \(range)"
            + (missing.count > run ? " (and \(missing.count - run) more of those bytes)" : "")
            + " while this command was in flight (trace lines \(flight.from)–\(flight.to == Int.max ? "end" : String(flight.to)))"
        // Did the hardware read it at another time?
        var elsewhere: Int?
        if let list = index.readChunks[firstMissing >> TraceIndex.chunkShift] {
            for b in list {
                let burst = trace.reads[b]
                if burst.address <= firstMissing && firstMissing - burst.address < UInt64(burst.data.count) {
                    if elsewhere == nil || abs(burst.line - flight.from) < abs(elsewhere! - flight.from) { elsewhere = burst.line }
                }
            }
        }
        if let elsewhere {
            message += "; a read burst at trace line \(elsewhere) covers it, outside this command's flight"
        } else {
            message += "; no read burst of the trace covers it"
        }
        message += " (replay fed zeros for the missing bytes)"
        unread.append(TraceProblem(kind: .unreadBytes, commandIndex: command, address: address, firstDifference: firstMissing,
                                   message: message))
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
            memory.command = record.index
            memory.flight = memory.index.flights[record.index]
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

/// The golden model's writes against the hardware's, byte address by byte address.
struct WriteComparison {
    var problems: [TraceProblem] = []
    var notes: [String] = []

    private struct ByteWrite {
        var address: UInt64
        var source: Int32
        var value: UInt8
    }

    init(trace: HarnessTrace, index: TraceIndex, golden: GoldenPass, stop: Int?) {
        let writes = golden.memory.goldenWrites
        var writesByCommand: [Int: [Int]] = [:]
        for (w, write) in writes.enumerated() { writesByCommand[write.command, default: []].append(w) }
        func goldenCovers(_ command: Int, _ x: UInt64) -> Bool {
            writesByCommand[command, default: []].contains { w in
                writes[w].address <= x && x - writes[w].address < UInt64(writes[w].bytes.count)
            }
        }
        let writeFaulted = Set(golden.rejections.filter { $0.value.code == .dmaWriteFault }.keys)
        let mvout = Funct.mvout

        var expected: [ByteWrite] = []
        for (w, write) in writes.enumerated() {
            for (j, value) in write.bytes.enumerated() {
                expected.append(ByteWrite(address: write.address &+ UInt64(j), source: Int32(w), value: value))
            }
        }
        // What faulted commands would have written after their fault, by address.
        var abandoned: [UInt64: [(command: Int, value: UInt8)]] = [:]
        for write in golden.memory.abandonedWrites {
            for (j, value) in write.bytes.enumerated() { abandoned[write.address &+ UInt64(j), default: []].append((write.command, value)) }
        }
        // How often the golden model writes each of those addresses (no work without a fault).
        var expectedCount: [UInt64: Int] = [:]
        if !abandoned.isEmpty {
            for write in writes {
                for j in write.bytes.indices where abandoned[write.address &+ UInt64(j)] != nil {
                    expectedCount[write.address &+ UInt64(j), default: 0] += 1
                }
            }
        }

        var actual: [ByteWrite] = []
        var toleratedBytes = 0
        var toleratedCommands = Set<Int>()
        // Bytes that may be a faulted command's leftover, dropped below where the address got
        // more writes than the golden model expects.
        var leftoverCandidates: [(index: Int, command: Int)] = []
        for (b, burst) in trace.writes.enumerated() where !burst.failed {
            let inFlight = index.inFlightAtWrite[b]
            let faultedInFlight = inFlight.filter { writeFaulted.contains($0) }
            for (j, strobed) in burst.strobe.enumerated() where strobed {
                let x = burst.address &+ UInt64(j)
                if !faultedInFlight.isEmpty {
                    // A byte no in-flight command is expected to write: a faulted command's
                    // leftover request, tolerated.
                    if !inFlight.contains(where: { goldenCovers($0, x) }) {
                        toleratedBytes += 1
                        toleratedCommands.formUnion(faultedInFlight)
                        continue
                    }
                    // A byte another command is expected to write, with the value a faulted
                    // command would have written there: perhaps that command's leftover.
                    if let leftover = abandoned[x]?.first(where: { faultedInFlight.contains($0.command) && $0.value == burst.data[j] }) {
                        leftoverCandidates.append((actual.count, leftover.command))
                    }
                }
                actual.append(ByteWrite(address: x, source: Int32(b), value: burst.data[j]))
            }
        }
        // A leftover is dropped only when its address has more writes than expected (earliest
        // first: the faulted command came before the ones still expected to write there).
        var actualCount: [UInt64: Int] = [:]
        for write in actual where abandoned[write.address] != nil { actualCount[write.address, default: 0] += 1 }
        var dropped = Set<Int>()
        for candidate in leftoverCandidates {
            let x = actual[candidate.index].address
            guard actualCount[x, default: 0] > expectedCount[x, default: 0] else { continue }
            actualCount[x, default: 0] -= 1
            dropped.insert(candidate.index)
            toleratedBytes += 1
            toleratedCommands.insert(candidate.command)
        }
        if !dropped.isEmpty { actual = actual.enumerated().filter { !dropped.contains($0.offset) }.map(\.element) }
        if toleratedBytes > 0 {
            notes.append("\(toleratedBytes) B written by the hardware for command(s) \(toleratedCommands.sorted().map(String.init).joined(separator: ", ")) "
                         + "after their DMA write fault: allowed (requests issued before a fault may complete; docs/ACCELERATOR.md, \"Errors\")")
        }
        expected.sort { ($0.address, $0.source) < ($1.address, $1.source) }
        actual.sort { ($0.address, $0.source) < ($1.address, $1.source) }

        // Walk both, address by address.
        var differences: [Int: [(address: UInt64, value: UInt8?, burst: Int?)]] = [:]
        var extra: [Int: [UInt64]] = [:]
        var e = 0, a = 0
        while e < expected.count || a < actual.count {
            let address = min(e < expected.count ? expected[e].address : UInt64.max, a < actual.count ? actual[a].address : UInt64.max)
            let eStart = e, aStart = a
            while e < expected.count && expected[e].address == address { e += 1 }
            while a < actual.count && actual[a].address == address { a += 1 }
            let eCount = e - eStart, aCount = a - aStart
            for k in 0..<max(eCount, aCount) {
                if k < eCount && k < aCount {
                    if expected[eStart + k].value != actual[aStart + k].value {
                        differences[Int(expected[eStart + k].source), default: []]
                            .append((address, actual[aStart + k].value, Int(actual[aStart + k].source)))
                    }
                } else if k < eCount {
                    differences[Int(expected[eStart + k].source), default: []].append((address, nil, nil))
                } else {
                    extra[Int(actual[aStart + k].source), default: []].append(address)
                }
            }
        }

        for (w, list) in differences {
            let write = writes[w]
            var bytes: [UInt8?] = write.bytes.map { $0 }
            for difference in list { bytes[Int(difference.address - write.address)] = difference.value }
            let first = list.min { $0.address < $1.address }!
            let neverWritten = list.allSatisfy { $0.value == nil }
            let line = list.first { $0.burst != nil }.flatMap { $0.burst }.map { trace.writes[$0].line }
            let message: String
            if neverWritten {
                message = list.count == write.bytes.count
                    ? "DRAM write of \(write.bytes.count) B at \(hexAddress(write.address)): the hardware never wrote these bytes"
                    : "DRAM write of \(write.bytes.count) B at \(hexAddress(write.address)): the hardware never wrote \(list.count) of these bytes, the first at \(hexAddress(first.address))"
            } else {
                message = "DRAM write of \(write.bytes.count) B at \(hexAddress(write.address)): \(list.count) byte(s) differ, the first at \(hexAddress(first.address))"
                    + (line.map { " (wr burst at trace line \($0))" } ?? "")
            }
            problems.append(TraceProblem(kind: neverWritten ? .missingWrite : .writeDiffers, commandIndex: write.command,
                                         address: write.address, firstDifference: first.address, expected: write.bytes,
                                         actual: bytes, traceLine: line, message: message))
        }

        for (b, addresses) in extra {
            let burst = trace.writes[b]
            let inFlight = index.inFlightAtWrite[b]
            let mvouts = inFlight.filter { trace.commands[$0].funct == mvout }
            let owner = mvouts.first { c in
                writesByCommand[c, default: []].contains { w in
                    writes[w].address < burst.address &+ UInt64(burst.data.count) && burst.address < writes[w].address &+ UInt64(writes[w].bytes.count)
                }
            } ?? mvouts.first ?? inFlight.first
            if let stop, (owner ?? Int.max) >= stop { continue }  // beyond where the golden model stopped
            let sorted = addresses.sorted()
            let values: [UInt8?] = sorted.map { burst.data[Int($0 - burst.address)] }
            let context = owner != nil ? "" : " while no command was in flight"
            problems.append(TraceProblem(
                kind: .extraWrite, commandIndex: owner, address: sorted[0], firstDifference: sorted[0], actual: values, traceLine: burst.line,
                message: "the hardware wrote \(sorted.count) B from \(hexAddress(sorted[0])) to \(hexAddress(sorted.last!))\(context) "
                    + "that the golden model did not write (wr burst at trace line \(burst.line))"))
        }
    }
}
