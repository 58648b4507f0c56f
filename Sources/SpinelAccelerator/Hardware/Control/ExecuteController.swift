import SpinelHDL

/// Runs CONFIG_EX and PRELOAD+COMPUTE pairs in program order on the systolic array
/// (docs/ACCELERATOR.md, "PRELOAD and COMPUTE"; docs/MICROARCHITECTURE.md, "Execute pipeline").
///
/// Three stages overlap, so that in steady state one slot enters the array every cycle:
/// 1. *accept*: a pair takes one of `PipelineTiming.executeOperandSets` (4) operand sets (A, OS B, preload P, all
///    zero-padded DIM×DIM registers) and an entry of the in-order retire queue; CONFIG_EX only
///    takes a retire entry. Each set keeps the CONFIG_EX state of its pair.
/// 2. *read*: sets are read in order by two streams that run at once, one row request per
///    cycle each: A on the first scratchpad port; P (the PRELOAD's B or D) and then the
///    COMPUTE's second operand (WS: D into the bias buffer; OS: B) on the second scratchpad
///    port or the accumulator port. A set is read only when no older pair still to retire
///    writes a row it reads.
/// 3. *slots*: the array runs in *windows*. A window starts when the registers flip (or, for a
///    pair that keeps them, without a flip) and carries the compute slots of its pair X; the
///    DIM slots that load the next pair's P into the idle registers overlap them (the `d` path is
///    separate from the `a` path); in OS, the same DIM slots shift the previous pair's results
///    out. Result rows leave the array with a tag that says where they go.
/// A pair retires, in program order, once its last result row has been written.
public struct ExecuteController: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "ExecuteController_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<ExecuteCommand>
        /// The rows the offered command reads and writes (valid with `command`).
        @Input public var footprint: Footprint
        /// Scratchpad port 0 reads A; port 1 reads P, OS B and WS D.
        @Output("sp_read") public var scratchpadReads: [RowReadPort]
        @Output("acc_read") public var accumulatorRead: RowReadPort
        @Output("sp_write") public var scratchpadWrite: Decoupled<RowWrite>
        @Output("acc_write") public var accumulatorWrite: Decoupled<RowWrite>
        /// Pulses when the oldest command retires; the reservation station knows which one.
        @Output public var retire: Signal
        @Output public var busy: Signal
    }

    public var io: IO {
        let dim = parameters.dim
        let input = parameters.config.inputType.width, acc = parameters.config.accType.width
        return IO(command: Decoupled(ExecuteCommand()), footprint: Footprint(),
                  scratchpadReads: (0..<2).map { _ in .template(rows: parameters.spRows, lanes: dim, laneWidth: input) },
                  accumulatorRead: .template(rows: parameters.accRows, lanes: dim, laneWidth: acc),
                  scratchpadWrite: Decoupled(.template(rows: parameters.spRows, lanes: dim, laneWidth: input)),
                  accumulatorWrite: Decoupled(.template(rows: parameters.accRows, lanes: dim, laneWidth: acc)),
                  retire: Signal(.bool), busy: Signal(.bool))
    }

    /// The CONFIG_EX state a pair runs with (reset values from docs/ACCELERATOR.md).
    @Bundle
    struct ExecuteConfig: Aggregate {
        @Name("ws") var weightStationary: Signal
        var relu: Signal
        var shift: Signal
        @Name("transpose_a") var transposeA: Signal
        @Name("transpose_b") var transposeB: Signal
        @Name("a_stride") var aStride: Signal
        @Name("c_stride") var cStride: Signal

        init(shiftBits: Int) {
            self.init(weightStationary: Signal(.bool), relu: Signal(.bool), shift: Signal(.uint(shiftBits)), transposeA: Signal(.bool),
                      transposeB: Signal(.bool), aStride: Signal(.uint(16)), cStride: Signal(.uint(16)))
        }
    }

    /// Where a result row goes; it travels through the array with the slot.
    @Bundle
    struct ResultTag: Aggregate {
        var write: Signal
        /// The pair's last result row: its retire entry is done once the row has landed.
        var retire: Signal
        var entry: Signal
        var row: Signal
        @Name("to_acc") var toAccumulator: Signal
        var accumulate: Signal
        var mask: Signal
        var relu: Signal
        /// WS with D: add row `biasRow` of the bias buffer.
        @Name("add_bias") var addBias: Signal
        @Name("bias_row") var biasRow: Signal

        init(entryBits: Int, rowBits: Int, dim: Int, indexBits: Int) {
            self.init(write: Signal(.bool), retire: Signal(.bool), entry: Signal(.uint(entryBits)), row: Signal(.uint(rowBits)),
                      toAccumulator: Signal(.bool), accumulate: Signal(.bool), mask: Signal(.uint(dim)), relu: Signal(.bool),
                      addBias: Signal(.bool), biasRow: Signal(.uint(indexBits)))
        }
    }

    /// What an OS pair's drain needs once its operand set is gone.
    @Bundle
    struct DrainInfo: Aggregate {
        var row: Signal
        var rows: Signal
        var stride: Signal
        var mask: Signal
        @Name("to_acc") var toAccumulator: Signal
        var accumulate: Signal
        var relu: Signal
        var shift: Signal
        var entry: Signal

        init(dim: Int, shiftBits: Int, entryBits: Int) {
            self.init(row: Signal(.uint(LocalAddressLayout.rowIndexBits)), rows: Signal(.uint(16)), stride: Signal(.uint(16)), mask: Signal(.uint(dim)),
                      toAccumulator: Signal(.bool), accumulate: Signal(.bool), relu: Signal(.bool), shift: Signal(.uint(shiftBits)),
                      entry: Signal(.uint(entryBits)))
        }
    }

    /// Where an operand set is in its life: a pair is accepted into a free set, read from the
    /// memories, ready when its operands have landed, free again when executed.
    enum OperandSetState: Int, HardwareEnum { case free, accepted, reading, ready }

    /// An operand set's registers.
    struct OperandSet {
        /// An `OperandSetState`.
        var state: Signal
        var pair: ExecuteCommand
        var config: ExecuteConfig
        var entry: Signal
        /// The rows the pair reads: scratchpad (B, D), scratchpad (A), accumulator.
        var reads: [RowRange]
        var a: OperandBuffer.IO
        var b: OperandBuffer.IO
        var p: OperandBuffer.IO
    }

    /// A set's pair, decoded (on named wires where many places read it).
    struct PairView {
        var config: ExecuteConfig
        var pair: ExecuteCommand
        var entry: Signal
        var weightStationary: Signal { config.weightStationary }
        var accumulated: Signal { pair.command.command.funct === Signal(Funct.computeAccumulated) }
        var a: OperandFields { OperandFields(pair.command.command.rs1) }
        var c: OperandFields { OperandFields(pair.preloadRs2) }
        /// The PRELOAD's rs1: B' (WS) or D' (OS), shifted into the idle registers.
        var p: OperandFields { OperandFields(pair.preloadRs1) }
        /// The COMPUTE's rs2: D (WS, added to results) or B' (OS).
        var q: OperandFields { OperandFields(pair.command.command.rs2) }
        var hasC: Signal { !c.isGarbage }
    }

    /// The controller stage by stage (`ExecuteStages`), in the order the hardware is built (the
    /// emitted names depend on it): accept, read (two streams), the rows landing in the operand
    /// buffers, the array's slots and windows, the result path, and retirement.
    public func build(_ m: ModuleBuilder, _ io: IO) {
        let stages = ExecuteStages(m, io, parameters)
        let acceptsInto = stages.accept()
        let read = stages.read()
        stages.landRows(read, acceptsInto: acceptsInto)
        let window = stages.feedSlot()
        stages.advanceWindow(window)
        stages.results()
        stages.retire()
    }
}

