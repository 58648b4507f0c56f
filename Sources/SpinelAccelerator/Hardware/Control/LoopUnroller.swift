import SpinelHDL

/// Numbers host commands and unrolls LOOP_WS into the plain commands it stands for
/// (docs/ACCELERATOR.md, "LOOP_WS"; the golden model's `LoopWSUnrolling` gives the commands and
/// each controller's order of them).
///
/// Plain commands pass through with their host index. LOOP_WS_CONFIG_* set this unit's staging
/// registers and retire at once. A LOOP_WS is checked when taken and waits as the *pending*
/// loop; it launches (its registers copied for the cursors) once the previous loop has been
/// emitted and its loop slot is free. One command leaves per cycle, from three cursors:
/// - the **load cursor**: the bias, then the operands of K block 0, then of each next block
///   while the pairs of the block before run. During the running loop's last block it already
///   loads the pending loop's bias and first block (*prefetch*), so a loop's first loads overlap
///   the previous loop's last pairs;
/// - the **pair cursor**: the PRELOAD/COMPUTE pairs of each block, each followed by one load
///   when the load cursor has one;
/// - the **store cursor**: the mvouts of each column of C once its last pairs are out (with
///   LayerNorm or Softmax, once all are: then per row of tiles its two statistics passes and
///   its output). It takes a loop over from the pair cursor and keeps it after the pair cursor
///   moves on, so a loop's mvouts overlap the next loop. It emits only when the store queue has room (`storeRoom`),
///   and then before anything else: an mvout never blocks the in-order dispatcher.
///
/// Each controller receives the loop's commands in `LoopWSUnrolling`'s order; only the
/// interleaving across controllers differs, which the reservation station's hazard checks make
/// invisible. Host commands other than LOOP_WS_CONFIG_* and LOOP_WS wait until every unrolled
/// command has been emitted, so they keep their place in program order.
///
/// Two loops can be in flight (a slot each): each slot counts its commands out and reports its
/// LOOP_WS on `retire` when the last one retires.
public struct LoopUnroller: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "LoopUnroller_\(parameters.name)" }

    /// Retirement reports per cycle: the dispatcher's and the three controllers'.
    public static let retirementPorts = 4

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<RoCCCommand>
        @Output public var issued: Decoupled<IssuedCommand>
        /// The dispatcher would take an mvout into the store queue this cycle.
        @Input("store_room") public var storeRoom: Signal
        /// Commands that retired this cycle (only those with `loop.internal` count here).
        @Input public var retirements: [Valid<Retirement>]
        /// LOOP_WS and LOOP_WS_CONFIG_* retiring.
        @Output public var retire: Valid<Signal>
        @Output public var fault: Valid<CommandFault>
        @Output public var busy: Signal
    }

    public var io: IO {
        IO(command: Decoupled(RoCCCommand()), issued: Decoupled(IssuedCommand()), storeRoom: Signal(.bool),
           retirements: (0..<Self.retirementPorts).map { _ in Valid(Retirement()) },
           retire: Valid(Signal(.uint(32))), fault: Valid(CommandFault()), busy: Signal(.bool))
    }

    enum Phase: Int, HardwareEnum { case idle, residual, firstLoads, pairs, waiting, drain, finish }

    /// One loop's registers as the cursors read them.
    struct Fields {
        var tilesI, tilesJ, tilesK, padI, padJ, padK: Signal
        var addressA, addressB, addressD, addressC: Signal
        var strideA, strideB, strideD, strideC: Signal
        var exAccumulate, fullC, lowD, transposeA, transposeB, aHigh, bHigh, residual: Signal
        /// act 2 or 4: C's rows get their statistics passes before the output (`softmax`: act 4).
        var normalize, softmax: Signal
        /// The accumulator half C lives in.
        var half: Signal

        var all: [Signal] {
            [tilesI, tilesJ, tilesK, padI, padJ, padK, addressA, addressB, addressD, addressC, strideA, strideB, strideD, strideC,
             exAccumulate, fullC, lowD, transposeA, transposeB, aHigh, bHigh, residual, normalize, softmax, half]
        }

        init(_ all: [Signal]) {
            (tilesI, tilesJ, tilesK, padI, padJ, padK) = (all[0], all[1], all[2], all[3], all[4], all[5])
            (addressA, addressB, addressD, addressC) = (all[6], all[7], all[8], all[9])
            (strideA, strideB, strideD, strideC) = (all[10], all[11], all[12], all[13])
            (exAccumulate, fullC, lowD, transposeA, transposeB, aHigh, bHigh, residual) = (all[14], all[15], all[16], all[17], all[18], all[19], all[20], all[21])
            (normalize, softmax, half) = (all[22], all[23], all[24])
        }

        static let names = ["tiles_i", "tiles_j", "tiles_k", "pad_i", "pad_j", "pad_k", "address_a", "address_b", "address_d", "address_c",
                            "stride_a", "stride_b", "stride_d", "stride_c", "ex_accumulate", "full_c", "low_d", "transpose_a",
                            "transpose_b", "a_high", "b_high", "residual", "normalize", "softmax", "acc_half"]
        /// The fields the host sets (all but the half, which the unroller keeps).
        static let staged = names.count - 1

        /// `condition ? whenTrue : whenFalse`, field by field.
        static func select(_ condition: Signal, _ whenTrue: Fields, _ whenFalse: Fields) -> Fields {
            Fields(zip(whenTrue.all, whenFalse.all).map { mux(condition, $0, $1) })
        }
    }

    /// The sub-units in the order the hardware is built (the emitted names depend on it): the
    /// registers, what each cursor has to emit, the command of the cycle (store cursor, residual
    /// add, D, A and B loaders, executer pairs), the host commands, then how each cursor moves on
    /// and the loops' completion.
    public func build(_ m: ModuleBuilder, _ io: IO) {
        let r = Registers(m, parameters)
        let work = Schedule(m, io, r, self)
        let command = emitCommand(m, r, work)
        let host = hostCommands(m, io, r, work, command)
        let load = loadCursor(m, io, r, work, command)
        storeCursor(m, io, r, work)
        let finishing = pairCursor(m, r, work, load)
        completion(m, io, r, host, finishing: finishing)
    }
}

// MARK: - Registers

