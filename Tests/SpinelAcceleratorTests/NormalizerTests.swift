import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// The Normalizer alone under Verilator, driven by the protocol of its doc comment, next to the
// golden model running the same accumulator mvouts (docs/ACCELERATOR.md, "Normalization"): each
// mvout's rows are moved into the golden accumulator and read out with the mvout's normalization
// command; the golden model applies its pass rules and docs/NUMERICS.md's functions (Numerics.igelu,
// Numerics.iexp, LayerNormStatistics, Numerics.softmaxFactor, Numerics.scale), and the RTL's
// result lanes must equal the bytes the golden model writes to DRAM. Every row's timing is
// checked against `PipelineTiming.normalizerLatency`, the function the golden timing model uses.
//
// A random program runs jobs on both statistics slots at once — I-GELU output rows, LayerNorm
// ({SUM…, MEAN}, {VARIANCE…, INV_STDDEV}, output rows) and Softmax ({MAX…}, {SUM_EXP…,
// INV_SUM_EXP}, output rows) over rows of J elements in chunks of at most DIM columns —, with
// CONFIG_NORMs between rows (and in the cycle of a row or a result, which must not change what
// that row sees). A row of I-GELU counts once per output row; a row of LayerNorm or Softmax once
// per J-element row taken through both passes and all its output mvouts. Coverage counters make
// the test fail if the stimulus stops reaching the edge cases; a corner test adds the extremes.

/// How many rows of each kind the random program completes on the DIM-4 configurations, which
/// carry the issue's 10,000-row requirement. The `transformer` preset (DIM 16, the same units at
/// full width) runs a fifth of that in `make test`, enough for every coverage counter scaled
/// alike; `make bench-normalizer` (SPINEL_NORMALIZER_ROWS=10000) runs it at full length.
private let rowsPerKind = 10_000

private func rows(for preset: String) -> Int {
    if let text = ProcessInfo.processInfo.environment["SPINEL_NORMALIZER_ROWS"] {
        guard let rows = Int(text), rows >= 1_000 else {
            fatalError("SPINEL_NORMALIZER_ROWS=\(text): give a number of rows, at least 1000")
        }
        return rows
    }
    // The time-multiplexed lanes (`normalizerLanes` < DIM) run a fifth too: the lane datapath
    // is the one the DIM-lane runs check at full length.
    return preset.hasPrefix("small") && !preset.contains("lanes") ? rowsPerKind : rowsPerKind / 5
}

@Suite("Normalizer under Verilator against the golden model's normalizations", .serialized)
struct NormalizerTests {
    /// The `small` preset (DIM 4) with the normalization units (and with the affine LayerNorm),
    /// and the `transformer` preset (DIM 16).
    /// The `small-numerics-lanes` configurations (Testbenches/configs/) have 2 and 1 lanes for
    /// DIM 4: each row takes 2 or 4 cycles through them.
    static func configuration(_ name: String) throws -> AcceleratorConfig {
        if name.contains("lanes") { return try TestbenchTests.config(name) }
        guard name.hasPrefix("small") else { return .transformer }
        var config = AcceleratorConfig.small
        config.name = name == "small-affine" ? "SpinelSmallAffine" : "SpinelSmallNorm"
        config.hasNormalizations = true
        config.hasAffineLayerNorm = name == "small-affine"
        return config
    }

    @Test("Random I-GELU, LayerNorm and Softmax rows on both slots (and affine LayerNorm rows)",
          arguments: ["small", "transformer", "small-affine", "small-numerics-lanes2", "small-numerics-lanes1"])
    func randomProgram(preset: String) throws {
        let parameters = try Self.configuration(preset).parameters()
        let seed = SeededGenerator.testSeed(0x4E0A_0000 + UInt64(parameters.dim))
        let bench = try NormalizerBench(parameters, seed: seed)
        let rows = rows(for: preset)
        try bench.run(rowsPerKind: rows)
        let c = bench.coverage
        print("Normalizer_\(parameters.name), seed \(seed): \(c); \(bench.sim.cycle) cycles")
        // The coverage floors were set for 10,000 rows of each kind; shorter runs scale them.
        func atLeast(_ count: Int) -> Int { count * rows / rowsPerKind }
        #expect(bench.mismatches.isEmpty, "\(bench.mismatches.count) mismatches; seed \(seed)")
        #expect(c.igeluRows >= rows && c.layerNormRows >= rows && c.softmaxRows >= rows, "rows: \(c); seed \(seed)")
        if parameters.config.hasAffineLayerNorm {
            // Ties of RRS(n·γ, 12) need the product's low 12 bits to be exactly 0x800: about one
            // element in 4,096 with random γ, so tens per 10,000 rows (60 at the fixed seed); the
            // hand-computed AffineLayerNormTests pin the tie rule itself.
            #expect(c.affineRows >= rows && c.affineSaturated > atLeast(500) && c.affineTies > atLeast(30)
                        && c.gammaSaturated > atLeast(200) && c.parameterLoads > atLeast(1_000),
                    "affine coverage: \(c); seed \(seed)")
        }
        #expect(c.saturatedHigh > atLeast(1_000) && c.saturatedLow > atLeast(1_000) && c.layerNormTies > atLeast(500)
                    && c.reciprocalTies > atLeast(500) && c.constantRows > atLeast(200) && c.negativeMeans > atLeast(1_000)
                    && c.beyond32 > atLeast(1_000) && c.aboveMaximum > atLeast(500) && c.nonPositiveInverse > atLeast(200)
                    && c.zeroFactors > atLeast(100) && c.negativeFactors > atLeast(50) && c.extremes > atLeast(1_000)
                    && c.ragged > atLeast(1_000) && c.multiMvoutPasses > atLeast(1_000)
                    && c.slotRows.allSatisfy { $0 > atLeast(1_000) } && c.statisticsRows == parameters.dim
                    && c.configuresBesideRows > atLeast(500) && c.slotOnlyConfigures > atLeast(500)
                    && c.ownCountVariances > atLeast(20) && c.abandoned > atLeast(20),
                "coverage: \(c); seed \(seed)")
    }

    @Test("Corner values: accType extremes, constants at their extremes", arguments: ["small", "transformer", "small-numerics-lanes2"])
    func corners(preset: String) throws {
        let parameters = try Self.configuration(preset).parameters()
        let seed = SeededGenerator.testSeed(0x4E0B_0000 + UInt64(parameters.dim))
        let bench = try NormalizerBench(parameters, seed: seed)
        try bench.runCorners()
        #expect(bench.mismatches.isEmpty, "\(bench.mismatches.count) mismatches; seed \(seed)")
        #expect(bench.coverage.extremes > 1_000 && bench.coverage.zeroFactors > 0, "coverage: \(bench.coverage); seed \(seed)")
    }

    /// On DIM 4 with the affine LayerNorm (the non-affine lane dividers are the same units,
    /// narrower): Yosys takes about ten minutes on the transformer's normalizer, whose Verilog
    /// the preset gates lint as part of the whole accelerator.
    @Test("The normalizer is lint-clean, latch-free and compiles under Icarus")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(Normalizer(try Self.configuration("small-affine").parameters())))
    }

    /// The same with two lanes for DIM 4 (the beat registers, the columns' parameter registers).
    @Test("The time-multiplexed normalizer is lint-clean, latch-free and compiles under Icarus")
    func outputQualityWithFewerLanes() throws {
        try checkOutputQuality(try Elaborator.elaborate(Normalizer(try Self.configuration("small-numerics-lanes2").parameters())))
    }
}

