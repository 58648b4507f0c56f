import Foundation
import SpinelISA

/// The timing model's prediction for a harness trace next to what the trace measured: total
/// cycles and, per command kind, how far the predicted retire cycles are from the measured ones.
public struct TimingComparison: Sendable {
    /// Error statistics of one command kind (predicted − measured retire cycle).
    public struct KindStatistics: Sendable {
        public var kind: String
        public var count: Int
        public var meanAbsoluteError: Double
        public var meanError: Double
        public var medianAbsoluteError: Int64
        public var p90AbsoluteError: Int64
        public var maxAbsoluteError: Int64
        /// The command with the largest error.
        public var worstCommand: Int
    }

    public var memory: MemoryTimingSettings
    /// Where `memory` came from, in words.
    public var memorySource: String
    public var prediction: TimingPrediction
    public var measuredTotal: UInt64?
    public var predictedTotal: UInt64? { prediction.totalCycles }
    /// Commands, all kinds, then each kind in order of first appearance.
    public var statistics: [KindStatistics] = []

    /// (predicted − measured) / measured total cycles.
    public var relativeError: Double? {
        guard let measured = measuredTotal, let predicted = predictedTotal, measured > 0 else { return nil }
        return (Double(predicted) - Double(measured)) / Double(measured)
    }

    /// Predicts the trace's retire cycles on the model of today's RTL and compares them.
    public init(trace: HarnessTrace, parameters: AcceleratorParameters) {
        if let recorded = trace.memory {
            memory = recorded
            memorySource = "the trace's memory event"
        } else {
            memory = MemoryTimingSettings(parameters.config.memory)
            memorySource = "the configuration (the trace records none)"
        }
        let program = TimingProgram(trace, parameters: parameters)
        prediction = TimingModel(parameters: parameters, memory: memory).predict(program)
        if let first = trace.commands.first?.issueCycle, let last = trace.commands.compactMap(\.doneCycle).max() {
            measuredTotal = last >= first ? last - first : 0
        }

        var errors: [(kind: String, index: Int, error: Int64)] = []
        for (command, timed) in zip(trace.commands, program.commands) {
            guard let measured = command.doneCycle, let predicted = prediction.retired[command.index] else { continue }
            errors.append((timed.kind, command.index, Int64(bitPattern: predicted &- measured)))
        }
        var kinds: [String] = []
        for error in errors where !kinds.contains(error.kind) { kinds.append(error.kind) }
        statistics = [Self.statistics("all", errors)] + kinds.map { kind in Self.statistics(kind, errors.filter { $0.kind == kind }) }
            .filter { $0.count > 0 }
        if errors.isEmpty { statistics = [] }
    }

    static func statistics(_ kind: String, _ errors: [(kind: String, index: Int, error: Int64)]) -> KindStatistics {
        let absolute = errors.map { abs($0.error) }.sorted()
        func percentile(_ p: Double) -> Int64 {
            absolute.isEmpty ? 0 : absolute[min(absolute.count - 1, Int((Double(absolute.count - 1) * p).rounded()))]
        }
        let count = max(errors.count, 1)
        let worst = errors.max { abs($0.error) < abs($1.error) }
        return KindStatistics(kind: kind, count: errors.count,
                              meanAbsoluteError: Double(absolute.reduce(0, +)) / Double(count),
                              meanError: Double(errors.reduce(0) { $0 + $1.error }) / Double(count),
                              medianAbsoluteError: percentile(0.5), p90AbsoluteError: percentile(0.9),
                              maxAbsoluteError: absolute.last ?? 0, worstCommand: worst?.index ?? 0)
    }

    /// "predicted 812 cycles, measured 821: −1.10%".
    public var summary: String {
        guard let predicted = predictedTotal else { return "no prediction (no command retired in the model)" }
        guard let measured = measuredTotal, let error = relativeError else { return "predicted \(predicted) cycles (nothing measured)" }
        return "predicted \(predicted) cycles, measured \(measured): \(Self.percent(error))"
    }

    static func percent(_ value: Double) -> String {
        (value >= 0 ? "+" : "−") + String(format: "%.2f%%", abs(value) * 100)
    }

    /// The error table: one line per command kind.
    public func renderTable() -> [String] {
        var out = ["timing model   memory: latency \(memory.latencyCycles) cycles, \(memory.bytesPerCycle) B/cycle, "
                   + "\(memory.maxOutstanding) bursts outstanding (from \(memorySource))",
                   "retire cycle error (predicted − measured), by command kind",
                   "  kind                    count   mean |e|   median    p90      max   mean e   worst #"]
        for s in statistics {
            out.append("  " + s.kind.padding(toLength: 22, withPad: " ", startingAt: 0)
                       + Self.right(String(s.count), 7) + Self.right(String(format: "%.1f", s.meanAbsoluteError), 11)
                       + Self.right(String(s.medianAbsoluteError), 9) + Self.right(String(s.p90AbsoluteError), 7)
                       + Self.right(String(s.maxAbsoluteError), 9) + Self.right(String(format: "%+.1f", s.meanError), 9)
                       + Self.right(String(s.worstCommand), 10))
        }
        return out
    }

    private static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }
}
