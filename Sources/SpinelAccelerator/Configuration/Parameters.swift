import SpinelHDL

/// A configuration that cannot be built: the field, its value and the rule it breaks.
public struct ConfigError: Error, Hashable, CustomStringConvertible {
    public var field: String
    public var value: String
    public var rule: String

    public var description: String { "\(field) = \(value): \(rule)" }
}

/// A validated configuration with every derived value, computed once. The hardware, the C
/// header and the golden model all read their sizes from here.
public struct AcceleratorParameters: Hashable, Sendable {
    public let config: AcceleratorConfig

    /// Elements per row of the array, of the scratchpad and of the accumulator.
    public let dim: Int
    public let inputBytes: Int
    public let accBytes: Int
    public let spRowBytes: Int
    public let spRows: Int
    public let spRowsPerBank: Int
    public let accRowBytes: Int
    public let accRows: Int
    public let accRowsPerBank: Int
    /// Most DIM-column blocks one mvin moves into the scratchpad (Gemmini's MAX_BLOCK_LEN).
    public let maxBlockLen: Int
    /// The same for the accumulator (MAX_BLOCK_LEN_ACC).
    public let maxBlockLenAcc: Int
    public let dmaBusBytes: Int
    /// Bits of a scratchpad and an accumulator row index.
    public let spRowBits: Int
    public let accRowBits: Int
    /// 16 hex digits identifying the configuration (FNV-1a of its canonical JSON); the
    /// harness checks it against the hardware at start-up.
    public let hash: String

    public var name: String { config.name }

    /// Local addresses (ISA.md): bit 31 selects the accumulator, 30 accumulates on write, 29
    /// reads full width, 28:26 hold a normalization command, 25:0 the row.
    public static let localAddressBits = 32
    public static let rowIndexBits = 26
    public static let garbageAddress: UInt32 = 0xFFFF_FFFF

    public init(_ config: AcceleratorConfig) throws {
        let errors = config.problems()
        if let first = errors.first { throw first }
        self.config = config
        dim = config.meshRows * config.tileRows
        inputBytes = config.inputType.width / 8
        accBytes = config.accType.width / 8
        spRowBytes = dim * inputBytes
        spRows = config.spCapacityKiB * 1024 / spRowBytes
        spRowsPerBank = spRows / config.spBanks
        accRowBytes = dim * accBytes
        accRows = config.accCapacityKiB * 1024 / accRowBytes
        accRowsPerBank = accRows / config.accBanks
        maxBlockLen = config.dmaMaxBytes / spRowBytes
        maxBlockLenAcc = config.dmaMaxBytes / accRowBytes
        dmaBusBytes = config.dmaBusBits / 8
        spRowBits = HWType.addressWidth(for: spRows)
        accRowBits = HWType.addressWidth(for: accRows)
        var hasher = StableHash()
        hasher.add(String(decoding: config.toJSON(), as: UTF8.self))
        hash = hasher.hex
    }
}

extension AcceleratorConfig {
    /// Validates and derives. Throws the first `ConfigError`.
    public func parameters() throws -> AcceleratorParameters {
        try AcceleratorParameters(self)
    }

