import SpinelHDL

/// Runs CONFIG_ST, CONFIG_NORM and MVOUT in program order (docs/ACCELERATOR.md, "MVOUT").
///
/// The reader walks each mvout block by block and, in a block, row by row, reading the local row
/// only when the outgoing queue has room for it (reads cannot be held back once issued). An mvout
/// of more than DIM columns moves DIM-column blocks (block b of a row at local row `row + b·DIM`
/// and DRAM address `+ b·DIM` elements), as if each were an mvout of its own; a finishing
/// normalization command runs on the last block only, the blocks before it accumulate
/// (`NormalizationCommand.accumulating`). Each row is converted as it
/// arrives: scratchpad bytes as they are, accumulator rows full width, or through ACC_SCALE and
/// ReLU into inputType. The queued rows become DMA writes; a command retires when the response
/// to its last write is back.
///
/// With `hasNormalizations`, accumulator rows of a statistics pass or of an output with
/// activation LayerNorm, I-GELU or Softmax go through the `Normalizer` instead. A row it takes
/// several cycles for (a finishing pass, a LayerNorm output) holds the reader until its result
/// is queued.
public struct StoreController: Module {
    public let parameters: AcceleratorParameters
    public let dma: DMAParameters

    public init(_ parameters: AcceleratorParameters, dma: DMAParameters) {
        self.parameters = parameters
        self.dma = dma
    }

    public var name: String { "StoreController_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<RoutedCommand>
        @Output("sp_read") public var scratchpadRead: RowReadPort
        @Output("acc_read") public var accumulatorRead: RowReadPort
        @Output("dma_req") public var writeRequest: Decoupled<DMAWriteRequest>
        @Input("dma_resp") public var writeResponse: Decoupled<DMAWriteResponse>
        /// Pulses when the oldest command retires; the reservation station knows which one.
        @Output public var retire: Signal
        @Output public var fault: Valid<CommandFault>
        /// A LOAD_LANE_SCALES with a NaN or infinite scale (`invalidScale`), found when its row
        /// arrives (the numerics extensions).
        @Output("scale_fault") public var scaleFault: Valid<CommandFault>
        @Output public var busy: Signal
        /// CONFIG_ST's DRAM stride and accumulator scale, for CTA_GATHER (the CTA controller).
        @Output("dram_stride") public var dramStride: Signal
        @Output("acc_scale") public var accScale: Signal
    }

    public var io: IO {
        let dim = parameters.dim
        return IO(command: Decoupled(RoutedCommand()),
                  scratchpadRead: .template(rows: parameters.spRows, lanes: dim, laneWidth: parameters.config.inputType.width),
                  accumulatorRead: .template(rows: parameters.accRows, lanes: dim, laneWidth: parameters.config.accType.width),
                  writeRequest: Decoupled(DMAWriteRequest(dma)), writeResponse: Decoupled(DMAWriteResponse(dma)),
                  retire: Signal(.bool), fault: Valid(CommandFault()), scaleFault: Valid(CommandFault()), busy: Signal(.bool),
                  dramStride: Signal(.uint(32)), accScale: Signal(.uint(32)))
    }

    /// One row on its way out (or, with `noWrites`, a command that writes nothing).
    @Bundle
    struct RowNote: Aggregate {
        var address: Signal
        var bytes: Signal
        @Name("no_writes") var noWrites: Signal
        var last: Signal
        var index: Signal
    }

