import SpinelHDL

/// Converts a `width`-bit two's-complement integer into IEEE-754 binary32 bits, rounding to
/// nearest, ties to even — the C conversion `(float)x` that docs/NUMERICS.md's scaling starts with.
///
/// Exact for |x| < 2^24; wider magnitudes keep their 24 leading bits and round on the rest.
/// Zero gives +0. No integer of at most 64 bits can overflow binary32, so there is no infinity.
///
/// Combinational (latency 0): magnitude, leading-zero count, normalizing shift, round.
public struct IntToFloat: Module {
    public let width: Int

    public init(width: Int) {
        precondition((1...64).contains(width), "IntToFloat converts integers of 1 to 64 bits, not \(width)")
        self.width = width
    }

    public var name: String { "IntToFloat_\(width)" }

    @Bundle
    public struct IO: Aggregate {
        /// SInt(width).
        @Input public var value: Signal
        /// binary32 bits.
        @Output public var result: Signal
    }

    public var io: IO { IO(value: Signal(.sint(width)), result: Signal(.uint(32))) }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let negative = io.value[width - 1]
        // The most negative value negates to itself, whose bits read as unsigned are its magnitude.
        let magnitude = m.wire("magnitude", .uint(width), default: mux(negative, io.value.negated, io.value).asUInt)
        let leadingZeros = m.leadingZeros(magnitude, name: "lzc")
        let normalized = m.wire("normalized", .uint(width), default: magnitude << leadingZeros)

        // The 24-bit significand (hidden bit included) and whether to round it up.
        let significand: Signal
        let roundUp: Signal
        if width <= 24 {
            significand = width == 24 ? normalized : cat(normalized, Signal.literal(0, .uint(24 - width)))
            roundUp = false
        } else {
            significand = normalized.bits(width - 1, width - 24)
            let guardBit = normalized[width - 25]
            let sticky = width > 25 ? normalized.bits(width - 26, 0).orReduce : false
            roundUp = guardBit && (sticky || normalized[width - 24])   // ties to an even significand
        }

        // The hidden bit lands on the exponent's lowest bit, so the field holds exponent − 1; a
        // rounding carry out of the significand then bumps the exponent by itself.
        // Unbiased exponent: width − 1 − leadingZeros; biased, minus one: 125 + width − leadingZeros.
        let exponentMinusOne = Signal.literal(125 + width, .uint(8)) -% leadingZeros
        let magnitudeBits = m.wire("magnitude_bits", .uint(31),
                                   default: cat(exponentMinusOne, Signal.literal(0, .uint(23))) +% significand +% roundUp)
        io.result.set(mux(magnitude === 0, Signal.literal(0, .uint(32)), cat(negative, magnitudeBits)))
    }
}
