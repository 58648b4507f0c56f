import SpinelISA

/// The execute controller's timing (ExecuteController.swift; docs/MICROARCHITECTURE.md,
/// "Execute pipeline"), register for register where a register decides *when* something
/// happens:
/// - accept: a pair takes an operand set and a retire entry, a CONFIG_EX only a retire entry
///   (already done); `command.ready` = the retire queue's tail entry is free and (CONFIG_EX or
///   the next operand set is free);
/// - read: the sets in order, two streams at one row request per cycle each (A on scratchpad
///   port 0; P, then the COMPUTE's rs2, on scratchpad port 1 or the accumulator port); a set
///   starts once no older unretired pair writes a row it reads and, with a WS bias, once the
///   bias buffer is free; it is ready two cycles after its last request fired;
/// - slots, in windows: compute slots of the window's pair X, the DIM load slots of the next
///   pair Y, the DIM drain slots of an OS predecessor; a window ends in the cycle of its last
///   slot;
/// - results leave the array `meshRows + meshColumns − 1` cycles after their slot
///   (`MeshWithDelays.latency`); a pair's entry is done the cycle after its last row is
///   written (the accumulator's read-modify-write), and the queue retires done entries in
///   order, one per cycle, from the next cycle on.
///
/// Each `clock` evaluates the RTL's combinational decisions from `now` (the registers at the
/// start of the cycle, a copy) and writes the next values into the registers, as the RTL's
/// `when` blocks do.
public struct PipelinedExecuteTiming: ExecuteTiming {
    enum SetState { case free, accepted, reading, ready }

    /// An operand set's registers but its pair and the rows it reads (`setPairs`, `setReads`).
    struct OperandSet: Equatable {
        var state = SetState.free
        var entry = 0
    }

    /// A retire entry's registers but the rows its pair writes (`entryWrites`).
    struct RetireEntry: Equatable {
        var valid = false
        var done = false
        var index = 0
        /// A WS pair with D: it holds the bias buffer until it retires.
        var usesBias = false
    }

    /// What an OS pair's drain needs once its operand set is gone (the RTL's `DrainInfo`).
    struct Drain: Equatable {
        var c = LocalOperand(address: .garbage, columns: 0, rows: 0)
        var stride = 0
        var entry = 0
    }

    /// Where a slot's result row goes (the RTL's `ResultTag`, the fields that matter for time).
    struct Tag {
        var write: LocalRowAccess?
        /// The pair's last row: its entry is done once the row has landed.
        var retire: Bool
        var entry: Int
    }

    /// The registers but the operand sets and the retire queue (`sets`, `queue`): a cycle copies
    /// these into `now`, and changes them and the two arrays in place.
    struct Registers: Equatable, AccumulatorHalves {
        /// The pending drain's C and the last accumulator row written in the other half.
        func swappingHalves(_ half: Int) -> Registers? {
            var registers = self
            registers.drain.c = drain.c.swappingHalves(half)!
            registers.lastAccumulatorRow ^= half
            return registers
        }

        var head = 0, tail = 0
        var biasBusy = false
        var acceptPointer = 0

        // The reader.
        var readPointer = 0
        var rowA = 0, doneA = false
        /// Stream 2 is past P and reads the COMPUTE's rs2.
        var onQ = false
        var rowQ = 0, doneQ = false
        /// `read_landed`/`read_landed_set`: the set whose last requests fired last cycle.
        var landedSet: Int?

        // The slot engine.
        var xValid = false, xSet = 0, xMarked = false
        var slot = 0
        var executePointer = 0
        var drainPending = false
        var drain = Drain()
        var loadActive = false, loadDone = false, loadCount = 0
        var lastAccumulatorRow = 0, lastAccumulatorWrite = false

        /// `last_landed`/`last_landed_entry`: a pair's last result row was written last cycle.
        var lastLandedEntry: Int?
    }

    let dim: Int
    /// Slot to result, through the mesh and its skew registers (`MeshWithDelays.latency`).
    let meshLatency: Int
    /// The result tag's row field keeps this many low bits (the wider of the two memories' row
    /// addresses): the bubble rule compares rows at that width.
    let tagRowMask: Int

