import SpinelHDL
import SpinelSim

/// Little-endian bytes to and from the wide values of simulator ports.
enum AXIBytes {
    static func value(_ bytes: [UInt8]) -> BigInteger {
        var words = [UInt32](repeating: 0, count: (bytes.count + 3) / 4)
        for (index, byte) in bytes.enumerated() { words[index / 4] |= UInt32(byte) << (8 * UInt32(index % 4)) }
        return BigInteger(words: words)
    }

    static func bytes(_ value: BigInteger, count: Int) -> [UInt8] {
        let words = value.words(count: (count + 3) / 4)
        return (0..<count).map { UInt8(truncatingIfNeeded: words[$0 / 4] >> (8 * UInt32($0 % 4))) }
    }
}

/// An AXI4 subordinate written from the AXI4 specification, independent of the DMA hardware:
/// a sparse byte-addressed memory with a fixed latency, a bandwidth limit, random back-pressure
/// and random gaps, address ranges that answer SLVERR or DECERR, and checks of the protocol
/// rules on everything the manager sends.
///
/// Each cycle: `outputs(cycle:)` decides what the subordinate drives (before the simulator
/// evaluates), then `observe(_:cycle:)` takes what the manager drove and records the transfers.
/// The core works on plain values so that the checks can be tested without a simulator.
final class AXIMemoryModel {
    struct Fault {
        var range: Range<UInt64>
        /// `AXI4.responseSlaveError` or `AXI4.responseDecodeError`.
        var response: Int
    }

    struct Configuration {
        var busBytes: Int
        /// Cycles from AR acceptance to the first R beat, and from AW acceptance to B (B also
        /// waits for the burst's last W beat).
        var latency = 40
        /// Sustained bytes per cycle, separately for reads and writes.
        var bytesPerCycle: Int
        var arReadyRate = 1.0
        var awReadyRate = 1.0
        var wReadyRate = 1.0
        /// Chance that an available R beat or B response is offered in a cycle.
        var rValidRate = 1.0
        var bValidRate = 1.0
        var faults: [Fault] = []
        /// Accept W only for a burst whose AW was accepted (as many subordinates do) …
        var writeDataWaitsForAddress = false
        /// … or accept AW only once some of its W data arrived. AXI4 allows either; a
        /// manager must not deadlock under them.
        var addressWaitsForData = false

        init(busBytes: Int, latency: Int = 40, bytesPerCycle: Int? = nil) {
            self.busBytes = busBytes
            self.latency = latency
            self.bytesPerCycle = bytesPerCycle ?? busBytes
        }
    }

    struct Address: Equatable {
        var id: UInt64
        var address: UInt64
        var length: Int
        var size: Int
        var burst: Int
    }

    struct WriteBeat: Equatable {
        var data: BigInteger
        var strobe: BigInteger
        var last: Bool
    }

    /// What the manager drives in one cycle.
    struct ManagerOutputs {
        var ar: Address?
        var aw: Address?
        var w: WriteBeat?
        var rReady: Bool
        var bReady: Bool
    }

    struct ReadBeat {
        var id: UInt64
        var data: BigInteger
        var response: Int
        var last: Bool
        var available: Int
    }

    struct WriteAcknowledge {
        var id: UInt64
        var response: Int
        var available: Int
    }

    /// What the subordinate drives in one cycle.
    struct SubordinateOutputs {
        var arReady = false
        var awReady = false
        var wReady = false
        var r: ReadBeat?
        var b: WriteAcknowledge?
    }

    var configuration: Configuration
    private var random: SeededGenerator
    /// Bytes written so far; others read as `background(_:)`.
    private(set) var memory: [UInt64: UInt8] = [:]
    private var readBeats: [ReadBeat] = []
    private var readHead = 0
    private var writeBursts: [(address: Address, accepted: Int)] = []
    private var writeData: [(beat: WriteBeat, cycle: Int)] = []
    private var writeBeatInBurst = 0
    private var writeAcknowledges: [WriteAcknowledge] = []
    private var acknowledgeHead = 0
    private var readTokens = 0
    private var writeTokens = 0
    private var current = SubordinateOutputs()
    /// Manager payloads offered and not taken last cycle: they must be offered again unchanged.
    private var heldAR: Address?
    private var heldAW: Address?
    private var heldW: WriteBeat?

    /// If set, the byte addresses the manager must strobe, in order: exactly the requested bytes.
    var expectedStrobes: [UInt64]?
    private var strobeIndex = 0

    private(set) var violations: [String] = []
    private(set) var readBursts = 0
    private(set) var writeBurstCount = 0
    private(set) var readBeatsSent = 0
    private(set) var writeBeatsTaken = 0
    private(set) var firstReadBeatCycle: Int?
    private(set) var lastReadBeatCycle: Int?
    private(set) var firstWriteBeatCycle: Int?
    private(set) var lastWriteBeatCycle: Int?

    init(_ configuration: Configuration, seed: UInt64) {
        self.configuration = configuration
        random = SeededGenerator(seed: seed)
    }

