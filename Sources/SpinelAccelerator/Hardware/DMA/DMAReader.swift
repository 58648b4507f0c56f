import SpinelHDL

/// The read half of the DMA engine: requests become AR bursts; R beats are gathered and
/// aligned into one response per request, in request order.
///
/// Pipeline: request skid buffer → burst splitter (AR register) and the queue of requests in
/// flight (`maxInFlight` entries, freed by a request's last R beat) → beat slots → alignment
/// stage → response skid buffer. All bursts use one ID, so R beats return in AR order and the
/// oldest request in the queue owns each beat. `request.ready` and `r.ready` come from
/// registers; AR is a register. From `request` accepted to `response` valid takes the memory's
/// latency plus the request's beats plus 3 cycles.
public struct DMAReader: Module {
    public let parameters: DMAParameters

    public init(_ parameters: DMAParameters) { self.parameters = parameters }

    public var name: String { "DMAReader_\(parameters)" }

    @Bundle
    public struct IO: Aggregate {
        @Input public var request: Decoupled<DMAReadRequest>
        @Output public var response: Decoupled<DMAReadResponse>
        @Output public var ar: Decoupled<AXI4Address>
        @Input public var r: Decoupled<AXI4ReadData>
        /// Some request accepted and not yet answered.
        @Output public var busy: Signal
    }

    public var io: IO {
        IO(request: Decoupled(DMAReadRequest(parameters)), response: Decoupled(DMAReadResponse(parameters)),
           ar: Decoupled(AXI4Address(parameters.axi)), r: Decoupled(AXI4ReadData(parameters.axi)), busy: Signal(.bool))
    }

    /// What the gathering stage needs to know of a request in flight.
    @Bundle
    struct InFlight: Aggregate {
        var offset: Signal
        var bytes: Signal
        var tag: Signal
        @Name("beats") var beatsMinusOne: Signal

        init(_ p: DMAParameters) {
            self.init(offset: Signal(.uint(p.offsetBits)), bytes: Signal(.uint(p.bytesBits)), tag: Signal(.uint(p.tagBits)),
                      beatsMinusOne: Signal(.uint(p.beatCountBits)))
        }
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let p = parameters

        // Requests: a skid buffer, then into the splitter and the in-flight queue together.
        let requestTemplate = DMAReadRequest(p)
        let requests = m.instance("requests", SkidBuffer(payload: .uint(requestTemplate.packedWidth)))
        requests.input.valid.set(io.request.valid)
        io.request.ready.set(requests.input.ready)
        requests.input.bits.set((io.request.bits).packed)
        let request = m.wire("request", requestTemplate)
        m.connect(request, from: requestTemplate.unpacked(from: requests.output.bits))
        let beatsMinusOne = m.wire("beats_minus_one", .uint(p.beatCountBits),
                                   default: p.beatsMinusOne(address: request.address, bytes: request.bytes))

        let splitter = m.instance("splitter", DMABurstSplitter(p))
        let inFlightTemplate = InFlight(p)
        let inFlight = m.instance("in_flight", Queue(entries: p.maxInFlight, payload: .uint(inFlightTemplate.packedWidth)))
        splitter.run.valid.set(requests.output.valid && inFlight.enq.ready)
        splitter.run.bits.address.set(p.alignedAddress(request.address))
        splitter.run.bits.beatsMinusOne.set(beatsMinusOne)
        inFlight.enq.valid.set(requests.output.valid && splitter.run.ready)
        inFlight.enq.bits.set((InFlight(offset: p.beatOffset(request.address), bytes: request.bytes,
                                                       tag: request.tag, beatsMinusOne: beatsMinusOne)).packed)
        requests.output.ready.set(splitter.run.ready && inFlight.enq.ready)
        m.connect(io.ar, from: splitter.burst)

        // Gathering: beat k of the oldest request lands in slot k.
        let oldest = inFlightTemplate.unpacked(from: inFlight.deq.bits)
        let beatIndex = m.register("beat_index", .uint(p.beatCountBits), reset: 0)
        let errorSoFar = m.register("error_so_far", .bool, reset: false)
        let slots = (0..<p.maxBeats).map { m.register("slot_\($0)", .uint(p.busBits)) }
        // A gathered request waiting for alignment (its beats stay in the slots meanwhile).
        let gatheredValid = m.register("gathered_valid", .bool, reset: false)
        let gatheredOffset = m.register("gathered_offset", .uint(p.offsetBits))
        let gatheredBytes = m.register("gathered_bytes", .uint(p.bytesBits))
        let gatheredTag = m.register("gathered_tag", .uint(p.tagBits))
        let gatheredError = m.register("gathered_error", .bool)

        let responseTemplate = DMAReadResponse(p)
        let responses = m.instance("responses", SkidBuffer(payload: .uint(responseTemplate.packedWidth)))

        io.r.ready.set(inFlight.deq.valid && (!gatheredValid || responses.input.ready))
        let beat = m.wire("beat", .bool, default: io.r.valid && io.r.ready)
        let lastBeat = m.wire("last_beat", .bool, default: beatIndex === oldest.beatsMinusOne)
        let beatError = io.r.bits.response.bit(1)
        inFlight.deq.ready.set(beat && lastBeat)

        // Alignment: byte `offset` of the slots becomes byte 0; bytes past the request are cleared.
        responses.input.valid.set(gatheredValid)
        m.when(responses.input.ready) { gatheredValid.set(false) }
        let aligned = (cat(slots.reversed()) >> cat(gatheredOffset, p.constant(0, bits: 3))).truncated(to: p.maxBytes * 8)
        let requestedBytes = ~(p.ones(p.maxBytes * 8) << cat(gatheredBytes, p.constant(0, bits: 3)))
        responses.input.bits.set((DMAReadResponse(data: aligned & requestedBytes, tag: gatheredTag,
                                                                 error: gatheredError)).packed)

        m.when(beat) {
            for (index, slot) in slots.enumerated() {
                m.when(beatIndex === p.constant(index, bits: p.beatCountBits)) { slot.set(io.r.bits.data) }
            }
            m.when(lastBeat) {
                beatIndex.set(0)
                errorSoFar.set(false)
                gatheredValid.set(true)
                gatheredOffset.set(oldest.offset)
                gatheredBytes.set(oldest.bytes)
                gatheredTag.set(oldest.tag)
                gatheredError.set(errorSoFar || beatError)
            }.otherwise {
                beatIndex.set(beatIndex +% 1)
                errorSoFar.set(errorSoFar || beatError)
            }
        }

        m.connect(io.response.bits, from: responseTemplate.unpacked(from: responses.output.bits))
        io.response.valid.set(responses.output.valid)
        responses.output.ready.set(io.response.ready)
        io.busy.set(requests.output.valid || inFlight.deq.valid || gatheredValid || responses.output.valid)
    }
}