private extension LoopUnroller {
    /// Every register of the unroller, cursor by cursor (and the pending loop's accumulator half,
    /// a wire over them).
    struct Registers {
        /// The type of each field of `Fields`.
        static let types: [HWType] = Array(repeating: .uint(16), count: 6) + Array(repeating: .uint(64), count: 8)
            + Array(repeating: .bool, count: 11)
        /// The fields the store cursor keeps of the loop it took over: tiles I, J, pads I, J,
        /// address and stride of C, full C, normalize, softmax, half.
        static let storeKept = [0, 1, 3, 4, 9, 13, 15, 22, 23, 24]

        let hostCount: Signal
        /// Staging: what LOOP_WS_CONFIG_* wrote and the pending LOOP_WS's own fields.
        let staged: Fields
        let pending, pendingIndex: Signal
        /// The running loop's (the pair cursor's) copy; `acc_half` is its accumulator half.
        let accumulatorHalf: Signal
        let run: Fields
        let loopIndex, slot, phase: Signal
        /// Pair cursor: pair (i, j, k) of K block `pairStep` (also the residual add's tile).
        let i, j, k, part, pairStep, columnsDone: Signal
        /// Load cursor: the bias row (li, lj) or the operand tiles (li, lj, lk) of block `loadStep`,
        /// of the pending loop when `loadsNext`.
        let li, lj, lk, biasing, loadingB, loadsLeft, loadStep, loadsNext: Signal
        /// Store cursor: C tile (si, sj) of the loop it took over (`handed` in the pair cursor's loop);
        /// with LayerNorm or Softmax, `store_pass` 0 and 1 are the statistics passes, 2 the output.
        let storeActive, storeOwnsRun, handed, si, sj, storePass, storeSlot, storeIndex: Signal
        let store: Fields
        /// Loops in flight: per slot, whether it waits for its commands to retire, and how many are out.
        let waiting, outstanding, waitingIndex: [Signal]

        var idle: Signal { inPhase(.idle) }
        var runCHere: Signal { run.addressC =/= 0 }
        func inPhase(_ p: Phase) -> Signal { phase === p }
        func go(_ p: Phase) { phase.set(p) }

        init(_ m: ModuleBuilder, _ parameters: AcceleratorParameters) {
            let u16 = HWType.uint(16), u32 = HWType.uint(32)
            let types = Self.types
            hostCount = m.register("host_count", .uint(32), reset: 0)
            let stagingNames = Fields.names.map { "next_\($0)" }
            var stagingSignals = (0..<Fields.staged).map { m.register(stagingNames[$0], types[$0], reset: Signal.literal(0, types[$0])) }
            pending = m.register("pending", .bool, reset: false)
            pendingIndex = m.register("pending_index", u32, reset: 0)
            accumulatorHalf = m.register("acc_half", .bool, reset: false)
            run = Fields((0..<Fields.staged).map { m.register("run_\(Fields.names[$0])", types[$0]) } + [accumulatorHalf])
            loopIndex = m.register("loop_index", u32, reset: 0)
            slot = m.register("slot", .bool, reset: false)

            phase = m.register("phase", Phase.self, reset: .idle)
            let idle = phase === Phase.idle
            let runCHere = run.addressC =/= 0
            // The pending loop's half: the running loop flips it if it stores C.
            stagingSignals.append(m.wire("next_acc_half", .bool, default: accumulatorHalf ^ (!idle && runCHere)))
            staged = Fields(stagingSignals)

            i = m.register("i", u16, reset: 0); j = m.register("j", u16, reset: 0); k = m.register("k", u16, reset: 0)
            part = m.register("part", .uint(2), reset: 0)
            pairStep = m.register("pair_step", u16, reset: 0)
            columnsDone = m.register("columns_done", u16, reset: 0)
            li = m.register("load_i", u16, reset: 0); lj = m.register("load_j", u16, reset: 0); lk = m.register("load_k", u16, reset: 0)
            biasing = m.register("biasing", .bool, reset: false)
            loadingB = m.register("loading_b", .bool, reset: false); loadsLeft = m.register("loads_left", .bool, reset: false)
            loadStep = m.register("load_step", u16, reset: 0)
            loadsNext = m.register("loads_next", .bool, reset: false)
            storeActive = m.register("store_active", .bool, reset: false)
            storeOwnsRun = m.register("store_owns_run", .bool, reset: false)
            handed = m.register("handed", .bool, reset: false)
            si = m.register("store_i", u16, reset: 0); sj = m.register("store_j", u16, reset: 0)
            storePass = m.register("store_pass", .uint(2), reset: 0)
            storeSlot = m.register("store_slot", .bool, reset: false); storeIndex = m.register("store_index", u32, reset: 0)
            var storeSignals = run.all
            for field in Self.storeKept { storeSignals[field] = m.register("store_\(Fields.names[field])", types[field]) }
            store = Fields(storeSignals)

            waiting = (0..<2).map { m.register("slot_\($0)_waiting", .bool, reset: false) }
            outstanding = (0..<2).map { m.register("slot_\($0)_outstanding", u16, reset: 0) }
            waitingIndex = (0..<2).map { m.register("slot_\($0)_index", .uint(32), reset: 0) }
        }
    }
}

// MARK: - Shapes

private extension LoopUnroller {
    var dim: Int { parameters.dim }
    var blockLength: Int { parameters.loopBlockTiles }
    /// Rows of each scratchpad half (A's and B's).
    var scratchpadHalf: Int { parameters.spRows / 2 }

    func n16(_ value: Int) -> Signal { Signal.literal(value, .uint(16)) }
    func n32(_ value: Int) -> Signal { Signal.literal(value, .uint(32)) }
    func n64(_ value: Int) -> Signal { Signal.literal(value, .uint(64)) }
    func functLiteral(_ value: UInt8) -> Signal { Signal.literal(value, .uint(7)) }

    func last(_ counter: Signal, _ total: Signal) -> Signal { counter +& 1 === total.extended(to: 17) }
    func padded(_ isLast: Signal, _ pad: Signal) -> Signal { n16(dim) -% mux(isLast, pad, n16(0)) }
    func rowsOf(_ f: Fields, _ x: Signal) -> Signal { padded(last(x, f.tilesI), f.padI) }
    func columnsOf(_ f: Fields, _ x: Signal) -> Signal { padded(last(x, f.tilesJ), f.padJ) }
    func depthOf(_ f: Fields, _ x: Signal) -> Signal { padded(last(x, f.tilesK), f.padK) }
    /// `min(block, total − first)` tiles from `first`, and their width in elements.
    func blocks(_ first: Signal, _ total: Signal, _ block: Int) -> Signal {
        let left = total -% first
        return mux(left < n16(block), left, n16(block))
    }
    func width(_ first: Signal, _ count: Signal, _ total: Signal, _ pad: Signal) -> Signal {
        ((count * n16(dim)).truncated(to: 16) -% mux(first +& count === total.extended(to: 17), pad, n16(0)))
    }
    func steps(_ f: Fields) -> Signal { ((f.tilesK +& n16(blockLength - 1)) >> blockLength.trailingZeroBitCount).resized(to: 16) }
    func firstOf(_ step: Signal) -> Signal { (step * n16(blockLength)).truncated(to: 16) }

