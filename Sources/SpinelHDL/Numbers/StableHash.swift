/// FNV-1a, 64-bit: a hash that is the same on every run and machine (Swift's `Hasher` is seeded
/// per process).
public struct StableHash {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ text: String) {
        for byte in text.utf8 {
            state ^= UInt64(byte)
            state = state &* 0x0000_0100_0000_01b3
        }
        // Separate consecutive fields.
        state ^= 0xff
        state = state &* 0x0000_0100_0000_01b3
    }

    public var hex: String {
        let digits = String(state, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
