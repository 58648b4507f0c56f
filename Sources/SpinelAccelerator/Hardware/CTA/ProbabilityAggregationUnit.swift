import SpinelHDL
import SpinelISA

/// The probability aggregation (PAG) unit of compressed-token attention (docs/CTA-HARDWARE.md,
/// "Probability aggregation unit"): `tiles` compressed query rows at a time, two key tokens per
/// tile per cycle, exactly `ProbabilityAggregation` of the golden model. For token j of row q,
/// `e = exp(S̄[q][CT1[j]] + S̄[q][k1 + CT2[j]] − m_q)` (the exponent through the fp32 `ScaleUnit`,
/// the exponential from a table built at elaboration) is added to `AP[q][CT1[j]]` and
/// `AP[q][k1 + CT2[j]]`; the row's denominator is Σ_j e (= ΣAP / 2).
///
/// Structure, per tile: the two token slots of a cycle (even token j, odd token j + 1) each
/// have their own copy of the score row (one per level, so four reads per cycle reach four
/// memories) and their own copy of AP (one per level: `ap_level1_even`, …). Each AP memory then
/// takes exactly one read-modify-write per cycle; the update of the next cycle reads the word
/// before this cycle's write lands, so the last write is forwarded when the addresses match.
/// The copies of a level are summed when AP is read out, and cleared as they are read.
///
/// A row group: load the cluster tables (`tokens`, once per head) and the group's score rows
/// (`scores`, one chunk of `lanes` scores per beat), then `start`; the unit runs ⌈n/2⌉ cycles
/// plus `latency`, then streams AP out on `out`, one entry of every tile per beat.
public struct ProbabilityAggregationUnit: Module, Sendable {
    /// Compressed query rows aggregated side by side (`pagTiles`).
    public let tiles: Int
    /// Scores per load beat (the accumulator read path's DIM); a power of two.
    public let lanes: Int
    /// Key tokens at most (n).
    public let maximumTokens: Int
    /// Clusters per level at most (k1, k2 ≤ K).
    public let maximumClusters: Int
    /// The exponential table, `CTAParameters.expTable(entries:entryBits:)`: E (a power of two)
    /// unsigned entries of `expTableBits` bits, entry f = rne(2^(expTableBits − 1 + f/E)).
    public let expTable: [Int64]
    public let expTableBits: Int

    public init(tiles: Int, lanes: Int, maximumTokens: Int, maximumClusters: Int, expTable: [Int64], expTableBits: Int) {
        precondition(tiles >= 1 && maximumTokens >= 1 && maximumClusters >= 1, "one tile, token and cluster at least")
        precondition(lanes >= 1 && lanes & (lanes - 1) == 0, "a load beat carries a power of two of scores")
        precondition(expTable.count >= 2 && expTable.count & (expTable.count - 1) == 0, "the exp table has a power-of-two count of entries")
        precondition(expTable.allSatisfy { $0 >= 0 && $0 < Int64(1) << Int64(expTableBits) },
                     "every table entry fits expTableBits unsigned bits")
        self.tiles = tiles
        self.lanes = lanes
        self.maximumTokens = maximumTokens
        self.maximumClusters = maximumClusters
        self.expTable = expTable
        self.expTableBits = expTableBits
    }

    /// The unit of a configuration's CTA parameters (`pagTiles`, `maxTokens`, `maxClusters`, the
    /// table's bits), loading `dim` scores per beat; `expTable` is the parameters' `expTable`.
    public init(_ parameters: CTAParameters, dim: Int, expTable: [Int64]) {
        precondition(expTable.count == parameters.expTableEntries, "the table has expTableEntries entries")
        self.init(tiles: parameters.pagTiles, lanes: dim, maximumTokens: parameters.maxTokens, maximumClusters: parameters.maxClusters,
                  expTable: expTable, expTableBits: parameters.expTableBits)
    }

    public var name: String {
        "ProbabilityAggregationUnit_t\(tiles)_d\(lanes)_n\(maximumTokens)_k\(maximumClusters)_e\(expTable.count)x\(expTableBits)"
    }

    /// Pipeline registers of the exponent's `ScaleUnit`: the fp32 multiply gets a cycle of its own.
    static let scaleLatency = PipelineTiming.probabilityScaleLatency