    // Local rows.
    func tileRow(_ base: Signal, _ tile: Signal) -> Signal { base +% (tile * n16(dim)).truncated(to: 32) }
    func aRow(_ f: Fields, _ i: Signal, _ k: Signal) -> Signal {
        let base = mux(f.aHigh, n32(scratchpadHalf), n32(0))
        return tileRow(base, mux(f.transposeA, (k * f.tilesI).truncated(to: 32) +% i.extended(to: 32), (i * f.tilesK).truncated(to: 32) +% k.extended(to: 32)))
    }
    func bRow(_ f: Fields, _ k: Signal, _ j: Signal) -> Signal {
        let base = mux(f.bHigh, n32(parameters.spRows), n32(scratchpadHalf)) -% (f.tilesK * f.tilesJ * n16(dim)).truncated(to: 32)
        return tileRow(base, mux(f.transposeB, (j * f.tilesK).truncated(to: 32) +% k.extended(to: 32), (k * f.tilesJ).truncated(to: 32) +% j.extended(to: 32)))
    }
    func cRow(_ f: Fields, _ i: Signal, _ j: Signal) -> Signal {
        tileRow(n32(1 << 31) | mux(f.half, n32(parameters.accRows / 2), n32(0)), (i * f.tilesJ).truncated(to: 32) +% j.extended(to: 32))
    }
    func operand(_ rows: Signal, _ columns: Signal, _ address: Signal) -> Signal { cat(rows, columns, address) }
    var garbageOperand: Signal { operand(n16(dim), n16(dim), Signal.literal(0xFFFF_FFFF, .uint(32))) }
    /// The mvout of C tile (i, j); `addressBits` (e.g. a normalization command) go into its local address.
    func storeOperand(_ f: Fields, _ i: Signal, _ j: Signal, addressBits: Signal? = nil) -> Signal {
        operand(rowsOf(f, i), columnsOf(f, j), cRow(f, i, j) | mux(f.fullC, n32(1 << 29), n32(0)) | (addressBits ?? n32(0)))
    }
}

// MARK: - What each cursor has to emit

private extension LoopUnroller {
    /// What each cursor has to emit this cycle, and the loop the load cursor works on.
    struct Schedule {
        /// The load cursor's loop, as named wires (each field is read in many places).
        let lf: Fields
        let runSteps, stagedSteps, loadSteps, loadFirst, loadCount, pairFirst, pairCount, lastPairStep: Signal
        let loadWaiting, emitLoad, emitStore: Signal
        /// Whether the pair cursor's side (residual add, loads, pairs) has a command this cycle
        /// (the residual add skips mvouts without C).
        let emitting: Signal

        init(_ m: ModuleBuilder, _ io: IO, _ r: Registers, _ unroller: LoopUnroller) {
            let u16 = HWType.uint(16), types = Registers.types, blockLength = unroller.blockLength
            let (run, staged, store) = (r.run, r.staged, r.store)
            let chosen = Fields.select(r.loadsNext, staged, run).all
            lf = Fields((0..<Fields.names.count).map { m.wire("load_\(Fields.names[$0])", $0 < Fields.staged ? types[$0] : .bool, default: chosen[$0]) })
            runSteps = m.wire("run_steps", u16, default: unroller.steps(run))
            stagedSteps = m.wire("next_steps", u16, default: unroller.steps(staged))
            loadSteps = m.wire("load_steps", u16, default: mux(r.loadsNext, stagedSteps, runSteps))
            loadFirst = m.wire("load_first", u16, default: unroller.firstOf(r.loadStep))
            loadCount = m.wire("load_count", u16, default: unroller.blocks(loadFirst, lf.tilesK, blockLength))
            pairFirst = m.wire("pair_first", u16, default: unroller.firstOf(r.pairStep))
            pairCount = unroller.blocks(pairFirst, run.tilesK, blockLength)
            lastPairStep = m.wire("last_pair_step", .bool, default: r.pairStep +& 1 === runSteps.extended(to: 17))

            loadWaiting = m.wire("load_waiting", .bool, default: r.loadsLeft || r.biasing)
            emitLoad = m.wire("emit_load", .bool, default: loadWaiting && (r.inPhase(.firstLoads) || r.inPhase(.waiting) || r.inPhase(.drain)))
            // A column's mvouts may go once its last pairs are out; with LayerNorm or Softmax, once all are.
            let columnsReady = mux(r.storeOwnsRun, r.columnsDone, store.tilesJ)
            let storeReady = mux(store.normalize, columnsReady === store.tilesJ, r.sj < columnsReady)
            emitStore = m.wire("emit_store", .bool, default: r.storeActive && storeReady && io.storeRoom)
            emitting = r.inPhase(.residual) && (r.part =/= 2 || r.runCHere) || emitLoad || r.inPhase(.pairs)
        }
    }
}

// MARK: - The command of this cycle

private extension LoopUnroller {
    /// The command being emitted, and the DRAM address each sub-unit builds it from:
    /// base + (x·stride + y)·DIM·bytes.
    struct Emitted {
        let command: IssuedCommand
        let dramBase, dramX, dramY, dramStride, dramWide: Signal
        /// The load cursor's tiles per mvin (A transposed, B, the bias).
        let loadBlocksJ, loadBlocksI, biasCount: Signal
        var funct: Signal { command.command.funct }
    }

