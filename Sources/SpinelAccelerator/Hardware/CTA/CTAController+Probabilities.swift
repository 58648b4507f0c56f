import SpinelHDL

/// CTA_PROBABILITIES in the CTA controller (docs/CTA.md, "Commands"; docs/CTA-HARDWARE.md,
/// "Probability aggregation unit", "Probability quantizer"):
///
/// - a check cycle: the state, in the golden model's order (levels 1 and 2 have tables over the
///   same tokens, λ is set, the first row q0 is 0 or follows the probability rows so far, the
///   columns are k1 + k2, the scores' and AP's blocks·k0 rows fit their memories); a failure is
///   the command's fault, nothing is written and the probability rows stay;
/// - the n tokens' level-1 and level-2 ids into the `ProbabilityAggregationUnit`, one token per
///   cycle from the two cluster-table memories (once the unit has cleared after reset), unless
///   the command continues a set (first row > 0) and the unit still holds them (no CTA_CLUSTER
///   since they were loaded: `probability_tokens_held`);
/// - per group of `pagTiles` compressed query rows q = g·tiles + t (a row q ≥ k0 is absent): the
///   score chunks of every present row, block by block (block b of row q at accumulator row
///   scores + b·k0 + q, one read per cycle when the port grants it, each landing in the unit a
///   cycle later), a cycle for the last chunk to land, the unit's `start`; then the unit's AP
///   stream goes through the `ProbabilityQuantizer`, whose rows are written to the scratchpad at
///   AP + block·k0 + q (absent rows dropped) and whose maxima and denominator of each present row
///   go to `probability_rows_table` at word q0 + q. The next group starts when the quantizer's
///   last row of this one has left; after the last group the command sets `probability_rows` to
///   q0 + k0 (the rows of its set so far) and retires.
extension CTAController {
    /// What CTA_PROBABILITIES shares with the rest of the controller.
    struct ProbabilityState {
        var phase: Signal
        var failed: Signal
        var failCode: Signal
        /// The token counter (the cluster tables' read address).
        var step: Signal
        var command: RoCCCommand
        var hasTable: [Signal]
        var counts: [Signal]
        var tableTokens: [Signal]
        var lambda: Signal
        /// The cluster tables' data, a cycle after `tableRead`.
        var ids: [Signal]
        /// The accumulator read port's grant, and its data a cycle after a granted read.
        var readReady: Signal
        var scores: Signal
        var scratchpadReady: Signal
        var rowsTable: Memory
        var rows: Signal
        /// The unit holds the tables' token ids (`probability_tokens_held`).
        var tokensHeld: Signal
    }

    /// What CTA_PROBABILITIES asks of the ports the controller shares.
    struct ProbabilityRequests {
        var tableRead: Signal
        var scoreRead: Signal
        var scoreRow: Signal
        var write: (valid: Signal, row: Signal, data: Signal)
    }

