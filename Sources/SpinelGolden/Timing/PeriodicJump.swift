import SpinelISA

// The periodic jump (docs/TIMING.md, "Periodic loops"): a run of LOOP_WS commands that repeat
// (the same loop over the next block of DRAM) drives the model through the same cycles again
// and again. When the whole state at one LOOP_WS's acceptance equals the state one period
// earlier, moved by the period (its dispatch sequence numbers, host command indices and
// cycles), and the commands ahead repeat too, the periods ahead are copies of the last one:
// the model fills in their acceptances and retirements and moves the state on.

/// Walks the timing model's registers, each by what a period does to it: a `same` register
/// is equal in every period, a sequence number, host command index or cycle moves by the
/// period's. An encoder writes the registers relative to the current period's start; a
/// translator moves them on by whole periods.
protocol PeriodicStateVisitor {
    mutating func same(_ value: Int)
    mutating func same<T: Equatable>(_ value: T)
    /// A register with accumulator rows: the same in every period, or in the other accumulator
    /// half in every other period (`AccumulatorHalves`).
    mutating func rows<T: AccumulatorHalves & Equatable>(_ value: inout T)
    /// A dispatch sequence number (`Dispatched`).
    mutating func sequence(_ value: inout Int)
    /// A host command's index (the program's).
    mutating func host(_ value: inout Int)
    mutating func cycle(_ value: inout UInt64)
    /// A sequence number that moves with the period but decides nothing itself (a column's
    /// first kept sequence number): moved, not compared.
    mutating func moveSequence(_ value: inout Int)
    /// A cycle in the past that decides nothing but that it is past: moved, not compared.
    mutating func moveCycle(_ value: inout UInt64)
}

extension PeriodicStateVisitor {
    mutating func sequence(_ value: inout Int?) {
        same(value == nil ? 0 : 1)
        if var present = value {
            sequence(&present)
            value = present
        }
    }

    mutating func host(_ value: inout Int?) {
        same(value == nil ? 0 : 1)
        if var present = value {
            host(&present)
            value = present
        }
    }

    mutating func cycle(_ value: inout UInt64?) {
        same(value == nil ? 0 : 1)
        if var present = value {
            cycle(&present)
            value = present
        }
    }
}

/// The registers relative to a period's start: two periods' encodings are equal exactly when
/// the later state is the earlier one moved by a period. With `swap` (accumulator rows / 2),
/// the registers as they would be with the accumulator halves swapped.
struct PeriodicEncoder: PeriodicStateVisitor {
    let sequenceBase: Int, hostBase: Int, cycleBase: UInt64
    let swap: Int
    private(set) var numbers: [Int] = []
    private(set) var values: [any Equatable] = []
    /// A range of accumulator rows straddles the halves: no swapped state matches.
    private(set) var unswappable = false

    init(sequenceBase: Int, hostBase: Int, cycleBase: UInt64, swap: Int = 0) {
        self.sequenceBase = sequenceBase
        self.hostBase = hostBase
        self.cycleBase = cycleBase
        self.swap = swap
    }

    mutating func same(_ value: Int) { numbers.append(value) }
    mutating func same<T: Equatable>(_ value: T) { values.append(value) }
    mutating func rows<T: AccumulatorHalves & Equatable>(_ value: inout T) {
        guard swap != 0 else { return values.append(value) }
        if let swapped = value.swappingHalves(swap) { values.append(swapped) } else { unswappable = true }
    }
    mutating func sequence(_ value: inout Int) { numbers.append(value - sequenceBase) }
    mutating func host(_ value: inout Int) { numbers.append(value - hostBase) }
    mutating func cycle(_ value: inout UInt64) { numbers.append(Int(bitPattern: UInt(value &- cycleBase))) }
    mutating func moveSequence(_ value: inout Int) {}
    mutating func moveCycle(_ value: inout UInt64) {}

    /// Whether `other` (another period's encoding) holds the same registers.
    func matches(_ other: PeriodicEncoder) -> Bool {
        guard !unswappable, !other.unswappable, numbers == other.numbers, values.count == other.values.count else { return false }
        for (a, b) in zip(values, other.values) where !Self.equal(a, b) { return false }
        return true
    }

    private static func equal<T: Equatable>(_ a: T, _ b: any Equatable) -> Bool { (b as? T) == a }
}

/// Moves the registers on by `periods` periods (with `swap`, into the other accumulator halves).
struct PeriodicTranslator: PeriodicStateVisitor {
    let sequences: Int, hosts: Int, cycles: UInt64
    let swap: Int

    mutating func same(_ value: Int) {}
    mutating func same<T: Equatable>(_ value: T) {}
    mutating func rows<T: AccumulatorHalves & Equatable>(_ value: inout T) {
        // (A match with the halves swapped found every one of them swappable.)
        if swap != 0 { value = value.swappingHalves(swap)! }
    }
    mutating func sequence(_ value: inout Int) { value += sequences }
    mutating func host(_ value: inout Int) { value += hosts }
    mutating func cycle(_ value: inout UInt64) { value += cycles }
    mutating func moveSequence(_ value: inout Int) { value += sequences }
    mutating func moveCycle(_ value: inout UInt64) { value += cycles }
}