    /// The command of this cycle: the store cursor's mvout if it may go, else the pair cursor's
    /// side (the residual add, a load, a pair).
    func emitCommand(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule) -> Emitted {
        let u16 = HWType.uint(16), u64 = HWType.uint(64)
        let (store, si, sj, storePass, lf, li, lj) = (r.store, r.si, r.sj, r.storePass, work.lf, r.li, r.lj)
        let inputBytes = n64(parameters.inputBytes), accBytes = n64(parameters.accBytes)
        let emitted = m.wire("emitted", IssuedCommand())
        let outFunct = emitted.command.funct
        // DRAM address = base + (x·stride + y)·DIM·bytes, its operands chosen by the emitter.
        let dramBase = m.wire("dram_base", u64), dramX = m.wire("dram_x", u16), dramY = m.wire("dram_y", u16)
        let dramStride = m.wire("dram_stride", u64), dramWide = m.wire("dram_wide", .bool)
        let elements = m.wire("dram_elements", u64, default: (((dramX.extended(to: 64) * dramStride).truncated(to: 64) +% dramY.extended(to: 64))
            * n64(dim)).truncated(to: 64))
        let dram = dramBase +% mux(dramWide, (elements * accBytes).truncated(to: 64), (elements * inputBytes).truncated(to: 64))
        emitted.command.rs1.set(dram)
        // Defaults: the store cursor's mvout of C tile (si, sj).
        dramBase.set(store.addressC)
        dramX.set(si)
        dramY.set(sj)
        dramStride.set(store.strideC)
        dramWide.set(store.fullC)
        outFunct.set(functLiteral(Funct.mvout))
        // A statistics pass's mvout carries its normalization command in address bits 28:26.
        let passBits = [false, true].map { softmax in
            NormalizationCommand.passes(softmax: softmax).map { pass in
                mux(last(sj, store.tilesJ), n32(pass.last.rawValue << LocalAddressLayout.normalizationCommand.low),
                    n32(pass.each.rawValue << LocalAddressLayout.normalizationCommand.low))
            }
        }
        let passCommand = m.wire("store_pass_command", .uint(32), default: mux(store.normalize && storePass =/= 2,
            mux(storePass === 0, mux(store.softmax, passBits[1][0], passBits[0][0]), mux(store.softmax, passBits[1][1], passBits[0][1])),
            n32(0)))
        emitted.command.rs2.set(storeOperand(store, si, sj, addressBits: passCommand))
        emitted.index.set(r.storeIndex)
        emitted.loop.slot.set(r.storeSlot)
        emitted.loop.internal.set(true)
        let dBlocks = max(parameters.maxBlockLenAcc, 1)
        let loadBlocksJ = m.wire("load_blocks_j", u16, default: blocks(lj, lf.tilesJ, blockLength))
        let loadBlocksI = m.wire("load_blocks_i", u16, default: blocks(li, lf.tilesI, blockLength))
        let biasCount = m.wire("bias_count", u16, default: mux(lf.lowD, loadBlocksJ, blocks(lj, lf.tilesJ, dBlocks)))
        let out = Emitted(command: emitted, dramBase: dramBase, dramX: dramX, dramY: dramY, dramStride: dramStride, dramWide: dramWide,
                          loadBlocksJ: loadBlocksJ, loadBlocksI: loadBlocksI, biasCount: biasCount)

        m.when(!work.emitStore) {
            emitted.index.set(r.loopIndex)
            emitted.loop.slot.set(r.slot)
            m.when(r.inPhase(.residual)) {
                emitResidualAdd(m, r, out)
            }.elsewhen(work.emitLoad) {
                m.when(r.loadsNext) {
                    emitted.index.set(r.pendingIndex)
                    emitted.loop.slot.set(!r.slot)
                }
                m.when(r.biasing) {
                    emitBiasLoad(r, work, out)
                }.elsewhen(!r.loadingB) {
                    emitALoad(m, r, work, out)
                }.otherwise {
                    emitBLoad(m, r, work, out)
                }
            }.elsewhen(r.inPhase(.pairs)) {
                emitPair(m, r, out)
            }
        }
        return out
    }

    /// The residual add of tile (i, j): A's tile into C's place, B's tile accumulated onto it
    /// (mvin2 with the accumulate bit), then C's mvout.
    func emitResidualAdd(_ m: ModuleBuilder, _ r: Registers, _ out: Emitted) {
        let (run, i, j, part, emitted, outFunct) = (r.run, r.i, r.j, r.part, out.command, out.funct)
        out.dramX.set(i); out.dramY.set(j)
        m.when(part === 0) {
            outFunct.set(functLiteral(Funct.mvin))
            out.dramBase.set(run.addressA); out.dramStride.set(run.strideA); out.dramWide.set(false)
            emitted.command.rs2.set(operand(rowsOf(run, i), columnsOf(run, j), cRow(run, i, j)))
        }.elsewhen(part === 1) {
            outFunct.set(functLiteral(Funct.mvin2))
            out.dramBase.set(run.addressB); out.dramStride.set(run.strideB); out.dramWide.set(false)
            emitted.command.rs2.set(operand(rowsOf(run, i), columnsOf(run, j), cRow(run, i, j) | n32(1 << 30)))
        }.otherwise {
            out.dramBase.set(run.addressC); out.dramStride.set(run.strideC); out.dramWide.set(run.fullC)
            emitted.command.rs2.set(storeOperand(run, i, j))
        }
    }

    /// The D loader: the bias row (li, lj) of the load cursor's loop into C's place (mvin3),
    /// `biasCount` tiles wide.
    func emitBiasLoad(_ r: Registers, _ work: Schedule, _ out: Emitted) {
        let (lf, li, lj) = (work.lf, r.li, r.lj)
        out.funct.set(functLiteral(Funct.mvin3))
        out.dramBase.set(lf.addressD); out.dramStride.set(lf.strideD); out.dramWide.set(!lf.lowD)
        out.dramX.set(li); out.dramY.set(lj)
        out.command.command.rs2.set(operand(rowsOf(lf, li), width(lj, out.biasCount, lf.tilesJ, lf.padJ), cRow(lf, li, lj)))
    }

    /// The A loader: A's tiles (li, lk) of the load cursor's block (mvin), a block of K tiles
    /// wide, or of I tiles when A is transposed.
    func emitALoad(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule, _ out: Emitted) {
        let (lf, li, lk, emitted) = (work.lf, r.li, r.lk, out.command)
        out.funct.set(functLiteral(Funct.mvin))
        out.dramBase.set(lf.addressA); out.dramStride.set(lf.strideA); out.dramWide.set(false)
        m.when(lf.transposeA) {
            out.dramX.set(lk); out.dramY.set(li)
            emitted.command.rs2.set(operand(depthOf(lf, lk), width(li, out.loadBlocksI, lf.tilesI, lf.padI), aRow(lf, li, lk)))
        }.otherwise {
            out.dramX.set(li); out.dramY.set(lk)
            emitted.command.rs2.set(operand(rowsOf(lf, li), width(lk, work.loadCount, lf.tilesK, lf.padK), aRow(lf, li, lk)))
        }
    }

