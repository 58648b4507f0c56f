import Testing
import SpinelAccelerator
import SpinelGolden

// PRELOAD + COMPUTE on the small configuration (DIM 4), hand-computed: one partial tile
//   A = [1 2 3; 4 5 6] (2×3), B = [7 8; 9 10; 11 12] (3×2), A·B = [58 64; 139 154]
//   D = [100 −200; 0 5] in the accumulator, A·B + D = [158 −136; 139 159]
// whatever the dataflow and the permitted transposes.

@Suite("Golden model: PRELOAD and COMPUTE")
struct MatmulTests {
    let a: [[Int64]] = [[1, 2, 3], [4, 5, 6]]
    let b: [[Int64]] = [[7, 8], [9, 10], [11, 12]]
    let d: [[Int64]] = [[100, -200], [0, 5]]
    let sevens: [[Int64]] = Array(repeating: [7, 7, 7, 7], count: 4)

    /// Stores A at scratchpad row 0 and B at row 8, transposed in memory when the array is to
    /// transpose them back; returns their stored shapes (rows, cols).
    private func loadOperands(_ machine: inout Machine, transposeA: Bool, transposeB: Bool) throws
        -> (a: (rows: Int, cols: Int), b: (rows: Int, cols: Int)) {
        let storedA = transposeA ? Reference.transpose(a) : a
        let storedB = transposeB ? Reference.transpose(b) : b
        try machine.loadScratchpad(storedA, row: 0)
        try machine.loadScratchpad(storedB, row: 8)
        return ((storedA.count, storedA[0].count), (storedB.count, storedB[0].count))
    }

    @Test(arguments: ArrayMode.permitted)
    func tileWithBiasFromAccumulator(mode: ArrayMode) throws {
        var machine = try Machine()
        let shapes = try loadOperands(&machine, transposeA: mode.transposeA, transposeB: mode.transposeB)
        try machine.loadAccumulator(d, row: 0)
        try machine.loadAccumulator(sevens, row: 16)
        try machine.run(Gemmini.configEx(dataflow: mode.dataflow, transposeA: mode.transposeA, transposeB: mode.transposeB))
        if mode.dataflow == Gemmini.weightStationary {
            try machine.run(
                Gemmini.preload(8, Gemmini.acc(16), bdCols: shapes.b.cols, bdRows: shapes.b.rows, cCols: 2, cRows: 2),
                Gemmini.computePreloaded(0, Gemmini.acc(0), aCols: shapes.a.cols, aRows: shapes.a.rows, bdCols: 2, bdRows: 2))
        } else {
            try machine.run(
                Gemmini.preload(Gemmini.acc(0), Gemmini.acc(16), bdCols: 2, bdRows: 2, cCols: 2, cRows: 2),
                Gemmini.computePreloaded(0, 8, aCols: shapes.a.cols, aRows: shapes.a.rows, bdCols: shapes.b.cols, bdRows: shapes.b.rows))
        }
        #expect(machine.model.error == nil)
        // Lanes and rows outside the 2×2 result keep their sevens.
        #expect(machine.accumulator(16, rows: 4) == [[158, -136, 7, 7], [139, 159, 7, 7], [7, 7, 7, 7], [7, 7, 7, 7]])
    }

    @Test func biasFromScratchpadAndResultSaturatedIntoScratchpad() throws {
        var machine = try Machine()
        _ = try loadOperands(&machine, transposeA: false, transposeB: false)
        try machine.loadScratchpad([[-3, 4], [127, -128]], row: 20)
        try machine.loadScratchpad(Array(repeating: [9, 9, 9, 9], count: 4), row: 40)
        try machine.run(
            Gemmini.configEx(dataflow: Gemmini.weightStationary),
            Gemmini.preload(8, 40, bdCols: 2, bdRows: 3, cCols: 2, cRows: 2),
            Gemmini.computePreloaded(0, 20, aCols: 3, aRows: 2, bdCols: 2, bdRows: 2))
        // 58−3, 64+4, 139+127 = 266 → 127, 154−128.
        #expect(machine.scratchpad(40, rows: 4) == [[55, 68, 9, 9], [127, 26, 9, 9], [9, 9, 9, 9], [9, 9, 9, 9]])
    }

