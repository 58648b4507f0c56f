import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

/// A `DMAEngine` under Verilator on an `AXIMemoryModel`, with request drivers, a reference
/// memory image and in-order scoreboards for both directions.
///
/// Requests are checked against the reference when they are accepted: a read may not be
/// offered while it overlaps a write in flight, nor a write while it overlaps a read in flight,
/// so every expected value is known at acceptance. Bytes of a write that got an error are
/// unknown afterwards (some of its bursts may have been written) and are not compared.
final class DMABench {
    struct ReadRequest {
        var address: UInt64
        var bytes: Int
        var tag: UInt64
    }

    struct WriteRequest {
        var address: UInt64
        var bytes: Int
        var data: [UInt8]
        var tag: UInt64
    }

    struct ExpectedRead {
        var request: ReadRequest
        var data: [UInt8?]
        var error: Bool
        var accepted: Int
    }

    struct ExpectedWrite {
        var request: WriteRequest
        var error: Bool
        var accepted: Int
    }

    let p: DMAParameters
    let sim: VerilatorSimulation
    let memory: AXIMemoryModel
    var random: SeededGenerator
    let seed: UInt64
    var cycle = 0

    /// Requests waiting to be offered, in order.
    var readsToIssue: [ReadRequest] = []
    var writesToIssue: [WriteRequest] = []
    var readOffer: ReadRequest?
    var writeOffer: WriteRequest?
    var requestRate = 1.0
    var readResponseReadyRate = 1.0
    var writeResponseReadyRate = 1.0

    var expectedReads: [ExpectedRead] = []
    var expectedWrites: [ExpectedWrite] = []
    var reference: [UInt64: UInt8] = [:]
    var unknown: Set<UInt64> = []
    private(set) var failures: [String] = []
    private(set) var readsAnswered = 0
    private(set) var writesAnswered = 0
    private(set) var readErrors = 0
    private(set) var writeErrors = 0
    /// Cycles from acceptance to the response being offered, per answered request.
    private(set) var readLatencies: [Int] = []
    private(set) var writeLatencies: [Int] = []
    private var heldReadResponse: BigInteger?
    private var heldWriteResponse: BigInteger?
    private var readResponseSeenValid = false
    private var writeResponseSeenValid = false

    init(_ p: DMAParameters, memory configuration: AXIMemoryModel.Configuration, seed: UInt64) throws {
        self.p = p
        self.seed = seed
        sim = try DMABench.simulation(p)
        memory = AXIMemoryModel(configuration, seed: seed ^ 0x5EED)
        memory.expectedStrobes = []
        random = SeededGenerator(seed: seed)
        sim.poke("readRequest_valid", false)
        sim.poke("writeRequest_valid", false)
        sim.reset()
    }

    private static let cache = SimulationCache()

    static func simulation(_ p: DMAParameters) throws -> VerilatorSimulation {
        try VerilatorSimulation(cache.design(p))
    }

    var context: String { "DMAEngine_\(p), seed \(seed), cycle \(cycle)" }

    func fail(_ text: String) {
        if failures.count < 20 { failures.append("\(context): \(text)") }
    }

    // MARK: Expectations

    func referenceByte(_ address: UInt64) -> UInt8? {
        unknown.contains(address) ? nil : (reference[address] ?? AXIMemoryModel.background(address))
    }

    /// Whether some beat of the request's aligned span lies in a faulting range.
    func expectsError(address: UInt64, bytes: Int) -> Bool {
        let bus = UInt64(p.busBytes)
        let first = address / bus * bus, last = (address + UInt64(max(bytes, 1)) - 1) / bus * bus
        return memory.fault(first..<last + bus) != nil
    }

    private func overlaps(_ a: UInt64, _ n: Int, _ b: UInt64, _ m: Int) -> Bool {
        a < b + UInt64(m) && b < a + UInt64(n)
    }

    private func readIsSafe(_ r: ReadRequest) -> Bool {
        !expectedWrites.contains { overlaps(r.address, r.bytes, $0.request.address, $0.request.bytes) }
            && !(writeOffer.map { overlaps(r.address, r.bytes, $0.address, $0.bytes) } ?? false)
    }

