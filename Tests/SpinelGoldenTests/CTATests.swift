import Foundation
import Testing
import SpinelAccelerator
import SpinelGolden
import SpinelSim

// Compressed-token attention in the golden model (docs/CTA.md; formats in docs/NUMERICS.md,
// "Compressed-token attention"): every function against values computed by hand from the
// document's formulas, probability aggregation against a naive sequential loop, and whole
// heads against independent float attention.

@Suite("Golden model: CTA numerics")
struct CTANumericsTests {
    @Test func reciprocalOfTheBucketWidthIsTheWidestMultiplierThatFits() {
        // 1/4: 2^17/4 = 32768 fits 16 bits, 2^18/4 = 65536 does not.
        #expect(CTANumerics.reciprocal(ofWidth: 4, bits: 16) == (32768, 17))
        // 1/3: 2^17/3 = 43690.67 → 43691; 2^18/3 = 87381.3 needs 17 bits.
        #expect(CTANumerics.reciprocal(ofWidth: 3, bits: 16) == (43691, 17))
        #expect(CTANumerics.reciprocal(ofWidth: 1, bits: 16) == (32768, 15))
        #expect(CTANumerics.reciprocal(ofWidth: 1, bits: 8) == (128, 7))
        // Below 2^-16 the finest width the format holds; 2^62 is the widest (M = 1, K = 62).
        #expect(CTANumerics.reciprocal(ofWidth: 1e-6, bits: 16) == (65535, 0))
        #expect(CTANumerics.reciprocal(ofWidth: 0x1p62, bits: 16) == (1, 62))
    }

    @Test(arguments: [
        // acc, offset, width, expected floor((acc + offset)/w) through M·2^-K
        (Int64(-5), Int64(0), 4.0, Int64(-2)),  // floor(-1.25): toward −∞, not toward zero
        (-4, 0, 4.0, -1), (-1, 0, 4.0, -1), (0, 0, 4.0, 0), (3, 1, 4.0, 1), (5, 0, 4.0, 1), (-9, 2, 4.0, -2),
        (-7, 0, 3.0, -3), (6, 0, 3.0, 2), (3, 0, 3.0, 1),
        // M = 43691 is a little above 2^17/3, so −3·M·2^-17 = −1.0000076 floors to −2: buckets
        // shift by less than |acc + b|·2^-K at their negative edges, as the format says.
        (-3, 0, 3.0, -2),
        (1000, 0, 1.0, 127), (-1000, 0, 1.0, -128),  // saturation into 8 bits
    ])
    func hashFloorsAndSaturates(acc: Int64, offset: Int64, width: Double, expected: Int64) {
        let (multiplier, shift) = CTANumerics.reciprocal(ofWidth: width, bits: 16)
        #expect(CTANumerics.hash(acc, offset: offset, multiplier: multiplier, shift: shift, codeBits: 8) == expected)
    }

    @Test func hashCodesOfTokens() {
        // Directions (1, 0) and (1, −1), offsets 0 and 1, w = 2 (M = 32768, K = 16).
        let hash = LocalitySensitiveHash(directions: [[1, 0], [1, -1]], offsets: [0, 1], multiplier: 32768, shift: 16)
        // token (1, 2): floor(1/2) = 0, floor((1 − 2 + 1)/2) = 0; token (−3, 1): floor(−3/2) = −2, floor((−4 + 1)/2) = −2.
        #expect(hash.codes([[1, 2], [-3, 1]], codeBits: 8) == [[0, 0], [-2, -2]])
        // 4-bit positions saturate at 7 and −8.
        #expect(hash.codes([[40, 0], [-40, 0]], codeBits: 4) == [[7, 7], [-8, -8]])
    }

