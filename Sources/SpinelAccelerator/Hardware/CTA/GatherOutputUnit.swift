import SpinelHDL
import SpinelISA

/// The arithmetic of CTA_GATHER (docs/CTA-HARDWARE.md, "Gather output unit"): one compressed
/// query row's two store factors, then its normalized output rows.
///
/// From the row's half maxima m1, m2 and denominator D (`ProbabilityQuantizer`'s outputs) and
/// CONFIG_ST's scale s_out, the factors `σ = (fp32(m) ⊘ fp32(127·D)) ⊗ s_out`, 0 when D = 0
/// (`CTANumerics.outputFactor`); then, per lane of each product row,
/// `sat(rne((fp32(a1) ⊗ σ1) ⊕ (fp32(a2) ⊗ σ2)))` (`CTANumerics.normalizedOutput`), a1 and a2 the
/// int32 accumulator products `AP₁·V̄₁` and `AP₂·V̄₂` of the row.
///
/// - `start` (accepted while `busy` is low) captures m1, m2, D and s_out; two `FloatDivider`s
///   (one per half) run in parallel and the factors are valid `factorLatency` cycles later
///   (`factors_valid`), until the next accepted `start`.
/// - `in` takes one row of `lanes` product pairs per cycle while the factors are valid; `out`
///   gives its `lanes` outputs `latency` cycles later (a fixed pipeline, no back-pressure).
///
/// NaN never arises from the CTA's operands except ∞ ⊕ −∞ (factors so large that both products
/// overflow with opposite signs); that sum is the quiet NaN, which `FloatToInt` saturates high.
public struct GatherOutputUnit: Module, Sendable {
    /// Output elements per row (DIM).
    public let lanes: Int
    /// Bits of the unsigned maxima and denominator (`CTAParameters.probabilityAccumulatorBits`).
    public let accumulatorBits: Int
    /// Bits of one output element (the input type's width).
    public let outputBits: Int

    public init(lanes: Int, accumulatorBits: Int, outputBits: Int = 8) {
        precondition(lanes >= 1 && (1...56).contains(accumulatorBits) && (2...32).contains(outputBits), "invalid gather unit shape")
        self.lanes = lanes
        self.accumulatorBits = accumulatorBits
        self.outputBits = outputBits
    }

    /// The unit of a configuration's CTA parameters on an array of `dim` columns.
    public init(_ parameters: CTAParameters, dim: Int, outputBits: Int) {
        self.init(lanes: dim, accumulatorBits: parameters.probabilityAccumulatorBits, outputBits: outputBits)
    }

    public var name: String { "GatherOutputUnit_d\(lanes)_a\(accumulatorBits)_o\(outputBits)" }

    /// Cycles from an accepted `start` to the first cycle with `factors_valid`: the divider's,
    /// then the multiply by s_out into the factor registers.
    public var factorLatency: Int { PipelineTiming.gatherFactorLatency }

    /// Cycles from an `in` beat to its `out` beat: the products (registered), the adder's
    /// alignment and addition (registered), its normalization and the rounding to an integer
    /// (registered).
    public static let latency = PipelineTiming.gatherOutputLatency

    /// One row's product pairs.
    @Bundle
    public struct Products: Aggregate {
        @Name("level_one") public var levelOne: [Signal]
        @Name("level_two") public var levelTwo: [Signal]
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        @Input("maximum_level_one") public var maximumLevelOne: Signal
        @Input("maximum_level_two") public var maximumLevelTwo: Signal
        @Input public var denominator: Signal
        /// s_out, binary32 bits.
        @Input("output_scale") public var outputScale: Signal
        @Output public var busy: Signal
        @Output("factors_valid") public var factorsValid: Signal
        /// σ1 and σ2, binary32 bits, while `factors_valid`.
        @Output("factor_level_one") public var factorLevelOne: Signal
        @Output("factor_level_two") public var factorLevelTwo: Signal
        @Input("in") public var input: Decoupled<Products>
        @Output("out") public var output: Valid<[Signal]>
    }

