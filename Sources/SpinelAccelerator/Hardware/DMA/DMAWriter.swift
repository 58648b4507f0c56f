import SpinelHDL

/// The write half of the DMA engine: each request becomes AW bursts and W beats whose strobes
/// mark exactly its bytes; one response per request, in order, after all of its B responses.
///
/// Pipeline: request skid buffer → (together) burst splitter (AW register), the beat shifter
/// that feeds W, and the queue of requests in flight (`maxInFlight` entries, freed by a
/// request's last B) → response skid buffer. A request is taken in the cycle the previous
/// one's last W beat leaves, so W runs at one beat per cycle across requests. W does not wait
/// for AW (AXI4 allows either order). `request.ready` and `b.ready` come from registers; AW and
/// W are registers.
public struct DMAWriter: Module {
    public let parameters: DMAParameters

    public init(_ parameters: DMAParameters) { self.parameters = parameters }

    public var name: String { "DMAWriter_\(parameters)" }

    @Bundle
    public struct IO: Aggregate {
        @Input public var request: Decoupled<DMAWriteRequest>
        @Output public var response: Decoupled<DMAWriteResponse>
        @Output public var aw: Decoupled<AXI4Address>
        @Output public var w: Decoupled<AXI4WriteData>
        @Input public var b: Decoupled<AXI4WriteResponse>
        /// Some request accepted and not yet answered.
        @Output public var busy: Signal
    }

    public var io: IO {
        let axi = parameters.axi
        return IO(request: Decoupled(DMAWriteRequest(parameters)), response: Decoupled(DMAWriteResponse(parameters)),
                  aw: Decoupled(AXI4Address(axi)), w: Decoupled(AXI4WriteData(axi)), b: Decoupled(AXI4WriteResponse(axi)),
                  busy: Signal(.bool))
    }

    /// What the response stage needs to know of a request in flight.
    @Bundle
    struct InFlight: Aggregate {
        var tag: Signal
        @Name("bursts") var burstsMinusOne: Signal

        init(_ p: DMAParameters) {
            self.init(tag: Signal(.uint(p.tagBits)), burstsMinusOne: Signal(.uint(p.burstCountBits)))
        }
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let p = parameters
        let laneBytes = p.maxBeats * p.busBytes

        let requestTemplate = DMAWriteRequest(p)
        let requests = m.instance("requests", SkidBuffer(payload: .uint(requestTemplate.packedWidth)))
        requests.input.valid.set(io.request.valid)
        io.request.ready.set(requests.input.ready)
        requests.input.bits.set((io.request.bits).packed)
        let request = m.wire("request", requestTemplate)
        m.connect(request, from: requestTemplate.unpacked(from: requests.output.bits))
        let beatsMinusOne = m.wire("beats_minus_one", .uint(p.beatCountBits),
                                   default: p.beatsMinusOne(address: request.address, bytes: request.bytes))

        // W beats: the request's bytes shifted to their lanes, one beat leaving per transfer.
        let beatsValid = m.register("beats_valid", .bool, reset: false)
        let beatData = m.register("beat_data", .uint(laneBytes * 8))
        let beatStrobes = m.register("beat_strobes", .uint(laneBytes))
        let beatsLeft = m.register("beats_left", .uint(p.beatCountBits))
        // The beat's index within its burst boundary: all ones on the boundary's last beat.
        let beatInBoundary = m.register("beat_in_boundary", .uint(p.boundaryBits - p.offsetBits))
        let lastOfRequest = m.wire("last_of_request", .bool, default: beatsLeft === 0)
        let beatsFree = m.wire("beats_free", .bool, default: !beatsValid || (io.w.ready && lastOfRequest))

        io.w.valid.set(beatsValid)
        io.w.bits.data.set(beatData.bits(p.busBits - 1, 0))
        io.w.bits.strobe.set(beatStrobes.bits(p.busBytes - 1, 0))
        io.w.bits.last.set(lastOfRequest || beatInBoundary.andReduce)

        let splitter = m.instance("splitter", DMABurstSplitter(p))
        let inFlightTemplate = InFlight(p)
        let inFlight = m.instance("in_flight", Queue(entries: p.maxInFlight, payload: .uint(inFlightTemplate.packedWidth)))
        let take = m.wire("take", .bool, default: requests.output.valid && splitter.run.ready && inFlight.enq.ready && beatsFree)
        splitter.run.valid.set(requests.output.valid && inFlight.enq.ready && beatsFree)
        splitter.run.bits.address.set(p.alignedAddress(request.address))
        splitter.run.bits.beatsMinusOne.set(beatsMinusOne)
        inFlight.enq.valid.set(requests.output.valid && splitter.run.ready && beatsFree)
        inFlight.enq.bits.set((InFlight(tag: request.tag,
                                                       burstsMinusOne: p.burstsMinusOne(address: request.address, bytes: request.bytes))).packed)
        requests.output.ready.set(splitter.run.ready && inFlight.enq.ready && beatsFree)
        m.connect(io.aw, from: splitter.burst)

        m.when(io.w.valid && io.w.ready) {
            beatData.set((beatData >> p.busBits).extended(to: laneBytes * 8))
            beatStrobes.set((beatStrobes >> p.busBytes).extended(to: laneBytes))
            beatsLeft.set(beatsLeft -% 1)
            beatInBoundary.set(beatInBoundary +% 1)
            m.when(lastOfRequest) { beatsValid.set(false) }
        }
        m.when(take) {
            let offset = p.beatOffset(request.address)
            beatsValid.set(true)
            beatData.set(request.data.extended(to: laneBytes * 8) << cat(offset, p.constant(0, bits: 3)))
            beatStrobes.set(~(p.ones(laneBytes) << request.bytes) << offset)
            beatsLeft.set(beatsMinusOne)
            beatInBoundary.set(request.address.bits(p.boundaryBits - 1, p.offsetBits))
        }

        // Responses: count the B responses of the oldest request; answer after its last.
        let oldest = inFlightTemplate.unpacked(from: inFlight.deq.bits)
        let burstIndex = m.register("burst_index", .uint(p.burstCountBits), reset: 0)
        let errorSoFar = m.register("error_so_far", .bool, reset: false)
        let responseTemplate = DMAWriteResponse(p)
        let responses = m.instance("responses", SkidBuffer(payload: .uint(responseTemplate.packedWidth)))
        let lastBurst = m.wire("last_burst", .bool, default: burstIndex === oldest.burstsMinusOne)
        let burstError = io.b.bits.response.bit(1)
        io.b.ready.set(inFlight.deq.valid && (!lastBurst || responses.input.ready))
        let acknowledged = m.wire("acknowledged", .bool, default: io.b.valid && io.b.ready)
        responses.input.valid.set(io.b.valid && inFlight.deq.valid && lastBurst)
        responses.input.bits.set((DMAWriteResponse(tag: oldest.tag, error: errorSoFar || burstError)).packed)
        inFlight.deq.ready.set(acknowledged && lastBurst)
        m.when(acknowledged) {
            m.when(lastBurst) {
                burstIndex.set(0)
                errorSoFar.set(false)
            }.otherwise {
                burstIndex.set(burstIndex +% 1)
                errorSoFar.set(errorSoFar || burstError)
            }
        }

        m.connect(io.response.bits, from: responseTemplate.unpacked(from: responses.output.bits))
        io.response.valid.set(responses.output.valid)
        responses.output.ready.set(io.response.ready)
        io.busy.set(requests.output.valid || inFlight.deq.valid || beatsValid || responses.output.valid)
    }
}
