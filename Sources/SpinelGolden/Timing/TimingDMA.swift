import SpinelISA

// The DMA engine and the harness's AXI memory model, cycle by cycle, for the timing model.
// Each type keeps the registers of its RTL counterpart that decide *when* things happen (no
// data) and is stepped in two halves: its outputs for the current cycle are read from those
// registers, then `clock` takes what fired and computes the registers of the next cycle.

/// A first-in first-out list (ring buffer semantics, amortized O(1)).
struct FIFO<Element>: Sendable where Element: Sendable {
    private var storage: [Element] = []
    private var start = 0
    /// Counts every change (append, removal, an element set): two copies of one queue hold the
    /// same elements when their versions are equal (the fast path's frozen-state check).
    private(set) var version = 0

    var count: Int { storage.count - start }

    /// A queue of no element with this one's version: what a copy kept for `sameState` needs,
    /// without sharing (and so, at the next change, copying) this queue's storage.
    func emptyCopy() -> FIFO {
        var copy = FIFO()
        copy.version = version
        return copy
    }
    var isEmpty: Bool { count == 0 }
    var first: Element? { isEmpty ? nil : storage[start] }

    subscript(position: Int) -> Element {
        get { storage[start + position] }
        set {
            storage[start + position] = newValue
            version &+= 1
        }
    }

    mutating func append(_ element: Element) {
        storage.append(element)
        version &+= 1
    }

    /// The elements, oldest first (the periodic jump's comparison).
    var elements: [Element] { Array(storage[start...]) }

    /// Visits every element in place, oldest first (the periodic jump's translation).
    mutating func updateEach(_ body: (inout Element) -> Void) {
        for position in start..<storage.count { body(&storage[position]) }
        version &+= 1
    }

    mutating func removeFirst() {
        version &+= 1
        start += 1
        if start >= 64 && start * 2 >= storage.count {
            storage.removeFirst(start)
            start = 0
        }
    }
}

/// SpinelHDL's `SkidBuffer`: a registered output (`head`) plus one spare entry; the input is
/// ready while the spare is empty, so a payload waits at least one cycle.
struct SkidTiming<Payload: Equatable>: Equatable {
    private(set) var head: Payload?
    private var spare: Payload?

    var inputReady: Bool { spare == nil }

    /// `input` is the payload that fired this cycle (offered while `inputReady`).
    mutating func clock(input: Payload?, outputReady: Bool) {
        if head == nil || outputReady {
            head = spare ?? input
            spare = nil
        } else if let input {
            spare = input
        }
    }
}

/// `DMABurstSplitter`: a run of beats becomes INCR bursts cut at `burstBoundaryBytes`; one burst
/// leaves per cycle while the memory takes them, and a run is taken only when no rest is left.
struct BurstSplitterTiming {
    func sameState(as other: Self) -> Bool {
        burst == other.burst && rest?.address == other.rest?.address && rest?.beatsMinusOne == other.rest?.beatsMinusOne
    }

    /// Its registers for the periodic jump (no cycle, sequence or host index among them).
    func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        v.same(burst)
        v.same(rest.map { Int(bitPattern: UInt($0.address)) } ?? -1)
        v.same(rest?.beatsMinusOne ?? -1)
    }

    let parameters: DMAParameters
    /// Beats of the burst offered on AR/AW (the `issue_*` registers).
    private(set) var burst: Int?
    private var rest: (address: UInt64, beatsMinusOne: Int)?

    init(_ parameters: DMAParameters) { self.parameters = parameters }

    var idle: Bool { burst == nil && rest == nil }

    func runReady(addressReady: Bool) -> Bool { (burst == nil || addressReady) && rest == nil }

    /// `run` is the run offered this cycle (aligned address, beats − 1); it is taken exactly
    /// when `runReady` holds.
    mutating func clock(addressReady: Bool, run: (address: UInt64, beatsMinusOne: Int)?) {
        guard burst == nil || addressReady else { return }
        if let pending = rest {
            issue(pending)
        } else if let run {
            issue(run)
        } else {
            burst = nil
        }
    }

    private mutating func issue(_ run: (address: UInt64, beatsMinusOne: Int)) {
        let boundary = UInt64(parameters.burstBoundaryBytes), bus = UInt64(parameters.busBytes)
        let boundaryBeatsMinusOne = Int((boundary - run.address % boundary) / bus) - 1
        if run.beatsMinusOne <= boundaryBeatsMinusOne {
            burst = run.beatsMinusOne + 1
            rest = nil
        } else {
            burst = boundaryBeatsMinusOne + 1
            rest = ((run.address / boundary + 1) * boundary, run.beatsMinusOne - boundaryBeatsMinusOne - 1)
        }
    }
}

