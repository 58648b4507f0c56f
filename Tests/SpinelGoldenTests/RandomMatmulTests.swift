import Testing
import SpinelAccelerator
import SpinelGolden

// Random PRELOAD/COMPUTE pairs against the plain reference of TestSupport.swift: random shapes,
// strides, bias source, destination, activation and shift, for every permitted transpose pair.

/// One permitted (dataflow, transpose A, transpose B) combination of docs/ISA.md.
struct ArrayMode: Sendable, CustomTestStringConvertible {
    var dataflow: Int
    var transposeA: Bool
    var transposeB: Bool

    static let permitted = [
        ArrayMode(dataflow: Gemmini.outputStationary, transposeA: false, transposeB: false),
        ArrayMode(dataflow: Gemmini.outputStationary, transposeA: true, transposeB: false),
        ArrayMode(dataflow: Gemmini.outputStationary, transposeA: true, transposeB: true),
        ArrayMode(dataflow: Gemmini.weightStationary, transposeA: false, transposeB: false),
        ArrayMode(dataflow: Gemmini.weightStationary, transposeA: false, transposeB: true),
        ArrayMode(dataflow: Gemmini.weightStationary, transposeA: true, transposeB: false),
    ]

    var testDescription: String {
        "\(dataflow == Gemmini.weightStationary ? "WS" : "OS") transposes A \(transposeA ? 1 : 0) B \(transposeB ? 1 : 0)"
    }
}

@Suite("Golden model: random pairs against the reference")
struct RandomMatmulTests {
    @Test(arguments: ArrayMode.permitted)
    func smallConfiguration(mode: ArrayMode) throws {
        for seed in UInt64(1)...150 { try checkRandomPair(.small, mode: mode, seed: seed) }
    }

    @Test(arguments: ArrayMode.permitted)
    func defaultConfiguration(mode: ArrayMode) throws {
        for seed in UInt64(1)...8 { try checkRandomPair(.default, mode: mode, seed: seed) }
    }

    private enum Bias: CaseIterable { case none, scratchpad, accumulator }
    private enum Destination: CaseIterable { case scratchpad, accumulatorOverwrite, accumulatorAccumulate, garbage }