    private func writeIsSafe(_ w: WriteRequest) -> Bool {
        !expectedReads.contains { overlaps(w.address, w.bytes, $0.request.address, $0.request.bytes) }
            && !(readOffer.map { overlaps(w.address, w.bytes, $0.address, $0.bytes) } ?? false)
    }

    var outstanding: Int { expectedReads.count + expectedWrites.count }
    var idle: Bool {
        readsToIssue.isEmpty && writesToIssue.isEmpty && readOffer == nil && writeOffer == nil && outstanding == 0
    }

    // MARK: One cycle

    func step() {
        let wasOutstanding = outstanding
        memory.drive(sim, prefix: "axi", cycle: cycle)

        if readOffer == nil, let next = readsToIssue.first, readIsSafe(next), random.chance(requestRate) {
            readOffer = readsToIssue.removeFirst()
        }
        if writeOffer == nil, let next = writesToIssue.first, writeIsSafe(next), random.chance(requestRate) {
            writeOffer = writesToIssue.removeFirst()
        }
        sim.poke("readRequest_valid", readOffer != nil)
        sim.poke("readRequest_bits_address", readOffer?.address ?? random.next())
        sim.poke("readRequest_bits_bytes", readOffer?.bytes ?? Int(random.bits(p.bytesBits)))
        sim.poke("readRequest_bits_tag", readOffer?.tag ?? random.bits(p.tagBits))
        sim.poke("writeRequest_valid", writeOffer != nil)
        sim.poke("writeRequest_bits_address", writeOffer?.address ?? random.next())
        sim.poke("writeRequest_bits_bytes", writeOffer?.bytes ?? Int(random.bits(p.bytesBits)))
        sim.poke("writeRequest_bits_data", AXIBytes.value(writeOffer.map { $0.data + [UInt8](repeating: 0xA5, count: p.maxBytes - $0.bytes) }
                                                         ?? (0..<p.maxBytes).map { _ in UInt8(truncatingIfNeeded: random.next()) }))
        sim.poke("writeRequest_bits_tag", writeOffer?.tag ?? random.bits(p.tagBits))
        let readResponseReady = random.chance(readResponseReadyRate)
        let writeResponseReady = random.chance(writeResponseReadyRate)
        sim.poke("readResponse_ready", readResponseReady)
        sim.poke("writeResponse_ready", writeResponseReady)
        sim.eval()

        memory.observe(sim, prefix: "axi", cycle: cycle)
        if sim.peekBool("busy") != (wasOutstanding > 0) {
            fail("busy is \(sim.peekBool("busy")) with \(wasOutstanding) requests outstanding")
        }
        checkReadResponse(ready: readResponseReady)
        checkWriteResponse(ready: writeResponseReady)
        if let offer = readOffer, sim.peekBool("readRequest_ready") { acceptRead(offer) }
        if let offer = writeOffer, sim.peekBool("writeRequest_ready") { acceptWrite(offer) }
        sim.tick()
        cycle += 1
    }

    private func acceptRead(_ r: ReadRequest) {
        readOffer = nil
        let data = (0..<p.maxBytes).map { $0 < r.bytes ? referenceByte(r.address + UInt64($0)) : 0 }
        expectedReads.append(ExpectedRead(request: r, data: data, error: expectsError(address: r.address, bytes: r.bytes), accepted: cycle))
    }

    private func acceptWrite(_ w: WriteRequest) {
        writeOffer = nil
        let error = expectsError(address: w.address, bytes: w.bytes)
        for index in 0..<w.bytes {
            let address = w.address + UInt64(index)
            memory.expectedStrobes!.append(address)
            if error {
                unknown.insert(address)
            } else {
                reference[address] = w.data[index]
                unknown.remove(address)
            }
        }
        expectedWrites.append(ExpectedWrite(request: w, error: error, accepted: cycle))
    }