    /// The B loader: B's tiles (lk, lj) of the load cursor's block (mvin2), a block of J tiles
    /// wide, or of K tiles when B is transposed.
    func emitBLoad(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule, _ out: Emitted) {
        let (lf, lj, lk, emitted) = (work.lf, r.lj, r.lk, out.command)
        out.funct.set(functLiteral(Funct.mvin2))
        out.dramBase.set(lf.addressB); out.dramStride.set(lf.strideB); out.dramWide.set(false)
        m.when(lf.transposeB) {
            out.dramX.set(lj); out.dramY.set(lk)
            emitted.command.rs2.set(operand(columnsOf(lf, lj), width(lk, work.loadCount, lf.tilesK, lf.padK), bRow(lf, lk, lj)))
        }.otherwise {
            out.dramX.set(lk); out.dramY.set(lj)
            emitted.command.rs2.set(operand(depthOf(lf, lk), width(lj, out.loadBlocksJ, lf.tilesJ, lf.padJ), bRow(lf, lk, lj)))
        }
    }

    /// The executer: pair (i, j, k) as a PRELOAD of B (the first row of tiles only) with C's
    /// place, then a COMPUTE of A.
    func emitPair(_ m: ModuleBuilder, _ r: Registers, _ out: Emitted) {
        let (run, i, j, k, emitted, outFunct) = (r.run, r.i, r.j, r.k, out.command, out.funct)
        let accumulate = run.exAccumulate || k =/= 0
        let cOperand = operand(rowsOf(run, i), columnsOf(run, j), cRow(run, i, j) | mux(accumulate, n32(1 << 30), n32(0)))
        let bOperand = operand(mux(run.transposeB, columnsOf(run, j), depthOf(run, k)), mux(run.transposeB, depthOf(run, k), columnsOf(run, j)), bRow(run, k, j))
        let aOperand = operand(mux(run.transposeA, depthOf(run, k), rowsOf(run, i)), mux(run.transposeA, rowsOf(run, i), depthOf(run, k)), aRow(run, i, k))
        m.when(r.part === 0) {
            outFunct.set(functLiteral(Funct.preload))
            emitted.command.rs1.set(mux(i === 0, bOperand, garbageOperand))
            emitted.command.rs2.set(cOperand)
        }.otherwise {
            outFunct.set(mux(i === 0, functLiteral(Funct.computePreloaded), functLiteral(Funct.computeAccumulated)))
            emitted.command.rs1.set(aOperand)
            emitted.command.rs2.set(garbageOperand)
        }
    }
}

// MARK: - Host commands

private extension LoopUnroller {
    /// What the host port did this cycle.
    struct HostPort {
        let accepted, isLoopConfig, isLoop, failed: Signal
        /// Per slot, whether its loop completes this cycle.
        let completing: [Signal]
        let anyCompleting: Signal
    }

    /// Takes host commands: plain ones pass through numbered (once every unrolled command is
    /// out), LOOP_WS_CONFIG_* write the staging registers, a LOOP_WS is checked and becomes the
    /// pending loop (or faults).
    func hostCommands(_ m: ModuleBuilder, _ io: IO, _ r: Registers, _ work: Schedule, _ out: Emitted) -> HostPort {
        let (staged, hostCount, idle, pending) = (r.staged, r.hostCount, r.idle, r.pending)
        let (waiting, outstanding, emitStore, emitted) = (r.waiting, r.outstanding, work.emitStore, out.command)
        let input = io.command.bits
        let funct = input.funct, rs1 = input.rs1, rs2 = input.rs2
        func isFunct(_ value: UInt8) -> Signal { funct === Signal(value) }
        let half = scratchpadHalf
        let isLoopConfig = funct >= Signal(Funct.loopWSConfigBounds) && funct <= Signal(Funct.loopWSConfigStridesDC)
        let isLoop = isFunct(Funct.loopWS)
        // LOOP_WS checks, in the golden model's order (docs/ACCELERATOR.md, "LOOP_WS").
        func code(_ error: ErrorCode) -> Signal { Signal.literal(error.rawValue, .uint(ErrorCode.bits)) }
        typealias WS = LoopWSFields
        let launchTransposeA = rs2[WS.transposeABit], launchTransposeB = rs2[WS.transposeBBit], launchResidual = rs2[WS.residualAddBit]
        let launchActivation = rs1.field(WS.activation)
        let launchSoftmax = launchActivation === Signal(Activation.softmax.rawValue), launchNormalizes = launchActivation === Signal(Activation.layerNorm.rawValue) || launchSoftmax
        let normalizationsBuilt = Signal(parameters.config.hasNormalizations)
        // DIM as a literal just wide enough for it (DIM 256 needs 9 bits).
        let dimLiteral = Signal.literal(dim, .uint(HWType.addressWidth(for: dim + 1)))
        let scratchpadRows = ((staged.tilesI * staged.tilesK).extended(to: 34) +& (staged.tilesK * staged.tilesJ).extended(to: 34)) * dimLiteral
        let accumulatorRows = (staged.tilesI * staged.tilesJ).extended(to: 34) * dimLiteral
        let checks: [(Signal, ErrorCode)] = [
            // act 3 (I-GELU) issues no passes: CONFIG_ST's activation applies it (Gemmini passes it here).
            (launchActivation > Signal(Activation.relu.rawValue) && !((launchNormalizes || launchActivation === Signal(Activation.igelu.rawValue)) && normalizationsBuilt), .unsupportedField),
            (launchNormalizes && launchResidual, .unsupportedField),
            (launchNormalizes && rs1[WS.fullCBit], .illegalOperand),
            (rs1.field(WS.aScratchpadID) === 3 || rs1.field(WS.bScratchpadID) === 3, .unsupportedField),
            (launchTransposeA && launchTransposeB, .unsupportedDataflow),
            // The residual add has no K (Gemmini's tiled_resadd_auto launches it with K = 0).
            (staged.tilesI === 0 || staged.tilesJ === 0 || (staged.tilesK === 0 && !launchResidual), .illegalOperand),
            (staged.padI >= n16(dim) || staged.padJ >= n16(dim) || staged.padK >= n16(dim), .illegalOperand),
            ((!launchResidual && scratchpadRows > Signal(half))
             || accumulatorRows > Signal(parameters.accRows / 2), .localAddressOutOfRange),
        ]
        let failure = checks.reversed().reduce(Signal.literal(0, .uint(ErrorCode.bits))) { rest, check in mux(check.0, code(check.1), rest) }
        let failed = failure =/= 0

        // A loop finishing this cycle reports on `retire`; a config waits for the next cycle then.
        let completing = (0..<2).map { s in waiting[s] && outstanding[s] === 0 }
        let anyCompleting = completing[0] || completing[1]
        let consumed = isLoopConfig || isLoop
        // Plain host commands wait for every unrolled command to be out (program order).
        let hostPlain = idle && !pending && !r.storeActive
        let takeHost = mux(consumed, !pending && !anyCompleting, hostPlain && io.issued.ready)
        io.command.ready.set(takeHost)
        io.issued.valid.set(emitStore || mux(idle, hostPlain && io.command.valid && !consumed, work.emitting))
        m.when(idle && !emitStore) {
            m.connect(io.issued.bits.command, from: input)
            io.issued.bits.index.set(hostCount)
            io.issued.bits.loop.internal.set(false)
            io.issued.bits.loop.slot.set(false)
        }.otherwise {
            m.connect(io.issued.bits, from: emitted)
        }
        let accepted = io.command.fire
        m.when(accepted) { hostCount.set(hostCount +% 1) }
        m.when(accepted && isFunct(Funct.loopWSConfigBounds)) {
            let (i, j, k) = (LoopWSFields.bounds[0], LoopWSFields.bounds[1], LoopWSFields.bounds[2])
            staged.padI.set(rs1.field(i)); staged.padJ.set(rs1.field(j)); staged.padK.set(rs1.field(k))
            staged.tilesI.set(rs2.field(i)); staged.tilesJ.set(rs2.field(j)); staged.tilesK.set(rs2.field(k))
        }
        m.when(accepted && isFunct(Funct.loopWSConfigAddressesAB)) { staged.addressA.set(rs1); staged.addressB.set(rs2) }
        m.when(accepted && isFunct(Funct.loopWSConfigAddressesDC)) { staged.addressD.set(rs1); staged.addressC.set(rs2) }
        m.when(accepted && isFunct(Funct.loopWSConfigStridesAB)) { staged.strideA.set(rs1); staged.strideB.set(rs2) }
        m.when(accepted && isFunct(Funct.loopWSConfigStridesDC)) { staged.strideD.set(rs1); staged.strideC.set(rs2) }
        m.when(accepted && isLoop && !failed) {
            pending.set(true)
            r.pendingIndex.set(hostCount)
            staged.exAccumulate.set(rs1[WS.exAccumulateBit]); staged.fullC.set(rs1[WS.fullCBit]); staged.lowD.set(rs1[WS.lowDBit])
            staged.aHigh.set(rs1.field(WS.aScratchpadID) === 2); staged.bHigh.set(rs1.field(WS.bScratchpadID) === 2)
            staged.transposeA.set(launchTransposeA); staged.transposeB.set(launchTransposeB)
            staged.residual.set(launchResidual)
            staged.normalize.set(launchNormalizes)
            staged.softmax.set(launchSoftmax)
        }
        io.fault.valid.set(accepted && isLoop && failed)
        io.fault.bits.code.set(failure)
        io.fault.bits.index.set(hostCount)
        return HostPort(accepted: accepted, isLoopConfig: isLoopConfig, isLoop: isLoop, failed: failed, completing: completing,
                        anyCompleting: anyCompleting)
    }
}

