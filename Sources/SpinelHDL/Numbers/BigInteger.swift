import CGMP

/// An arbitrary-precision signed integer backed by GMP.
///
/// Hardware constants can be far wider than 64 bits (a 512-bit bus literal, a 4096-bit mask), so
/// literal values, their range checks and the bit patterns the emitter prints go through this
/// type. It is an immutable value: every operation returns a new integer.
public struct BigInteger: @unchecked Sendable {
    // Immutable after construction, so sharing the storage between copies is safe. The GMP
    // struct lives at a fixed address of its own, outside Swift's exclusivity tracking, so one
    // integer can be both operands of an operation.
    private final class Storage {
        let pointer: UnsafeMutablePointer<__mpz_struct>
        init() {
            pointer = .allocate(capacity: 1)
            __gmpz_init(pointer)
        }
        deinit {
            __gmpz_clear(pointer)
            pointer.deallocate()
        }
    }

    private let storage: Storage

    private init(storage: Storage) { self.storage = storage }

    private static func make(_ body: (UnsafeMutablePointer<__mpz_struct>) -> Void) -> BigInteger {
        let storage = Storage()
        body(storage.pointer)
        return BigInteger(storage: storage)
    }

    private func withPointer<R>(_ body: (UnsafePointer<__mpz_struct>) -> R) -> R {
        withExtendedLifetime(storage) { body(UnsafePointer(storage.pointer)) }
    }

    public init(_ value: Int) {
        self = BigInteger.make { __gmpz_set_si($0, value) }
    }

    public init(_ value: UInt64) {
        self = BigInteger.make { __gmpz_set_ui($0, UInt(value)) }
    }

    /// Parses digits in `radix` (2...62), with an optional leading `-`; `_` separators are allowed.
    public init?(_ text: String, radix: Int = 10) {
        let digits = text.filter { $0 != "_" }
        // GMP skips white space inside the digits; only the separators documented above are allowed.
        guard !digits.isEmpty, !digits.contains(where: \.isWhitespace), (2...62).contains(radix) else { return nil }
        var ok = true
        let parsed = BigInteger.make { pointer in
            ok = digits.withCString { __gmpz_set_str(pointer, $0, Int32(radix)) } == 0
        }
        guard ok else { return nil }
        self = parsed
    }

    /// Assembles a non-negative integer from little-endian 32-bit words.
    public init(words: [UInt32]) {
        self = BigInteger.make { pointer in
            words.withUnsafeBufferPointer { buffer in
                __gmpz_import(pointer, buffer.count, -1, 4, 0, 0, buffer.baseAddress)
            }
        }
    }

    public static let zero = BigInteger(0)
    public static let one = BigInteger(1)

    /// `2^exponent`.
    public static func powerOfTwo(_ exponent: Int) -> BigInteger {
        BigInteger.one << exponent
    }

    public var signum: Int { Int(withPointer { __gmpz_cmp_si($0, 0) }.signum()) }
    public var isNegative: Bool { signum < 0 }
    public var isZero: Bool { signum == 0 }

    /// Bits needed for the magnitude (0 for zero).
    public var magnitudeBitWidth: Int {
        isZero ? 0 : withPointer { Int(__gmpz_sizeinbase($0, 2)) }
    }

    /// The value if it fits in `Int`, otherwise nil.
    public var intValue: Int? {
        withPointer { __gmpz_fits_slong_p($0) != 0 ? __gmpz_get_si($0) : nil }
    }

    /// The low 64 bits of the two's-complement representation.
    public var low64: UInt64 {
        let masked = truncated(toBits: 64)
        let low = masked.withPointer { UInt64(__gmpz_get_ui($0)) }
        return low
    }

