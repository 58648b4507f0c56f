import SpinelISA

// The compressed-token attention commands (functs 48–53; docs/CTA.md, "Commands"): the CTA
// units' state, the fields, the checks and what each command does, written from the document
// with the golden CTA functions (Sources/SpinelGolden/CTA), never from the hardware.

/// The CTA units' state (present when the configuration has a `cta` section).
public struct CTAState: Hashable, Sendable {
    /// One LSH instance's post-processing: the l offsets o_i (accumulator units) and 1/w ≈ M·2^−K.
    public struct HashSettings: Hashable, Sendable {
        public var offsets: [Int64]
        public var multiplier: Int64 = 0
        public var shift = 0
    }

    /// What CTA_GATHER needs of one compressed query row of the last CTA_PROBABILITIES: the
    /// maxima of AP's two halves and the row's denominator ΣAP/2.
    public struct ProbabilityRow: Hashable, Sendable {
        public var levelOneMaximum: Int64
        public var levelTwoMaximum: Int64
        public var denominator: Int64
    }

    /// Per level (0 queries, 1 keys/values, 2 residuals).
    public var hashes: [HashSettings]
    /// The cluster table of each level's last CTA_CLUSTER; nil before one, or after one that
    /// overflowed.
    public var tables: [ClusterIndex.Table?]
    /// The token of the last cluster overflow.
    public var lastOverflowToken: Int?
    /// λ (CTA_CONFIG target 3); 0 after reset, which CTA_PROBABILITIES refuses.
    public var exponentFactor: Float = 0
    /// One per compressed query row of the CTA_PROBABILITIES groups since the last one that
    /// started at row 0 (row q0 + t of a group at q0 is entry q0 + t).
    public var probabilityRows: [ProbabilityRow] = []

    init(hashLength: Int) {
        hashes = Array(repeating: HashSettings(offsets: Array(repeating: 0, count: hashLength)), count: CTAFields.levels)
        tables = Array(repeating: nil, count: CTAFields.levels)
    }
}

/// A decoded CTA command (`Command.cta`).
public enum CTACommand: Hashable, Sendable {
    /// CTA_CONFIG of a level's hash instance: M, K and the offsets' accumulator row.
    case configHash(level: Int, multiplier: Int64, shift: Int, offsets: LocalOperand)
    /// CTA_CONFIG of λ (fp32 bits).
    case configExponent(factorBits: UInt32)
    /// CTA_CLUSTER: hash the tokens' accumulator rows of l products and cluster them.
    case cluster(level: Int, products: LocalOperand)
    /// CTA_AGGREGATE: the level's centroids of scratchpad token rows, at `output`; with
    /// `residuals` (level 1) the token rows become their residuals.
    case aggregate(level: Int, residuals: Bool, output: LocalAddress, tokens: LocalOperand)
    /// CTA_PROBABILITIES: AP's int8 halves at `output` from the compressed scores.
    /// (A group of compressed query rows: first row q0, the operand's rows.)
    case probabilities(output: LocalAddress, firstRow: Int, scores: LocalOperand)
    /// CTA_GATHER: the normalized output rows of the two products, one per token, to DRAM.
    case gather(dramAddress: UInt64, products: LocalOperand)
    /// CTA_STATUS: k0, k1, k2 and the overflow token into accumulator rows (`CTAFields.statusValues`).
    case status(output: LocalAddress)

    /// The command's name, for messages.
    public var name: String {
        switch self {
        case .configHash, .configExponent: "CTA_CONFIG"
        case .cluster: "CTA_CLUSTER"
        case .aggregate: "CTA_AGGREGATE"
        case .probabilities: "CTA_PROBABILITIES"
        case .gather: "CTA_GATHER"
        case .status: "CTA_STATUS"
        }
    }
}