    /// Cycles from a token pair's cluster-table read to its AP write: table, scores, sum, the
    /// scale unit's `scaleLatency`, the exp table, the accumulate.
    public var latency: Int { PipelineTiming.probabilityAggregationLatency }

    /// F_e: fraction bits of the exponent (log2 of the table's entries).
    public var fractionBits: Int { expTable.count.trailingZeroBitCount }
    /// Bits of one AP accumulator (`CTAParameters.probabilityAccumulatorBits`).
    public var accumulatorBits: Int { expTableBits + HWType.addressWidth(for: 2 * maximumTokens) }
    public var idBits: Int { HWType.addressWidth(for: maximumClusters) }
    public var countBits: Int { HWType.addressWidth(for: maximumClusters + 1) }
    public var tokenBits: Int { HWType.addressWidth(for: maximumTokens) }
    public var tokenCountBits: Int { HWType.addressWidth(for: maximumTokens + 1) }
    public var tileBits: Int { HWType.addressWidth(for: tiles) }
    /// Words of one score memory: a level's K scores in chunks of `lanes`.
    public var scoreWords: Int { (maximumClusters + lanes - 1) / lanes }
    public var chunkBits: Int { HWType.addressWidth(for: scoreWords) }
    /// Bits of an AP entry's index in its row (0 ..< k1 + k2 ≤ 2K).
    public var entryBits: Int { HWType.addressWidth(for: 2 * maximumClusters) }
    /// Token pairs at most, the words of each cluster-table memory.
    public var pairs: Int { (maximumTokens + 1) / 2 }
    var laneBits: Int { lanes.trailingZeroBitCount }
    /// Bits of the exponential's right shift, clamped at expTableBits + 1 (which gives 0).
    var shiftBits: Int { HWType.addressWidth(for: expTableBits + 2) }

    /// The unit's memories as (name, words, bits, count), for documentation and reports.
    public var memories: [(name: String, words: Int, bits: Int, count: Int)] {
        [("tokens_even, tokens_odd", pairs, 2 * idBits, 2),
         ("tile*_scores_level{1,2}_{even,odd}", scoreWords, 32 * lanes, 4 * tiles),
         ("tile*_ap_level{1,2}_{even,odd}", maximumClusters, accumulatorBits, 4 * tiles)]
    }

    /// One key token's cluster ids, written at `index` of the cluster tables.
    @Bundle
    public struct TokenIds: Aggregate {
        public var index: Signal
        @Name("level_one") public var levelOne: Signal
        @Name("level_two") public var levelTwo: Signal
    }

    /// `lanes` int32 scores of one tile's row: entries chunk·lanes … of level 1 (S̄[q][0 ..< k1])
    /// or of level 2 (S̄[q][k1 ..< k1 + k2], counted from 0).
    @Bundle
    public struct ScoreChunk: Aggregate {
        public var tile: Signal
        @Name("level_two") public var levelTwo: Signal
        public var chunk: Signal
        public var values: [Signal]
    }

    /// Entry `entry` of every tile's AP row (level 1 first, then level 2); `last` on k1 + k2 − 1.
    @Bundle
    public struct Probabilities: Aggregate {
        public var entry: Signal
        public var last: Signal
        public var values: [Signal]
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        @Input public var k1: Signal
        @Input public var k2: Signal
        @Input public var n: Signal
        /// λ, binary32 bits.
        @Input public var lambda: Signal
        @Input public var tokens: Decoupled<TokenIds>
        @Input public var scores: Decoupled<ScoreChunk>
        @Output("out") public var probabilities: Decoupled<Probabilities>
        /// Σ_j e per tile, from the group's first `out` beat until the next `start`.
        @Output public var denominators: [Signal]
        @Output public var idle: Signal
    }

    public var io: IO {
        IO(start: Signal(.bool), k1: Signal(.uint(countBits)), k2: Signal(.uint(countBits)), n: Signal(.uint(tokenCountBits)),
           lambda: Signal(.uint(32)),
           tokens: Decoupled(TokenIds(index: Signal(.uint(tokenBits)), levelOne: Signal(.uint(idBits)), levelTwo: Signal(.uint(idBits)))),
           scores: Decoupled(ScoreChunk(tile: Signal(.uint(tileBits)), levelTwo: Signal(.bool), chunk: Signal(.uint(chunkBits)),
                                        values: (0..<lanes).map { _ in Signal(.sint(32)) })),
           probabilities: Decoupled(Probabilities(entry: Signal(.uint(entryBits)), last: Signal(.bool),
                                                  values: (0..<tiles).map { _ in Signal(.uint(accumulatorBits)) })),
           denominators: (0..<tiles).map { _ in Signal(.uint(accumulatorBits)) }, idle: Signal(.bool))
    }

