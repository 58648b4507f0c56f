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
    let makeExecute: () -> Execute

    public init(parameters: AcceleratorParameters, memory: MemoryTimingSettings, execute: @escaping () -> Execute) {
        self.parameters = parameters
        self.memory = memory
        makeExecute = execute
    }

    /// Runs `program` to its end (or until `cycleLimit` cycles passed since the last command's
    /// arrival without every command retiring).
    public func predict(_ program: TimingProgram, cycleLimit: UInt64 = 1_000_000) -> TimingPrediction {
        var simulation = TimingSimulation(parameters: parameters, memory: memory, execute: makeExecute(), program: program)
        simulation.run(cycleLimit: cycleLimit)
        return TimingPrediction(accepted: simulation.accepted, retired: simulation.retired, responses: simulation.counters.responses)
    }
}

extension TimingModel where Execute == PipelinedExecuteTiming {
    /// The model of today's RTL.
    public init(parameters: AcceleratorParameters, memory: MemoryTimingSettings) {
        self.init(parameters: parameters, memory: memory, execute: { PipelinedExecuteTiming(parameters) })
    }
}

/// What the model predicts for each command (by index).
public struct TimingPrediction: Sendable {
    /// The cycle the command port takes it (its arrival, or later when a queue is full).
    public var accepted: [UInt64?]
    /// The cycle a retire port reports it.
    public var retired: [UInt64?]
    /// What a COUNTER answers (the response port's data); nil for other commands.
    public var responses: [UInt64?] = []

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
struct StationQueueTiming {
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
    /// The next entry to issue (valid, not yet issued).
    var candidate: Int? { issued[issuePointer] ? nil : slots[issuePointer] }

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
struct LoadNote {
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

/// One row on its way out of the store controller (StoreController's `RowNote`).
struct StoreNote {
    var request: DMARequestTiming
    var noWrites: Bool
    var last: Bool
    var index: Int
}

struct TimingSimulation<Execute: ExecuteTiming> {
    let parameters: AcceleratorParameters
    let program: TimingProgram
    let dma: DMAParameters
    /// The memories' bank maps (the hardware's own).
    let scratchpadMemory: LocalMemoryBanks
    let accumulatorMemory: LocalMemoryBanks

    var cycle: UInt64 = 0
    var accepted: [UInt64?]
    var retired: [UInt64?]
    private var nextCommand = 0
    private var lastAccepted: UInt64?

    /// What the dispatcher took, by sequence number: the command, and for one a LOOP_WS
    /// unrolled, its loop slot (nil for a host command).
    private var dispatched: [(command: TimedCommand, slot: Int?)] = []

    private var unroller = UnrollerTiming()
    /// Retirements of unrolled commands in this cycle, per slot (counted down at the clock edge).
    private var internalRetired = [0, 0]

    private var station: [StationQueueTiming]
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
    /// its note, and the cycle its result is queued (known once the row has arrived).
    private var normalizerRow: (note: StoreNote, latency: Int, queued: UInt64?)?
    /// The last cycle a CONFIG_NORM keeps the normalizer busy (the numerics extensions' Softmax
    /// factor): the store reader waits until after it.
    private var normalizerBusyUntil: UInt64 = 0
    /// StoreController's `queueDepth`.
    private let outgoingDepth = 4

    /// The accumulator's read-modify-write stage: per bank, the row of the write taken last cycle.
    private var accumulatorStage: [Int?]

    /// The performance counters, and this cycle's events (CounterFile, `connectCounterEvents`).
    var counters: CounterTiming
    private var events = Set<CounterEvent>()
    private var counterAccess: CounterAccess?

    init(parameters: AcceleratorParameters, memory: MemoryTimingSettings, execute: Execute, program: TimingProgram) {
        self.parameters = parameters
        self.program = program
        self.execute = execute
        dma = DMAParameters(parameters, tagBits: 1)
        scratchpadMemory = parameters.scratchpadBanks
        accumulatorMemory = parameters.accumulatorBanks
        let config = parameters.config
        station = [config.ldReservationEntries, config.exReservationEntries, config.stReservationEntries].map(StationQueueTiming.init)
        reader = DMAReaderTiming(dma)
        writer = DMAWriterTiming(dma)
        axi = AXIMemoryTiming(busBytes: dma.busBytes, settings: memory)
        accumulatorStage = Array(repeating: nil, count: config.accBanks)
        accepted = Array(repeating: nil, count: program.commands.count)
        retired = Array(repeating: nil, count: program.commands.count)
        counters = CounterTiming(commands: program.commands.count)
        if let first = program.commands.first { cycle = first.arrival }
    }

