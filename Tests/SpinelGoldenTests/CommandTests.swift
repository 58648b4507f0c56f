import Testing
import SpinelAccelerator
@testable import SpinelGolden  // memberwise initializers of the field and settings structs

@Suite("Golden model: decoding, words, reset, memory")
struct CommandTests {
    let small = try! AcceleratorConfig.small.parameters()
    let standard = try! AcceleratorConfig.default.parameters()

    private func decode(_ command: Encoded, _ parameters: AcceleratorParameters) throws -> Command {
        try Command.decode(funct: command.funct, rs1: command.rs1, rs2: command.rs2, parameters: parameters)
    }

    @Test func decodesOperandsAndNamesThemInWords() throws {
        let mvin = try decode(Gemmini.mvin(0x7f00_0000_1000, 32, cols: 16, rows: 4), standard)
        #expect(mvin == .mvin(which: 0, dramAddress: 0x7f00_0000_1000,
                              local: LocalOperand(address: LocalAddress(bits: 32), columns: 16, rows: 4)))
        #expect(mvin.description == "MVIN 4×16 from 0x7f00_0000_1000 to scratchpad row 32")

        var machine = try Machine(.default)
        try machine.run(Gemmini.configLd(stride: 64, blockStride: 16))
        #expect(machine.model.describe(mvin) == "MVIN 4×16 from 0x7f00_0000_1000 to scratchpad row 32, stride 64 B")

        let mvin3 = try decode(Gemmini.mvin3(0, Gemmini.acc(5, accumulate: true), cols: 4, rows: 2), small)
        #expect(mvin3.description == "MVIN3 2×4 zeros to accumulator row 5 (accumulating)")
        let mvout = try decode(Gemmini.mvout(0x2000, Gemmini.acc(3, fullWidth: true), cols: 4, rows: 4), small)
        #expect(mvout.description == "MVOUT 4×4 from accumulator row 3 (full width) to 0x2000")
        let preload = try decode(Gemmini.preload(8, Gemmini.garbage, bdCols: 3, bdRows: 2, cCols: 4, cRows: 4), small)
        #expect(preload == .preload(bd: LocalOperand(address: LocalAddress(bits: 8), columns: 3, rows: 2),
                                    c: LocalOperand(address: .garbage, columns: 4, rows: 4)))
        #expect(preload.description == "PRELOAD B/D 2×3 at scratchpad row 8, C 4×4 to GARBAGE")
        let compute = try decode(Gemmini.computeAccumulated(0, 4, aCols: 4, aRows: 1, bdCols: 2, bdRows: 4), small)
        #expect(compute.description == "COMPUTE_ACCUMULATED A 1×4 at scratchpad row 0, B/D 4×2 at scratchpad row 4")
        #expect(try decode(Gemmini.flush(skip: true), small) == .flush(skip: true))
    }

    @Test func decodesConfigurationFields() throws {
        let ex = try decode(Gemmini.configEx(dataflow: Gemmini.weightStationary, activation: 1, shift: 7, accScale: 0.5,
                                             cStride: 3, aStride: 2, transposeA: true), small)
        #expect(ex == .configExecute(ExecuteConfigFields(
            dataflow: .ws, activation: 1, setOnlyStrides: false, transposeA: true, transposeB: false, aStride: 2,
            accScaleBits: Float(0.5).bitPattern, shift: 7, relu6Shift: 0, cStride: 3)))
        #expect(ex.description == "CONFIG_EX weight-stationary, ReLU, shift 7, A stride 2, C stride 3, transpose A")

        let ld = try decode(Gemmini.configLd(stride: 64, scale: 0.25, shrunk: true, blockStride: 8, id: 1), small)
        #expect(ld == .configLoad(LoadConfigFields(which: 1, shrunk: true, pixelRepeats: 1, blockStride: 8,
                                                   scaleBits: Float(0.25).bitPattern, dramStride: 64)))
        #expect(ld.description == "CONFIG_LD for MVIN2: DRAM stride 64 B, scale 0.25, block stride 8, shrunk")

        let st = try decode(Gemmini.configSt(stride: 20, activation: 1, accScale: 0.125), small)
        #expect(st == .configStore(StoreConfigFields(activation: 1, poolingFields: 0, dramStride: 20,
                                                     accScaleBits: Float(0.125).bitPattern)))

        let transformer = try AcceleratorConfig.transformer.parameters()
        let norm = try decode(Gemmini.configNorm(qConst: -5, qConstType: 1, actMSB: true, statID: 1, igeluQb: -3, igeluQc: 7), transformer)
        #expect(norm == .configNormalization(NormalizationConfigFields(
            statisticsSlot: 1, activationMSB: true, setSlotOnly: false, setsQln2Inverse: true, constant: -5, igeluQb: -3, igeluQc: 7)))
    }

    @Test func decodesTheLoopWSCommands() throws {
        let commands = try Gemmini.loopWS(I: 2, J: 3, K: 4, padI: 1, padJ: 2, padK: 3, A: 0x1000, B: 0x2000, D: 0, C: 0x3000,
                                          aStride: 5, bStride: 6, dStride: 7, cStride: 8, aTranspose: true, bTranspose: false,
                                          fullC: true, lowD: false, exAccumulate: true, activation: 1)
            .map { try decode($0, small) }
        #expect(commands == [
            .loopWSConfigBounds(LoopWSBounds(tilesI: 2, tilesJ: 3, tilesK: 4, padI: 1, padJ: 2, padK: 3)),
            .loopWSConfigAddressesAB(a: 0x1000, b: 0x2000),
            .loopWSConfigAddressesDC(d: 0, c: 0x3000),
            .loopWSConfigStridesAB(a: 5, b: 6),
            .loopWSConfigStridesDC(d: 7, c: 8),
            .loopWS(LoopWSLaunch(exAccumulate: true, fullC: true, lowD: false, activation: 1, aScratchpadID: 0, bScratchpadID: 0,
                                 transposeA: true, transposeB: false, isResidualAdd: false)),
        ])
        #expect(commands[0].description == "LOOP_WS_CONFIG_BOUNDS I 2, J 3, K 4 tiles; padding I 1, J 2, K 3")
    }

    @Test func decodingRejectsWithCodeAndReason() {
        #expect(throws: CommandRejection(.unknownCommand, "funct 17 is LOOP_CONV_WS, and convolutions are out of scope")) {
            try Command.decode(funct: 17, rs1: 0, rs2: 0, parameters: small)
        }
        #expect(throws: CommandRejection(.tooManyRows, "MVOUT has 5 rows; DIM is 4")) {
            try decode(Gemmini.mvout(0, 0, cols: 4, rows: 5), small)
        }
    }

    @Test func resetState() throws {
        let model = GoldenModel(parameters: small)
        let state = model.state
        #expect(state.execute == ExecuteSettings(dataflow: .os))
        #expect(state.execute.aStride == 1 && state.execute.cStride == 1 && state.execute.shift == 0 && state.execute.activation == 0)
        #expect(!state.execute.transposeA && !state.execute.transposeB)
        #expect(state.loads == Array(repeating: LoadSettings(dramStride: 0, scale: 1, shrunk: false, blockStride: 4), count: 3))
        #expect(state.store == StoreSettings(dramStride: 0, activation: 0, accScale: 1))
        #expect(state.normalization == NormalizationSettings())
        #expect(state.pendingPreload == nil)
        #expect(model.commandCount == 0 && model.error == nil && model.errorInfo == 0)
        #expect(model.scratchpadRow(1023) == [0, 0, 0, 0] && model.accumulatorRow(255) == [0, 0, 0, 0])

        var wsOnly = AcceleratorConfig.small
        wsOnly.dataflow = .ws
        #expect(GoldenModel(parameters: try wsOnly.parameters()).state.execute.dataflow == .ws)
    }

    @Test func sparseMemoryReadsZerosWritesBytesAndFaults() throws {
        var memory = SparseMemory(faultingRanges: [0x5000..<0x5010])
        #expect(try memory.read(address: 0x1234_5678_9abc, count: 3) == [0, 0, 0])
        // A write across a 4 KiB page boundary and one that wraps at 2^64.
        try memory.write(address: 0x0ffe, bytes: [1, 2, 3, 4])
        #expect(try memory.read(address: 0x0ffd, count: 6) == [0, 1, 2, 3, 4, 0])
        try memory.write(address: UInt64.max, bytes: [7, 8])
        #expect(memory.byte(at: UInt64.max) == 7 && memory.byte(at: 0) == 8)
        #expect(throws: DMAFault(isWrite: false, address: 0x4ff8, count: 9)) { try memory.read(address: 0x4ff8, count: 9) }
        #expect(throws: DMAFault(isWrite: true, address: 0x500f, count: 1)) { try memory.write(address: 0x500f, bytes: [1]) }
        #expect(try memory.read(address: 0x4ff8, count: 8) == Array(repeating: 0, count: 8))
    }
}
