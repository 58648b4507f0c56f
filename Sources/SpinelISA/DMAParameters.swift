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
