import SpinelHDL

/// A configuration that cannot be built: the field, its value, the rule it breaks and the fix.
public struct ConfigError: Error, Hashable, CustomStringConvertible {
    public var field: String
    public var value: String
    public var rule: String
    public var fix: String

    public init(field: String, value: String, rule: String, fix: String) {
        self.field = field
        self.value = value
        self.rule = rule
        self.fix = fix
    }

    public var description: String { "\(field) = \(value): \(rule)\n  fix: \(fix)" }
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
    /// Most columns one MVOUT moves (Gemmini's store controller: `max(MAX_BLOCK_LEN, 1)` DIM-column
    /// blocks; a full-width accumulator mvout moves one block). Block b of a row lies DIM rows after
    /// block b − 1 (docs/ISA.md, "MVOUT").
    public var mvoutMaxColumns: Int { max(maxBlockLen, 1) * dim }
    public let dmaBusBytes: Int
    /// Bits of a scratchpad and an accumulator row index.
    public let spRowBits: Int
    public let accRowBits: Int
    /// `NormalizerLane` instances (`normalizerLanes`, DIM when nil) and the cycles, one per
    /// group of that many columns, a row through them takes.
    public let normalizerLanes: Int
    public var normalizerBeats: Int { dim / normalizerLanes }
    /// 16 hex digits identifying the configuration (FNV-1a of its canonical JSON); the
    /// harness checks it against the hardware at start-up.
    public let hash: String

