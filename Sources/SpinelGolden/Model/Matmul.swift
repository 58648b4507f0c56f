// PRELOAD and COMPUTE: one pair computes one DIM×DIM tile (docs/ACCELERATOR.md, "PRELOAD and
// COMPUTE: one pair, one tile").

extension GoldenModel {
    mutating func preload(bd: LocalOperand, c: LocalOperand) throws {
        let preload = PendingPreload(bd: bd, c: c)
        try checkPreloadOperands(preload)
        guard state.pendingPreload == nil else {
            throw CommandRejection(.preloadPending, "an earlier PRELOAD still waits for its COMPUTE")
        }
        state.pendingPreload = preload
    }

    mutating func compute(a: LocalOperand, bd: LocalOperand, accumulated: Bool) throws {
        let settings = state.execute
        let weightStationary = settings.dataflow == .ws
        try checkLocal(a.address, as: .a, lastRowOffset: a.lastRowOffset(stride: settings.aStride))
        try checkLocal(bd.address, as: weightStationary ? .d : .b, lastRowOffset: bd.lastRowOffset(stride: 1))
        guard let preload = state.pendingPreload else {
            throw CommandRejection(.computeWithoutPreload, "no PRELOAD waits for this COMPUTE")
        }
        // The PRELOAD was checked when it arrived; a CONFIG_EX since then may have changed the
        // dataflow (and with it the operand's role) or the C stride, so check the pair as it runs.
        try checkPreloadOperands(preload)
        if accumulated && !preload.bd.address.isGarbage {
            throw CommandRejection(.illegalOperand,
                                   "COMPUTE_ACCUMULATED keeps the array's \(weightStationary ? "weights" : "accumulators"), so its PRELOAD's \(weightStationary ? "B" : "D") must be GARBAGE, not \(preload.bd.address)")
        }
        if accumulated && state.lastPairDataflow != settings.dataflow {
            throw CommandRejection(.illegalOperand,
                                   "COMPUTE_ACCUMULATED continues the array's state, but the last pair ran \(state.lastPairDataflow?.words ?? "nothing") and this one \(settings.dataflow.words)")
        }
        state.lastPairDataflow = settings.dataflow
        if dataless {
            state.pendingPreload = nil
            return
        }
        let aTile = tile(a, rowStride: settings.aStride, transposed: settings.transposeA)
        let result: Tile
        if weightStationary {
            if !accumulated {
                state.array.weights = tile(preload.bd, rowStride: 1, transposed: settings.transposeB)
            }
            result = multiplyAdd(aTile, state.array.weights, tile(bd, rowStride: 1, transposed: false))
        } else {
            let bTile = tile(bd, rowStride: 1, transposed: settings.transposeB)
            let start = accumulated ? state.array.accumulators : tile(preload.bd, rowStride: 1, transposed: false)
            let accumulators = multiplyAdd(aTile, bTile, start)
            result = accumulators.map { Numerics.roundingRightShift($0, by: settings.shift) }
            // Results leave the array by shifting out of the PEs: a pair that writes C drains it,
            // and a following COMPUTE_ACCUMULATED starts from zero.
            state.array.accumulators = preload.c.address.isGarbage ? accumulators : Tile(dim: parameters.dim)
        }
        write(result, to: preload.c, weightStationary: weightStationary)
        state.pendingPreload = nil
    }

    /// The PRELOAD's B/D (B in WS, D in OS) and C, against the current dataflow and C stride.
    private func checkPreloadOperands(_ preload: PendingPreload) throws {
        let role: OperandRole = state.execute.dataflow == .ws ? .b : .d
        try checkLocal(preload.bd.address, as: role, lastRowOffset: preload.bd.lastRowOffset(stride: 1))
        try checkLocal(preload.c.address, as: .c, lastRowOffset: preload.c.lastRowOffset(stride: state.execute.cStride))
    }

    /// The operand as the array sees it: `rows`×`columns` read with `rowStride` between rows,
    /// transposed if asked, padded with zeros to DIM×DIM. GARBAGE is a zero matrix. Scratchpad
    /// values are inputType, accumulator values (D only) full-width accType.
    private func tile(_ operand: LocalOperand, rowStride: Int, transposed: Bool) -> Tile {
        var tile = Tile(dim: parameters.dim)
        let address = operand.address
        guard !address.isGarbage else { return tile }
        for i in 0..<operand.rows {
            let row = address.row + i * rowStride
            for j in 0..<operand.columns {
                let value = address.isAccumulator ? state.accumulator[row, j] : state.scratchpad[row, j]
                if transposed { tile[j, i] = value } else { tile[i, j] = value }
            }
        }
        return tile
    }

    /// `a·b + addend`. The products and their sum are exact (spatialOutputType holds a sum of DIM
    /// products, and it fits in 64 bits); adding `addend` wraps in accType.
    private func multiplyAdd(_ a: Tile, _ b: Tile, _ addend: Tile) -> Tile {
        let dim = parameters.dim
        var result = Tile(dim: dim)
        for i in 0..<dim {
            for j in 0..<dim {
                var sum: Int64 = 0
                for k in 0..<dim { sum &+= a[i, k] &* b[k, j] }
                result[i, j] = Numerics.wrap(sum &+ addend[i, j], bits: parameters.config.accType.width)
            }
        }
        return result
    }

    /// Writes the top-left `rows`×`columns` of `result` to C, row `i` at `C + i·cStride`, masked
    /// to the first `columns` lanes. Scratchpad: saturated to inputType, then ReLU if configured
    /// (CONFIG_EX activations 2 and 3, which Gemmini's software writes with `act & 3`, apply
    /// nothing here, as in Gemmini: the normalizations act on accumulator mvouts).
    /// Accumulator: overwritten or accumulated (bit 30), wrapping in accType, no activation.
    ///
    /// Rows are written in the order the array produces them (docs/ACCELERATOR.md, "PRELOAD and
    /// COMPUTE"): WS from row 0 down, OS from the last row up. It matters only when rows share a
    /// local row (C stride 0): an overwrite keeps the row written last (WS: row rows−1, OS:
    /// row 0); accumulating writes add up in any order.
    private mutating func write(_ result: Tile, to c: LocalOperand, weightStationary: Bool) {
        let address = c.address
        guard !address.isGarbage else { return }
        let inputBits = parameters.config.inputType.width
        let accumulatorBits = parameters.config.accType.width
        let relu = state.execute.activation == Activation.relu.rawValue
        let order: [Int] = weightStationary ? Array(0..<c.rows) : Array((0..<c.rows).reversed())
        for i in order {
            let row = address.row + i * state.execute.cStride
            for j in 0..<c.columns {
                if !address.isAccumulator {
                    let saturated = Numerics.saturate(result[i, j], bits: inputBits)
                    state.scratchpad[row, j] = relu ? Numerics.relu(saturated) : saturated
                } else if address.accumulates {
                    state.accumulator[row, j] = Numerics.wrap(state.accumulator[row, j] &+ result[i, j], bits: accumulatorBits)
                } else {
                    state.accumulator[row, j] = result[i, j]
                }
            }
        }
    }
}

extension Tile {
    /// The tile with `transform` applied to every element.
    func map(_ transform: (Int64) -> Int64) -> Tile {
        var result = Tile(dim: dim)
        for i in 0..<dim {
            for j in 0..<dim { result[i, j] = transform(self[i, j]) }
        }
        return result
    }
}