    @Test func reluOnResultsWrittenToScratchpad() throws {
        var machine = try Machine()
        _ = try loadOperands(&machine, transposeA: false, transposeB: false)
        try machine.loadScratchpad([[-60, -70], [-128, -128]], row: 20)
        try machine.run(
            Gemmini.configEx(dataflow: Gemmini.outputStationary, activation: Gemmini.relu),
            Gemmini.preload(20, 40, bdCols: 2, bdRows: 2, cCols: 2, cRows: 2),
            Gemmini.computePreloaded(0, 8, aCols: 3, aRows: 2, bdCols: 2, bdRows: 3))
        // [−2 −6; 11 26] → ReLU.
        #expect(machine.scratchpad(40, rows: 2) == [[0, 0, 0, 0], [11, 26, 0, 0]])
    }

    @Test func resultAccumulatesOntoTheAccumulator() throws {
        var machine = try Machine()
        _ = try loadOperands(&machine, transposeA: false, transposeB: false)
        try machine.loadAccumulator(d, row: 0)
        try machine.loadAccumulator(sevens, row: 16)
        try machine.run(
            Gemmini.configEx(dataflow: Gemmini.weightStationary),
            Gemmini.preload(8, Gemmini.acc(16, accumulate: true), bdCols: 2, bdRows: 3, cCols: 2, cRows: 2),
            Gemmini.computePreloaded(0, Gemmini.acc(0), aCols: 3, aRows: 2, bdCols: 2, bdRows: 2))
        #expect(machine.accumulator(16, rows: 3) == [[165, -129, 7, 7], [146, 166, 7, 7], [7, 7, 7, 7]])
    }

