/// A small, fast, seedable random number generator (SplitMix64), so that a random test can be
/// replayed exactly from the seed it prints.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < probability
    }

    /// A value of `bits` random bits (at most 64).
    public mutating func bits(_ bits: Int) -> UInt64 {
        bits >= 64 ? next() : next() & ((1 << UInt64(bits)) - 1)
    }

    /// The seed for a test: `SPINEL_SEED` from the environment if set, else `fallback`.
    public static func testSeed(_ fallback: UInt64) -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["SPINEL_SEED"], let seed = UInt64(text) { return seed }
        return fallback
    }
}

import Foundation
