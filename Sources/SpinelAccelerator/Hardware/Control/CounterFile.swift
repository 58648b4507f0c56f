import SpinelHDL

/// The events a performance-counter slot can count, numbered as Gemmini numbers them (its
/// `gemmini_counter.h`, ids 1 to 46). The harness's `gemmini_counter.h` is generated from this
/// list, so the C names, the RTL and the timing model share one table (docs/GEMMINI-COMPATIBILITY.md,
/// "Performance counters").
public enum CounterEvent: Int, CaseIterable, Sendable {
    case disable = 0
    case mainLoadCycles, mainStoreCycles, mainExecuteCycles, mainLoadStoreCycles, mainLoadExecuteCycles
    case mainStoreExecuteCycles, mainLoadStoreExecuteCycles
    case loadDMAWaitCycle, loadActiveCycle, loadScratchpadWaitCycle
    case storeDMAWaitCycle, storeActiveCycle, storePoolingCycle, storeScratchpadWaitCycle
    case dmaTLBMissCycle, dmaTLBHitRequests, dmaTLBTotalRequests
    case readDMAActiveCycle, readDMATLBWaitCycles, readDMATileLinkWaitCycles
    case writeDMAActiveCycle, writeDMATLBWaitCycles, writeDMATileLinkWaitCycles
    case executeActiveCycle, executeFlushCycle, executeControlQueueBlockCycle, executePreloadHazardCycle, executeOverlapHazardCycle
    case scratchpadAWaitCycle, scratchpadBWaitCycle, scratchpadDWaitCycle
    case accumulatorAWaitCycle, accumulatorBWaitCycle, accumulatorDWaitCycle
    case aGarbageCycles, bGarbageCycles, dGarbageCycles
    case im2colMemoryCycles, im2colActiveCycles, im2colTransposerWaitCycle
    case reservationStationFullCycles, reservationStationActiveCycles
    case loopMatmulActiveCycles, transposePreloadUnrollerActiveCycles
    case readDMARequests, writeDMARequests

    /// Gemmini's name (the macro of `gemmini_counter.h`).
    public var gemminiName: String {
        [
            "DISABLE", "MAIN_LD_CYCLES", "MAIN_ST_CYCLES", "MAIN_EX_CYCLES", "MAIN_LD_ST_CYCLES", "MAIN_LD_EX_CYCLES",
            "MAIN_ST_EX_CYCLES", "MAIN_LD_ST_EX_CYCLES", "LOAD_DMA_WAIT_CYCLE", "LOAD_ACTIVE_CYCLE", "LOAD_SCRATCHPAD_WAIT_CYCLE",
            "STORE_DMA_WAIT_CYCLE", "STORE_ACTIVE_CYCLE", "STORE_POOLING_CYCLE", "STORE_SCRATCHPAD_WAIT_CYCLE",
            "DMA_TLB_MISS_CYCLE", "DMA_TLB_HIT_REQ", "DMA_TLB_TOTAL_REQ", "RDMA_ACTIVE_CYCLE", "RDMA_TLB_WAIT_CYCLES",
            "RDMA_TL_WAIT_CYCLES", "WDMA_ACTIVE_CYCLE", "WDMA_TLB_WAIT_CYCLES", "WDMA_TL_WAIT_CYCLES", "EXE_ACTIVE_CYCLE",
            "EXE_FLUSH_CYCLE", "EXE_CONTROL_Q_BLOCK_CYCLE", "EXE_PRELOAD_HAZ_CYCLE", "EXE_OVERLAP_HAZ_CYCLE",
            "SCRATCHPAD_A_WAIT_CYCLE", "SCRATCHPAD_B_WAIT_CYCLE", "SCRATCHPAD_D_WAIT_CYCLE", "ACC_A_WAIT_CYCLE",
            "ACC_B_WAIT_CYCLE", "ACC_D_WAIT_CYCLE", "A_GARBAGE_CYCLES", "B_GARBAGE_CYCLES", "D_GARBAGE_CYCLES",
            "IM2COL_MEM_CYCLES", "IM2COL_ACTIVE_CYCLES", "IM2COL_TRANSPOSER_WAIT_CYCLE", "RESERVATION_STATION_FULL_CYCLES",
            "RESERVATION_STATION_ACTIVE_CYCLES", "LOOP_MATMUL_ACTIVE_CYCLES", "TRANSPOSE_PRELOAD_UNROLLER_ACTIVE_CYCLES",
            "RDMA_READ_REQUESTS", "WDMA_WRITE_REQUESTS",
        ][rawValue]
    }