// MARK: - Load cursor

private extension LoopUnroller {
    /// The load cursor's handshakes with the pair cursor.
    struct LoadCursor {
        /// The pair cursor launches the pending loop this cycle (driven by `pairCursor`).
        let launching: Signal
        /// The pair cursor's side emitted this cycle, or has nothing to emit and moves on.
        let advance: Signal
    }

    /// Points the load cursor at the first load of K block `step` of loop `f` (none left if
    /// there is no such block).
    func startLoads(_ r: Registers, _ step: Signal, _ f: Fields, steps: Signal) {
        r.li.set(n16(0)); r.lj.set(n16(0)); r.lk.set(firstOf(step))
        r.loadStep.set(step)
        r.loadingB.set(f.addressA === 0)
        r.loadsLeft.set((f.addressA =/= 0 || f.addressB =/= 0) && step < steps)
    }

    /// Moves the load cursor: to the pending loop (prefetch or launch), to the running loop's next
    /// block (after block 0's loads, or at a block's end), or past the load that left this cycle
    /// (one chain per register).
    func loadCursor(_ m: ModuleBuilder, _ io: IO, _ r: Registers, _ work: Schedule, _ out: Emitted) -> LoadCursor {
        let (run, staged, idle, loadsNext, lastPairStep, loadWaiting) = (r.run, r.staged, r.idle, r.loadsNext, work.lastPairStep, work.loadWaiting)
        let half = scratchpadHalf
        /// Points the load cursor at the pending loop's bias, or its first block when it has none.
        func startPendingLoop() {
            r.li.set(n16(0)); r.lj.set(n16(0))
            r.biasing.set(staged.addressD =/= 0)
            m.when(staged.addressD === 0) { startLoads(r, n16(0), staged, steps: work.stagedSteps) }
        }
        let mainFired = m.wire("main_fired", .bool, default: io.issued.fire && !work.emitStore && !idle)
        let running = r.inPhase(.pairs) || r.inPhase(.waiting) || r.inPhase(.drain)
        // The pending loop's loads must not touch what the running loop's pairs, still being
        // emitted, read or write: its operand rows must miss the running loop's, and its bias
        // must go to the other accumulator half (which it does when the running loop stores C).
        func operandRows(_ f: Fields) -> (a: (Signal, Signal), b: (Signal, Signal)) {
            let aLow = mux(f.aHigh, n32(half), n32(0))
            let bEnd = mux(f.bHigh, n32(parameters.spRows), n32(half))
            let aRows = (f.tilesI * f.tilesK * n16(dim)).truncated(to: 32), bRows = (f.tilesK * f.tilesJ * n16(dim)).truncated(to: 32)
            return ((aLow, aLow +% aRows), (bEnd -% bRows, bEnd))
        }
        func overlap(_ x: (Signal, Signal), _ y: (Signal, Signal)) -> Signal { x.0 < y.1 && y.0 < x.1 }
        let runRows = operandRows(run), pendingRows = operandRows(staged)
        let prefetchConflict = m.wire("prefetch_conflict", .bool, default:
            (staged.addressA =/= 0 && (overlap(pendingRows.a, runRows.a) || overlap(pendingRows.a, runRows.b)))
            || (staged.addressB =/= 0 && (overlap(pendingRows.b, runRows.a) || overlap(pendingRows.b, runRows.b)))
            || (staged.addressD =/= 0 && !r.runCHere))
        let prefetch = m.wire("prefetch", .bool, default: running && lastPairStep && !loadWaiting && !loadsNext && r.pending
                                && !staged.residual && !select(r.waiting, at: !r.slot) && !prefetchConflict)
        let launching = m.wire("launching", .bool)
        let advance = m.wire("advance", .bool, default: mainFired || (!idle && !work.emitting && !r.inPhase(.finish)))
        let nextBlock = m.wire("next_block", .bool, default: advance && !loadWaiting
                                 && (r.inPhase(.firstLoads) || (r.inPhase(.drain) && !lastPairStep)))
        let nextBlockStep = m.wire("next_block_step", .uint(16), default: mux(r.inPhase(.firstLoads), n16(1), r.pairStep +% 2))
        let doneA = m.wire("load_a_done", .bool, default: false)
        m.when(prefetch || (launching && !staged.residual && !loadsNext)) {
            startPendingLoop()
        }.elsewhen(nextBlock) {
            startLoads(r, nextBlockStep, run, steps: work.runSteps)
        }.elsewhen(mainFired && work.emitLoad) {
            m.when(r.biasing) {
                advanceBiasLoad(m, r, work, out)
            }.elsewhen(!r.loadingB) {
                advanceALoad(m, r, work, out, doneA: doneA)
            }.otherwise {
                advanceBLoad(m, r, work, out)
            }
        }
        // Prefetch: in the running loop's last block, with nothing of its own left to load, the
        // load cursor moves on to the pending loop (whose slot must be free for its counter),
        // unless its loads conflict with the running loop (above).
        m.when(prefetch) { loadsNext.set(true) }
        return LoadCursor(launching: launching, advance: advance)
    }

