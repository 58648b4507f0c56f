import SpinelHDL

/// Runs CONFIG_EX and PRELOAD+COMPUTE pairs in program order on the systolic array
/// (docs/ACCELERATOR.md, "PRELOAD and COMPUTE"; docs/MICROARCHITECTURE.md, "Slot schedules").
///
/// One pair at a time, in phases:
/// 1. *read*: the operands' rows go into three DIM×DIM buffers (A, B, D), zero-padded, stored
///    so that every slot reads a buffer row: transposition happens as rows arrive;
/// 2. *load*: for COMPUTE_PRELOADED, DIM slots shift B' (WS) or D' (OS) into the idle registers,
///    then the registers flip;
/// 3. *compute*: WS feeds the rows of A'; OS feeds DIM slots of A' columns and B' rows;
/// 4. *drain* (OS, C not GARBAGE): a flip and DIM slots shift the results out;
/// 5. *finish*: the result rows are written as they leave the array (WS adds D' first);
///    the pair retires when the last one has been written.
/// This first version overlaps nothing between pairs; overlapping them is the utilization work
/// of LOOP_WS (issue 4).
public struct ExecuteController: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "ExecuteController_\(parameters.name)" }

    public struct IO: Aggregate {
        public var command: Decoupled<ExecuteCommand>
        public var scratchpadRead: RowReadPort
        public var accumulatorRead: RowReadPort
        public var scratchpadWrite: Decoupled<RowWrite>
        public var accumulatorWrite: Decoupled<RowWrite>
        public var retire: Valid<Signal>
        public var busy: Signal

        public func map(_ f: FieldMapper) -> IO {
            IO(command: f.input("cmd", command), scratchpadRead: f.output("sp_read", scratchpadRead),
               accumulatorRead: f.output("acc_read", accumulatorRead), scratchpadWrite: f.output("sp_write", scratchpadWrite),
               accumulatorWrite: f.output("acc_write", accumulatorWrite), retire: f.output("retire", retire), busy: f.output("busy", busy))
        }
    }

    public var io: IO {
        let dim = parameters.dim
        let input = parameters.config.inputType.width, acc = parameters.config.accType.width
        return IO(command: Decoupled(ExecuteCommand()),
                  scratchpadRead: .template(rows: parameters.spRows, lanes: dim, laneWidth: input),
                  accumulatorRead: .template(rows: parameters.accRows, lanes: dim, laneWidth: acc),
                  scratchpadWrite: Decoupled(.template(rows: parameters.spRows, lanes: dim, laneWidth: input)),
                  accumulatorWrite: Decoupled(.template(rows: parameters.accRows, lanes: dim, laneWidth: acc)),
                  retire: Valid(Signal(.uint(32))), busy: Signal(.bool))
    }

    enum Phase: Int, CaseIterable { case idle, readA, readB, readD, load, compute, drain, finish }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let dim = parameters.dim
        let inputBits = parameters.config.inputType.width, accBits = parameters.config.accType.width
        let types = ArrayTypes(parameters)
        let mesh = Mesh(parameters)
        let tagBits = HWType.addressWidth(for: dim)
        let array = m.instance("array", MeshWithDelays(mesh: mesh, tagBits: tagBits))
        let latency = MeshWithDelays(mesh: mesh, tagBits: tagBits).latency
        let counterType = HWType.uint(HWType.addressWidth(for: dim + latency + 4))
        func count(_ value: Int) -> Signal { Signal.literal(BigInteger(value), counterType) }

        // CONFIG_EX state (reset values from docs/ACCELERATOR.md).
        let weightStationary = m.register("ws", .bool, reset: Signal(parameters.config.dataflow == .ws))
        let relu = m.register("relu", .bool, reset: false)
        let shift = m.register("shift", .uint(types.shiftBits), reset: 0)
        let transposeA = m.register("transpose_a", .bool, reset: false)
        let transposeB = m.register("transpose_b", .bool, reset: false)
        let aStride = m.register("a_stride", .uint(16), reset: 1)
        let cStride = m.register("c_stride", .uint(16), reset: 1)
        let propagate = m.register("propagate", .bool, reset: false)

        let phase = m.register("phase", .uint(3), reset: 0)
        func inPhase(_ p: Phase) -> Signal { phase === Signal(BigInteger(p.rawValue)) }
        func go(_ p: Phase) { phase.set(Signal.literal(BigInteger(p.rawValue), .uint(3))) }

        // The pair being run, captured when it is accepted.
        let pair = m.register("pair", ExecuteCommand())
        let accumulated = pair.command.command.funct === Signal(BigInteger(Funct.computeAccumulated))
        let aOperand = OperandFields(pair.command.command.rs1)
        let cOperand = OperandFields(pair.preloadRs2)
        // B' comes from the PRELOAD in WS and the COMPUTE in OS; D' the other way round.
        let bOperand = OperandFields(mux(weightStationary, pair.preloadRs1, pair.command.command.rs2))
        let dOperand = OperandFields(mux(weightStationary, pair.command.command.rs2, pair.preloadRs1))

        // MARK: Operand buffers
        let zeroInput = Signal.literal(0, .sint(inputBits)), zeroAcc = Signal.literal(0, .sint(accBits))
        let bufferA = (0..<dim).map { r in (0..<dim).map { c in m.register("a_\(r)_\(c)", .sint(inputBits)) } }
        let bufferB = (0..<dim).map { r in (0..<dim).map { c in m.register("b_\(r)_\(c)", .sint(inputBits)) } }
        let bufferD = (0..<dim).map { r in (0..<dim).map { c in m.register("d_\(r)_\(c)", .sint(accBits)) } }

        // Reads: one row request per cycle, its data one cycle later.
        let readRow = m.register("read_row", .uint(16), reset: 0)
        let readingA = inPhase(.readA), readingB = inPhase(.readB), readingD = inPhase(.readD)
        let current = OperandFields(mux(readingA, pair.command.command.rs1, mux(readingB, bOperand.word, dOperand.word)))
        let stride = mux(readingA, aStride, Signal.literal(1, .uint(16)))
        // B is not read for COMPUTE_ACCUMULATED in WS (weights stay); D is not read in OS then either.
        let skip = current.isGarbage || current.rows === 0 || current.columns === 0
            || (accumulated && ((readingB && weightStationary) || (readingD && !weightStationary)))
        let rowAddress = (current.row +% (readRow * stride).truncated(to: 26))
        let reading = readingA || readingB || readingD
        let wantRead = reading && !skip && readRow < current.rows
        let fromAccumulator = current.isAccumulator
        io.scratchpadRead.request.valid.set(wantRead && !fromAccumulator)
        io.scratchpadRead.request.bits.set(rowAddress.truncated(to: HWType.addressWidth(for: parameters.spRows)))
        io.accumulatorRead.request.valid.set(wantRead && fromAccumulator)
        io.accumulatorRead.request.bits.set(rowAddress.truncated(to: HWType.addressWidth(for: parameters.accRows)))
        let readFired = wantRead && mux(fromAccumulator, io.accumulatorRead.request.ready, io.scratchpadRead.request.ready)
        let lastRead = skip || readRow +& 1 >= current.rows
        m.when(readFired) { readRow.set(readRow +% 1) }
        m.when(reading && (skip || (readFired && lastRead))) {
            readRow.set(0)
            m.when(readingA) { go(.readB) }.elsewhen(readingB) { go(.readD) }.otherwise { go(.load) }
        }

        // The arriving row: which buffer, which row, how many columns, transposed or not.
        let arrivingValid = m.delay(readFired, name: "arriving_valid", reset: false)
        let arrivingTarget = m.delay(mux(readingA, Signal.literal(0, .uint(2)), mux(readingB, Signal.literal(1, .uint(2)), Signal.literal(2, .uint(2)))),
                                     name: "arriving_target")
        let arrivingRow = m.delay(readRow.truncated(to: tagBits), name: "arriving_row")
        let arrivingColumns = m.delay(current.columns, name: "arriving_columns")
        let arrivingAccumulator = m.delay(fromAccumulator, name: "arriving_from_acc")
        // A is kept as A' (WS) or A'ᵀ (OS) by rows, B as B' by rows, D as D'.
        let arrivingTransposed = m.delay(mux(readingA, mux(weightStationary, transposeA, !transposeA), readingB && transposeB),
                                         name: "arriving_transposed")
        let spLanes = (0..<dim).map { io.scratchpadRead.response.bits.bits(($0 + 1) * inputBits - 1, $0 * inputBits).asSInt }
        let accLanes = (0..<dim).map { io.accumulatorRead.response.bits.bits(($0 + 1) * accBits - 1, $0 * accBits).asSInt }

        let starting = io.command.fire && io.command.bits.command.command.funct =/= Signal(BigInteger(Funct.config))
        func arriving(_ target: Int) -> Signal { arrivingValid && arrivingTarget === Signal(BigInteger(target)) }
        func laneMoved(_ lane: Int) -> Signal { Signal(BigInteger(lane)) < arrivingColumns }
        for r in 0..<dim {
            for c in 0..<dim {
                // Element (r, c) comes from stored row r, lane c, or (transposed) stored row c, lane r.
                let straight = arrivingRow === Signal(BigInteger(r)) && laneMoved(c)
                let crossed = arrivingRow === Signal(BigInteger(c)) && laneMoved(r)
                let lands = mux(arrivingTransposed, crossed, straight)
                let value = mux(arrivingTransposed, spLanes[r], spLanes[c])
                m.when(starting) {
                    bufferA[r][c].set(zeroInput)
                    bufferB[r][c].set(zeroInput)
                    bufferD[r][c].set(zeroAcc)
                }
                m.when(arriving(0) && lands) { bufferA[r][c].set(value) }
                m.when(arriving(1) && lands) { bufferB[r][c].set(value) }
                m.when(arriving(2) && straight) {
                    bufferD[r][c].set(mux(arrivingAccumulator, accLanes[c], spLanes[c].extended(to: accBits)))
                }
            }
        }

        // MARK: Slots
        let slot = m.register("slot", counterType, reset: 0)
        let slotRow = slot.truncated(to: tagBits)
        /// Row `index` of a buffer, on named wires (each is read by many lanes).
        func row(_ buffer: [[Signal]], _ index: Signal, _ name: String) -> [Signal] {
            (0..<dim).map { c in m.wire("\(name)_\(c)", buffer[0][c].type!, default: select(buffer.map { $0[c] }, at: index)) }
        }
        let reversed = Signal.literal(BigInteger(dim - 1), .uint(tagBits)) -% slotRow
        let loading = inPhase(.load), computing = inPhase(.compute), draining = inPhase(.drain)
        let cGarbage = cOperand.isGarbage
        let computeSlots = mux(weightStationary,
                               mux(cGarbage, count(0), mux(aOperand.rows > cOperand.rows, aOperand.rows, cOperand.rows).resized(to: counterType.width)),
                               count(dim))
        let needsLoad = !accumulated
        let needsDrain = !weightStationary && !cGarbage
        let loadDone = !needsLoad || slot +& 1 >= count(dim)
        let computeDone = slot +& 1 >= computeSlots
        let drainDone = slot +& 1 >= count(dim)
        // Writing C to one accumulator row over and over: feed every other cycle so each
        // accumulation lands before the next one reads the row.
        let halfRate = cStride === 0 && cOperand.isAccumulator
        let pace = m.register("pace", .bool, reset: false)
        // The last operand row lands in its buffer a cycle after its read: wait for it.
        let mayFeed = (!halfRate || !pace) && !arrivingValid

        let feeding = (loading && needsLoad) || (computing && computeSlots =/= 0) || (draining && needsDrain)
        let feed = m.wire("feed", .bool, default: feeding && mayFeed)
        // The register flips when the load phase ends; a drain runs on the flipped value
        // before the register itself flips.
        let slotPropagate = mux(draining, !propagate, propagate)
        array.slot.valid.set(feed)
        let slotBits = array.slot.bits
        let aRow = row(bufferA, slotRow, "slot_a"), bRow = row(bufferB, slotRow, "slot_b")
        let loadRow = mux(weightStationary, cat(row(bufferB, reversed, "load_b").map { $0.extended(to: accBits).asUInt }.reversed()),
                          cat(row(bufferD, reversed, "load_d").map(\.asUInt).reversed()))
        for c in 0..<dim {
            slotBits.a[c].set(mux(computing, aRow[c], zeroInput))
            slotBits.b[c].set(mux(computing && !weightStationary, bRow[c], zeroInput))
            slotBits.d[c].set(mux(loading, loadRow.bits((c + 1) * accBits - 1, c * accBits).asSInt, zeroAcc))
        }
        slotBits.propagate.set(slotPropagate)
        slotBits.weightStationary.set(weightStationary)
        slotBits.shift.set(shift)
        let outputRow = mux(draining, reversed, slotRow)
        slotBits.output.set(!cGarbage && mux(weightStationary, computing, draining) && outputRow.extended(to: 16) < cOperand.rows)
        slotBits.tag.set(outputRow)

        m.when(halfRate && (loading || computing || draining)) { pace.set(!pace) }
        m.when(feed || (!arrivingValid && ((loading && !needsLoad) || (computing && computeSlots === 0) || (draining && !needsDrain)))) {
            m.when(loading) {
                m.when(loadDone) {
                    slot.set(count(0))
                    go(.compute)
                    m.when(needsLoad) { propagate.set(!propagate) }
                }.otherwise { slot.set(slot +% 1) }
            }.elsewhen(computing) {
                m.when(computeSlots === 0 || computeDone) {
                    slot.set(count(0))
                    go(.drain)
                }.otherwise { slot.set(slot +% 1) }
            }.elsewhen(draining) {
                m.when(!needsDrain || drainDone) {
                    slot.set(count(0))
                    go(.finish)
                    m.when(needsDrain) { propagate.set(!propagate) }
                }.otherwise { slot.set(slot +% 1) }
            }
        }

        // MARK: Results
        let result = array.result
        let resultRow = result.bits.tag
        let dRow = row(bufferD, resultRow, "result_d")
        let values = (0..<dim).map { c in
            mux(weightStationary, result.bits.row[c] +% dRow[c], result.bits.row[c])
        }
        let low = Signal.literal(HWType.sint(inputBits).range.lowerBound, .sint(accBits))
        let high = Signal.literal(HWType.sint(inputBits).range.upperBound, .sint(accBits))
        let saturated = values.map { value -> Signal in
            let clamped = mux(value < low, low, mux(value > high, high, value)).truncated(to: inputBits)
            return mux(relu && clamped < zeroInput, zeroInput, clamped).asUInt
        }
        let destination = (cOperand.row +% (resultRow.extended(to: 16) * cStride).truncated(to: 26))
        let mask = cat((0..<dim).reversed().map { Signal(BigInteger($0)) < cOperand.columns })
        io.scratchpadWrite.valid.set(result.valid && !cOperand.isAccumulator)
        io.scratchpadWrite.bits.row.set(destination.truncated(to: HWType.addressWidth(for: parameters.spRows)))
        io.scratchpadWrite.bits.data.set(cat(saturated.reversed()))
        io.scratchpadWrite.bits.mask.set(mask)
        io.scratchpadWrite.bits.accumulate.set(false)
        io.accumulatorWrite.valid.set(result.valid && cOperand.isAccumulator)
        io.accumulatorWrite.bits.row.set(destination.truncated(to: HWType.addressWidth(for: parameters.accRows)))
        io.accumulatorWrite.bits.data.set(cat(values.map(\.asUInt).reversed()))
        io.accumulatorWrite.bits.mask.set(mask)
        io.accumulatorWrite.bits.accumulate.set(cOperand.accumulates)

        // Finish: wait out the array's latency and the accumulator's landing cycle.
        let wait = m.register("wait", counterType, reset: 0)
        let finishing = inPhase(.finish)
        m.when(finishing) { wait.set(wait +% 1) }
        let finished = finishing && wait >= count(latency + 2)
        m.when(finished) {
            wait.set(count(0))
            go(.idle)
        }

        // MARK: Commands
        let idle = inPhase(.idle)
        let incoming = io.command.bits
        let isConfig = incoming.command.command.funct === Signal(BigInteger(Funct.config))
        io.command.ready.set(idle)
        m.when(io.command.fire) {
            m.when(isConfig) {
                let rs1 = incoming.command.command.rs1, rs2 = incoming.command.command.rs2
                aStride.set(rs1.bits(31, 16))
                cStride.set(rs2.bits(63, 48))
                m.when(!rs1[7]) {
                    weightStationary.set(rs1[2])
                    relu.set(rs1.bits(4, 3) === 1)
                    shift.set(rs2.bits(types.shiftBits - 1, 0))
                    transposeA.set(rs1[8])
                    transposeB.set(rs1[9])
                }
            }.otherwise {
                m.connect(pair, from: incoming)
                go(.readA)
            }
        }
        let configRetire = io.command.fire && isConfig
        io.retire.valid.set(configRetire || finished)
        io.retire.bits.set(mux(configRetire, incoming.command.index, pair.command.index))
        io.busy.set(!idle || io.command.valid)
    }
}
