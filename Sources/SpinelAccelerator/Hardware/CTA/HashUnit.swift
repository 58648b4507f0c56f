import SpinelHDL

/// The hash post-processing of compressed-token attention (docs/CTA-HARDWARE.md, "Hash unit"):
/// per lane, the code `sat_codeBits(((acc + offset) · M) >> K)` of `CTANumerics.hash`
/// (docs/NUMERICS.md, "Hash position") — acc the int32 product of a direction and a token,
/// offset the direction's b_i in accumulator units, 1/w = M · 2^−K. The sum and the product are
/// exact, `>>` floors (arithmetic shift), and the result saturates to the code's width.
///
/// Which accumulator lane holds which direction, and where the codes go, is the caller's: the
/// unit takes one offset per lane. One register stage: `out` follows `in` by one cycle.
public struct HashUnit: Module, Sendable {
    public let lanes: Int
    public let accumulatorBits: Int
    public let offsetBits: Int
    /// Bits of the unsigned multiplier M.
    public let reciprocalBits: Int
    public let codeBits: Int

    public init(lanes: Int, accumulatorBits: Int = 32, offsetBits: Int = 32, reciprocalBits: Int, codeBits: Int) {
        precondition(lanes >= 1 && accumulatorBits >= 2 && offsetBits >= 2 && reciprocalBits >= 1 && codeBits >= 1,
                     "invalid hash unit shape")
        self.lanes = lanes
        self.accumulatorBits = accumulatorBits
        self.offsetBits = offsetBits
        self.reciprocalBits = reciprocalBits
        self.codeBits = codeBits
    }

    public var name: String { "HashUnit_\(lanes)x\(accumulatorBits)_o\(offsetBits)_m\(reciprocalBits)_c\(codeBits)" }

    /// Bits of K: shifts 0…63 (the product has fewer bits, so 63 leaves its sign).
    public static let shiftBits = 6

    @Bundle
    public struct Operands: Aggregate {
        @Name("acc") public var accumulators: [Signal]
        @Name("offset") public var offsets: [Signal]
    }

    @Bundle
    public struct IO: Aggregate {
        @Input("in") public var input: Valid<Operands>
        @Input public var multiplier: Signal
        @Input public var shift: Signal
        @Output("out") public var output: Valid<[Signal]>
    }

    public var io: IO {
        IO(input: Valid(Operands(accumulators: (0..<lanes).map { _ in Signal(.sint(accumulatorBits)) },
                                 offsets: (0..<lanes).map { _ in Signal(.sint(offsetBits)) })),
           multiplier: Signal(.uint(reciprocalBits)), shift: Signal(.uint(Self.shiftBits)),
           output: Valid((0..<lanes).map { _ in Signal(.sint(codeBits)) }))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        // M as a non-negative SInt, so that the product with the signed sum is exact.
        let multiplier = m.named("multiplier_signed", io.multiplier.extended(to: reciprocalBits + 1).asSInt)
        io.output.valid.set(m.delay(io.input.valid, name: "valid", reset: false))
        for lane in 0..<lanes {
            let sum = io.input.bits.accumulators[lane] +& io.input.bits.offsets[lane]
            let product = m.named("product_\(lane)", sum * multiplier)
            let code = saturate(product >> io.shift, to: codeBits)
            io.output.bits[lane].set(m.delay(code, name: "code_\(lane)", enable: io.input.valid))
        }
    }
}
