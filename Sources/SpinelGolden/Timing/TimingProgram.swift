import SpinelISA

/// A command stream as the timing model sees it: for every command, where the dispatcher sends
/// it, the local rows it touches (the reservation station's footprint) and the work its
/// controller does, with the configuration state it runs with (strides, dataflow, …).
///
/// Built by running the commands on a `GoldenModel` (with a memory that reads zeros and
/// discards writes): the golden model decides, as the dispatcher does, which commands fail and
/// retire at once, and its state before each command is the state the controllers' own
/// configuration registers hold when the command reaches them (every controller runs its
/// commands in program order, and a CONFIG goes to the controller it configures).
public struct TimingProgram: Sendable {
    public var commands: [TimedCommand]
    /// LOOP_WS commands whose unrolling the golden pass took from an earlier loop (`UnrollingReuse`).
    private(set) var reusedUnrollings = 0

    /// `issueCycles[i]` is the earliest cycle command i can enter the command port (the host's
    /// timing: in a harness trace, the cycle the port took it).
    public init(_ stream: [(funct: UInt8, rs1: UInt64, rs2: UInt64)], issueCycles: [UInt64], parameters: AcceleratorParameters) {
        self.init(stream, issueCycles: issueCycles, startingFrom: GoldenModel(parameters: parameters))
    }

    /// The commands of `stream` run from `model`'s state (the configuration registers and the
    /// LOOP_WS accumulator half a program left before a fence; the controllers start idle).
    public init(_ stream: [(funct: UInt8, rs1: UInt64, rs2: UInt64)], issueCycles: [UInt64], startingFrom model: GoldenModel) {
        var memory = DiscardingMemory()
        self.init(stream, issueCycles: issueCycles, startingFrom: model, memory: &memory, dataless: true)
    }

    /// Timing needs each command's outcome and state, mostly not its data (`dataless`, reading
    /// zeros): but CTA_AGGREGATE's and CTA_PROBABILITIES's outcome and cycles depend on the cluster tables, which depend
    /// on the data; a harness trace gives it (its read bursts).
    init(_ stream: [(funct: UInt8, rs1: UInt64, rs2: UInt64)], issueCycles: [UInt64], startingFrom model: GoldenModel,
         memory: inout some MainMemory, dataless: Bool, reusingUnrollings: Bool = true) {
        precondition(stream.count == issueCycles.count, "one issue cycle per command")
        let parameters = model.parameters
        var model = model
        model.dataless = dataless
        commands = []
        commands.reserveCapacity(stream.count)
        var reuse = UnrollingReuse()
        reuse.enabled = reusingUnrollings
        for (index, command) in stream.enumerated() {
            // (A trace's memory answers each command's reads from its own bursts, as the replay does.)
            memory.willRun(command: index)
            let before = model.state
            if command.funct == Funct.loopWS,
               let loop = UnrolledLoop(rs1: command.rs1, rs2: command.rs2, model: &model, memory: &memory, parameters: parameters,
                                      reuse: &reuse) {
                var timed = TimedCommand(index: index, funct: command.funct, rs1: command.rs1, rs2: command.rs2,
                                         arrival: issueCycles[index], rejected: false, state: before, parameters: parameters)
                timed.loop = loop
                commands.append(timed)
                if loop.reused { reusedUnrollings += 1 }
                continue
            }
            var rejected = false, controllerFault = false
            do {
                try model.execute(command.funct, command.rs1, command.rs2, memory: &memory)
                // A LOAD_LANE_SCALES with a non-finite scale fails in the store controller, when its
                // row arrives, and a CTA command that passes the dispatcher's checks (a CTA_CLUSTER's
                // overflow, CTA_AGGREGATE's state) in the CTA controller: they take the store lane
                // like good ones.
                if let rejection = model.lastRejection {
                    if rejection.code == .invalidScale && command.funct == Funct.loadLaneScales {
                        rejected = false
                    } else if Funct.cta.contains(command.funct) && parameters.config.cta != nil
                                && CTAFields.functsInHardware.contains(command.funct) {
                        rejected = GoldenModel.ctaDispatcherRejection(funct: command.funct, rs1: command.rs1, rs2: command.rs2,
                                                                      parameters: parameters) != nil
                        // (A DMA fault of CTA_GATHER's writes comes after all of its work.)
                        controllerFault = !rejected && rejection.code != .dmaWriteFault
                    } else {
                        rejected = true
                    }
                }
            } catch {
                // What the golden model does not implement (normalizations), the dispatcher
                // rejects today as `unknownCommand`: it retires at once.
                rejected = true
            }
            commands.append(TimedCommand(index: index, funct: command.funct, rs1: command.rs1, rs2: command.rs2,
                                         arrival: issueCycles[index], rejected: rejected, controllerFault: controllerFault,
                                         state: before, parameters: parameters))
        }
    }

