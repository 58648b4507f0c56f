import Testing
import SpinelAccelerator
import SpinelGolden

// The affine LayerNorm extension (docs/ACCELERATOR.md, "Affine LayerNorm") on the golden model:
// LOAD_AFFINE's checks, hand-computed outputs (γ in Q.12 and β in units of 2^−16, ties of both
// roundings, int32 saturation of z before the scale, γ saturated to 18 bits, lanes beyond
// LOAD_AFFINE's columns), and activation 2 unchanged by the extension.

@Suite("Golden model: affine LayerNorm")
struct AffineLayerNormTests {
    typealias G = Gemmini
    typealias P = NormalizationPassTests

    /// `small` (DIM 4) with the normalization units and the affine LayerNorm.
    static var config: AcceleratorConfig {
        var config = P.config
        config.hasAffineLayerNorm = true
        return config
    }

    static func loadAffine(_ row: Int, cols: Int, rows: Int = 2, flags: UInt32 = 0) -> Encoded {
        Encoded(funct: Funct.loadAffine, rs1: 0, rs2: G.operand(G.acc(row) | flags, cols: cols, rows: rows))
    }

    /// The two LayerNorm statistics passes over a 6-element row (columns 0–3 at accumulator row
    /// 0, 4–5 at row 8), then CONFIG_ST LayerNorm with the MSB (activation 6).
    static func statistics(scale: Float) -> [Encoded] {
        [G.mvout(0, P.pass(0, .sum), cols: 4, rows: 1), G.mvout(0, P.pass(8, .mean), cols: 2, rows: 1),
         G.mvout(0, P.pass(0, .variance), cols: 4, rows: 1), G.mvout(0, P.pass(8, .inverseStandardDeviation), cols: 2, rows: 1),
         G.configNorm(actMSB: true), G.configSt(stride: 6, activation: 2, accScale: scale)]
    }

    @Test func handComputedRowOverTwoMvouts() throws {
        var machine = try Machine(Self.config)
        // mean 100, var trunc(20 / 6) = 3, std 1; x − mean = [−3, −1, 1, 3 | 0, 0], n = (x − mean)·2^16.
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        // γ (Q.12), β (units of 2^−16) of columns 0–3 at rows 16–17, of columns 4–5 at rows 20–21:
        // γ = [2, −3, 5, 0 | 7, 7], β = [10, 0, −7, 1000 | −255, 3] in output units.
        let one: Int64 = 4096, unit: Int64 = 65536
        try machine.loadAccumulator([[2 * one, -3 * one, 5 * one, 0], [10 * unit, 0, -7 * unit, 1000 * unit]], row: 16)
        try machine.loadAccumulator([[7 * one, 7 * one, 0, 0], [-255 * unit, 3 * unit, 0, 0]], row: 20)
        try machine.run(Self.statistics(scale: 0.5))
        try machine.run(Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.loadAffine(20, cols: 2), G.mvout(0x1004, G.acc(8), cols: 2, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        // z = [−6 + 10, 3 + 0, 5 − 7, 0 + 1000 | −255, 3]; times 0.5 with ties to even, saturated to int8.
        #expect(machine.get(at: 0x1000, rows: 1, cols: 6, rowStride: 6, elementBytes: 1) == [[2, 2, -1, 127, -128, 2]])
    }

    @Test func tiesRoundToEven() throws {
        var machine = try Machine(Self.config)
        // [0, 1, 4, 5]: mean trunc(2.5) = 2, x − mean = [−2, −1, 2, 3], var trunc(18 / 4) = 4, std 2,
        // inv 2^24, shift 9: n = (x − mean)·2^15. γ = [1, 1, 3, 5] in Q.12, β = 0.
        try machine.loadAccumulator([[0, 1, 4, 5]], row: 0)
        try machine.loadAccumulator([[4096, 4096, 3 * 4096, 5 * 4096], [0, 0, 0, 0]], row: 16)
        try machine.run(G.mvout(0, P.pass(0, .mean), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseStandardDeviation), cols: 4, rows: 1),
                        G.configNorm(actMSB: true), G.configSt(stride: 4, activation: 2, accScale: 1),
                        Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        // z·2^−16 = (x − mean)·γ / std = [−1, −0.5, 3, 7.5] → [−1, 0, 3, 8].
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 4, elementBytes: 1) == [[-1, 0, 3, 8]])
    }