    @Test func averageReciprocalTableRoundsToNearestEven() {
        #expect(CTANumerics.averageReciprocal(count: 1, fractionBits: 16) == 65536)
        #expect(CTANumerics.averageReciprocal(count: 3, fractionBits: 16) == 21845)  // 21845.33
        #expect(CTANumerics.averageReciprocal(count: 7, fractionBits: 16) == 9362)  // 9362.29
        #expect(CTANumerics.averageReciprocal(count: 171, fractionBits: 8) == 1)  // 1.497
        #expect(CTANumerics.averageReciprocal(count: 512, fractionBits: 8) == 0)  // 0.5: the tie goes to even
        #expect(CTANumerics.averageReciprocal(count: 1536, fractionBits: 10) == 1)  // 0.667
    }

    @Test(arguments: [
        (Int64(10), 3, Int64(3)),  // 10·21845 / 2^16 = 3.33
        (-10, 4, -2),  // −2.5: ties to even
        (-14, 4, -4),  // −3.5: ties to even
        (-11, 4, -3),  // −2.75
        (635, 5, 127),  // 635·13107 / 2^16 = 126.9998
        (1000, 1, 127), (-1000, 2, -128),  // saturation
    ])
    func averageRoundsAndSaturates(sum: Int64, count: Int, expected: Int64) {
        #expect(CTANumerics.average(sum: sum, count: count, fractionBits: 16) == expected)
    }

    @Test func centroidsAndResiduals() {
        let rows: [[Int64]] = [[1, 2], [3, 4], [5, -6], [2, 2]]
        let table = ClusterIndex.Table(ids: [0, 1, 0, 1], count: 2, overflowToken: nil)
        let (sums, counts) = CentroidAggregation.sums(rows, table: table)
        #expect(sums == [[6, -4], [5, 6]] && counts == [2, 2])
        // (6, −4)/2 = (3, −2); (5, 6)/2 = (2.5, 3) → (2, 3), the tie to even.
        let centroids = CentroidAggregation.centroids(rows, table: table, fractionBits: 16)
        #expect(centroids == [[3, -2], [2, 3]])
        #expect(CentroidAggregation.residuals(rows, centroids: centroids, table: table) == [[-2, 4], [1, 1], [2, -4], [0, -1]])
        #expect(CTANumerics.residual(127, centroid: -128) == 127 && CTANumerics.residual(-128, centroid: 127) == -128)
    }

    @Test func exponentialTable() {
        // P = 7, four entries: 2^7, 2^7.25 = 152.22, 2^7.5 = 181.02, 2^7.75 = 215.27.
        let table = CTANumerics.expTable(entries: 4, entryBits: 8)
        #expect(table == [128, 152, 181, 215])
        #expect(CTANumerics.exp(0, table: table) == 128)
        #expect(CTANumerics.exp(-1, table: table) == 108)  // u = −1 = −4 + 3: 215 / 2 = 107.5 → 108 (even)
        #expect(CTANumerics.exp(-4, table: table) == 64)
        #expect(CTANumerics.exp(-5, table: table) == 54)  // 215 / 4 = 53.75
        #expect(CTANumerics.exp(-6, table: table) == 45)  // 181 / 4 = 45.25
        #expect(CTANumerics.exp(-100, table: table) == 0)
        #expect(CTANumerics.exp(-(1 << 40), table: table) == 0)
        // The default table: 256 entries of 16 bits, all in [2^15, 2^16); the last is 2^(15 + 255/256) = 65358.79.
        let full = CTANumerics.expTable(entries: 256, entryBits: 16)
        #expect(full.first == 32768 && full.last == 65359 && full.allSatisfy { (32768 ..< 65536).contains($0) })
        // e ≤ 2^P for every exponent (the bound behind the AP accumulator width), and e never
        // grows as u falls.
        let values = (-(20 * 256) ... 0).map { CTANumerics.exp(Int64($0), table: full) }
        #expect(values.allSatisfy { $0 <= 32768 } && zip(values, values.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func exponentFromScores() {
        #expect(CTANumerics.exponent(-10, factor: 0.5) == -5)
        #expect(CTANumerics.exponent(-3, factor: 0.5) == -2)  // −1.5 → −2 (ties to even)
        #expect(CTANumerics.exponent(-5, factor: 0.5) == -2)  // −2.5 → −2
        #expect(CTANumerics.exponent(-(1 << 33), factor: 1) == -(1 << 31))  // saturates into int32
    }