    /// The CTA commands whose outcome and work depend on the cluster tables, that is on the data.
    static let dataDependent: Set<UInt8> = [Funct.ctaAggregate, Funct.ctaProbabilities, Funct.ctaGather]

    /// The commands of a harness trace, arriving when the trace says the port took them.
    /// With CTA_AGGREGATE, CTA_PROBABILITIES or CTA_GATHER among them (on a configuration with CTA
    /// units), the golden pass runs on the trace's data (`TraceReplayMemory`), as the replay does:
    /// the cluster tables decide the command's outcome and its k (k1, k2; CTA_GATHER's n).
    public init(_ trace: HarnessTrace, parameters: AcceleratorParameters) {
        let stream = trace.commands.map { ($0.funct, $0.rs1, $0.rs2) }, issueCycles = trace.commands.map(\.issueCycle)
        if parameters.config.cta != nil && trace.commands.contains(where: { Self.dataDependent.contains($0.funct) }) {
            var memory = TraceReplayMemory(trace: trace, index: TraceIndex(trace))
            self.init(stream, issueCycles: issueCycles, startingFrom: GoldenModel(parameters: parameters), memory: &memory, dataless: false)
        } else {
            self.init(stream, issueCycles: issueCycles, parameters: parameters)
        }
    }
}

/// DRAM for the timing model's golden pass: reads are zeros, writes vanish (only the commands'
/// outcomes and the state matter).
struct DiscardingMemory: MainMemory {
    mutating func read(address: UInt64, count: Int) throws -> [UInt8] { [UInt8](repeating: 0, count: count) }
    mutating func write(address: UInt64, bytes: [UInt8]) throws {}
}

/// One command for the timing model.
public struct TimedCommand: Sendable {
    /// Which unit retires it: the dispatcher itself (failing commands, FLUSH, PRELOAD) or the
    /// controller whose reservation-station queue it enters.
    /// LOOP_WS and LOOP_WS_CONFIG_* never reach the dispatcher: the `LoopUnroller` takes them.
    public enum Route: Int, Sendable, CaseIterable { case load = 0, execute = 1, store = 2, dispatcher = 3, unroller = 4 }

    public enum Work: Sendable {
        /// Retires in the dispatcher, or a CONFIG that its controller takes in one cycle.
        case none
        case mvin(MoveIn)
        case mvout(MoveOut)
        case pair(ExecutePair)
        case cta(CTAWork)
    }

    public var index: Int
    public var funct: UInt8
    /// The earliest cycle the command port can take it.
    public var arrival: UInt64
    public var route: Route
    public var footprint: TimingFootprint
    public var work: Work
    /// A LOOP_WS that passes the unroller's checks: the commands it unrolls into.
    public var loop: UnrolledLoop?
    /// A CONFIG_NORM that keeps the normalizer busy this many cycles after the store controller
    /// takes it (the numerics extensions' Softmax factor c, `PipelineTiming.normalizerConstantLatency`).
    public var normalizerBusy: Int?
    /// A COUNTER that passes its checks: it retires in the dispatcher and answers with a counter value.
    public var counter: CounterAccess?

