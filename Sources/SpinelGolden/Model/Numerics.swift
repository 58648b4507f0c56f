/// The numeric functions of docs/NUMERICS.md, written once. The golden model computes with them
/// and the hardware units are tested against them.
public enum Numerics {
    /// Clamps `value` into the range of a `bits`-bit two's-complement integer.
    public static func saturate(_ value: Int64, bits: Int) -> Int64 {
        let high = bits >= 64 ? Int64.max : (Int64(1) << (bits - 1)) - 1
        let low = bits >= 64 ? Int64.min : -(Int64(1) << (bits - 1))
        return min(max(value, low), high)
    }

    /// `value` wrapped into a `bits`-bit two's-complement integer (what a register of that
    /// width holds after overflow).
    public static func wrap(_ value: Int64, bits: Int) -> Int64 {
        guard bits < 64 else { return value }
        let shift = Int64(64 - bits)
        return (value << shift) >> shift
    }

    /// Rounds a binary32 value to the nearest integer (ties to even) and saturates it into a
    /// `bits`-bit signed integer. Infinities saturate; NaN never reaches here (NaN scales are
    /// rejected as command errors).
    public static func roundAndSaturate(_ value: Float, bits: Int) -> Int64 {
        precondition(!value.isNaN, "NaN reached rounding")
        let high = bits >= 64 ? Int64.max : (Int64(1) << (bits - 1)) - 1
        let low = bits >= 64 ? Int64.min : -(Int64(1) << (bits - 1))
        let rounded = value.rounded(.toNearestOrEven)
        if rounded >= Float(high) { return high }
        if rounded <= Float(low) { return low }
        return Int64(rounded)
    }

    /// `ACC_SCALE(x, s)`: `fp32(x)` (rounded to nearest even), one binary32 multiply by `scale`
    /// (rounded to nearest even), then round to an integer (ties to even) and saturate into
    /// `bits` bits.
    public static func scale(_ x: Int64, by scale: Float, toBits bits: Int) -> Int64 {
        roundAndSaturate(Float(x) * scale, bits: bits)
    }

    /// Gemmini's `ROUNDING_RIGHT_SHIFT`: an arithmetic right shift by `shift` that rounds to
    /// nearest, ties to even (RISC-V vxrm "rne").
    public static func roundingRightShift(_ x: Int64, by shift: Int) -> Int64 {
        guard shift > 0 else { return x }
        guard shift < 64 else { return x < 0 ? (shift == 64 && x == Int64.min ? -1 : 0) : 0 }
        let truncated = x >> Int64(shift)
        let roundBit = (x >> Int64(shift - 1)) & 1
        let sticky: Int64 = shift > 1 && (x & ((Int64(1) << Int64(shift - 1)) - 1)) != 0 ? 1 : 0
        return truncated + (roundBit & (sticky | (truncated & 1)))
    }

    /// `max(x, 0)`.
    public static func relu(_ x: Int64) -> Int64 { max(x, 0) }

    /// `isqrt(n) = floor(sqrt(n))` for n ≥ 0, by digit recurrence (exact for every Int64).
    public static func isqrt(_ n: Int64) -> Int64 {
        precondition(n >= 0, "isqrt of a negative number")
        return isqrt(UInt64(n))
    }

    /// `isqrt(n) = floor(sqrt(n))` for every UInt64 (the root is below 2^32).
    public static func isqrt(_ n: UInt64) -> Int64 {
        var remainder = n, root: UInt64 = 0
        var bit: UInt64 = 1 << 62
        while bit > remainder { bit >>= 2 }
        while bit != 0 {
            if remainder >= root + bit {
                remainder -= root + bit
                root = (root >> 1) + bit
            } else {
                root >>= 1
            }
            bit >>= 2
        }
        return Int64(root)
    }

    /// The binary32 value with bit pattern `bits` (scales travel as fp32 bits in commands).
    public static func float(bits: UInt32) -> Float { Float(bitPattern: bits) }
}
