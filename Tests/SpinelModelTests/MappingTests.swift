import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelMapping
@testable import SpinelModel
import Testing

/// The quantized mapping (docs/QUANTIZATION.md): a tiny BERT written by the tests, calibrated,
/// quantized and run as command programs on the golden model against the float forward pass
/// (an independent model: floats, no accelerator); its programs on the Verilated RTL, traces
/// replayed; all-MiniLM-L6-v2 on the golden model against float.
@Suite("Quantized mapping of BERT onto the accelerator")
struct MappingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Testbenches/configs/small-affine.json: DIM 4, normalizations with the affine LayerNorm
    /// (the fuzz tests build the same model, so the Verilator build is shared).
    static func smallAffine() throws -> AcceleratorConfig {
        try AcceleratorConfig.load(path: root.appendingPathComponent("Testbenches/configs/small-affine.json").path)
    }

    static let tinyTexts = ["the cat sat on the mat.", "a dog sat on the mat!", "hello world, the cat", "run, dog, run"]

    /// The tiny model (d 8, 2 heads, FFN 12, 2 layers) calibrated on three texts, on small-affine
    /// (with `extensions` on small-numerics: docs/NUMERICS.md's extensions too).
    static func tinyMapper(layers: Int = 2, extensions: Bool = false) throws -> (SentenceEmbedder, ModelMapper) {
        let folder = try TinyBert(seed: 3, layers: layers).write()
        defer { try? FileManager.default.removeItem(atPath: folder) }  // the embedder has read it all
        let embedder = try SentenceEmbedder(folder: folder)
        let ranges = ActivationRanges.calibrate(encoder: embedder.encoder, tokenizer: embedder.tokenizer, texts: Array(tinyTexts.prefix(3)),
                                                maxTokens: embedder.maxTokens, percentile: 100)
        let parameters = try (extensions ? AcceleratorConfig.load(path: root.appendingPathComponent("Testbenches/configs/small-numerics.json").path)
                                         : smallAffine()).parameters()
        // With the extensions: per-column units on the residual stream, H per block of DIM columns.
        let model = QuantizedModel(encoder: embedder.encoder, ranges: ranges, perColumn: extensions, smoothing: QuantizedModel.recommendedSmoothing,
                                   block: parameters.dim, activatedSmoothing: QuantizedModel.recommendedActivatedSmoothing)
        let mapper = try ModelMapper(model: model, parameters: parameters)
        return (embedder, mapper)
    }

    /// ‖q − f‖/‖f‖ of each layer's output against the float layer on the same dequantized input.
    static func layerErrors(_ run: ModelRun, _ encoder: BertEncoder) -> [Double] {
        (0 ..< run.hiddenStates.count - 1).map { index in
            let float = encoder.layer(index, input: run.hiddenStates[index], tokens: run.ids.count)
            let difference = zip(run.hiddenStates[index + 1], float).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            return (difference / float.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
        }
    }

    /// The tolerance, from the int8 quantization: Softmax's output in units of 1/127 of the row
    /// sum carries up to half a unit per weight, so a context row (an average of V rows) is off
    /// by up to √tokens · 0.5/127 of V's magnitude — 5–15 % on the tiny model's short rows, the
    /// largest term; Q, K, V, X1 and H each add up to half a unit of their range (1–3 %), and
    /// the LayerNorms pass the relative error through. 0.15 holds that chain; a wrong scale,
    /// bias or operand gives 0.3 and more (the negative control below).
    static let layerTolerance = 0.15

    @Test(arguments: [false, true])
    func tinyModelLayersMatchFloat(extensions: Bool) throws {
        let (embedder, mapper) = try Self.tinyMapper(extensions: extensions)
        let ids = embedder.tokenizer.encode(Self.tinyTexts[3], maxLength: 16)
        let run = try ModelRun.run(ids: ids, mapper: mapper, predictCycles: false)
        // The embeddings' LayerNorm from the same ids: rounding of the tables and of the output.
        let reference = embedder.encoder.layerOutputs(ids: ids)
        // Per column the units come from the calibration texts' values of each column alone, so a
        // new text can saturate a column (±127): those values are left out here, and the relative
        // error bounds what saturation costs.
        let units = mapper.model.embeddings.outputUnits
        let embeddingError = zip(run.hiddenStates[0], reference[0]).enumerated()
            .filter { abs(Int(run.outputs[0][$0.offset])) < 127 }
            .map { abs($1.0 - $1.1) / units[$0 % units.count] }.max()!
        #expect(embeddingError <= 2, "embeddings: \(embeddingError) units")
        let embeddingRelative = (zip(run.hiddenStates[0], reference[0]).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            / reference[0].reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
        #expect(embeddingRelative < Self.layerTolerance, "embeddings: relative error \(embeddingRelative)")
        for (index, error) in Self.layerErrors(run, embedder.encoder).enumerated() {
            #expect(error < Self.layerTolerance, "layer \(index): relative error \(error)")
        }
        let floatEmbedding = SentenceEmbedder.meanPooled(reference.last!, mask: Array(repeating: true, count: ids.count), hidden: 8)
        #expect(SentenceEmbedder.cosine(run.embedding, floatEmbedding) > 0.98)
    }

    /// The negative control: the same check catches a residual added at twice its scale.
    @Test func wrongResidualScaleIsCaught() throws {
        let (embedder, mapper) = try Self.tinyMapper()
        var model = mapper.model
        model.layers[0].attentionResidualScale *= 2
        let wrong = try ModelMapper(model: model, parameters: mapper.parameters)
        let ids = embedder.tokenizer.encode(Self.tinyTexts[3], maxLength: 16)
        let errors = Self.layerErrors(try ModelRun.run(ids: ids, mapper: wrong, predictCycles: false), embedder.encoder)
        #expect(errors[0] > Self.layerTolerance, "layer 0 with a doubled residual: relative error \(errors[0])")
    }

    /// The same with per-column units (small-numerics): the residual's block scale c doubled.
    @Test func wrongPerColumnResidualScaleIsCaught() throws {
        let (embedder, mapper) = try Self.tinyMapper(extensions: true)
        var model = mapper.model
        #expect(model.perColumn)
        model.layers[0].attentionResidual!.residualScales = model.layers[0].attentionResidual!.residualScales.map { $0 * 2 }
        let wrong = try ModelMapper(model: model, parameters: mapper.parameters)
        let ids = embedder.tokenizer.encode(Self.tinyTexts[3], maxLength: 16)
        let errors = Self.layerErrors(try ModelRun.run(ids: ids, mapper: wrong, predictCycles: false), embedder.encoder)
        #expect(errors[0] > Self.layerTolerance, "layer 0 with a doubled residual: relative error \(errors[0])")
    }

    @Test func badInputsAreNamed() throws {
        let (_, mapper) = try Self.tinyMapper()
        #expect(throws: MappingError.self) { try mapper.checkTokens(0) }
        let tooMany = #expect(throws: MappingError.self) { try mapper.checkTokens(mapper.maxTokens + 1) }
        #expect(tooMany?.description.contains("shorten the text") == true)
        var plain = AcceleratorConfig.small
        plain.hasNormalizations = true
        let noAffine = #expect(throws: MappingError.self) {
            try ModelMapper(model: mapper.model, parameters: try plain.parameters())
        }
        #expect(noAffine?.description.contains("hasAffineLayerNorm") == true)
    }

    /// The tiny model's programs (embeddings, one layer with the pooling) on the Verilated RTL,
    /// with the int8 numerics (small-affine) and with the numerics extensions (small-numerics):
    /// each trace replays on the golden model (every DMA write) and each final DRAM buffer equals
    /// the golden model's; the embedding is the golden-only run's.
    @Test(arguments: [false, true])
    func tinyModelOnTheRTL(extensions: Bool) throws {
        let (embedder, mapper) = try Self.tinyMapper(layers: 1, extensions: extensions)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-mapping-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = extensions ? try AcceleratorConfig.load(path: Self.root.appendingPathComponent("Testbenches/configs/small-numerics.json").path)
            : try Self.smallAffine()
        let runner = try RTLRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource(in: Self.root), directory: directory)
        let ids = embedder.tokenizer.encode(Self.tinyTexts[0], maxLength: 16)
        let rtl = try ModelRun.run(ids: ids, mapper: mapper, rtl: runner, predictCycles: false)
        for program in rtl.programs {
            let check = try #require(program.rtl)
            #expect(check.replay == .match, "\(program.name): \(check.firstProblem ?? "")")
            #expect(check.bufferMatches, "\(program.name): final DRAM buffer")
            #expect(check.measuredCycles > 0)
        }
        let golden = try ModelRun.run(ids: ids, mapper: mapper, predictCycles: false)
        #expect(rtl.embedding == golden.embedding)
    }
}

