import Foundation
import Testing
import SpinelAccelerator
import SpinelGolden

// The compressed-token attention commands on the golden model (docs/CTA.md, "Commands"). Commands
// are encoded here from the document's bit positions. A whole head runs through the commands —
// the mesh products computed outside and moved in, as the host's matmuls would leave them — and
// must give exactly `CTAAttention.run`'s output, which composes the golden CTA functions
// directly; each command also meets its hand-checked cases and every rejection the document lists.

@Suite("Golden model: CTA commands")
struct CTACommandTests {
    typealias G = Gemmini

    /// `small` (DIM 4) with the normalization units and CTA units: l = 4, n ≤ 64, at most 16 clusters per level, 2 PAG tiles.
    static var config: AcceleratorConfig {
        var config = AcceleratorConfig.small
        config.hasNormalizations = true
        config.cta = CTAParameters(hashLength: 4, maxTokens: 64, maxClusters: 16, pagTiles: 2)
        return config
    }

    // MARK: Encodings (docs/CTA.md, "Commands")

    static func configHash(level: Int, multiplier: Int64, shift: Int, offsetsRow: Int, l: Int = 4) -> Encoded {
        Encoded(funct: 48, rs1: UInt64(shift) << 32 | UInt64(multiplier) << 8 | UInt64(level), rs2: G.operand(G.acc(offsetsRow), cols: l, rows: 1))
    }
    static func configExponent(_ factor: Float) -> Encoded {
        Encoded(funct: 48, rs1: UInt64(factor.bitPattern) << 32 | 3, rs2: 0)
    }
    static func cluster(level: Int, productsRow: Int, tokens: Int, l: Int = 4) -> Encoded {
        Encoded(funct: 49, rs1: UInt64(level), rs2: G.operand(G.acc(productsRow), cols: l, rows: tokens))
    }
    static func aggregate(level: Int, residuals: Bool = false, output: UInt32, tokens: UInt32, rows: Int, cols: Int) -> Encoded {
        Encoded(funct: 50, rs1: UInt64(residuals ? 1 : 0) << 34 | UInt64(level) << 32 | UInt64(output), rs2: G.operand(tokens, cols: cols, rows: rows))
    }
    static func probabilities(output: UInt32, scoresRow: Int, k0: Int, width: Int, firstRow: Int = 0) -> Encoded {
        Encoded(funct: 51, rs1: UInt64(firstRow) << 32 | UInt64(output), rs2: G.operand(G.acc(scoresRow), cols: width, rows: k0))
    }
    static func gather(_ dram: UInt64, productsRow: Int, k0: Int, cols: Int) -> Encoded {
        Encoded(funct: 52, rs1: dram, rs2: G.operand(G.acc(productsRow), cols: cols, rows: k0))
    }
    static func status(row: Int) -> Encoded { Encoded(funct: 53, rs1: 0, rs2: UInt64(G.acc(row))) }

    // MARK: Moving matrices in and out, DIM rows and columns at a time

    /// Puts `matrix` (at most DIM columns) into local rows from `local`, through DRAM at `staging`.
    static func place(_ matrix: [[Int64]], at local: UInt32, accumulator: Bool, in machine: inout Machine, staging: UInt64 = 0x10_0000) throws {
        let elementBytes = accumulator ? 4 : 1, columns = matrix.first?.count ?? 0
        try machine.put(matrix, at: staging, rowStride: columns * elementBytes, elementBytes: elementBytes)
        try machine.run(G.configLd(stride: UInt64(columns * elementBytes), blockStride: machine.dim))
        for first in stride(from: 0, to: matrix.count, by: machine.dim) {
            let rows = min(machine.dim, matrix.count - first)
            try machine.run(G.mvin(staging + UInt64(first * columns * elementBytes), local + UInt32(first), cols: columns, rows: rows))
        }
    }

    static func status(of machine: inout Machine, row: Int = 200) throws -> [Int64] {
        try machine.run(status(row: row))
        return Array(machine.accumulator(row, rows: 1)[0].prefix(4))  // DIM 4: one row
    }

