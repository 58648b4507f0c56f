/// Widths of an AXI4 interface.
public struct AXI4Parameters: Hashable, Sendable, CustomStringConvertible {
    public var addressBits: Int
    public var dataBits: Int
    public var idBits: Int

    public init(addressBits: Int, dataBits: Int, idBits: Int) {
        precondition(addressBits >= 1 && idBits >= 1 && dataBits >= 8 && dataBits % 8 == 0, "invalid AXI4 widths")
        self.addressBits = addressBits
        self.dataBits = dataBits
        self.idBits = idBits
    }

    public var strobeBits: Int { dataBits / 8 }
    public var description: String { "a\(addressBits)d\(dataBits)i\(idBits)" }
}

/// Burst types and responses of AXI4 (AMBA AXI protocol specification, A3.4 and A3.4.4).
public enum AXI4 {
    public static let burstFixed = 0, burstIncrement = 1, burstWrap = 2
    public static let responseOkay = 0, responseExclusiveOkay = 1, responseSlaveError = 2, responseDecodeError = 3
    /// Bursts may not cross a 4 KiB boundary.
    public static let boundaryBytes = 4096
}

/// The AW or AR channel payload: one burst request.
@Bundle
public struct AXI4Address: Aggregate {
    public var id: Signal
    @Name("addr") public var address: Signal
    /// Beats minus one.
    @Name("len") public var length: Signal
    /// log2 of the bytes per beat.
    public var size: Signal
    public var burst: Signal

    public init(_ p: AXI4Parameters) {
        self.init(id: Signal(.uint(p.idBits)), address: Signal(.uint(p.addressBits)), length: Signal(.uint(8)),
                  size: Signal(.uint(3)), burst: Signal(.uint(2)))
    }
}

/// The W channel payload: one beat of write data.
@Bundle
public struct AXI4WriteData: Aggregate {
    public var data: Signal
    @Name("strb") public var strobe: Signal
    public var last: Signal

    public init(_ p: AXI4Parameters) {
        self.init(data: Signal(.uint(p.dataBits)), strobe: Signal(.uint(p.strobeBits)), last: Signal(.bool))
    }
}

/// The B channel payload: the response to one write burst.
@Bundle
public struct AXI4WriteResponse: Aggregate {
    public var id: Signal
    @Name("resp") public var response: Signal

    public init(_ p: AXI4Parameters) {
        self.init(id: Signal(.uint(p.idBits)), response: Signal(.uint(2)))
    }
}

/// The R channel payload: one beat of read data.
@Bundle
public struct AXI4ReadData: Aggregate {
    public var id: Signal
    public var data: Signal
    @Name("resp") public var response: Signal
    public var last: Signal

    public init(_ p: AXI4Parameters) {
        self.init(id: Signal(.uint(p.idBits)), data: Signal(.uint(p.dataBits)), response: Signal(.uint(2)), last: Signal(.bool))
    }
}

/// A whole AXI4 interface as seen by the manager (master): it drives AW, W and AR and
/// receives B and R (flipped).
@Bundle
public struct AXI4Bundle: Aggregate {
    public var aw: Decoupled<AXI4Address>
    public var w: Decoupled<AXI4WriteData>
    @Flipped public var b: Decoupled<AXI4WriteResponse>
    public var ar: Decoupled<AXI4Address>
    @Flipped public var r: Decoupled<AXI4ReadData>

    public init(_ p: AXI4Parameters) {
        self.init(aw: Decoupled(AXI4Address(p)), w: Decoupled(AXI4WriteData(p)), b: Decoupled(AXI4WriteResponse(p)),
                  ar: Decoupled(AXI4Address(p)), r: Decoupled(AXI4ReadData(p)))
    }
}

/// A register slice on every channel of an AXI4 link (a skid buffer per channel): cuts all
/// combinational paths between manager and subordinate without losing throughput.
public struct AXI4RegisterSlice: Module {
    public let parameters: AXI4Parameters

    public init(_ parameters: AXI4Parameters) { self.parameters = parameters }

    public var name: String { "AXI4RegisterSlice_\(parameters)" }

    @Bundle
    public struct IO: Aggregate {
        /// From the manager.
        @Input("in") public var manager: AXI4Bundle
        /// To the subordinate.
        @Output("out") public var subordinate: AXI4Bundle
    }

    public var io: IO { IO(manager: AXI4Bundle(parameters), subordinate: AXI4Bundle(parameters)) }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        slice(m, "aw", from: io.manager.aw, to: io.subordinate.aw)
        slice(m, "w", from: io.manager.w, to: io.subordinate.w)
        slice(m, "ar", from: io.manager.ar, to: io.subordinate.ar)
        slice(m, "b", from: io.subordinate.b, to: io.manager.b)
        slice(m, "r", from: io.subordinate.r, to: io.manager.r)
    }

    /// A skid buffer between two channels carrying the same payload, packed into one word.
    private func slice<Payload: Aggregate>(_ m: ModuleBuilder, _ name: String, from source: Decoupled<Payload>, to sink: Decoupled<Payload>) {
        let fields = source.bits.leaves.map(\.field)
        let buffer = m.instance("\(name)_slice", SkidBuffer(payload: .uint(fields.reduce(0) { $0 + $1.width })))
        buffer.input.valid.set(source.valid)
        source.ready.set(buffer.input.ready)
        buffer.input.bits.set(cat(fields))
        sink.valid.set(buffer.output.valid)
        buffer.output.ready.set(sink.ready)
        var high = buffer.output.bits.width
        for field in sink.bits.leaves.map(\.field) {
            field.set(buffer.output.bits.bits(high - 1, high - field.width))
            high -= field.width
        }
    }
}