extension CTACommand: CustomStringConvertible {
    public var description: String {
        switch self {
        case .configHash(let level, let multiplier, let shift, let offsets):
            "CTA_CONFIG level \(level): M \(multiplier), K \(shift), offsets \(offsets.shape) from \(offsets.address)"
        case .configExponent(let bits):
            "CTA_CONFIG λ \(Numerics.float(bits: bits))"
        case .cluster(let level, let products):
            "CTA_CLUSTER level \(level): \(products.shape) products at \(products.address)"
        case .aggregate(let level, let residuals, let output, let tokens):
            "CTA_AGGREGATE level \(level): tokens \(tokens.shape) at \(tokens.address), centroids to \(output)" + (residuals ? ", residuals in place" : "")
        case .probabilities(let output, let firstRow, let scores):
            "CTA_PROBABILITIES rows \(firstRow) ..< \(firstRow + scores.rows): scores \(scores.shape) at \(scores.address), AP to \(output)"
        case .gather(let dram, let products):
            "CTA_GATHER products \(products.shape) at \(products.address) to \(hexAddress(dram))"
        case .status(let output):
            "CTA_STATUS to \(output)"
        }
    }
}

// MARK: Decoding and the checks that need only the configuration

extension CTACommand {
    typealias F = CTAFields

    static func decode(funct: UInt8, rs1: UInt64, rs2: UInt64) throws(CommandRejection) -> CTACommand {
        func reserved(_ word: UInt64, _ used: [BitField], _ name: String, _ register: String) throws(CommandRejection) {
            let reserved = F.reservedBits(besides: used)
            guard word & reserved == 0 else {
                throw CommandRejection(.unsupportedField,
                                       "\(name) sets reserved bits of \(register) (0x\(String(word & reserved, radix: 16))); they must be 0")
            }
        }
        func level(_ value: UInt64, _ name: String) throws(CommandRejection) -> Int {
            guard value < UInt64(F.levels) else {
                throw CommandRejection(.unsupportedField, "\(name) names level \(value); the levels are 0 (queries), 1 (keys/values) and 2 (residuals)")
            }
            return Int(value)
        }
        switch funct {
        case Funct.ctaConfig:
            let target = F.configTarget.value(in: rs1)
            if target == UInt64(F.exponentTarget) {
                try reserved(rs1, F.configExponentRs1, "CTA_CONFIG of λ", "rs1")
                try reserved(rs2, [], "CTA_CONFIG of λ", "rs2")
                return .configExponent(factorBits: UInt32(F.exponentFactor.value(in: rs1)))
            }
            try reserved(rs1, F.configHashRs1, "CTA_CONFIG", "rs1")
            return .configHash(level: Int(target), multiplier: Int64(F.hashMultiplier.value(in: rs1)),
                               shift: Int(F.hashShift.value(in: rs1)), offsets: LocalOperand(field: rs2))
        case Funct.ctaCluster:
            try reserved(rs1, F.clusterRs1, "CTA_CLUSTER", "rs1")
            return .cluster(level: try level(F.clusterLevel.value(in: rs1), "CTA_CLUSTER"), products: LocalOperand(field: rs2))
        case Funct.ctaAggregate:
            try reserved(rs1, F.aggregateRs1, "CTA_AGGREGATE", "rs1")
            return .aggregate(level: try level(F.aggregateLevel.value(in: rs1), "CTA_AGGREGATE"), residuals: rs1 >> UInt64(F.residualsBit) & 1 == 1,
                              output: LocalAddress(bits: UInt32(F.outputAddress.value(in: rs1))), tokens: LocalOperand(field: rs2))
        case Funct.ctaProbabilities:
            try reserved(rs1, F.probabilitiesRs1, "CTA_PROBABILITIES", "rs1")
            return .probabilities(output: LocalAddress(bits: UInt32(F.outputAddress.value(in: rs1))), firstRow: Int(F.firstRow.value(in: rs1)),
                                  scores: LocalOperand(field: rs2))
        case Funct.ctaGather:
            return .gather(dramAddress: rs1, products: LocalOperand(field: rs2))
        default:  // Funct.ctaStatus
            try reserved(rs1, [], "CTA_STATUS", "rs1")
            try reserved(rs2, F.statusRs2, "CTA_STATUS", "rs2")
            return .status(output: LocalAddress(bits: UInt32(F.outputAddress.value(in: rs2))))
        }
    }

