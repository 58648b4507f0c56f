import SpinelISA

// MVIN and MVOUT (docs/ACCELERATOR.md, "MVIN" and "MVOUT").

extension GoldenModel {
    /// MVIN, MVIN2 or MVIN3 (`which` 0, 1, 2). Rows move in order; a DMA fault stops the command
    /// after the rows already moved, which stay in local memory.
    mutating func moveIn(using which: Int, from dramAddress: UInt64, to local: LocalOperand,
                         memory: inout some MainMemory) throws {
        let load = state.loads[which]
        let destination = local.address
        let elementBytes = destination.isAccumulator && !load.shrunk ? parameters.accBytes : parameters.inputBytes
        guard local.columns * elementBytes <= parameters.config.dmaMaxBytes else {
            throw CommandRejection(.tooManyColumns,
                                   "\(Command.mvinName(which)) row of \(local.columns) × \(elementBytes) B exceeds the DMA limit of \(parameters.config.dmaMaxBytes) B")
        }
        let dim = parameters.dim
        let blocks = LocalOperandLayout.blocks(columns: local.columns, dim: dim)
        try checkLocal(destination, as: .mvinDestination,
                       lastRowOffset: (blocks - 1) * load.blockStride + local.lastRowOffset(stride: 1))

        guard !dataless else { return }
        let accumulatorBits = parameters.config.accType.width
        let inputBits = parameters.config.inputType.width
        for r in 0..<local.rows {
            let values: [Int64]
            if dramAddress == 0 {
                values = Array(repeating: 0, count: local.columns)
            } else {
                let address = dramAddress &+ UInt64(r) &* load.dramStride
                let bytes = try readDRAM(address: address, count: local.columns * elementBytes, row: r, memory: &memory)
                values = ElementCoding.decode(bytes, elementBytes: elementBytes)
            }
            for (column, value) in values.enumerated() {
                let row = destination.row + column / dim * load.blockStride + r
                let lane = column % dim
                if !destination.isAccumulator {
                    state.scratchpad[row, lane] = load.scale == 1 ? value : Numerics.scale(value, by: load.scale, toBits: inputBits)
                    continue
                }
                // Gemmini's mvin_scale_acc: the accumulator's value, scaled into accType (1.0 passes it untouched).
                let scaled = load.scale == 1 ? value : Numerics.scale(value, by: load.scale, toBits: accumulatorBits)
                state.accumulator[row, lane] = destination.accumulates
                    ? Numerics.wrap(state.accumulator[row, lane] &+ scaled, bits: accumulatorBits) : scaled
            }
        }
    }

    /// MVOUT. An mvout of more than DIM columns moves DIM-column blocks, block b of a row at
    /// local row `row + b·DIM` and DRAM address `+ b·DIM` elements, each block as an mvout of its
    /// own, in order (StoreController: block by block, row by row); a finishing normalization
    /// command runs on the last block, the blocks before it accumulate. Rows move in order; a DMA
    /// fault stops the command after the rows already written. With a normalization command 1–7
    /// it is a statistics pass and writes nothing.
    mutating func moveOut(from local: LocalOperand, to dramAddress: UInt64, memory: inout some MainMemory) throws {
        let source = local.address
        let dim = parameters.dim
        let blocks = LocalOperandLayout.blocks(columns: local.columns, dim: dim)
        try checkLocal(source, as: .mvoutSource, lastRowOffset: (blocks - 1) * dim + local.lastRowOffset(stride: 1))
        let pieces = (0..<blocks).map { local.block($0, of: blocks, dim: dim) }
        if let command = NormalizationCommand(rawValue: source.normalizationCommand), command != .output {
            for piece in pieces {
                try statisticsPass(NormalizationCommand(rawValue: piece.address.normalizationCommand)!, over: piece)
            }
            return
        }
        if dataless {
            // The checks of `outgoingRows` alone: the store activation and the statistics.
            if source.isAccumulator && !source.readsFullWidth {
                let activation = try storeActivation()
                let rowScale = state.store.scaleSource == .row
                if activation.isLayerNorm || activation.isSoftmax || rowScale {
                    for piece in pieces {
                        try checkOutputStatistics(rows: piece.rows, for: rowScale ? .softmax : activation, rowScale: rowScale)
                    }
                }
            }
            return
        }
        // Every check passes before the first byte leaves: a failing command writes nothing.
        let elementBytes = source.isAccumulator && source.readsFullWidth ? parameters.accBytes : parameters.inputBytes
        let writes = try pieces.enumerated().flatMap { b, piece in
            try outgoingRows(piece).enumerated().map { r, bytes in
                (row: r, address: dramAddress &+ UInt64(r) &* state.store.dramStride &+ UInt64(b * dim * elementBytes), bytes: bytes)
            }
        }
        guard local.columns > 0 else { return }
        for (index, write) in writes.enumerated() {
            do {
                try memory.write(address: write.address, bytes: write.bytes)
            } catch let fault as DMAFault {
                for later in writes.dropFirst(index) {
                    memory.abandoned(address: later.address, bytes: later.bytes)
                }
                throw CommandRejection(.dmaWriteFault, "MVOUT row \(write.row): \(fault)")
            }
        }
    }