    public var io: IO {
        IO(start: Signal(.bool), maximumLevelOne: Signal(.uint(accumulatorBits)), maximumLevelTwo: Signal(.uint(accumulatorBits)),
           denominator: Signal(.uint(accumulatorBits)), outputScale: Signal(.uint(32)), busy: Signal(.bool), factorsValid: Signal(.bool),
           factorLevelOne: Signal(.uint(32)), factorLevelTwo: Signal(.uint(32)),
           input: Decoupled(Products(levelOne: (0..<lanes).map { _ in Signal(.sint(32)) }, levelTwo: (0..<lanes).map { _ in Signal(.sint(32)) })),
           output: Valid((0..<lanes).map { _ in Signal(.sint(outputBits)) }))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        // MARK: The factors

        // fp32(127·D): the product is exact in accumulatorBits + 7 bits, then one rounding.
        let scaledDenominator = m.named("scaled_denominator", io.denominator * Signal.literal(127, .uint(7)))
        let denominatorFloat = m.instance("denominator_to_float", IntToFloat(width: accumulatorBits + 8))
        denominatorFloat.value.set(scaledDenominator.extended(to: accumulatorBits + 8).asSInt)

        let dividers = ["level_one", "level_two"].map { m.instance("divider_\($0)", FloatDivider()) }
        let busy = m.named("dividing", dividers[0].busy || dividers[0].done)
        let accept = m.named("accept", io.start && !busy)
        let scale = m.register("output_scale_reg", .uint(32))
        let denominatorZero = m.register("denominator_zero_reg", .bool)
        m.when(accept) {
            scale.set(io.outputScale)
            denominatorZero.set(io.denominator === 0)
        }

        let factorsValid = m.register("factors_valid_reg", .bool, reset: false)
        let factors = zip(["level_one", "level_two"], [io.maximumLevelOne, io.maximumLevelTwo]).enumerated().map { half, pair in
            let (name, maximum) = pair
            let maximumFloat = m.instance("maximum_\(name)_to_float", IntToFloat(width: accumulatorBits + 1))
            maximumFloat.value.set(maximum.extended(to: accumulatorBits + 1).asSInt)
            let divider = dividers[half]
            divider.start.set(accept)
            divider.a.set(maximumFloat.result)
            divider.b.set(denominatorFloat.result)
            let multiply = m.instance("factor_\(name)_multiply", FloatMultiply())
            multiply.a.set(divider.quotient)
            multiply.b.set(scale)
            let factor = m.register("factor_\(name)_reg", .uint(32))
            m.when(divider.done) { factor.set(mux(denominatorZero, Signal.literal(0, .uint(32)), multiply.product)) }
            return factor
        }
        m.when(accept) { factorsValid.set(false) }.elsewhen(dividers[0].done) { factorsValid.set(true) }
        io.busy.set(busy)
        io.factorsValid.set(factorsValid)
        io.factorLevelOne.set(factors[0])
        io.factorLevelTwo.set(factors[1])

        // MARK: The rows

        io.input.ready.set(factorsValid && !io.start)
        let valid = m.delay(io.input.fire, cycles: Self.latency, name: "valid_pipe", reset: false)
        io.output.valid.set(valid)
        for lane in 0..<lanes {
            let products = [io.input.bits.levelOne[lane], io.input.bits.levelTwo[lane]].enumerated().map { half, value -> Signal in
                let toFloat = m.instance("lane\(lane)_level\(half + 1)_to_float", IntToFloat(width: 32))
                toFloat.value.set(value)
                let multiply = m.instance("lane\(lane)_level\(half + 1)_multiply", FloatMultiply())
                multiply.a.set(toFloat.result)
                multiply.b.set(factors[half])
                return m.delay(multiply.product, name: "lane\(lane)_level\(half + 1)_product")
            }
            let adder = m.instance("lane\(lane)_add", FloatAdder(latency: 1))
            adder.a.set(products[0])
            adder.b.set(products[1])
            let toInteger = m.instance("lane\(lane)_to_integer", FloatToInt(width: outputBits))
            toInteger.value.set(adder.sum)
            io.output.bits[lane].set(m.delay(toInteger.result, name: "lane\(lane)_output"))
        }
    }
}