    /// Both notes queues hold `maxInFlight + 2` entries (LoadController `notes`, StoreController `pending`).
    private var notesDepth: Int { dma.maxInFlight + 2 }

    private var quiet: Bool {
        unroller.quiet
            && station.allSatisfy(\.isEmpty) && execute.idle && loadNotes.isEmpty && storeArriving == nil && normalizerRow == nil && cycle > normalizerBusyUntil && outgoing.isEmpty
            && pending.isEmpty && reader.idle && writer.idle && axi.idle && accumulatorStage.allSatisfy { $0 == nil }
    }

    mutating func run(cycleLimit: UInt64) {
        let commands = program.commands
        var lastProgress = cycle
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
            if step() { lastProgress = cycle }
            cycle += 1
            if cycle - lastProgress > cycleLimit { return }
        }
    }

    /// The host offers command i no earlier than the trace says and not before the cycle after
    /// the port took command i − 1.
    private func arrivalOfNext() -> UInt64 {
        let arrival = program.commands[nextCommand].arrival
        guard let lastAccepted else { return arrival }
        return max(arrival, lastAccepted + 1)
    }

    private func bank(_ access: LocalRowAccess) -> Int {
        access.accumulator ? accumulatorMemory.bank(row: access.row % parameters.accRows)
                           : scratchpadMemory.bank(row: access.row % parameters.spRows)
    }

    private func sameBank(_ a: LocalRowAccess?, _ b: LocalRowAccess) -> Bool {
        guard let a else { return false }
        return a.accumulator == b.accumulator && bank(a) == bank(b)
    }

    /// The station's candidate of queue `kind` when nothing older elsewhere conflicts with it.
    private func issuable(_ kind: Int) -> Int? {
        guard let candidate = station[kind].candidate else { return nil }
        let footprint = dispatched[candidate].command.footprint
        for other in 0..<3 where other != kind {
            for index in station[other].held where index < candidate {
                if dispatched[index].command.footprint.conflicts(with: footprint) { return nil }
            }
        }
        return candidate
    }