    /// Whether Spinel has the event. The others name parts Spinel does not have (a TLB,
    /// TileLink, im2col, pooling, Gemmini's scratchpad arbitration and garbage-row handling):
    /// a slot configured with one counts nothing and reads 0.
    public var isCounted: Bool {
        switch self {
        case .mainLoadCycles, .mainStoreCycles, .mainExecuteCycles, .mainLoadStoreCycles, .mainLoadExecuteCycles,
             .mainStoreExecuteCycles, .mainLoadStoreExecuteCycles, .loadDMAWaitCycle, .loadActiveCycle, .storeDMAWaitCycle,
             .storeActiveCycle, .readDMAActiveCycle, .writeDMAActiveCycle, .executeActiveCycle, .reservationStationFullCycles,
             .reservationStationActiveCycles, .loopMatmulActiveCycles, .readDMARequests, .writeDMARequests:
            true
        default:
            false
        }
    }

    /// Gemmini's `INCREMENTAL_COUNTERS`: the largest event id; external values are numbered after it in C.
    public static let incrementalCount = 46
}

/// The values a slot configured as *external* (rs1[31]) reads: sampled when read, not
/// counted by the slot. Numbered as Gemmini numbers them (C adds `INCREMENTAL_COUNTERS`).
public enum ExternalCounter: Int, CaseIterable, Sendable {
    case disable = 0
    case reservationStationLoadCount, reservationStationStoreCount, reservationStationExecuteCount
    case readDMABytesReceived, writeDMABytesSent, readDMATotalLatency, writeDMATotalLatency
    case scratchpadReads, scratchpadWrites, accumulatorReads, accumulatorWrites

    public var gemminiName: String {
        [
            "DISABLE", "RESERVATION_STATION_LD_COUNT", "RESERVATION_STATION_ST_COUNT", "RESERVATION_STATION_EX_COUNT",
            "RDMA_BYTES_REC", "WDMA_BYTES_SENT", "RDMA_TOTAL_LATENCY", "WDMA_TOTAL_LATENCY", "SCRATCHPAD_READS",
            "SCRATCHPAD_WRITES", "ACCUMULATOR_READS", "ACCUMULATOR_WRITES",
        ][rawValue]
    }

    /// Whether Spinel has the value (the others read 0).
    public var isCounted: Bool {
        switch self {
        case .reservationStationLoadCount, .reservationStationStoreCount, .reservationStationExecuteCount,
             .readDMABytesReceived, .writeDMABytesSent:
            true
        default:
            false
        }
    }
}

/// The fields of a COUNTER command's rs1 (funct 126), placed as Gemmini places them; rs2 is
/// ignored. Every COUNTER answers on the response port with the addressed slot's value before
/// the command's own effects (the snapshot's value while a snapshot is held).
public struct CounterAccess: Hashable, Sendable {
    /// rs1[0]: every counter, every snapshot and the byte totals to 0; the snapshot is released.
    public var reset: Bool
    /// rs1[1]: release the snapshot (reads return live values again).
    public var releaseSnapshot: Bool
    /// rs1[2]: copy every slot's value into the snapshot and read from it until released.
    public var takeSnapshot: Bool
    /// rs1[3]: configure slot `slot` to count `event` (its count restarts from 0).
    public var configure: Bool
    /// rs1[6:4]: the slot read (and configured).
    public var slot: Int
    /// rs1[17:12]: the event id (an `ExternalCounter` with `external`).
    public var event: Int
    /// rs1[31]: the slot reads an external value.
    public var external: Bool

    public static let slots = 8
    public static let slotLow = 4, slotBits = 3
    public static let eventLow = 12, eventBits = 6
    public static let externalBit = 31
    /// Counters and external values are this wide; they wrap.
    public static let width = 32

    public init(rs1: UInt64) {
        reset = rs1 & 1 != 0
        releaseSnapshot = rs1 >> 1 & 1 != 0
        takeSnapshot = rs1 >> 2 & 1 != 0
        configure = rs1 >> 3 & 1 != 0
        slot = Int(rs1 >> UInt64(Self.slotLow) & (1 << Self.slotBits - 1))
        event = Int(rs1 >> UInt64(Self.eventLow) & (1 << Self.eventBits - 1))
        external = rs1 >> UInt64(Self.externalBit) & 1 != 0
    }

    /// The largest event id a configuring COUNTER may name (`unsupportedField` above it).
    public static func maximumEvent(external: Bool) -> Int {
        external ? ExternalCounter.allCases.count - 1 : CounterEvent.incrementalCount
    }
}

/// A COUNTER's answer: the host command it answers and the value (the harness returns it in rd).
@Bundle
public struct CounterResponse: Aggregate {
    public var index: Signal
    public var data: Signal