    // MARK: A whole head

    /// Tokens near a few prototypes, so that they cluster.
    static func tokens(n: Int, width: Int, prototypes: Int, seed: UInt64) -> [[Int64]] {
        var random = SplitMix64(state: seed)
        let centers = (0..<prototypes).map { _ in (0..<width).map { _ in Int64.random(in: -100...100, using: &random) } }
        return (0..<n).map { _ in
            centers[Int.random(in: 0..<prototypes, using: &random)].map { $0 + Int64.random(in: -3...3, using: &random) }
        }
    }

    static func hash(width: Int, bucket: Double, seed: UInt64) -> LocalitySensitiveHash {
        var random = SplitMix64(state: seed)
        let directions = (0..<4).map { _ in (0..<width).map { _ in Int64.random(in: -60...60, using: &random) } }
        let offsets = (0..<4).map { _ in Int64(Double.random(in: 0..<bucket, using: &random)) }
        let (multiplier, shift) = CTANumerics.reciprocal(ofWidth: bucket, bits: 16)
        return LocalitySensitiveHash(directions: directions, offsets: offsets, multiplier: multiplier, shift: shift)
    }

    @Test("a whole head through the CTA commands equals CTAAttention.run", arguments: [(UInt64(1), 37, 8_000.0), (2, 64, 12_000.0), (3, 21, 2_000.0)])
    func wholeHead(seed: UInt64, n: Int, bucket: Double) throws {
        let dim = 4, width = 8, d = 4
        let x = Self.tokens(n: n, width: width, prototypes: 5, seed: seed)
        let hashes = (0..<3).map { Self.hash(width: width, bucket: bucket * ($0 == 2 ? 2 : 1), seed: seed * 10 + UInt64($0)) }
        var random = SplitMix64(state: seed + 99)
        func linear() -> CTAAttention.Linear {
            CTAAttention.Linear(weights: (0..<d).map { _ in (0..<width).map { _ in Int64.random(in: -50...50, using: &random) } },
                                bias: (0..<d).map { _ in Int64.random(in: -2000...2000, using: &random) })
        }
        let (query, key, value) = (linear(), linear(), linear())
        let scales = CTAAttention.Scales(query: 1 / 600, key: 1 / 700, value: 1 / 500, exponent: 0.2, output: 2)
        let cta = Self.config.cta!
        let expected = try CTAAttention.run(tokens: x, hashes: hashes, query: query, key: key, value: value, scales: scales, parameters: cta)
        #expect(expected.clusterCounts[0] < n && expected.clusterCounts[1] < n, "the tokens cluster: \(expected.clusterCounts)")

        var machine = try Machine(Self.config)
        // Token rows: two column blocks of DIM, block c at scratchpad row 64·c.
        let blocks = (0..<width / dim).map { c in x.map { Array($0[c * dim ..< (c + 1) * dim]) } }
        for (c, block) in blocks.enumerated() { try Self.place(block, at: UInt32(64 * c), accumulator: false, in: &machine) }
        func clusterLevel(_ level: Int, products: [[Int64]]) throws {
            try Self.place([hashes[level].offsets], at: G.acc(250), accumulator: true, in: &machine)
            try machine.run(Self.configHash(level: level, multiplier: hashes[level].multiplier, shift: hashes[level].shift, offsetsRow: 250))
            try Self.place(products, at: G.acc(0), accumulator: true, in: &machine)
            try machine.run(Self.cluster(level: level, productsRow: 0, tokens: n))
        }
        func centroids(_ level: Int, residuals: Bool = false, k: Int) throws -> [[Int64]] {
            // Centroid block c of level L at scratchpad row 512 + 128·L + 16·c.
            for c in blocks.indices {
                try machine.run(Self.aggregate(level: level, residuals: residuals, output: UInt32(512 + 128 * level + 16 * c), tokens: UInt32(64 * c), rows: n, cols: dim))
            }
            return (0..<k).map { r in blocks.indices.flatMap { c in machine.scratchpad(512 + 128 * level + 16 * c + r, rows: 1)[0] } }
        }
        try clusterLevel(0, products: MeshProduct.product(x, transposed: hashes[0].directions))
        try clusterLevel(1, products: MeshProduct.product(x, transposed: hashes[1].directions))
        let k = try Self.status(of: &machine)
        #expect(k[0] == Int64(expected.clusterCounts[0]) && k[1] == Int64(expected.clusterCounts[1]) && k[2] == -1 && k[3] == -1)
        let c0 = try centroids(0, k: Int(k[0]))
        let c1 = try centroids(1, residuals: true, k: Int(k[1]))
        let residuals = (0..<n).map { r in blocks.indices.flatMap { c in machine.scratchpad(64 * c + r, rows: 1)[0] } }
        try clusterLevel(2, products: MeshProduct.product(residuals, transposed: hashes[2].directions))
        let k2 = Int(try Self.status(of: &machine)[2])
        #expect(k2 == expected.clusterCounts[2])
        let c2 = try centroids(2, k: k2)
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")

        // The host's matmuls (what the mesh would compute), as CTAAttention does them.
        let q̄ = MeshProduct.store(MeshProduct.product(c0, transposed: query.weights, bias: query.bias), scale: scales.query)
        func keyValue(_ l: CTAAttention.Linear, _ scale: Float) -> [[Int64]] {
            MeshProduct.store(MeshProduct.product(c1, transposed: l.weights, bias: l.bias), scale: scale)
                + MeshProduct.store(MeshProduct.product(c2, transposed: l.weights), scale: scale)
        }
        let k̄ = keyValue(key, scales.key), v̄ = keyValue(value, scales.value)
        let scores = MeshProduct.product(q̄, transposed: k̄)
        // The score layout: DIM-column blocks, level 1's first, block b of row q at accumulator row b·k0 + q.
        let (k0, k1) = (Int(k[0]), Int(k[1]))
        let levelOneBlocks = (k1 + dim - 1) / dim, levelTwoBlocks = (k2 + dim - 1) / dim
        func blockOf(_ rows: [[Int64]], _ b: Int) -> [[Int64]] {
            rows.map { row in
                let (start, end) = b < levelOneBlocks ? (b * dim, k1) : (k1 + (b - levelOneBlocks) * dim, k1 + k2)
                return (0..<dim).map { start + $0 < min(end, start + dim) ? row[start + $0] : 0 }
            }
        }
        for b in 0 ..< levelOneBlocks + levelTwoBlocks {
            try Self.place(blockOf(scores, b), at: G.acc(b * k0), accumulator: true, in: &machine)
        }
        try machine.run(Self.configExponent(scales.exponent), Self.probabilities(output: 768, scoresRow: 0, k0: k0, width: k1 + k2))
        // AP's halves back from the scratchpad, in the same layout.
        let ap = (0..<k0).map { q in
            (0 ..< levelOneBlocks + levelTwoBlocks).map { b in machine.scratchpad(768 + b * k0 + q, rows: 1)[0] }
        }
        func half(_ q: Int, _ levelTwo: Bool) -> [Int64] {
            let blocks = levelTwo ? Array(ap[q][levelOneBlocks...]) : Array(ap[q][..<levelOneBlocks])
            return Array(blocks.joined().prefix(levelTwo ? k2 : k1))
        }
        let probabilities = expected.probabilities.rows
        for q in 0..<k0 {
            #expect(half(q, false) == CTANumerics.quantizeProbabilities(probabilities[q][..<k1]), "AP row \(q), level 1")
            #expect(half(q, true) == CTANumerics.quantizeProbabilities(probabilities[q][k1...]), "AP row \(q), level 2")
            // The padding of each half's last block is 0.
            #expect(ap[q].joined().count == (levelOneBlocks + levelTwoBlocks) * dim)
        }
        // Ō's two products (k0 rows each) at accumulator rows 100 and 100 + k0, then the gather.
        let productOne = MeshProduct.product((0..<k0).map { half($0, false) }, transposed: Reference.transpose(Array(v̄[..<k1])))
        let productTwo = MeshProduct.product((0..<k0).map { half($0, true) }, transposed: Reference.transpose(Array(v̄[k1...])))
        try Self.place(productOne + productTwo, at: G.acc(100), accumulator: true, in: &machine)
        try machine.run(G.configSt(stride: UInt64(d), accScale: scales.output), Self.gather(0x20_0000, productsRow: 100, k0: k0, cols: d))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        let output = machine.get(at: 0x20_0000, rows: n, cols: d, rowStride: d, elementBytes: 1)
        #expect(output == expected.output)
        // Not vacuous: the outputs are sizeable (an output scale far too small makes every row 0).
        #expect(expected.output.joined().map(abs).max() ?? 0 >= 5, "\(expected.compressedOutput)")
        #expect(c0 == CentroidAggregation.centroids(x, table: expected.tables[0], fractionBits: cta.averageFractionBits))
    }