    var noteTemplate: RowNote {
        RowNote(address: Signal(.uint(64)), bytes: Signal(.uint(dma.bytesBits)), noWrites: Signal(.bool), last: Signal(.bool),
                index: Signal(.uint(32)))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let dim = parameters.dim
        let inputBits = parameters.config.inputType.width, accBits = parameters.config.accType.width
        let command = io.command.bits.command
        let rs1 = command.rs1, rs2 = command.rs2
        let dataBits = dma.maxBytes * 8

        let dramStride = m.register("st_dram_stride", .uint(32), reset: 0)
        let storeActivation = m.register("st_activation", .uint(2), reset: 0)
        let accScale = m.register("st_acc_scale", .uint(32), reset: Signal.literal(0x3F80_0000, .uint(32)))
        // The numerics extensions' CONFIG_ST fields: the requantizer's K and the scale source.
        let extensions = parameters.config.hasNumericsExtensions
        let requantizerShift = m.register("st_requant_shift", .uint(NumericsExtensions.requantizerShiftBits), reset: 0)
        let scaleSource = m.register("st_scale_source", .uint(NumericsExtensions.scaleSourceBits), reset: 0)

        // Rows waiting to become DMA writes: the converted data and its note, side by side.
        let queueDepth = 4
        let outgoing = m.instance("outgoing", Queue(entries: queueDepth, payload: .uint(dataBits + noteTemplate.packedWidth)))
        // Local reads issued whose data has not yet arrived (read latency 1).
        let readInFlight = m.register("read_in_flight", .bool, reset: false)
        // With fewer normalizer lanes than columns: a pipelined long row's result is queued in
        // this cycle (set below), so a read in it must leave room for that row too.
        let pipelinedDone = parameters.normalizerBeats > 1 ? m.wire("pipelined_done", .bool) : nil
        var inFlight = mux(readInFlight, Signal.literal(1, .uint(4)), Signal.literal(0, .uint(4)))
        if let pipelinedDone { inFlight = inFlight +% mux(pipelinedDone, Signal.literal(1, .uint(4)), Signal.literal(0, .uint(4))) }
        let room = outgoing.count.extended(to: 4) +% inFlight < Signal.literal(queueDepth, .uint(4))

        // MARK: Reader
        let isConfig = command.funct === Signal(Funct.config)
        let isConfigNorm = isConfig && rs1.field(ConfigKind.field) === Signal(ConfigKind.normalization.rawValue)
        let operand = OperandFields(rs2)
        let normalizes = parameters.config.hasNormalizations
        let normalizer = normalizes ? m.instance("normalizer", Normalizer(parameters)) : nil
        // The store activation: CONFIG_NORM's MSB above CONFIG_ST's two bits.
        let activation = cat(normalizer?.activationHigh ?? Signal(false), storeActivation)
        // The block being read: its columns and its normalization command (a finishing command
        // accumulates on every block but the last).
        let blockCounter = m.register("block", .uint(16), reset: 0)
        let lastBlock = OperandFields.lastBlock(ofColumns: operand.columns, parameters)
        let inLastBlock = m.wire("in_last_block", .bool, default: blockCounter >= lastBlock)
        let blockOffset = (blockCounter * Signal(dim)).resized(to: 16)
        let blockColumns = m.wire("block_columns", .uint(16), default: mux(inLastBlock, operand.columns -% blockOffset,
                                                                               Signal.literal(dim, .uint(16))))
        // A row for the normalizer, and one it takes several cycles for (the reader waits).
        let normalizationCommand = m.wire("block_command", .uint(3),
                                          default: mux(inLastBlock, operand.normalization,
                                                       NormalizationCommand.accumulating(operand.normalization)))
        // LOAD_AFFINE (and the numerics extensions' LOAD_REQUANT and LOAD_LANE_SCALES, their kind
        // in bits 28:26) arrive from the dispatcher as an accumulator MVOUT with bit 30 set (which
        // an mvout from the host cannot carry): their rows go to the normalizer's lane registers.
        let affineParameters = m.wire("affine_parameters", .bool, default: Signal(parameters.config.hasAffineLayerNorm)
                                        && operand.isAccumulator && operand.accumulates)
        // With the extensions every scaled accumulator row goes through the normalizer (the
        // requantizer, lane and row scales live there); its plain rows take no extra cycle.
        // With fewer normalizer lanes than columns (`normalizerLanes`) a row through the lanes takes
        // DIM / lanes cycles, so a plain row that needs neither the requantizer nor a lane or row
        // scale takes this controller's own scale units instead, one row per cycle.
        let multiBeat = parameters.normalizerBeats > 1
        let needsLanes = multiBeat && extensions
            ? requantizerShift =/= 0 || scaleSource =/= Signal(NumericsExtensions.ScaleSource.store.rawValue) : Signal(extensions)
        let normalized = m.wire("normalized", .bool, default: Signal(normalizes) && operand.isAccumulator && !operand.readsFullWidth
                                  && (needsLanes || normalizationCommand =/= 0 || activation >= Signal(Activation.layerNorm.rawValue) || affineParameters))
        // A long row holds the reader until its result: a finishing pass row, and with fewer
        // lanes than columns every lane row. The latter are pipelined: the next read fires in
        // the cycle the result leaves (`long_done`), so they take DIM / lanes cycles each.
        let finishes = NormalizationCommand.finishes(normalizationCommand)
        let long = m.wire("long", .bool, default: normalized && !affineParameters && (multiBeat ? Signal(true) : finishes))
        let longPending = m.register("long_pending", .bool, reset: false)
        let longPipelined = multiBeat ? m.register("long_pipelined", .bool, reset: false) : nil
        let rowCounter = m.register("row", .uint(16), reset: 0)
        let empty = isConfig || operand.rows === 0 || operand.columns === 0
        let blockDone = m.wire("block_done", .bool, default: empty || rowCounter +& 1 >= operand.rows)
        let lastRow = m.wire("last_row", .bool, default: blockDone && (empty || inLastBlock))
        let fromAccumulator = operand.isAccumulator
        let localRow = (operand.row +% rowCounter.extended(to: LocalAddressLayout.rowIndexBits)
                        +% blockOffset.extended(to: LocalAddressLayout.rowIndexBits))
        io.scratchpadRead.request.bits.set(localRow.truncated(to: HWType.addressWidth(for: parameters.spRows)))
        io.accumulatorRead.request.bits.set(localRow.truncated(to: HWType.addressWidth(for: parameters.accRows)))
        // A CONFIG_NORM that sets qb and qc keeps the normalizer busy computing Softmax's constant
        // factor (the numerics extensions): nothing moves meanwhile.
        let constantBusy = Signal(extensions) && (normalizer?.busy ?? Signal(false))
        let readerHeld = pipelinedDone.map { longPending && !$0 } ?? longPending
        let wantRead = io.command.valid && !empty && room && !readerHeld && !constantBusy
        io.scratchpadRead.request.valid.set(wantRead && !fromAccumulator)
        io.accumulatorRead.request.valid.set(wantRead && fromAccumulator)
        let readFired = wantRead && mux(fromAccumulator, io.accumulatorRead.request.ready, io.scratchpadRead.request.ready)
        // An empty command goes straight into the queue as a note.
        let emptyEnqueued = io.command.valid && empty && room && !readInFlight && !longPending && !constantBusy
        let stepDone = readFired || emptyEnqueued
        io.command.ready.set(stepDone && lastRow)
        m.when(stepDone) {
            rowCounter.set(mux(blockDone, Signal.literal(0, .uint(16)), rowCounter +% 1))
            m.when(blockDone) { blockCounter.set(mux(lastRow, Signal.literal(0, .uint(16)), blockCounter +% 1)) }
        }
        m.when(io.command.fire && isConfig && !isConfigNorm) {
            dramStride.set(rs2.field(ConfigStoreFields.dramStride))
            accScale.set(rs2.field(ConfigStoreFields.accScale))
            storeActivation.set(rs1.field(ConfigStoreFields.activation))
            requantizerShift.set(rs1.bits(NumericsExtensions.requantizerShiftLow + NumericsExtensions.requantizerShiftBits - 1, NumericsExtensions.requantizerShiftLow))
            scaleSource.set(rs1.bits(NumericsExtensions.scaleSourceLow + NumericsExtensions.scaleSourceBits - 1, NumericsExtensions.scaleSourceLow))
        }

        // What the arriving row needs, captured when its read fires.
        let fullWidth = operand.readsFullWidth
        let elementBytes = mux(fromAccumulator && fullWidth, Signal.literal(parameters.accBytes, .uint(4)),
                               Signal.literal(parameters.inputBytes, .uint(4)))
        // A statistics pass writes nothing.
        let note = RowNote(address: rs1 +% (rowCounter * dramStride).resized(to: 64) +% (blockOffset * elementBytes).resized(to: 64),
                           bytes: (blockColumns * elementBytes).resized(to: dma.bytesBits),
                           noWrites: empty || (normalized && (normalizationCommand =/= 0 || affineParameters)), last: lastRow,
                           index: io.command.bits.index)
        readInFlight.set(readFired)
        let arriving = noteTemplate.unpacked(from: m.delay(note.packed, name: "arriving_note"))
        let arrivingFromAccumulator = m.delay(fromAccumulator, name: "arriving_acc")
        let arrivingFullWidth = m.delay(fullWidth, name: "arriving_full")
        let arrivingNormalized = m.delay(normalized && readFired, name: "arriving_normalized", reset: false)
        let arrivingLong = m.delay(long && readFired, name: "arriving_long", reset: false)
        // A long row's note waits beside the normalizer.
        let heldNote = m.register("held_note", .uint(noteTemplate.packedWidth))
        m.when(arrivingLong) { heldNote.set(arriving.packed) }
        let longDone = m.wire("long_done", .bool, default: longPending && !arrivingLong && (normalizer?.result.valid ?? Signal(false)))
        if let longPipelined, let pipelinedDone {
            pipelinedDone.set(longDone && longPipelined)
            m.when(longDone) { longPending.set(false) }
            m.when(readFired && long) {
                longPending.set(true)
                longPipelined.set(!finishes)
            }
        } else {
            m.when(readFired && long) { longPending.set(true) }
            m.when(longDone) { longPending.set(false) }
        }

        io.dramStride.set(dramStride)
        io.accScale.set(accScale)

        // MARK: Conversion
        let spRow = io.scratchpadRead.response.bits, accRow = io.accumulatorRead.response.bits
        let low = Signal.literal(HWType.sint(inputBits).range.lowerBound, .sint(accBits))
        let high = Signal.literal(HWType.sint(inputBits).range.upperBound, .sint(accBits))
        // The scale units of columns 0 … L − 1 (L normalizer lanes) serve the normalizer's lanes
        // too: a plain accumulator row uses them in the cycle it arrives, the normalizer in every
        // other (a row through the lanes holds the reader, so the two never meet).
        let lent = normalizer == nil ? 0 : parameters.normalizerLanes
        let arrivingPlain = lent == 0 ? nil : m.wire("arriving_plain", .bool, default: readInFlight && arrivingFromAccumulator && !arrivingNormalized)
        let fp32 = parameters.config.accScale == .fp32
        var lentResults: [Signal] = []
        let scaled = (0..<dim).map { lane -> Signal in
            let element = accRow.bits((lane + 1) * accBits - 1, lane * accBits).asSInt
            // No scale hardware: the scale is 1.0 and values only saturate.
            var value = mux(element < low, low, mux(element > high, high, element)).truncated(to: inputBits)
            if let normalizer, let arrivingPlain, lane < lent {
                let unit = m.instance("scale_\(lane)", ScaleUnit(inputWidth: Normalizer.scaledValueBits(parameters.config), outputWidth: inputBits))
                let request = normalizer.scaleRequest(lane: lane)
                unit.value.set(fp32 ? mux(arrivingPlain, element.extended(to: unit.value.width), request.value) : request.value)
                unit.scale.set(fp32 ? mux(arrivingPlain, accScale, request.factor) : request.factor)
                lentResults.append(unit.result)
                if fp32 { value = unit.result }
            } else if fp32 {
                let unit = m.instance("scale_\(lane)", ScaleUnit(inputWidth: accBits, outputWidth: inputBits))
                unit.value.set(element)
                unit.scale.set(accScale)
                value = unit.result
            }
            return mux(activation === Signal(Activation.relu.rawValue) && value < Signal.literal(0, .sint(inputBits)), Signal.literal(0, .sint(inputBits)), value).asUInt
        }
        if let normalizer {
            normalizer.scaled.set(cat(lentResults.map(\.asUInt).reversed()))
            normalizer.configure.valid.set(io.command.fire && isConfigNorm)
            m.connect(normalizer.configure.bits, from: command)
            normalizer.row.valid.set(arrivingNormalized)
            normalizer.row.bits.data.set(accRow)
            normalizer.row.bits.columns.set(m.delay(blockColumns, name: "arriving_columns"))
            normalizer.row.bits.row.set(m.delay(rowCounter.truncated(to: Normalizer.rowBits(dim)), name: "arriving_row"))
            normalizer.row.bits.command.set(m.delay(normalizationCommand, name: "arriving_command"))
            normalizer.row.bits.activation.set(m.delay(activation, name: "arriving_activation"))
            normalizer.row.bits.scale.set(accScale)
            normalizer.row.bits.parameters.set(m.delay(affineParameters, name: "arriving_parameters"))
            normalizer.row.bits.requantizerShift.set(requantizerShift)
            normalizer.row.bits.scaleSource.set(scaleSource)
        }
        io.scaleFault.valid.set(normalizer?.laneScaleFault ?? Signal(false))
        io.scaleFault.bits.code.set(Signal.literal(ErrorCode.invalidScale.rawValue, .uint(ErrorCode.bits)))
        io.scaleFault.bits.index.set(arriving.index)
        func padded(_ row: Signal) -> Signal { row.width == dataBits ? row : cat(Signal.literal(0, .uint(dataBits - row.width)), row) }
        let plainData = mux(!arrivingFromAccumulator, padded(spRow),
                            mux(arrivingFullWidth, padded(accRow), padded(cat(scaled.reversed()))))
        let rowData = normalizer.map { mux(arrivingNormalized || longDone, padded($0.result.bits), plainData) } ?? plainData
        let arrivingQueued = readInFlight && !arrivingLong
        outgoing.enq.valid.set(arrivingQueued || longDone || emptyEnqueued)
        outgoing.enq.bits.set(mux(arrivingQueued, cat(rowData, arriving.packed),
                                  mux(longDone, cat(rowData, heldNote), cat(Signal.literal(0, .uint(dataBits)), note.packed))))

        // MARK: DMA writes and their responses
        let headNote = noteTemplate.unpacked(from: outgoing.deq.bits.bits(noteTemplate.packedWidth - 1, 0))
        let pending = m.instance("pending", Queue(entries: dma.maxInFlight + 2, payload: .uint(noteTemplate.packedWidth)))
        let needsWrite = !headNote.noWrites
        io.writeRequest.valid.set(outgoing.deq.valid && needsWrite && pending.enq.ready)
        io.writeRequest.bits.address.set(headNote.address)
        io.writeRequest.bits.bytes.set(headNote.bytes)
        io.writeRequest.bits.data.set(outgoing.deq.bits.bits(outgoing.deq.bits.width - 1, noteTemplate.packedWidth))
        io.writeRequest.bits.tag.set(Signal.literal(0, .uint(dma.tagBits)))
        let leaves = outgoing.deq.valid && pending.enq.ready && (!needsWrite || io.writeRequest.ready)
        outgoing.deq.ready.set(leaves)
        pending.enq.valid.set(leaves)
        pending.enq.bits.set(headNote.packed)

        let waiting = noteTemplate.unpacked(from: pending.deq.bits)
        let answered = pending.deq.valid && (waiting.noWrites || io.writeResponse.valid)
        let faulted = m.register("faulted", .bool, reset: false)
        let rowFault = !waiting.noWrites && io.writeResponse.bits.error
        pending.deq.ready.set(answered)
        io.writeResponse.ready.set(pending.deq.valid && !waiting.noWrites)
        io.retire.set(answered && waiting.last)
        io.fault.valid.set(answered && rowFault && !faulted)
        io.fault.bits.code.set(Signal.literal(ErrorCode.dmaWriteFault.rawValue, .uint(ErrorCode.bits)))
        io.fault.bits.index.set(waiting.index)
        m.when(answered) {
            m.when(rowFault) { faulted.set(true) }
            m.when(waiting.last) { faulted.set(false) }
        }
        io.busy.set(io.command.valid || readInFlight || longPending || outgoing.deq.valid || pending.deq.valid)
    }
}