/// What the random program reached.
struct NormalizerCoverage: CustomStringConvertible {
    var igeluRows = 0, layerNormRows = 0, softmaxRows = 0
    /// Affine LayerNorm rows, elements whose z saturates to accType, ties of RRS(n·γ, 12), γ
    /// values beyond 18 bits (saturated), and LOAD_AFFINEs sent.
    var affineRows = 0, affineSaturated = 0, affineTies = 0, parameterLoads = 0, gammaSaturated = 0
    var outputRows = 0, passRows = 0
    /// Expected output elements at inputType's maximum and minimum.
    var saturatedHigh = 0, saturatedLow = 0
    /// LayerNorm output elements exactly half-way between two integers ((x − mean)/std = k + ½,
    /// held exactly by n), and elements whose (x − mean)·inv is exactly half-way for the shift.
    var layerNormTies = 0, reciprocalTies = 0
    /// LayerNorm rows whose elements are all equal (variance 0).
    var constantRows = 0
    var negativeMeans = 0
    /// Softmax elements with z ≥ 32, above the row's maximum, and rows with qln2_inv ≤ 0.
    var beyond32 = 0, aboveMaximum = 0, nonPositiveInverse = 0
    /// Softmax rows whose sum of exponentials is 0 (factor 0), or negative.
    var zeroFactors = 0, negativeFactors = 0
    /// Elements equal to an accType extreme.
    var extremes = 0
    /// LayerNorm and Softmax rows whose length J is not a multiple of DIM.
    var ragged = 0
    /// Passes over more than one mvout.
    var multiMvoutPasses = 0
    /// Rows per statistics slot, and how many rows of a slot were used.
    var slotRows: [Int] = []
    var statisticsRows = 0
    /// CONFIG_NORMs in the same cycle as a row or a result, and slot-only ones.
    var configuresBesideRows = 0, slotOnlyConfigures = 0
    /// LayerNorm rows whose VARIANCE pass covered fewer elements than their SUM pass.
    var ownCountVariances = 0
    /// Jobs left unfinished (a later pass on the slot row starts or continues from their state).
    var abandoned = 0
    /// Cycles from a row to its result, per command and activation (output rows).
    var latencies: [String: Set<Int>] = [:]

    var description: String {
        "I-GELU \(igeluRows), LayerNorm \(layerNormRows), Softmax \(softmaxRows), affine LayerNorm \(affineRows) rows (\(outputRows) output and \(passRows) pass rows sent); "
            + "affine: \(affineSaturated) saturated, \(affineTies) ties, \(gammaSaturated) γ saturated, \(parameterLoads) LOAD_AFFINEs; "
            + "saturated \(saturatedHigh) high / \(saturatedLow) low, \(layerNormTies) output ties, \(reciprocalTies) reciprocal ties, \(constantRows) constant rows, "
            + "\(negativeMeans) negative means, \(beyond32) z ≥ 32, \(aboveMaximum) above the maximum, "
            + "\(nonPositiveInverse) with qln2_inv ≤ 0, \(zeroFactors) zero and \(negativeFactors) negative factors, \(extremes) extremes, "
            + "\(ragged) ragged rows, \(multiMvoutPasses) multi-mvout passes, slot rows \(slotRows), \(statisticsRows) statistics rows, "
            + "\(configuresBesideRows) configures beside rows, \(slotOnlyConfigures) slot-only, \(ownCountVariances) own-count variances, "
            + "\(abandoned) abandoned jobs, latencies \(latencies.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.sorted())" })"
    }
}

/// CONFIG_NORM's settings besides the slot.
struct NormalizationConstants: Equatable, CustomStringConvertible {
    var activationHigh = false
    var qln2: Int32 = 0, qln2Inverse: Int32 = 0, qb: Int32 = 0, qc: Int32 = 0

    init(activationHigh: Bool = false, qln2: Int32 = 0, qln2Inverse: Int32 = 0, qb: Int32 = 0, qc: Int32 = 0) {
        self.activationHigh = activationHigh
        self.qln2 = qln2
        self.qln2Inverse = qln2Inverse
        self.qb = qb
        self.qc = qc
    }

    init(_ settings: NormalizationSettings) {
        self.init(activationHigh: settings.activationMSB, qln2: settings.qln2, qln2Inverse: settings.qln2Inverse,
                  qb: settings.igeluQb, qc: settings.igeluQc)
    }

    var description: String { "msb \(activationHigh), qln2 \(qln2), qln2_inv \(qln2Inverse), qb \(qb), qc \(qc)" }
}

/// One job of the random program: a matrix of `rows` rows and J columns, and the mvouts
/// still to run on it.
struct NormalizerJob {
    enum Kind: String { case igelu = "I-GELU", layerNorm = "LayerNorm", softmax = "Softmax", affineLayerNorm = "affine LayerNorm" }

    /// How an mvout's data relates to the matrix.
    enum Variant { case plain, aboveMaximum, ties, fresh }

    struct Step {
        var command: NormalizationCommand
        var columns: Range<Int>
        var variant = Variant.plain
    }

    var kind: Kind
    var slot: Int
    var constants: NormalizationConstants
    var scale: UInt32
    var matrix: [[Int64]]
    var steps: [Step]
    var label: String
    var abandoned = false

    var rows: Int { matrix.count }
    var columns: Int { matrix[0].count }
}

/// The Normalizer under Verilator and the golden model, fed the same program.
final class NormalizerBench {
    let parameters: AcceleratorParameters
    let sim: VerilatorSimulation
    let dim: Int, accBits: Int, inputBits: Int, slots: Int
    var golden: GoldenModel
    var memory = SparseMemory()
    var random: SeededGenerator
    var coverage = NormalizerCoverage()
    var mismatches: [String] = []

    /// A cycle whose inputs are set and evaluated but not yet clocked.
    private var open = false
    private var openHasConfigure = false
    /// Checks the open cycle's result again (after a CONFIG_NORM joined the cycle).
    private var recheck: (() throws -> Void)?

