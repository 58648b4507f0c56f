import SpinelHDL
import SpinelISA

/// What the centroid aggregation unit does with the stream that follows a `start`.
public enum CentroidOperation: Int, HardwareEnum {
    /// Token rows with their cluster ids in, nothing out: summed and counted per cluster. Begins
    /// a new set of clusters.
    case accumulate
    /// Nothing in: the centroids of clusters 0 ..< k out, one per cycle, with their counts and
    /// sums; the unit keeps them for `residual`.
    case average
    /// Token rows with their cluster ids in: each row minus its cluster's centroid out.
    case residual
}

/// The centroid aggregation unit of compressed-token attention (docs/CTA-HARDWARE.md, "Centroid
/// aggregation unit"): the paper's CACC and CAVG on one column block of `lanes` int8 elements.
///
/// - `accumulate`: one token row and its cluster id per cycle; the rows are summed per cluster
///   (exact, `sumBits` per element) and counted, as `CentroidAggregation.sums`. Consecutive
///   tokens with the same id add into a buffer register; a token with another id writes the
///   buffer back to the `sums` memory and takes its own cluster's sums from the memory, from the
///   word written back in the previous cycle (the bypass: that write landed after this token's
///   read), or zero for a cluster it is the first to touch.
/// - `average`: clusters 0 ..< k are read out one per cycle as
///   `sat8(RRS(sum · R[count], F))` (`CTANumerics.average`), R a ROM of `CentroidAverage`
///   entries built at elaboration, and written to the `centroids` memory.
/// - `residual`: one token row and its id per cycle out as `sat8(x − C[id])`
///   (`CTANumerics.residual`), through the same lanes as a sum of count 1 (R = 2^F).
///
/// Cluster ids must arrive in the order a cluster table numbers them (`ClusterIndex.assign`):
/// each id is one seen since the `start` or the next one, k. So a cluster is new exactly when its
/// id is k, and a new stream only resets k: no memory is ever cleared. Any other id (or one of
/// `maximumClusters` or more) is ignored and raises `id_error`.
///
/// Wider rows are column blocks: per block, an `accumulate` stream, an `average` and a
/// `residual` stream, driven by whoever owns the unit.
public struct CentroidAggregationUnit: Module, Sendable {
    /// Elements of one row block (DIM).
    public let lanes: Int
    /// Tokens in a stream at most (n): the width of the counts and sums, the ROM's size.
    public let maximumTokens: Int
    /// Clusters at most (K): the words of the memories.
    public let maximumClusters: Int
    /// F_c: fraction bits of the reciprocal table.
    public let averageFractionBits: Int

    public init(lanes: Int, maximumTokens: Int, maximumClusters: Int, averageFractionBits: Int) {
        precondition(lanes >= 1 && maximumTokens >= 1 && maximumClusters >= 1, "a centroid unit needs a lane, a token and a cluster")
        precondition((1...30).contains(averageFractionBits), "the reciprocal table has 1 to 30 fraction bits")
        self.lanes = lanes
        self.maximumTokens = maximumTokens
        self.maximumClusters = maximumClusters
        self.averageFractionBits = averageFractionBits
    }

    /// The unit of a configuration: `dim` lanes, the `cta` section's sizes.
    public init(dim: Int, parameters: CTAParameters) {
        self.init(lanes: dim, maximumTokens: parameters.maxTokens, maximumClusters: parameters.maxClusters,
                  averageFractionBits: parameters.averageFractionBits)
    }

    public var name: String {
        "CentroidAggregationUnit_d\(lanes)_n\(maximumTokens)_k\(maximumClusters)_f\(averageFractionBits)"
    }

    /// Bits of a token element, a centroid element and a residual element.
    public static let elementBits = 8
    /// Bits of an exact sum: n elements of −128 … 127 lie in −128·n … 127·n.
    public var sumBits: Int { Self.elementBits + HWType.addressWidth(for: maximumTokens) }
    public var countBits: Int { HWType.addressWidth(for: maximumTokens + 1) }
    public var idBits: Int { HWType.addressWidth(for: maximumClusters) }
    public var clusterCountBits: Int { HWType.addressWidth(for: maximumClusters + 1) }
    /// R[1] = 2^F needs F + 1 unsigned bits.
    public var reciprocalBits: Int { averageFractionBits + 1 }