    @Test func weightStationaryComputeAccumulatedReusesTheWeights() throws {
        var machine = try Machine()
        try machine.loadScratchpad([[1, 0], [0, 1]], row: 0)
        try machine.loadScratchpad([[2, 1], [0, -1]], row: 4)
        try machine.loadScratchpad([[1, 2], [3, 4]], row: 8)
        try machine.run(
            Gemmini.configEx(dataflow: Gemmini.weightStationary),
            Gemmini.preload(8, Gemmini.acc(16), bdCols: 2, bdRows: 2, cCols: 2, cRows: 2),
            Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 2, aRows: 2, bdCols: 4, bdRows: 4),
            Gemmini.preload(Gemmini.garbage, Gemmini.acc(20), bdCols: 4, bdRows: 4, cCols: 2, cRows: 2),
            Gemmini.computeAccumulated(4, Gemmini.garbage, aCols: 2, aRows: 2, bdCols: 4, bdRows: 4))
        #expect(machine.model.error == nil)
        #expect(machine.accumulator(16, rows: 2) == [[1, 2, 0, 0], [3, 4, 0, 0]])
        // [2 1; 0 −1]·[1 2; 3 4] with the weights kept from the first pair.
        #expect(machine.accumulator(20, rows: 2) == [[5, 8, 0, 0], [-3, -4, 0, 0]])
    }

    @Test func outputStationaryAccumulatesUntilAPairWritesC() throws {
        var machine = try Machine()
        try machine.loadAccumulator(d, row: 0)
        try machine.loadScratchpad([[1, 2], [3, 4]], row: 0)
        try machine.loadScratchpad([[1, 0], [0, 1]], row: 4)
        try machine.loadScratchpad([[1, 1], [1, 1]], row: 8)
        try machine.loadScratchpad([[2, 3], [4, 5]], row: 12)
        try machine.run(Gemmini.configEx(dataflow: Gemmini.outputStationary))
        let before = machine.model.state
        try machine.run(
            Gemmini.preload(Gemmini.acc(0), Gemmini.garbage, bdCols: 2, bdRows: 2, cCols: 4, cRows: 4),
            Gemmini.computePreloaded(0, 4, aCols: 2, aRows: 2, bdCols: 2, bdRows: 2))
        #expect(machine.model.state.scratchpad == before.scratchpad)
        #expect(machine.model.state.accumulator == before.accumulator)
        #expect(machine.model.state.array.accumulators[0, 0] == 101, "S = D + A1·B1 stays in the array")
        try machine.run(
            Gemmini.preload(Gemmini.garbage, Gemmini.acc(16), bdCols: 4, bdRows: 4, cCols: 2, cRows: 2),
            Gemmini.computeAccumulated(8, 12, aCols: 2, aRows: 2, bdCols: 2, bdRows: 2))
        #expect(machine.model.error == nil)
        // D + [1 2; 3 4] + [6 8; 6 8].
        #expect(machine.accumulator(16, rows: 2) == [[107, -190, 0, 0], [9, 17, 0, 0]])

        // That pair wrote C, which drains the array: the next COMPUTE_ACCUMULATED starts from zero.
        try machine.run(
            Gemmini.preload(Gemmini.garbage, Gemmini.acc(20), bdCols: 4, bdRows: 4, cCols: 2, cRows: 2),
            Gemmini.computeAccumulated(8, 12, aCols: 2, aRows: 2, bdCols: 2, bdRows: 2))
        #expect(machine.model.error == nil)
        #expect(machine.accumulator(20, rows: 2) == [[6, 8, 0, 0], [6, 8, 0, 0]])
    }

    @Test func outputStationaryShiftRoundsHalfToEven() throws {
        var machine = try Machine()
        try machine.loadAccumulator([[6, 10, -6, -10], [7, 5, -7, 3], [2, 14, -2, -14], [1, 0, -1, 12]], row: 0)
        try machine.loadAccumulator([[1000, 1016, 100_000, -100_008]], row: 4)
        try machine.run(
            Gemmini.configEx(dataflow: Gemmini.outputStationary, shift: 2),
            // A and B GARBAGE: S = D, so C is D shifted.
            Gemmini.preload(Gemmini.acc(0), 0, bdCols: 4, bdRows: 4, cCols: 4, cRows: 4),
            Gemmini.computePreloaded(Gemmini.garbage, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4),
            Gemmini.configEx(dataflow: Gemmini.outputStationary, shift: 4),
            Gemmini.preload(Gemmini.acc(4), Gemmini.acc(8), bdCols: 4, bdRows: 1, cCols: 4, cRows: 1),
            Gemmini.computePreloaded(Gemmini.garbage, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4))
        #expect(machine.model.error == nil)
        // /4: 1.5→2, 2.5→2, −1.5→−2, −2.5→−2; 1.75→2, 1.25→1, −1.75→−2, 0.75→1;
        // 0.5→0, 3.5→4, −0.5→0, −3.5→−4; 0.25→0, 0, −0.25→0, 3.
        #expect(machine.scratchpad(0, rows: 4) == [[2, 2, -2, -2], [2, 1, -2, 1], [0, 4, 0, -4], [0, 0, 0, 3]])
        // /16 into the accumulator, not saturated: 62.5→62, 63.5→64, 6250, −6250.5→−6250.
        #expect(machine.model.accumulatorRow(8) == [62, 64, 6250, -6250])
    }

    @Test(arguments: [Gemmini.weightStationary, Gemmini.outputStationary])
    func addingTheBiasWrapsInTheAccumulatorWidth(dataflow: Int) throws {
        var machine = try Machine()
        // A·B = [2 −2]; D at the int32 limits, so A·B + D wraps to [−2147483647 2147483646].
        try machine.loadScratchpad([[1, 1]], row: 0)
        try machine.loadScratchpad([[1, -1], [1, -1]], row: 8)
        try machine.loadAccumulator([[2_147_483_647, -2_147_483_648]], row: 0)
        let ws = dataflow == Gemmini.weightStationary
        for destination in [Gemmini.acc(16), 32] {
            try machine.run(
                Gemmini.configEx(dataflow: dataflow),
                ws ? Gemmini.preload(8, destination, bdCols: 2, bdRows: 2, cCols: 2, cRows: 1)
                   : Gemmini.preload(Gemmini.acc(0), destination, bdCols: 2, bdRows: 1, cCols: 2, cRows: 1),
                ws ? Gemmini.computePreloaded(0, Gemmini.acc(0), aCols: 2, aRows: 1, bdCols: 2, bdRows: 1)
                   : Gemmini.computePreloaded(0, 8, aCols: 2, aRows: 1, bdCols: 2, bdRows: 2))
        }
        #expect(machine.model.error == nil)
        #expect(machine.model.accumulatorRow(16) == [-2_147_483_647, 2_147_483_646, 0, 0])
        // Saturating the wrapped values, not the exact sums (which would give 127, −128).
        #expect(machine.model.scratchpadRow(32) == [-128, 127, 0, 0])
    }

    @Test func stridesOfAAndC() throws {
        var machine = try Machine()
        // A rows 3 scratchpad rows apart, C rows 2 accumulator rows apart.
        try machine.loadScratchpad([[1, 2], [3, 4]], row: 0, rowStride: 3)
        try machine.loadScratchpad([[5, 6], [7, 8]], row: 8)
        try machine.run(
            Gemmini.configEx(dataflow: Gemmini.weightStationary, cStride: 2, aStride: 3),
            Gemmini.preload(8, Gemmini.acc(16), bdCols: 2, bdRows: 2, cCols: 2, cRows: 2),
            Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 2, aRows: 2, bdCols: 4, bdRows: 4))
        #expect(machine.model.error == nil)
        #expect(machine.accumulator(16, rows: 3) == [[19, 22, 0, 0], [0, 0, 0, 0], [43, 50, 0, 0]])
    }
    /// C stride 0: all four result rows land on one local row, in the order the array produces
    /// them (docs/ACCELERATOR.md, "PRELOAD and COMPUTE"): WS top row first, so row 3 stands; OS
    /// bottom row first (the drain), so row 0 stands. Accumulating writes add up all four.
    @Test(arguments: [Gemmini.weightStationary, Gemmini.outputStationary])
    func resultRowsSharingOneLocalRowLandInTheArraysOrder(dataflow: Int) throws {
        var machine = try Machine()
        // A·B: row i is (i + 1)·[1 2 3 4].
        try machine.loadScratchpad([[1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0], [4, 0, 0, 0]], row: 0)
        try machine.loadScratchpad([[1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], row: 8)
        try machine.loadAccumulator([[7, 7, 7, 7], [7, 7, 7, 7]], row: 16)
        let ws = dataflow == Gemmini.weightStationary
        try machine.run(Gemmini.configEx(dataflow: dataflow, cStride: 0))
        for destination in [Gemmini.acc(16), 40, Gemmini.acc(17, accumulate: true)] {
            try machine.run(
                ws ? Gemmini.preload(8, destination, bdCols: 4, bdRows: 4, cCols: 4, cRows: 4)
                   : Gemmini.preload(Gemmini.garbage, destination, bdCols: 4, bdRows: 4, cCols: 4, cRows: 4),
                ws ? Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)
                   : Gemmini.computePreloaded(0, 8, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4))
        }
        #expect(machine.model.error == nil)
        let standing: [Int64] = ws ? [4, 8, 12, 16] : [1, 2, 3, 4]
        #expect(machine.model.accumulatorRow(16) == standing, "accumulator, overwriting")
        #expect(machine.model.scratchpadRow(40) == standing, "scratchpad")
        #expect(machine.model.scratchpadRow(41) == [0, 0, 0, 0], "only one row written")
        #expect(machine.model.accumulatorRow(17) == [17, 27, 37, 47], "accumulating: 7 + (1 + 2 + 3 + 4)·[1 2 3 4]")
    }
}