    private static let inputAddress: UInt64 = 0x10_0000, outputAddress: UInt64 = 0x20_0000

    init(_ parameters: AcceleratorParameters, seed: UInt64) throws {
        self.parameters = parameters
        dim = parameters.dim
        accBits = parameters.config.accType.width
        inputBits = parameters.config.inputType.width
        slots = parameters.config.normalizationSlots
        sim = try VerilatorSimulation(try Elaborator.elaborate(NormalizerWithScaleUnits(parameters: parameters)))
        golden = GoldenModel(parameters: parameters)
        random = SeededGenerator(seed: seed)
        coverage.slotRows = Array(repeating: 0, count: slots)
        sim.poke("configure_valid", false)
        sim.poke("row_valid", false)
        sim.reset()
        // CONFIG_LD: DIM-element accumulator rows, scale 1.
        try execute(0, UInt64(Float(1).bitPattern) << 32 | UInt64(dim) << 16 | 1 << 8 | 1, UInt64(dim * parameters.accBytes))
    }

    // MARK: Commands

    private func execute(_ funct: UInt8, _ rs1: UInt64, _ rs2: UInt64) throws {
        try golden.execute(funct, rs1, rs2, memory: &memory)
        if let rejection = golden.lastRejection {
            throw NormalizerTestError("the golden model rejected funct \(funct) rs1 0x\(String(rs1, radix: 16)) rs2 0x\(String(rs2, radix: 16)): \(rejection); seed \(random.seed)")
        }
    }

    /// A CONFIG_NORM, to the golden model and the normalizer.
    func configureNormalization(slot: Int, constants: NormalizationConstants, setsInverse: Bool, slotOnly: Bool) throws {
        let constant = setsInverse ? constants.qln2Inverse : constants.qln2
        let flags: UInt64 = (setsInverse ? 1 << 18 : 0) | (slotOnly ? 1 << 17 : 0) | (constants.activationHigh ? 1 << 16 : 0)
        let rs1: UInt64 = UInt64(UInt32(bitPattern: constant)) << 32 | flags | UInt64(slot) << 8 | 3
        let rs2 = UInt64(UInt32(bitPattern: constants.qc)) << 32 | UInt64(UInt32(bitPattern: constants.qb))
        try execute(0, rs1, rs2)
        if slotOnly { coverage.slotOnlyConfigures += 1 }
        // With the numerics extensions a CONFIG_NORM that sets qb and qc keeps the normalizer busy
        // dividing Softmax's constant factor: it comes alone, and the next row waits (as the store
        // controller makes them).
        if let latency = PipelineTiming.normalizerConstantLatency(configNormRs1: rs1, parameters: parameters) {
            try idleCycles()
            beginCycle()
            pokeConfigure(rs1, rs2)
            sim.eval()
            try requireIdle("a CONFIG_NORM cycle")
            for _ in 0..<latency {
                beginCycle()
                sim.eval()
                if !sim.peekBool("busy") { throw NormalizerTestError("the constant division ended early; cycle \(sim.cycle), seed \(random.seed)") }
            }
            beginCycle()
            sim.eval()
            try requireIdle("after the constant division")
            return
        }

        if open && !openHasConfigure && random.chance(0.5) {
            // The same cycle as the previous row or result, which must still see the old settings.
            pokeConfigure(rs1, rs2)
            sim.eval()
            try recheck?()
            openHasConfigure = true
            coverage.configuresBesideRows += 1
            return
        }
        try idleCycles()
        beginCycle()
        pokeConfigure(rs1, rs2)
        sim.eval()
        try requireIdle("a CONFIG_NORM cycle")
        openHasConfigure = true
    }

    private func pokeConfigure(_ rs1: UInt64, _ rs2: UInt64) {
        sim.poke("configure_valid", true)
        sim.poke("configure_bits_funct", 0)
        sim.poke("configure_bits_rs1", rs1)
        sim.poke("configure_bits_rs2", rs2)
    }

    /// CONFIG_ST for an output pass (golden model only: the normalizer gets both with each row).
    private func configureStore(activation: Int, scale: UInt32) throws {
        let store = golden.state.store
        guard store.activation != activation || store.accScale.bitPattern != scale else { return }
        try execute(0, UInt64(activation) << 2 | 2, UInt64(scale) << 32 | UInt64(dim * parameters.inputBytes))
    }

    // MARK: Cycles

    /// Clocks the open cycle, if any, and opens the next with no row, no CONFIG_NORM and random
    /// row fields.
    private func beginCycle() {
        if open { sim.tick() }
        sim.poke("configure_valid", false)
        sim.poke("row_valid", false)
        if random.chance(0.3) {
            sim.poke("configure_bits_rs1", random.next())
            sim.poke("configure_bits_rs2", random.next())
            sim.poke("row_bits_data", BigInteger(words: (0..<(dim * accBits + 31) / 32).map { _ in UInt32(truncatingIfNeeded: random.next()) }))
            sim.poke("row_bits_columns", random.bits(16))
            sim.poke("row_bits_row", random.bits(8))
            sim.poke("row_bits_command", random.bits(3))
            sim.poke("row_bits_activation", random.bits(3))
            sim.poke("row_bits_scale", random.bits(32))
            sim.poke("row_bits_parameters", random.chance(0.5))
        }
        open = true
        openHasConfigure = false
        recheck = nil
    }

    private func requireIdle(_ context: @autoclosure () -> String) throws {
        if sim.peekBool("result_valid") || sim.peekBool("busy") {
            throw NormalizerTestError("\(context()): result_valid \(sim.peekBool("result_valid")), busy \(sim.peekBool("busy")) with no row in flight; cycle \(sim.cycle), seed \(random.seed)")
        }
    }

    /// Zero to two cycles without a row.
    private func idleCycles() throws {
        for _ in 0..<(random.chance(0.6) ? 0 : 1 + random.next() % 2) {
            beginCycle()
            sim.eval()
            try requireIdle("an idle cycle")
        }
    }