    private func checkRandomPair(_ config: AcceleratorConfig, mode: ArrayMode, seed: UInt64) throws {
        var rng = SplitMix64(state: seed &* 7919 &+ UInt64(mode.dataflow))
        var machine = try Machine(config)
        let dim = machine.dim
        let rows = Int.random(in: 1...dim, using: &rng), inner = Int.random(in: 1...dim, using: &rng)
        let cols = Int.random(in: 1...dim, using: &rng)
        let aStride = Int.random(in: 1...3, using: &rng), cStride = Int.random(in: 1...3, using: &rng)
        let relu = Bool.random(using: &rng)
        let shift = Int.random(in: 0...5, using: &rng)
        let bias = Bias.allCases.randomElement(using: &rng)!
        let destination = Destination.allCases.randomElement(using: &rng)!
        let weightStationary = mode.dataflow == Gemmini.weightStationary

        let a = [[Int64]].random(rows: rows, cols: inner, in: -128...127, using: &rng)
        let b = [[Int64]].random(rows: inner, cols: cols, in: -128...127, using: &rng)
        let storedA = mode.transposeA ? Reference.transpose(a) : a
        let storedB = mode.transposeB ? Reference.transpose(b) : b
        try machine.loadScratchpad(storedA, row: 0, rowStride: aStride)
        try machine.loadScratchpad(storedB, row: 200)

        // Int32 bias values, half the time near the limits, so that adding the product wraps.
        let nearLimits = Bool.random(using: &rng)
        let d: [[Int64]]
        let dAddress: UInt32
        switch bias {
        case .none:
            d = Array(repeating: Array(repeating: 0, count: cols), count: rows)
            dAddress = Gemmini.garbage
        case .scratchpad:
            d = .random(rows: rows, cols: cols, in: -128...127, using: &rng)
            dAddress = 300
            try machine.loadScratchpad(d, row: 300)
        case .accumulator:
            d = .random(rows: rows, cols: cols, in: -2_147_483_648...2_147_483_647, using: &rng).map { row in
                row.map { nearLimits ? ($0 < 0 ? -2_147_483_648 + $0 % 100_000 + 100_000 : 2_147_483_647 - $0 % 100_000) : $0 }
            }
            dAddress = Gemmini.acc(0)
            try machine.loadAccumulator(d, row: 0)
        }

        // Whole DIM-wide rows under C, so that masked lanes and skipped rows are checked too.
        let cRowsCovered = (rows - 1) * cStride + 1
        let inScratchpad = destination == .scratchpad
        let before: [[Int64]] = .random(rows: cRowsCovered, cols: dim,
                                        in: inScratchpad ? -128...127 : -2_147_483_648...2_147_483_647, using: &rng)
        let cAddress: UInt32
        switch destination {
        case .scratchpad:
            cAddress = 400
            try machine.loadScratchpad(before, row: 400)
        case .accumulatorOverwrite, .accumulatorAccumulate:
            cAddress = Gemmini.acc(100, accumulate: destination == .accumulatorAccumulate)
            try machine.loadAccumulator(before, row: 100)
        case .garbage:
            cAddress = Gemmini.garbage
        }

        try machine.run(Gemmini.configEx(dataflow: mode.dataflow, activation: relu ? Gemmini.relu : Gemmini.noActivation,
                                         shift: UInt32(shift), cStride: cStride, aStride: aStride,
                                         transposeA: mode.transposeA, transposeB: mode.transposeB))
        if weightStationary {
            try machine.run(
                Gemmini.preload(200, cAddress, bdCols: storedB[0].count, bdRows: storedB.count, cCols: cols, cRows: rows),
                Gemmini.computePreloaded(0, dAddress, aCols: storedA[0].count, aRows: storedA.count, bdCols: cols, bdRows: rows))
        } else {
            try machine.run(
                Gemmini.preload(dAddress, cAddress, bdCols: cols, bdRows: rows, cCols: cols, cRows: rows),
                Gemmini.computePreloaded(0, 200, aCols: storedA[0].count, aRows: storedA.count,
                                         bdCols: storedB[0].count, bdRows: storedB.count))
        }
        #expect(machine.model.error == nil, "seed \(seed): \(String(describing: machine.model.error))")

        // The reference: exact product, bias added in 32 bits, OS shift, then the destination's rule.
        let product = Reference.matmul(a, b)
        var expected = before
        for i in 0..<rows {
            for j in 0..<cols {
                let sum = Reference.int32(product[i][j] + d[i][j])
                let result = weightStationary ? sum : Reference.shiftRoundingHalfEven(sum, shift)
                let old = before[i * cStride][j]
                switch destination {
                case .scratchpad:
                    let saturated = Reference.clamp(result, bits: 8)
                    expected[i * cStride][j] = relu ? max(saturated, 0) : saturated
                case .accumulatorOverwrite: expected[i * cStride][j] = result
                case .accumulatorAccumulate: expected[i * cStride][j] = Reference.int32(old + result)
                case .garbage: break
                }
            }
        }
        let actual: [[Int64]]
        switch destination {
        case .scratchpad: actual = machine.scratchpad(400, rows: cRowsCovered)
        case .accumulatorOverwrite, .accumulatorAccumulate: actual = machine.accumulator(100, rows: cRowsCovered)
        case .garbage: return
        }
        #expect(actual == expected, "seed \(seed): \(rows)×\(inner)·\(inner)×\(cols), bias \(bias), C \(destination), relu \(relu), shift \(shift)")
    }