    enum Phase: Int, HardwareEnum {
        /// After reset: zeroes every AP word once (read-out keeps them zero afterwards).
        case clearing
        /// Loads accepted; `start` begins a group.
        case idle
        /// One token pair's cluster ids read per cycle.
        case running
        /// The last pairs pass through the pipeline.
        case flushing
        /// AP streams out on `out` and is cleared behind.
        case reading
    }

    /// The token slots of a cycle: the even token j and the odd token j + 1.
    static let slots = ["even", "odd"]

    /// What one AP memory needs from the pipeline and the read-out.
    struct Update {
        /// The read, one cycle before the write.
        var readValid: Signal
        var readAddress: Signal
        var valid: Signal
        var address: Signal
        var exponential: Signal
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let phase = m.register("phase", Phase.self, reset: .clearing)
        let isIdle = m.named("is_idle", phase === Phase.idle)
        io.idle.set(isIdle)
        io.tokens.ready.set(isIdle && !io.start)
        io.scores.ready.set(isIdle && !io.start)

        // Cluster tables: the even and the odd tokens of a pair in two memories, read together.
        let pairBits = HWType.addressWidth(for: pairs)
        func pairAddress(_ index: Signal) -> Signal {
            tokenBits > 1 ? index.bits(tokenBits - 1, 1).resized(to: pairBits) : Signal.literal(0, .uint(pairBits))
        }
        let tables = Self.slots.enumerated().map { parity, slot in
            let table = m.memory("tokens_\(slot)", width: 2 * idBits, depth: pairs)
            table.write(address: pairAddress(io.tokens.bits.index), data: cat(io.tokens.bits.levelOne, io.tokens.bits.levelTwo),
                        enable: io.tokens.fire && io.tokens.bits.index[0] === Signal(parity))
            return table
        }

        // The pair counter and the pipeline's head.
        let pair = m.register("pair", .uint(pairBits), reset: 0)
        let pairCount = m.named("pair_count", ((io.n +& 1) >> 1).resized(to: pairBits + 1))
        let lastPair = m.named("last_pair", (pair +& 1) === pairCount)
        let issuing = m.named("issuing", phase === Phase.running)
        let oddPresent = m.named("odd_present", cat(pair, Signal(true)) < io.n)
        let tableWords = tables.map { $0.read(address: pair, enable: issuing, latency: 1) }
        let valid1 = [m.delay(issuing, name: "even_valid_1", reset: false),
                      m.delay(issuing && oddPresent, name: "odd_valid_1", reset: false)]
        let levelOneIds = tableWords.map { $0.bits(2 * idBits - 1, idBits) }
        let levelTwoIds = tableWords.map { $0.bits(idBits - 1, 0) }

        // Row bounds: running maxima of each tile's two halves, kept while the chunks load.
        let chunkMaximum = buildChunkMaximum(m, io)
        let lowest = Signal.literal(-(1 << 31), .sint(32))
        var bounds: [Signal] = []
        var maxima: [[Signal]] = []
        // A score beat for tile t, level l: `loads[t][l]`.
        let loads = (0..<tiles).map { tile in
            [false, true].map { levelTwo in
                m.named("tile\(tile)_load_level\(levelTwo ? 2 : 1)",
                        io.scores.fire && io.scores.bits.tile === Signal(tile) && io.scores.bits.levelTwo === Signal(levelTwo))
            }
        }
        for tile in 0..<tiles {
            let halves = ["level1", "level2"].map { m.register("tile\(tile)_max_\($0)", .sint(32), reset: lowest) }
            for (level, maximum) in halves.enumerated() {
                m.when(loads[tile][level]) {
                    maximum.set(mux(chunkMaximum > maximum, chunkMaximum, maximum))
                }
            }
            maxima.append(halves)
            bounds.append(m.named("tile\(tile)_bound", halves[0] +& halves[1]))
        }