    /// Sends one row in a cycle of its own (after idle cycles), checks that the result comes
    /// `PipelineTiming.normalizerLatency` cycles later and, for an output row, that its first `columns`
    /// lanes equal `expected`. Leaves the result's cycle open.
    private func send(data: [Int64], columns: Int, row: Int, command: NormalizationCommand, activation: Int, scale: UInt32,
                      parameters isParameterRow: Bool = false, expected: [Int64]?, context: @escaping @autoclosure () -> String) throws {
        try idleCycles()
        beginCycle()
        sim.poke("row_valid", true)
        sim.poke("row_bits_data", Self.pack(data, width: accBits))
        sim.poke("row_bits_columns", columns)
        sim.poke("row_bits_row", row)
        sim.poke("row_bits_command", command.rawValue)
        sim.poke("row_bits_activation", activation)
        sim.poke("row_bits_scale", UInt64(scale))
        sim.poke("row_bits_parameters", isParameterRow)
        sim.eval()
        if sim.peekBool("busy") {
            throw NormalizerTestError("busy when a row arrives: \(context()); cycle \(sim.cycle), seed \(random.seed)")
        }
        if sim.peekBool("activation_high") != golden.state.normalization.activationMSB {
            throw NormalizerTestError("activation_high is \(sim.peekBool("activation_high")), CONFIG_NORM set \(golden.state.normalization.activationMSB); seed \(random.seed)")
        }

        let latency = isParameterRow ? 0 : PipelineTiming.normalizerLatency(command: command, activation: activation, parameters: parameters)
        var measured = 0
        while !sim.peekBool("result_valid") {
            measured += 1
            if measured > latency + 300 {
                throw NormalizerTestError("no result \(measured) cycles after \(context()); seed \(random.seed)")
            }
            if measured > 1 && !sim.peekBool("busy") {
                throw NormalizerTestError("busy fell \(measured) cycles after \(context()) with no result; seed \(random.seed)")
            }
            beginCycle()
            sim.eval()
        }
        let key = "\(command)" + (command == .output ? " activation \(activation)" : "")
        coverage.latencies[key, default: []].insert(measured)
        if measured != latency {
            throw NormalizerTestError("the result of \(context()) came after \(measured) cycles, PipelineTiming.normalizerLatency says \(latency); seed \(random.seed)")
        }
        guard let expected else { return }
        let check = { [self] in
            let actual = Array(Self.unpack(sim.peekWide("result_bits"), lanes: dim, width: inputBits).prefix(columns))
            if actual != expected {
                mismatches.append("\(context()): expected \(expected), got \(actual)")
                Issue.record("\(context()): expected \(expected), got \(actual); seed \(random.seed)")
                if mismatches.count >= 10 { throw NormalizerTestError("stopping after 10 mismatches; seed \(random.seed)") }
            }
        }
        try check()
        recheck = check
    }

    static func pack(_ lanes: [Int64], width: Int) -> BigInteger {
        var words = [UInt32](repeating: 0, count: (lanes.count * width + 31) / 32)
        for (lane, value) in lanes.enumerated() {
            for bit in 0..<width where UInt64(bitPattern: value) >> UInt64(bit) & 1 == 1 {
                let position = lane * width + bit
                words[position / 32] |= 1 << UInt32(position % 32)
            }
        }
        return BigInteger(words: words)
    }

    static func unpack(_ value: BigInteger, lanes: Int, width: Int) -> [Int64] {
        let words = value.words(count: (lanes * width + 31) / 32)
        return (0..<lanes).map { lane in
            var bits: UInt64 = 0
            for bit in 0..<width {
                let position = lane * width + bit
                if words[position / 32] >> UInt32(position % 32) & 1 == 1 { bits |= 1 << UInt64(bit) }
            }
            return Int64(bitPattern: bits << UInt64(64 - width)) >> Int64(64 - width)
        }
    }

    // MARK: Mvouts

    /// One accumulator mvout of `data` (rows × columns ≤ DIM) with `command`: the golden model
    /// moves the rows in and out, the normalizer gets them one by one.
    func mvout(_ data: [[Int64]], command: NormalizationCommand, storeActivation: Int, scale: UInt32,
               label: @autoclosure () -> String) throws {
        let rows = data.count, columns = data[0].count
        let outputStride = dim * parameters.inputBytes
        try writeInput(data)
        let operand = { (extra: UInt64) in UInt64(rows) << 48 | UInt64(columns) << 32 | 1 << 31 | extra }
        try execute(2, Self.inputAddress, operand(0))  // MVIN into accumulator rows 0 …
        try configureStore(activation: storeActivation, scale: scale)
        try execute(3, Self.outputAddress, operand(UInt64(command.rawValue) << 26))

        let activation = (golden.state.normalization.activationMSB ? 4 : 0) | storeActivation
        let slot = golden.state.normalization.statisticsSlot
        coverage.statisticsRows = max(coverage.statisticsRows, rows)
        let description = label()
        for r in 0..<rows {
            var lanes = golden.accumulatorRow(r)
            if random.chance(0.5) {
                // Lanes beyond `columns` are not the normalizer's business.
                for lane in columns..<dim { lanes[lane] = random.interestingInteger(width: accBits) }
            }
            var expected: [Int64]?
            if command == .output {
                let bytes = try memory.read(address: Self.outputAddress + UInt64(r * outputStride), count: columns * parameters.inputBytes)
                expected = (0..<columns).map { c in
                    var value: Int64 = 0
                    for byte in 0..<parameters.inputBytes { value |= Int64(bytes[c * parameters.inputBytes + byte]) << Int64(8 * byte) }
                    return Int64(bitPattern: UInt64(bitPattern: value) << UInt64(64 - inputBits)) >> Int64(64 - inputBits)
                }
                let high = (Int64(1) << (inputBits - 1)) - 1
                coverage.saturatedHigh += expected!.filter { $0 == high }.count
                coverage.saturatedLow += expected!.filter { $0 == -high - 1 }.count
                coverage.outputRows += 1
            } else {
                coverage.passRows += 1
            }
            coverage.slotRows[slot] += 1
            coverage.extremes += data[r].filter { $0 == accMinimum || $0 == accMaximum }.count
            try send(data: lanes, columns: columns, row: r, command: command, activation: activation, scale: scale, expected: expected,
                     context: "\(description), row \(r) of \(rows), \(command), \(columns) columns, activation \(activation), scale \(Float(bitPattern: scale)), slot \(slot), \(NormalizationConstants(self.golden.state.normalization)), data \(Array(lanes.prefix(columns)))")
        }
    }

    /// `rows` of accType values into DRAM at the input address, DIM elements apart, for an MVIN.
    func writeInput(_ rows: [[Int64]]) throws {
        for (r, values) in rows.enumerated() {
            let bytes = values.flatMap { value in (0..<parameters.accBytes).map { UInt8(truncatingIfNeeded: value >> Int64(8 * $0)) } }
            try memory.write(address: Self.inputAddress + UInt64(r * dim * parameters.accBytes), bytes: bytes)
        }
    }

    var accMinimum: Int64 { -(Int64(1) << (accBits - 1)) }
    var accMaximum: Int64 { (Int64(1) << (accBits - 1)) - 1 }
}

struct NormalizerTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: The random program