    @Test func rowBoundAddsTheMaximaOfBothLevels() {
        #expect(CTANumerics.rowBound([3, 7, -2, 5, 1], levelOneClusters: 2) == 12)
        #expect(CTANumerics.rowBound([-3, -7, -2], levelOneClusters: 2) == -5)
    }

    @Test func probabilityHalvesAndOutput() {
        #expect(CTANumerics.quantizeProbabilities([0, 25, 100]) == [0, 32, 127])  // 25·1.27 = 31.75
        #expect(CTANumerics.quantizeProbabilities([0, 0]) == [0, 0])
        #expect(CTANumerics.outputFactor(maximum: 127, denominator: 2, outputScale: 1) == 0.5)
        #expect(CTANumerics.outputFactor(maximum: 127, denominator: 0, outputScale: 1) == 0)
        #expect(CTANumerics.normalizedOutput(levelOne: 10, factor: 0.5, levelTwo: 3, factor: 0.5) == 6)  // 6.5 → 6
        #expect(CTANumerics.normalizedOutput(levelOne: 10, factor: 0.5, levelTwo: 5, factor: 0.5) == 8)  // 7.5 → 8
        #expect(CTANumerics.normalizedOutput(levelOne: 300, factor: 0.5, levelTwo: 3, factor: 0.5) == 127)
        #expect(CTANumerics.normalizedOutput(levelOne: -300, factor: 0.5, levelTwo: 0, factor: 0) == -128)
    }
}

@Suite("Golden model: CTA probability aggregation")
struct CTAProbabilityAggregationTests {
    /// The loop of docs/CTA.md written out one iteration at a time, with its own row bound.
    static func naive(scores: [[Int64]], levelOne: [Int], k1: Int, levelTwo: [Int], factor: Float, table: [Int64]) -> [[Int64]] {
        scores.map { row in
            var bound1 = Int64.min, bound2 = Int64.min
            for (j, s) in row.enumerated() {
                if j < k1 { bound1 = max(bound1, s) } else { bound2 = max(bound2, s) }
            }
            var ap = Array(repeating: Int64(0), count: row.count)
            for j in levelOne.indices {
                let x1 = levelOne[j], x2 = k1 + levelTwo[j]
                let e = CTANumerics.exp(CTANumerics.exponent(row[x1] + row[x2] - bound1 - bound2, factor: factor), table: table)
                ap[x1] += e
                ap[x2] += e
            }
            return ap
        }
    }

    static func table(_ ids: [Int]) -> ClusterIndex.Table {
        ClusterIndex.Table(ids: ids, count: (ids.max() ?? -1) + 1, overflowToken: nil)
    }

    @Test func oneClusterPerLevelByHand() {
        // Three tokens, all in cluster 0 of both levels, scores 0: every e = 2^15, merged in pairs.
        let table = CTANumerics.expTable(entries: 256, entryBits: 16)
        let ap = ProbabilityAggregation(scores: [[0, 0]], levelOne: Self.table([0, 0, 0]), levelTwo: Self.table([0, 0, 0]),
                                        exponentFactor: 1, expTable: table, tiles: 8)
        #expect(ap.rows == [[3 * 32768, 3 * 32768]])
        #expect(ap.denominators == [3 * 32768])
        #expect(ap.cycles == 2)  // one row group, ⌈3/2⌉ pairs
    }

