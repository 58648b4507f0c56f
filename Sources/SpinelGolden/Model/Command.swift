import SpinelISA

/// One decoded accelerator command (docs/ISA.md), fields named, values not yet checked against the
/// accelerator's state. `Command.decode` builds it from `(funct, rs1, rs2)`.
public enum Command: Hashable, Sendable {
    case configExecute(ExecuteConfigFields)
    case configLoad(LoadConfigFields)
    case configStore(StoreConfigFields)
    case configNormalization(NormalizationConfigFields)
    /// MVIN (`which` 0), MVIN2 (1) or MVIN3 (2); each uses its own CONFIG_LD state.
    case mvin(which: Int, dramAddress: UInt64, local: LocalOperand)
    case mvout(dramAddress: UInt64, local: LocalOperand)
    /// `bd` is D (output-stationary) or B (weight-stationary); `c` names the result.
    case preload(bd: LocalOperand, c: LocalOperand)
    /// `bd` is B (output-stationary) or D (weight-stationary).
    case computePreloaded(a: LocalOperand, bd: LocalOperand)
    case computeAccumulated(a: LocalOperand, bd: LocalOperand)
    case flush(skip: Bool)
    case loopWSConfigBounds(LoopWSBounds)
    case loopWSConfigAddressesAB(a: UInt64, b: UInt64)
    case loopWSConfigAddressesDC(d: UInt64, c: UInt64)
    case loopWSConfigStridesAB(a: UInt64, b: UInt64)
    case loopWSConfigStridesDC(d: UInt64, c: UInt64)
    case loopWS(LoopWSLaunch)
    /// Spinel extension: two accumulator rows into the normalizer's γ and β (`hasAffineLayerNorm`).
    case loadAffine(local: LocalOperand)
    /// Spinel extension: one accumulator row into the requantizer's multipliers (`hasNumericsExtensions`).
    case loadRequantizer(local: LocalOperand)
    /// Spinel extension: one accumulator row into the per-lane store scales (`hasNumericsExtensions`).
    case loadLaneScales(local: LocalOperand)
    /// Gemmini's COUNTER: reads (and resets, snapshots or configures) a performance counter. Its
    /// value is the timing model's business (`CounterTiming`); the golden model checks the fields.
    case counter(CounterAccess)
    /// A compressed-token attention command (functs 48–53, with a `cta` section).
    case cta(CTACommand)
}

/// A 32-bit local address (docs/ISA.md, docs/ACCELERATOR.md "Local addresses").
public struct LocalAddress: Hashable, Sendable {
    public var bits: UInt32

    public init(bits: UInt32) { self.bits = bits }

    public static let garbage = LocalAddress(bits: LocalAddressLayout.garbage)

    private typealias Layout = LocalAddressLayout

    /// As B or D a zero matrix, as C "do not write".
    public var isGarbage: Bool { bits == Layout.garbage }
    /// Bit 31: the accumulator rather than the scratchpad.
    public var isAccumulator: Bool { bits >> Layout.accumulatorBit & 1 == 1 }
    /// Bit 30: an accumulator write adds onto the stored value.
    public var accumulates: Bool { bits >> Layout.accumulateBit & 1 == 1 }
    /// Bit 29: an accumulator read returns full-width accType values.
    public var readsFullWidth: Bool { bits >> Layout.fullWidthBit & 1 == 1 }
    /// Bits 28:26: the normalization command of an accumulator mvout; 0 otherwise.
    public var normalizationCommand: Int { Int(Layout.normalizationCommand.value(in: UInt64(bits))) }
    /// Bits 30:26, which a scratchpad address must leave clear.
    public var flagBits: UInt32 { UInt32(Layout.flags.value(in: UInt64(bits))) }
    /// Bits 25:0.
    public var row: Int { Int(Layout.row.value(in: UInt64(bits))) }
}

/// An operand field of mvin, mvout, preload and compute: `[31:0]` local address, `[47:32]`
/// columns, `[63:48]` rows.
///
/// The counts are held as the fields' 16 bits (8 bytes in all, not 24: the timing model copies
/// operands every cycle); a count outside 0...65535 traps.
public struct LocalOperand: Hashable, Sendable {
    public var address: LocalAddress
    private var columnCount: UInt16
    private var rowCount: UInt16

    public var columns: Int {
        get { Int(columnCount) }
        set { columnCount = UInt16(newValue) }
    }
    public var rows: Int {
        get { Int(rowCount) }
        set { rowCount = UInt16(newValue) }
    }

    public init(address: LocalAddress, columns: Int, rows: Int) {
        self.address = address
        columnCount = UInt16(columns)
        rowCount = UInt16(rows)
    }

    public init(field: UInt64) {
        self.init(address: LocalAddress(bits: UInt32(LocalOperandLayout.address.value(in: field))),
                  columns: Int(LocalOperandLayout.columns.value(in: field)), rows: Int(LocalOperandLayout.rows.value(in: field)))
    }
}

