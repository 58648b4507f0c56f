import SpinelISA

/// The golden timing model: predicts the cycle in which the accelerator retires each command,
/// from the configuration, the commands and the cycles the host offered them (docs/TIMING.md).
///
/// A cycle-stepped model of the control path of the RTL (Accelerator.swift), one component per
/// module, each keeping the registers that decide *when* things happen and none of the data:
/// loop unroller → dispatcher → reservation station → load, execute and store controllers → banked memories
/// → DMA reader and writer → the harness's AXI memory model. Each cycle first evaluates every
/// ready/valid handshake from the registers (in an order in which each combinational input is
/// known before it is used), then clocks every component. The execute controller's timing is
/// behind `ExecuteTiming`.
public struct TimingModel<Execute: ExecuteTiming> {
    public let parameters: AcceleratorParameters
    public let memory: MemoryTimingSettings
    public var stepping: TimingStepping
    let makeExecute: () -> Execute

    public init(parameters: AcceleratorParameters, memory: MemoryTimingSettings, stepping: TimingStepping = .fast,
                execute: @escaping () -> Execute) {
        self.parameters = parameters
        self.memory = memory
        self.stepping = stepping
        makeExecute = execute
    }

    /// Runs `program` to its end (or until `cycleLimit` cycles passed since the last command's
    /// arrival without every command retiring).
    public func predict(_ program: TimingProgram, cycleLimit: UInt64 = 1_000_000) -> TimingPrediction {
        // Today's RTL through a simulation of the concrete type: the compiler specializes it
        // (a caller in another module would otherwise run the unspecialized generic code).
        if let execute = makeExecute() as? PipelinedExecuteTiming {
            return Self.predictPipelined(program, parameters: parameters, memory: memory, execute: execute, stepping: stepping,
                                         cycleLimit: cycleLimit)
        }
        var simulation = TimingSimulation(parameters: parameters, memory: memory, execute: makeExecute(), program: program)
        simulation.run(cycleLimit: cycleLimit, stepping: stepping)
        return TimingPrediction(accepted: simulation.accepted, retired: simulation.retired, responses: simulation.counters.responses,
                                skippedCycles: simulation.skippedCycles, periodicCycles: simulation.periodicCycles)
    }

    private static func predictPipelined(_ program: TimingProgram, parameters: AcceleratorParameters, memory: MemoryTimingSettings,
                                         execute: PipelinedExecuteTiming, stepping: TimingStepping, cycleLimit: UInt64) -> TimingPrediction {
        var simulation = TimingSimulation<PipelinedExecuteTiming>(parameters: parameters, memory: memory, execute: execute, program: program)
        simulation.run(cycleLimit: cycleLimit, stepping: stepping)
        return TimingPrediction(accepted: simulation.accepted, retired: simulation.retired, responses: simulation.counters.responses,
                                skippedCycles: simulation.skippedCycles, periodicCycles: simulation.periodicCycles)
    }
}

extension TimingModel where Execute == PipelinedExecuteTiming {
    /// The model of today's RTL.
    public init(parameters: AcceleratorParameters, memory: MemoryTimingSettings, stepping: TimingStepping = .fast) {
        self.init(parameters: parameters, memory: memory, stepping: stepping, execute: { PipelinedExecuteTiming(parameters) })
    }
}

/// How the model advances time (docs/TIMING.md, "Speed"). Both give the same prediction.
public enum TimingStepping: String, Sendable, CaseIterable {
    /// Every cycle stepped, one after the other: the reference.
    case cycleStepped
    /// Stretches in which nothing but time moves are jumped over in one step, to the next cycle
    /// in which a timer (a memory response, a result leaving the array, the normalizer, the
    /// host) can change anything.
    case fast
}

/// What the model predicts for each command (by index).
public struct TimingPrediction: Sendable {
    /// The cycle the command port takes it (its arrival, or later when a queue is full).
    public var accepted: [UInt64?]
    /// The cycle a retire port reports it.
    public var retired: [UInt64?]
    /// What a COUNTER answers (the response port's data); nil for other commands.
    public var responses: [UInt64?] = []
    /// Cycles the fast path jumped over (`TimingStepping.fast`); 0 when cycle-stepped.
    public var skippedCycles: UInt64 = 0
    /// Of those, the cycles of repeating loop periods jumped over (docs/TIMING.md, "Periodic loops").
    public var periodicCycles: UInt64 = 0

    /// From the first command taken to the last retirement.
    public var totalCycles: UInt64? {
        guard let first = accepted.compactMap({ $0 }).min(), let last = retired.compactMap({ $0 }).max() else { return nil }
        return last >= first ? last - first : 0
    }
}

// MARK: - The simulation

/// `ReservationStation`: one in-order queue per controller (entries of the configuration); a
/// queue's next entry issues once no older entry of another queue conflicts with it; entries
/// leave when their controller retires them. Entries hold dispatch sequence numbers (the
/// dispatcher's `sequence`, which orders host and unrolled commands alike).
struct StationQueueTiming: Equatable {
    private var slots: [Int?]
    private var issued: [Bool]
    private var head = 0, issuePointer = 0, tail = 0

    init(entries: Int) {
        slots = Array(repeating: nil, count: entries)
        issued = Array(repeating: false, count: entries)
    }

    var allocateReady: Bool { slots[tail] == nil }
    var isEmpty: Bool { slots.allSatisfy { $0 == nil } }
    /// An entry has issued and not retired (the station's `started`).
    var hasStarted: Bool { slots.indices.contains { slots[$0] != nil && issued[$0] } }
    /// Sequence numbers of the valid entries.
    var held: [Int] { slots.compactMap { $0 } }
    /// How many entries are valid.
    var heldCount: Int {
        var count = 0
        for slot in slots where slot != nil { count += 1 }
        return count
    }
    /// Whether a valid entry older than `sequence` has a footprint that conflicts with `footprint`.
    func holdsConflict(before sequence: Int, with footprint: TimingFootprint, in footprints: Dispatched.Column<TimingFootprint>) -> Bool {
        for case let index? in slots where index < sequence {
            if footprints[index].conflicts(with: footprint) { return true }
        }
        return false
    }
    /// The next entry to issue (valid, not yet issued).
    var candidate: Int? { issued[issuePointer] ? nil : slots[issuePointer] }
    /// The oldest valid entry (entries leave in order, from the head).
    var oldest: Int? { slots[head] }

    /// Its registers for the periodic jump: entries are sequence numbers (an empty slot's
    /// issued flag decides nothing).
    mutating func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        for slot in slots.indices {
            v.sequence(&slots[slot])
            v.same(slots[slot] != nil && issued[slot])
        }
        v.same(head)
        v.same(issuePointer)
        v.same(tail)
    }

    mutating func allocate(_ index: Int) {
        slots[tail] = index
        issued[tail] = false
        tail = (tail + 1) % slots.count
    }

    mutating func issue() {
        issued[issuePointer] = true
        issuePointer = (issuePointer + 1) % slots.count
    }

    mutating func retire() {
        slots[head] = nil
        head = (head + 1) % slots.count
    }
}

/// What the load controller's writer must do with one row (LoadController's `RowNote`).
struct LoadNote: Equatable, AccumulatorHalves {
    func swappingHalves(_ half: Int) -> LoadNote? {
        guard accumulator, !noWrites else { return self }
        guard row / half == (row + (blocks - 1) * blockStride) / half else { return nil }
        var note = self
        note.row ^= half
        return note
    }

    var row: Int
    var accumulator: Bool
    var accumulate: Bool
    var blocks: Int
    var blockStride: Int
    var zeros: Bool
    var noWrites: Bool
    var last: Bool
    var index: Int
}

/// The CTA controller's phase (CTAController's `phase`, with its `step`): reading or writing
/// row `step`, busy until it reads again at `step` from `resumeAt` (CTA_PROBABILITIES between
/// its row groups), or done and retiring in `retireAt` (its `finish` cycle).
enum CTAPhase: Equatable {
    case idle
    case reading(step: Int)
    case writing(step: Int)
    case paused(resumeAt: UInt64, step: Int)
    case waiting(retireAt: UInt64)
    /// CTA_GATHER (CTAController's `gatherCheck`, `gatherRows` with its `gather_stage`,
    /// `gatherTokens` with its `token_stage`): the check cycle; compressed row `step` at `stage`
    /// (its factors valid from `factorsAt`); the last row's output due at `lastOutput`; token
    /// `step` at `stage` (0 table read, 1 buffer read, 2 write request, 3 all requested) with
    /// `answered` write responses taken.
    case gatherCheck
    case gatherRow(step: Int, stage: GatherStage, factorsAt: UInt64)
    case gatherDrain(lastOutput: UInt64)
    case gatherToken(step: Int, stage: Int, answered: Int)

    /// CTAController's `GatherStage`.
    enum GatherStage: Equatable { case readRow, start, factors, firstProduct, secondProduct, products }
}