/// The execute controller's hardware, built stage by stage by `ExecuteController.build`: its
/// shared state (the array, the CONFIG_EX registers, the operand sets, the retire queue and the
/// bias buffer) is made here, each stage's logic in a method of its own.
private struct ExecuteStages {
    typealias ExecuteConfig = ExecuteController.ExecuteConfig
    typealias ResultTag = ExecuteController.ResultTag
    typealias DrainInfo = ExecuteController.DrainInfo
    typealias OperandSet = ExecuteController.OperandSet
    typealias PairView = ExecuteController.PairView
    typealias IO = ExecuteController.IO

    /// A retire queue entry's registers.
    struct RetireEntry { var valid: Signal; var done: Signal; var usesBias: Signal; var writes: [RowRange] }

    let m: ModuleBuilder
    let io: IO
    let parameters: AcceleratorParameters
    let dim, inputBits, accBits, sets, entries, setBits, entryBits, indexBits, rowBits: Int
    let types: ArrayTypes
    let tagTemplate: ResultTag
    let array: MeshWithDelays.IO
    let counterType: HWType
    let zeroInput, zeroAcc: Signal
    /// CONFIG_EX state for pairs accepted from now on.
    let config: ExecuteConfig
    let operandSets: [OperandSet]
    let queue: [RetireEntry]
    let head, tail, queueFull: Signal
    /// Set by the slot engine and the result path; applied by `retire`.
    let markDone: [Signal]
    /// The bias (WS D) buffer belongs to one pair from its read until it retires.
    let biasBusy: Signal
    let bias: OperandBuffer.IO

    func count(_ value: Int) -> Signal { Signal.literal(value, counterType) }
    func setIndex(_ value: Int) -> Signal { Signal.literal(value, .uint(setBits)) }
    func nextSet(_ index: Signal) -> Signal { mux(index === setIndex(sets - 1), setIndex(0), index +% 1) }
    func skipped(_ operand: OperandFields) -> Signal { operand.isGarbage || operand.rows === 0 || operand.columns === 0 }
    func columnMask(_ operand: OperandFields) -> Signal { cat((0..<dim).reversed().map { Signal($0) < operand.columns }) }
    /// The pair of the set at `index`, on named wires.
    func view(_ index: Signal, _ name: String) -> PairView {
        let pair = m.wire("\(name)_pair", ExecuteCommand())
        m.connect(pair, from: ExecuteCommand().unpacked(from: select(operandSets.map(\.pair.packed), at: index)))
        let config = m.wire("\(name)_config", ExecuteConfig(shiftBits: types.shiftBits))
        m.connect(config, from: ExecuteConfig(shiftBits: types.shiftBits).unpacked(from: select(operandSets.map(\.config.packed), at: index)))
        let entry = m.wire("\(name)_entry", .uint(entryBits), default: select(operandSets.map(\.entry), at: index))
        return PairView(config: config, pair: pair, entry: entry)
    }

