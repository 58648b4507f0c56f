import SpinelISA

/// The cycles of a program whose host offers commands back to back between fences, each
/// fence-to-fence segment predicted from an idle accelerator with every command issued at
/// cycle 0 (the one fence accounting; `FencedTiming`'s tests compare it with the RTL).
///
/// A fence after work returns `PipelineTiming.fenceCycles` cycles after the segment's last
/// retirement and the next segment's first command issues then; a fence with nothing to wait
/// for takes `PipelineTiming.emptyFenceCycles`.
public struct FencedCycles: Sendable {
    /// Each segment's cycles, in order, and whether it had commands.
    public private(set) var segments: [(cycles: UInt64, busy: Bool)] = []

    public init() {}

    /// Adds a segment with commands, closed by a fence, from its commands' prediction; returns its cycles.
    @discardableResult
    public mutating func addSegment(_ prediction: TimingPrediction) -> UInt64 {
        let cycles = (prediction.retired.compactMap { $0 }.max() ?? 0) + PipelineTiming.fenceCycles
        segments.append((cycles, true))
        return cycles
    }

    /// Adds a fence with nothing to wait for; returns its cycles.
    @discardableResult
    public mutating func addEmptyFence() -> UInt64 {
        segments.append((PipelineTiming.emptyFenceCycles, false))
        return PipelineTiming.emptyFenceCycles
    }

    /// From before the first segment to the last fence's return (the harness's `spinel_cycles()`
    /// around the segments).
    public var total: UInt64 { segments.reduce(0) { $0 + $1.cycles } }

    /// From the first command's issue to the last retirement (what a trace measures, its first
    /// issue to its last done): without the fences before the first command, the last one's
    /// `fenceCycles` and the fences after it. 0 without commands.
    public var firstIssueToLastRetirement: UInt64 {
        guard let first = segments.firstIndex(where: \.busy), let last = segments.lastIndex(where: \.busy) else { return 0 }
        return segments[first ... last].reduce(0) { $0 + $1.cycles } - PipelineTiming.fenceCycles
    }

}