/// One row on its way out of the store controller (StoreController's `RowNote`).
struct StoreNote: Equatable {
    var request: DMARequestTiming
    var noWrites: Bool
    var last: Bool
    var index: Int
}

struct TimingSimulation<Execute: ExecuteTiming> {
    // (No `AcceleratorParameters` here: the simulation is copied whenever a method reads it,
    // and the parameters would make every copy kilobytes long.)
    /// The memories' rows.
    let accRows: Int, spRows: Int
    let program: TimingProgram
    let dma: DMAParameters
    /// DMA requests as the model holds them.
    let addressing: DMAAddressing
    /// Half the accumulator's rows when swapping its halves changes no bank (a period of the
    /// periodic jump may swap them, `AccumulatorHalves`); 0 otherwise.
    let accumulatorHalf: Int
    /// The memories' bank maps (the hardware's own), row by row: a cycle looks up several rows.
    let scratchpadBank: [UInt16]
    let accumulatorBank: [UInt16]

    var cycle: UInt64 = 0
    /// Cycles the fast path jumped over, and of those the periodic jump's.
    var skippedCycles: UInt64 = 0
    var periodicCycles: UInt64 = 0
    var accepted: [UInt64?]
    var retired: [UInt64?]
    private var nextCommand = 0
    private var lastAccepted: UInt64?

    /// What the dispatcher took, by sequence number: the command, and for one a LOOP_WS
    /// unrolled, its loop slot (nil for a host command).
    private var dispatched = Dispatched()

    private var unroller = UnrollerTiming()
    /// Retirements of unrolled commands in this cycle, per slot (counted down at the clock edge).
    private var internalRetired = [0, 0]

    private var station: [StationQueueTiming]
    /// Per queue, the last candidate `issuable` found free of conflicts with older entries.
    private var clearedCandidates = [-1, -1, -1]
    private var execute: Execute
    private var reader: DMAReaderTiming
    private var writer: DMAWriterTiming
    private var axi: AXIMemoryTiming

    // Load controller: issuer and writer.
    private var loadRow = 0
    private var loadNotes = FIFO<LoadNote>()
    private var loadBlock = 0
    private var loadDraining = false

    // Store controller: reader, outgoing rows, writes waiting for their response.
    private var storeRow = 0
    private var storeBlock = 0
    private var storeArriving: StoreNote?
    private var outgoing = FIFO<StoreNote>()
    private var pending = FIFO<StoreNote>()
    /// A row the normalizer is working on (StoreController's `long_pending` and `held_note`):
    /// its note, the cycle its result is queued (known once the row has arrived) and whether
    /// the reader may read in that cycle (`long_pipelined`).
    private var normalizerRow: (note: StoreNote, latency: Int, queued: UInt64?, pipelined: Bool)?
    /// The last cycle a CONFIG_NORM keeps the normalizer busy (the numerics extensions' Softmax
    /// factor): the store reader waits until after it.
    private var normalizerBusyUntil: UInt64 = 0
    /// StoreController's `queueDepth`.
    private let outgoingDepth = 4

    /// The CTA controller on the store lane (CTAController.swift): the command it runs and its phase.
    private var ctaCommand = 0
    private var ctaPhase = CTAPhase.idle
    /// CTA_PROBABILITIES's rows per group (`CTAParameters.pagTiles`), 1 without a `cta` section.
    private let probabilityTiles: Int
    /// The cycle the probability aggregation unit has cleared after reset (`PipelineTiming.probabilityUnitReadyCycle`).
    private let probabilityUnitReady: UInt64
    /// The unit holds the tables' token ids (CTAController's `probability_tokens_held`): a
    /// CTA_PROBABILITIES loaded them and no CTA_CLUSTER was taken since.
    private var probabilityTokensHeld = false
    /// The cluster index's tree levels (`CTAParameters.clusterLevels`), 0 without a `cta` section.
    private let clusterLevels: Int

    /// The accumulator's read-modify-write stage: per bank, the row of the write taken last cycle.
    private var accumulatorStage: [Int?]
    /// This cycle's: the stage's next contents, and the banks whose read port the stage takes.
    private var nextStage: [Int?]
    private var readTaken: [Bool]

    /// The performance counters, and this cycle's events (CounterFile, `connectCounterEvents`).
    var counters: CounterTiming
    /// Whether a host command is a COUNTER (LOOP_WS unrolls none).
    private let hasCounterCommands: Bool
    private var events = CounterEvents()
    private var counterAccess: CounterAccess?
    /// The periodic jump's snapshots and log (docs/TIMING.md, "Periodic loops"): with the fast
    /// path, in a program without COUNTER commands, on today's execute timing.
    private var periodic: PeriodicJumpState?

    init(parameters: AcceleratorParameters, memory: MemoryTimingSettings, execute: Execute, program: TimingProgram) {
        accRows = parameters.accRows
        spRows = parameters.spRows
        clusterLevels = parameters.config.cta?.clusterLevels ?? 0
        probabilityTiles = parameters.config.cta?.pagTiles ?? 1
        probabilityUnitReady = PipelineTiming.probabilityUnitReadyCycle(maxClusters: parameters.config.cta?.maxClusters ?? 0)
        self.program = program
        self.execute = execute
        dma = DMAParameters(parameters, tagBits: 1)
        let scratchpadMemory = parameters.scratchpadBanks, accumulatorMemory = parameters.accumulatorBanks
        scratchpadBank = (0..<parameters.spRows).map { UInt16(scratchpadMemory.bank(row: $0)) }
        accumulatorBank = (0..<parameters.accRows).map { UInt16(accumulatorMemory.bank(row: $0)) }
        let half = parameters.accRows / 2
        let halvesAlike = half > 0 && half & (half - 1) == 0
            && (0..<parameters.accRows).allSatisfy { accumulatorMemory.bank(row: $0) == accumulatorMemory.bank(row: $0 ^ half) }
        accumulatorHalf = halvesAlike ? half : 0
        let config = parameters.config
        station = [config.ldReservationEntries, config.exReservationEntries, config.stReservationEntries].map(StationQueueTiming.init)
        reader = DMAReaderTiming(dma)
        writer = DMAWriterTiming(dma)
        axi = AXIMemoryTiming(busBytes: dma.busBytes, settings: memory)
        addressing = DMAAddressing(dma)
        accumulatorStage = Array(repeating: nil, count: config.accBanks)
        nextStage = accumulatorStage
        readTaken = Array(repeating: false, count: config.accBanks)
        accepted = Array(repeating: nil, count: program.commands.count)
        retired = Array(repeating: nil, count: program.commands.count)
        counters = CounterTiming(commands: program.commands.count)
        hasCounterCommands = program.commands.contains { $0.funct == Funct.counter }
        if let first = program.commands.first { cycle = first.arrival }
        // Room for the commands kept at once (`Dispatched.forget(before:)`): no growth in the cycle.
        dispatched.reserveCapacity(min(program.commands.reduce(0) { $0 + ($1.loop?.commands.count ?? 1) }, 2 * Dispatched.forgetAfter))
    }

    /// Both notes queues hold `maxInFlight + 2` entries (LoadController `notes`, StoreController `pending`).
    private var notesDepth: Int { dma.maxInFlight + 2 }

    // The helpers the cycle calls are `mutating` though they change nothing: a non-mutating
    // call from the cycle copied the whole simulation (about 1.8 KB) first, every call.
    private var quiet: Bool {
        mutating get { quietNow() }
    }

    private mutating func quietNow() -> Bool {
        unroller.quiet
            && station.allSatisfy(\.isEmpty) && execute.idle && loadNotes.isEmpty && storeArriving == nil && normalizerRow == nil && cycle > normalizerBusyUntil && outgoing.isEmpty
            && pending.isEmpty && reader.idle && writer.idle && axi.idle && accumulatorStage.allSatisfy { $0 == nil } && ctaPhase == .idle
    }

