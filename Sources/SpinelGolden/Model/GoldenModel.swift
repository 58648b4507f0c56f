import SpinelISA

/// The ISA-level golden model: runs a command stream in program order on its own scratchpad,
/// accumulator and array, with the numerics of docs/NUMERICS.md and the command semantics of
/// docs/ACCELERATOR.md. It is written from those documents, never from the hardware modules, so
/// that the two can check each other.
public struct GoldenModel: Sendable {
    public let parameters: AcceleratorParameters
    public internal(set) var state: AcceleratorState
    /// Commands accepted so far; the next command gets this index.
    public private(set) var commandCount: UInt64 = 0
    /// The first failure; later failures do not replace it.
    public private(set) var error: AcceleratorError?
    /// The outcome of the last command: its failure, or nil if it succeeded.
    public private(set) var lastRejection: AcceleratorError?
    /// The timing model's golden pass (`TimingProgram`): every check, every configuration
    /// register and every statistics phase as usual, but no element moves or is computed (the
    /// local memories, the array and the statistics' values are left as they are). Timing
    /// depends only on which commands fail and on the configuration state, never on data; the
    /// one data-dependent failure, LOAD_LANE_SCALES's `invalidScale`, retires as a good one
    /// would (`TimingProgram`), so this mode does not check it.
    var dataless = false

    public init(parameters: AcceleratorParameters) {
        self.parameters = parameters
        state = AcceleratorState(resetFor: parameters)
    }

    /// The timing model's golden pass took `count` commands' outcomes from an earlier LOOP_WS
    /// of the same shape (`UnrollingReuse`): they count as run, none failing.
    mutating func countReused(_ count: Int) {
        commandCount += UInt64(count)
        lastRejection = nil
    }

    /// `code << 56 | command index` of the first failure, 0 while there is none.
    public var errorInfo: UInt64 { error?.info ?? 0 }

    public func scratchpadRow(_ row: Int) -> [Int64] { state.scratchpad.row(row) }
    public func accumulatorRow(_ row: Int) -> [Int64] { state.accumulator.row(row) }

    /// Executes one command. A command the accelerator rejects latches `error` (if it is the
    /// first) and changes nothing else; the program goes on, as on the hardware. Throws only for
    /// problems of the model (`GoldenModelError`) or of `memory` other than `DMAFault`; then the
    /// command is not counted.
    public mutating func execute(_ funct: UInt8, _ rs1: UInt64, _ rs2: UInt64,
                                 memory: inout some MainMemory) throws {
        lastRejection = nil
        do {
            let command = try Command.decode(funct: funct, rs1: rs1, rs2: rs2, parameters: parameters)
            try perform(command, memory: &memory)
        } catch let rejection as CommandRejection {
            lastRejection = AcceleratorError(code: rejection.code, commandIndex: commandCount, reason: rejection.reason)
            if error == nil { error = lastRejection }
        }
        commandCount += 1
    }

    private mutating func perform(_ command: Command, memory: inout some MainMemory) throws {
        switch command {
        case .configExecute(let fields):
            configureExecute(fields)
        case .configLoad(let fields):
            state.loads[fields.which] = LoadSettings(dramStride: fields.dramStride, scale: fields.scale,
                                                     shrunk: fields.shrunk, blockStride: fields.blockStride)
        case .configStore(let fields):
            state.store = StoreSettings(dramStride: fields.dramStride, activation: fields.activation, accScale: fields.accScale,
                                        requantizerShift: fields.requantizerShift,
                                        scaleSource: NumericsExtensions.ScaleSource(rawValue: fields.scaleSource) ?? .store)
        case .configNormalization(let fields):
            configureNormalization(fields)
        case .mvin(let which, let dramAddress, let local):
            try moveIn(using: which, from: dramAddress, to: local, memory: &memory)
        case .mvout(let dramAddress, let local):
            try moveOut(from: local, to: dramAddress, memory: &memory)
        case .preload(let bd, let c):
            try preload(bd: bd, c: c)
        case .computePreloaded(let a, let bd):
            try compute(a: a, bd: bd, accumulated: false)
        case .computeAccumulated(let a, let bd):
            try compute(a: a, bd: bd, accumulated: true)
        case .flush:
            break  // Spinel has no TLB: nothing to flush.
        case .counter:
            break  // Counters count time, which the timing model predicts (CounterTiming).
        case .loopWSConfigBounds(let bounds):
            state.loop.bounds = bounds
        case .loopWSConfigAddressesAB(let a, let b):
            state.loop.a = a
            state.loop.b = b
        case .loopWSConfigAddressesDC(let d, let c):
            state.loop.d = d
            state.loop.c = c
        case .loopWSConfigStridesAB(let a, let b):
            state.loop.strideA = a
            state.loop.strideB = b
        case .loopWSConfigStridesDC(let d, let c):
            state.loop.strideD = d
            state.loop.strideC = c
        case .loopWS(let launch):
            try loopWS(launch, memory: &memory)
        case .loadAffine(let local):
            try loadAffine(from: local)
        case .loadRequantizer(let local):
            try loadRequantizer(from: local)
        case .loadLaneScales(let local):
            try loadLaneScales(from: local)
        case .cta(let command):
            try performCTA(command, memory: &memory)
        }
    }