    func checkFields(against parameters: AcceleratorParameters) throws(CommandRejection) {
        guard let cta = parameters.config.cta else {
            throw CommandRejection(.unknownCommand, "funct \(functCode) is \(name), which needs a configuration with a cta section")
        }
        switch self {
        case .configHash(let level, let multiplier, _, let offsets):
            guard level < F.levels else { preconditionFailure("decode leaves targets 0–2 to the levels") }
            guard multiplier < Int64(1) << Int64(cta.hashReciprocalBits) else {
                throw CommandRejection(.unsupportedField, "CTA_CONFIG level \(level): M = \(multiplier) does not fit cta.hashReciprocalBits = \(cta.hashReciprocalBits) bits")
            }
            guard offsets.rows == 1 && offsets.columns == cta.hashLength else {
                throw CommandRejection(.illegalOperand, "CTA_CONFIG level \(level) reads \(offsets.shape) offsets; it takes one row of l = \(cta.hashLength)")
            }
        case .cluster(let level, let products):
            guard (1...cta.maxTokens).contains(products.rows) else {
                throw CommandRejection(.illegalOperand, "CTA_CLUSTER level \(level) covers \(products.rows) tokens; it takes 1 to cta.maxTokens = \(cta.maxTokens)")
            }
            guard products.columns == cta.hashLength else {
                throw CommandRejection(.illegalOperand, "CTA_CLUSTER level \(level) reads \(products.columns) products per token; a hash code has l = \(cta.hashLength)")
            }
        case .aggregate(let level, let residuals, _, let tokens):
            guard !residuals || level == 1 else {
                throw CommandRejection(.unsupportedField, "CTA_AGGREGATE level \(level) asks for residuals; only level 1 (keys/values) has them")
            }
            guard tokens.columns > 0 else {
                throw CommandRejection(.illegalOperand, "CTA_AGGREGATE level \(level) covers \(tokens.shape): a token row block has at least one column")
            }
            guard tokens.columns <= parameters.dim else {
                throw CommandRejection(.tooManyColumns, "CTA_AGGREGATE has \(tokens.columns) columns; DIM is \(parameters.dim) (wider rows go one column block per command)")
            }
        case .probabilities(_, let firstRow, let scores):
            guard scores.rows >= 1 && firstRow + scores.rows <= cta.maxClusters else {
                throw CommandRejection(.illegalOperand, "CTA_PROBABILITIES covers compressed query rows \(firstRow) ..< \(firstRow + scores.rows); "
                    + "a group has at least one row and k0 is at most cta.maxClusters = \(cta.maxClusters)")
            }
        case .gather(_, let products):
            guard products.columns > 0 && products.rows > 0 else {
                throw CommandRejection(.illegalOperand, "CTA_GATHER covers \(products.shape): it needs k0 rows of at least one column")
            }
            guard products.columns <= parameters.dim else {
                throw CommandRejection(.tooManyColumns, "CTA_GATHER has \(products.columns) columns; DIM is \(parameters.dim) (wider outputs go one column block per command)")
            }
        case .configExponent, .status:
            break
        }
    }

    var functCode: UInt8 {
        switch self {
        case .configHash, .configExponent: Funct.ctaConfig
        case .cluster: Funct.ctaCluster
        case .aggregate: Funct.ctaAggregate
        case .probabilities: Funct.ctaProbabilities
        case .gather: Funct.ctaGather
        case .status: Funct.ctaStatus
        }
    }
}

// MARK: Execution