    mutating func run(cycleLimit: UInt64, stepping: TimingStepping = .cycleStepped) {
        let commands = program.commands
        var lastProgress = cycle
        // The fast path: after two cycles without progress, the next cycle is stepped from a
        // copy kept of its starting state; when it changed nothing, every cycle up to the next
        // timer would change nothing either, and they are jumped over (docs/TIMING.md, "Speed").
        var stillCycles = 0
        // Quiet cycles before the next check: doubles after a check that found the state
        // moving (up to 64), halves with progress, back to 2 after a jump.
        var threshold = 2
        let minimumJump: UInt64 = 3
        // A first look (`glance`) found a cycle that changed none of a few registers: the next
        // check copies all of them.
        var glancedStill = false
        if stepping == .fast && !hasCounterCommands && Execute.self == PipelinedExecuteTiming.self { periodic = PeriodicJumpState() }
        while nextCommand < commands.count || !quiet {
            if quiet, nextCommand < commands.count {
                // Nothing moves until the host offers the next command: jump there.
                let arrival = arrivalOfNext()
                if arrival > cycle {
                    axi.refill(cycles: arrival - cycle)
                    cycle = arrival
                }
                lastProgress = cycle
            }
            // A check whose jump could skip at most a cycle or two (a timer due within them: a
            // result row leaving the busy array, say) is not worth its copy of the registers.
            if stepping == .fast && stillCycles >= threshold && !glancedStill && (nextTimer(after: cycle) ?? .max) > cycle + minimumJump {
                // The first look: a few registers, copied without the arrays (whose copies the
                // cycle would then have to duplicate before changing them).
                let before = glance
                let progressed = step()
                if progressed { lastProgress = cycle }
                if progressed || glance != before {
                    stillCycles = 0
                    threshold = min(threshold * 2, 64)
                } else {
                    glancedStill = true
                }
            } else if stepping == .fast && glancedStill {
                glancedStill = false
                let before = registers
                stillCycles = 0
                let progressed = step()
                if progressed { lastProgress = cycle }
                if progressed || !sameState(as: before) {
                    threshold = min(threshold * 2, 64)
                } else {
                    threshold = 2
                    // Frozen: cycles cycle + 1 ..< next are copies of this one.
                    let limit = lastProgress + cycleLimit + 1
                    let next = min(nextTimer(after: cycle) ?? limit, limit)
                    if next > cycle + 1 {
                        let skipped = next - cycle - 1
                        counters.advance(events: events, cycles: skipped)
                        cycle += skipped
                        skippedCycles += skipped
                    }
                }
            } else if step() {
                lastProgress = cycle
                stillCycles = 0
                threshold = max(threshold / 2, 2)
            } else {
                stillCycles += 1
            }
            cycle += 1
            if periodic?.loopTaken == true, let jumped = periodicJump() {
                lastProgress += jumped
                stillCycles = 0
                threshold = 2
                glancedStill = false
            }
            if cycle - lastProgress > cycleLimit { return }
        }
    }

    /// A few of the registers, by value: when a cycle changes none of them, the fast path checks
    /// all of them in the next (`Registers`).
    struct Glance: Equatable {
        var nextCommand: Int, dispatched: Int, execute: Int, reader: Int, writer: Int, axi: Int
        var load: Int, store: Int
        var unrollerPhase: UnrollerTiming.Phase, unrollerPosition: Int
    }

    // (`mutating`, like the cycle's helpers: a non-mutating getter copied the whole simulation first.)
    private var glance: Glance {
        mutating get {
            Glance(nextCommand: nextCommand, dispatched: dispatched.count, execute: execute.activity, reader: reader.activity,
                   writer: writer.activity, axi: axi.activity, load: loadRow &+ loadNotes.version &* 3 &+ loadBlock &* 5,
                   store: storeRow &+ storeBlock &* 3 &+ outgoing.version &* 5 &+ pending.version &* 7,
                   unrollerPhase: unroller.phase, unrollerPosition: unroller.pairNumber &+ unroller.part &* 3 &+ unroller.storePosition &* 5)
        }
    }

    /// The registers the fast path compares before and after a cycle: everything that can
    /// change but the cycle count, the performance counters and the results (the command
    /// lists grow only with a command taken: their counts stand for them; a queue by its version).
    struct Registers {
        var nextCommand: Int, lastAccepted: UInt64?, dispatched: Int
        var internalRetired: (Int, Int)
        var station: [StationQueueTiming]
        var unroller: UnrollerTiming
        var execute: Execute
        var reader: DMAReaderTiming, writer: DMAWriterTiming, axi: AXIMemoryTiming
        var load: (row: Int, notes: Int, block: Int, draining: Bool)
        var store: (row: Int, block: Int, arriving: StoreNote?, outgoing: Int, pending: Int)
        var normalizer: (note: StoreNote, latency: Int, queued: UInt64?, pipelined: Bool)?
        var normalizerBusyUntil: UInt64
        var accumulatorStage: [Int?]
        var cta: (command: Int, phase: CTAPhase, tokensHeld: Bool)
    }

    private var registers: Registers {
        mutating get {
            Registers(nextCommand: nextCommand, lastAccepted: lastAccepted, dispatched: dispatched.count,
                      internalRetired: (internalRetired[0], internalRetired[1]), station: station, unroller: unroller,
                      execute: execute.frozenCopy(), reader: reader.frozenCopy(), writer: writer.frozenCopy(), axi: axi.frozenCopy(), load: (loadRow, loadNotes.version, loadBlock, loadDraining),
                      store: (storeRow, storeBlock, storeArriving, outgoing.version, pending.version), normalizer: normalizerRow,
                      normalizerBusyUntil: normalizerBusyUntil, accumulatorStage: accumulatorStage, cta: (ctaCommand, ctaPhase, probabilityTokensHeld))
        }
    }

    /// Whether the registers equal `o` (taken earlier).
    private mutating func sameState(as o: Registers) -> Bool {
        nextCommand == o.nextCommand && lastAccepted == o.lastAccepted && dispatched.count == o.dispatched
            && internalRetired[0] == o.internalRetired.0 && internalRetired[1] == o.internalRetired.1 && station == o.station
            && unroller.sameState(as: o.unroller) && execute.sameState(as: o.execute) && reader.sameState(as: o.reader)
            && writer.sameState(as: o.writer) && axi.sameState(as: o.axi)
            && loadRow == o.load.row && loadNotes.version == o.load.notes && loadBlock == o.load.block && loadDraining == o.load.draining
            && storeRow == o.store.row && storeBlock == o.store.block && storeArriving == o.store.arriving
            && outgoing.version == o.store.outgoing && pending.version == o.store.pending
            && normalizerRow?.note == o.normalizer?.note && normalizerRow?.latency == o.normalizer?.latency
            && normalizerRow?.queued == o.normalizer?.queued && normalizerRow?.pipelined == o.normalizer?.pipelined
            && normalizerBusyUntil == o.normalizerBusyUntil
            && accumulatorStage == o.accumulatorStage && counterAccess == nil && ctaCommand == o.cta.command && ctaPhase == o.cta.phase
            && probabilityTokensHeld == o.cta.tokensHeld
    }

    /// The first cycle after `cycle` in which time alone changes a decision: a memory response
    /// due, a result row leaving the array, the normalizer's result or its end of busy, the
    /// host's next command.
    private mutating func nextTimer(after cycle: UInt64) -> UInt64? {
        var next: UInt64?
        func consider(_ timer: UInt64?) {
            if let timer, timer > cycle, timer < next ?? .max { next = timer }
        }
        consider(axi.nextTimer(after: cycle))
        consider(execute.nextTimer(after: cycle))
        consider(normalizerRow?.queued)
        switch ctaPhase {
        case .waiting(let retireAt): consider(retireAt)
        case .paused(let resumeAt, _): consider(resumeAt)
        case .gatherRow(_, .factors, let factorsAt): consider(factorsAt)
        case .gatherDrain(let lastOutput): consider(lastOutput)
        default: break
        }
        consider(normalizerBusyUntil + 1)
        if nextCommand < program.commands.count { consider(arrivalOfNext()) }
        return next
    }

    /// The host offers command i no earlier than the trace says and not before the cycle after
    /// the port took command i − 1.
    private mutating func arrivalOfNext() -> UInt64 {
        let arrival = program.commands[nextCommand].arrival
        guard let lastAccepted else { return arrival }
        return max(arrival, lastAccepted + 1)
    }

    private mutating func bank(_ access: LocalRowAccess) -> Int {
        Int(access.accumulator ? accumulatorBank[access.row % accRows] : scratchpadBank[access.row % spRows])
    }

    private mutating func sameBank(_ a: LocalRowAccess?, _ b: LocalRowAccess) -> Bool {
        guard let a else { return false }
        return a.accumulator == b.accumulator && bank(a) == bank(b)
    }

    /// The station's candidate of queue `kind` when nothing older elsewhere conflicts with it.
    /// A candidate found free of conflicts stays free until it issues: the entries older than it
    /// in the other queues only leave (a command dispatched later has a larger number), so the
    /// check runs until it passes once (`clearedCandidates`).
    private mutating func issuable(_ kind: Int) -> Int? {
        guard let candidate = station[kind].candidate else { return nil }
        if clearedCandidates[kind] == candidate { return candidate }
        let footprint = dispatched.footprint[candidate]
        for other in 0..<3 where other != kind {
            if station[other].holdsConflict(before: candidate, with: footprint, in: dispatched.footprint) { return nil }
        }
        clearedCandidates[kind] = candidate
        return candidate
    }

