// The normalizer's statistics passes: accumulator mvouts whose address bits 28:26 carry a
// normalization command (NUMERICS.md, "Statistics passes"; docs/ACCELERATOR.md, "Normalization").

/// The normalization command of an accumulator mvout (local address bits 28:26).
public enum NormalizationCommand: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The output pass (or a plain mvout): writes DRAM, statistics unchanged.
    case reset = 0
    case sum = 1
    case mean = 2
    case variance = 3
    case inverseStandardDeviation = 4
    case max = 5
    case sumExponentials = 6
    case inverseSumExponentials = 7

    public var description: String {
        switch self {
        case .reset: "RESET"
        case .sum: "SUM"
        case .mean: "MEAN"
        case .variance: "VARIANCE"
        case .inverseStandardDeviation: "INV_STDDEV"
        case .max: "MAX"
        case .sumExponentials: "SUM_EXP"
        case .inverseSumExponentials: "INV_SUM_EXP"
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
    /// Elements of the row's first pass (SUM…MEAN or MAX…): the second pass must cover as many.
    public var rowLength = 0
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
        return activation
    }

    /// The finished statistics of rows `0..<rows` of the selected slot, for an output pass of
    /// `activation` (LayerNorm or Softmax); fails if one is missing.
    func outputStatistics(rows: Int, for activation: Activation) throws -> [RowStatistics] {
        let slot = state.normalization.statisticsSlot
        let wanted: RowStatistics.Phase = activation == .layerNorm ? .layerNormReady : .softmaxReady
        let statistics = Array(state.statistics[slot].prefix(rows))
        if let r = statistics.firstIndex(where: { $0.phase != wanted }) {
            let passes = activation == .layerNorm ? "{SUM…, MEAN} then {VARIANCE…, INV_STDDEV}" : "{MAX…} then {SUM_EXP…, INV_SUM_EXP}"
            throw CommandRejection(.illegalOperand,
                                   "MVOUT with \(activation) reads statistics slot \(slot), row \(r), which holds \(statistics[r].phase); run \(passes) on it first")
        }
        if activation == .softmax { try checkExponentialConstants() }
        return statistics
    }

    /// A statistics pass: an accumulator mvout with normalization command 1–7. Row `r` of the
    /// operand updates row `r` of the selected slot; nothing goes to DRAM. All rows are checked
    /// before any changes.
    mutating func statisticsPass(_ command: NormalizationCommand, over local: LocalOperand) throws {
        if command == .sumExponentials || command == .inverseSumExponentials { try checkExponentialConstants() }
        let slot = state.normalization.statisticsSlot
        var rows = state.statistics[slot]
        for r in 0..<local.rows {
            let values = Array(state.accumulator.row(local.address.row + r).prefix(local.columns))
            do {
                rows[r] = try updated(rows[r], by: command, with: values)
            } catch let problem as StatisticsProblem {
                throw CommandRejection(problem.code, "MVOUT \(command) on statistics slot \(slot), row \(r): \(problem.reason)")
            }
        }
        state.statistics[slot] = rows
    }

    private struct StatisticsProblem: Error {
        var code: AcceleratorError.Code = .illegalOperand
        var reason: String
    }

    /// One row's statistics after `command` over `values` (this mvout's columns of the row).
    private func updated(_ old: RowStatistics, by command: NormalizationCommand, with values: [Int64]) throws -> RowStatistics {
        var row = old
        switch command {
        case .reset:
            preconditionFailure("RESET is an output pass, not a statistics pass")
        case .sum, .mean:
            if row.phase != .summing { row.startPass() }
            row.phase = .summing
            row.sum += values.reduce(0, +)
            row.count += values.count
            if command == .mean {
                try requireElements(row, "SUM…MEAN")
                row.mean = Numerics.truncatedMean(sum: row.sum, count: row.count)
                row.rowLength = row.count
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
                try requireSameLength(row, "VARIANCE…INV_STDDEV", "SUM…MEAN")
                let variance = Numerics.truncatedVariance(sumOfSquares: row.squares, count: row.count)
                row.standardDeviation = Numerics.standardDeviation(variance: variance)
                row.phase = .layerNormReady
            }
        case .max:
            if row.phase != .maximumReady {
                row.startPass()
                row.maximum = Int64.min
            }
            row.phase = .maximumReady
            row.maximum = max(row.maximum, values.max() ?? Int64.min)
            row.count += values.count
            row.rowLength = row.count
        case .sumExponentials, .inverseSumExponentials:
            switch row.phase {
            case .maximumReady:
                try requireElements(row, "MAX")
                row.startPass()
            case .summingExponentials: break
            default:
                throw StatisticsProblem(reason: "it holds \(row.phase), not a maximum; run the MAX pass first")
            }
            row.phase = .summingExponentials
            if let x = values.first(where: { $0 > row.maximum }) {
                throw StatisticsProblem(reason: "the row holds \(x), above its maximum \(row.maximum); the MAX pass must cover the row the SUM_EXP pass reads")
            }
            let constants = state.normalization.iexpConstants, bits = parameters.config.accType.width
            row.sum += values.reduce(0) { $0 + Numerics.iexp($1 - row.maximum, constants: constants, accumulatorBits: bits) }
            row.count += values.count
            if command == .inverseSumExponentials {
                try requireSameLength(row, "SUM_EXP…INV_SUM_EXP", "MAX")
                guard row.sum != 0 else {
                    throw StatisticsProblem(code: .invalidScale, reason: "the exponentials sum to 0, so 127 / sum is not a finite scale")
                }
                row.factor = Numerics.softmaxFactor(sumOfExponentials: row.sum)
                row.phase = .softmaxReady
            }
        }
        return row
    }

    private func requireElements(_ row: RowStatistics, _ pass: String) throws {
        guard row.count > 0 else { throw StatisticsProblem(reason: "the \(pass) pass covered no element") }
    }

    private func requireSameLength(_ row: RowStatistics, _ pass: String, _ first: String) throws {
        try requireElements(row, pass)
        guard row.count == row.rowLength else {
            throw StatisticsProblem(reason: "the \(pass) pass covered \(row.count) elements, the \(first) pass \(row.rowLength); both must cover the same row")
        }
    }

    /// Softmax's i-exp divides by ln 2 through qln2_inv: without it the exponent is undefined.
    private func checkExponentialConstants() throws {
        let inverse = state.normalization.qln2Inverse
        guard inverse > 0 else {
            throw CommandRejection(.illegalOperand,
                                   "Softmax needs qln2_inv > 0 (CONFIG_NORM with constant type 1, 65536 / qln2); it is \(inverse)")
        }
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