    init(_ m: ModuleBuilder, _ io: IO, _ parameters: AcceleratorParameters) {
        self.m = m
        self.io = io
        self.parameters = parameters
        let dim = parameters.dim
        let inputBits = parameters.config.inputType.width, accBits = parameters.config.accType.width
        let types = ArrayTypes(parameters)
        let sets = PipelineTiming.executeOperandSets, entries = PipelineTiming.executeRetireEntries
        let setBits = HWType.addressWidth(for: sets), entryBits = HWType.addressWidth(for: entries)
        let indexBits = HWType.addressWidth(for: dim)
        let rowBits = max(HWType.addressWidth(for: parameters.spRows), HWType.addressWidth(for: parameters.accRows))
        let tagTemplate = ResultTag(entryBits: entryBits, rowBits: rowBits, dim: dim, indexBits: indexBits)
        self.dim = dim; self.inputBits = inputBits; self.accBits = accBits; self.types = types
        self.sets = sets; self.entries = entries; self.setBits = setBits; self.entryBits = entryBits
        self.indexBits = indexBits; self.rowBits = rowBits; self.tagTemplate = tagTemplate
        let mesh = Mesh(parameters)
        array = m.instance("array", MeshWithDelays(mesh: mesh, tagBits: tagTemplate.packedWidth))
        counterType = HWType.uint(HWType.addressWidth(for: 2 * dim + 2))
        zeroInput = Signal.literal(0, .sint(inputBits)); zeroAcc = Signal.literal(0, .sint(accBits))

        config = ExecuteConfig(
            weightStationary: m.register("ws", .bool, reset: Signal(parameters.config.dataflow == .ws)),
            relu: m.register("relu", .bool, reset: false), shift: m.register("shift", .uint(types.shiftBits), reset: 0),
            transposeA: m.register("transpose_a", .bool, reset: false), transposeB: m.register("transpose_b", .bool, reset: false),
            aStride: m.register("a_stride", .uint(16), reset: 1), cStride: m.register("c_stride", .uint(16), reset: 1))

        // Operand sets and the retire queue.
        let inputBuffer = OperandBuffer(dim: dim, elementType: .sint(inputBits))
        let accumulatorBuffer = OperandBuffer(dim: dim, elementType: .sint(accBits))
        operandSets = (0..<sets).map { s in
            OperandSet(state: m.register("set_\(s)_state", ExecuteController.OperandSetState.self, reset: .free), pair: m.register("set_\(s)_pair", ExecuteCommand()),
                       config: m.register("set_\(s)_config", ExecuteConfig(shiftBits: types.shiftBits)),
                       entry: m.register("set_\(s)_entry", .uint(entryBits)), reads: [m.register("set_\(s)_sp_reads", RowRange()), m.register("set_\(s)_sp_a_reads", RowRange()),
                              m.register("set_\(s)_acc_reads", RowRange())],
                       a: m.instance("set_\(s)_a", inputBuffer), b: m.instance("set_\(s)_b", inputBuffer),
                       p: m.instance("set_\(s)_p", accumulatorBuffer))
        }
        let queue = (0..<entries).map { e in
            RetireEntry(valid: m.register("retire_\(e)_valid", .bool, reset: false), done: m.register("retire_\(e)_done", .bool),
                        usesBias: m.register("retire_\(e)_bias", .bool),
                        writes: [m.register("retire_\(e)_sp_write", RowRange()), m.register("retire_\(e)_acc_write", RowRange())])
        }
        self.queue = queue
        head = m.register("retire_head", .uint(entryBits), reset: 0)
        let tail = m.register("retire_tail", .uint(entryBits), reset: 0)
        self.tail = tail
        queueFull = select(queue.map(\.valid), at: tail)
        markDone = (0..<entries).map { m.wire("mark_done_\($0)", .bool, default: false) }

        biasBusy = m.register("bias_busy", .bool, reset: false)
        bias = m.instance("bias", accumulatorBuffer)
    }

