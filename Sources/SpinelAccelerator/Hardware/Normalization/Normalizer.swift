import SpinelHDL

/// The accumulator read path's normalization unit (docs/ACCELERATOR.md, "Normalization";
/// docs/NUMERICS.md): statistics passes, the I-GELU, LayerNorm and Softmax outputs, and their
/// ACC_SCALE. The store controller hands it the accumulator rows that need it, one at a time.
///
/// Per statistics slot (`normalizationSlots`) and row of DIM: the row's state
/// (`NormalizationRowState`), a *center* (the mean, or the running maximum), a 96-bit running
/// sum (of elements, squared deviations or exponentials), its element count, and a *result*
/// (LayerNorm's reciprocal of std with its shift, or Softmax's factor as binary32 bits).
///
/// Timing (`Normalizer.latency`): a row that only adds to a running pass, and every output row
/// (I-GELU, LayerNorm, the affine LayerNorm, Softmax) are combinational — `result` is valid in
/// the cycle the row arrives. A finishing pass row (MEAN, INV_STDDEV, INV_SUM_EXP) takes a
/// sequential computation; `busy` is high until `result` pulses, and the caller sends no other
/// row meanwhile. INV_STDDEV makes LayerNorm's one division per row there (the reciprocal), so
/// its output pass multiplies and shifts.
public struct Normalizer: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "Normalizer_\(parameters.name)" }

    /// Width of the running sums.
    public static let runningBits = 96

    /// Cycles from a row's arrival to its `result` (0: the same cycle).
    public static func latency(command: NormalizationCommand, activation: Int, parameters: AcceleratorParameters) -> Int {
        switch command {
        case .mean: return SequentialDivider(dividendBits: runningBits, divisorBits: 32).latency
        case .inverseStandardDeviation:
            // The variance, its root, then the reciprocal 2^(e+23) / std in the same divider.
            let divider = SequentialDivider(dividendBits: runningBits, divisorBits: 32).latency
            return divider + SequentialSquareRoot(bits: 64).latency + divider
        case .inverseSumOfExponentials: return FloatDivider().latency
        default: return 0
        }
    }

    /// Bits of LayerNorm's normalized value n = RRS((x − mean)·inv, e + 23 − F): |x − mean| ≤
    /// 2^accBits, inv ≤ 2^24 and the shift is at least 24 − F (e ≥ 1), so |n| ≤ 2^(accBits + F)
    /// (rounding included), a sign bit above.
    static func normalizedBits(_ config: AcceleratorConfig) -> Int {
        config.accType.width + LayerNormFormat.fractionBits + 2
    }

    /// A LayerNorm statistics row's `result`: the reciprocal in the low `reciprocalBits`, the
    /// shift e + 23 − F (at most 55 − F) above it.
    static let shiftBits = 6

    public struct Row: Aggregate {
        /// DIM accType elements, lane 0 in the low bits.
        public var data: Signal
        public var columns: Signal
        /// The row within the mvout: the statistics row it uses.
        public var row: Signal
        public var command: Signal
        /// The store activation (MSB · 4 + CONFIG_ST's).
        public var activation: Signal
        /// CONFIG_ST's scale (binary32 bits).
        public var scale: Signal
        /// A LOAD_AFFINE row (row 0: γ, row 1: β); meaningful only with `hasAffineLayerNorm`.
        public var parameters: Signal

        public func map(_ f: FieldMapper) -> Row {
            Row(data: f("data", data), columns: f("columns", columns), row: f("row", row), command: f("command", command),
                activation: f("activation", activation), scale: f("scale", scale), parameters: f("parameters", parameters))
        }
    }

    public struct IO: Aggregate {
        /// A CONFIG_NORM (rs1, rs2) the store controller took.
        public var configure: Valid<RoCCCommand>
        public var row: Valid<Row>
        /// DIM inputType results (meaningless for statistics passes).
        public var result: Valid<Signal>
        public var busy: Signal
        /// CONFIG_NORM's activation MSB.
        public var activationHigh: Signal

        public func map(_ f: FieldMapper) -> IO {
            IO(configure: f.input("configure", configure), row: f.input("row", row), result: f.output("result", result),
               busy: f.output("busy", busy), activationHigh: f.output("activation_high", activationHigh))
        }
    }

    public var io: IO {
        let dim = parameters.dim, accBits = parameters.config.accType.width
        return IO(configure: Valid(RoCCCommand()),
                  row: Valid(Row(data: Signal(.uint(dim * accBits)), columns: Signal(.uint(16)), row: Signal(.uint(Self.rowBits(dim))),
                                 command: Signal(.uint(3)), activation: Signal(.uint(3)), scale: Signal(.uint(32)),
                                 parameters: Signal(.bool))),
                  result: Valid(Signal(.uint(dim * parameters.config.inputType.width))), busy: Signal(.bool), activationHigh: Signal(.bool))
    }

    static func rowBits(_ dim: Int) -> Int { max(1, HWType.addressWidth(for: dim)) }

    enum Phase: Int { case idle, divide, root, reciprocal, floatDivide }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let config = parameters.config
        let dim = parameters.dim, accBits = config.accType.width, inputBits = config.inputType.width
        let slots = config.normalizationSlots
        let runningBits = Self.runningBits
        let s32 = HWType.sint(32)

        // MARK: CONFIG_NORM
        let slotBits = max(1, HWType.addressWidth(for: slots))
        let slot = m.register("slot", .uint(slotBits), reset: 0)
        let activationHigh = m.register("softmax_msb", .bool, reset: false)
        let qln2 = m.register("qln2", s32, reset: 0), qln2Inverse = m.register("qln2_inv", s32, reset: 0)
        let qb = m.register("qb", s32, reset: 0), qc = m.register("qc", s32, reset: 0)
        let configure = io.configure.bits
        m.when(io.configure.valid) {
            slot.set(configure.rs1.bits(8 + slotBits - 1, 8))
            m.when(!configure.rs1[17]) {
                activationHigh.set(configure.rs1[16])
                m.when(configure.rs1[18]) { qln2Inverse.set(configure.rs1.bits(63, 32).asSInt) }
                    .otherwise { qln2.set(configure.rs1.bits(63, 32).asSInt) }
                qb.set(configure.rs2.bits(31, 0).asSInt)
                qc.set(configure.rs2.bits(63, 32).asSInt)
            }
        }
        io.activationHigh.set(activationHigh)

        // MARK: Statistics
        let entries = slots * dim
        let state = (0..<entries).map { m.register("state_\($0)", .uint(NormalizationRowState.bits), reset: 0) }
        let center = (0..<entries).map { m.register("center_\($0)", .sint(accBits), reset: 0) }
        let running = (0..<entries).map { m.register("running_\($0)", .uint(runningBits), reset: 0) }
        let count = (0..<entries).map { m.register("count_\($0)", .uint(32), reset: 0) }
        let result = (0..<entries).map { m.register("result_\($0)", .uint(32), reset: 0) }
        let row = io.row.bits
        let rowBits = Self.rowBits(dim)
        let entry = m.wire("entry", .uint(slotBits + rowBits), default: cat(slot, row.row))
        let rowState = m.wire("row_state", .uint(NormalizationRowState.bits), default: select(state, at: entry))
        let rowCenter = m.wire("row_center", .sint(accBits), default: select(center, at: entry))
        let rowRunning = m.wire("row_running", .uint(runningBits), default: select(running, at: entry))
        let rowCount = m.wire("row_count", .uint(32), default: select(count, at: entry))
        let rowResult = m.wire("row_result", .uint(32), default: select(result, at: entry))

        // MARK: Lanes
        let lanes = (0..<dim).map { row.data.bits((($0 + 1) * accBits) - 1, $0 * accBits).asSInt }
        let active = (0..<dim).map { row.columns > Signal(BigInteger($0)) }
        let deviation = lanes.enumerated().map { lane, x in
            m.wire("deviation_\(lane)", .sint(accBits + 1), default: x.extended(to: accBits + 1) -% rowCenter.extended(to: accBits + 1))
        }
        let exponential = deviation.enumerated().map { lane, q in
            m.wire("exp_\(lane)", .sint(accBits), default: m.iexp(q, qln2: qln2, qln2Inverse: qln2Inverse, qb: qb, qc: qc, bits: accBits, name: "iexp_\(lane)"))
        }
        /// The active lanes' terms, added at `type`'s width.
        func sum(_ terms: [Signal], as type: HWType) -> Signal {
            let zero = Signal.literal(0, type)
            return terms.enumerated().map { lane, term in mux(active[lane], term.resized(to: type.width), zero) }.reduce(zero) { $0 +% $1 }
        }
        let elementSum = m.wire("element_sum", .sint(runningBits), default: sum(lanes, as: .sint(runningBits)))
        let squares = deviation.map { ($0 * $0).asUInt }
        let squareSum = m.wire("square_sum", .uint(runningBits), default: sum(squares, as: .uint(runningBits)))
        let exponentialSum = m.wire("exponential_sum", .sint(runningBits), default: sum(exponential, as: .sint(runningBits)))
        // The running maximum over the lanes, one named wire per lane (each step reads the last twice).
        let maximum = lanes.enumerated().dropFirst().reduce(lanes[0]) { best, item in
            m.wire("maximum_\(item.offset)", .sint(accBits), default: mux(active[item.offset] && item.element > best, item.element, best))
        }

        // MARK: A pass row
        let command = row.command
        func isCommand(_ value: NormalizationCommand) -> Signal { command === Signal(BigInteger(value.rawValue)) }
        let transition = NormalizationTransition(state: rowState, command: command)
        let isPass = command =/= 0
        let passRow = io.row.valid && isPass
        let base = mux(transition.continues, rowRunning, Signal.literal(0, .uint(runningBits)))
        let layerNormPass = isCommand(.variance) || isCommand(.inverseStandardDeviation)
        let softmaxPass = isCommand(.sumOfExponentials) || isCommand(.inverseSumOfExponentials)
        let added = mux(layerNormPass, squareSum, mux(softmaxPass, exponentialSum.asUInt, elementSum.asUInt))
        let newRunning = m.wire("new_running", .uint(runningBits), default: base +% added)
        let newCount = m.wire("new_count", .uint(32), default: mux(transition.continues, rowCount, Signal.literal(0, .uint(32))) +% row.columns.extended(to: 32))
        let newMaximum = m.wire("new_maximum", .sint(accBits), default: mux(transition.continues && maximum < rowCenter, rowCenter, maximum))
        for index in 0..<entries {
            m.when(passRow && entry === Signal(BigInteger(index))) {
                state[index].set(transition.next)
                m.when(isCommand(.maximum)) { center[index].set(newMaximum) }
                    .otherwise {
                        running[index].set(newRunning)
                        count[index].set(newCount)
                    }
            }
        }

        // MARK: Sequential computations
        let phase = m.register("phase", .uint(3), reset: 0)
        func inPhase(_ p: Phase) -> Signal { phase === Signal(BigInteger(p.rawValue)) }
        func go(_ p: Phase) { phase.set(Signal.literal(BigInteger(p.rawValue), .uint(3))) }
        let target = m.register("target", .uint(slotBits + rowBits), reset: 0)
        let finishing = m.register("finishing", .uint(3), reset: 0)
        let negative = m.register("negative", .bool, reset: false)
        let divider = m.instance("divider", SequentialDivider(dividendBits: runningBits, divisorBits: 32))
        let root = m.instance("square_root", SequentialSquareRoot(bits: 64))
        let toFloat = m.instance("sum_to_float", IntToFloat(width: 64))
        let floatDivider = m.instance("float_divider", FloatDivider())
        let runningSum = newRunning.asSInt
        let sumNegative = runningSum < Signal.literal(0, .sint(runningBits))
        // MEAN: |sum| / count; INV_STDDEV: Σ squares / count (then the root), and when the root
        // is there 2^(e+23) / std, e = bits(std).
        let rootDone = inPhase(.root) && root.done
        let variance = m.register("variance", .uint(64), reset: 0)
        let standardDeviation = m.wire("standard_deviation", .uint(32),
                                       default: mux(variance === 0, Signal.literal(1, .uint(32)), root.root))
        let stdBits = (0..<32).reduce(Signal.literal(0, .uint(Self.shiftBits))) { e, bit in
            mux(standardDeviation[bit], Signal.literal(BigInteger(bit + 1), .uint(Self.shiftBits)), e)
        }
        let reciprocalExponent = m.wire("reciprocal_exponent", .uint(7), default: stdBits.extended(to: 7) +% Signal.literal(23, .uint(7)))
        let heldDeviation = m.register("held_deviation", .uint(32), reset: 1)
        let heldShift = m.register("held_shift", .uint(Self.shiftBits), reset: 0)
        divider.start.set(passRow && (isCommand(.mean) || isCommand(.inverseStandardDeviation)) || rootDone)
        divider.dividend.set(mux(rootDone, Signal.literal(1, .uint(runningBits)) << reciprocalExponent,
                                 mux(isCommand(.mean) && sumNegative, runningSum.negated.asUInt, newRunning)))
        divider.divisor.set(mux(rootDone, standardDeviation, newCount))
        toFloat.value.set(newRunning.truncated(to: 64).asSInt)
        // INV_SUM_EXP: fp32(127) ⊘ fp32(sum), started in the row's cycle.
        floatDivider.start.set(passRow && isCommand(.inverseSumOfExponentials))
        floatDivider.a.set(Signal.literal(0x42FE_0000, .uint(32)))  // 127.0
        floatDivider.b.set(toFloat.result)
        let sumIsZero = m.register("sum_is_zero", .bool, reset: false)
        // INV_STDDEV: the root of the variance, started when the division ends.
        root.start.set(m.wire("root_begin", .bool, default: inPhase(.divide) && divider.done
                                && finishing === Signal(BigInteger(NormalizationCommand.inverseStandardDeviation.rawValue))))
        root.value.set(divider.quotient.truncated(to: 64))

        let done = m.wire("done", .bool, default: false)
        let finishingCommand = passRow && NormalizationCommand.finishes(command)
        m.when(finishingCommand) {
            target.set(entry)
            finishing.set(command)
            negative.set(sumNegative)
            m.when(isCommand(.inverseSumOfExponentials)) {
                sumIsZero.set(newRunning.truncated(to: 64) === 0)
                go(.floatDivide)
            }.otherwise { go(.divide) }
        }
        m.when(inPhase(.divide) && divider.done) {
            m.when(finishing === Signal(BigInteger(NormalizationCommand.mean.rawValue))) {
                let quotient = divider.quotient.truncated(to: accBits).asSInt
                for index in 0..<entries {
                    m.when(target === Signal(BigInteger(index))) { center[index].set(mux(negative, quotient.negated, quotient)) }
                }
                done.set(true)
                go(.idle)
            }.otherwise {
                variance.set(divider.quotient.truncated(to: 64))
                go(.root)
            }
        }
        m.when(rootDone) {
            heldDeviation.set(standardDeviation)
            heldShift.set((reciprocalExponent -% Signal.literal(BigInteger(LayerNormFormat.fractionBits), .uint(7))).truncated(to: Self.shiftBits))
            go(.reciprocal)
        }
        m.when(inPhase(.reciprocal) && divider.done) {
            // rne(2^(e+23) / std): never a tie (std would be a power of two, which divides exactly).
            let twice = divider.remainder.extended(to: 33) << 1
            let up = twice > heldDeviation.extended(to: 34)
            let inverse = divider.quotient.truncated(to: LayerNormFormat.reciprocalBits)
                +% mux(up, Signal.literal(1, .uint(LayerNormFormat.reciprocalBits)), Signal.literal(0, .uint(LayerNormFormat.reciprocalBits)))
            let packed = cat(heldShift, inverse).resized(to: 32)
            for index in 0..<entries {
                m.when(target === Signal(BigInteger(index))) { result[index].set(packed) }
            }
            done.set(true)
            go(.idle)
        }
        m.when(inPhase(.floatDivide) && floatDivider.done) {
            let factor = mux(sumIsZero, Signal.literal(0, .uint(32)), floatDivider.quotient)
            for index in 0..<entries {
                m.when(target === Signal(BigInteger(index))) { result[index].set(factor) }
            }
            done.set(true)
            go(.idle)
        }

        // MARK: Affine parameters (LOAD_AFFINE rows: γ, then β; lanes beyond its columns get 0)
        let affine = config.hasAffineLayerNorm
        // γ is signed Q.12 in 18 bits (1.0 after reset); a wider accumulator value saturates.
        let gammaBits = LayerNormFormat.gammaBits
        let gamma = affine ? (0..<dim).map { m.register("gamma_\($0)", .sint(gammaBits), reset: Signal.literal(BigInteger(1) << LayerNormFormat.gammaFractionBits, .sint(gammaBits))) } : []
        let beta = affine ? (0..<dim).map { m.register("beta_\($0)", .sint(accBits), reset: 0) } : []
        for lane in gamma.indices {
            let value = mux(active[lane], lanes[lane], Signal.literal(0, .sint(accBits)))
            m.when(io.row.valid && row.parameters) {
                m.when(row.row === 0) { gamma[lane].set(saturate(value, to: gammaBits)) }.otherwise { beta[lane].set(value) }
            }
        }

        // MARK: Output rows
        // LayerNorm: n = RRS((x − mean)·inv, shift) from the row's reciprocal, F fractional bits;
        // the affine LayerNorm then z = sat(RRS(n·γ, 12) + β). Both scale with scale ⊗ 2^−F.
        let activation = row.activation
        let affineRow = Signal(affine) && activation === Signal(BigInteger(6))
        let layerNormRow = activation === Signal(BigInteger(2)) || affineRow
        let inverse = rowResult.bits(LayerNormFormat.reciprocalBits - 1, 0)
        let shift = rowResult.bits(LayerNormFormat.reciprocalBits + Self.shiftBits - 1, LayerNormFormat.reciprocalBits)
        let normalizedBits = Self.normalizedBits(config)
        let layerNormScale = m.instance("layernorm_scale", FloatMultiply())
        layerNormScale.a.set(row.scale)
        layerNormScale.b.set(Signal.literal(BigInteger(127 - LayerNormFormat.fractionBits) << 23, .uint(32)))  // 2^−F
        let valueBits = max(accBits + 2, normalizedBits)
        let softmaxRow = activation === Signal(BigInteger(4))
        let scaled = (0..<dim).map { lane -> Signal in
            let product = m.wire("layernorm_product_\(lane)", .sint(accBits + 1 + LayerNormFormat.reciprocalBits + 1),
                                 default: deviation[lane] * inverse.extended(to: LayerNormFormat.reciprocalBits + 1).asSInt)
            let n = m.wire("layernorm_n_\(lane)", .sint(normalizedBits),
                           default: roundingRightShift(product, by: shift).resized(to: normalizedBits))
            var normalized = n.resized(to: valueBits)
            if affine {
                let gained = roundingRightShift(n * gamma[lane], by: LayerNormFormat.gammaFractionBits)
                let z = m.wire("affine_z_\(lane)", .sint(accBits), default: saturate(gained +& beta[lane].extended(to: gained.width), to: accBits))
                normalized = mux(affineRow, z.extended(to: valueBits), normalized)
            }
            let immediate = mux(softmaxRow, exponential[lane], m.igelu(lanes[lane], qb: qb, qc: qc, bits: accBits, name: "igelu_\(lane)"))
            let scaler = m.instance("scale_\(lane)", ScaleUnit(inputWidth: valueBits, outputWidth: inputBits))
            scaler.value.set(mux(layerNormRow, normalized, immediate.extended(to: valueBits)))
            scaler.scale.set(mux(layerNormRow, layerNormScale.product, mux(softmaxRow, rowResult, row.scale)))
            return scaler.result.asUInt
        }
        io.result.valid.set(done || (io.row.valid && !finishingCommand))
        io.result.bits.set(cat(scaled.reversed()))
        io.busy.set(!inPhase(.idle))
    }
}