extension GoldenModel {
    mutating func performCTA(_ command: CTACommand, memory: inout some MainMemory) throws {
        guard let cta = parameters.config.cta, var units = state.cta else { preconditionFailure("checkFields refuses CTA without the units") }
        defer { state.cta = units }
        switch command {
        case .configHash(let level, let multiplier, let shift, let offsets):
            try checkCTALocal(offsets.address, accumulator: true, rows: 1, "CTA_CONFIG offsets")
            units.hashes[level] = CTAState.HashSettings(offsets: Array(state.accumulator.row(offsets.address.row).prefix(cta.hashLength)),
                                                        multiplier: multiplier, shift: shift)
        case .configExponent(let bits):
            let factor = Numerics.float(bits: bits)
            guard factor.isFinite && factor > 0 else {
                throw CommandRejection(.invalidScale, "CTA_CONFIG λ is \(factor) (fp32 bits 0x\(String(bits, radix: 16))); it must be positive and finite")
            }
            units.exponentFactor = factor
        case .cluster(let level, let products):
            try checkCTALocal(products.address, accumulator: true, rows: products.rows, "CTA_CLUSTER products")
            let hash = units.hashes[level]
            let codes = (0..<products.rows).map { token in
                state.accumulator.row(products.address.row + token).prefix(cta.hashLength).enumerated().map { i, product in
                    Int(CTANumerics.hash(product, offset: hash.offsets[i], multiplier: hash.multiplier, shift: hash.shift, codeBits: cta.hashCodeBits))
                }
            }
            let table = ClusterIndex.assign(codes: codes, maximumClusters: cta.maxClusters)
            if let token = table.overflowToken {
                units.tables[level] = nil
                units.lastOverflowToken = token
                throw CommandRejection(.clusterOverflow, CTAClusterOverflow(level: level, token: token, maximumClusters: cta.maxClusters).description)
            }
            units.tables[level] = table
        case .aggregate(let level, let residuals, let output, let tokens):
            // The checks that need the command alone first (the dispatcher's: the token rows, the
            // centroids' address plain), then the state (the CTA controller's: the table, its n,
            // the centroids' k rows); docs/CTA.md, "Commands".
            try Self.checkAggregateOperands(tokens: tokens, output: output, parameters: parameters)
            let table = try clusterTable(units, level, for: "CTA_AGGREGATE")
            guard tokens.rows == table.ids.count else {
                throw CommandRejection(.illegalOperand, "CTA_AGGREGATE level \(level) covers \(tokens.rows) token rows; the level's cluster table has \(table.ids.count) tokens")
            }
            try checkCTALocal(output, accumulator: false, rows: table.count, "CTA_AGGREGATE centroids")
            let inputRows = tokens.address.row ..< tokens.address.row + tokens.rows, outputRows = output.row ..< output.row + table.count
            guard !inputRows.overlaps(outputRows) else {
                throw CommandRejection(.illegalOperand, "CTA_AGGREGATE writes centroids to scratchpad rows \(outputRows), which overlap its token rows \(inputRows)")
            }
            let rows = inputRows.map { Array(state.scratchpad.row($0).prefix(tokens.columns)) }
            let centroids = CentroidAggregation.centroids(rows, table: table, fractionBits: cta.averageFractionBits)
            for (r, centroid) in centroids.enumerated() {
                for (lane, value) in centroid.enumerated() { state.scratchpad[output.row + r, lane] = value }
            }
            guard residuals else { break }
            for (r, residual) in CentroidAggregation.residuals(rows, centroids: centroids, table: table).enumerated() {
                for (lane, value) in residual.enumerated() { state.scratchpad[tokens.address.row + r, lane] = value }
            }
        case .probabilities(let output, let firstRow, let scores):
            // The operands' plain addresses first (the dispatcher's), then the state (the CTA
            // controller's: the tables, λ, the first row, k1 + k2, the layout's rows); docs/CTA.md, "Commands".
            try Self.checkProbabilitiesOperands(scores: scores, output: output, parameters: parameters)
            let levelOne = try clusterTable(units, 1, for: "CTA_PROBABILITIES"), levelTwo = try clusterTable(units, 2, for: "CTA_PROBABILITIES")
            guard levelOne.ids.count == levelTwo.ids.count else {
                throw CommandRejection(.illegalOperand, "CTA_PROBABILITIES needs levels 1 and 2 over the same tokens; their tables have \(levelOne.ids.count) and \(levelTwo.ids.count)")
            }
            guard units.exponentFactor > 0 else {
                throw CommandRejection(.illegalOperand, "CTA_PROBABILITIES needs λ: give it with CTA_CONFIG target 3 first")
            }
            guard firstRow == 0 || firstRow == units.probabilityRows.count else {
                throw CommandRejection(.illegalOperand, "CTA_PROBABILITIES starts at compressed row \(firstRow), but the rows so far are "
                    + "0 ..< \(units.probabilityRows.count): a group follows them, or starts a new set at row 0")
            }
            let layout = CTAScoreLayout(k0: scores.rows, k1: levelOne.count, k2: levelTwo.count, dim: parameters.dim)
            guard scores.columns == layout.k1 + layout.k2 else {
                throw CommandRejection(.illegalOperand, "CTA_PROBABILITIES reads \(scores.columns) scores per row; levels 1 and 2 have k1 + k2 = \(layout.k1 + layout.k2)")
            }
            try checkCTALocal(scores.address, accumulator: true, rows: layout.rows, "CTA_PROBABILITIES scores")
            try checkCTALocal(output, accumulator: false, rows: layout.rows, "CTA_PROBABILITIES AP")
            let entries = layout.entries
            let scoreRows = (0..<layout.k0).map { q in
                entries.map { state.accumulator[scores.address.row + $0.block * layout.k0 + q, $0.lane] }
            }
            let expTable = CTANumerics.expTable(entries: cta.expTableEntries, entryBits: cta.expTableBits)
            let aggregation = ProbabilityAggregation(scores: scoreRows, levelOne: levelOne, levelTwo: levelTwo,
                                                     exponentFactor: units.exponentFactor, expTable: expTable, tiles: cta.pagTiles)
            // Row q of the group is compressed row firstRow + q (a group at row 0 starts a new set).
            if firstRow == 0 { units.probabilityRows = [] }
            for (q, row) in aggregation.rows.enumerated() {
                let halves = [row[..<layout.k1], row[layout.k1...]]
                // Every lane of the halves' blocks is written: the padding past a half's end is 0.
                for block in 0..<layout.blocks { for lane in 0..<parameters.dim { state.scratchpad[output.row + block * layout.k0 + q, lane] = 0 } }
                for (index, value) in (CTANumerics.quantizeProbabilities(halves[0]) + CTANumerics.quantizeProbabilities(halves[1])).enumerated() {
                    let entry = entries[index]
                    state.scratchpad[output.row + entry.block * layout.k0 + q, entry.lane] = value
                }
                units.probabilityRows.append(CTAState.ProbabilityRow(levelOneMaximum: halves[0].max() ?? 0, levelTwoMaximum: halves[1].max() ?? 0,
                                                                      denominator: aggregation.denominators[q]))
            }
        case .gather(let dramAddress, let products):
            // The operand first (the dispatcher's check), then the state (the CTA controller's).
            try checkCTALocal(products.address, accumulator: true, rows: 2 * products.rows, "CTA_GATHER products")
            let queries = try clusterTable(units, 0, for: "CTA_GATHER")
            guard products.rows == units.probabilityRows.count else {
                throw CommandRejection(.illegalOperand, "CTA_GATHER covers \(products.rows) compressed rows; the last CTA_PROBABILITIES made \(units.probabilityRows.count)")
            }
            guard queries.count == products.rows else {
                throw CommandRejection(.illegalOperand, "CTA_GATHER covers \(products.rows) compressed rows; level 0's cluster table has k0 = \(queries.count)")
            }
            let scale = state.store.accScale
            let outputs = (0..<products.rows).map { q in
                let row = units.probabilityRows[q]
                let σ1 = CTANumerics.outputFactor(maximum: row.levelOneMaximum, denominator: row.denominator, outputScale: scale)
                let σ2 = CTANumerics.outputFactor(maximum: row.levelTwoMaximum, denominator: row.denominator, outputScale: scale)
                return (0..<products.columns).map { lane in
                    CTANumerics.normalizedOutput(levelOne: state.accumulator[products.address.row + q, lane], factor: σ1,
                                                 levelTwo: state.accumulator[products.address.row + products.rows + q, lane], factor: σ2,
                                                 bits: parameters.config.inputType.width)
                }
            }
            let writes = queries.ids.enumerated().map { token, id in
                (token: token, address: dramAddress &+ UInt64(token) &* state.store.dramStride,
                 bytes: ElementCoding.encode(outputs[id], elementBytes: parameters.inputBytes))
            }
            for (index, write) in writes.enumerated() {
                do {
                    try memory.write(address: write.address, bytes: write.bytes)
                } catch let fault as DMAFault {
                    for later in writes.dropFirst(index) { memory.abandoned(address: later.address, bytes: later.bytes) }
                    throw CommandRejection(.dmaWriteFault, "CTA_GATHER token row \(write.token): \(fault)")
                }
            }
        case .status(let output):
            let dim = parameters.dim, rows = CTAFields.statusRows(dim: dim)
            try checkCTALocal(output, accumulator: true, rows: rows, "CTA_STATUS rows")
            let values = units.tables.map { Int64($0?.count ?? -1) } + [Int64(units.lastOverflowToken ?? -1)]
            for index in 0 ..< rows * dim { state.accumulator[output.row + index / dim, index % dim] = index < values.count ? values[index] : 0 }
        }
    }