/// all-MiniLM-L6-v2 (skipped without the model unless SPINEL_REQUIRE_MODEL=1) on the golden
/// model, on a sentence that is not a calibration text, against the float reference.
@Suite("all-MiniLM-L6-v2 quantized on the golden model", .enabled(if: MiniLM.present || MiniLM.required))
struct MiniLMMappingTests {
    @Test func shortTextEmbeddingCosine() throws {
        guard MiniLM.present else { throw MiniLM.Missing() }
        let embedder = try SentenceEmbedder(folder: MiniLM.folder)
        let ranges = ActivationRanges.calibrate(encoder: embedder.encoder, tokenizer: embedder.tokenizer, maxTokens: embedder.maxTokens, percentile: 100)
        let parameters = try AcceleratorConfig.load(path: MappingTests.root.appendingPathComponent("Testbenches/configs/transformer-affine.json").path).parameters()
        let mapper = try ModelMapper(model: QuantizedModel(encoder: embedder.encoder, ranges: ranges), parameters: parameters)
        let text = "A man is eating food."
        #expect(!ActivationRanges.calibrationTexts.contains(text))
        let ids = embedder.tokenizer.encode(text, maxLength: 32)
        let run = try ModelRun.run(ids: ids, mapper: mapper, predictCycles: false)
        let float = embedder.embed(text).vector
        let cosine = SentenceEmbedder.cosine(run.embedding, float)
        #expect(cosine > MiniLMMappingTests.cosineThreshold, "cosine \(cosine)")
    }