    /// A short name for statistics: "MVIN", "COMPUTE", "CONFIG_LD", "rejected", ….
    public var kind: String { rejected ? "rejected" : Self.kindName(funct: funct, configKind: Int(configKind)) }
    /// Whether the command fails (the dispatcher, or the unroller for LOOP_WS, retires it at once).
    private var rejected: Bool
    var isRejected: Bool { rejected }
    /// A CONFIG's kind (`ConfigKind.field` of rs1; `kind` is derived, not stored: a String made
    /// every copy of a command count references).
    private var configKind: UInt8

    init(index: Int, funct: UInt8, rs1: UInt64, rs2: UInt64, arrival: UInt64, rejected: Bool, controllerFault: Bool = false,
         state: AcceleratorState, parameters: AcceleratorParameters) {
        self.index = index
        self.funct = funct
        self.arrival = arrival
        footprint = TimingFootprint()
        work = .none
        route = .dispatcher
        self.rejected = rejected
        configKind = UInt8(ConfigKind.field.value(in: rs1))
        if funct == Funct.loopWS || (Funct.loopWSConfigBounds...Funct.loopWSConfigStridesDC).contains(funct) {
            // The unroller retires these itself (a failing LOOP_WS at once, on `retire_loop`).
            route = .unroller
            return
        }
        if rejected { return }
        let dim = parameters.dim
        switch funct {
        case Funct.config:
            // CONFIG_EX, CONFIG_LD, CONFIG_ST, CONFIG_NORM by rs1[1:0] (CONFIG_NORM goes with the stores).
            let kind = ConfigKind(rawValue: Int(ConfigKind.field.value(in: rs1)))!
            route = [TimedCommand.Route.execute, .load, .store, .store][kind.rawValue]
            if kind == .normalization, let latency = PipelineTiming.normalizerConstantLatency(configNormRs1: rs1, parameters: parameters) { normalizerBusy = latency }
        case Funct.mvin, Funct.mvin2, Funct.mvin3:
            route = .load
            let which = funct == Funct.mvin ? 0 : funct == Funct.mvin2 ? 1 : 2
            let settings = state.loads[which]
            let local = LocalOperand(field: rs2)
            let wide = local.address.isAccumulator && !settings.shrunk
            let move = MoveIn(dramAddress: rs1, dramStride: settings.dramStride, rows: local.rows, columns: local.columns,
                              rowBytes: local.columns * (wide ? parameters.accBytes : parameters.inputBytes),
                              localRow: local.address.row, accumulator: local.address.isAccumulator,
                              accumulate: local.address.accumulates, blockStride: settings.blockStride, dim: dim)
            work = .mvin(move)
            footprint.add(write: local, lastRowOffset: (move.blocks - 1) * settings.blockStride + max(local.rows - 1, 0))
        case Funct.mvout:
            route = .store
            let local = LocalOperand(field: rs2)
            let fullWidth = local.address.isAccumulator && local.address.readsFullWidth
            // CONFIG_ST keeps 32 bits of the DRAM stride (StoreController's `st_dram_stride`).
            var move = MoveOut(dramAddress: rs1, dramStride: state.store.dramStride & 0xFFFF_FFFF, rows: local.rows,
                               columns: local.columns, elementBytes: fullWidth ? parameters.accBytes : parameters.inputBytes,
                               localRow: local.address.row, accumulator: local.address.isAccumulator, dim: dim)
            // Rows through the normalizer's lanes: a statistics pass writes nothing, and a finishing
            // pass (or, with fewer lanes than columns, any lane row) holds the reader for
            // `PipelineTiming.normalizerLatency` per row. With fewer lanes, plain rows that need
            // no requantizer and no lane or row scale take the store controller's scale units.
            let activation = (state.normalization.activationMSB ? 4 : 0) | state.store.activation
            let needsLanes = parameters.config.hasNumericsExtensions
                && (state.store.requantizerShift != 0 || state.store.scaleSource != .store)
            if parameters.config.hasNormalizations, local.address.isAccumulator, !local.address.readsFullWidth,
               let command = NormalizationCommand(rawValue: local.address.normalizationCommand),
               command != .output || activation >= Activation.layerNorm.rawValue || needsLanes {
                move.statisticsPass = command != .output
                let latency = PipelineTiming.normalizerLatency(command: command, activation: activation, parameters: parameters)
                move.normalizerLatency = latency > 0 ? latency : nil
                move.pipelined = PipelineTiming.normalizerPipelined(command: command, parameters: parameters)
                let accumulating = PipelineTiming.normalizerLatency(command: command.accumulating, activation: activation, parameters: parameters)
                move.accumulatingLatency = accumulating > 0 ? accumulating : nil
                move.accumulatingPipelined = PipelineTiming.normalizerPipelined(command: command.accumulating, parameters: parameters)
            }
            work = .mvout(move)
            footprint.add(read: local, lastRowOffset: (move.blocks - 1) * dim + max(local.rows - 1, 0))
        case Funct.loadAffine, Funct.loadRequantizer, Funct.loadLaneScales:
            // Accumulator rows into per-lane registers (γ and β, M, the lane scales): a read that
            // writes nothing.
            route = .store
            let local = LocalOperand(field: rs2)
            var move = MoveOut(dramAddress: rs1, dramStride: 0, rows: local.rows, columns: local.columns, elementBytes: 0,
                               localRow: local.address.row, accumulator: true, dim: dim)
            move.statisticsPass = true
            work = .mvout(move)
            footprint.add(read: local, lastRowOffset: max(local.rows - 1, 0))
        case Funct.computePreloaded, Funct.computeAccumulated:
            route = .execute
            guard let preload = state.pendingPreload else { preconditionFailure("a COMPUTE the golden model accepted has its PRELOAD") }
            let settings = state.execute
            let pair = ExecutePair(a: LocalOperand(field: rs1), computeOperand: LocalOperand(field: rs2), preloadOperand: preload.bd,
                                   c: preload.c, weightStationary: settings.dataflow == .ws, aStride: settings.aStride,
                                   cStride: settings.cStride, accumulated: funct == Funct.computeAccumulated)
            work = .pair(pair)
            // Dispatcher.swift, "Footprint": A as a read range of its own, the union of B/D and
            // the PRELOAD's operand as reads, C as the write.
            footprint.add(readA: pair.a, lastRowOffset: max(pair.a.rows - 1, 0) * settings.aStride)
            footprint.add(read: pair.computeOperand, lastRowOffset: max(pair.computeOperand.rows - 1, 0))
            footprint.add(read: pair.preloadOperand, lastRowOffset: max(pair.preloadOperand.rows - 1, 0))
            footprint.add(write: pair.c, lastRowOffset: max(pair.c.rows - 1, 0) * settings.cStride)
        case Funct.counter:
            counter = CounterAccess(rs1: rs1)
        case Funct.cta where parameters.config.cta != nil && CTAFields.functsInHardware.contains(funct):
            // The CTA controller on the store lane (the other CTA commands the RTL does not run
            // yet: it rejects them as unknownCommand, in the dispatcher).
            route = .store
            let local = LocalOperand(field: rs2)
            switch funct {
            case Funct.ctaConfig where CTAFields.configTarget.value(in: rs1) == UInt64(CTAFields.exponentTarget):
                work = .cta(.configExponent)
            case Funct.ctaConfig:
                work = .cta(.configHash(row: local.address.row))
                footprint.add(read: local, lastRowOffset: 0)
            case Funct.ctaCluster:
                work = .cta(.cluster(row: local.address.row, tokens: local.rows))
                footprint.add(read: local, lastRowOffset: local.rows - 1)
            case Funct.ctaGather:
                // Its 2·k0 product rows; the DMA writes go through the store lane's writer.
                footprint.add(read: local, lastRowOffset: 2 * local.rows - 1)
                if controllerFault {
                    work = .cta(.checkFailure)
                } else {
                    guard let table = state.cta?.tables[0] else { preconditionFailure("an accepted CTA_GATHER has level 0's table") }
                    work = .cta(.gather(GatherWork(row: local.address.row, rows: local.rows, tokens: table.ids.count, dramAddress: rs1,
                                                   dramStride: state.store.dramStride & 0xFFFF_FFFF,
                                                   bytes: local.columns * parameters.inputBytes)))
                }
            case Funct.ctaProbabilities:
                // The whole scratchpad and the accumulator from the scores on (CTACommandChecks:
                // k1 and k2 are unknown at dispatch).
                footprint.scratchpadWrite = RowSpan(low: 0, high: parameters.spRows - 1)
                footprint.accumulatorRead = RowSpan(low: local.address.row, high: max(local.address.row, parameters.accRows - 1))
                if controllerFault {
                    work = .cta(.checkFailure)
                } else {
                    guard let tables = state.cta?.tables, let levelOne = tables[1], let levelTwo = tables[2] else {
                        preconditionFailure("an accepted CTA_PROBABILITIES has levels 1 and 2's tables")
                    }
                    work = .cta(.probabilities(row: local.address.row, rows: local.rows, tokens: levelOne.ids.count,
                                               layout: CTAScoreLayout(k0: local.rows, k1: levelOne.count, k2: levelTwo.count, dim: dim),
                                               continuing: CTAFields.firstRow.value(in: rs1) != 0))
                }
            case Funct.ctaAggregate:
                // The whole scratchpad (CTACommandChecks: k is unknown at dispatch).
                footprint.scratchpadWrite = RowSpan(low: 0, high: parameters.spRows - 1)
                let level = Int(CTAFields.aggregateLevel.value(in: rs1))
                if controllerFault {
                    work = .cta(.checkFailure)
                } else {
                    guard let table = state.cta?.tables[level] else { preconditionFailure("an accepted CTA_AGGREGATE has its level's table") }
                    work = .cta(.aggregate(tokens: local.rows, clusters: table.count, residuals: rs1 >> UInt64(CTAFields.residualsBit) & 1 == 1))
                }
            default:
                let rows = CTAFields.statusRows(dim: dim)
                work = .cta(.status(row: local.address.row, rows: rows))
                footprint.accumulatorWrite = RowSpan(low: local.address.row, high: local.address.row + rows - 1)
            }
        default:
            // FLUSH and PRELOAD retire in the dispatcher.
            break
        }
    }

