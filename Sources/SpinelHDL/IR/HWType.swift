/// The type of one ground signal: an unsigned or two's-complement signed integer of a fixed width.
///
/// Aggregates (vectors, bundles) exist only in the builder; the IR holds their ground fields.
/// A `Bool` is `UInt<1>`.
public enum HWType: Hashable, Sendable, CustomStringConvertible {
    case uint(Int)
    case sint(Int)

    public static let bool = HWType.uint(1)

    public var width: Int {
        switch self {
        case .uint(let width), .sint(let width): width
        }
    }

    public var isSigned: Bool {
        if case .sint = self { true } else { false }
    }

    /// The same signedness with another width.
    public func withWidth(_ width: Int) -> HWType {
        isSigned ? .sint(width) : .uint(width)
    }

    public var description: String {
        switch self {
        case .uint(let width): "UInt<\(width)>"
        case .sint(let width): "SInt<\(width)>"
        }
    }

    /// Smallest and largest value the type holds.
    public var range: ClosedRange<BigInteger> {
        switch self {
        case .uint(let width): .zero...(BigInteger.powerOfTwo(width) - .one)
        case .sint(let width): -BigInteger.powerOfTwo(width - 1)...(BigInteger.powerOfTwo(width - 1) - .one)
        }
    }

    /// Bits needed to address `count` entries (at least 1).
    public static func addressWidth(for count: Int) -> Int {
        var width = 1
        while (1 << width) < count { width += 1 }
        return width
    }
}
