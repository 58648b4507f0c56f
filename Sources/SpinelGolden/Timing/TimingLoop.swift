import SpinelISA

/// A LOOP_WS as the `LoopUnroller`'s cursors see it: its unrolled commands
/// (`LoopWSUnrolling`, each a `TimedCommand` with the state it runs with), grouped by the
/// cursor that emits them, in each cursor's order. `UnrollerTiming` interleaves them cycle by
/// cycle as the hardware does.
public struct UnrolledLoop: Sendable {
    /// The unrolling, in one object that every copy shares. The unroller's registers refer to
    /// it without counting (`UnrollerTiming.Loop`): they are copied every cycle.
    final class Lists: @unchecked Sendable {
        /// The unrolled commands (`index` is the position in the unrolling).
        let commands: [TimedCommand]
        /// Positions in `commands`: the residual add's commands (MVIN, MVIN2 and, with C, MVOUT per tile).
        let residual: [Int]
        /// The bias loads, then the operand loads of each K block.
        let bias: [Int], loads: [[Int]]
        /// Each K block's PRELOAD and COMPUTE, alternating.
        let pairs: [[Int]]
        /// The mvouts of C, column by column (with `normalizes`, row of tiles by row of tiles: the
        /// statistics passes, then the output).
        let stores: [Int]
        let isResidualAdd: Bool
        let storesC: Bool
        /// LayerNorm or Softmax: the mvouts wait until all of C is computed.
        let normalizes: Bool
        let tilesI: Int, tilesJ: Int
        /// Scratchpad rows of A and B (whether loaded or not), and which of them and D it loads.
        let aRows: Range<Int>, bRows: Range<Int>
        let loadsA: Bool, loadsB: Bool, loadsBias: Bool

        init(commands: [TimedCommand], residual: [Int], bias: [Int], loads: [[Int]], pairs: [[Int]], stores: [Int],
             isResidualAdd: Bool, storesC: Bool, normalizes: Bool, tilesI: Int, tilesJ: Int, aRows: Range<Int>, bRows: Range<Int>,
             loadsA: Bool, loadsB: Bool, loadsBias: Bool) {
            self.commands = commands
            self.residual = residual
            self.bias = bias
            self.loads = loads
            self.pairs = pairs
            self.stores = stores
            self.isResidualAdd = isResidualAdd
            self.storesC = storesC
            self.normalizes = normalizes
            self.tilesI = tilesI
            self.tilesJ = tilesJ
            self.aRows = aRows
            self.bRows = bRows
            self.loadsA = loadsA
            self.loadsB = loadsB
            self.loadsBias = loadsBias
        }

        /// K blocks.
        var steps: Int { pairs.count }

        /// Whether this loop's loads, prefetched while `running` still emits its last block's
        /// pairs, could touch what those pairs read or write (LoopUnroller's `prefetch_conflict`).
        func prefetchConflicts(with running: Lists) -> Bool {
            (loadsA && (aRows.overlaps(running.aRows) || aRows.overlaps(running.bRows)))
                || (loadsB && (bRows.overlaps(running.aRows) || bRows.overlaps(running.bRows)))
                || (loadsBias && !running.storesC)
        }
        /// Pairs in K block `step` per column of C.
        func pairsPerColumn(step: Int) -> Int { pairs[step].count / 2 / tilesJ }
    }

    let lists: Lists
    /// The unrolled commands (`index` is the position in the unrolling).
    public var commands: [TimedCommand] { lists.commands }
    /// Taken from an earlier loop's unrolling (`UnrollingReuse`).
    private(set) var reused = false

