import Foundation
@testable import SpinelModel
import SpinelSim  // SeededGenerator: reproducible random weights for the tiny models

/// A safetensors file written the way the format's specification describes it: an 8-byte
/// little-endian header length, the JSON header (space-padded to a multiple of 8), the data.
struct SafeTensorsWriter {
    struct Tensor { var name: String; var dataType = "F32"; var shape: [Int]; var bytes: [UInt8] }
    var tensors: [Tensor] = []

    mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "\(name): \(floats.count) values for \(shape)")
        tensors.append(Tensor(name: name, shape: shape, bytes: floats.flatMap { value in (0 ..< 4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }))
    }

    func data(headerOverride: String? = nil) -> Data {
        var offset = 0
        var entries: [String] = [#""__metadata__":{"format":"pt"}"#]
        for tensor in tensors {
            entries.append("\"\(tensor.name)\":{\"dtype\":\"\(tensor.dataType)\",\"shape\":\(tensor.shape),\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        var header = Array((headerOverride ?? "{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data((0 ..< 8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) })
        data.append(contentsOf: header)
        for tensor in tensors { data.append(contentsOf: tensor.bytes) }
        return data
    }
}

/// A BERT model small enough to check by hand, with random weights, written as a Hugging Face
/// folder (config.json, model.safetensors, vocab.txt). `tensors` keeps the weights for the
/// tests' own reference computation.
struct TinyBert {
    var hidden = 8, heads = 2, intermediate = 12, layers = 2, maxPositions = 16, types = 2
    var vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "un", "##aff",
                      "##able", "##s", ".", ",", "!", "caf", "##e", "a", "dog", "北", "京", "##ing", "run", "hello", "world"]
    var tensors: [(name: String, shape: [Int], values: [Float])] = []

    init(seed: UInt64 = 1, layers: Int = 2) {
        self.layers = layers
        var random = SeededGenerator(seed: seed)
        func add(_ name: String, _ shape: [Int], scale: Float = 0.5, around center: Float = 0) {
            tensors.append((name, shape, (0 ..< shape.reduce(1, *)).map { _ in center + Float.random(in: -scale ... scale, using: &random) }))
        }
        add("embeddings.word_embeddings.weight", [vocabulary.count, hidden], scale: 1)
        add("embeddings.position_embeddings.weight", [maxPositions, hidden])
        add("embeddings.token_type_embeddings.weight", [types, hidden])
        add("embeddings.LayerNorm.weight", [hidden], scale: 0.2, around: 1)
        add("embeddings.LayerNorm.bias", [hidden], scale: 0.1)
        for layer in 0 ..< layers {
            let prefix = "encoder.layer.\(layer)."
            for part in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                add(prefix + part + ".weight", [hidden, hidden])
                add(prefix + part + ".bias", [hidden], scale: 0.1)
            }
            add(prefix + "attention.output.LayerNorm.weight", [hidden], scale: 0.2, around: 1)
            add(prefix + "attention.output.LayerNorm.bias", [hidden], scale: 0.1)
            add(prefix + "intermediate.dense.weight", [intermediate, hidden])
            add(prefix + "intermediate.dense.bias", [intermediate], scale: 0.1)
            add(prefix + "output.dense.weight", [hidden, intermediate])
            add(prefix + "output.dense.bias", [hidden], scale: 0.1)
            add(prefix + "output.LayerNorm.weight", [hidden], scale: 0.2, around: 1)
            add(prefix + "output.LayerNorm.bias", [hidden], scale: 0.1)
        }
    }

    func values(_ name: String) -> [Double] { tensors.first { $0.name == name }!.values.map(Double.init) }

    var configJSON: String {
        """
        {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "hidden_size": \(hidden),
         "num_attention_heads": \(heads), "num_hidden_layers": \(layers), "intermediate_size": \(intermediate),
         "max_position_embeddings": \(maxPositions), "type_vocab_size": \(types), "vocab_size": \(vocabulary.count),
         "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"}
        """
    }

    func safetensors(prefix: String = "", skipping skipped: String? = nil) -> Data {
        var writer = SafeTensorsWriter()
        for tensor in tensors where tensor.name != skipped { writer.add(prefix + tensor.name, shape: tensor.shape, floats: tensor.values) }
        return writer.data()
    }

    /// Writes the folder into a new temporary directory and returns its path.
    func write(config: String? = nil, safetensors: Data? = nil, vocabulary vocabularyText: String? = nil) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-tiny-bert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data((config ?? configJSON).utf8).write(to: folder.appendingPathComponent("config.json"))
        try (safetensors ?? self.safetensors()).write(to: folder.appendingPathComponent("model.safetensors"))
        try Data((vocabularyText ?? vocabulary.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("vocab.txt"))
        return folder.path
    }
}
