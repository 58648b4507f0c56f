import Foundation
import Testing
import SpinelAccelerator
import SpinelGolden

// Spinel's numerics extensions (docs/NUMERICS.md; docs/ACCELERATOR.md "Numerics extensions") on
// the golden model: hand-computed results of the per-lane requantizer, the lane scales, the
// two-segment I-GELU, Softmax relative to the row maximum and the row-scale store; the
// two-segment I-GELU's constants against erf-GELU; every command's checks; and the machine
// without the extension refusing them.

@Suite("Golden model: numerics extensions")
struct NumericsExtensionTests {
    typealias G = Gemmini
    typealias P = NormalizationPassTests

    /// `small` (DIM 4) with the normalization units, the affine LayerNorm and the extensions.
    static var config: AcceleratorConfig {
        var config = AffineLayerNormTests.config
        config.hasNumericsExtensions = true
        return config
    }

    static func lane(_ funct: UInt8, _ row: Int, cols: Int, rows: Int = 1, flags: UInt32 = 0) -> Encoded {
        Encoded(funct: funct, rs1: 0, rs2: G.operand(G.acc(row) | flags, cols: cols, rows: rows))
    }
    static func loadRequantizer(_ row: Int, cols: Int) -> Encoded { lane(Funct.loadRequantizer, row, cols: cols) }
    static func loadLaneScales(_ row: Int, cols: Int) -> Encoded { lane(Funct.loadLaneScales, row, cols: cols) }

    /// CONFIG_ST with the requantizer's K and the scale source (spinel_config_st).
    static func configSt(stride: UInt64, activation: Int = 0, accScale: Float = 1, shift: Int = 0,
                         source: NumericsExtensions.ScaleSource = .store, rawSource: Int? = nil) -> Encoded {
        var command = G.configSt(stride: stride, activation: activation, accScale: accScale)
        command.rs1 |= UInt64(shift) << UInt64(NumericsExtensions.requantizerShiftLow)
            | UInt64(rawSource ?? source.rawValue) << UInt64(NumericsExtensions.scaleSourceLow)
        return command
    }

    /// The two CONFIG_NORMs of the two-segment I-GELU's constants (spinel_config_igelu2).
    static func configGELU(_ c: TwoSegmentGELUConstants) -> [Encoded] {
        func set(_ set: NumericsExtensions.ConstantSet, _ qb: Int64, _ qc: Int64, _ other: Int64) -> Encoded {
            Encoded(funct: 0, rs1: UInt64(UInt32(truncatingIfNeeded: other)) << 32 | UInt64(set.rawValue) << UInt64(NumericsExtensions.constantSetLow) | 3,
                    rs2: UInt64(UInt32(truncatingIfNeeded: qc)) << 32 | UInt64(UInt32(truncatingIfNeeded: qb)))
        }
        return [set(.geluFirstSegment, c.qb1, c.qc1, c.qt), set(.geluSecondSegment, c.qb2, c.qc2, c.q1)]
    }

    static func output(_ machine: Machine, at address: UInt64 = 0x1000, cols: Int = 4) -> [Int64] {
        machine.get(at: address, rows: 1, cols: cols, rowStride: cols, elementBytes: 1)[0]
    }