    /// Runs the LOOP_WS on `model` command by command, as the dispatcher sees them. Nil (and
    /// `model` untouched) when the launch fails the unroller's own checks: it then retires in
    /// the cycle the unroller takes it.
    ///
    /// In the dataless golden pass, a loop launched from the state an earlier one was launched
    /// from, unrolling into the same commands but for their DRAM addresses, takes that loop's
    /// unrolled commands with its own addresses (`UnrollingReuse`).
    init?(rs1: UInt64, rs2: UInt64, model: inout GoldenModel, memory: inout some MainMemory, parameters: AcceleratorParameters,
          reuse: inout UnrollingReuse) {
        guard case .loopWS(let launch)? = try? Command.decode(funct: Funct.loopWS, rs1: rs1, rs2: rs2, parameters: parameters),
              LoopWSUnrolling.rejection(of: launch, settings: model.state.loop, parameters: parameters) == nil else { return nil }
        let settings = model.state.loop
        let unrolled = LoopWSUnrolling.unrolling(of: launch, settings: settings, parameters: parameters)
        let reusable = model.dataless && model.error == nil
        let start = reusable ? UnrollingReuse.addressless(model.state) : nil
        if let start, let earlier = reuse.match(rs1: rs1, rs2: rs2, start: start, unrolled: unrolled) {
            lists = earlier.lists.withAddresses(of: unrolled)
            reused = true
            var end = earlier.end
            end.loop = settings
            end.loop.accumulatorHalf = earlier.end.loop.accumulatorHalf
            model.state = end
            model.countReused(unrolled.count)
            return
        }
        let steps = (settings.bounds.tilesK + parameters.loopBlockTiles - 1) / parameters.loopBlockTiles
        var loads: [[Int]] = Array(repeating: [], count: steps)
        var pairs: [[Int]] = Array(repeating: [], count: steps)
        var residual: [Int] = [], bias: [Int] = [], stores: [Int] = []
        let bounds = settings.bounds, dim = parameters.dim, half = parameters.spRows / 2
        let aLow = launch.aScratchpadID == 2 ? half : 0, bEnd = launch.bScratchpadID == 2 ? parameters.spRows : half
        var commands: [TimedCommand] = []
        commands.reserveCapacity(unrolled.count)
        for (position, (command, role)) in unrolled.enumerated() {
            let before = model.state
            var rejected = false
            do {
                try model.execute(command.funct, command.rs1, command.rs2, memory: &memory)
                rejected = model.lastRejection != nil
            } catch {
                rejected = true
            }
            commands.append(TimedCommand(index: position, funct: command.funct, rs1: command.rs1, rs2: command.rs2, arrival: 0,
                                         rejected: rejected, state: before, parameters: parameters))
            switch role {
            case .residual: residual.append(position)
            case .bias: bias.append(position)
            case .load(let step): loads[step].append(position)
            case .pair(let step): pairs[step].append(position)
            case .store: stores.append(position)
            }
        }
        lists = Lists(commands: commands, residual: residual, bias: bias, loads: loads, pairs: pairs, stores: stores,
                      isResidualAdd: launch.isResidualAdd, storesC: settings.c != 0, normalizes: launch.normalizes,
                      tilesI: bounds.tilesI, tilesJ: bounds.tilesJ, aRows: aLow..<(aLow + bounds.tilesI * bounds.tilesK * dim),
                      bRows: (bEnd - bounds.tilesK * bounds.tilesJ * dim)..<bEnd, loadsA: settings.a != 0, loadsB: settings.b != 0,
                      loadsBias: settings.d != 0)
        // GoldenModel.loopWS: a loop that stores C flips the accumulator half of the next one.
        if model.state.loop.c != 0 { model.state.loop.accumulatorHalf ^= 1 }
        if let start, model.error == nil, !commands.contains(where: \.isRejected) {
            reuse.keep(UnrollingReuse.Entry(rs1: rs1, rs2: rs2, start: start, end: model.state, unrolled: unrolled, lists: lists))
        }
    }
}

/// The dataless golden pass's recent LOOP_WS unrollings (`UnrolledLoop`). Without data, a
/// command's outcome and the state it leaves depend on its fields and the state before it,
/// never on a DRAM address but for whether it is 0 (a load of zeros): a loop launched from the
/// same state (its own DRAM addresses aside) whose unrolling has the same commands but for
/// those addresses runs exactly as the earlier one, and its timed commands are the earlier
/// ones with its own addresses. Only loops in which no command failed are kept.
struct UnrollingReuse {
    struct Entry {
        var rs1: UInt64, rs2: UInt64
        /// The state at the launch (`addressless`) and after the loop.
        var start: AcceleratorState, end: AcceleratorState
        var unrolled: [(command: UnrolledCommand, role: LoopWSUnrolling.Role)]
        var lists: UnrolledLoop.Lists
    }