    static func kindName(funct: UInt8, rs1: UInt64) -> String {
        kindName(funct: funct, configKind: Int(ConfigKind.field.value(in: rs1)))
    }

    /// The same, with a CONFIG's kind (`ConfigKind.field`) given.
    static func kindName(funct: UInt8, configKind: Int) -> String {
        switch funct {
        case Funct.config: return ["CONFIG_EX", "CONFIG_LD", "CONFIG_ST", "CONFIG_NORM"][configKind]
        case Funct.mvin: return "MVIN"
        case Funct.mvin2: return "MVIN2"
        case Funct.mvin3: return "MVIN3"
        case Funct.mvout: return "MVOUT"
        case Funct.preload: return "PRELOAD"
        case Funct.computePreloaded: return "COMPUTE_PRELOADED"
        case Funct.computeAccumulated: return "COMPUTE_ACCUMULATED"
        case Funct.flush: return "FLUSH"
        case Funct.counter: return "COUNTER"
        case Funct.loopWS: return "LOOP_WS"
        case Funct.loopWSConfigBounds...Funct.loopWSConfigStridesDC: return "LOOP_WS_CONFIG"
        case Funct.loadAffine: return "LOAD_AFFINE"
        case Funct.loadRequantizer: return "LOAD_REQUANT"
        case Funct.loadLaneScales: return "LOAD_LANE_SCALES"
        case Funct.ctaConfig: return "CTA_CONFIG"
        case Funct.ctaCluster: return "CTA_CLUSTER"
        case Funct.ctaAggregate: return "CTA_AGGREGATE"
        case Funct.ctaProbabilities: return "CTA_PROBABILITIES"
        case Funct.ctaGather: return "CTA_GATHER"
        case Funct.ctaStatus: return "CTA_STATUS"
        default: return "funct \(funct)"
        }
    }
}