    /// Accept: CONFIG_EX updates the state for later pairs; a pair takes the next free operand set
    /// (with that state); both take a retire queue entry. Returns, per set, whether a pair enters it.
    func accept() -> [Signal] {
        let acceptPointer = m.register("accept_pointer", .uint(setBits), reset: 0)
        let incoming = io.command.bits
        let isConfig = incoming.command.command.funct === Signal(Funct.config)
        let setFree = select(operandSets.map { $0.state === ExecuteController.OperandSetState.free }, at: acceptPointer)
        io.command.ready.set(!queueFull && (isConfig || setFree))
        let accepting = io.command.fire
        let incomingQ = OperandFields(incoming.command.command.rs2)
        m.when(accepting) {
            for (e, entry) in queue.enumerated() {
                m.when(tail === Signal(e)) {
                    entry.valid.set(true)
                    entry.done.set(isConfig)
                    entry.usesBias.set(!isConfig && config.weightStationary && !skipped(incomingQ))
                    m.connect(entry.writes[0], from: io.footprint.scratchpadWrite)
                    m.connect(entry.writes[1], from: io.footprint.accumulatorWrite)
                    m.when(isConfig) { entry.writes[0].valid.set(false); entry.writes[1].valid.set(false) }
                }
            }
            tail.set(tail +% 1)
            m.when(isConfig) {
                let rs1 = incoming.command.command.rs1, rs2 = incoming.command.command.rs2
                typealias EX = ConfigExecuteFields
                config.aStride.set(rs1.field(EX.aStride))
                config.cStride.set(rs2.field(EX.cStride))
                m.when(!rs1[EX.setOnlyStridesBit]) {
                    config.weightStationary.set(rs1[EX.weightStationaryBit])
                    config.relu.set(rs1.field(EX.activation) === Signal(Activation.relu.rawValue))
                    config.shift.set(rs2.bits(EX.shift.low + types.shiftBits - 1, EX.shift.low))
                    config.transposeA.set(rs1[EX.transposeABit])
                    config.transposeB.set(rs1[EX.transposeBBit])
                }
            }.otherwise {
                for (s, set) in operandSets.enumerated() {
                    m.when(acceptPointer === setIndex(s)) {
                        set.state.set(ExecuteController.OperandSetState.accepted)
                        m.connect(set.pair, from: incoming)
                        m.connect(set.config, from: config)
                        set.entry.set(tail)
                        m.connect(set.reads[0], from: io.footprint.scratchpadRead)
                        m.connect(set.reads[1], from: io.footprint.scratchpadReadA)
                        m.connect(set.reads[2], from: io.footprint.accumulatorRead)
                    }
                }
                acceptPointer.set(nextSet(acceptPointer))
            }
        }
        let acceptsInto = (0..<sets).map { m.wire("accept_into_\($0)", .bool, default: accepting && !isConfig && acceptPointer === setIndex($0)) }
        return acceptsInto
    }

    /// What the read stage tells the landing rows.
    struct ReadStreams {
        let readPointer: Signal
        let reading: PairView
        let rowA, firedA: Signal
        let aFields: OperandFields
        let rowQ, secondOnQ, firedSecond: Signal
        let second: OperandFields
        let clearsBias: Signal
    }

    /// Read: the set at `read_pointer` is read once no older pair writes its rows, by two streams
    /// at once — A on the first scratchpad port; P, then the COMPUTE's second operand, on the second
    /// scratchpad port or the accumulator port — and is ready the cycle after its last rows.
    func read() -> ReadStreams {
        let readPointer = m.register("read_pointer", .uint(setBits), reset: 0)
        let reading = view(readPointer, "reading")
        let readingState = select(operandSets.map(\.state), at: readPointer)
        let readingReads = [m.wire("reading_sp_reads", RowRange()), m.wire("reading_sp_a_reads", RowRange()), m.wire("reading_acc_reads", RowRange())]
        for k in 0..<3 { m.connect(readingReads[k], from: RowRange().unpacked(from: select(operandSets.map(\.reads[k].packed), at: readPointer))) }
        // Read after write inside the controller: an older pair that has not retired writes a row this set reads.
        let age = { (e: Signal) -> Signal in e -% head }
        var hazard: Signal = false
        for (e, entry) in queue.enumerated() {
            let older = age(Signal.literal(e, .uint(entryBits))) < age(reading.entry)
            hazard = hazard || (entry.valid && older
                                && (entry.writes[0].overlaps(readingReads[0]) || entry.writes[0].overlaps(readingReads[1])
                                   || entry.writes[1].overlaps(readingReads[2])))
        }
        let usesBias = reading.weightStationary && !skipped(reading.q)
        let mayStart = readingState === ExecuteController.OperandSetState.accepted && !hazard && !(usesBias && biasBusy)
        let readActive = m.wire("read_active", .bool, default: readingState === ExecuteController.OperandSetState.reading || mayStart)
        let clearsBias = m.wire("clears_bias", .bool, default: readingState === ExecuteController.OperandSetState.accepted && mayStart && usesBias)
        m.when(readingState === ExecuteController.OperandSetState.accepted && mayStart) {
            for (s, set) in operandSets.enumerated() { m.when(readPointer === setIndex(s)) { set.state.set(ExecuteController.OperandSetState.reading) } }
        }
        m.when(clearsBias) { biasBusy.set(true) }

        // Stream 1: A, by rows with CONFIG_EX's stride.
        let rowA = m.register("read_a_row", .uint(16), reset: 0)
        let doneA = m.register("read_a_done", .bool, reset: false)
        let aFields = reading.a
        let skipA = skipped(aFields)
        let wantA = readActive && !doneA && !skipA
        io.scratchpadReads[0].request.valid.set(wantA)
        io.scratchpadReads[0].request.bits.set((aFields.row +% (rowA * reading.config.aStride).truncated(to: LocalAddressLayout.rowIndexBits))
            .truncated(to: HWType.addressWidth(for: parameters.spRows)))
        let firedA = wantA && io.scratchpadReads[0].request.ready
        let doneAAfter = doneA || skipA || (firedA && rowA +& 1 >= aFields.rows)

        // Stream 2: P, then the COMPUTE's second operand.
        let onQ = m.register("read_q_phase", .bool, reset: false)
        let rowQ = m.register("read_q_row", .uint(16), reset: 0)
        let doneQ = m.register("read_q_done", .bool, reset: false)
        let skipP = skipped(reading.p), skipQ = skipped(reading.q)
        let secondOnQ = onQ || skipP
        let second = OperandFields(m.wire("read_second", .uint(64), default: mux(secondOnQ, reading.q.word, reading.p.word)))
        let skipSecond = mux(secondOnQ, skipQ, Signal(false))
        let wantSecond = readActive && !doneQ && !skipSecond
        let secondAddress = second.row +% rowQ.extended(to: LocalAddressLayout.rowIndexBits)
        io.scratchpadReads[1].request.valid.set(wantSecond && !second.isAccumulator)
        io.scratchpadReads[1].request.bits.set(secondAddress.truncated(to: HWType.addressWidth(for: parameters.spRows)))
        io.accumulatorRead.request.valid.set(wantSecond && second.isAccumulator)
        io.accumulatorRead.request.bits.set(secondAddress.truncated(to: HWType.addressWidth(for: parameters.accRows)))
        let firedSecond = wantSecond && mux(second.isAccumulator, io.accumulatorRead.request.ready, io.scratchpadReads[1].request.ready)
        let secondDone = skipSecond || (firedSecond && rowQ +& 1 >= second.rows)
        let doneQAfter = doneQ || mux(secondOnQ, secondDone, secondDone && skipQ)
        m.when(firedSecond) { rowQ.set(rowQ +% 1) }
        m.when(readActive && !doneQ && !secondOnQ && secondDone) {
            onQ.set(true)
            rowQ.set(0)
        }
        m.when(firedA) { rowA.set(rowA +% 1) }
        m.when(readActive && doneAAfter) { doneA.set(true) }
        m.when(readActive && doneQAfter) { doneQ.set(true) }
        let readFinished = readActive && doneAAfter && doneQAfter
        m.when(readFinished) {
            rowA.set(0)
            rowQ.set(0)
            onQ.set(false)
            doneA.set(false)
            doneQ.set(false)
            readPointer.set(nextSet(readPointer))
        }
        // The last rows land one cycle after their requests: the set is ready the cycle after.
        let landed = m.delay(readFinished, name: "read_landed", reset: false)
        let landedSet = m.delay(readPointer, name: "read_landed_set")
        m.when(landed) {
            for (s, set) in operandSets.enumerated() { m.when(landedSet === setIndex(s)) { set.state.set(ExecuteController.OperandSetState.ready) } }
        }
        return ReadStreams(readPointer: readPointer, reading: reading, rowA: rowA, firedA: firedA, aFields: aFields, rowQ: rowQ,
                           secondOnQ: secondOnQ, firedSecond: firedSecond, second: second, clearsBias: clearsBias)
    }

