/// The funct codes of docs/ISA.md: the one list the hardware's dispatcher, the golden model's
/// decoder, the fuzzer and the C header (`ISAHeader`) read.
public enum Funct {
    public static let config: UInt8 = 0
    public static let mvin2: UInt8 = 1
    public static let mvin: UInt8 = 2
    public static let mvout: UInt8 = 3
    public static let computePreloaded: UInt8 = 4
    public static let computeAccumulated: UInt8 = 5
    public static let preload: UInt8 = 6
    public static let flush: UInt8 = 7
    public static let loopWS: UInt8 = 8
    public static let loopWSConfigBounds: UInt8 = 9
    public static let loopWSConfigAddressesAB: UInt8 = 10
    public static let loopWSConfigAddressesDC: UInt8 = 11
    public static let loopWSConfigStridesAB: UInt8 = 12
    public static let loopWSConfigStridesDC: UInt8 = 13
    public static let mvin3: UInt8 = 14
    /// LOOP_CONV_WS and its configuration: convolutions are out of scope.
    public static let loopConvWS: ClosedRange<UInt8> = 15...21
    /// Gemmini's COUNTER: performance counters (`CounterAccess`); answers on the response port.
    public static let counter: UInt8 = 126
    /// Spinel extension (with `hasAffineLayerNorm`): two accumulator rows into the normalizer's γ and β.
    public static let loadAffine: UInt8 = 40
    /// Spinel extension (with `hasNumericsExtensions`): one accumulator row into the
    /// requantizer's per-lane multipliers M_j.
    public static let loadRequantizer: UInt8 = 41
    /// Spinel extension (with `hasNumericsExtensions`): one accumulator row of fp32 bit patterns
    /// into the per-lane store scales.
    public static let loadLaneScales: UInt8 = 42
    /// Compressed-token attention (with a `cta` section; docs/CTA.md "Commands", fields in
    /// `CTAFields`): a hash instance's offsets, M and K, or the exponent factor λ.
    public static let ctaConfig: UInt8 = 48
    /// CTA: hash a level's tokens (accumulator rows of l products) and cluster them.
    public static let ctaCluster: UInt8 = 49
    /// CTA: a level's centroid rows (and the level-1 residuals) from scratchpad token rows.
    public static let ctaAggregate: UInt8 = 50
    /// CTA: probability aggregation of compressed score rows into the two int8 halves of AP.
    public static let ctaProbabilities: UInt8 = 51
    /// CTA: the normalized compressed output, gathered to n token rows in DRAM by CT0.
    public static let ctaGather: UInt8 = 52
    /// CTA: k0, k1, k2 and the overflow report into one accumulator row.
    public static let ctaStatus: UInt8 = 53
    /// The CTA commands' functs.
    public static let cta: ClosedRange<UInt8> = ctaConfig...ctaStatus
}

/// The accelerator error codes of docs/ACCELERATOR.md.
public enum ErrorCode: Int, CaseIterable, Sendable {
    case unknownCommand = 1, tooManyRows, tooManyColumns, localAddressOutOfRange, unsupportedDataflow
    case unsupportedField, invalidScale, computeWithoutPreload, preloadPending, illegalOperand
    case dmaReadFault, dmaWriteFault
    /// CTA_CLUSTER met a token whose code needed a cluster beyond the level's maximum.
    case clusterOverflow

    public static let bits = 4
}