    /// One cycle; returns whether anything retired or was taken. The stages run in the order in
    /// which the hardware's decisions depend on each other within a cycle.
    private mutating func step() -> Bool {
        axi.drive(cycle)

        // The station's free tail slots (registers: a slot a retirement frees in this cycle
        // takes a command in the next one).
        let allocateReady = Triple(station[0].allocateReady, station[1].allocateReady, station[2].allocateReady)

        // The execute controller's ports (client 0 of both memories).
        let executeReads = execute.readPair(at: cycle)
        let executeWrite = execute.write(at: cycle)
        let candidates = Triple(issuable(0), issuable(1), issuable(2))
        observeCounterEvents(candidates: candidates, allocateReady: allocateReady)

        let load = loadWriterCycle(executeWrite: executeWrite)
        // The CTA controller's accumulator write: client 2, after execute and load.
        let ctaWrite = ctaWriteRequest.flatMap { sameBank(executeWrite, $0) || sameBank(load.wanted, $0) ? nil : $0 }
        bankPorts(executeWrite: executeWrite, loadWrite: load.write, ctaWrite: ctaWrite)
        let grantedFirst = executeReads.first.map { !readBlocked($0, after: nil, nil) } ?? false
        let grantedSecond = executeReads.second.map { !readBlocked($0, after: executeReads.first, nil) } ?? false
        let issued = loadIssuerCycle(candidate: candidates[0], notesReady: load.notesReady)
        // The store lane: the store controller or the CTA controller, one at a time (Accelerator.swift).
        let ctaCandidate = candidates[2].flatMap { index -> Int? in if case .cta = dispatched.work[index] { index } else { nil } }
        let ctaIdle = ctaPhase == .idle
        let ctaProgress = ctaControllerCycle(candidate: storeLaneIdle ? ctaCandidate : nil, executeReads: executeReads, writeGranted: ctaWrite != nil)
        let store = storeControllerCycle(candidate: ctaCandidate == nil && ctaIdle ? candidates[2] : nil, executeReads: executeReads)
        let executed = executeControllerCycle(candidate: candidates[1], grantedFirst: grantedFirst, grantedSecond: grantedSecond)
        // The DMA writer serves CTA_GATHER while it runs, else the store controller.
        let moved = dmaCycle(readRequest: issued.request, responseTaken: load.responseTaken,
                             writeRequest: ctaProgress.writeRequest ?? store.request,
                             writeResponseTaken: ctaProgress.responseTaken || store.responseTaken)
        swap(&accumulatorStage, &nextStage)
        let dispatcherMoved = unrollerAndDispatcherCycle(allocateReady: allocateReady)
        // Only a COUNTER reads the counters: without one, they need not count.
        if hasCounterCommands {
            counters.clock(events: events, access: counterAccess, readBytes: moved.bytes.read, writeBytes: moved.bytes.write)
        }
        counterAccess = nil
        return issued.progress || executed || dispatcherMoved || moved.readBeat || moved.answer || ctaProgress.moved
    }

    /// The load controller's writer half (client 1 of the write ports): the first note's rows
    /// go into the local memory, block by block, as their data arrives. Returns the row written
    /// in this cycle, whether the reader's response was taken, and whether the notes queue had
    /// room at the start of the cycle (for the issuer half).
    private mutating func loadWriterCycle(executeWrite: LocalRowAccess?)
        -> (write: LocalRowAccess?, wanted: LocalRowAccess?, responseTaken: Bool, notesReady: Bool) {
        // (The notes queue is a plain register queue: a slot freed in this cycle is free in the next.)
        let notesReady = loadNotes.count < notesDepth
        let note = loadNotes.first
        let hasData = note.map { !$0.noWrites && !$0.zeros } ?? false
        let dataReady = !hasData || reader.responseValid
        var loadWrite: LocalRowAccess?
        // The row the writer asks for, taken or not: it holds the bank against the clients after it.
        var loadWanted: LocalRowAccess?
        var loadFinish = false
        if let note, dataReady {
            let lastBlock = note.noWrites || loadBlock + 1 >= note.blocks
            var written = note.noWrites || loadDraining
            if !written {
                let access = LocalRowAccess(accumulator: note.accumulator, row: note.row + loadBlock * note.blockStride,
                                            accumulate: note.accumulate)
                loadWanted = access
                // A write waits while the execute controller writes the same bank, or (accumulating)
                // while the previous write to its row is still in the read-modify-write stage.
                let inStage = access.accumulator && access.accumulate
                    && accumulatorStage.contains { $0 == access.row % accRows }
                if !sameBank(executeWrite, access) && !inStage {
                    written = true
                    loadWrite = access
                }
            }
            if written {
                if !lastBlock {
                    loadBlock += 1
                } else {
                    // The accumulator lands a write a cycle after taking it: the last row waits for it.
                    let mustDrain = note.last && note.accumulator && !note.noWrites
                    if mustDrain && !loadDraining {
                        loadDraining = true
                    } else {
                        loadFinish = true
                    }
                }
            }
        }
        let responseTaken = loadFinish && hasData
        if loadFinish, let note {
            loadBlock = 0
            loadDraining = false
            loadNotes.removeFirst()
            if note.last { retire(note.index, queue: 0) }
        }
        return (loadWrite, loadWanted, responseTaken, notesReady)
    }

    /// The banks: the accumulator's read-modify-write stage takes the bank's read port first.
    /// Returns the stage's next contents (per bank, the row written in this cycle) and the banks
    /// whose read port it takes.
    ///
    /// The execute controller does not wait for its write: an accumulating write to a row
    /// still in the stage is refused and never enters it (it still holds the bank's write port
    /// against the load controller's writer).
    private mutating func bankPorts(executeWrite: LocalRowAccess?, loadWrite: LocalRowAccess?, ctaWrite: LocalRowAccess?) {
        let executeWriteTaken = executeWrite.flatMap { write in
            write.accumulator && write.accumulate && accumulatorStage.contains { $0 == write.row % accRows } ? nil : write
        }
        for bank in nextStage.indices {
            nextStage[bank] = nil
            readTaken[bank] = false
        }
        if let write = executeWriteTaken, write.accumulator { stageWrite(write) }
        if let write = loadWrite, write.accumulator { stageWrite(write) }
        if let write = ctaWrite { stageWrite(write) }
    }

    private mutating func stageWrite(_ write: LocalRowAccess) {
        nextStage[bank(write)] = write.row % accRows
        if write.accumulate { readTaken[bank(write)] = true }
    }

    /// Read ports by priority: a request waits while the read-modify-write stage (`readTaken`)
    /// or a client before it wants the same bank.
    private mutating func readBlocked(_ access: LocalRowAccess, after first: LocalRowAccess?, _ second: LocalRowAccess?) -> Bool {
        (access.accumulator && readTaken[bank(access)]) || sameBank(first, access) || sameBank(second, access)
    }

    /// The load controller's issuer half: the station's load candidate, one row per cycle, each
    /// a note for the writer and (unless zeros) a DMA read request. Returns the request and
    /// whether a command issued.
    private mutating func loadIssuerCycle(candidate: Int?, notesReady: Bool) -> (request: DMARequestTiming?, progress: Bool) {
        var readRequest: DMARequestTiming?
        var progress = false
        if let index = candidate {
            var noteOut = LoadNote(row: 0, accumulator: false, accumulate: false, blocks: 1, blockStride: 0, zeros: false,
                                   noWrites: true, last: true, index: index)
            var needsRead = false
            if case .mvin(let move) = dispatched.work[index], !move.empty {
                noteOut = LoadNote(row: move.localRow + loadRow, accumulator: move.accumulator, accumulate: move.accumulate,
                                   blocks: move.blocks, blockStride: move.blockStride, zeros: move.zeros, noWrites: false,
                                   last: loadRow + 1 >= move.rows, index: index)
                needsRead = !move.zeros
                if needsRead && notesReady { readRequest = addressing.request(address: move.address(row: loadRow), bytes: move.rowBytes) }
            }
            let stepDone = notesReady && (!needsRead || reader.requestReady)
            if readRequest != nil && !reader.requestReady { events.insert(.loadDMAWaitCycle) }
            if !reader.requestReady { readRequest = nil }
            if stepDone {
                loadNotes.append(noteOut)
                loadRow = noteOut.last ? 0 : loadRow + 1
                if noteOut.last {
                    station[0].issue()
                    progress = true
                }
            }
        }
        return (readRequest, progress)
    }

    /// The store controller has nothing in flight (StoreController's `busy` without its command):
    /// only then does the CTA controller take a command. From the registers at the cycle's start.
    private var storeLaneIdle: Bool {
        storeArriving == nil && normalizerRow == nil && outgoing.isEmpty && pending.isEmpty
    }

    /// The accumulator row the CTA controller writes in this cycle if the bank lets it.
    /// (`mutating`, like the cycle's other helpers: as a plain getter, it copied the whole
    /// simulation every cycle.)
    private var ctaWriteRequest: LocalRowAccess? {
        mutating get {
            guard case .writing(let step) = ctaPhase, case .cta(.status(let row, _)) = dispatched.work[ctaCommand] else { return nil }
            return LocalRowAccess(accumulator: true, row: row + step)
        }
    }