    public init() { self.init(index: Signal(.uint(32)), data: Signal(.uint(64))) }
}

/// Gemmini's performance-counter file: `CounterAccess.slots` slots, each counting the cycles
/// (or handshakes) of one `CounterEvent`, or reading one `ExternalCounter` value, with a
/// snapshot for reads that must not move. A slot counts an event high in cycle t at the edge
/// closing t, so a read in cycle t sees the events of the cycles before t; a slot configured
/// in cycle t does not count t.
public struct CounterFile: Module {
    public init() {}

    public var name: String { "CounterFile" }

    @Bundle
    public struct IO: Aggregate {
        /// A COUNTER the dispatcher took (rs1), and its host index.
        @Input public var access: Valid<CounterResponse>
        /// One bit per `CounterEvent` id (index 0, DISABLE, is never high).
        @Input public var events: [Signal]
        /// Per `ExternalCounter` id that is sampled (the station's occupancies), its value.
        @Input("external") public var externalValues: [Signal]
        /// Bytes the DMA took on R and W beats this cycle (RDMA_BYTES_REC, WDMA_BYTES_SENT totals).
        @Input("read_bytes") public var readBytes: Signal
        @Input("write_bytes") public var writeBytes: Signal
        @Output("resp") public var response: Valid<CounterResponse>
    }

    public var io: IO {
        IO(access: Valid(CounterResponse()), events: CounterEvent.allCases.map { _ in Signal(.bool) },
           externalValues: ExternalCounter.allCases.map { _ in Signal(.uint(CounterAccess.width)) },
           readBytes: Signal(.uint(16)), writeBytes: Signal(.uint(16)), response: Valid(CounterResponse()))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let width = CounterAccess.width
        let slots = CounterAccess.slots
        let rs1 = io.access.bits.data
        let accessing = io.access.valid
        let reset = accessing && rs1[0], release = accessing && rs1[1], take = accessing && rs1[2]
        let configure = accessing && rs1[3]
        let slotIndex = rs1.bits(CounterAccess.slotLow + CounterAccess.slotBits - 1, CounterAccess.slotLow)
        let eventField = rs1.bits(CounterAccess.eventLow + CounterAccess.eventBits - 1, CounterAccess.eventLow)

        let events = (0..<slots).map { m.register("slot\($0)_event", .uint(CounterAccess.eventBits), reset: 0) }
        let external = (0..<slots).map { m.register("slot\($0)_external", .bool, reset: false) }
        let counts = (0..<slots).map { m.register("slot\($0)_count", .uint(width), reset: 0) }
        let snapshot = (0..<slots).map { m.register("slot\($0)_snapshot", .uint(width), reset: 0) }
        let snapshotHeld = m.register("snapshot_held", .bool, reset: false)

        // The byte totals are external values that count (reset with the counters, as Gemmini's are).
        let readBytes = m.register("read_bytes_total", .uint(width), reset: 0)
        let writeBytes = m.register("write_bytes_total", .uint(width), reset: 0)
        readBytes.set(readBytes +% io.readBytes.extended(to: width))
        writeBytes.set(writeBytes +% io.writeBytes.extended(to: width))
        var externalValues = io.externalValues
        externalValues[ExternalCounter.readDMABytesReceived.rawValue] = readBytes
        externalValues[ExternalCounter.writeDMABytesSent.rawValue] = writeBytes

        let values = (0..<slots).map { slot in
            mux(external[slot], select(externalValues, at: events[slot]), counts[slot])
        }
        io.response.valid.set(accessing)
        io.response.bits.index.set(io.access.bits.index)
        io.response.bits.data.set(mux(snapshotHeld, select(snapshot, at: slotIndex), select(values, at: slotIndex)).extended(to: 64))

        for slot in 0..<slots {
            let configured = configure && slotIndex === Signal(slot)
            m.when(select(io.events, at: events[slot]) && !external[slot] && !configured) { counts[slot].set(counts[slot] +% 1) }
            m.when(configured) {
                events[slot].set(eventField)
                external[slot].set(rs1[CounterAccess.externalBit])
                counts[slot].set(0)
            }
        }
        m.when(release) {
            snapshotHeld.set(false)
        }.elsewhen(take) {
            snapshotHeld.set(true)
            for slot in 0..<slots { snapshot[slot].set(values[slot]) }
        }
        m.when(reset) {
            snapshotHeld.set(false)
            readBytes.set(0)
            writeBytes.set(0)
            for slot in 0..<slots {
                counts[slot].set(0)
                snapshot[slot].set(0)
            }
        }
    }
}
