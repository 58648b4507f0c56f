import Foundation

/// The fields of a Hugging Face BERT `config.json` the forward pass needs.
public struct BertConfig: Hashable, Sendable {
    public enum Activation: String, Hashable, Sendable {
        /// x·Φ(x) with the exact normal CDF (erf): Hugging Face's "gelu".
        case gelu
        /// The tanh approximation: "gelu_new", "gelu_pytorch_tanh", "gelu_fast".
        case geluTanh
        case relu
    }

    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    public var activation: Activation

    public var headSize: Int { hiddenSize / heads }

    public init(vocabularySize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int,
                maxPositions: Int, typeVocabularySize: Int = 2, layerNormEpsilon: Float = 1e-12,
                activation: Activation = .gelu) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
        self.activation = activation
    }

    static let activationNames: [String: Activation] = [
        "gelu": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "gelu_fast": .geluTanh, "relu": .relu,
    ]

    /// Reads `config.json`; `path` is used in errors.
    public static func load(path: String) throws -> BertConfig {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.malformedFile(path: path, problem: "cannot be read")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws -> BertConfig {
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.malformedFile(path: path, problem: "is not a JSON object")
        }
        let modelType = json["model_type"] as? String
        let architectures = json["architectures"] as? [String] ?? []
        guard let modelType else {
            throw ModelError.badConfig(path: path, field: "model_type", problem: "is missing (a Hugging Face config.json names its model_type)")
        }
        guard modelType == "bert" else {
            throw ModelError.unsupportedModel(path: path, problem: "model_type is \"\(modelType)\"\(architectures.isEmpty ? "" : " (architectures \(architectures))")")
        }
        if let unknown = architectures.first(where: { !$0.hasPrefix("Bert") }) {
            throw ModelError.unsupportedModel(path: path, problem: "architecture \"\(unknown)\" is not a BERT encoder")
        }
        if let positions = json["position_embedding_type"] as? String, positions != "absolute" {
            throw ModelError.unsupportedModel(path: path, problem: "position_embedding_type is \"\(positions)\"; only \"absolute\" is implemented")
        }
        func integer(_ field: String, default fallback: Int? = nil) throws -> Int {
            guard let value = json[field] else {
                if let fallback { return fallback }
                throw ModelError.badConfig(path: path, field: field, problem: "is missing")
            }
            guard let number = value as? NSNumber, number.doubleValue == Double(number.intValue), number.intValue > 0 else {
                throw ModelError.badConfig(path: path, field: field, problem: "is \(value), not a positive integer")
            }
            return number.intValue
        }
        let activationName = json["hidden_act"] as? String ?? "gelu"
        guard let activation = activationNames[activationName] else {
            throw ModelError.unsupportedModel(path: path, problem: "hidden_act \"\(activationName)\" is not one of \(activationNames.keys.sorted())")
        }
        let config = BertConfig(
            vocabularySize: try integer("vocab_size"), hiddenSize: try integer("hidden_size"),
            layers: try integer("num_hidden_layers"), heads: try integer("num_attention_heads"),
            intermediateSize: try integer("intermediate_size"), maxPositions: try integer("max_position_embeddings"),
            typeVocabularySize: try integer("type_vocab_size", default: 2),
            layerNormEpsilon: ((json["layer_norm_eps"] as? NSNumber)?.floatValue) ?? 1e-12,
            activation: activation)
        guard config.hiddenSize % config.heads == 0 else {
            throw ModelError.badConfig(path: path, field: "num_attention_heads", problem: "(\(config.heads)) does not divide hidden_size \(config.hiddenSize)")
        }
        return config
    }
}
