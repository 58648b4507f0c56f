import SpinelHDL

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
