import SpinelAccelerator

/// A command the reservation station hands to the execute controller.
public struct ExecuteIssue: Sendable {
    public enum Work: Sendable {
        case config
        case pair(ExecutePair)
    }

    public var index: Int
    public var work: Work
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
/// Each cycle the model first reads `ready`, `reads(at:)` and `write(at:)` (what the registers
/// say for this cycle), then calls `clock` with the command the station issued in this cycle
/// (only while `ready`) and which read requests fired; `clock` returns the index of the
/// command whose retirement the controller reports in this cycle.
///
/// Read requests are listed in the priority of their memory ports (the execute controller's
/// ports come before the store controller's): a request waits while an earlier one in the
/// list, or the accumulator's read-modify-write stage, uses the same bank.
///
/// The reservation station issues a pair only when no older command still writes its operand
/// rows or reads/writes its C rows, so a pair's operands are readable from its issue on; a read
/// request can still wait a cycle for a bank (the accumulator's read-modify-write stage).
public protocol ExecuteTiming: Sendable {
    /// The controller's `command.ready` in the current cycle.
    var ready: Bool { get }
    /// Nothing in progress and nothing to retire (the model skips idle stretches).
    var idle: Bool { get }
    /// The row reads the controller requests in `cycle`, in port priority order.
    func reads(at cycle: UInt64) -> [LocalRowAccess]
    /// The row write the controller makes in `cycle` (the array's results cannot wait).
    func write(at cycle: UInt64) -> LocalRowAccess?
    /// Ends `cycle`; `granted[k]` tells whether `reads(at: cycle)[k]` fired. Returns the
    /// command retired in `cycle`.
    mutating func clock(cycle: UInt64, issued: ExecuteIssue?, granted: [Bool]) -> Int?
}

/// The execute controller as it is today (ExecuteController.swift, one pair at a time). A pair
/// runs alone, in phases:
/// - read A, then B, then D: one row request per cycle (A rows `aStride` apart), one cycle for an
///   operand that is skipped (GARBAGE, empty, or the operand a COMPUTE_ACCUMULATED keeps);
/// - load (COMPUTE_PRELOADED): DIM slots; else one cycle;
/// - compute: WS max(A rows, C rows) slots (none when C is GARBAGE), OS DIM slots;
/// - drain (OS, C written): DIM slots; else one cycle;
/// - finish: the last result leaves the mesh `meshRows + meshColumns − 1` cycles after its slot
///   (`MeshWithDelays.latency`); the controller waits latency + 2 cycles more (the accumulator
///   lands a write one cycle after taking it, plus the write's own cycle) and retires.
/// A slot waits while the row read in the previous cycle is still arriving, and every other
/// cycle when all of C goes to one accumulator row (C stride 0: each accumulation must land
/// before the next reads the row). CONFIG_EX retires in the cycle it is taken.
public struct SequentialExecuteTiming: ExecuteTiming {
    enum Phase { case idle, readA, readB, readD, load, compute, drain, finish }

    let dim: Int
    /// Slot to result, through the mesh and its skew registers (`MeshWithDelays.latency`).
    let meshLatency: Int

    private var phase = Phase.idle
    private var pair: ExecutePair?
    private var index = 0
    private var readRow = 0
    private var slot = 0
    private var wait = 0
    /// Half-rate feeding alternates on this register; it is never reset between pairs.
    private var pace = false
    /// A row read fired in the previous cycle: its data lands in a buffer this cycle.
    private var arriving = false
    /// Result rows on their way out of the mesh: the cycle each is written, and where.
    private var results = FIFO<(cycle: UInt64, access: LocalRowAccess)>()

    public init(_ parameters: AcceleratorParameters) {
        dim = parameters.dim
        meshLatency = parameters.config.meshRows + parameters.config.meshColumns - 1
    }

    public var ready: Bool { phase == .idle }
    public var idle: Bool { phase == .idle && results.isEmpty }

    /// The operand of a read phase and its row stride.
    private func operand(_ pair: ExecutePair) -> (LocalOperand, stride: Int)? {
        switch phase {
        case .readA: (pair.a, pair.aStride)
        case .readB: (pair.b, 1)
        case .readD: (pair.d, 1)
        default: nil
        }
    }

