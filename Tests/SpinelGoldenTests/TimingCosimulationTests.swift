import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelSim
import Testing

/// The timing model against the RTL: each C testbench runs on the Verilated accelerator (builds
/// cached in ~/.cache/spinel), and the total cycles the model predicts from the trace's commands
/// (first issue to last retirement) must be within 2% of the measured ones (the model is
/// cycle-exact on these kernels today; the margin leaves room for front-end changes).
@Suite("Timing model against the RTL")
struct TimingCosimulationTests {
    static let tolerance = 0.02

    static func root(_ file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }

    /// A configuration of Testbenches/configs/ (`name`.json).
    static func config(_ name: String) throws -> AcceleratorConfig {
        try AcceleratorConfig.fromJSON(Data(contentsOf: root().appendingPathComponent("Testbenches/configs/\(name).json")))
    }

    @Test(arguments: ["mvin_mvout", "matmul", "tiled_matmul", "errors", "loop_matmul"])
    func smallPreset(name: String) throws {
        try check(name, on: .small)
    }

    /// Normalization passes and outputs (the normalizer's sequential units hold the store reader).
    @Test func normalizationOnSmallWithNormalizations() throws {
        try check("normalization", on: Self.config("small-normalizations"))
    }

    /// Matmuls with LayerNorm and Softmax fused: LOOP_WS with act 2 and 4 issues the passes
    /// (and the same commands from the host), on `small` with normalizations.
    /// The affine LayerNorm extension (LOAD_AFFINE, activation 6) on `small` with it.
    @Test func affineLayerNormOnSmallWithTheExtension() throws {
        try check("affine_layernorm", on: Self.config("small-affine"))
    }

    /// The numerics extensions on `small` with them: LOAD_REQUANT and LOAD_LANE_SCALES on the
    /// store side, and the CONFIG_NORMs that keep the normalizer busy dividing Softmax's constant.
    @Test func numericsExtensionsOnSmallWithThem() throws {
        try check("numerics_extensions", on: Self.config("small-numerics"))
    }

    @Test func loopNormalizationOnSmallWithNormalizations() throws {
        try check("loop_normalization", on: Self.config("small-normalizations"))
    }

    @Test func encoderLayerOnTransformer() throws {
        try check("encoder_layer", on: .transformer)
    }

    /// The same with the affine LayerNorm (64-cycle lane dividers, LOAD_AFFINE) on Y.
    @Test func encoderLayerOnTransformerWithAffineLayerNorm() throws {
        try check("encoder_layer", on: Self.config("transformer-affine"))
    }

    /// A 6×6 array (DIM need not be a power of two): the model is cycle-exact there too.
    @Test(arguments: [("matmul", [String]()), ("tiled_matmul", ["48", "72", "24"]), ("loop_matmul", [String]())])
    func dim6(name: String, arguments: [String]) throws {
        let comparison = try check(name, on: Self.config("small-dim6"), arguments: arguments)
        #expect(comparison.predictedTotal == comparison.measuredTotal, "\(name) on DIM 6: \(comparison.summary)")
    }

    @Test func tiledMatmulOnDefault() throws {
        try check("tiled_matmul", on: .default)
    }

    @discardableResult
    func check(_ name: String, on config: AcceleratorConfig, arguments: [String] = []) throws -> TimingComparison {
        let inputs = try AcceleratorGeneration.simulationInputs(for: config)
        let source = Self.root().appendingPathComponent("Testbenches/\(name).c")
        let executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                     sources: [source], name: name)
        let tracePath = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-timing-\(name)-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: tracePath) }
        let result = try HarnessBuild.run(executable.path, arguments, environment: ["SPINEL_TRACE": tracePath.path])
        try #require(result.succeeded, "\(name) on \(config.name) exited \(result.status):\n\(result.standardError)")
        let trace = try HarnessTrace.load(tracePath)
        #expect(trace.memory == MemoryTimingSettings(config.memory), "the trace records the configuration's memory model")

        let comparison = TimingComparison(trace: trace, parameters: try config.parameters())
        let error = try #require(comparison.relativeError, "\(name): \(comparison.summary)")
        #expect(abs(error) <= Self.tolerance, "\(name) on \(config.name): \(comparison.summary)")
        return comparison
    }
}