    /// The CTA controller (CTAController.swift): takes the store lane's CTA command when it and
    /// the store controller are idle, reads its accumulator rows one per cycle at the store
    /// lane's read priority, or writes CTA_STATUS's rows, and retires in a `finish` cycle:
    /// the one after λ is taken, two after the offsets' read, `clusterDrainCycles` after the
    /// last product's read, one after the last status write. Returns whether it took a command
    /// and whether anything moved.
    private mutating func ctaControllerCycle(candidate: Int?, executeReads: ReadPair, writeGranted: Bool)
        -> (taken: Bool, moved: Bool, writeRequest: DMARequestTiming?, responseTaken: Bool) {
        switch ctaPhase {
        case .idle:
            guard let index = candidate, case .cta(let work) = dispatched.work[index] else { return (false, false, nil, false) }
            station[2].issue()
            ctaCommand = index
            switch work {
            case .configExponent: ctaPhase = .waiting(retireAt: cycle + 1)
            case .configHash, .cluster: ctaPhase = .reading(step: 0)
            case .status: ctaPhase = .writing(step: 0)
            case .aggregate(let tokens, let clusters, let residuals):
                ctaPhase = .waiting(retireAt: cycle + UInt64(PipelineTiming.aggregateCycles(tokens: tokens, clusters: clusters, residuals: residuals)))
            case .checkFailure: ctaPhase = .waiting(retireAt: cycle + UInt64(PipelineTiming.ctaCheckFailureCycles))
            case .gather: ctaPhase = .gatherCheck
            case .probabilities(_, _, let tokens, _, let continuing):
                if continuing && probabilityTokensHeld {
                    // The unit holds the tokens' ids: the scores from the cycle after the check.
                    ctaPhase = .paused(resumeAt: cycle + UInt64(PipelineTiming.probabilitiesFirstRead(tokens: 0)), step: 0)
                } else {
                    // The tokens load from the cycle after the check, once the unit has cleared after reset.
                    let firstRead = cycle + UInt64(PipelineTiming.probabilitiesFirstRead(tokens: tokens))
                    ctaPhase = .paused(resumeAt: max(firstRead, probabilityUnitReady + UInt64(tokens)), step: 0)
                    probabilityTokensHeld = true
                }
            }
            if case .cluster = work { probabilityTokensHeld = false }
            return (true, true, nil, false)
        case .paused(let resumeAt, let step):
            guard resumeAt == cycle else { return (false, false, nil, false) }
            ctaPhase = .reading(step: step)
            _ = ctaRead(step: step, executeReads: executeReads)
            return (false, true, nil, false)
        case .reading(let step):
            return (false, ctaRead(step: step, executeReads: executeReads), nil, false)
        case .writing(let step):
            guard writeGranted, case .cta(.status(_, let rows)) = dispatched.work[ctaCommand] else { return (false, false, nil, false) }
            ctaPhase = step + 1 >= rows ? .waiting(retireAt: cycle + 1) : .writing(step: step + 1)
            return (false, true, nil, false)
        case .waiting(let retireAt):
            guard retireAt == cycle else { return (false, false, nil, false) }
            retire(ctaCommand, queue: 2)
            ctaPhase = .idle
            return (false, true, nil, false)
        case .gatherCheck, .gatherRow, .gatherDrain, .gatherToken:
            guard case .cta(.gather(let gather)) = dispatched.work[ctaCommand] else { preconditionFailure("a gather phase runs CTA_GATHER") }
            return gatherCycle(gather, executeReads: executeReads)
        }
    }

    /// CTA_GATHER in the CTA controller (CTAController, "CTA_GATHER"): per compressed row the
    /// table read, the gather unit's start, its factors `PipelineTiming.gatherFactorLatency`
    /// cycles later, the two product reads (each when its bank grants it), the row into the unit;
    /// the last row's output `gatherOutputLatency` cycles later; then per token the table and
    /// buffer reads and a DMA write request (the next token's table read with the request's
    /// acceptance), every response taken; the command retires in the cycle after the last one.
    private mutating func gatherCycle(_ gather: GatherWork, executeReads: ReadPair)
        -> (taken: Bool, moved: Bool, writeRequest: DMARequestTiming?, responseTaken: Bool) {
        switch ctaPhase {
        case .gatherCheck:
            ctaPhase = .gatherRow(step: 0, stage: .readRow, factorsAt: 0)
        case .gatherRow(let step, let stage, let factorsAt):
            switch stage {
            case .readRow: ctaPhase = .gatherRow(step: step, stage: .start, factorsAt: 0)
            case .start:
                ctaPhase = .gatherRow(step: step, stage: .factors, factorsAt: cycle + UInt64(PipelineTiming.gatherFactorLatency))
            case .factors:
                guard cycle >= factorsAt else { return (false, false, nil, false) }
                ctaPhase = .gatherRow(step: step, stage: .firstProduct, factorsAt: factorsAt)
            case .firstProduct, .secondProduct:
                let row = gather.row + (stage == .secondProduct ? gather.rows : 0) + step
                guard !readBlocked(LocalRowAccess(accumulator: true, row: row), after: executeReads.first, executeReads.second) else {
                    return (false, false, nil, false)
                }
                ctaPhase = .gatherRow(step: step, stage: stage == .firstProduct ? .secondProduct : .products, factorsAt: factorsAt)
            case .products:
                ctaPhase = step + 1 >= gather.rows ? .gatherDrain(lastOutput: cycle + UInt64(PipelineTiming.gatherOutputLatency))
                                                   : .gatherRow(step: step + 1, stage: .readRow, factorsAt: 0)
            }
        case .gatherDrain(let lastOutput):
            guard cycle >= lastOutput else { return (false, false, nil, false) }
            ctaPhase = .gatherToken(step: 0, stage: 0, answered: 0)
        case .gatherToken(let step, let stage, let answered):
            var request: DMARequestTiming?
            var next = (step: step, stage: stage, answered: answered)
            switch stage {
            case 0, 1: next.stage = stage + 1
            case 2 where writer.requestReady:
                request = DMARequestTiming(address: gather.dramAddress &+ UInt64(step) &* gather.dramStride, bytes: gather.bytes)
                if step + 1 >= gather.tokens { next.stage = 3 } else { next = (step + 1, 1, answered) }
            default: break
            }
            let responseTaken = writer.responseValid
            if responseTaken { next.answered += 1 }
            ctaPhase = responseTaken && next.answered >= gather.tokens ? .waiting(retireAt: cycle + 1)
                                                                      : .gatherToken(step: next.step, stage: next.stage, answered: next.answered)
            return (false, request != nil || responseTaken || stage < 2, request, responseTaken)
        default:
            preconditionFailure("not a gather phase")
        }
        return (false, true, nil, false)
    }

    /// The CTA controller's accumulator read `step` (CTA_CONFIG's offsets, CTA_CLUSTER's products,
    /// CTA_PROBABILITIES's scores: row group by row group, each present row's blocks in order),
    /// when the bank lets it. Returns whether it read.
    private mutating func ctaRead(step: Int, executeReads: ReadPair) -> Bool {
        let (row, rows, drain): (Int, Int, Int)
        var groupEnds = false
        switch dispatched.work[ctaCommand] {
        case .cta(.configHash(let offsets)): (row, rows, drain) = (offsets, 1, 2)
        case .cta(.cluster(let products, let tokens)):
            (row, rows, drain) = (products + step, tokens, PipelineTiming.clusterDrainCycles(levels: clusterLevels))
        case .cta(.probabilities(let scores, let k0, let tokens, let layout, _)):
            let tiles = probabilityTiles, blocks = layout.blocks, groupReads = tiles * blocks
            let group = step / groupReads, tile = step % groupReads / blocks, block = step % blocks
            let query = group * tiles + tile
            (row, rows) = (scores + block * k0 + query, k0 * blocks)
            drain = PipelineTiming.probabilitiesGroupCycles(tokens: tokens, entries: layout.k1 + layout.k2, blocks: blocks, tiles: tiles)
            groupEnds = block + 1 == blocks && (tile + 1 == tiles || query + 1 == k0)
        default: preconditionFailure("only CTA_CONFIG, CTA_CLUSTER and CTA_PROBABILITIES read")
        }
        let access = LocalRowAccess(accumulator: true, row: row)
        guard !readBlocked(access, after: executeReads.first, executeReads.second) else { return false }
        if step + 1 >= rows {
            ctaPhase = .waiting(retireAt: cycle + UInt64(drain))
        } else if groupEnds {
            ctaPhase = .paused(resumeAt: cycle + UInt64(drain), step: step + 1)
        } else {
            ctaPhase = .reading(step: step + 1)
        }
        return true
    }