    /// The content of memory never written: a fixed scramble of the address.
    static func background(_ address: UInt64) -> UInt8 {
        var z = address &* 0x9E37_79B9_7F4A_7C15
        z ^= z >> 29
        return UInt8(truncatingIfNeeded: z >> 24)
    }

    func byte(at address: UInt64) -> UInt8 { memory[address] ?? Self.background(address) }

    /// The fault response for bytes `range`, if any of them lies in a faulting range.
    func fault(_ range: Range<UInt64>) -> Int? {
        configuration.faults.first { $0.range.overlaps(range) }?.response
    }

    var pendingWork: Bool {
        readHead < readBeats.count || !writeBursts.isEmpty || !writeData.isEmpty || acknowledgeHead < writeAcknowledges.count
    }

    private func violation(_ cycle: Int, _ text: String) {
        if violations.count < 20 { violations.append("cycle \(cycle): \(text)") }
    }

    // MARK: Subordinate side

    func outputs(cycle: Int) -> SubordinateOutputs {
        let bus = configuration.busBytes
        let cap = max(bus, configuration.bytesPerCycle)
        readTokens = min(cap, readTokens + configuration.bytesPerCycle)
        writeTokens = min(cap, writeTokens + configuration.bytesPerCycle)
        var next = SubordinateOutputs()
        next.arReady = random.chance(configuration.arReadyRate)
        next.awReady = random.chance(configuration.awReadyRate) && (!configuration.addressWaitsForData || !writeData.isEmpty)
        let announcedBeats = writeBursts.reduce(0) { $0 + $1.address.length + 1 } - writeBeatInBurst
        next.wReady = writeTokens >= bus && random.chance(configuration.wReadyRate)
            && (!configuration.writeDataWaitsForAddress || announcedBeats > writeData.count)
        // R and B, once offered, stay until taken (the subordinate's side of the valid rule).
        if let offered = current.r {
            next.r = offered
        } else if readHead < readBeats.count, readBeats[readHead].available <= cycle, readTokens >= bus,
                  random.chance(configuration.rValidRate) {
            readTokens -= bus
            next.r = readBeats[readHead]
            readHead += 1
        }
        if let offered = current.b {
            next.b = offered
        } else if acknowledgeHead < writeAcknowledges.count, writeAcknowledges[acknowledgeHead].available <= cycle,
                  random.chance(configuration.bValidRate) {
            next.b = writeAcknowledges[acknowledgeHead]
            acknowledgeHead += 1
        }
        current = next
        return next
    }

    // MARK: Manager side

    func observe(_ manager: ManagerOutputs, cycle: Int) {
        if let held = heldAR, manager.ar != held {
            violation(cycle, "AR changed or dropped before ARREADY: \(held) then \(String(describing: manager.ar))")
        }
        if let held = heldAW, manager.aw != held {
            violation(cycle, "AW changed or dropped before AWREADY: \(held) then \(String(describing: manager.aw))")
        }
        if let held = heldW, manager.w != held {
            violation(cycle, "W changed or dropped before WREADY")
        }
        heldAR = current.arReady ? nil : manager.ar
        heldAW = current.awReady ? nil : manager.aw
        heldW = current.wReady ? nil : manager.w

        if let ar = manager.ar, current.arReady { acceptRead(ar, cycle: cycle) }
        if let aw = manager.aw, current.awReady {
            checkBurst(aw, channel: "AW", cycle: cycle)
            writeBursts.append((aw, cycle))
            writeBurstCount += 1
        }
        if let w = manager.w, current.wReady {
            writeTokens -= configuration.busBytes
            writeData.append((w, cycle))
            writeBeatsTaken += 1
            if firstWriteBeatCycle == nil { firstWriteBeatCycle = cycle }
            lastWriteBeatCycle = cycle
        }
        matchWrites(cycle: cycle)
        if manager.rReady, current.r != nil {
            current.r = nil
            readBeatsSent += 1
            if firstReadBeatCycle == nil { firstReadBeatCycle = cycle }
            lastReadBeatCycle = cycle
        }
        if manager.bReady, current.b != nil { current.b = nil }
    }

    private func checkBurst(_ a: Address, channel: String, cycle: Int) {
        let bytesPerBeat = 1 << a.size
        if a.burst != AXI4.burstIncrement { violation(cycle, "\(channel) burst type \(a.burst), expected INCR") }
        if bytesPerBeat != configuration.busBytes { violation(cycle, "\(channel) size \(a.size): not the full bus width") }
        if !(0...255).contains(a.length) { violation(cycle, "\(channel) len \(a.length) out of range") }
        if a.address % UInt64(bytesPerBeat) != 0 { violation(cycle, "\(channel) address \(axiHex(a.address)) not aligned to its size") }
        let start = a.address % UInt64(AXI4.boundaryBytes)
        if start + UInt64((a.length + 1) * bytesPerBeat) > UInt64(AXI4.boundaryBytes) {
            violation(cycle, "\(channel) burst at \(axiHex(a.address)) of \(a.length + 1) beats crosses 4 KiB")
        }
    }