    @Test func distinctTokensByHand() {
        // k1 = 2 (tokens 0, 1), one level-2 cluster; scores (0, −4 | 4) with λ = 64 (F_e = 8: a
        // score unit is a quarter of a bit). Bound 0 + 4: token 0 → u = 0 → 2^15; token 1 → u = −256
        // → one bit lower, 2^14.
        let table = CTANumerics.expTable(entries: 256, entryBits: 16)
        let ap = ProbabilityAggregation(scores: [[0, -4, 4]], levelOne: Self.table([0, 1]), levelTwo: Self.table([0, 0]),
                                        exponentFactor: 64, expTable: table, tiles: 1)
        #expect(ap.rows == [[32768, 16384, 49152]])
        #expect(ap.denominators == [49152])
    }

    @Test func equalsTheSequentialLoopOnRandomInputs() {
        var generator = SeededGenerator(seed: SeededGenerator.testSeed(1301))
        let table = CTANumerics.expTable(entries: 256, entryBits: 16)
        for (k0, n, k1, k2, tiles) in [(40, 301, 37, 9, 8), (13, 1000, 3, 2, 3), (5, 2048, 200, 1, 1)] {
            // Few clusters make consecutive tokens hit the same entries (the merge); many make them miss.
            let levelOne = (0 ..< n).map { $0 < k1 ? $0 : Int.random(in: 0 ..< k1, using: &generator) }
            let levelTwo = (0 ..< n).map { $0 < k2 ? $0 : Int.random(in: 0 ..< k2, using: &generator) }
            let scores = (0 ..< k0).map { _ in (0 ..< k1 + k2).map { _ in Int64.random(in: -3000 ... 3000, using: &generator) } }
            let factor = Float.random(in: 0.5 ... 20, using: &generator)
            let ap = ProbabilityAggregation(scores: scores, levelOne: Self.table(levelOne), levelTwo: Self.table(levelTwo),
                                            exponentFactor: factor, expTable: table, tiles: tiles)
            let expected = Self.naive(scores: scores, levelOne: levelOne, k1: k1, levelTwo: levelTwo, factor: factor, table: table)
            #expect(k0 * n >= 10_000)
            #expect(ap.rows == expected, "seed \(generator.seed), k0 \(k0), n \(n)")
            #expect(ap.denominators == expected.map { $0.reduce(0, +) / 2 })
            #expect(expected.allSatisfy { $0.reduce(0, +) % 2 == 0 })  // each e lands twice
            #expect(ap.cycles == (k0 + tiles - 1) / tiles * ((n + 1) / 2))
        }
    }

    @Test func shiftingARowChangesNothing() {
        var generator = SeededGenerator(seed: SeededGenerator.testSeed(1302))
        let table = CTANumerics.expTable(entries: 256, entryBits: 16)
        let n = 97, k1 = 11, k2 = 4
        let levelOne = Self.table((0 ..< n).map { $0 < k1 ? $0 : Int.random(in: 0 ..< k1, using: &generator) })
        let levelTwo = Self.table((0 ..< n).map { $0 < k2 ? $0 : Int.random(in: 0 ..< k2, using: &generator) })
        let scores = (0 ..< 6).map { _ in (0 ..< k1 + k2).map { _ in Int64.random(in: -500 ... 500, using: &generator) } }
        let reference = ProbabilityAggregation(scores: scores, levelOne: levelOne, levelTwo: levelTwo, exponentFactor: 9, expTable: table, tiles: 2)
        for shift: Int64 in [-100_000, -7, 1, 12_345] {
            // The whole row shifted, and only its level-1 half: the bound moves with the sums.
            let whole = scores.map { $0.map { $0 + shift } }
            let levelOneOnly = scores.map { row in row.enumerated().map { $0.offset < k1 ? $0.element + shift : $0.element } }
            for shifted in [whole, levelOneOnly] {
                let ap = ProbabilityAggregation(scores: shifted, levelOne: levelOne, levelTwo: levelTwo, exponentFactor: 9, expTable: table, tiles: 2)
                #expect(ap.rows == reference.rows, "shift \(shift)")
            }
        }
    }
}

