import SpinelHDL

/// Runs the CTA commands of the store lane in program order (docs/CTA.md, "Commands"; all six,
/// `CTAFields.functsInHardware`) and keeps the CTA units' state: per level the hash settings
/// (offsets, M, K), the last clustering's count k and tokens n (none before one, or after an
/// overflow) and its cluster table, the token of the last overflow, λ, and what CTA_GATHER needs
/// of the last CTA_PROBABILITIES.
///
/// It shares the store lane with the `StoreController`: the accelerator gives it a command only
/// when the store controller has nothing in flight, and gives the store controller none while
/// this one is busy, so the lane retires in order. The dispatcher has checked every field.
///
/// - CTA_CONFIG of a level reads the offsets' accumulator row and keeps lanes 0 ..< l; of λ it
///   keeps λ's binary32 bits (0 after reset: CTA_PROBABILITIES refuses to run without it).
/// - CTA_CLUSTER reads the n product rows one per cycle (when the read port grants it) into the
///   `HashUnit` (one register stage) and on into the `ClusterIndexModule` (one token per cycle,
///   `latency` cycles to its id). Each id is written to the level's cluster-table memory
///   (`table_level0` …: `maxTokens` words of ⌈log2 K⌉ bits each, one memory per level so that
///   CTA_PROBABILITIES reads a token's level-1 and level-2 ids in one cycle). When the last
///   token's id is out, the level takes the count and n, or, if a token found no cluster, no table, and the overflow is reported like a DMA
///   fault (`clusterOverflow`, the command's index).
/// - CTA_AGGREGATE first checks the state in one cycle (in the golden model's order: the level
///   has a table, the rows are its n, the k centroid rows fit the scratchpad, they miss the token
///   rows); a failure is the command's fault, and nothing is written. Then the
///   `CentroidAggregationUnit` runs: an `accumulate` stream of the n token rows (scratchpad
///   reads, one per cycle, with the table's ids), an `average` whose k centroid rows go to the
///   scratchpad at the output address + id, and with the residuals bit a `residual` stream of
///   the token rows again, written back in place. Its writes are masked to the operand's columns.
///   The rows pass through a two-row queue (a read is issued only when the queue has room for
///   its row), so the unit may stall on its output without losing a row.
/// - CTA_PROBABILITIES: see `buildProbabilities` (CTAController+Probabilities.swift).
/// - CTA_GATHER checks the state in one cycle (level 0 has a table, the rows are the
///   CTA_PROBABILITIES set's and level 0's k0), then per compressed row starts the
///   `GatherOutputUnit` with the row's maxima and denominator and CONFIG_ST's scale, feeds it the
///   row's two product rows and keeps its output row in the row buffer (`gather_rows`); then per
///   token it reads level 0's id and that buffer row and writes it to DRAM at rs1 + i·stride
///   through the store lane's DMA writer. A write error is the command's `dmaWriteFault`.
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
    /// CTA_GATHER's DMA writes (the store lane's, shared with the store controller).
    public let dma: DMAParameters

    public init(_ parameters: AcceleratorParameters, dma: DMAParameters) {
        guard let cta = parameters.config.cta else { preconditionFailure("the CTA controller needs a configuration with a cta section") }
        self.parameters = parameters
        self.cta = cta
        self.dma = dma
    }

    public var name: String { "CTAController_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<RoutedCommand>
        @Output("acc_read") public var accumulatorRead: RowReadPort
        @Output("acc_write") public var accumulatorWrite: Decoupled<RowWrite>
        /// CTA_AGGREGATE's token rows (the store lane's scratchpad read port, shared with the store controller).
        @Output("sp_read") public var scratchpadRead: RowReadPort
        /// CTA_AGGREGATE's centroid and residual rows (the scratchpad's last write client).
        @Output("sp_write") public var scratchpadWrite: Decoupled<RowWrite>
        /// CTA_GATHER's token rows (the store lane's DMA writer, shared with the store controller).
        @Output("dma_req") public var writeRequest: Decoupled<DMAWriteRequest>
        @Input("dma_resp") public var writeResponse: Decoupled<DMAWriteResponse>
        /// CONFIG_ST's DRAM stride and accumulator scale (the store controller's registers).
        @Input("st_dram_stride") public var storeStride: Signal
        @Input("st_acc_scale") public var storeScale: Signal
        /// Pulses when the command retires.
        @Output public var retire: Signal
        @Output public var fault: Valid<CommandFault>
        @Output public var busy: Signal
    }

    public var io: IO {
        let template = (rows: parameters.accRows, lanes: parameters.dim, laneWidth: parameters.config.accType.width)
        let scratchpad = (rows: parameters.spRows, lanes: parameters.dim, laneWidth: parameters.config.inputType.width)
        return IO(command: Decoupled(RoutedCommand()),
                  accumulatorRead: .template(rows: template.rows, lanes: template.lanes, laneWidth: template.laneWidth),
                  accumulatorWrite: Decoupled(.template(rows: template.rows, lanes: template.lanes, laneWidth: template.laneWidth)),
                  scratchpadRead: .template(rows: scratchpad.rows, lanes: scratchpad.lanes, laneWidth: scratchpad.laneWidth),
                  scratchpadWrite: Decoupled(.template(rows: scratchpad.rows, lanes: scratchpad.lanes, laneWidth: scratchpad.laneWidth)),
                  writeRequest: Decoupled(DMAWriteRequest(dma)), writeResponse: Decoupled(DMAWriteResponse(dma)),
                  storeStride: Signal(.uint(32)), storeScale: Signal(.uint(32)),
                  retire: Signal(.bool), fault: Valid(CommandFault()), busy: Signal(.bool))
    }

    enum Phase: Int, HardwareEnum {
        case idle, readOffsets, offsetsArriving, readProducts, clustering, writeStatus, finish
        /// CTA_AGGREGATE: the state checks; the token rows' stream (accumulate, or residuals); the centroids out.
        case aggregateCheck, aggregateStream, averaging
        /// CTA_PROBABILITIES: the state checks; the tokens' ids into the aggregation unit; a row
        /// group's score reads; its last chunk lands; the unit's `start`; the group runs (the unit,
        /// the quantizer, the AP rows out).
        case probabilitiesCheck, probabilityTokens, probabilityLoad, probabilityArriving, probabilityStart, probabilityRun
        /// CTA_GATHER: the state checks; the k0 compressed rows (factors, products, outputs into
        /// the row buffer); the n token rows out to DRAM.
        case gatherCheck, gatherRows, gatherTokens
    }

    /// CTA_GATHER's steps for one compressed row (`gather_stage` in `gatherRows`).
    enum GatherStage: Int, HardwareEnum {
        /// Read the row's maxima and denominator; start the unit with them; wait for its factors.
        case readRow, start, factors
        /// Read the row's two products (level 1, then level 2); the second arrives with the first held.
        case firstProduct, secondProduct, products
        /// The last row is in: wait for its output.
        case drain
    }

    /// The cluster index this controller clusters with (one for all levels: one CTA_CLUSTER at a time).
    public var clusterIndex: ClusterIndexModule {
        ClusterIndexModule(hashLength: cta.hashLength, elementBits: cta.hashCodeBits, digitBits: cta.clusterDigitBits, maximumTokens: cta.maxTokens,
                           maximumClusters: cta.maxClusters)
    }

    /// The centroid aggregation unit CTA_AGGREGATE runs (one DIM-column block at a time).
    public var centroidUnit: CentroidAggregationUnit { CentroidAggregationUnit(dim: parameters.dim, parameters: cta) }

    /// The probability aggregation unit CTA_PROBABILITIES runs (`pagTiles` compressed query rows at a time).
    public var aggregationUnit: ProbabilityAggregationUnit { ProbabilityAggregationUnit(cta, dim: parameters.dim, expTable: cta.expTable) }

    /// The quantizer behind it.
    public var quantizer: ProbabilityQuantizer { ProbabilityQuantizer(cta, dim: parameters.dim) }

    /// The unit CTA_GATHER computes its compressed output rows with.
    public var gatherUnit: GatherOutputUnit { GatherOutputUnit(cta, dim: parameters.dim, outputBits: parameters.config.inputType.width) }

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
        // n of each level's table (meaningful while it has one).
        let tableTokens = (0..<F.levels).map { m.register("level\($0)_tokens", .uint(16), reset: 0) }
        let overflowSeen = m.register("overflow_seen", .bool, reset: false)
        let overflowToken = m.register("overflow_token", .uint(index.tokenBits), reset: 0)
        // λ, binary32 bits (CTA_CONFIG target 3; 0 until one).
        let lambda = m.register("lambda", .uint(32), reset: 0)
        // Read by CTA_GATHER: per compressed query row q of the CTA_PROBABILITIES groups since the
        // last one at row 0, word q = cat(D, m2, m1) (`probabilityAccumulatorBits` each, m1 in the
        // low bits), and their count q0 + k0 (0 before one; a failing one leaves both).
        let probabilityRowsTable = m.memory("probability_rows_table", width: 3 * cta.probabilityAccumulatorBits, depth: cta.maxClusters)
        let probabilityRows = m.register("probability_rows", .uint(index.countBits), reset: 0)
        // The aggregation unit holds the tokens' level-1 and level-2 ids of the tables as they are
        // (a CTA_PROBABILITIES loaded them, and no CTA_CLUSTER ran since): a CTA_PROBABILITIES that
        // continues a set does not load them again.
        let probabilityTokensHeld = m.register("probability_tokens_held", .bool, reset: false)

        // The command being run.
        let phase = m.register("phase", Phase.self, reset: .idle)
        let current = m.register("current", RoutedCommand())
        let step = m.register("step", .uint(16), reset: 0)
        let idsOut = m.register("ids_out", .uint(16), reset: 0)
        // The command's failure (a cluster overflow, CTA_AGGREGATE's state checks) and its code.
        let failed = m.register("failed", .bool, reset: false)
        let failCode = m.register("fail_code", .uint(ErrorCode.bits), reset: 0)
        let rs1 = current.command.rs1, operand = OperandFields(current.command.rs2)
        let level = rs1.field(F.clusterLevel)
        let baseRow = operand.row.truncated(to: rowBits)
        let lastStep = m.wire("last_step", .bool, default: step +& 1 >= operand.rows)

        io.busy.set(phase =/= Phase.idle)
        io.command.ready.set(phase === Phase.idle)
        let incoming = io.command.bits.command
        let isCluster = incoming.funct === Signal(Funct.ctaCluster)
        let isAggregate = incoming.funct === Signal(Funct.ctaAggregate)
        let isProbabilities = incoming.funct === Signal(Funct.ctaProbabilities)
        m.when(io.command.fire) {
            m.connect(current, from: io.command.bits)
            step.set(0)
            idsOut.set(0)
            failed.set(false)
            let exponent = incoming.rs1.field(F.configTarget) === Signal(F.exponentTarget)
            m.when(incoming.funct === Signal(Funct.ctaConfig)) {
                phase.set(mux(exponent, Signal(Phase.finish), Signal(Phase.readOffsets)))
                m.when(exponent) { lambda.set(incoming.rs1.field(F.exponentFactor)) }
            }
                .elsewhen(isCluster) {
                    phase.set(Phase.readProducts)
                    probabilityTokensHeld.set(false)
                }
                .elsewhen(isAggregate) { phase.set(Phase.aggregateCheck) }
                .elsewhen(isProbabilities) { phase.set(Phase.probabilitiesCheck) }
                .elsewhen(incoming.funct === Signal(Funct.ctaGather)) { phase.set(Phase.gatherCheck) }
                .otherwise { phase.set(Phase.writeStatus) }
        }

        // Accumulator reads: the offsets' row, or the products one row per cycle, or
        // CTA_PROBABILITIES's scores (below), or CTA_GATHER's two product rows of compressed row
        // `step` (AP₁·V̄₁ at row + q, AP₂·V̄₂ at row + k0 + q).
        let gatherStage = m.register("gather_stage", GatherStage.self, reset: .readRow)
        let gatheringRows = phase === Phase.gatherRows
        let gatherReading = m.named("gather_reading", gatheringRows && (gatherStage === GatherStage.firstProduct || gatherStage === GatherStage.secondProduct))
        let productOffset = mux(gatherStage === GatherStage.secondProduct, operand.rows.resized(to: rowBits) +% step.resized(to: rowBits), step.resized(to: rowBits))
        let reading = phase === Phase.readOffsets || phase === Phase.readProducts
        let scoreRead = m.wire("score_read", .bool)
        let scoreRow = m.wire("score_row", .uint(rowBits))
        io.accumulatorRead.request.valid.set(reading || scoreRead || gatherReading)
        io.accumulatorRead.request.bits.set(mux(scoreRead, scoreRow, baseRow +% mux(gatherReading, productOffset, step.resized(to: rowBits))))
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
                    tableTokens[target].set(operand.rows)
                }
            }
            m.when(overflow) {
                overflowSeen.set(true)
                overflowToken.set(cluster.overflowToken)
                failed.set(true)
                failCode.set(Signal.literal(ErrorCode.clusterOverflow.rawValue, .uint(ErrorCode.bits)))
            }
            phase.set(Phase.finish)
        }

        // The cluster tables: each id as it comes out (an overflowed level's table is never read).
        let unit = centroidUnit
        precondition(parameters.config.inputType.width == CentroidAggregationUnit.elementBits, "CTA_AGGREGATE takes int8 token rows")
        precondition(unit.idBits == index.idBits, "the unit takes the cluster index's ids")
        let tokenAddressBits = HWType.addressWidth(for: cta.maxTokens)
        let tables = (0..<F.levels).map { target in
            let table = m.memory("table_level\(target)", width: index.idBits, depth: cta.maxTokens)
            table.write(address: idsOut.resized(to: tokenAddressBits), data: cluster.ids.bits.id, enable: cluster.ids.fire && level === Signal(target))
            return table
        }
        // Token `step`'s ids, a cycle after a read (CTA_AGGREGATE's token rows, CTA_PROBABILITIES's
        // tokens), or level 0's id of CTA_GATHER's token (`table_address`).
        let tableRead = m.wire("table_read", .bool)
        let tableAddress = m.wire("table_address", .uint(tokenAddressBits))
        let ids = tables.map { $0.read(address: tableAddress, enable: tableRead, latency: 1) }

        // CTA_AGGREGATE: the state checks, in the golden model's order.
        let aggregateLevel = rs1.field(F.aggregateLevel)
        let residualsWanted = rs1[F.residualsBit]
        let wide = 40
        let tokensRow = operand.row, outputRow = OperandFields(rs1).row, tokens = operand.rows
        let clusters = select(counts, at: aggregateLevel)
        let tokensLast = tokensRow.extended(to: wide) +% tokens.extended(to: wide) -% Signal.literal(1, .uint(wide))
        let centroidsLast = outputRow.extended(to: wide) +% clusters.extended(to: wide) -% Signal.literal(1, .uint(wide))
        let stateChecks: [(Signal, ErrorCode)] = [
            (!select(hasTable, at: aggregateLevel), .illegalOperand),
            (tokens =/= select(tableTokens, at: aggregateLevel), .illegalOperand),
            (centroidsLast >= Signal(parameters.spRows), .localAddressOutOfRange),
            (!(tokensLast < outputRow.extended(to: wide) || centroidsLast < tokensRow.extended(to: wide)), .illegalOperand),
        ]
        let stateFailure = firstFailure(m, "aggregate_failure", stateChecks)
        let checking = phase === Phase.aggregateCheck
        let residualPass = m.register("residual_pass", .bool, reset: false)
        checkCycle(m, phase: phase, check: .aggregateCheck, failure: stateFailure, next: .aggregateStream, failed: failed, failCode: failCode) {
            step.set(0)
            idsOut.set(0)
            residualPass.set(false)
        }

        // The token rows: a scratchpad read and the table's id per cycle, into a two-row queue
        // (a read only when the queue will have room for its row), then into the unit.
        let centroids = m.instance("aggregation", unit)
        let spRowBits = HWType.addressWidth(for: parameters.spRows)
        let tokenRowBits = dim * CentroidAggregationUnit.elementBits
        let tokenQueue = m.instance("token_rows", Queue(entries: 2, payload: .uint(tokenRowBits + unit.idBits), flow: true))
        let streaming = phase === Phase.aggregateStream
        // A row read in the previous cycle arrives now.
        let rowArriving = m.register("token_row_arriving", .bool, reset: false)
        let room = tokenQueue.count.extended(to: 3) +% mux(rowArriving, Signal.literal(1, .uint(3)), Signal.literal(0, .uint(3))) < Signal(2)
        io.scratchpadRead.request.valid.set(streaming && step < tokens && room)
        io.scratchpadRead.request.bits.set(tokensRow.truncated(to: spRowBits) +% step.resized(to: spRowBits))
        let tokenRead = m.named("token_read", io.scratchpadRead.request.valid && io.scratchpadRead.request.ready)
        m.when(tokenRead) { step.set(step +% 1) }
        rowArriving.set(tokenRead)
        let id = select(ids, at: aggregateLevel)
        tokenQueue.enq.valid.set(rowArriving && io.scratchpadRead.response.valid)
        tokenQueue.enq.bits.set(cat(id, io.scratchpadRead.response.bits))
        centroids.tokens.valid.set(tokenQueue.deq.valid)
        for lane in 0..<dim {
            centroids.tokens.bits.row[lane].set(tokenQueue.deq.bits.bits((lane + 1) * 8 - 1, lane * 8).asSInt)
        }
        centroids.tokens.bits.id.set(tokenQueue.deq.bits.bits(tokenRowBits + unit.idBits - 1, tokenRowBits))
        tokenQueue.deq.ready.set(centroids.tokens.ready)

        // Accumulate: the last row in starts the average (the unit takes it once idle).
        let accumulated = streaming && !residualPass && centroids.tokens.fire
        m.when(accumulated) { idsOut.set(idsOut +% 1) }
        let lastAccumulated = accumulated && idsOut +& 1 >= tokens
        m.when(lastAccumulated) {
            idsOut.set(0)
            phase.set(Phase.averaging)
        }
        let startAverage = m.delay(lastAccumulated, name: "start_average", reset: false)

        // CTA_PROBABILITIES: its reads, its tokens, its writes.
        let probabilities = buildProbabilities(m, ProbabilityState(
            phase: phase, failed: failed, failCode: failCode, step: step, command: current.command, hasTable: hasTable, counts: counts,
            tableTokens: tableTokens, lambda: lambda, ids: ids, readReady: io.accumulatorRead.request.ready, scores: io.accumulatorRead.response.bits,
            scratchpadReady: io.scratchpadWrite.ready, rowsTable: probabilityRowsTable, rows: probabilityRows,
            tokensHeld: probabilityTokensHeld))
        scoreRead.set(probabilities.scoreRead)
        scoreRow.set(probabilities.scoreRow)

        // The results: centroid c to output row + c, residual i to token row i; the operand's columns.
        let averaging = phase === Phase.averaging
        let writing = averaging || (streaming && residualPass)
        let resultRow = mux(residualPass, tokensRow.truncated(to: spRowBits) +% idsOut.resized(to: spRowBits),
                            outputRow.truncated(to: spRowBits) +% centroids.results.bits.id.resized(to: spRowBits))
        let apWrite = probabilities.write
        io.scratchpadWrite.valid.set((writing && centroids.results.valid) || apWrite.valid)
        io.scratchpadWrite.bits.row.set(mux(apWrite.valid, apWrite.row, resultRow))
        io.scratchpadWrite.bits.data.set(mux(apWrite.valid, apWrite.data, cat(centroids.results.bits.row.reversed().map(\.asUInt))))
        io.scratchpadWrite.bits.mask.set(mux(apWrite.valid, ~Signal.literal(0, .uint(dim)), cat((0..<dim).reversed().map { lane in operand.columns > Signal(lane) })))
        io.scratchpadWrite.bits.accumulate.set(false)
        centroids.results.ready.set(writing && io.scratchpadWrite.ready)
        let written = writing && io.scratchpadWrite.fire
        m.when(written) { idsOut.set(idsOut +% 1) }
        let limitBits = max(16, index.countBits)
        let lastWritten = written && idsOut +& 1 >= mux(residualPass, tokens.extended(to: limitBits), clusters.extended(to: limitBits))
        m.when(lastWritten) {
            idsOut.set(0)
            m.when(averaging && residualsWanted) {
                step.set(0)
                residualPass.set(true)
                phase.set(Phase.aggregateStream)
            }.otherwise { phase.set(Phase.finish) }
        }
        let startResidual = m.delay(lastWritten && averaging && residualsWanted, name: "start_residual", reset: false)
        let startAccumulate = checking && stateFailure === 0
        centroids.start.set(startAccumulate || startAverage || startResidual)
        centroids.operation.set(mux(startAverage, Signal(CentroidOperation.average),
                                    mux(startResidual, Signal(CentroidOperation.residual), Signal(CentroidOperation.accumulate))))

        // CTA_GATHER: the state checks, in the golden model's order (level 0 has a table, the
        // rows are the last CTA_PROBABILITIES's and level 0's k0).
        let accumulatorBits = cta.probabilityAccumulatorBits
        let compressedRows = operand.rows, countWidth = max(16, index.countBits) + 1
        let gatherChecks: [(Signal, ErrorCode)] = [
            (!hasTable[0], .illegalOperand),
            (compressedRows.extended(to: countWidth) =/= probabilityRows.extended(to: countWidth), .illegalOperand),
            (compressedRows.extended(to: countWidth) =/= counts[0].extended(to: countWidth), .illegalOperand),
        ]
        let gatherFailure = firstFailure(m, "gather_failure", gatherChecks)
        checkCycle(m, phase: phase, check: .gatherCheck, failure: gatherFailure, next: .gatherRows, failed: failed, failCode: failCode) {
            step.set(0)
            idsOut.set(0)
            gatherStage.set(GatherStage.readRow)
        }

        // The compressed rows, one at a time: the row's maxima and denominator start the gather
        // unit; once its factors are ready, the two product rows are read and go in together;
        // each output row lands in the row buffer at its q (the unit's outputs come in order).
        let gather = m.instance("gather", gatherUnit)
        let rowWord = probabilityRowsTable.read(address: step.resized(to: HWType.addressWidth(for: cta.maxClusters)),
                                    enable: gatheringRows && gatherStage === GatherStage.readRow, latency: 1)
        gather.maximumLevelOne.set(rowWord.bits(accumulatorBits - 1, 0))
        gather.maximumLevelTwo.set(rowWord.bits(2 * accumulatorBits - 1, accumulatorBits))
        gather.denominator.set(rowWord.bits(3 * accumulatorBits - 1, 2 * accumulatorBits))
        gather.outputScale.set(io.storeScale)
        gather.start.set(gatheringRows && gatherStage === GatherStage.start)
        let productFired = gatherReading && io.accumulatorRead.request.ready
        let firstProduct = m.register("first_product", .uint(dim * accBits))
        m.when(m.delay(productFired && gatherStage === GatherStage.firstProduct, name: "first_product_arriving", reset: false)) {
            firstProduct.set(arriving)
        }
        gather.input.valid.set(gatheringRows && gatherStage === GatherStage.products)
        for i in 0..<dim {
            gather.input.bits.levelOne[i].set(int32(firstProduct.bits((i + 1) * accBits - 1, i * accBits).asSInt))
            gather.input.bits.levelTwo[i].set(int32(lane(i)))
        }
        let lastCompressed = step +& 1 >= compressedRows
        m.when(gatheringRows) {
            m.when(gatherStage === GatherStage.readRow) { gatherStage.set(GatherStage.start) }
            m.when(gatherStage === GatherStage.start) { gatherStage.set(GatherStage.factors) }
            m.when(gatherStage === GatherStage.factors && gather.factorsValid) { gatherStage.set(GatherStage.firstProduct) }
            m.when(productFired && gatherStage === GatherStage.firstProduct) { gatherStage.set(GatherStage.secondProduct) }
            m.when(productFired && gatherStage === GatherStage.secondProduct) { gatherStage.set(GatherStage.products) }
            m.when(gather.input.fire) {
                m.when(lastCompressed) { gatherStage.set(GatherStage.drain) }.otherwise {
                    step.set(step +% 1)
                    gatherStage.set(GatherStage.readRow)
                }
            }
        }
        let inputBits = parameters.config.inputType.width
        let rowBuffer = m.memory("gather_rows", width: dim * inputBits, depth: cta.maxClusters)
        let bufferAddressBits = HWType.addressWidth(for: cta.maxClusters)
        rowBuffer.write(address: idsOut.resized(to: bufferAddressBits), data: cat(gather.output.bits.reversed().map(\.asUInt)),
                        enable: gather.output.valid)
        // The tokens: token i's row is compressed row CT0[i]: level 0's table, then the buffer
        // (read latency 1 each), then a DMA write of the operand's columns to DRAM + i·stride.
        let tokenStage = m.register("token_stage", .uint(2), reset: 0)
        let tokensDone = m.register("token_responses", .uint(16), reset: 0)
        m.when(gather.output.valid) {
            idsOut.set(idsOut +% 1)
            m.when(idsOut +& 1 >= compressedRows) {
                step.set(0)
                tokenStage.set(0)
                tokensDone.set(0)
                phase.set(Phase.gatherTokens)
            }
        }
        let gatheringTokens = phase === Phase.gatherTokens
        let tokens0 = tableTokens[0]
        let requesting = gatheringTokens && tokenStage === 2
        io.writeRequest.valid.set(requesting)
        let requestFired = io.writeRequest.fire
        let lastToken = step +& 1 >= tokens0
        let tableStep = mux(tokenStage === 0, step, step +% 1)
        let gatherTableRead = m.named("gather_table_read", gatheringTokens && (tokenStage === 0 || (requestFired && !lastToken)))
        let tokenId = ids[0]
        let tokenRow = rowBuffer.read(address: tokenId.resized(to: bufferAddressBits), enable: gatheringTokens && tokenStage === 1, latency: 1)
        io.writeRequest.bits.address.set(current.command.rs1 +% (step * io.storeStride).resized(to: 64))
        io.writeRequest.bits.bytes.set((operand.columns * Signal(parameters.inputBytes)).resized(to: dma.bytesBits))
        io.writeRequest.bits.data.set(tokenRow.width == dma.maxBytes * 8 ? tokenRow : cat(Signal.literal(0, .uint(dma.maxBytes * 8 - tokenRow.width)), tokenRow))
        io.writeRequest.bits.tag.set(Signal.literal(0, .uint(dma.tagBits)))
        m.when(gatheringTokens) {
            m.when(tokenStage === 0) { tokenStage.set(1) }
            m.when(tokenStage === 1) { tokenStage.set(2) }
            m.when(requestFired) {
                m.when(lastToken) { tokenStage.set(3) }.otherwise {
                    step.set(step +% 1)
                    tokenStage.set(1)
                }
            }
        }
        // Every write is answered, in order; a faulted one is the command's `dmaWriteFault`
        // (the writes after it still go, as an MVOUT's do).
        io.writeResponse.ready.set(gatheringTokens)
        m.when(io.writeResponse.fire) {
            tokensDone.set(tokensDone +% 1)
            m.when(io.writeResponse.bits.error && !failed) {
                failed.set(true)
                failCode.set(Signal.literal(ErrorCode.dmaWriteFault.rawValue, .uint(ErrorCode.bits)))
            }
            m.when(tokensDone +& 1 >= tokens0) { phase.set(Phase.finish) }
        }

        // The cluster tables' one read port: CTA_AGGREGATE's and CTA_PROBABILITIES's token `step`, or CTA_GATHER's.
        tableRead.set(tokenRead || probabilities.tableRead || gatherTableRead)
        tableAddress.set(mux(gatheringTokens, tableStep, step).resized(to: tokenAddressBits))

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

        // Retire, and report a failure (an overflow, CTA_AGGREGATE's state) as the command's fault.
        let finishing = phase === Phase.finish
        m.when(finishing) { phase.set(Phase.idle) }
        io.retire.set(finishing)
        io.fault.valid.set(finishing && failed)
        io.fault.bits.code.set(failCode)
        io.fault.bits.index.set(current.index)
    }

    /// A command's state-check cycle (`phase` at `check`): with a failure (`firstFailure`'s code,
    /// 0 for none) the command fails in its `finish` cycle with nothing done, else it goes on to
    /// `next`; `reset` clears the command's counters in the same cycle.
    func checkCycle(_ m: ModuleBuilder, phase: Signal, check: Phase, failure: Signal, next: Phase, failed: Signal, failCode: Signal,
                    reset: () -> Void) {
        m.when(phase === Signal(check)) {
            reset()
            m.when(failure =/= 0) {
                failed.set(true)
                failCode.set(failure)
                phase.set(Phase.finish)
            }.otherwise { phase.set(next) }
        }
    }

    /// An accumulator value (at most 32 bits) as the int32 the probability and gather units take.
    func int32(_ value: Signal) -> Signal { value.width == 32 ? value : value.extended(to: 32) }

    /// The code of the first failing check in `checks` (0: none), one cycle's logic.
    func firstFailure(_ m: ModuleBuilder, _ name: String, _ checks: [(Signal, ErrorCode)]) -> Signal {
        m.named(name, checks.reversed().reduce(Signal.literal(0, .uint(ErrorCode.bits))) { rest, check in
            mux(check.0, Signal.literal(check.1.rawValue, .uint(ErrorCode.bits)), rest)
        })
    }
}