    /// The rows arriving from the memories land, a cycle after their requests, in the buffers of the
    /// set being read (A; P or OS B) or in the bias buffer.
    func landRows(_ read: ReadStreams, acceptsInto: [Signal]) {
        let (readPointer, reading, rowA, aFields, firedA) = (read.readPointer, read.reading, read.rowA, read.aFields, read.firedA)
        let (rowQ, secondOnQ, firedSecond, second, clearsBias) = (read.rowQ, read.secondOnQ, read.firedSecond, read.second, read.clearsBias)
        // Arriving rows: which set and buffer, which row, how many columns, transposed or not.
        // Stream 1: A is kept as A' (WS) or A'ᵀ (OS) by rows. Stream 2 targets: 0 P, 1 OS B, 2 bias.
        let arrivingA = m.delay(firedA, name: "arriving_a", reset: false)
        let arrivingASet = m.delay(readPointer, name: "arriving_a_set")
        let arrivingARow = m.delay(rowA.truncated(to: indexBits), name: "arriving_a_row")
        let arrivingAColumns = m.delay(aFields.columns, name: "arriving_a_columns")
        let arrivingATransposed = m.delay(mux(reading.weightStationary, reading.config.transposeA, !reading.config.transposeA),
                                          name: "arriving_a_transposed")
        let arrivingSecond = m.delay(firedSecond, name: "arriving_second", reset: false)
        let arrivingSecondSet = m.delay(readPointer, name: "arriving_second_set")
        let arrivingSecondRow = m.delay(rowQ.truncated(to: indexBits), name: "arriving_second_row")
        let arrivingSecondColumns = m.delay(second.columns, name: "arriving_second_columns")
        let secondTarget = mux(!secondOnQ, Signal.literal(0, .uint(2)), mux(reading.weightStationary, Signal.literal(2, .uint(2)), Signal.literal(1, .uint(2))))
        let arrivingSecondTarget = m.delay(secondTarget, name: "arriving_second_target")
        // B' (P in WS, the second operand in OS) may be transposed; D never is.
        let secondTransposed = reading.config.transposeB && (secondOnQ ^ reading.weightStationary)
        let arrivingSecondTransposed = m.delay(secondTransposed, name: "arriving_second_transposed")
        let arrivingFromAccumulator = m.delay(second.isAccumulator, name: "arriving_from_acc")

        let laneA = (0..<dim).map { io.scratchpadReads[0].response.bits.bits(($0 + 1) * inputBits - 1, $0 * inputBits).asSInt }
        let laneSecond = (0..<dim).map { io.scratchpadReads[1].response.bits.bits(($0 + 1) * inputBits - 1, $0 * inputBits).asSInt }
        let laneAcc = (0..<dim).map { io.accumulatorRead.response.bits.bits(($0 + 1) * accBits - 1, $0 * accBits).asSInt }
        let secondWide = (0..<dim).map { c in
            m.wire("arriving_wide_\(c)", .sint(accBits), default: mux(arrivingFromAccumulator, laneAcc[c], laneSecond[c].extended(to: accBits)))
        }
        // A row lands in a buffer of the set being read (OperandBuffer: lanes below the operand's
        // columns, straight or transposed). An accepted pair's operands start from zero (what its
        // rows do not fill stays zero). No row lands in a set being accepted (it is free) nor in
        // the bias buffer while it is cleared (its previous pair has retired).
        func land(_ buffer: OperandBuffer.IO, clear: Signal, write: Signal, transposed: Signal, row: Signal, columns: Signal, lanes: [Signal]) {
            buffer.clear.set(clear)
            buffer.write.set(write)
            buffer.transposed.set(transposed)
            buffer.row.set(row)
            buffer.columns.set(columns)
            for (port, lane) in zip(buffer.lanes, lanes) { port.set(lane) }
        }
        for (s, set) in operandSets.enumerated() {
            let aLands = m.wire("a_lands_\(s)", .bool, default: arrivingA && arrivingASet === setIndex(s))
            let secondLands = m.wire("second_lands_\(s)", .bool, default: arrivingSecond && arrivingSecondSet === setIndex(s))
            land(set.a, clear: acceptsInto[s], write: aLands, transposed: arrivingATransposed, row: arrivingARow,
                 columns: arrivingAColumns, lanes: laneA)
            land(set.b, clear: acceptsInto[s], write: secondLands && arrivingSecondTarget === 1, transposed: arrivingSecondTransposed,
                 row: arrivingSecondRow, columns: arrivingSecondColumns, lanes: laneSecond)
            land(set.p, clear: acceptsInto[s], write: secondLands && arrivingSecondTarget === 0, transposed: arrivingSecondTransposed,
                 row: arrivingSecondRow, columns: arrivingSecondColumns, lanes: secondWide)
        }
        let biasLands = m.wire("bias_lands", .bool, default: arrivingSecond && arrivingSecondTarget === 2)
        land(bias, clear: clearsBias, write: biasLands, transposed: false, row: arrivingSecondRow, columns: arrivingSecondColumns,
             lanes: secondWide)
    }

