import SpinelISA

// The normalizer's statistics passes: accumulator mvouts whose address bits 28:26 carry a
// normalization command (docs/NUMERICS.md, "Statistics passes"; docs/ACCELERATOR.md, "Normalization").

extension NormalizationCommand: CustomStringConvertible {
    public var description: String {
        switch self {
        case .output: "RESET"
        case .sum: "SUM"
        case .mean: "MEAN"
        case .variance: "VARIANCE"
        case .inverseStandardDeviation: "INV_STDDEV"
        case .maximum: "MAX"
        case .sumOfExponentials: "SUM_EXP"
        case .inverseSumOfExponentials: "INV_SUM_EXP"
        }
    }
}

/// What the normalizer holds for one row of one statistics slot. A pass runs over one or more
/// mvouts and ends with its finishing command (MEAN, INV_STDDEV, MAX, INV_SUM_EXP).
public struct RowStatistics: Hashable, Sendable {
    public enum Phase: Hashable, Sendable, CustomStringConvertible {
        /// Nothing gathered since reset.
        case empty
        /// SUM seen: `sum` and `count` run.
        case summing
        /// MEAN done: `mean` of `rowLength` elements.
        case meanReady
        /// VARIANCE seen: `squares` and `count` run, `mean` kept.
        case summingSquares
        /// INV_STDDEV done: `mean` and `standardDeviation` serve LayerNorm output passes.
        case layerNormReady
        /// MAX seen: `maximum` of the `count` elements so far (MAX finishes its own pass).
        case maximumReady
        /// SUM_EXP seen: `sum` and `count` run, `maximum` kept.
        case summingExponentials
        /// INV_SUM_EXP done: `maximum` and `factor` serve Softmax output passes.
        case softmaxReady

        public var description: String {
            switch self {
            case .empty: "no statistics"
            case .summing: "a SUM pass without its MEAN"
            case .meanReady: "a mean"
            case .summingSquares: "a VARIANCE pass without its INV_STDDEV"
            case .layerNormReady: "LayerNorm statistics"
            case .maximumReady: "a maximum"
            case .summingExponentials: "a SUM_EXP pass without its INV_SUM_EXP"
            case .softmaxReady: "Softmax statistics"
            }
        }
    }

    public var phase = Phase.empty
    /// Elements of the running pass.
    public var count = 0
    /// Σx (SUM, MEAN) or Σe (SUM_EXP, INV_SUM_EXP); exact in 64 bits for rows below 2^31 elements.
    public var sum: Int64 = 0
    /// Σ(x − mean)², exact.
    public var squares = WideSum()
    public var mean: Int64 = 0
    public var standardDeviation: Int64 = 1
    public var maximum: Int64 = 0
    public var factor: Float = 0

    public init() {}
}

extension GoldenModel {
    /// The activation an accumulator mvout applies: `4 | CONFIG_ST activation` with the
    /// CONFIG_NORM activation MSB, CONFIG_ST's activation otherwise.
    func storeActivation() throws -> Activation {
        let raw = (state.normalization.activationMSB ? 4 : 0) | state.store.activation
        guard let activation = Activation(rawValue: raw) else {
            throw CommandRejection(.unsupportedField,
                                   "the store activation is \(raw) (CONFIG_ST activation \(state.store.activation) with the CONFIG_NORM activation MSB), which does not exist; Softmax is CONFIG_ST activation 0 with the MSB")
        }
        if let missing = activation.missingExtension(parameters.config) {
            throw CommandRejection(.unsupportedField,
                                   "the store activation is \(raw) (CONFIG_ST activation \(state.store.activation) with the CONFIG_NORM activation MSB): \(activation) needs a configuration with \(missing)")
        }
        if state.store.scaleSource != .store && activation.rawValue > Activation.relu.rawValue {
            throw CommandRejection(.unsupportedField,
                                   "the \(state.store.scaleSource == .lane ? "lane scales" : "row scale") (CONFIG_ST scale source \(state.store.scaleSource.rawValue)) go with no activation or ReLU, not \(activation)")
        }
        return activation
    }

    /// The finished statistics of rows `0..<rows` of the selected slot, for an output pass of
    /// `activation` (LayerNorm or Softmax) or a row-scale store (`rowScale`, Softmax's ρ); fails
    /// if one is missing.
    func outputStatistics(rows: Int, for activation: Activation, rowScale: Bool = false) throws -> [RowStatistics] {
        try checkOutputStatistics(rows: rows, for: activation, rowScale: rowScale)
        return Array(state.statistics[state.normalization.statisticsSlot].prefix(rows))
    }