    /// RRS(n·γ, 12) meets exact halves: [95, 99, 101, 105] has std 3, n = [−109227, −21845, 21845,
    /// 109227]; γ = 0.5 (2048) halves them: −54613.5 → −54614, −10922.5 → −10922, 10922.5 →
    /// 10922, 54613.5 → 54614 (to even; half up would give −54613 and 10923). β brings them near
    /// 0 and the scale 2^16 shows z itself.
    @Test func gainTiesRoundToEven() throws {
        var machine = try Machine(Self.config)
        try machine.loadAccumulator([[95, 99, 101, 105]], row: 0)
        try machine.loadAccumulator([[2048, 2048, 2048, 2048], [54560, 10880, -10880, -54560]], row: 16)
        try machine.run(G.mvout(0, P.pass(0, .mean), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseStandardDeviation), cols: 4, rows: 1),
                        G.configNorm(actMSB: true), G.configSt(stride: 4, activation: 2, accScale: 65536),
                        Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 4, elementBytes: 1) == [[-54, -42, 42, 54]])
    }

    /// z saturates to int32 before ACC_SCALE, and γ to 18 bits at LOAD_AFFINE. Statistics of
    /// [97, 99, 101, 103, 100, 100] (mean 100, std 1: n = (x − mean)·2^16), then an output pass
    /// over other values of row 0. With the scale 2^−10 (2^−26 on z) a saturated z gives ±32:
    /// lane 1: n = 2^31, γ 1, β 2^31 − 1, unsaturated 2^32 − 1 would give 64; lane 2 the same,
    /// negative; lanes 0 and 3: |n·γ| beyond 2^63 (γ = Int32.max → 2^17 − 1, Int32.min → −2^17).
    @Test func zSaturatesToTheAccumulatorType() throws {
        var machine = try Machine(Self.config)
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        let big = Int64(Int32.max), small = Int64(Int32.min)
        try machine.loadAccumulator([[big, 4096, 4096, small], [0, big, small, 0]], row: 16)
        try machine.run(Self.statistics(scale: 0x1p-10))
        try machine.loadAccumulator([[small, 100 + 32768, 100 - 32768, big]], row: 0)
        try machine.run(Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.model.state.normalization.affineGamma == [131_071, 4096, 4096, -131_072])
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 6, elementBytes: 1) == [[-32, 32, -32, -32]])
    }

    /// Lanes beyond LOAD_AFFINE's columns get γ = β = 0; before any LOAD_AFFINE every lane has
    /// γ = 1.0, β = 0 (activation 2's values).
    @Test func lanesBeyondTheColumnsAndTheResetValues() throws {
        var machine = try Machine(Self.config)
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        try machine.loadAccumulator([[8192, 8192, 8192, 8192], [5 * 65536, 5 * 65536, 5 * 65536, 5 * 65536]], row: 16)  // γ 2, β 5
        try machine.run(Self.statistics(scale: 1))
        try machine.run(G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.loadAffine(16, cols: 2), G.mvout(0x2000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 6, elementBytes: 1) == [[-3, -1, 1, 3]])
        #expect(machine.get(at: 0x2000, rows: 1, cols: 4, rowStride: 6, elementBytes: 1) == [[-1, 3, 0, 0]])
    }

    /// Activation 2 on random rows gives the same bytes with and without the extension, and
    /// docs/NUMERICS.md's values (`Numerics.layerNormOutput`).
    @Test func activationTwoIsUnchanged() throws {
        var random = SplitMix64(state: 0xAFF1)
        for _ in 0..<200 {
            let row = (0..<6).map { _ in Int64.random(in: -100_000...100_000, using: &random) }
            var outputs: [[[Int64]]] = []
            for config in [P.config, Self.config] {
                var machine = try Machine(config)
                try P.loadRows([row], into: &machine)
                try machine.run(G.configSt(stride: 6, activation: 2, accScale: 0.25))
                try machine.run(P.layerNormPasses(rows: 1))
                #expect(machine.model.error == nil)
                outputs.append(machine.get(at: 0x1000, rows: 1, cols: 6, rowStride: 6, elementBytes: 1))
            }
            #expect(outputs[0] == outputs[1] && outputs[0] == [Numerics.layerNormOutput(row, scale: 0.25, outputBits: 8)], "row \(row)")
        }
    }

    static let failures: [(String, Encoded, AcceleratorError.Code)] = [
        ("more columns than DIM", loadAffine(16, cols: 5), .tooManyColumns),
        ("one row", loadAffine(16, cols: 4, rows: 1), .illegalOperand),
        ("no columns", loadAffine(16, cols: 0), .illegalOperand),
        ("the scratchpad", Encoded(funct: Funct.loadAffine, rs1: 0, rs2: G.operand(16, cols: 4, rows: 2)), .illegalOperand),
        ("full width (bit 29)", loadAffine(16, cols: 4, flags: 1 << 29), .illegalOperand),
        ("a normalization command", loadAffine(16, cols: 4, flags: 1 << 26), .illegalOperand),
        ("the accumulator's last row", loadAffine(255, cols: 4), .localAddressOutOfRange),
    ]

    @Test(arguments: failures)
    func loadAffineChecks(_ name: String, _ command: Encoded, _ code: AcceleratorError.Code) throws {
        var machine = try Machine(Self.config)
        #expect(machine.model.parameters.accRows == 256, "the last-row case assumes 256 accumulator rows")
        try machine.run(command)
        #expect(machine.model.error?.code == code, "\(name): \(String(describing: machine.model.error))")
        #expect(machine.model.state.normalization.affineGamma.isEmpty, "\(name): a failing LOAD_AFFINE changed γ")
    }

    @Test func withoutTheExtension() throws {
        var machine = try Machine(P.config)
        try machine.run(Self.loadAffine(16, cols: 4))
        #expect(machine.model.error?.code == .unknownCommand)
        // Activation 6 on an output mvout: unsupportedField.
        var other = try Machine(P.config)
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &other)
        try other.run(Self.statistics(scale: 1) + [G.mvout(0x1000, G.acc(0), cols: 4, rows: 1)])
        #expect(other.model.error?.code == .unsupportedField)
    }

    @Test func activationSixNeedsLayerNormStatistics() throws {
        var machine = try Machine(Self.config)
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        try machine.run(G.configNorm(actMSB: true), G.configSt(stride: 6, activation: 2), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error?.code == .illegalOperand)
    }
}
