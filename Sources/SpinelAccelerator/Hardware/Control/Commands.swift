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
public struct RoCCCommand: Aggregate {
    public var funct: Signal
    public var rs1: Signal
    public var rs2: Signal

    public init(funct: Signal, rs1: Signal, rs2: Signal) {
        self.funct = funct
        self.rs1 = rs1
        self.rs2 = rs2
    }

    public init() {
        self.init(funct: Signal(.uint(7)), rs1: Signal(.uint(64)), rs2: Signal(.uint(64)))
    }

    public func map(_ f: FieldMapper) -> RoCCCommand {
        RoCCCommand(funct: f("funct", funct), rs1: f("rs1", rs1), rs2: f("rs2", rs2))
    }
}

/// Which LOOP_WS a command belongs to: `internal` for the commands a LOOP_WS unrolls into,
/// `slot` tells two loops in flight apart.
public struct LoopTag: Aggregate {
    public var `internal`: Signal
    public var slot: Signal

    public init(internal: Signal, slot: Signal) {
        self.internal = `internal`
        self.slot = slot
    }

    public init() { self.init(internal: Signal(.bool), slot: Signal(.bool)) }

    public func map(_ f: FieldMapper) -> LoopTag {
        LoopTag(internal: f("internal", `internal`), slot: f("slot", slot))
    }
}

/// A command from the host or from the LOOP_WS unroller, before the dispatcher numbers it.
public struct IssuedCommand: Aggregate {
    public var command: RoCCCommand
    /// The host command's index (a LOOP_WS's own index for the commands it unrolls into).
    public var index: Signal
    public var loop: LoopTag

    public init(command: RoCCCommand, index: Signal, loop: LoopTag) {
        self.command = command
        self.index = index
        self.loop = loop
    }

    public init() { self.init(command: RoCCCommand(), index: Signal(.uint(32)), loop: LoopTag()) }

    public func map(_ f: FieldMapper) -> IssuedCommand {
        IssuedCommand(command: f("cmd", command), index: f("index", index), loop: f("loop", loop))
    }
}

/// A command on its way to a controller: its host index (reported when it retires and in
/// errors), its place in the dispatcher's order (which the reservation station uses for age),
/// and its loop.
public struct RoutedCommand: Aggregate {
    public var command: RoCCCommand
    public var index: Signal
    public var sequence: Signal
    public var loop: LoopTag

    public init(command: RoCCCommand, index: Signal, sequence: Signal, loop: LoopTag) {
        self.command = command
        self.index = index
        self.sequence = sequence
        self.loop = loop
    }

    public init() {
        self.init(command: RoCCCommand(), index: Signal(.uint(32)), sequence: Signal(.uint(32)), loop: LoopTag())
    }

    public func map(_ f: FieldMapper) -> RoutedCommand {
        RoutedCommand(command: f("cmd", command), index: f("index", index), sequence: f("sequence", sequence), loop: f("loop", loop))
    }
}

/// A command leaving the machine: its host index and its loop.
public struct Retirement: Aggregate {
    public var index: Signal
    public var loop: LoopTag

    public init(index: Signal, loop: LoopTag) {
        self.index = index
        self.loop = loop
    }

    public init() { self.init(index: Signal(.uint(32)), loop: LoopTag()) }

    public func map(_ f: FieldMapper) -> Retirement {
        Retirement(index: f("index", index), loop: f("loop", loop))
    }
}

/// A PRELOAD fused with the COMPUTE that consumes it (or a CONFIG_EX), for the execute controller.
public struct ExecuteCommand: Aggregate {
    /// The COMPUTE (or CONFIG_EX) and its index.
    public var command: RoutedCommand
    /// The PRELOAD's rs1 (B or D) and rs2 (C); unused for CONFIG_EX.
    public var preloadRs1: Signal
    public var preloadRs2: Signal

    public init(command: RoutedCommand, preloadRs1: Signal, preloadRs2: Signal) {
        self.command = command
        self.preloadRs1 = preloadRs1
        self.preloadRs2 = preloadRs2
    }

    public init() {
        self.init(command: RoutedCommand(), preloadRs1: Signal(.uint(64)), preloadRs2: Signal(.uint(64)))
    }

    public func map(_ f: FieldMapper) -> ExecuteCommand {
        ExecuteCommand(command: f("compute", command), preloadRs1: f("preload_rs1", preloadRs1), preloadRs2: f("preload_rs2", preloadRs2))
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
    public var isGarbage: Signal { address === Signal(BigInteger(Int(LocalAddressLayout.garbage))) }
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
            blocks +% mux(columns > Signal(BigInteger(boundary * dim)), Signal.literal(1, .uint(16)), zero)
        }
    }
}

/// Rows `low...high` of one local memory, when `valid`.
public struct RowRange: Aggregate {
    public static let bits = 28

    public var valid: Signal
    public var low: Signal
    public var high: Signal

    public init(valid: Signal, low: Signal, high: Signal) {
        self.valid = valid
        self.low = low
        self.high = high
    }

    public init() {
        self.init(valid: Signal(.bool), low: Signal(.uint(Self.bits)), high: Signal(.uint(Self.bits)))
    }

    public func map(_ f: FieldMapper) -> RowRange {
        RowRange(valid: f("valid", valid), low: f("low", low), high: f("high", high))
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
public struct Footprint: Aggregate {
    /// B and D of a pair; the source of an mvout.
    public var scratchpadRead: RowRange
    /// A of a pair.
    public var scratchpadReadA: RowRange
    public var scratchpadWrite: RowRange
    public var accumulatorRead: RowRange
    public var accumulatorWrite: RowRange

    public init(scratchpadRead: RowRange, scratchpadReadA: RowRange, scratchpadWrite: RowRange, accumulatorRead: RowRange,
                accumulatorWrite: RowRange) {
        self.scratchpadRead = scratchpadRead
        self.scratchpadReadA = scratchpadReadA
        self.scratchpadWrite = scratchpadWrite
        self.accumulatorRead = accumulatorRead
        self.accumulatorWrite = accumulatorWrite
    }

    public init() {
        self.init(scratchpadRead: RowRange(), scratchpadReadA: RowRange(), scratchpadWrite: RowRange(), accumulatorRead: RowRange(),
                  accumulatorWrite: RowRange())
    }

    public func map(_ f: FieldMapper) -> Footprint {
        Footprint(scratchpadRead: f("sp_read", scratchpadRead), scratchpadReadA: f("sp_read_a", scratchpadReadA),
                  scratchpadWrite: f("sp_write", scratchpadWrite),
                  accumulatorRead: f("acc_read", accumulatorRead), accumulatorWrite: f("acc_write", accumulatorWrite))
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