    public var name: String { config.name }

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
        normalizerLanes = config.normalizerLanes ?? dim
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
        func require(_ condition: Bool, _ field: String, _ value: Any, _ rule: @autoclosure () -> String, fix: @autoclosure () -> String) {
            if !condition { errors.append(ConfigError(field: field, value: "\(value)", rule: rule(), fix: fix())) }
        }
        func isPowerOfTwo(_ n: Int) -> Bool { n > 0 && n & (n - 1) == 0 }
        func powerOfTwo(near n: Int) -> Int { n <= 1 ? 1 : 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount) }

        require(Naming.isLegal(name) && !name.hasPrefix("_"), "name", "\"\(name)\"",
                "must be a Verilog identifier (letters, digits, single underscores, starting with a letter): it names the top module",
                fix: "rename it, e.g. \"MyAccelerator\"")
        require(!Naming.isKeyword(name), "name", "\"\(name)\"",
                "is a Verilog or SystemVerilog keyword; the top module, its filelist and Verilator's model class are all named after it",
                fix: "rename it, e.g. \"\(name.prefix(1).uppercased() + name.dropFirst())Accelerator\" (keywords are lower case, so a capital letter is enough)")
        for (field, value) in [("meshRows", meshRows), ("meshColumns", meshColumns), ("tileRows", tileRows), ("tileColumns", tileColumns)] {
            require(value >= 1, field, value, "must be at least 1", fix: "set \(field) to 1 or more")
        }
        let rowsDim = meshRows * tileRows, columnsDim = meshColumns * tileColumns
        require(rowsDim == columnsDim, "meshColumns", meshColumns,
                "the array must be square: meshRows·tileRows (\(rowsDim)) must equal meshColumns·tileColumns (\(columnsDim))",
                fix: "set meshColumns and tileColumns so that their product is \(rowsDim), or change meshRows·tileRows to \(columnsDim)")
        require((2...256).contains(rowsDim), "meshRows", meshRows, "DIM = meshRows·tileRows (\(rowsDim)) must be between 2 and 256",
                fix: "choose meshRows and tileRows whose product is between 2 and 256 (the columns likewise)")
        let dim = max(1, rowsDim)

        for (field, type) in [("inputType", inputType), ("weightType", weightType), ("accType", accType), ("spatialOutputType", spatialOutputType)] {
            require(type.isSigned, field, type.configName, "must be a signed type (SInt…): the array computes in two's complement",
                    fix: "write \"SInt\(type.width)\"")
        }
        require(inputType.width % 8 == 0 && (8...24).contains(inputType.width), "inputType", inputType.configName,
                "must be SInt8, SInt16 or SInt24: elements are whole bytes in memory, and a sum of DIM products of SInt32 values needs more than 64 bits (the widest accType)",
                fix: "write \"SInt8\" (Gemmini's), \"SInt16\" or \"SInt24\"")
        require(weightType == inputType, "weightType", weightType.configName,
                "must equal inputType (\(inputType.configName)): weights live in the same scratchpad rows as inputs",
                fix: "write \"\(inputType.configName)\", or leave weightType out and change both through inputType")
        let accMinimum = (2 * inputType.width + 7) / 8 * 8
        require(accType.width % 8 == 0 && accType.width <= 64 && accType.width >= 2 * inputType.width, "accType", accType.configName,
                "must be whole bytes, at most 64 bits and at least twice inputType (\(2 * inputType.width) bits)",
                fix: accMinimum <= 64 ? "write \"SInt\(max(accMinimum, 32))\" or another whole-byte width between \(accMinimum) and 64"
                                      : "narrow inputType: no accumulator of at most 64 bits is twice \(inputType.configName)")
        let productSumBits = 2 * inputType.width + HWType.addressWidth(for: dim)
        require(spatialOutputType.width >= productSumBits && spatialOutputType.width <= accType.width, "spatialOutputType",
                spatialOutputType.configName,
                "must hold a sum of DIM (\(dim)) products of inputType values (at least \(productSumBits) bits) and be no wider than accType (\(accType.width) bits)",
                fix: productSumBits <= accType.width ? "write \"SInt\(productSumBits)\" (or wider, up to \"SInt\(accType.width)\")"
                                                     : "widen accType to at least \(productSumBits) bits first")

        let inputBytes = max(1, inputType.width / 8), accBytes = max(1, accType.width / 8)
        let spRowBytes = dim * inputBytes, accRowBytes = dim * accBytes
        require(spCapacityKiB >= 1, "spCapacityKiB", spCapacityKiB, "must be at least 1", fix: "give the scratchpad 1 KiB or more")
        require(spBanks >= 1 && isPowerOfTwo(spBanks), "spBanks", spBanks, "must be a power of two",
                fix: "write \(powerOfTwo(near: max(spBanks, 1))) or another power of two")
        require(accCapacityKiB >= 1, "accCapacityKiB", accCapacityKiB, "must be at least 1", fix: "give the accumulator 1 KiB or more")
        require(accBanks >= 1 && isPowerOfTwo(accBanks), "accBanks", accBanks, "must be a power of two",
                fix: "write \(powerOfTwo(near: max(accBanks, 1))) or another power of two")
        // The legal capacities nearest to `kib`: a bank holds 2^k ≥ DIM rows, so the legal sizes
        // are the whole-KiB ones among 2^k·rowBytes·banks bytes.
        func capacityFix(_ kib: Int, rowBytes: Int, banks: Int, memory: String) -> String {
            var below: Int?, above: Int?
            var rows = powerOfTwo(near: dim)
            while above == nil && rows <= 1 << LocalAddressLayout.rowIndexBits {
                let bytes = rows * rowBytes * banks
                if bytes % 1024 == 0 { if bytes / 1024 <= kib { below = bytes / 1024 } else { above = bytes / 1024 } }
                rows *= 2
            }
            let sizes = [below, above].compactMap { $0 }.map { "\($0) KiB" }
            let change = memory == "scratchpad" ? "spBanks" : "accBanks"
            guard !sizes.isEmpty else { return "change \(change) or DIM: no whole-KiB \(memory) has a power-of-two number of rows per bank" }
            return "use \(sizes.joined(separator: " or ")) (the nearest sizes whose \(banks) banks hold a power of two of at least DIM rows each), or change \(change)"
        }
        if spCapacityKiB >= 1 && spBanks >= 1 {
            let bytes = spCapacityKiB * 1024, perBank = bytes / (spRowBytes * spBanks)
            require(bytes % (spRowBytes * spBanks) == 0 && perBank >= dim && isPowerOfTwo(perBank), "spCapacityKiB", spCapacityKiB,
                    "scratchpad rows per bank (\(bytes) / (\(spRowBytes) B per row · \(spBanks) banks) = \(perBank)) must be a whole power of two and at least DIM (\(dim))",
                    fix: capacityFix(spCapacityKiB, rowBytes: spRowBytes, banks: spBanks, memory: "scratchpad"))
            require(bytes / spRowBytes <= 1 << LocalAddressLayout.rowIndexBits, "spCapacityKiB", spCapacityKiB,
                    "at most 2^\(LocalAddressLayout.rowIndexBits) scratchpad rows fit the local address",
                    fix: "make the scratchpad at most \((1 << LocalAddressLayout.rowIndexBits) * spRowBytes / 1024) KiB")
        }
        if accCapacityKiB >= 1 && accBanks >= 1 {
            let bytes = accCapacityKiB * 1024, perBank = bytes / (accRowBytes * accBanks)
            require(bytes % (accRowBytes * accBanks) == 0 && perBank >= dim && isPowerOfTwo(perBank), "accCapacityKiB", accCapacityKiB,
                    "accumulator rows per bank (\(bytes) / (\(accRowBytes) B per row · \(accBanks) banks) = \(perBank)) must be a whole power of two and at least DIM (\(dim))",
                    fix: capacityFix(accCapacityKiB, rowBytes: accRowBytes, banks: accBanks, memory: "accumulator"))
            require(bytes / accRowBytes <= 1 << LocalAddressLayout.rowIndexBits, "accCapacityKiB", accCapacityKiB,
                    "at most 2^\(LocalAddressLayout.rowIndexBits) accumulator rows fit the local address",
                    fix: "make the accumulator at most \((1 << LocalAddressLayout.rowIndexBits) * accRowBytes / 1024) KiB")
        }

        require(isPowerOfTwo(dmaBusBits) && (32...1024).contains(dmaBusBits), "dmaBusBits", dmaBusBits,
                "must be a power of two between 32 and 1024", fix: "write 32, 64, 128 (Gemmini's), 256, 512 or 1024")
        let busBytes = max(1, dmaBusBits / 8)
        let maxBytesFix = (max(accRowBytes, busBytes) + busBytes - 1) / busBytes * busBytes
        require(dmaMaxBytes >= accRowBytes && dmaMaxBytes <= 4096 && dmaMaxBytes % busBytes == 0, "dmaMaxBytes", dmaMaxBytes,
                "must hold one accumulator row (\(accRowBytes) B), be at most 4096 and a multiple of the bus width (\(busBytes) B)",
                fix: maxBytesFix <= 4096 ? "write \(maxBytesFix) or a larger multiple of \(busBytes) up to 4096"
                                         : "shrink the accumulator row (DIM · accType bytes = \(accRowBytes) B) to at most 4096 B")
        require((1...64).contains(maxInFlightReqs), "maxInFlightReqs", maxInFlightReqs, "must be between 1 and 64",
                fix: "write a value from 1 to 64 (Gemmini's is 16)")
        for (field, value) in [("ldQueue", ldQueue), ("exQueue", exQueue), ("stQueue", stQueue),
                               ("ldReservationEntries", ldReservationEntries), ("exReservationEntries", exReservationEntries),
                               ("stReservationEntries", stReservationEntries)] {
            require((1...64).contains(value), field, value, "must be between 1 and 64", fix: "write a value from 1 to 64")
        }
        require((1...16).contains(normalizationSlots), "normalizationSlots", normalizationSlots, "must be between 1 and 16",
                fix: "write a value from 1 to 16 (Gemmini's is 2)")
        if let lanes = normalizerLanes {
            let divisors = (1...dim).filter { dim % $0 == 0 }.map(String.init)
            require(lanes >= 1 && lanes <= dim && dim % lanes == 0, "normalizerLanes", lanes,
                    "must divide DIM (\(dim)): each row goes through the lanes in DIM / normalizerLanes equal groups of columns",
                    fix: "write one of \(divisors.joined(separator: ", ")) (\(dim), or leaving the field out, gives one lane per column)")
        }
        require(!hasNormalizations || accType.width <= 32, "accType", accType.configName,
                "must be at most 32 bits with hasNormalizations: the normalizer's sums, i-exp and I-GELU are sized for int32 accumulators (docs/NUMERICS.md)",
                fix: "write \"SInt32\", or set hasNormalizations to false")
        require(!hasAffineLayerNorm || hasNormalizations, "hasAffineLayerNorm", "true",
                "the affine LayerNorm extends the normalization units, so it needs hasNormalizations = true", fix: "set hasNormalizations to true as well, or hasAffineLayerNorm to false")
        require(!hasNumericsExtensions || hasAffineLayerNorm, "hasNumericsExtensions", "true",
                "the numerics extensions build on the affine LayerNorm's per-lane parameters, so they need hasAffineLayerNorm = true",
                fix: "set hasAffineLayerNorm (and hasNormalizations) to true as well, or hasNumericsExtensions to false")
        require(!hasNumericsExtensions || (accScale == .fp32 && accType == .sint(32)), "hasNumericsExtensions", "true",
                "the per-lane and row scales are fp32 scales loaded from int32 accumulator rows, so they need accScale \"fp32\" and accType SInt32",
                fix: "write \"accScale\": \"fp32\" and \"accType\": \"SInt32\", or set hasNumericsExtensions to false")
        require(cta == nil || hasNormalizations, "cta", "present", "the CTA units need hasNormalizations = true (they use its exponential and divider)",
                fix: "set hasNormalizations to true, or \"cta\": null to leave the CTA units out")
        errors += cta?.problems(dim: dim) ?? []
        require((1...10_000).contains(memory.latencyCycles), "memory.latencyCycles", memory.latencyCycles, "must be between 1 and 10000",
                fix: "write a value from 1 to 10000 cycles")
        require((1...busBytes).contains(memory.bytesPerCycle), "memory.bytesPerCycle", memory.bytesPerCycle,
                "must be between 1 and the bus width (\(busBytes) B per cycle)", fix: "write a value from 1 to \(busBytes), or widen dmaBusBits")
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