    /// The bytes of each row an mvout writes: scratchpad rows as they are, accumulator rows full
    /// width (bit 29) or through ACC_SCALE and the store activation.
    private func outgoingRows(_ local: LocalOperand) throws -> [[UInt8]] {
        let source = local.address
        func values(_ r: Int) -> ArraySlice<Int64> {
            (source.isAccumulator ? state.accumulator.row(source.row + r) : state.scratchpad.row(source.row + r)).prefix(local.columns)
        }
        guard source.isAccumulator && !source.readsFullWidth else {
            let elementBytes = source.isAccumulator ? parameters.accBytes : parameters.inputBytes
            return (0..<local.rows).map { ElementCoding.encode(values($0), elementBytes: elementBytes) }
        }
        let activation = try storeActivation()
        let normalizes = activation.isLayerNorm || activation.isSoftmax
        let rowScale = state.store.scaleSource == .row
        let statistics = normalizes || rowScale
            ? try outputStatistics(rows: local.rows, for: rowScale ? .softmax : activation, rowScale: rowScale)
            : Array(repeating: RowStatistics(), count: local.rows)
        return (0..<local.rows).map { r in
            let outputs = requantized(values(r)).enumerated().map {
                activated($0.element, activation, statistics: statistics[r], lane: $0.offset)
            }
            return ElementCoding.encode(outputs, elementBytes: parameters.inputBytes)
        }
    }

    /// An accumulator value (after the requantizer) leaving through the scaled path
    /// (docs/ACCELERATOR.md, "MVOUT"): none and ReLU are `ACC_SCALE` (ReLU after saturation)
    /// with CONFIG_ST's scale, the lane's scale or the row's ρ ⊗ scale; I-GELU, the two-segment
    /// I-GELU and LayerNorm scale their result `y` with the accumulator scale; Softmax scales its
    /// exponential with its own factor, both from the row's `statistics`, Softmax relative to the
    /// maximum with its constant factor. The affine LayerNorm uses γ and β of `lane`.
    private func activated(_ x: Int64, _ activation: Activation, statistics: RowStatistics, lane: Int) -> Int64 {
        let accumulatorBits = parameters.config.accType.width
        let inputBits = parameters.config.inputType.width
        switch activation {
        case .none, .relu:
            let scaled: Int64
            switch state.store.scaleSource {
            case .store: scaled = accumulatorScaled(x)
            case .lane: scaled = Numerics.scale(x, by: state.normalization.laneScale(lane: lane), toBits: inputBits)
            case .row: scaled = Numerics.rowScaled(x, rho: statistics.factor, scale: state.store.accScale, toBits: inputBits)
            }
            return activation == .relu ? Numerics.relu(scaled) : scaled
        case .igelu:
            let settings = state.normalization
            return accumulatorScaled(Numerics.igelu(x, qb: Int64(settings.igeluQb), qc: Int64(settings.igeluQc),
                                                    accumulatorBits: accumulatorBits))
        case .twoSegmentGELU:
            return accumulatorScaled(Numerics.twoSegmentGELU(x, constants: state.normalization.twoSegmentGELU, accumulatorBits: accumulatorBits))
        case .layerNorm:
            return layerNormScaled(LayerNormStatistics(mean: statistics.mean, standardDeviation: statistics.standardDeviation).normalize(x))
        case .affineLayerNorm:
            let (gamma, beta) = state.normalization.affine(lane: lane)
            return layerNormScaled(LayerNormStatistics(mean: statistics.mean, standardDeviation: statistics.standardDeviation)
                .normalize(x, gamma: gamma, beta: beta, accumulatorBits: accumulatorBits))
        case .softmax:
            let exponential = Numerics.iexp(x - statistics.maximum, constants: state.normalization.iexpConstants,
                                            accumulatorBits: accumulatorBits)
            return Numerics.scale(exponential, by: statistics.factor, toBits: inputBits)
        case .softmaxRelativeToMaximum:
            return Numerics.softmaxMaximumOutput(x, maximum: statistics.maximum, constants: state.normalization.iexpConstants,
                                                 accumulatorBits: accumulatorBits, outputBits: inputBits)
        }
    }