/// A CTA command as the CTA controller runs it (CTAController.swift): the accumulator rows it
/// reads or writes, one per cycle.
public enum CTAWork: Sendable {
    /// CTA_CONFIG of λ: retires in the cycle after it is taken.
    case configExponent
    /// CTA_CONFIG of a level: reads one row.
    case configHash(row: Int)
    /// CTA_CLUSTER: reads `tokens` rows into the hash unit and the cluster index.
    case cluster(row: Int, tokens: Int)
    /// CTA_STATUS: writes `rows` rows.
    case status(row: Int, rows: Int)
    /// CTA_AGGREGATE: n token rows, k centroids, and the residuals stream or not.
    case aggregate(tokens: Int, clusters: Int, residuals: Bool)
    /// CTA_PROBABILITIES: k0 compressed rows of scores from accumulator row `row` over n tokens,
    /// read row group by row group (`PipelineTiming.probabilitiesGroupCycles`).
    /// `continuing`: the command continues a set (its first row is not 0).
    case probabilities(row: Int, rows: Int, tokens: Int, layout: CTAScoreLayout, continuing: Bool)
    /// CTA_GATHER: k0 compressed rows, then n token rows to DRAM.
    case gather(GatherWork)
    /// CTA_AGGREGATE, CTA_PROBABILITIES or CTA_GATHER whose state checks fail in the controller.
    case checkFailure
}

