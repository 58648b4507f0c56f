import Foundation

/// A sentence-transformers model over a Hugging Face BERT folder: tokenize, encode, mean-pool
/// the last hidden state over the attention mask, L2-normalize (all-MiniLM-L6-v2's modules).
public struct SentenceEmbedder: Sendable {
    public let folder: String
    public let config: BertConfig
    public let tokenizer: WordPieceTokenizer
    public let encoder: BertEncoder
    /// Longest token sequence, [CLS] and [SEP] included: sentence_bert_config.json's
    /// max_seq_length when the folder has one (256 for all-MiniLM-L6-v2), else max_position_embeddings.
    public let maxTokens: Int

    public struct Embedding: Sendable {
        public var ids: [Int]
        public var vector: [Float]
    }

    /// Reads `config.json`, `model.safetensors` and `vocab.txt` from `folder`; the optional
    /// `tokenizer_config.json` (do_lower_case, strip_accents) and `sentence_bert_config.json`
    /// (max_seq_length) when present.
    public init(folder: String) throws {
        let url = URL(fileURLWithPath: folder)
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.missingFile(path: folder)
        }
        let config = try BertConfig.load(path: path("config.json"))
        let tokenizerSettings = Self.jsonObject(path("tokenizer_config.json"))
        let lowerCase = tokenizerSettings?["do_lower_case"] as? Bool ?? true
        let stripAccents = tokenizerSettings?["strip_accents"] as? Bool
        let tokenizer = try WordPieceTokenizer.load(path: path("vocab.txt"), lowerCase: lowerCase, stripAccents: stripAccents)
        guard tokenizer.tokens.count <= config.vocabularySize else {
            throw ModelError.badConfig(path: path("config.json"), field: "vocab_size",
                                       problem: "is \(config.vocabularySize) but vocab.txt has \(tokenizer.tokens.count) tokens")
        }
        let weights = try BertWeights(file: try SafeTensorsFile(path: path("model.safetensors")), config: config)
        let sequenceLength = (Self.jsonObject(path("sentence_bert_config.json"))?["max_seq_length"] as? NSNumber)?.intValue
        self.folder = folder
        self.config = config
        self.tokenizer = tokenizer
        self.encoder = BertEncoder(config: config, weights: weights)
        self.maxTokens = min(sequenceLength ?? config.maxPositions, config.maxPositions)
    }

    static func jsonObject(_ path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The text's embedding; `maxTokens` may cut it shorter than the model's limit.
    public func embed(_ text: String, maxTokens limit: Int? = nil) -> Embedding {
        let ids = tokenizer.encode(text, maxLength: min(limit ?? maxTokens, maxTokens))
        let states = encoder.hiddenStates(ids: ids)
        return Embedding(ids: ids, vector: Self.meanPooled(states, mask: Array(repeating: true, count: ids.count), hidden: config.hiddenSize))
    }

    /// Mean of the rows whose mask is true, then divided by its L2 norm (floored at 1e-12, as
    /// torch.nn.functional.normalize does).
    public static func meanPooled(_ states: [Float], mask: [Bool], hidden: Int) -> [Float] {
        var sum = [Float](repeating: 0, count: hidden)
        var count: Float = 0
        for (row, kept) in mask.enumerated() where kept {
            for c in 0 ..< hidden { sum[c] += states[row * hidden + c] }
            count += 1
        }
        let mean = sum.map { $0 / max(count, 1e-9) }
        let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return mean.map { $0 / norm }
    }

    /// Cosine of two vectors (the dot product, for normalized embeddings).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, aa: Float = 0, bb: Float = 0
        for (x, y) in zip(a, b) { dot += x * y; aa += x * x; bb += y * y }
        return dot / max((aa * bb).squareRoot(), 1e-30)
    }
}