    /// The window's registers and this slot's decisions, for `advanceWindow`.
    struct Window {
        let propagate, xValid, xSet, xMarked, slot, executePointer, drainPending, loadActive, loadDone, loadCount: Signal
        let drain: DrainInfo
        let x: PairView
        let yReady, xComputeSlots, xDrains, yFlips, zNeeded, loadNow, feed: Signal
    }

    /// Slots: this cycle's slot into the array — a compute row of X (the window's pair), a drain
    /// row of the previous OS pair, and a row of Y's P loading into the idle registers — with the tag
    /// that says where its result row goes.
    func feedSlot() -> Window {
        let propagate = m.register("propagate", .bool, reset: false)
        let xValid = m.register("x_valid", .bool, reset: false)
        let xSet = m.register("x_set", .uint(setBits), reset: 0)
        let xMarked = m.register("x_marked", .bool, reset: false)
        let slot = m.register("slot", counterType, reset: 0)
        let executePointer = m.register("execute_pointer", .uint(setBits), reset: 0)
        let drainPending = m.register("drain_pending", .bool, reset: false)
        let drain = m.register("drain", DrainInfo(dim: dim, shiftBits: types.shiftBits, entryBits: entryBits))
        let loadActive = m.register("load_active", .bool, reset: false)
        let loadDone = m.register("load_done", .bool, reset: false)
        let loadCount = m.register("load_count", counterType, reset: 0)

        let x = view(xSet, "x"), y = view(executePointer, "y")
        let yReady = select(operandSets.map { $0.state === ExecuteController.OperandSetState.ready }, at: executePointer)

        // X: the window's pair. WS computes max(rows(A), rows(C)) rows (none without C); OS DIM columns of A'.
        let xComputeSlots = m.wire("x_compute_slots", counterType, default: mux(!xValid, count(0), mux(
            x.weightStationary,
            mux(x.hasC, mux(x.a.rows > x.c.rows, x.a.rows, x.c.rows).resized(to: counterType.width), count(0)),
            count(dim))))
        let xDrains = m.wire("x_drains", .bool, default: xValid && !x.weightStationary && x.hasC)
        // Y: the next pair. It flips the registers unless it keeps them; an OS pair whose
        // predecessor wrote C restarts from zero (it loads its zero P). A WS pair after an OS
        // pair with C needs an OS window first that drains the results (Z: no pair of its own).
        let yFlips = m.wire("y_flips", .bool, default: !y.accumulated || (!y.weightStationary && xDrains))
        let zNeeded = xDrains && y.weightStationary
        let startLoad = !loadActive && !loadDone && yReady && yFlips && !zNeeded
        let loadNow = m.wire("load_now", .bool, default: loadActive || startLoad)

        let wantCompute = m.wire("want_compute", .bool, default: slot < xComputeSlots)
        let wantDrain = m.wire("want_drain", .bool, default: drainPending && slot < count(dim))
        let slotIndex = slot.truncated(to: indexBits)
        let reversed = Signal.literal(dim - 1, .uint(indexBits)) -% slotIndex
        let windowWS = mux(xValid, x.weightStationary, !drainPending && y.weightStationary)

        // This slot's result row: a WS compute row of X, or an OS drain row of the previous pair.
        let wsOutput = wantCompute && x.weightStationary
        let tag = m.wire("slot_tag", tagTemplate)
        let xRow = (x.c.row +% (slot.extended(to: LocalAddressLayout.rowIndexBits) * x.config.cStride).truncated(to: LocalAddressLayout.rowIndexBits))
        let drainRow = (drain.row +% (reversed.extended(to: LocalAddressLayout.rowIndexBits) * drain.stride).truncated(to: LocalAddressLayout.rowIndexBits))
        tag.write.set(mux(wsOutput, x.hasC && slot.extended(to: 16) < x.c.rows, wantDrain && reversed.extended(to: 16) < drain.rows))
        tag.retire.set(mux(wsOutput, slot +& 1 === xComputeSlots.extended(to: counterType.width + 1), wantDrain && slot === count(dim - 1)))
        tag.entry.set(mux(wsOutput, x.entry, drain.entry))
        tag.row.set(mux(wsOutput, xRow, drainRow).truncated(to: rowBits))
        tag.toAccumulator.set(mux(wsOutput, x.c.isAccumulator, drain.toAccumulator))
        tag.accumulate.set(mux(wsOutput, x.c.accumulates, drain.accumulate))
        tag.mask.set(mux(wsOutput, columnMask(x.c), drain.mask))
        tag.relu.set(mux(wsOutput, x.config.relu, drain.relu))
        tag.addBias.set(wsOutput && x.weightStationary && !skipped(x.q))
        tag.biasRow.set(slotIndex)

        // Accumulating onto the row the previous slot wrote: wait a cycle, so the first write has
        // landed before the second reads the row.
        let lastAccumulatorRow = m.register("last_acc_row", .uint(rowBits), reset: 0)
        let lastAccumulatorWrite = m.register("last_acc_write", .bool, reset: false)
        let collides = tag.write && tag.toAccumulator && tag.accumulate && lastAccumulatorWrite && lastAccumulatorRow === tag.row
        let feedWanted = wantCompute || wantDrain || loadNow
        let feed = m.wire("feed", .bool, default: feedWanted && !collides)
        lastAccumulatorWrite.set(feed && tag.write && tag.toAccumulator)
        lastAccumulatorRow.set(tag.row)

        array.slot.valid.set(feed)
        let slotBits = array.slot.bits
        let loadIndex = Signal.literal(dim - 1, .uint(indexBits)) -% loadCount.truncated(to: indexBits)
        // X's A and B rows at this slot, Y's P row being loaded.
        for set in operandSets {
            set.a.readRow.set(slotIndex)
            set.b.readRow.set(slotIndex)
            set.p.readRow.set(loadIndex)
        }
        for lane in 0..<dim {
            let aRow = select(operandSets.map { $0.a.out[lane] }, at: xSet)
            let bRow = select(operandSets.map { $0.b.out[lane] }, at: xSet)
            let pRow = select(operandSets.map { $0.p.out[lane] }, at: executePointer)
            slotBits.a[lane].set(m.wire("slot_a_\(lane)", .sint(inputBits), default: mux(wantCompute, aRow, zeroInput)))
            slotBits.b[lane].set(m.wire("slot_b_\(lane)", .sint(inputBits), default: mux(wantCompute && !x.weightStationary, bRow, zeroInput)))
            slotBits.d[lane].set(m.wire("slot_d_\(lane)", .sint(accBits), default: mux(loadNow, pRow, zeroAcc)))
        }
        slotBits.propagate.set(propagate)
        slotBits.weightStationary.set(windowWS)
        // The shift applies where a PE's own OS result leaves it: at the flip that drains it.
        slotBits.shift.set(drain.shift)
        slotBits.output.set(tag.write || tag.retire)
        slotBits.tag.set(tag.packed)
        return Window(propagate: propagate, xValid: xValid, xSet: xSet, xMarked: xMarked, slot: slot, executePointer: executePointer,
                      drainPending: drainPending, loadActive: loadActive, loadDone: loadDone, loadCount: loadCount, drain: drain, x: x,
                      yReady: yReady, xComputeSlots: xComputeSlots, xDrains: xDrains, yFlips: yFlips, zNeeded: zNeeded, loadNow: loadNow,
                      feed: feed)
    }