    /// The store controller: its reader takes the station's store candidate one local row per
    /// cycle (through the normalizer for a long row), the oldest outgoing row becomes a DMA
    /// write request, and write responses retire commands in order. Returns the write request
    /// and whether the writer's response was taken.
    private mutating func storeControllerCycle(candidate: Int?, executeReads: ReadPair)
        -> (request: DMARequestTiming?, responseTaken: Bool) {
        // All from the registers at the start of the cycle: a row queued in this cycle leaves
        // in the next one at the earliest.
        let arrivingNote = storeArriving
        let pendingReady = pending.count < notesDepth
        // DMA writes: the oldest outgoing row becomes a write request.
        var writeRequest: DMARequestTiming?
        let leaving = outgoing.first.flatMap { row in pendingReady && (row.noWrites || writer.requestReady) ? row : nil }
        if let leaving, !leaving.noWrites { writeRequest = leaving.request }
        if let row = outgoing.first, !row.noWrites, pendingReady, !writer.requestReady { events.insert(.storeDMAWaitCycle) }
        // Responses, in order: a command retires with the response to its last row.
        let waiting = pending.first
        let writeResponseTaken = waiting.map { !$0.noWrites } ?? false
        let answered = waiting.map { $0.noWrites || writer.responseValid } ?? false

        // A long normalizer row: its note waits until the result, then is queued in that cycle.
        var normalizerDone: StoreNote?
        var donePipelined = false
        if let row = normalizerRow {
            if let queued = row.queued, queued == cycle {
                normalizerDone = row.note
                donePipelined = row.pipelined
                normalizerRow = nil
            }
        }
        // A pipelined row's result, queued in this cycle, takes room from a read in it.
        let room = outgoing.count + (arrivingNote == nil ? 0 : 1) + (donePipelined ? 1 : 0) < outgoingDepth
        let arrivingHeld = arrivingNote.flatMap { note in normalizerRow.map { $0.queued == nil && $0.note.index == note.index } } ?? false
        if arrivingHeld, let row = normalizerRow { normalizerRow?.queued = cycle + UInt64(row.latency) }

        // The reader: one local row per cycle while the outgoing queue has room for it, and
        // nothing while the normalizer works on a long row (a pipelined one lets a read fire in
        // the cycle its result is queued).
        storeArriving = nil
        var emptyNote: StoreNote?
        if let index = candidate, normalizerRow == nil, normalizerDone == nil || donePipelined, cycle > normalizerBusyUntil {
            if case .mvout(let move) = dispatched.work[index], !move.empty {
                let access = LocalRowAccess(accumulator: move.accumulator, row: move.localRow(row: storeRow, block: storeBlock))
                if room && !readBlocked(access, after: executeReads.first, executeReads.second) {
                    let blockDone = storeRow + 1 >= move.rows
                    let last = blockDone && storeBlock + 1 >= move.blocks
                    let note = StoreNote(request: addressing.request(address: move.address(row: storeRow, block: storeBlock),
                                                                     bytes: move.bytes(block: storeBlock)),
                                         noWrites: move.statisticsPass, last: last, index: index)
                    storeArriving = note
                    if let latency = move.latency(block: storeBlock) { normalizerRow = (note, latency, nil, move.pipelined(block: storeBlock)) }
                    storeRow = blockDone ? 0 : storeRow + 1
                    if blockDone { storeBlock = last ? 0 : storeBlock + 1 }
                    if last { station[2].issue() }
                }
            } else if room && arrivingNote == nil && normalizerDone == nil {
                // A CONFIG_ST or an empty MVOUT goes into the queue as one note.
                emptyNote = StoreNote(request: DMARequestTiming(address: 0, bytes: 0), noWrites: true, last: true, index: index)
                if let busy = dispatched.normalizerBusy[index] { normalizerBusyUntil = cycle + UInt64(busy) }
                station[2].issue()
            }
        }
        if leaving != nil { outgoing.removeFirst() }
        if answered, let waiting {
            pending.removeFirst()
            if waiting.last { retire(waiting.index, queue: 2) }
        }
        if let leaving { pending.append(leaving) }
        if let queued = arrivingHeld ? normalizerDone : (arrivingNote ?? emptyNote ?? normalizerDone) { outgoing.append(queued) }
        return (writeRequest, writeResponseTaken)
    }

    /// The execute controller: issues the station's execute candidate when the pipeline takes
    /// it, clocks the pipeline (`ExecuteTiming`) with the read ports it was granted, and retires
    /// what leaves it. Returns whether a command issued.
    private mutating func executeControllerCycle(candidate: Int?, grantedFirst: Bool, grantedSecond: Bool) -> Bool {
        var progress = false
        var executeIssue: ExecuteIssue?
        if let index = candidate {
            let work: ExecuteIssue.Work
            switch dispatched.work[index] {
            case .pair(let pair): work = .pair(pair)
            default: work = .config
            }
            if execute.ready(for: work) {
                executeIssue = ExecuteIssue(index: index, work: work, footprint: dispatched.footprint[index])
                station[1].issue()
                progress = true
            }
        }
        if let index = execute.clock(cycle: cycle, issued: executeIssue, grantedFirst: grantedFirst, grantedSecond: grantedSecond) {
            retire(index, queue: 1)
        }
        return progress
    }

    /// The DMA reader and writer and the AXI memory behind them, clocked with this cycle's
    /// requests and handshakes. Returns the bytes moved (for the counters) and whether a read
    /// beat or a write response was taken.
    private mutating func dmaCycle(readRequest: DMARequestTiming?, responseTaken: Bool,
                                   writeRequest: DMARequestTiming?, writeResponseTaken: Bool)
        -> (bytes: (read: UInt64, write: UInt64), readBeat: Bool, answer: Bool) {
        let readAddress = reader.addressBeats, writeAddress = writer.addressBeats
        let readBeat = axi.readValid && reader.dataReady
        let answer = axi.answerValid && writer.answerReady
        let writeBeat = writer.beatsValid
        let beatReady = axi.beatReady
        if readAddress != nil && axi.addressReadReady { events.insert(.readDMARequests) }
        if writeAddress != nil && axi.addressWriteReady { events.insert(.writeDMARequests) }
        let busBytes = UInt64(dma.busBytes)
        let bytes = (read: readBeat ? busBytes : 0, write: writeBeat && beatReady ? busBytes : 0)
        reader.clock(request: readRequest, addressReady: axi.addressReadReady, beat: readBeat, responseReady: responseTaken)
        writer.clock(request: writeRequest, addressReady: axi.addressWriteReady, beatReady: beatReady, answer: answer,
                     responseReady: writeResponseTaken && writer.responseValid)
        axi.observe(cycle, readAddress: readAddress, writeAddress: writeAddress, beat: writeBeat, readTaken: readBeat, answerTaken: answer)
        return (bytes, readBeat, answer)
    }

    /// The loop unroller and the dispatcher: the store cursor's mvout, else a plain host command
    /// (when no loop is out), else the main cursors' command goes to the dispatcher; LOOP_WS and
    /// its configuration go to the unroller; a loop whose commands all retired completes.
    /// Returns whether anything was taken, retired or moved on.
    private mutating func unrollerAndDispatcherCycle(allocateReady: Triple<Bool>) -> Bool {
        var progress = false
        let before = unroller
        // A slot completes when its loop waits and none of its commands is out (registers).
        let completing = (0..<2).first { unroller.waiting[$0] != nil && unroller.outstanding[$0] == 0 }
        // The host's command by position (copied out of the program only when taken).
        let hostOffer = nextCommand < program.commands.count && arrivalOfNext() <= cycle ? nextCommand : nil
        let hostRoute = hostOffer.map { program.commands[$0].route }
        var mainFired = false, storeFired = false, hostTaken = false
        var issuedSlot: Int?
        var taken: UnrollerTiming.Loop?
        if let offer = before.storeOffer(storeRoom: allocateReady[2]) {
            // The store cursor goes first, and only when the store queue takes it.
            storeFired = dispatch(offer, allocateReady: allocateReady)
            if storeFired { issuedSlot = offer.slot }
        } else if before.idle {
            // Plain host commands wait until every unrolled command is out.
            if before.pending == nil, before.store == nil, let host = hostOffer, hostRoute != .unroller {
                hostTaken = dispatch(program.commands[host], slot: nil, allocateReady: allocateReady)
            }
        } else if let offer = before.mainOffer() {
            mainFired = dispatch(offer, allocateReady: allocateReady)
            if mainFired { issuedSlot = offer.slot }
        }
        // LOOP_WS_CONFIG_* and a failing LOOP_WS retire on `retire_loop` at once, unless a loop
        // completes there in this cycle; a LOOP_WS waits as the pending loop.
        if let host = hostOffer, hostRoute == .unroller, before.pending == nil, completing == nil {
            hostTaken = true
            if let loop = program.commands[host].loop {
                taken = UnrollerTiming.Loop(host: program.commands[host].index, loop: loop)
                periodic?.loopTaken = true
            } else {
                record(program.commands[host].index, retired: true)
            }
        }
        if hostTaken, let host = hostOffer {
            record(program.commands[host].index, retired: false)
            lastAccepted = cycle
            nextCommand += 1
            progress = true
        }
        if mainFired || storeFired { progress = true }
        if let completing, let host = before.waiting[completing] {
            record(host, retired: true)
            progress = true
        }
        unroller.clock(from: before, mainFired: mainFired, storeFired: storeFired, taken: taken, completing: completing)
        if unroller.phase != before.phase || unroller.pending != nil && before.pending == nil { progress = true }
        // The slots' counters: +1 for an unrolled command the dispatcher took, −1 per retirement.
        if let issuedSlot { unroller.outstanding[issuedSlot] += 1 }
        for slot in 0..<2 { unroller.outstanding[slot] -= internalRetired[slot] }
        internalRetired[0] = 0
        internalRetired[1] = 0
        return progress
    }