/// A DMA request: `bytes` bytes at byte `address`.
struct DMARequestTiming: Equatable {
    var address: UInt64
    var bytes: Int

    /// Beats − 1 of the request (`DMAParameters.beatsMinusOne`; 0 bytes count as 1).
    func beatsMinusOne(_ p: DMAParameters) -> Int {
        (Int(address % UInt64(p.busBytes)) + max(bytes, 1) - 1) / p.busBytes
    }

    func alignedAddress(_ p: DMAParameters) -> UInt64 { address - address % UInt64(p.busBytes) }

    /// Bursts − 1 (`DMAParameters.burstsMinusOne`): boundaries crossed between the first and last beat.
    func burstsMinusOne(_ p: DMAParameters) -> Int {
        let first = alignedAddress(p)
        let last = first + UInt64(beatsMinusOne(p) * p.busBytes)
        let boundary = UInt64(p.burstBoundaryBytes)
        return Int(last / boundary - first / boundary)
    }
}

/// How the timing model holds a DMA request's address: only as much of it as decides the
/// request's cycles, so that two requests that take the same cycles are equal (the periodic
/// jump compares requests of different loops, docs/TIMING.md, "Periodic loops"). The cycles
/// read an address only through its offset in a bus word (the beats) and, for a request that
/// crosses a `burstBoundaryBytes` boundary, its offset within the boundary (where the burst
/// splits).
struct DMAAddressing {
    let parameters: DMAParameters

    init(_ parameters: DMAParameters) { self.parameters = parameters }

    /// The request of `bytes` bytes at `address` as the model holds it.
    func request(address: UInt64, bytes: Int) -> DMARequestTiming {
        let crosses = DMARequestTiming(address: address, bytes: bytes).burstsMinusOne(parameters) > 0
        return DMARequestTiming(address: address % UInt64(crosses ? parameters.burstBoundaryBytes : parameters.busBytes), bytes: bytes)
    }
}

/// `DMAReader`: request skid buffer → burst splitter (AR) and the in-flight queue → beat
/// gathering → response skid buffer. From a request taken to its response valid: the memory's
/// latency + beats + 3 cycles with nothing in the way.
struct DMAReaderTiming {
    let parameters: DMAParameters
    private var requests = SkidTiming<DMARequestTiming>()
    private(set) var splitter: BurstSplitterTiming
    /// Beats − 1 of each request between its run and its last R beat.
    private var inFlight = FIFO<Int>()
    private var beatIndex = 0
    private var gathered = false
    private var responses = SkidTiming<Token>()

    init(_ parameters: DMAParameters) {
        self.parameters = parameters
        splitter = BurstSplitterTiming(parameters)
    }

    /// This reader for `sameState` (its queue by version only).
    func frozenCopy() -> Self {
        var copy = self
        copy.inFlight = inFlight.emptyCopy()
        return copy
    }

    /// Changes in most cycles that change the registers (the fast path's first look).
    var activity: Int { inFlight.version &+ beatIndex &* 3 &+ (requests.head == nil ? 0 : 5) &+ (gathered ? 7 : 0) }

    func sameState(as o: Self) -> Bool {
        requests == o.requests && splitter.sameState(as: o.splitter) && inFlight.version == o.inFlight.version
            && beatIndex == o.beatIndex && gathered == o.gathered && responses == o.responses
    }

