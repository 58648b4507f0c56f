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

    enum Phase: Int { case idle, residual, bias, loadA, loadB, pairs, store, finish }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let dim = parameters.dim
        let u16 = HWType.uint(16), u64 = HWType.uint(64)
        func n16(_ value: Int) -> Signal { Signal.literal(BigInteger(value), u16) }
        func n64(_ value: Int) -> Signal { Signal.literal(BigInteger(value), u64) }
        let blockLength = parameters.loopBlockTiles
        let input = io.command.bits
        let funct = input.funct, rs1 = input.rs1, rs2 = input.rs2
        func isFunct(_ value: Int) -> Signal { funct === Signal(BigInteger(value)) }

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
        let i = m.register("i", u16, reset: 0), j = m.register("j", u16, reset: 0), k = m.register("k", u16, reset: 0)
        let part = m.register("part", .uint(2), reset: 0)
        let pairStep = m.register("pair_step", u16, reset: 0), loadStep = m.register("load_step", u16, reset: 0)

        // Loops in flight: per slot, whether it waits for its commands to retire, and how many are out.
        let waiting = (0..<2).map { m.register("slot_\($0)_waiting", .bool, reset: false) }
        let outstanding = (0..<2).map { m.register("slot_\($0)_outstanding", u16, reset: 0) }
        let waitingIndex = (0..<2).map { m.register("slot_\($0)_index", .uint(32), reset: 0) }

        // MARK: Shapes
        func last(_ counter: Signal, _ total: Signal) -> Signal { counter +& 1 === total.extended(to: 17) }
        let lastI = last(i, tilesI), lastJ = last(j, tilesJ), lastK = last(k, tilesK)
        let rowsOfI = m.wire("rows_of_i", u16, default: n16(dim) -% mux(lastI, padI, n16(0)))
        let columnsOfJ = m.wire("columns_of_j", u16, default: n16(dim) -% mux(lastJ, padJ, n16(0)))
        let depthOfK = m.wire("depth_of_k", u16, default: n16(dim) -% mux(lastK, padK, n16(0)))
        /// `min(block, total − first)` tiles from `first`, and their width in elements.
        func blocks(_ first: Signal, _ total: Signal, _ block: Int) -> Signal {
            let left = total -% first
            return mux(left < n16(block), left, n16(block))
        }
        func width(_ first: Signal, _ count: Signal, _ total: Signal, _ pad: Signal) -> Signal {
            ((count * n16(dim)).truncated(to: 16) -% mux(first +& count === total.extended(to: 17), pad, n16(0)))
        }
        let steps = m.wire("steps", u16, default: ((tilesK +& n16(blockLength - 1)) >> blockLength.trailingZeroBitCount).resized(to: 16))
        let stepFirst = m.wire("step_first", u16, default: (loadStep * n16(blockLength)).truncated(to: 16))
        let stepCount = m.wire("step_count", u16, default: blocks(stepFirst, tilesK, blockLength))
        let pairFirst = m.wire("pair_first", u16, default: (pairStep * n16(blockLength)).truncated(to: 16))
        let pairCount = blocks(pairFirst, tilesK, blockLength)
        let lastKOfPairStep = k +& 1 === (pairFirst +& pairCount)
        let lastPairStep = pairStep +& 1 === steps.extended(to: 17)

        // Local rows.
        let half = parameters.spRows / 2
        let aBase = mux(aHigh, Signal.literal(BigInteger(half), .uint(32)), Signal.literal(0, .uint(32)))
        let bEnd = mux(bHigh, Signal.literal(BigInteger(parameters.spRows), .uint(32)), Signal.literal(BigInteger(half), .uint(32)))
        let bBase = bEnd -% (tilesK * tilesJ * n16(dim)).truncated(to: 32)
        func tileRow(_ base: Signal, _ tile: Signal) -> Signal { base +% (tile * n16(dim)).truncated(to: 32) }
        let aRow = m.wire("a_row", .uint(32), default: tileRow(aBase, mux(transposeA, (k * tilesI).truncated(to: 32) +% i.extended(to: 32),
                                                                             (i * tilesK).truncated(to: 32) +% k.extended(to: 32))))
        let bRow = m.wire("b_row", .uint(32), default: tileRow(bBase, mux(transposeB, (j * tilesK).truncated(to: 32) +% k.extended(to: 32),
                                                                             (k * tilesJ).truncated(to: 32) +% j.extended(to: 32))))
        let accumulatorBit = Signal.literal(BigInteger(1) << 31, .uint(32))
        let cBase = accumulatorBit | mux(accumulatorHalf, Signal.literal(BigInteger(parameters.accRows / 2), .uint(32)), Signal.literal(0, .uint(32)))
        let cRow = m.wire("c_row", .uint(32), default: tileRow(cBase, (i * tilesJ).truncated(to: 32) +% j.extended(to: 32)))
        let garbage = Signal.literal(0xFFFF_FFFF, .uint(32))
        func operand(_ rows: Signal, _ columns: Signal, _ address: Signal) -> Signal { cat(rows, columns, address) }
        let garbageOperand = operand(n16(dim), n16(dim), garbage)

        // MARK: The command of this cycle
        let inputBytes = n64(parameters.inputBytes), accBytes = n64(parameters.accBytes)
        let emitted = m.wire("emitted", IssuedCommand())
        let outFunct = emitted.command.funct
        // DRAM address = base + (x·stride + y)·DIM·bytes, its operands chosen by phase.
        let dramBase = m.wire("dram_base", u64), dramX = m.wire("dram_x", u16), dramY = m.wire("dram_y", u16)
        let dramStride = m.wire("dram_stride", u64), dramWide = m.wire("dram_wide", .bool)
        let elements = m.wire("dram_elements", u64, default: (((dramX.extended(to: 64) * dramStride).truncated(to: 64) +% dramY.extended(to: 64))
            * n64(dim)).truncated(to: 64))
        let dram = dramBase +% mux(dramWide, (elements * accBytes).truncated(to: 64), (elements * inputBytes).truncated(to: 64))
        emitted.command.rs1.set(dram)
        emitted.command.rs2.set(Signal.literal(0, u64))
        dramBase.set(addressC)
        dramX.set(i)
        dramY.set(j)
        dramStride.set(strideC)
        dramWide.set(fullC)
        outFunct.set(Signal.literal(BigInteger(Funct.mvout), .uint(7)))
        let storeOperand = operand(rowsOfI, columnsOfJ, cRow | mux(fullC, Signal.literal(BigInteger(1) << 29, .uint(32)), Signal.literal(0, .uint(32))))
        let dBlocks = max(parameters.maxBlockLenAcc, 1), dBlocksLow = blockLength
        let biasCount = mux(lowD, blocks(j, tilesJ, dBlocksLow), blocks(j, tilesJ, dBlocks))

        m.when(inPhase(.residual)) {
            m.when(part === 0) {
                outFunct.set(Signal.literal(BigInteger(Funct.mvin), .uint(7)))
                dramBase.set(addressA); dramStride.set(strideA); dramWide.set(false)
                emitted.command.rs2.set(operand(rowsOfI, columnsOfJ, cRow))
            }.elsewhen(part === 1) {
                outFunct.set(Signal.literal(BigInteger(Funct.mvin2), .uint(7)))
                dramBase.set(addressB); dramStride.set(strideB); dramWide.set(false)
                emitted.command.rs2.set(operand(rowsOfI, columnsOfJ, cRow | Signal.literal(BigInteger(1) << 30, .uint(32))))
            }.otherwise {
                emitted.command.rs2.set(storeOperand)
            }
        }.elsewhen(inPhase(.bias)) {
            outFunct.set(Signal.literal(BigInteger(Funct.mvin3), .uint(7)))
            dramBase.set(addressD); dramStride.set(strideD); dramWide.set(!lowD)
            emitted.command.rs2.set(operand(rowsOfI, width(j, biasCount, tilesJ, padJ), cRow))
        }.elsewhen(inPhase(.loadA)) {
            outFunct.set(Signal.literal(BigInteger(Funct.mvin), .uint(7)))
            dramBase.set(addressA); dramStride.set(strideA); dramWide.set(false)
            m.when(transposeA) {
                dramX.set(k); dramY.set(i)
                emitted.command.rs2.set(operand(depthOfK, width(i, blocks(i, tilesI, blockLength), tilesI, padI), aRow))
            }.otherwise {
                dramX.set(i); dramY.set(k)
                emitted.command.rs2.set(operand(rowsOfI, width(k, stepCount, tilesK, padK), aRow))
            }
        }.elsewhen(inPhase(.loadB)) {
            outFunct.set(Signal.literal(BigInteger(Funct.mvin2), .uint(7)))
            dramBase.set(addressB); dramStride.set(strideB); dramWide.set(false)
            m.when(transposeB) {
                dramX.set(j); dramY.set(k)
                emitted.command.rs2.set(operand(columnsOfJ, width(k, stepCount, tilesK, padK), bRow))
            }.otherwise {
                dramX.set(k); dramY.set(j)
                emitted.command.rs2.set(operand(depthOfK, width(j, blocks(j, tilesJ, blockLength), tilesJ, padJ), bRow))
            }
        }.elsewhen(inPhase(.pairs)) {
            let accumulate = exAccumulate || k =/= 0
            let cOperand = operand(rowsOfI, columnsOfJ, cRow | mux(accumulate, Signal.literal(BigInteger(1) << 30, .uint(32)), Signal.literal(0, .uint(32))))
            let bOperand = operand(mux(transposeB, columnsOfJ, depthOfK), mux(transposeB, depthOfK, columnsOfJ), bRow)
            let aOperand = operand(mux(transposeA, depthOfK, rowsOfI), mux(transposeA, rowsOfI, depthOfK), aRow)
            m.when(part === 0) {
                outFunct.set(Signal.literal(BigInteger(Funct.preload), .uint(7)))
                emitted.command.rs1.set(mux(i === 0, bOperand, garbageOperand))
                emitted.command.rs2.set(cOperand)
            }.otherwise {
                outFunct.set(mux(i === 0, Signal.literal(BigInteger(Funct.computePreloaded), .uint(7)),
                                 Signal.literal(BigInteger(Funct.computeAccumulated), .uint(7))))
                emitted.command.rs1.set(aOperand)
                emitted.command.rs2.set(garbageOperand)
            }
        }.elsewhen(inPhase(.store)) {
            emitted.command.rs2.set(storeOperand)
        }
        emitted.index.set(loopIndex)
        emitted.loop.internal.set(true)
        emitted.loop.slot.set(slot)

        // Whether this phase has a command this cycle (the residual add skips mvouts without C).
        let emitting = inPhase(.residual) && (part =/= 2 || addressC =/= 0) || inPhase(.bias) || (inPhase(.loadA) && addressA =/= 0)
            || (inPhase(.loadB) && addressB =/= 0) || inPhase(.pairs) || inPhase(.store)

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
            pairStep.set(n16(0)); loadStep.set(n16(0))
            m.when(launchResidual) { go(.residual) }.elsewhen(addressD =/= 0) { go(.bias) }.otherwise { go(.loadA) }
        }
        io.fault.valid.set(accepted && isLoop && failed)
        io.fault.bits.code.set(failure)
        io.fault.bits.index.set(hostCount)

        // MARK: Walking the loops
        let advance = m.wire("advance", .bool, default: io.issued.fire || (!idle && !emitting && !inPhase(.finish)))
        let bHere = addressB =/= 0, aHere = addressA =/= 0
        /// After the operands of `loadStep`: the next block's operands, or the pairs.
        func afterLoads() {
            m.when(loadStep < pairStep +% 1 && loadStep +& 1 < steps.extended(to: 17)) {
                loadStep.set(loadStep +% 1)
                i.set(n16(0)); j.set(n16(0)); k.set(((loadStep +% 1) * n16(blockLength)).truncated(to: 16))
                go(.loadA)
            }.otherwise {
                i.set(n16(0)); j.set(n16(0)); k.set(pairFirst); part.set(0)
                go(.pairs)
            }
        }
        m.when(advance) {
            m.when(inPhase(.residual)) {
                m.when(part =/= 2) { part.set(part +% 1) }.otherwise {
                    part.set(0)
                    m.when(!lastJ) { j.set(j +% 1) }.otherwise {
                        j.set(n16(0))
                        m.when(!lastI) { i.set(i +% 1) }.otherwise { go(.finish) }
                    }
                }
            }.elsewhen(inPhase(.bias)) {
                let nextJ = j +& biasCount
                m.when(nextJ < tilesJ.extended(to: 17)) { j.set(nextJ.truncated(to: 16)) }.otherwise {
                    j.set(n16(0))
                    m.when(!lastI) { i.set(i +% 1) }.otherwise {
                        i.set(n16(0)); k.set(n16(0))
                        go(.loadA)
                    }
                }
            }.elsewhen(inPhase(.loadA)) {
                let done = m.wire("load_a_done", .bool, default: false)
                m.when(!aHere) { done.set(true) }.elsewhen(transposeA) {
                    let nextI = i +& blocks(i, tilesI, blockLength)
                    done.set(false)
                    m.when(nextI < tilesI.extended(to: 17)) { i.set(nextI.truncated(to: 16)) }.otherwise {
                        i.set(n16(0))
                        m.when(k +& 1 < (stepFirst +& stepCount)) { k.set(k +% 1) }.otherwise { done.set(true) }
                    }
                }.otherwise {
                    done.set(lastI)
                    i.set(i +% 1)
                }
                m.when(done) {
                    i.set(n16(0)); j.set(n16(0)); k.set(stepFirst)
                    go(.loadB)
                }
            }.elsewhen(inPhase(.loadB)) {
                let done = m.wire("load_b_done", .bool, default: false)
                m.when(!bHere) { done.set(true) }.elsewhen(transposeB) {
                    done.set(lastJ)
                    j.set(j +% 1)
                }.otherwise {
                    let nextJ = j +& blocks(j, tilesJ, blockLength)
                    done.set(false)
                    m.when(nextJ < tilesJ.extended(to: 17)) { j.set(nextJ.truncated(to: 16)) }.otherwise {
                        j.set(n16(0))
                        m.when(k +& 1 < (stepFirst +& stepCount)) { k.set(k +% 1) }.otherwise { done.set(true) }
                    }
                }
                m.when(done) { afterLoads() }
            }.elsewhen(inPhase(.pairs)) {
                m.when(part === 0) { part.set(1) }.otherwise {
                    part.set(0)
                    m.when(!lastI) { i.set(i +% 1) }.otherwise {
                        i.set(n16(0))
                        m.when(!lastKOfPairStep) { k.set(k +% 1) }.otherwise {
                            k.set(pairFirst)
                            m.when(lastPairStep && addressC =/= 0) { go(.store) }
                                .elsewhen(!lastJ) { j.set(j +% 1) }
                                .otherwise {
                                    // This K block is done: the next one's pairs, after the block after it is loaded.
                                    j.set(n16(0))
                                    m.when(lastPairStep) { go(.finish) }.otherwise {
                                        pairStep.set(pairStep +% 1)
                                        k.set(((pairStep +% 1) * n16(blockLength)).truncated(to: 16))
                                        m.when(loadStep +& 1 < steps.extended(to: 17)) {
                                            loadStep.set(loadStep +% 1)
                                            k.set(((loadStep +% 1) * n16(blockLength)).truncated(to: 16))
                                            go(.loadA)
                                        }
                                    }
                                }
                        }
                    }
                }
            }.elsewhen(inPhase(.store)) {
                m.when(!lastI) { i.set(i +% 1) }.otherwise {
                    i.set(n16(0))
                    m.when(!lastJ) {
                        j.set(j +% 1)
                        go(.pairs)
                    }.otherwise { go(.finish) }
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