    private func skipped(_ operand: LocalOperand, _ pair: ExecutePair) -> Bool {
        operand.address.isGarbage || operand.rows == 0 || operand.columns == 0
            || (pair.accumulated && ((phase == .readB && pair.weightStationary) || (phase == .readD && !pair.weightStationary)))
    }

    public func reads(at cycle: UInt64) -> [LocalRowAccess] {
        guard let pair, let (operand, stride) = operand(pair), !skipped(operand, pair), readRow < operand.rows else { return [] }
        return [LocalRowAccess(accumulator: operand.address.isAccumulator, row: operand.address.row + readRow * stride)]
    }

    public func write(at cycle: UInt64) -> LocalRowAccess? {
        guard let first = results.first, first.cycle == cycle else { return nil }
        return first.access
    }

    public mutating func clock(cycle: UInt64, issued: ExecuteIssue?, granted: [Bool]) -> Int? {
        while let first = results.first, first.cycle <= cycle { results.removeFirst() }
        var retired: Int?
        var fired = false
        if let pair {
            switch phase {
            case .readA, .readB, .readD:
                let (operand, _) = self.operand(pair)!
                let skip = skipped(operand, pair)
                fired = !skip && readRow < operand.rows && granted.first == true
                let last = skip || readRow + 1 >= operand.rows
                if fired { readRow += 1 }
                if skip || (fired && last) {
                    readRow = 0
                    phase = phase == .readA ? .readB : phase == .readB ? .readD : .load
                }
            case .load, .compute, .drain:
                runSlot(pair, cycle: cycle)
            case .finish:
                if wait >= meshLatency + 2 {
                    retired = index
                    wait = 0
                    phase = .idle
                    self.pair = nil
                } else {
                    wait += 1
                }
            case .idle:
                break
            }
        }
        arriving = fired
        if let issued {
            precondition(ready, "the station issues to the execute controller only while it is ready")
            switch issued.work {
            case .config:
                retired = issued.index
            case .pair(let next):
                pair = next
                index = issued.index
                phase = .readA
            }
        }
        return retired
    }

    /// One cycle of the load, compute or drain phase.
    private mutating func runSlot(_ pair: ExecutePair, cycle: UInt64) {
        let ws = pair.weightStationary, cGarbage = pair.c.address.isGarbage
        let computeSlots = ws ? (cGarbage ? 0 : max(pair.a.rows, pair.c.rows)) : dim
        let needsLoad = !pair.accumulated, needsDrain = !ws && !cGarbage
        // The garbage address has bit 31 set, so it counts as an accumulator C here, as in the RTL.
        let halfRate = pair.cStride == 0 && pair.c.address.isAccumulator
        let mayFeed = (!halfRate || !pace) && !arriving
        let feeding = (phase == .load && needsLoad) || (phase == .compute && computeSlots != 0) || (phase == .drain && needsDrain)
        let feed = feeding && mayFeed
        if feed {
            let outputRow = phase == .drain ? dim - 1 - slot : slot
            let output = !cGarbage && (ws ? phase == .compute : phase == .drain) && outputRow < pair.c.rows
            if output {
                results.append((cycle + UInt64(meshLatency),
                                LocalRowAccess(accumulator: pair.c.address.isAccumulator, row: pair.c.address.row + outputRow * pair.cStride,
                                               accumulate: pair.c.address.accumulates)))
            }
        }
        if halfRate { pace.toggle() }
        let idleStep = !arriving && ((phase == .load && !needsLoad) || (phase == .compute && computeSlots == 0)
                                     || (phase == .drain && !needsDrain))
        guard feed || idleStep else { return }
        switch phase {
        case .load:
            if !needsLoad || slot + 1 >= dim { slot = 0; phase = .compute } else { slot += 1 }
        case .compute:
            if computeSlots == 0 || slot + 1 >= computeSlots { slot = 0; phase = .drain } else { slot += 1 }
        default:
            if !needsDrain || slot + 1 >= dim { slot = 0; phase = .finish } else { slot += 1 }
        }
    }
}
