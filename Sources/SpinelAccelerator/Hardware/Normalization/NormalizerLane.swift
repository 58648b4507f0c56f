import SpinelHDL

/// One of the normalizer's DIM lanes: everything it computes on its own element (the requantizer,
/// the deviation from the row's center and its square, i-exp, I-GELU, the LayerNorm product and
/// rounding shift — these four on two multipliers the row's kind shares out — the affine γ and
/// β, the output's ReLU) and the lane's
/// parameter registers (γ, β, M, the lane scale). `Normalizer` keeps what the lanes share: the
/// row statistics, the sums and the maximum across lanes, the sequential computations, the
/// CONFIG_NORM constants and the decode of the row's activation.
///
/// The output's ACC_SCALE is not here: the lane hands its value and scale out
/// (`scaleValue`, `scaleFactor`) to the store controller's `ScaleUnit` of its column and takes the
/// result back (`scaled`); those units serve plain rows otherwise, never in the same cycle.
///
/// All lanes are one module so that a hierarchical synthesis builds the lane once (the
/// normalizer's area, docs/PERFORMANCE.md). Combinational: the lane adds no cycle.
///
/// With fewer lanes than columns (`normalizerLanes` < DIM) a lane serves a different column in
/// each cycle of a row, so the parameter registers are the columns', in `Normalizer`, and come
/// in through `affineParameters` and `numericsParameters` (`parametersOutside`).
struct NormalizerLane: Module {
    let parameters: AcceleratorParameters
    /// γ, β, M and the lane scale come in as inputs instead of living in the lane.
    let parametersOutside: Bool

    init(_ parameters: AcceleratorParameters) {
        self.parameters = parameters
        parametersOutside = parameters.normalizerLanes < parameters.dim
    }

    var name: String { "NormalizerLane_\(parameters.name)" }

    /// The affine LayerNorm's row control (with `hasAffineLayerNorm`).
    @Bundle
    struct AffineControl: Aggregate {
        /// The row is an affine LayerNorm output row.
        var selected: Signal
        /// A LOAD_AFFINE row: γ (row 0) or β (others) from the lane's column.
        @Name("load_gamma") var loadGamma: Signal
        @Name("load_beta") var loadBeta: Signal
    }

    /// The numerics extensions' row control and constants (with `hasNumericsExtensions`).
    @Bundle
    struct NumericsControl: Aggregate {
        /// CONFIG_ST's requantizer shift K (0: off).
        @Name("requantizer_shift") var requantizerShift: Signal
        /// Activation 0 or 1: the requantized value, scaled.
        @Name("plain_row") var plainRow: Signal
        /// Activation 1: ReLU after the saturation.
        @Name("relu_row") var reluRow: Signal
        /// The output scales with the lane's scale register instead of `scale`.
        @Name("lane_scaled") var laneScaled: Signal
        /// A LOAD_REQUANT row, and a LOAD_LANE_SCALES row whose scales are all finite.
        @Name("load_multiplier") var loadMultiplier: Signal
        @Name("load_lane_scale") var loadLaneScale: Signal
        /// The two-segment I-GELU: selected (activation 7) and its CONFIG_NORM constants.
        @Name("two_segment_row") var twoSegmentRow: Signal
        var qb1: Signal, qc1: Signal, qb2: Signal, qc2: Signal, qt: Signal, q1: Signal
    }

    /// A column's γ and β, from `Normalizer` (with the affine LayerNorm and `parametersOutside`).
    @Bundle
    struct AffineParameters: Aggregate {
        var gamma: Signal
        var beta: Signal
    }

    /// A column's requantizer M and scale, from `Normalizer` (with the numerics extensions and
    /// `parametersOutside`).
    @Bundle
    struct NumericsParameters: Aggregate {
        var multiplier: Signal
        @Name("lane_scale") var laneScale: Signal
    }