    /// The D loader's step: the next bias tiles of the row, the next row, then block 0's operands.
    func advanceBiasLoad(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule, _ out: Emitted) {
        let (lf, li, lj) = (work.lf, r.li, r.lj)
        let nextJ = lj +& out.biasCount
        m.when(nextJ < lf.tilesJ.extended(to: 17)) { lj.set(nextJ.truncated(to: 16)) }.otherwise {
            lj.set(n16(0))
            m.when(!last(li, lf.tilesI)) { li.set(li +% 1) }.otherwise {
                r.biasing.set(false)
                startLoads(r, n16(0), lf, steps: work.loadSteps)
            }
        }
    }

    /// The A loader's step: the next tiles of A in the block (`doneA` once A's are out), then B's.
    func advanceALoad(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule, _ out: Emitted, doneA: Signal) {
        let (lf, li, lj, lk, loadFirst, loadCount) = (work.lf, r.li, r.lj, r.lk, work.loadFirst, work.loadCount)
        m.when(lf.transposeA) {
            let nextI = li +& out.loadBlocksI
            m.when(nextI < lf.tilesI.extended(to: 17)) { li.set(nextI.truncated(to: 16)) }.otherwise {
                li.set(n16(0))
                m.when(lk +& 1 < (loadFirst +& loadCount)) { lk.set(lk +% 1) }.otherwise { doneA.set(true) }
            }
        }.otherwise {
            doneA.set(last(li, lf.tilesI))
            li.set(li +% 1)
        }
        m.when(doneA) {
            li.set(n16(0)); lj.set(n16(0)); lk.set(loadFirst)
            r.loadingB.set(true)
            r.loadsLeft.set(lf.addressB =/= 0)
        }
    }

    /// The B loader's step: the next tiles of B in the block; none left after the last.
    func advanceBLoad(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule, _ out: Emitted) {
        let (lf, lj, lk, loadFirst, loadCount, loadsLeft) = (work.lf, r.lj, r.lk, work.loadFirst, work.loadCount, r.loadsLeft)
        m.when(lf.transposeB) {
            m.when(last(lj, lf.tilesJ)) { loadsLeft.set(false) }
            lj.set(lj +% 1)
        }.otherwise {
            let nextJ = lj +& out.loadBlocksJ
            m.when(nextJ < lf.tilesJ.extended(to: 17)) { lj.set(nextJ.truncated(to: 16)) }.otherwise {
                lj.set(n16(0))
                m.when(lk +& 1 < (loadFirst +& loadCount)) { lk.set(lk +% 1) }.otherwise { loadsLeft.set(false) }
            }
        }
    }

}

// MARK: - Store cursor

private extension LoopUnroller {
    /// The C storer: takes the running loop over when free (the loop cannot finish before that),
    /// then moves past each mvout the dispatcher took — column by column as the columns finish,
    /// or with LayerNorm or Softmax row of tiles by row of tiles, each pass over the whole row,
    /// then the output.
    func storeCursor(_ m: ModuleBuilder, _ io: IO, _ r: Registers, _ work: Schedule) {
        let (store, si, sj, storePass, storeActive, storeOwnsRun) = (r.store, r.si, r.sj, r.storePass, r.storeActive, r.storeOwnsRun)
        let handOver = m.wire("hand_over", .bool, default: !storeActive && !r.handed && r.runCHere && !r.run.residual
                                && !r.idle && !r.inPhase(.residual))
        m.when(handOver) {
            storeActive.set(true)
            storeOwnsRun.set(true)
            r.handed.set(true)
            si.set(n16(0)); sj.set(n16(0)); storePass.set(0)
            r.storeSlot.set(r.slot)
            r.storeIndex.set(r.loopIndex)
            for field in Registers.storeKept { store.all[field].set(r.run.all[field]) }
        }
        func storeDone() {
            storeActive.set(false)
            storeOwnsRun.set(false)
        }
        m.when(io.issued.fire && work.emitStore) {
            m.when(store.normalize) {
                // Row of tiles by row of tiles: each pass over the whole row, then the output.
                m.when(!last(sj, store.tilesJ)) { sj.set(sj +% 1) }.otherwise {
                    sj.set(n16(0))
                    m.when(storePass =/= 2) { storePass.set(storePass +% 1) }.otherwise {
                        storePass.set(0)
                        si.set(si +% 1)
                        m.when(last(si, store.tilesI)) { storeDone() }
                    }
                }
            }.elsewhen(!last(si, store.tilesI)) { si.set(si +% 1) }.otherwise {
                // Column by column, as the columns finish.
                si.set(n16(0))
                sj.set(sj +% 1)
                m.when(last(sj, store.tilesJ)) { storeDone() }
            }
        }
    }
}