    /// `outputStatistics`'s check alone.
    func checkOutputStatistics(rows: Int, for activation: Activation, rowScale: Bool = false) throws {
        let slot = state.normalization.statisticsSlot
        let wanted: RowStatistics.Phase = activation.isLayerNorm ? .layerNormReady : .softmaxReady
        let statistics = state.statistics[slot].prefix(rows)
        if let r = statistics.firstIndex(where: { $0.phase != wanted }) {
            let passes = activation.isLayerNorm ? "{SUM…, MEAN} then {VARIANCE…, INV_STDDEV}" : "{MAX…} then {SUM_EXP…, INV_SUM_EXP}"
            let user = rowScale ? "MVOUT with the row scale" : "MVOUT with \(activation)"
            throw CommandRejection(.illegalOperand,
                                   "\(user) reads statistics slot \(slot), row \(r), which holds \(statistics[r].phase); run \(passes) on it first")
        }
    }

    /// The rows an mvout reads through the scaled path, each element through the requantizer
    /// when CONFIG_ST's K is not 0: `x' = sat(RRS(x·M_j, K))` for lane j.
    func requantized(_ values: some Collection<Int64>) -> [Int64] {
        let shift = state.store.requantizerShift
        guard shift != 0 else { return Array(values) }
        let bits = parameters.config.accType.width
        return values.enumerated().map { lane, x in
            Numerics.requantize(x, multiplier: state.normalization.requantizerMultiplier(lane: lane), shift: shift, accumulatorBits: bits)
        }
    }

    /// The first `columns` values of one accumulator row for a lane load, lanes beyond as 0;
    /// checks the operand as LOAD_AFFINE's (`rows` rows of plain accumulator data).
    private func laneRows(_ local: LocalOperand, rows: Int, _ name: String, what: String) throws -> [[Int64]] {
        let address = local.address
        guard local.rows == rows && local.columns > 0 else {
            throw CommandRejection(.illegalOperand, "\(name) covers \(local.shape): it reads \(rows == 1 ? "1 row" : "\(rows) rows") (\(what)) of at least one column")
        }
        guard !address.isGarbage && address.isAccumulator && address.flagBits == 0 else {
            throw CommandRejection(.illegalOperand,
                                   "\(name) reads \(address): \(what) \(rows == 1 ? "is a plain accumulator row" : "are plain accumulator rows") (bit 31 set, bits 30:26 clear)")
        }
        guard address.row + rows - 1 < parameters.accRows else {
            throw CommandRejection(.localAddressOutOfRange,
                                   "\(name) reads accumulator rows \(address.row) to \(address.row + rows - 1); the accumulator has \(parameters.accRows)")
        }
        if dataless { return Array(repeating: Array(repeating: 0, count: parameters.dim), count: rows) }
        return (0..<rows).map { r in
            let values = state.accumulator.row(address.row + r).prefix(local.columns)
            return Array(values) + Array(repeating: 0, count: parameters.dim - values.count)
        }
    }

    /// LOAD_REQUANT: the operand's one row becomes the requantizer's multipliers M_j, each
    /// saturated into unsigned 16 bits; lanes at and beyond its columns get 0.
    mutating func loadRequantizer(from local: LocalOperand) throws {
        let row = try laneRows(local, rows: 1, "LOAD_REQUANT", what: "the multipliers")[0]
        let high = Int64(1) << Int64(NumericsExtensions.multiplierBits) - 1
        state.normalization.requantizerMultipliers = row.map { min(max($0, 0), high) }
    }

    /// LOAD_LANE_SCALES: the operand's one row, read as fp32 bit patterns, becomes the lanes'
    /// store scales; lanes at and beyond its columns get 0.0. A NaN or infinite value fails the
    /// command (`invalidScale`) and changes nothing.
    mutating func loadLaneScales(from local: LocalOperand) throws {
        let row = try laneRows(local, rows: 1, "LOAD_LANE_SCALES", what: "the scales")[0]
        let scales = row.map { Numerics.float(bits: UInt32(truncatingIfNeeded: $0)) }
        if !dataless, let lane = scales.firstIndex(where: { !$0.isFinite }) {
            throw CommandRejection(.invalidScale,
                                   "LOAD_LANE_SCALES lane \(lane) is \(scales[lane]) (fp32 bits 0x\(String(UInt32(truncatingIfNeeded: row[lane]), radix: 16)))")
        }
        state.normalization.laneScales = scales
    }

    /// LOAD_AFFINE: row 0 of the operand becomes γ (saturated to 18 bits) and row 1 β, lane by
    /// lane; lanes at and beyond its columns get 0 (docs/ACCELERATOR.md, "Affine LayerNorm").
    mutating func loadAffine(from local: LocalOperand) throws {
        let address = local.address
        guard local.rows == 2 && local.columns > 0 else {
            throw CommandRejection(.illegalOperand, "LOAD_AFFINE covers \(local.shape): it reads 2 rows (γ, then β) of at least one column")
        }
        guard !address.isGarbage && address.isAccumulator && address.flagBits == 0 else {
            throw CommandRejection(.illegalOperand,
                                   "LOAD_AFFINE reads \(address): γ and β are plain accumulator rows (bit 31 set, bits 30:26 clear)")
        }
        guard address.row + 1 < parameters.accRows else {
            throw CommandRejection(.localAddressOutOfRange,
                                   "LOAD_AFFINE reads accumulator rows \(address.row) and \(address.row + 1); the accumulator has \(parameters.accRows)")
        }
        let rows = try laneRows(local, rows: 2, "LOAD_AFFINE", what: "γ, then β")
        // γ is signed Q.12 in 18 bits: a larger accumulator value saturates.
        state.normalization.affineGamma = rows[0].map { Numerics.saturate($0, bits: LayerNormFormat.gammaBits) }
        state.normalization.affineBeta = rows[1]
    }