extension NormalizerBench {
    /// Runs jobs until `target` rows of each kind are done: one LayerNorm or Softmax job per
    /// statistics slot and an I-GELU job, a step of a random one at a time.
    func run(rowsPerKind target: Int) throws {
        var slotJobs = [NormalizerJob?](repeating: nil, count: slots)
        var igeluJob: NormalizerJob?
        let affine = parameters.config.hasAffineLayerNorm
        while coverage.igeluRows < target || coverage.layerNormRows < target || coverage.softmaxRows < target
                || (affine && coverage.affineRows < target) {
            for slot in 0..<slots where slotJobs[slot] == nil {
                let layerNormDone = coverage.layerNormRows >= target, softmaxDone = coverage.softmaxRows >= target
                let affineDone = !affine || coverage.affineRows >= target
                guard !(layerNormDone && softmaxDone && affineDone) else { break }
                let kinds = [(layerNormDone, 0), (softmaxDone, 1), (affineDone, 2)].filter { !$0.0 }.map(\.1)
                switch kinds[Int(random.next() % UInt64(kinds.count))] {
                case 0: slotJobs[slot] = makeLayerNormJob(slot: slot)
                case 1: slotJobs[slot] = makeSoftmaxJob(slot: slot)
                default: slotJobs[slot] = makeLayerNormJob(slot: slot, affine: true)
                }
            }
            if igeluJob == nil && coverage.igeluRows < target { igeluJob = makeIGELUJob() }

            let busySlots = (0..<slots).filter { slotJobs[$0] != nil }
            if let job = igeluJob, busySlots.isEmpty || random.chance(0.15) {
                var running = job
                try perform(&running)
                igeluJob = running.steps.isEmpty ? nil : running
                continue
            }
            guard let slot = busySlots.randomElement(using: &random) else { continue }
            var running = slotJobs[slot]!
            try perform(&running)
            if running.steps.isEmpty {
                finish(running)
                slotJobs[slot] = nil
            } else {
                slotJobs[slot] = running
            }
        }
        beginCycle()
        sim.eval()
    }

    private func finish(_ job: NormalizerJob) {
        if job.abandoned {
            coverage.abandoned += 1
            return
        }
        switch job.kind {
        case .igelu: break
        case .layerNorm:
            coverage.layerNormRows += job.rows
            coverage.constantRows += job.matrix.filter { row in row.allSatisfy { $0 == row[0] } }.count
        case .softmax: coverage.softmaxRows += job.rows
        case .affineLayerNorm: coverage.affineRows += job.rows
        }
        if job.columns % dim != 0 { coverage.ragged += job.rows }
    }

    // MARK: Jobs

    private func makeIGELUJob() -> NormalizerJob {
        let realistic = random.chance(0.6)
        var constants = NormalizationConstants(qln2: Int32(truncatingIfNeeded: random.next()), qln2Inverse: Int32(truncatingIfNeeded: random.next()))
        var spreadBits = Int(random.next() % 32)
        if realistic {
            // Software's constants for an input scale S.
            let s = inputScale(exponents: 2...12)
            constants.qb = Int32(-1.769 / (s / 2.0.squareRoot()))
            constants.qc = Int32(1 / (-0.2888 * s * s / 2))
            spreadBits = Int(log2(1 / s)) + 1 + Int(random.next() % 3)
        } else {
            constants.qb = Int32(random.interestingInteger(width: 32))
            constants.qc = Int32(random.interestingInteger(width: 32))
        }
        let rows = 1 + Int(random.next() % UInt64(dim)), columns = 1 + Int(random.next() % UInt64(dim))
        let matrix = makeMatrix(rows: rows, columns: columns, spreadBits: spreadBits, center: realistic ? 0 : nil)
        let steps = (0..<(1 + Int(random.next() % 3))).map { index in
            NormalizerJob.Step(command: .output, columns: 0..<columns, variant: index == 0 ? .plain : .fresh)
        }
        return NormalizerJob(kind: .igelu, slot: 0, constants: constants, scale: storeScale(exponents: -40...2), matrix: matrix,
                             steps: steps, label: "I-GELU \(rows)×\(columns) \(realistic ? "realistic" : "random") \(constants)")
    }

    private func makeLayerNormJob(slot: Int, affine: Bool = false) -> NormalizerJob {
        let rows = 1 + Int(random.next() % UInt64(dim)), columns = rowLength()
        let matrix = makeMatrix(rows: rows, columns: columns, spreadBits: Int(random.next() % 32), center: nil)
        var steps = pass(.sum, finishing: .mean, over: 0..<columns)
        var varianceColumns = 0..<columns
        if columns > 1 && random.chance(0.05) {
            varianceColumns = 0..<(1 + Int(random.next() % UInt64(columns - 1)))
            coverage.ownCountVariances += rows
        }
        steps += pass(.variance, finishing: .inverseStandardDeviation, over: varianceColumns)
        steps += outputs(over: 0..<columns) { random in
            let draw = random.next() % 20
            return draw < 14 ? .plain : draw < 17 ? .ties : .fresh
        }
        let kind: NormalizerJob.Kind = affine ? .affineLayerNorm : .layerNorm
        return sometimesAbandoned(NormalizerJob(kind: kind, slot: slot, constants: NormalizationConstants(activationHigh: affine),
                                                scale: storeScale(exponents: affine ? -40...8 : -3...8), matrix: matrix, steps: steps,
                                                label: "\(kind.rawValue) \(rows)×\(columns) on slot \(slot)"))
    }

    private func makeSoftmaxJob(slot: Int) -> NormalizerJob {
        let rows = 1 + Int(random.next() % UInt64(dim)), columns = rowLength()
        var constants = NormalizationConstants(activationHigh: true)
        var style = "random"
        var matrix: [[Int64]]
        let draw = random.next() % 20
        if draw < 13 {
            // Software's constants for an input scale S.
            style = "realistic"
            let s = inputScale(exponents: 1...10)
            constants.qln2 = Int32(0.693147 / s)
            constants.qln2Inverse = 65536 / constants.qln2
            constants.qb = Int32(1.353 / s)
            constants.qc = Int32(0.344 / (0.3585 * s * s))
            matrix = makeMatrix(rows: rows, columns: columns, spreadBits: Int(log2(1 / s)) + Int(random.next() % 7), center: nil)
        } else if draw < 19 {
            constants.qln2 = Int32(random.interestingInteger(width: 32))
            constants.qln2Inverse = Int32(random.interestingInteger(width: 32))
            constants.qb = Int32(random.interestingInteger(width: 32))
            constants.qc = Int32(random.interestingInteger(width: 32))
            if random.chance(0.2) { constants.qln2Inverse = 0 }
            matrix = makeMatrix(rows: rows, columns: columns, spreadBits: Int(random.next() % 32), center: nil)
        } else {
            // The maximum's exponential is qb² + qc = 0 and every other element has z ≥ 32:
            // the sum is 0, and so is the factor.
            style = "zero-sum"
            constants.qln2 = Int32(1 + random.next() % 5_000)
            constants.qln2Inverse = Int32(1 + random.next() % 100_000)
            constants.qb = Int32(random.next() % 40_000) - 20_000
            constants.qc = -constants.qb * constants.qb
            let distance = Int64((32 << 16) / Int64(constants.qln2Inverse) + 2)
            matrix = (0..<rows).map { _ in
                let maximum = accMaximum - Int64(random.next() % (1 << 20))
                var row = (0..<columns).map { _ in
                    random.chance(0.3) ? maximum : maximum - distance - Int64(random.next() % UInt64(distance * 3))
                }
                row[Int(random.next() % UInt64(columns))] = maximum
                return row
            }
        }
        var steps = pass(.maximum, finishing: .maximum, over: 0..<columns)
        steps += pass(.sumOfExponentials, finishing: .inverseSumOfExponentials, over: 0..<columns).map { step in
            var step = step
            if random.chance(0.1) { step.variant = .aboveMaximum }
            return step
        }
        steps += outputs(over: 0..<columns) { random in
            let draw = random.next() % 20
            return draw < 15 ? .plain : draw < 17 ? .aboveMaximum : .fresh
        }
        return sometimesAbandoned(NormalizerJob(kind: .softmax, slot: slot, constants: constants, scale: storeScale(exponents: -10...10),
                                                matrix: matrix, steps: steps, label: "Softmax \(rows)×\(columns) on slot \(slot), \(style) \(constants)"))
    }

