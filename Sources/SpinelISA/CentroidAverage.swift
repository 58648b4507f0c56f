/// The reciprocal table of cluster sizes that turns a centroid's sum into its average
/// (docs/NUMERICS.md, "Centroids"): entry c is rne(2^F_c / c). The golden model
/// (`CTANumerics.averageReciprocal`) and the centroid aggregation unit's ROM both read it here.
public enum CentroidAverage {
    /// Entry `count` of the table: rne(2^`fractionBits` / count), ties to even. Entry 1 is
    /// 2^fractionBits, so an entry needs `fractionBits` + 1 unsigned bits.
    public static func reciprocal(count: Int, fractionBits: Int) -> Int64 {
        precondition(count > 0, "a cluster has at least one token")
        let dividend = Int64(1) << Int64(fractionBits), divisor = Int64(count)
        let quotient = dividend / divisor, twiceRemainder = 2 * (dividend % divisor)
        return twiceRemainder > divisor || (twiceRemainder == divisor && quotient & 1 == 1) ? quotient + 1 : quotient
    }
}