    // MARK: Hand-checked cases

    /// Six tokens, codes by hand: M = 1, K = 3 (w = 8), offsets [0, 4, 0, 0]. Products chosen so
    /// that the codes are A, A, B, A, C, B in that order: k = 3, CT = [0, 0, 1, 0, 2, 1].
    /// Centroids by hand with F_c = 16: cluster 0 = rows 0, 1, 3, cluster 1 = rows 2, 5.
    @Test func clusterAndAggregateByHand() throws {
        var machine = try Machine(Self.config)
        let products: [[Int64]] = [
            [0, 3, 9, 17],  // floor([0, 7, 9, 17]/8) = [0, 0, 1, 2]   A
            [7, -4, 15, 23],  // [0, 0, 1, 2]                          A
            [-1, 3, 9, 17],  // [−1, 0, 1, 2]                           B
            [1, 0, 8, 16],  // [0, 0, 1, 2]                             A
            [0, 4, 9, 17],  // [0, 1, 1, 2]                             C
            [-8, 2, 14, 22],  // [−1, 0, 1, 2]                          B
        ]
        try Self.place([[0, 4, 0, 0]], at: G.acc(250), accumulator: true, in: &machine)
        try Self.place(products, at: G.acc(0), accumulator: true, in: &machine)
        try machine.run(Self.configHash(level: 1, multiplier: 1, shift: 3, offsetsRow: 250), Self.cluster(level: 1, productsRow: 0, tokens: 6))
        #expect(try Self.status(of: &machine) == [-1, 3, -1, -1])
        let rows: [[Int64]] = [[10, -10, 127, 1], [11, -11, 127, 2], [-128, 0, 5, 3], [12, -12, 126, 4], [1, 1, 1, 1], [-128, 1, 6, 5]]
        try Self.place(rows, at: 0, accumulator: false, in: &machine)
        try machine.run(Self.aggregate(level: 1, residuals: true, output: 100, tokens: 0, rows: 6, cols: 4))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        // Cluster 0: sums [33, −33, 380, 7] / 3 → 11, −11, 126.67 → 127, 2.33 → 2; cluster 1: [−256, 1, 11, 8] / 2
        // → −128, 0.5 → 0 (ties to even: R[2] = 2^15 exactly), 5.5 → 6, 4; cluster 2: the row itself.
        #expect(machine.scratchpad(100, rows: 3) == [[11, -11, 127, 2], [-128, 0, 6, 4], [1, 1, 1, 1]])
        // Residuals x − C¹[CT1], saturated: row 2 is [−128 − (−128), 0 − 0, 5 − 6, 3 − 4].
        #expect(machine.scratchpad(0, rows: 6) == [[-1, 1, 0, -1], [0, 0, 0, 0], [0, 0, -1, -1], [1, -1, -1, 2], [0, 0, 0, 0], [0, 1, 0, 1]])
    }

