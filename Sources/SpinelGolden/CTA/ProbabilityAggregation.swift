/// Probability aggregation (docs/CTA.md, "Probability aggregation"), as the PAG unit computes it:
/// `tiles` tiles take compressed query rows q, q + tiles, …; each tile handles two key tokens j, j+1
/// per cycle, with one ADD_EXP per token and a merge unit that combines the (up to four) AP
/// updates of the pair when they hit the same entry, so that each entry is written once per cycle.
public struct ProbabilityAggregation: Sendable {
    /// AP, k0 rows of k1 + k2 entries, each row summing to twice its denominator.
    public var rows: [[Int64]]
    /// Σ_j AP[q][j] / 2 per row (the softmax denominator in table units).
    public var denominators: [Int64]
    /// Cycles of the unit: ⌈k0 / tiles⌉ row groups, ⌈n / 2⌉ cycles each.
    public var cycles: Int

    /// AP from the compressed scores `scores` (k0 rows of k1 + k2 int32 values), the level-1 and
    /// level-2 cluster tables of the n key tokens, the exponent factor λ and the exp table.
    public init(scores: [[Int64]], levelOne: ClusterIndex.Table, levelTwo: ClusterIndex.Table,
                exponentFactor: Float, expTable: [Int64], tiles: Int) {
        precondition(tiles > 0 && levelOne.ids.count == levelTwo.ids.count, "one tile at least, one level-1 and one level-2 id per token")
        precondition(exponentFactor > 0 && exponentFactor.isFinite, "the exponent factor λ must be positive and finite")
        let k1 = levelOne.count, width = levelOne.count + levelTwo.count, n = levelOne.ids.count
        rows = Array(repeating: Array(repeating: 0, count: width), count: scores.count)
        for group in stride(from: 0, to: scores.count, by: tiles) {
            for q in group ..< min(group + tiles, scores.count) {  // the tiles run side by side
                let row = scores[q]
                precondition(row.count == width, "score row \(q) has \(row.count) entries, not k1 + k2 = \(width)")
                let bound = CTANumerics.rowBound(row, levelOneClusters: k1)
                for pair in stride(from: 0, to: n, by: 2) {
                    // Both tokens' ADD_EXP, then the merge: equal addresses add before the write.
                    var updates: [(entry: Int, value: Int64)] = []
                    for j in pair ..< min(pair + 2, n) {
                        let x1 = levelOne.ids[j], x2 = k1 + levelTwo.ids[j]
                        let e = CTANumerics.exp(CTANumerics.exponent(row[x1] + row[x2] - bound, factor: exponentFactor), table: expTable)
                        for entry in [x1, x2] {
                            if let same = updates.firstIndex(where: { $0.entry == entry }) {
                                updates[same].value += e
                            } else {
                                updates.append((entry, e))
                            }
                        }
                    }
                    for update in updates { rows[q][update.entry] += update.value }
                }
            }
        }
        denominators = rows.map { $0.reduce(0, +) / 2 }
        cycles = (scores.count + tiles - 1) / tiles * ((n + 1) / 2)
    }
}