    /// One cycle; returns whether anything retired or was taken.
    private mutating func step() -> Bool {
        var progress = false
        axi.drive(cycle)

        // The station's free tail slots (registers: a slot a retirement frees in this cycle
        // takes a command in the next one).
        let allocateReady = station.map(\.allocateReady)

        // The execute controller's ports (client 0 of both memories).
        let executeReads = execute.reads(at: cycle)
        let executeWrite = execute.write(at: cycle)
        let candidates = (0..<3).map(issuable)
        observeCounterEvents(candidates: candidates, allocateReady: allocateReady)

        // MARK: Load controller, writer half (client 1 of the write ports)
        // (The notes queue is a plain register queue: a slot freed in this cycle is free in the next.)
        let notesReady = loadNotes.count < notesDepth
        let note = loadNotes.first
        let hasData = note.map { !$0.noWrites && !$0.zeros } ?? false
        let dataReady = !hasData || reader.responseValid
        var loadWrite: LocalRowAccess?
        var loadFinish = false
        if let note, dataReady {
            let lastBlock = note.noWrites || loadBlock + 1 >= note.blocks
            var written = note.noWrites || loadDraining
            if !written {
                let access = LocalRowAccess(accumulator: note.accumulator, row: note.row + loadBlock * note.blockStride,
                                            accumulate: note.accumulate)
                // A write waits while the execute controller writes the same bank, or (accumulating)
                // while the previous write to its row is still in the read-modify-write stage.
                let inStage = access.accumulator && access.accumulate
                    && accumulatorStage.contains { $0 == access.row % parameters.accRows }
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

        // MARK: Banks: the accumulator's read-modify-write stage takes the bank's read port first.
        // The execute controller does not wait for its write: an accumulating write to a row
        // still in the stage is refused and never enters it (it still holds the bank's write port
        // against the load controller above).
        let executeWriteTaken = executeWrite.flatMap { write in
            write.accumulator && write.accumulate && accumulatorStage.contains { $0 == write.row % parameters.accRows } ? nil : write
        }
        var stage: [Int?] = Array(repeating: nil, count: parameters.config.accBanks)
        var readTaken = Array(repeating: false, count: parameters.config.accBanks)
        for write in [executeWriteTaken, loadWrite].compactMap({ $0 }) where write.accumulator {
            stage[bank(write)] = write.row % parameters.accRows
            if write.accumulate { readTaken[bank(write)] = true }
        }
        // Read ports by priority: a request waits while the read-modify-write stage or a client
        // before it wants the same bank.
        func readBlocked(_ access: LocalRowAccess, after earlier: ArraySlice<LocalRowAccess>) -> Bool {
            (access.accumulator && readTaken[bank(access)]) || earlier.contains { sameBank($0, access) }
        }
        let executeGranted = executeReads.indices.map { !readBlocked(executeReads[$0], after: executeReads[..<$0]) }

        // MARK: Load controller, issuer half
        var readRequest: DMARequestTiming?
        if let index = candidates[0] {
            var noteOut = LoadNote(row: 0, accumulator: false, accumulate: false, blocks: 1, blockStride: 0, zeros: false,
                                   noWrites: true, last: true, index: index)
            var needsRead = false
            if case .mvin(let move) = dispatched[index].command.work, !move.empty {
                noteOut = LoadNote(row: move.localRow + loadRow, accumulator: move.accumulator, accumulate: move.accumulate,
                                   blocks: move.blocks, blockStride: move.blockStride, zeros: move.zeros, noWrites: false,
                                   last: loadRow + 1 >= move.rows, index: index)
                needsRead = !move.zeros
                if needsRead && notesReady { readRequest = DMARequestTiming(address: move.address(row: loadRow), bytes: move.rowBytes) }
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

        // MARK: Store controller
        // All from the registers at the start of the cycle: a row queued in this cycle leaves
        // in the next one at the earliest.
        let arrivingNote = storeArriving
        let room = outgoing.count + (arrivingNote == nil ? 0 : 1) < outgoingDepth
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
        if let row = normalizerRow {
            if let queued = row.queued, queued == cycle {
                normalizerDone = row.note
                normalizerRow = nil
            }
        }
        let arrivingHeld = arrivingNote.flatMap { note in normalizerRow.map { $0.queued == nil && $0.note.index == note.index } } ?? false
        if arrivingHeld, let row = normalizerRow { normalizerRow?.queued = cycle + UInt64(row.latency) }

        // The reader: one local row per cycle while the outgoing queue has room for it, and
        // nothing while the normalizer works on a long row.
        storeArriving = nil
        var emptyNote: StoreNote?
        if let index = candidates[2], normalizerRow == nil, normalizerDone == nil, cycle > normalizerBusyUntil {
            if case .mvout(let move) = dispatched[index].command.work, !move.empty {
                let access = LocalRowAccess(accumulator: move.accumulator, row: move.localRow(row: storeRow, block: storeBlock))
                if room && !readBlocked(access, after: executeReads[...]) {
                    let blockDone = storeRow + 1 >= move.rows
                    let last = blockDone && storeBlock + 1 >= move.blocks
                    let note = StoreNote(request: DMARequestTiming(address: move.address(row: storeRow, block: storeBlock),
                                                                   bytes: move.bytes(block: storeBlock)),
                                         noWrites: move.statisticsPass, last: last, index: index)
                    storeArriving = note
                    if let latency = move.latency(block: storeBlock) { normalizerRow = (note, latency, nil) }
                    storeRow = blockDone ? 0 : storeRow + 1
                    if blockDone { storeBlock = last ? 0 : storeBlock + 1 }
                    if last { station[2].issue() }
                }
            } else if room && arrivingNote == nil {
                // A CONFIG_ST or an empty MVOUT goes into the queue as one note.
                emptyNote = StoreNote(request: DMARequestTiming(address: 0, bytes: 0), noWrites: true, last: true, index: index)
                if let busy = dispatched[index].command.normalizerBusy { normalizerBusyUntil = cycle + UInt64(busy) }
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

        // MARK: Execute controller
        var executeIssue: ExecuteIssue?
        if let index = candidates[1] {
            let work: ExecuteIssue.Work
            switch dispatched[index].command.work {
            case .pair(let pair): work = .pair(pair)
            default: work = .config
            }
            if execute.ready(for: work) {
                executeIssue = ExecuteIssue(index: index, work: work, footprint: dispatched[index].command.footprint)
                station[1].issue()
                progress = true
            }
        }
        if let index = execute.clock(cycle: cycle, issued: executeIssue, granted: executeGranted) {
            retire(index, queue: 1)
        }

        // MARK: DMA and memory
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
        accumulatorStage = stage

        // MARK: Loop unroller and dispatcher
        let before = unroller
        // A slot completes when its loop waits and none of its commands is out (registers).
        let completing = (0..<2).first { before.waiting[$0] != nil && before.outstanding[$0] == 0 }
        let hostOffer = nextCommand < program.commands.count && arrivalOfNext() <= cycle ? program.commands[nextCommand] : nil
        var mainFired = false, storeFired = false, hostTaken = false
        var issuedSlot: Int?
        var taken: UnrollerTiming.Loop?
        if let (command, slot) = before.storeOffer(storeRoom: allocateReady[2]) {
            // The store cursor goes first, and only when the store queue takes it.
            storeFired = dispatch(command, slot: slot, allocateReady: allocateReady)
            if storeFired { issuedSlot = slot }
        } else if before.idle {
            // Plain host commands wait until every unrolled command is out.
            if before.pending == nil, before.store == nil, let command = hostOffer, command.route != .unroller {
                hostTaken = dispatch(command, slot: nil, allocateReady: allocateReady)
            }
        } else if let (command, slot) = before.mainOffer() {
            mainFired = dispatch(command, slot: slot, allocateReady: allocateReady)
            if mainFired { issuedSlot = slot }
        }
        // LOOP_WS_CONFIG_* and a failing LOOP_WS retire on `retire_loop` at once, unless a loop
        // completes there in this cycle; a LOOP_WS waits as the pending loop.
        if let command = hostOffer, command.route == .unroller, before.pending == nil, completing == nil {
            hostTaken = true
            if let loop = command.loop {
                taken = (command.index, loop)
            } else {
                retired[command.index] = cycle
            }
        }
        if hostTaken, let command = hostOffer {
            accepted[command.index] = cycle
            lastAccepted = cycle
            nextCommand += 1
            progress = true
        }
        if mainFired || storeFired { progress = true }
        if let completing, let host = before.waiting[completing] {
            retired[host] = cycle
            progress = true
        }
        unroller.clock(from: before, mainFired: mainFired, storeFired: storeFired, taken: taken, completing: completing)
        if unroller.phase != before.phase || unroller.pending != nil && before.pending == nil { progress = true }
        // The slots' counters: +1 for an unrolled command the dispatcher took, −1 per retirement.
        if let issuedSlot { unroller.outstanding[issuedSlot] += 1 }
        for slot in 0..<2 { unroller.outstanding[slot] -= internalRetired[slot] }
        internalRetired = [0, 0]
        counters.clock(events: events, access: counterAccess, readBytes: bytes.read, writeBytes: bytes.write)
        counterAccess = nil
        return progress || readBeat || answer
    }

    /// The dispatcher takes `command` once its queue's tail slot is free; it numbers it, and
    /// retires a failing command, a FLUSH or a PRELOAD at once.
    private mutating func dispatch(_ command: TimedCommand, slot: Int?, allocateReady: [Bool]) -> Bool {
        let route = command.route
        guard route == .dispatcher || allocateReady[route.rawValue] else { return false }
        let sequence = dispatched.count
        dispatched.append((command, slot))
        if route == .dispatcher {
            if let access = command.counter {
                counters.answer(command.index, access)
                counterAccess = access
            }
            report(sequence)
        } else {
            station[route.rawValue].allocate(sequence)
        }
        return true
    }

    /// A retire port reports command `sequence`: the host sees its own commands; an unrolled
    /// one counts down its loop's slot.
    private mutating func report(_ sequence: Int) {
        let entry = dispatched[sequence]
        if let slot = entry.slot {
            internalRetired[slot] += 1
        } else {
            retired[entry.command.index] = cycle
        }
    }

    /// The events decided by the registers at the start of the cycle (the DMA handshakes are
    /// added where the cycle decides them).
    private mutating func observeCounterEvents(candidates: [Int?], allocateReady: [Bool]) {
        events.removeAll(keepingCapacity: true)
        let active = (0..<3).map { candidates[$0] != nil || station[$0].hasStarted }
        let (loading, executing, storing) = (active[0], active[1], active[2])
        let main: [CounterEvent?] = [nil, .mainLoadCycles, .mainExecuteCycles, .mainLoadExecuteCycles, .mainStoreCycles,
                                     .mainLoadStoreCycles, .mainStoreExecuteCycles, .mainLoadStoreExecuteCycles]
        if let event = main[(loading ? 1 : 0) | (executing ? 2 : 0) | (storing ? 4 : 0)] { events.insert(event) }
        if loading { events.insert(.loadActiveCycle) }
        if executing { events.insert(.executeActiveCycle) }
        if storing { events.insert(.storeActiveCycle) }
        if axi.readsInFlight > 0 { events.insert(.readDMAActiveCycle) }
        if axi.writesInFlight > 0 { events.insert(.writeDMAActiveCycle) }
        if allocateReady.contains(false) { events.insert(.reservationStationFullCycles) }
        if !station.allSatisfy(\.isEmpty) { events.insert(.reservationStationActiveCycles) }
        if !unroller.quiet { events.insert(.loopMatmulActiveCycles) }
        counters.occupancy = [station[0].held.count, station[1].held.count, station[2].held.count]
    }

    private mutating func retire(_ sequence: Int, queue: Int) {
        report(sequence)
        station[queue].retire()
    }
}
