import Foundation

/// The compressed-token attention units (docs/CTA.md; their numerics in docs/NUMERICS.md,
/// "Compressed-token attention"). A configuration has them when its `cta` section is present
/// (`AcceleratorConfig.cta`): off in the `default`, `small` and `transformer` presets, on in `cta`.
/// Every field has a default, so `"cta": {}` turns the units on with the values below.
public struct CTAParameters: Codable, Hashable, Sendable {
    /// Hash length l: integer positions per hash code (one LSH direction each). The paper's is 6.
    public var hashLength: Int
    /// Most tokens per sequence (n): sizes the cluster tables and the reciprocal table of counts.
    public var maxTokens: Int
    /// Most clusters per clustering level (each of k0, k1, k2). Defaults to `maxTokens`, which
    /// can never overflow; a smaller value saves cluster-index and centroid memory and makes an
    /// overflowing sequence a reported error (`ClusterIndex.Table.overflowToken`).
    public var maxClusters: Int
    /// Probability-aggregation tiles (b): compressed query rows aggregated at once, two key
    /// tokens per tile per cycle.
    public var pagTiles: Int
    /// Bits of one hash position: `floor((acc + b_i)·(1/w))` saturates into this signed width.
    public var hashCodeBits: Int
    /// Bits of one digit of the cluster index's tree (d, a divisor of `hashCodeBits`): the tree has
    /// one level of 2^d children per digit, l·b/d levels. Narrower digits shrink the node
    /// memories (at the `cta` shape 5.36 Mbit with d = 8, 0.48 Mbit with d = 2) and add two cycles
    /// of latency per level (docs/CTA-HARDWARE.md, "Digits"). Defaults to 2 for an even
    /// `hashCodeBits`, else 1.
    public var clusterDigitBits: Int
    /// Bits of the unsigned multiplier M that holds 1/w (`1/w ≈ M·2^-K`, K per LSH instance).
    public var hashReciprocalBits: Int
    /// Fraction bits F_c of the centroid-average reciprocal table (entry c is rne(2^F_c / c)).
    public var averageFractionBits: Int
    /// Entries of the exponential table (a power of two): 2^F_e entries, F_e fraction bits of the
    /// base-2 exponent the table resolves.
    public var expTableEntries: Int
    /// Bits of one (unsigned) exponential table entry; entry f is rne(2^(P + f/2^F_e)), P = bits − 1.
    public var expTableBits: Int

    public init(hashLength: Int = 6, maxTokens: Int = 512, maxClusters: Int? = nil, pagTiles: Int = 8,
                hashCodeBits: Int = 8, clusterDigitBits: Int? = nil, hashReciprocalBits: Int = 16, averageFractionBits: Int = 16,
                expTableEntries: Int = 256, expTableBits: Int = 16) {
        self.hashLength = hashLength
        self.maxTokens = maxTokens
        self.maxClusters = maxClusters ?? maxTokens
        self.pagTiles = pagTiles
        self.hashCodeBits = hashCodeBits
        self.clusterDigitBits = clusterDigitBits ?? Self.defaultDigitBits(hashCodeBits: hashCodeBits)
        self.hashReciprocalBits = hashReciprocalBits
        self.averageFractionBits = averageFractionBits
        self.expTableEntries = expTableEntries
        self.expTableBits = expTableBits
    }

    /// The integer fields a configuration file may give, in the order `config.json` documents them.
    public static var fields: [(name: String, keyPath: WritableKeyPath<CTAParameters, Int>)] { [
        ("hashLength", \.hashLength), ("maxTokens", \.maxTokens), ("maxClusters", \.maxClusters),
        ("pagTiles", \.pagTiles), ("hashCodeBits", \.hashCodeBits), ("clusterDigitBits", \.clusterDigitBits), ("hashReciprocalBits", \.hashReciprocalBits),
        ("averageFractionBits", \.averageFractionBits), ("expTableEntries", \.expTableEntries),
        ("expTableBits", \.expTableBits),
    ] }

    /// `clusterDigitBits` when a configuration leaves it out: 2 for an even code width, else 1.
    public static func defaultDigitBits(hashCodeBits: Int) -> Int { hashCodeBits % 2 == 0 ? 2 : 1 }

    /// Levels of the cluster index's tree: one per digit of every hash position.
    public var clusterLevels: Int { hashLength * hashCodeBits / max(clusterDigitBits, 1) }

    /// F_e: fraction bits of the exponential table's base-2 input (log2 of its entry count).
    public var expFractionBits: Int { Int.bitWidth - 1 - max(expTableEntries, 1).leadingZeroBitCount }

    /// The exponential table: entry f is rne(2^(P + f/E)), P = `expTableBits` − 1, E =
    /// `expTableEntries`. The golden model computes with it and the RTL builds it at elaboration.
    public var expTable: [Int64] { Self.expTable(entries: expTableEntries, entryBits: expTableBits) }

