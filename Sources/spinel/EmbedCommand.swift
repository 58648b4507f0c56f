import ArgumentParser
import Foundation
import SpinelModel

/// `spinel embed TEXT…`: sentence embeddings from the float reference of a Hugging Face BERT
/// model (docs/MODEL.md), and for several texts their cosine similarities.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed sentences with the float reference of a BERT model (all-MiniLM-L6-v2 by default).",
        discussion: """
            Reads a Hugging Face model folder (config.json, model.safetensors, vocab.txt; `make model` \
            fetches all-MiniLM-L6-v2 into \(defaultModelFolder)), tokenizes each text with BERT's \
            WordPiece rules, runs the encoder in Float, mean-pools over the tokens and L2-normalizes, \
            as sentence-transformers does. Prints each text's token count and the embedding's first \
            values; for two or more texts the cosine similarity matrix and the other texts ranked by \
            similarity to the first (the query). Exit status 2 if the model folder cannot be used \
            (the message names the file, the tensor and the fix).
            """
    )

    static let defaultModelFolder = ".build/models/all-MiniLM-L6-v2"

    @Option(help: "The model folder.")
    var model = defaultModelFolder

    @Option(help: "How many leading values of each embedding to print.")
    var values = 8

    @Option(help: "Cut texts to at most this many tokens, [CLS] and [SEP] included (default: the model's limit).")
    var maxTokens: Int?

    @Flag(help: "Print each text's WordPiece tokens.")
    var tokens = false

    @Argument(help: "The texts; the first is the query when there are several.")
    var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one text") }
        guard values >= 0 else { throw ValidationError("--values must not be negative") }
        guard (maxTokens ?? 2) >= 2 else { throw ValidationError("--max-tokens must be at least 2 ([CLS] and [SEP])") }
    }

    func run() throws {
        let start = Date()
        let embedder: SentenceEmbedder
        do {
            embedder = try SentenceEmbedder(folder: model)
        } catch {
            FileHandle.standardError.write(Data("spinel embed: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let config = embedder.config
        print("model: \(model) — \(config.layers) layers, d \(config.hiddenSize), \(config.heads) heads, FFN \(config.intermediateSize), "
              + "vocabulary \(embedder.tokenizer.tokens.count), at most \(embedder.maxTokens) tokens (loaded in \(Self.seconds(since: start)))")
        var embeddings: [[Float]] = []
        for (index, text) in texts.enumerated() {
            let began = Date()
            let embedding = embedder.embed(text, maxTokens: maxTokens)
            embeddings.append(embedding.vector)
            let shown = embedding.vector.prefix(values).map { String(format: "%+.6f", $0) }.joined(separator: " ")
            print("[\(index)] \(embedding.ids.count) tokens, \(Self.seconds(since: began)): \(Self.quoted(text))")
            if tokens {
                print("    tokens: " + embedding.ids.map { embedder.tokenizer.tokens[$0] }.joined(separator: " "))
            }
            print("    embedding[0..<\(min(values, embedding.vector.count))]: \(shown)")
        }
        guard embeddings.count > 1 else { return }
        print("cosine similarity:")
        print("      " + embeddings.indices.map { String(format: "%8d", $0) }.joined())
        for (i, a) in embeddings.enumerated() {
            print(String(format: "%5d ", i) + embeddings.map { String(format: "%8.4f", SentenceEmbedder.cosine(a, $0)) }.joined())
        }
        print("ranked against [0] \(Self.quoted(texts[0])):")
        let ranking = embeddings.indices.dropFirst().map { ($0, SentenceEmbedder.cosine(embeddings[0], embeddings[$0])) }.sorted { $0.1 > $1.1 }
        for (rank, (index, cosine)) in ranking.enumerated() {
            print(String(format: "  %2d. %+.4f  [%d] ", rank + 1, cosine, index) + Self.quoted(texts[index]))
        }
    }

    static func seconds(since start: Date) -> String { String(format: "%.2f s", Date().timeIntervalSince(start)) }

    static func quoted(_ text: String) -> String {
        text.count > 70 ? "\"\(text.prefix(67))…\"" : "\"\(text)\""
    }
}