// MARK: - Pair cursor

private extension LoopUnroller {
    /// Launches the pending loop when its slot is free, then moves the pair cursor through the
    /// phases: the residual add's tiles, block 0's loads, each block's pairs (each followed by a
    /// waiting load), the drain of the next block's loads, and the finish. Returns `finishing`:
    /// the loop goes to its slot's completion check this cycle.
    func pairCursor(_ m: ModuleBuilder, _ r: Registers, _ work: Schedule, _ load: LoadCursor) -> Signal {
        let (run, staged, i, j, k, part, pairStep) = (r.run, r.staged, r.i, r.j, r.k, r.part, r.pairStep)
        let (lastPairStep, loadWaiting, pairFirst, pairCount, runCHere) = (work.lastPairStep, work.loadWaiting, work.pairFirst, work.pairCount, r.runCHere)
        let slotFree = !select(r.waiting, at: r.slot)
        load.launching.set(r.idle && r.pending && slotFree && (!staged.residual || !r.storeActive))
        m.when(load.launching) {
            r.pending.set(false)
            for (target, source) in zip(run.all.dropLast(), staged.all.dropLast()) { target.set(source) }
            r.loopIndex.set(r.pendingIndex)
            r.handed.set(false)
            r.columnsDone.set(n16(0))
            i.set(n16(0)); j.set(n16(0)); k.set(n16(0)); part.set(0)
            pairStep.set(n16(0))
            m.when(staged.residual) { r.go(.residual) }.otherwise {
                // A prefetched loop keeps what its loads have reached (the load cursor's chain).
                r.go(.firstLoads)
                r.loadsNext.set(false)
            }
        }

        /// After a pair and its waiting command: the next pair, or the end of the block.
        func nextPair() {
            r.go(.pairs)
            m.when(!last(i, run.tilesI)) { i.set(i +% 1) }.otherwise {
                i.set(n16(0))
                m.when(k +& 1 < (pairFirst +& pairCount)) { k.set(k +% 1) }.otherwise {
                    k.set(pairFirst)
                    // Column j is done: in the last block its mvouts may go.
                    m.when(lastPairStep && runCHere) { r.columnsDone.set(r.columnsDone +% 1) }
                    m.when(!last(j, run.tilesJ)) { j.set(j +% 1) }.otherwise { r.go(.drain) }
                }
            }
        }
        m.when(load.advance) {
            m.when(r.inPhase(.residual)) {
                m.when(part =/= 2) { part.set(part +% 1) }.otherwise {
                    part.set(0)
                    m.when(!last(j, run.tilesJ)) { j.set(j +% 1) }.otherwise {
                        j.set(n16(0))
                        m.when(!last(i, run.tilesI)) { i.set(i +% 1) }.otherwise { r.go(.finish) }
                    }
                }
            }.elsewhen(r.inPhase(.firstLoads)) {
                // The bias and block 0's operands, alone; once emitted, block 0's pairs start and
                // block 1's loads wait.
                m.when(!loadWaiting) {
                    i.set(n16(0)); j.set(n16(0)); k.set(n16(0)); part.set(0)
                    r.go(.pairs)
                }
            }.elsewhen(r.inPhase(.pairs)) {
                m.when(part === 0) { part.set(1) }.otherwise {
                    part.set(0)
                    // A waiting load follows the pair; with none, the next pair comes at once.
                    m.when(loadWaiting) { r.go(.waiting) }.otherwise { nextPair() }
                }
            }.elsewhen(r.inPhase(.waiting)) {
                nextPair()
            }.elsewhen(r.inPhase(.drain)) {
                // The next block's loads still waiting after this block's pairs (not the pending
                // loop's); then the next block.
                m.when(!(loadWaiting && !r.loadsNext)) {
                    i.set(n16(0)); j.set(n16(0)); part.set(0)
                    m.when(lastPairStep) { r.go(.finish) }.otherwise {
                        pairStep.set(pairStep +% 1)
                        k.set(firstOf(pairStep +% 1))
                        r.go(.pairs)
                    }
                }
            }
        }
        // Finish (once the store cursor has the loop): hand the loop to its slot's completion
        // check, flip the accumulator half after C.
        let finishing = m.wire("finishing", .bool, default: r.inPhase(.finish) && (!runCHere || run.residual || r.handed))
        m.when(finishing) {
            r.go(.idle)
            m.when(runCHere) { r.accumulatorHalf.set(!r.accumulatorHalf) }
            r.slot.set(!r.slot)
            r.storeOwnsRun.set(false)
        }
        return finishing
    }
}

// MARK: - Completion

private extension LoopUnroller {
    /// Counts each slot's commands out and back, and reports a loop on `retire` once its last
    /// command has retired (LOOP_WS_CONFIG_* and a failing LOOP_WS retire there at once).
    func completion(_ m: ModuleBuilder, _ io: IO, _ r: Registers, _ host: HostPort, finishing: Signal) {
        let (waiting, outstanding, waitingIndex) = (r.waiting, r.outstanding, r.waitingIndex)
        let issuedSlot = io.issued.bits.loop.slot
        for s in 0..<2 {
            let mine = Signal(s == 1)
            let issuedHere = io.issued.fire && io.issued.bits.loop.internal && issuedSlot === mine
            let retiredHere = io.retirements.map { $0.valid && $0.bits.loop.internal && $0.bits.loop.slot === mine }
            let retiredCount = retiredHere.reduce(Signal.literal(0, .uint(3))) { $0 +% mux($1, Signal.literal(1, .uint(3)), Signal.literal(0, .uint(3))) }
            outstanding[s].set(outstanding[s] +% mux(issuedHere, n16(1), n16(0)) -% retiredCount.extended(to: 16))
            m.when(finishing && r.slot === mine) {
                waiting[s].set(true)
                waitingIndex[s].set(r.loopIndex)
            }
        }
        let reportSlot = mux(host.completing[0], Signal(false), Signal(true))
        m.when(host.anyCompleting) {
            for s in 0..<2 { m.when(reportSlot === Signal(s == 1)) { waiting[s].set(false) } }
        }
        let accepted = host.accepted
        io.retire.valid.set(host.anyCompleting || (accepted && host.isLoopConfig) || (accepted && host.isLoop && host.failed))
        io.retire.bits.set(mux(host.anyCompleting, select(waitingIndex, at: reportSlot), r.hostCount))
        io.busy.set(!r.idle || r.pending || r.storeActive || waiting[0] || waiting[1])
    }
}