    /// LOOP_WS runs the commands it unrolls into (`LoopWSUnrolling`), each checked as usual. A
    /// failing one latches the error under the LOOP_WS's index and the rest still run, as in
    /// the hardware, whose dispatcher sees them one by one.
    private mutating func loopWS(_ launch: LoopWSLaunch, memory: inout some MainMemory) throws {
        if let rejection = LoopWSUnrolling.rejection(of: launch, settings: state.loop, parameters: parameters) { throw rejection }
        let commands = LoopWSUnrolling.commands(of: launch, settings: state.loop, parameters: parameters)
        var firstRejection: CommandRejection?
        for (position, unrolled) in commands.enumerated() {
            do {
                let command = try Command.decode(funct: unrolled.funct, rs1: unrolled.rs1, rs2: unrolled.rs2, parameters: parameters)
                try perform(command, memory: &memory)
            } catch let rejection as CommandRejection {
                if firstRejection == nil {
                    firstRejection = CommandRejection(rejection.code, "LOOP_WS command \(position) (funct \(unrolled.funct)): \(rejection.reason)")
                }
            }
        }
        if state.loop.c != 0 { state.loop.accumulatorHalf ^= 1 }
        if let firstRejection { throw firstRejection }
    }

    private mutating func configureExecute(_ fields: ExecuteConfigFields) {
        state.execute.aStride = fields.aStride
        state.execute.cStride = fields.cStride
        guard !fields.setOnlyStrides else { return }
        state.execute.dataflow = fields.dataflow
        state.execute.activation = fields.activation
        state.execute.shift = Int(fields.shift)
        state.execute.transposeA = fields.transposeA
        state.execute.transposeB = fields.transposeB
        state.execute.accScaleBits = fields.accScaleBits
    }

    /// CONFIG_NORM: the slot always; with `setSlotOnly` clear also the activation MSB, qb, qc and
    /// the one constant rs1[18] selects.
    private mutating func configureNormalization(_ fields: NormalizationConfigFields) {
        // The two-segment I-GELU's constant sets change their three constants and nothing else.
        switch NumericsExtensions.ConstantSet(rawValue: fields.constantSet) {
        case .geluFirstSegment:
            state.normalization.twoSegmentGELU.qb1 = Int64(fields.igeluQb)
            state.normalization.twoSegmentGELU.qc1 = Int64(fields.igeluQc)
            state.normalization.twoSegmentGELU.qt = Int64(fields.constant)
            return
        case .geluSecondSegment:
            state.normalization.twoSegmentGELU.qb2 = Int64(fields.igeluQb)
            state.normalization.twoSegmentGELU.qc2 = Int64(fields.igeluQc)
            state.normalization.twoSegmentGELU.q1 = Int64(fields.constant)
            return
        case .gemmini, nil:
            break
        }
        state.normalization.statisticsSlot = fields.statisticsSlot
        guard !fields.setSlotOnly else { return }
        state.normalization.activationMSB = fields.activationMSB
        state.normalization.igeluQb = fields.igeluQb
        state.normalization.igeluQc = fields.igeluQc
        if fields.setsQln2Inverse {
            state.normalization.qln2Inverse = fields.constant
        } else {
            state.normalization.qln2 = fields.constant
        }
    }
}

// MARK: Reports

extension GoldenModel {
    /// The command in words with the state it will use (strides, scales, dataflow), for
    /// mismatch reports: "MVIN 4×16 from 0x7f00_0000_1000 to scratchpad row 32, stride 64 B".
    public func describe(_ command: Command) -> String {
        switch command {
        case .mvin(let which, _, let local):
            let load = state.loads[which]
            var text = "\(command), stride \(load.dramStride) B"
            if local.columns > parameters.dim { text += ", block stride \(load.blockStride)" }
            if load.scale != 1 { text += ", scale \(load.scale)" }
            if load.shrunk && local.address.isAccumulator { text += ", shrunk" }
            return text
        case .mvout(_, let local):
            var text = "\(command), stride \(state.store.dramStride) B"
            let address = local.address
            if let command = NormalizationCommand(rawValue: address.normalizationCommand), command != .output {
                return "\(command) pass \(local.shape) from accumulator row \(address.row) into statistics slot \(state.normalization.statisticsSlot)"
            }
            if address.isAccumulator && !address.readsFullWidth {
                let raw = (state.normalization.activationMSB ? 4 : 0) | state.store.activation
                text += ", scale \(state.store.accScale), \(Activation.words(raw))"
                if let activation = Activation(rawValue: raw), activation.isLayerNorm || activation.isSoftmax {
                    text += " from statistics slot \(state.normalization.statisticsSlot)"
                }
            }
            return text
        case .preload, .computePreloaded, .computeAccumulated:
            return "\(command) (\(state.execute.dataflow.words))"
        default:
            return command.description
        }
    }
}