/// A CTA_GATHER as the CTA controller runs it: the k0 compressed rows from accumulator rows
/// `row ..< row + 2·k0`, then one DMA write of `bytes` per token, token i to
/// `dramAddress + i·dramStride`.
public struct GatherWork: Sendable, Equatable {
    public var row: Int
    public var rows: Int
    public var tokens: Int
    public var dramAddress: UInt64
    public var dramStride: UInt64
    public var bytes: Int
}

/// An MVIN as the load controller runs it: one DMA read per row (none when the DRAM address is
/// 0), then `blocks` DIM-lane writes per row.
///
/// The counts are held as `Int32`, as `MoveOut`'s: they come from 16-bit fields, a local row
/// address (26 bits) and DIM.
public struct MoveIn: Sendable, Equatable {
    public var dramAddress: UInt64
    public var dramStride: UInt64
    private var rowCount: Int32, columnCount: Int32, rowByteCount: Int32, firstRow: Int32, stride: Int32, dimension: Int32
    public var rows: Int { Int(rowCount) }
    public var columns: Int { Int(columnCount) }
    public var rowBytes: Int { Int(rowByteCount) }
    public var localRow: Int { Int(firstRow) }
    public var accumulator: Bool
    public var accumulate: Bool
    public var blockStride: Int { Int(stride) }
    public var dim: Int { Int(dimension) }

    init(dramAddress: UInt64, dramStride: UInt64, rows: Int, columns: Int, rowBytes: Int, localRow: Int, accumulator: Bool,
         accumulate: Bool, blockStride: Int, dim: Int) {
        self.dramAddress = dramAddress
        self.dramStride = dramStride
        rowCount = Int32(rows)
        columnCount = Int32(columns)
        rowByteCount = Int32(rowBytes)
        firstRow = Int32(localRow)
        self.accumulator = accumulator
        self.accumulate = accumulate
        stride = Int32(blockStride)
        dimension = Int32(dim)
    }

    /// DIM-column blocks per row (LoadController's writer: at least one).
    public var blocks: Int { LocalOperandLayout.blocks(columns: columns, dim: dim) }
    public var zeros: Bool { dramAddress == 0 }
    /// Nothing to move: the controller passes one note through.
    public var empty: Bool { rows == 0 || columns == 0 }
    public func address(row: Int) -> UInt64 { dramAddress &+ UInt64(row) &* dramStride }

    /// This load into the other accumulator half (`AccumulatorHalves`); nil when its rows straddle the halves.
    func swappingHalves(_ half: Int) -> MoveIn? {
        guard accumulator, !empty else { return self }
        let last = localRow + (blocks - 1) * blockStride + rows - 1
        guard localRow / half == last / half else { return nil }
        var move = self
        move.firstRow = Int32(localRow ^ half)
        return move
    }
}

