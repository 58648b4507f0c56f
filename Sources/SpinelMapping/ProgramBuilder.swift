import SpinelAccelerator
import SpinelFuzz
import SpinelGolden

/// A matrix in a program's DRAM buffer: `rows` × `columns` elements of `elementBytes`, row i at
/// `offset + i · stride · elementBytes` (stride in elements, 0 repeats one row).
struct DRAMMatrix {
    var offset: Int
    var rows: Int, columns: Int
    var stride: Int
    var elementBytes: Int

    /// The element at (row, column), as a buffer offset.
    func at(_ row: Int, _ column: Int) -> Int { offset + (row * stride + column) * elementBytes }

    /// The columns `first ..< first + count` (a head's slice of Q, K, V or the context).
    func columns(_ first: Int, _ count: Int) -> DRAMMatrix {
        DRAMMatrix(offset: at(0, first), rows: rows, columns: count, stride: stride, elementBytes: elementBytes)
    }

    /// The rows `first ..< first + count`.
    func rows(_ first: Int, _ count: Int) -> DRAMMatrix {
        DRAMMatrix(offset: at(first, 0), rows: count, columns: columns, stride: stride, elementBytes: elementBytes)
    }
}

/// Builds one command program (`CommandProgram`): the DRAM buffer with the data the host places
/// in it, and the commands, in the encodings of docs/ISA.md. DRAM address fields are buffer offsets
/// marked for relocation; offset 0 is never allocated (DRAM address 0 means "no matrix").
struct ProgramBuilder {
    let parameters: AcceleratorParameters
    private(set) var dram = [UInt8](repeating: 0, count: 64)
    private(set) var steps: [CommandProgram.Step] = []
    /// The accumulator half LOOP_WS's next C goes to (it alternates after every loop that stores C).
    private(set) var accumulatorHalf = 0
    /// Multiply-accumulates of the matmuls issued (for the PE utilization).
    var macs: Double = 0

    init(parameters: AcceleratorParameters) { self.parameters = parameters }

    var dim: Int { parameters.dim }
    var program: CommandProgram { CommandProgram(notes: notes, dram: dram, steps: steps) }
    var notes: [String] = []

    // MARK: DRAM

    /// A zeroed matrix of `rows` × `columns` (64-byte aligned).
    mutating func allocate(rows: Int, columns: Int, elementBytes: Int) -> DRAMMatrix {
        let offset = (dram.count + 63) / 64 * 64
        dram += [UInt8](repeating: 0, count: offset - dram.count + max(rows * columns * elementBytes, 1))
        return DRAMMatrix(offset: offset, rows: rows, columns: columns, stride: columns, elementBytes: elementBytes)
    }

    mutating func place(_ values: [Int8], rows: Int, columns: Int) -> DRAMMatrix {
        precondition(values.count == rows * columns)
        let matrix = allocate(rows: rows, columns: columns, elementBytes: 1)
        for (index, value) in values.enumerated() { dram[matrix.offset + index] = UInt8(bitPattern: value) }
        return matrix
    }