    /// A 32×32×32 weight-stationary matmul on DIM 16 as Gemmini's tiled software issues it: block
    /// mvins, MVIN2 for B and MVIN3 for the bias, weights reused across rows of tiles with
    /// COMPUTE_ACCUMULATED, results accumulated in the accumulator and moved out scaled with ReLU.
    @Test func defaultConfigurationTiledMatmul() throws {
        var machine = try Machine(.default)
        var rng = SplitMix64(state: 2024)
        let size = 32, tile = 16, tiles = 2
        let a = [[Int64]].random(rows: size, cols: size, in: -128...127, using: &rng)
        let b = [[Int64]].random(rows: size, cols: size, in: -128...127, using: &rng)
        let d = [[Int64]].random(rows: size, cols: size, in: -(1 << 20)...(1 << 20), using: &rng)
        let (aDRAM, bDRAM, dDRAM, cDRAM): (UInt64, UInt64, UInt64, UInt64) = (0x1_0000, 0x2_0000, 0x3_0000, 0x4_0000)
        try machine.put(a, at: aDRAM, rowStride: size, elementBytes: 1)
        try machine.put(b, at: bDRAM, rowStride: size, elementBytes: 1)
        try machine.put(d, at: dDRAM, rowStride: size * 4, elementBytes: 4)

        let bStart = 1000
        func aTile(_ i: Int, _ k: Int) -> UInt32 { UInt32((i * tiles + k) * tile) }
        func bTile(_ k: Int, _ j: Int) -> UInt32 { UInt32(bStart + (k * tiles + j) * tile) }
        func cTile(_ i: Int, _ j: Int, accumulate: Bool = true) -> UInt32 { Gemmini.acc((i * tiles + j) * tile, accumulate: accumulate) }

        var program: [Encoded] = [
            Gemmini.configEx(dataflow: Gemmini.weightStationary),
            Gemmini.configSt(stride: UInt64(size), activation: Gemmini.relu, accScale: 0.0625),
            Gemmini.configLd(stride: UInt64(size), blockStride: tile, id: 0),
            Gemmini.configLd(stride: UInt64(size), blockStride: tile, id: 1),
            Gemmini.configLd(stride: UInt64(size * 4), blockStride: tile, id: 2),
        ]
        for i in 0..<tiles {
            // Both K tiles of a row of A in one block mvin (32 columns, two DIM blocks).
            program.append(Gemmini.mvin(aDRAM + UInt64(i * tile * size), aTile(i, 0), cols: size, rows: tile))
            program.append(Gemmini.mvin2(bDRAM + UInt64(i * tile * size), bTile(i, 0), cols: size, rows: tile))
            for j in 0..<tiles {
                program.append(Gemmini.mvin3(dDRAM + UInt64((i * tile * size + j * tile) * 4), cTile(i, j, accumulate: false),
                                             cols: tile, rows: tile))
            }
        }
        for j in 0..<tiles {
            for k in 0..<tiles {
                for i in 0..<tiles {
                    program.append(Gemmini.preload(i == 0 ? bTile(k, j) : Gemmini.garbage, cTile(i, j),
                                                   bdCols: tile, bdRows: tile, cCols: tile, cRows: tile))
                    program.append(i == 0
                        ? Gemmini.computePreloaded(aTile(i, k), Gemmini.garbage, aCols: tile, aRows: tile, bdCols: tile, bdRows: tile)
                        : Gemmini.computeAccumulated(aTile(i, k), Gemmini.garbage, aCols: tile, aRows: tile, bdCols: tile, bdRows: tile))
                }
            }
        }
        for i in 0..<tiles {
            for j in 0..<tiles {
                program.append(Gemmini.mvout(cDRAM + UInt64(i * tile * size + j * tile), cTile(i, j), cols: tile, rows: tile))
            }
        }
        try machine.run(program)
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")

        // |A·B + D| < 2^24 and the scale is 1/16, so Double arithmetic gives the fp32 result exactly.
        let product = Reference.matmul(a, b)
        let expected = (0..<size).map { i in
            (0..<size).map { j in
                max(0, Reference.clamp(Int64((Double(product[i][j] + d[i][j]) / 16).rounded(.toNearestOrEven)), bits: 8))
            }
        }
        #expect(machine.get(at: cDRAM, rows: size, cols: size, rowStride: size, elementBytes: 1) == expected)
    }
}