    /// Sometimes a job stops before its end: a later pass on its slot rows starts afresh or
    /// continues what it left running.
    private func sometimesAbandoned(_ job: NormalizerJob) -> NormalizerJob {
        guard random.chance(0.03) else { return job }
        var job = job
        job.steps = Array(job.steps.prefix(1 + Int(random.next() % UInt64(job.steps.count - 1))))
        job.abandoned = true
        job.label += ", abandoned"
        return job
    }

    /// A row length J: often a multiple of DIM, otherwise anything up to 3·DIM.
    private func rowLength() -> Int {
        random.chance(0.3) ? dim * (1 + Int(random.next() % 2)) : 1 + Int(random.next() % UInt64(3 * dim))
    }

    /// The mvouts of one pass over `columns`: chunks of at most DIM columns (mostly DIM, as
    /// Gemmini's software does), `running` on all but the last, `finishing` on the last.
    func pass(_ running: NormalizationCommand, finishing: NormalizationCommand, over columns: Range<Int>) -> [NormalizerJob.Step] {
        let chunks = self.chunks(of: columns)
        if chunks.count > 1 { coverage.multiMvoutPasses += 1 }
        return chunks.enumerated().map { index, chunk in
            NormalizerJob.Step(command: index == chunks.count - 1 ? finishing : running, columns: chunk)
        }
    }

    /// Output mvouts over `columns`, each with a variant; sometimes one is repeated.
    func outputs(over columns: Range<Int>, variant: (inout SeededGenerator) -> NormalizerJob.Variant) -> [NormalizerJob.Step] {
        var steps = chunks(of: columns).map { NormalizerJob.Step(command: .output, columns: $0, variant: variant(&random)) }
        if random.chance(0.1), let again = steps.randomElement(using: &random) { steps.append(again) }
        return steps
    }

    private func chunks(of columns: Range<Int>) -> [Range<Int>] {
        let width = random.chance(0.6) ? dim : 1 + Int(random.next() % UInt64(dim))
        return stride(from: columns.lowerBound, to: columns.upperBound, by: width).map { $0..<min($0 + width, columns.upperBound) }
    }

    // MARK: Data

    /// An input scale S = 2^−e, e in `exponents` plus a random fraction.
    private func inputScale(exponents: ClosedRange<Int>) -> Double {
        let e = Double(exponents.lowerBound) + Double(random.next() % UInt64(1 << 20)) / Double(1 << 20) * Double(exponents.count - 1)
        return pow(2, -e)
    }

    /// A finite binary32 store scale: mostly ±2^e·(1 + f) with e in `exponents`, sometimes any
    /// finite pattern (subnormals, zeros, the largest).
    private func storeScale(exponents: ClosedRange<Int>) -> UInt32 {
        if random.chance(0.2) {
            while true {
                let bits = random.interestingFloatBits(allowNaN: false)
                if Float(bitPattern: bits).isFinite { return bits }
            }
        }
        let exponent = UInt32(127 + exponents.lowerBound + Int(random.next() % UInt64(exponents.count)))
        let sign: UInt32 = random.chance(0.15) ? 1 << 31 : 0
        return sign | exponent << 23 | UInt32(random.chance(0.3) ? 0 : random.bits(23))
    }

    /// `rows` × `columns` accType values in a style drawn per matrix: spread around a center
    /// per row (`spreadBits` wide), uniform, constant rows, rows of two neighbouring values, or
    /// extremes.
    private func makeMatrix(rows: Int, columns: Int, spreadBits: Int, center: Int64?) -> [[Int64]] {
        let style = random.next() % 10
        return (0..<rows).map { _ in
            let rowCenter = center ?? (random.chance(0.5) ? random.interestingInteger(width: accBits) : Int64(random.next() % 2_001) - 1_000)
            let constant = random.interestingInteger(width: accBits)
            return (0..<columns).map { _ in
                switch style {
                case 0, 1: return random.interestingInteger(width: accBits)
                case 2: return constant
                case 3: return clamp(constant + Int64(random.next() % 2))
                case 4:
                    let extremes = [accMinimum, accMaximum, accMinimum + 1, accMaximum - 1, 0, -1, 1]
                    return random.chance(0.8) ? extremes[Int(random.next() % 7)] : random.interestingInteger(width: accBits)
                default:
                    let bits = min(spreadBits, accBits)
                    let offset = Int64(random.bits(bits + 1)) - (Int64(1) << Int64(bits))
                    return clamp(rowCenter + offset)
                }
            }
        }
    }

    private func clamp(_ value: Int64) -> Int64 { min(max(value, accMinimum), accMaximum) }

    // MARK: Steps