/// An MVOUT as the store controller runs it: one local read and one DMA write per row of each
/// DIM-column block, block by block.
///
/// The counts are held as `Int32` (a command's work is as large as its largest case, this one,
/// and the timing model copies it with every command the dispatcher takes): they come from
/// 16-bit fields, a local row address (26 bits), DIM and the normalizer's latencies.
public struct MoveOut: Sendable, Equatable {
    public var dramAddress: UInt64
    public var dramStride: UInt64
    private var rowCount: Int32, columnCount: Int32, elementByteCount: Int32, firstRow: Int32, dimension: Int32
    private var lastLatency: Int32?, accumulatingBlockLatency: Int32?
    public var rows: Int { Int(rowCount) }
    public var columns: Int { Int(columnCount) }
    /// Bytes per element written (0 for the lane loads, which write nothing).
    public var elementBytes: Int { Int(elementByteCount) }
    public var localRow: Int { Int(firstRow) }
    public var accumulator: Bool
    public var dim: Int { Int(dimension) }
    /// A normalization statistics pass: its rows write nothing.
    public var statisticsPass = false
    /// Cycles the normalizer takes for each row of the last block when they are not 0
    /// (StoreController: the reader waits for each such row's result).
    public var normalizerLatency: Int? {
        get { lastLatency.map(Int.init) }
        set { lastLatency = newValue.map { Int32($0) } }
    }
    /// The same for the blocks before the last (their command accumulates).
    public var accumulatingLatency: Int? {
        get { accumulatingBlockLatency.map(Int.init) }
        set { accumulatingBlockLatency = newValue.map { Int32($0) } }
    }
    /// Whether the reader may read the next row in the cycle such a row's result is queued
    /// (`PipelineTiming.normalizerPipelined`), for the last block and the blocks before it.
    public var pipelined = false
    public var accumulatingPipelined = false

    init(dramAddress: UInt64, dramStride: UInt64, rows: Int, columns: Int, elementBytes: Int, localRow: Int, accumulator: Bool,
         dim: Int) {
        self.dramAddress = dramAddress
        self.dramStride = dramStride
        rowCount = Int32(rows)
        columnCount = Int32(columns)
        elementByteCount = Int32(elementBytes)
        firstRow = Int32(localRow)
        self.accumulator = accumulator
        dimension = Int32(dim)
    }

    public var empty: Bool { rows == 0 || columns == 0 }
    public var blocks: Int { LocalOperandLayout.blocks(columns: columns, dim: dim) }
    /// The local row of `row` in `block`.
    public func localRow(row: Int, block: Int) -> Int { localRow + block * dim + row }
    public func address(row: Int, block: Int) -> UInt64 {
        dramAddress &+ UInt64(row) &* dramStride &+ UInt64(block * dim * elementBytes)
    }
    public func bytes(block: Int) -> Int { (block < blocks - 1 ? dim : columns - block * dim) * elementBytes }
    public func latency(block: Int) -> Int? { block < blocks - 1 ? accumulatingLatency : normalizerLatency }
    public func pipelined(block: Int) -> Bool { block < blocks - 1 ? accumulatingPipelined : pipelined }

    /// This store from the other accumulator half (`AccumulatorHalves`); nil when its rows straddle the halves.
    func swappingHalves(_ half: Int) -> MoveOut? {
        guard accumulator, !empty else { return self }
        let last = localRow(row: rows - 1, block: blocks - 1)
        guard localRow / half == last / half else { return nil }
        var move = self
        move.firstRow = Int32(localRow ^ half)
        return move
    }
}

/// A PRELOAD+COMPUTE pair with the CONFIG_EX state it runs with.
public struct ExecutePair: Hashable, Sendable {
    public var a: LocalOperand
    /// The COMPUTE's rs2: D in WS, B in OS.
    public var computeOperand: LocalOperand
    /// The PRELOAD's rs1: B in WS, D in OS.
    public var preloadOperand: LocalOperand
    public var c: LocalOperand
    public var weightStationary: Bool
    public var aStride: Int
    public var cStride: Int
    public var accumulated: Bool