    /// Cycles from a row's `in.fire` (or a cluster's read in `average`) to its result on `out`,
    /// with `out.ready` high: the memory read, the operands (ROM or difference), the product,
    /// rounding and saturation into the output register.
    public var latency: Int { 3 }

    /// The ROM: entry c is `CentroidAverage.reciprocal(c)` for c = 1 … n; entry 0 (no cluster
    /// has no token) is 0.
    public var reciprocals: [Int64] {
        [0] + (1...maximumTokens).map { CentroidAverage.reciprocal(count: $0, fractionBits: averageFractionBits) }
    }

    /// The memories as (name, words, bits), for documentation and reports.
    public var memories: [(name: String, words: Int, bits: Int)] {
        [("sums", maximumClusters, lanes * sumBits + countBits), ("centroids", maximumClusters, lanes * Self.elementBits)]
    }

    /// One token row and its cluster id.
    @Bundle
    public struct TokenRow: Aggregate {
        public var row: [Signal]
        public var id: Signal
    }

    /// A centroid (with its count and sums) or a residual row.
    @Bundle
    public struct ResultRow: Aggregate {
        /// The cluster: the centroid's, or the residual token's.
        public var id: Signal
        public var row: [Signal]
        /// Centroids: the cluster's tokens (0 for residuals).
        public var count: Signal
        /// Centroids: the exact sums. Residuals: the differences before saturation.
        public var sums: [Signal]
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        @Input public var operation: Signal
        @Input("in") public var tokens: Decoupled<TokenRow>
        @Output("out") public var results: Decoupled<ResultRow>
        /// Clusters of the last accumulated stream so far (k).
        @Output public var clusters: Signal
        @Output("id_error") public var idError: Signal
        @Output public var idle: Signal
    }

