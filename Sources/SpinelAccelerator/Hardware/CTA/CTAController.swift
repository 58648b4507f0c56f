import SpinelHDL

/// Runs the CTA commands of the store lane in program order (docs/CTA.md, "Commands"; today
/// CTA_CONFIG, CTA_CLUSTER and CTA_STATUS, `CTAFields.functsInHardware`) and keeps the CTA
/// units' state: per level the hash settings (offsets, M, K) and the last clustering's count
/// (none before one, or after an overflow), and the token of the last overflow.
///
/// It shares the store lane with the `StoreController`: the accelerator gives it a command only
/// when the store controller has nothing in flight, and gives the store controller none while
/// this one is busy, so the lane retires in order. The dispatcher has checked every field.
///
/// - CTA_CONFIG of a level reads the offsets' accumulator row and keeps lanes 0 ..< l; of λ it
///   only retires (λ is kept with the unit that uses it, CTA_PROBABILITIES).
/// - CTA_CLUSTER reads the n product rows one per cycle (when the read port grants it) into the
///   `HashUnit` (one register stage) and on into the `ClusterIndexModule` (one token per cycle,
///   `latency` cycles to its id). When the last token's id is out, the level takes the count,
///   or, if a token found no cluster, no table, and the overflow is reported like a DMA fault
///   (`clusterOverflow`, the command's index).
/// - CTA_STATUS writes k0, k1, k2 (−1 for a level without a table) and the overflow token (−1
///   for none) into `CTAFields.statusRows` accumulator rows, all lanes, through its own write
///   client of the accumulator.
///
/// Every command ends with one `finish` cycle in which it retires; an accumulator write has
/// landed by then (the read-modify-write stage takes one cycle), so a younger reader of the
/// lane sees it.
public struct CTAController: Module {
    public let parameters: AcceleratorParameters
    public let cta: CTAParameters

    public init(_ parameters: AcceleratorParameters) {
        guard let cta = parameters.config.cta else { preconditionFailure("the CTA controller needs a configuration with a cta section") }
        self.parameters = parameters
        self.cta = cta
    }

    public var name: String { "CTAController_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<RoutedCommand>
        @Output("acc_read") public var accumulatorRead: RowReadPort
        @Output("acc_write") public var accumulatorWrite: Decoupled<RowWrite>
        /// Pulses when the command retires.
        @Output public var retire: Signal
        @Output public var fault: Valid<CommandFault>
        @Output public var busy: Signal
    }

    public var io: IO {
        let template = (rows: parameters.accRows, lanes: parameters.dim, laneWidth: parameters.config.accType.width)
        return IO(command: Decoupled(RoutedCommand()),
                  accumulatorRead: .template(rows: template.rows, lanes: template.lanes, laneWidth: template.laneWidth),
                  accumulatorWrite: Decoupled(.template(rows: template.rows, lanes: template.lanes, laneWidth: template.laneWidth)),
                  retire: Signal(.bool), fault: Valid(CommandFault()), busy: Signal(.bool))
    }

    enum Phase: Int, HardwareEnum { case idle, readOffsets, offsetsArriving, readProducts, clustering, writeStatus, finish }

    /// The cluster index this controller clusters with (one for all levels: one CTA_CLUSTER at a time).
    public var clusterIndex: ClusterIndexModule {
        ClusterIndexModule(hashLength: cta.hashLength, elementBits: cta.hashCodeBits, digitBits: cta.clusterDigitBits, maximumTokens: cta.maxTokens,
                           maximumClusters: cta.maxClusters)
    }

