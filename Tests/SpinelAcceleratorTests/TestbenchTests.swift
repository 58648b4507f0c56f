import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelSim
import Testing

/// The C testbenches of `Testbenches/`, built against the `small` preset's accelerator and run;
/// each checks itself against its C reference and prints PASSED.
@Suite("C testbenches on the small accelerator")
struct TestbenchTests {
    static func root(_ file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }

    @Test(arguments: ["mvin_mvout", "matmul", "tiled_matmul", "loop_matmul", "errors"])
    func testbench(name: String) throws {
        try run(name, on: .small)
    }

    /// The normalizer (I-GELU, LayerNorm, Softmax) on `small` with normalizations
    /// (Testbenches/configs/small-normalizations.json).
    @Test func normalizationOnSmallWithNormalizations() throws {
        let file = Self.root().appendingPathComponent("Testbenches/configs/small-normalizations.json")
        try run("normalization", on: AcceleratorConfig.fromJSON(Data(contentsOf: file)))
    }

    /// Matmuls with LayerNorm and Softmax fused: LOOP_WS with act 2 and 4 issues the passes
    /// (and the same commands from the host), on `small` with normalizations.
    /// The affine LayerNorm extension (LOAD_AFFINE, activation 6) on `small` with it.
    @Test func affineLayerNormOnSmallWithTheExtension() throws {
        let file = Self.root().appendingPathComponent("Testbenches/configs/small-affine.json")
        try run("affine_layernorm", on: AcceleratorConfig.fromJSON(Data(contentsOf: file)))
    }

    @Test func loopNormalizationOnSmallWithNormalizations() throws {
        let file = Self.root().appendingPathComponent("Testbenches/configs/small-normalizations.json")
        try run("loop_normalization", on: AcceleratorConfig.fromJSON(Data(contentsOf: file)))
    }

    /// A BERT-style encoder layer at small dimensions (S 32, D 64, 2 heads, FFN 128) on the
    /// transformer preset: every stage against the C reference, then the trace on the golden model.
    @Test func encoderLayerOnTransformer() throws {
        try run("encoder_layer", on: .transformer)
    }

    /// One smoke run on the full-size default configuration (DIM 16).
    @Test func matmulOnDefault() throws {
        try run("matmul", on: .default)
    }

    func run(_ name: String, on config: AcceleratorConfig) throws {
        let inputs = try AcceleratorGeneration.simulationInputs(for: config)
        let source = Self.root().appendingPathComponent("Testbenches/\(name).c")
        let executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                     sources: [source], name: name)
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-\(name)-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: trace) }
        let result = try HarnessBuild.run(executable.path, environment: ["SPINEL_TRACE": trace.path])
        #expect(result.succeeded && result.standardOutput.contains("PASSED"),
                "\(name) on \(config.name) exited \(result.status):\n\(result.standardOutput)\n\(result.standardError)")
        // The second check: the trace replayed on the golden model, every DMA write bit for bit.
        let report = try TraceReplay.replay(HarnessTrace.load(trace), parameters: try config.parameters())
        #expect(report.verdict == .match, "\(name) on \(config.name): \(report.render(commandTable: false, maximumProblems: 5))")
    }
}
