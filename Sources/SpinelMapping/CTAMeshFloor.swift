import SpinelAccelerator
import SpinelGolden

/// The fewest cycles any mapping of a CTA layer can take on an accelerator's mesh through
/// LOOP_WS (docs/CTA.md, "The mesh floor"): the layer's matrix products alone, with every other
/// stage free. Each product runs as `tiled_matmul_auto` maps it, all of them back to back
/// without a fence, and none of them moves its result out (as if every consumer read it where it
/// lies); hashing, clustering, aggregation, probability aggregation and the gather take no cycle.
/// A real mapping does all of that as well, so its layer cannot be faster than this floor, and
/// the floor over the MAC bound is the best ratio the mesh allows.
///
/// The products are those of `CTAStudy.compressedMACs`, in the most favourable shapes: levels 0
/// and 1 hashed in one product of 2l columns, the three linears of all heads at once (Q̄ over
/// k0 rows, K̄ and V̄ over k1 + k2 rows, all heads' columns), then per head the scores
/// (k0 × (k1 + k2) over the head's columns) and the output (k0 × head columns over k1 + k2).
public enum CTAMeshFloor {
    public struct Floor: Sendable {
        public var cycles: UInt64
        public var macs: Int
        /// The MAC bound: the multiply-accumulates over the array's DIM² PEs.
        public var bound: Double
        public var ratio: Double { Double(cycles) / bound }
    }

    /// The floor for a layer of `heads` heads of `headSize` columns over `n` tokens of `hidden`
    /// elements, hashes of `hashLength` positions, and the cluster counts k0, k1, k2.
    public static func floor(n: Int, hidden: Int, heads: Int, headSize: Int, hashLength l: Int, counts: [Int],
                             parameters: AcceleratorParameters) throws -> Floor {
        guard counts.count == 3, counts.allSatisfy({ $0 >= 1 && $0 <= n }), n >= 1, hidden >= 1, heads >= 1, headSize >= 1, l >= 1 else {
            throw MappingError("the mesh floor needs n, hidden, heads, head size and l ≥ 1 and three cluster counts in 1 … n, found n = \(n), "
                + "hidden = \(hidden), heads = \(heads), head size = \(headSize), l = \(l), counts \(counts)")
        }
        let (k0, kv) = (counts[0], counts[1] + counts[2]), width = heads * headSize
        var b = ProgramBuilder(parameters: parameters)
        b.notes = ["\(parameters.name): the mesh floor of a CTA layer, n = \(n), k = \(counts) (CTAMeshFloor)"]
        // Zeros: the timing does not depend on values.
        let x = b.allocate(rows: n, columns: hidden, elementBytes: 1)
        let directions = b.allocate(rows: 2 * l, columns: hidden, elementBytes: 1)
        let products = b.allocate(rows: n, columns: 2 * l, elementBytes: 4)
        func product(i: Int, j: Int, k: Int, a: DRAMMatrix, b w: DRAMMatrix, c: DRAMMatrix, transposeB: Bool) {
            b.tiledMatmul(i: i, j: j, k: k, a: a, b: w, d: nil, c: c, scale: 1, transposeB: transposeB, fullC: true, storeC: false)
        }
        product(i: n, j: 2 * l, k: hidden, a: x, b: directions, c: products, transposeB: true)
        product(i: n, j: l, k: hidden, a: x, b: directions, c: products, transposeB: true)
        let centroids = b.allocate(rows: max(k0, kv), columns: hidden, elementBytes: 1)
        let weights = b.allocate(rows: width, columns: hidden, elementBytes: 1)
        let q̄ = b.allocate(rows: k0, columns: width, elementBytes: 1), k̄ = b.allocate(rows: kv, columns: width, elementBytes: 1)
        for rows in [k0, kv, kv] {
            product(i: rows, j: width, k: hidden, a: centroids, b: weights, c: q̄, transposeB: true)
        }
        let scores = b.allocate(rows: k0, columns: kv, elementBytes: 4), ap = b.allocate(rows: k0, columns: kv, elementBytes: 1)
        let output = b.allocate(rows: k0, columns: headSize, elementBytes: 4)
        for head in 0 ..< heads {
            product(i: k0, j: kv, k: headSize, a: q̄.columns(head * headSize, headSize), b: k̄.columns(head * headSize, headSize), c: scores,
                    transposeB: true)
            product(i: k0, j: headSize, k: kv, a: ap, b: k̄.columns(head * headSize, headSize), c: output, transposeB: false)
        }
        let macs = Int(b.macs)
        let mapped = MappedProgram(name: "cta-mesh-floor", program: b.program, output: (output.offset, k0, headSize), pooled: nil, macs: b.macs)
        let outcome = try ProgramExecution.golden(mapped, parameters: parameters)
        return Floor(cycles: outcome.predictedCycles, macs: macs, bound: Double(macs) / Double(parameters.dim * parameters.dim))
    }
}
