import Testing
import SpinelAccelerator
import SpinelGolden

// The affine LayerNorm extension (docs/ACCELERATOR.md, "Affine LayerNorm") on the golden model:
// LOAD_AFFINE's checks, hand-computed outputs (rne ties, int32 saturation of z before the scale,
// lanes beyond LOAD_AFFINE's columns), and activation 2 unchanged by the extension.

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
        Encoded(funct: SpinelGolden.Funct.loadAffine, rs1: 0, rs2: G.operand(G.acc(row) | flags, cols: cols, rows: rows))
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
        // mean 100, var trunc(20 / 6) = 3, std 1; x − mean = [−3, −1, 1, 3 | 0, 0].
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        // γ, β of columns 0–3 at rows 16–17, of columns 4–5 at rows 20–21.
        try machine.loadAccumulator([[2, -3, 5, 0], [10, 0, -7, 1000]], row: 16)
        try machine.loadAccumulator([[7, 7, 0, 0], [-255, 3, 0, 0]], row: 20)
        try machine.run(Self.statistics(scale: 0.5))
        try machine.run(Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.loadAffine(20, cols: 2), G.mvout(0x1004, G.acc(8), cols: 2, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        // z = [−6 + 10, 3 + 0, 5 − 7, 0 + 1000 | −255, 3]; times 0.5 with ties to even, saturated to int8.
        #expect(machine.get(at: 0x1000, rows: 1, cols: 6, rowStride: 6, elementBytes: 1) == [[2, 2, -1, 127, -128, 2]])
    }

    @Test func tiesRoundToEven() throws {
        var machine = try Machine(Self.config)
        // [0, 1, 4, 5]: mean trunc(2.5) = 2, x − mean = [−2, −1, 2, 3], var trunc(18 / 4) = 4, std 2.
        try machine.loadAccumulator([[0, 1, 4, 5]], row: 0)
        try machine.loadAccumulator([[1, 1, 3, 5], [0, 0, 0, 0]], row: 16)
        try machine.run(G.mvout(0, P.pass(0, .mean), cols: 4, rows: 1), G.mvout(0, P.pass(0, .inverseStandardDeviation), cols: 4, rows: 1),
                        G.configNorm(actMSB: true), G.configSt(stride: 4, activation: 2, accScale: 1),
                        Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        // (x − mean)·γ / std = [−1, −0.5, 3, 7.5] → [−1, 0, 3, 8].
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 4, elementBytes: 1) == [[-1, 0, 3, 8]])
    }

    /// z saturates to int32 before ACC_SCALE: with the scale 2^-26 a saturated z gives ±32, an
    /// unsaturated one (±3·(2^31 − 1)) would give ±96.
    @Test func zSaturatesToTheAccumulatorType() throws {
        var machine = try Machine(Self.config)
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        let big = Int64(Int32.max)
        try machine.loadAccumulator([[big, 1, 1, big], [0, 0, 0, 0]], row: 16)
        try machine.run(Self.statistics(scale: 0x1p-26))
        try machine.run(Self.loadAffine(16, cols: 4), G.mvout(0x1000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 6, elementBytes: 1) == [[-32, 0, 0, 32]])
    }

    /// Lanes beyond LOAD_AFFINE's columns get γ = β = 0; before any LOAD_AFFINE every lane has
    /// γ = 1, β = 0 (activation 2's values).
    @Test func lanesBeyondTheColumnsAndTheResetValues() throws {
        var machine = try Machine(Self.config)
        try P.loadRows([[97, 99, 101, 103, 100, 100]], into: &machine)
        try machine.loadAccumulator([[2, 2, 2, 2], [5, 5, 5, 5]], row: 16)
        try machine.run(Self.statistics(scale: 1))
        try machine.run(G.mvout(0x1000, G.acc(0), cols: 4, rows: 1),
                        Self.loadAffine(16, cols: 2), G.mvout(0x2000, G.acc(0), cols: 4, rows: 1))
        #expect(machine.model.error == nil, "\(String(describing: machine.model.error))")
        #expect(machine.get(at: 0x1000, rows: 1, cols: 4, rowStride: 6, elementBytes: 1) == [[-3, -1, 1, 3]])
        #expect(machine.get(at: 0x2000, rows: 1, cols: 4, rowStride: 6, elementBytes: 1) == [[-1, 3, 0, 0]])
    }

    /// Activation 2 on random rows gives the same bytes with and without the extension, and
    /// NUMERICS.md's values (`Numerics.layerNormOutput`).
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
        ("the scratchpad", Encoded(funct: SpinelGolden.Funct.loadAffine, rs1: 0, rs2: G.operand(16, cols: 4, rows: 2)), .illegalOperand),
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
