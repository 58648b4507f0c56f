import SpinelHDL

/// A fault a controller reports: the error code and the failing command's index.
@Bundle
public struct CommandFault: Aggregate {
    public var code: Signal
    public var index: Signal

    public init() { self.init(code: Signal(.uint(ErrorCode.bits)), index: Signal(.uint(32))) }
}

/// Runs CONFIG_LD and MVIN/MVIN2/MVIN3 in program order (docs/ACCELERATOR.md, "MVIN").
///
/// Two halves work at once. The issuer walks each mvin row by row, sends a DMA read per row
/// (none for DRAM address 0, which moves zeros) and queues a note of what to do with it. The
/// writer takes notes in order, waits for the row's DMA data, scales it (scratchpad) or widens
/// and scales it (accumulator), and writes one DIM-lane block per cycle, masked to the moved columns. A
/// command retires after its last row is written (and, in the accumulator, has landed), so
/// the next mvin's reads overlap the previous one's writes.
public struct LoadController: Module {
    public let parameters: AcceleratorParameters
    public let dma: DMAParameters

    public init(_ parameters: AcceleratorParameters, dma: DMAParameters) {
        self.parameters = parameters
        self.dma = dma
    }

    public var name: String { "LoadController_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<RoutedCommand>
        @Output("dma_req") public var readRequest: Decoupled<DMAReadRequest>
        @Input("dma_resp") public var readResponse: Decoupled<DMAReadResponse>
        @Output("sp_write") public var scratchpadWrite: Decoupled<RowWrite>
        @Output("acc_write") public var accumulatorWrite: Decoupled<RowWrite>
        /// Pulses when the oldest command retires; the reservation station knows which one.
        @Output public var retire: Signal
        @Output public var fault: Valid<CommandFault>
        @Output public var busy: Signal
    }

    public var io: IO {
        let dim = parameters.dim
        return IO(command: Decoupled(RoutedCommand()), readRequest: Decoupled(DMAReadRequest(dma)),
                  readResponse: Decoupled(DMAReadResponse(dma)),
                  scratchpadWrite: Decoupled(.template(rows: parameters.spRows, lanes: dim, laneWidth: parameters.config.inputType.width)),
                  accumulatorWrite: Decoupled(.template(rows: parameters.accRows, lanes: dim, laneWidth: parameters.config.accType.width)),
                  retire: Signal(.bool), fault: Valid(CommandFault()), busy: Signal(.bool))
    }

    /// What the writer must do with one row (or, with `noWrites`, one whole command).
    @Bundle
    struct RowNote: Aggregate {
        @Name("row") var localRow: Signal
        @Name("acc") var accumulator: Signal
        var accumulate: Signal
        var shrunk: Signal
        var columns: Signal
        @Name("block_stride") var blockStride: Signal
        var scale: Signal
        var zeros: Signal
        @Name("no_writes") var noWrites: Signal
        var last: Signal
        var index: Signal
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let dim = parameters.dim
        let inputBits = parameters.config.inputType.width, accBits = parameters.config.accType.width
        let command = io.command.bits.command
        let rs1 = command.rs1, rs2 = command.rs2

        // The three load states (CONFIG_LD's rs1[4:3] selects one).
        let dramStride = (0..<3).map { m.register("ld\($0)_dram_stride", .uint(64), reset: 0) }
        let scale = (0..<3).map { m.register("ld\($0)_scale", .uint(32), reset: Signal.literal(0x3F80_0000, .uint(32))) }
        let shrunk = (0..<3).map { m.register("ld\($0)_shrunk", .bool, reset: false) }
        let blockStride = (0..<3).map { m.register("ld\($0)_block_stride", .uint(16), reset: Signal(dim)) }