    public var io: IO {
        let row = { (0..<lanes).map { _ in Signal(.sint(Self.elementBits)) } }
        return IO(start: Signal(.bool), operation: Signal(CentroidOperation.type),
                  tokens: Decoupled(TokenRow(row: row(), id: Signal(.uint(idBits)))),
                  results: Decoupled(ResultRow(id: Signal(.uint(idBits)), row: row(), count: Signal(.uint(countBits)),
                                               sums: (0..<lanes).map { _ in Signal(.sint(sumBits)) })),
                  clusters: Signal(.uint(clusterCountBits)), idError: Signal(.bool), idle: Signal(.bool))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        // Operations: `start` takes effect once nothing is in flight (`idle`).
        let operation = m.register("current_operation", CentroidOperation.self, reset: .accumulate)
        let requested = m.register("requested", CentroidOperation.self)
        let startPending = m.register("start_pending", .bool, reset: false)
        let accumulating = m.named("accumulating", operation === CentroidOperation.accumulate)
        let averaging = m.named("averaging", operation === CentroidOperation.average)
        let clusters = m.register("cluster_count", .uint(clusterCountBits), reset: 0)
        let nextCluster = m.register("next_cluster", .uint(clusterCountBits), reset: 0)
        let idError = m.register("id_error_seen", .bool, reset: false)

        let fetchedValid = m.register("fetched_valid", .bool, reset: false)
        let stagedValid = m.register("staged_valid", .bool, reset: false)
        let resultValid = m.register("result_valid", .bool, reset: false)
        // The output pipeline moves as one: everything holds while a result waits on `out`.
        let advance = m.named("advance", !resultValid || io.results.ready)
        let averagePending = m.named("average_pending", averaging && nextCluster < clusters)
        let idle = m.named("idle_now", !fetchedValid && !stagedValid && !resultValid && !averagePending)
        let clear = m.named("clear", (io.start || startPending) && idle)
        let nextOperation = mux(io.start, io.operation, requested)
        m.when(io.start && !idle) {
            startPending.set(true)
            requested.set(io.operation)
        }
        io.idle.set(idle)
        io.tokens.ready.set(!averaging && !io.start && !startPending && advance)
        let averageRead = m.named("average_read", averagePending && advance)
        m.when(averageRead) { nextCluster.set(nextCluster +% 1) }

        // First cycle: the row's cluster (or the cluster to average) is read.
        let sums = m.memory("sums", width: lanes * sumBits + countBits, depth: maximumClusters)
        let centroids = m.memory("centroids", width: lanes * Self.elementBits, depth: maximumClusters)
        let readAddress = m.named("read_address", mux(averaging, nextCluster.truncated(to: idBits), io.tokens.bits.id))
        let word = sums.read(address: readAddress, enable: io.tokens.fire || averageRead, latency: 1)
        let centroidWord = centroids.read(address: io.tokens.bits.id, enable: io.tokens.fire, latency: 1)
        let fetchedId = m.register("fetched_id", .uint(idBits))
        let fetchedRow = (0..<lanes).map { m.register("fetched_row_\($0)", .sint(Self.elementBits)) }
        m.when(advance) {
            fetchedValid.set(io.tokens.fire || averageRead)
            fetchedId.set(readAddress)
            for (register, element) in zip(fetchedRow, io.tokens.bits.row) { register.set(element) }
        }
        let stored = Cluster(word: word, lanes: lanes, sumBits: sumBits, countBits: countBits)

        // Second cycle, accumulate: the token adds into its cluster's sums.
        let fetchedCluster = fetchedId.extended(to: clusterCountBits)
        let isNew = m.named("new_cluster", fetchedCluster === clusters)
        var outOfOrder = fetchedCluster > clusters
        if maximumClusters < 1 << idBits { outOfOrder = outOfOrder || fetchedCluster >= Signal(maximumClusters) }
        let beyond = m.named("id_beyond", outOfOrder)
        let update = m.named("update", fetchedValid && accumulating && !beyond)
        let buffer = m.register("buffer", Cluster(lanes: lanes, sumBits: sumBits, countBits: countBits, idBits: idBits))
        let bufferValid = m.register("buffer_valid", .bool, reset: false)
        let written = m.register("written", Cluster(lanes: lanes, sumBits: sumBits, countBits: countBits, idBits: idBits))
        let writtenValid = m.register("written_valid", .bool, reset: false)
        let merge = m.named("merge", bufferValid && buffer.id === fetchedId)
        let forward = m.named("forward", writtenValid && written.id === fetchedId)
        let evict = m.named("evict", update && bufferValid && !merge)
        // The cluster's sums so far: none for a new cluster, else the newest copy — the buffer
        // (the token before had this id), the word written back in the previous cycle (after
        // this token's read), or the memory.
        func newest(_ type: HWType, _ field: (Cluster) -> Signal) -> Signal {
            mux(isNew, Signal.literal(0, type), mux(merge, field(buffer), mux(forward, field(written), field(stored))))
        }
        m.when(update) {
            bufferValid.set(true)
            buffer.id.set(fetchedId)
            buffer.count.set(newest(.uint(countBits), \.count) +% 1)
            for (lane, element) in fetchedRow.enumerated() {
                buffer.sums[lane].set(newest(.sint(sumBits)) { $0.sums[lane] } +% element.extended(to: sumBits))
            }
            m.when(isNew) { clusters.set(clusters +% 1) }
        }
        let flush = m.named("flush", clear && bufferValid)
        sums.write(address: buffer.id, data: buffer.word, enable: evict || flush)
        writtenValid.set(evict)
        m.connect(written, from: buffer)
        m.when(fetchedValid && mux(accumulating, beyond, fetchedCluster >= clusters)) { idError.set(true) }

        // Second cycle, average or residual: the operands of the lanes' product.
        let stagedId = m.register("staged_id", .uint(idBits))
        let stagedCount = m.register("staged_count", .uint(countBits))
        let stagedReciprocal = m.register("staged_reciprocal", .uint(reciprocalBits))
        let stagedLanes = (0..<lanes).map { m.register("staged_lane_\($0)", .sint(sumBits)) }
        let entries = reciprocals.map { Signal.literal(Int($0), .uint(reciprocalBits)) }
        let reciprocal = m.named("reciprocal", entries.count <= Self.chainedROMEntries ? select(entries, at: stored.count)
                                                                                     : Self.treeSelect(entries, at: stored.count))
        let centroid = (0..<lanes).map { lane in
            centroidWord.bits((lane + 1) * Self.elementBits - 1, lane * Self.elementBits).asSInt
        }
        m.when(advance) {
            stagedValid.set(fetchedValid && !accumulating)
            stagedId.set(fetchedId)
            stagedCount.set(mux(averaging, stored.count, Signal.literal(0, .uint(countBits))))
            // A residual is a sum of count 1: R = 2^F leaves it unchanged through the rounding.
            stagedReciprocal.set(mux(averaging, reciprocal, Signal.literal(1 << averageFractionBits, .uint(reciprocalBits))))
            for lane in 0..<lanes {
                let difference = (fetchedRow[lane] -& centroid[lane]).extended(to: sumBits)
                stagedLanes[lane].set(mux(averaging, stored.sums[lane], difference))
            }
        }

        // Third cycle: sat8(RRS(lane · R, F)) into the output register.
        let factor = stagedReciprocal.extended(to: reciprocalBits + 1).asSInt
        let averaged = stagedLanes.enumerated().map { lane, value in
            m.named("averaged_\(lane)", saturate(roundingRightShift(value * factor, by: averageFractionBits), to: Self.elementBits))
        }
        let result = m.register("result", ResultRow(id: Signal(.uint(idBits)), row: averaged, count: stagedCount, sums: stagedLanes))
        m.when(advance) {
            resultValid.set(stagedValid)
            m.connect(result, from: ResultRow(id: stagedId, row: averaged, count: stagedCount, sums: stagedLanes))
        }
        centroids.write(address: stagedId, data: cat(averaged.reversed().map(\.asUInt)), enable: advance && stagedValid && averaging)
        io.results.valid.set(resultValid)
        m.connect(io.results.bits, from: result)

        m.when(clear) {
            startPending.set(false)
            operation.set(nextOperation)
            nextCluster.set(0)
            idError.set(false)
            bufferValid.set(false)
            writtenValid.set(false)
            m.when(nextOperation === CentroidOperation.accumulate) { clusters.set(0) }
        }
        io.clusters.set(clusters)
        io.idError.set(idError)
    }

