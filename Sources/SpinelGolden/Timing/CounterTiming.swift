import SpinelISA

/// The counter file (`CounterFile`, RTL) in the timing model: the same slots, snapshot and byte
/// totals, clocked once per simulated cycle with the events the model decided for that cycle.
/// A COUNTER reads in the cycle the dispatcher takes it, before that cycle's events count.
struct CounterTiming {
    private static let mask: UInt64 = 1 << CounterAccess.width - 1

    private var slotEvent = Array(repeating: 0, count: CounterAccess.slots)
    private var slotExternal = Array(repeating: false, count: CounterAccess.slots)
    private var counts = Array(repeating: UInt64(0), count: CounterAccess.slots)
    private var snapshot = Array(repeating: UInt64(0), count: CounterAccess.slots)
    private var snapshotHeld = false
    private var readBytes: UInt64 = 0
    private var writeBytes: UInt64 = 0
    /// The reservation station's valid entries per queue (load, execute, store) this cycle.
    var occupancy = [0, 0, 0]
    /// Whether a slot counts an event of its own (not an external value): only then do the
    /// cycle's events matter.
    private(set) var countsEvents = false
    /// By command index: a COUNTER's answer.
    private(set) var responses: [UInt64?]

    init(commands: Int) {
        responses = Array(repeating: nil, count: commands)
    }

    private func externalValue(_ id: Int) -> UInt64 {
        switch ExternalCounter(rawValue: id) {
        case .reservationStationLoadCount: UInt64(occupancy[0])
        case .reservationStationExecuteCount: UInt64(occupancy[1])
        case .reservationStationStoreCount: UInt64(occupancy[2])
        case .readDMABytesReceived: readBytes
        case .writeDMABytesSent: writeBytes
        default: 0
        }
    }

    private func value(_ slot: Int) -> UInt64 {
        slotExternal[slot] ? externalValue(slotEvent[slot]) & Self.mask : counts[slot]
    }

    /// The dispatcher takes COUNTER `index` in this cycle.
    mutating func answer(_ index: Int, _ access: CounterAccess) {
        responses[index] = snapshotHeld ? snapshot[access.slot] : value(access.slot)
    }

    /// `cycles` clock edges of cycles like the last one (the same events, no byte moved, no COUNTER).
    mutating func advance(events: CounterEvents, cycles: UInt64) {
        guard countsEvents else { return }
        for slot in 0..<CounterAccess.slots where !slotExternal[slot] {
            if let event = CounterEvent(rawValue: slotEvent[slot]), events.contains(event) {
                counts[slot] = (counts[slot] &+ cycles) & Self.mask
            }
        }
    }

    /// The clock edge closing the cycle: the events count, then the COUNTER taken in it (if any) acts.
    mutating func clock(events: CounterEvents, access: CounterAccess?, readBytes: UInt64, writeBytes: UInt64) {
        // The values a snapshot takes: from the registers at the start of the cycle.
        let values = access == nil ? [] : (0..<CounterAccess.slots).map(value)
        if countsEvents {
            for slot in 0..<CounterAccess.slots where !slotExternal[slot] {
                let configured = access.map { $0.configure && $0.slot == slot } ?? false
                if let event = CounterEvent(rawValue: slotEvent[slot]), events.contains(event), !configured {
                    counts[slot] = (counts[slot] + 1) & Self.mask
                }
            }
        }
        self.readBytes = (self.readBytes + readBytes) & Self.mask
        self.writeBytes = (self.writeBytes + writeBytes) & Self.mask
        guard let access else { return }
        if access.configure {
            slotEvent[access.slot] = access.event
            slotExternal[access.slot] = access.external
            counts[access.slot] = 0
            countsEvents = (0..<CounterAccess.slots).contains { !slotExternal[$0] && CounterEvent(rawValue: slotEvent[$0]).map { $0 != .disable } == true }
        }
        if access.releaseSnapshot {
            snapshotHeld = false
        } else if access.takeSnapshot {
            snapshotHeld = true
            snapshot = values
        }
        if access.reset {
            snapshotHeld = false
            self.readBytes = 0
            self.writeBytes = 0
            counts = counts.map { _ in 0 }
            snapshot = snapshot.map { _ in 0 }
        }
    }
}

/// The counter events of one cycle, as a bit set (`CounterEvent` has fewer than 64 cases).
struct CounterEvents {
    private var bits: UInt64 = 0

    mutating func insert(_ event: CounterEvent) { bits |= 1 << UInt64(event.rawValue) }
    func contains(_ event: CounterEvent) -> Bool { bits & 1 << UInt64(event.rawValue) != 0 }
    mutating func removeAll() { bits = 0 }
}
