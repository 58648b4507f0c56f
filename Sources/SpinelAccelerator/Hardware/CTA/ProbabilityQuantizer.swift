import SpinelHDL
import SpinelISA

/// The AP quantization of CTA_PROBABILITIES (docs/CTA-HARDWARE.md, "Probability quantizer"):
/// takes a row group's AP entries as `ProbabilityAggregationUnit`'s `out` gives them (entry by
/// entry, level-1 half then level-2 half, every tile's row in one beat) and produces each half
/// quantized to int8 relative to its own maximum, exactly `CTANumerics.quantizeProbabilities`:
/// `sat8(rne(fp32(AP_j) ⊗ (fp32(127) ⊘ fp32(m))))`, a zero half for m = 0. The rows leave in
/// `CTAScoreLayout`'s blocks (`lanes` entries of one tile's half per row, padding lanes 0), and
/// each tile's two maxima and denominator (ΣAP/2) are kept for CTA_GATHER.
///
/// It serves all `tiles` rows of the group, as the aggregation unit delivers them. A half's
/// maximum is known only after its last entry, so the entries go into a row buffer (one memory
/// per lane of a block, each word one block of every tile's row) while the maxima run; then
/// 2·tiles `FloatDivider`s compute the factors together, and the rows are scaled out of the
/// buffer by `lanes` `ScaleUnit`s, one scratchpad row per cycle, blocks in order and the tiles
/// of a block one after another.
public struct ProbabilityQuantizer: Module, Sendable {
    /// Rows of a group (the aggregation unit's `tiles`).
    public let tiles: Int
    /// Entries per output row (DIM), a power of two.
    public let lanes: Int
    /// Clusters per level at most (k1, k2 ≤ K).
    public let maximumClusters: Int
    /// Bits of one unsigned AP entry (`CTAParameters.probabilityAccumulatorBits`).
    public let accumulatorBits: Int

    public init(tiles: Int, lanes: Int, maximumClusters: Int, accumulatorBits: Int) {
        precondition(tiles >= 1 && maximumClusters >= 1 && (1...62).contains(accumulatorBits), "invalid quantizer shape")
        precondition(lanes >= 2 && lanes & (lanes - 1) == 0, "an output row holds a power of two (at least 2) of entries")
        self.tiles = tiles
        self.lanes = lanes
        self.maximumClusters = maximumClusters
        self.accumulatorBits = accumulatorBits
    }

    /// The quantizer behind a configuration's `ProbabilityAggregationUnit` on `dim` columns.
    public init(_ parameters: CTAParameters, dim: Int) {
        self.init(tiles: parameters.pagTiles, lanes: dim, maximumClusters: parameters.maxClusters,
                  accumulatorBits: parameters.probabilityAccumulatorBits)
    }

    public var name: String { "ProbabilityQuantizer_t\(tiles)_d\(lanes)_k\(maximumClusters)_a\(accumulatorBits)" }

    /// Bits of a quantized entry.
    public static let outputBits = 8
    /// Cycles from the group's last `in` beat to its first `out` row: the dividers' start
    /// (1), the division (`PipelineTiming.floatDividerLatency`), the first buffer read (1) and
    /// the output register (1).
    public static var factorCycles: Int { PipelineTiming.probabilityQuantizerCycles }

    public var countBits: Int { HWType.addressWidth(for: maximumClusters + 1) }
    public var entryBits: Int { HWType.addressWidth(for: 2 * maximumClusters) }
    public var tileBits: Int { HWType.addressWidth(for: tiles) }
    /// Blocks of one half at most, ⌈K/lanes⌉; the buffer holds two halves.
    public var blocksPerHalf: Int { (maximumClusters + lanes - 1) / lanes }
    /// Bits of a block number, and of the block count (up to 2·⌈K/lanes⌉).
    public var blockBits: Int { HWType.addressWidth(for: 2 * blocksPerHalf + 1) }
    /// Bits of a buffer address (a block number below 2·⌈K/lanes⌉).
    var wordBits: Int { HWType.addressWidth(for: 2 * blocksPerHalf) }
    var laneBits: Int { lanes.trailingZeroBitCount }
    /// Bits of an entry's index in its half (below K), with room for the lane bits.
    var indexBits: Int { max(HWType.addressWidth(for: maximumClusters), laneBits + 1) }

    /// The row buffer, as (name, words, bits, count).
    public var memories: [(name: String, words: Int, bits: Int, count: Int)] {
        [("lane*", 2 * blocksPerHalf, tiles * accumulatorBits, lanes)]
    }