    /// Loops kept: a period of up to this many loops is found (two blocks of K-split loops,
    /// as the accumulator half flips with each block's C).
    static let kept = 24
    private var entries: [Entry] = []
    /// Off: every loop runs on the golden model (the tests' reference).
    var enabled = true

    init() {}

    /// `state` with the LOOP_WS registers' DRAM addresses as 0 or 1.
    static func addressless(_ state: AcceleratorState) -> AcceleratorState {
        var state = state
        state.loop.a = min(state.loop.a, 1)
        state.loop.b = min(state.loop.b, 1)
        state.loop.c = min(state.loop.c, 1)
        state.loop.d = min(state.loop.d, 1)
        return state
    }

    /// Whether a command's rs1 is a DRAM address.
    static func movesData(_ funct: UInt8) -> Bool {
        funct == Funct.mvin || funct == Funct.mvin2 || funct == Funct.mvin3 || funct == Funct.mvout
    }

    func match(rs1: UInt64, rs2: UInt64, start: AcceleratorState,
               unrolled: [(command: UnrolledCommand, role: LoopWSUnrolling.Role)]) -> Entry? {
        guard enabled else { return nil }
        return entries.last { entry in
            guard entry.rs1 == rs1, entry.rs2 == rs2, entry.unrolled.count == unrolled.count, entry.start == start else { return false }
            for (a, b) in zip(entry.unrolled, unrolled) {
                guard a.command.funct == b.command.funct, a.command.rs2 == b.command.rs2, a.role == b.role else { return false }
                if Self.movesData(a.command.funct) {
                    guard (a.command.rs1 == 0) == (b.command.rs1 == 0) else { return false }
                } else if a.command.rs1 != b.command.rs1 {
                    return false
                }
            }
            return true
        }
    }

    mutating func keep(_ entry: Entry) {
        entries.append(entry)
        if entries.count > Self.kept { entries.removeFirst() }
    }
}

extension UnrolledLoop.Lists {
    /// These lists with the DRAM addresses of `unrolled` (the same commands but for them).
    func withAddresses(of unrolled: [(command: UnrolledCommand, role: LoopWSUnrolling.Role)]) -> UnrolledLoop.Lists {
        var moved = commands
        for position in moved.indices where UnrollingReuse.movesData(unrolled[position].command.funct) {
            switch moved[position].work {
            case .mvin(var move):
                move.dramAddress = unrolled[position].command.rs1
                moved[position].work = .mvin(move)
            case .mvout(var move):
                move.dramAddress = unrolled[position].command.rs1
                moved[position].work = .mvout(move)
            default:
                break
            }
        }
        return UnrolledLoop.Lists(commands: moved, residual: residual, bias: bias, loads: loads, pairs: pairs, stores: stores,
                                  isResidualAdd: isResidualAdd, storesC: storesC, normalizes: normalizes, tilesI: tilesI, tilesJ: tilesJ,
                                  aRows: aRows, bRows: bRows, loadsA: loadsA, loadsB: loadsB, loadsBias: loadsBias)
    }
}

/// The `LoopUnroller`'s registers, as far as they decide when a command leaves it
/// (LoopUnroller.swift, whose structure this follows name for name): the pending and the
/// running loop, the load, pair and store cursors, and the two loop slots.
struct UnrollerTiming {
    enum Phase { case idle, residual, firstLoads, pairs, waiting, drain, finish }
    /// A LOOP_WS (by its host command's index) and its unrolling. (Structs, not tuples: an
    /// optional tuple's copies go through runtime type metadata.) The unrolling is referred to
    /// without counting (`Unmanaged`), so that these registers copy as plain bytes every cycle:
    /// the simulation's program owns every loop for as long as the simulation runs.
    struct Loop {
        var host: Int
        var unrolling: Unmanaged<UnrolledLoop.Lists>