    @Bundle
    struct IO: Aggregate {
        /// The lane's accType element as it arrived.
        @Input var raw: Signal
        /// The lane is among the row's columns.
        @Input var active: Signal
        /// The row's center (mean or maximum).
        @Input var center: Signal
        /// CONFIG_NORM's constants (SInt(32) each).
        @Input var qln2: Signal
        @Input("qln2_inv") var qln2Inverse: Signal
        @Input var qb: Signal
        @Input var qc: Signal
        /// LayerNorm's reciprocal and shift, from the row's statistics result.
        @Input var inverse: Signal
        @Input var shift: Signal
        /// The row is a LayerNorm output row (plain or affine).
        @Input("layernorm_row") var layerNormRow: Signal
        /// The row is a Softmax output row (either kind): the exponential, scaled.
        @Input("exponential_row") var exponentialRow: Signal
        /// The row is a statistics pass that sums squared deviations (VARIANCE, INV_STDDEV) or
        /// exponentials (SUM_EXP, INV_SUM_EXP): what the shared multipliers compute for `square`
        /// and `exponential` (other rows leave those outputs meaningless).
        @Input("variance_pass") var variancePass: Signal
        @Input("exponential_pass") var exponentialPass: Signal
        /// The row's scale (binary32 bits) unless `laneScaled`.
        @Input var scale: Signal
        /// One element with the affine LayerNorm, none without.
        @Input var affine: [AffineControl]
        /// One element with the numerics extensions, none without.
        @Input var numerics: [NumericsControl]
        /// The column's parameters when they live outside the lane (`parametersOutside`; their
        /// load controls above are then unused).
        @Input("affine_parameters") var affineParameters: [AffineParameters]
        @Input("numerics_parameters") var numericsParameters: [NumericsParameters]
        /// The element after the requantizer: what the row's sums and maximum read.
        @Output var value: Signal
        /// Its deviation from `center`, squared (meaningful in a variance pass).
        @Output var square: Signal
        /// i-exp of the deviation (meaningful in a Softmax row or an exponential pass).
        @Output var exponential: Signal
        /// The output pass's value before its scale (SInt(`Normalizer.scaledValueBits`)) and the scale
        /// (binary32 bits), for the store controller's `ScaleUnit` of this lane.
        @Output("scale_value") var scaleValue: Signal
        @Output("scale_factor") var scaleFactor: Signal
        /// That unit's inputType result.
        @Input var scaled: Signal
        /// The output pass's inputType result.
        @Output var result: Signal
    }

    var io: IO {
        let config = parameters.config
        let accBits = config.accType.width
        let s32 = { Signal(.sint(32)) }
        let affine = config.hasAffineLayerNorm
            ? [AffineControl(selected: Signal(.bool), loadGamma: Signal(.bool), loadBeta: Signal(.bool))] : []
        let numerics = config.hasNumericsExtensions
            ? [NumericsControl(requantizerShift: Signal(.uint(NumericsExtensions.requantizerShiftBits)), plainRow: Signal(.bool),
                               reluRow: Signal(.bool), laneScaled: Signal(.bool), loadMultiplier: Signal(.bool), loadLaneScale: Signal(.bool),
                               twoSegmentRow: Signal(.bool), qb1: s32(), qc1: s32(), qb2: s32(), qc2: s32(), qt: s32(), q1: s32())] : []
        return IO(raw: Signal(.sint(accBits)), active: Signal(.bool), center: Signal(.sint(accBits)),
                  qln2: s32(), qln2Inverse: s32(), qb: s32(), qc: s32(),
                  inverse: Signal(.uint(LayerNormFormat.reciprocalBits)), shift: Signal(.uint(Normalizer.shiftBits)),
                  layerNormRow: Signal(.bool), exponentialRow: Signal(.bool), variancePass: Signal(.bool), exponentialPass: Signal(.bool), scale: Signal(.uint(32)),
                  affine: affine, numerics: numerics,
                  affineParameters: parametersOutside && config.hasAffineLayerNorm
                    ? [AffineParameters(gamma: Signal(.sint(LayerNormFormat.gammaBits)), beta: Signal(.sint(accBits)))] : [],
                  numericsParameters: parametersOutside && config.hasNumericsExtensions
                    ? [NumericsParameters(multiplier: Signal(.uint(NumericsExtensions.multiplierBits)), laneScale: Signal(.uint(32)))] : [],
                  value: Signal(.sint(accBits)), square: Signal(.uint(2 * (accBits + 1))), exponential: Signal(.sint(accBits)),
                  scaleValue: Signal(.sint(Normalizer.scaledValueBits(config))), scaleFactor: Signal(.uint(32)),
                  scaled: Signal(.sint(config.inputType.width)), result: Signal(.sint(config.inputType.width)))
    }

