import Testing
import SpinelAccelerator
import SpinelGolden

// MVIN / MVOUT on the small configuration (DIM 4, 1024 scratchpad rows, 256 accumulator rows,
// 32-byte DMA rows). Expected values are written out by hand.

@Suite("Golden model: MVIN and MVOUT")
struct DataMovementTests {
    let matrix: [[Int64]] = [[1, -2, 3, -4], [5, 6, -7, 8], [127, -128, 0, 9], [-1, 10, 11, 12]]

    @Test func scratchpadRoundTripWithStrides() throws {
        var machine = try Machine()
        try machine.put(matrix, at: 0x1000, rowStride: 8, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 8, blockStride: 4),
                        Gemmini.mvin(0x1000, 32, cols: 4, rows: 4),
                        Gemmini.configSt(stride: 5),
                        Gemmini.mvout(0x2000, 32, cols: 4, rows: 4))
        #expect(machine.scratchpad(32, rows: 4) == matrix)
        #expect(machine.get(at: 0x2000, rows: 4, cols: 4, rowStride: 5, elementBytes: 1) == matrix)
        // The byte between two 4-byte rows 5 bytes apart is not written.
        #expect(machine.memory.byte(at: 0x2004) == 0)
        #expect(machine.model.error == nil)
    }

    @Test func partialMvinLeavesMaskedLanesAndRows() throws {
        var machine = try Machine()
        try machine.put(Array(repeating: [9, 9, 9, 9], count: 4), at: 0x1000, rowStride: 4, elementBytes: 1)
        try machine.put([[1, 2, 3], [4, 5, 6]], at: 0x2000, rowStride: 3, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 4, blockStride: 4),
                        Gemmini.mvin(0x1000, 32, cols: 4, rows: 4),
                        Gemmini.configLd(stride: 3, blockStride: 4),
                        Gemmini.mvin(0x2000, 32, cols: 3, rows: 2))
        #expect(machine.scratchpad(32, rows: 4) == [[1, 2, 3, 9], [4, 5, 6, 9], [9, 9, 9, 9], [9, 9, 9, 9]])
    }

    @Test func mvinFromAddressZeroMovesZeros() throws {
        var machine = try Machine()
        try machine.put(Array(repeating: [9, 9, 9, 9], count: 3), at: 0x1000, rowStride: 4, elementBytes: 1)
        try machine.put([[70000, -5, 6, 7]], at: 0x3000, rowStride: 16, elementBytes: 4)
        try machine.run(Gemmini.configLd(stride: 4, blockStride: 4),
                        Gemmini.mvin(0x1000, 32, cols: 4, rows: 3),
                        Gemmini.mvin(0, 32, cols: 3, rows: 2),
                        Gemmini.mvin(0x3000, Gemmini.acc(7), cols: 4, rows: 1),
                        Gemmini.mvin(0, Gemmini.acc(7, accumulate: true), cols: 4, rows: 1),
                        Gemmini.mvin(0x3000, Gemmini.acc(8), cols: 4, rows: 1),
                        Gemmini.mvin(0, Gemmini.acc(8), cols: 2, rows: 1))
        #expect(machine.scratchpad(32, rows: 3) == [[0, 0, 0, 9], [0, 0, 0, 9], [9, 9, 9, 9]])
        // Accumulating zeros changes nothing; overwriting with zeros clears only the covered lanes.
        #expect(machine.model.accumulatorRow(7) == [70000, -5, 6, 7])
        #expect(machine.model.accumulatorRow(8) == [0, 0, 6, 7])
        #expect(machine.model.error == nil)
    }

    @Test func blockMvinUsesTheBlockStride() throws {
        var machine = try Machine()
        // Element (r, c) = 10·r + c; 10 columns make blocks of 4, 4 and 2 columns.
        let wide: [[Int64]] = (0..<2).map { r in (0..<10).map { c in Int64(10 * r + c) } }
        try machine.put(wide, at: 0x1000, rowStride: 16, elementBytes: 1)
        try machine.put(Array(repeating: [-1, -1, -1, -1], count: 2), at: 0x2000, rowStride: 4, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 4, blockStride: 4),
                        Gemmini.mvin(0x2000, 116, cols: 4, rows: 2),
                        Gemmini.configLd(stride: 16, blockStride: 8),
                        Gemmini.mvin(0x1000, 100, cols: 10, rows: 2))
        #expect(machine.scratchpad(100, rows: 2) == [[0, 1, 2, 3], [10, 11, 12, 13]])
        #expect(machine.scratchpad(108, rows: 2) == [[4, 5, 6, 7], [14, 15, 16, 17]])
        #expect(machine.scratchpad(116, rows: 2) == [[8, 9, -1, -1], [18, 19, -1, -1]])
        #expect(machine.scratchpad(102, rows: 1) == [[0, 0, 0, 0]])
    }

    @Test func accumulatorBlockMvinAndShrunkMvin() throws {
        var machine = try Machine()
        // Full-width accumulator rows: 8 columns × 4 B = the 32-byte DMA limit, two blocks.
        try machine.put([[1, 2, 3, 4, 5, 6, 7, 8]], at: 0x1000, rowStride: 32, elementBytes: 4)
        try machine.put([[-5, 100, -128, 7, 1, 2]], at: 0x2000, rowStride: 6, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 32, blockStride: 3, id: 2),
                        Gemmini.mvin3(0x1000, Gemmini.acc(10), cols: 8, rows: 1),
                        Gemmini.configLd(stride: 6, shrunk: true, blockStride: 4),
                        Gemmini.mvin(0x2000, Gemmini.acc(20), cols: 6, rows: 1))
        #expect(machine.model.accumulatorRow(10) == [1, 2, 3, 4])
        #expect(machine.model.accumulatorRow(13) == [5, 6, 7, 8])
        #expect(machine.model.accumulatorRow(20) == [-5, 100, -128, 7])
        #expect(machine.model.accumulatorRow(24) == [1, 2, 0, 0])
        #expect(machine.model.error == nil)
    }

    @Test func accumulatorFullWidthRoundTripAndAccumulatingMvin() throws {
        var machine = try Machine()
        let values: [[Int64]] = [[2_147_483_647, -2_147_483_648, 123_456_789, -1]]
        try machine.put(values, at: 0x3000, rowStride: 16, elementBytes: 4)
        try machine.put([[1, -1, 1, 1]], at: 0x3100, rowStride: 16, elementBytes: 4)
        try machine.run(Gemmini.configLd(stride: 16, blockStride: 4),
                        Gemmini.mvin(0x3000, Gemmini.acc(5), cols: 4, rows: 1),
                        Gemmini.configSt(stride: 16),
                        Gemmini.mvout(0x4000, Gemmini.acc(5, fullWidth: true), cols: 4, rows: 1),
                        Gemmini.mvin(0x3100, Gemmini.acc(5, accumulate: true), cols: 4, rows: 1),
                        Gemmini.mvout(0x4100, Gemmini.acc(5, fullWidth: true), cols: 3, rows: 1))
        #expect(machine.get(at: 0x4000, rows: 1, cols: 4, rowStride: 16, elementBytes: 4) == values)
        // Accumulation wraps in 32 bits.
        #expect(machine.model.accumulatorRow(5) == [-2_147_483_648, 2_147_483_647, 123_456_790, 0])
        #expect(machine.get(at: 0x4100, rows: 1, cols: 4, rowStride: 16, elementBytes: 4)
                == [[-2_147_483_648, 2_147_483_647, 123_456_790, 0]])
        #expect(machine.memory.byte(at: 0x410C) == 0, "the fourth column was not moved out")
    }

    @Test func scaledMvinRoundsTiesToEvenAndSaturates() throws {
        var machine = try Machine()
        try machine.put([[3, 5, -3, -5], [127, -128, 1, -1]], at: 0x1000, rowStride: 4, elementBytes: 1)
        try machine.put([[100, -100, 63, -64], [85, -86, 0, 2]], at: 0x2000, rowStride: 4, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 4, scale: 0.5, blockStride: 4),
                        Gemmini.mvin(0x1000, 0, cols: 4, rows: 2),
                        Gemmini.configLd(stride: 4, scale: 2, blockStride: 4, id: 1),
                        Gemmini.mvin2(0x2000, 4, cols: 4, rows: 1),
                        Gemmini.configLd(stride: 4, scale: 1.5, blockStride: 4, id: 2),
                        Gemmini.mvin3(0x2004, 5, cols: 4, rows: 1))
        // 1.5→2, 2.5→2, −1.5→−2, −2.5→−2; 63.5→64, −64, 0.5→0, −0.5→0.
        #expect(machine.scratchpad(0, rows: 2) == [[2, 2, -2, -2], [64, -64, 0, 0]])
        // 200→127, −200→−128, 126, −128.
        #expect(machine.scratchpad(4, rows: 1) == [[127, -128, 126, -128]])
        // 127.5→128→127, −129→−128, 0, 3.
        #expect(machine.scratchpad(5, rows: 1) == [[127, -128, 0, 3]])
    }

    @Test(arguments: [false, true])
    func accumulatorMvoutScalesRoundsAndActivates(relu: Bool) throws {
        var machine = try Machine()
        try machine.put([[10, 14, -6, 1000], [-1000, 2, 6, -2]], at: 0x1000, rowStride: 16, elementBytes: 4)
        try machine.run(Gemmini.configLd(stride: 16, blockStride: 4),
                        Gemmini.mvin(0x1000, Gemmini.acc(0), cols: 4, rows: 2),
                        Gemmini.configSt(stride: 4, activation: relu ? Gemmini.relu : Gemmini.noActivation, accScale: 0.25),
                        Gemmini.mvout(0x2000, Gemmini.acc(0, accumulate: true), cols: 4, rows: 2))
        // ×0.25: 2.5→2, 3.5→4, −1.5→−2, 250→127; −250→−128, 0.5→0, 1.5→2, −0.5→0.
        let expected: [[Int64]] = relu ? [[2, 4, 0, 127], [0, 0, 2, 0]] : [[2, 4, -2, 127], [-128, 0, 2, 0]]
        #expect(machine.get(at: 0x2000, rows: 2, cols: 4, rowStride: 4, elementBytes: 1) == expected)
        #expect(machine.model.error == nil)
    }

    @Test func partialMvoutWritesOnlyItsColumns() throws {
        var machine = try Machine()
        try machine.put(matrix, at: 0x1000, rowStride: 4, elementBytes: 1)
        try machine.put([[-9, -9, -9, -9], [-9, -9, -9, -9], [-9, -9, -9, -9]], at: 0x2000, rowStride: 4, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 4, blockStride: 4),
                        Gemmini.mvin(0x1000, 0, cols: 4, rows: 4),
                        Gemmini.configSt(stride: 4),
                        Gemmini.mvout(0x2000, 1, cols: 2, rows: 2))
        #expect(machine.get(at: 0x2000, rows: 3, cols: 4, rowStride: 4, elementBytes: 1)
                == [[5, 6, -9, -9], [127, -128, -9, -9], [-9, -9, -9, -9]])
    }

    @Test func defaultConfigurationRoundTrip() throws {
        var machine = try Machine(.default)
        var rng = SplitMix64(state: 16)
        // 4 rows of 48 int8 columns: three DIM-16 blocks, consecutive with the default block stride.
        let wide = [[Int64]].random(rows: 4, cols: 48, in: -128...127, using: &rng)
        try machine.put(wide, at: 0x7f00_0000_1000, rowStride: 64, elementBytes: 1)
        try machine.run(Gemmini.configLd(stride: 64, blockStride: 16),
                        Gemmini.mvin(0x7f00_0000_1000, 32, cols: 48, rows: 4),
                        Gemmini.configSt(stride: 16))
        for block in 0..<3 {
            try machine.run(Gemmini.mvout(0x8000 + UInt64(block) * 64, UInt32(32 + 16 * block), cols: 16, rows: 4))
            let expected = wide.map { Array($0[16 * block..<16 * (block + 1)]) }
            #expect(machine.scratchpad(32 + 16 * block, rows: 4) == expected)
            #expect(machine.get(at: 0x8000 + UInt64(block) * 64, rows: 4, cols: 16, rowStride: 16, elementBytes: 1) == expected)
        }
        #expect(machine.model.error == nil)
    }
}
