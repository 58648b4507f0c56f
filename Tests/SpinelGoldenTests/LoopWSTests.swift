import Testing
import SpinelAccelerator
import SpinelGolden
import SpinelSim

// LOOP_WS on the golden model against the plain reference of TestSupport.swift: random sizes,
// pads, bias (full and low), transposes, full-width C, K split over loops; and its checks.

@Suite("Golden model: LOOP_WS")
struct LoopWSTests {
    typealias G = Gemmini

    @Test(arguments: [AcceleratorConfig.Preset.small, .default])
    func randomLoopsMatchTheReference(preset: AcceleratorConfig.Preset) throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0x100F + UInt64(preset.hashValue & 0xFF)))
        for _ in 0..<(preset == .small ? 40 : 6) { try checkRandomLoop(AcceleratorConfig.preset(preset), random: &random) }
    }

    private func checkRandomLoop(_ config: AcceleratorConfig, random: inout SeededGenerator) throws {
        var machine = try Machine(config)
        let dim = machine.dim
        let tilesI = Int.random(in: 1...3, using: &random), tilesJ = Int.random(in: 1...3, using: &random)
        let tilesK = Int.random(in: 1...4, using: &random)
        let padI = Int.random(in: 0..<dim, using: &random), padJ = Int.random(in: 0..<dim, using: &random)
        let padK = Int.random(in: 0..<dim, using: &random)
        let M = tilesI * dim - padI, N = tilesJ * dim - padJ, K = tilesK * dim - padK
        let transposeA = Bool.random(using: &random), transposeB = !transposeA && Bool.random(using: &random)
        let bias = Int.random(in: 0...2, using: &random)   // none, acc_t, elem_t (low_D)
        let fullC = Bool.random(using: &random), relu = Bool.random(using: &random)
        let splitK = tilesK > 1 && Bool.random(using: &random)
        let context = "M \(M) N \(N) K \(K) tA \(transposeA) tB \(transposeB) bias \(bias) fullC \(fullC) relu \(relu) split \(splitK)"

        func matrix(_ rows: Int, _ cols: Int, _ range: ClosedRange<Int64>) -> [[Int64]] {
            (0..<rows).map { _ in (0..<cols).map { _ in Int64.random(in: range, using: &random) } }
        }
        let a = matrix(M, K, -30...30), b = matrix(K, N, -30...30)
        let d = bias == 0 ? nil : matrix(M, N, bias == 1 ? -5000...5000 : -100...100)
        let (aAddress, bAddress, dAddress, cAddress): (UInt64, UInt64, UInt64, UInt64) = (0x10000, 0x40000, 0x80000, 0xC0000)
        try machine.put(transposeA ? Reference.transpose(a) : a, at: aAddress, rowStride: transposeA ? M : K, elementBytes: 1)
        try machine.put(transposeB ? Reference.transpose(b) : b, at: bAddress, rowStride: transposeB ? K : N, elementBytes: 1)
        let dBytes = bias == 2 ? 1 : 4, cBytes = fullC ? 4 : 1
        if let d { try machine.put(d, at: dAddress, rowStride: N * dBytes, elementBytes: dBytes) }
        let scale: Float = 1.0 / 64
        try machine.run(G.configEx(dataflow: G.weightStationary, transposeA: transposeA, transposeB: transposeB),
                        G.configSt(stride: UInt64(N * cBytes), activation: relu ? 1 : 0, accScale: scale),
                        G.configLd(stride: UInt64(transposeA ? M : K), blockStride: dim, id: 0),
                        G.configLd(stride: UInt64(transposeB ? K : N), blockStride: dim, id: 1),
                        G.configLd(stride: UInt64(N * dBytes), shrunk: bias == 2, blockStride: dim, id: 2))
        // With a split, the first loop covers the first K tile and the second the rest.
        let parts = splitK ? [(0, 1), (1, tilesK - 1)] : [(0, tilesK)]
        for (index, part) in parts.enumerated() {
            let (k0, count) = part
            let last = index == parts.count - 1
            let aOffset = UInt64(transposeA ? k0 * dim * M : k0 * dim), bOffset = UInt64(transposeB ? k0 * dim : k0 * dim * N)
            try machine.run(G.loopWS(I: tilesI, J: tilesJ, K: count, padI: padI, padJ: padJ, padK: last ? padK : 0,
                                     A: aAddress + aOffset, B: bAddress + bOffset, D: index == 0 && d != nil ? dAddress : 0,
                                     C: last ? cAddress : 0, aStride: UInt64(transposeA ? M : K), bStride: UInt64(transposeB ? K : N),
                                     dStride: UInt64(N), cStride: UInt64(N), aTranspose: transposeA, bTranspose: transposeB,
                                     fullC: fullC, lowD: bias == 2, exAccumulate: index > 0 || d != nil, activation: 0,
                                     aSpadID: 1 + index % 2, bSpadID: 1 + index % 2))
        }
        #expect(machine.model.error == nil, "\(context): \(String(describing: machine.model.error))")
        var expected = Reference.matmul(a, b)
        if let d { expected = zip(expected, d).map { zip($0, $1).map(+) } }
        let got = machine.get(at: cAddress, rows: M, cols: N, rowStride: N * cBytes, elementBytes: cBytes)
        for i in 0..<M {
            for j in 0..<N {
                let sum = expected[i][j]
                let want: Int64
                if fullC {
                    want = Reference.int32(sum)
                } else {
                    // The scale 2^-6 is exact in fp32, so ACC_SCALE is a rounding shift (ties to even).
                    let scaled = Reference.clamp(Reference.shiftRoundingHalfEven(Reference.int32(sum), 6), bits: 8)
                    want = relu ? max(scaled, 0) : scaled
                }
                try #require(got[i][j] == want, "C[\(i)][\(j)] = \(got[i][j]), expected \(want): \(context)")
            }
        }
    }

    @Test func launchChecks() throws {
        var machine = try Machine(.small)
        let dim = machine.dim
        func launch(I: Int, J: Int, K: Int, pad: Int = 0, act: Int = 0, ids: Int = 1, transposes: Bool = false) throws -> AcceleratorError.Code? {
            var fresh = try Machine(.small)
            try fresh.run(G.loopWS(I: I, J: J, K: K, padI: pad, padJ: 0, padK: 0, A: 0x1000, B: 0x2000, D: 0, C: 0x3000,
                                   aStride: 64, bStride: 64, dStride: 0, cStride: 64, aTranspose: transposes, bTranspose: transposes,
                                   fullC: false, lowD: false, exAccumulate: false, activation: act, aSpadID: ids, bSpadID: ids))
            return fresh.model.error?.code
        }
        let half = machine.model.parameters.spRows / 2 / dim
        #expect(try launch(I: 1, J: 1, K: 1, act: 2) == .unsupportedField)
        #expect(try launch(I: 1, J: 1, K: 1, ids: 3) == .unsupportedField)
        #expect(try launch(I: 1, J: 1, K: 1, transposes: true) == .unsupportedDataflow)
        #expect(try launch(I: 0, J: 1, K: 1) == .illegalOperand)
        #expect(try launch(I: 1, J: 1, K: 1, pad: dim) == .illegalOperand)
        #expect(try launch(I: 1, J: 1, K: half) == .localAddressOutOfRange)
        #expect(try launch(I: 1, J: 1, K: half / 2) == nil)
        // A failed launch still counts as one command, under its own index.
        try machine.run(G.flush())
        try machine.run(G.loopWS(I: 0, J: 1, K: 1, padI: 0, padJ: 0, padK: 0, A: 0, B: 0, D: 0, C: 0, aStride: 0, bStride: 0, dStride: 0,
                                 cStride: 0, aTranspose: false, bTranspose: false, fullC: false, lowD: false, exAccumulate: false,
                                 activation: 0))
        #expect(machine.model.error?.commandIndex == 6)
        #expect(machine.model.commandCount == 7)
    }

    /// `small` with the normalization units.
    static var normalizing: AcceleratorConfig {
        var config = AcceleratorConfig.small
        config.hasNormalizations = true
        return config
    }

    /// act 2 (LayerNorm) and 4 (Softmax) need the normalization units, C of accType values, and
    /// no residual add; act 3 (I-GELU) needs the units; 5 to 7 are refused everywhere.
    @Test func normalizingLaunchChecks() throws {
        func launch(_ config: AcceleratorConfig, act: Int, fullC: Bool = false, residual: Bool = false) throws -> AcceleratorError.Code? {
            var machine = try Machine(config)
            try machine.run(G.loopWS(I: 1, J: 1, K: 1, padI: 0, padJ: 0, padK: 0, A: 0x1000, B: 0x2000, D: 0, C: 0x3000,
                                     aStride: 64, bStride: 64, dStride: 0, cStride: 64, aTranspose: false, bTranspose: false,
                                     fullC: fullC, lowD: false, exAccumulate: false, activation: act, aSpadID: 1, bSpadID: 1,
                                     residualAdd: residual))
            return machine.model.error?.code
        }
        for act in [2, 4] {
            #expect(try launch(.small, act: act) == .unsupportedField, "act \(act) without normalization units")
            #expect(try launch(Self.normalizing, act: act) == nil, "act \(act)")
            #expect(try launch(Self.normalizing, act: act, fullC: true) == .illegalOperand, "act \(act) with full_C")
            #expect(try launch(Self.normalizing, act: act, residual: true) == .unsupportedField, "act \(act) with the residual add")
        }
        // act 3 (I-GELU) issues no passes (CONFIG_ST applies it) and is accepted with the units.
        #expect(try launch(.small, act: 3) == .unsupportedField, "act 3 without normalization units")
        #expect(try launch(Self.normalizing, act: 3) == nil, "act 3")
        for act in [5, 6, 7] { #expect(try launch(Self.normalizing, act: act) == .unsupportedField, "act \(act)") }
    }

    /// With act 2 the mvouts of C follow all pairs: per row of tiles, SUM… MEAN, VARIANCE…
    /// INV_STDDEV, then the output, each over the row's columns; act 4 uses MAX… MAX and
    /// SUM_EXP… INV_SUM_EXP.
    @Test func normalizingUnrollingOrder() throws {
        let parameters = try Self.normalizing.parameters()
        let dim = parameters.dim
        var settings = LoopWSSettings()
        settings.bounds = LoopWSBounds(tilesI: 2, tilesJ: 2, tilesK: 1, padI: 0, padJ: 1, padK: 0)
        settings.a = 0x1000; settings.b = 0x2000; settings.c = 0x4000
        settings.strideA = UInt64(dim); settings.strideB = UInt64(2 * dim); settings.strideC = UInt64(2 * dim)
        for (act, passes) in [(2, [(1, 2), (3, 4)]), (4, [(5, 5), (6, 7)])] {
            let launch = LoopWSLaunch(exAccumulate: false, fullC: false, lowD: false, activation: act, aScratchpadID: 1, bScratchpadID: 1,
                                      transposeA: false, transposeB: false, isResidualAdd: false)
            let commands = LoopWSUnrolling.commands(of: launch, settings: settings, parameters: parameters)
            // Loads (A: 2 rows of tiles, B: one block), the 4 pairs, then the 2 × 3 × 2 mvouts.
            #expect(commands.map(\.funct) == [2, 2, 1] + [6, 4, 6, 5, 6, 4, 6, 5] + [UInt8](repeating: 3, count: 12), "act \(act)")
            var expected: [(row: Int, columns: Int, command: Int, dram: UInt64)] = []
            for i in 0..<2 {
                for pass in passes + [(0, 0)] {
                    for j in 0..<2 {
                        expected.append((row: (i * 2 + j) * dim, columns: j == 1 ? dim - 1 : dim, command: j == 1 ? pass.1 : pass.0,
                                         dram: 0x4000 + UInt64(i * dim * 2 * dim + j * dim)))
                    }
                }
            }
            let mvouts = commands.suffix(12)
            #expect(mvouts.map { Int($0.rs2 & 0x3FF_FFFF) } == expected.map(\.row), "act \(act): rows (accumulator half 0)")
            #expect(mvouts.map { Int($0.rs2 >> 26 & 7) } == expected.map(\.command), "act \(act): normalization commands")
            #expect(mvouts.map { Int($0.rs2 >> 32 & 0xFFFF) } == expected.map(\.columns), "act \(act): columns")
            #expect(mvouts.map(\.rs1) == expected.map(\.dram), "act \(act): DRAM addresses")
            #expect(mvouts.allSatisfy { $0.rs2 >> 31 & 1 == 1 && $0.rs2 >> 29 & 1 == 0 }, "act \(act): accumulator, not full width")
        }
    }

    /// LOOP_WS with act 2 and 4 on the golden model against docs/NUMERICS.md's functions applied to
    /// the plain reference's A·B + D; K split over two loops.
    @Test func normalizingLoopsMatchTheReference() throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0x1A0F))
        for act in [2, 4] {
            for _ in 0..<6 {
                var machine = try Machine(Self.normalizing)
                let dim = machine.dim
                let tilesI = Int.random(in: 1...3, using: &random), tilesJ = Int.random(in: 1...3, using: &random), tilesK = 2
                let padI = Int.random(in: 0..<dim, using: &random), padJ = Int.random(in: 0..<dim, using: &random)
                let M = tilesI * dim - padI, N = tilesJ * dim - padJ, K = tilesK * dim
                let a = (0..<M).map { _ in (0..<K).map { _ in Int64.random(in: -30...30, using: &random) } }
                let b = (0..<K).map { _ in (0..<N).map { _ in Int64.random(in: act == 4 ? -2...2 : -30...30, using: &random) } }
                let d = (0..<M).map { _ in (0..<N).map { _ in Int64.random(in: -5000...5000, using: &random) } }
                try machine.put(a, at: 0x10000, rowStride: K, elementBytes: 1)
                try machine.put(b, at: 0x40000, rowStride: N, elementBytes: 1)
                try machine.put(d, at: 0x80000, rowStride: N * 4, elementBytes: 4)
                let scale: Float = act == 2 ? 24 : 1
                let constants = IExpConstants(qln2: 11, qln2Inverse: 65536 / 11, qb: 21, qc: 245)
                try machine.run(G.configEx(dataflow: G.weightStationary),
                                G.configSt(stride: UInt64(N), activation: act & 3, accScale: scale),
                                G.configLd(stride: UInt64(K), blockStride: dim, id: 0), G.configLd(stride: UInt64(N), blockStride: dim, id: 1),
                                G.configLd(stride: UInt64(N * 4), blockStride: dim, id: 2))
                if act == 4 {
                    try machine.run(G.configNorm(qConst: 11, qConstType: 0, actMSB: true, igeluQb: 21, igeluQc: 245),
                                    G.configNorm(qConst: 65536 / 11, qConstType: 1, actMSB: true, igeluQb: 21, igeluQc: 245))
                }
                for part in 0..<2 {
                    try machine.run(G.loopWS(I: tilesI, J: tilesJ, K: 1, padI: padI, padJ: padJ, padK: 0,
                                             A: 0x10000 + UInt64(part * dim), B: 0x40000 + UInt64(part * dim * N), D: part == 0 ? 0x80000 : 0,
                                             C: part == 1 ? 0xC0000 : 0, aStride: UInt64(K), bStride: UInt64(N), dStride: UInt64(N),
                                             cStride: UInt64(N), aTranspose: false, bTranspose: false, fullC: false, lowD: false,
                                             exAccumulate: true, activation: part == 1 ? act : 0, aSpadID: 1 + part, bSpadID: 1 + part))
                }
                #expect(machine.model.error == nil, "act \(act): \(String(describing: machine.model.error))")
                let sums = zip(Reference.matmul(a, b), d).map { zip($0, $1).map { Reference.int32($0 + $1) } }
                let expected = sums.map { row in
                    act == 2 ? Numerics.layerNormOutput(row, scale: scale, outputBits: 8)
                        : Numerics.softmaxOutput(row, constants: constants, accumulatorBits: 32, outputBits: 8)!
                }
                let got = machine.get(at: 0xC0000, rows: M, cols: N, rowStride: N, elementBytes: 1)
                #expect(got == expected, "act \(act), \(M)×\(N)")
            }
        }
    }

    /// The unrolling's order: bias, K block 0's operands, then each block's pairs, each pair
    /// followed by one waiting command (a load of the next block, an mvout of a finished column).
    @Test func unrollingOrder() throws {
        let parameters = try AcceleratorConfig.small.parameters()
        let dim = parameters.dim, blockTiles = parameters.loopBlockTiles
        var settings = LoopWSSettings()
        settings.bounds = LoopWSBounds(tilesI: 2, tilesJ: 1, tilesK: blockTiles + 1, padI: 0, padJ: 0, padK: 0)
        settings.a = 0x1000; settings.b = 0x2000; settings.d = 0x3000; settings.c = 0x4000
        settings.strideA = UInt64((blockTiles + 1) * dim); settings.strideB = UInt64(dim); settings.strideD = UInt64(dim)
        settings.strideC = UInt64(dim)
        let launch = LoopWSLaunch(exAccumulate: true, fullC: false, lowD: false, activation: 0, aScratchpadID: 1, bScratchpadID: 1,
                                  transposeA: false, transposeB: false, isResidualAdd: false)
        let functs = LoopWSUnrolling.commands(of: launch, settings: settings, parameters: parameters).map(\.funct)
        let preloaded: [UInt8] = [6, 4], accumulated: [UInt8] = [6, 5]
        // Bias (2 rows of tiles), block 0's operands (A: 2 mvins, B: one per K tile).
        var expected: [UInt8] = [14, 14, 2, 2]
        expected += [UInt8](repeating: 1, count: blockTiles)
        // Block 0's pairs; the first three each followed by one of block 1's loads (A, A, B).
        expected += preloaded + [2] + accumulated + [2] + preloaded + [1] + accumulated
        for _ in 2..<blockTiles { expected += preloaded + accumulated }
        // Block 1's pairs, then the mvouts of the only column.
        expected += preloaded + accumulated + [3, 3]
        #expect(functs == expected)
    }
}