/// CONFIG_EX (rs1[1:0] = 0).
public struct ExecuteConfigFields: Hashable, Sendable {
    public var dataflow: Dataflow
    /// Raw rs1[4:3]; applied to mesh results written to the scratchpad.
    public var activation: Int
    /// rs1[7]: change only the A and C strides.
    public var setOnlyStrides: Bool
    public var transposeA: Bool
    public var transposeB: Bool
    /// Scratchpad rows between consecutive rows of A.
    public var aStride: Int
    /// Gemmini's `sys_acc_scale` (fp32 bits): stored, no effect (scaling happens on mvout).
    public var accScaleBits: UInt32
    /// Output-stationary rounding right shift of results leaving the array.
    public var shift: UInt32
    /// Ignored, as in Gemmini.
    public var relu6Shift: Int
    /// Local rows between consecutive rows of C.
    public var cStride: Int
}

/// CONFIG_LD (rs1[1:0] = 1).
public struct LoadConfigFields: Hashable, Sendable {
    /// rs1[4:3]: 0 MVIN, 1 MVIN2, 2 MVIN3 (3 is reserved).
    public var which: Int
    /// Accumulator destinations receive inputType values, sign-extended.
    public var shrunk: Bool
    /// Must be 1 (0 counts as 1).
    public var pixelRepeats: Int
    /// Local rows between consecutive DIM-column blocks.
    public var blockStride: Int
    public var scaleBits: UInt32
    /// DRAM bytes between consecutive rows.
    public var dramStride: UInt64

    public var scale: Float { Numerics.float(bits: scaleBits) }
}

/// CONFIG_ST (rs1[1:0] = 2).
public struct StoreConfigFields: Hashable, Sendable {
    /// Raw rs1[3:2]; applied on accumulator mvout.
    public var activation: Int
    /// rs1[63:4] but the extensions' fields: Gemmini's pooling fields, which Spinel does not support.
    public var poolingFields: UInt64
    /// rs1[17:12]: the requantizer's K, 0 for off (`hasNumericsExtensions`).
    public var requantizerShift: Int = 0
    /// rs1[19:18]: the ACC_SCALE scale's source (`NumericsExtensions.ScaleSource`; 3 is reserved).
    public var scaleSource: Int = 0
    public var dramStride: UInt64
    public var accScaleBits: UInt32

    public var accScale: Float { Numerics.float(bits: accScaleBits) }
}

/// CONFIG_NORM (rs1[1:0] = 3).
public struct NormalizationConfigFields: Hashable, Sendable {
    public var statisticsSlot: Int
    /// Makes Softmax (activation 4) reachable.
    public var activationMSB: Bool
    public var setSlotOnly: Bool
    /// Which constant `constant` sets: false qln2, true qln2_inv.
    public var setsQln2Inverse: Bool
    public var constant: Int32
    public var igeluQb: Int32
    public var igeluQc: Int32
    /// rs1[20:19]: which constants it sets (`NumericsExtensions.ConstantSet`; 3 is reserved).
    public var constantSet: Int = 0
}

/// LOOP_WS_CONFIG_BOUNDS: the loop's size in DIM tiles and the padding of the last tiles.
public struct LoopWSBounds: Hashable, Sendable {
    public var tilesI: Int, tilesJ: Int, tilesK: Int
    public var padI: Int, padJ: Int, padK: Int

    public init(tilesI: Int, tilesJ: Int, tilesK: Int, padI: Int, padJ: Int, padK: Int) {
        (self.tilesI, self.tilesJ, self.tilesK, self.padI, self.padJ, self.padK) = (tilesI, tilesJ, tilesK, padI, padJ, padK)
    }
}

/// LOOP_WS: the launch of a CISC matmul.
public struct LoopWSLaunch: Hashable, Sendable {
    public var exAccumulate: Bool
    public var fullC: Bool
    public var lowD: Bool
    public var activation: Int
    public var aScratchpadID: Int
    public var bScratchpadID: Int
    public var transposeA: Bool
    public var transposeB: Bool
    public var isResidualAdd: Bool

    public init(exAccumulate: Bool, fullC: Bool, lowD: Bool, activation: Int, aScratchpadID: Int, bScratchpadID: Int,
                transposeA: Bool, transposeB: Bool, isResidualAdd: Bool) {
        self.exAccumulate = exAccumulate
        self.fullC = fullC
        self.lowD = lowD
        self.activation = activation
        self.aScratchpadID = aScratchpadID
        self.bScratchpadID = bScratchpadID
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.isResidualAdd = isResidualAdd
    }

    /// act 2 (LayerNorm) or 4 (Softmax): the loop issues the normalization passes before C's output.
    public var normalizes: Bool { activation == Activation.layerNorm.rawValue || activation == Activation.softmax.rawValue }
}