    /// Every rule this configuration breaks, in the order of the fields.
    public func problems() -> [ConfigError] {
        var errors: [ConfigError] = []
        func require(_ condition: Bool, _ field: String, _ value: Any, _ rule: @autoclosure () -> String) {
            if !condition { errors.append(ConfigError(field: field, value: "\(value)", rule: rule())) }
        }
        func isPowerOfTwo(_ n: Int) -> Bool { n > 0 && n & (n - 1) == 0 }
        /// The nearest capacities with a power-of-two number of rows per bank, at least DIM of them.
        func capacityHint(bytesPerBankRow: Int, kibibytes: Int) -> String {
            let dimRows = max(1, (meshRows * tileRows))
            let fitting = (0..<27).map { 1 << $0 }.filter { $0 >= dimRows }
                .map { $0 * bytesPerBankRow }.filter { $0 % 1024 == 0 }.map { $0 / 1024 }
            let below = fitting.last { $0 < kibibytes }, above = fitting.first { $0 > kibibytes }
            let choices = [below, above].compactMap { $0 }.map(String.init)
            return choices.isEmpty ? "" : "; the nearest that fit are \(choices.joined(separator: " and ")) KiB"
        }

        require(Naming.isLegal(name) && !name.hasPrefix("_"), "name", "\"\(name)\"",
                "must be a Verilog identifier (letters, digits, single underscores, starting with a letter): it names the top module")
        for (field, value) in [("meshRows", meshRows), ("meshColumns", meshColumns), ("tileRows", tileRows), ("tileColumns", tileColumns)] {
            require(value >= 1, field, value, "must be at least 1")
        }
        let rowsDim = meshRows * tileRows, columnsDim = meshColumns * tileColumns
        require(rowsDim == columnsDim, "meshColumns", meshColumns,
                "the array must be square: meshRows·tileRows (\(rowsDim)) must equal meshColumns·tileColumns (\(columnsDim))")
        require((2...256).contains(rowsDim), "meshRows", meshRows, "DIM = meshRows·tileRows (\(rowsDim)) must be between 2 and 256")
        let dim = max(1, rowsDim)

        for (field, type) in [("inputType", inputType), ("weightType", weightType), ("accType", accType), ("spatialOutputType", spatialOutputType)] {
            require(type.isSigned, field, type.configName, "must be a signed type (SInt…): the array computes in two's complement")
        }
        require(inputType.width % 8 == 0 && (8...24).contains(inputType.width), "inputType", inputType.configName,
                "must be SInt8, SInt16 or SInt24: elements are whole bytes in memory, and a sum of DIM products of SInt32 values needs more than 64 bits (the widest accType)")
        require(weightType == inputType, "weightType", weightType.configName,
                "must equal inputType (\(inputType.configName)): weights live in the same scratchpad rows as inputs")
        require(accType.width % 8 == 0 && accType.width <= 64 && accType.width >= 2 * inputType.width, "accType", accType.configName,
                "must be whole bytes, at most 64 bits and at least twice inputType (\(2 * inputType.width) bits)")
        let productSumBits = 2 * inputType.width + HWType.addressWidth(for: dim)
        require(spatialOutputType.width >= productSumBits && spatialOutputType.width <= accType.width, "spatialOutputType",
                spatialOutputType.configName,
                "must hold a sum of DIM (\(dim)) products of inputType values (at least \(productSumBits) bits) and be no wider than accType (\(accType.width) bits)")

        let inputBytes = max(1, inputType.width / 8), accBytes = max(1, accType.width / 8)
        let spRowBytes = dim * inputBytes, accRowBytes = dim * accBytes
        require(spCapacityKiB >= 1, "spCapacityKiB", spCapacityKiB, "must be at least 1")
        require(spBanks >= 1 && isPowerOfTwo(spBanks), "spBanks", spBanks, "must be a power of two")
        require(accCapacityKiB >= 1, "accCapacityKiB", accCapacityKiB, "must be at least 1")
        require(accBanks >= 1 && isPowerOfTwo(accBanks), "accBanks", accBanks, "must be a power of two")
        if spCapacityKiB >= 1 && spBanks >= 1 {
            let bytes = spCapacityKiB * 1024, perBank = bytes / (spRowBytes * spBanks)
            require(bytes % (spRowBytes * spBanks) == 0 && perBank >= dim && isPowerOfTwo(perBank), "spCapacityKiB", spCapacityKiB,
                    "scratchpad rows per bank (\(bytes) / (\(spRowBytes) B per row · \(spBanks) banks) = \(perBank)) must be a whole power of two and at least DIM (\(dim))"
                        + capacityHint(bytesPerBankRow: spRowBytes * spBanks, kibibytes: spCapacityKiB))
            require(bytes / spRowBytes <= 1 << AcceleratorParameters.rowIndexBits, "spCapacityKiB", spCapacityKiB,
                    "at most 2^26 scratchpad rows fit the local address")
        }
        if accCapacityKiB >= 1 && accBanks >= 1 {
            let bytes = accCapacityKiB * 1024, perBank = bytes / (accRowBytes * accBanks)
            require(bytes % (accRowBytes * accBanks) == 0 && perBank >= dim && isPowerOfTwo(perBank), "accCapacityKiB", accCapacityKiB,
                    "accumulator rows per bank (\(bytes) / (\(accRowBytes) B per row · \(accBanks) banks) = \(perBank)) must be a whole power of two and at least DIM (\(dim))"
                        + capacityHint(bytesPerBankRow: accRowBytes * accBanks, kibibytes: accCapacityKiB))
            require(bytes / accRowBytes <= 1 << AcceleratorParameters.rowIndexBits, "accCapacityKiB", accCapacityKiB,
                    "at most 2^26 accumulator rows fit the local address")
        }

        require(isPowerOfTwo(dmaBusBits) && (32...1024).contains(dmaBusBits), "dmaBusBits", dmaBusBits,
                "must be a power of two between 32 and 1024")
        let busBytes = max(1, dmaBusBits / 8)
        require(dmaMaxBytes >= accRowBytes && dmaMaxBytes <= 4096 && dmaMaxBytes % busBytes == 0, "dmaMaxBytes", dmaMaxBytes,
                "must hold one accumulator row (\(accRowBytes) B), be at most 4096 and a multiple of the bus width (\(busBytes) B)")
        require((1...64).contains(maxInFlightReqs), "maxInFlightReqs", maxInFlightReqs, "must be between 1 and 64")
        for (field, value) in [("ldQueue", ldQueue), ("exQueue", exQueue), ("stQueue", stQueue),
                               ("ldReservationEntries", ldReservationEntries), ("exReservationEntries", exReservationEntries),
                               ("stReservationEntries", stReservationEntries)] {
            require((1...64).contains(value), field, value, "must be between 1 and 64")
        }
        require((1...16).contains(normalizationSlots), "normalizationSlots", normalizationSlots, "must be between 1 and 16")
        require(!hasNormalizations || accType.width <= 32, "accType", accType.configName,
                "must be at most 32 bits with hasNormalizations: the normalizer's sums, i-exp and I-GELU are sized for int32 accumulators (NUMERICS.md)")
        require(!hasAffineLayerNorm || hasNormalizations, "hasAffineLayerNorm", "true",
                "the affine LayerNorm extends the normalization units: set hasNormalizations = true as well")
        require(cta == nil || hasNormalizations, "cta", "present", "the CTA units need hasNormalizations = true (they use its exponential and divider)")
        if let cta {
            require(isPowerOfTwo(cta.hashLength) && (4...64).contains(cta.hashLength), "cta.hashLength", cta.hashLength, "must be a power of two between 4 and 64")
            require((dim...65536).contains(cta.maxTokens), "cta.maxTokens", cta.maxTokens, "must be between DIM (\(dim)) and 65536")
            require((1...cta.maxTokens).contains(cta.maxClusters), "cta.maxClusters", cta.maxClusters, "must be between 1 and maxTokens (\(cta.maxTokens))")
        }
        require((1...10_000).contains(memory.latencyCycles), "memory.latencyCycles", memory.latencyCycles, "must be between 1 and 10000")
        require((1...busBytes).contains(memory.bytesPerCycle), "memory.bytesPerCycle", memory.bytesPerCycle,
                "must be between 1 and the bus width (\(busBytes) B per cycle)")
        return errors
    }
}

extension AcceleratorParameters {
    /// Tiles per block move in LOOP_WS's unrolling (and per K block of its schedule): the
    /// largest power of two not above `maxBlockLen` (docs/ACCELERATOR.md, "LOOP_WS").
    public var loopBlockTiles: Int {
        let limit = max(maxBlockLen, 1)
        return 1 << (Int.bitWidth - 1 - limit.leadingZeroBitCount)
    }
}