    /// The dispatcher takes `command` once its queue's tail slot is free; it numbers it, and
    /// retires a failing command, a FLUSH or a PRELOAD at once.
    /// An unrolled command: read in place from its loop, borrowed without reference counting
    /// (`_withUnsafeGuaranteedRef`: the program owns the loop), and only once its queue has room.
    private mutating func dispatch(_ offer: UnrollerTiming.Offer, allocateReady: Triple<Bool>) -> Bool {
        offer.unrolling._withUnsafeGuaranteedRef { loop in
            let route = loop.commands[offer.position].route
            guard route == .dispatcher || allocateReady[route.rawValue] else { return false }
            return dispatch(loop.commands[offer.position], slot: offer.slot, allocateReady: allocateReady)
        }
    }

    private mutating func dispatch(_ command: TimedCommand, slot: Int?, allocateReady: Triple<Bool>) -> Bool {
        let route = command.route
        guard route == .dispatcher || allocateReady[route.rawValue] else { return false }
        let sequence = dispatched.count
        dispatched.append(command, slot: slot)
        if route == .dispatcher {
            if let access = command.counter {
                counters.answer(command.index, access)
                counterAccess = access
            }
            report(sequence)
        } else {
            station[route.rawValue].allocate(sequence)
        }
        if dispatched.kept >= Dispatched.forgetAfter {
            // Only commands still in the station are looked up again (`Dispatched`).
            dispatched.forget(before: oldestHeld)
        }
        return true
    }

    /// The oldest command still in the reservation station (the next sequence number when it is
    /// empty): no command before it is looked up again.
    private var oldestHeld: Int {
        mutating get { min(station[0].oldest ?? .max, station[1].oldest ?? .max, station[2].oldest ?? .max, dispatched.count) }
    }

    /// A retire port reports command `sequence`: the host sees its own commands; an unrolled
    /// one counts down its loop's slot.
    private mutating func report(_ sequence: Int) {
        if let slot = dispatched.slot[sequence] {
            internalRetired[slot] += 1
        } else {
            record(dispatched.index[sequence], retired: true)
        }
    }

    /// Host command `host` is accepted or retires in this cycle.
    private mutating func record(_ host: Int, retired isRetirement: Bool) {
        if isRetirement { retired[host] = cycle } else { accepted[host] = cycle }
        periodic?.log.append(PeriodicEvent(host: host, retired: isRetirement, cycle: cycle))
    }

    /// The events decided by the registers at the start of the cycle (the DMA handshakes are
    /// added where the cycle decides them).
    private mutating func observeCounterEvents(candidates: Triple<Int?>, allocateReady: Triple<Bool>) {
        events.removeAll()
        // The station's occupancy is read only by a COUNTER (its answer, a snapshot).
        if hasCounterCommands {
            counters.occupancy[0] = station[0].heldCount
            counters.occupancy[1] = station[1].heldCount
            counters.occupancy[2] = station[2].heldCount
        }
        // The events count only in a slot configured for one.
        guard counters.countsEvents else { return }
        let loading = candidates[0] != nil || station[0].hasStarted
        let executing = candidates[1] != nil || station[1].hasStarted
        let storing = candidates[2] != nil || station[2].hasStarted
        if let event = mainCounterEvents[(loading ? 1 : 0) | (executing ? 2 : 0) | (storing ? 4 : 0)] { events.insert(event) }
        if loading { events.insert(.loadActiveCycle) }
        if executing { events.insert(.executeActiveCycle) }
        if storing { events.insert(.storeActiveCycle) }
        if axi.readsInFlight > 0 { events.insert(.readDMAActiveCycle) }
        if axi.writesInFlight > 0 { events.insert(.writeDMAActiveCycle) }
        if !allocateReady[0] || !allocateReady[1] || !allocateReady[2] { events.insert(.reservationStationFullCycles) }
        if !station.allSatisfy(\.isEmpty) { events.insert(.reservationStationActiveCycles) }
        if !unroller.quiet { events.insert(.loopMatmulActiveCycles) }
    }


    private mutating func retire(_ sequence: Int, queue: Int) {
        report(sequence)
        station[queue].retire()
    }
}

// MARK: - The periodic jump