@Suite("Golden model: CTA attention of one head")
struct CTAAttentionTests {
    static let unitScales = CTAAttention.Scales(query: 1, key: 1, value: 1, exponent: 1, output: 1)

    /// An identity linear of `width` columns with `bias`.
    static func identity(_ width: Int, bias: [Int64]) -> CTAAttention.Linear {
        CTAAttention.Linear(weights: (0 ..< width).map { r in (0 ..< width).map { $0 == r ? 1 : 0 } }, bias: bias)
    }

    /// A hash that maps every token to code 0 (a zero direction).
    static func oneBucket(width: Int) -> LocalitySensitiveHash {
        LocalitySensitiveHash(directions: [Array(repeating: 0, count: width)], offsets: [0], multiplier: 1, shift: 0)
    }

    /// A hash whose code is the token itself (unit directions, w = 1 accumulator unit).
    static func everyTokenItsOwn(width: Int) -> LocalitySensitiveHash {
        LocalitySensitiveHash(directions: (0 ..< width).map { r in (0 ..< width).map { $0 == r ? 1 : 0 } },
                              offsets: Array(repeating: 0, count: width), multiplier: 32768, shift: 15)
    }

    @Test func allTokensInOneClusterByHand() throws {
        // Mean (5, 7); residuals (∓3, ∓3), (∓1, ∓1) average to 0. V̄ = C¹·I + (1, −1) = (6, 6) and
        // C²·I = (0, 0): one key, so every output row is V̄₁ + V̄₂ = (6, 6).
        let tokens: [[Int64]] = [[2, 4], [4, 6], [6, 8], [8, 10]]
        let hash = Self.oneBucket(width: 2)
        let result = try CTAAttention.run(tokens: tokens, hashes: [hash, hash, hash], query: Self.identity(2, bias: [0, 0]),
                                          key: Self.identity(2, bias: [0, 0]), value: Self.identity(2, bias: [1, -1]),
                                          scales: Self.unitScales, parameters: CTAParameters())
        #expect(result.clusterCounts == [1, 1, 1])
        #expect(result.output == Array(repeating: [6, 6], count: 4))
    }

