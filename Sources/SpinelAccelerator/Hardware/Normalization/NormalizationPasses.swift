import SpinelHDL

extension NormalizationCommand {
    /// Whether the 3-bit `command` is one that `finishes`, as logic.
    static func finishes(_ command: Signal) -> Signal {
        allCases.filter(\.finishes).map { command === Signal($0.rawValue) }.reduce(Signal(false)) { $0 || $1 }
    }

    /// `accumulating` of the 3-bit `command`, as logic.
    static func accumulating(_ command: Signal) -> Signal {
        allCases.filter { $0.accumulating != $0 }.reduce(command) { result, finishing in
            mux(command === Signal(finishing.rawValue),
                Signal.literal(finishing.accumulating.rawValue, .uint(command.width)), result)
        }
    }
}

/// A statistics pass on one row, as logic: whether `command` may run on a row in `state`, the
/// state after it, and whether it continues the row's running pass (otherwise it starts one).
struct NormalizationTransition {
    var allowed: Signal
    var next: Signal
    var continues: Signal

    /// `command` is a pass command (1 to 7); for 0 the result is meaningless.
    init(state: Signal, command: Signal) {
        func literal(_ value: NormalizationRowState) -> Signal {
            Signal.literal(value.rawValue, .uint(NormalizationRowState.bits))
        }
        func isCommand(_ value: NormalizationCommand) -> Signal { command === Signal(value.rawValue) }
        let hasMean = state === literal(.meanReady) || state === literal(.variance)
        let hasMaximum = state === literal(.maximum) || state === literal(.sumOfExponentials)
        let secondLayerNormPass = isCommand(.variance) || isCommand(.inverseStandardDeviation)
        let secondSoftmaxPass = isCommand(.sumOfExponentials) || isCommand(.inverseSumOfExponentials)
        allowed = mux(secondLayerNormPass, hasMean, mux(secondSoftmaxPass, hasMaximum, Signal(true)))
        // Commands 1 … 7 lead to states 1 … 7: each command names the state it leaves.
        next = command
        let running = mux(isCommand(.sum) || isCommand(.mean), literal(.sum),
                          mux(secondLayerNormPass, literal(.variance),
                              mux(isCommand(.maximum), literal(.maximum), literal(.sumOfExponentials))))
        continues = state === running
    }

    /// Whether an output pass with store activation `activation` may read a row in `state`:
    /// LayerNorm (and the affine LayerNorm, 6) needs finished LayerNorm statistics, Softmax
    /// (and Softmax relative to the maximum, 5) finished Softmax ones; other activations need
    /// none (the dispatcher refuses 5 without the numerics extensions before this matters).
    static func outputAllowed(state: Signal, activation: Signal) -> Signal {
        let layerNorm = activation === Signal(Activation.layerNorm.rawValue) || activation === Signal(Activation.affineLayerNorm.rawValue)
        let softmax = activation === Signal(Activation.softmax.rawValue) || activation === Signal(Activation.softmaxRelativeToMaximum.rawValue)
        let ready = { (value: NormalizationRowState) in
            state === Signal.literal(value.rawValue, .uint(NormalizationRowState.bits))
        }
        return mux(layerNorm, ready(.layerNormReady), mux(softmax, ready(.softmaxReady), Signal(true)))
    }
}

/// The two-segment I-GELU's CONFIG_NORM constants (SInt(32) each) and whether the row uses it.
struct TwoSegmentGELUSignals {
    var selected: Signal
    var qb1: Signal, qc1: Signal, qb2: Signal, qc2: Signal, qt: Signal, q1: Signal
}

/// docs/NUMERICS.md's I-GELU of one accType value, split around its two multiplies, which the
/// caller makes (the lane shares its multipliers between the passes, `NormalizerLane`).
struct IntegerGELU {
    /// The polynomial's base `clip + qb` (UInt(bits)), the operand of `square`.
    var base: Signal
    /// `erf + qc` (UInt(bits)): `product` multiplies it by the low bits of `q`.
    var factor: Signal
    /// I-GELU(q), SInt(bits).
    var result: Signal
}

/// docs/NUMERICS.md's integer exponential of one deviation, split around its two multiplies.
struct IntegerExponential {
    /// The polynomial's base `q + z·qln2 + qb` (UInt(bits)), the operand of `square`.
    var base: Signal
    /// i-exp(q), SInt(bits).
    var result: Signal

