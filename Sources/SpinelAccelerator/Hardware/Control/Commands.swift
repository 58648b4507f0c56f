import SpinelHDL

extension BigInteger {
    /// A funct code (`Funct`) as a literal's value.
    init(_ funct: UInt8) { self.init(Int(funct)) }
}

extension Signal {
    /// The bits of a command word's `field` (SpinelISA's field layouts).
    func field(_ field: BitField) -> Signal { bits(field.high, field.low) }
}

/// A raw command as it arrives at the command port.
@Bundle
public struct RoCCCommand: Aggregate {
    public var funct: Signal
    public var rs1: Signal
    public var rs2: Signal

    public init() {
        self.init(funct: Signal(.uint(7)), rs1: Signal(.uint(64)), rs2: Signal(.uint(64)))
    }
}

/// Which LOOP_WS a command belongs to: `internal` for the commands a LOOP_WS unrolls into,
/// `slot` tells two loops in flight apart.
@Bundle
public struct LoopTag: Aggregate {
    public var `internal`: Signal
    public var slot: Signal

    public init() { self.init(internal: Signal(.bool), slot: Signal(.bool)) }
}

/// A command from the host or from the LOOP_WS unroller, before the dispatcher numbers it.
@Bundle
public struct IssuedCommand: Aggregate {
    @Name("cmd") public var command: RoCCCommand
    /// The host command's index (a LOOP_WS's own index for the commands it unrolls into).
    public var index: Signal
    public var loop: LoopTag

    public init() { self.init(command: RoCCCommand(), index: Signal(.uint(32)), loop: LoopTag()) }
}

/// A command on its way to a controller: its host index (reported when it retires and in
/// errors), its place in the dispatcher's order (which the reservation station uses for age),
/// and its loop.
@Bundle
public struct RoutedCommand: Aggregate {
    @Name("cmd") public var command: RoCCCommand
    public var index: Signal
    public var sequence: Signal
    public var loop: LoopTag

    public init() {
        self.init(command: RoCCCommand(), index: Signal(.uint(32)), sequence: Signal(.uint(32)), loop: LoopTag())
    }
}

/// A command leaving the machine: its host index and its loop.
@Bundle
public struct Retirement: Aggregate {
    public var index: Signal
    public var loop: LoopTag

    public init() { self.init(index: Signal(.uint(32)), loop: LoopTag()) }
}

/// A PRELOAD fused with the COMPUTE that consumes it (or a CONFIG_EX), for the execute controller.
@Bundle
public struct ExecuteCommand: Aggregate {
    /// The COMPUTE (or CONFIG_EX) and its index.
    @Name("compute") public var command: RoutedCommand
    /// The PRELOAD's rs1 (B or D) and rs2 (C); unused for CONFIG_EX.
    @Name("preload_rs1") public var preloadRs1: Signal
    @Name("preload_rs2") public var preloadRs2: Signal

    public init() {
        self.init(command: RoutedCommand(), preloadRs1: Signal(.uint(64)), preloadRs2: Signal(.uint(64)))
    }
}

/// The fields of a local operand (`rs[31:0]` address, `[47:32]` columns, `[63:48]` rows) and
/// of its address (docs/ACCELERATOR.md, "Local addresses").
public struct OperandFields {
    public let word: Signal

    public init(_ word: Signal) { self.word = word }

    public var address: Signal { word.field(LocalOperandLayout.address) }
    public var columns: Signal { word.field(LocalOperandLayout.columns) }
    public var rows: Signal { word.field(LocalOperandLayout.rows) }
    public var isGarbage: Signal { address === Signal(Int(LocalAddressLayout.garbage)) }
    public var isAccumulator: Signal { word[LocalAddressLayout.accumulatorBit] }
    public var accumulates: Signal { word[LocalAddressLayout.accumulateBit] }
    public var readsFullWidth: Signal { word[LocalAddressLayout.fullWidthBit] }
    public var normalization: Signal { word.field(LocalAddressLayout.normalizationCommand) }
    /// Bits 30:26: must be clear in a scratchpad address.
    public var flagBits: Signal { word.field(LocalAddressLayout.flags) }
    public var row: Signal { word.field(LocalAddressLayout.row) }

    /// The last DIM-column block a move of this operand's columns touches, ⌊(columns − 1) / DIM⌋
    /// (0 for no columns), 16 bits. A shift when DIM is a power of two; otherwise one comparison
    /// per block boundary up to the most columns a move can have (`dmaMaxBytes` of the narrowest
    /// elements; the dispatcher refuses more before anything reads this).
    static func lastBlock(ofColumns columns: Signal, _ parameters: AcceleratorParameters) -> Signal {
        let dim = parameters.dim
        let zero = Signal.literal(0, .uint(16))
        if dim & (dim - 1) == 0 {
            return mux(columns === 0, zero, ((columns -% 1) >> dim.trailingZeroBitCount).extended(to: 16))
        }
        let maxColumns = parameters.config.dmaMaxBytes / parameters.inputBytes
        return (1..<max(1, (maxColumns + dim - 1) / dim)).reduce(zero) { blocks, boundary in
            blocks +% mux(columns > Signal(boundary * dim), Signal.literal(1, .uint(16)), zero)
        }
    }
}

/// Rows `low...high` of one local memory, when `valid`.
@Bundle
public struct RowRange: Aggregate {
    public static let bits = 28

    public var valid: Signal
    public var low: Signal
    public var high: Signal

    public init() {
        self.init(valid: Signal(.bool), low: Signal(.uint(Self.bits)), high: Signal(.uint(Self.bits)))
    }

    /// Whether the two ranges share a row.
    public func overlaps(_ other: RowRange) -> Signal {
        valid && other.valid && !(high < other.low) && !(other.high < low)
    }

    /// The smallest range covering both (conservative).
    public func union(_ other: RowRange) -> RowRange {
        RowRange(valid: valid || other.valid,
                 low: mux(!valid, other.low, mux(!other.valid, low, mux(low < other.low, low, other.low))),
                 high: mux(!valid, other.high, mux(!other.valid, high, mux(high > other.high, high, other.high))))
    }
}

/// The local rows a command reads and writes, for the reservation station's hazard checks.
@Bundle
public struct Footprint: Aggregate {
    /// B and D of a pair; the source of an mvout.
    @Name("sp_read") public var scratchpadRead: RowRange
    /// A of a pair.
    @Name("sp_read_a") public var scratchpadReadA: RowRange
    @Name("sp_write") public var scratchpadWrite: RowRange
    @Name("acc_read") public var accumulatorRead: RowRange
    @Name("acc_write") public var accumulatorWrite: RowRange

    public init() {
        self.init(scratchpadRead: RowRange(), scratchpadReadA: RowRange(), scratchpadWrite: RowRange(), accumulatorRead: RowRange(),
                  accumulatorWrite: RowRange())
    }

    /// Whether running `younger` before this (older) command could change either's result:
    /// read-after-write, write-after-read or write-after-write on a shared row.
    public func conflicts(with younger: Footprint) -> Signal {
        scratchpadWrite.overlaps(younger.scratchpadRead) || scratchpadWrite.overlaps(younger.scratchpadReadA)
            || scratchpadWrite.overlaps(younger.scratchpadWrite)
            || scratchpadRead.overlaps(younger.scratchpadWrite) || scratchpadReadA.overlaps(younger.scratchpadWrite)
            || accumulatorWrite.overlaps(younger.accumulatorRead) || accumulatorWrite.overlaps(younger.accumulatorWrite)
            || accumulatorRead.overlaps(younger.accumulatorWrite)
    }
}