        // Read-out: one AP entry of every tile per beat, the two copies of a level summed.
        let entry = m.register("entry", .uint(entryBits + 1), reset: 0)
        let total = m.named("total", (io.k1 +& io.k2).resized(to: entryBits + 1))
        let outValid = m.register("beat_valid", .bool, reset: false)
        let outEntry = m.register("beat_entry", .uint(entryBits + 1))
        let outLevelTwo = m.register("beat_level_two", .bool)
        let reading = m.named("reading", phase === Phase.reading)
        let advance = m.named("advance", reading && entry < total && (!outValid || io.probabilities.ready))
        let readLevelTwo = m.named("read_level_two", entry >= io.k1.extended(to: entryBits + 1))
        let readAddress = m.named("read_address",
                                  mux(readLevelTwo, entry -% io.k1.extended(to: entryBits + 1), entry).truncated(to: idBits))
        m.when(advance) {
            outEntry.set(entry)
            outLevelTwo.set(readLevelTwo)
            entry.set(entry +% 1)
        }
        m.when(advance) { outValid.set(true) }.elsewhen(io.probabilities.ready) { outValid.set(false) }
        io.probabilities.valid.set(outValid)
        io.probabilities.bits.entry.set(outEntry.truncated(to: entryBits))
        io.probabilities.bits.last.set(outEntry +& 1 === total)

        // Clearing after reset: one AP word of every memory per cycle.
        let clearAddress = m.register("clear_address", .uint(idBits), reset: 0)
        let clearing = m.named("clearing", phase === Phase.clearing)

        // The pipeline's control and addresses, shared by the tiles: per slot, the valid bit and
        // the ids as they travel to the score reads (cycle 1), the sum (2), the AP read
        // (latency − 1) and the AP write (latency).
        struct SlotPipeline {
            var ids: [Signal]
            var lanes: [Signal]
            var valid: Signal
            var readValid: Signal
            var readAddresses: [Signal]
            var accumulateValid: Signal
            var addresses: [Signal]
        }
        let pipelines = Self.slots.enumerated().map { slot, name -> SlotPipeline in
            let ids = [levelOneIds[slot], levelTwoIds[slot]]
            let levels = ["level1", "level2"]
            let valid2 = m.delay(valid1[slot], name: "\(name)_valid_2", reset: false)
            let readValid = m.delay(valid2, cycles: latency - 3, name: "\(name)_read_valid", reset: false)
            let readAddresses = levels.indices.map { m.delay(ids[$0], cycles: latency - 2, name: "\(name)_\(levels[$0])_read_address") }
            return SlotPipeline(ids: ids, lanes: levels.indices.map { m.delay(scoreLane(ids[$0]), name: "\(name)_\(levels[$0])_lane") },
                                valid: valid1[slot], readValid: readValid, readAddresses: readAddresses,
                                accumulateValid: m.delay(readValid, name: "\(name)_valid", reset: false),
                                addresses: levels.indices.map { m.delay(readAddresses[$0], name: "\(name)_\(levels[$0])_address") })
        }

        for tile in 0..<tiles {
            let denominator = m.register("tile\(tile)_denominator", .uint(accumulatorBits), reset: 0)
            io.denominators[tile].set(denominator)
            var exponentials: [Signal] = []
            var copies: [[Signal]] = [[], []]
            for (slot, name) in Self.slots.enumerated() {
                let prefix = "tile\(tile)_\(name)"
                let pipeline = pipelines[slot]
                // Scores: one copy per level for this slot, read in the cycle after the table.
                let scores = ["level1", "level2"].enumerated().map { level, levelName -> Signal in
                    let memory = m.memory("tile\(tile)_scores_\(levelName)_\(name)", width: 32 * lanes, depth: scoreWords)
                    memory.write(address: io.scores.bits.chunk, data: cat(io.scores.bits.values.reversed()), enable: loads[tile][level])
                    let word = memory.read(address: scoreWord(pipeline.ids[level]), enable: pipeline.valid, latency: 1)
                    return select((0..<lanes).map { word.bits(32 * $0 + 31, 32 * $0).asSInt }, at: pipeline.lanes[level])
                }
                let sum = m.named("\(prefix)_z", (scores[0] +& scores[1]) -& bounds[tile])
                let exponential = buildExponential(m, prefix: prefix, z: m.delay(sum, name: "\(prefix)_z_reg"), lambda: io.lambda)
                exponentials.append(mux(pipeline.accumulateValid, exponential, 0))
                for (level, levelName) in ["level1", "level2"].enumerated() {
                    let update = Update(readValid: pipeline.readValid, readAddress: pipeline.readAddresses[level],
                                        valid: pipeline.accumulateValid, address: pipeline.addresses[level], exponential: exponential)
                    copies[level].append(buildAccumulator(m, name: "tile\(tile)_ap_\(levelName)_\(name)", update: update,
                                                          readOut: (advance && readLevelTwo === Signal(level == 1), readAddress),
                                                          clear: (clearing, clearAddress)))
                }
            }
            m.when(isIdle && io.start) {
                denominator.set(0)
            }.otherwise {
                denominator.set(denominator +% (exponentials[0] +& exponentials[1]).resized(to: accumulatorBits))
            }
            let levelSums = copies.map { $0[0] +% $0[1] }
            io.probabilities.bits.values[tile].set(mux(outLevelTwo, levelSums[1], levelSums[0]))
        }

