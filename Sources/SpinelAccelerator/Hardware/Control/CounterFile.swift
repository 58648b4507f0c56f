import SpinelHDL

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