    public var hashUnit: HashUnit {
        HashUnit(lanes: cta.hashLength, accumulatorBits: parameters.config.accType.width, offsetBits: parameters.config.accType.width,
                 reciprocalBits: cta.hashReciprocalBits, codeBits: cta.hashCodeBits)
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        typealias F = CTAFields
        let dim = parameters.dim, accBits = parameters.config.accType.width, hashLength = cta.hashLength
        let rowBits = HWType.addressWidth(for: parameters.accRows)
        let index = clusterIndex

        // The units' state, as after reset: offsets, M and K 0, no tables, no overflow.
        let offsets = (0..<F.levels).map { level in (0..<hashLength).map { m.register("level\(level)_offset_\($0)", .sint(accBits), reset: 0) } }
        let multipliers = (0..<F.levels).map { m.register("level\($0)_multiplier", .uint(cta.hashReciprocalBits), reset: 0) }
        let shifts = (0..<F.levels).map { m.register("level\($0)_shift", .uint(HashUnit.shiftBits), reset: 0) }
        let hasTable = (0..<F.levels).map { m.register("level\($0)_has_table", .bool, reset: false) }
        let counts = (0..<F.levels).map { m.register("level\($0)_count", .uint(index.countBits), reset: 0) }
        let overflowSeen = m.register("overflow_seen", .bool, reset: false)
        let overflowToken = m.register("overflow_token", .uint(index.tokenBits), reset: 0)

        // The command being run.
        let phase = m.register("phase", Phase.self, reset: .idle)
        let current = m.register("current", RoutedCommand())
        let step = m.register("step", .uint(16), reset: 0)
        let idsOut = m.register("ids_out", .uint(16), reset: 0)
        let overflowed = m.register("overflowed", .bool, reset: false)
        let rs1 = current.command.rs1, operand = OperandFields(current.command.rs2)
        let level = rs1.field(F.clusterLevel)
        let baseRow = operand.row.truncated(to: rowBits)
        let lastStep = m.wire("last_step", .bool, default: step +& 1 >= operand.rows)

        io.busy.set(phase =/= Phase.idle)
        io.command.ready.set(phase === Phase.idle)
        let incoming = io.command.bits.command
        let isCluster = incoming.funct === Signal(Funct.ctaCluster)
        m.when(io.command.fire) {
            m.connect(current, from: io.command.bits)
            step.set(0)
            idsOut.set(0)
            overflowed.set(false)
            let exponent = incoming.rs1.field(F.configTarget) === Signal(F.exponentTarget)
            m.when(incoming.funct === Signal(Funct.ctaConfig)) { phase.set(mux(exponent, Signal(Phase.finish), Signal(Phase.readOffsets))) }
                .elsewhen(isCluster) { phase.set(Phase.readProducts) }
                .otherwise { phase.set(Phase.writeStatus) }
        }

        // Accumulator reads: the offsets' row, or the products one row per cycle.
        let reading = phase === Phase.readOffsets || phase === Phase.readProducts
        io.accumulatorRead.request.valid.set(reading)
        io.accumulatorRead.request.bits.set(baseRow +% step.resized(to: rowBits))
        let readFired = reading && io.accumulatorRead.request.ready
        m.when(readFired && phase === Phase.readOffsets) { phase.set(Phase.offsetsArriving) }
        m.when(readFired && phase === Phase.readProducts) {
            step.set(step +% 1)
            m.when(lastStep) { phase.set(Phase.clustering) }
        }
        let arriving = io.accumulatorRead.response.bits
        func lane(_ i: Int) -> Signal { arriving.bits((i + 1) * accBits - 1, i * accBits).asSInt }
        m.when(phase === Phase.offsetsArriving && io.accumulatorRead.response.valid) {
            for target in 0..<F.levels {
                m.when(rs1.field(F.configTarget) === Signal(target)) {
                    for i in 0..<hashLength { offsets[target][i].set(lane(i)) }
                    multipliers[target].set(rs1.field(F.hashMultiplier).truncated(to: cta.hashReciprocalBits))
                    shifts[target].set(rs1.field(F.hashShift))
                }
            }
            phase.set(Phase.finish)
        }

        // CTA_CLUSTER: product rows → hash unit → cluster index; the ids are only counted.
        let hash = m.instance("hash", hashUnit)
        hash.input.valid.set(m.delay(readFired && phase === Phase.readProducts, name: "product_arriving", reset: false))
        for i in 0..<hashLength {
            hash.input.bits.accumulators[i].set(lane(i))
            hash.input.bits.offsets[i].set(select((0..<F.levels).map { offsets[$0][i] }, at: level))
        }
        hash.multiplier.set(select(multipliers, at: level))
        hash.shift.set(select(shifts, at: level))
        let cluster = m.instance("cluster_index", index)
        cluster.start.set(io.command.fire && isCluster)
        cluster.limit.set(Signal.literal(cta.maxClusters, .uint(index.countBits)))
        // The cluster index holds every token in flight (`capacity`) with `out` always taken: it never stalls.
        cluster.codes.valid.set(hash.output.valid)
        for i in 0..<hashLength { cluster.codes.bits[i].set(hash.output.bits[i]) }
        cluster.ids.ready.set(true)
        let lastId = cluster.ids.fire && idsOut +& 1 >= operand.rows
        m.when(cluster.ids.fire) { idsOut.set(idsOut +% 1) }
        m.when(lastId) {
            let overflow = cluster.ids.bits.overflowed
            for target in 0..<F.levels {
                m.when(level === Signal(target)) {
                    hasTable[target].set(!overflow)
                    counts[target].set(cluster.count)
                }
            }
            m.when(overflow) {
                overflowSeen.set(true)
                overflowToken.set(cluster.overflowToken)
            }
            overflowed.set(overflow)
            phase.set(Phase.finish)
        }

        // CTA_STATUS: k0, k1, k2, the overflow token; value i at lane i mod DIM of row i / DIM.
        let minusOne = Signal.literal(-1, .sint(accBits))
        let values = (0..<F.levels).map { mux(hasTable[$0], counts[$0].extended(to: accBits).asSInt, minusOne) }
            + [mux(overflowSeen, overflowToken.extended(to: accBits).asSInt, minusOne)]
        precondition(values.count == F.statusValues, "CTA_STATUS writes CTAFields.statusValues values")
        let statusRows = F.statusRows(dim: dim)
        let rows = (0..<statusRows).map { row in
            cat((0..<dim).reversed().map { lane in
                row * dim + lane < values.count ? values[row * dim + lane].asUInt : Signal.literal(0, .uint(accBits))
            })
        }
        io.accumulatorWrite.valid.set(phase === Phase.writeStatus)
        io.accumulatorWrite.bits.row.set(baseRow +% step.resized(to: rowBits))
        io.accumulatorWrite.bits.data.set(statusRows == 1 ? rows[0] : select(rows, at: step.resized(to: HWType.addressWidth(for: statusRows))))
        io.accumulatorWrite.bits.mask.set(~Signal.literal(0, .uint(dim)))
        io.accumulatorWrite.bits.accumulate.set(false)
        m.when(io.accumulatorWrite.fire) {
            step.set(step +% 1)
            m.when(step +& 1 >= Signal(statusRows)) { phase.set(Phase.finish) }
        }

        // Retire, and report an overflow as the command's fault.
        let finishing = phase === Phase.finish
        m.when(finishing) { phase.set(Phase.idle) }
        io.retire.set(finishing)
        io.fault.valid.set(finishing && overflowed)
        io.fault.bits.code.set(Signal.literal(ErrorCode.clusterOverflow.rawValue, .uint(ErrorCode.bits)))
        io.fault.bits.index.set(current.index)
    }
}
