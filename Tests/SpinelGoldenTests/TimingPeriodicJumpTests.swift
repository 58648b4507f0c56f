@testable import SpinelGolden
import SpinelISA
import Testing

/// The timing model's periodic jump (docs/TIMING.md, "Periodic loops") against the plain
/// cycle-stepped model: runs of LOOP_WS that repeat must give every command the same accepted
/// and retired cycle, whether or not their DRAM rows cross bus words and burst boundaries.
@Suite("Timing model: periodic jump over repeating loops")
struct TimingPeriodicJumpTests {
    typealias G = Gemmini

    /// C (M × N) = A (M × K) · B (K × N), `blocks` times over the next N columns, each block's K
    /// split over `loops` LOOP_WS of `kTiles` tiles (Gemmini's K split: alternating scratchpad
    /// halves, the first loop without accumulation, the last one storing C). A's rows are
    /// `aRowBytes` apart from `aBase`; loop `moved.loop` of each block reads A `moved.bytes` further on.
    static func matmuls(_ parameters: AcceleratorParameters, blocks: Int, loops: Int, kTiles: Int, aBase: UInt64,
                        aRowBytes: Int, moved: (loop: Int, bytes: Int)? = nil) -> [Encoded] {
        let dim = parameters.dim, tilesI = 2, tilesJ = 2
        let K = loops * kTiles * dim, N = blocks * tilesJ * dim
        let bBase: UInt64 = 0x40_0000, cBase: UInt64 = 0x80_0000
        var commands = [G.configEx(dataflow: G.weightStationary), G.configSt(stride: UInt64(N)),
                        G.configLd(stride: UInt64(aRowBytes), blockStride: dim, id: 0),
                        G.configLd(stride: UInt64(N), blockStride: dim, id: 1)]
        for block in 0..<blocks {
            for loop in 0..<loops {
                let k0 = loop * kTiles * dim, column = block * tilesJ * dim, last = loop == loops - 1
                commands += G.loopWS(I: tilesI, J: tilesJ, K: kTiles, padI: 0, padJ: 0, padK: 0,
                                     A: aBase + UInt64(k0 + (moved?.loop == loop ? moved!.bytes : 0)), B: bBase + UInt64(k0 * N + column), D: 0,
                                     C: last ? cBase + UInt64(column) : 0, aStride: UInt64(aRowBytes), bStride: UInt64(N),
                                     dStride: 0, cStride: UInt64(N), aTranspose: false, bTranspose: false, fullC: false, lowD: false,
                                     exAccumulate: loop > 0, activation: 0, aSpadID: 1 + loop % 2, bSpadID: 1 + loop % 2)
            }
        }
        return commands
    }

    /// Predicts `commands` both ways (back to back); returns the cycles of repeating periods
    /// the fast path jumped over.
    static func compare(_ commands: [Encoded], _ parameters: AcceleratorParameters, label: String) -> UInt64 {
        let program = TimingProgram(commands.map { ($0.funct, $0.rs1, $0.rs2) }, issueCycles: Array(repeating: 0, count: commands.count),
                                    parameters: parameters)
        let memory = MemoryTimingSettings(parameters.config.memory)
        let reference = TimingModel(parameters: parameters, memory: memory, stepping: .cycleStepped).predict(program)
        let fast = TimingModel(parameters: parameters, memory: memory, stepping: .fast).predict(program)
        #expect(reference.retired.allSatisfy { $0 != nil }, "\(label): a command never retired")
        let accepted = fast.accepted.indices.first { fast.accepted[$0] != reference.accepted[$0] }
        let retired = fast.retired.indices.first { fast.retired[$0] != reference.retired[$0] }
        #expect(accepted == nil, "\(label): command \(accepted ?? 0) accepted in a cycle other than the reference's")
        #expect(retired == nil, "\(label): command \(retired ?? 0) retired in a cycle other than the reference's")
        #expect(reference.periodicCycles == 0)
        return fast.periodicCycles
    }