    /// Its registers for the periodic jump (requests as `DMAAddressing` holds them).
    func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        v.same(requests)
        splitter.visitPeriodic(&v)
        v.same(inFlight.elements)
        v.same(beatIndex)
        v.same(gathered)
        v.same(responses)
    }

    var requestReady: Bool { requests.inputReady }
    var responseValid: Bool { responses.head != nil }
    /// AR valid: the beats of the offered burst.
    var addressBeats: Int? { splitter.burst }
    var dataReady: Bool { !inFlight.isEmpty && (!gathered || responses.inputReady) }
    var idle: Bool { requests.head == nil && splitter.idle && inFlight.isEmpty && !gathered && responses.head == nil }

    /// `request` fired this cycle; `beat` is an R handshake; `responseReady` the consumer's ready.
    mutating func clock(request: DMARequestTiming?, addressReady: Bool, beat: Bool, responseReady: Bool) {
        let enqueueReady = inFlight.count < parameters.maxInFlight
        let runReady = splitter.runReady(addressReady: addressReady)
        let next = requests.head
        let runFires = next != nil && enqueueReady && runReady
        let lastBeat = !inFlight.isEmpty && beatIndex == inFlight.first!
        let gatherFires = gathered && responses.inputReady

        splitter.clock(addressReady: addressReady,
                       run: next.flatMap { enqueueReady ? ($0.alignedAddress(parameters), $0.beatsMinusOne(parameters)) : nil })
        if runFires, let next { inFlight.append(next.beatsMinusOne(parameters)) }
        if beat {
            if lastBeat {
                inFlight.removeFirst()
                beatIndex = 0
            } else {
                beatIndex += 1
            }
        }
        gathered = beat && lastBeat ? true : (responses.inputReady ? false : gathered)
        responses.clock(input: gatherFires ? Token() : nil, outputReady: responseReady)
        requests.clock(input: request, outputReady: runReady && enqueueReady)
    }
}

/// `DMAWriter`: request skid buffer → (together) burst splitter (AW), the W beat shifter and the
/// in-flight queue → B counting → response skid buffer. A request is taken in the cycle the
/// previous one's last W beat leaves.
struct DMAWriterTiming {
    let parameters: DMAParameters
    private var requests = SkidTiming<DMARequestTiming>()
    private(set) var splitter: BurstSplitterTiming
    private(set) var beatsValid = false
    private var beatsLeft = 0
    /// Bursts − 1 of each request between its take and its last B.
    private var inFlight = FIFO<Int>()
    private var burstIndex = 0
    private var responses = SkidTiming<Token>()

    init(_ parameters: DMAParameters) {
        self.parameters = parameters
        splitter = BurstSplitterTiming(parameters)
    }

    /// This writer for `sameState` (its queue by version only).
    func frozenCopy() -> Self {
        var copy = self
        copy.inFlight = inFlight.emptyCopy()
        return copy
    }

    /// Changes in most cycles that change the registers (the fast path's first look).
    var activity: Int { inFlight.version &+ beatsLeft &* 3 &+ burstIndex &* 5 &+ (requests.head == nil ? 0 : 7) }

    func sameState(as o: Self) -> Bool {
        requests == o.requests && splitter.sameState(as: o.splitter) && beatsValid == o.beatsValid && beatsLeft == o.beatsLeft
            && inFlight.version == o.inFlight.version && burstIndex == o.burstIndex && responses == o.responses
    }

    /// Its registers for the periodic jump (requests as `DMAAddressing` holds them).
    func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        v.same(requests)
        splitter.visitPeriodic(&v)
        v.same(beatsValid)
        v.same(beatsLeft)
        v.same(inFlight.elements)
        v.same(burstIndex)
        v.same(responses)
    }

    var requestReady: Bool { requests.inputReady }
    var responseValid: Bool { responses.head != nil }
    var addressBeats: Int? { splitter.burst }
    private var lastBurst: Bool { !inFlight.isEmpty && burstIndex == inFlight.first! }
    var answerReady: Bool { !inFlight.isEmpty && (!lastBurst || responses.inputReady) }
    var idle: Bool { requests.head == nil && splitter.idle && !beatsValid && inFlight.isEmpty && responses.head == nil }

    /// `request` fired this cycle; `beatReady` is W ready; `answer` a B handshake.
    mutating func clock(request: DMARequestTiming?, addressReady: Bool, beatReady: Bool, answer: Bool, responseReady: Bool) {
        let lastOfRequest = beatsLeft == 0
        let beatsFree = !beatsValid || (beatReady && lastOfRequest)
        let enqueueReady = inFlight.count < parameters.maxInFlight
        let runReady = splitter.runReady(addressReady: addressReady)
        let next = requests.head
        let take = next != nil && runReady && enqueueReady && beatsFree
        let answerIsLast = lastBurst
        let respond = answer && answerIsLast

        if beatsValid && beatReady {
            beatsLeft -= 1
            if lastOfRequest { beatsValid = false }
        }
        if take, let next {
            beatsValid = true
            beatsLeft = next.beatsMinusOne(parameters)
            inFlight.append(next.burstsMinusOne(parameters))
        }
        splitter.clock(addressReady: addressReady,
                       run: next.flatMap { enqueueReady && beatsFree ? ($0.alignedAddress(parameters), $0.beatsMinusOne(parameters)) : nil })
        if answer {
            if answerIsLast {
                inFlight.removeFirst()
                burstIndex = 0
            } else {
                burstIndex += 1
            }
        }
        responses.clock(input: respond ? Token() : nil, outputReady: responseReady)
        requests.clock(input: request, outputReady: runReady && enqueueReady && beatsFree)
    }
}