        // MARK: Issuer
        let notes = m.instance("notes", Queue(entries: dma.maxInFlight + 2, payload: .uint(noteTemplate.packedWidth)))
        let rowCounter = m.register("row", .uint(16), reset: 0)
        let funct = command.funct
        let isConfig = funct === Signal(Funct.config)
        let which = mux(funct === Signal(Funct.mvin), Signal.literal(0, .uint(2)),
                        mux(funct === Signal(Funct.mvin2), Signal.literal(1, .uint(2)), Signal.literal(2, .uint(2))))
        let operand = OperandFields(rs2)
        let state = (dramStride: select(dramStride, at: which), scale: select(scale, at: which),
                     shrunk: select(shrunk, at: which), blockStride: select(blockStride, at: which))
        let rows = operand.rows, columns = operand.columns
        let empty = isConfig || rows === 0 || columns === 0
        let zeros = rs1 === 0
        let lastRow = m.wire("last_row", .bool, default: empty || rowCounter +& 1 >= rows)
        let elementBytes = mux(operand.isAccumulator && !state.shrunk, Signal.literal(parameters.accBytes, .uint(4)),
                               Signal.literal(parameters.inputBytes, .uint(4)))
        let note = RowNote(localRow: (operand.row +% rowCounter.extended(to: LocalAddressLayout.rowIndexBits)).truncated(to: LocalAddressLayout.rowIndexBits),
                           accumulator: operand.isAccumulator, accumulate: operand.accumulates, shrunk: state.shrunk,
                           columns: columns, blockStride: state.blockStride, scale: state.scale, zeros: zeros,
                           noWrites: empty, last: lastRow, index: io.command.bits.index)
        let needsRead = io.command.valid && !empty && !zeros
        io.readRequest.valid.set(needsRead && notes.enq.ready)
        io.readRequest.bits.address.set(rs1 +% (rowCounter * state.dramStride).truncated(to: 64))
        io.readRequest.bits.bytes.set((columns * elementBytes).resized(to: dma.bytesBits))
        io.readRequest.bits.tag.set(Signal.literal(0, .uint(dma.tagBits)))
        let stepDone = m.wire("step_done", .bool, default: notes.enq.ready && (!needsRead || io.readRequest.ready))
        notes.enq.valid.set(io.command.valid && stepDone)
        notes.enq.bits.set(note.packed)
        io.command.ready.set(stepDone && lastRow)
        m.when(io.command.valid && stepDone) {
            rowCounter.set(mux(lastRow, Signal.literal(0, .uint(16)), rowCounter +% 1))
        }
        m.when(io.command.fire && isConfig) {
            for index in 0..<3 {
                m.when(rs1.field(ConfigLoadFields.state) === Signal(index)) {
                    dramStride[index].set(rs2)
                    scale[index].set(rs1.field(ConfigLoadFields.scale))
                    shrunk[index].set(rs1[ConfigLoadFields.shrunkBit])
                    blockStride[index].set(rs1.field(ConfigLoadFields.blockStride))
                }
            }
        }

        // MARK: Writer
        let head = noteTemplate.unpacked(from: notes.deq.bits)
        let block = m.register("block", .uint(16), reset: 0)
        let faulted = m.register("faulted", .bool, reset: false)
        let hasData = m.wire("has_data", .bool, default: notes.deq.valid && !head.noWrites && !head.zeros)
        let dataReady = !hasData || io.readResponse.valid
        let blocks = OperandFields.lastBlock(ofColumns: head.columns, parameters) +% 1
        let lastBlock = m.wire("last_block", .bool, default: head.noWrites || block +% 1 >= blocks)
        let rowFaults = hasData && io.readResponse.bits.error
        let skipWrites = head.noWrites || faulted || rowFaults
        let destination = (head.localRow +% (block * head.blockStride).truncated(to: LocalAddressLayout.rowIndexBits))

        // Element c of the row sits in bytes [c·size, (c+1)·size) of the response.
        let data = mux(head.zeros, Signal.literal(0, .uint(dma.maxBytes * 8)), io.readResponse.bits.data)
        func lanes(elementBits: Int) -> [Signal] {
            let blockBits = dim * elementBits
            let maxBlocks = (dma.maxBytes * 8 + blockBits - 1) / blockBits
            let padded = cat(Signal.literal(0, .uint(maxBlocks * blockBits - dma.maxBytes * 8 + 1)), data).truncated(to: maxBlocks * blockBits)
            let blockData = select((0..<maxBlocks).map { padded.bits(($0 + 1) * blockBits - 1, $0 * blockBits) }, at: block)
            return (0..<dim).map { blockData.bits(($0 + 1) * elementBits - 1, $0 * elementBits).asSInt }
        }
        let mask = cat((0..<dim).reversed().map { lane in
            (block.extended(to: 17) * Signal.literal(dim, .uint(9))).truncated(to: 17) +% Signal.literal(lane, .uint(17))
                < head.columns.extended(to: 17)
        })

