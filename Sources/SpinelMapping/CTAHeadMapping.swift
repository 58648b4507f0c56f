import SpinelAccelerator
import SpinelFuzz
import SpinelGolden

/// One head of compressed-token attention as one command program (docs/CTA.md, "One head on the
/// accelerator"): every matrix product on the mesh through `tiled_matmul_auto`'s LOOP_WS
/// (`ProgramBuilder.tiledMatmul`), every CTA step through the CTA commands, nothing computed on
/// the host but the program's sizes. Its output must equal `CTAAttention.run`, which composes the
/// golden CTA functions directly.
///
/// The cluster counts k0, k1, k2 size the commands after the clustering. A host reads them with
/// CTA_STATUS; a static program cannot, so the mapping takes them from the golden functions
/// (`CTAAttention.cluster`) and the program moves CTA_STATUS's rows out to DRAM, where a run
/// compares them (the RTL's trace replay checks every DMA write).
public enum CTAHeadMapping {
    /// One head's inputs: n tokens of d_w int8 values (self-attention), the three LSH instances,
    /// the three linears and the fp32 factors.
    public struct Head: Sendable {
        public var tokens: [[Int64]]
        public var hashes: [LocalitySensitiveHash]
        public var query: CTAAttention.Linear, key: CTAAttention.Linear, value: CTAAttention.Linear
        public var scales: CTAAttention.Scales

        public init(tokens: [[Int64]], hashes: [LocalitySensitiveHash], query: CTAAttention.Linear, key: CTAAttention.Linear,
                    value: CTAAttention.Linear, scales: CTAAttention.Scales) {
            self.tokens = tokens; self.hashes = hashes
            self.query = query; self.key = key; self.value = value; self.scales = scales
        }
    }

    /// The program, where its results land in the buffer, and the counts it was sized with.
    public struct Mapped: Sendable {
        public var program: MappedProgram
        /// The n × d int8 output rows (row stride d).
        public var output: (offset: Int, rows: Int, columns: Int)
        /// CTA_STATUS's values after level 1's and after level 2's clustering, each
        /// `CTAFields.statusValues` int32 at this offset (then the row's other lanes).
        public var status: [Int]
        public var counts: [Int]
        /// The stage each fence of the program closes (`Stage`), in order: a breakdown of the
        /// timing model's segment cycles (`ProgramOutcome.segmentCycles`).
        public var stages: [String]
    }

    /// The stages of a head, as the breakdown names them (the dense head's linears, scores and
    /// output too).
    public enum Stage {
        public static let hashing = "hashing", clustering = "clustering", aggregation = "aggregation", linears = "linears"
        public static let scores = "scores", probabilities = "probabilities", output = "output", gather = "gather"
        public static let all = [hashing, clustering, aggregation, linears, scores, probabilities, output, gather]
    }

