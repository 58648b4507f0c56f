/// Centroid aggregation (docs/CTA.md, "Centroids"): the rows of each cluster summed in int32,
/// counted, and averaged by the reciprocal table of cluster sizes (`CTANumerics.average`).
public enum CentroidAggregation {
    /// The per-cluster sums (int32; n int8 rows cannot overflow) and counts of `rows` under `table`.
    public static func sums(_ rows: [[Int64]], table: ClusterIndex.Table) -> (sums: [[Int64]], counts: [Int]) {
        precondition(table.overflowToken == nil && table.ids.count == rows.count, "centroids need a complete cluster table")
        let width = rows.first?.count ?? 0
        var sums = Array(repeating: Array(repeating: Int64(0), count: width), count: table.count)
        var counts = Array(repeating: 0, count: table.count)
        for (row, id) in zip(rows, table.ids) {
            counts[id] += 1
            for c in row.indices { sums[id][c] += row[c] }
        }
        return (sums, counts)
    }

    /// The int8 centroids: every sum averaged with F_c = `fractionBits`.
    public static func centroids(_ rows: [[Int64]], table: ClusterIndex.Table, fractionBits: Int) -> [[Int64]] {
        let (sums, counts) = sums(rows, table: table)
        return zip(sums, counts).map { sum, count in
            sum.map { CTANumerics.average(sum: $0, count: count, fractionBits: fractionBits) }
        }
    }

    /// Level-2 input: every row minus its level-1 centroid, saturated to int8.
    public static func residuals(_ rows: [[Int64]], centroids: [[Int64]], table: ClusterIndex.Table) -> [[Int64]] {
        zip(rows, table.ids).map { row, id in
            zip(row, centroids[id]).map { CTANumerics.residual($0, centroid: $1) }
        }
    }
}
