import Foundation
@testable import SpinelModel
import Testing

/// The Float forward pass against a second implementation written here in Double, matrix by
/// matrix from the tiny model's own weights (not from the loader's), and the pooling by hand.
@Suite("BERT float reference forward pass")
struct ForwardPassTests {
    typealias Matrix = [[Double]]

    /// BertModel in Double over rows of vectors: each step a whole matrix.
    struct DoubleBert {
        let model: TinyBert

        func matrix(_ name: String, rows: Int) -> Matrix {
            let flat = model.values(name)
            return (0 ..< rows).map { Array(flat[$0 * flat.count / rows ..< ($0 + 1) * flat.count / rows]) }
        }

        func transpose(_ m: Matrix) -> Matrix { (0 ..< m[0].count).map { c in m.map { $0[c] } } }
        func multiply(_ a: Matrix, _ b: Matrix) -> Matrix {
            a.map { row in (0 ..< b[0].count).map { c in zip(row, b).reduce(0) { $0 + $1.0 * $1.1[c] } } }
        }
        func dense(_ x: Matrix, _ prefix: String, outputs: Int) -> Matrix {
            let bias = model.values(prefix + ".bias")
            return multiply(x, transpose(matrix(prefix + ".weight", rows: outputs))).map { zip($0, bias).map(+) }
        }
        func layerNorm(_ x: Matrix, _ prefix: String) -> Matrix {
            let gamma = model.values(prefix + ".weight"), beta = model.values(prefix + ".bias")
            return x.map { row in
                let mean = row.reduce(0, +) / Double(row.count)
                let deviation = (row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count) + 1e-12).squareRoot()
                return row.indices.map { (row[$0] - mean) / deviation * gamma[$0] + beta[$0] }
            }
        }
        func add(_ a: Matrix, _ b: Matrix) -> Matrix { zip(a, b).map { zip($0, $1).map(+) } }

