/// The fields of the compressed-token attention commands (functs 48–53, `Funct.cta`; docs/CTA.md,
/// "Commands"). Local operands are the usual `LocalOperandLayout`; what differs is written here.
public enum CTAFields {
    /// The clustering levels: 0 the queries, 1 the keys/values, 2 their residuals.
    public static let levels = 3

    // MARK: CTA_CONFIG (48)

    /// rs1[1:0]: what CTA_CONFIG sets: a level's hash instance (0, 1, 2) or the exponent factor (3).
    public static let configTarget = BitField(low: 0, width: 2)
    /// The `configTarget` of the exponent factor λ.
    public static let exponentTarget = 3
    /// rs1[31:8] (a hash instance): the multiplier M of 1/w ≈ M·2^−K, at most `hashReciprocalBits` bits.
    public static let hashMultiplier = BitField(low: 8, width: 24)
    /// rs1[37:32] (a hash instance): the shift K.
    public static let hashShift = BitField(low: 32, width: 6)
    /// rs1[63:32] (the exponent factor): λ as fp32 bits.
    public static let exponentFactor = BitField(low: 32, width: 32)
    /// rs2 of a hash instance is a local operand: one plain accumulator row of l offsets.

    // MARK: CTA_CLUSTER (49), CTA_AGGREGATE (50)

    /// rs1[1:0] of CTA_CLUSTER, rs1[33:32] of CTA_AGGREGATE: the level.
    public static let clusterLevel = BitField(low: 0, width: 2)
    public static let aggregateLevel = BitField(low: 32, width: 2)
    /// rs1[34] of CTA_AGGREGATE: after the centroids, replace the token rows by their residuals
    /// (level 1 only).
    public static let residualsBit = 34
    /// rs1[31:0] of CTA_AGGREGATE and CTA_PROBABILITIES: the local address the rows go to.
    public static let outputAddress = BitField(low: 0, width: LocalAddressLayout.bits)
    /// rs1[47:32] of CTA_PROBABILITIES: the first compressed query row of the command's group
    /// (its rows are q0 ..< q0 + rows; 0 starts a new set, a later group must follow the rows so far).
    public static let firstRow = BitField(low: 32, width: 16)

    // MARK: Reserved bits

    /// The bits of a register each command reads; every other bit is reserved: set, the command
    /// is `unsupportedField`. (CTA_CONFIG's rs2 of λ and CTA_STATUS's rs1 use none.)
    public static let configHashRs1 = [configTarget, hashMultiplier, hashShift]
    public static let configExponentRs1 = [configTarget, exponentFactor]
    public static let clusterRs1 = [clusterLevel]
    public static let aggregateRs1 = [outputAddress, aggregateLevel, BitField(low: residualsBit, width: 1)]
    public static let probabilitiesRs1 = [outputAddress, firstRow]
    public static let statusRs2 = [outputAddress]

    /// The reserved bits of a register whose used fields are `used`.
    public static func reservedBits(besides used: [BitField]) -> UInt64 {
        ~used.reduce(UInt64(0)) { $0 | $1.placed(~0) }
    }

    // MARK: CTA_STATUS (53)

    /// The values CTA_STATUS writes (accumulator values): k0, k1, k2 (−1 for a level with no
    /// cluster table: never clustered, or its last CTA_CLUSTER overflowed), then the token of
    /// the last cluster overflow (−1 when none). Value i goes to lane i mod DIM of row
    /// `row + i / DIM`: one row when DIM ≥ 4.
    public static let statusValues = 4

    /// Accumulator rows CTA_STATUS writes on an array of `dim` columns.
    public static func statusRows(dim: Int) -> Int { (statusValues + dim - 1) / dim }

    // MARK: What the RTL runs today

    /// The CTA commands the accelerator's RTL runs (docs/CTA.md, "State of the work"): on a
    /// configuration with a `cta` section its dispatcher checks and routes them to the store
    /// lane; the others it still rejects as `unknownCommand`, which `spinel check` reports
    /// against the golden model. The timing model reads this list too.
    public static let functsInHardware: [UInt8] = [Funct.ctaConfig, Funct.ctaCluster, Funct.ctaAggregate, Funct.ctaProbabilities, Funct.ctaGather,
                                                   Funct.ctaStatus]
}
