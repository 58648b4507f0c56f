import SpinelHDL

/// IEEE-754 binary32 addition a ⊕ b, rounded to nearest, ties to even: bit for bit what a C
/// compiler's (and Swift's) `float` addition gives. The ⊕ of CTA_GATHER's
/// `(fp32(a1) ⊗ σ1) ⊕ (fp32(a2) ⊗ σ2)` (`CTANumerics.normalizedOutput`).
///
/// Full IEEE behaviour for normal and subnormal operands and results (a subnormal sum is exact,
/// a sum of subnormals may become normal), signed zeros (x ⊕ −x = +0, −0 ⊕ −0 = −0), overflow
/// to ±∞, ∞ ⊕ finite = ∞, ∞ ⊕ ∞ = ∞ with equal signs. Every NaN result (a NaN operand, or
/// ∞ ⊕ −∞) is the quiet NaN 0x7FC00000; payloads and signs are not propagated, as in
/// `FloatMultiply`. No exception flags. The CTA datapath never feeds NaN or ∞ (its operands
/// are products of finite values with finite factors).
///
/// The classic single-path adder on significands with three extra bits (guard, round, sticky):
/// order the operands by magnitude, shift the smaller right by the exponent difference (the
/// bits shifted past the round bit OR-ed into the sticky bit), add or subtract, normalize
/// (one bit right after a carry, or left past the leading zeros as far as the exponent allows,
/// which makes subnormal results), round. A left shift of more than one bit happens only when
/// the exponents differ by at most one, where the alignment dropped nothing, so the three
/// extra bits suffice.
///
/// `latency` (0 ... 2) adds pipeline registers without reset or enable (a fixed delay: the
/// caller delays its valid bit alongside): after the significand addition (latency ≥ 1) and at
/// the output (2). The sum of the operands presented in cycle t appears in cycle t + latency.
public struct FloatAdder: Module {
    public let latency: Int

    public init(latency: Int = 0) {
        precondition((0...2).contains(latency), "a FloatAdder has 0 to 2 pipeline registers, not \(latency)")
        self.latency = latency
    }

    public var name: String { "FloatAdder" + (latency == 0 ? "" : "_latency\(latency)") }

    @Bundle
    public struct IO: Aggregate {
        @Input public var a: Signal
        @Input public var b: Signal
        @Output public var sum: Signal
    }

    public var io: IO { IO(a: Signal(.uint(32)), b: Signal(.uint(32)), sum: Signal(.uint(32))) }

    /// Significand bits in the datapath: hidden bit, 23 fraction bits, guard, round, sticky.
    static let extendedBits = 27

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let width = Self.extendedBits

        // MARK: Align and add

        // The operand of larger magnitude first: the magnitude bits order like the values.
        let swap = m.wire("swap", .bool, default: io.b.bits(30, 0) > io.a.bits(30, 0))
        let large = FloatMultiply.Operand(m.wire("large", .uint(32), default: mux(swap, io.b, io.a)), name: "large", in: m)
        let small = FloatMultiply.Operand(m.wire("small", .uint(32), default: mux(swap, io.a, io.b)), name: "small", in: m)
        let largeSign = mux(swap, io.b[31], io.a[31])
        let subtract = m.wire("subtract", .bool, default: io.a[31] ^ io.b[31])

        // Exponents of subnormals count as 1 (FloatMultiply.Operand), so large ≥ small here.
        let difference = m.wire("exponent_difference", .uint(8), default: large.exponent -% small.exponent)
        let extend = Signal.literal(0, .uint(3))
        let aligned = m.shiftRightSticky(cat(small.significand, extend), by: difference, name: "align")
        let addend = m.wire("addend", .uint(width), default: aligned.shifted | cat(Signal.literal(0, .uint(width - 1)), aligned.sticky))
        let largeExtended = cat(large.significand, extend)
        // |large| ≥ |small| keeps the difference non-negative.
        let sum = m.wire("significand_sum", .uint(width + 1),
                         default: mux(subtract, largeExtended.extended(to: width + 1) -% addend.extended(to: width + 1),
                                      largeExtended +& addend))

        // ∞ ⊕ −∞ and NaN operands have no value; otherwise an infinite operand is the large one.
        let notANumber = large.isNaN || small.isNaN || (large.isInfinite && small.isInfinite && subtract)
        // An exact zero sum is +0, except −0 ⊕ −0.
        let zeroSign = io.a[31] && io.b[31]

        func stage(_ value: Signal, _ name: String) -> Signal { latency >= 1 ? m.delay(value, name: name) : value }
        let sumStage = stage(sum, "sum_reg")
        let exponent = stage(large.exponent, "exponent_reg")
        let sign = stage(largeSign, "sign_reg")
        let zeroSignStage = stage(zeroSign, "zero_sign_reg")
        let notANumberStage = stage(notANumber, "not_a_number_reg")
        let infiniteStage = stage(large.isInfinite, "infinite_reg")

        // MARK: Normalize and round

        // A carry shifts right by one (the dropped bit joins the sticky bit); otherwise shift left
        // past the leading zeros, but keep the exponent field ≥ 1 (below, the result is subnormal).
        let carry = sumStage[width]
        let low = sumStage.bits(width - 1, 0)
        let leadingZeros = m.leadingZeros(low, name: "lzc")
        let room = m.wire("left_shift_room", .uint(8), default: exponent -% 1)
        let leftShift = m.wire("left_shift", .uint(8),
                               default: mux(room < leadingZeros.extended(to: 8), room, leadingZeros.extended(to: 8)))
        let normalized = m.wire("normalized", .uint(width),
                                default: mux(carry, cat(sumStage.bits(width, 2), sumStage[1] || sumStage[0]), low << leftShift))
        // As in FloatMultiply, the field holds exponent − 1 and the hidden bit adds the one back
        // (a subnormal has no hidden bit and keeps field 0); rounding carries ripple into it.
        let exponentMinusOne = m.wire("exponent_minus_one", .uint(9),
                                      default: mux(carry, exponent.extended(to: 9), room.extended(to: 9) -% leftShift.extended(to: 9)))
        let significand = normalized.bits(width - 1, 3)
        let guardBit = normalized[2]
        let sticky = normalized[1] || normalized[0]
        let roundUp = guardBit && (sticky || normalized[3])   // ties to an even significand
        let magnitudeBits = m.wire("magnitude_bits", .uint(32),
                                   default: cat(exponentMinusOne, Signal.literal(0, .uint(23))) +% significand +% roundUp)
        let overflows = magnitudeBits >= Signal.literal(0x7F80_0000, .uint(32))

        let result = m.wire("result", .uint(32), default: cat(sign, magnitudeBits.bits(30, 0)))
        m.when(notANumberStage) {
            result.set(Signal.literal(0x7FC0_0000, .uint(32)))
        }.elsewhen(infiniteStage || overflows) {
            result.set(cat(sign, Signal.literal(0x7F80_0000, .uint(31))))
        }.elsewhen(sumStage === 0) {
            result.set(cat(zeroSignStage, Signal.literal(0, .uint(31))))
        }
        io.sum.set(latency >= 2 ? m.delay(result, name: "result_reg") : result)
    }
}