        // Scratchpad: MVIN_SCALE per lane; exactly 1.0 passes values through untouched.
        let scaleIsOne = head.scale === Signal.literal(0x3F80_0000, .uint(32))
        let scratchpadLanes = lanes(elementBits: inputBits).enumerated().map { lane, value -> Signal in
            let unit = m.instance("scale_\(lane)", ScaleUnit(inputWidth: inputBits, outputWidth: inputBits))
            unit.value.set(value)
            unit.scale.set(head.scale)
            return mux(scaleIsOne, value, unit.result).asUInt
        }
        // Accumulator: accType elements, or inputType sign-extended when shrunk; then Gemmini's
        // mvin_scale_acc, sat(rne(fp32(x) ⊗ scale)) into accType, where there is scale hardware
        // (without it CONFIG_LD only takes 1.0). Exactly 1.0 passes values through untouched.
        let wide = lanes(elementBits: accBits), narrow = lanes(elementBits: inputBits)
        let accumulatorLanes = (0..<dim).map { lane -> Signal in
            let value = mux(head.shrunk, narrow[lane].extended(to: accBits), wide[lane])
            guard parameters.config.mvinScale == .fp32 else { return value.asUInt }
            let unit = m.instance("acc_scale_\(lane)", ScaleUnit(inputWidth: accBits, outputWidth: accBits))
            unit.value.set(value)
            unit.scale.set(head.scale)
            return mux(scaleIsOne, value, unit.result).asUInt
        }

        // The accumulator lands a write one cycle after taking it, so a command whose last row
        // went to the accumulator retires one cycle later (`draining`), writing nothing more.
        let draining = m.register("draining", .bool, reset: false)
        let writeValid = notes.deq.valid && dataReady && !skipWrites && !draining
        io.scratchpadWrite.valid.set(writeValid && !head.accumulator)
        io.scratchpadWrite.bits.row.set(destination.truncated(to: HWType.addressWidth(for: parameters.spRows)))
        io.scratchpadWrite.bits.data.set(cat(scratchpadLanes.reversed()))
        io.scratchpadWrite.bits.mask.set(mask)
        io.scratchpadWrite.bits.accumulate.set(false)
        io.accumulatorWrite.valid.set(writeValid && head.accumulator)
        io.accumulatorWrite.bits.row.set(destination.truncated(to: HWType.addressWidth(for: parameters.accRows)))
        io.accumulatorWrite.bits.data.set(cat(accumulatorLanes.reversed()))
        io.accumulatorWrite.bits.mask.set(mask)
        io.accumulatorWrite.bits.accumulate.set(head.accumulate)
        let written = skipWrites || draining || mux(head.accumulator, io.accumulatorWrite.ready, io.scratchpadWrite.ready)
        let rowDone = m.wire("row_done", .bool, default: notes.deq.valid && dataReady && written && lastBlock)
        let blockStep = notes.deq.valid && dataReady && written && !lastBlock
        let mustDrain = head.last && head.accumulator && !skipWrites
        let finish = m.wire("finish", .bool, default: rowDone && (!mustDrain || draining))
        m.when(blockStep) { block.set(block +% 1) }
        m.when(rowDone && !finish) { draining.set(true) }
        m.when(finish) {
            block.set(0)
            draining.set(false)
            m.when(rowFaults) { faulted.set(true) }
            m.when(head.last) { faulted.set(false) }
        }
        notes.deq.ready.set(finish)
        io.readResponse.ready.set(finish && hasData)
        io.retire.set(finish && head.last)
        io.fault.valid.set(finish && rowFaults && !faulted)
        io.fault.bits.code.set(Signal.literal(ErrorCode.dmaReadFault.rawValue, .uint(ErrorCode.bits)))
        io.fault.bits.index.set(head.index)
        io.busy.set(io.command.valid || notes.deq.valid)
    }

    var noteTemplate: RowNote {
        RowNote(localRow: Signal(.uint(LocalAddressLayout.rowIndexBits)), accumulator: Signal(.bool), accumulate: Signal(.bool), shrunk: Signal(.bool),
                columns: Signal(.uint(16)), blockStride: Signal(.uint(16)), scale: Signal(.uint(32)), zeros: Signal(.bool),
                noWrites: Signal(.bool), last: Signal(.bool), index: Signal(.uint(32)))
    }
}