        init(host: Int, loop: UnrolledLoop) {
            self.host = host
            unrolling = .passUnretained(loop.lists)
        }

        var loop: UnrolledLoop.Lists { unrolling.takeUnretainedValue() }
    }

    struct StoreLoop {
        var host: Int
        var unrolling: Unmanaged<UnrolledLoop.Lists>
        var slot: Int

        var loop: UnrolledLoop.Lists { unrolling.takeUnretainedValue() }
    }

    /// Two values, one per loop slot, without an array (the registers copy every cycle).
    struct Slots<Element: Equatable>: Equatable {
        var first: Element, second: Element

        subscript(slot: Int) -> Element {
            get { slot == 0 ? first : second }
            set { if slot == 0 { first = newValue } else { second = newValue } }
        }
    }

    var phase = Phase.idle
    var part = 0
    var pending: Loop?
    /// The pair cursor's loop (kept after it finishes, as the hardware keeps its registers).
    var run: Loop?
    var slot = 0
    /// Per slot: the LOOP_WS waiting for its commands to retire, and how many are out.
    var waiting = Slots<Int?>(first: nil, second: nil)
    var outstanding = Slots(first: 0, second: 0)
    // Pair cursor: K block, pair within the block (or residual tile), finished columns.
    var pairStep = 0, pairNumber = 0, tile = 0
    var columnsDone = 0
    var handed = false
    // Load cursor (of the pending loop when `loadsNext`).
    var loadsNext = false
    var biasRemaining = 0
    var loadStep = 0, blockRemaining = 0
    // Store cursor.
    var store: StoreLoop?
    var storeOwnsRun = false
    var storePosition = 0

    var idle: Bool { phase == .idle }

    /// Whether `o` (an earlier copy) holds the same registers (a loop is known by its LOOP_WS).
    func sameState(as o: Self) -> Bool {
        phase == o.phase && part == o.part && pending?.host == o.pending?.host && run?.host == o.run?.host && slot == o.slot
            && waiting == o.waiting && outstanding == o.outstanding && pairStep == o.pairStep && pairNumber == o.pairNumber
            && tile == o.tile && columnsDone == o.columnsDone && handed == o.handed && loadsNext == o.loadsNext
            && biasRemaining == o.biasRemaining && loadStep == o.loadStep && blockRemaining == o.blockRemaining
            && store?.host == o.store?.host && store?.slot == o.store?.slot && storeOwnsRun == o.storeOwnsRun
            && storePosition == o.storePosition
    }