/// The simulation at one LOOP_WS's acceptance (the cycle after it), for the periodic jump.
struct PeriodSnapshot {
    var cycle: UInt64
    /// The next host command (the one after the LOOP_WS), and the next sequence number.
    var host: Int, sequence: Int
    /// Acceptances and retirements logged before it (`PeriodicJumpState.log`).
    var logged: Int
    /// The registers, and as they would be with the accumulator halves swapped (nil when the
    /// simulation cannot swap them).
    var registers: PeriodicEncoder, swapped: PeriodicEncoder?
}

/// An acceptance or a retirement of a host command, in the order the model made them.
struct PeriodicEvent {
    var host: Int
    var retired: Bool
    var cycle: UInt64
}

/// A command's work as far as timing goes: DRAM addresses only by the requests they make
/// (`DMAAddressing`), for the periodic jump's comparisons.
struct TimingWorkKey: Equatable {
    var work: TimedCommand.Work
    var dma: DMAAddressing

    static func == (a: TimingWorkKey, b: TimingWorkKey) -> Bool { equivalent(a.work, b.work, a.dma) }

    static func equivalent(_ a: TimedCommand.Work, _ b: TimedCommand.Work, _ dma: DMAAddressing) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case (.pair(let x), .pair(let y)): return x == y
        case (.mvin(let x), .mvin(let y)):
            var (bareX, bareY) = (x, y)
            (bareX.dramAddress, bareX.dramStride, bareY.dramAddress, bareY.dramStride) = (0, 0, 0, 0)
            guard bareX == bareY, x.zeros == y.zeros else { return false }
            if x.zeros || x.empty { return true }
            for row in 0..<x.rows where dma.request(address: x.address(row: row), bytes: x.rowBytes)
                != dma.request(address: y.address(row: row), bytes: y.rowBytes) {
                return false
            }
            return true
        case (.mvout(let x), .mvout(let y)):
            var (bareX, bareY) = (x, y)
            (bareX.dramAddress, bareX.dramStride, bareY.dramAddress, bareY.dramStride) = (0, 0, 0, 0)
            guard bareX == bareY else { return false }
            if x.empty { return true }
            for block in 0..<x.blocks {
                for row in 0..<x.rows where dma.request(address: x.address(row: row, block: block), bytes: x.bytes(block: block))
                    != dma.request(address: y.address(row: row, block: block), bytes: y.bytes(block: block)) {
                    return false
                }
            }
            return true
        default:
            // CTA commands: never part of a period.
            return false
        }
    }
}

extension TimedCommand {
    /// Whether this command takes the same cycles as `other`, a period earlier (`hostShift`
    /// host commands before it; 0 for two commands of two loops' unrollings).
    /// With `swap`, as `other` would be with the accumulator halves swapped.
    func periodicallyEquivalent(to other: TimedCommand, hostShift: Int, dma: DMAAddressing, swap: Int = 0) -> Bool {
        guard funct == other.funct, index == other.index + hostShift, route == other.route,
              normalizerBusy == other.normalizerBusy, counter == nil, other.counter == nil, isRejected == other.isRejected else { return false }
        if swap == 0 {
            guard footprint == other.footprint, TimingWorkKey.equivalent(work, other.work, dma) else { return false }
        } else {
            guard let footprint = other.footprint.swappingHalves(swap), footprint == self.footprint,
                  let work = other.work.swappingHalves(swap), TimingWorkKey.equivalent(self.work, work, dma) else { return false }
        }
        switch (loop, other.loop) {
        case (nil, nil): return true
        case (let a?, let b?): return (swap == 0 && a.lists === b.lists) || a.lists.periodicallyEquivalent(to: b.lists, dma: dma, swap: swap)
        default: return false
        }
    }
}

extension UnrolledLoop.Lists {
    /// Whether this unrolling takes the same cycles as `other`'s.
    func periodicallyEquivalent(to other: UnrolledLoop.Lists, dma: DMAAddressing, swap: Int = 0) -> Bool {
        guard commands.count == other.commands.count, residual == other.residual, bias == other.bias, loads == other.loads,
              pairs == other.pairs, stores == other.stores, isResidualAdd == other.isResidualAdd, storesC == other.storesC,
              normalizes == other.normalizes, tilesI == other.tilesI, tilesJ == other.tilesJ, aRows == other.aRows,
              bRows == other.bRows, loadsA == other.loadsA, loadsB == other.loadsB, loadsBias == other.loadsBias else { return false }
        for (a, b) in zip(commands, other.commands) where !a.periodicallyEquivalent(to: b, hostShift: 0, dma: dma, swap: swap) {
            return false
        }
        return true
    }
}