    func build(_ m: ModuleBuilder, _ io: IO) {
        let config = parameters.config
        let accBits = config.accType.width, inputBits = config.inputType.width
        let affine = io.affine.first, numerics = io.numerics.first
        // A parameter row's value: the raw element, 0 beyond the row's columns.
        let parameterValue = mux(io.active, io.raw, Signal.literal(0, .sint(accBits)))

        // MARK: Requantizer (CONFIG_ST's K, LOAD_REQUANT's M): x' = sat(RRS(x·M, K))
        let multiplierBits = NumericsExtensions.multiplierBits
        var value = io.raw
        var laneScale: Signal?
        if let numerics {
            let multiplier: Signal, scaleRegister: Signal
            if let outside = io.numericsParameters.first {
                multiplier = outside.multiplier
                scaleRegister = outside.laneScale
            } else {
                // M saturated into [0, 2^16 − 1]; the lane scale as fp32 bits.
                multiplier = m.register("requant_m", .uint(multiplierBits), reset: 1)
                scaleRegister = m.register("lane_scale", .uint(32), reset: Signal.literal(0x3F80_0000, .uint(32)))
                m.when(numerics.loadMultiplier) { multiplier.set(Self.multiplier(from: parameterValue)) }
                m.when(numerics.loadLaneScale) { scaleRegister.set(parameterValue.asUInt) }
            }
            let product = io.raw * multiplier.extended(to: multiplierBits + 1).asSInt
            let shifted = roundingRightShift(product, by: numerics.requantizerShift)
            value = m.wire("requantized", .sint(accBits), default: mux(numerics.requantizerShift === 0, io.raw, saturate(shifted, to: accBits)))
            laneScale = scaleRegister
        }
        io.value.set(value)

        // MARK: Shared multipliers
        // A row needs at most one of the deviation's square (a variance pass), i-exp (a Softmax
        // row or pass), the LayerNorm product (a LayerNorm output row) and I-GELU (the rest), so
        // two multipliers serve them all: `first` (SInt(33) × SInt(33), exact) makes the square,
        // i-exp's z, the LayerNorm product or I-GELU's square; `second` (UInt(32) × UInt(32), low
        // half) i-exp's square or I-GELU's product. Only the selected outputs are meaningful.
        // (With 32-bit accumulators, operandBits is 33.)
        let deviation = m.wire("deviation", .sint(accBits + 1), default: value.extended(to: accBits + 1) -% io.center.extended(to: accBits + 1))
        let operandBits = max(accBits + 1, IntegerExponential.zFactorBits)
        let first = m.wire("first_product", .sint(2 * operandBits))
        let second = m.wire("second_product", .uint(accBits))
        let squaring = io.variancePass
        let exponentiating = m.wire("exponentiating", .bool, default: !squaring && (io.exponentialPass || io.exponentialRow))
        let normalizing = !squaring && !exponentiating && io.layerNormRow
        let geluSelected = m.wire("gelu_selected", .bool, default: !squaring && !exponentiating && !io.layerNormRow)

        // MARK: Statistics terms
        io.square.set(first.asUInt.truncated(to: 2 * (accBits + 1)))
        let iexp = m.iexp(deviation, qln2: io.qln2, qb: io.qb, qc: io.qc, bits: accBits, name: "iexp", product: first, square: second)
        let exponential = m.wire("exp", .sint(accBits), default: iexp.result)
        io.exponential.set(exponential)

        // MARK: Output
        // LayerNorm: n = RRS((x − mean)·inv, shift), F fractional bits; the affine LayerNorm then
        // z = sat(RRS(n·γ, 12) + β).
        let normalizedBits = Normalizer.normalizedBits(config)
        let valueBits = Normalizer.scaledValueBits(config)
        let product = m.wire("layernorm_product", .sint(accBits + 1 + LayerNormFormat.reciprocalBits + 1),
                             default: first.truncated(to: accBits + 1 + LayerNormFormat.reciprocalBits + 1))
        let n = m.wire("layernorm_n", .sint(normalizedBits), default: roundingRightShift(product, by: io.shift).resized(to: normalizedBits))
        var normalized = n.resized(to: valueBits)
        if let affine {
            // γ is signed Q.12 in 18 bits (1.0 after reset); a wider accumulator value saturates.
            let gamma: Signal, beta: Signal
            if let outside = io.affineParameters.first {
                gamma = outside.gamma
                beta = outside.beta
            } else {
                gamma = m.register("gamma", .sint(LayerNormFormat.gammaBits), reset: Self.gammaReset)
                beta = m.register("beta", .sint(accBits), reset: 0)
                m.when(affine.loadGamma) { gamma.set(saturate(parameterValue, to: LayerNormFormat.gammaBits)) }
                m.when(affine.loadBeta) { beta.set(parameterValue) }
            }
            let gained = roundingRightShift(n * gamma, by: LayerNormFormat.gammaFractionBits)
            let z = m.wire("affine_z", .sint(accBits), default: saturate(gained +& beta.extended(to: gained.width), to: accBits))
            normalized = mux(affine.selected, z.extended(to: valueBits), normalized)
        }
        let geluSegments = numerics.map {
            TwoSegmentGELUSignals(selected: $0.twoSegmentRow, qb1: $0.qb1, qc1: $0.qc1, qb2: $0.qb2, qc2: $0.qc2, qt: $0.qt, q1: $0.q1)
        }
        let gelu = m.igelu(value, qb: io.qb, qc: io.qc, bits: accBits, name: "igelu", square: first.truncated(to: accBits).asUInt, product: second, twoSegment: geluSegments)
        let wideDeviation = deviation.extended(to: operandBits)
        first.set(mux(geluSelected, gelu.base.extended(to: operandBits).asSInt, wideDeviation)
                  * mux(squaring, wideDeviation, mux(exponentiating, IntegerExponential.zFactor(qln2Inverse: io.qln2Inverse).extended(to: operandBits),
                                                 mux(normalizing, io.inverse.extended(to: operandBits).asSInt, gelu.base.extended(to: operandBits).asSInt))))
        second.set((mux(exponentiating, iexp.base, value.asUInt) * mux(exponentiating, iexp.base, gelu.factor)).truncated(to: accBits))
        var immediate = mux(io.exponentialRow, exponential, gelu.result)
        var scale = io.scale
        if let numerics, let laneScale {
            immediate = mux(numerics.plainRow, value, immediate)
            scale = mux(numerics.laneScaled, laneScale, io.scale)
        }
        // The scale unit is the store controller's for this column (it has one per column for
        // plain rows, idle while the lane works).
        io.scaleValue.set(mux(io.layerNormRow, normalized, immediate.extended(to: valueBits)))
        io.scaleFactor.set(scale)
        guard let numerics else { return io.result.set(io.scaled) }
        // ReLU after the saturation, as the store controller's plain path applies it.
        io.result.set(m.wire("out", .sint(inputBits), default: mux(numerics.reluRow && io.scaled < Signal.literal(0, .sint(inputBits)),
                                                                   Signal.literal(0, .sint(inputBits)), io.scaled)))
    }
}

extension NormalizerLane {
    /// γ after reset: 1.0 in Q.12.
    static var gammaReset: Signal { Signal.literal(1 << LayerNormFormat.gammaFractionBits, .sint(LayerNormFormat.gammaBits)) }

    /// LOAD_REQUANT's M from an accType value: saturated into [0, 2^16 − 1].
    static func multiplier(from value: Signal) -> Signal {
        let bits = NumericsExtensions.multiplierBits, accBits = value.width
        let high = Signal.literal((BigInteger(1) << bits) - 1, .sint(accBits))
        return mux(value < Signal.literal(0, .sint(accBits)), Signal.literal(0, .uint(bits)),
                   mux(value > high, high.asUInt.truncated(to: bits), value.asUInt.truncated(to: bits)))
    }
}
