/// A linear layer as PyTorch stores it: `weight` is [outputs, inputs] row-major, y = W·x + b.
public struct Linear: Sendable {
    public var inputs: Int, outputs: Int
    public var weight: [Float]
    public var bias: [Float]

    public init(inputs: Int, outputs: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inputs * outputs && bias.count == outputs, "Linear: weight \(weight.count) or bias \(bias.count) does not match \(outputs)×\(inputs)")
        self.inputs = inputs; self.outputs = outputs; self.weight = weight; self.bias = bias
    }
}

public struct LayerNormWeights: Sendable {
    public var gamma: [Float], beta: [Float]
}

public struct EncoderLayerWeights: Sendable {
    public var query: Linear, key: Linear, value: Linear
    public var attentionOutput: Linear
    public var attentionNorm: LayerNormWeights
    public var intermediate: Linear
    public var output: Linear
    public var outputNorm: LayerNormWeights
}

/// Every tensor of a BERT encoder, in Hugging Face's names (`embeddings.*`, `encoder.layer.N.*`).
public struct BertWeights: Sendable {
    public var wordEmbeddings: [Float]      // [vocab, hidden]
    public var positionEmbeddings: [Float]  // [maxPositions, hidden]
    public var typeEmbeddings: [Float]      // [typeVocab, hidden]
    public var embeddingNorm: LayerNormWeights
    public var layers: [EncoderLayerWeights]

    /// Reads and shape-checks every tensor `config` implies. Checkpoints of BERT with a head
    /// (BertForMaskedLM, …) prefix the encoder's names with `bert.`; both spellings are accepted.
    public init(file: SafeTensorsFile, config: BertConfig) throws {
        let hidden = config.hiddenSize, ffn = config.intermediateSize
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            if file.tensors[name] == nil, file.tensors["bert." + name] != nil { return try file.floats("bert." + name, shape: shape) }
            return try file.floats(name, shape: shape)
        }
        func linear(_ prefix: String, inputs: Int, outputs: Int) throws -> Linear {
            Linear(inputs: inputs, outputs: outputs, weight: try tensor(prefix + ".weight", [outputs, inputs]), bias: try tensor(prefix + ".bias", [outputs]))
        }
        func norm(_ prefix: String) throws -> LayerNormWeights {
            LayerNormWeights(gamma: try tensor(prefix + ".weight", [hidden]), beta: try tensor(prefix + ".bias", [hidden]))
        }
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [config.vocabularySize, hidden])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [config.maxPositions, hidden])
        typeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [config.typeVocabularySize, hidden])
        embeddingNorm = try norm("embeddings.LayerNorm")
        layers = try (0 ..< config.layers).map { index in
            let prefix = "encoder.layer.\(index)."
            return EncoderLayerWeights(
                query: try linear(prefix + "attention.self.query", inputs: hidden, outputs: hidden),
                key: try linear(prefix + "attention.self.key", inputs: hidden, outputs: hidden),
                value: try linear(prefix + "attention.self.value", inputs: hidden, outputs: hidden),
                attentionOutput: try linear(prefix + "attention.output.dense", inputs: hidden, outputs: hidden),
                attentionNorm: try norm(prefix + "attention.output.LayerNorm"),
                intermediate: try linear(prefix + "intermediate.dense", inputs: hidden, outputs: ffn),
                output: try linear(prefix + "output.dense", inputs: ffn, outputs: hidden),
                outputNorm: try norm(prefix + "output.LayerNorm"))
        }
    }
}