    /// What the numerics on this branch reach on this sentence (measured 0.948 with the int8
    /// numerics of main plus the scaled accumulator mvin; docs/QUANTIZATION.md), with a margin.
    static let cosineThreshold: Float = 0.93

    /// The transformer preset (numerics extensions) with per-column units on the residual stream,
    /// H per block of DIM columns (run-model's defaults), on sentences that are not calibration
    /// texts: each embedding against float.
    @Test(arguments: ["A man is eating food.", "The girl is carrying a baby."])
    func perColumnEmbeddingCosine(text: String) throws {
        guard MiniLM.present else { throw MiniLM.Missing() }
        let embedder = try SentenceEmbedder(folder: MiniLM.folder)
        let ranges = ActivationRanges.calibrate(encoder: embedder.encoder, tokenizer: embedder.tokenizer, maxTokens: embedder.maxTokens)
        let parameters = try AcceleratorConfig.transformer.parameters()
        let model = QuantizedModel(encoder: embedder.encoder, ranges: ranges, perColumn: true, smoothing: QuantizedModel.recommendedSmoothing,
                                   block: parameters.dim, activatedSmoothing: QuantizedModel.recommendedActivatedSmoothing)
        let mapper = try ModelMapper(model: model, parameters: parameters)
        #expect(!ActivationRanges.calibrationTexts.contains(text))
        let ids = embedder.tokenizer.encode(text, maxLength: 32)
        let run = try ModelRun.run(ids: ids, mapper: mapper, predictCycles: false)
        let cosine = SentenceEmbedder.cosine(run.embedding, embedder.embed(text).vector)
        #expect(cosine > Self.perColumnCosineThreshold, "cosine \(cosine)")
    }

    /// Measured 0.9948 ("A man is eating food.") and 0.9961 (the girl) with run-model's defaults
    /// (docs/QUANTIZATION.md, "Per-column units"; main's per-tensor quantization: 0.96), with a margin.
    static let perColumnCosineThreshold: Float = 0.993
}