    @Test("aligned rows: the repeating loops are jumped over, with the reference's cycles", arguments: ["small", "default"])
    func alignedRows(preset: String) throws {
        let parameters = try (preset == "small" ? AcceleratorConfig.small : .default).parameters()
        // One block of 16 loops (period: two loops), and 12 blocks of 4 (period: two blocks, as
        // the accumulator half flips with each block's C).
        let long = Self.matmuls(parameters, blocks: 1, loops: 16, kTiles: 2, aBase: 0x1_0000, aRowBytes: 16 * 2 * parameters.dim)
        let blocks = Self.matmuls(parameters, blocks: 12, loops: 4, kTiles: 2, aBase: 0x1_0000, aRowBytes: 4 * 2 * parameters.dim)
        let jumpedLong = Self.compare(long, parameters, label: "\(preset), 16 loops")
        let jumpedBlocks = Self.compare(blocks, parameters, label: "\(preset), 12 blocks of 4 loops")
        // The jump happened, or this test checks nothing.
        #expect(jumpedLong > 0 && jumpedBlocks > 0, "\(preset): jumped \(jumpedLong) and \(jumpedBlocks) cycles")
    }

    @Test("blocks in alternate accumulator halves: a period of one block swaps the halves", arguments: ["small", "default"])
    func swappedHalves(preset: String) throws {
        let parameters = try (preset == "small" ? AcceleratorConfig.small : .default).parameters()
        // Three loops a block (none repeats within it) and too few blocks for a period of two:
        // whatever is jumped over is a block whose C is in the other half than the last one's.
        let commands = Self.matmuls(parameters, blocks: 7, loops: 3, kTiles: 2, aBase: 0x1_0000, aRowBytes: 3 * 2 * parameters.dim)
        let jumped = Self.compare(commands, parameters, label: "\(preset), 7 blocks of 3 loops")
        #expect(jumped > 0, "\(preset): no block was jumped over")
    }

    /// 40 loops over A's rows, 4 KiB apart, in which loop 32's DMA requests differ from the
    /// others': its rows cross a 4 KiB boundary ("crossing": A 6 bytes into a bus word, so that
    /// every row takes two beats, and loop n reads bytes n·DIM … n·DIM + DIM − 1 of each row), or
    /// only loop 32 reads A 6 bytes into a bus word, two beats a row where the others take one
    /// or DIM / bus ("beats"; a jump over loop 32 as a copy of loop 30 would miss them). The
    /// fast path must stop before loop 32 and still jump over loops before it.
    @Test("a run of loops with one whose DMA requests differ",
          arguments: [("small", "crossing"), ("small", "beats"), ("default", "crossing"), ("default", "beats")])
    func oneLoopApart(preset: String, odd: String) throws {
        let parameters = try (preset == "small" ? AcceleratorConfig.small : .default).parameters()
        let dim = parameters.dim, bus = parameters.dmaBusBytes, loop = 32
        let commands: [Encoded]
        if odd == "crossing" {
            let aBase = UInt64(4096 - bus + 6 - loop * dim)
            try #require((aBase + UInt64(loop * dim)) % 4096 + UInt64(dim) > 4096 && aBase % UInt64(bus) == 6 && loop * dim % bus == 0)
            commands = Self.matmuls(parameters, blocks: 1, loops: 40, kTiles: 1, aBase: aBase, aRowBytes: 4096)
        } else {
            try #require(6 + dim > bus)
            commands = Self.matmuls(parameters, blocks: 1, loops: 40, kTiles: 1, aBase: 0x1_0000, aRowBytes: 4096, moved: (loop: loop, bytes: 6))
        }
        let jumped = Self.compare(commands, parameters, label: "\(preset), loop \(loop) apart (\(odd))")
        #expect(jumped > 0, "\(preset): the loops before loop \(loop) were not jumped over (\(odd))")
    }
}

/// The dataless golden pass's reused LOOP_WS unrollings (`UnrollingReuse`) against unrollings
/// run command by command on the golden model.
@Suite("Timing model: reused LOOP_WS unrollings")
struct UnrollingReuseTests {
    static func describe(_ command: TimedCommand) -> String {
        "\(command.index) \(command.funct) \(command.kind) \(command.route) \(command.work) \(command.footprint) \(String(describing: command.normalizerBusy))"
    }