    /// One scratchpad row: `lanes` quantized entries of block `block` of tile `tile`'s row.
    @Bundle
    public struct Row: Aggregate {
        public var tile: Signal
        public var block: Signal
        public var values: [Signal]
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var k1: Signal
        @Input public var k2: Signal
        @Input("in") public var input: Decoupled<ProbabilityAggregationUnit.Probabilities>
        /// The aggregation unit's `denominators`, read with the group's last `in` beat.
        @Input public var denominators: [Signal]
        @Output("out") public var output: Decoupled<Row>
        /// Per tile, the last complete group's half maxima and denominator, from the cycle after
        /// its last `in` beat until the next group's last `in` beat.
        @Output("maximum_level_one") public var maximumLevelOne: [Signal]
        @Output("maximum_level_two") public var maximumLevelTwo: [Signal]
        @Output("row_denominators") public var rowDenominators: [Signal]
        /// No group under way: no entry taken since the last group's rows left.
        @Output public var idle: Signal
    }

    public var io: IO {
        let perTile = { (0..<tiles).map { _ in Signal(.uint(accumulatorBits)) } }
        return IO(k1: Signal(.uint(countBits)), k2: Signal(.uint(countBits)),
                  input: Decoupled(ProbabilityAggregationUnit.Probabilities(entry: Signal(.uint(entryBits)), last: Signal(.bool), values: perTile())),
                  denominators: perTile(),
                  output: Decoupled(Row(tile: Signal(.uint(tileBits)), block: Signal(.uint(blockBits)),
                                        values: (0..<lanes).map { _ in Signal(.sint(Self.outputBits)) })),
                  maximumLevelOne: perTile(), maximumLevelTwo: perTile(), rowDenominators: perTile(), idle: Signal(.bool))
    }

    enum Phase: Int, HardwareEnum {
        /// Entries accepted into the buffer.
        case collecting
        /// The factors 127 ⊘ m are computed.
        case dividing
        /// The rows leave, one per cycle.
        case emitting
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let phase = m.register("phase", Phase.self, reset: .collecting)
        let collecting = m.named("collecting", phase === Phase.collecting)
        io.input.ready.set(collecting)
        let fire = m.named("fire", io.input.fire)
        let groupEnds = m.named("group_ends", fire && io.input.bits.last)

        // MARK: Collect

        // Entry e of the row: level 2 from k1 on; its index in the half, lane and block.
        let wide = entryBits + 1
        let k1 = io.k1.resized(to: wide), k2 = io.k2.resized(to: wide)
        let entry = io.input.bits.entry.resized(to: wide)
        let levelTwo = m.named("in_level_two", entry >= k1)
        let index = m.named("in_index", mux(levelTwo, entry -% k1, entry).resized(to: indexBits))
        let levelOneBlocks = m.named("level_one_blocks", ((k1 +% Signal(lanes - 1)) >> laneBits).resized(to: blockBits))
        let levelTwoBlocks = ((k2 +% Signal(lanes - 1)) >> laneBits).resized(to: blockBits)
        let blockInHalf = (index >> laneBits).resized(to: blockBits)
        let word = m.named("in_word", mux(levelTwo, levelOneBlocks +% blockInHalf, blockInHalf))
        let lane = index.bits(laneBits - 1, 0)
        let buffer = (0..<lanes).map { l -> Memory in
            let memory = m.memory("lane\(l)", width: tiles * accumulatorBits, depth: 2 * blocksPerHalf)
            memory.write(address: word.resized(to: wordBits), data: cat(io.input.bits.values.reversed()), enable: fire && lane === Signal(l))
            return memory
        }

        // Running maxima per tile and half (AP ≥ 0, so 0 is the neutral start), and what the
        // last group left.
        var maxima: [[Signal]] = []
        for tile in 0..<tiles {
            let value = io.input.bits.values[tile]
            var halves: [Signal] = []
            for (half, name) in ["level_one", "level_two"].enumerated() {
                let running = m.register("tile\(tile)_running_\(name)", .uint(accumulatorBits), reset: 0)
                let inHalf = half == 0 ? !levelTwo : levelTwo
                let candidate = m.named("tile\(tile)_candidate_\(name)", mux(inHalf && value > running, value, running))
                let final = m.register("tile\(tile)_maximum_\(name)", .uint(accumulatorBits), reset: 0)
                m.when(groupEnds) {
                    running.set(0)
                    final.set(candidate)
                }.elsewhen(fire) {
                    running.set(candidate)
                }
                halves.append(final)
            }
            maxima.append(halves)
            io.maximumLevelOne[tile].set(halves[0])
            io.maximumLevelTwo[tile].set(halves[1])
            io.rowDenominators[tile].set(m.delay(io.denominators[tile], name: "tile\(tile)_denominator", enable: groupEnds))
        }
        let started = m.register("started", .bool, reset: false)
        m.when(groupEnds) { started.set(false) }.elsewhen(fire) { started.set(true) }