        // Phases.
        let flush = m.register("flush", .uint(HWType.addressWidth(for: latency)), reset: 0)
        m.switch(phase) { s in
            s.on(Signal(Phase.clearing)) {
                clearAddress.set(clearAddress +% 1)
                m.when(clearAddress === Signal(maximumClusters - 1)) { phase.set(Phase.idle) }
            }
            s.on(Signal(Phase.idle)) {
                m.when(io.start) {
                    phase.set(Phase.running)
                    pair.set(0)
                }
            }
            s.on(Signal(Phase.running)) {
                pair.set(pair +% 1)
                m.when(lastPair) {
                    phase.set(Phase.flushing)
                    flush.set(0)
                }
            }
            s.on(Signal(Phase.flushing)) {
                flush.set(flush +% 1)
                m.when(flush === Signal(latency - 1)) {
                    phase.set(Phase.reading)
                    entry.set(0)
                }
            }
            s.otherwise {
                m.when(io.probabilities.fire && outEntry +& 1 === total) {
                    phase.set(Phase.idle)
                    for halves in maxima {
                        for maximum in halves { maximum.set(lowest) }
                    }
                }
            }
        }
    }

    /// The word of a score memory that holds entry `id`.
    func scoreWord(_ id: Signal) -> Signal {
        idBits > laneBits ? id.bits(idBits - 1, laneBits).resized(to: chunkBits) : Signal.literal(0, .uint(chunkBits))
    }

    /// The lane of that word.
    func scoreLane(_ id: Signal) -> Signal {
        laneBits == 0 ? Signal.literal(0, .uint(1)) : id.extended(to: max(idBits, laneBits)).bits(laneBits - 1, 0)
    }

    /// The largest score of the chunk on `scores` among its entries below k1 (or k2): the others
    /// count as the lowest int32.
    func buildChunkMaximum(_ m: ModuleBuilder, _ io: IO) -> Signal {
        let limit = mux(io.scores.bits.levelTwo, io.k2, io.k1)
        let first = laneBits == 0 ? io.scores.bits.chunk : cat(io.scores.bits.chunk, Signal.literal(0, .uint(laneBits)))
        var candidates = io.scores.bits.values.enumerated().map { lane, value -> Signal in
            let present = (first +& Signal(lane)) < limit
            return mux(present, value, Signal.literal(-(1 << 31), .sint(32)))
        }
        while candidates.count > 1 {
            var next: [Signal] = []
            for index in stride(from: 0, to: candidates.count, by: 2) {
                if index + 1 < candidates.count {
                    let (a, b) = (candidates[index], candidates[index + 1])
                    next.append(mux(a > b, a, b))
                } else {
                    next.append(candidates[index])
                }
            }
            candidates = next
        }
        return m.named("chunk_maximum", candidates[0])
    }

