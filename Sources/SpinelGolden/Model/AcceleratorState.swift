import SpinelISA

/// Everything a program can change in the accelerator, except the command counter and the error
/// latch: a failing command leaves this unchanged (docs/ACCELERATOR.md, "Errors").
public struct AcceleratorState: Hashable, Sendable {
    /// inputType values.
    public var scratchpad: LocalMemory
    /// accType values.
    public var accumulator: LocalMemory
    public var execute: ExecuteSettings
    /// One per mvin (MVIN, MVIN2, MVIN3).
    public var loads: [LoadSettings]
    public var store: StoreSettings
    public var normalization: NormalizationSettings
    /// The normalizer's statistics: `normalizationSlots` slots of DIM rows each (empty without
    /// normalization units). Row `r` of a normalization mvout uses row `r` of the selected slot.
    public var statistics: [[RowStatistics]]
    /// A PRELOAD waiting for its COMPUTE.
    public var pendingPreload: PendingPreload?
    /// The dataflow of the last pair that ran: a COMPUTE_ACCUMULATED must continue in it.
    public var lastPairDataflow: Dataflow?
    public var array: ArrayState
    /// The LOOP_WS registers and the accumulator half of the next loop.
    public var loop = LoopWSSettings()
    /// The compressed-token attention units' state (nil without a `cta` section).
    public var cta: CTAState?

    /// The state after reset (docs/ACCELERATOR.md, "Reset state").
    public init(resetFor parameters: AcceleratorParameters) {
        scratchpad = LocalMemory(rows: parameters.spRows, dim: parameters.dim)
        accumulator = LocalMemory(rows: parameters.accRows, dim: parameters.dim)
        execute = ExecuteSettings(dataflow: parameters.config.dataflow == .ws ? .ws : .os)
        loads = Array(repeating: LoadSettings(blockStride: parameters.dim), count: 3)
        store = StoreSettings()
        normalization = NormalizationSettings()
        let slots = parameters.config.hasNormalizations ? parameters.config.normalizationSlots : 0
        statistics = Array(repeating: Array(repeating: RowStatistics(), count: parameters.dim), count: slots)
        pendingPreload = nil
        array = ArrayState(dim: parameters.dim)
        cta = parameters.config.cta.map { CTAState(hashLength: $0.hashLength) }
    }
}

/// Rows of DIM elements, each held as a sign-extended Int64.
public struct LocalMemory: Hashable, Sendable {
    public let rows: Int
    public let dim: Int
    private var elements: [Int64]

    init(rows: Int, dim: Int) {
        self.rows = rows
        self.dim = dim
        elements = Array(repeating: 0, count: rows * dim)
    }

    public subscript(row: Int, lane: Int) -> Int64 {
        get { elements[row * dim + lane] }
        set { elements[row * dim + lane] = newValue }
    }

    public func row(_ row: Int) -> [Int64] { Array(elements[row * dim..<(row + 1) * dim]) }
}

/// A DIM×DIM matrix of the array: an operand after transposing and padding, the weights, the
/// output-stationary accumulators.
public struct Tile: Hashable, Sendable {
    public let dim: Int
    private var elements: [Int64]

    public init(dim: Int) {
        self.dim = dim
        elements = Array(repeating: 0, count: dim * dim)
    }

    public subscript(row: Int, column: Int) -> Int64 {
        get { elements[row * dim + column] }
        set { elements[row * dim + column] = newValue }
    }
}

/// CONFIG_EX state.
public struct ExecuteSettings: Hashable, Sendable {
    /// `.os` or `.ws`, never `.both`.
    public var dataflow: Dataflow
    /// Raw activation number for mesh results written to the scratchpad.
    public var activation = 0
    public var shift = 0
    public var transposeA = false
    public var transposeB = false
    public var aStride = 1
    public var cStride = 1
    /// `sys_acc_scale`: kept, without effect.
    public var accScaleBits = Float(1).bitPattern
}

/// CONFIG_LD state of one mvin.
public struct LoadSettings: Hashable, Sendable {
    public var dramStride: UInt64 = 0
    public var scale: Float = 1
    public var shrunk = false
    public var blockStride: Int
}

/// CONFIG_ST state.
public struct StoreSettings: Hashable, Sendable {
    public var dramStride: UInt64 = 0
    /// Raw activation number for accumulator mvouts.
    public var activation = 0
    public var accScale: Float = 1
    /// The requantizer's K (0: off; `hasNumericsExtensions`).
    public var requantizerShift = 0
    public var scaleSource = NumericsExtensions.ScaleSource.store
}

/// CONFIG_NORM state.
public struct NormalizationSettings: Hashable, Sendable {
    public var statisticsSlot = 0
    /// Makes the store activation `4 | CONFIG_ST activation` (Softmax when that is 0).
    public var activationMSB = false
    public var qln2: Int32 = 0
    public var qln2Inverse: Int32 = 0
    public var igeluQb: Int32 = 0
    public var igeluQc: Int32 = 0
    /// LOAD_AFFINE's γ and β per lane (empty: every lane's γ is 1 and β 0, as after reset).
    public var affineGamma: [Int64] = []
    public var affineBeta: [Int64] = []
    /// LOAD_REQUANT's multipliers per lane (empty: every lane's M is 1, as after reset).
    public var requantizerMultipliers: [Int64] = []
    /// LOAD_LANE_SCALES's scales per lane (empty: every lane's scale is 1.0, as after reset).
    public var laneScales: [Float] = []
    /// The two-segment I-GELU's constants (CONFIG_NORM constant sets 1 and 2; 0 after reset).
    public var twoSegmentGELU = TwoSegmentGELUConstants(qb1: 0, qc1: 0, qb2: 0, qc2: 0, qt: 0, q1: 0)

    /// The requantizer's M of lane `lane` (1 before any LOAD_REQUANT).
    public func requantizerMultiplier(lane: Int) -> Int64 {
        requantizerMultipliers.isEmpty ? 1 : requantizerMultipliers[lane]
    }

    /// The store scale of lane `lane` (1.0 before any LOAD_LANE_SCALES).
    public func laneScale(lane: Int) -> Float {
        laneScales.isEmpty ? 1 : laneScales[lane]
    }

    /// The affine LayerNorm's γ and β of lane (column) `lane` of an output mvout (before any
    /// LOAD_AFFINE: γ = 1.0, β = 0).
    public func affine(lane: Int) -> (gamma: Int64, beta: Int64) {
        affineGamma.isEmpty ? (1 << Int64(LayerNormFormat.gammaFractionBits), 0) : (affineGamma[lane], affineBeta[lane])
    }

    /// The i-exp constants (Softmax's qb and qc travel in the I-GELU fields).
    public var iexpConstants: IExpConstants {
        IExpConstants(qln2: Int64(qln2), qln2Inverse: Int64(qln2Inverse), qb: Int64(igeluQb), qc: Int64(igeluQc))
    }
}

/// A PRELOAD's operands, kept until the COMPUTE that consumes them.
public struct PendingPreload: Hashable, Sendable {
    /// D (output-stationary) or B (weight-stationary).
    public var bd: LocalOperand
    public var c: LocalOperand
}

/// What the systolic array keeps between computes.
public struct ArrayState: Hashable, Sendable {
    /// Weight-stationary: the weights loaded by the last COMPUTE_PRELOADED.
    public var weights: Tile
    /// Output-stationary: the accumulators S, as accType values; zero again after a pair that
    /// wrote its C.
    public var accumulators: Tile

    init(dim: Int) {
        weights = Tile(dim: dim)
        accumulators = Tile(dim: dim)
    }
}
