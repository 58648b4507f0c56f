import SpinelHDL

/// Numbers host commands and unrolls LOOP_WS into the plain commands it stands for
/// (docs/ACCELERATOR.md, "LOOP_WS"; the golden model's `LoopWSUnrolling` is the same sequence).
///
/// Plain commands pass through with their host index. LOOP_WS_CONFIG_* set this unit's
/// registers and retire at once. A LOOP_WS is checked, then emitted one command per cycle:
/// the bias, then the operands of K block 0, then for each K block the operands of the next
/// block followed by the pairs of this one (so the loads run ahead of the array), and the
/// mvouts of each column of C right after its last pairs. The emitted commands carry the
/// LOOP_WS's index and a loop tag; the LOOP_WS retires when all of them have.
///
/// Two loops can be in flight: one being emitted, one whose commands are still retiring.
public struct LoopUnroller: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "LoopUnroller_\(parameters.name)" }

    /// Retirement reports per cycle: the dispatcher's and the three controllers'.
    public static let retirementPorts = 4

    public struct IO: Aggregate {
        public var command: Decoupled<RoCCCommand>
        public var issued: Decoupled<IssuedCommand>
        /// Commands that retired this cycle (only those with `loop.internal` count here).
        public var retirements: [Valid<Retirement>]
        /// LOOP_WS and LOOP_WS_CONFIG_* retiring.
        public var retire: Valid<Signal>
        public var fault: Valid<CommandFault>
        public var busy: Signal

        public func map(_ f: FieldMapper) -> IO {
            IO(command: f.input("cmd", command), issued: f.output("issued", issued), retirements: f.input("retirements", retirements),
               retire: f.output("retire", retire), fault: f.output("fault", fault), busy: f.output("busy", busy))
        }
    }

    public var io: IO {
        IO(command: Decoupled(RoCCCommand()), issued: Decoupled(IssuedCommand()),
           retirements: (0..<Self.retirementPorts).map { _ in Valid(Retirement()) },
           retire: Valid(Signal(.uint(32))), fault: Valid(CommandFault()), busy: Signal(.bool))
    }

    enum Phase: Int { case idle, residual, bias, firstLoads, pairs, waiting, drain, finish }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let dim = parameters.dim
        let u16 = HWType.uint(16), u64 = HWType.uint(64), u32 = HWType.uint(32)
        func n16(_ value: Int) -> Signal { Signal.literal(BigInteger(value), u16) }
        func n32(_ value: Int) -> Signal { Signal.literal(BigInteger(value), u32) }
        func n64(_ value: Int) -> Signal { Signal.literal(BigInteger(value), u64) }
        let blockLength = parameters.loopBlockTiles
        let input = io.command.bits
        let funct = input.funct, rs1 = input.rs1, rs2 = input.rs2
        func isFunct(_ value: Int) -> Signal { funct === Signal(BigInteger(value)) }
        func functLiteral(_ value: Int) -> Signal { Signal.literal(BigInteger(value), .uint(7)) }

        // MARK: Registers
        let hostCount = m.register("host_count", .uint(32), reset: 0)
        let tilesI = m.register("tiles_i", u16, reset: 0), tilesJ = m.register("tiles_j", u16, reset: 0)
        let tilesK = m.register("tiles_k", u16, reset: 0)
        let padI = m.register("pad_i", u16, reset: 0), padJ = m.register("pad_j", u16, reset: 0), padK = m.register("pad_k", u16, reset: 0)
        let addressA = m.register("address_a", u64, reset: 0), addressB = m.register("address_b", u64, reset: 0)
        let addressD = m.register("address_d", u64, reset: 0), addressC = m.register("address_c", u64, reset: 0)
        let strideA = m.register("stride_a", u64, reset: 0), strideB = m.register("stride_b", u64, reset: 0)
        let strideD = m.register("stride_d", u64, reset: 0), strideC = m.register("stride_c", u64, reset: 0)
        let accumulatorHalf = m.register("acc_half", .bool, reset: false)
        // The running loop's launch fields.
        let exAccumulate = m.register("ex_accumulate", .bool, reset: false), fullC = m.register("full_c", .bool, reset: false)
        let lowD = m.register("low_d", .bool, reset: false)
        let transposeA = m.register("transpose_a", .bool, reset: false), transposeB = m.register("transpose_b", .bool, reset: false)
        let aHigh = m.register("a_high", .bool, reset: false), bHigh = m.register("b_high", .bool, reset: false)
        let loopIndex = m.register("loop_index", .uint(32), reset: 0)
        let slot = m.register("slot", .bool, reset: false)

        let phase = m.register("phase", .uint(3), reset: 0)
        func inPhase(_ p: Phase) -> Signal { phase === Signal(BigInteger(p.rawValue)) }
        func go(_ p: Phase) { phase.set(Signal.literal(BigInteger(p.rawValue), .uint(3))) }
        // Three cursors: the pairs of K block `pairStep` (and the residual add), the loads of
        // block `loadStep` (and the bias), the mvouts of finished columns of C.
        let i = m.register("i", u16, reset: 0), j = m.register("j", u16, reset: 0), k = m.register("k", u16, reset: 0)
        let part = m.register("part", .uint(2), reset: 0)
        let pairStep = m.register("pair_step", u16, reset: 0)
        let li = m.register("load_i", u16, reset: 0), lj = m.register("load_j", u16, reset: 0), lk = m.register("load_k", u16, reset: 0)
        let loadingB = m.register("loading_b", .bool, reset: false), loadsLeft = m.register("loads_left", .bool, reset: false)
        let loadStep = m.register("load_step", u16, reset: 0)
        let si = m.register("store_i", u16, reset: 0), sj = m.register("store_j", u16, reset: 0)
        let columnsDone = m.register("columns_done", u16, reset: 0)

        // Loops in flight: per slot, whether it waits for its commands to retire, and how many are out.
        let waiting = (0..<2).map { m.register("slot_\($0)_waiting", .bool, reset: false) }
        let outstanding = (0..<2).map { m.register("slot_\($0)_outstanding", u16, reset: 0) }
        let waitingIndex = (0..<2).map { m.register("slot_\($0)_index", .uint(32), reset: 0) }

        // MARK: Shapes
        func last(_ counter: Signal, _ total: Signal) -> Signal { counter +& 1 === total.extended(to: 17) }
        func padded(_ isLast: Signal, _ pad: Signal) -> Signal { n16(dim) -% mux(isLast, pad, n16(0)) }
        func rowsOf(_ x: Signal) -> Signal { padded(last(x, tilesI), padI) }
        func columnsOf(_ x: Signal) -> Signal { padded(last(x, tilesJ), padJ) }
        func depthOf(_ x: Signal) -> Signal { padded(last(x, tilesK), padK) }
        /// `min(block, total − first)` tiles from `first`, and their width in elements.
        func blocks(_ first: Signal, _ total: Signal, _ block: Int) -> Signal {
            let left = total -% first
            return mux(left < n16(block), left, n16(block))
        }
        func width(_ first: Signal, _ count: Signal, _ total: Signal, _ pad: Signal) -> Signal {
            ((count * n16(dim)).truncated(to: 16) -% mux(first +& count === total.extended(to: 17), pad, n16(0)))
        }
        let steps = m.wire("steps", u16, default: ((tilesK +& n16(blockLength - 1)) >> blockLength.trailingZeroBitCount).resized(to: 16))
        func firstOf(_ step: Signal) -> Signal { (step * n16(blockLength)).truncated(to: 16) }
        let loadFirst = m.wire("load_first", u16, default: firstOf(loadStep))
        let loadCount = m.wire("load_count", u16, default: blocks(loadFirst, tilesK, blockLength))
        let pairFirst = m.wire("pair_first", u16, default: firstOf(pairStep))
        let pairCount = blocks(pairFirst, tilesK, blockLength)
        let lastPairStep = pairStep +& 1 === steps.extended(to: 17)

        // Local rows.
        let half = parameters.spRows / 2
        let aBase = mux(aHigh, n32(half), n32(0))
        let bBase = mux(bHigh, n32(parameters.spRows), n32(half)) -% (tilesK * tilesJ * n16(dim)).truncated(to: 32)
        func tileRow(_ base: Signal, _ tile: Signal) -> Signal { base +% (tile * n16(dim)).truncated(to: 32) }
        func aRow(_ i: Signal, _ k: Signal) -> Signal {
            tileRow(aBase, mux(transposeA, (k * tilesI).truncated(to: 32) +% i.extended(to: 32), (i * tilesK).truncated(to: 32) +% k.extended(to: 32)))
        }
        func bRow(_ k: Signal, _ j: Signal) -> Signal {
            tileRow(bBase, mux(transposeB, (j * tilesK).truncated(to: 32) +% k.extended(to: 32), (k * tilesJ).truncated(to: 32) +% j.extended(to: 32)))
        }
        let cBase = n32(1 << 31) | mux(accumulatorHalf, n32(parameters.accRows / 2), n32(0))
        func cRow(_ i: Signal, _ j: Signal) -> Signal { tileRow(cBase, (i * tilesJ).truncated(to: 32) +% j.extended(to: 32)) }
        let garbage = Signal.literal(0xFFFF_FFFF, u32)
        func operand(_ rows: Signal, _ columns: Signal, _ address: Signal) -> Signal { cat(rows, columns, address) }
        let garbageOperand = operand(n16(dim), n16(dim), garbage)

        // MARK: What the cursors have to emit
        let aHere = addressA =/= 0, bHere = addressB =/= 0, cHere = addressC =/= 0
        let storePending = m.wire("store_pending", .bool, default: sj < columnsDone)
        let inWaitingPhase = inPhase(.waiting) || inPhase(.drain)
        let emitLoad = m.wire("emit_load", .bool, default: loadsLeft && (inPhase(.firstLoads) || inWaitingPhase))
        let emitStore = m.wire("emit_store", .bool, default: !loadsLeft && storePending && inWaitingPhase)

        // MARK: The command of this cycle
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
        // Defaults: an mvout of C tile (si, sj).
        dramBase.set(addressC)
        dramX.set(si)
        dramY.set(sj)
        dramStride.set(strideC)
        dramWide.set(fullC)
        outFunct.set(functLiteral(Funct.mvout))
        func storeOperand(_ i: Signal, _ j: Signal) -> Signal {
            operand(rowsOf(i), columnsOf(j), cRow(i, j) | mux(fullC, n32(1 << 29), n32(0)))
        }
        emitted.command.rs2.set(storeOperand(si, sj))
        let dBlocks = max(parameters.maxBlockLenAcc, 1)
        let biasCount = mux(lowD, blocks(lj, tilesJ, blockLength), blocks(lj, tilesJ, dBlocks))

        m.when(inPhase(.residual)) {
            dramX.set(i); dramY.set(j)
            m.when(part === 0) {
                outFunct.set(functLiteral(Funct.mvin))
                dramBase.set(addressA); dramStride.set(strideA); dramWide.set(false)
                emitted.command.rs2.set(operand(rowsOf(i), columnsOf(j), cRow(i, j)))
            }.elsewhen(part === 1) {
                outFunct.set(functLiteral(Funct.mvin2))
                dramBase.set(addressB); dramStride.set(strideB); dramWide.set(false)
                emitted.command.rs2.set(operand(rowsOf(i), columnsOf(j), cRow(i, j) | n32(1 << 30)))
            }.otherwise {
                emitted.command.rs2.set(storeOperand(i, j))
            }
        }.elsewhen(inPhase(.bias)) {
            outFunct.set(functLiteral(Funct.mvin3))
            dramBase.set(addressD); dramStride.set(strideD); dramWide.set(!lowD)
            dramX.set(li); dramY.set(lj)
            emitted.command.rs2.set(operand(rowsOf(li), width(lj, biasCount, tilesJ, padJ), cRow(li, lj)))
        }.elsewhen(emitLoad && !loadingB) {
            outFunct.set(functLiteral(Funct.mvin))
            dramBase.set(addressA); dramStride.set(strideA); dramWide.set(false)
            m.when(transposeA) {
                dramX.set(lk); dramY.set(li)
                emitted.command.rs2.set(operand(depthOf(lk), width(li, blocks(li, tilesI, blockLength), tilesI, padI), aRow(li, lk)))
            }.otherwise {
                dramX.set(li); dramY.set(lk)
                emitted.command.rs2.set(operand(rowsOf(li), width(lk, loadCount, tilesK, padK), aRow(li, lk)))
            }
        }.elsewhen(emitLoad) {
            outFunct.set(functLiteral(Funct.mvin2))
            dramBase.set(addressB); dramStride.set(strideB); dramWide.set(false)
            m.when(transposeB) {
                dramX.set(lj); dramY.set(lk)
                emitted.command.rs2.set(operand(columnsOf(lj), width(lk, loadCount, tilesK, padK), bRow(lk, lj)))
            }.otherwise {
                dramX.set(lk); dramY.set(lj)
                emitted.command.rs2.set(operand(depthOf(lk), width(lj, blocks(lj, tilesJ, blockLength), tilesJ, padJ), bRow(lk, lj)))
            }
        }.elsewhen(inPhase(.pairs)) {
            let accumulate = exAccumulate || k =/= 0
            let cOperand = operand(rowsOf(i), columnsOf(j), cRow(i, j) | mux(accumulate, n32(1 << 30), n32(0)))
            let bOperand = operand(mux(transposeB, columnsOf(j), depthOf(k)), mux(transposeB, depthOf(k), columnsOf(j)), bRow(k, j))
            let aOperand = operand(mux(transposeA, depthOf(k), rowsOf(i)), mux(transposeA, rowsOf(i), depthOf(k)), aRow(i, k))
            m.when(part === 0) {
                outFunct.set(functLiteral(Funct.preload))
                emitted.command.rs1.set(mux(i === 0, bOperand, garbageOperand))
                emitted.command.rs2.set(cOperand)
            }.otherwise {
                outFunct.set(mux(i === 0, functLiteral(Funct.computePreloaded), functLiteral(Funct.computeAccumulated)))
                emitted.command.rs1.set(aOperand)
                emitted.command.rs2.set(garbageOperand)
            }
        }
        emitted.index.set(loopIndex)
        emitted.loop.internal.set(true)
        emitted.loop.slot.set(slot)

        // Whether there is a command this cycle (the residual add skips mvouts without C).
        let emitting = inPhase(.residual) && (part =/= 2 || cHere) || inPhase(.bias) || emitLoad || emitStore || inPhase(.pairs)

        // MARK: Host commands
        let idle = inPhase(.idle)
        let isLoopConfig = funct >= Signal(BigInteger(Funct.loopWSConfigBounds)) && funct <= Signal(BigInteger(Funct.loopWSConfigStridesDC))
        let isLoop = isFunct(Funct.loopWS)
        let slotFree = !select(waiting, at: slot)
        // LOOP_WS checks, in the golden model's order (docs/ACCELERATOR.md, "LOOP_WS").
        func code(_ error: ErrorCode) -> Signal { Signal.literal(BigInteger(error.rawValue), .uint(ErrorCode.bits)) }
        let launchTransposeA = rs2[0], launchTransposeB = rs2[1], launchResidual = rs2[2]
        let scratchpadRows = ((tilesI * tilesK).extended(to: 34) +& (tilesK * tilesJ).extended(to: 34)) * Signal.literal(BigInteger(dim), .uint(8))
        let accumulatorRows = (tilesI * tilesJ).extended(to: 34) * Signal.literal(BigInteger(dim), .uint(8))
        let checks: [(Signal, ErrorCode)] = [
            (rs1.bits(10, 8) > 1, .unsupportedField),
            (rs1.bits(19, 18) === 3 || rs1.bits(17, 16) === 3, .unsupportedField),
            (launchTransposeA && launchTransposeB, .unsupportedDataflow),
            (tilesI === 0 || tilesJ === 0 || tilesK === 0, .illegalOperand),
            (padI >= n16(dim) || padJ >= n16(dim) || padK >= n16(dim), .illegalOperand),
            ((!launchResidual && scratchpadRows > Signal(BigInteger(half)))
             || accumulatorRows > Signal(BigInteger(parameters.accRows / 2)), .localAddressOutOfRange),
        ]
        let failure = checks.reversed().reduce(Signal.literal(0, .uint(ErrorCode.bits))) { rest, check in mux(check.0, code(check.1), rest) }
        let failed = failure =/= 0

        // A loop finishing this cycle reports on `retire`; a config waits for the next cycle then.
        let completing = (0..<2).map { s in waiting[s] && outstanding[s] === 0 }
        let anyCompleting = completing[0] || completing[1]
        let consumed = isLoopConfig || isLoop
        let takeHost = idle && (mux(consumed, !anyCompleting && (!isLoop || failed || slotFree), io.issued.ready))
        io.command.ready.set(takeHost)
        io.issued.valid.set(mux(idle, io.command.valid && !consumed, emitting))
        m.when(idle) {
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
            padI.set(rs1.bits(15, 0)); padJ.set(rs1.bits(31, 16)); padK.set(rs1.bits(47, 32))
            tilesI.set(rs2.bits(15, 0)); tilesJ.set(rs2.bits(31, 16)); tilesK.set(rs2.bits(47, 32))
        }
        m.when(accepted && isFunct(Funct.loopWSConfigAddressesAB)) { addressA.set(rs1); addressB.set(rs2) }
        m.when(accepted && isFunct(Funct.loopWSConfigAddressesDC)) { addressD.set(rs1); addressC.set(rs2) }
        m.when(accepted && isFunct(Funct.loopWSConfigStridesAB)) { strideA.set(rs1); strideB.set(rs2) }
        m.when(accepted && isFunct(Funct.loopWSConfigStridesDC)) { strideD.set(rs1); strideC.set(rs2) }
        let launching = accepted && isLoop && !failed
        m.when(launching) {
            exAccumulate.set(rs1[0]); fullC.set(rs1[1]); lowD.set(rs1[2])
            aHigh.set(rs1.bits(19, 18) === 2); bHigh.set(rs1.bits(17, 16) === 2)
            transposeA.set(launchTransposeA); transposeB.set(launchTransposeB)
            loopIndex.set(hostCount)
            i.set(n16(0)); j.set(n16(0)); k.set(n16(0)); part.set(0)
            li.set(n16(0)); lj.set(n16(0)); lk.set(n16(0))
            si.set(n16(0)); sj.set(n16(0)); columnsDone.set(n16(0))
            pairStep.set(n16(0))
            m.when(launchResidual) { go(.residual) }.elsewhen(addressD =/= 0) { go(.bias) }.otherwise {
                startLoads(n16(0))
                go(.firstLoads)
            }
        }
        io.fault.valid.set(accepted && isLoop && failed)
        io.fault.bits.code.set(failure)
        io.fault.bits.index.set(hostCount)

        // MARK: Walking the loops
        let advance = m.wire("advance", .bool, default: io.issued.fire || (!idle && !emitting && !inPhase(.finish)))
        /// Points the load cursor at the first load of K block `step` (none left if there is no such block).
        func startLoads(_ step: Signal) {
            li.set(n16(0)); lj.set(n16(0)); lk.set(firstOf(step))
            loadStep.set(step)
            loadingB.set(!aHere)
            loadsLeft.set((aHere || bHere) && step < steps)
        }
        let loadFired = io.issued.fire && emitLoad
        m.when(loadFired) {
            m.when(!loadingB) {
                let doneA = m.wire("load_a_done", .bool, default: false)
                m.when(transposeA) {
                    let nextI = li +& blocks(li, tilesI, blockLength)
                    m.when(nextI < tilesI.extended(to: 17)) { li.set(nextI.truncated(to: 16)) }.otherwise {
                        li.set(n16(0))
                        m.when(lk +& 1 < (loadFirst +& loadCount)) { lk.set(lk +% 1) }.otherwise { doneA.set(true) }
                    }
                }.otherwise {
                    doneA.set(last(li, tilesI))
                    li.set(li +% 1)
                }
                m.when(doneA) {
                    li.set(n16(0)); lj.set(n16(0)); lk.set(loadFirst)
                    loadingB.set(true)
                    loadsLeft.set(bHere)
                }
            }.otherwise {
                m.when(transposeB) {
                    m.when(last(lj, tilesJ)) { loadsLeft.set(false) }
                    lj.set(lj +% 1)
                }.otherwise {
                    let nextJ = lj +& blocks(lj, tilesJ, blockLength)
                    m.when(nextJ < tilesJ.extended(to: 17)) { lj.set(nextJ.truncated(to: 16)) }.otherwise {
                        lj.set(n16(0))
                        m.when(lk +& 1 < (loadFirst +& loadCount)) { lk.set(lk +% 1) }.otherwise { loadsLeft.set(false) }
                    }
                }
            }
        }
        m.when(io.issued.fire && emitStore) {
            m.when(!last(si, tilesI)) { si.set(si +% 1) }.otherwise {
                si.set(n16(0))
                sj.set(sj +% 1)
            }
        }
        /// After a pair and its waiting command: the next pair, or the end of the block.
        func nextPair() {
            go(.pairs)
            m.when(!last(i, tilesI)) { i.set(i +% 1) }.otherwise {
                i.set(n16(0))
                m.when(k +& 1 < (pairFirst +& pairCount)) { k.set(k +% 1) }.otherwise {
                    k.set(pairFirst)
                    // Column j is done: in the last block its mvouts now wait.
                    m.when(lastPairStep && cHere) { columnsDone.set(columnsDone +% 1) }
                    m.when(!last(j, tilesJ)) { j.set(j +% 1) }.otherwise { go(.drain) }
                }
            }
        }
        m.when(advance) {
            m.when(inPhase(.residual)) {
                m.when(part =/= 2) { part.set(part +% 1) }.otherwise {
                    part.set(0)
                    m.when(!last(j, tilesJ)) { j.set(j +% 1) }.otherwise {
                        j.set(n16(0))
                        m.when(!last(i, tilesI)) { i.set(i +% 1) }.otherwise { go(.finish) }
                    }
                }
            }.elsewhen(inPhase(.bias)) {
                let nextJ = lj +& biasCount
                m.when(nextJ < tilesJ.extended(to: 17)) { lj.set(nextJ.truncated(to: 16)) }.otherwise {
                    lj.set(n16(0))
                    m.when(!last(li, tilesI)) { li.set(li +% 1) }.otherwise {
                        startLoads(n16(0))
                        go(.firstLoads)
                    }
                }
            }.elsewhen(inPhase(.firstLoads)) {
                // Block 0's operands, alone; once emitted, block 0's pairs start and block 1's loads wait.
                m.when(!loadsLeft) {
                    i.set(n16(0)); j.set(n16(0)); k.set(n16(0)); part.set(0)
                    startLoads(n16(1))
                    go(.pairs)
                }
            }.elsewhen(inPhase(.pairs)) {
                m.when(part === 0) { part.set(1) }.otherwise {
                    part.set(0)
                    // A waiting command follows the pair; with none, the next pair comes at once.
                    m.when(loadsLeft || storePending) { go(.waiting) }.otherwise { nextPair() }
                }
            }.elsewhen(inPhase(.waiting)) {
                nextPair()
            }.elsewhen(inPhase(.drain)) {
                // What still waits after the block's pairs; then the next block.
                m.when(!emitLoad && !emitStore) {
                    i.set(n16(0)); j.set(n16(0)); part.set(0)
                    m.when(lastPairStep) { go(.finish) }.otherwise {
                        pairStep.set(pairStep +% 1)
                        k.set(firstOf(pairStep +% 1))
                        startLoads(pairStep +% 2)
                        go(.pairs)
                    }
                }
            }
        }
        // Finish: hand the loop to its slot's completion check, flip the accumulator half after C.
        let finishing = inPhase(.finish)
        m.when(finishing) {
            go(.idle)
            m.when(addressC =/= 0) { accumulatorHalf.set(!accumulatorHalf) }
            slot.set(!slot)
        }

        // MARK: Completion
        for s in 0..<2 {
            let mine = Signal(s == 1)
            let issuedHere = io.issued.fire && !idle && slot === mine
            let retiredHere = io.retirements.map { $0.valid && $0.bits.loop.internal && $0.bits.loop.slot === mine }
            let retiredCount = retiredHere.reduce(Signal.literal(0, .uint(3))) { $0 +% mux($1, Signal.literal(1, .uint(3)), Signal.literal(0, .uint(3))) }
            outstanding[s].set(outstanding[s] +% mux(issuedHere, n16(1), n16(0)) -% retiredCount.extended(to: 16))
            m.when(finishing && slot === mine) {
                waiting[s].set(true)
                waitingIndex[s].set(loopIndex)
            }
        }
        let reportSlot = mux(completing[0], Signal(false), Signal(true))
        m.when(anyCompleting) {
            for s in 0..<2 { m.when(reportSlot === Signal(s == 1)) { waiting[s].set(false) } }
        }
        io.retire.valid.set(anyCompleting || (accepted && isLoopConfig) || (accepted && isLoop && failed))
        io.retire.bits.set(mux(anyCompleting, select(waitingIndex, at: reportSlot), hostCount))
        io.busy.set(!idle || waiting[0] || waiting[1])
    }
}