/// The memory model's settings: the configuration's `memory`, or what the harness actually used
/// (the trace's `memory` event; `SPINEL_MEMORY_LATENCY` and `SPINEL_MEMORY_BYTES_PER_CYCLE`
/// override the configuration).
public struct MemoryTimingSettings: Hashable, Sendable {
    public var latencyCycles: Int
    public var bytesPerCycle: Int
    /// Read bursts and write bursts outstanding at most (AR/AW ready drops at the limit).
    public var maxOutstanding: Int

    public init(latencyCycles: Int, bytesPerCycle: Int, maxOutstanding: Int = 64) {
        self.latencyCycles = latencyCycles
        self.bytesPerCycle = bytesPerCycle
        self.maxOutstanding = maxOutstanding
    }

    public init(_ memory: MemoryModel) {
        self.init(latencyCycles: memory.latencyCycles, bytesPerCycle: memory.bytesPerCycle)
    }
}

/// The harness's `spinel::AxiMemory` (Harness/Static/spinel_axi_memory.h), its timing only: a read
/// burst accepted in cycle t offers beat k from t + latency + k on; a write burst answers from
/// max(t + latency, last W + 1) on; reads and writes each spend a full bus width of their own
/// token bucket (bytesPerCycle per cycle, at most max(bus, bytesPerCycle)) per beat.
struct AXIMemoryTiming {
    struct Burst {
        var accepted: UInt64
        var beats: Int
        var beatsDone = 0
        var respondAt: UInt64 = 0
    }

    let busBytes: Int
    let settings: MemoryTimingSettings
    private var readTokens: Int
    private var writeTokens: Int
    private var reads = FIFO<Burst>()
    private var writes = FIFO<Burst>()
    /// The first `completeWrites` write bursts have all their W beats.
    private var completeWrites = 0
    private var unmatchedBeats = 0
    /// The harness's buffer of W beats that arrived before their AW.
    private let maxUnmatchedBeats = 1024

    private(set) var addressReadReady = true
    private(set) var addressWriteReady = true
    private(set) var beatReady = true
    private(set) var readValid = false
    private(set) var answerValid = false

    init(busBytes: Int, settings: MemoryTimingSettings) {
        self.busBytes = busBytes
        // The harness treats 0 as "use the defaults"; a configuration validates both ≥ 1.
        self.settings = MemoryTimingSettings(latencyCycles: max(settings.latencyCycles, 1),
                                             bytesPerCycle: settings.bytesPerCycle > 0 ? settings.bytesPerCycle : busBytes,
                                             maxOutstanding: max(settings.maxOutstanding, 1))
        readTokens = max(busBytes, self.settings.bytesPerCycle)
        writeTokens = readTokens
    }

    var idle: Bool { reads.isEmpty && writes.isEmpty && unmatchedBeats == 0 && !readValid && !answerValid }

    /// This memory for `sameState` (its queues by version only).
    func frozenCopy() -> Self {
        var copy = self
        copy.reads = reads.emptyCopy()
        copy.writes = writes.emptyCopy()
        return copy
    }

    /// Changes in most cycles that change the registers (the fast path's first look).
    var activity: Int { reads.version &+ writes.version &* 3 &+ readTokens &* 5 &+ writeTokens &* 7 &+ unmatchedBeats &* 11 }

    func sameState(as o: Self) -> Bool {
        readTokens == o.readTokens && writeTokens == o.writeTokens && reads.version == o.reads.version && writes.version == o.writes.version
            && completeWrites == o.completeWrites && unmatchedBeats == o.unmatchedBeats && addressReadReady == o.addressReadReady
            && addressWriteReady == o.addressWriteReady && beatReady == o.beatReady && readValid == o.readValid && answerValid == o.answerValid
    }