    @Test func overflowIsTheNamedError() {
        let tokens: [[Int64]] = [[1, 0], [2, 0], [3, 0], [1, 0]]
        let hash = Self.everyTokenItsOwn(width: 2)
        #expect(throws: CTAClusterOverflow(level: 0, token: 2, maximumClusters: 2)) {
            try CTAAttention.run(tokens: tokens, hashes: [hash, hash, hash], query: Self.identity(2, bias: [0, 0]),
                                 key: Self.identity(2, bias: [0, 0]), value: Self.identity(2, bias: [0, 0]),
                                 scales: Self.unitScales, parameters: CTAParameters(maxClusters: 2))
        }
        #expect("\(CTAClusterOverflow(level: 1, token: 9, maximumClusters: 8))".contains("fix: raise cta.maxClusters"))
    }

    /// Random int8 tokens (n not a multiple of any DIM: 23) and weights; every token its own cluster.
    struct RandomHead {
        var tokens: [[Int64]], wq: [[Int64]], wk: [[Int64]], wv: [[Int64]], bias: [[Int64]]
        init(seed: UInt64, n: Int = 23, width: Int = 8, head: Int = 4) {
            var generator = SeededGenerator(seed: seed)
            func matrix(_ rows: Int, _ columns: Int, _ range: ClosedRange<Int64>) -> [[Int64]] {
                (0 ..< rows).map { _ in (0 ..< columns).map { _ in Int64.random(in: range, using: &generator) } }
            }
            tokens = matrix(n, width, -60 ... 60)
            wq = matrix(head, width, -127 ... 127); wk = matrix(head, width, -127 ... 127); wv = matrix(head, width, -127 ... 127)
            bias = matrix(3, head, -2000 ... 2000)
        }
        /// x·Wᵀ + b in Double, computed here from the integers.
        func project(_ w: [[Int64]], _ b: [Int64]) -> [[Double]] {
            tokens.map { x in w.indices.map { o in Double(b[o]) + zip(x, w[o]).reduce(0.0) { $0 + Double($1.0 * $1.1) } } }
        }
    }

    @Test func distinctTokensApproximateExactAttention() throws {
        let head = RandomHead(seed: 1303)
        let q = head.project(head.wq, head.bias[0]), k = head.project(head.wk, head.bias[1]), v = head.project(head.wv, head.bias[2])
        let exact = FloatAttention.exact(queries: q, keys: k, values: v)
        // int8 units of Q, K, V and the output from their ranges; σ = unit(Q)·unit(K)/√d.
        func unit(_ m: [[Double]]) -> Double { m.flatMap { $0 }.map(abs).max()! / 127 }
        let (uq, uk, uv, uo) = (unit(q), unit(k), unit(v), unit(exact))
        let parameters = CTAParameters()
        let scales = CTAAttention.Scales(query: Float(1 / uq), key: Float(1 / uk), value: Float(1 / uv),
                                         exponent: Float(uq * uk / 2 * log2(M_E) * Double(parameters.expTableEntries)),
                                         output: Float(uv / uo))
        let hash = Self.everyTokenItsOwn(width: 8)
        let result = try CTAAttention.run(tokens: head.tokens, hashes: [hash, hash, hash],
                                          query: CTAAttention.Linear(weights: head.wq, bias: head.bias[0]),
                                          key: CTAAttention.Linear(weights: head.wk, bias: head.bias[1]),
                                          value: CTAAttention.Linear(weights: head.wv, bias: head.bias[2]),
                                          scales: scales, parameters: parameters)
        #expect(result.clusterCounts == [23, 23, 1])  // residuals are all zero: one level-2 cluster
        let output = result.output.map { $0.map { Double($0) * uo } }
        let error = FloatAttention.relativeError(output, reference: exact)
        #expect(error < 0.03, "relative error \(error)")
    }

    @Test func floatCTAWithDistinctTokensIsExactAttention() {
        let head = RandomHead(seed: 1304)
        let x = head.tokens.map { $0.map(Double.init) }
        func linear(_ w: [[Int64]], _ b: [Int64]) -> FloatAttention.Linear {
            FloatAttention.Linear(weights: w.map { $0.map(Double.init) }, bias: b.map(Double.init))
        }
        let exact = FloatAttention.exact(queries: head.project(head.wq, head.bias[0]), keys: head.project(head.wk, head.bias[1]),
                                         values: head.project(head.wv, head.bias[2]))
        let directions = (0 ..< 8).map { r in (0 ..< 8).map { $0 == r ? 1.0 : 0.5 } }
        let hash = FloatAttention.Hash(directions: directions, offsets: Array(repeating: 0.25, count: 8), width: 1e-3)
        let result = FloatAttention.cta(tokens: x, hashes: [hash, hash, hash], query: linear(head.wq, head.bias[0]),
                                        key: linear(head.wk, head.bias[1]), value: linear(head.wv, head.bias[2]))
        #expect(result.tables.map(\.count) == [23, 23, 1])
        #expect(FloatAttention.relativeError(result.output, reference: exact) < 1e-12)
    }

    @Test func floatCTAWithOneClusterAveragesTheTokens() {
        // One cluster per level: the query is the mean token and the single key gets all the weight,
        // so every output row is the projection of the mean token (the level-2 mean is zero).
        let x: [[Double]] = [[1, 2], [3, -2], [5, 3]]
        let hash = FloatAttention.Hash(directions: [[0, 0]], offsets: [0.5], width: 1)
        let linear = FloatAttention.Linear(weights: [[1, 0], [1, 1]], bias: [0.5, 0])
        let result = FloatAttention.cta(tokens: x, hashes: [hash, hash, hash], query: linear, key: linear, value: linear)
        // mean (3, 1): V̄₁ = (3.5, 4), V̄₂ = (0, 0).
        for row in result.output {
            #expect(abs(row[0] - 3.5) < 1e-12 && abs(row[1] - 4) < 1e-12)
        }
    }
}