    /// Seventeen distinct codes at most 16 clusters: token 16 overflows; the level's table is
    /// gone (CTA_STATUS −1, token 16), later uses of it are refused, a new CTA_CLUSTER restores it.
    @Test func clusterOverflowIsReported() throws {
        var machine = try Machine(Self.config)
        try Self.place([[0, 0, 0, 0]], at: G.acc(250), accumulator: true, in: &machine)
        try Self.place((0..<17).map { [Int64($0), 0, 0, 0] }, at: G.acc(0), accumulator: true, in: &machine)
        try machine.run(Self.configHash(level: 0, multiplier: 1, shift: 0, offsetsRow: 250), Self.cluster(level: 0, productsRow: 0, tokens: 17))
        #expect(machine.model.error?.code == .clusterOverflow)
        #expect(machine.model.error?.reason.contains("token 16") == true)
        #expect(try Self.status(of: &machine) == [-1, -1, -1, 16])
        try machine.run(Self.aggregate(level: 0, output: 100, tokens: 0, rows: 17, cols: 4))
        #expect(machine.model.lastRejection?.code == .illegalOperand)
        try machine.run(Self.cluster(level: 0, productsRow: 0, tokens: 16))
        #expect(machine.model.lastRejection == nil)
        #expect(try Self.status(of: &machine) == [16, -1, -1, 16])
    }

