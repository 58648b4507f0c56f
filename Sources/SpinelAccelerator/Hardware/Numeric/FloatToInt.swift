import SpinelHDL

/// Rounds IEEE-754 binary32 bits to the nearest integer (ties to even) and saturates the result
/// into a `width`-bit two's-complement integer: docs/NUMERICS.md's `sat(rne(f))`, the last step of
/// scaling (`Numerics.roundAndSaturate`).
///
/// ±∞ saturate to the range ends; ±0 and subnormals give 0. NaN never arrives (commands reject
/// NaN scales, and no finite scale makes one); if it did, it would saturate by its sign bit.
///
/// Combinational (latency 0): one left shift of the significand to put the binary point at a
/// fixed place, then rounding on the fraction bits and a final sign and saturation mux.
public struct FloatToInt: Module {
    public let width: Int

    public init(width: Int) {
        precondition((2...64).contains(width), "FloatToInt produces integers of 2 to 64 bits, not \(width)")
        self.width = width
    }

    public var name: String { "FloatToInt_\(width)" }

    @Bundle
    public struct IO: Aggregate {
        /// binary32 bits.
        @Input public var value: Signal
        /// SInt(width).
        @Output public var result: Signal
    }

    public var io: IO { IO(value: Signal(.uint(32)), result: Signal(.sint(width))) }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let negative = io.value[31]
        let exponent = io.value.bits(30, 23)
        let significand = cat(Signal.literal(1, .bool), io.value.bits(22, 0))

        // |value| < 0.5 (exponent field below 126, subnormals and zeros included) rounds to 0;
        // |value| ≥ 2^(width − 1) (field ≥ 126 + width, infinities included) saturates.
        let belowHalf = m.wire("below_half", .bool, default: exponent < 126)
        let saturates = m.wire("saturates", .bool, default: exponent >= Signal.literal(126 + width, .uint(8)))

        // In between, |value| = significand · 2^(exponent − 150) = (significand << shift) · 2^−24
        // with shift = exponent − 126 in 0 ... width − 1: the low 24 bits are the fraction.
        let shiftWidth = HWType.addressWidth(for: width)
        let shift = (exponent -% 126).truncated(to: shiftWidth)
        let fixedWidth = 24 + width - 1
        let fixedPoint = m.wire("fixed_point", .uint(fixedWidth), default: significand.extended(to: fixedWidth) << shift)
        let integerPart = fixedPoint.bits(fixedWidth - 1, 24)
        let guardBit = fixedPoint[23]
        let sticky = fixedPoint.bits(22, 0).orReduce
        let roundUp = guardBit && (sticky || fixedPoint[24])   // ties to an even integer
        // width bits: rounding may reach 2^(width − 1), which only a negative result can hold.
        let rounded = m.wire("rounded", .uint(width), default: integerPart +& roundUp)

        let largest = Signal.literal((BigInteger.powerOfTwo(width - 1) - .one), .sint(width))
        let smallest = Signal.literal(-BigInteger.powerOfTwo(width - 1), .sint(width))
        let positive = mux(rounded[width - 1], largest, rounded.asSInt)
        io.result.set(mux(negative, rounded.asSInt.negated, positive))
        m.when(saturates) {
            io.result.set(mux(negative, smallest, largest))
        }.elsewhen(belowHalf) {
            io.result.set(Signal.literal(0, .sint(width)))
        }
    }
}
