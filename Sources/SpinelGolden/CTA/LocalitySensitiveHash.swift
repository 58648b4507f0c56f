/// One LSH instance of compressed-token attention in integers (docs/CTA.md, "Hashing"): l int8
/// directions, l int32 offsets in accumulator units, and 1/w as M·2^-K. A token's code is the
/// mesh product of the directions with the token, post-processed by `CTANumerics.hash`.
public struct LocalitySensitiveHash: Hashable, Sendable {
    /// l rows of d_w int8 values (the rows of A, quantized).
    public var directions: [[Int64]]
    /// b_i in accumulator units (int32), one per direction.
    public var offsets: [Int64]
    /// M and K of 1/w in accumulator units (`CTANumerics.reciprocal(ofWidth:bits:)`).
    public var multiplier: Int64
    public var shift: Int

    public init(directions: [[Int64]], offsets: [Int64], multiplier: Int64, shift: Int) {
        precondition(directions.count == offsets.count && !directions.isEmpty, "one offset per direction, at least one direction")
        self.directions = directions
        self.offsets = offsets
        self.multiplier = multiplier
        self.shift = shift
    }

    /// The hash codes of `tokens` (n rows of d_w int8 values): l positions of `codeBits` signed bits each.
    public func codes(_ tokens: [[Int64]], codeBits: Int) -> [[Int]] {
        MeshProduct.product(tokens, transposed: directions).map { products in
            products.indices.map { i in
                Int(CTANumerics.hash(products[i], offset: offsets[i], multiplier: multiplier, shift: shift, codeBits: codeBits))
            }
        }
    }
}