        func hiddenStates(_ ids: [Int], mask: [Bool]) -> Matrix {
            let hidden = model.hidden, headSize = model.hidden / model.heads
            let words = matrix("embeddings.word_embeddings.weight", rows: model.vocabulary.count)
            let positions = matrix("embeddings.position_embeddings.weight", rows: model.maxPositions)
            let type0 = model.values("embeddings.token_type_embeddings.weight").prefix(hidden)
            var x = layerNorm(ids.enumerated().map { position, id in (0 ..< hidden).map { words[id][$0] + positions[position][$0] + type0[$0] } }, "embeddings.LayerNorm")
            for layer in 0 ..< model.layers {
                let p = "encoder.layer.\(layer)."
                let q = dense(x, p + "attention.self.query", outputs: hidden)
                let k = dense(x, p + "attention.self.key", outputs: hidden)
                let v = dense(x, p + "attention.self.value", outputs: hidden)
                var context = Matrix(repeating: [], count: ids.count)
                for head in 0 ..< model.heads {
                    let columns = head * headSize ..< (head + 1) * headSize
                    let qh = q.map { Array($0[columns]) }, kh = k.map { Array($0[columns]) }, vh = v.map { Array($0[columns]) }
                    // Masked keys get −∞ before the softmax (BERT adds the dtype's minimum; the same after exp).
                    let scores = multiply(qh, transpose(kh)).map { row in row.enumerated().map { mask[$0] ? $1 / Double(headSize).squareRoot() : -Double.infinity } }
                    let probabilities = scores.map { row -> [Double] in
                        let logSum = log(row.map { exp($0) }.reduce(0, +))
                        return row.map { exp($0 - logSum) }
                    }
                    for (i, row) in multiply(probabilities, vh).enumerated() { context[i] += row }
                }
                x = layerNorm(add(dense(context, p + "attention.output.dense", outputs: hidden), x), p + "attention.output.LayerNorm")
                let inner = dense(x, p + "intermediate.dense", outputs: model.intermediate).map { $0.map { $0 * 0.5 * erfc(-$0 / 2.0.squareRoot()) } }
                x = layerNorm(add(dense(inner, p + "output.dense", outputs: hidden), x), p + "output.LayerNorm")
            }
            return x
        }
    }

    @Test(arguments: [(1 as UInt64, 1), (2, 2), (3, 2)])
    func hiddenStatesMatchTheDoubleImplementation(seed: UInt64, layers: Int) throws {
        let tiny = TinyBert(seed: seed, layers: layers)
        let folder = try tiny.write()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let embedder = try SentenceEmbedder(folder: folder)
        let ids = [2, 5, 6, 7, 8, 5, 9, 14, 3]
        let got = embedder.encoder.hiddenStates(ids: ids)
        let want = DoubleBert(model: tiny).hiddenStates(ids, mask: Array(repeating: true, count: ids.count)).flatMap { $0 }
        let largest = zip(got, want).map { abs(Double($0) - $1) }.max()!
        #expect(largest < 2e-5, "largest difference \(largest)")
        #expect(want.map(abs).max()! > 0.5, "the states are not trivially small")
    }

    /// Every layer's output against the Double model cut to that many layers.
    @Test func layerOutputsAreTheStatesAfterEachLayer() throws {
        let tiny = TinyBert(seed: 6, layers: 3)
        let folder = try tiny.write()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let encoder = try SentenceEmbedder(folder: folder).encoder
        let ids = [2, 19, 20, 7, 3]
        let outputs = encoder.layerOutputs(ids: ids)
        #expect(outputs.count == 4 && outputs.last! == encoder.hiddenStates(ids: ids))
        for layers in 0 ... 3 {
            var cut = tiny
            cut.layers = layers
            let want = DoubleBert(model: cut).hiddenStates(ids, mask: Array(repeating: true, count: ids.count)).flatMap { $0 }
            #expect(zip(outputs[layers], want).allSatisfy { abs(Double($0) - $1) < 2e-5 }, "after \(layers) layers")
        }
    }

    /// Padded keys change nothing for the kept tokens when the mask hides them.
    @Test func maskedPaddingIsInvisible() throws {
        let tiny = TinyBert(seed: 4)
        let folder = try tiny.write()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let encoder = try SentenceEmbedder(folder: folder).encoder
        let ids = [2, 25, 15, 26, 16, 3]
        let plain = encoder.hiddenStates(ids: ids)
        let padded = encoder.hiddenStates(ids: ids + [0, 0, 0], attentionMask: Array(repeating: true, count: 6) + [false, false, false])
        #expect(zip(plain, padded.prefix(plain.count)).allSatisfy { abs($0 - $1) < 1e-6 })
        let want = DoubleBert(model: tiny).hiddenStates(ids + [0, 0, 0], mask: Array(repeating: true, count: 6) + [false, false, false]).flatMap { $0 }
        #expect(zip(padded, want).allSatisfy { abs(Double($0) - $1) < 2e-5 })
        // Without the mask the padding is attended to, and the states differ.
        let unmasked = encoder.hiddenStates(ids: ids + [0, 0, 0])
        #expect(zip(plain, unmasked.prefix(plain.count)).contains { abs($0 - $1) > 1e-3 })
    }

    /// Rows (1, 2), (3, 4), (100, 100 masked): mean (2, 3), norm √13.
    @Test func meanPoolingAndNormalizationByHand() {
        let pooled = SentenceEmbedder.meanPooled([1, 2, 3, 4, 100, 100], mask: [true, true, false], hidden: 2)
        #expect(abs(Double(pooled[0]) - 2 / 13.0.squareRoot()) < 1e-7 && abs(Double(pooled[1]) - 3 / 13.0.squareRoot()) < 1e-7)
        #expect(SentenceEmbedder.meanPooled([0, 0], mask: [true], hidden: 2) == [0, 0])
        #expect(abs(Double(SentenceEmbedder.cosine([1, 0], [1, 1])) - 0.5.squareRoot()) < 1e-7)
    }

    /// GELU(x) = x·Φ(x): Φ(1) = 0.841344746, Φ(−1) = 0.158655254; the tanh form differs by < 1e-3.
    @Test func activations() {
        #expect(abs(BertEncoder.activation(.gelu, 1) - 0.841344746) < 1e-6)
        #expect(abs(BertEncoder.activation(.gelu, -1) + 0.158655254) < 1e-6)
        #expect(abs(BertEncoder.activation(.gelu, 2) - 1.954499736) < 1e-6)
        #expect(abs(BertEncoder.activation(.geluTanh, 1) - 0.841192) < 1e-5)
        #expect(BertEncoder.activation(.relu, -1) == 0 && BertEncoder.activation(.relu, 2) == 2)
    }

    /// End to end on the tiny folder: a sentence's embedding is the Double model's pooled states.
    @Test func sentenceEmbeddingOfTheTinyModel() throws {
        let tiny = TinyBert(seed: 5)
        let folder = try tiny.write()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let embedder = try SentenceEmbedder(folder: folder)
        let embedding = embedder.embed("Hello, world! The cat sat.")
        #expect(embedding.ids == [2, 25, 15, 26, 16, 5, 6, 7, 14, 3])
        let states = DoubleBert(model: tiny).hiddenStates(embedding.ids, mask: Array(repeating: true, count: embedding.ids.count))
        let mean = (0 ..< tiny.hidden).map { c in states.map { $0[c] }.reduce(0, +) / Double(states.count) }
        let norm = mean.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(zip(embedding.vector, mean).allSatisfy { abs(Double($0) - $1 / norm) < 1e-5 })
        #expect(abs(SentenceEmbedder.cosine(embedding.vector, embedding.vector) - 1) < 1e-6)
    }
}
