import SpinelHDL

/// The accumulator read path's normalization unit (docs/ACCELERATOR.md, "Normalization";
/// NUMERICS.md): statistics passes, the I-GELU, LayerNorm and Softmax outputs, and their
/// ACC_SCALE. The store controller hands it the accumulator rows that need it, one at a time.
///
/// Per statistics slot (`normalizationSlots`) and row of DIM: the row's state
/// (`NormalizationRowState`), a *center* (the mean, or the running maximum), a 96-bit running
/// sum (of elements, squared deviations or exponentials), its element count, and a *result*
/// (the LayerNorm divisor, or Softmax's factor as binary32 bits).
///
/// Timing (`Normalizer.latency`): a row that only adds to a running pass, and I-GELU and
/// Softmax output rows, are combinational — `result` is valid in the cycle the row arrives.
/// A finishing pass row (MEAN, INV_STDDEV, INV_SUM_EXP) and a LayerNorm output row take a
/// sequential computation; `busy` is high until `result` pulses, and the caller sends no other
/// row meanwhile.
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
            return SequentialDivider(dividendBits: runningBits, divisorBits: 32).latency + SequentialSquareRoot(bits: 64).latency
        case .inverseSumOfExponentials: return FloatDivider().latency
        case .output:
            return layerNormActivations(parameters.config).contains(activation)
                ? SequentialDivider(dividendBits: laneDividendBits(parameters.config), divisorBits: 32).latency : 0
        default: return 0
        }
    }

    /// The store activations whose output rows go through the lane dividers: LayerNorm (2), and
    /// the affine LayerNorm (6) in configurations with it.
    static func layerNormActivations(_ config: AcceleratorConfig) -> [Int] { config.hasAffineLayerNorm ? [2, 6] : [2] }

    /// Whether the 3-bit store `activation` is one of `layerNormActivations`, as logic.
    static func isLayerNormOutput(_ activation: Signal, _ config: AcceleratorConfig) -> Signal {
        layerNormActivations(config).map { activation === Signal(BigInteger($0)) }.reduce(Signal(false)) { $0 || $1 }
    }

    /// The LayerNorm output's lane dividers: |x − mean| (accBits + 1 bits), or |(x − mean)·γ|
    /// (below 2^(accBits + 31)) with the affine LayerNorm.
    static func laneDividendBits(_ config: AcceleratorConfig) -> Int {
        config.hasAffineLayerNorm ? config.accType.width + 32 : config.accType.width + 1
    }

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

    enum Phase: Int { case idle, divide, root, floatDivide, layerNorm }

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
        // MEAN: |sum| / count; INV_STDDEV: Σ squares / count (then the root).
        divider.start.set(passRow && (isCommand(.mean) || isCommand(.inverseStandardDeviation)))
        divider.dividend.set(mux(isCommand(.mean) && sumNegative, runningSum.negated.asUInt, newRunning))
        divider.divisor.set(newCount)
        toFloat.value.set(newRunning.truncated(to: 64).asSInt)
        // INV_SUM_EXP: fp32(127) ⊘ fp32(sum), started in the row's cycle.
        floatDivider.start.set(passRow && isCommand(.inverseSumOfExponentials))
        floatDivider.a.set(Signal.literal(0x42FE_0000, .uint(32)))  // 127.0
        floatDivider.b.set(toFloat.result)
        let sumIsZero = m.register("sum_is_zero", .bool, reset: false)
        let variance = m.register("variance", .uint(64), reset: 0)
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
        m.when(inPhase(.root) && root.done) {
            let deviationResult = mux(variance === 0, Signal.literal(1, .uint(32)), root.root)
            for index in 0..<entries {
                m.when(target === Signal(BigInteger(index))) { result[index].set(deviationResult) }
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
        let gamma = affine ? (0..<dim).map { m.register("gamma_\($0)", .sint(accBits), reset: 1) } : []
        let beta = affine ? (0..<dim).map { m.register("beta_\($0)", .sint(accBits), reset: 0) } : []
        for lane in gamma.indices {
            let value = mux(active[lane], lanes[lane], Signal.literal(0, .sint(accBits)))
            m.when(io.row.valid && row.parameters) {
                m.when(row.row === 0) { gamma[lane].set(value) }.otherwise { beta[lane].set(value) }
            }
        }

        // MARK: Output rows
        let activation = row.activation
        let outputRow = io.row.valid && !isPass && !(Signal(affine) && row.parameters)
        let affineRow = Signal(affine) && activation === Signal(BigInteger(6))
        let layerNormRow = outputRow && Self.isLayerNormOutput(activation, config)
        let rowScale = m.register("row_scale", .uint(32))
        let rowAffine = m.register("row_affine", .bool, reset: false)
        let signs = (0..<dim).map { m.register("sign_\($0)", .bool) }
        let dividendBits = Self.laneDividendBits(config)
        let laneDividers = (0..<dim).map { m.instance("lane_divider_\($0)", SequentialDivider(dividendBits: dividendBits, divisorBits: 32)) }
        for (lane, unit) in laneDividers.enumerated() {
            // (x − mean), times γ for the affine LayerNorm (γ = 1 otherwise).
            let q = affine
                ? m.wire("scaled_deviation_\(lane)", .sint(accBits + 1 + accBits),
                         default: deviation[lane] * mux(affineRow, gamma[lane], Signal.literal(1, .sint(accBits))))
                : deviation[lane]
            let isNegative = q < Signal.literal(0, .sint(q.width))
            unit.start.set(layerNormRow)
            unit.dividend.set(mux(isNegative, q.negated, q).asUInt.resized(to: dividendBits))
            unit.divisor.set(rowResult)
            m.when(layerNormRow) { signs[lane].set(isNegative) }
        }
        m.when(layerNormRow) {
            rowScale.set(row.scale)
            rowAffine.set(affineRow)
            go(.layerNorm)
        }
        let standardDeviation = m.register("standard_deviation", .uint(32))
        m.when(layerNormRow) { standardDeviation.set(rowResult) }
        let layerNormDone = inPhase(.layerNorm) && laneDividers[0].done

        // ACC_SCALE of each lane's value: LayerNorm's quotient (when its dividers finish),
        // I-GELU's or Softmax's value (in the cycle the row arrives).
        let valueBits = accBits + 2
        let softmaxRow = activation === Signal(BigInteger(4))
        let scaled = (0..<dim).map { lane -> Signal in
            let unit = laneDividers[lane]
            // rne: away from zero when twice the remainder passes the divisor, or ties it with an odd quotient.
            let twice = unit.remainder.extended(to: 33) << 1
            let divisor = standardDeviation.extended(to: 34)
            let up = twice > divisor || (twice === divisor && unit.quotient[0])
            // The signed, rounded quotient rne((x − mean)·γ / std), γ = 1 without the affine LayerNorm;
            // activation 2's fits valueBits (|x − mean| < 2^33).
            let wide = affine ? dividendBits + 3 : valueBits
            let magnitude = (unit.quotient.extended(to: wide) +% mux(up, Signal.literal(1, .uint(wide)), Signal.literal(0, .uint(wide)))).asSInt
            let quotient = mux(signs[lane], magnitude.negated, magnitude)
            var normalized = quotient.resized(to: valueBits)
            if affine {
                // Activation 6: z = sat(quotient + β) into accBits.
                let z = m.wire("affine_z_\(lane)", .sint(wide), default: quotient +% beta[lane].extended(to: wide))
                let high = Signal.literal((BigInteger(1) << (accBits - 1)) - 1, .sint(wide))
                let low = Signal.literal(-(BigInteger(1) << (accBits - 1)), .sint(wide))
                normalized = mux(rowAffine, mux(z > high, high, mux(z < low, low, z)).resized(to: valueBits), normalized)
            }
            let immediate = mux(softmaxRow, exponential[lane], m.igelu(lanes[lane], qb: qb, qc: qc, bits: accBits, name: "igelu_\(lane)"))
            let scaler = m.instance("scale_\(lane)", ScaleUnit(inputWidth: valueBits, outputWidth: inputBits))
            scaler.value.set(mux(inPhase(.layerNorm), normalized, immediate.extended(to: valueBits)))
            scaler.scale.set(mux(inPhase(.layerNorm), rowScale, mux(softmaxRow, rowResult, row.scale)))
            return scaler.result.asUInt
        }
        m.when(layerNormDone) {
            done.set(true)
            go(.idle)
        }
        io.result.valid.set(done || (io.row.valid && !(finishingCommand || layerNormRow)))
        io.result.bits.set(cat(scaled.reversed()))
        io.busy.set(!inPhase(.idle))
    }
}
