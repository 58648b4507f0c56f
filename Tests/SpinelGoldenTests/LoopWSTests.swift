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