    /// The program for `head` on `parameters` (which must have CTA units).
    /// The full tiles of DIM compressed rows are aggregated where their scores lie, a
    /// CTA_PROBABILITIES each; `groupRows` caps the rows per CTA_PROBABILITIES of the others
    /// (default: as many as the local memories hold), and under DIM sends every row through DRAM.
    public static func map(_ head: Head, parameters: AcceleratorParameters, groupRows maximumGroupRows: Int? = nil) throws -> Mapped {
        guard let cta = parameters.config.cta else {
            throw MappingError("\(parameters.name) has no CTA units: give a configuration with a cta section (docs/CONFIGURATION.md)")
        }
        let dim = parameters.dim, n = head.tokens.count, width = head.tokens.first?.count ?? 0, d = head.query.bias.count, l = cta.hashLength
        guard (1...cta.maxTokens).contains(n), width > 0, d > 0, head.hashes.count == CTAFields.levels,
              head.hashes.allSatisfy({ $0.directions.count == l && $0.offsets.count == l && $0.directions.allSatisfy { $0.count == width } }) else {
            throw MappingError("a CTA head needs 1 to cta.maxTokens = \(cta.maxTokens) tokens of equal width and three hashes of l = \(l) directions over them")
        }
        let (tables, _) = try CTAAttention.cluster(head.tokens, hashes: head.hashes, parameters: cta)
        let counts = tables.map(\.count)
        let (k0, k1, k2) = (counts[0], counts[1], counts[2])
        let blocks = (width + dim - 1) / dim, outputBlocks = (d + dim - 1) / dim
        let layout = CTAScoreLayout(k0: k0, k1: k1, k2: k2, dim: dim)
        let k1Padded = layout.levelOneBlocks * dim

        // Local rows, one column block of the tokens at a time: its n token rows at scratchpad row
        // 0, level L's centroids of the block at row n + L·maxClusters; later AP's blocks from
        // row 0. In the accumulator: the products (rows 0 ..< n), the offsets (row n), the status
        // (row n + 1), later the score blocks and Ō's two products from row 0.
        let tokenRows = 0, apRows = 0
        let statusRows = CTAFields.statusRows(dim: dim)
        let productRows = 0, offsetRow = n, statusRow = n + 1, scoreRows = 0, gatherRows = 0
        // CTA_PROBABILITIES in groups of compressed query rows whose score blocks (blocks × rows)
        // fit the accumulator and whose AP blocks fit the scratchpad.
        let groupRows = min(k0, parameters.accRows / layout.blocks, parameters.spRows / layout.blocks, maximumGroupRows ?? .max)
        guard n + CTAFields.levels * cta.maxClusters <= parameters.spRows, groupRows >= 1,
              max(statusRow + statusRows, 2 * k0) <= parameters.accRows else {
            throw MappingError("a CTA head of \(n) tokens × \(width) with k = \(counts) does not fit \(parameters.name)'s scratchpad (\(parameters.spRows) rows) and accumulator (\(parameters.accRows) rows): one compressed row's scores take \(layout.blocks) rows, the gather \(2 * k0)")
        }
        func centroidRow(_ level: Int) -> Int { n + level * cta.maxClusters }

        var b = ProgramBuilder(parameters: parameters)
        b.notes = ["\(parameters.name): one CTA head of \(n) tokens × \(width), d = \(d), k = \(counts) (CTAHeadMapping)"]
        func int8(_ rows: [[Int64]]) -> [Int8] { rows.flatMap { $0.map { Int8($0) } } }
        func int32(_ rows: [[Int64]]) -> [Int32] { rows.flatMap { $0.map { Int32(truncatingIfNeeded: $0) } } }
        let x = b.place(int8(head.tokens), rows: n, columns: width)
        let directions = head.hashes.map { b.place(int8($0.directions), rows: l, columns: width) }
        let offsets = head.hashes.map { b.place(int32([$0.offsets]), rows: 1, columns: l) }
        func weights(_ linear: CTAAttention.Linear) -> DRAMMatrix { b.place(int8(linear.weights), rows: d, columns: width) }
        let (wq, wk, wv) = (weights(head.query), weights(head.key), weights(head.value))
        let products = (0..<CTAFields.levels).map { _ in b.allocate(rows: n, columns: l, elementBytes: 4) }
        let status = (0..<2).map { _ in b.allocate(rows: statusRows, columns: dim, elementBytes: 4) }
        let residuals = b.allocate(rows: n, columns: width, elementBytes: 1)
        let centroids = [k0, k1, k2].map { b.allocate(rows: $0, columns: width, elementBytes: 1) }
        let q̄ = b.allocate(rows: k0, columns: d, elementBytes: 1)
        let k̄ = b.allocate(rows: k1Padded + k2, columns: d, elementBytes: 1), v̄ = b.allocate(rows: k1Padded + k2, columns: d, elementBytes: 1)
        let scores = b.allocate(rows: k0, columns: k1Padded + k2, elementBytes: 4)
        let ap = b.allocate(rows: k0, columns: layout.blocks * dim, elementBytes: 1)
        let halves = (0..<2).map { _ in b.allocate(rows: k0, columns: d, elementBytes: 4) }
        let output = b.allocate(rows: n, columns: d, elementBytes: 1)

        // Moves of DIM rows at a time; a load's stride is configured before each group.
        func moveIn(_ matrix: DRAMMatrix, columns first: Int = 0, _ count: Int, to local: UInt32, accumulator: Bool) {
            b.configLoad(which: accumulator ? 2 : 0, strideBytes: matrix.stride * matrix.elementBytes)
            for row in stride(from: 0, to: matrix.rows, by: dim) {
                b.moveIn(which: accumulator ? 2 : 0, from: matrix.at(row, first), to: local + UInt32(row), rows: min(dim, matrix.rows - row), columns: count)
            }
        }
        func moveOut(_ matrix: DRAMMatrix, columns first: Int = 0, _ count: Int, from local: UInt32) {
            for row in stride(from: 0, to: matrix.rows, by: dim) {
                b.moveOut(to: matrix.at(row, first), from: local + UInt32(row), rows: min(dim, matrix.rows - row), columns: count)
            }
        }
        func accumulator(_ row: Int) -> UInt32 { ProgramBuilder.accumulator | UInt32(row) }
        /// Column block c of `source`'s token rows into the scratchpad.
        func tokenBlockIn(_ source: DRAMMatrix, _ c: Int) {
            moveIn(source, columns: c * dim, min(dim, width - c * dim), to: UInt32(tokenRows), accumulator: false)
        }
        typealias F = CTAFields
        // Each stage ends with a fence, named for the breakdown of its cycles.
        var stages: [String] = []
        func fence(_ stage: String) {
            b.fence()
            stages.append(stage)
        }
        /// The hash products `X·A_Lᵀ` on the mesh, int32 to DRAM.
        func hashProducts(_ level: Int, tokens source: DRAMMatrix) {
            b.tiledMatmul(i: n, j: l, k: width, a: source, b: directions[level], d: nil, c: products[level], scale: 1, transposeB: true, fullC: true)
        }
        func cluster(_ level: Int) {
            moveIn(offsets[level], l, to: accumulator(offsetRow), accumulator: true)
            moveIn(products[level], l, to: accumulator(productRows), accumulator: true)
            let hash = head.hashes[level]
            b.command(Funct.ctaConfig, F.configTarget.placed(UInt64(level)) | F.hashMultiplier.placed(UInt64(hash.multiplier)) | F.hashShift.placed(UInt64(hash.shift)),
                      ProgramBuilder.operand(accumulator(offsetRow), rows: 1, columns: l))
            b.command(Funct.ctaCluster, F.clusterLevel.placed(UInt64(level)), ProgramBuilder.operand(accumulator(productRows), rows: n, columns: l))
        }
        func aggregate(_ level: Int, block c: Int, residuals: Bool = false) {
            b.command(Funct.ctaAggregate, F.outputAddress.placed(UInt64(centroidRow(level))) | F.aggregateLevel.placed(UInt64(level))
                        | (residuals ? 1 << UInt64(F.residualsBit) : 0),
                      ProgramBuilder.operand(UInt32(tokenRows), rows: n, columns: min(dim, width - c * dim)))
        }
        func centroidsOut(_ level: Int, block c: Int) {
            moveOut(centroids[level], columns: c * dim, min(dim, width - c * dim), from: UInt32(centroidRow(level)))
        }
        func statusOut(_ matrix: DRAMMatrix) {
            b.command(Funct.ctaStatus, 0, F.outputAddress.placed(UInt64(accumulator(statusRow))))
            b.configStore(activation: 0, scale: 1, strideBytes: dim * 4)
            moveOut(matrix, dim, from: accumulator(statusRow) | ProgramBuilder.fullWidth)
        }

        // Levels 0 and 1: hash and cluster the tokens, then their centroids; level 1's residuals.
        hashProducts(0, tokens: x)
        hashProducts(1, tokens: x)
        fence(Stage.hashing)
        cluster(0)
        cluster(1)
        statusOut(status[0])
        fence(Stage.clustering)
        b.configStore(activation: 0, scale: 1, strideBytes: width)
        for c in 0..<blocks {
            tokenBlockIn(x, c)
            aggregate(0, block: c)
            aggregate(1, block: c, residuals: true)
            centroidsOut(0, block: c)
            centroidsOut(1, block: c)
            moveOut(residuals, columns: c * dim, min(dim, width - c * dim), from: UInt32(tokenRows))
        }
        fence(Stage.aggregation)
        // Level 2 on the residuals.
        hashProducts(2, tokens: residuals)
        fence(Stage.hashing)
        cluster(2)
        statusOut(status[1])
        fence(Stage.clustering)
        b.configStore(activation: 0, scale: 1, strideBytes: width)
        for c in 0..<blocks {
            tokenBlockIn(residuals, c)
            aggregate(2, block: c)
            centroidsOut(2, block: c)
        }
        fence(Stage.aggregation)

        // The linears on the compressed tokens: Q̄ from C⁰; K̄ and V̄ from C¹ (with the bias) and C²,
        // level 2's rows from a DIM boundary (zero rows between), so the scores come out in
        // CTAScoreLayout's blocks.
        let queryBias = b.placeRow(int32([head.query.bias]), rows: k0)
        let keyBias = b.placeRow(int32([head.key.bias]), rows: k1), valueBias = b.placeRow(int32([head.value.bias]), rows: k1)
        b.tiledMatmul(i: k0, j: d, k: width, a: centroids[0], b: wq, d: queryBias, c: q̄, scale: head.scales.query, transposeB: true)
        for (bias, w, target, scale) in [(keyBias, wk, k̄, head.scales.key), (valueBias, wv, v̄, head.scales.value)] {
            b.tiledMatmul(i: k1, j: d, k: width, a: centroids[1], b: w, d: bias, c: target.rows(0, k1), scale: scale, transposeB: true)
            b.tiledMatmul(i: k2, j: d, k: width, a: centroids[2], b: w, d: nil, c: target.rows(k1Padded, k2), scale: scale, transposeB: true)
        }
        fence(Stage.linears)

        // The scores and their probability aggregation. LOOP_WS without a C address leaves a
        // product in the accumulator half it used, tile (i, j) at row (i·J + j)·DIM: for a tile of
        // DIM compressed rows that is CTAScoreLayout's blocks of a group of DIM rows (block j of
        // row t at j·DIM + t), so CTA_PROBABILITIES reads it where it lies. The full tiles go that
        // way, `inPlaceTiles` per product (whole score rows in half the accumulator, their operands
        // in half the scratchpad), their AP to the other half of the scratchpad and out to DRAM;
        // the scores of the last k0 mod DIM rows (a group of fewer rows has another layout), or of
        // every row when a score row does not fit or `groupRows` asks for groups under DIM, go
        // out to DRAM and come back in block by block.
        b.command(Funct.ctaConfig, F.configTarget.placed(UInt64(F.exponentTarget)) | F.exponentFactor.placed(UInt64(head.scales.exponent.bitPattern)), 0)
        let accumulatorHalfTiles = parameters.accRows / 2 / dim, scratchpadHalfTiles = parameters.spRows / 2 / dim
        let inPlaceTiles = max(min(accumulatorHalfTiles / layout.blocks, scratchpadHalfTiles - layout.blocks), 0)
        let inPlaceRows = inPlaceTiles >= 1 && (maximumGroupRows ?? dim) >= dim ? k0 / dim * dim : 0
        if inPlaceRows < k0 {
            b.tiledMatmul(i: k0 - inPlaceRows, j: k1Padded + k2, k: d, a: q̄.rows(inPlaceRows, k0 - inPlaceRows), b: k̄, d: nil,
                          c: scores.rows(inPlaceRows, k0 - inPlaceRows), scale: 1, transposeB: true, fullC: true)
        }
        let inPlaceAP = UInt32(parameters.spRows / 2)
        /// CTA_PROBABILITIES of `rows` compressed rows from `first` (scores from accumulator row
        /// `scores`, AP to scratchpad row `apRow`, both in the layout of `rows` rows), then AP's
        /// blocks out to DRAM (CONFIG_ST's stride set in between with `configure`, else before).
        func probabilities(first: Int, rows: Int, scores: UInt32, apRow: UInt32, configure: Bool) {
            b.command(Funct.ctaProbabilities, F.outputAddress.placed(UInt64(apRow)) | F.firstRow.placed(UInt64(first)),
                      ProgramBuilder.operand(scores, rows: rows, columns: k1 + k2))
            if configure { b.configStore(activation: 0, scale: 1, strideBytes: layout.blocks * dim) }
            for block in 0..<layout.blocks { moveOut(ap.rows(first, rows), columns: block * dim, dim, from: apRow + UInt32(block * rows)) }
        }
        for first in stride(from: 0, to: inPlaceRows, by: max(inPlaceTiles, 1) * dim) {
            let rows = min(inPlaceTiles * dim, inPlaceRows - first)
            b.tiledMatmul(i: rows, j: k1Padded + k2, k: d, a: q̄.rows(first, rows), b: k̄, d: nil, c: scores, scale: 1, transposeB: true,
                          fullC: true, storeC: false)
            let products = b.accumulatorRow(half: b.accumulatorHalf, 0)
            b.configStore(activation: 0, scale: 1, strideBytes: layout.blocks * dim)
            for tile in stride(from: 0, to: rows, by: dim) {
                probabilities(first: first + tile, rows: dim, scores: products + UInt32(tile * layout.blocks), apRow: inPlaceAP, configure: false)
            }
        }
        if inPlaceRows < k0 {
            // The DRAM scores of the rows left are read back: their stores must have landed.
            fence(Stage.scores)
            for first in stride(from: inPlaceRows, to: k0, by: groupRows) {
                let rows = min(groupRows, k0 - first)
                for block in 0..<layout.blocks {
                    moveIn(scores.rows(first, rows), columns: block * dim, min(dim, k1Padded + k2 - block * dim),
                           to: accumulator(scoreRows + block * rows), accumulator: true)
                }
                probabilities(first: first, rows: rows, scores: accumulator(scoreRows), apRow: UInt32(apRows), configure: true)
            }
            fence(Stage.probabilities)
        } else {
            fence(Stage.scores)
        }

        // Ō's two products AP₁·V̄₁ and AP₂·V̄₂ in int32, then the gather, one output column block at a time.
        b.tiledMatmul(i: k0, j: d, k: k1, a: ap.columns(0, k1), b: v̄.rows(0, k1), d: nil, c: halves[0], scale: 1, fullC: true)
        b.tiledMatmul(i: k0, j: d, k: k2, a: ap.columns(k1Padded, k2), b: v̄.rows(k1Padded, k2), d: nil, c: halves[1], scale: 1, fullC: true)
        fence(Stage.output)
        b.configStore(activation: 0, scale: head.scales.output, strideBytes: d)
        for block in 0..<outputBlocks {
            let columns = min(dim, d - block * dim)
            moveIn(halves[0], columns: block * dim, columns, to: accumulator(gatherRows), accumulator: true)
            moveIn(halves[1], columns: block * dim, columns, to: accumulator(gatherRows + k0), accumulator: true)
            b.command(Funct.ctaGather, UInt64(output.at(0, block * dim)), ProgramBuilder.operand(accumulator(gatherRows), rows: k0, columns: columns),
                      rs1IsDRAM: true)
        }
        fence(Stage.gather)
        let mapped = MappedProgram(name: "cta-head", program: b.program, output: (output.offset, n, d), pooled: nil, macs: b.macs)
        return Mapped(program: mapped, output: (output.offset, n, d), status: status.map(\.offset), counts: counts, stages: stages)
    }
}
