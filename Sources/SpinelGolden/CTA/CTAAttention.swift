import SpinelISA

/// A cluster level that found no free cluster: the named error of the cluster index module.
public struct CTAClusterOverflow: Error, Hashable, CustomStringConvertible {
    /// 0 for the queries, 1 and 2 for the key/value levels.
    public var level: Int
    public var token: Int
    public var maximumClusters: Int

    public init(level: Int, token: Int, maximumClusters: Int) {
        self.level = level
        self.token = token
        self.maximumClusters = maximumClusters
    }

    public var description: String {
        "cluster overflow at level \(level): token \(token) needed cluster \(maximumClusters + 1) of at most \(maximumClusters)"
            + "\n  fix: raise cta.maxClusters (at most maxTokens), or widen the bucket width w of that level's hash"
    }
}

/// One head of compressed-token attention in integers (docs/CTA.md; every format in
/// docs/NUMERICS.md, "Compressed-token attention"): hash, cluster, aggregate, run the three
/// linears and the scores on the mesh, aggregate probabilities, normalize and gather.
public enum CTAAttention {
    /// A head's linear: d rows of d_w int8 weights (Wᵀ, one row per output column) and d int32
    /// biases in accumulator units (preloaded into the accumulator).
    public struct Linear: Hashable, Sendable {
        public var weights: [[Int64]]
        public var bias: [Int64]

        public init(weights: [[Int64]], bias: [Int64]) {
            precondition(weights.count == bias.count, "one bias per output column")
            self.weights = weights
            self.bias = bias
        }
    }

    /// The fp32 factors software computes from the quantization units.
    public struct Scales: Hashable, Sendable {
        /// Store scales of Q̄, K̄ and V̄ (accumulator units to their int8 units).
        public var query: Float, key: Float, value: Float
        /// λ = σ·log2(e)·2^F_e, σ the real unit of one int32 score (unit(Q̄)·unit(K̄)/√d).
        public var exponent: Float
        /// unit(V̄) / unit(output): the store scale of the normalized output rows.
        public var output: Float

        public init(query: Float, key: Float, value: Float, exponent: Float, output: Float) {
            self.query = query; self.key = key; self.value = value; self.exponent = exponent; self.output = output
        }
    }

    /// What one head produced, with the intermediate values the units would write.
    public struct Result: Sendable {
        /// n rows of d int8 values: O[i] = Ō[CT0[i]].
        public var output: [[Int64]]
        /// CT0 (queries), CT1 and CT2 (keys and values).
        public var tables: [ClusterIndex.Table]
        /// Ō before the gather (k0 rows).
        public var compressedOutput: [[Int64]]
        public var probabilities: ProbabilityAggregation

        public var clusterCounts: [Int] { tables.map(\.count) }
    }

    /// Cluster tables CT0, CT1, CT2 and the centroids C⁰, C¹, C² of `tokens` (self-attention: the
    /// queries and the keys/values are the same n tokens). Throws on a cluster overflow.
    public static func cluster(_ tokens: [[Int64]], hashes: [LocalitySensitiveHash], parameters: CTAParameters) throws
        -> (tables: [ClusterIndex.Table], centroids: [[[Int64]]]) {
        precondition(hashes.count == 3, "three LSH instances: queries, keys/values level 1 and level 2")
        func level(_ index: Int, _ rows: [[Int64]]) throws -> (ClusterIndex.Table, [[Int64]]) {
            let table = ClusterIndex.assign(codes: hashes[index].codes(rows, codeBits: parameters.hashCodeBits),
                                            maximumClusters: parameters.maxClusters)
            if let token = table.overflowToken {
                throw CTAClusterOverflow(level: index, token: token, maximumClusters: parameters.maxClusters)
            }
            return (table, CentroidAggregation.centroids(rows, table: table, fractionBits: parameters.averageFractionBits))
        }
        let (table0, centroids0) = try level(0, tokens)
        let (table1, centroids1) = try level(1, tokens)
        let residuals = CentroidAggregation.residuals(tokens, centroids: centroids1, table: table1)
        let (table2, centroids2) = try level(2, residuals)
        return ([table0, table1, table2], [centroids0, centroids1, centroids2])
    }

    /// One head on n tokens of d_w int8 values.
    public static func run(tokens: [[Int64]], hashes: [LocalitySensitiveHash], query: Linear, key: Linear, value: Linear,
                           scales: Scales, parameters: CTAParameters) throws -> Result {
        precondition(tokens.count <= parameters.maxTokens, "\(tokens.count) tokens exceed cta.maxTokens (\(parameters.maxTokens))")
        let (tables, centroids) = try cluster(tokens, hashes: hashes, parameters: parameters)
        // Linears on the compressed tokens: the biases belong to the level-1 rows only, since a
        // key/value is approximated by C¹[CT1] + C²[CT2] and must get its bias once.
        let compressedQueries = MeshProduct.store(MeshProduct.product(centroids[0], transposed: query.weights, bias: query.bias),
                                                  scale: scales.query)
        func keyValue(_ linear: Linear, scale: Float) -> [[Int64]] {
            MeshProduct.store(MeshProduct.product(centroids[1], transposed: linear.weights, bias: linear.bias), scale: scale)
                + MeshProduct.store(MeshProduct.product(centroids[2], transposed: linear.weights), scale: scale)
        }
        let compressedKeys = keyValue(key, scale: scales.key)
        let compressedValues = keyValue(value, scale: scales.value)
        let scores = MeshProduct.product(compressedQueries, transposed: compressedKeys)
        let expTable = CTANumerics.expTable(entries: parameters.expTableEntries, entryBits: parameters.expTableBits)
        let probabilities = ProbabilityAggregation(scores: scores, levelOne: tables[1], levelTwo: tables[2],
                                                   exponentFactor: scales.exponent, expTable: expTable, tiles: parameters.pagTiles)
        // Ō = AP·V̄ on the mesh as two products, AP's level-1 and level-2 halves in int8 with
        // their own scales; the store adds them and divides by the row's denominator.
        let k1 = tables[1].count
        let valuesOne = transpose(Array(compressedValues[..<k1])), valuesTwo = transpose(Array(compressedValues[k1...]))
        var compressedOutput: [[Int64]] = []
        for (row, denominator) in zip(probabilities.rows, probabilities.denominators) {
            let halves = [row[..<k1], row[k1...]]
            let products = [MeshProduct.product([CTANumerics.quantizeProbabilities(halves[0])], transposed: valuesOne)[0],
                            MeshProduct.product([CTANumerics.quantizeProbabilities(halves[1])], transposed: valuesTwo)[0]]
            let factors = halves.map { CTANumerics.outputFactor(maximum: $0.max() ?? 0, denominator: denominator, outputScale: scales.output) }
            compressedOutput.append(zip(products[0], products[1]).map {
                CTANumerics.normalizedOutput(levelOne: $0, factor: factors[0], levelTwo: $1, factor: factors[1])
            })
        }
        let output = tables[0].ids.map { compressedOutput[$0] }
        return Result(output: output, tables: tables, compressedOutput: compressedOutput, probabilities: probabilities)
    }

    static func transpose(_ rows: [[Int64]]) -> [[Int64]] {
        guard let width = rows.first?.count else { return [] }
        return (0 ..< width).map { c in rows.map { $0[c] } }
    }
}
