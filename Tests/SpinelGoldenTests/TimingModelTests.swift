import Foundation
import SpinelAccelerator
@testable import SpinelGolden
import Testing

/// The timing model against cycle counts worked out by hand from the RTL's structure, on the
/// small preset: DIM 4, an 8-byte bus, memory latency L = 20 cycles at 8 B/cycle, a 4×4 mesh
/// (slot to result: 4 + 4 − 1 = 7 cycles).
///
/// The stages every count below is built from (a command taken by the port in cycle c):
/// - c + 1: its reservation-station entry is valid and, nothing older conflicting, issues: its
///   controller works on it in that cycle (the station registers the allocation).
/// - DMA read: a request taken in cycle r sits in the reader's skid buffer in r + 1, enters the
///   splitter and the in-flight queue then, is on AR in r + 2; the memory offers beat k from
///   r + 2 + L + k; the gathered response is valid two cycles after the last beat.
/// - DMA write: taken in w, in the skid buffer in w + 1, on AW and W in w + 2; B from
///   max(AW + L, last W + 1); the response is valid one cycle after B.
@Suite("Timing model: hand-computed cycles")
struct TimingModelTests {
    static let parameters = try! AcceleratorConfig.small.parameters()
    static let latency: UInt64 = 20

    /// Retire cycles of `commands` offered at `cycles`.
    static func retire(_ commands: [Encoded], at cycles: [UInt64]) -> [UInt64?] {
        let program = TimingProgram(commands.map { ($0.funct, $0.rs1, $0.rs2) }, issueCycles: cycles, parameters: parameters)
        let model = TimingModel(parameters: parameters, memory: MemoryTimingSettings(parameters.config.memory))
        return model.predict(program).retired
    }

    static let dram: UInt64 = 0x1000

    @Test func configurationsRetireAsTheirControllersTakeThem() {
        // CONFIG_LD: issued in c + 1 as one note, which the writer takes in c + 2.
        // CONFIG_EX: taken by the idle execute controller in c + 1 and retired there.
        // CONFIG_ST: one note into the outgoing queue in c + 1, to the pending queue in c + 2,
        // answered (no write) in c + 3.
        let retired = Self.retire([Gemmini.configLd(stride: 4, blockStride: 4), Gemmini.configEx(dataflow: Gemmini.weightStationary),
                                   Gemmini.configSt(stride: 4)], at: [10, 20, 30])
        #expect(retired == [12, 21, 33])
    }

    @Test func oneRowMvin() {
        // Request in c + 1; AR in c + 3; its one beat in c + 3 + L; response valid in c + 5 + L,
        // written and retired in that cycle.
        let retired = Self.retire([Gemmini.mvin(Self.dram, 0, cols: 4, rows: 1)], at: [10])
        #expect(retired == [10 + 5 + Self.latency])
    }

    @Test func mvinOfZerosReadsNothing() {
        // DRAM address 0: the note goes to the writer in c + 1 and is written in c + 2.
        let retired = Self.retire([Gemmini.mvin(0, 0, cols: 4, rows: 1)], at: [10])
        #expect(retired == [12])
    }

    @Test func mvinAcrossFourKiBNeedsTwoBurstsAndTwoBlocks() {
        // 8 bytes at 0x1FFC: beats 0x1FF8 and 0x2000, cut into two bursts at the 4 KiB boundary
        // (AR in c + 3 and c + 4); the second beat comes in c + 4 + L, the response in c + 6 + L,
        // and the row's two DIM blocks are written in c + 6 + L and c + 7 + L.
        let retired = Self.retire([Gemmini.mvin(0x1FFC, 0, cols: 8, rows: 1)], at: [10])
        #expect(retired == [10 + 7 + Self.latency])
    }

    @Test func oneRowMvout() {
        // Local read in c + 1, into the outgoing queue in c + 2, DMA write request in c + 3,
        // AW and W in c + 5, B in c + 5 + L, response and retirement in c + 6 + L.
        let retired = Self.retire([Gemmini.mvout(Self.dram, 0, cols: 4, rows: 1)], at: [10])
        #expect(retired == [10 + 6 + Self.latency])
    }

    @Test func mvoutWaitsForTheMvinOfItsRows() {
        // The MVOUT reads the row the MVIN writes: it issues the cycle after the MVIN retires.
        let mvinRetires = 0 + 5 + Self.latency
        let retired = Self.retire([Gemmini.mvin(Self.dram, 0, cols: 4, rows: 1), Gemmini.mvout(0x2000, 0, cols: 4, rows: 1)],
                                  at: [0, 1])
        #expect(retired == [mvinRetires, mvinRetires + 1 + 5 + Self.latency])
    }

    @Test func mvoutOfOtherRowsOverlapsTheMvin() {
        let retired = Self.retire([Gemmini.mvin(Self.dram, 0, cols: 4, rows: 1), Gemmini.mvout(0x2000, 8, cols: 4, rows: 1)],
                                  at: [0, 1])
        #expect(retired == [5 + Self.latency, 1 + 6 + Self.latency])
    }

    @Test func sequentialWeightStationaryPair() {
        // The pair is issued in t = 3 (taken in 2). Reads: A rows in t+1…t+4, B rows in t+5…t+8,
        // D (GARBAGE) skipped in t+9; load slots t+10…t+13; compute slots t+14…t+17; no drain in
        // WS (t+18); finish from t+19, waiting out 7 + 2 cycles: retired in t+28.
        let ws = Gemmini.weightStationary
        let retired = Self.retire([Gemmini.configEx(dataflow: ws),
                                   Gemmini.preload(4, Gemmini.acc(0), bdCols: 4, bdRows: 4, cCols: 4, cRows: 4),
                                   Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)],
                                  at: [0, 1, 2])
        #expect(retired == [1, 1, 3 + 28])
    }

    @Test func rejectedCommandsRetireAtTheDispatcher() {
        // Five rows exceed DIM: the dispatcher fails the MVIN in the cycle it takes it.
        let retired = Self.retire([Gemmini.mvin(Self.dram, 0, cols: 4, rows: 5)], at: [7])
        #expect(retired == [7])
    }

    @Test(arguments: [("mvin_mvout", SequentialRTLTraces.mvinMvout), ("matmul", SequentialRTLTraces.matmul)])
    func reproducesTheSequentialRTLCycleForCycle(name: String, text: String) throws {
        let trace = try HarnessTrace.parse(text)
        #expect(trace.memory == nil, "an old trace, without a memory event")
        let comparison = TimingComparison(trace: trace, parameters: Self.parameters)
        for command in trace.commands {
            #expect(comparison.prediction.retired[command.index] == command.doneCycle,
                    "\(name): command \(command.index) (\(TimedCommand.kindName(funct: command.funct, rs1: command.rs1)))")
        }
    }

    @Test func theTracesMemoryEventOverridesTheConfiguration() throws {
        let text = #"{"ev":"memory","latency":33,"bytes_per_cycle":4,"max_outstanding":2}"# + "\n"
            + #"{"ev":"cmd","i":0,"funct":2,"rs1":"0x1000","rs2":"0x1000400000000","cycle":0}"# + "\n"
        let trace = try HarnessTrace.parse(text)
        #expect(trace.memory == MemoryTimingSettings(latencyCycles: 33, bytesPerCycle: 4, maxOutstanding: 2))
        let comparison = TimingComparison(trace: trace, parameters: Self.parameters)
        // One 4-byte row: the one-row MVIN count with L = 33.
        #expect(comparison.prediction.retired == [5 + 33])
    }
}