/// The periodic jump's bookkeeping in a simulation: the snapshots at recent LOOP_WS
/// acceptances and the acceptances and retirements since the oldest.
struct PeriodicJumpState {
    /// Snapshots kept (oldest first): a period of up to this many loops is found.
    static let kept = 48
    var snapshots: [PeriodSnapshot] = []
    var log: [PeriodicEvent] = []
    /// A LOOP_WS was taken in the cycle just stepped.
    var loopTaken = false
    /// Which commands repeat the one a period before them (a LOOP_WS's whole unrolling is
    /// compared): the scans of later snapshots ask again.
    struct Pair: Hashable {
        var command: Int, hosts: Int
        var swapped: Bool
    }
    var equivalent: [Pair: Bool] = [:]

    mutating func keep(_ snapshot: PeriodSnapshot) {
        snapshots.append(snapshot)
        if snapshots.count > Self.kept { snapshots.removeFirst() }
    }

    /// Forgets the events before the oldest snapshot (they are never copied), a few thousand at once.
    mutating func trimLog() {
        guard let dropped = snapshots.first?.logged, dropped >= 4096 else { return }
        log.removeFirst(dropped)
        for index in snapshots.indices { snapshots[index].logged -= dropped }
    }
}

// MARK: - Accumulator halves

/// A value with accumulator rows in it: the same value with each of them in the other half of
/// the accumulator (`half` = accumulator rows / 2, a power of two: row r becomes r ^ half), or nil
/// when a range of its rows straddles the two halves (then no such value does what it does).
///
/// A LOOP_WS that stores C flips the accumulator half of the next one, so the blocks of a tiled
/// matmul alternate between the halves. Swapping the halves maps every decision of the model
/// onto the same decision when the banks do not see the swap (`bank(r ^ half) == bank(r)`, which
/// the simulation checks) and no range of rows crosses from one half to the other: rows are
/// compared for equality and for overlap, and both are kept by the swap within one half.
protocol AccumulatorHalves {
    func swappingHalves(_ half: Int) -> Self?
}

extension Optional: AccumulatorHalves where Wrapped: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> Self? {
        guard let value = self else { return .some(nil) }
        return value.swappingHalves(half).map { .some($0) }
    }
}

extension Array: AccumulatorHalves where Element: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> Self? {
        var swapped: [Element] = []
        swapped.reserveCapacity(count)
        for element in self {
            guard let other = element.swappingHalves(half) else { return nil }
            swapped.append(other)
        }
        return swapped
    }
}

extension LocalAddress: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> LocalAddress? {
        isAccumulator && !isGarbage ? LocalAddress(bits: bits ^ UInt32(half)) : self
    }
}

extension LocalOperand: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> LocalOperand? {
        var operand = self
        operand.address = address.swappingHalves(half)!
        return operand
    }
}

extension LocalRowAccess: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> LocalRowAccess? {
        guard accumulator else { return self }
        var access = self
        access.row ^= half
        return access
    }
}

extension RowSpan {
    /// An accumulator span in the other half; nil when it straddles the halves.
    func swappingHalves(_ half: Int) -> RowSpan? {
        guard low >= 0, low / half == high / half else { return nil }
        return RowSpan(low: low ^ half, high: high ^ half)
    }
}

extension TimingFootprint: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> TimingFootprint? {
        var footprint = self
        if let span = accumulatorRead {
            guard let swapped = span.swappingHalves(half) else { return nil }
            footprint.accumulatorRead = swapped
        }
        if let span = accumulatorWrite {
            guard let swapped = span.swappingHalves(half) else { return nil }
            footprint.accumulatorWrite = swapped
        }
        return footprint
    }
}

extension ExecutePair: AccumulatorHalves {
    /// (The rows a pair reads and writes are its footprint's, which the simulation swaps with it.)
    func swappingHalves(_ half: Int) -> ExecutePair? {
        var pair = self
        pair.a = a.swappingHalves(half)!
        pair.computeOperand = computeOperand.swappingHalves(half)!
        pair.preloadOperand = preloadOperand.swappingHalves(half)!
        pair.c = c.swappingHalves(half)!
        return pair
    }
}

extension TimedCommand.Work: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> TimedCommand.Work? {
        switch self {
        case .none: return self
        case .mvin(let move): return move.swappingHalves(half).map { .mvin($0) }
        case .mvout(let move): return move.swappingHalves(half).map { .mvout($0) }
        case .pair(let pair): return pair.swappingHalves(half).map { .pair($0) }
        case .cta: return nil
        }
    }
}

extension TimingWorkKey: AccumulatorHalves {
    func swappingHalves(_ half: Int) -> TimingWorkKey? {
        work.swappingHalves(half).map { TimingWorkKey(work: $0, dma: dma) }
    }
}