    /// CTA_AGGREGATE's checks that need the command alone (the dispatcher makes them): the token
    /// rows plain scratchpad rows inside the scratchpad, the centroids' address a plain
    /// scratchpad address. (How many centroid rows follow, k, is the table's.)
    static func checkAggregateOperands(tokens: LocalOperand, output: LocalAddress, parameters: AcceleratorParameters) throws(CommandRejection) {
        try checkCTALocal(tokens.address, accumulator: false, rows: tokens.rows, "CTA_AGGREGATE tokens", parameters: parameters)
        try checkCTALocal(output, accumulator: false, rows: 1, "CTA_AGGREGATE centroids", parameters: parameters, rangeToo: false)
    }

    /// CTA_PROBABILITIES's checks that need the command alone (the dispatcher makes them): the
    /// scores a plain accumulator address, AP's a plain scratchpad address. (How many rows
    /// follow, ⌈k1/DIM⌉ + ⌈k2/DIM⌉ blocks of k0, is the tables'.)
    static func checkProbabilitiesOperands(scores: LocalOperand, output: LocalAddress, parameters: AcceleratorParameters) throws(CommandRejection) {
        try checkCTALocal(scores.address, accumulator: true, rows: 1, "CTA_PROBABILITIES scores", parameters: parameters, rangeToo: false)
        try checkCTALocal(output, accumulator: false, rows: 1, "CTA_PROBABILITIES AP", parameters: parameters, rangeToo: false)
    }