    /// The settings a step needs, then its mvout.
    func perform(_ job: inout NormalizerJob) throws {
        let step = job.steps.removeFirst()
        if job.kind == .softmax && step.command == .output && random.chance(0.03) {
            // The constants are read when each pass runs: an output pass with other ones.
            job.constants.qb = Int32(truncatingIfNeeded: Int64(job.constants.qb) + Int64(random.next() % 5) - 2)
            job.constants.qc = Int32(truncatingIfNeeded: Int64(job.constants.qc) + Int64(random.next() % 5) - 2)
        }
        try prepare(job, for: step)
        let slot = golden.state.normalization.statisticsSlot
        var data = job.matrix.map { Array($0[step.columns]) }
        let statistics = golden.state.statistics[slot]
        switch step.variant {
        case .plain: break
        case .fresh:
            data = makeMatrix(rows: data.count, columns: data[0].count, spreadBits: Int(random.next() % 32), center: nil)
        case .aboveMaximum:
            for r in data.indices {
                for c in data[r].indices where random.chance(0.3) {
                    data[r][c] = clamp(statistics[r].maximum + 1 + Int64(random.bits(Int(random.next() % 33))))
                }
            }
        case .ties:
            // Two kinds of tie. The output's: mean ± (2k + 1)·std/2, exactly half-way for an even
            // std (n then holds the half exactly, and the scale meets it). The reciprocal's:
            // (x − mean)·inv with its low `shift` bits exactly one half, for
            // x − mean = (2k + 1)·2^(shift − 1 − a), a = inv's trailing zeros.
            for r in data.indices where statistics[r].phase == .layerNormReady {
                let std = statistics[r].standardDeviation
                let (inverse, shift) = Numerics.layerNormReciprocal(standardDeviation: std)
                let low = shift - 1 - inverse.trailingZeroBitCount
                for c in data[r].indices where random.chance(0.6) {
                    let odd = 2 * Int64(random.next() % 4) + 1
                    let half: Int64
                    if random.chance(0.5) && std % 2 == 0 {
                        half = std / 2 * odd
                    } else if low >= 0 && low < 40 {
                        half = odd << Int64(low)
                    } else { continue }
                    let tie = statistics[r].mean + (random.chance(0.5) ? half : -half)
                    if tie == clamp(tie) { data[r][c] = tie }
                }
            }
        }

        if job.kind == .softmax && (step.command != .maximum) {
            let inverse = Int64(golden.state.normalization.qln2Inverse)
            if inverse <= 0 { coverage.nonPositiveInverse += data.count }
            for (r, row) in data.enumerated() {
                for x in row {
                    let q = x - statistics[r].maximum
                    if q > 0 { coverage.aboveMaximum += 1 }
                    if (-q * inverse) >> 16 >= 32 { coverage.beyond32 += 1 }
                }
            }
        }
        if job.kind == .layerNorm && step.command == .output {
            for (r, row) in data.enumerated() {
                let deviation = statistics[r].standardDeviation
                let (inverse, shift) = Numerics.layerNormReciprocal(standardDeviation: deviation)
                let half = Int64(1) << Int64(shift - 1), unit = Int64(1) << Int64(LayerNormFormat.fractionBits)
                for x in row {
                    let product = (x - statistics[r].mean) * inverse
                    if product & (2 * half - 1) == half { coverage.reciprocalTies += 1 }
                    if (2 * (x - statistics[r].mean)).magnitude % UInt64(2 * deviation) == UInt64(deviation)
                        && Numerics.roundingRightShift(product, by: shift) & (unit - 1) == unit / 2 { coverage.layerNormTies += 1 }
                }
            }
        }
        if job.kind == .affineLayerNorm && step.command == .output { try loadAffine(columns: data[0].count, for: data, statistics: statistics) }

        let activation: Int
        switch job.kind {
        case .igelu: activation = 3
        case .layerNorm, .affineLayerNorm: activation = 2
        case .softmax: activation = 0
        }
        try mvout(data, command: step.command, storeActivation: activation, scale: job.scale, label: job.label)
        if job.kind == .igelu { coverage.igeluRows += data.count }

        let finished = golden.state.statistics[slot]
        for r in data.indices {
            if step.command == .inverseStandardDeviation && finished[r].mean < 0 { coverage.negativeMeans += 1 }
            if step.command == .inverseSumOfExponentials {
                if finished[r].factor == 0 { coverage.zeroFactors += 1 }
                if finished[r].factor < 0 { coverage.negativeFactors += 1 }
            }
        }
    }

    /// CONFIG_NORMs for what `step` reads: the slot, the activation MSB of an output pass, and
    /// the constants of I-GELU and of Softmax's exponentials. Sometimes a redundant one.
    private func prepare(_ job: NormalizerJob, for step: NormalizerJob.Step) throws {
        let current = NormalizationConstants(golden.state.normalization)
        let currentSlot = golden.state.normalization.statisticsSlot
        var wanted = current
        switch job.kind {
        case .igelu:
            wanted.activationHigh = false
            wanted.qb = job.constants.qb
            wanted.qc = job.constants.qc
        case .layerNorm:
            if step.command == .output { wanted.activationHigh = false }
        case .affineLayerNorm:
            if step.command == .output { wanted.activationHigh = true }
        case .softmax:
            if step.command != .maximum { wanted = job.constants }
        }
        let slot = job.kind == .igelu ? (random.chance(0.9) ? currentSlot : Int(random.next() % UInt64(slots))) : job.slot
        if wanted != current || random.chance(0.03) {
            var inverseFirst = random.chance(0.5)
            if wanted.qln2 != current.qln2 && wanted.qln2Inverse == current.qln2Inverse { inverseFirst = false }
            if wanted.qln2Inverse != current.qln2Inverse && wanted.qln2 == current.qln2 { inverseFirst = true }
            try configureNormalization(slot: slot, constants: wanted, setsInverse: inverseFirst, slotOnly: false)
            if wanted.qln2 != current.qln2 && wanted.qln2Inverse != current.qln2Inverse {
                try configureNormalization(slot: slot, constants: wanted, setsInverse: !inverseFirst, slotOnly: false)
            }
        } else if slot != currentSlot || random.chance(0.05) {
            // The constants and the MSB in the command must be ignored.
            let junk = NormalizationConstants(activationHigh: random.chance(0.5), qln2: Int32(truncatingIfNeeded: random.next()),
                                              qln2Inverse: Int32(truncatingIfNeeded: random.next()), qb: Int32(truncatingIfNeeded: random.next()),
                                              qc: Int32(truncatingIfNeeded: random.next()))
            try configureNormalization(slot: slot, constants: junk, setsInverse: random.chance(0.5), slotOnly: true)
        }
    }
}

// MARK: Corners