    /// LayerNorm's `ACC_SCALE(n, storeScale ⊗ 2^−F)` into inputType (the normalizer's scale
    /// units, with scale 1.0 when the configuration has no scale hardware).
    private func layerNormScaled(_ n: Int64) -> Int64 {
        let scale = parameters.config.accScale == .none ? Float(1) : state.store.accScale
        return Numerics.scale(n, by: Numerics.layerNormScale(scale), toBits: parameters.config.inputType.width)
    }

    /// `ACC_SCALE(x, storeScale)` into inputType. Without scale hardware the scale is 1.0 and the
    /// hardware only saturates; going through fp32 would round values that inputType can hold
    /// exactly beyond 2^24.
    private func accumulatorScaled(_ x: Int64) -> Int64 {
        let inputBits = parameters.config.inputType.width
        return parameters.config.accScale == .none
            ? Numerics.saturate(x, bits: inputBits)
            : Numerics.scale(x, by: state.store.accScale, toBits: inputBits)
    }

    private func readDRAM(address: UInt64, count: Int, row: Int, memory: inout some MainMemory) throws -> [UInt8] {
        do {
            let bytes = try memory.read(address: address, count: count)
            precondition(bytes.count == count, "main memory returned \(bytes.count) bytes for a read of \(count)")
            return bytes
        } catch let fault as DMAFault {
            throw CommandRejection(.dmaReadFault, "MVIN row \(row): \(fault)")
        }
    }
}

/// Elements in DRAM: little-endian two's complement of a whole number of bytes.
enum ElementCoding {
    static func decode(_ bytes: [UInt8], elementBytes: Int) -> [Int64] {
        stride(from: 0, to: bytes.count, by: elementBytes).map { start in
            var raw: UInt64 = 0
            for offset in (0..<elementBytes).reversed() {
                raw = raw << 8 | UInt64(bytes[start + offset])
            }
            return Numerics.wrap(Int64(bitPattern: raw), bits: elementBytes * 8)
        }
    }

    static func encode(_ values: some Sequence<Int64>, elementBytes: Int) -> [UInt8] {
        values.flatMap { value in
            (0..<elementBytes).map { UInt8(truncatingIfNeeded: value >> Int64($0 * 8)) }
        }
    }
}

extension LocalOperand {
    /// Block `b` of `blocks` of a wide mvout's source: DIM columns (the rest in the last block)
    /// at `row + b·DIM`, with the normalization command that block runs.
    func block(_ b: Int, of blocks: Int, dim: Int) -> LocalOperand {
        guard blocks > 1 else { return self }
        var command = address.normalizationCommand
        if b < blocks - 1, let finishing = NormalizationCommand(rawValue: command) { command = finishing.accumulating.rawValue }
        let row = LocalAddressLayout.row, commandField = LocalAddressLayout.normalizationCommand
        let others = UInt64(address.bits) & ~(UInt64(row.mask) << UInt64(row.low)) & ~(commandField.mask << UInt64(commandField.low))
        let bits = UInt32(others | commandField.placed(UInt64(command)) | row.placed(UInt64(address.row + b * dim)))
        return LocalOperand(address: LocalAddress(bits: bits), columns: b < blocks - 1 ? dim : columns - b * dim, rows: rows)
    }
}
