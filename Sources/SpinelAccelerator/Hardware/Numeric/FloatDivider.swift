import SpinelHDL

/// IEEE-754 binary32 division a ⊘ b, rounded to nearest, ties to even: docs/NUMERICS.md's softmax
/// `factor = fp32(127) ⊘ fp32(sum)`, bit for bit what a C compiler's `float` division gives.
///
/// Full IEEE behaviour for normal and subnormal operands and results (gradual underflow, with
/// rounding into the subnormals and up to the smallest normal), signed zeros, overflow to ±∞,
/// x ⊘ ±0 = ±∞ for x ≠ 0, x ⊘ ±∞ = ±0 for finite x. Every NaN result (a NaN operand, 0 ⊘ 0 or
/// ∞ ⊘ ∞) is the quiet NaN 0x7FC00000; NaN payloads and signs are not propagated, as in
/// `FloatMultiply`. No exception flags.
///
/// Sequential, `latency` = 27 cycles, in three phases:
/// - unpack (the clock edge of the accepting cycle t): decode both operands, normalize subnormal
///   significands past their leading zeros (with a matching exponent), and double the dividend's
///   significand when it is the smaller one, so that the significand quotient lies in [1, 2);
/// - divide (cycles t + 1 … t + 25): radix-2 restoring division, one quotient bit per cycle,
///   24 significand bits and a guard bit; the final remainder is the sticky bit;
/// - round (cycle t + 26): shift right into the subnormal range where the exponent is too small
///   (adding the lost bits to the sticky bit), round, pack, and substitute special results.
///
/// `busy` is high in cycles t + 1 … t + 26 and `done` pulses in cycle t + 27, when `quotient`
/// is valid; it holds until the round phase of the next operation. A `start` while `busy` is
/// ignored; a `start` in the done cycle is accepted.
public struct FloatDivider: Module {
    public init() {}

    public var name: String { "FloatDivider" }

    /// Quotient bits the divide phase computes: 24 significand bits and the guard bit.
    static let quotientBits = PipelineTiming.floatDividerQuotientBits

