import SpinelHDL

/// The accumulator read path's normalization unit (docs/ACCELERATOR.md, "Normalization";
/// docs/NUMERICS.md): statistics passes, the I-GELU, LayerNorm and Softmax outputs, and their
/// ACC_SCALE. The store controller hands it the accumulator rows that need it, one at a time,
/// and lends it the scale units of its first L columns for the outputs' ACC_SCALE
/// (`scaleValues`, `scaleFactors` out, `scaled` back, combinationally).
///
/// Per statistics slot (`normalizationSlots`) and row of DIM: the row's state
/// (`NormalizationRowState`), a *center* (the mean, or the running maximum), a 96-bit running
/// sum (of elements, squared deviations or exponentials), its element count, and a *result*
/// (LayerNorm's reciprocal of std with its shift, or Softmax's factor as binary32 bits).
///
/// Each lane's datapath and parameter registers are a `NormalizerLane` (one module, DIM
/// instances); this module keeps what the lanes share: the statistics, the sums and the maximum
/// across lanes, the sequential computations, the CONFIG_NORM constants and the row's control.
/// With `normalizerLanes` L < DIM there are L instances, each row takes B = DIM / L *beats*
/// (L columns each), and the columns' parameter registers live here (docs/ACCELERATOR.md,
/// "Normalizer lanes").
///
/// Timing (`PipelineTiming.normalizerLatency`): a row that only adds to a running pass, and every output row
/// (I-GELU, LayerNorm, the affine LayerNorm, Softmax) are combinational — `result` is valid in
/// the cycle the row arrives (with L < DIM: in its last beat, B − 1 cycles later). A finishing
/// pass row (MEAN, INV_STDDEV, INV_SUM_EXP) takes a sequential computation (from its last beat);
/// `busy` is high until `result` pulses (through the beats, but not in the result's cycle),
/// and the caller sends no other row and no CONFIG_NORM meanwhile. A lane-parameter row always
/// takes one cycle. INV_STDDEV makes LayerNorm's one division per row there (the reciprocal), so
/// its output pass multiplies and shifts.
public struct Normalizer: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "Normalizer_\(parameters.name)" }

    /// Bits of LayerNorm's normalized value n = RRS((x − mean)·inv, e + 23 − F): |x − mean| ≤
    /// 2^accBits, inv ≤ 2^24 and the shift is at least 24 − F (e ≥ 1), so |n| ≤ 2^(accBits + F)
    /// (rounding included), a sign bit above.
    static func normalizedBits(_ config: AcceleratorConfig) -> Int {
        config.accType.width + LayerNormFormat.fractionBits + 2
    }

    /// Bits of the value a lane hands to its scale unit (`scaleValues`): a LayerNorm value n or
    /// an accType value with two bits to spare.
    public static func scaledValueBits(_ config: AcceleratorConfig) -> Int {
        max(config.accType.width + 2, normalizedBits(config))
    }

    /// A LayerNorm statistics row's `result`: the reciprocal in the low `reciprocalBits`, the
    /// shift e + 23 − F (at most 55 − F) above it.
    static let shiftBits = 6

    @Bundle
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
        /// A lane-parameter row (LOAD_AFFINE, LOAD_REQUANT, LOAD_LANE_SCALES); meaningful only
        /// with `hasAffineLayerNorm`. Which one `command` says: 0 LOAD_AFFINE (row 0: γ, row 1:
        /// β), 1 LOAD_REQUANT, 2 LOAD_LANE_SCALES.
        public var parameters: Signal
        /// CONFIG_ST's requantizer shift K (0: off) and scale source (`hasNumericsExtensions`).
        @Name("requantizer_shift") public var requantizerShift: Signal
        @Name("scale_source") public var scaleSource: Signal
    }

    @Bundle
    public struct IO: Aggregate {
        /// A CONFIG_NORM (rs1, rs2) the store controller took.
        @Input public var configure: Valid<RoCCCommand>
        @Input public var row: Valid<Row>
        /// DIM inputType results (meaningless for statistics passes).
        @Output public var result: Valid<Signal>
        /// The lanes' values before their scale and the scales (lane 0 in the low bits; L ×
        /// `scaledValueBits` and L × 32 bits), for the store controller's scale
        /// units of columns 0 … L − 1, whose inputType results come back in `scaled`.
        @Output("scale_values") public var scaleValues: Signal
        @Output("scale_factors") public var scaleFactors: Signal
        @Input public var scaled: Signal
        @Output public var busy: Signal
        /// CONFIG_NORM's activation MSB.
        @Output("activation_high") public var activationHigh: Signal
        /// A LOAD_LANE_SCALES row with a NaN or infinite scale among its columns (it changes nothing).
        @Output("lane_scale_fault") public var laneScaleFault: Signal
    }

    public var io: IO {
        let dim = parameters.dim, accBits = parameters.config.accType.width, lanes = parameters.normalizerLanes
        return IO(configure: Valid(RoCCCommand()),
                  row: Valid(Row(data: Signal(.uint(dim * accBits)), columns: Signal(.uint(16)), row: Signal(.uint(Self.rowBits(dim))),
                                 command: Signal(.uint(3)), activation: Signal(.uint(3)), scale: Signal(.uint(32)),
                                 parameters: Signal(.bool), requantizerShift: Signal(.uint(NumericsExtensions.requantizerShiftBits)),
                                 scaleSource: Signal(.uint(NumericsExtensions.scaleSourceBits)))),
                  result: Valid(Signal(.uint(dim * parameters.config.inputType.width))),
                  scaleValues: Signal(.uint(lanes * Self.scaledValueBits(parameters.config))), scaleFactors: Signal(.uint(lanes * 32)),
                  scaled: Signal(.uint(lanes * parameters.config.inputType.width)), busy: Signal(.bool), activationHigh: Signal(.bool),
                  laneScaleFault: Signal(.bool))
    }

    static func rowBits(_ dim: Int) -> Int { max(1, HWType.addressWidth(for: dim)) }

    enum Phase: Int, HardwareEnum { case idle, divide, root, reciprocal, floatDivide, constantDivide }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let config = parameters.config
        let dim = parameters.dim, accBits = config.accType.width
        let slots = config.normalizationSlots
        let runningBits = PipelineTiming.normalizerRunningBits
        let s32 = HWType.sint(32)
        // `normalizerLanes` lanes; with fewer than DIM a lane row takes `beats` cycles.
        let lanes = parameters.normalizerLanes, beats = parameters.normalizerBeats

        // MARK: CONFIG_NORM
        let slotBits = max(1, HWType.addressWidth(for: slots))
        let slot = m.register("slot", .uint(slotBits), reset: 0)
        let activationHigh = m.register("softmax_msb", .bool, reset: false)
        let qln2 = m.register("qln2", s32, reset: 0), qln2Inverse = m.register("qln2_inv", s32, reset: 0)
        let qb = m.register("qb", s32, reset: 0), qc = m.register("qc", s32, reset: 0)
        let configure = io.configure.bits
        // The numerics extensions' CONFIG_NORM constant sets (rs1[20:19]) 1 and 2 carry the
        // two-segment I-GELU's constants and change nothing else.
        let extensions = config.hasNumericsExtensions
        let constantSet = configure.rs1.bits(NumericsExtensions.constantSetLow + NumericsExtensions.constantSetBits - 1, NumericsExtensions.constantSetLow)
        let gemminiSet = Signal(!extensions) || constantSet === 0
        func constant(_ name: String) -> Signal { m.register(name, s32, reset: 0) }
        let gelu = extensions
            ? (qb1: constant("gelu_qb1"), qc1: constant("gelu_qc1"), qb2: constant("gelu_qb2"), qc2: constant("gelu_qc2"),
               qt: constant("gelu_qt"), q1: constant("gelu_q1")) : nil
        m.when(io.configure.valid && gemminiSet) {
            slot.set(configure.rs1.bits(8 + slotBits - 1, 8))
            m.when(!configure.rs1[17]) {
                activationHigh.set(configure.rs1[ConfigNormFields.activationMSBBit])
                m.when(configure.rs1[18]) { qln2Inverse.set(configure.rs1.bits(63, 32).asSInt) }
                    .otherwise { qln2.set(configure.rs1.bits(63, 32).asSInt) }
                qb.set(configure.rs2.bits(31, 0).asSInt)
                qc.set(configure.rs2.bits(63, 32).asSInt)
            }
        }
        if let gelu {
            m.when(io.configure.valid && constantSet === Signal(NumericsExtensions.ConstantSet.geluFirstSegment.rawValue)) {
                gelu.qb1.set(configure.rs2.bits(31, 0).asSInt)
                gelu.qc1.set(configure.rs2.bits(63, 32).asSInt)
                gelu.qt.set(configure.rs1.bits(63, 32).asSInt)
            }
            m.when(io.configure.valid && constantSet === Signal(NumericsExtensions.ConstantSet.geluSecondSegment.rawValue)) {
                gelu.qb2.set(configure.rs2.bits(31, 0).asSInt)
                gelu.qc2.set(configure.rs2.bits(63, 32).asSInt)
                gelu.q1.set(configure.rs1.bits(63, 32).asSInt)
            }
        }
        // Softmax relative to the maximum: c = fp32(127) ⊘ fp32(iexp(0)), iexp(0) = qb² + qc
        // (wrapped), divided once whenever a CONFIG_NORM sets qb and qc (the store controller
        // waits while `busy`).
        let computesFactor = m.wire("computes_factor", .bool, default: Signal(extensions) && io.configure.valid && gemminiSet && !configure.rs1[17])
        let newQb = configure.rs2.bits(31, 0)
        let peak = m.wire("peak", .sint(32), default: ((newQb * newQb).truncated(to: 32) +% configure.rs2.bits(63, 32)).asSInt)
        let maximumFactor = m.register("maximum_factor", .uint(32), reset: 0)
        let peakIsZero = m.register("peak_is_zero", .bool, reset: false)
        io.activationHigh.set(activationHigh)

        // MARK: Statistics
        let entries = slots * dim
        let state = (0..<entries).map { m.register("state_\($0)", .uint(NormalizationRowState.bits), reset: 0) }
        let center = (0..<entries).map { m.register("center_\($0)", .sint(accBits), reset: 0) }
        let running = (0..<entries).map { m.register("running_\($0)", .uint(runningBits), reset: 0) }
        let count = (0..<entries).map { m.register("count_\($0)", .uint(32), reset: 0) }
        let result = (0..<entries).map { m.register("result_\($0)", .uint(32), reset: 0) }
        let arriving = io.row.bits
        // A lane row (not a lane-parameter row) with fewer lanes than columns: `beat` counts its
        // cycles, lanes 0 … L − 1 taking columns beat·L … beat·L + L − 1; beat 0 reads the
        // arriving row, the later beats the held one (`row`).
        let laneRowArrives = io.row.valid && !arriving.parameters
        let beat: Signal? = beats > 1 ? m.register("beat", .uint(HWType.addressWidth(for: beats)), reset: 0) : nil
        var row = arriving
        if let beat {
            m.when(beat =/= 0) { beat.set(mux(beat === Signal(beats - 1), Signal.literal(0, .uint(beat.width)), beat +% 1)) }
            m.when(laneRowArrives) { beat.set(Signal.literal(1, .uint(beat.width))) }
            func held(_ name: String, _ field: Signal) -> Signal {
                let register = m.register("held_\(name)", field.type!)
                m.when(laneRowArrives) { register.set(field) }
                return m.wire("beat_\(name)", field.type!, default: mux(beat === 0, field, register))
            }
            row = Row(data: arriving.data, columns: held("columns", arriving.columns), row: held("row", arriving.row),
                      command: held("command", arriving.command), activation: held("activation", arriving.activation),
                      scale: held("scale", arriving.scale), parameters: arriving.parameters,
                      requantizerShift: held("requantizer_shift", arriving.requantizerShift), scaleSource: held("scale_source", arriving.scaleSource))
        }
        let rowBits = Self.rowBits(dim)
        let entry = m.wire("entry", .uint(slotBits + rowBits), default: cat(slot, row.row))
        let rowState = m.wire("row_state", .uint(NormalizationRowState.bits), default: select(state, at: entry))
        let rowCenter = m.wire("row_center", .sint(accBits), default: select(center, at: entry))
        let rowRunning = m.wire("row_running", .uint(runningBits), default: select(running, at: entry))
        let rowCount = m.wire("row_count", .uint(32), default: select(count, at: entry))
        let rowResult = m.wire("row_result", .uint(32), default: select(result, at: entry))

        // MARK: Lanes (NormalizerLane: the requantizer, the deviation and its square, i-exp, the outputs)
        let rawLanes = (0..<dim).map { arriving.data.bits((($0 + 1) * accBits) - 1, $0 * accBits).asSInt }
        let arrivingActive = (0..<dim).map { arriving.columns > Signal($0) }
        var laneRaw = rawLanes, active = arrivingActive
        if let beat {
            // Columns L … DIM − 1 wait in `held_data` for their beat.
            let heldData = m.register("held_data", .uint((dim - lanes) * accBits))
            m.when(laneRowArrives) { heldData.set(arriving.data.bits(dim * accBits - 1, lanes * accBits)) }
            let beatBase = m.wire("beat_base", .uint(16), default: (beat.extended(to: 16) * Signal.literal(lanes, .uint(16))).truncated(to: 16))
            laneRaw = (0..<lanes).map { lane in
                let choices = (0..<beats).map { b in
                    b == 0 ? rawLanes[lane] : heldData.bits((b * lanes + lane - lanes + 1) * accBits - 1, (b * lanes + lane - lanes) * accBits).asSInt
                }
                return m.wire("lane_raw_\(lane)", .sint(accBits), default: select(choices, at: beat))
            }
            active = (0..<lanes).map { m.wire("lane_active_\($0)", .bool, default: row.columns > (beatBase +% Signal.literal($0, .uint(16)))) }
        }
        let units = (0..<lanes).map { index -> NormalizerLane.IO in
            let unit = m.instance("lane_\(index)", NormalizerLane(parameters))
            unit.raw.set(laneRaw[index])
            unit.active.set(active[index])
            unit.center.set(rowCenter)
            unit.qln2.set(qln2)
            unit.qln2Inverse.set(qln2Inverse)
            unit.qb.set(qb)
            unit.qc.set(qc)
            return unit
        }
        let values = units.map(\.value)
        /// The active lanes' terms, added at `type`'s width.
        func sum(_ terms: [Signal], as type: HWType) -> Signal {
            let zero = Signal.literal(0, type)
            return terms.enumerated().map { index, term in mux(active[index], term.resized(to: type.width), zero) }.reduce(zero) { $0 +% $1 }
        }
        let elementSum = m.wire("element_sum", .sint(runningBits), default: sum(values, as: .sint(runningBits)))
        let squareSum = m.wire("square_sum", .uint(runningBits), default: sum(units.map(\.square), as: .uint(runningBits)))
        let exponentialSum = m.wire("exponential_sum", .sint(runningBits), default: sum(units.map(\.exponential), as: .sint(runningBits)))
        // The running maximum over the lanes, one named wire per lane (each step reads the last twice).
        let maximum: Signal
        if let beat {
            // Over the beats: from lane 0 in beat 0 (a pass has a column), from the earlier
            // beats' maximum after it.
            let beatMaximum = m.register("beat_maximum", .sint(accBits))
            let start = m.wire("maximum_start", .sint(accBits), default: mux(beat === 0, values[0], beatMaximum))
            maximum = values.enumerated().reduce(start) { best, item in
                m.wire("maximum_\(item.offset)", .sint(accBits), default: mux(active[item.offset] && item.element > best, item.element, best))
            }
            beatMaximum.set(maximum)
        } else {
            maximum = values.enumerated().dropFirst().reduce(values[0]) { best, item in
                m.wire("maximum_\(item.offset)", .sint(accBits), default: mux(active[item.offset] && item.element > best, item.element, best))
            }
        }

        // MARK: A pass row
        let command = row.command
        func isCommand(_ value: NormalizationCommand) -> Signal { command === Signal(value.rawValue) }
        let transition = NormalizationTransition(state: rowState, command: command)
        let isPass = command =/= 0
        // A lane-parameter row carries its kind in `command`: never a pass.
        let lastBeat = beat.map { m.wire("last_beat", .bool, default: $0 === Signal(beats - 1)) }
        let passRow = lastBeat.map { $0 && isPass } ?? (io.row.valid && isPass && !row.parameters)
        let base = mux(transition.continues, rowRunning, Signal.literal(0, .uint(runningBits)))
        let layerNormPass = isCommand(.variance) || isCommand(.inverseStandardDeviation)
        let softmaxPass = isCommand(.sumOfExponentials) || isCommand(.inverseSumOfExponentials)
        // Softmax relative to the maximum (activation 5) sums its int8 outputs instead (set below).
        let relativeRow = Signal(extensions) && row.activation === Signal(Activation.softmaxRelativeToMaximum.rawValue)
        let outputSum = m.wire("relative_output_sum", .sint(runningBits))
        var added = mux(layerNormPass, squareSum, mux(softmaxPass, mux(relativeRow, outputSum, exponentialSum).asUInt, elementSum.asUInt))
        if let beat {
            // The sums wrap at runningBits, so adding beat by beat gives the same total.
            let beatAdded = m.register("beat_added", .uint(runningBits))
            added = m.wire("row_added", .uint(runningBits), default: mux(beat === 0, added, beatAdded +% added))
            beatAdded.set(added)
        }
        let newRunning = m.wire("new_running", .uint(runningBits), default: base +% added)
        let newCount = m.wire("new_count", .uint(32), default: mux(transition.continues, rowCount, Signal.literal(0, .uint(32))) +% row.columns.extended(to: 32))
        let newMaximum = m.wire("new_maximum", .sint(accBits), default: mux(transition.continues && maximum < rowCenter, rowCenter, maximum))
        for index in 0..<entries {
            m.when(passRow && entry === Signal(index)) {
                state[index].set(transition.next)
                m.when(isCommand(.maximum)) { center[index].set(newMaximum) }
                    .otherwise {
                        running[index].set(newRunning)
                        count[index].set(newCount)
                    }
            }
        }

        // MARK: Sequential computations
        let phase = m.register("phase", Phase.self, reset: .idle)
        func inPhase(_ p: Phase) -> Signal { phase === p }
        func go(_ p: Phase) { phase.set(p) }
        let target = m.register("target", .uint(slotBits + rowBits), reset: 0)
        let finishing = m.register("finishing", .uint(3), reset: 0)
        let negative = m.register("negative", .bool, reset: false)
        let divider = m.instance("divider", SequentialDivider(dividendBits: runningBits, divisorBits: 32))
        let root = m.instance("square_root", SequentialSquareRoot(bits: PipelineTiming.normalizerSquareRootBits))
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
            mux(standardDeviation[bit], Signal.literal(bit + 1, .uint(Self.shiftBits)), e)
        }
        let reciprocalExponent = m.wire("reciprocal_exponent", .uint(7), default: stdBits.extended(to: 7) +% Signal.literal(23, .uint(7)))
        let heldDeviation = m.register("held_deviation", .uint(32), reset: 1)
        let heldShift = m.register("held_shift", .uint(Self.shiftBits), reset: 0)
        divider.start.set(passRow && (isCommand(.mean) || isCommand(.inverseStandardDeviation)) || rootDone)
        divider.dividend.set(mux(rootDone, Signal.literal(1, .uint(runningBits)) << reciprocalExponent,
                                 mux(isCommand(.mean) && sumNegative, runningSum.negated.asUInt, newRunning)))
        divider.divisor.set(mux(rootDone, standardDeviation, newCount))
        toFloat.value.set(mux(computesFactor, peak.extended(to: 64), newRunning.truncated(to: 64).asSInt))
        // INV_SUM_EXP: fp32(127) ⊘ fp32(sum) (activation 5: ρ = fp32(1) ⊘ fp32(Σ out)), started
        // in the row's cycle; a CONFIG_NORM's c = fp32(127) ⊘ fp32(iexp(0)) in its own.
        floatDivider.start.set(passRow && isCommand(.inverseSumOfExponentials) || computesFactor)
        floatDivider.a.set(mux(relativeRow && !computesFactor, Signal.literal(0x3F80_0000, .uint(32)), Signal.literal(0x42FE_0000, .uint(32))))  // 1.0 or 127.0
        floatDivider.b.set(toFloat.result)
        m.when(computesFactor) {
            peakIsZero.set(peak === 0)
            go(.constantDivide)
        }
        m.when(inPhase(.constantDivide) && floatDivider.done) {
            maximumFactor.set(mux(peakIsZero, Signal.literal(0, .uint(32)), floatDivider.quotient))
            go(.idle)
        }
        let sumIsZero = m.register("sum_is_zero", .bool, reset: false)
        // INV_STDDEV: the root of the variance, started when the division ends.
        root.start.set(m.wire("root_begin", .bool, default: inPhase(.divide) && divider.done
                                && finishing === Signal(NormalizationCommand.inverseStandardDeviation.rawValue)))
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
            m.when(finishing === Signal(NormalizationCommand.mean.rawValue)) {
                let quotient = divider.quotient.truncated(to: accBits).asSInt
                for index in 0..<entries {
                    m.when(target === Signal(index)) { center[index].set(mux(negative, quotient.negated, quotient)) }
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
            heldShift.set((reciprocalExponent -% Signal.literal(LayerNormFormat.fractionBits, .uint(7))).truncated(to: Self.shiftBits))
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
                m.when(target === Signal(index)) { result[index].set(packed) }
            }
            done.set(true)
            go(.idle)
        }
        m.when(inPhase(.floatDivide) && floatDivider.done) {
            let factor = mux(sumIsZero, Signal.literal(0, .uint(32)), floatDivider.quotient)
            for index in 0..<entries {
                m.when(target === Signal(index)) { result[index].set(factor) }
            }
            done.set(true)
            go(.idle)
        }

        // MARK: Lane parameters (LOAD_AFFINE rows: γ, then β; LOAD_REQUANT; LOAD_LANE_SCALES)
        func parameterRow(_ kind: Int) -> Signal { io.row.valid && arriving.parameters && arriving.command === Signal(kind) }
        if config.hasAffineLayerNorm {
            for unit in units {
                unit.affine[0].loadGamma.set(beat == nil ? parameterRow(0) && arriving.row === 0 : Signal(false))
                unit.affine[0].loadBeta.set(beat == nil ? parameterRow(0) && arriving.row =/= 0 : Signal(false))
            }
        }
        // LOAD_LANE_SCALES changes nothing when a scale among its columns is NaN or infinite.
        // (Only with the extensions, whose configurations have 32-bit accumulator lanes.)
        let nonFiniteScale = extensions ? m.wire("non_finite_scale", .bool, default: (0..<dim).reduce(Signal(false)) { any, index in
            any || (arrivingActive[index] && rawLanes[index].asUInt.bits(30, 23) === Signal.literal(0xFF, .uint(8)))
        }) : Signal(false)
        io.laneScaleFault.set(extensions ? parameterRow(2) && nonFiniteScale : Signal(false))
        if let beat {
            // Fewer lanes than columns: the columns' parameter registers live here, and each
            // beat hands its lanes those of their columns.
            let parameterValues = (0..<dim).map { mux(arrivingActive[$0], rawLanes[$0], Signal.literal(0, .sint(accBits))) }
            func forLane(_ registers: [Signal], _ lane: Int, _ name: String) -> Signal {
                m.wire("lane_\(name)_\(lane)", registers[0].type!, default: select((0..<beats).map { registers[$0 * lanes + lane] }, at: beat))
            }
            if config.hasAffineLayerNorm {
                let gamma = (0..<dim).map { m.register("gamma_\($0)", .sint(LayerNormFormat.gammaBits), reset: NormalizerLane.gammaReset) }
                let beta = (0..<dim).map { m.register("beta_\($0)", .sint(accBits), reset: 0) }
                m.when(parameterRow(0) && arriving.row === 0) {
                    for column in 0..<dim { gamma[column].set(saturate(parameterValues[column], to: LayerNormFormat.gammaBits)) }
                }
                m.when(parameterRow(0) && arriving.row =/= 0) {
                    for column in 0..<dim { beta[column].set(parameterValues[column]) }
                }
                for (lane, unit) in units.enumerated() {
                    unit.affineParameters[0].gamma.set(forLane(gamma, lane, "gamma"))
                    unit.affineParameters[0].beta.set(forLane(beta, lane, "beta"))
                }
            }
            if extensions {
                let multiplier = (0..<dim).map { m.register("requant_m_\($0)", .uint(NumericsExtensions.multiplierBits), reset: 1) }
                let laneScale = (0..<dim).map { m.register("lane_scale_\($0)", .uint(32), reset: Signal.literal(0x3F80_0000, .uint(32))) }
                m.when(parameterRow(1)) {
                    for column in 0..<dim { multiplier[column].set(NormalizerLane.multiplier(from: parameterValues[column])) }
                }
                m.when(parameterRow(2) && !nonFiniteScale) {
                    for column in 0..<dim { laneScale[column].set(parameterValues[column].asUInt) }
                }
                for (lane, unit) in units.enumerated() {
                    unit.numericsParameters[0].multiplier.set(forLane(multiplier, lane, "requant_m"))
                    unit.numericsParameters[0].laneScale.set(forLane(laneScale, lane, "lane_scale"))
                }
            }
        }

        // MARK: Output rows
        // LayerNorm (in the lanes) scales with scale ⊗ 2^−F.
        let activation = row.activation
        let affineRow = Signal(config.hasAffineLayerNorm) && activation === Signal(Activation.affineLayerNorm.rawValue)
        let layerNormRow = activation === Signal(Activation.layerNorm.rawValue) || affineRow
        let twoToMinusF = Signal.literal((127 - LayerNormFormat.fractionBits) << 23, .uint(32))  // 2^−F
        let softmaxRow = activation === Signal(Activation.softmax.rawValue)
        // The numerics extensions: plain rows (activation 0, 1) with CONFIG_ST's, the lane's or
        // the row's scale (ρ ⊗ scale, one multiply per row), the two-segment I-GELU (7) on
        // I-GELU's lane datapath, Softmax relative to the maximum (5) with the constant c.
        let plainRow = Signal(extensions) && activation < Signal(Activation.layerNorm.rawValue)
        let scaleSource = row.scaleSource
        let rowScaled = scaleSource === Signal(NumericsExtensions.ScaleSource.row.rawValue)
        let layerNormScale: Signal, plainScale: Signal
        if extensions {
            // A row is a LayerNorm row (scale ⊗ 2^−F) or a plain row with the row scale
            // (ρ ⊗ scale), never both: one multiplier makes either.
            let product = m.instance("output_scale", FloatMultiply())
            product.a.set(mux(layerNormRow, row.scale, rowResult))
            product.b.set(mux(layerNormRow, twoToMinusF, row.scale))
            layerNormScale = product.product
            plainScale = mux(rowScaled, product.product, row.scale)
        } else {
            let product = m.instance("layernorm_scale", FloatMultiply())
            product.a.set(row.scale)
            product.b.set(twoToMinusF)
            layerNormScale = product.product
            plainScale = row.scale
        }
        let sharedScale = m.wire("row_output_scale", .uint(32),
                                 default: mux(layerNormRow, layerNormScale, mux(softmaxRow, rowResult, mux(relativeRow, maximumFactor, plainScale))))
        let laneScaled = !layerNormRow && !softmaxRow && !relativeRow && scaleSource === Signal(NumericsExtensions.ScaleSource.lane.rawValue)
        for unit in units {
            unit.inverse.set(rowResult.bits(LayerNormFormat.reciprocalBits - 1, 0))
            unit.shift.set(rowResult.bits(LayerNormFormat.reciprocalBits + Self.shiftBits - 1, LayerNormFormat.reciprocalBits))
            unit.layerNormRow.set(layerNormRow)
            unit.exponentialRow.set(softmaxRow || relativeRow)
            unit.variancePass.set(layerNormPass)
            unit.exponentialPass.set(softmaxPass)
            unit.scale.set(sharedScale)
            unit.affine.first?.selected.set(affineRow)
            if let numerics = unit.numerics.first, let gelu {
                numerics.requantizerShift.set(row.requantizerShift)
                numerics.plainRow.set(plainRow)
                numerics.reluRow.set(activation === Signal(Activation.relu.rawValue))
                numerics.laneScaled.set(laneScaled)
                numerics.loadMultiplier.set(beat == nil ? parameterRow(1) : Signal(false))
                numerics.loadLaneScale.set(beat == nil ? parameterRow(2) && !nonFiniteScale : Signal(false))
                numerics.twoSegmentRow.set(activation === Signal(Activation.twoSegmentGELU.rawValue))
                numerics.qb1.set(gelu.qb1)
                numerics.qc1.set(gelu.qc1)
                numerics.qb2.set(gelu.qb2)
                numerics.qc2.set(gelu.qc2)
                numerics.qt.set(gelu.qt)
                numerics.q1.set(gelu.q1)
            }
        }
        let inputBits = config.inputType.width
        for (lane, unit) in units.enumerated() {
            unit.scaled.set(io.scaled.bits((lane + 1) * inputBits - 1, lane * inputBits).asSInt)
        }
        io.scaleValues.set(cat(units.map(\.scaleValue.asUInt).reversed()))
        io.scaleFactors.set(cat(units.map(\.scaleFactor).reversed()))
        let scaled = units.map(\.result)
        outputSum.set(sum(scaled, as: .sint(runningBits)))
        guard let beat, let lastBeat else {
            io.result.valid.set(done || (io.row.valid && !finishingCommand))
            io.result.bits.set(cat(scaled.map(\.asUInt).reversed()))
            io.busy.set(!inPhase(.idle))
            return
        }
        // The beats before the last leave their columns' results in registers; the last beat's
        // come straight from the lanes.
        let earlier = (0..<(dim - lanes)).map { m.register("out_\($0)", .sint(config.inputType.width)) }
        for b in 0..<(beats - 1) {
            m.when(beat === Signal(b)) {
                for lane in 0..<lanes { earlier[b * lanes + lane].set(scaled[lane]) }
            }
        }
        let resultValid = m.wire("row_done", .bool, default: done || (io.row.valid && arriving.parameters) || (lastBeat && !finishingCommand))
        io.result.valid.set(resultValid)
        io.result.bits.set(cat((earlier + scaled).map(\.asUInt).reversed()))
        // Busy through the beats too, but not in a lane row's result cycle (the store
        // controller reads the next row then).
        io.busy.set(!inPhase(.idle) || (beat =/= 0 && !resultValid))
    }
}