    /// Window progress and the transition to the next window: Z (a drain of its own) or Y, flipping
    /// the registers unless Y keeps them; X's set is freed.
    func advanceWindow(_ w: Window) {
        let (propagate, xValid, xSet, xMarked, slot, executePointer) = (w.propagate, w.xValid, w.xSet, w.xMarked, w.slot, w.executePointer)
        let (drainPending, loadActive, loadDone, loadCount, drain, x) = (w.drainPending, w.loadActive, w.loadDone, w.loadCount, w.drain, w.x)
        let (yReady, xComputeSlots, xDrains, yFlips, zNeeded, loadNow, feed) = (w.yReady, w.xComputeSlots, w.xDrains, w.yFlips, w.zNeeded, w.loadNow, w.feed)
        // Window progress and the transition to the next window.
        let slotAfter = slot +% mux(feed, count(1), count(0))
        m.when(feed) { slot.set(slotAfter) }
        m.when(feed && loadNow) {
            loadActive.set(true)
            loadCount.set(loadCount +% 1)
            m.when(loadCount === count(dim - 1)) {
                loadActive.set(false)
                loadDone.set(true)
            }
        }
        let loadDoneAfter = loadDone || (feed && loadNow && loadCount === count(dim - 1))
        let partsDone = m.wire("parts_done", .bool, default: slotAfter >= xComputeSlots
                               && (!drainPending || slotAfter >= count(dim)))
        // A pair without C is done when its compute slots are fed.
        m.when(xValid && !x.hasC && !xMarked && slotAfter >= xComputeSlots) {
            xMarked.set(true)
            for e in 0..<entries { m.when(x.entry === Signal(e)) { markDone[e].set(true) } }
        }
        let goZ = partsDone && xDrains && (!yReady || zNeeded)
        let goY = partsDone && yReady && !zNeeded && (!yFlips || loadDoneAfter)
        let flips = goZ || (goY && yFlips)
        func freeX() {
            m.when(xValid) {
                for (s, set) in operandSets.enumerated() { m.when(xSet === setIndex(s)) { set.state.set(ExecuteController.OperandSetState.free) } }
            }
        }
        m.when(goZ || goY) {
            freeX()
            slot.set(count(0))
            xMarked.set(false)
            loadActive.set(false)
            loadDone.set(false)
            loadCount.set(count(0))
            m.when(flips) { propagate.set(!propagate) }
            drainPending.set(flips && xDrains)
            m.when(xDrains) {
                drain.row.set(x.c.row)
                drain.rows.set(x.c.rows)
                drain.stride.set(x.config.cStride)
                drain.mask.set(columnMask(x.c))
                drain.toAccumulator.set(x.c.isAccumulator)
                drain.accumulate.set(x.c.accumulates)
                drain.relu.set(x.config.relu)
                drain.shift.set(x.config.shift)
                drain.entry.set(x.entry)
            }
            xValid.set(goY)
            m.when(goY) {
                xSet.set(executePointer)
                executePointer.set(nextSet(executePointer))
            }
        }
    }

