/// The pipeline's sizes and latencies that the golden timing model reproduces
/// (docs/MICROARCHITECTURE.md). The hardware modules that have them read them from here, and the
/// co-simulation tests measure them on the RTL (NormalizerTests, TraceReplayTests).
public enum PipelineTiming {
    // MARK: Execute controller

    /// Operand sets: the computing pair, the loading pair, the pair after it (read while the
    /// computing pair runs, so that its load can start with the next window) and one being
    /// accepted.
    public static let executeOperandSets = 4
    /// Entries of the retire queue (pairs and CONFIG_EX from acceptance to retirement).
    public static let executeRetireEntries = 8

    // MARK: The harness's fence (spinel_harness.cpp)

    /// A fence after work returns this many cycles after the last retirement (the harness waits
    /// for two idle cycles), and the next command issues then.
    public static let fenceCycles: UInt64 = 3
    /// A fence with nothing to wait for.
    public static let emptyFenceCycles: UInt64 = 2

    // MARK: CTA controller

    /// Cycles from a token's `in.fire` at the cluster index to its id on `out`: two per tree
    /// level, one in the output queue (`ClusterIndexModule`).
    public static func clusterIndexLatency(levels: Int) -> Int { 2 * levels + 1 }
    /// Cycles from CTA_CLUSTER's last product read to its retirement (`CTAController`): the
    /// row arrives (1), the hash unit's register (1), the cluster index (one level per hash
    /// digit of every hash position, `CTAParameters.clusterLevels`), the cycle the level takes
    /// the count (1).
    public static func clusterDrainCycles(levels: Int) -> Int { 2 + clusterIndexLatency(levels: levels) + 1 }
    /// A CTA command whose state checks fail (CTA_AGGREGATE, CTA_PROBABILITIES, CTA_GATHER;
    /// `CTAController.checkCycle`): cycles from the cycle the controller takes it to its
    /// retirement (the check cycle, then `finish`).
    public static let ctaCheckFailureCycles = 2
    /// CTA_AGGREGATE of n token rows and k clusters, from the cycle the controller takes it to
    /// its retirement (CTAController; exact on every CTA_AGGREGATE of CTAProgramTests). Its
    /// footprint is the whole scratchpad, so its reads and writes never wait for a bank: the
    /// check cycle (1, the unit's `start` of `accumulate`); n reads, one per cycle; the last row
    /// enters the unit in the cycle after its read; the unit takes the `average` start once
    /// idle, 2 cycles later; its first centroid is written 4 cycles after that, then one per
    /// cycle; `finish` (1): n + k + 8. With residuals, from the last centroid's write: the
    /// unit's `start` and the first read in the next cycle, n reads one per cycle, the last
    /// residual written 4 cycles after its read: n + 4 more.
    public static func aggregateCycles(tokens n: Int, clusters k: Int, residuals: Bool) -> Int {
        let centroids = n + k + 8
        return residuals ? centroids + n + 4 : centroids
    }

    /// Pipeline registers of the probability aggregation unit's fp32 exponent multiply (its `ScaleUnit`).
    public static let probabilityScaleLatency = 2
    /// Cycles from a token pair's cluster-table read in the probability aggregation unit to its
    /// AP write: table, scores, sum, the scale unit, the exp table, the accumulate.
    public static let probabilityAggregationLatency = 4 + probabilityScaleLatency
    /// Cycles from the probability quantizer's last AP entry of a group to its first row: the
    /// dividers' start (1), the division (`floatDividerLatency`), the first buffer read (1), the
    /// output register (1).
    public static let probabilityQuantizerCycles = floatDividerLatency + 3
    /// CTA_PROBABILITIES: cycles from the cycle the controller takes it to its first score read
    /// over n tokens (the check cycle, then one token's ids per cycle into the aggregation unit),
    /// once the unit has cleared after reset (`probabilityUnitReadyCycle`). A command that continues
    /// a set while the unit still holds the tokens' ids (no CTA_CLUSTER since they were loaded)
    /// loads none: n = 0.
    public static func probabilitiesFirstRead(tokens n: Int) -> Int { n + 2 }
    /// The first cycle (0 the first after reset) in which the probability aggregation unit takes
    /// tokens: it clears its AP memories first, one word of each per cycle (K = `maxClusters`
    /// words). A CTA_PROBABILITIES taken earlier loads its tokens from this cycle on.
    public static func probabilityUnitReadyCycle(maxClusters: Int) -> UInt64 { UInt64(maxClusters) }
    /// CTA_PROBABILITIES: cycles from a row group's last score read to the next group's first
    /// read, or after the last group to the retirement (CTAController+Probabilities.swift): the
    /// last chunk lands (1), `start` (1), the unit runs ⌈n/2⌉ token pairs and drains its pipeline
    /// (`probabilityAggregationLatency`), its read-out starts (1) and streams the k1 + k2 entries,
    /// the quantizer's factors (`probabilityQuantizerCycles`) and its `blocks · tiles` rows, one per
    /// cycle (absent rows too).
    public static func probabilitiesGroupCycles(tokens n: Int, entries: Int, blocks: Int, tiles: Int) -> Int {
        3 + (n + 1) / 2 + probabilityAggregationLatency + entries + probabilityQuantizerCycles + blocks * tiles
    }