    func buildProbabilities(_ m: ModuleBuilder, _ state: ProbabilityState) -> ProbabilityRequests {
        let dim = parameters.dim, wide = 40
        let unit = aggregationUnit, quantizer = quantizer
        let accBits = parameters.config.accType.width
        precondition(accBits <= 32, "CTA_PROBABILITIES reads scores of at most 32 bits (sign-extended to the unit's int32)")
        precondition(unit.idBits == HWType.addressWidth(for: cta.maxClusters), "the unit takes the cluster index's ids")
        let phase = state.phase, step = state.step
        let operand = OperandFields(state.command.rs2), output = OperandFields(state.command.rs1)
        let k0 = operand.rows, k1 = state.counts[1], k2 = state.counts[2], n = state.tableTokens[1]
        let firstRow = state.command.rs1.field(CTAFields.firstRow)

        // The layout (`CTAScoreLayout`): ⌈k1/DIM⌉ level-1 blocks, then ⌈k2/DIM⌉ level-2 blocks, of k0 rows each.
        let laneBits = dim.trailingZeroBitCount, blockBits = quantizer.blockBits
        func blocksOf(_ k: Signal) -> Signal { ((k +& Signal(dim - 1)) >> laneBits).resized(to: blockBits) }
        let levelOneBlocks = m.named("probability_level_one_blocks", blocksOf(k1))
        let blocks = m.named("probability_blocks", levelOneBlocks +% blocksOf(k2))
        let layoutRows = (blocks * k0).extended(to: wide)
        let one = Signal.literal(1, .uint(wide))
        let scoresLast = operand.row.extended(to: wide) +% layoutRows -% one
        let apLast = output.row.extended(to: wide) +% layoutRows -% one

        // The state checks, in the golden model's order.
        let failure = firstFailure(m, "probabilities_failure", [
            (!state.hasTable[1], .illegalOperand),
            (!state.hasTable[2], .illegalOperand),
            (n =/= state.tableTokens[2], .illegalOperand),
            (state.lambda === 0, .illegalOperand),
            (firstRow =/= 0 && firstRow.extended(to: wide) =/= state.rows.extended(to: wide), .illegalOperand),
            (operand.columns.extended(to: wide) =/= (k1 +& k2).extended(to: wide), .illegalOperand),
            (scoresLast >= Signal(parameters.accRows), .localAddressOutOfRange),
            (apLast >= Signal(parameters.spRows), .localAddressOutOfRange),
        ])
        let groupRow = m.register("group_row", .uint(17), reset: 0)
        let loadTile = m.register("load_tile", .uint(unit.tileBits), reset: 0)
        let loadBlock = m.register("load_block", .uint(blockBits), reset: 0)
        checkCycle(m, phase: phase, check: .probabilitiesCheck, failure: failure, next: .probabilityTokens, failed: state.failed,
                   failCode: state.failCode) {
            step.set(0)
            groupRow.set(0)
            loadTile.set(0)
            loadBlock.set(0)
        }
        // A group that continues a set finds the tokens in the unit: straight to the scores.
        m.when(phase === Signal(Phase.probabilitiesCheck) && failure === 0 && firstRow =/= 0 && state.tokensHeld) {
            phase.set(Phase.probabilityLoad)
        }

        let pag = m.instance("probability_aggregation", unit)
        pag.k1.set(k1)
        pag.k2.set(k2)
        pag.n.set(n.resized(to: unit.tokenCountBits))
        pag.lambda.set(state.lambda)

        // The tokens: both levels' ids of token `step`, read when the unit is idle, into it a cycle later.
        let tableRead = m.named("probability_token_read", phase === Signal(Phase.probabilityTokens) && pag.idle)
        m.when(tableRead) {
            step.set(step +% 1)
            m.when(step +& 1 >= n) {
                phase.set(Phase.probabilityLoad)
                state.tokensHeld.set(true)
            }
        }
        pag.tokens.valid.set(m.delay(tableRead, name: "probability_token_arriving", reset: false))
        pag.tokens.bits.index.set(m.delay(step.resized(to: unit.tokenBits), name: "probability_token_index"))
        pag.tokens.bits.levelOne.set(state.ids[1])
        pag.tokens.bits.levelTwo.set(state.ids[2])

        // A group's scores: block `loadBlock` of row groupRow + loadTile per read; the group's
        // last present row ends the loads.
        let loading = phase === Signal(Phase.probabilityLoad)
        let rowBits = HWType.addressWidth(for: parameters.accRows)
        let loadQuery = groupRow +% loadTile.resized(to: 17)
        let scoreRow = operand.row.truncated(to: rowBits) +% (loadBlock * k0).resized(to: rowBits) +% loadQuery.resized(to: rowBits)
        let granted = m.named("score_granted", loading && state.readReady)
        let lastTile = loadTile +& 1 >= Signal(unit.tiles) || loadQuery +& 1 >= k0
        m.when(granted) {
            m.when(loadBlock +& 1 >= blocks) {
                loadBlock.set(0)
                m.when(lastTile) {
                    loadTile.set(0)
                    phase.set(Phase.probabilityArriving)
                }.otherwise { loadTile.set(loadTile +% 1) }
            }.otherwise { loadBlock.set(loadBlock +% 1) }
        }
        let arrivingBlock = m.delay(loadBlock, name: "score_block")
        let arrivingLevelTwo = arrivingBlock >= levelOneBlocks
        pag.scores.valid.set(m.delay(granted, name: "score_arriving", reset: false))
        pag.scores.bits.tile.set(m.delay(loadTile, name: "score_tile"))
        pag.scores.bits.levelTwo.set(arrivingLevelTwo)
        pag.scores.bits.chunk.set(mux(arrivingLevelTwo, arrivingBlock -% levelOneBlocks, arrivingBlock).resized(to: unit.chunkBits))
        for lane in 0..<dim { pag.scores.bits.values[lane].set(int32(state.scores.bits(accBits * lane + accBits - 1, accBits * lane).asSInt)) }

        // The last chunk lands, then `start` (the unit takes no load in its start cycle).
        m.when(phase === Signal(Phase.probabilityArriving)) { phase.set(Phase.probabilityStart) }
        let starting = phase === Signal(Phase.probabilityStart)
        pag.start.set(starting)
        m.when(starting) { phase.set(Phase.probabilityRun) }

        // AP through the quantizer; its rows to the scratchpad, absent rows dropped.
        let quantize = m.instance("probability_quantizer", quantizer)
        quantize.k1.set(k1)
        quantize.k2.set(k2)
        m.connect(quantize.input, from: pag.probabilities)
        for tile in 0..<unit.tiles { quantize.denominators[tile].set(pag.denominators[tile]) }
        let row = quantize.output.bits
        let query = m.named("ap_query", groupRow +% row.tile.resized(to: 17))
        let present = m.named("ap_present", query < k0.extended(to: 17))
        let spRowBits = HWType.addressWidth(for: parameters.spRows)
        let writeValid = m.named("ap_write", phase === Signal(Phase.probabilityRun) && quantize.output.valid && present)
        let writeRow = output.row.truncated(to: spRowBits) +% (row.block * k0).resized(to: spRowBits) +% query.resized(to: spRowBits)
        quantize.output.ready.set(mux(present, state.scratchpadReady, Signal(true)))

        // A row's last block: its maxima and denominator for CTA_GATHER; the group's last row ends the group.
        let lastBlock = quantize.output.fire && row.block +& 1 >= blocks
        let idBits = HWType.addressWidth(for: cta.maxClusters)
        let kept = [quantize.maximumLevelOne, quantize.maximumLevelTwo, quantize.rowDenominators].map { select($0, at: row.tile) }
        state.rowsTable.write(address: (firstRow +% query.resized(to: 16)).resized(to: idBits), data: cat(kept.reversed()), enable: lastBlock && present)
        m.when(lastBlock && row.tile === Signal(unit.tiles - 1)) {
            m.when(groupRow +& Signal(unit.tiles) >= k0.extended(to: 17)) {
                state.rows.set((firstRow +& k0).resized(to: state.rows.width))
                phase.set(Phase.finish)
            }.otherwise {
                groupRow.set(groupRow +% Signal(unit.tiles))
                phase.set(Phase.probabilityLoad)
            }
        }
        return ProbabilityRequests(tableRead: tableRead, scoreRead: loading, scoreRow: scoreRow,
                                   write: (writeValid, writeRow, cat(row.values.reversed().map(\.asUInt))))
    }
}
