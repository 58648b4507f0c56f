import SpinelHDL

/// Which dataflows the systolic array supports.
public enum Dataflow: String, Codable, Hashable, Sendable, CaseIterable {
    /// Output-stationary: results accumulate inside the PEs.
    case os
    /// Weight-stationary: weights stay in the PEs, partial sums flow down.
    case ws
    /// Both, chosen at run time by CONFIG_EX.
    case both
}

/// How a scale factor is applied (mvin scale, accumulator scale).
public enum ScaleKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// An IEEE-754 binary32 multiply with round-to-nearest-even and saturation (docs/NUMERICS.md).
    case fp32
    /// No scaling hardware: only the identity scale 1.0 is accepted.
    case none
}

/// The memory model the harness simulates and the golden timing model assumes.
public struct MemoryModel: Codable, Hashable, Sendable {
    /// Cycles from an AXI request to its first data beat (or write response).
    public var latencyCycles: Int
    /// Sustained bytes per cycle.
    public var bytesPerCycle: Int

    public init(latencyCycles: Int = 40, bytesPerCycle: Int = 16) {
        self.latencyCycles = latencyCycles
        self.bytesPerCycle = bytesPerCycle
    }
}

/// Every parameter of one accelerator (docs/ARCHITECTURE.md, "Configuration"). Build one from a preset
/// or JSON, then call `parameters()` to validate it and compute the derived values.
public struct AcceleratorConfig: Encodable, Hashable, Sendable {
    /// Names the top module and the output directory.
    public var name: String
    public var meshRows = 16
    public var meshColumns = 16
    public var tileRows = 1
    public var tileColumns = 1
    public var dataflow = Dataflow.both
    public var inputType = HWType.sint(8)
    public var weightType = HWType.sint(8)
    public var accType = HWType.sint(32)
    public var spatialOutputType = HWType.sint(20)
    public var spCapacityKiB = 256
    public var spBanks = 4
    public var accCapacityKiB = 64
    public var accBanks = 2
    public var dmaBusBits = 128
    public var dmaMaxBytes = 64
    public var maxInFlightReqs = 16
    public var ldQueue = 8
    public var exQueue = 8
    public var stQueue = 2
    public var ldReservationEntries = 8
    public var exReservationEntries = 16
    public var stReservationEntries = 4
    public var mvinScale = ScaleKind.fp32
    public var accScale = ScaleKind.fp32
    public var hasNormalizations = false
    /// Statistics slots of the normalizer (Gemmini has 2).
    public var normalizationSlots = 2
    /// The affine LayerNorm extension (activation 6 and LOAD_AFFINE, docs/ACCELERATOR.md
    /// "Affine LayerNorm"): per-column γ and β. Its lane dividers are twice as wide, so every
    /// LayerNorm output row takes 64 cycles instead of 33.
    public var hasAffineLayerNorm = false
    /// Spinel's numerics extensions for real models (docs/NUMERICS.md; docs/ACCELERATOR.md
    /// "Numerics extensions"): the per-lane requantizer, per-lane store scales, the two-segment
    /// I-GELU (activation 7), Softmax relative to the row maximum (activation 5) and the
    /// row-scale store. Needs the affine LayerNorm, fp32 accumulator scaling and SInt32
    /// accumulators.
    public var hasNumericsExtensions = false
    /// Lanes of the normalizer (`NormalizerLane` instances); nil: DIM, one per column. With
    /// fewer, each lane row takes DIM / lanes cycles, the lanes serving a group of columns per
    /// cycle (docs/ACCELERATOR.md, "Normalizer lanes"). Must divide DIM.
    public var normalizerLanes: Int?
    /// The compressed-token attention units (CTAParameters.swift); nil: none.
    public var cta: CTAParameters?
    public var memory = MemoryModel()

    public init(name: String) {
        self.name = name
    }
}

// MARK: Presets

extension AcceleratorConfig {
    public enum Preset: String, CaseIterable, Sendable {
        case `default`
        case transformer
        case small
        case cta
    }

    /// Gemmini's default configuration: DIM 16, int8 inputs, int32 accumulators,
    /// 256 KiB scratchpad in 4 banks, 64 KiB accumulator in 2 banks.
    public static let `default` = AcceleratorConfig(name: "SpinelDefault")

    /// The survey's rebalanced memory for transformers, with the normalization units, the affine
    /// LayerNorm and the numerics extensions (what a real model needs, docs/NUMERICS.md):
    /// 64 KiB scratchpad, 256 KiB accumulator, and 4 normalizer lanes (a row in 4 beats: the
    /// normalizer at 0.28× the array's area, BERT-base's layer at 83% of the MAC bound;
    /// docs/PERFORMANCE.md, "Fewer lanes").
    public static let transformer: AcceleratorConfig = {
        var config = AcceleratorConfig(name: "SpinelTransformer")
        config.spCapacityKiB = 64
        config.accCapacityKiB = 256
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        config.hasNumericsExtensions = true
        config.normalizerLanes = 4
        return config
    }()

    /// DIM 4 and small memories, for fast co-simulation tests.
    public static let small: AcceleratorConfig = {
        var config = AcceleratorConfig(name: "SpinelSmall")
        config.meshRows = 4
        config.meshColumns = 4
        config.spCapacityKiB = 4
        config.accCapacityKiB = 4
        config.dmaBusBits = 64
        config.dmaMaxBytes = 32
        config.maxInFlightReqs = 8
        config.memory = MemoryModel(latencyCycles: 20, bytesPerCycle: 8)
        return config
    }()

    /// The transformer configuration plus the CTA units, with one normalizer lane per column
    /// (dense attention's Softmax at one row per cycle, as docs/CTA.md's comparisons measured it).
    public static let cta: AcceleratorConfig = {
        var config = transformer
        config.name = "SpinelCTA"
        config.normalizerLanes = nil
        config.cta = CTAParameters()
        return config
    }()

    public static func preset(_ preset: Preset) -> AcceleratorConfig {
        switch preset {
        case .default: .default
        case .transformer: .transformer
        case .small: .small
        case .cta: .cta
        }
    }
}