/// The whole integer head against a second implementation written from docs/NUMERICS.md with
/// other means: plain loops, a linear search for codes, floors and roundings in Double (exact at
/// these magnitudes) instead of shifts.
@Suite("Golden model: CTA attention against a naive implementation")
struct CTANaiveAttentionTests {
    static func rne(_ x: Double) -> Int64 { Int64(x.rounded(.toNearestOrEven)) }
    static func clamp(_ x: Int64, _ bits: Int) -> Int64 { min(max(x, -(1 << (bits - 1))), (1 << (bits - 1)) - 1) }
    static func store(_ acc: Int64, _ s: Float) -> Int64 { clamp(Int64((Float(acc) * s).rounded(.toNearestOrEven)), 8) }

    static func naive(tokens: [[Int64]], hashes: [LocalitySensitiveHash], query: CTAAttention.Linear, key: CTAAttention.Linear,
                      value: CTAAttention.Linear, scales: CTAAttention.Scales) -> (output: [[Int64]], counts: [Int]) {
        func cluster(_ rows: [[Int64]], _ hash: LocalitySensitiveHash) -> (ids: [Int], centroids: [[Int64]]) {
            var seen: [[Int64]] = [], ids: [Int] = []
            for x in rows {
                let code = hash.directions.indices.map { i -> Int64 in
                    let acc = zip(hash.directions[i], x).reduce(Int64(0)) { $0 + $1.0 * $1.1 }
                    let real = Double((acc + hash.offsets[i]) * hash.multiplier) / Double(sign: .plus, exponent: hash.shift, significand: 1)
                    return clamp(Int64(real.rounded(.down)), 8)
                }
                if let id = seen.firstIndex(of: code) { ids.append(id) } else { ids.append(seen.count); seen.append(code) }
            }
            let centroids = seen.indices.map { c -> [Int64] in
                let members = rows.indices.filter { ids[$0] == c }
                let reciprocal = rne(65536 / Double(members.count))
                return rows[0].indices.map { column in
                    let sum = members.reduce(Int64(0)) { $0 + rows[$1][column] }
                    return clamp(rne(Double(sum * reciprocal) / 65536), 8)
                }
            }
            return (ids, centroids)
        }
        func linear(_ rows: [[Int64]], _ l: CTAAttention.Linear, bias: Bool, _ s: Float) -> [[Int64]] {
            rows.map { x in l.weights.indices.map { o in store(zip(l.weights[o], x).reduce(bias ? l.bias[o] : 0) { $0 + $1.0 * $1.1 }, s) } }
        }
        let (ids0, c0) = cluster(tokens, hashes[0])
        let (ids1, c1) = cluster(tokens, hashes[1])
        let residuals = tokens.indices.map { i in tokens[i].indices.map { clamp(tokens[i][$0] - c1[ids1[i]][$0], 8) } }
        let (ids2, c2) = cluster(residuals, hashes[2])
        let q = linear(c0, query, bias: true, scales.query)
        let k = linear(c1, key, bias: true, scales.key) + linear(c2, key, bias: false, scales.key)
        let v = linear(c1, value, bias: true, scales.value) + linear(c2, value, bias: false, scales.value)
        let k1 = c1.count
        let table = (0 ..< 256).map { rne(pow(2, 15 + Double($0) / 256)) }
        let compressed = q.map { qRow -> [Int64] in
            let s = k.map { zip(qRow, $0).reduce(Int64(0)) { $0 + $1.0 * $1.1 } }
            let bound = s[..<k1].max()! + s[k1...].max()!
            var ap = Array(repeating: Int64(0), count: k.count)
            for j in tokens.indices {
                let z = s[ids1[j]] + s[k1 + ids2[j]] - bound
                let u = Int64((Float(z) * scales.exponent).rounded(.toNearestOrEven))
                let integer = Int64((Double(u) / 256).rounded(.down)), fraction = Int(u - integer * 256)
                let e = rne(Double(table[fraction]) / pow(2, Double(-integer)))
                ap[ids1[j]] += e
                ap[k1 + ids2[j]] += e
            }
            let denominator = ap.reduce(0, +) / 2
            let halves = [Array(ap[..<k1]), Array(ap[k1...])]
            let rows = [Array(v[..<k1]), Array(v[k1...])]
            var sums = Array(repeating: Float(0), count: v[0].count)
            for h in 0 ..< 2 {
                let m = halves[h].max()!
                guard m > 0 else { continue }  // a zero half adds nothing
                let p = halves[h].map { store($0, Float(127) / Float(m)) }
                let factor = Float(m) / Float(127 * denominator) * scales.output
                for c in sums.indices {
                    let acc = p.indices.reduce(Int64(0)) { $0 + p[$1] * rows[h][$1][c] }
                    sums[c] += Float(acc) * factor
                }
            }
            return sums.map { clamp(Int64($0.rounded(.toNearestOrEven)), 8) }
        }
        return (ids0.map { compressed[$0] }, [c0.count, c1.count, c2.count])
    }

