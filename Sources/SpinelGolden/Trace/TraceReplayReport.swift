import Foundation
import SpinelISA

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
