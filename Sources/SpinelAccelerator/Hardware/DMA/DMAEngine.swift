import SpinelHDL

/// The accelerator's AXI4 manager: byte-granular reads for the load controller and writes for
/// the store controller, each direction with up to `maxInFlight` requests outstanding so that
/// back-to-back requests overlap the memory's latency.
///
/// Requests of 1…`maxBytes` bytes at any address become INCR bursts of full-width beats
/// aligned down to the bus width, cut at 4 KiB boundaries (`DMAParameters.burstBoundaryBytes`);
/// write strobes mark exactly the requested bytes. Responses come back one per request, in
/// request order per direction, carrying the request's tag and whether any beat or burst got
/// SLVERR or DECERR. All bursts use ID 0 and rely on AXI's in-order responses per ID.
///
/// Timing, with no back-pressure: the first AR/AW of a request and its first W beat are valid
/// 2 cycles after the request is accepted; a read response is valid 2 cycles after the
/// request's last R beat, a write response 1 cycle after its last B. A new request can be
/// accepted every cycle, limited by bursts issued (one per cycle), W beats (one per cycle) and
/// `maxInFlight` requests per direction between acceptance and the last R beat or B. AR, AW and
/// W come from registers; `readRequest.ready`, `writeRequest.ready`, `r.ready` and `b.ready` do
/// not depend combinationally on any input.
public struct DMAEngine: Module {
    public let parameters: DMAParameters

    public init(_ parameters: DMAParameters) { self.parameters = parameters }

    public var name: String { "DMAEngine_\(parameters)" }

    @Bundle
    public struct IO: Aggregate {
        @Input public var readRequest: Decoupled<DMAReadRequest>
        @Output public var readResponse: Decoupled<DMAReadResponse>
        @Input public var writeRequest: Decoupled<DMAWriteRequest>
        @Output public var writeResponse: Decoupled<DMAWriteResponse>
        /// The memory port (manager side).
        @Output public var axi: AXI4Bundle
        /// Some request accepted and not yet answered.
        @Output public var busy: Signal
    }

    public var io: IO {
        IO(readRequest: Decoupled(DMAReadRequest(parameters)), readResponse: Decoupled(DMAReadResponse(parameters)),
           writeRequest: Decoupled(DMAWriteRequest(parameters)), writeResponse: Decoupled(DMAWriteResponse(parameters)),
           axi: AXI4Bundle(parameters.axi), busy: Signal(.bool))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let reader = m.instance("reader", DMAReader(parameters))
        m.connect(reader.request, from: io.readRequest)
        m.connect(io.readResponse, from: reader.response)
        m.connect(io.axi.ar, from: reader.ar)
        m.connect(reader.r, from: io.axi.r)

        let writer = m.instance("writer", DMAWriter(parameters))
        m.connect(writer.request, from: io.writeRequest)
        m.connect(io.writeResponse, from: writer.response)
        m.connect(io.axi.aw, from: writer.aw)
        m.connect(io.axi.w, from: writer.w)
        m.connect(writer.b, from: io.axi.b)

        io.busy.set(reader.busy || writer.busy)
    }
}