    private func acceptRead(_ ar: Address, cycle: Int) {
        checkBurst(ar, channel: "AR", cycle: cycle)
        readBursts += 1
        let bus = UInt64(configuration.busBytes)
        for index in 0...ar.length {
            let address = ar.address &+ UInt64(index) * bus
            let response = fault(address..<address + bus)
            let bytes = response == nil ? (0..<bus).map { byte(at: address + $0) } : (0..<bus).map { _ in UInt8.random(in: 0...255, using: &random) }
            let previous = readBeats.last?.available ?? 0
            readBeats.append(ReadBeat(id: ar.id, data: AXIBytes.value(bytes), response: response ?? AXI4.responseOkay,
                                      last: index == ar.length, available: max(cycle + configuration.latency + index, previous + 1)))
        }
    }

    /// Pairs W beats with AW bursts in order (W may come first), writes memory, schedules B.
    private func matchWrites(cycle: Int) {
        let bus = UInt64(configuration.busBytes)
        while let burst = writeBursts.first, !writeData.isEmpty {
            let (beat, beatCycle) = writeData.removeFirst()
            let address = burst.address.address &+ UInt64(writeBeatInBurst) * bus
            let isLast = writeBeatInBurst == burst.address.length
            if beat.last != isLast {
                violation(cycle, "WLAST \(beat.last) on beat \(writeBeatInBurst) of a burst of \(burst.address.length + 1)")
            }
            let burstBytes = burst.address.address..<burst.address.address + UInt64(burst.address.length + 1) * bus
            let response = fault(burstBytes)
            let bytes = AXIBytes.bytes(beat.data, count: configuration.busBytes)
            for lane in 0..<configuration.busBytes where beat.strobe.testBit(lane) {
                let target = address + UInt64(lane)
                if let expected = expectedStrobes {
                    if strobeIndex >= expected.count || expected[strobeIndex] != target {
                        violation(cycle, "strobe on \(axiHex(target)), expected \(strobeIndex < expected.count ? axiHex(expected[strobeIndex]) : "none")")
                    }
                    strobeIndex += 1
                }
                if response == nil { memory[target] = bytes[lane] }
            }
            if isLast {
                writeBursts.removeFirst()
                writeBeatInBurst = 0
                let previous = writeAcknowledges.last?.available ?? 0
                writeAcknowledges.append(WriteAcknowledge(id: burst.address.id, response: response ?? AXI4.responseOkay,
                                                          available: max(burst.accepted + configuration.latency, beatCycle + 1, previous + 1)))
            } else {
                writeBeatInBurst += 1
            }
        }
    }

    /// Strobed bytes still expected at the end of a run.
    var missingStrobes: Int { (expectedStrobes?.count ?? strobeIndex) - strobeIndex }

    // MARK: Simulator adapter

    /// Drives the subordinate's outputs of the AXI port `prefix` (`axi`).
    func drive(_ sim: VerilatorSimulation, prefix: String, cycle: Int) {
        let out = outputs(cycle: cycle)
        sim.poke("\(prefix)_ar_ready", out.arReady)
        sim.poke("\(prefix)_aw_ready", out.awReady)
        sim.poke("\(prefix)_w_ready", out.wReady)
        sim.poke("\(prefix)_r_valid", out.r != nil)
        sim.poke("\(prefix)_r_bits_id", out.r?.id ?? 0)
        sim.poke("\(prefix)_r_bits_data", out.r?.data ?? .zero)
        sim.poke("\(prefix)_r_bits_resp", out.r?.response ?? 0)
        sim.poke("\(prefix)_r_bits_last", out.r?.last ?? false)
        sim.poke("\(prefix)_b_valid", out.b != nil)
        sim.poke("\(prefix)_b_bits_id", out.b?.id ?? 0)
        sim.poke("\(prefix)_b_bits_resp", out.b?.response ?? 0)
    }

    /// Reads what the manager drives on `prefix` (after `eval`) and records the transfers.
    func observe(_ sim: VerilatorSimulation, prefix: String, cycle: Int) {
        func address(_ channel: String) -> Address? {
            guard sim.peekBool("\(prefix)_\(channel)_valid") else { return nil }
            return Address(id: sim.peek("\(prefix)_\(channel)_bits_id"), address: sim.peek("\(prefix)_\(channel)_bits_addr"),
                           length: Int(sim.peek("\(prefix)_\(channel)_bits_len")), size: Int(sim.peek("\(prefix)_\(channel)_bits_size")),
                           burst: Int(sim.peek("\(prefix)_\(channel)_bits_burst")))
        }
        let w = sim.peekBool("\(prefix)_w_valid")
            ? WriteBeat(data: sim.peekWide("\(prefix)_w_bits_data"), strobe: sim.peekWide("\(prefix)_w_bits_strb"),
                        last: sim.peekBool("\(prefix)_w_bits_last"))
            : nil
        observe(ManagerOutputs(ar: address("ar"), aw: address("aw"), w: w, rReady: sim.peekBool("\(prefix)_r_ready"),
                               bReady: sim.peekBool("\(prefix)_b_ready")), cycle: cycle)
    }
}

func axiHex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
