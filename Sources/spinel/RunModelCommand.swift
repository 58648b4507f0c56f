import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelMapping
import SpinelModel

/// `spinel run-model TEXT…`: a Hugging Face BERT model quantized, mapped onto the accelerator
/// and run text by text on the RTL (every program checked against the golden model) or on the
/// golden model only; embeddings against the float reference (docs/QUANTIZATION.md).
struct RunModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-model",
        abstract: "Run a BERT model (all-MiniLM-L6-v2 by default) on the accelerator: text in, sentence embedding out, compared with float.",
        discussion: """
            Calibrates the model's activation ranges on built-in calibration texts, quantizes it \
            (int8 weights and activations, int32 biases, the affine LayerNorm's γ and β), and maps \
            every layer onto accelerator commands: one command program for the embeddings and one \
            per layer (docs/QUANTIZATION.md). Each text runs through them on the golden model and, \
            unless --golden-only, on the Verilated RTL through Testbenches/program_runner.c: every \
            program's trace is replayed on the golden model (every DMA write bit for bit, the timing \
            model's cycles against the measured ones) and its final DRAM buffer compared with the \
            golden model's. Prints per program the cycles, per layer the relative error of the \
            hidden state against the float reference, the embedding's cosine against float, the \
            total cycles and PE utilization; for two or more texts the similarity matrix and the \
            ranking of the others against the first (the query) next to float's ranking.

            With the numerics extensions (the transformer preset) the residual stream has one int8 \
            unit per column and H one per block of DIM columns (--smoothing, --activated-smoothing; \
            --per-tensor for one unit per tensor): docs/QUANTIZATION.md, "Per-column units".

            The configuration needs the normalization units with the affine LayerNorm \
            (e.g. --config Testbenches/configs/transformer-affine.json). Exit status: 0 done; 1 a \
            check failed on the RTL; 2 bad input (model folder, empty text, too many tokens, a \
            configuration the mapping cannot use).
            """
    )

    @Option(help: "The model folder.")
    var model = Embed.defaultModelFolder

    @Option(help: "An accelerator preset (default: transformer).")
    var preset: AcceleratorConfig.Preset?

    @Option(help: "An accelerator configuration file (JSON), instead of --preset.")
    var config: String?

    @Option(help: "A text file with one text per line (added after the texts given as arguments).")
    var texts: String?

    @Flag(help: "Run on the golden model only (no Verilator): long inputs, quick accuracy figures.")
    var goldenOnly = false

    @Option(help: "Cut texts to at most this many tokens, [CLS] and [SEP] included.")
    var maxTokens: Int?

    @Option(help: "Calibration: the percentile of |x| that maps onto 127.")
    var percentile = 99.99

    @Flag(help: "One int8 unit per LayerNorm output (the residual stream) even where the numerics extensions allow one per column.")
    var perTensor = false

    @Option(help: "Per-column units: α in r_j^α·R^(1−α) (r_j the column's range, R the largest; 1 = each column its own range).")
    var smoothing: Float = QuantizedModel.recommendedSmoothing

    @Flag(inversion: .prefixedNo, help: "Per-column units: the residual's mvin scale and the requantizer's K per block of DIM columns (else one for all).")
    var perBlock = true

    @Option(help: "Per-column units: H (the GELU output) one unit per block of DIM columns, α as --smoothing (0: one unit for H).")
    var activatedSmoothing: Float = QuantizedModel.recommendedActivatedSmoothing

    @Flag(help: "Per layer, the relative error of every stage (Q, K, V, context, X1, H, output) against the float layer on the same input.")
    var stages = false

    @Option(help: "Keep each program, trace and DRAM dump in this directory (RTL runs).")
    var keep: String?

    @Argument(help: "The texts; the first is the query when there are several.")
    var text: [String] = []

    func validate() throws {
        try AcceleratorChoice.validate(preset: preset, config: config)
        guard (maxTokens ?? 2) >= 2 else { throw ValidationError("--max-tokens must be at least 2 ([CLS] and [SEP])") }
        guard percentile > 0 && percentile <= 100 else { throw ValidationError("--percentile must be in (0, 100]") }
        guard smoothing >= 0 && smoothing <= 1 else { throw ValidationError("--smoothing must be in [0, 1]") }
    }

    func run() throws {
        var all = text
        if let texts {
            guard let contents = try? String(contentsOfFile: texts, encoding: .utf8) else {
                throw failure("cannot read --texts \(texts): give a UTF-8 text file with one text per line")
            }
            all += contents.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        guard !all.isEmpty else { throw failure("no text: give one or more texts as arguments or --texts FILE") }
        if let empty = all.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw failure("text \(empty) is empty: give words to embed")
        }

        let embedder: SentenceEmbedder
        let accelerator: AcceleratorConfig
        let mapper: ModelMapper
        let ranges: ActivationRanges
        let start = Date()
        do {
            embedder = try SentenceEmbedder(folder: model)
            accelerator = try AcceleratorConfig.chosen(preset: preset, configFile: config, fallback: .transformer)!
            let parameters = try accelerator.parameters()
            ranges = ActivationRanges.calibrate(encoder: embedder.encoder, tokenizer: embedder.tokenizer, maxTokens: embedder.maxTokens,
                                                percentile: percentile)
            let perColumn = parameters.config.hasNumericsExtensions && !perTensor
            mapper = try ModelMapper(model: QuantizedModel(encoder: embedder.encoder, ranges: ranges, perColumn: perColumn, smoothing: smoothing,
                                                                    block: perBlock ? parameters.dim : 0, activatedSmoothing: activatedSmoothing),
                                     parameters: parameters)
        } catch {
            throw failure("\(error)")
        }
        let c = embedder.config
        print("model: \(model) — \(c.layers) layers, d \(c.hiddenSize), \(c.heads) heads, FFN \(c.intermediateSize)")
        print("accelerator: \(accelerator.name), DIM \(mapper.parameters.dim), at most \(mapper.maxTokens) tokens; "
              + (goldenOnly ? "golden model only" : "RTL (Verilator) checked against the golden model"))
        print("calibration: \(ranges.texts) texts, \(ranges.tokens) tokens, percentile \(ranges.percentile), residual stream \(mapper.model.perColumn ? "per column (α \(smoothing))" : "per tensor") (\(Embed.seconds(since: start)))")

        let limit = min(maxTokens ?? embedder.maxTokens, embedder.maxTokens)
        let ids = all.map { embedder.tokenizer.encode($0, maxLength: limit) }
        for (index, tokens) in ids.enumerated() {
            do { try mapper.checkTokens(tokens.count) } catch { throw failure("text \(index): \(error)") }
        }
        var rtl: RTLRunner?
        if !goldenOnly {
            let directory = keep.map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("spinel-run-model-\(getpid())")
            print("== building the RTL program runner for \(accelerator.name) (cached after the first build)")
            flush()
            rtl = try RTLRunner(config: accelerator, runnerSource: DifferentialRunner.defaultRunnerSource(),
                                directory: directory, keepFiles: keep != nil)
        }

        var quantized: [[Float]] = [], float: [[Float]] = []
        let dim = Double(mapper.parameters.dim)
        for (index, tokens) in ids.enumerated() {
            print("[\(index)] \(tokens.count) tokens: \(Embed.quoted(all[index]))")
            flush()
            let began = Date()
            let result: ModelRun
            do {
                result = try ModelRun.run(ids: tokens, mapper: mapper, rtl: rtl, stem: "text\(index)",
                                          encoder: stages ? embedder.encoder : nil) { outcome in
                    var line = "    \(outcome.name.padding(toLength: 10, withPad: " ", startingAt: 0)) predicted \(outcome.predictedCycles) cycles"
                    if let check = outcome.rtl {
                        line += ", RTL \(check.measuredCycles) cycles (timing model on the trace: \(check.predictedCycles.map(String.init) ?? "-")), "
                            + "\(check.commands) commands, replay \(check.replay.rawValue.uppercased()), DRAM \(check.bufferMatches ? "equal" : "DIFFERENT")"
                    }
                    print(line + String(format: ", PE utilization %.1f%%", 100 * outcome.macs / (dim * dim * Double(outcome.rtl?.measuredCycles ?? outcome.predictedCycles))))
                    flush()
                }
            } catch let error as MappingError {
                FileHandle.standardError.write(Data("spinel run-model: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let reference = embedder.encoder.layerOutputs(ids: tokens)
            let floatEmbedding = SentenceEmbedder.meanPooled(reference.last!, mask: Array(repeating: true, count: tokens.count), hidden: c.hiddenSize)
            let errors = result.relativeErrors(float: reference)
            print("    hidden-state relative error: " + errors.enumerated().map { String(format: "%@ %.3f", $0 == 0 ? "emb" : "L\($0 - 1)", $1) }.joined(separator: ", "))
            for (layer, errors) in result.stageErrors.enumerated() {
                print("    L\(layer) stages (float layer on the same input): " + errors.map { String(format: "%@ %.3f", $0.site.rawValue, $0.error) }.joined(separator: ", "))
            }
            let cycles = result.measuredCycles ?? result.predictedCycles
            print(String(format: "    cosine vs float %.4f; %llu cycles %@, PE utilization %.1f%% (%.1f s)",
                         SentenceEmbedder.cosine(result.embedding, floatEmbedding), cycles,
                         result.measuredCycles == nil ? "predicted" : "measured", 100 * result.macs / (dim * dim * Double(cycles)),
                         Date().timeIntervalSince(began)))
            flush()
            quantized.append(result.embedding)
            float.append(floatEmbedding)
        }
        guard quantized.count > 1 else { return }
        printMatrix("cosine similarity, accelerator (float in parentheses):", quantized, float)
        let accelerated = ranking(quantized), reference = ranking(float)
        print("ranked against [0] \(Embed.quoted(all[0])):   accelerator | float")
        for (rank, (a, f)) in zip(accelerated, reference).enumerated() {
            print(String(format: "  %2d. [%d] %+.4f | [%d] %+.4f  %@", rank + 1, a.0, a.1, f.0, f.1, Embed.quoted(all[a.0])))
        }
        print("ranking \(accelerated.map(\.0) == reference.map(\.0) ? "identical to" : "DIFFERENT from") float's")
    }

    func ranking(_ embeddings: [[Float]]) -> [(Int, Float)] {
        embeddings.indices.dropFirst().map { ($0, SentenceEmbedder.cosine(embeddings[0], embeddings[$0])) }.sorted { $0.1 > $1.1 }
    }

    func printMatrix(_ title: String, _ a: [[Float]], _ f: [[Float]]) {
        print(title)
        for i in a.indices {
            print(String(format: "%5d ", i) + a.indices.map {
                String(format: " %7.4f (%7.4f)", SentenceEmbedder.cosine(a[i], a[$0]), SentenceEmbedder.cosine(f[i], f[$0]))
            }.joined())
        }
    }

    func failure(_ message: String) -> Error {
        FileHandle.standardError.write(Data("spinel run-model: \(message)\n".utf8))
        return ExitCode(2)
    }

    func flush() { fflush(nil) }
}