    /// The table of `entries` entries of `entryBits` bits; every entry lies in [2^P, 2^(P+1)).
    public static func expTable(entries: Int, entryBits: Int) -> [Int64] {
        (0 ..< entries).map { f in
            Int64(exp2(Double(entryBits - 1) + Double(f) / Double(entries)).rounded(.toNearestOrEven))
        }
    }

    /// Width of one probability-aggregation accumulator: a row of AP sums 2·n table entries.
    public var probabilityAccumulatorBits: Int {
        expTableBits + (Int.bitWidth - (2 * max(maxTokens, 1) - 1).leadingZeroBitCount)
    }

    /// Every rule these parameters break on an array of `dim` columns.
    public func problems(dim: Int) -> [ConfigError] {
        var errors: [ConfigError] = []
        func require(_ condition: Bool, _ field: String, _ value: Int, _ rule: String, fix: String) {
            if !condition { errors.append(ConfigError(field: "cta.\(field)", value: "\(value)", rule: rule, fix: fix)) }
        }
        require((1...16).contains(hashLength), "hashLength", hashLength,
                "must be between 1 and 16 (hash positions per token; the cluster index keeps one level per position)",
                fix: "write a value from 1 to 16 (the paper's is 6)")
        require(hashLength <= dim || !(1...16).contains(hashLength), "hashLength", hashLength,
                "must be at most DIM (\(dim)): CTA_CLUSTER reads a token's l hash products as one accumulator row",
                fix: "write a value from 1 to \(min(dim, 16)), or use a larger array")
        require((dim...65536).contains(maxTokens), "maxTokens", maxTokens, "must be between DIM (\(dim)) and 65536",
                fix: "write a value from \(dim) to 65536")
        require((1...max(maxTokens, 1)).contains(maxClusters), "maxClusters", maxClusters,
                "must be between 1 and maxTokens (\(maxTokens)): a level never has more clusters than tokens",
                fix: "write a value from 1 to \(max(maxTokens, 1)), or leave it out to take maxTokens")
        require((1...64).contains(pagTiles), "pagTiles", pagTiles, "must be between 1 and 64",
                fix: "write a value from 1 to 64 (the paper's is 8)")
        require((2...16).contains(hashCodeBits), "hashCodeBits", hashCodeBits, "must be between 2 and 16 (signed bits of one hash position)",
                fix: "write a value from 2 to 16 (8 keeps a code position in one scratchpad byte)")
        let digitsDivide = (2...16).contains(hashCodeBits) && (1...hashCodeBits).contains(clusterDigitBits) && hashCodeBits % clusterDigitBits == 0
        require(digitsDivide || !(2...16).contains(hashCodeBits), "clusterDigitBits", clusterDigitBits,
                "must divide hashCodeBits (\(hashCodeBits)): the cluster index cuts each hash position into equal digits",
                fix: "write one of \((1...max(hashCodeBits, 1)).filter { hashCodeBits % $0 == 0 }.map(String.init).joined(separator: ", ")) (2 keeps the node memories smallest), or leave it out")
        require((8...24).contains(hashReciprocalBits), "hashReciprocalBits", hashReciprocalBits,
                "must be between 8 and 24 (unsigned bits of the 1/w multiplier)", fix: "write a value from 8 to 24 (16 is the default)")
        require((8...24).contains(averageFractionBits), "averageFractionBits", averageFractionBits,
                "must be between 8 and 24 (fraction bits of the reciprocal table of cluster sizes)",
                fix: "write a value from 8 to 24 (16 is the default)")
        // A centroid element is sum·R[count] with |sum| ≤ 127·count: R's rounding error (½ unit)
        // stays below half an int8 unit when 2^F_c ≥ 127·maxTokens, i.e. F_c ≥ log2(maxTokens) + 7.
        let tokenBits = Int.bitWidth - (max(maxTokens, 1) - 1).leadingZeroBitCount
        require(averageFractionBits >= tokenBits + 7 || !(8...24).contains(averageFractionBits), "averageFractionBits", averageFractionBits,
                "must be at least log2(maxTokens) + 7 = \(tokenBits + 7): below that the reciprocal table of cluster sizes moves a centroid by more than half an int8 unit",
                fix: tokenBits + 7 <= 24 ? "write a value from \(tokenBits + 7) to 24" : "lower maxTokens to at most 2^17")
        let entriesArePowerOfTwo = expTableEntries > 0 && expTableEntries & (expTableEntries - 1) == 0
        require(entriesArePowerOfTwo && (16...4096).contains(expTableEntries), "expTableEntries", expTableEntries,
                "must be a power of two between 16 and 4096: the table is indexed by the fraction bits of a base-2 exponent",
                fix: "write 16, 32, 64, 128, 256 (the default), 512, 1024, 2048 or 4096")
        require((8...24).contains(expTableBits), "expTableBits", expTableBits,
                "must be between 8 and 24 (unsigned bits of one exponential table entry)", fix: "write a value from 8 to 24 (16 is the default)")
        return errors
    }
}

/// The name the configuration used first; the same struct.
public typealias CTAConfig = CTAParameters