    /// The factor `−qln2_inv` (SInt(zFactorBits), exact) whose product with `q` gives `z`'s
    /// bits above 16 fractional ones.
    static func zFactor(qln2Inverse: Signal) -> Signal { qln2Inverse.resized(to: zFactorBits).negated }
    /// Bits of `−qln2_inv`: the 32-bit constant's negation needs one more.
    static let zFactorBits = 33
}

extension ModuleBuilder {
    /// docs/NUMERICS.md's I-GELU of one accType value `q` (SInt(bits)) with CONFIG_NORM's `qb` and
    /// `qc` (SInt(32)): `|q|`, `−qb` and the clip exact, the polynomial and the product in
    /// `bits`-bit two's-complement arithmetic (`Numerics.igelu`). `square` must carry
    /// `base · base` and `product` `low(q) · factor`, both truncated to UInt(bits), of the
    /// returned `base` and `factor`.
    ///
    /// With `twoSegment` (the numerics extensions) the same datapath computes the two-segment
    /// I-GELU when `selected` (`Numerics.twoSegmentGELU`): the clip at −qb2, the segment's qb and
    /// qc by the exact comparison clip < qt, and q1 in the final sum — muxed constants, no
    /// further multipliers.
    func igelu(_ q: Signal, qb: Signal, qc: Signal, bits: Int, name: String, square: Signal, product: Signal,
               twoSegment: TwoSegmentGELUSignals? = nil) -> IntegerGELU {
        let wide = bits + 2
        let q2 = q.extended(to: wide)
        let magnitude = mux(q < Signal.literal(0, .sint(q.width)), q2.negated, q2)
        let clipConstant = twoSegment.map { mux($0.selected, $0.qb2, qb) } ?? qb
        let negatedQb = clipConstant.resized(to: wide).negated
        let clip = wire("\(name)_clip", .sint(wide), default: mux(magnitude < negatedQb, magnitude, negatedQb))
        var baseConstant = qb, polynomialConstant = qc, finalConstant = qc
        if let t = twoSegment {
            let first = clip < t.qt.resized(to: wide)
            baseConstant = mux(t.selected, mux(first, t.qb1, t.qb2), qb)
            polynomialConstant = mux(t.selected, mux(first, t.qc1, t.qc2), qc)
            finalConstant = mux(t.selected, t.q1, qc)
        }
        func low(_ value: Signal) -> Signal { value.resized(to: bits).asUInt }
        let base = wire("\(name)_base", .uint(bits), default: low(clip) +% low(baseConstant))
        let polynomial = wire("\(name)_poly", .uint(bits), default: square +% low(polynomialConstant))
        let erf = mux(q < Signal.literal(0, .sint(q.width)), Signal.literal(0, .uint(bits)) -% polynomial, polynomial)
        let factor = wire("\(name)_factor", .uint(bits), default: erf +% low(finalConstant))
        return IntegerGELU(base: base, factor: factor, result: product.asSInt)
    }

    /// docs/NUMERICS.md's integer exponential of `q = x − max` (SInt(bits + 1)) with CONFIG_NORM's
    /// constants (SInt(32) each): `z = (−q·qln2_inv) >> 16`, clamped below at 0 (Spinel's
    /// decision for q > 0 or qln2_inv ≤ 0, docs/ACCELERATOR.md), `e = 0` when `z ≥ 32`, else
    /// `((q + z·qln2 + qb)² + qc) >> z` in `bits`-bit arithmetic, the shift arithmetic. SInt(bits).
    /// `product` must carry `q · IntegerExponential.zFactor` (SInt, exact) and `square`
    /// `base · base` truncated to UInt(bits), of the returned `base`.
    func iexp(_ q: Signal, qln2: Signal, qb: Signal, qc: Signal, bits: Int, name: String, product: Signal, square: Signal) -> IntegerExponential {
        let z = wire("\(name)_z", .sint(product.width - 16), default: product >> 16)
        let beyond = wire("\(name)_beyond", .bool, default: z >= Signal.literal(32, .sint(z.width)))
        let shift = wire("\(name)_shift", .uint(5), default: mux(z < Signal.literal(0, .sint(z.width)), Signal.literal(0, .uint(5)), z.truncated(to: 5).asUInt))
        func low(_ value: Signal) -> Signal { value.resized(to: bits).asUInt }
        let base = wire("\(name)_base", .uint(bits), default: low(q) +% (shift * low(qln2)).truncated(to: bits) +% low(qb))
        let polynomial = wire("\(name)_poly", .sint(bits), default: (square +% low(qc)).asSInt)
        return IntegerExponential(base: base, result: mux(beyond, Signal.literal(0, .sint(bits)), polynomial >> shift))
    }
}