        // MARK: Divide

        // factor = fp32(127) ⊘ fp32(m), one divider per tile and half, all started together in
        // the cycle after the last entry; the quotients hold until the next group's start.
        let divideStart = m.delay(groupEnds, name: "divide_start", reset: false)
        var factors: [[Signal]] = []
        var doneSignal: Signal?
        for tile in 0..<tiles {
            factors.append(["level_one", "level_two"].enumerated().map { half, name in
                let toFloat = m.instance("tile\(tile)_maximum_\(name)_to_float", IntToFloat(width: accumulatorBits + 1))
                toFloat.value.set(maxima[tile][half].extended(to: accumulatorBits + 1).asSInt)
                let divider = m.instance("tile\(tile)_divider_\(name)", FloatDivider())
                divider.start.set(divideStart)
                divider.a.set(Signal.literal(Int(Float(127).bitPattern), .uint(32)))
                divider.b.set(toFloat.result)
                if doneSignal == nil { doneSignal = divider.done }
                return divider.quotient
            })
        }

        // MARK: Emit

        // Blocks in order, the tiles of a block one after another; a buffer read per row.
        let blocks = m.named("blocks", levelOneBlocks +% levelTwoBlocks)
        let emitBlock = m.register("emit_block", .uint(blockBits), reset: 0)
        let emitTile = m.register("emit_tile", .uint(tileBits), reset: 0)
        let emitting = m.named("emitting", phase === Phase.emitting)
        let outValid = m.register("out_valid_reg", .bool, reset: false)
        let outBlock = m.register("out_block", .uint(blockBits))
        let outTile = m.register("out_tile", .uint(tileBits))
        let advance = m.named("advance", emitting && emitBlock < blocks && (!outValid || io.output.ready))
        let words = buffer.map { $0.read(address: emitBlock.resized(to: wordBits), enable: advance, latency: 1) }
        m.when(advance) {
            outBlock.set(emitBlock)
            outTile.set(emitTile)
            m.when(emitTile === Signal(tiles - 1)) {
                emitTile.set(0)
                emitBlock.set(emitBlock +% 1)
            }.otherwise {
                emitTile.set(emitTile +% 1)
            }
        }
        m.when(advance) { outValid.set(true) }.elsewhen(io.output.ready) { outValid.set(false) }
        io.output.valid.set(outValid)
        io.output.bits.tile.set(outTile)
        io.output.bits.block.set(outBlock)

        // The row's half, its first entry, and the tile's factor and maximum.
        let outLevelTwo = m.named("out_level_two", outBlock >= levelOneBlocks)
        let firstIndex = m.named("out_first_index",
                                 cat(mux(outLevelTwo, outBlock -% levelOneBlocks, outBlock), Signal.literal(0, .uint(laneBits))).resized(to: wide))
        let halfCount = mux(outLevelTwo, k2, k1)
        let factor = m.named("out_factor", select(factors.map { mux(outLevelTwo, $0[1], $0[0]) }, at: outTile))
        let zeroHalf = m.named("out_zero_half", select(maxima.map { mux(outLevelTwo, $0[1], $0[0]) === 0 }, at: outTile))
        for l in 0..<lanes {
            let value = select((0..<tiles).map { words[l].bits(accumulatorBits * $0 + accumulatorBits - 1, accumulatorBits * $0) }, at: outTile)
            let scale = m.instance("lane\(l)_scale", ScaleUnit(inputWidth: accumulatorBits + 1, outputWidth: Self.outputBits))
            scale.value.set(value.extended(to: accumulatorBits + 1).asSInt)
            scale.scale.set(factor)
            // Padding lanes past the half's end are 0; so is every entry of a zero half (whose
            // factor is 127 ⊘ 0 = ∞).
            let present = m.named("lane\(l)_present", firstIndex +% Signal(l) < halfCount && !zeroHalf)
            io.output.bits.values[l].set(mux(present, scale.result, Signal.literal(0, .sint(Self.outputBits))))
        }

        // MARK: Phases

        m.switch(phase) { s in
            s.on(Signal(Phase.collecting)) {
                m.when(groupEnds) { phase.set(Phase.dividing) }
            }
            s.on(Signal(Phase.dividing)) {
                m.when(doneSignal!) {
                    phase.set(Phase.emitting)
                    emitBlock.set(0)
                    emitTile.set(0)
                }
            }
            s.otherwise {
                m.when(io.output.fire && outBlock +% 1 === blocks && outTile === Signal(tiles - 1)) { phase.set(Phase.collecting) }
            }
        }
        io.idle.set(collecting && !started)
    }
}