    /// CTA_GATHER's gather output unit: cycles from an accepted start to its factors (the
    /// divider's, then the multiply by s_out), and from a row in to its output row.
    public static let gatherFactorLatency = floatDividerLatency + 1
    public static let gatherOutputLatency = 3

    // MARK: Sequential arithmetic

    /// Cycles from an accepted `start` to `done` of the restoring divider: one per dividend bit.
    public static func sequentialDividerLatency(dividendBits: Int) -> Int { dividendBits }
    /// The same for the square root: one per result bit.
    public static func sequentialSquareRootLatency(bits: Int) -> Int { bits / 2 }
    /// Quotient bits the binary32 divider's divide phase computes: 24 significand bits and the guard bit.
    public static let floatDividerQuotientBits = 25
    /// Its cycles from an accepted `start` to `done`: unpack, one per quotient bit, round.
    public static let floatDividerLatency = 1 + floatDividerQuotientBits + 1

    // MARK: Normalizer

    /// Width of the normalizer's running sums.
    public static let normalizerRunningBits = 96
    /// Width of the variance whose square root INV_STDDEV takes.
    public static let normalizerSquareRootBits = 64

    /// Cycles from a row's arrival at the normalizer to its `result` (0: the same cycle), for a
    /// row through its lanes (not a lane-parameter row). With fewer lanes than columns the row
    /// takes `normalizerBeats` cycles through them, and a finishing row's computation starts in
    /// the last.
    public static func normalizerLatency(command: NormalizationCommand, activation: Int, parameters: AcceleratorParameters) -> Int {
        let divider = sequentialDividerLatency(dividendBits: normalizerRunningBits)
        let beats = parameters.normalizerBeats - 1
        switch command {
        case .mean: return beats + divider
        case .inverseStandardDeviation:
            // The variance, its root, then the reciprocal 2^(e+23) / std in the same divider.
            return beats + divider + sequentialSquareRootLatency(bits: normalizerSquareRootBits) + divider
        case .inverseSumOfExponentials: return beats + floatDividerLatency
        default: return beats
        }
    }

    /// Whether the store controller reads the next row in the cycle the normalizer's result for
    /// a long row leaves (`StoreController`'s `pipelined_done`): for a row that takes several
    /// beats through the lanes and finishes no pass. A finishing row, and every long row with
    /// DIM lanes, lets the next read fire in the cycle after.
    public static func normalizerPipelined(command: NormalizationCommand, parameters: AcceleratorParameters) -> Bool {
        parameters.normalizerBeats > 1 && !command.finishes
    }

    /// Cycles a CONFIG_NORM (rs1 `configNormRs1`) keeps the normalizer busy after the store
    /// controller takes it: with the numerics extensions, one that sets qb and qc (Gemmini's
    /// constant set, not slot-only) divides Softmax's constant factor c; nil otherwise.
    public static func normalizerConstantLatency(configNormRs1 rs1: UInt64, parameters: AcceleratorParameters) -> Int? {
        let constantSet = rs1 >> UInt64(NumericsExtensions.constantSetLow) & (1 << UInt64(NumericsExtensions.constantSetBits) - 1)
        guard parameters.config.hasNumericsExtensions && constantSet == 0 && rs1 >> UInt64(ConfigNormFields.setSlotOnlyBit) & 1 == 0 else { return nil }
        return floatDividerLatency
    }
}