    // MARK: Rejections

    /// Each illegal use gets its named error, and a command refused before it starts changes nothing.
    @Test func illegalUsesAreRefused() throws {
        var machine = try Machine(Self.config)
        try Self.place([[0, 0, 0, 0]], at: G.acc(250), accumulator: true, in: &machine)
        try Self.place((0..<8).map { [Int64($0 % 3), 0, 0, 0] }, at: G.acc(0), accumulator: true, in: &machine)
        try machine.run(Self.configHash(level: 0, multiplier: 1, shift: 0, offsetsRow: 250))
        let cases: [(Encoded, AcceleratorError.Code, String)] = [
            (Encoded(funct: 48, rs1: 1 << 40, rs2: 0), .unsupportedField, "reserved"),
            (Self.configHash(level: 0, multiplier: 1 << 16, shift: 0, offsetsRow: 250), .unsupportedField, "hashReciprocalBits"),
            (Self.configHash(level: 0, multiplier: 1, shift: 0, offsetsRow: 250, l: 3), .illegalOperand, "l = 4"),
            (Encoded(funct: 48, rs1: 3, rs2: 0), .invalidScale, "positive"),
            (Self.configExponent(.nan), .invalidScale, "positive"),
            (Encoded(funct: 48, rs1: UInt64(Float(1).bitPattern) << 32 | 3, rs2: 5), .unsupportedField, "rs2"),
            (Self.cluster(level: 3, productsRow: 0, tokens: 8), .unsupportedField, "level 3"),
            (Self.cluster(level: 0, productsRow: 0, tokens: 0), .illegalOperand, "1 to cta.maxTokens"),
            (Self.cluster(level: 0, productsRow: 0, tokens: 65), .illegalOperand, "1 to cta.maxTokens"),
            (Self.cluster(level: 0, productsRow: 0, tokens: 8, l: 2), .illegalOperand, "l = 4"),
            (Self.cluster(level: 0, productsRow: 250, tokens: 8), .localAddressOutOfRange, "256 rows"),
            (Encoded(funct: 49, rs1: 0, rs2: G.operand(5, cols: 4, rows: 8)), .illegalOperand, "plain accumulator"),
            (Encoded(funct: 49, rs1: 0, rs2: G.operand(G.acc(0, accumulate: true), cols: 4, rows: 8)), .illegalOperand, "plain accumulator"),
            (Self.aggregate(level: 1, output: 100, tokens: 0, rows: 8, cols: 4), .illegalOperand, "run CTA_CLUSTER on level 1"),
            (Self.aggregate(level: 0, residuals: true, output: 100, tokens: 0, rows: 8, cols: 4), .unsupportedField, "only level 1"),
            (Self.aggregate(level: 0, output: 100, tokens: 0, rows: 8, cols: 5), .tooManyColumns, "DIM is 4"),
            (Self.probabilities(output: 0, scoresRow: 0, k0: 2, width: 4), .illegalOperand, "level 1"),
            (Self.probabilities(output: 0, scoresRow: 0, k0: 2, width: 4, firstRow: 15), .illegalOperand, "at most cta.maxClusters = 16"),
            (Self.probabilities(output: 0, scoresRow: 0, k0: 0, width: 4), .illegalOperand, "at least one row"),
            (Encoded(funct: 51, rs1: 1 << 48, rs2: G.operand(G.acc(0), cols: 4, rows: 2)), .unsupportedField, "rs1"),
            (Self.gather(0x1000, productsRow: 0, k0: 2, cols: 4), .illegalOperand, "CTA_PROBABILITIES made 0"),
            (Encoded(funct: 53, rs1: 1, rs2: UInt64(G.acc(0))), .unsupportedField, "rs1"),
            (Encoded(funct: 53, rs1: 0, rs2: UInt64(0)), .illegalOperand, "plain accumulator"),
        ]
        try machine.run(Self.cluster(level: 0, productsRow: 0, tokens: 8))
        #expect(machine.model.lastRejection == nil)
        let aggregateCases: [(Encoded, AcceleratorError.Code, String)] = [
            (Self.aggregate(level: 0, output: 100, tokens: 0, rows: 7, cols: 4), .illegalOperand, "has 8 tokens"),
            (Self.aggregate(level: 0, output: 4, tokens: 0, rows: 8, cols: 4), .illegalOperand, "overlap"),
            (Self.aggregate(level: 0, output: 1022, tokens: 0, rows: 8, cols: 4), .localAddressOutOfRange, "1024 rows"),
            (Self.aggregate(level: 0, output: G.acc(0), tokens: 0, rows: 8, cols: 4), .illegalOperand, "plain scratchpad"),
        ]
        for (command, code, words) in cases + aggregateCases {
            let before = machine.model.state
            try machine.run(command)
            let rejection = try #require(machine.model.lastRejection, "\(command) was accepted")
            #expect(rejection.code == code, "\(command): \(rejection)")
            #expect(rejection.reason.contains(words), "\(command): \(rejection.reason)")
            #expect(machine.model.state == before, "\(command) changed the state")
        }
    }