/// `value` (SInt) clamped into a `bits`-bit signed integer, at that width.
private func saturate(_ value: Signal, to bits: Int) -> Signal {
    guard value.width > bits else { return value.extended(to: bits) }
    let high = Signal.literal((BigInteger(1) << (bits - 1)) - 1, .sint(value.width))
    let low = Signal.literal(-(BigInteger(1) << (bits - 1)), .sint(value.width))
    return mux(value > high, high, mux(value < low, low, value)).truncated(to: bits)
}

/// `Numerics.roundingRightShift` by a constant `shift` ≥ 1: the value shifted, plus one when
/// the dropped bits are more than half, or exactly half with an odd result. SInt, one bit wider
/// than the shifted value so that the increment cannot wrap.
private func roundingRightShift(_ value: Signal, by shift: Int) -> Signal {
    let truncated = (value >> shift).extended(to: value.width - shift + 1)
    let half = value[shift - 1]
    let sticky = shift > 1 ? value.bits(shift - 2, 0) =/= 0 : Signal(false)
    let up = half && (sticky || value[shift])
    return truncated +% mux(up, Signal.literal(1, .sint(truncated.width)), Signal.literal(0, .sint(truncated.width)))
}

/// `Numerics.roundingRightShift` by a variable `shift` (UInt, at least 1 where the result
/// matters): arithmetic shift, rounding to nearest, ties to even. SInt, the width of `value`
/// plus one.
private func roundingRightShift(_ value: Signal, by shift: Signal) -> Signal {
    let width = value.width + 1
    let wide = value.extended(to: width)
    let oneBelow = shift -% Signal.literal(1, .uint(shift.width))
    let kept = wide >> oneBelow  // the result with its round bit below it
    let mask = (Signal.literal(1, .uint(width)) << oneBelow) -% Signal.literal(1, .uint(width))
    let sticky = (wide.asUInt & mask) =/= 0
    let truncated = kept >> 1
    let up = kept[0] && (sticky || kept[1])
    return truncated.extended(to: width) +% mux(up, Signal.literal(1, .sint(width)), Signal.literal(0, .sint(width)))
}