    /// The largest ROM written as `select`'s chain of comparisons (every shape measured above);
    /// a larger one (up to 65,537 entries at maxTokens = 65536) nests too deep for the
    /// elaborator's recursion and becomes a balanced tree of muxes on the count's bits.
    static let chainedROMEntries = 4097

    /// Entry `index` of `choices` through a balanced tree of muxes, one level per bit of `index`
    /// (which must cover every entry).
    static func treeSelect(_ choices: [Signal], at index: Signal) -> Signal {
        var level = choices, bit = 0
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { j in j + 1 < level.count ? mux(index[bit], level[j + 1], level[j]) : level[j] }
            bit += 1
        }
        return level[0]
    }

    /// One cluster's state: its id, its token count and its per-lane sums; in the `sums` memory
    /// as one word {count, sum_{lanes−1}, …, sum_0}.
    @Bundle
    struct Cluster: Aggregate {
        var id: Signal
        var count: Signal
        var sums: [Signal]

        init(lanes: Int, sumBits: Int, countBits: Int, idBits: Int) {
            self.init(id: Signal(.uint(idBits)), count: Signal(.uint(countBits)), sums: (0..<lanes).map { _ in Signal(.sint(sumBits)) })
        }

        /// The fields of a memory word (`id` is not stored: it is the address).
        init(word: Signal, lanes: Int, sumBits: Int, countBits: Int) {
            self.init(id: Signal.literal(0, .uint(1)), count: word.bits(lanes * sumBits + countBits - 1, lanes * sumBits),
                      sums: (0..<lanes).map { word.bits(($0 + 1) * sumBits - 1, $0 * sumBits).asSInt })
        }

        var word: Signal { cat([count] + sums.reversed().map(\.asUInt)) }
    }
}