    /// Its registers for the periodic jump (docs/TIMING.md, "Periodic loops"): a loop by its
    /// LOOP_WS's host index (the simulation points it at that command's unrolling again after
    /// moving it).
    mutating func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        v.same(phase)
        v.same(part)
        var hosts = (pending?.host, run?.host, store?.host)
        v.host(&hosts.0)
        v.host(&hosts.1)
        v.host(&hosts.2)
        if let host = hosts.0 { pending?.host = host }
        if let host = hosts.1 { run?.host = host }
        if let host = hosts.2 { store?.host = host }
        v.same(store?.slot ?? -1)
        v.same(slot)
        v.host(&waiting.first)
        v.host(&waiting.second)
        v.same(outstanding.first)
        v.same(outstanding.second)
        v.same(pairStep)
        v.same(pairNumber)
        v.same(tile)
        v.same(columnsDone)
        v.same(handed)
        v.same(loadsNext)
        v.same(biasRemaining)
        v.same(loadStep)
        v.same(blockRemaining)
        v.same(storeOwnsRun)
        v.same(storePosition)
    }

    /// The LOOP_WS host commands its registers refer to.
    var referencedHosts: [Int] { [pending?.host, run?.host, store?.host, waiting.first, waiting.second].compactMap { $0 } }

    var loadWaiting: Bool { biasRemaining > 0 || blockRemaining > 0 }
    var loadLoop: UnrolledLoop.Lists? { loadsNext ? pending?.loop : run?.loop }
    var quiet: Bool { idle && pending == nil && store == nil && waiting.first == nil && waiting.second == nil }
    var runStoresC: Bool { run?.loop.storesC ?? false }
    var lastPairStep: Bool { run.map { pairStep + 1 == $0.loop.steps } ?? false }

    /// The store cursor's mvout, when the store queue has room (`storeRoom`), with its loop slot.
    func storeOffer(storeRoom: Bool) -> Offer? {
        guard let store, storeRoom else { return nil }
        let columnsReady = storeOwnsRun ? columnsDone : store.loop.tilesJ
        let ready = store.loop.normalizes ? columnsReady == store.loop.tilesJ : storePosition / store.loop.tilesI < columnsReady
        guard ready else { return nil }
        return Offer(unrolling: store.unrolling, position: store.loop.stores[storePosition], slot: store.slot)
    }

    /// An unrolled command a cursor offers the dispatcher, with its loop slot.
    struct Offer {
        var unrolling: Unmanaged<UnrolledLoop.Lists>
        var position: Int
        var slot: Int
    }

    var emitLoad: Bool { loadWaiting && (phase == .firstLoads || phase == .waiting || phase == .drain) }

    /// The pair cursor's side's command (residual add, a load, a PRELOAD or COMPUTE), with its loop slot.
    func mainOffer() -> Offer? {
        guard let run else { return nil }
        switch phase {
        case .residual:
            let stride = run.loop.storesC ? 3 : 2
            guard part < stride else { return nil }
            return Offer(unrolling: run.unrolling, position: run.loop.residual[tile * stride + part], slot: slot)
        // The loads and the pairs are offered in most cycles: their lists are read from a
        // borrowed reference (`_withUnsafeGuaranteedRef`), without retaining and releasing the
        // loop and its lists each time.
        case _ where emitLoad:
            guard let unrolling = loadsNext ? pending?.unrolling : run.unrolling else { return nil }
            let position = unrolling._withUnsafeGuaranteedRef { loop in
                biasRemaining > 0 ? loop.bias[loop.bias.count - biasRemaining]
                    : loop.loads[loadStep][loop.loads[loadStep].count - blockRemaining]
            }
            return Offer(unrolling: unrolling, position: position, slot: loadsNext ? slot ^ 1 : slot)
        case .pairs:
            let position = run.unrolling._withUnsafeGuaranteedRef { $0.pairs[pairStep][2 * pairNumber + part] }
            return Offer(unrolling: run.unrolling, position: position, slot: slot)
        default:
            return nil
        }
    }

    /// Whether `mainOffer()` offers a command.
    var hasMainOffer: Bool {
        guard let run else { return false }
        switch phase {
        case .residual: return part < (run.loop.storesC ? 3 : 2)
        case _ where emitLoad: return loadLoop != nil
        case .pairs: return true
        default: return false
        }
    }

    /// Points the load cursor at K block `step` of `loop`.
    mutating func startLoads(_ step: Int, of loop: UnrolledLoop.Lists) {
        loadStep = step
        blockRemaining = step < loop.steps ? loop.loads[step].count : 0
    }

    /// The pending loop's bias, or its first block.
    mutating func startPendingLoop(_ loop: UnrolledLoop.Lists) {
        biasRemaining = loop.bias.count
        if loop.bias.isEmpty { startLoads(0, of: loop) }
    }

    /// One clock edge. `before` is the state the cycle's decisions were made from.
    /// `mainFired`/`storeFired`: the dispatcher took the pair cursor's side's or the store
    /// cursor's command; `taken`: a LOOP_WS that passed its checks was taken from the host.
    mutating func clock(from before: UnrollerTiming, mainFired: Bool, storeFired: Bool, taken: Loop?, completing: Int?) {
        let u = before
        let emitting = u.hasMainOffer
        let advance = mainFired || (!u.idle && !emitting && u.phase != .finish)
        let running = u.phase == .pairs || u.phase == .waiting || u.phase == .drain
        let prefetch = running && u.lastPairStep && !u.loadWaiting && !u.loadsNext && u.pending.map { !$0.loop.isResidualAdd } == true
            && u.waiting[u.slot ^ 1] == nil && !u.pending!.loop.prefetchConflicts(with: u.run!.loop)
        let launching = u.idle && u.pending != nil && u.waiting[u.slot] == nil && (!u.pending!.loop.isResidualAdd || u.store == nil)
        let nextBlock = advance && !u.loadWaiting && (u.phase == .firstLoads || (u.phase == .drain && !u.lastPairStep))

        // Load cursor.
        if prefetch || (launching && !u.pending!.loop.isResidualAdd && !u.loadsNext) {
            startPendingLoop(u.pending!.loop)
        } else if nextBlock, let run = u.run {
            startLoads(u.phase == .firstLoads ? 1 : u.pairStep + 2, of: run.loop)
        } else if mainFired && u.emitLoad, let loop = u.loadLoop {
            if u.biasRemaining > 0 {
                biasRemaining -= 1
                if biasRemaining == 0 { startLoads(0, of: loop) }
            } else {
                blockRemaining -= 1
            }
        }
        if prefetch { loadsNext = true }

        // Store cursor.
        let handOver = u.store == nil && !u.handed && u.runStoresC && u.run.map { !$0.loop.isResidualAdd } == true
            && !u.idle && u.phase != .residual
        if handOver, let run = u.run {
            store = StoreLoop(host: run.host, unrolling: run.unrolling, slot: u.slot)
            storeOwnsRun = true
            handed = true
            storePosition = 0
        }
        if storeFired, let current = u.store {
            storePosition += 1
            if storePosition == current.loop.stores.count {
                store = nil
                storeOwnsRun = false
            }
        }

        // Pair cursor.
        if launching, let next = u.pending {
            pending = nil
            run = next
            handed = false
            columnsDone = 0
            pairNumber = 0; tile = 0; part = 0; pairStep = 0
            if next.loop.isResidualAdd {
                phase = .residual
            } else {
                phase = .firstLoads
                loadsNext = false
            }
        }
        if advance, let run = u.run {
            switch u.phase {
            case .residual:
                if u.part != 2 {
                    part = u.part + 1
                } else {
                    part = 0
                    tile = u.tile + 1
                    if tile == run.loop.tilesI * run.loop.tilesJ { phase = .finish }
                }
            case .firstLoads:
                if !u.loadWaiting {
                    pairNumber = 0; part = 0
                    phase = .pairs
                }
            case .pairs:
                if u.part == 0 {
                    part = 1
                } else {
                    part = 0
                    if u.loadWaiting { phase = .waiting } else { nextPair(after: u, run.loop) }
                }
            case .waiting:
                nextPair(after: u, run.loop)
            case .drain:
                if !(u.loadWaiting && !u.loadsNext) {
                    pairNumber = 0; part = 0
                    if u.lastPairStep { phase = .finish } else {
                        pairStep = u.pairStep + 1
                        phase = .pairs
                    }
                }
            case .idle, .finish:
                break
            }
        }
        if u.phase == .finish && (!u.runStoresC || u.run!.loop.isResidualAdd || u.handed) {
            phase = .idle
            slot = u.slot ^ 1
            storeOwnsRun = false
            waiting[u.slot] = u.run!.host
        }

        if let taken { pending = taken }
        if let completing { waiting[completing] = nil }
    }

    /// After a pair and its waiting load: the next pair, or the end of the block.
    private mutating func nextPair(after u: UnrollerTiming, _ loop: UnrolledLoop.Lists) {
        phase = .pairs
        pairNumber = u.pairNumber + 1
        let perColumn = loop.pairsPerColumn(step: u.pairStep)
        if pairNumber % perColumn == 0 {
            if u.lastPairStep && loop.storesC { columnsDone = u.columnsDone + 1 }
            if pairNumber == perColumn * loop.tilesJ { phase = .drain }
        }
    }
}