    static func expectNoError(_ machine: Machine, _ comment: Comment? = nil) {
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error)) \(comment?.rawValue ?? "")")
    }

    // MARK: Requantizer

    /// x' = sat32(RRS(x·M, K)) before the activation: M = [3, 3, 1, 1], K = 2 on [100, −100, 3, 5]
    /// gives [75, −75, 1 (0.75), 1 (1.25)]; M = 1, K = 2 on [2, 6, −2, −6] meets exact halves:
    /// [0, 2, 0, −2] (ties to even).
    @Test func requantizerRoundsAndTiesToEven() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[100, -100, 3, 5], [2, 6, -2, -6], [3, 3, 1, 1], [1, 1, 1, 1]], row: 0)
        try machine.run(Self.loadRequantizer(2, cols: 4), Self.configSt(stride: 4, shift: 2), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.loadRequantizer(3, cols: 4), G.mvout(0x2000, G.acc(1), cols: 4, rows: 1))
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [75, -75, 1, 1])
        #expect(Self.output(machine, at: 0x2000) == [0, 2, 0, -2])
    }

    /// M saturates into [0, 65535] at LOAD_REQUANT; x' saturates to int32 before ACC_SCALE: at
    /// the scale 2^−40, x = ±(2^31 − 1)·65535 >> 1 would give ±64, the saturated ±2^31 gives 0.
    /// K = 47 keeps (2^31 − 1)·65535 / 2^47 ≈ 0.99998 → 1 (shown at scale 1). Lanes beyond the
    /// columns get M = 0.
    @Test func requantizerSaturatesAndKExtremes() throws {
        var machine = try Machine(Self.config)
        let big = Int64(Int32.max), small = Int64(Int32.min)
        try machine.loadAccumulator([[big, small, 7, 7], [70_000, 65_535, -5, 9]], row: 0)
        try machine.run(Self.loadRequantizer(1, cols: 3))
        #expect(machine.model.state.normalization.requantizerMultipliers == [65_535, 65_535, 0, 0])
        try machine.run(Self.configSt(stride: 4, accScale: 0x1p-40, shift: 1), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.configSt(stride: 4, accScale: 1, shift: 47), G.mvout(0x2000, G.acc(0), cols: 4, rows: 1))
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [0, 0, 0, 0])
        #expect(Self.output(machine, at: 0x2000) == [1, -1, 0, 0])
        #expect(Numerics.requantize(big, multiplier: 65_535, shift: 1, accumulatorBits: 32) == big)
        #expect(Numerics.requantize(small, multiplier: 65_535, shift: 1, accumulatorBits: 32) == small)
    }

    /// The requantizer feeds LayerNorm's statistics passes too: M = [2, 2, 2, 8], K = 1 turns
    /// [97, 99, 101, 103] into [97, 99, 101, 412]: mean trunc(709 / 4) = 177, Σ(x − mean)² =
    /// 73,485, var 18,371, std 135; at scale 10 the outputs are rne(10·(x − 177)/135) =
    /// [−6, −6, −6, 17] (without it: [−15, −5, 5, 15]).
    @Test func requantizerBeforeLayerNormStatistics() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[97, 99, 101, 103], [2, 2, 2, 8]], row: 0)
        try machine.run(Self.loadRequantizer(1, cols: 4), Self.configSt(stride: 4, activation: 2, accScale: 10, shift: 1),
                        G.mvout(0, P.pass(0, .mean), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseStandardDeviation), cols: 4, rows: 1),
                        G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.configSt(stride: 4, activation: 2, accScale: 10),
                        G.mvout(0, P.pass(0, .mean), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseStandardDeviation), cols: 4, rows: 1),
                        G.mvout(0x2000, G.acc(0), cols: 4, rows: 1))
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [-6, -6, -6, 17])
        #expect(Self.output(machine, at: 0x2000) == [-15, -5, 5, 15])
    }

    /// A full-width mvout (bit 29) bypasses the requantizer.
    @Test func fullWidthReadsBypassTheRequantizer() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[1000, -1000, 3, 5]], row: 0)
        try machine.run(Self.configSt(stride: 16, shift: 5), G.mvout(0x1000, G.acc(0, fullWidth: true), cols: 4, rows: 1))
        Self.expectNoError(machine)
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 16, elementBytes: 4) == [[1000, -1000, 3, 5]])
    }

    // MARK: Lane scales

    /// ACC_SCALE with lane j's scale: [5, 10, 10, 10] by [0.5, −1, 2.5, 100] is [2 (2.5 to even),
    /// −10, 25, 127]; with ReLU [2, 0, 25, 127]; before any LOAD_LANE_SCALES every scale is 1.0;
    /// lanes beyond the columns get 0.0.
    @Test func laneScales() throws {
        var machine = try Machine(Self.config)
        let bits = [Float(0.5), -1, 2.5, 100].map { Int64(Int32(bitPattern: $0.bitPattern)) }
        try machine.loadAccumulator([[5, 10, 10, 10], bits], row: 0)
        try machine.run(Self.configSt(stride: 4, source: .lane), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.loadLaneScales(1, cols: 4), G.mvout(0x2000, G.acc(0), cols: 4, rows: 1),
                        Self.configSt(stride: 4, activation: 1, source: .lane), G.mvout(0x3000, G.acc(0), cols: 4, rows: 1),
                        Self.loadLaneScales(1, cols: 2), G.mvout(0x4000, G.acc(0), cols: 4, rows: 1))
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [5, 10, 10, 10])
        #expect(Self.output(machine, at: 0x2000) == [2, -10, 25, 127])
        #expect(Self.output(machine, at: 0x3000) == [2, 0, 25, 127])
        #expect(Self.output(machine, at: 0x4000) == [2, 0, 0, 0])
    }

    /// A NaN or infinite lane scale fails LOAD_LANE_SCALES with invalidScale and changes nothing;
    /// beyond the columns it is not read.
    @Test func nonFiniteLaneScales() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            var machine = try Machine(Self.config)
            try machine.loadAccumulator([[Int64(Float(2).bitPattern), Int64(Int32(bitPattern: bad.bitPattern)), 0, 0]], row: 0)
            try machine.run(Self.loadLaneScales(0, cols: 2))
            #expect(machine.model.error?.code == .invalidScale, "\(bad)")
            #expect(machine.model.state.normalization.laneScales.isEmpty)
            var other = try Machine(Self.config)
            try other.loadAccumulator([[Int64(Float(2).bitPattern), Int64(Int32(bitPattern: bad.bitPattern)), 0, 0]], row: 0)
            try other.run(Self.loadLaneScales(0, cols: 1))
            Self.expectNoError(other, "\(bad) beyond the columns")
            #expect(other.model.state.normalization.laneScales == [2, 0, 0, 0])
        }
    }

    // MARK: Two-segment I-GELU

    static let smallGELU = TwoSegmentGELUConstants(qb1: -10, qc1: 5, qb2: -8, qc2: 3, qt: 4, q1: 100)

    /// With qb1 −10, qc1 5, qb2 −8, qc2 3, qt 4, q1 100: q = 2 → c 2 < qt: (2 − 10)² + 5 = 69,
    /// y = 2·169 = 338; q = −3 → (−7)² + 5 = 54, y = −3·(−54 + 100) = −138; q = 6 → c 6 ≥ qt:
    /// (6 − 8)² + 3 = 7, y = 642; q = 20 → c = min(20, 8) = 8: 3, y = 2060; q = 4 → c = qt, the
    /// second segment: 19, y = 476; q = 0 → 0.
    static let geluTable: [(q: Int64, y: Int64)] = [(2, 338), (-3, -138), (6, 642), (20, 2060), (4, 476), (0, 0), (-20, -20 * (-3 + 100))]

    @Test func twoSegmentGELUHandComputed() throws {
        for (q, y) in Self.geluTable {
            #expect(Numerics.twoSegmentGELU(q, constants: Self.smallGELU, accumulatorBits: 32) == y, "q \(q)")
        }
        // Through the machine: CONFIG_ST I-GELU with the MSB, scale 1/8: 338/8 = 42.25 → 42,
        // −17.25 → −17, 80.25 → 80, 257.5 → 127 (saturated), 59.5 → 60 (tie to even).
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[2, -3, 6, 20], [4, 0, 0, 0]], row: 0)
        try machine.run(Self.configGELU(Self.smallGELU) + [G.configNorm(actMSB: true), Self.configSt(stride: 4, activation: 3, accScale: 0.125),
                        G.mvout(0x1000, G.acc(0), cols: 4, rows: 1), G.mvout(0x2000, G.acc(1), cols: 2, rows: 1)])
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [42, -17, 80, 127])
        #expect(machine.get(at: 0x2000, rows: 1, cols: 2, rowStride: 2, elementBytes: 1) == [[60, 0]])
    }

    /// The constant sets change only their three constants: the slot, the MSB and Gemmini's
    /// constants stay.
    @Test func constantSetsChangeOnlyTheirConstants() throws {
        var machine = try Machine(Self.config)
        try machine.run([G.configNorm(qConst: 16384, qConstType: 1, actMSB: true, statID: 1, igeluQb: 3, igeluQc: 2)] + Self.configGELU(Self.smallGELU))
        Self.expectNoError(machine)
        let settings = machine.model.state.normalization
        #expect(settings.twoSegmentGELU == Self.smallGELU)
        #expect(settings.statisticsSlot == 1 && settings.activationMSB && settings.qln2Inverse == 16384 && settings.igeluQb == 3 && settings.igeluQc == 2)
    }

    /// The software constants of docs/NUMERICS.md against erf-GELU (an independent float model): for
    /// input units 0.006 to 0.05 (below about 0.005 y passes int32 at |x| = 4 — what the
    /// requantizer is for), y·S·A/2 over x in [−4, 4] stays within RMS 0.007 and max 0.015 of
    /// x·Φ(x) (docs/NUMERICS.md: RMS 0.0027, max 0.011 on its own inputs), and below I-GELU's RMS
    /// (activation 3 with Gemmini's software constants, unit S·A'/2, A' = −0.2888·S'²).
    @Test(arguments: [0.006, 0.01, 0.02, 0.05])
    func twoSegmentGELUAgainstErfGELU(_ s: Double) {
        let constants = TwoSegmentGELUConstants(inputScale: s)
        let sPrime = s / 2.0.squareRoot(), a = -0.2284088 * sPrime * sPrime, aIGELU = -0.2888 * sPrime * sPrime
        let qb = Int64(-1.769 / sPrime), qc = Int64(1 / aIGELU)
        var squares = 0.0, igeluSquares = 0.0, worst = 0.0, count = 0.0
        for step in -400...400 {
            let q = Int64((Double(step) / 100 / s).rounded())
            let x = Double(q) * s
            let exact = x * 0.5 * (1 + erf(x / 2.0.squareRoot()))
            let approximate = Double(Numerics.twoSegmentGELU(q, constants: constants, accumulatorBits: 32)) * s * a / 2
            let igelu = Double(Numerics.igelu(q, qb: qb, qc: qc, accumulatorBits: 32)) * s * aIGELU / 2
            squares += (approximate - exact) * (approximate - exact)
            igeluSquares += (igelu - exact) * (igelu - exact)
            worst = max(worst, abs(approximate - exact))
            count += 1
        }
        let rms = (squares / count).squareRoot(), igeluRMS = (igeluSquares / count).squareRoot()
        #expect(rms < 0.007 && worst < 0.015 && rms < igeluRMS, "S \(s): RMS \(rms) (I-GELU \(igeluRMS)), max \(worst)")
    }

    // MARK: Softmax relative to the maximum and the row scale

    /// Constants qln2 4, qln2_inv 16384, qb 3, qc 2: iexp(0) = 11, c = fp32(127) ⊘ 11. Row
    /// [0, −1, −5, −200]: e = [11, 6, 3, 0] → out = rne(e·c) = [127, 69, 35, 0]; Σ = 231,
    /// ρ = 1/231. The P·V row [231, 462, −231, 1000] stored with the row scale at acc_scale 1:
    /// [1, 2, −1, 4]; at acc_scale 0.5: [0 (0.5 to even), 1, 0, 2].
    @Test func softmaxRelativeToTheMaximumAndTheRowScale() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[0, -1, -5, -200], [231, 462, -231, 1000]], row: 0)
        try machine.run(P.softmaxConstants + [Self.configSt(stride: 4, activation: 1),
                        G.mvout(0, P.pass(0, .maximum), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseSumOfExponentials), cols: 4, rows: 1),
                        G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        G.configNorm(actMSB: false), Self.configSt(stride: 4, source: .row), G.mvout(0x2000, G.acc(1), cols: 4, rows: 1),
                        Self.configSt(stride: 4, accScale: 0.5, source: .row), G.mvout(0x3000, G.acc(1), cols: 4, rows: 1)])
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [127, 69, 35, 0])
        #expect(machine.model.state.statistics[0][0].factor == Float(1) / 231)
        #expect(Self.output(machine, at: 0x2000) == [1, 2, -1, 4])
        #expect(Self.output(machine, at: 0x3000) == [0, 1, 0, 2])
        let reference = Numerics.softmaxRelativeToMaximum([0, -1, -5, -200], constants: NormalizationArithmeticTests.small, accumulatorBits: 32, outputBits: 8)
        #expect(reference?.outputs == [127, 69, 35, 0] && reference?.rho == Float(1) / 231)
    }

    /// Activation 4 keeps Gemmini's result on a configuration with the extensions: the same row
    /// gives out = rne(e·127/20) = [70, 38, 19, 0].
    @Test func activationFourIsUnchanged() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[0, -1, -5, -200]], row: 0)
        try machine.run(P.softmaxConstants + [Self.configSt(stride: 4, activation: 0),
                        G.mvout(0, P.pass(0, .maximum), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseSumOfExponentials), cols: 4, rows: 1),
                        G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)])
        Self.expectNoError(machine)
        #expect(Self.output(machine) == [70, 38, 19, 0])
    }

    // MARK: Checks

    static let failures: [(String, [Encoded], AcceleratorError.Code)] = [
        ("LOAD_REQUANT of two rows", [lane(Funct.loadRequantizer, 16, cols: 4, rows: 2)], .illegalOperand),
        ("LOAD_REQUANT of no columns", [loadRequantizer(16, cols: 0)], .illegalOperand),
        ("LOAD_REQUANT beyond DIM", [loadRequantizer(16, cols: 5)], .tooManyColumns),
        ("LOAD_REQUANT from the scratchpad", [Encoded(funct: Funct.loadRequantizer, rs1: 0, rs2: G.operand(16, cols: 4, rows: 1))], .illegalOperand),
        ("LOAD_REQUANT with a normalization command", [lane(Funct.loadRequantizer, 16, cols: 4, flags: 1 << 26)], .illegalOperand),
        ("LOAD_LANE_SCALES full width", [lane(Funct.loadLaneScales, 16, cols: 4, flags: 1 << 29)], .illegalOperand),
        ("LOAD_LANE_SCALES past the accumulator", [loadLaneScales(256, cols: 4)], .localAddressOutOfRange),
        ("K 48", [configSt(stride: 4, shift: 48)], .unsupportedField),
        ("K 63", [configSt(stride: 4, shift: 63)], .unsupportedField),
        ("scale source 3", [configSt(stride: 4, rawSource: 3)], .unsupportedField),
        ("constant set 3", [Encoded(funct: 0, rs1: 3 << 19 | 3, rs2: 0)], .unsupportedField),
        ("lane scales with I-GELU", [configSt(stride: 4, activation: 3, source: .lane), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)], .unsupportedField),
        ("row scale with LayerNorm", [configSt(stride: 4, activation: 2, source: .row), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)], .unsupportedField),
        ("row scale without Softmax statistics", [configSt(stride: 4, source: .row), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)], .illegalOperand),
        ("activation 5 without Softmax statistics",
         [G.configNorm(actMSB: true), configSt(stride: 4, activation: 1), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)], .illegalOperand),
    ]

    @Test(arguments: failures)
    func checks(_ name: String, _ commands: [Encoded], _ code: AcceleratorError.Code) throws {
        var machine = try Machine(Self.config)
        #expect(machine.model.parameters.accRows == 256, "the last-row case assumes 256 accumulator rows")
        try machine.run(commands)
        #expect(machine.model.error?.code == code, "\(name): \(String(describing: machine.model.error))")
        #expect(machine.model.state.normalization.requantizerMultipliers.isEmpty && machine.model.state.normalization.laneScales.isEmpty,
                "\(name): a failing command changed a lane register")
    }

    /// Without `hasNumericsExtensions` (but with the affine LayerNorm) every piece is refused.
    static let withoutTheExtension: [(String, [Encoded], AcceleratorError.Code)] = [
        ("LOAD_REQUANT", [loadRequantizer(16, cols: 4)], .unknownCommand),
        ("LOAD_LANE_SCALES", [loadLaneScales(16, cols: 4)], .unknownCommand),
        ("K", [configSt(stride: 4, shift: 1)], .unsupportedField),
        ("the lane scales", [configSt(stride: 4, source: .lane)], .unsupportedField),
        ("constant set 1", [Encoded(funct: 0, rs1: 1 << 19 | 3, rs2: 0)], .unsupportedField),
        ("activation 5", [G.configNorm(actMSB: true), configSt(stride: 4, activation: 1), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)], .unsupportedField),
        ("activation 7", [G.configNorm(actMSB: true), configSt(stride: 4, activation: 3), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)], .unsupportedField),
    ]

    @Test(arguments: withoutTheExtension)
    func refusedWithoutTheExtension(_ name: String, _ commands: [Encoded], _ code: AcceleratorError.Code) throws {
        var machine = try Machine(AffineLayerNormTests.config)
        try machine.run(commands)
        #expect(machine.model.error?.code == code, "\(name): \(String(describing: machine.model.error))")
    }

    /// The configuration rules: the extensions need the affine LayerNorm and fp32 scales.
    @Test func configurationRules() throws {
        var config = P.config
        config.hasNumericsExtensions = true
        #expect(throws: (any Error).self) { try config.parameters() }
        var noScale = Self.config
        noScale.accScale = .none
        #expect(throws: (any Error).self) { try noScale.parameters() }
        _ = try Self.config.parameters()
    }
}