    /// The code the dispatcher fails a CTA command the RTL runs with (`CTAFields.functsInHardware`),
    /// nil when it passes the checks that need the command alone (decoding, `checkFields`, the
    /// local operands): a command the golden model rejects that passes these fails behind the
    /// dispatcher, in the CTA controller (a cluster overflow; CTA_AGGREGATE's table, n, k and
    /// overlap; CTA_PROBABILITIES's tables, λ, first row, k1 + k2 and its rows; CTA_GATHER's
    /// level-0 table and k0; a DMA fault of its writes).
    public static func ctaDispatcherRejection(funct: UInt8, rs1: UInt64, rs2: UInt64, parameters: AcceleratorParameters) -> AcceleratorError.Code? {
        do {
            let command = try CTACommand.decode(funct: funct, rs1: rs1, rs2: rs2)
            try command.checkFields(against: parameters)
            switch command {
            case .configHash(_, _, _, let offsets):
                try checkCTALocal(offsets.address, accumulator: true, rows: 1, "CTA_CONFIG offsets", parameters: parameters)
            case .cluster(_, let products):
                try checkCTALocal(products.address, accumulator: true, rows: products.rows, "CTA_CLUSTER products", parameters: parameters)
            case .aggregate(_, _, let output, let tokens):
                try checkAggregateOperands(tokens: tokens, output: output, parameters: parameters)
            case .gather(_, let products):
                try checkCTALocal(products.address, accumulator: true, rows: 2 * products.rows, "CTA_GATHER products", parameters: parameters)
            case .status(let output):
                try checkCTALocal(output, accumulator: true, rows: CTAFields.statusRows(dim: parameters.dim), "CTA_STATUS rows", parameters: parameters)
            case .configExponent(let bits):
                let factor = Numerics.float(bits: bits)
                guard factor.isFinite && factor > 0 else { return .invalidScale }
            case .probabilities(let output, _, let scores):
                try checkProbabilitiesOperands(scores: scores, output: output, parameters: parameters)
            }
            return nil
        } catch {
            return error.code
        }
    }

