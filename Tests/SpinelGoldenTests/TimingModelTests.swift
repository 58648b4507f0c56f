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
        // CONFIG_EX: accepted in c + 1 into a retire-queue entry that is already done; the empty
        // queue retires it from its head in c + 2.
        // CONFIG_ST: one note into the outgoing queue in c + 1, to the pending queue in c + 2,
        // answered (no write) in c + 3.
        let retired = Self.retire([Gemmini.configLd(stride: 4, blockStride: 4), Gemmini.configEx(dataflow: Gemmini.weightStationary),
                                   Gemmini.configSt(stride: 4)], at: [10, 20, 30])
        #expect(retired == [12, 22, 33])
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

    // MARK: The execute pipeline
    //
    // A pair taken by the port in cycle c is accepted by the execute controller in T = c + 1
    // (the station's entry issues the cycle after its allocation). From there (small preset:
    // DIM 4, mesh latency 4 + 4 − 1 = 7; the scratchpad's 1024 rows in 4 banks of 256, so rows
    // 0 and 256 are in different banks and both read streams run at once):
    // - T + 1 … T + 4: the reader starts the cycle after acceptance (the set's state register)
    //   and requests one row per cycle per stream; the last request fires in T + 4;
    // - T + 5: the last rows land; T + 6: the set is ready (`read_landed`, then its state);
    // - a flipping pair's DIM load slots start when its set is ready; the window moves to it
    //   in the cycle of its last load slot, and its compute slots start in the next cycle;
    // - the pair's last result row leaves the array 7 cycles after its slot and is written in
    //   that cycle; its entry is done one cycle later (`last_landed`), and the retire queue
    //   retires it from its head the cycle after: last slot + 7 + 2.

    static let ws = Gemmini.configEx(dataflow: Gemmini.weightStationary)
    static let os = Gemmini.configEx(dataflow: Gemmini.outputStationary)
    /// B (WS) at scratchpad row 256, C at accumulator row `c`, 4×4.
    static func preloadB(c: UInt32 = Gemmini.acc(0)) -> Encoded {
        Gemmini.preload(256, c, bdCols: 4, bdRows: 4, cCols: 4, cRows: 4)
    }

    @Test func oneWeightStationaryPair() {
        // T = 3. Reads T+1…T+4 (A rows 0–3 on port 0, B rows 256–259 on port 1; D is GARBAGE),
        // ready in T+6; load slots T+6…T+9; compute slots T+10…T+13; the last row leaves in
        // T+20 and the pair retires in T+22.
        let retired = Self.retire([Self.ws, Self.preloadB(),
                                   Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)],
                                  at: [0, 1, 2])
        #expect(retired == [2, 1, 3 + 22])
    }

    @Test func pairsSharingWeightsRunBackToBack() {
        // The first pair as above: compute slots 13…16, retired in 25. The second (taken in 4,
        // accepted in 5) is read after the first: its A rows 4–7 in 8…11 (its P is GARBAGE and D
        // too, stream 2 has nothing to read), ready in 13. A COMPUTE_ACCUMULATED keeps the
        // weights: no load, no flip; the window moves to it in the cycle of the first pair's
        // last compute slot (16), its compute slots are 17…20: retired in 20 + 7 + 2 = 29, four
        // cycles after the first.
        let retired = Self.retire([Self.ws, Self.preloadB(),
                                   Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4),
                                   Gemmini.preload(Gemmini.garbage, Gemmini.acc(4), bdCols: 4, bdRows: 4, cCols: 4, cRows: 4),
                                   Gemmini.computeAccumulated(4, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)],
                                  at: [0, 1, 2, 3, 4])
        #expect(retired == [2, 1, 25, 3, 29])
    }

    @Test func outputStationaryPairDrainsInTheZWindow() {
        // T = 3. Stream 2 skips P (D is GARBAGE) and reads B rows 256–259 in T+1…T+4 beside A:
        // ready in T+6. Load slots (D' = 0) T+6…T+9, compute slots T+10…T+13. No pair follows, so
        // the window after it is Z: a flip and DIM drain slots T+14…T+17, bottom row first; the
        // last leaves in T+24 and the pair retires in T+26.
        let retired = Self.retire([Self.os, Gemmini.preload(Gemmini.garbage, Gemmini.acc(0), bdCols: 4, bdRows: 4, cCols: 4, cRows: 4),
                                   Gemmini.computePreloaded(0, 256, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)],
                                  at: [0, 1, 2])
        #expect(retired == [2, 1, 3 + 26])
    }

    @Test func pairWaitsForTheOlderPairThatWritesItsOperand() {
        // The first pair writes C to scratchpad rows 512–515 and retires in 25 (as in
        // `oneWeightStationaryPair`). The second reads A from those rows: the reservation station
        // does not order two pairs, the controller does: its set starts reading only once no
        // older pair in the retire queue writes a row it reads, i.e. in 26, the cycle after the
        // first retired. Reads 26…29, ready in 31; load slots 31…34, compute slots 35…38:
        // retired in 38 + 7 + 2 = 47.
        let retired = Self.retire([Self.ws, Self.preloadB(c: 512),
                                   Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4),
                                   Self.preloadB(c: Gemmini.acc(0)),
                                   Gemmini.computePreloaded(512, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)],
                                  at: [0, 1, 2, 3, 4])
        #expect(retired == [2, 1, 25, 3, 47])
    }

    @Test func accumulatingOntoOneRowLeavesABubbleBetweenSlots() {
        // C stride 0 and an accumulating C: every result row adds onto accumulator row 0. A slot
        // whose row the previous slot wrote waits a cycle (the read-modify-write): compute slots
        // in T+10, T+12, T+14, T+16, and the pair retires in T+16 + 7 + 2.
        let retired = Self.retire([Gemmini.configEx(dataflow: Gemmini.weightStationary, cStride: 0),
                                   Self.preloadB(c: Gemmini.acc(0, accumulate: true)),
                                   Gemmini.computePreloaded(0, Gemmini.garbage, aCols: 4, aRows: 4, bdCols: 4, bdRows: 4)],
                                  at: [0, 1, 2])
        #expect(retired == [2, 1, 3 + 25])
    }

    // MARK: The loop unroller

    @Test func oneTileLoopWS() {
        // LOOP_WS with I = J = K = 1 (one 4×4 tile each; A at 0x1000, B at 0x2000, no D, C at
        // 0x3000), taken by the port in c = 6. The CONFIG_LDs and CONFIG_ST are left out (DRAM
        // stride 0: every row is one 4-byte beat; nothing crosses 4 KiB).
        //
        // The unroller (LoopUnroller.swift) holds it as the pending loop and launches it in
        // c + 1 (idle, slot 0 free); the load cursor then points at block 0. One command per cycle:
        // - c + 2 MVIN A → scratchpad rows 0–3, c + 3 MVIN2 B → rows 508–511 (`firstLoads`;
        //   B's tiles end at the half: 512 − K·J·DIM);
        // - c + 4 nothing: `firstLoads` sees no load left and moves to `pairs`;
        // - c + 5 PRELOAD (retires in the dispatcher in c + 5), c + 6 COMPUTE_PRELOADED: column 0
        //   is done (`columns_done` 1 from c + 7) and the block ends (`drain`);
        // - the store cursor took the loop over in c + 2 (the first cycle it runs); in c + 7 it
        //   emits the MVOUT of C (accumulator rows 0–3), its queue having room. Also c + 7:
        //   `drain` finds no load left; c + 8 `finish` (the store cursor has the loop).
        // From c + 9 the unroller is idle; slot 0 waits for its 5 commands.
        //
        // Their controllers, with the stages of this suite's comment:
        // - MVIN: taken in c + 2, issued in c + 3, one row request per cycle c + 3 … c + 6; row
        //   k's response is valid in c + 7 + k + L: its last row is written and it retires in
        //   c + 10 + L. MVIN2 follows in the load queue: requests c + 7 … c + 10, retired in
        //   c + 14 + L.
        // - The pair reads rows the loads write: the station holds it until MVIN2 has retired,
        //   and it is accepted in T = c + 15 + L. A (bank 0) and B (bank 1) read at once: as in
        //   `oneWeightStationaryPair`, it retires in T + 22 = c + 37 + L.
        // - MVOUT: reads the rows the pair writes, so it issues in i = c + 38 + L. Rows read in
        //   i … i + 3; the last row's write request in i + 5 (outgoing queue, then its head),
        //   AW and W in i + 5 + 2, B from i + 7 + L, its response and the retirement in
        //   i + 8 + L = c + 46 + 2L.
        // The slot's count drops to 0 at that clock edge: the LOOP_WS retires on `retire_loop`
        // in c + 47 + 2L.
        //
        // Host commands around it: a LOOP_WS_CONFIG offered in c + 1 waits while the LOOP_WS is
        // pending and retires in c + 2 (the loop launched in c + 1); one offered in the cycle
        // the loop completes waits a cycle (the completion has `retire_loop`).
        let c: UInt64 = 6, l = Self.latency
        let loop = Gemmini.loopWS(I: 1, J: 1, K: 1, padI: 0, padJ: 0, padK: 0, A: 0x1000, B: 0x2000, D: 0, C: 0x3000,
                                  aStride: 4, bStride: 4, dStride: 4, cStride: 4, aTranspose: false, bTranspose: false,
                                  fullC: false, lowD: false, exAccumulate: false, activation: 0)
        let bounds = loop[0]
        let retired = Self.retire([Self.ws] + loop + [bounds, bounds], at: [0, 1, 2, 3, 4, 5, c, c + 1, c + 47 + 2 * l])
        #expect(retired == [2, 1, 2, 3, 4, 5, c + 47 + 2 * l, c + 2, c + 48 + 2 * l])
    }

    @Test func rejectedCommandsRetireAtTheDispatcher() {
        // Five rows exceed DIM: the dispatcher fails the MVIN in the cycle it takes it.
        let retired = Self.retire([Gemmini.mvin(Self.dram, 0, cols: 4, rows: 5)], at: [7])
        #expect(retired == [7])
    }

    @Test(arguments: [("mvin_mvout", PipelinedRTLTraces.mvinMvout), ("matmul", PipelinedRTLTraces.matmul),
                      ("random program", PipelinedRTLTraces.randomProgram)])
    func reproducesTheRTLCycleForCycle(name: String, text: String) throws {
        let trace = try HarnessTrace.parse(text)
        #expect(trace.memory == MemoryTimingSettings(Self.parameters.config.memory), "recorded with the configuration's memory model")
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

/// Gemmini's COUNTER in the golden model (decoding, errors) and in the timing model (every count
/// worked out by hand from the stages of `TimingModelTests`: a one-row MVIN taken in cycle c is
/// valid in the station from c + 1, has its AR in c + 3, its beat in c + 3 + L and retires in
/// c + 5 + L; small preset, L = 20, an 8-byte bus).
@Suite("Performance counters (COUNTER, funct 126)")
struct CounterTests {
    static let parameters = TimingModelTests.parameters
    static let latency = TimingModelTests.latency

    /// rs1 as Gemmini's counter_configure builds it (ids above INCREMENTAL_COUNTERS are external).
    static func configure(_ slot: Int, _ code: Int) -> Encoded {
        let external = code > CounterEvent.incrementalCount
        let id = external ? code - CounterEvent.incrementalCount : code
        return Encoded(funct: 126, rs1: UInt64(slot & 7) << 4 | 0x8 | UInt64(id & 0x3F) << 12 | (external ? 1 << 31 : 0), rs2: 0)
    }

    static func read(_ slot: Int) -> Encoded { Encoded(funct: 126, rs1: UInt64(slot & 7) << 4, rs2: 0) }
    static let takeSnapshot = Encoded(funct: 126, rs1: 0x4, rs2: 0)
    static let releaseSnapshot = Encoded(funct: 126, rs1: 0x2, rs2: 0)
    static let reset = Encoded(funct: 126, rs1: 0x1, rs2: 0)

    @Test func decodesGemminisFields() throws {
        let configure = CounterAccess(rs1: Self.configure(5, CounterEvent.loadActiveCycle.rawValue).rs1)
        #expect(configure == CounterAccess(rs1: 5 << 4 | 8 | 9 << 12))
        #expect(configure.configure && configure.slot == 5 && configure.event == 9 && !configure.external)
        #expect(!configure.reset && !configure.takeSnapshot && !configure.releaseSnapshot)
        // RESERVATION_STATION_LD_COUNT is INCREMENTAL_COUNTERS + 1: external value 1.
        let external = CounterAccess(rs1: Self.configure(7, 47).rs1)
        #expect(external.external && external.event == ExternalCounter.reservationStationLoadCount.rawValue && external.slot == 7)
        // Slot bits above Gemmini's three (rs1[11:7]) are ignored, as Gemmini's index field is 3 bits.
        #expect(CounterAccess(rs1: 0x7F0).slot == 7)
        let all = CounterAccess(rs1: 0x7)
        #expect(all.reset && all.releaseSnapshot && all.takeSnapshot && !all.configure)
        #expect(CounterEvent.executeActiveCycle.rawValue == 24 && CounterEvent.writeDMARequests.rawValue == 46)
        #expect(CounterEvent.incrementalCount == CounterEvent.allCases.count - 1)
        #expect(ExternalCounter.accumulatorWrites.rawValue == 11)
    }

    /// Every form is accepted and changes nothing the golden model keeps; the last event and
    /// external value Gemmini defines are accepted, the next ones are `unsupportedField`; a read
    /// or a reset with any event bits is accepted (the field counts only when configuring).
    @Test func goldenModelAcceptsGemminisCounterCommands() throws {
        var machine = try Machine()
        let before = machine.model.state
        try machine.run(Self.reset, Self.configure(0, 46), Self.configure(1, 46 + 11), Self.takeSnapshot, Self.releaseSnapshot,
                        Self.read(3), Encoded(funct: 126, rs1: 63 << 12 | 1, rs2: 0xFFFF))
        #expect(machine.model.error == nil)
        #expect(machine.model.state == before)
        try machine.run(Encoded(funct: 126, rs1: 0x8 | 47 << 12, rs2: 0))
        #expect(machine.model.error?.code == .unsupportedField && machine.model.error?.commandIndex == 7)
        #expect(machine.model.error?.reason.contains("up to 46") == true)
        var external = try Machine()
        try external.run(Encoded(funct: 126, rs1: 1 << 31 | 0x8 | 12 << 12, rs2: 0))
        #expect(external.model.error?.code == .unsupportedField)
    }

    @Test func countsOfOneMvinByHand() {
        let L = Self.latency
        let commands: [Encoded] = [
            Self.configure(0, CounterEvent.loadActiveCycle.rawValue),             // 0 @1
            Self.configure(1, CounterEvent.reservationStationActiveCycles.rawValue), // 1 @2
            Self.configure(2, CounterEvent.readDMARequests.rawValue),            // 2 @3
            Self.configure(3, CounterEvent.readDMAActiveCycle.rawValue),         // 3 @4
            Self.configure(4, CounterEvent.executeActiveCycle.rawValue),         // 4 @5
            Self.configure(5, 47),                                               // 5 @6 RESERVATION_STATION_LD_COUNT
            Self.configure(6, 46 + 4),                                           // 6 @7 RDMA_BYTES_REC
            Gemmini.mvin(TimingModelTests.dram, 0, cols: 4, rows: 1),            // 7 @10, retires 10 + 5 + L
            Self.read(0), Self.read(5),                                          // 8, 9 @20, 21: while it runs
            Self.read(0), Self.read(1), Self.read(2), Self.read(3), Self.read(4), Self.read(5), Self.read(6),  // 10…16 @100…
            Self.takeSnapshot,                                                   // 17 @107
            Gemmini.mvin(TimingModelTests.dram, 0, cols: 4, rows: 1),            // 18 @110
            Self.read(0), Self.releaseSnapshot, Self.read(0), Self.reset, Self.read(0), Self.read(6),  // 19…24 @200…
            Self.configure(6, CounterEvent.loopMatmulActiveCycles.rawValue),     // 25 @206: answers the old value
        ]
        let cycles: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 10, 20, 21, 100, 101, 102, 103, 104, 105, 106, 107, 110,
                                200, 201, 202, 203, 204, 205, 206]
        let program = TimingProgram(commands.map { ($0.funct, $0.rs1, $0.rs2) }, issueCycles: cycles, parameters: Self.parameters)
        let prediction = TimingModel(parameters: Self.parameters, memory: MemoryTimingSettings(Self.parameters.config.memory)).predict(program)
        #expect(prediction.retired[7] == 10 + 5 + L)
        // Active from c + 1 to the retire cycle; the AR burst is outstanding from c + 4 to its beat in c + 3 + L.
        let active = 5 + L
        var expected: [UInt64?] = Array(repeating: 0, count: commands.count)
        expected[7] = nil
        expected[18] = nil
        expected[8] = 20 - 11        // cycles 11…19
        expected[9] = 1              // the MVIN's entry
        expected[10] = active
        expected[11] = active
        expected[12] = 1
        expected[13] = L             // cycles 14…13 + L
        expected[14] = 0
        expected[15] = 0
        expected[16] = 8             // one 8-byte beat
        expected[17] = active        // a snapshot reads (and keeps) the live value
        expected[19] = active        // the snapshot, though the second MVIN counted
        expected[20] = active        // answered before it releases
        expected[21] = 2 * active
        expected[22] = 2 * active    // answered before it resets
        expected[23] = 0
        expected[24] = 0
        expected[25] = 0
        #expect(prediction.responses == expected)
    }
}