    /// ADD_EXP after the sum: `u = sat32(rne(fp32(z) ⊗ λ))` in the scale unit, then
    /// `RRS(T[u mod E], −⌊u/E⌋)` with the table entry and the shift registered. The result
    /// (expTableBits + 1 bits) is ready `scaleLatency + 2` cycles after `z` (registered) appears.
    func buildExponential(_ m: ModuleBuilder, prefix: String, z: Signal, lambda: Signal) -> Signal {
        let scale = m.instance("\(prefix)_exponent", ScaleUnit(inputWidth: 34, outputWidth: 32, latency: Self.scaleLatency))
        scale.value.set(z)
        scale.scale.set(lambda)
        let exponent = m.named("\(prefix)_u", scale.result)
        let integer = exponent >> fractionBits
        let largest = expTableBits + 1
        let beyond = integer < Signal.literal(-largest, .sint(32 - fractionBits))
        let shift = mux(beyond, Signal.literal(largest, .uint(shiftBits)), integer.negated.asUInt.truncated(to: shiftBits))
        let table = m.instance("\(prefix)_table", ExponentialTable(values: expTable, bits: expTableBits))
        table.index.set(exponent.bits(fractionBits - 1, 0))
        let entry = m.delay(table.entry, name: "\(prefix)_entry")
        let shiftRegister = m.delay(shift, name: "\(prefix)_shift")

        // Rounding right shift, ties to even: y = entry·2 shifted keeps the round bit in bit 0.
        let doubled = cat(entry, Signal.literal(0, .uint(1)))
        let shifted = doubled >> shiftRegister
        let truncated = shifted >> 1
        let below = ~(Signal.literal((1 << (expTableBits + 1)) - 1, .uint(expTableBits + 1)) << shiftRegister)
        let sticky = (doubled & below).orReduce
        let roundUp = shifted[0] && (sticky || truncated[0])
        return m.named("\(prefix)_e", truncated +& roundUp)
    }

    /// One AP memory: a read-modify-write per cycle for the pipeline (the word written in the
    /// previous cycle is forwarded, since this cycle's read missed it), a read and a clear per
    /// cycle for the read-out, and the clear after reset. Returns the read-out data.
    func buildAccumulator(_ m: ModuleBuilder, name: String, update: Update,
                          readOut: (enable: Signal, address: Signal), clear: (enable: Signal, address: Signal)) -> Signal {
        let memory = m.memory(name, width: accumulatorBits, depth: maximumClusters)
        let data = memory.read(address: mux(readOut.enable, readOut.address, update.readAddress),
                               enable: readOut.enable || update.readValid, latency: 1)
        let lastValid = m.register("\(name)_last_valid", .bool, reset: false)
        let lastAddress = m.register("\(name)_last_address", .uint(idBits))
        let lastValue = m.register("\(name)_last_value", .uint(accumulatorBits))
        let forward = lastValid && lastAddress === update.address
        let value = m.named("\(name)_sum", mux(forward, lastValue, data) +% update.exponential.resized(to: accumulatorBits))
        lastValid.set(update.valid)
        lastAddress.set(update.address)
        lastValue.set(value)
        let writeEnable = update.valid || readOut.enable || clear.enable
        let writeAddress = mux(update.valid, update.address, mux(readOut.enable, readOut.address, clear.address))
        memory.write(address: writeAddress, data: mux(update.valid, value, Signal.literal(0, .uint(accumulatorBits))), enable: writeEnable)
        return data
    }
}

/// The exponential table as a read-only lookup: a balanced tree of 2:1 muxes on the index bits
/// over the constant entries (synthesis folds it into logic; one per ADD_EXP unit, as the
/// DSL's memories have no initial contents).
struct ExponentialTable: Module, Sendable {
    let values: [Int64]
    let bits: Int

    var name: String { "ExponentialTable_\(values.count)x\(bits)" }

    @Bundle
    struct IO: Aggregate {
        @Input var index: Signal
        @Output var entry: Signal
    }

    var io: IO { IO(index: Signal(.uint(values.count.trailingZeroBitCount)), entry: Signal(.uint(bits))) }

    func build(_ m: ModuleBuilder, _ io: IO) {
        func lookup(_ slice: ArraySlice<Int64>, bit: Int) -> Signal {
            if slice.count == 1 { return Signal.literal(Int(slice.first!), .uint(bits)) }
            let half = slice.startIndex + slice.count / 2
            return mux(io.index[bit], lookup(slice[half...], bit: bit - 1), lookup(slice[..<half], bit: bit - 1))
        }
        io.entry.set(lookup(values[...], bit: values.count.trailingZeroBitCount - 1))
    }
}