    private var registers = Registers()
    private var sets = Array(repeating: OperandSet(), count: PipelineTiming.executeOperandSets)
    private var queue = Array(repeating: RetireEntry(), count: PipelineTiming.executeRetireEntries)
    // A set's pair and footprint, and an entry's footprint, are kept apart from the registers
    // the cycle reads and changes (about 250 bytes a set): they change only when a pair is
    // accepted, and the cycle reads them in place.
    /// Each operand set's pair (nil until a pair first takes the set).
    private var setPairs: [ExecutePair?] = Array(repeating: nil, count: PipelineTiming.executeOperandSets)
    /// Each operand set's rows read (its pair's footprint's read ranges: scratchpad B and D,
    /// scratchpad A, accumulator).
    private var setReads = Array(repeating: TimingFootprint(), count: PipelineTiming.executeOperandSets)
    /// Each retire entry's rows written (its pair's footprint's write ranges).
    private var entryWrites = Array(repeating: TimingFootprint(), count: PipelineTiming.executeRetireEntries)
    /// `streams` of the registers, the current cycle's read requests: the registers change only
    /// in `clock`, which computes these once for the next cycle.
    private var currentStreams = ReadStreams()
    /// Slots that produce a result row (a write, or the pair's last row), by the cycle the row
    /// leaves the array.
    private var results = FIFO<(cycle: UInt64, tag: Tag)>()

    public init(_ parameters: AcceleratorParameters) {
        dim = parameters.dim
        meshLatency = parameters.config.meshRows + parameters.config.meshColumns - 1
        let rows = max(parameters.spRows, parameters.accRows)
        tagRowMask = (1 << Self.addressWidth(rows)) - 1
    }

    /// Bits of a row address in a memory of `rows` rows (at least one).
    static func addressWidth(_ rows: Int) -> Int {
        var bits = 1
        while 1 << bits < rows { bits += 1 }
        return bits
    }

    static func skipped(_ operand: LocalOperand) -> Bool {
        operand.address.isGarbage || operand.rows == 0 || operand.columns == 0
    }

    static func usesBias(_ pair: ExecutePair) -> Bool { pair.weightStationary && !skipped(pair.computeOperand) }

    public func ready(for work: ExecuteIssue.Work) -> Bool {
        guard !queue[registers.tail].valid else { return false }
        if case .config = work { return true }
        return sets[registers.acceptPointer].state == .free
    }

    public func frozenCopy() -> Self {
        var copy = self
        copy.results = results.emptyCopy()
        return copy
    }

    public var activity: Int {
        let r = registers
        return results.version &+ r.slot &* 3 &+ r.rowA &* 5 &+ r.rowQ &* 7 &+ r.readPointer &* 11 &+ r.head &* 13 &+ r.tail &* 17
            &+ r.loadCount &* 19 &+ r.executePointer &* 23
    }

    public func sameState(as other: Self) -> Bool {
        registers == other.registers && sets == other.sets && queue == other.queue && results.version == other.results.version
            && setPairs == other.setPairs && setReads == other.setReads && entryWrites == other.entryWrites
    }

