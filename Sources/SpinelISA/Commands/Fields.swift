/// A field of a command word: `width` bits from bit `low`.
public struct BitField: Hashable, Sendable {
    public let low: Int
    public let width: Int

    public init(low: Int, width: Int) {
        self.low = low
        self.width = width
    }

    public var high: Int { low + width - 1 }
    public var mask: UInt64 { width >= 64 ? ~0 : (1 << UInt64(width)) - 1 }

    /// The field's value in `word`.
    public func value(in word: UInt64) -> UInt64 { word >> UInt64(low) & mask }
    /// `value` placed at the field's bits.
    public func placed(_ value: UInt64) -> UInt64 { (value & mask) << UInt64(low) }
}

/// A local address (docs/ISA.md, docs/ACCELERATOR.md "Local addresses"): bit 31 selects the
/// accumulator, 30 accumulates on write, 29 reads full width, 28:26 hold a normalization command,
/// 25:0 the row; all ones is the garbage address.
public enum LocalAddressLayout {
    public static let bits = 32
    public static let accumulatorBit = 31
    public static let accumulateBit = 30
    public static let fullWidthBit = 29
    /// The normalization command of an accumulator mvout (`NormalizationCommand`).
    public static let normalizationCommand = BitField(low: 26, width: 3)
    /// Bits 30:26, which a scratchpad address must leave clear.
    public static let flags = BitField(low: 26, width: 5)
    public static let row = BitField(low: 0, width: 26)
    /// Bits of a row index: the most rows a local memory can have is 2^rowIndexBits.
    public static var rowIndexBits: Int { row.width }
    /// As B or D a zero matrix, as C "do not write".
    public static let garbage: UInt32 = 0xFFFF_FFFF
}

/// A local operand of mvin, mvout, preload and compute: `[31:0]` local address, `[47:32]`
/// columns, `[63:48]` rows.
public enum LocalOperandLayout {
    public static let address = BitField(low: 0, width: LocalAddressLayout.bits)
    public static let columns = BitField(low: 32, width: 16)
    public static let rows = BitField(low: 48, width: 16)

    /// The DIM-column blocks an operand of `columns` columns moves (an mvin or mvout wider than
    /// DIM goes block by block), at least one.
    public static func blocks(columns: Int, dim: Int) -> Int { max(1, (columns + dim - 1) / dim) }
}

/// CONFIG's rs1[1:0]: which state the command sets.
public enum ConfigKind: Int, CaseIterable, Sendable {
    case execute = 0, load, store, normalization

    public static let field = BitField(low: 0, width: 2)
}

/// CONFIG_EX's fields (rs1[1:0] = 0).
public enum ConfigExecuteFields {
    /// rs1: the dataflow (1 weight-stationary), the activation, only the strides, the transposes,
    /// A's stride, `sys_acc_scale`.
    public static let weightStationaryBit = 2
    public static let activation = BitField(low: 3, width: 2)
    public static let setOnlyStridesBit = 7
    public static let transposeABit = 8
    public static let transposeBBit = 9
    public static let aStride = BitField(low: 16, width: 16)
    public static let accScale = BitField(low: 32, width: 32)
    /// rs2: the output-stationary shift, Gemmini's ignored relu6 shift, C's stride.
    public static let shift = BitField(low: 0, width: 32)
    public static let relu6Shift = BitField(low: 32, width: 16)
    public static let cStride = BitField(low: 48, width: 16)
}

/// CONFIG_LD's fields (rs1[1:0] = 1); rs2 is the DRAM stride.
public enum ConfigLoadFields {
    public static let shrunkBit = 2
    /// 0 MVIN, 1 MVIN2, 2 MVIN3 (3 is reserved).
    public static let state = BitField(low: 3, width: 2)
    public static let pixelRepeats = BitField(low: 8, width: 8)
    public static let blockStride = BitField(low: 16, width: 16)
    public static let scale = BitField(low: 32, width: 32)
}

/// CONFIG_ST's fields (rs1[1:0] = 2); the numerics extensions' fields are `NumericsExtensions`'.
public enum ConfigStoreFields {
    public static let activation = BitField(low: 2, width: 2)
    /// rs1[63:4]: Gemmini's pooling fields (but the extensions' bits), which must be 0.
    public static let poolingFields = BitField(low: 4, width: 60)
    /// rs2.
    public static let dramStride = BitField(low: 0, width: 32)
    public static let accScale = BitField(low: 32, width: 32)
}

/// CONFIG_NORM's fields (rs1[1:0] = 3); the constant set is `NumericsExtensions`'.
public enum ConfigNormFields {
    public static let statisticsSlot = BitField(low: 8, width: 8)
    /// The store activation's MSB: makes Softmax (4) and the extensions' activations reachable.
    public static let activationMSBBit = 16
    public static let setSlotOnlyBit = 17
    /// Which constant `constant` sets: 0 qln2, 1 qln2_inv.
    public static let setsQln2InverseBit = 18
    public static let constant = BitField(low: 32, width: 32)
    /// rs2: the I-GELU's qb and qc.
    public static let igeluQb = BitField(low: 0, width: 32)
    public static let igeluQc = BitField(low: 32, width: 32)
}

/// LOOP_WS's fields.
public enum LoopWSFields {
    /// rs1.
    public static let exAccumulateBit = 0
    public static let fullCBit = 1
    public static let lowDBit = 2
    public static let activation = BitField(low: 8, width: 3)
    public static let bScratchpadID = BitField(low: 16, width: 2)
    public static let aScratchpadID = BitField(low: 18, width: 2)
    /// rs2.
    public static let transposeABit = 0
    public static let transposeBBit = 1
    public static let residualAddBit = 2
    /// LOOP_WS_CONFIG_BOUNDS: tiles in rs2, padding in rs1, I, J, K from the low bits.
    public static let bounds = [BitField(low: 0, width: 16), BitField(low: 16, width: 16), BitField(low: 32, width: 16)]
}