    mutating func place(_ values: [Int32], rows: Int, columns: Int) -> DRAMMatrix {
        precondition(values.count == rows * columns)
        let matrix = allocate(rows: rows, columns: columns, elementBytes: 4)
        for (index, value) in values.enumerated() {
            for byte in 0 ..< 4 { dram[matrix.offset + 4 * index + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
        }
        return matrix
    }

    /// One bias row repeated over `rows` rows (DRAM stride 0).
    mutating func placeRow(_ values: [Int32], rows: Int) -> DRAMMatrix {
        var row = place(values, rows: 1, columns: values.count)
        row.rows = rows
        row.stride = 0
        return row
    }

    // MARK: Commands (docs/ISA.md)

    mutating func command(_ funct: UInt8, _ rs1: UInt64, _ rs2: UInt64, rs1IsDRAM: Bool = false, rs2IsDRAM: Bool = false) {
        steps.append(.command(CommandProgram.Instruction(funct: funct, rs1: rs1, rs2: rs2, rs1IsDRAM: rs1IsDRAM, rs2IsDRAM: rs2IsDRAM)))
    }

    /// Waits until the accelerator is idle: between a stage that writes DRAM and one that reads
    /// it (the load and store queues do not order DRAM accesses between them).
    mutating func fence() { steps.append(.fence) }

    static func operand(_ address: UInt32, rows: Int, columns: Int) -> UInt64 {
        UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(address)
    }

    static let accumulator: UInt32 = 1 << 31
    static let accumulate: UInt32 = 1 << 30
    static let fullWidth: UInt32 = 1 << 29

    /// An accumulator row of the given half.
    func accumulatorRow(half: Int, _ row: Int) -> UInt32 {
        Self.accumulator | UInt32(half * parameters.accRows / 2 + row)
    }

    mutating func configExecuteWS(transposeA: Bool = false, transposeB: Bool = false) {
        let one = UInt64(Float(1).bitPattern)
        command(Funct.config, one << 32 | 1 << 16 | (transposeB ? 1 << 9 : 0) | (transposeA ? 1 << 8 : 0) | 1 << 2, 1 << 48)
    }

    /// CONFIG_ST; with the numerics extensions also the requantizer's shift K (0: off) and the
    /// scale source (0 acc_scale, 1 the lane scales, 2 the row scale ρ).
    mutating func configStore(activation: Int, scale: Float, strideBytes: Int, requantizerShift: Int = 0,
                              scaleSource: NumericsExtensions.ScaleSource = .store) {
        command(Funct.config, UInt64(scaleSource.rawValue) << UInt64(NumericsExtensions.scaleSourceLow)
                    | UInt64(requantizerShift) << UInt64(NumericsExtensions.requantizerShiftLow) | UInt64(activation & 3) << 2 | 2,
                UInt64(scale.bitPattern) << 32 | UInt64(strideBytes))
    }

    /// CONFIG_NORM constant set 1 or 2 of the two-segment I-GELU: (qb, qc) of the segment and qt
    /// (set 1) or q1 (set 2).
    mutating func configGELUSegment(_ set: NumericsExtensions.ConstantSet, qb: Int32, qc: Int32, constant: Int32) {
        command(Funct.config, UInt64(UInt32(bitPattern: constant)) << 32 | UInt64(set.rawValue) << UInt64(NumericsExtensions.constantSetLow) | 3,
                UInt64(UInt32(bitPattern: qc)) << 32 | UInt64(UInt32(bitPattern: qb)))
    }

    /// LOAD_REQUANT (the requantizer's multipliers) or LOAD_LANE_SCALES from one accumulator row.
    mutating func loadLaneParameters(_ funct: UInt8, _ local: UInt32, columns: Int) {
        command(funct, 0, Self.operand(local, rows: 1, columns: columns))
    }

    mutating func configLoad(which: Int, shrunk: Bool = false, scale: Float = 1, strideBytes: Int) {
        command(Funct.config, UInt64(scale.bitPattern) << 32 | UInt64(dim) << 16 | 1 << 8 | UInt64(which) << 3 | (shrunk ? 1 << 2 : 0) | 1,
                UInt64(strideBytes))
    }

    /// CONFIG_NORM: the activation MSB, I-GELU's (or the exponential's) qb and qc, and one of
    /// qln2 (`inverse` false) or qln2_inv.
    mutating func configNormalization(activationMSB: Bool, constant: Int32 = 0, inverse: Bool = false, qb: Int32 = 0, qc: Int32 = 0) {
        command(Funct.config, UInt64(UInt32(bitPattern: constant)) << 32 | (inverse ? 1 << 18 : 0) | (activationMSB ? 1 << 16 : 0) | 3,
                UInt64(UInt32(bitPattern: qc)) << 32 | UInt64(UInt32(bitPattern: qb)))
    }

    /// MVIN (which 0), MVIN2 (1) or MVIN3 (2) of rows × columns from a DRAM offset.
    mutating func moveIn(which: Int, from offset: Int, to local: UInt32, rows: Int, columns: Int) {
        let funct = [Funct.mvin, Funct.mvin2, Funct.mvin3][which]
        command(funct, UInt64(offset), Self.operand(local, rows: rows, columns: columns), rs1IsDRAM: true)
    }

    mutating func moveOut(to offset: Int, from local: UInt32, rows: Int, columns: Int) {
        command(Funct.mvout, UInt64(offset), Self.operand(local, rows: rows, columns: columns), rs1IsDRAM: true)
    }

    mutating func loadAffine(_ local: UInt32, columns: Int) {
        command(Funct.loadAffine, 0, Self.operand(local, rows: 2, columns: columns))
    }

    // MARK: LOOP_WS

    struct Loop {
        var tilesI: Int, tilesJ: Int, tilesK: Int
        var padI: Int, padJ: Int, padK: Int
        var a: Int, b: Int, d: Int, c: Int
        var strideA: Int, strideB: Int, strideD: Int, strideC: Int
        var transposeA = false, transposeB = false, fullC = false, lowD = false, exAccumulate = false
        var activation = 0
        var scratchpadID = 1
    }

    /// The five LOOP_WS_CONFIG commands and LOOP_WS. Offsets 0 (no D, no C) stay 0.
    mutating func loopWS(_ l: Loop) {
        command(Funct.loopWSConfigBounds, UInt64(l.padK) << 32 | UInt64(l.padJ) << 16 | UInt64(l.padI),
                UInt64(l.tilesK) << 32 | UInt64(l.tilesJ) << 16 | UInt64(l.tilesI))
        command(Funct.loopWSConfigAddressesAB, UInt64(l.a), UInt64(l.b), rs1IsDRAM: l.a != 0, rs2IsDRAM: l.b != 0)
        command(Funct.loopWSConfigAddressesDC, UInt64(l.d), UInt64(l.c), rs1IsDRAM: l.d != 0, rs2IsDRAM: l.c != 0)
        command(Funct.loopWSConfigStridesAB, UInt64(l.strideA), UInt64(l.strideB))
        command(Funct.loopWSConfigStridesDC, UInt64(l.strideD), UInt64(l.strideC))
        let id = UInt64(l.scratchpadID)
        command(Funct.loopWS, id << 18 | id << 16 | UInt64(l.activation) << 8 | (l.lowD ? 4 : 0) | (l.fullC ? 2 : 0) | (l.exAccumulate ? 1 : 0),
                (l.transposeB ? 2 : 0) | (l.transposeA ? 1 : 0))
        if l.c != 0 { accumulatorHalf ^= 1 }
    }

    var scratchpadHalfTiles: Int { parameters.spRows / 2 / dim }
    var accumulatorHalfTiles: Int { parameters.accRows / 2 / dim }

    static func tiles(_ elements: Int, _ dim: Int) -> Int { (elements + dim - 1) / dim }

    /// The harness's `tiled_matmul_auto` (spinel_tiled.h), weight-stationary through LOOP_WS:
    /// C = act(ACC_SCALE(A·B + D, scale)) with the same tile choice and the same loops. A is
    /// I×K (K×I transposed), B K×J (J×K transposed), D int32 (int8 with lowD) or absent, C int8
    /// (int32 with fullC). `activation` 4 (Softmax) or 2 (LayerNorm) normalizes whole rows.
    /// Without `storeC` the results stay in the accumulator (no C address: nothing moves out),
    /// for a consumer that reads them there (`CTAHeadMapping`'s in-place probability
    /// aggregation) or none (`CTAMeshFloor`).
    mutating func tiledMatmul(i dimI: Int, j dimJ: Int, k dimK: Int, a: DRAMMatrix, b: DRAMMatrix, d: DRAMMatrix?, c: DRAMMatrix,
                              activation: Int = 0, scale: Float, transposeA: Bool = false, transposeB: Bool = false,
                              fullC: Bool = false, lowD: Bool = false, storeC: Bool = true) {
        let tilesI = Self.tiles(dimI, dim), tilesJ = Self.tiles(dimJ, dim), tilesK = Self.tiles(dimK, dim)
        let normalizes = activation == 2 || activation == 4
        var t = normalizes ? chooseRowTiles(tilesI, tilesJ) : chooseTiles(tilesI, tilesJ)
        t.k = splitK(t, tilesK)
        macs += Double(dimI) * Double(dimJ) * Double(dimK)
        let cBytes = fullC ? 4 : 1, dBytes = lowD ? 1 : 4
        configExecuteWS(transposeA: transposeA, transposeB: transposeB)
        configStore(activation: activation & 3, scale: scale, strideBytes: c.stride * cBytes)
        configLoad(which: 0, strideBytes: a.stride)
        configLoad(which: 1, strideBytes: b.stride)
        configLoad(which: 2, shrunk: lowD, strideBytes: (d?.stride ?? 0) * dBytes)
        var spad = 0
        for i0 in stride(from: 0, to: tilesI, by: t.i) {
            for j0 in stride(from: 0, to: tilesJ, by: t.j) {
                for k0 in stride(from: 0, to: tilesK, by: t.k) {
                    let li = min(t.i, tilesI - i0), lj = min(t.j, tilesJ - j0), lk = min(t.k, tilesK - k0)
                    let aOffset = transposeA ? a.at(k0 * dim, i0 * dim) : a.at(i0 * dim, k0 * dim)
                    let bOffset = transposeB ? b.at(j0 * dim, k0 * dim) : b.at(k0 * dim, j0 * dim)
                    let dOffset = d != nil && k0 == 0 ? d!.at(i0 * dim, j0 * dim) : 0
                    let cOffset = storeC && k0 + lk == tilesK ? c.at(i0 * dim, j0 * dim) : 0
                    loopWS(Loop(tilesI: li, tilesJ: lj, tilesK: lk,
                                padI: i0 + li == tilesI ? tilesI * dim - dimI : 0,
                                padJ: j0 + lj == tilesJ ? tilesJ * dim - dimJ : 0,
                                padK: k0 + lk == tilesK ? tilesK * dim - dimK : 0,
                                a: aOffset, b: bOffset, d: dOffset, c: cOffset,
                                strideA: a.stride, strideB: b.stride, strideD: d?.stride ?? 0, strideC: c.stride,
                                transposeA: transposeA, transposeB: transposeB, fullC: fullC, lowD: lowD,
                                exAccumulate: k0 > 0 || d != nil, activation: normalizes ? activation : 0, scratchpadID: 1 + spad))
                    spad ^= 1
                }
            }
        }
    }

    /// spinel_choose_tiles: the I×J block (C in half the accumulator, its operands in half the
    /// scratchpad) with the fewest blocks, then the fewest operand loads, then the widest J.
    func chooseTiles(_ tilesI: Int, _ tilesJ: Int) -> (i: Int, j: Int, k: Int) {
        var best = (i: 1, j: 1, k: 1)
        var bestBlocks = Int.max, bestLoads = Int.max
        for i in 1 ... max(1, min(tilesI, accumulatorHalfTiles)) {
            var j = 1
            while j <= min(tilesJ, accumulatorHalfTiles / i) && i + j <= scratchpadHalfTiles {
                let nI = (tilesI + i - 1) / i, nJ = (tilesJ + j - 1) / j
                let blocks = nI * nJ, loads = tilesI * nJ + tilesJ * nI
                if blocks < bestBlocks || (blocks == bestBlocks && (loads < bestLoads || (loads == bestLoads && j > best.j))) {
                    best = (i, j, 1)
                    bestBlocks = blocks
                    bestLoads = loads
                }
                j += 1
            }
        }
        return best
    }

    /// spinel_choose_row_tiles: all of J (normalized rows), the most rows of tiles that fit.
    func chooseRowTiles(_ tilesI: Int, _ tilesJ: Int) -> (i: Int, j: Int, k: Int) {
        (min(tilesI, min(accumulatorHalfTiles / tilesJ, scratchpadHalfTiles - tilesJ)), tilesJ, 1)
    }

    /// spinel_split_K: K split evenly into as few loops as fit half the scratchpad.
    func splitK(_ t: (i: Int, j: Int, k: Int), _ tilesK: Int) -> Int {
        let maxK = scratchpadHalfTiles / (t.i + t.j), loops = (tilesK + maxK - 1) / maxK
        return (tilesK + loops - 1) / loops
    }
}
