import SpinelHDL

/// The sizes of a DMA engine, taken from the configuration plus the requesters' tag width.
///
/// A request moves 1…`maxBytes` bytes at any byte address. On the bus it becomes one or more
/// INCR bursts of full-width beats (`busBytes` each) that start at the address rounded down to
/// the bus width; the byte range is split where it crosses a `burstBoundaryBytes` boundary, so
/// that no burst crosses 4 KiB or exceeds 256 beats.
public struct DMAParameters: Hashable, Sendable, CustomStringConvertible {
    /// Bytes per AXI beat (the bus width).
    public let busBytes: Int
    /// Most bytes one request moves.
    public let maxBytes: Int
    /// Most requests per direction between acceptance and their last AXI response.
    public let maxInFlight: Int
    /// Width of the opaque tag carried from a request to its response.
    public let tagBits: Int
    public let addressBits = 64
    public let idBits = 1

    public init(busBytes: Int, maxBytes: Int, maxInFlight: Int, tagBits: Int) {
        precondition(busBytes >= 4 && busBytes <= 128 && busBytes & (busBytes - 1) == 0,
                     "the DMA bus is 4 to 128 bytes wide, a power of two")
        precondition(maxBytes >= 1 && maxBytes <= AXI4.boundaryBytes, "a DMA request moves 1 to 4096 bytes")
        precondition(maxInFlight >= 1, "a DMA engine needs at least one request in flight")
        precondition(tagBits >= 1, "a DMA tag has at least one bit")
        self.busBytes = busBytes
        self.maxBytes = maxBytes
        self.maxInFlight = maxInFlight
        self.tagBits = tagBits
    }

    /// The engine of a configuration: its bus width, request size and requests in flight.
    public init(_ parameters: AcceleratorParameters, tagBits: Int) {
        self.init(busBytes: parameters.dmaBusBytes, maxBytes: parameters.config.dmaMaxBytes,
                  maxInFlight: parameters.config.maxInFlightReqs, tagBits: tagBits)
    }

    public var busBits: Int { busBytes * 8 }
    /// Bits of a byte offset within a beat (log2 of the bus width): also AXI's `size`.
    public var offsetBits: Int { busBytes.trailingZeroBitCount }
    /// Bits of the `bytes` field (it holds `maxBytes` itself).
    public var bytesBits: Int { HWType.addressWidth(for: maxBytes + 1) }
    /// Most beats one request touches: a misaligned start adds one.
    public var maxBeats: Int { (busBytes - 1 + maxBytes + busBytes - 1) / busBytes }
    /// Bits of a beat count minus one.
    public var beatCountBits: Int { HWType.addressWidth(for: maxBeats) }

    /// Bursts are cut at multiples of this: 4 KiB, or 256 beats where a request could need more.
    public var burstBoundaryBytes: Int {
        maxBeats <= 256 ? AXI4.boundaryBytes : min(AXI4.boundaryBytes, 256 * busBytes)
    }
    public var boundaryBits: Int { burstBoundaryBytes.trailingZeroBitCount }
    /// Most bursts one request needs.
    public var maxBursts: Int { (burstBoundaryBytes - 1 + maxBytes - 1) / burstBoundaryBytes + 1 }
    /// Bits of a burst count minus one.
    public var burstCountBits: Int { HWType.addressWidth(for: maxBursts) }

    public var axi: AXI4Parameters { AXI4Parameters(addressBits: addressBits, dataBits: busBits, idBits: idBits) }

    public var description: String { "b\(busBytes)_m\(maxBytes)_n\(maxInFlight)_t\(tagBits)" }
}

/// A read of `bytes` bytes starting at byte `address`.
@Bundle
public struct DMAReadRequest: Aggregate {
    public var address: Signal
    /// 1…maxBytes.
    public var bytes: Signal
    /// Returned unchanged with the response.
    public var tag: Signal

    public init(_ p: DMAParameters) {
        self.init(address: Signal(.uint(p.addressBits)), bytes: Signal(.uint(p.bytesBits)), tag: Signal(.uint(p.tagBits)))
    }
}

/// The data of one read, in request order.
@Bundle
public struct DMAReadResponse: Aggregate {
    /// Byte i of the requested range in bits 8i+7…8i; bytes past the request are zero.
    public var data: Signal
    public var tag: Signal
    /// Some beat of the read got SLVERR or DECERR (the data is then meaningless).
    public var error: Signal

    public init(_ p: DMAParameters) {
        self.init(data: Signal(.uint(p.maxBytes * 8)), tag: Signal(.uint(p.tagBits)), error: Signal(.bool))
    }
}

/// A write of the low `bytes` bytes of `data` starting at byte `address`.
@Bundle
public struct DMAWriteRequest: Aggregate {
    public var address: Signal
    /// 1…maxBytes.
    public var bytes: Signal
    /// Byte i goes to `address + i`, for i < bytes.
    public var data: Signal
    public var tag: Signal

    public init(_ p: DMAParameters) {
        self.init(address: Signal(.uint(p.addressBits)), bytes: Signal(.uint(p.bytesBits)),
                  data: Signal(.uint(p.maxBytes * 8)), tag: Signal(.uint(p.tagBits)))
    }
}

/// The completion of one write, in request order, after all of its bursts were acknowledged.
@Bundle
public struct DMAWriteResponse: Aggregate {
    public var tag: Signal
    /// Some burst of the write got SLVERR or DECERR.
    public var error: Signal

    public init(_ p: DMAParameters) {
        self.init(tag: Signal(.uint(p.tagBits)), error: Signal(.bool))
    }
}

extension DMAParameters {
    /// A literal of `width` bits.
    func constant(_ value: Int, bits width: Int) -> Signal { Signal.literal(value, .uint(width)) }

    /// `width` one bits.
    func ones(_ width: Int) -> Signal { Signal.literal(BigInteger.powerOfTwo(width) - .one, .uint(width)) }

    /// The first beat's address: `address` rounded down to the bus width.
    func alignedAddress(_ address: Signal) -> Signal {
        cat(address.bits(addressBits - 1, offsetBits), constant(0, bits: offsetBits))
    }

    /// The byte offset of `address` within its beat.
    func beatOffset(_ address: Signal) -> Signal { address.bits(offsetBits - 1, 0) }

    /// `bytes`, with the illegal 0 treated as 1 for counting beats (it then moves no byte).
    func countedBytes(_ bytes: Signal) -> Signal { mux(bytes === 0, constant(1, bits: bytesBits), bytes) }

    /// Beats of a request minus one: ⌊(offset + bytes − 1) / busBytes⌋.
    func beatsMinusOne(address: Signal, bytes: Signal) -> Signal {
        let width = max(offsetBits, bytesBits) + 1
        let lastByte = beatOffset(address).extended(to: width) +% (countedBytes(bytes).extended(to: width) -% 1)
        return (lastByte >> offsetBits).resized(to: beatCountBits)
    }

    /// Bursts of a request minus one: boundaries crossed by its bytes, ⌊(address mod boundary + bytes − 1) / boundary⌋.
    func burstsMinusOne(address: Signal, bytes: Signal) -> Signal {
        let width = max(boundaryBits, bytesBits) + 1
        let lastByte = address.bits(boundaryBits - 1, 0).extended(to: width) +% (countedBytes(bytes).extended(to: width) -% 1)
        return (lastByte >> boundaryBits).resized(to: burstCountBits)
    }
}