    public var b: LocalOperand { weightStationary ? preloadOperand : computeOperand }
    public var d: LocalOperand { weightStationary ? computeOperand : preloadOperand }
}

/// Rows `low...high` of one local memory.
///
/// Held as two `Int32` (a footprint is five of these, copied with every command the station
/// takes): `low` is a row address (below 2^26), and a `high` past `Int32.max` (a huge stride)
/// is held as `Int32.max`. Both are only ever compared with row addresses or combined by `min`
/// and `max`, so no answer changes.
public struct RowSpan: Hashable, Sendable {
    private var first: Int32
    private var last: Int32

    public var low: Int { Int(first) }
    public var high: Int { Int(last) }

    public init(low: Int, high: Int) {
        first = Int32(clamping: low)
        last = Int32(clamping: high)
    }

    func overlaps(_ other: RowSpan?) -> Bool {
        guard let other else { return false }
        return !(high < other.low) && !(other.high < low)
    }

    /// The smallest span covering both (the dispatcher keeps one range per memory and direction).
    func union(_ other: RowSpan?) -> RowSpan {
        guard let other else { return self }
        return RowSpan(low: min(low, other.low), high: max(high, other.high))
    }
}

/// The reservation station's view of a command (Commands.swift, `Footprint`): one row range
/// per memory and direction, and a pair's A rows apart.
public struct TimingFootprint: Hashable, Sendable {
    /// B and D of a pair; the source of an mvout.
    public var scratchpadRead: RowSpan?
    /// A of a pair.
    public var scratchpadReadA: RowSpan?
    public var scratchpadWrite: RowSpan?
    public var accumulatorRead: RowSpan?
    public var accumulatorWrite: RowSpan?

    /// Whether running `younger` before this (older) command could change either's result.
    public func conflicts(with younger: TimingFootprint) -> Bool {
        func hits(_ a: RowSpan?, _ b: RowSpan?) -> Bool { a?.overlaps(b) ?? false }
        return hits(scratchpadWrite, younger.scratchpadRead) || hits(scratchpadWrite, younger.scratchpadReadA)
            || hits(scratchpadWrite, younger.scratchpadWrite)
            || hits(scratchpadRead, younger.scratchpadWrite) || hits(scratchpadReadA, younger.scratchpadWrite)
            || hits(accumulatorWrite, younger.accumulatorRead) || hits(accumulatorWrite, younger.accumulatorWrite)
            || hits(accumulatorRead, younger.accumulatorWrite)
    }

    /// The rows of `operand` (none when it is GARBAGE or moves nothing), as the dispatcher's `range`.
    static func span(_ operand: LocalOperand, lastRowOffset: Int) -> (accumulator: Bool, span: RowSpan)? {
        guard !operand.address.isGarbage, operand.rows != 0, operand.columns != 0 else { return nil }
        let low = operand.address.row
        return (operand.address.isAccumulator, RowSpan(low: low, high: low + lastRowOffset))
    }

    mutating func add(read operand: LocalOperand, lastRowOffset: Int) {
        guard let (accumulator, span) = Self.span(operand, lastRowOffset: lastRowOffset) else { return }
        if accumulator { accumulatorRead = span.union(accumulatorRead) } else { scratchpadRead = span.union(scratchpadRead) }
    }

    /// A pair's A: a scratchpad range of its own (none for an accumulator address).
    mutating func add(readA operand: LocalOperand, lastRowOffset: Int) {
        guard let (accumulator, span) = Self.span(operand, lastRowOffset: lastRowOffset), !accumulator else { return }
        scratchpadReadA = span
    }

    mutating func add(write operand: LocalOperand, lastRowOffset: Int) {
        guard let (accumulator, span) = Self.span(operand, lastRowOffset: lastRowOffset) else { return }
        if accumulator { accumulatorWrite = span.union(accumulatorWrite) } else { scratchpadWrite = span.union(scratchpadWrite) }
    }
}
