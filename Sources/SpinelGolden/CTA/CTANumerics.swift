import Foundation
import SpinelISA

/// The integer functions of compressed-token attention (docs/NUMERICS.md, "Compressed-token
/// attention"), written once like `Numerics`: the golden model computes with them and the CTA
/// units are tested against them. Matrices are arrays of rows; every value is an integer of the
/// width the document gives, carried in Int64.
public enum CTANumerics {
    // MARK: Hashing

    /// 1/w as the unsigned multiplier M (at most `bits` bits) and shift K with `1/w ≈ M·2^-K`,
    /// for a bucket width `width` in accumulator units: the largest K in 0...62 whose
    /// M = rne(2^K / w) still fits. A width below 2^-bits takes the finest the format holds,
    /// M = 2^bits − 1 and K = 0. Software computes this once per LSH instance.
    public static func reciprocal(ofWidth width: Double, bits: Int) -> (multiplier: Int64, shift: Int) {
        precondition(width > 0 && width <= 0x1p62, "a bucket width must be positive and at most 2^62 accumulator units")
        let limit = Double(sign: .plus, exponent: bits, significand: 1)
        var best: (multiplier: Int64, shift: Int) = (Int64(limit) - 1, 0)
        for shift in 0...62 {
            let multiplier = (Double(sign: .plus, exponent: shift, significand: 1) / width).rounded(.toNearestOrEven)
            guard multiplier < limit else { break }
            if multiplier >= 1 { best = (Int64(multiplier), shift) }
        }
        return best
    }

    /// One hash position: `sat_bits(floor((acc + offset)·M / 2^K))`. `acc` is the int32 product of
    /// a direction and a token, `offset` the int32 offset b_i in accumulator units; the sum is
    /// 33 bits, the product with M exact, and the shift an arithmetic (flooring) right shift.
    public static func hash(_ acc: Int64, offset: Int64, multiplier: Int64, shift: Int, codeBits: Int) -> Int64 {
        Numerics.saturate(((acc + offset) * multiplier) >> Int64(shift), bits: codeBits)
    }

    // MARK: Centroids

    /// Entry `count` of the reciprocal table of cluster sizes: rne(2^F / count), F = `fractionBits`
    /// (defined once in `CentroidAverage`, which the centroid aggregation unit's ROM also reads).
    public static func averageReciprocal(count: Int, fractionBits: Int) -> Int64 {
        CentroidAverage.reciprocal(count: count, fractionBits: fractionBits)
    }

    /// A centroid element from the sum of its cluster's elements: `sat8(RRS(sum · R[count], F))`.
    public static func average(sum: Int64, count: Int, fractionBits: Int, bits: Int = 8) -> Int64 {
        let product = sum * averageReciprocal(count: count, fractionBits: fractionBits)
        return Numerics.saturate(Numerics.roundingRightShift(product, by: fractionBits), bits: bits)
    }

    /// A level-2 residual element: `sat8(x − c)`.
    public static func residual(_ x: Int64, centroid: Int64, bits: Int = 8) -> Int64 {
        Numerics.saturate(x - centroid, bits: bits)
    }

    // MARK: Exponential

    /// The exponential table: entry f is rne(2^(P + f/E)), P = `entryBits` − 1, E = `entries`.
    /// Every entry lies in [2^P, 2^(P+1)).
    /// (One source of truth: `CTAParameters.expTable`, which the RTL builds from.)
    public static func expTable(entries: Int, entryBits: Int) -> [Int64] {
        CTAParameters.expTable(entries: entries, entryBits: entryBits)
    }

    /// The base-2 exponent the table takes, with F_e fraction bits, from a score sum `z ≤ 0`
    /// (int32 scores, so z is 34 bits): `u = sat32(rne(fp32(z) ⊗ λ))`, λ the fp32 factor
    /// σ·log2(e)·2^F_e (σ the real unit of one score).
    public static func exponent(_ z: Int64, factor: Float) -> Int64 {
        Numerics.scale(z, by: factor, toBits: 32)
    }

    /// 2^(u / 2^F_e) in units of 2^-P from the table: `RRS(T[u mod 2^F_e], −floor(u / 2^F_e))`
    /// for u ≤ 0 (a shift of 64 or more gives 0).
    public static func exp(_ u: Int64, table: [Int64]) -> Int64 {
        precondition(u <= 0, "the exponential takes u ≤ 0 (scores minus the row bound)")
        let fractionBits = Int.bitWidth - 1 - table.count.leadingZeroBitCount
        let integer = u >> Int64(fractionBits)
        let fraction = Int(u & Int64(table.count - 1))
        let shift = -integer
        return shift >= 64 ? 0 : Numerics.roundingRightShift(table[fraction], by: Int(shift))
    }

    // MARK: Probabilities and output

    /// The bound subtracted from row q's scores: `m = max(S̄[q][0..<k1]) + max(S̄[q][k1..<k1+k2])`,
    /// so that every sum S̄[q][x1] + S̄[q][x2] − m is ≤ 0. One constant per row: the output does
    /// not change (section "Probability aggregation" of docs/CTA.md).
    public static func rowBound(_ scores: [Int64], levelOneClusters k1: Int) -> Int64 {
        precondition(k1 > 0 && k1 < scores.count, "a score row holds k1 ≥ 1 level-1 and at least one level-2 score")
        return scores[..<k1].max()! + scores[k1...].max()!
    }

    /// One half of an AP row (the k1 level-1 or the k2 level-2 entries) quantized to int8
    /// relative to its maximum m: `sat8(ACC_SCALE(AP_j, fp32(127) ⊘ fp32(m)))`; an all-zero half
    /// stays zero. The halves are quantized apart because a level-2 entry gathers the mass of
    /// many tokens: one scale for the row would round most level-1 entries to zero.
    public static func quantizeProbabilities(_ half: ArraySlice<Int64>) -> [Int64] {
        let maximum = half.max() ?? 0
        guard maximum > 0 else { return half.map { _ in 0 } }
        let factor = Float(127) / Float(maximum)
        return half.map { Numerics.scale($0, by: factor, toBits: 8) }
    }

    /// The store factor of one half's product: `σ = (fp32(m) ⊘ fp32(127·D)) ⊗ s_out`, m the
    /// half's maximum, D = ΣAP/2 the row's denominator, s_out the output store scale; 0 for D = 0.
    public static func outputFactor(maximum: Int64, denominator: Int64, outputScale: Float) -> Float {
        denominator == 0 ? 0 : Float(maximum) / Float(127 * denominator) * outputScale
    }

    /// One normalized output element from the two halves' int32 products:
    /// `sat8(rne((fp32(a1) ⊗ σ1) ⊕ (fp32(a2) ⊗ σ2)))`, every operation one binary32 rounding.
    public static func normalizedOutput(levelOne a1: Int64, factor σ1: Float, levelTwo a2: Int64, factor σ2: Float, bits: Int = 8) -> Int64 {
        Numerics.roundAndSaturate(Float(a1) * σ1 + Float(a2) * σ2, bits: bits)
    }
}
