import Foundation

/// Float references for compressed-token attention (docs/CTA.md, "Float references"), in Double:
/// exact attention of one head, and the same CTA algorithm as `CTAAttention` without any
/// quantization, so that a measurement can separate the error of clustering from the error of
/// the integer formats.
public enum FloatAttention {
    /// A head's linear in float: d rows of d_w weights (Wᵀ) and d biases.
    public struct Linear: Sendable {
        public var weights: [[Double]]
        public var bias: [Double]

        public init(weights: [[Double]], bias: [Double]) {
            precondition(weights.count == bias.count, "one bias per output column")
            self.weights = weights
            self.bias = bias
        }

        /// `x·W + b` for every row of x; `withBias: false` leaves b out.
        public func apply(_ x: [[Double]], withBias: Bool = true) -> [[Double]] {
            x.map { row in
                weights.indices.map { o in
                    var sum = withBias ? bias[o] : 0
                    let w = weights[o]
                    for i in row.indices { sum += row[i] * w[i] }
                    return sum
                }
            }
        }
    }

    /// One LSH instance in float: H = floor((A·x + b) / w).
    public struct Hash: Sendable {
        public var directions: [[Double]]
        public var offsets: [Double]
        public var width: Double

        public init(directions: [[Double]], offsets: [Double], width: Double) {
            precondition(directions.count == offsets.count && width > 0, "one offset per direction and a positive width")
            self.directions = directions
            self.offsets = offsets
            self.width = width
        }

        public func codes(_ tokens: [[Double]]) -> [[Int]] {
            tokens.map { x in
                directions.indices.map { i in
                    var dot = offsets[i]
                    for c in x.indices { dot += directions[i][c] * x[c] }
                    return Int(exactly: (dot / width).rounded(.down)) ?? (dot > 0 ? Int.max : Int.min)
                }
            }
        }
    }

    /// softmax(Q·Kᵀ/√d)·V, Q, K, V of n rows of d values each.
    public static func exact(queries: [[Double]], keys: [[Double]], values: [[Double]]) -> [[Double]] {
        let scale = 1 / Double(queries.first?.count ?? 1).squareRoot()
        return queries.map { q in
            let scores = keys.map { k in zip(q, k).reduce(0) { $0 + $1.0 * $1.1 } * scale }
            let maximum = scores.max() ?? 0
            let weights = scores.map { Foundation.exp($0 - maximum) }
            let sum = weights.reduce(0, +)
            var output = Array(repeating: 0.0, count: values.first?.count ?? 0)
            for (weight, v) in zip(weights, values) {
                for c in output.indices { output[c] += weight / sum * v[c] }
            }
            return output
        }
    }

    /// The means of the rows of each cluster.
    public static func centroids(_ rows: [[Double]], table: ClusterIndex.Table) -> [[Double]] {
        let width = rows.first?.count ?? 0
        var sums = Array(repeating: Array(repeating: 0.0, count: width), count: table.count)
        var counts = Array(repeating: 0, count: table.count)
        for (row, id) in zip(rows, table.ids) {
            counts[id] += 1
            for c in row.indices { sums[id][c] += row[c] }
        }
        return zip(sums, counts).map { sum, count in sum.map { $0 / Double(count) } }
    }

    /// What the float CTA produced.
    public struct CTAResult: Sendable {
        public var output: [[Double]]
        public var tables: [ClusterIndex.Table]
    }

    /// CTA of one head in float with the hashes `hashes` (queries, level 1, level 2) and no
    /// cluster limit: the steps of `CTAAttention.run` with exact means, exact exponentials and an
    /// exact row maximum.
    public static func cta(tokens: [[Double]], hashes: [Hash], query: Linear, key: Linear, value: Linear) -> CTAResult {
        precondition(hashes.count == 3, "three LSH instances: queries, keys/values level 1 and level 2")
        let unlimited = max(tokens.count, 1)
        let table0 = ClusterIndex.assign(codes: hashes[0].codes(tokens), maximumClusters: unlimited)
        let table1 = ClusterIndex.assign(codes: hashes[1].codes(tokens), maximumClusters: unlimited)
        let centroids0 = centroids(tokens, table: table0), centroids1 = centroids(tokens, table: table1)
        let residuals = zip(tokens, table1.ids).map { x, id in zip(x, centroids1[id]).map { $0 - $1 } }
        let table2 = ClusterIndex.assign(codes: hashes[2].codes(residuals), maximumClusters: unlimited)
        let centroids2 = centroids(residuals, table: table2)
        let q = query.apply(centroids0)
        let k = key.apply(centroids1) + key.apply(centroids2, withBias: false)
        let v = value.apply(centroids1) + value.apply(centroids2, withBias: false)
        let scale = 1 / Double(q.first?.count ?? 1).squareRoot()
        let k1 = table1.count
        let compressed: [[Double]] = q.map { row in
            let scores = k.map { key in zip(row, key).reduce(0) { $0 + $1.0 * $1.1 } * scale }
            let sums = zip(table1.ids, table2.ids).map { scores[$0] + scores[k1 + $1] }
            let maximum = sums.max() ?? 0
            var probabilities = Array(repeating: 0.0, count: k.count)
            for (j, sum) in sums.enumerated() {
                let e = Foundation.exp(sum - maximum)
                probabilities[table1.ids[j]] += e
                probabilities[k1 + table2.ids[j]] += e
            }
            let denominator = probabilities.reduce(0, +) / 2
            var output = Array(repeating: 0.0, count: v.first?.count ?? 0)
            for (p, valueRow) in zip(probabilities, v) where p != 0 {
                for c in output.indices { output[c] += p * valueRow[c] }
            }
            return output.map { $0 / denominator }
        }
        return CTAResult(output: table0.ids.map { compressed[$0] }, tables: [table0, table1, table2])
    }

    /// ‖a − b‖ / ‖b‖ over all elements (Frobenius norms).
    public static func relativeError(_ a: [[Double]], reference b: [[Double]]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            for (u, v) in zip(x, y) {
                difference += (u - v) * (u - v)
                norm += v * v
            }
        }
        return norm == 0 ? difference.squareRoot() : (difference / norm).squareRoot()
    }
}