extension TimingSimulation {
    /// Every register, each by what a period does to it (docs/TIMING.md, "Periodic loops").
    /// False (nothing visited) while the CTA controller works or with another execute timing.
    private mutating func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) -> Bool {
        guard ctaPhase == .idle, counterAccess == nil, var pipelined = execute as? PipelinedExecuteTiming else { return false }
        let oldest = oldestHeld
        pipelined.visitPeriodic(&v)
        execute = pipelined as! Execute
        v.host(&nextCommand)
        v.cycle(&lastAccepted)
        v.same(internalRetired[0])
        v.same(internalRetired[1])
        // A candidate cleared earlier that is no longer the candidate never is again (sequence
        // numbers only grow): the same as none.
        for queue in 0..<3 {
            if clearedCandidates[queue] >= 0 && clearedCandidates[queue] == station[queue].candidate {
                v.same(1)
                v.sequence(&clearedCandidates[queue])
            } else {
                clearedCandidates[queue] = -1
                v.same(0)
            }
        }
        for queue in 0..<3 { station[queue].visitPeriodic(&v) }
        unroller.visitPeriodic(&v)
        reader.visitPeriodic(&v)
        writer.visitPeriodic(&v)
        axi.visitPeriodic(&v)
        v.same(loadRow)
        v.same(loadBlock)
        v.same(loadDraining)
        v.same(loadNotes.count)
        loadNotes.updateEach { note in
            let index = note.index
            note.index = 0
            v.rows(&note)
            note.index = index
            v.sequence(&note.index)
        }
        v.same(storeRow)
        v.same(storeBlock)
        func visitNote(_ note: inout StoreNote) {
            var bare = note
            bare.index = 0
            v.same(bare)
            v.sequence(&note.index)
        }
        v.same(storeArriving == nil ? 0 : 1)
        if var note = storeArriving {
            visitNote(&note)
            storeArriving = note
        }
        v.same(outgoing.count)
        outgoing.updateEach { visitNote(&$0) }
        v.same(pending.count)
        pending.updateEach { visitNote(&$0) }
        v.same(normalizerRow == nil ? 0 : 1)
        if var row = normalizerRow {
            visitNote(&row.note)
            v.same(row.latency)
            v.cycle(&row.queued)
            v.same(row.pipelined)
            normalizerRow = row
        }
        // A CONFIG_NORM's busy time decides only while it lasts.
        if normalizerBusyUntil < cycle {
            v.same(-1)
            v.moveCycle(&normalizerBusyUntil)
        } else {
            v.cycle(&normalizerBusyUntil)
        }
        var stage = accumulatorStage.map { $0.map { LocalRowAccess(accumulator: true, row: $0) } }
        v.rows(&stage)
        accumulatorStage = stage.map { $0?.row }
        v.same(probabilityTokensHeld)
        dispatched.visitPeriodic(&v, from: oldest, dma: addressing)
        return true
    }

    /// In the cycle after a LOOP_WS was taken: when the registers equal those at an earlier
    /// LOOP_WS's acceptance moved by the period between them, and the commands ahead repeat
    /// that period's, jumps over the periods that repeat. Returns the cycles jumped over.
    mutating func periodicJump() -> UInt64? {
        periodic!.loopTaken = false
        var encoder = PeriodicEncoder(sequenceBase: dispatched.count, hostBase: nextCommand, cycleBase: cycle)
        guard visitPeriodic(&encoder) else {
            periodic!.snapshots.removeAll()
            return nil
        }
        var swapped: PeriodicEncoder?
        if accumulatorHalf != 0 {
            var swapping = PeriodicEncoder(sequenceBase: dispatched.count, hostBase: nextCommand, cycleBase: cycle, swap: accumulatorHalf)
            _ = visitPeriodic(&swapping)
            swapped = swapping
        }
        let now = PeriodSnapshot(cycle: cycle, host: nextCommand, sequence: dispatched.count, logged: periodic!.log.count,
                                 registers: encoder, swapped: swapped)
        for earlier in periodic!.snapshots.reversed() {
            // The same registers a period later, or with the accumulator halves swapped.
            let swap: Int
            if earlier.registers.matches(now.registers) {
                swap = 0
            } else if let swappedEarlier = earlier.swapped, swappedEarlier.matches(now.registers) {
                swap = accumulatorHalf
            } else {
                continue
            }
            let hosts = now.host - earlier.host, sequences = now.sequence - earlier.sequence, cycles = now.cycle - earlier.cycle
            guard hosts > 0, cycles > 0 else { continue }
            let periods = repeatingPeriods(hosts, swap: swap)
            guard periods > 0 else { continue }
            // The last period's acceptances and retirements, and its snapshots, once per period
            // ahead: the log and the snapshots go on as if the periods had been stepped (a
            // period that swaps the halves swaps a snapshot's two encodings every other time).
            let window = Array(periodic!.log[earlier.logged...])
            let windowSnapshots = periodic!.snapshots.filter { $0.host >= earlier.host } + [now]
            periodic!.keep(now)
            for period in 1...periods {
                for event in window {
                    var copy = event
                    copy.host += period * hosts
                    copy.cycle += UInt64(period) * cycles
                    if copy.retired { retired[copy.host] = copy.cycle } else { accepted[copy.host] = copy.cycle }
                    periodic!.log.append(copy)
                }
                let logged = periodic!.log.count - window.count
                for snapshot in windowSnapshots.dropFirst() {
                    var copy = snapshot
                    copy.cycle += UInt64(period) * cycles
                    copy.host += period * hosts
                    copy.sequence += period * sequences
                    copy.logged = logged + (snapshot.logged - earlier.logged)
                    if swap != 0 && period % 2 == 1 {
                        guard let other = snapshot.swapped else { continue }
                        (copy.registers, copy.swapped) = (other, snapshot.registers)
                    }
                    periodic!.keep(copy)
                }
            }
            var translator = PeriodicTranslator(sequences: periods * sequences, hosts: periods * hosts, cycles: UInt64(periods) * cycles,
                                                swap: periods % 2 == 1 ? swap : 0)
            _ = visitPeriodic(&translator)
            // The loops the unroller holds: the unrollings of their new LOOP_WS commands.
            func unrolling(_ host: Int) -> Unmanaged<UnrolledLoop.Lists> { .passUnretained(program.commands[host].loop!.lists) }
            if let host = unroller.pending?.host { unroller.pending!.unrolling = unrolling(host) }
            if let host = unroller.run?.host { unroller.run!.unrolling = unrolling(host) }
            if let host = unroller.store?.host { unroller.store!.unrolling = unrolling(host) }
            let jumped = UInt64(periods) * cycles
            cycle += jumped
            skippedCycles += jumped
            periodicCycles += jumped
            periodic!.trimLog()
            return jumped
        }
        periodic!.keep(now)
        periodic!.trimLog()
        return nil
    }

    /// Whether command `command` repeats the one `hosts` before it (with the accumulator halves
    /// swapped by `swap`); each pair compared once (`PeriodicJumpState.equivalent`).
    private mutating func periodicallyEquivalent(_ command: Int, _ hosts: Int, _ swap: Int) -> Bool {
        let key = PeriodicJumpState.Pair(command: command, hosts: hosts, swapped: swap != 0)
        if let known = periodic!.equivalent[key] { return known }
        let answer = program.commands[command].periodicallyEquivalent(to: program.commands[command - hosts], hostShift: hosts, dma: addressing,
                                                                      swap: swap)
        periodic!.equivalent[key] = answer
        return answer
    }

    /// How many periods of `hosts` host commands ahead repeat the last one: their commands (and
    /// the earlier ones the registers still refer to) take the same cycles as those a period
    /// before them, and the host offers each no later than now.
    private mutating func repeatingPeriods(_ hosts: Int, swap: Int) -> Int {
        let commands = program.commands
        let lowest = ([nextCommand] + unroller.referencedHosts
            + dispatched.hostIndices(from: oldestHeld)).min()!
        guard lowest >= hosts else { return 0 }
        var next = lowest
        while next < commands.count, commands[next].arrival <= cycle, commands[next].index == next, commands[next - hosts].index == next - hosts,
              periodicallyEquivalent(next, hosts, swap) {
            next += 1
        }
        // Period j ahead offers commands up to nextCommand + j·hosts − 1; one more is required.
        return next - 1 < nextCommand ? 0 : (next - 1 - nextCommand) / hosts
    }
}

/// What the dispatcher took, by sequence number, field by field: each command's work,
/// footprint, CONFIG_NORM busy time and index, and for one a LOOP_WS unrolled, its loop slot
/// (nil for a host command).
///
/// Only the commands from the oldest one still in the reservation station on are kept
/// (`forget(before:)`): the others are never looked up again, and keeping all of them (an
/// encoder layer dispatches hundreds of thousands, about 280 bytes each) made every prediction
/// fault in a hundred megabytes of fresh memory.
struct Dispatched {
    /// One field of the dispatched commands, by sequence number, from sequence `first` on.
    struct Column<Element> {
        fileprivate var elements: [Element] = []
        fileprivate var first = 0

        subscript(sequence: Int) -> Element { elements[sequence - first] }

        fileprivate mutating func append(_ element: Element) { elements.append(element) }

        fileprivate mutating func forget(before sequence: Int) {
            elements.removeFirst(sequence - first)
            first = sequence
        }
    }

    /// Commands forgotten at once at least (`forget(before:)`).
    static let forgetAfter = 4096

    private(set) var work = Column<TimedCommand.Work>()
    private(set) var footprint = Column<TimingFootprint>()
    private(set) var normalizerBusy = Column<Int?>()
    private(set) var index = Column<Int>()
    private(set) var slot = Column<Int?>()

    /// Commands dispatched so far (the next sequence number).
    var count: Int { index.first + index.elements.count }
    /// Commands kept.
    var kept: Int { index.elements.count }

    mutating func reserveCapacity(_ commands: Int) {
        work.elements.reserveCapacity(commands)
        footprint.elements.reserveCapacity(commands)
        normalizerBusy.elements.reserveCapacity(commands)
        index.elements.reserveCapacity(commands)
        slot.elements.reserveCapacity(commands)
    }

    mutating func append(_ command: TimedCommand, slot: Int?) {
        work.append(command.work)
        footprint.append(command.footprint)
        normalizerBusy.append(command.normalizerBusy)
        index.append(command.index)
        self.slot.append(slot)
    }

    /// The commands from `oldest` on, for the periodic jump: a host command's index is a host
    /// index, an unrolled one's its position in the unrolling; works compare by the cycles they
    /// take (`TimingWorkKey`), so a work moved by a period keeps its DRAM addresses.
    mutating func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V, from oldest: Int, dma: DMAAddressing) {
        v.same(count - oldest)
        for sequence in oldest..<count {
            let position = sequence - index.first
            var key = TimingWorkKey(work: work.elements[position], dma: dma)
            v.rows(&key)
            work.elements[position] = key.work
            v.rows(&footprint.elements[position])
            v.same(normalizerBusy.elements[position])
            v.same(slot.elements[position])
            if slot.elements[position] == nil { v.host(&index.elements[position]) } else { v.same(index.elements[position]) }
        }
        v.moveSequence(&work.first)
        v.moveSequence(&footprint.first)
        v.moveSequence(&normalizerBusy.first)
        v.moveSequence(&index.first)
        v.moveSequence(&slot.first)
    }

    /// Host indices of the commands from `oldest` on that the host issued (not unrolled).
    func hostIndices(from oldest: Int) -> [Int] {
        (oldest..<count).compactMap { slot[$0] == nil ? index[$0] : nil }
    }

    /// Drops the commands before `sequence` (none of them is looked up again) once there are
    /// `forgetAfter` of them and at least as many as the commands kept after them (each command
    /// is then moved a bounded number of times).
    mutating func forget(before sequence: Int) {
        let dropped = sequence - index.first
        guard dropped >= Self.forgetAfter, dropped * 2 >= kept else { return }
        work.forget(before: sequence)
        footprint.forget(before: sequence)
        normalizerBusy.forget(before: sequence)
        index.forget(before: sequence)
        slot.forget(before: sequence)
    }
}

/// The MAIN_* counter event of each combination of busy controllers (load 1, execute 2, store 4).
private let mainCounterEvents: [CounterEvent?] = [nil, .mainLoadCycles, .mainExecuteCycles, .mainLoadExecuteCycles, .mainStoreCycles,
                                                  .mainLoadStoreCycles, .mainStoreExecuteCycles, .mainLoadStoreExecuteCycles]

/// Three values, one per reservation-station queue (load, execute, store), without an array.
struct Triple<Element> {
    var load: Element, execute: Element, store: Element

    init(_ load: Element, _ execute: Element, _ store: Element) {
        self.load = load
        self.execute = execute
        self.store = store
    }

    subscript(queue: Int) -> Element {
        switch queue {
        case 0: load
        case 1: execute
        default: store
        }
    }
}
