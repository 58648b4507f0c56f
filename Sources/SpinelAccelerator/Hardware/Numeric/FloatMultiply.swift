import SpinelHDL

/// IEEE-754 binary32 multiplication, rounded to nearest, ties to even: the one `x * scale` of
/// docs/NUMERICS.md's scaling, bit for bit what a C compiler's `float` multiply gives.
///
/// Full IEEE behaviour for normal and subnormal operands and results, signed zeros, infinities
/// and overflow to infinity. Every NaN result (a NaN operand, or 0 × ∞) is the quiet NaN
/// 0x7FC00000; NaN payloads and signs are not propagated. That is enough here because commands
/// reject NaN and infinite scales before they reach hardware.
///
/// Combinational (latency 0): a 24 × 24 significand multiplier, then one normalization that
/// either shifts left past leading zeros (as far as the exponent allows, which makes
/// subnormal results) or shifts right into the subnormal range, then one rounding.
public struct FloatMultiply: Module {
    public init() {}

    public var name: String { "FloatMultiply" }

    @Bundle
    public struct IO: Aggregate {
        @Input public var a: Signal
        @Input public var b: Signal
        @Output public var product: Signal
    }

    public var io: IO { IO(a: Signal(.uint(32)), b: Signal(.uint(32)), product: Signal(.uint(32))) }

    /// The fields of one binary32 operand.
    struct Operand {
        let isZero: Signal
        let isInfinite: Signal
        let isNaN: Signal
        /// The 24-bit significand: the hidden bit is 0 for subnormals.
        let significand: Signal
        /// The biased exponent, 1 for subnormals (they share the smallest normal's scale).
        let exponent: Signal

        /// Decodes `bits` into wires named `<name>_…`.
        init(_ bits: Signal, name: String, in m: ModuleBuilder) {
            let exponentField = bits.bits(30, 23), fraction = bits.bits(22, 0)
            let normal = m.wire("\(name)_normal", .bool, default: exponentField.orReduce)
            let saturated = exponentField.andReduce
            let fractionSet = m.wire("\(name)_fraction_set", .bool, default: fraction.orReduce)
            isZero = m.wire("\(name)_zero", .bool, default: !normal && !fractionSet)
            isInfinite = m.wire("\(name)_infinite", .bool, default: saturated && !fractionSet)
            isNaN = m.wire("\(name)_nan", .bool, default: saturated && fractionSet)
            significand = cat(normal, fraction)
            exponent = mux(normal, exponentField, 1)
        }
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let a = Operand(io.a, name: "a", in: m), b = Operand(io.b, name: "b", in: m)
        let sign = io.a[31] ^ io.b[31]

        // The product of the significands is P · 2^(ea + eb − 300). Aligning it so that bit 47
        // is the hidden bit of exponent field e means P << s with e = ea + eb − 126 − s. The
        // field must stay ≥ 1: with exponentSum = ea + eb, a left shift may be at most
        // exponentSum − 127, and below exponentSum = 127 the product shifts right instead
        // (a subnormal result).
        let significandProduct = m.wire("significand_product", .uint(48), default: a.significand * b.significand)
        let exponentSum = m.wire("exponent_sum", .uint(9), default: a.exponent +& b.exponent)
        let underflows = m.wire("underflows", .bool, default: exponentSum < 127)

        let leadingZeros = m.leadingZeros(significandProduct, name: "lzc")
        let leftShiftRoom = m.wire("left_shift_room", .uint(9), default: exponentSum -% 127)
        let leftShift = m.wire("left_shift", .uint(6),
                               default: mux(leftShiftRoom < leadingZeros, leftShiftRoom.truncated(to: 6), leadingZeros))
        let rightShift = m.wire("right_shift", .uint(7), default: (Signal.literal(127, .uint(9)) -% exponentSum).truncated(to: 7))
        let shiftedRight = m.shiftRightSticky(significandProduct, by: rightShift, name: "denormalize")

        let aligned = m.wire("aligned", .uint(48),
                             default: mux(underflows, shiftedRight.shifted, significandProduct << leftShift))
        // As in IntToFloat, the field holds exponent − 1 and the hidden bit adds the one back
        // (a subnormal has no hidden bit and keeps field 0); rounding carries ripple into it.
        let exponentMinusOne = mux(underflows, Signal.literal(0, .uint(9)), leftShiftRoom -% leftShift)
        let significand = aligned.bits(47, 24)
        let guardBit = aligned[23]
        let sticky = aligned.bits(22, 0).orReduce || (underflows && shiftedRight.sticky)
        let roundUp = guardBit && (sticky || aligned[24])   // ties to an even significand
        let magnitudeBits = m.wire("magnitude_bits", .uint(32),
                                   default: cat(exponentMinusOne, Signal.literal(0, .uint(23))) +% significand +% roundUp)
        let overflows = magnitudeBits >= Signal.literal(0x7F80_0000, .uint(32))

        // Special operands first: with a zero operand the datapath above computes nonsense
        // (the leading-zero count of 0 is meaningless), so its overflow flag must not count.
        let infinity = cat(sign, Signal.literal(0x7F80_0000, .uint(31)))
        let notANumber = m.wire("not_a_number", .bool,
                                default: a.isNaN || b.isNaN || (a.isInfinite && b.isZero) || (a.isZero && b.isInfinite))
        io.product.set(cat(sign, magnitudeBits.bits(30, 0)))
        m.when(notANumber) {
            io.product.set(Signal.literal(0x7FC0_0000, .uint(32)))
        }.elsewhen(a.isInfinite || b.isInfinite) {
            io.product.set(infinity)
        }.elsewhen(a.isZero || b.isZero) {
            io.product.set(cat(sign, Signal.literal(0, .uint(31))))
        }.elsewhen(overflows) {
            io.product.set(infinity)
        }
    }
}