extension Normalizer.IO {
    /// Lane `lane`'s value and scale for the scale unit it borrows, out of `scaleValues` and
    /// `scaleFactors`; the unit's result goes back into `scaled` at the same lane.
    public func scaleRequest(lane: Int) -> (value: Signal, factor: Signal) {
        let lanes = scaleFactors.width / 32, valueBits = scaleValues.width / lanes
        return (scaleValues.bits((lane + 1) * valueBits - 1, lane * valueBits).asSInt, scaleFactors.bits((lane + 1) * 32 - 1, lane * 32))
    }
}

/// `value` (SInt) clamped into a `bits`-bit signed integer, at that width.
func saturate(_ value: Signal, to bits: Int) -> Signal {
    guard value.width > bits else { return value.extended(to: bits) }
    let high = Signal.literal((BigInteger(1) << (bits - 1)) - 1, .sint(value.width))
    let low = Signal.literal(-(BigInteger(1) << (bits - 1)), .sint(value.width))
    return mux(value > high, high, mux(value < low, low, value)).truncated(to: bits)
}

/// `Numerics.roundingRightShift` by a constant `shift` ≥ 1: the value shifted, plus one when
/// the dropped bits are more than half, or exactly half with an odd result. SInt, one bit wider
/// than the shifted value so that the increment cannot wrap.
func roundingRightShift(_ value: Signal, by shift: Int) -> Signal {
    let truncated = (value >> shift).extended(to: value.width - shift + 1)
    let half = value[shift - 1]
    let sticky = shift > 1 ? value.bits(shift - 2, 0) =/= 0 : Signal(false)
    let up = half && (sticky || value[shift])
    return truncated +% mux(up, Signal.literal(1, .sint(truncated.width)), Signal.literal(0, .sint(truncated.width)))
}

/// `Numerics.roundingRightShift` by a variable `shift` (UInt, at least 1 where the result
/// matters): arithmetic shift, rounding to nearest, ties to even. SInt, the width of `value`
/// plus one.
func roundingRightShift(_ value: Signal, by shift: Signal) -> Signal {
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
