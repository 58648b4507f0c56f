import SpinelHDL

/// The front of the accelerator: takes one command per cycle, numbers it, checks it exactly as
/// docs/ACCELERATOR.md says (in the golden model's order of checks), and routes it: CONFIG_LD
/// and MVINs to the load controller, CONFIG_EX and PRELOAD+COMPUTE pairs to the execute
/// controller, CONFIG_ST and MVOUTs to the store controller, and (with a `cta` section)
/// CTA_CONFIG, CTA_CLUSTER, CTA_AGGREGATE and CTA_STATUS to the store lane's CTA controller
/// (CTACommandChecks.swift). A PRELOAD waits here for its COMPUTE. A failing command, a FLUSH
/// and a fused PRELOAD retire here at once.
///
/// The checks need the configuration registers, so the dispatcher keeps its own copy of the
/// fields they use, updated in program order as CONFIG commands pass.
///
/// Commands come numbered from the `LoopUnroller` (LOOP_WS never reaches the dispatcher). The
/// dispatcher gives every command, host or unrolled, its place in `sequence`, which the
/// reservation station compares for age.
///
/// With `hasNormalizations` it also keeps, per statistics slot and row, the state of the
/// normalization passes (`NormalizationRowState`), so that a pass out of order fails here.
public struct Dispatcher: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "Dispatcher_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<IssuedCommand>
        @Output("ld") public var load: Decoupled<RoutedCommand>
        @Output("ex") public var execute: Decoupled<ExecuteCommand>
        @Output("st") public var store: Decoupled<RoutedCommand>
        /// The local rows the command on `ld`, `ex` or `st` touches.
        @Output public var footprint: Footprint
        /// Commands that finish in the dispatcher.
        @Output public var retire: Valid<Retirement>
        /// A COUNTER that passed its checks (rs1 in `data`), for the counter file.
        @Output public var counter: Valid<CounterResponse>
        @Output public var error: Signal
        @Output("error_info") public var errorInfo: Signal
    }

    public var io: IO {
        IO(command: Decoupled(IssuedCommand()), load: Decoupled(RoutedCommand()), execute: Decoupled(ExecuteCommand()),
           store: Decoupled(RoutedCommand()), footprint: Footprint(), retire: Valid(Retirement()), counter: Valid(CounterResponse()), error: Signal(.bool), errorInfo: Signal(.uint(64)))
    }

    /// What an operand is used as (docs/ACCELERATOR.md, `illegalOperand`). `preloadOperand` is
    /// B in WS and D in OS; `computeOperand` is D in WS and B in OS.
    enum Role { case a, c, preloadOperand, computeOperand, mvinDestination, mvoutSource }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let config = parameters.config
        let dim = parameters.dim
        let command = io.command.bits.command
        let hostIndex = io.command.bits.index
        let funct = command.funct, rs1 = command.rs1, rs2 = command.rs2

        // Shadow configuration registers (the fields the checks need), reset as the doc says.
        let weightStationary = m.register("ws", .bool, reset: Signal(config.dataflow == .ws))
        let aStride = m.register("a_stride", .uint(16), reset: 1)
        let cStride = m.register("c_stride", .uint(16), reset: 1)
        let shrunk = (0..<3).map { m.register("ld\($0)_shrunk", .bool, reset: false) }
        let blockStride = (0..<3).map { m.register("ld\($0)_block_stride", .uint(16), reset: Signal(dim)) }
        let pending = m.register("preload_pending", .bool, reset: false)
        // The dataflow of the last pair that ran: COMPUTE_ACCUMULATED must continue in it.
        let lastPairValid = m.register("last_pair_valid", .bool, reset: false)
        let lastPairWS = m.register("last_pair_ws", .bool, reset: false)
        let pendingRs1 = m.register("preload_rs1", .uint(64))
        let pendingRs2 = m.register("preload_rs2", .uint(64))
        let count = m.register("sequence", .uint(32), reset: 0)
        let errorLatched = m.register("error_latched", .bool, reset: false)
        let errorInfo = m.register("error_info_reg", .uint(64), reset: 0)

        func isFunct(_ value: UInt8) -> Signal { funct === Signal(value) }
        let isConfig = isFunct(Funct.config)
        let configKind = rs1.field(ConfigKind.field)
        func isConfigOf(_ kind: ConfigKind) -> Signal { isConfig && configKind === Signal(kind.rawValue) }
        let isConfigEX = isConfigOf(.execute), isConfigLD = isConfigOf(.load)
        let isConfigST = isConfigOf(.store), isConfigNorm = isConfigOf(.normalization)
        let mvinWhich = mux(isFunct(Funct.mvin), Signal.literal(0, .uint(2)), mux(isFunct(Funct.mvin2), Signal.literal(1, .uint(2)), Signal.literal(2, .uint(2))))
        let isMvin = isFunct(Funct.mvin) || isFunct(Funct.mvin2) || isFunct(Funct.mvin3)
        let isMvout = isFunct(Funct.mvout)
        let isPreload = isFunct(Funct.preload)
        let isComputeAccumulated = isFunct(Funct.computeAccumulated)
        let isCompute = isFunct(Funct.computePreloaded) || isComputeAccumulated
        let isFlush = isFunct(Funct.flush)
        let isCounter = isFunct(Funct.counter)
        let isLoadAffine = Signal(config.hasAffineLayerNorm) && isFunct(Funct.loadAffine)
        let extensions = config.hasNumericsExtensions
        let isLoadRequantizer = Signal(extensions) && isFunct(Funct.loadRequantizer)
        let isLoadLaneScales = Signal(extensions) && isFunct(Funct.loadLaneScales)
        let isLaneLoad = isLoadAffine || isLoadRequantizer || isLoadLaneScales
        // The CTA commands the RTL runs (with a `cta` section), for the store lane's CTA controller.
        let cta = CTACommandChecks(funct: funct, rs1: rs1, rs2: rs2, parameters: parameters)
        let known = [cta?.isCommand].compactMap { $0 }
            .reduce(isConfig || isMvin || isMvout || isPreload || isCompute || isFlush || isLaneLoad || isCounter) { $0 || $1 }

        // MARK: Field checks (the command alone)
        func code(_ error: ErrorCode) -> Signal { Signal.literal(error.rawValue, .uint(ErrorCode.bits)) }
        /// The first failing check's code, 0 when all pass.
        func firstFailure(_ checks: [(Signal, ErrorCode)]) -> Signal {
            checks.reversed().reduce(Signal.literal(0, .uint(ErrorCode.bits))) { rest, check in mux(check.0, code(check.1), rest) }
        }
        let noNormalizations = !config.hasNormalizations
        func scaleProblems(_ bits: Signal, hardware: ScaleKind) -> [(Signal, ErrorCode)] {
            let notFinite = bits.bits(30, 23) === Signal.literal(0xFF, .uint(8))
            let one = bits === Signal.literal(0x3F80_0000, .uint(32))
            return [(notFinite, .invalidScale), (Signal(hardware == .none) && !one, .invalidScale)]
        }
        func shapeProblems(_ word: Signal, columnsToo: Bool = true) -> [(Signal, ErrorCode)] {
            let operand = OperandFields(word)
            let rows = (operand.rows > Signal(dim), ErrorCode.tooManyRows)
            return columnsToo ? [rows, (operand.columns > Signal(dim), .tooManyColumns)] : [rows]
        }

        typealias EX = ConfigExecuteFields
        let exSetOnlyStrides = rs1[EX.setOnlyStridesBit]
        let exWS = rs1[EX.weightStationaryBit], exTransposeA = rs1[EX.transposeABit], exTransposeB = rs1[EX.transposeBBit]
        let transposesPermitted = mux(exWS, !(exTransposeA && exTransposeB), !(exTransposeB && !exTransposeA))
        let dataflowSupported: Signal = config.dataflow == .both ? true : (config.dataflow == .ws ? exWS : !exWS)
        let configEXChecks: [(Signal, ErrorCode)] = [
            (!exSetOnlyStrides && !dataflowSupported, .unsupportedDataflow),
            (!exSetOnlyStrides && !transposesPermitted, .unsupportedDataflow),
            (!exSetOnlyStrides && Signal(noNormalizations) && rs1.field(EX.activation) >= Signal(Activation.layerNorm.rawValue), .unsupportedField),
            (!exSetOnlyStrides && rs2.field(EX.shift) >= Signal(config.accType.width), .unsupportedField),
        ]
        let configLDChecks: [(Signal, ErrorCode)] = [(rs1.field(ConfigLoadFields.state) === 3, .unknownCommand),
                                                     (rs1.field(ConfigLoadFields.pixelRepeats) > 1, .unsupportedField)]
            + scaleProblems(rs1.field(ConfigLoadFields.scale), hardware: config.mvinScale)
        // CONFIG_ST rs1[63:4] must be 0 but the numerics extensions' K and scale source.
        let extensionFields = Signal.literal(BigInteger(extensions ? NumericsExtensions.configStoreFieldMask : 0), .uint(64))
        let requantizerShiftField = rs1.bits(NumericsExtensions.requantizerShiftLow + NumericsExtensions.requantizerShiftBits - 1, NumericsExtensions.requantizerShiftLow)
        let scaleSourceField = rs1.bits(NumericsExtensions.scaleSourceLow + NumericsExtensions.scaleSourceBits - 1, NumericsExtensions.scaleSourceLow)
        let configSTChecks: [(Signal, ErrorCode)] = [((rs1 & ~extensionFields).field(ConfigStoreFields.poolingFields).orReduce, .unsupportedField),
                                                     (requantizerShiftField > Signal(NumericsExtensions.requantizerShifts.upperBound), .unsupportedField),
                                                     (scaleSourceField > Signal(NumericsExtensions.ScaleSource.row.rawValue), .unsupportedField),
                                                     (Signal(noNormalizations) && rs1.field(ConfigStoreFields.activation) >= Signal(Activation.layerNorm.rawValue), .unsupportedField)]
            + scaleProblems(rs2.field(ConfigStoreFields.accScale), hardware: config.accScale)

        // MARK: Local operand checks (need the shadow state)
        let rowBits = 40
        func rowsMinusOne(_ operand: OperandFields) -> Signal {
            mux(operand.rows === 0, Signal.literal(0, .uint(16)), operand.rows -% 1)
        }
        func localProblems(_ operand: OperandFields, as role: Role, lastRowOffset: Signal) -> [(Signal, ErrorCode)] {
            let garbageAllowed = role != .mvinDestination && role != .mvoutSource
            let real = !operand.isGarbage
            let accumulator = real && operand.isAccumulator
            let normalization = operand.normalization.orReduce
            let asB = accumulator, asD = accumulator && normalization
            let accumulatorProblem: (Signal, ErrorCode)
            switch role {
            case .a: accumulatorProblem = (asB, .illegalOperand)
            case .preloadOperand: accumulatorProblem = (mux(weightStationary, asB, asD), .illegalOperand)
            case .computeOperand: accumulatorProblem = (mux(weightStationary, asD, asB), .illegalOperand)
            // Bit 29 (read full width) means nothing to a write: a PRELOAD's C (Gemmini's LOOP_WS sets it
            // with full_C) and an mvin's destination may carry it, as on Gemmini.
            case .c, .mvinDestination: accumulatorProblem = (accumulator && normalization, .illegalOperand)
            // With normalizations, a statistics pass reads through the normalizer, which bit 29 bypasses.
            case .mvoutSource: accumulatorProblem = noNormalizations ? (accumulator && normalization, .unsupportedField)
                                                                     : (accumulator && normalization && operand.readsFullWidth, .illegalOperand)
            }
            let lastRow = operand.row.extended(to: rowBits) +% lastRowOffset.resized(to: rowBits)
            let size = mux(operand.isAccumulator, Signal.literal(parameters.accRows, .uint(rowBits)),
                           Signal.literal(parameters.spRows, .uint(rowBits)))
            return [(Signal(!garbageAllowed) && operand.isGarbage, .illegalOperand),
                    accumulatorProblem,
                    (real && !operand.isAccumulator && operand.flagBits.orReduce, .localAddressOutOfRange),
                    (real && lastRow >= size, .localAddressOutOfRange)]
        }
        func stridedOffset(_ operand: OperandFields, _ stride: Signal) -> Signal {
            (rowsMinusOne(operand) * stride).resized(to: rowBits)
        }

        // MVIN: columns against the DMA limit, then the destination.
        let mvinOperand = OperandFields(rs2)
        let mvinShrunk = select(shrunk, at: mvinWhich)
        let mvinBlockStride = select(blockStride, at: mvinWhich)
        let accumulatorElements = mvinOperand.isAccumulator && !mvinShrunk
        let rowBytes = mux(accumulatorElements, mvinOperand.columns * Signal.literal(parameters.accBytes, .uint(4)),
                           mvinOperand.columns * Signal.literal(parameters.inputBytes, .uint(4)))
        let blocksMinusOne = OperandFields.lastBlock(ofColumns: mvinOperand.columns, parameters)
        let mvinOffset = (blocksMinusOne * mvinBlockStride).resized(to: rowBits) +% rowsMinusOne(mvinOperand).extended(to: rowBits)
        let mvinChecks: [(Signal, ErrorCode)] = shapeProblems(rs2, columnsToo: false)
            + [(rowBytes > Signal(config.dmaMaxBytes), .tooManyColumns)]
            + localProblems(mvinOperand, as: .mvinDestination, lastRowOffset: mvinOffset)

        let mvoutOperand = OperandFields(rs2)
        // The rows an mvout reads: its last block's rows, DIM rows per block further on.
        let mvoutBlocksMinusOne = OperandFields.lastBlock(ofColumns: mvoutOperand.columns, parameters)
        let mvoutRead = (mvoutOperand, (mvoutBlocksMinusOne * Signal(dim)).resized(to: rowBits)
                                           +% rowsMinusOne(mvoutOperand).extended(to: rowBits))
        // Normalization (docs/ACCELERATOR.md, "Normalization"): the store activation, then a pass's
        // form, then every row it covers against the selected slot's rows.
        let slots = config.normalizationSlots
        let slotBits = max(1, HWType.addressWidth(for: slots))
        let storeActivation = m.register("st_activation", .uint(2), reset: 0)
        let storeScaleSource = m.register("st_scale_source", .uint(NumericsExtensions.scaleSourceBits), reset: 0)
        let activationHigh = m.register("norm_activation_high", .bool, reset: false)
        let normSlot = m.register("norm_slot", .uint(slotBits), reset: 0)
        let rowStates = config.hasNormalizations
            ? (0..<(slots * dim)).map { m.register("norm_state_\($0)", .uint(NormalizationRowState.bits), reset: 0) } : []
        let mvoutCommand = mvoutOperand.normalization
        let fromAccumulator = !mvoutOperand.isGarbage && mvoutOperand.isAccumulator
        let isPass = fromAccumulator && mvoutCommand =/= 0
        let activation = cat(activationHigh, storeActivation)
        let appliesActivation = fromAccumulator && !mvoutOperand.readsFullWidth && mvoutCommand === 0
        var passAllowed: Signal = true, outputAllowed: Signal = true
        var transitions: [NormalizationTransition] = []
        for row in 0..<(config.hasNormalizations ? dim : 0) {
            let state = select((0..<slots).map { rowStates[$0 * dim + row] }, at: normSlot)
            let covered = mvoutOperand.rows > Signal(row)
            let transition = NormalizationTransition(state: state, command: mvoutCommand)
            transitions.append(transition)
            passAllowed = passAllowed && (!covered || transition.allowed)
            // The row scale (scale source 2, activation 0 or 1) reads Softmax statistics as activation 4 would.
            let rowScale = storeScaleSource === Signal(NumericsExtensions.ScaleSource.row.rawValue)
            let needed = mux(rowScale, Signal.literal(Activation.softmax.rawValue, .uint(3)), activation)
            outputAllowed = outputAllowed && (!covered || NormalizationTransition.outputAllowed(state: state, activation: needed))
        }
        let normalizationChecks: [(Signal, ErrorCode)] = config.hasNormalizations ? [
            (appliesActivation && activation >= Signal(Activation.softmaxRelativeToMaximum.rawValue) && !(Signal(config.hasAffineLayerNorm) && activation === Signal(Activation.affineLayerNorm.rawValue))
                && !(Signal(extensions) && (activation === Signal(Activation.softmaxRelativeToMaximum.rawValue)
                                            || activation === Signal(Activation.twoSegmentGELU.rawValue))), .unsupportedField),
            (appliesActivation && storeScaleSource =/= 0 && activation >= Signal(Activation.layerNorm.rawValue), .unsupportedField),
            (isPass && (mvoutOperand.rows === 0 || mvoutOperand.columns === 0), .illegalOperand),
            (isPass && !passAllowed, .illegalOperand),
            (appliesActivation && !outputAllowed, .illegalOperand),
        ] : []
        // MVOUT: up to `mvoutMaxColumns` columns in DIM-column blocks DIM rows apart; a full-width
        // accumulator read moves one block (Gemmini does not define more).
        let mvoutFullWidth = fromAccumulator && mvoutOperand.readsFullWidth
        let mvoutColumnLimit = mux(mvoutFullWidth, Signal.literal(dim, .uint(16)),
                                   Signal.literal(parameters.mvoutMaxColumns, .uint(16)))
        let mvoutChecks = shapeProblems(rs2, columnsToo: false) + [(mvoutOperand.columns > mvoutColumnLimit, .tooManyColumns)]
            + localProblems(mvoutOperand, as: .mvoutSource, lastRowOffset: mvoutRead.1)
            + normalizationChecks
        // LOAD_AFFINE: two plain accumulator rows (γ, β); LOAD_REQUANT and LOAD_LANE_SCALES: one.
        let laneRows = mux(isLoadAffine, Signal.literal(2, .uint(16)), Signal.literal(1, .uint(16)))
        let laneLoadChecks = shapeProblems(rs2)
            + [(mvoutOperand.rows =/= laneRows || mvoutOperand.columns === 0, .illegalOperand),
               (mvoutOperand.isGarbage || !mvoutOperand.isAccumulator || mvoutOperand.flagBits.orReduce, .illegalOperand),
               (mvoutOperand.row.extended(to: rowBits) +% (laneRows -% 1).extended(to: rowBits) >= Signal(parameters.accRows), .localAddressOutOfRange)]
        // CONFIG_NORM rs1[20:19] selects the numerics extensions' constant sets (NumericsExtensions).
        let constantSet = rs1.bits(NumericsExtensions.constantSetLow + NumericsExtensions.constantSetBits - 1, NumericsExtensions.constantSetLow)
        let configNormChecks: [(Signal, ErrorCode)] = [(Signal(noNormalizations), .unsupportedField),
                                                       (Signal(!extensions) && constantSet.orReduce, .unsupportedField),
                                                       (constantSet === 3, .unsupportedField),
                                                       (constantSet === 0 && rs1.field(ConfigNormFields.statisticsSlot) >= Signal(slots), .unsupportedField)]

        // PRELOAD: its operands against the current dataflow, then pairing.
        func preloadProblems(bd: Signal, c: Signal) -> [(Signal, ErrorCode)] {
            let bdOperand = OperandFields(bd), cOperand = OperandFields(c)
            return localProblems(bdOperand, as: .preloadOperand, lastRowOffset: rowsMinusOne(bdOperand))
                + localProblems(cOperand, as: .c, lastRowOffset: stridedOffset(cOperand, cStride))
        }
        let preloadChecks = shapeProblems(rs1) + shapeProblems(rs2) + preloadProblems(bd: rs1, c: rs2)
            + [(pending, .preloadPending)]

        // COMPUTE: A, then B/D, then pairing, then the PRELOAD again (CONFIG_EX may have run
        // since), then the GARBAGE rule of COMPUTE_ACCUMULATED.
        let aOperand = OperandFields(rs1), bdOperand = OperandFields(rs2)
        let computeChecks = shapeProblems(rs1) + shapeProblems(rs2)
            + localProblems(aOperand, as: .a, lastRowOffset: stridedOffset(aOperand, aStride))
            + localProblems(bdOperand, as: .computeOperand, lastRowOffset: rowsMinusOne(bdOperand))
            + [(!pending, .computeWithoutPreload)]
            + preloadProblems(bd: pendingRs1, c: pendingRs2).map { (pending && $0.0, $0.1) }
            + [(isComputeAccumulated && !OperandFields(pendingRs1).isGarbage, .illegalOperand),
               (isComputeAccumulated && (!lastPairValid || lastPairWS =/= weightStationary), .illegalOperand)]

        // COUNTER: a configuring access names an event Gemmini defines (CounterFile.swift).
        let counterEvent = rs1.bits(CounterAccess.eventLow + CounterAccess.eventBits - 1, CounterAccess.eventLow)
        let counterEventLimit = mux(rs1[CounterAccess.externalBit],
                                    Signal.literal(CounterAccess.maximumEvent(external: true), .uint(CounterAccess.eventBits)),
                                    Signal.literal(CounterAccess.maximumEvent(external: false), .uint(CounterAccess.eventBits)))
        let counterChecks: [(Signal, ErrorCode)] = [(rs1[3] && counterEvent > counterEventLimit, .unsupportedField)]

        let failure = m.wire("failure", .uint(ErrorCode.bits), default: 0)
        let checked = m.when(!known) { failure.set(code(.unknownCommand)) }
            .elsewhen(isConfigEX) { failure.set(firstFailure(configEXChecks)) }
            .elsewhen(isConfigLD) { failure.set(firstFailure(configLDChecks)) }
            .elsewhen(isConfigST) { failure.set(firstFailure(configSTChecks)) }
            .elsewhen(isConfigNorm) { failure.set(firstFailure(configNormChecks)) }
            .elsewhen(isMvin) { failure.set(firstFailure(mvinChecks)) }
            .elsewhen(isMvout) { failure.set(firstFailure(mvoutChecks)) }
            .elsewhen(isLaneLoad) { failure.set(firstFailure(laneLoadChecks)) }
            .elsewhen(isPreload) { failure.set(firstFailure(preloadChecks)) }
            .elsewhen(isCompute) { failure.set(firstFailure(computeChecks)) }
            .elsewhen(isCounter) { failure.set(firstFailure(counterChecks)) }
        if let cta { checked.elsewhen(cta.isCommand) { failure.set(firstFailure(cta.checks)) } }
        let failed = m.wire("failed", .bool, default: failure =/= 0)

        // MARK: Routing
        let toLoad = !failed && (isConfigLD || isMvin)
        let toExecute = !failed && (isConfigEX || isCompute)
        let toStore = !failed && [cta?.isCommand].compactMap { $0 }.reduce(isConfigST || isConfigNorm || isMvout || isLaneLoad) { $0 || $1 }
        let routed = RoutedCommand(command: command, index: hostIndex, sequence: count, loop: io.command.bits.loop)
        // LOAD_AFFINE goes on as an accumulator MVOUT with bit 30 set (StoreController.swift); a
        // real MVOUT's bit 30 (meaningless for a read) is cleared, so that it cannot pose as one.
        let bit30 = Signal.literal(1 << LocalAddressLayout.accumulateBit, .uint(64))
        // LOAD_REQUANT and LOAD_LANE_SCALES carry their kind (1, 2) in bits 28:26.
        let kindLow = LocalAddressLayout.normalizationCommand.low
        let laneKind = mux(isLoadRequantizer, Signal.literal(1 << kindLow, .uint(64)),
                           mux(isLoadLaneScales, Signal.literal(2 << kindLow, .uint(64)), Signal.literal(0, .uint(64))))
        let storeCommand = RoCCCommand(funct: mux(isLaneLoad, Signal.literal(Funct.mvout, .uint(7)), funct), rs1: rs1,
                                       rs2: mux(isLaneLoad, rs2 | bit30 | laneKind, mux(isMvout, rs2 & ~bit30, rs2)))
        let routedToStore = RoutedCommand(command: storeCommand, index: hostIndex, sequence: count, loop: io.command.bits.loop)
        let outputReady = mux(toLoad, io.load.ready, mux(toExecute, io.execute.ready, mux(toStore, io.store.ready, true)))
        io.command.ready.set(outputReady)
        let accepted = m.wire("accepted", .bool, default: io.command.valid && outputReady)

        io.load.valid.set(io.command.valid && toLoad)
        m.connect(io.load.bits, from: routed)
        io.store.valid.set(io.command.valid && toStore)
        m.connect(io.store.bits, from: routedToStore)
        io.execute.valid.set(io.command.valid && toExecute)
        m.connect(io.execute.bits.command, from: routed)
        io.execute.bits.preloadRs1.set(pendingRs1)
        io.execute.bits.preloadRs2.set(pendingRs2)

        // MARK: Footprint (rows touched), for the reservation station
        func range(_ operand: OperandFields, lastRowOffset: Signal, in accumulator: Bool) -> RowRange {
            let used = !operand.isGarbage && operand.rows =/= 0 && operand.columns =/= 0
                && (accumulator ? operand.isAccumulator : !operand.isAccumulator)
            let low = operand.row.extended(to: RowRange.bits)
            return RowRange(valid: used, low: low, high: low +% lastRowOffset.resized(to: RowRange.bits))
        }
        func reads(_ operands: [(OperandFields, Signal)], in accumulator: Bool) -> RowRange {
            // The first range starts the union: a constant empty range would leave comparisons with constants.
            let ranges = operands.map { range($0.0, lastRowOffset: $0.1, in: accumulator) }
            return ranges.dropFirst().reduce(ranges[0]) { $0.union($1) }
        }
        let none = RowRange(valid: false, low: Signal.literal(0, .uint(RowRange.bits)), high: Signal.literal(0, .uint(RowRange.bits)))
        // A has its own range: in tiled layouts B and D sit near each other, A elsewhere.
        let pairReads: [(OperandFields, Signal)] = [
            (bdOperand, rowsMinusOne(bdOperand).extended(to: rowBits)),
            (OperandFields(pendingRs1), rowsMinusOne(OperandFields(pendingRs1)).extended(to: rowBits)),
        ]
        let pendingC = OperandFields(pendingRs2)
        let pairWrite = (pendingC, stridedOffset(pendingC, cStride))
        func choose(_ memory: Bool, mvin: Bool, mvout: Bool, pairRead: Bool, pairWrites: Bool) -> RowRange {
            let fromMvin = mvin ? range(mvinOperand, lastRowOffset: mvinOffset, in: memory) : none
            let fromMvout = mvout ? range(mvoutOperand, lastRowOffset: mvoutRead.1, in: memory) : none
            let fromPair = pairRead ? reads(pairReads, in: memory) : (pairWrites ? range(pairWrite.0, lastRowOffset: pairWrite.1, in: memory) : none)
            let readsRows = isMvout || isLaneLoad
            return RowRange(valid: mux(isMvin, fromMvin.valid, mux(readsRows, fromMvout.valid, isCompute && fromPair.valid)),
                            low: mux(isMvin, fromMvin.low, mux(readsRows, fromMvout.low, fromPair.low)),
                            high: mux(isMvin, fromMvin.high, mux(readsRows, fromMvout.high, fromPair.high)))
        }
        m.connect(io.footprint.scratchpadRead, from: choose(false, mvin: false, mvout: true, pairRead: true, pairWrites: false))
        let aRange = range(aOperand, lastRowOffset: stridedOffset(aOperand, aStride), in: false)
        m.connect(io.footprint.scratchpadReadA, from: RowRange(valid: isCompute && aRange.valid, low: aRange.low, high: aRange.high))
        let scratchpadWrite = choose(false, mvin: true, mvout: false, pairRead: false, pairWrites: true)
        m.connect(io.footprint.scratchpadWrite, from: cta.map { $0.footprint(scratchpadWrite, $0.scratchpadWrite) } ?? scratchpadWrite)
        let accumulatorRead = choose(true, mvin: false, mvout: true, pairRead: true, pairWrites: false)
        let accumulatorWrite = choose(true, mvin: true, mvout: false, pairRead: false, pairWrites: true)
        m.connect(io.footprint.accumulatorRead, from: cta.map { $0.footprint(accumulatorRead, $0.accumulatorRead) } ?? accumulatorRead)
        m.connect(io.footprint.accumulatorWrite, from: cta.map { $0.footprint(accumulatorWrite, $0.accumulatorWrite) } ?? accumulatorWrite)

        io.retire.valid.set(accepted && (failed || isFlush || isPreload || isCounter))
        io.counter.valid.set(accepted && isCounter && !failed)
        io.counter.bits.index.set(hostIndex)
        io.counter.bits.data.set(rs1)
        io.retire.bits.index.set(hostIndex)
        m.connect(io.retire.bits.loop, from: io.command.bits.loop)
        io.error.set(errorLatched)
        io.errorInfo.set(errorInfo)

        m.when(accepted) {
            count.set(count +% 1)
            m.when(failed) {
                m.when(!errorLatched) {
                    errorLatched.set(true)
                    errorInfo.set(cat(failure.extended(to: 8), Signal.literal(0, .uint(24)), hostIndex))
                }
            }.otherwise {
                m.when(isConfigEX) {
                    aStride.set(rs1.field(EX.aStride))
                    cStride.set(rs2.field(EX.cStride))
                    m.when(!exSetOnlyStrides) { weightStationary.set(exWS) }
                }
                m.when(isConfigLD) {
                    for which in 0..<3 {
                        m.when(rs1.field(ConfigLoadFields.state) === Signal(which)) {
                            shrunk[which].set(rs1[ConfigLoadFields.shrunkBit])
                            blockStride[which].set(rs1.field(ConfigLoadFields.blockStride))
                        }
                    }
                }
                m.when(isConfigST) {
                    storeActivation.set(rs1.field(ConfigStoreFields.activation))
                    storeScaleSource.set(scaleSourceField)
                }
                // The extensions' constant sets change no slot and no MSB.
                m.when(isConfigNorm && constantSet === 0) {
                    let slotLow = ConfigNormFields.statisticsSlot.low
                    normSlot.set(rs1.bits(slotLow + slotBits - 1, slotLow))
                    m.when(!rs1[ConfigNormFields.setSlotOnlyBit]) { activationHigh.set(rs1[ConfigNormFields.activationMSBBit]) }
                }
                m.when(isMvout && isPass) {
                    for (row, transition) in transitions.enumerated() {
                        m.when(mvoutOperand.rows > Signal(row)) {
                            for slot in 0..<slots {
                                m.when(normSlot === Signal(slot)) { rowStates[slot * dim + row].set(transition.next) }
                            }
                        }
                    }
                }
                m.when(isPreload) {
                    pending.set(true)
                    pendingRs1.set(rs1)
                    pendingRs2.set(rs2)
                }
                m.when(isCompute) {
                    pending.set(false)
                    lastPairValid.set(true)
                    lastPairWS.set(weightStationary)
                }
            }
        }
    }
}