    public func toString(radix: Int = 10) -> String {
        withPointer { pointer in
            let size = __gmpz_sizeinbase(pointer, Int32(radix)) + 2
            var buffer = [CChar](repeating: 0, count: size)
            __gmpz_get_str(&buffer, Int32(radix), pointer)
            let length = buffer.firstIndex(of: 0) ?? buffer.count
            return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public func testBit(_ index: Int) -> Bool {
        withPointer { __gmpz_tstbit($0, UInt(index)) != 0 }
    }

    /// The value modulo `2^bits`: its two's-complement pattern in `bits` bits, as a non-negative integer.
    public func truncated(toBits bits: Int) -> BigInteger {
        BigInteger.make { result in withPointer { __gmpz_fdiv_r_2exp(result, $0, UInt(bits)) } }
    }

    /// Reads the low `bits` bits as a two's-complement signed number.
    public func signExtended(fromBits bits: Int) -> BigInteger {
        let pattern = truncated(toBits: bits)
        return bits > 0 && pattern.testBit(bits - 1) ? pattern - .powerOfTwo(bits) : pattern
    }

    /// Little-endian 32-bit words of the value modulo `2^(32·count)`.
    public func words(count: Int) -> [UInt32] {
        let pattern = truncated(toBits: 32 * count)
        var words = [UInt32](repeating: 0, count: count)
        var written = 0
        words.withUnsafeMutableBufferPointer { buffer in
            pattern.withPointer { pointer in
                _ = __gmpz_export(buffer.baseAddress, &written, -1, 4, 0, 0, pointer)
            }
        }
        return words
    }

    private static func binary(
        _ lhs: BigInteger, _ rhs: BigInteger,
        _ operation: (UnsafeMutablePointer<__mpz_struct>, UnsafePointer<__mpz_struct>, UnsafePointer<__mpz_struct>) -> Void
    ) -> BigInteger {
        make { result in lhs.withPointer { l in rhs.withPointer { r in operation(result, l, r) } } }
    }

    public static func + (lhs: BigInteger, rhs: BigInteger) -> BigInteger { binary(lhs, rhs, __gmpz_add) }
    public static func - (lhs: BigInteger, rhs: BigInteger) -> BigInteger { binary(lhs, rhs, __gmpz_sub) }
    public static func * (lhs: BigInteger, rhs: BigInteger) -> BigInteger { binary(lhs, rhs, __gmpz_mul) }
    /// Bitwise operations act on the infinite two's-complement representation, as GMP defines.
    public static func & (lhs: BigInteger, rhs: BigInteger) -> BigInteger { binary(lhs, rhs, __gmpz_and) }
    public static func | (lhs: BigInteger, rhs: BigInteger) -> BigInteger { binary(lhs, rhs, __gmpz_ior) }
    public static func ^ (lhs: BigInteger, rhs: BigInteger) -> BigInteger { binary(lhs, rhs, __gmpz_xor) }

    public static prefix func - (value: BigInteger) -> BigInteger {
        make { result in value.withPointer { __gmpz_neg(result, $0) } }
    }

    public static func << (lhs: BigInteger, bits: Int) -> BigInteger {
        precondition(bits >= 0, "shift by a negative amount")
        return make { result in lhs.withPointer { __gmpz_mul_2exp(result, $0, UInt(bits)) } }
    }

    /// Arithmetic (flooring) right shift.
    public static func >> (lhs: BigInteger, bits: Int) -> BigInteger {
        precondition(bits >= 0, "shift by a negative amount")
        return make { result in lhs.withPointer { __gmpz_fdiv_q_2exp(result, $0, UInt(bits)) } }
    }
}

extension BigInteger: Comparable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }

    public static func == (lhs: BigInteger, rhs: BigInteger) -> Bool {
        lhs.withPointer { l in rhs.withPointer { r in __gmpz_cmp(l, r) == 0 } }
    }

    public static func < (lhs: BigInteger, rhs: BigInteger) -> Bool {
        lhs.withPointer { l in rhs.withPointer { r in __gmpz_cmp(l, r) < 0 } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(toString(radix: 16))
    }

    public var description: String { toString() }
}