    private func checkReadResponse(ready: Bool) {
        guard sim.peekBool("readResponse_valid") else {
            if heldReadResponse != nil { fail("readResponse.valid dropped before ready") }
            return
        }
        let data = sim.peekWide("readResponse_bits_data")
        let tag = sim.peek("readResponse_bits_tag")
        let error = sim.peekBool("readResponse_bits_error")
        let word = data << (p.tagBits + 1) | BigInteger(tag) << 1 | BigInteger(error ? 1 : 0)
        if let held = heldReadResponse, held != word { fail("readResponse changed before ready") }
        guard let expected = expectedReads.first else {
            fail("a read response with no read outstanding")
            return
        }
        if !readResponseSeenValid {
            readResponseSeenValid = true
            readLatencies.append(cycle - expected.accepted)
        }
        heldReadResponse = ready ? nil : word
        guard ready else { return }
        readResponseSeenValid = false
        expectedReads.removeFirst()
        readsAnswered += 1
        let r = expected.request
        let what = "read \(readsAnswered - 1) of \(r.bytes) B at \(axiHex(r.address)) tag \(r.tag)"
        if tag != r.tag { fail("\(what): tag \(tag)") }
        if error != expected.error { fail("\(what): error \(error), expected \(expected.error)") }
        if error { readErrors += 1 }
        guard !expected.error else { return }
        let bytes = AXIBytes.bytes(data, count: p.maxBytes)
        for (index, want) in expected.data.enumerated() where want != nil && bytes[index] != want {
            fail("\(what): byte \(index) is \(axiHex(UInt64(bytes[index]))), expected \(axiHex(UInt64(want!)))")
            break
        }
    }

    private func checkWriteResponse(ready: Bool) {
        guard sim.peekBool("writeResponse_valid") else {
            if heldWriteResponse != nil { fail("writeResponse.valid dropped before ready") }
            return
        }
        let tag = sim.peek("writeResponse_bits_tag")
        let error = sim.peekBool("writeResponse_bits_error")
        let word = BigInteger(tag) << 1 | BigInteger(error ? 1 : 0)
        if let held = heldWriteResponse, held != word { fail("writeResponse changed before ready") }
        guard let expected = expectedWrites.first else {
            fail("a write response with no write outstanding")
            return
        }
        if !writeResponseSeenValid {
            writeResponseSeenValid = true
            writeLatencies.append(cycle - expected.accepted)
        }
        heldWriteResponse = ready ? nil : word
        guard ready else { return }
        writeResponseSeenValid = false
        expectedWrites.removeFirst()
        writesAnswered += 1
        let w = expected.request
        let what = "write \(writesAnswered - 1) of \(w.bytes) B at \(axiHex(w.address)) tag \(w.tag)"
        if tag != w.tag { fail("\(what): tag \(tag)") }
        if error != expected.error { fail("\(what): error \(error), expected \(expected.error)") }
        if error { writeErrors += 1 }
    }

    /// Runs until every request is answered and the memory has nothing left to do.
    func drain(limit: Int = 20_000) {
        let start = cycle
        while !idle || memory.pendingWork {
            if cycle - start > limit {
                fail("no progress: \(expectedReads.count) reads, \(expectedWrites.count) writes outstanding")
                return
            }
            step()
        }
        // A few more cycles: nothing may appear out of nowhere.
        for _ in 0..<5 { step() }
    }

    /// Compares the memory with the reference image and collects the model's complaints.
    func finalChecks() -> [String] {
        var problems = failures + memory.violations
        if memory.missingStrobes != 0 { problems.append("\(memory.missingStrobes) requested bytes never strobed") }
        for (address, value) in reference.sorted(by: { $0.key < $1.key }) where !unknown.contains(address) {
            if memory.byte(at: address) != value {
                problems.append("memory \(axiHex(address)) is \(memory.byte(at: address)), expected \(value)")
                break
            }
        }
        return problems
    }
}

/// Elaborates each parameterization once per test run.
final class SimulationCache: @unchecked Sendable {
    private let lock = NSLock()
    private var designs: [DMAParameters: Design] = [:]

    func design(_ p: DMAParameters) throws -> Design {
        lock.lock()
        defer { lock.unlock() }
        if let design = designs[p] { return design }
        let design = try Elaborator.elaborate(DMAEngine(p))
        designs[p] = design
        return design
    }
}

extension DMAParameters: CustomTestStringConvertible {
    public var testDescription: String { description }
}

enum DMATestPreset: String, CaseIterable, CustomTestStringConvertible {
    case small, `default`

    var config: AcceleratorConfig { self == .small ? .small : .default }