    @Test("the same timed commands as the golden model's, and reuse did happen", arguments: ["small", "default"])
    func sameCommands(preset: String) throws {
        let parameters = try (preset == "small" ? AcceleratorConfig.small : .default).parameters()
        let programs = [
            TimingPeriodicJumpTests.matmuls(parameters, blocks: 6, loops: 4, kTiles: 2, aBase: 0x1_0000, aRowBytes: 4 * 2 * parameters.dim),
            TimingPeriodicJumpTests.matmuls(parameters, blocks: 1, loops: 12, kTiles: 1, aBase: 0x1_0000, aRowBytes: 4096,
                                            moved: (loop: 6, bytes: 6)),
        ]
        for commands in programs {
            let stream = commands.map { ($0.funct, $0.rs1, $0.rs2) }
            var fresh = DiscardingMemory(), reused = DiscardingMemory()
            let model = GoldenModel(parameters: parameters)
            let reference = TimingProgram(stream, issueCycles: Array(repeating: 0, count: stream.count), startingFrom: model,
                                          memory: &fresh, dataless: true, reusingUnrollings: false)
            let program = TimingProgram(stream, issueCycles: Array(repeating: 0, count: stream.count), startingFrom: model,
                                        memory: &reused, dataless: true)
            #expect(reference.reusedUnrollings == 0)
            for (a, b) in zip(program.commands, reference.commands) {
                #expect(Self.describe(a) == Self.describe(b))
                #expect(a.loop?.commands.map(Self.describe) == b.loop?.commands.map(Self.describe), "command \(a.index)'s unrolling")
            }
        }
    }
}

/// The accumulator-half swap of the periodic jump (`AccumulatorHalves`), by hand.
@Suite("Timing model: accumulator halves swapped")
struct AccumulatorHalvesTests {
    @Test("rows move to the other half; scratchpad rows, GARBAGE and flags stay; ranges across the halves refuse")
    func swaps() {
        let half = 256
        let accumulatorRow: UInt32 = 1 << 31 | 1 << 30 | 40  // accumulating into row 40
        let c = LocalOperand(address: LocalAddress(bits: accumulatorRow), columns: 16, rows: 16)
        let swappedRow: UInt32 = 1 << 31 | 1 << 30 | 296
        #expect(c.swappingHalves(half)?.address == LocalAddress(bits: swappedRow))
        let scratchpad = LocalOperand(address: LocalAddress(bits: 40), columns: 16, rows: 16)
        #expect(scratchpad.swappingHalves(half) == scratchpad)
        #expect(LocalOperand(address: .garbage, columns: 0, rows: 0).swappingHalves(half)?.address.isGarbage == true)
        #expect(LocalRowAccess(accumulator: true, row: 300).swappingHalves(half) == LocalRowAccess(accumulator: true, row: 44))
        #expect(LocalRowAccess(accumulator: false, row: 300).swappingHalves(half) == LocalRowAccess(accumulator: false, row: 300))
        var footprint = TimingFootprint()
        footprint.scratchpadRead = RowSpan(low: 0, high: 15)
        footprint.accumulatorWrite = RowSpan(low: 240, high: 255)
        let swapped = footprint.swappingHalves(half)
        #expect(swapped?.accumulatorWrite == RowSpan(low: 496, high: 511) && swapped?.scratchpadRead == RowSpan(low: 0, high: 15))
        footprint.accumulatorWrite = RowSpan(low: 248, high: 263)  // across the halves
        #expect(footprint.swappingHalves(half) == nil)
        let store = MoveOut(dramAddress: 0x1000, dramStride: 64, rows: 16, columns: 32, elementBytes: 1, localRow: 224, accumulator: true, dim: 16)
        #expect(store.swappingHalves(half)?.localRow == 480)  // rows 224 … 255 (two blocks of 16)
        let across = MoveOut(dramAddress: 0x1000, dramStride: 64, rows: 16, columns: 32, elementBytes: 1, localRow: 232, accumulator: true, dim: 16)
        #expect(across.swappingHalves(half) == nil)  // rows 232 … 263
        let load = MoveIn(dramAddress: 0x1000, dramStride: 64, rows: 16, columns: 16, rowBytes: 64, localRow: 480, accumulator: true,
                          accumulate: false, blockStride: 16, dim: 16)
        #expect(load.swappingHalves(half)?.localRow == 224)
        let wrapping = MoveIn(dramAddress: 0x1000, dramStride: 64, rows: 16, columns: 16, rowBytes: 64, localRow: 500, accumulator: true,
                              accumulate: false, blockStride: 16, dim: 16)
        #expect(wrapping.swappingHalves(half) == nil)  // rows 500 … 515: past the last row into the first half
    }
}