    @Test func randomHeadsEqualTheNaiveImplementation() throws {
        var generator = SeededGenerator(seed: SeededGenerator.testSeed(1305))
        func matrix(_ rows: Int, _ columns: Int, _ range: ClosedRange<Int64>) -> [[Int64]] {
            (0 ..< rows).map { _ in (0 ..< columns).map { _ in Int64.random(in: range, using: &generator) } }
        }
        var levelTwoClusters = 0
        for _ in 0 ..< 6 {
            let n = Int.random(in: 17 ... 45, using: &generator), width = 12, head = 6
            // Tokens around a few prototypes, so that clusters form on both levels.
            let prototypes = matrix(4, width, -50 ... 50)
            let tokens = (0 ..< n).map { _ in prototypes.randomElement(using: &generator)!.map { $0 + Int64.random(in: -12 ... 12, using: &generator) } }
            let hashes = [8000.0, 8000.0, 3000.0].map { w -> LocalitySensitiveHash in
                let (multiplier, shift) = CTANumerics.reciprocal(ofWidth: w, bits: 16)
                return LocalitySensitiveHash(directions: matrix(3, width, -127 ... 127),
                                             offsets: (0 ..< 3).map { _ in Int64.random(in: 0 ..< Int64(w), using: &generator) },
                                             multiplier: multiplier, shift: shift)
            }
            let linears = (0 ..< 3).map { _ in CTAAttention.Linear(weights: matrix(head, width, -127 ... 127), bias: matrix(1, head, -3000 ... 3000)[0]) }
            let scales = CTAAttention.Scales(query: 1 / 300, key: 1 / 300, value: 1 / 250, exponent: Float.random(in: 0.002 ... 0.05, using: &generator),
                                             output: 0.8)
            let result = try CTAAttention.run(tokens: tokens, hashes: hashes, query: linears[0], key: linears[1], value: linears[2],
                                              scales: scales, parameters: CTAParameters())
            let expected = Self.naive(tokens: tokens, hashes: hashes, query: linears[0], key: linears[1], value: linears[2], scales: scales)
            #expect(result.clusterCounts == expected.counts, "seed \(generator.seed)")
            #expect(result.output == expected.output, "seed \(generator.seed)")
            levelTwoClusters = max(levelTwoClusters, expected.counts[2])
        }
        #expect(levelTwoClusters > 1)  // the second level was exercised
    }
}