    var parameters: DMAParameters { DMAParameters(try! config.parameters(), tagBits: 5) }

    var testDescription: String { rawValue }
}

@Suite("DMAEngine under Verilator against an AXI4 memory model")
struct DMATests {
    static let base: UInt64 = 0x8000_0000

    /// A random byte range: often full-size or small, often near a 4 KiB boundary.
    static func randomRange(_ p: DMAParameters, _ random: inout SeededGenerator, region: Int = 64 * 1024) -> (UInt64, Int) {
        let bytes: Int
        switch random.next() % 10 {
        case 0..<3: bytes = p.maxBytes
        case 3..<5: bytes = Int(random.next() % UInt64(p.busBytes)) + 1
        default: bytes = Int(random.next() % UInt64(p.maxBytes)) + 1
        }
        let address: UInt64
        if random.chance(0.4) {
            let page = base + UInt64(random.next() % UInt64(region / 4096) + 1) * 4096
            address = page - UInt64(random.next() % UInt64(p.maxBytes + p.busBytes)) + UInt64(random.next() % 4)
        } else {
            address = base + random.next() % UInt64(region)
        }
        return (address, bytes)
    }

    static func randomBytes(_ count: Int, _ random: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    @Test("random reads and writes with back-pressure and faults", arguments: DMATestPreset.allCases)
    func randomTraffic(preset: DMATestPreset) throws {
        try Self.randomTraffic(preset.parameters, cycles: 12_000, faultRate: 0.04)
    }

    @Test("random traffic on unusual parameterizations", arguments: [
        // A 32-bit bus with 1040-byte requests: up to 261 beats, so bursts are cut at 1 KiB.
        DMAParameters(busBytes: 4, maxBytes: 1040, maxInFlight: 3, tagBits: 2),
        // A 1024-bit bus, one request in flight.
        DMAParameters(busBytes: 128, maxBytes: 256, maxInFlight: 1, tagBits: 1),
    ])
    func randomTrafficUnusual(parameters: DMAParameters) throws {
        try Self.randomTraffic(parameters, cycles: 5_000, faultRate: 0.2)
    }

    static func randomTraffic(_ p: DMAParameters, cycles: Int, faultRate: Double) throws {
        var configuration = AXIMemoryModel.Configuration(busBytes: p.busBytes, latency: 10)
        // Two faulting ranges, neither aligned: one mid-page, one straddling a 4 KiB boundary.
        configuration.faults = [
            .init(range: base + 0x3123..<base + 0x3131, response: AXI4.responseSlaveError),
            .init(range: base + 0x8FF9..<base + 0x9003, response: AXI4.responseDecodeError),
        ]
        let seed = SeededGenerator.testSeed(0xD3A0_0000 + UInt64(p.busBytes * 10_000 + p.maxBytes))
        let bench = try DMABench(p, memory: configuration, seed: seed)
        var random = SeededGenerator(seed: seed ^ 0xFACE)
        while bench.cycle < cycles {
            // Phases of different memory speed and back-pressure, uncorrelated per channel.
            if bench.cycle % 400 == 0 {
                let rates = [1.0, 1.0, 0.8, 0.5, 0.2]
                func pick() -> Double { rates[Int(random.next() % UInt64(rates.count))] }
                bench.memory.configuration.arReadyRate = pick()
                bench.memory.configuration.awReadyRate = pick()
                bench.memory.configuration.wReadyRate = pick()
                bench.memory.configuration.rValidRate = pick()
                bench.memory.configuration.bValidRate = pick()
                bench.memory.configuration.latency = [1, 2, 5, 20, 40][Int(random.next() % 5)]
                bench.memory.configuration.bytesPerCycle = [p.busBytes, p.busBytes, p.busBytes / 2, 3][Int(random.next() % 4)]
                let ordering = random.next() % 3
                bench.memory.configuration.writeDataWaitsForAddress = ordering == 1
                bench.memory.configuration.addressWaitsForData = ordering == 2
                bench.requestRate = pick()
                bench.readResponseReadyRate = pick()
                bench.writeResponseReadyRate = pick()
            }
            func range() -> (UInt64, Int) {
                if random.chance(faultRate) {
                    // Into or next to a faulting range.
                    let fault = configuration.faults[Int(random.next() % 2)].range
                    return (fault.lowerBound - UInt64(random.next() % UInt64(p.maxBytes + 8)), Int(random.next() % UInt64(p.maxBytes)) + 1)
                }
                return randomRange(p, &random)
            }
            if bench.readsToIssue.count < 2 {
                let (address, bytes) = range()
                bench.readsToIssue.append(.init(address: address, bytes: bytes, tag: random.bits(p.tagBits)))
            }
            if bench.writesToIssue.count < 2 {
                let (address, bytes) = range()
                bench.writesToIssue.append(.init(address: address, bytes: bytes, data: randomBytes(bytes, &random), tag: random.bits(p.tagBits)))
            }
            bench.step()
        }
        bench.memory.configuration.latency = 3
        bench.drain()
        let problems = bench.finalChecks()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        print("DMA random traffic \(p): \(bench.cycle) cycles, \(bench.readsAnswered) reads (\(bench.readErrors) errors), "
              + "\(bench.writesAnswered) writes (\(bench.writeErrors) errors), \(bench.memory.readBursts) AR, "
              + "\(bench.memory.writeBurstCount) AW, \(bench.memory.readBeatsSent) R and \(bench.memory.writeBeatsTaken) W beats")
        let beats = bench.memory.readBeatsSent + bench.memory.writeBeatsTaken
        #expect(beats > cycles / 10 && bench.readsAnswered >= 10 && bench.writesAnswered >= 10, "too little traffic: seed \(seed)")
        #expect(bench.readErrors > 0 && bench.writeErrors > 0, "no faults exercised: seed \(seed)")
        #expect(bench.memory.readBursts > bench.readsAnswered, "no read crossed a burst boundary: seed \(seed)")
    }

    @Test("write then read back, every length and offset across a 4 KiB boundary", arguments: DMATestPreset.allCases)
    func writeThenRead(preset: DMATestPreset) throws {
        let p = preset.parameters
        let seed = SeededGenerator.testSeed(0xD3A1_0000 + UInt64(p.busBytes))
        let bench = try DMABench(p, memory: .init(busBytes: p.busBytes, latency: 5), seed: seed)
        var random = SeededGenerator(seed: seed)
        var tag: UInt64 = 0
        let boundary = Self.base + 0x5000
        for bytes in [1, 2, p.busBytes - 1, p.busBytes, p.busBytes + 1, p.maxBytes - 1, p.maxBytes] {
            for start in stride(from: boundary - UInt64(bytes) - UInt64(p.busBytes), through: boundary + 1, by: 1) {
                let data = Self.randomBytes(bytes, &random)
                bench.writesToIssue.append(.init(address: start, bytes: bytes, data: data, tag: tag % 32))
                bench.readsToIssue.append(.init(address: start, bytes: bytes, tag: (tag + 7) % 32))
                tag += 1
            }
        }
        let requests = bench.readsToIssue.count
        bench.drain(limit: 100_000)
        let problems = bench.finalChecks()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        #expect(bench.readsAnswered == requests && bench.writesAnswered == requests)
    }

    @Test("faults are reported, and the engine keeps working afterwards", arguments: DMATestPreset.allCases)
    func faults(preset: DMATestPreset) throws {
        let p = preset.parameters
        var configuration = AXIMemoryModel.Configuration(busBytes: p.busBytes, latency: 8)
        let slverr = Self.base + 0x2000 - 8
        configuration.faults = [
            .init(range: slverr..<slverr + 16, response: AXI4.responseSlaveError),
            .init(range: Self.base + 0x7000..<Self.base + 0x8000, response: AXI4.responseDecodeError),
        ]
        let bench = try DMABench(p, memory: configuration, seed: SeededGenerator.testSeed(0xD3A2))
        var random = SeededGenerator(seed: 7)
        // Alternate good and faulting requests of both directions; a faulting read that crosses
        // 4 KiB has one good and one bad burst (and the other way round).
        let cases: [(UInt64, Int, Bool)] = [
            (Self.base + 0x100, p.maxBytes, false),
            (slverr - UInt64(p.maxBytes) + 1, p.maxBytes, true),   // last byte in the fault
            (Self.base + 0x1000 - UInt64(p.maxBytes) / 2, p.maxBytes, false),
            (Self.base + 0x2000 - 24, 8, false),                   // the beats below the fault
            (Self.base + 0x2000 + 4, 4, true),                     // the beat holding the fault's end
            (Self.base + 0x7000 - UInt64(p.maxBytes / 2), p.maxBytes, true), // good burst, then DECERR burst
            (Self.base + 0x7FF0, 1, true),
            (Self.base + 0x8000, p.maxBytes, false),
            (Self.base + 0x200, 3, false),
        ]
        for (index, (address, bytes, _)) in cases.enumerated() {
            bench.readsToIssue.append(.init(address: address, bytes: bytes, tag: UInt64(index)))
            bench.writesToIssue.append(.init(address: address, bytes: bytes, data: Self.randomBytes(bytes, &random), tag: UInt64(index + 16)))
        }
        for (address, bytes, fails) in cases {
            #expect(bench.expectsError(address: address, bytes: bytes) == fails, "case \(axiHex(address)) \(bytes) B")
        }
        bench.drain()
        let problems = bench.finalChecks()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let failing = cases.filter(\.2).count
        #expect(bench.readErrors == failing && bench.writeErrors == failing)
        #expect(bench.readsAnswered == cases.count && bench.writesAnswered == cases.count)
    }

    /// Back-to-back full-size aligned transfers, no back-pressure, memory latency 40 at one
    /// beat per cycle: returns the fraction of cycles with a data beat, and the latencies.
    static func stream(_ p: DMAParameters, reads: Bool, requests: Int, latency: Int = 40, bytes: Int? = nil) throws
        -> (utilization: Double, bound: Double, firstLatency: Int) {
        let bytes = bytes ?? p.maxBytes
        let bench = try DMABench(p, memory: .init(busBytes: p.busBytes, latency: latency), seed: 1)
        for index in 0..<requests {
            let address = base + UInt64(index * bytes)
            if reads {
                bench.readsToIssue.append(.init(address: address, bytes: bytes, tag: UInt64(index % 32)))
            } else {
                bench.writesToIssue.append(.init(address: address, bytes: bytes, data: [UInt8](repeating: UInt8(index % 256), count: bytes),
                                                 tag: UInt64(index % 32)))
            }
        }
        bench.drain()
        let problems = bench.finalChecks()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let m = bench.memory
        let (first, last, beats) = reads
            ? (m.firstReadBeatCycle!, m.lastReadBeatCycle!, m.readBeatsSent)
            : (m.firstWriteBeatCycle!, m.lastWriteBeatCycle!, m.writeBeatsTaken)
        let beatsPerRequest = Double(bytes / p.busBytes)
        // Little's law: at most maxInFlight requests cover the latency and their own beats.
        let bound = min(1, Double(p.maxInFlight) * beatsPerRequest / (Double(latency) + beatsPerRequest))
        return (Double(beats) / Double(last - first + 1), bound,
                reads ? bench.readLatencies.first! : bench.writeLatencies.first!)
    }

    @Test("streaming reads and writes approach one beat per cycle", arguments: DMATestPreset.allCases)
    func streamingThroughput(preset: DMATestPreset) throws {
        let p = preset.parameters
        let read = try Self.stream(p, reads: true, requests: 300)
        let write = try Self.stream(p, reads: false, requests: 300)
        // The preset's own memory latency (20 cycles for `small`).
        let nativeLatency = preset.config.memory.latencyCycles
        let native = try Self.stream(p, reads: true, requests: 300, latency: nativeLatency)
        // One-beat requests (a scratchpad row of the default configuration): bound by requests in flight.
        let single = try Self.stream(p, reads: true, requests: 300, bytes: p.busBytes)
        func format(_ value: Double) -> String { String(format: "%.3f", value) }
        print("DMA streaming \(p), latency 40: reads \(format(read.utilization)) beats/cycle (in-flight bound \(format(read.bound))), "
              + "writes \(format(write.utilization)) (bound \(format(write.bound))); latency \(nativeLatency): reads \(format(native.utilization)) "
              + "(bound \(format(native.bound))); one-beat reads \(format(single.utilization)) (bound \(format(single.bound))); first read answered after \(read.firstLatency) cycles, first write after \(write.firstLatency)")
        for run in [read, write, native, single] {
            #expect(run.utilization >= 0.7 * run.bound)
            if run.bound == 1 { #expect(run.utilization >= 0.95) }
        }
        // The documented latencies of an idle engine: memory latency + beats + 3 for a read,
        // memory latency + 3 for a write (B comes `latency` cycles after AW).
        #expect(read.firstLatency == 40 + p.maxBytes / p.busBytes + 3)
        #expect(write.firstLatency == 40 + 3)
    }

    @Test("the memory model flags protocol violations")
    func modelCatchesViolations() {
        typealias Model = AXIMemoryModel
        func run(_ cycles: [Model.ManagerOutputs]) -> [String] {
            let model = Model(.init(busBytes: 16, latency: 2), seed: 3)
            model.configuration.arReadyRate = 0
            for (cycle, outputs) in cycles.enumerated() {
                _ = model.outputs(cycle: cycle)
                model.observe(outputs, cycle: cycle)
                model.configuration.arReadyRate = 1
            }
            return model.violations
        }
        func address(_ a: UInt64, length: Int, size: Int = 4, burst: Int = 1) -> Model.Address {
            .init(id: 0, address: a, length: length, size: size, burst: burst)
        }
        let idle = Model.ManagerOutputs(ar: nil, aw: nil, w: nil, rReady: true, bReady: true)
        var crossing = idle
        crossing.aw = address(0x1FF0, length: 1)
        #expect(run([crossing]).contains { $0.contains("crosses 4 KiB") })
        var narrow = idle
        narrow.aw = address(0x1000, length: 0, size: 2, burst: 0)
        #expect(run([narrow]).count == 2)
        var ar = idle
        ar.ar = address(0x2000, length: 3)
        var moved = ar
        moved.ar!.address += 16
        #expect(run([ar, moved]).contains { $0.contains("changed or dropped") })
        #expect(run([ar, idle]).contains { $0.contains("changed or dropped") })
        #expect(run([ar, ar]).isEmpty)
        var aw = idle
        aw.aw = address(0x3000, length: 1)
        var early = idle
        early.w = .init(data: .zero, strobe: .one, last: true)
        #expect(run([aw, early, early]).contains { $0.contains("WLAST") })
        let model = Model(.init(busBytes: 16), seed: 1)
        model.expectedStrobes = [0x3000]
        var both = aw
        both.aw!.length = 0
        both.w = .init(data: .zero, strobe: BigInteger(3), last: true)
        _ = model.outputs(cycle: 0)
        model.observe(both, cycle: 0)
        #expect(model.violations.contains { $0.contains("strobe on 0x3001") })
    }

    @Test("generated Verilog passes Verilator -Wall, Yosys and Icarus", arguments: DMATestPreset.allCases)
    func outputQuality(preset: DMATestPreset) throws {
        let design = try Elaborator.elaborate(DMAEngine(preset.parameters))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-dma-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(VerilogEmitter(locators: true).emit(design), to: directory)
        try OutputChecks.lint(directory: directory, top: design.top.name)
        try OutputChecks.synthesize(directory: directory, top: design.top.name)
        try OutputChecks.compileWithIcarus(directory: directory, top: design.top.name)
    }

    @Test("burst and beat counts of unusual parameterizations")
    func derivedSizes() throws {
        // A 32-bit bus with 4 KiB requests needs 1025 beats: bursts are cut at 1 KiB.
        let narrow = DMAParameters(busBytes: 4, maxBytes: 4096, maxInFlight: 2, tagBits: 1)
        #expect(narrow.maxBeats == 1025 && narrow.burstBoundaryBytes == 1024 && narrow.maxBursts == 5)
        let wide = DMAParameters(busBytes: 16, maxBytes: 64, maxInFlight: 16, tagBits: 4)
        #expect(wide.maxBeats == 5 && wide.burstBoundaryBytes == 4096 && wide.maxBursts == 2)
        _ = try Elaborator.elaborate(DMAEngine(DMAParameters(busBytes: 4, maxBytes: 256, maxInFlight: 1, tagBits: 1)))
    }
}
