import Foundation
@testable import SpinelModel
import Testing

/// The safetensors reader and the model folder's checks: each bad folder gets an error that
/// names the file, the tensor (where there is one) and the fix.
@Suite("Model folder: safetensors, config.json, errors")
struct ModelFolderTests {
    let tiny = TinyBert()

    /// The error `body` throws, as text, or a failure when it throws none.
    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        Issue.record("no error thrown")
        return ""
    }

    @Test func readsF32F16AndBF16() throws {
        var writer = SafeTensorsWriter()
        writer.add("f32", shape: [2, 2], floats: [1, -2.5, 0.1, 65504])
        // F16: 1.0 = 0x3C00, −2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 2⁻²⁴ = 0x0001.
        writer.tensors.append(.init(name: "f16", dataType: "F16", shape: [4], bytes: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00]))
        // BF16: the upper halves of 1.0 (0x3F80) and −0.5 (0xBF00).
        writer.tensors.append(.init(name: "bf16", dataType: "BF16", shape: [2], bytes: [0x80, 0x3F, 0x00, 0xBF]))
        writer.tensors.append(.init(name: "ids", dataType: "I64", shape: [1], bytes: [7, 0, 0, 0, 0, 0, 0, 0]))
        let file = try SafeTensorsFile(path: "t.safetensors", data: writer.data())
        #expect(file.names == ["f32", "f16", "bf16", "ids"])
        #expect(try file.floats("f32", shape: [2, 2]) == [1, -2.5, 0.1, 65504])
        #expect(try file.floats("f16", shape: [4]) == [1, -2, 65504, 0x1p-24])
        #expect(try file.floats("bf16", shape: [2]) == [1, -0.5])
        #expect(message { _ = try file.floats("ids", shape: [1]) }.contains("\"ids\" is I64"))
        #expect(message { _ = try file.floats("f32", shape: [4]) }.contains("\"f32\" has shape [2, 2], config.json implies [4]"))
        #expect(message { _ = try file.floats("nothing", shape: [4]) }.contains("no tensor \"nothing\""))
    }

    @Test func truncatedAndMalformedFiles() {
        let good = tiny.safetensors()
        let cut = message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: good.prefix(good.count - 3)) }
        #expect(cut.contains("m/model.safetensors: truncated") && cut.contains("promises \(good.count) bytes, the file has \(good.count - 3)"), "\(cut)")
        #expect(message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: good.prefix(100)) }.contains("truncated"))
        #expect(message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: Data([1, 2, 3])) }.contains("truncated"))
        #expect(message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: Data(repeating: 0xFF, count: 64)) }.contains("header length"))
        let notJSON = SafeTensorsWriter().data(headerOverride: "{\"a\": [1, 2")
        #expect(message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: notJSON) }.contains("header is not a JSON object"))
        let noOffsets = SafeTensorsWriter().data(headerOverride: #"{"w": {"dtype": "F32", "shape": [2]}}"#)
        #expect(message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: noOffsets) }.contains("\"w\" lacks dtype, shape or data_offsets"))
        let wrongSpan = SafeTensorsWriter().data(headerOverride: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#) + Data(count: 8)
        #expect(message { _ = try SafeTensorsFile(path: "m/model.safetensors", data: wrongSpan) }.contains("shape [3] (12 bytes) but its data_offsets span 8 bytes"))
    }

    @Test func loadsTheTinyFolderWithOrWithoutTheBertPrefix() throws {
        for prefix in ["", "bert."] {
            let folder = try tiny.write(safetensors: tiny.safetensors(prefix: prefix))
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let embedder = try SentenceEmbedder(folder: folder)
            #expect(embedder.config == BertConfig(vocabularySize: 27, hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, maxPositions: 16))
            #expect(embedder.maxTokens == 16)
            #expect(embedder.encoder.weights.layers[1].output.weight == tiny.tensors.first { $0.name == "encoder.layer.1.output.dense.weight" }!.values)
        }
    }

    @Test func missingFilesNameThePath() throws {
        for name in ["config.json", "model.safetensors", "vocab.txt"] {
            let folder = try tiny.write()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.removeItem(atPath: folder + "/" + name)
            let text = message { _ = try SentenceEmbedder(folder: folder) }
            #expect(text.contains("\(folder)/\(name): no such file") && text.contains("make model"), "\(text)")
        }
        #expect(message { _ = try SentenceEmbedder(folder: "/nonexistent/model") }.contains("/nonexistent/model: no such file"))
    }

    @Test func missingTensorAndWrongShapeNameTheTensor() throws {
        let missing = try tiny.write(safetensors: tiny.safetensors(skipping: "encoder.layer.1.attention.self.key.bias"))
        defer { try? FileManager.default.removeItem(atPath: missing) }
        let text = message { _ = try SentenceEmbedder(folder: missing) }
        #expect(text.contains("\(missing)/model.safetensors: no tensor \"encoder.layer.1.attention.self.key.bias\""), "\(text)")

        // config.json says 3 layers; the file has 2.
        let fewer = try tiny.write(config: tiny.configJSON.replacingOccurrences(of: "\"num_hidden_layers\": 2", with: "\"num_hidden_layers\": 3"))
        defer { try? FileManager.default.removeItem(atPath: fewer) }
        #expect(message { _ = try SentenceEmbedder(folder: fewer) }.contains("no tensor \"encoder.layer.2.attention.self.query.weight\""))

        // config.json says FFN 16; the file's is 12.
        let wider = try tiny.write(config: tiny.configJSON.replacingOccurrences(of: "\"intermediate_size\": 12", with: "\"intermediate_size\": 16"))
        defer { try? FileManager.default.removeItem(atPath: wider) }
        let shape = message { _ = try SentenceEmbedder(folder: wider) }
        #expect(shape.contains("tensor \"encoder.layer.0.intermediate.dense.weight\" has shape [12, 8], config.json implies [16, 8]"), "\(shape)")
    }

    @Test func truncatedWeightsInAFolder() throws {
        let good = tiny.safetensors()
        let folder = try tiny.write(safetensors: good.prefix(good.count / 2))
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = message { _ = try SentenceEmbedder(folder: folder) }
        #expect(text.contains("\(folder)/model.safetensors: truncated") && text.contains("fetch it again"), "\(text)")
    }

    @Test(arguments: [
        ("\"model_type\": \"bert\"", "\"model_type\": \"gpt2\"", "model_type is \"gpt2\""),
        ("\"BertModel\"", "\"RobertaModel\"", "architecture \"RobertaModel\" is not a BERT encoder"),
        ("\"absolute\"", "\"relative_key\"", "position_embedding_type is \"relative_key\""),
        ("\"gelu\"", "\"swish\"", "hidden_act \"swish\""),
        ("\"model_type\": \"bert\",", "", "field \"model_type\" is missing"),
        ("\"hidden_size\": 8", "\"hidden_size\": \"eight\"", "field \"hidden_size\" is eight, not a positive integer"),
        ("\"num_attention_heads\": 2", "\"num_attention_heads\": 3", "(3) does not divide hidden_size 8"),
        ("{", "[", "config.json: is not a JSON object"),
    ])
    func badConfigurations(original: String, replacement: String, expected: String) throws {
        let config = tiny.configJSON.replacingOccurrences(of: original, with: replacement)
        #expect(config != tiny.configJSON)
        let folder = try tiny.write(config: config)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = message { _ = try SentenceEmbedder(folder: folder) }
        #expect(text.contains(folder + "/config.json") && text.contains(expected), "\(text)")
    }
}