    /// A statistics pass: an accumulator mvout with normalization command 1–7. Row `r` of the
    /// operand updates row `r` of the selected slot; nothing goes to DRAM. It must cover at
    /// least one element, and every row it covers must be ready for it (checked before any
    /// change, from the rows' states alone: the dispatcher's check).
    mutating func statisticsPass(_ command: NormalizationCommand, over local: LocalOperand) throws {
        guard local.rows > 0 && local.columns > 0 else {
            throw CommandRejection(.illegalOperand, "MVOUT \(command) covers \(local.shape): a statistics pass needs at least one row and one column")
        }
        let slot = state.normalization.statisticsSlot
        var rows = state.statistics[slot]
        // Without data, each row's statistics see zeros: their phases, which decide what a later
        // pass may do, move exactly as with data.
        let zeros = dataless ? Array(repeating: Int64(0), count: local.columns) : []
        for r in 0..<local.rows {
            let values = dataless ? zeros : requantized(state.accumulator.row(local.address.row + r).prefix(local.columns))
            do {
                rows[r] = try updated(rows[r], by: command, with: values)
            } catch let problem as StatisticsProblem {
                throw CommandRejection(.illegalOperand, "MVOUT \(command) on statistics slot \(slot), row \(r): \(problem.reason)")
            }
        }
        state.statistics[slot] = rows
    }

    private struct StatisticsProblem: Error {
        var reason: String
    }

    /// One row's statistics after `command` over `values` (this mvout's columns of the row).
    private func updated(_ old: RowStatistics, by command: NormalizationCommand, with values: [Int64]) throws -> RowStatistics {
        var row = old
        switch command {
        case .output:
            preconditionFailure("RESET is an output pass, not a statistics pass")
        case .sum, .mean:
            if row.phase != .summing { row.startPass() }
            row.phase = .summing
            row.sum += values.reduce(0, +)
            row.count += values.count
            if command == .mean {
                row.mean = Numerics.truncatedMean(sum: row.sum, count: row.count)
                row.phase = .meanReady
            }
        case .variance, .inverseStandardDeviation:
            switch row.phase {
            case .meanReady: row.startPass()
            case .summingSquares: break
            default:
                throw StatisticsProblem(reason: "it holds \(row.phase), not a mean; finish a SUM pass with MEAN first")
            }
            row.phase = .summingSquares
            for x in values { row.squares.addSquare(of: x - row.mean) }
            row.count += values.count
            if command == .inverseStandardDeviation {
                // The variance divides by this pass's own count.
                let variance = Numerics.truncatedVariance(sumOfSquares: row.squares, count: row.count)
                row.standardDeviation = Numerics.standardDeviation(variance: variance)
                row.phase = .layerNormReady
            }
        case .maximum:
            if row.phase != .maximumReady {
                row.startPass()
                row.maximum = Int64.min
            }
            row.phase = .maximumReady
            row.maximum = max(row.maximum, values.max() ?? Int64.min)
        case .sumOfExponentials, .inverseSumOfExponentials:
            switch row.phase {
            case .maximumReady:
                row.startPass()
            case .summingExponentials: break
            default:
                throw StatisticsProblem(reason: "it holds \(row.phase), not a maximum; run the MAX pass first")
            }
            row.phase = .summingExponentials
            // Under the store activation 5 (Softmax relative to the maximum) the pass sums the
            // int8 outputs and ends with ρ; otherwise it sums the exponentials (Gemmini's).
            let constants = state.normalization.iexpConstants, bits = parameters.config.accType.width
            let relative = parameters.config.hasNumericsExtensions
                && (state.normalization.activationMSB ? 4 : 0) | state.store.activation == Activation.softmaxRelativeToMaximum.rawValue
            let outputBits = parameters.config.inputType.width
            row.sum += values.reduce(0) {
                $0 + (relative ? Numerics.softmaxMaximumOutput($1, maximum: row.maximum, constants: constants, accumulatorBits: bits, outputBits: outputBits)
                               : Numerics.iexp($1 - row.maximum, constants: constants, accumulatorBits: bits))
            }
            row.count += values.count
            if command == .inverseSumOfExponentials {
                row.factor = relative ? Numerics.rowScaleStatistic(sumOfOutputs: row.sum) : Numerics.softmaxFactor(sumOfExponentials: row.sum)
                row.phase = .softmaxReady
            }
        }
        return row
    }
}

extension RowStatistics {
    /// Clears the running sums for a new pass; results of earlier passes (mean, maximum) stay.
    mutating func startPass() {
        count = 0
        sum = 0
        squares = WideSum()
    }
}