    private func clusterTable(_ units: CTAState, _ level: Int, for name: String) throws(CommandRejection) -> ClusterIndex.Table {
        guard let table = units.tables[level] else {
            throw CommandRejection(.illegalOperand, units.lastOverflowToken != nil
                ? "\(name) needs level \(level)'s cluster table, which has none (never clustered, or its last CTA_CLUSTER overflowed)"
                : "\(name) needs level \(level)'s cluster table: run CTA_CLUSTER on level \(level) first")
        }
        return table
    }

    /// A CTA operand: a plain scratchpad or accumulator address (no flag bits, not GARBAGE)
    /// covering `rows` rows inside its memory.
    private func checkCTALocal(_ address: LocalAddress, accumulator: Bool, rows: Int, _ what: String) throws(CommandRejection) {
        try Self.checkCTALocal(address, accumulator: accumulator, rows: rows, what, parameters: parameters)
    }

    private static func checkCTALocal(_ address: LocalAddress, accumulator: Bool, rows: Int, _ what: String, parameters: AcceleratorParameters,
                                      rangeToo: Bool = true) throws(CommandRejection) {
        let memory = accumulator ? "accumulator" : "scratchpad"
        guard !address.isGarbage && address.isAccumulator == accumulator && address.flagBits == 0 else {
            throw CommandRejection(.illegalOperand, "the \(what) at \(address) must be plain \(memory) rows (bit 31 \(accumulator ? "set" : "clear"), bits 30:26 clear)")
        }
        let size = accumulator ? parameters.accRows : parameters.spRows
        guard !rangeToo || address.row + rows - 1 < size else {
            throw CommandRejection(.localAddressOutOfRange, "the \(what) at \(address) reach row \(address.row + rows - 1); the \(memory) has \(size) rows")
        }
    }
}

/// Where CTA_PROBABILITIES finds a compressed score row and puts AP (docs/CTA.md, "Commands"):
/// DIM-column blocks, the level-1 entries in blocks 0 ..< ⌈k1/DIM⌉ and the level-2 entries in
/// the ⌈k2/DIM⌉ blocks after them, block b of row q at local row `address + b·k0 + q`.
public struct CTAScoreLayout: Hashable, Sendable {
    public var k0: Int, k1: Int, k2: Int, dim: Int

    public init(k0: Int, k1: Int, k2: Int, dim: Int) {
        self.k0 = k0; self.k1 = k1; self.k2 = k2; self.dim = dim
    }

    public var levelOneBlocks: Int { (k1 + dim - 1) / dim }
    public var blocks: Int { levelOneBlocks + (k2 + dim - 1) / dim }
    /// Local rows the layout covers.
    public var rows: Int { blocks * k0 }
    /// Entry j of a row (level-1 entries 0 ..< k1, then the level-2 entries): its block and lane.
    public var entries: [(block: Int, lane: Int)] {
        (0..<k1).map { ($0 / dim, $0 % dim) } + (0..<k2).map { (levelOneBlocks + $0 / dim, $0 % dim) }
    }
}