    /// Cycles from an accepted `start` to `done`: unpack, one per quotient bit, round.
    public var latency: Int { PipelineTiming.floatDividerLatency }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        /// binary32 bits of the dividend, captured with `start`.
        @Input public var a: Signal
        /// binary32 bits of the divisor, captured with `start`.
        @Input public var b: Signal
        @Output public var busy: Signal
        /// A one-cycle pulse `latency` cycles after the accepted `start`.
        @Output public var done: Signal
        /// binary32 bits of a ⊘ b, valid from `done` until the next operation's round phase.
        @Output public var quotient: Signal
    }

    public var io: IO {
        IO(start: Signal(.bool), a: Signal(.uint(32)), b: Signal(.uint(32)), busy: Signal(.bool), done: Signal(.bool),
           quotient: Signal(.uint(32)))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let control = IterationControl(start: io.start, latency: latency, busyOutput: io.busy, doneOutput: io.done, in: m)
        let quotientBits = Self.quotientBits

        // MARK: Unpack

        let a = FloatMultiply.Operand(io.a, name: "a", in: m), b = FloatMultiply.Operand(io.b, name: "b", in: m)
        // A significand normalized to [2^23, 2^24), and its biased exponent (below 1 for a
        // subnormal), as a 10-bit two's-complement pattern: the exponents here stay within
        // −22 … 254, and the quotient's within −150 … 403.
        func normalized(_ operand: FloatMultiply.Operand, name: String) -> (significand: Signal, exponent: Signal) {
            let leadingZeros = m.leadingZeros(operand.significand, name: "\(name)_lzc")
            let significand = m.wire("\(name)_normalized", .uint(24), default: operand.significand << leadingZeros)
            return (significand, operand.exponent.extended(to: 10) -% leadingZeros.extended(to: 10))
        }
        let dividend = normalized(a, name: "a"), divisor = normalized(b, name: "b")
        // Doubling the smaller dividend significand puts the quotient in [1, 2): its first bit
        // is the hidden bit, and the exponent is known before dividing.
        let doubled = m.wire("dividend_doubled", .bool, default: dividend.significand < divisor.significand)
        let scaledDividend = m.wire("scaled_dividend", .uint(quotientBits),
                                    default: mux(doubled, cat(dividend.significand, Signal.literal(0, .bool)),
                                                 cat(Signal.literal(0, .bool), dividend.significand)))
        let exponent = m.wire("quotient_exponent", .uint(10), default: dividend.exponent -% divisor.exponent +% 127 -% doubled)

        // ∞ ⊘ ∞ and 0 ⊘ 0 have no value; x ⊘ 0 and ∞ ⊘ x are infinite; 0 ⊘ x and x ⊘ ∞ are zero.
        let notANumber = a.isNaN || b.isNaN || (a.isInfinite && b.isInfinite) || (a.isZero && b.isZero)
        let infinite = a.isInfinite || b.isZero
        let zero = a.isZero || b.isInfinite

        // What the round phase needs, captured at the accepting edge; no reset.
        let sign = m.register("sign_reg", .bool)
        let exponentRegister = m.register("exponent_reg", .uint(10))
        let notANumberRegister = m.register("not_a_number_reg", .bool)
        let infiniteRegister = m.register("infinite_reg", .bool)
        let zeroRegister = m.register("zero_reg", .bool)

        // MARK: Divide

        // Restoring division of scaledDividend · 2^24 by the divisor significand, started 24
        // steps in: the remainder holds scaledDividend's top 24 bits (below the divisor, as
        // scaledDividend < 2 · divisor) and the shift register its last bit, then zeros.
        let remainder = m.register("remainder_reg", .uint(24))
        let quotient = m.register("quotient_reg", .uint(quotientBits))
        let divisorSignificand = m.register("divisor_reg", .uint(24))
        let step = m.restoringDivisionStep(remainder: remainder, quotient: quotient, divisor: divisorSignificand, name: "step")

        m.when(control.accept) {
            sign.set(io.a[31] ^ io.b[31])
            exponentRegister.set(exponent)
            notANumberRegister.set(notANumber)
            infiniteRegister.set(infinite)
            zeroRegister.set(zero)
            remainder.set(scaledDividend.bits(24, 1))
            quotient.set(cat(scaledDividend[0], Signal.literal(0, .uint(quotientBits - 1))))
            divisorSignificand.set(divisor.significand)
        }.elsewhen(control.busy && !control.finishing) {
            remainder.set(step.remainder)
            quotient.set(step.quotient)
        }

        // MARK: Round

        // The exact quotient is (quotient + remainder / divisor) · 2^(exponent − 127 − 24), with
        // quotient in [2^24, 2^25). A field of at least 1 keeps it normal; below, it shifts right
        // by 1 − exponent (up to 151) so that its bits line up with the subnormals' (field 0).
        let underflows = m.wire("underflows", .bool, default: exponentRegister.asSInt < 1)
        let rightShift = m.wire("right_shift", .uint(8), default: (Signal.literal(1, .uint(10)) -% exponentRegister).truncated(to: 8))
        let shiftedRight = m.shiftRightSticky(quotient, by: rightShift, name: "denormalize")
        let aligned = m.wire("aligned", .uint(quotientBits), default: mux(underflows, shiftedRight.shifted, quotient))

        // As in FloatMultiply, the field holds exponent − 1 and the hidden bit adds the one back;
        // a subnormal has no hidden bit and keeps field 0; rounding carries ripple into it.
        let exponentMinusOne = mux(underflows, Signal.literal(0, .uint(9)), (exponentRegister -% 1).truncated(to: 9))
        let significand = aligned.bits(quotientBits - 1, 1)
        let guardBit = aligned[0]
        let sticky = remainder.orReduce || (underflows && shiftedRight.sticky)
        let roundUp = guardBit && (sticky || aligned[1])   // ties to an even significand
        let magnitudeBits = m.wire("magnitude_bits", .uint(32),
                                   default: cat(exponentMinusOne, Signal.literal(0, .uint(23))) +% significand +% roundUp)
        let overflows = magnitudeBits >= Signal.literal(0x7F80_0000, .uint(32))

        // Special operands first: with a zero operand the datapath computes nonsense (the
        // leading-zero count of 0 is meaningless), so its overflow flag must not count.
        let rounded = m.wire("rounded", .uint(32), default: cat(sign, magnitudeBits.bits(30, 0)))
        let infinity = cat(sign, Signal.literal(0x7F80_0000, .uint(31)))
        m.when(notANumberRegister) {
            rounded.set(Signal.literal(0x7FC0_0000, .uint(32)))
        }.elsewhen(infiniteRegister) {
            rounded.set(infinity)
        }.elsewhen(zeroRegister) {
            rounded.set(cat(sign, Signal.literal(0, .uint(31))))
        }.elsewhen(overflows) {
            rounded.set(infinity)
        }

        let result = m.register("result_reg", .uint(32))
        m.when(control.finishing) { result.set(rounded) }
        io.quotient.set(result)
    }
}
