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
        let blocks = max(1, (local.columns + dim - 1) / dim)
        try checkLocal(destination, as: .mvinDestination,
                       lastRowOffset: (blocks - 1) * load.blockStride + local.lastRowOffset(stride: 1))
        guard !destination.isAccumulator || load.scale == 1 else {
            throw CommandRejection(.illegalOperand, "\(Command.mvinName(which)) into \(destination) with scale \(load.scale); accumulator data moves in unscaled")
        }

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
                } else if destination.accumulates {
                    state.accumulator[row, lane] = Numerics.wrap(state.accumulator[row, lane] &+ value, bits: accumulatorBits)
                } else {
                    state.accumulator[row, lane] = value
                }
            }
        }
    }

    /// MVOUT. Rows move in order; a DMA fault stops the command after the rows already written.
    mutating func moveOut(from local: LocalOperand, to dramAddress: UInt64, memory: inout some MainMemory) throws {
        let source = local.address
        try checkLocal(source, as: .mvoutSource, lastRowOffset: local.lastRowOffset(stride: 1))
        let scaled = source.isAccumulator && !source.readsFullWidth
        if scaled && state.store.activation >= Activation.layerNorm.rawValue {
            throw GoldenModelError.notImplemented("normalizations")
        }
        guard local.columns > 0 else { return }

        for r in 0..<local.rows {
            let bytes: [UInt8]
            if !source.isAccumulator {
                let values = state.scratchpad.row(source.row + r).prefix(local.columns)
                bytes = ElementCoding.encode(values, elementBytes: parameters.inputBytes)
            } else if source.readsFullWidth {
                let values = state.accumulator.row(source.row + r).prefix(local.columns)
                bytes = ElementCoding.encode(values, elementBytes: parameters.accBytes)
            } else {
                let values = state.accumulator.row(source.row + r).prefix(local.columns).map(scaledForStore)
                bytes = ElementCoding.encode(values, elementBytes: parameters.inputBytes)
            }
            let address = dramAddress &+ UInt64(r) &* state.store.dramStride
            do {
                try memory.write(address: address, bytes: bytes)
            } catch let fault as DMAFault {
                throw CommandRejection(.dmaWriteFault, "MVOUT row \(r): \(fault)")
            }
        }
    }

    /// An accumulator value leaving through the scaled path: `ACC_SCALE` into inputType, then
    /// the activation (ReLU after saturation).
    private func scaledForStore(_ value: Int64) -> Int64 {
        let inputBits = parameters.config.inputType.width
        // Without scale hardware the scale is 1.0 and the hardware only saturates; going through
        // fp32 would round values that inputType can hold exactly beyond 2^24.
        let scaled = parameters.config.accScale == .none
            ? Numerics.saturate(value, bits: inputBits)
            : Numerics.scale(value, by: state.store.accScale, toBits: inputBits)
        return state.store.activation == Activation.relu.rawValue ? Numerics.relu(scaled) : scaled
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