    /// CTA_PROBABILITIES in groups of compressed query rows (rs1[47:32] the group's first row):
    /// groups 0 ..< 2 and 2 ..< 3 give the rows one command over 0 ..< 3 gives; a group that
    /// does not follow the rows so far is refused (nothing changes); a group at row 0 starts a
    /// new set, and CTA_GATHER takes the rows made since.
    @Test func probabilityGroups() throws {
        func machineWithScores() throws -> Machine {
            var machine = try Machine(Self.config)
            try Self.place([[0, 0, 0, 0]], at: G.acc(250), accumulator: true, in: &machine)
            for level in 0..<3 {
                try Self.place((0..<8).map { [Int64(($0 + level) % (level + 2)), 0, 0, 0] }, at: G.acc(0), accumulator: true, in: &machine)
                try machine.run(Self.configHash(level: level, multiplier: 1, shift: 0, offsetsRow: 250), Self.cluster(level: level, productsRow: 0, tokens: 8))
            }
            #expect(try Self.status(of: &machine) == [2, 3, 4, -1])
            // k1 + k2 = 7 scores per row: blocks [k1 | k2] of 4 lanes, 3 query rows at rows 20 + b·3 + q.
            let scores: [[Int64]] = (0..<6).map { (r: Int) -> [Int64] in (0..<4).map { (lane: Int) -> Int64 in Int64(r * 137 - lane * 53 * (r % 3 + 1)) } }
            try Self.place(scores, at: G.acc(20), accumulator: true, in: &machine)
            try machine.run(Self.configExponent(4))
            return machine
        }
        var whole = try machineWithScores()
        try whole.run(Self.probabilities(output: 40, scoresRow: 20, k0: 3, width: 7))
        #expect(whole.model.lastRejection == nil, "\(String(describing: whole.model.lastRejection))")
        var groups = try machineWithScores()
        // Group rows 0 ..< 2: its blocks at rows 60 + b·2 + t; row 2 alone at 70 + b.
        for (q, target) in [(0, 60), (1, 61), (2, 70)] {
            let rows = (0..<2).map { b in groups.accumulator(20 + b * 3 + q, rows: 1)[0] }
            for (b, row) in rows.enumerated() {
                try Self.place([row], at: G.acc(q < 2 ? target + b * 2 : target + b), accumulator: true, in: &groups)
            }
        }
        try groups.run(Self.probabilities(output: 100, scoresRow: 60, k0: 2, width: 7))
        let before = groups.model.state
        try groups.run(Self.probabilities(output: 110, scoresRow: 70, k0: 1, width: 7, firstRow: 3))
        #expect(groups.model.lastRejection?.code == .illegalOperand && groups.model.lastRejection?.reason.contains("rows so far are 0 ..< 2") == true,
                "\(String(describing: groups.model.lastRejection))")
        #expect(groups.model.state == before)
        try groups.run(Self.probabilities(output: 110, scoresRow: 70, k0: 1, width: 7, firstRow: 2))
        #expect(groups.model.lastRejection == nil, "\(String(describing: groups.model.lastRejection))")
        for q in 0..<3 {
            for b in 0..<2 {
                let expected = whole.scratchpad(40 + b * 3 + q, rows: 1)[0]
                let actual = groups.scratchpad(q < 2 ? 100 + b * 2 + q : 110 + b, rows: 1)[0]
                #expect(actual == expected, "AP row \(q), block \(b)")
            }
        }
        #expect(whole.model.state.cta?.probabilityRows == groups.model.state.cta?.probabilityRows)
        #expect(groups.model.state.cta?.probabilityRows.count == 3)
        // Not vacuous: the rows differ.
        #expect(Set((0..<3).map { whole.scratchpad(40 + $0, rows: 1)[0] }).count > 1)
        // A group at row 0 starts over: a gather of k0 = 2 then finds 1 row, and refuses.
        try groups.run(Self.probabilities(output: 110, scoresRow: 70, k0: 1, width: 7))
        #expect(groups.model.state.cta?.probabilityRows.count == 1)
    }

    /// A code's l products are one accumulator row: l ≤ DIM.
    @Test func hashLengthBeyondDIMIsAConfigurationError() {
        var config = Self.config
        config.cta?.hashLength = 5
        let problems = config.problems()
        #expect(problems.contains { $0.field == "cta.hashLength" && $0.rule.contains("at most DIM (4)") && $0.fix.contains("from 1 to 4") },
                "\(problems)")
    }

    /// On DIM 2 the four status values take two rows.
    @Test func statusOnANarrowArray() throws {
        var config = ConfigurationExtremesSmall.config
        config.cta = CTAParameters(hashLength: 2, maxTokens: 8, maxClusters: 8)
        var machine = try Machine(config)
        try machine.run(Self.status(row: 10))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.accumulator(10, rows: 2) == [[-1, -1], [-1, -1]])
    }

    @Test func withoutTheUnitsEveryCTAFunctIsUnknown() throws {
        var machine = try Machine(.small)
        for funct in UInt8(48)...53 {
            try machine.run(Encoded(funct: funct, rs1: 0, rs2: UInt64(G.acc(0))))
            #expect(machine.model.lastRejection?.code == .unknownCommand, "funct \(funct)")
            #expect(machine.model.lastRejection?.reason.contains("cta section") == true, "funct \(funct)")
        }
    }
}

/// A DIM-2 machine with the normalization units (for the CTA_STATUS layout).
enum ConfigurationExtremesSmall {
    static var config: AcceleratorConfig {
        var config = AcceleratorConfig.small
        config.name = "SpinelDim2"
        config.meshRows = 2
        config.meshColumns = 2
        config.hasNormalizations = true
        return config
    }
}
