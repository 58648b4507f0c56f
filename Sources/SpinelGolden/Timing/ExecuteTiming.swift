import SpinelISA

/// A command the reservation station hands to the execute controller.
public struct ExecuteIssue: Sendable {
    public enum Work: Sendable {
        case config
        case pair(ExecutePair)
    }

    public var index: Int
    public var work: Work
    /// The rows it touches (the station's `executeFootprint`): the controller keeps a pair's
    /// reads with its operand set and its writes with its retire entry, for its own
    /// read-after-write check between pairs.
    public var footprint: TimingFootprint
}

/// One row access of a local memory: a read request, or a write (with `accumulate`).
public struct LocalRowAccess: Hashable, Sendable {
    public var accumulator: Bool
    public var row: Int
    public var accumulate: Bool

    public init(accumulator: Bool, row: Int, accumulate: Bool = false) {
        self.accumulator = accumulator
        self.row = row
        self.accumulate = accumulate
    }
}

/// The seam between the timing model and the execute controller's timing: the model steps it
/// once per cycle, like the other controllers, and arbitrates its memory ports (client 0 of
/// both memories: its reads and writes go first).
///
/// Each cycle the model first reads `ready(for:)`, `reads(at:)` and `write(at:)` (what the
/// registers say for this cycle), then calls `clock` with the command the station issued in
/// this cycle (only when `ready(for:)` its work) and which read requests fired; `clock` returns
/// the index of the command whose retirement the controller reports in this cycle.
///
/// Read requests are listed in the priority of their memory ports (the execute controller's
/// ports come before the store controller's): a request waits while an earlier one in the
/// list, or the accumulator's read-modify-write stage, uses the same bank.
///
/// The reservation station issues a pair only when no older command *of another controller*
/// still writes its operand rows or reads/writes its C rows; between pairs, the controller
/// checks read-after-write itself (hence the footprint in `ExecuteIssue`). A read request can
/// still wait for a bank: an earlier port, or the accumulator's read-modify-write stage.
///
/// The write cannot wait: the array's results leave when they leave. (The accumulator refuses
/// an accumulating write to a row still in its read-modify-write stage; the controller ignores
/// `ready`, and the model keeps such a write out of the stage.)
public protocol ExecuteTiming: Sendable {
    /// The controller's `command.ready` in the current cycle, with `work` offered.
    func ready(for work: ExecuteIssue.Work) -> Bool
    /// Nothing in progress and nothing to retire (the model skips idle stretches).
    var idle: Bool { get }
    /// The row reads the controller requests in `cycle`, in port priority order.
    func reads(at cycle: UInt64) -> [LocalRowAccess]
    /// The row write the controller makes in `cycle` (the array's results cannot wait).
    func write(at cycle: UInt64) -> LocalRowAccess?
    /// Ends `cycle`; `granted[k]` tells whether `reads(at: cycle)[k]` fired. Returns the
    /// command retired in `cycle`.
    mutating func clock(cycle: UInt64, issued: ExecuteIssue?, granted: [Bool]) -> Int?
    /// Whether `other` (an earlier copy of this controller) holds the same registers: the
    /// fast path's check that a cycle changed nothing (false: never skip).
    func sameState(as other: Self) -> Bool
    /// A copy of this controller for `sameState` (it may leave out what `sameState` does not read).
    func frozenCopy() -> Self
    /// A number that changes in most cycles that change the registers: the fast path's cheap
    /// first look before `frozenCopy` (equal numbers prove nothing; 0 when not kept).
    var activity: Int { get }
    /// The first cycle after `cycle` in which time alone (a result leaving the array) changes
    /// what the controller does; nil if none.
    func nextTimer(after cycle: UInt64) -> UInt64?
    /// `reads(at:)` without an array: its first and second request.
    func readPair(at cycle: UInt64) -> ReadPair
    /// `clock(cycle:issued:granted:)` with the grants of `readPair(at:)`'s requests.
    mutating func clock(cycle: UInt64, issued: ExecuteIssue?, grantedFirst: Bool, grantedSecond: Bool) -> Int?
}

/// Up to two row reads in port priority order (`first` is nil only when `second` is).
public struct ReadPair: Sendable {
    public var first: LocalRowAccess?
    public var second: LocalRowAccess?

    public init(first: LocalRowAccess? = nil, second: LocalRowAccess? = nil) {
        self.first = first ?? second
        self.second = first == nil ? nil : second
    }
}

extension ExecuteTiming {
    public func sameState(as other: Self) -> Bool { false }
    public func frozenCopy() -> Self { self }
    public var activity: Int { 0 }
    public func nextTimer(after cycle: UInt64) -> UInt64? { nil }

    public func readPair(at cycle: UInt64) -> ReadPair {
        let reads = reads(at: cycle)
        precondition(reads.count <= 2, "the execute controller has two read streams")
        return ReadPair(first: reads.first, second: reads.dropFirst().first)
    }

    public mutating func clock(cycle: UInt64, issued: ExecuteIssue?, grantedFirst: Bool, grantedSecond: Bool) -> Int? {
        let count = reads(at: cycle).count
        return clock(cycle: cycle, issued: issued, granted: Array([grantedFirst, grantedSecond].prefix(count)))
    }
}