    /// Results: rows leaving the array get their bias, are saturated (and ReLU'd) for the scratchpad
    /// or kept wide for the accumulator, and are written; a pair's last row marks its entry done once
    /// it has landed.
    func results() {
        let result = array.result
        let resultTag = m.wire("result_tag", tagTemplate)
        m.connect(resultTag, from: tagTemplate.unpacked(from: result.bits.tag))
        bias.readRow.set(resultTag.biasRow)
        let biasRow = bias.out
        let values = (0..<dim).map { c in
            m.wire("result_\(c)", .sint(accBits), default: result.bits.row[c] +% mux(resultTag.addBias, biasRow[c], zeroAcc))
        }
        let low = Signal.literal(HWType.sint(inputBits).range.lowerBound, .sint(accBits))
        let high = Signal.literal(HWType.sint(inputBits).range.upperBound, .sint(accBits))
        let saturated = values.map { value -> Signal in
            let clamped = mux(value < low, low, mux(value > high, high, value)).truncated(to: inputBits)
            return mux(resultTag.relu && clamped < zeroInput, zeroInput, clamped).asUInt
        }
        let writing = result.valid && resultTag.write
        io.scratchpadWrite.valid.set(writing && !resultTag.toAccumulator)
        io.scratchpadWrite.bits.row.set(resultTag.row.truncated(to: HWType.addressWidth(for: parameters.spRows)))
        io.scratchpadWrite.bits.data.set(cat(saturated.reversed()))
        io.scratchpadWrite.bits.mask.set(resultTag.mask)
        io.scratchpadWrite.bits.accumulate.set(false)
        io.accumulatorWrite.valid.set(writing && resultTag.toAccumulator)
        io.accumulatorWrite.bits.row.set(resultTag.row.truncated(to: HWType.addressWidth(for: parameters.accRows)))
        io.accumulatorWrite.bits.data.set(cat(values.map(\.asUInt).reversed()))
        io.accumulatorWrite.bits.mask.set(resultTag.mask)
        io.accumulatorWrite.bits.accumulate.set(resultTag.accumulate)
        // The last row is done once it has landed (the accumulator's write takes a cycle more).
        let lastLanded = m.delay(result.valid && resultTag.retire, name: "last_landed", reset: false)
        let lastLandedEntry = m.delay(resultTag.entry, name: "last_landed_entry")
        m.when(lastLanded) {
            for e in 0..<entries { m.when(lastLandedEntry === Signal(e)) { markDone[e].set(true) } }
        }
    }

    /// Retire, in program order: the head entry leaves once done (freeing the bias buffer if it held it).
    func retire() {
        for (e, entry) in queue.enumerated() { m.when(markDone[e]) { entry.done.set(true) } }
        let headValid = select(queue.map(\.valid), at: head)
        let headDone = select(queue.map(\.done), at: head)
        let retiring = headValid && headDone
        io.retire.set(retiring)
        m.when(retiring) {
            for (e, entry) in queue.enumerated() { m.when(head === Signal(e)) { entry.valid.set(false) } }
            m.when(select(queue.map(\.usesBias), at: head)) { biasBusy.set(false) }
            head.set(head +% 1)
        }
        io.busy.set(queue.map(\.valid).reduce(Signal(false)) { $0 || $1 } || io.command.valid)
    }
}
