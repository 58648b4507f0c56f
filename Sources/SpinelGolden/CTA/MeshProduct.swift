/// The two operations of the accelerator that CTA's matrix products are made of, as the golden
/// model computes them: a mesh product (int8 × int8, exact sums wrapping in int32; an int32 bias
/// preloaded into the accumulator) and a store to int8 with an fp32 scale (`ACC_SCALE`).
public enum MeshProduct {
    /// `a · bᵀ + bias` in int32: `a` is m × k, `bT` is n × k (B stored by columns, as weights
    /// and key rows are), `bias` (n entries, or empty) is added to every row.
    public static func product(_ a: [[Int64]], transposed bT: [[Int64]], bias: [Int64] = [],
                               accumulatorBits: Int = 32) -> [[Int64]] {
        precondition(bias.isEmpty || bias.count == bT.count, "a bias needs one value per output column")
        return a.map { row in
            bT.indices.map { column in
                var sum = bias.isEmpty ? 0 : bias[column]
                let weights = bT[column]
                precondition(weights.count == row.count, "inner dimensions differ: \(row.count) and \(weights.count)")
                for i in row.indices { sum += row[i] * weights[i] }
                return Numerics.wrap(sum, bits: accumulatorBits)
            }
        }
    }

    /// A store of accumulator rows to int8: `sat8(ACC_SCALE(x, scale))` per element.
    public static func store(_ rows: [[Int64]], scale: Float, bits: Int = 8) -> [[Int64]] {
        rows.map { $0.map { Numerics.scale($0, by: scale, toBits: bits) } }
    }
}