extension NormalizerBench {
    /// Every job of `corners` to its end, with plain data.
    func runCorners() throws {
        let extremes: [Int64] = [accMinimum, accMinimum + 1, -65_536, -1, 0, 1, 65_535, accMaximum - 1, accMaximum]
        let constants: [Int32] = [.min, .min + 1, -46_341, -1_000, -1, 0, 1, 46_341, .max]
        let scales: [Float] = [1, 0.5, -1, 0x1p-31, 0x1p-20, 3.5, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 0, -0.0]
        func scale() -> UInt32 { scales.randomElement(using: &random)!.bitPattern }
        /// `values` as rows of `width`, the last one completed with the first values.
        func rows(_ values: [Int64], width: Int) -> [[Int64]] {
            stride(from: 0, to: values.count, by: width).map { start in
                (0..<width).map { values[(start + $0) % values.count] }
            }.chunked(into: dim).first!
        }

        // I-GELU: every qb and qc with every extreme q.
        for qb in constants {
            for qc in constants {
                let job = plainJob(.igelu, slot: 0, constants: NormalizationConstants(qb: qb, qc: qc), scale: scale(),
                                   matrix: rows(extremes, width: dim), label: "I-GELU corners, qb \(qb), qc \(qc)")
                try runJob(job)
            }
        }

        // LayerNorm: the widest deviations (a 96-bit sum of squares over 3·DIM elements), constant
        // rows at both extremes, a variance truncated to 0, means truncated toward zero, one element.
        let alternating = (0..<(3 * dim)).map { $0 % 2 == 0 ? accMinimum : accMaximum }
        let layerNormRows: [[[Int64]]] = [
            [alternating, alternating.reversed(), Array(repeating: accMinimum, count: 3 * dim), Array(repeating: accMaximum, count: 3 * dim)],
            [[accMinimum, accMaximum], [accMaximum, accMinimum], [-1, 0], [-3, -4], [3, 4], [accMinimum, accMinimum + 1]],
            [[0, 0, 0, 1], [0, 0, 0, -1], [accMinimum, accMinimum, accMinimum, accMaximum], [-5, -5, -5, -5]],
            extremes.map { [$0] },
        ]
        for (index, matrix) in layerNormRows.enumerated() {
            for part in matrix.chunked(into: dim) {
                for slot in 0..<slots {
                    try runJob(plainJob(.layerNorm, slot: slot, constants: NormalizationConstants(), scale: scale(), matrix: part,
                                        label: "LayerNorm corners \(index)"))
                }
            }
        }

        // Softmax: extreme rows with the constants at their extremes (z far beyond 32, z
        // negative for qln2_inv < 0, polynomials that wrap).
        let softmaxRows: [[Int64]] = [[accMinimum, accMaximum], [accMaximum, accMaximum], [accMinimum, accMinimum], [accMinimum, 0],
                                      [0, -1], [-1, -2], [accMaximum, accMaximum - 1]]
        let inverses: [Int32] = [.min, -1, 0, 1, 2, 65_536, .max]
        for inverse in inverses {
            for qln2 in [Int32.min, 0, 1, .max] {
                for (qb, qc) in [(Int32.min, Int32.min), (0, 0), (.max, .max), (-1_000, 1_000), (1, .min), (46_340, -46_340 * 46_340)] {
                    let settings = NormalizationConstants(activationHigh: true, qln2: qln2, qln2Inverse: inverse, qb: qb, qc: qc)
                    for part in softmaxRows.chunked(into: dim) {
                        try runJob(plainJob(.softmax, slot: Int(random.next() % UInt64(slots)), constants: settings, scale: scale(),
                                            matrix: part, label: "Softmax corners \(settings)"))
                    }
                }
            }
        }
        beginCycle()
        sim.eval()
    }

    /// The passes and output mvouts of `kind` over `matrix`, with plain data.
    func plainJob(_ kind: NormalizerJob.Kind, slot: Int, constants: NormalizationConstants, scale: UInt32, matrix: [[Int64]],
                  label: String) -> NormalizerJob {
        let columns = 0..<matrix[0].count
        var steps: [NormalizerJob.Step] = []
        switch kind {
        case .igelu: break
        case .layerNorm, .affineLayerNorm:
            steps = pass(.sum, finishing: .mean, over: columns) + pass(.variance, finishing: .inverseStandardDeviation, over: columns)
        case .softmax:
            steps = pass(.maximum, finishing: .maximum, over: columns) + pass(.sumOfExponentials, finishing: .inverseSumOfExponentials, over: columns)
        }
        steps += outputs(over: columns) { _ in .plain }
        return NormalizerJob(kind: kind, slot: slot, constants: constants, scale: scale, matrix: matrix, steps: steps, label: label)
    }

    /// LOAD_AFFINE with random γ and β for `columns` lanes (lanes beyond get 0), to the golden
    /// model and as two parameter rows to the normalizer; counts the saturations and ties the
    /// coming output mvout of `data` will meet.
    func loadAffine(columns: Int, for data: [[Int64]], statistics: [RowStatistics]) throws {
        func parameter() -> Int64 {
            switch random.next() % 10 {
            case 0...2: return Int64(random.next() % 255) - 127                          // int8 parameters
            case 3...4: return random.interestingInteger(width: accBits)
            case 5: return [0, 1, -1, accMinimum, accMaximum][Int(random.next() % 5)]
            default: return Int64(random.bits(17)) - (1 << 16)                            // fixed-point gains
            }
        }
        let gamma = (0..<columns).map { _ in parameter() }, beta = (0..<columns).map { _ in parameter() }
        try writeInput([gamma, beta])
        let parameterRow = UInt64(2 * dim)  // above the rows the mvouts use
        let operand = UInt64(2) << 48 | UInt64(columns) << 32 | 1 << 31 | parameterRow
        try execute(2, Self.inputAddress, operand)
        try execute(Funct.loadAffine, 0, operand)
        coverage.parameterLoads += 1
        for (r, values) in [gamma, beta].enumerated() {
            var lanes = golden.accumulatorRow(Int(parameterRow) + r)
            for lane in columns..<dim { lanes[lane] = random.interestingInteger(width: accBits) }  // must be ignored (0)
            try send(data: lanes, columns: columns, row: r, command: .output, activation: Int(random.next() % 8), scale: UInt32(random.bits(32)),
                     parameters: true, expected: nil, context: "LOAD_AFFINE row \(r), \(columns) columns, \(values)")
        }
        let unit = Int64(1) << Int64(LayerNormFormat.gammaFractionBits)
        for (r, row) in data.enumerated() where statistics[r].phase == .layerNormReady {
            let layerNorm = LayerNormStatistics(mean: statistics[r].mean, standardDeviation: statistics[r].standardDeviation)
            for (c, x) in row.enumerated() {
                let g = Numerics.saturate(gamma[c], bits: LayerNormFormat.gammaBits)
                let (product, overflow) = layerNorm.normalize(x).multipliedReportingOverflow(by: g)
                if !overflow && product & (unit - 1) == unit / 2 { coverage.affineTies += 1 }
                let z = overflow ? Int64.max : Numerics.roundingRightShift(product, by: LayerNormFormat.gammaFractionBits) + beta[c]
                if z != clamp(z) { coverage.affineSaturated += 1 }
                if g != gamma[c] { coverage.gammaSaturated += 1 }
            }
        }
    }

    func runJob(_ job: NormalizerJob) throws {
        var running = job
        while !running.steps.isEmpty { try perform(&running) }
    }
}

extension Array {
    fileprivate func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