    /// Its registers for the periodic jump (docs/TIMING.md, "Periodic loops"): a retire entry's
    /// command is a sequence number, a result row's departure a cycle.
    mutating func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        v.rows(&registers)
        v.same(sets)
        v.rows(&setPairs)
        v.rows(&setReads)
        v.rows(&entryWrites)
        v.rows(&currentStreams)
        for entry in queue.indices {
            var bare = queue[entry]
            bare.index = 0
            v.same(bare)
            if queue[entry].valid { v.sequence(&queue[entry].index) }
        }
        v.same(results.count)
        results.updateEach { result in
            v.cycle(&result.cycle)
            v.rows(&result.tag.write)
            v.same(result.tag.retire)
            v.same(result.tag.entry)
        }
    }

    public func nextTimer(after cycle: UInt64) -> UInt64? {
        guard let first = results.first, first.cycle > cycle else { return nil }
        return first.cycle
    }

    public var idle: Bool {
        results.isEmpty && registers.lastLandedEntry == nil && registers.landedSet == nil
            && queue.allSatisfy { !$0.valid }
    }

    // MARK: Read

    /// The reader's combinational signals in one cycle.
    struct ReadStreams: Equatable, AccumulatorHalves {
        func swappingHalves(_ half: Int) -> ReadStreams? {
            ReadStreams(active: active, a: a?.swappingHalves(half), second: second?.swappingHalves(half))
        }

        var active = false
        var a: LocalRowAccess?
        var second: LocalRowAccess?

        /// The requests in port priority order (scratchpad port 0, then port 1 or the
        /// accumulator port).
        var requests: [LocalRowAccess] { [a, second].compactMap { $0 } }
    }

    /// Whether an older pair still in the retire queue writes a row set `reading` reads.
    private func hazard(_ now: Registers, reading: Int) -> Bool {
        let entries = queue.count
        func age(_ entry: Int) -> Int { (entry - now.head + entries) % entries }
        let readingAge = age(sets[reading].entry), reads = setReads[reading]
        for e in 0..<entries where queue[e].valid && age(e) < readingAge {
            if let write = entryWrites[e].scratchpadWrite,
               write.overlaps(reads.scratchpadRead) || write.overlaps(reads.scratchpadReadA) { return true }
            if entryWrites[e].accumulatorWrite?.overlaps(reads.accumulatorRead) ?? false { return true }
        }
        return false
    }

    /// Whether the reading set may start (state accepted, the bias buffer free if it needs it,
    /// no hazard).
    private func mayStart(_ now: Registers) -> Bool {
        guard sets[now.readPointer].state == .accepted, let pair = setPairs[now.readPointer] else { return false }
        return !(Self.usesBias(pair) && now.biasBusy) && !hazard(now, reading: now.readPointer)
    }

    /// Stream 2's operand: P, or the COMPUTE's rs2 once P is read or skipped.
    private static func secondOperand(_ now: Registers, _ pair: ExecutePair) -> (operand: LocalOperand, onQ: Bool) {
        let onQ = now.onQ || skipped(pair.preloadOperand)
        return (onQ ? pair.computeOperand : pair.preloadOperand, onQ)
    }

    private func streams(_ now: Registers) -> ReadStreams {
        guard sets[now.readPointer].state == .reading || mayStart(now), let pair = setPairs[now.readPointer] else { return ReadStreams() }
        var streams = ReadStreams(active: true)
        if !now.doneA && !Self.skipped(pair.a) {
            streams.a = LocalRowAccess(accumulator: false, row: pair.a.address.row + now.rowA * pair.aStride)
        }
        let (second, _) = Self.secondOperand(now, pair)
        if !now.doneQ && !Self.skipped(second) {
            streams.second = LocalRowAccess(accumulator: second.address.isAccumulator, row: second.address.row + now.rowQ)
        }
        return streams
    }

    public func reads(at cycle: UInt64) -> [LocalRowAccess] { currentStreams.requests }

    public func readPair(at cycle: UInt64) -> ReadPair {
        ReadPair(first: currentStreams.a, second: currentStreams.second)
    }

    public mutating func clock(cycle: UInt64, issued: ExecuteIssue?, granted: [Bool]) -> Int? {
        var grants = granted[...]
        let streams = currentStreams
        let first = streams.a != nil && grants.popFirst() == true
        let second = streams.second != nil && grants.popFirst() == true
        return clock(cycle: cycle, issued: issued, streams: streams, firedA: first, firedSecond: second)
    }

    public mutating func clock(cycle: UInt64, issued: ExecuteIssue?, grantedFirst: Bool, grantedSecond: Bool) -> Int? {
        // `readPair`'s first request is stream 1's when it has one, else stream 2's.
        let streams = currentStreams
        let firedA = streams.a != nil && grantedFirst
        let firedSecond = streams.second != nil && (streams.a != nil ? grantedSecond : grantedFirst)
        return clock(cycle: cycle, issued: issued, streams: streams, firedA: firedA, firedSecond: firedSecond)
    }

    // MARK: Slots

    public func write(at cycle: UInt64) -> LocalRowAccess? {
        guard let first = results.first, first.cycle == cycle else { return nil }
        return first.tag.write
    }

    private mutating func clock(cycle: UInt64, issued: ExecuteIssue?, streams: ReadStreams, firedA: Bool, firedSecond: Bool) -> Int? {
        // What this cycle reads of the sets and the queue, before it changes any (in place).
        let now = registers
        let readState = sets[now.readPointer].state
        let readPair = streams.active ? setPairs[now.readPointer] : nil
        let xEntry = sets[now.xSet].entry
        let x = now.xValid ? setPairs[now.xSet] : nil
        let yReady = sets[now.executePointer].state == .ready
        let y = yReady ? setPairs[now.executePointer] : nil
        let headNow = queue[now.head]
        var markDone: (Int?, Int?) = (nil, nil)

        // MARK: Accept
        if let issued {
            precondition(ready(for: issued.work), "the station issues to the execute controller only while it is ready")
            var entry = RetireEntry(valid: true, done: true, index: issued.index)
            // A CONFIG_EX writes no row.
            entryWrites[now.tail] = TimingFootprint()
            if case .pair(let pair) = issued.work {
                entry.done = false
                entry.usesBias = Self.usesBias(pair)
                entryWrites[now.tail] = issued.footprint
                sets[now.acceptPointer] = OperandSet(state: .accepted, entry: now.tail)
                setPairs[now.acceptPointer] = pair
                setReads[now.acceptPointer] = issued.footprint
                registers.acceptPointer = (now.acceptPointer + 1) % sets.count
            }
            queue[now.tail] = entry
            registers.tail = (now.tail + 1) % queue.count
        }

        // MARK: Read (`streams`: from the registers at the start of the cycle)
        if streams.active, let pair = readPair {
            if readState == .accepted {
                sets[now.readPointer].state = .reading
                if Self.usesBias(pair) { registers.biasBusy = true }
            }
            let doneAAfter = now.doneA || Self.skipped(pair.a) || (firedA && now.rowA + 1 >= pair.a.rows)
            let (second, onQ) = Self.secondOperand(now, pair)
            let skipSecond = onQ && Self.skipped(second)
            let secondDone = skipSecond || (firedSecond && now.rowQ + 1 >= second.rows)
            let doneQAfter = now.doneQ || (onQ ? secondDone : secondDone && Self.skipped(pair.computeOperand))
            if firedA { registers.rowA = now.rowA + 1 }
            if firedSecond { registers.rowQ = now.rowQ + 1 }
            if !now.doneQ && !onQ && secondDone {
                registers.onQ = true
                registers.rowQ = 0
            }
            if doneAAfter { registers.doneA = true }
            if doneQAfter { registers.doneQ = true }
            if doneAAfter && doneQAfter {
                registers.rowA = 0
                registers.rowQ = 0
                registers.onQ = false
                registers.doneA = false
                registers.doneQ = false
                registers.readPointer = (now.readPointer + 1) % sets.count
                registers.landedSet = now.readPointer
            } else {
                registers.landedSet = nil
            }
        } else {
            registers.landedSet = nil
        }
        // The last rows land one cycle after their requests; the set is ready the cycle after.
        if let landed = now.landedSet { sets[landed].state = .ready }

        // MARK: Slots
        // X: WS computes max(rows(A), rows(C)) rows (none without C); OS DIM columns of A'.
        let xComputeSlots = x.map { x in x.weightStationary ? (x.c.address.isGarbage ? 0 : max(x.a.rows, x.c.rows)) : dim } ?? 0
        let xDrains = x.map { !$0.weightStationary && !$0.c.address.isGarbage } ?? false
        // Y flips the registers unless it keeps them; an OS COMPUTE_ACCUMULATED after an OS pair
        // with C flips too. A WS Y after such an X needs the Z window first.
        let yFlips = y.map { !$0.accumulated || (!$0.weightStationary && xDrains) } ?? false
        let zNeeded = xDrains && (y?.weightStationary ?? false)
        let startLoad = !now.loadActive && !now.loadDone && yReady && yFlips && !zNeeded
        let loadNow = now.loadActive || startLoad
        let wantCompute = now.slot < xComputeSlots
        let wantDrain = now.drainPending && now.slot < dim

        let tag = slotTag(now, x: x, xEntry: xEntry, computeSlots: xComputeSlots, wantCompute: wantCompute, wantDrain: wantDrain)
        // Accumulating onto the row the previous slot wrote: wait a cycle, so that the first
        // write has landed before the second reads the row.
        let accumulatorRow = tag.write.flatMap { $0.accumulator ? $0.row & tagRowMask : nil }
        let collides = tag.write?.accumulate == true && now.lastAccumulatorWrite && now.lastAccumulatorRow == accumulatorRow
        let feed = (wantCompute || wantDrain || loadNow) && !collides
        registers.lastAccumulatorWrite = feed && accumulatorRow != nil
        if let accumulatorRow { registers.lastAccumulatorRow = accumulatorRow }
        if feed && (tag.write != nil || tag.retire) {
            results.append((cycle + UInt64(meshLatency), tag))
        }

        // Window progress and the transition to the next window.
        let slotAfter = now.slot + (feed ? 1 : 0)
        registers.slot = slotAfter
        let lastLoadSlot = feed && loadNow && now.loadCount == dim - 1
        if feed && loadNow {
            registers.loadActive = !lastLoadSlot
            registers.loadDone = now.loadDone || lastLoadSlot
            registers.loadCount = now.loadCount + 1
        }
        let loadDoneAfter = now.loadDone || lastLoadSlot
        let partsDone = slotAfter >= xComputeSlots && (!now.drainPending || slotAfter >= dim)
        // A pair without C is done when its compute slots are fed.
        if let x, x.c.address.isGarbage, !now.xMarked, slotAfter >= xComputeSlots {
            registers.xMarked = true
            markDone.0 = xEntry
        }
        let goZ = partsDone && xDrains && (!yReady || zNeeded)
        let goY = partsDone && yReady && !zNeeded && (!yFlips || loadDoneAfter)
        if goZ || goY {
            if now.xValid { sets[now.xSet].state = .free }
            registers.slot = 0
            registers.xMarked = false
            registers.loadActive = false
            registers.loadDone = false
            registers.loadCount = 0
            let flips = goZ || yFlips
            registers.drainPending = flips && xDrains
            if let x, xDrains { registers.drain = Drain(c: x.c, stride: x.cStride, entry: xEntry) }
            registers.xValid = goY
            if goY {
                registers.xSet = now.executePointer
                registers.executePointer = (now.executePointer + 1) % sets.count
            }
        }

        // MARK: Results
        // A row leaving the array is written in this cycle (`write(at:)`); a pair's last row
        // marks its entry done in the next.
        registers.lastLandedEntry = nil
        while let first = results.first, first.cycle <= cycle {
            precondition(first.cycle == cycle, "a result row is written in the cycle it leaves the array")
            if first.tag.retire { registers.lastLandedEntry = first.tag.entry }
            results.removeFirst()
        }
        if let landed = now.lastLandedEntry { markDone.1 = landed }

        // MARK: Retire, in program order
        if let entry = markDone.0 { queue[entry].done = true }
        if let entry = markDone.1 { queue[entry].done = true }
        var retired: Int?
        let head = headNow
        if head.valid && head.done {
            retired = head.index
            queue[now.head].valid = false
            if head.usesBias { registers.biasBusy = false }
            registers.head = (now.head + 1) % queue.count
        }
        currentStreams = self.streams(registers)
        return retired
    }

    /// The tag of this cycle's slot: a WS compute row of X, or an OS drain row of the pair
    /// before X (bottom row first).
    private func slotTag(_ now: Registers, x: ExecutePair?, xEntry: Int, computeSlots: Int, wantCompute: Bool,
                         wantDrain: Bool) -> Tag {
        if let x, wantCompute, x.weightStationary {
            let row = (x.c.address.row + now.slot * x.cStride) & tagRowMask
            let writes = !x.c.address.isGarbage && now.slot < x.c.rows
            return Tag(write: writes ? Self.access(x.c, row: row) : nil, retire: now.slot + 1 == computeSlots, entry: xEntry)
        }
        guard wantDrain else { return Tag(write: nil, retire: false, entry: now.drain.entry) }
        let reversed = dim - 1 - now.slot
        let row = (now.drain.c.address.row + reversed * now.drain.stride) & tagRowMask
        return Tag(write: reversed < now.drain.c.rows ? Self.access(now.drain.c, row: row) : nil, retire: now.slot == dim - 1,
                   entry: now.drain.entry)
    }

    private static func access(_ c: LocalOperand, row: Int) -> LocalRowAccess {
        LocalRowAccess(accumulator: c.address.isAccumulator, row: row, accumulate: c.address.isAccumulator && c.address.accumulates)
    }
}