    /// Its registers for the periodic jump: a burst's acceptance and a complete write's
    /// response are cycles.
    mutating func visitPeriodic<V: PeriodicStateVisitor>(_ v: inout V) {
        v.same(readTokens)
        v.same(writeTokens)
        v.same(reads.count)
        reads.updateEach { burst in
            v.cycle(&burst.accepted)
            v.same(burst.beats)
            v.same(burst.beatsDone)
        }
        v.same(writes.count)
        var position = 0
        let complete = completeWrites
        writes.updateEach { burst in
            v.cycle(&burst.accepted)
            v.same(burst.beats)
            v.same(burst.beatsDone)
            if position < complete { v.cycle(&burst.respondAt) } else { v.same(Int(burst.respondAt)) }
            position += 1
        }
        v.same(completeWrites)
        v.same(unmatchedBeats)
        v.same(addressReadReady)
        v.same(addressWriteReady)
        v.same(beatReady)
        v.same(readValid)
        v.same(answerValid)
    }

    /// The first cycle after `cycle` in which time alone changes what `drive` decides: the front
    /// read burst's next beat is due, or the oldest complete write's response.
    func nextTimer(after cycle: UInt64) -> UInt64? {
        var next: UInt64?
        if !readValid, let front = reads.first {
            let due = front.accepted + UInt64(settings.latencyCycles + front.beatsDone)
            if due > cycle { next = due }
        }
        if !answerValid && completeWrites > 0 {
            let due = writes.first!.respondAt
            if due > cycle { next = min(next ?? due, due) }
        }
        return next
    }
    /// Bursts between their address handshake and their last R beat (reads) or their B (writes).
    var readsInFlight: Int { reads.count }
    var writesInFlight: Int { writes.count }

    /// `AxiMemory::drive`: the subordinate's outputs of `cycle`.
    mutating func drive(_ cycle: UInt64) {
        refill(cycles: 1)
        addressReadReady = reads.count < settings.maxOutstanding
        addressWriteReady = writes.count < settings.maxOutstanding
        beatReady = writeTokens >= busBytes && unmatchedBeats < maxUnmatchedBeats
        if !readValid, let front = reads.first, cycle >= front.accepted + UInt64(settings.latencyCycles + front.beatsDone),
           readTokens >= busBytes {
            readTokens -= busBytes
            readValid = true
        }
        if !answerValid && completeWrites > 0 && writes.first!.respondAt <= cycle {
            answerValid = true
        }
    }

    /// Cycles in which nothing happens (the timing model skips idle stretches): the buckets refill.
    mutating func refill(cycles: UInt64) {
        let capacity = max(busBytes, settings.bytesPerCycle)
        let added = Int(min(cycles, UInt64(capacity))) * settings.bytesPerCycle
        readTokens = min(capacity, readTokens + added)
        writeTokens = min(capacity, writeTokens + added)
    }

    /// `AxiMemory::observe`: what the manager did in `cycle`.
    mutating func observe(_ cycle: UInt64, readAddress: Int?, writeAddress: Int?, beat: Bool, readTaken: Bool, answerTaken: Bool) {
        if let beats = readAddress, addressReadReady { reads.append(Burst(accepted: cycle, beats: beats)) }
        if let beats = writeAddress, addressWriteReady { writes.append(Burst(accepted: cycle, beats: beats)) }
        if beat && beatReady {
            writeTokens -= busBytes
            unmatchedBeats += 1
        }
        // Pair W beats with AW bursts in order; a complete burst is scheduled for its B.
        while completeWrites < writes.count && unmatchedBeats > 0 {
            unmatchedBeats -= 1
            writes[completeWrites].beatsDone += 1
            if writes[completeWrites].beatsDone == writes[completeWrites].beats {
                writes[completeWrites].respondAt = max(writes[completeWrites].accepted + UInt64(settings.latencyCycles), cycle + 1)
                completeWrites += 1
            }
        }
        if readValid && readTaken {
            readValid = false
            reads[0].beatsDone += 1
            if reads[0].beatsDone == reads[0].beats { reads.removeFirst() }
        }
        if answerValid && answerTaken {
            answerValid = false
            writes.removeFirst()
            completeWrites -= 1
        }
    }
}

/// A payload without data (a response that only says "done").
struct Token: Equatable {}
