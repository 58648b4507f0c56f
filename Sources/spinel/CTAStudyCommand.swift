import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelMapping
import SpinelModel

/// `spinel cta-study`: compressed-token attention on a real model's activations (docs/CTA.md,
/// "Measured on MiniLM").
struct CTAStudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cta-study",
        abstract: "Measure compressed-token attention (CTA) on a real model's activations.",
        discussion: """
            Tokenizes each text file, runs the float forward pass of the model, and for every layer's \
            input tokens and every bucket width w clusters the tokens with three random LSH instances \
            (seeded), then runs every head's attention three ways: exact in float, CTA in float and CTA \
            in the golden model's integers (the formats of docs/NUMERICS.md, "Compressed-token \
            attention"; the cta preset's parameters). Prints per layer and width: the token count n, \
            the cluster counts k0 (queries), k1, k2 (keys/values, two levels), RL = (k0+2k1+2k2)/(3n), \
            RA = k0(k1+k2)/n², the relative error of integer and float CTA against exact attention \
            (Frobenius, averaged over the heads) and the multiply-accumulates of dense and CTA \
            attention (docs/CTA.md, "Cost"). Exit status 2 if the model folder or a text cannot be read.
            """
    )

    @Option(help: "The model folder.")
    var model = Embed.defaultModelFolder

    @Option(parsing: .upToNextOption, help: "Text files, each one sequence (cut to the model's and cta.maxTokens' limit).")
    var texts: [String] = ["Testbenches/model/cta-cells.txt"]

    @Option(help: "Bucket widths w, comma-separated, in the units of the layer's hidden states.")
    var widths = "4,8,12,16,24,32"

    @Option(help: "Hash positions l (default: the cta preset's, 6).")
    var hashLength: Int?

    @Option(help: "Seed of the random hash directions and offsets.")
    var seed: UInt64 = 13

    @Option(help: "Cut each text to at most this many tokens (default: the sentence model's limit; at most the encoder's positions and cta.maxTokens).")
    var maxTokens: Int?

    @Option(help: "Also map head 0 of every layer onto the cta preset at this bucket width and print the timing model's cycles, CTA by stage against dense attention.")
    var cyclesWidth: Double?

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one text file with --texts") }
        guard let parsed = Self.parse(widths), !parsed.isEmpty else {
            throw ValidationError("--widths must be positive numbers separated by commas, e.g. 1,2,4,8; found \"\(widths)\"")
        }
        _ = parsed
        if let maxTokens, maxTokens < 2 {
            throw ValidationError("--max-tokens must be at least 2 ([CLS] and [SEP]), found \(maxTokens)")
        }
        if let cyclesWidth, !(cyclesWidth > 0 && cyclesWidth.isFinite) {
            throw ValidationError("--cycles-width must be a positive number, found \(cyclesWidth)")
        }
        if let hashLength, !(1...16).contains(hashLength) {
            throw ValidationError("--hash-length must be between 1 and 16 (cta.hashLength's range), found \(hashLength)")
        }
    }

    static func parse(_ widths: String) -> [Double]? {
        let values = widths.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ ($0 ?? 0) > 0 && $0!.isFinite }) else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        let embedder: SentenceEmbedder
        do {
            embedder = try SentenceEmbedder(folder: model)
        } catch {
            FileHandle.standardError.write(Data("spinel cta-study: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var parameters = AcceleratorConfig.cta.cta ?? CTAParameters()
        parameters.hashLength = hashLength ?? parameters.hashLength
        var widths = Self.parse(widths)!
        if let cyclesWidth, !widths.contains(cyclesWidth) { widths.append(cyclesWidth) }
        var accelerator = AcceleratorConfig.cta
        accelerator.cta = parameters
        let cycles = try cyclesWidth.map { (width: $0, accelerator: try accelerator.parameters()) }
        for path in texts {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                FileHandle.standardError.write(Data("spinel cta-study: cannot read the text file \(path)\n  fix: give an existing UTF-8 text file with --texts\n".utf8))
                throw ExitCode(2)
            }
            // The encoder's position limit (512 for MiniLM), not sentence-transformers' sequence
            // length (256): the cycle figures need n = 512 (tokens past 256 are outside the
            // sentence model's fine-tuning, docs/CTA.md).
            let limit = min(embedder.encoder.config.maxPositions, parameters.maxTokens, maxTokens ?? embedder.maxTokens)
            let ids = embedder.tokenizer.encode(text, maxLength: limit)
            let start = Date()
            let study = CTAStudy(encoder: embedder.encoder, ids: ids, widths: widths, parameters: parameters, seed: seed, cycles: cycles)
            print("\(path): \(ids.count) tokens, model \(model), l = \(parameters.hashLength), seed \(seed) (\(String(format: "%.1f s", Date().timeIntervalSince(start))))")
            print(study.table)
            if let cyclesWidth {
                print("\nHead 0 on \(accelerator.name), w = \(cyclesWidth): timing-model cycles of head 0 by stage; a layer's \(embedder.encoder.config.heads) heads share the front (hashing, clustering, aggregation)")
                print(study.cycleTable(heads: embedder.encoder.config.heads))
            }
            print("")
        }
    }
}
