import Foundation

/// The float reference forward pass of a BERT encoder (Hugging Face's `BertModel` in eval mode):
/// embeddings (word + position + token type 0) and LayerNorm, then per layer multi-head
/// self-attention with the attention mask, output projection + residual + LayerNorm, FFN with
/// the configured activation, second projection + residual + LayerNorm. Everything is `Float`;
/// dot products accumulate in eight `Float` lanes.
public struct BertEncoder: Sendable {
    public let config: BertConfig
    public let weights: BertWeights

    public init(config: BertConfig, weights: BertWeights) {
        self.config = config
        self.weights = weights
    }

    /// The last hidden state, [tokens, hidden] row-major. `attentionMask[j] == false` hides key
    /// j from every query (padding); masked rows are still computed, as in PyTorch.
    public func hiddenStates(ids: [Int], attentionMask: [Bool]? = nil) -> [Float] {
        layerOutputs(ids: ids, attentionMask: attentionMask).last!
    }

    /// The embeddings' LayerNorm output, then each encoder layer's output: `config.layers + 1`
    /// matrices of [tokens, hidden] (the per-layer reference for a quantized run).
    public func layerOutputs(ids: [Int], attentionMask: [Bool]? = nil) -> [[Float]] {
        let mask = attentionMask ?? Array(repeating: true, count: ids.count)
        precondition(mask.count == ids.count, "attention mask has \(mask.count) entries for \(ids.count) tokens")
        precondition(ids.count <= config.maxPositions, "\(ids.count) tokens exceed max_position_embeddings \(config.maxPositions)")
        let hidden = config.hiddenSize
        var x = [Float](repeating: 0, count: ids.count * hidden)
        for (position, id) in ids.enumerated() {
            precondition((0 ..< config.vocabularySize).contains(id), "token id \(id) is outside the vocabulary")
            for c in 0 ..< hidden {
                x[position * hidden + c] = weights.wordEmbeddings[id * hidden + c] + weights.positionEmbeddings[position * hidden + c] + weights.typeEmbeddings[c]
            }
        }
        layerNorm(&x, weights.embeddingNorm)
        var outputs = [x]
        for layer in weights.layers {
            x = encoderLayer(x, layer, tokens: ids.count, mask: mask)
            outputs.append(x)
        }
        return outputs
    }

    func encoderLayer(_ x: [Float], _ layer: EncoderLayerWeights, tokens: Int, mask: [Bool]) -> [Float] {
        let hidden = config.hiddenSize
        let context = attention(x, layer, tokens: tokens, mask: mask)
        var attended = Self.linear(context, layer.attentionOutput, rows: tokens)
        for i in attended.indices { attended[i] += x[i] }
        layerNorm(&attended, layer.attentionNorm)
        var intermediate = Self.linear(attended, layer.intermediate, rows: tokens)
        for i in intermediate.indices { intermediate[i] = Self.activation(config.activation, intermediate[i]) }
        var output = Self.linear(intermediate, layer.output, rows: tokens)
        for i in output.indices { output[i] += attended[i] }
        layerNorm(&output, layer.outputNorm)
        precondition(output.count == tokens * hidden)
        return output
    }

    /// softmax(Q·Kᵀ/√d_head + mask)·V per head, heads concatenated.
    func attention(_ x: [Float], _ layer: EncoderLayerWeights, tokens: Int, mask: [Bool]) -> [Float] {
        let hidden = config.hiddenSize, headSize = config.headSize
        let q = Self.linear(x, layer.query, rows: tokens)
        let k = Self.linear(x, layer.key, rows: tokens)
        let v = Self.linear(x, layer.value, rows: tokens)
        let scale = 1 / Float(headSize).squareRoot()
        var context = [Float](repeating: 0, count: tokens * hidden)
        var scores = [Float](repeating: 0, count: tokens)
        for head in 0 ..< config.heads {
            let offset = head * headSize
            for i in 0 ..< tokens {
                var maximum = -Float.infinity
                for j in 0 ..< tokens {
                    guard mask[j] else { scores[j] = -.infinity; continue }
                    scores[j] = Self.dot(q, i * hidden + offset, k, j * hidden + offset, count: headSize) * scale
                    maximum = max(maximum, scores[j])
                }
                var sum: Float = 0
                for j in 0 ..< tokens {
                    scores[j] = mask[j] ? exp(scores[j] - maximum) : 0
                    sum += scores[j]
                }
                for j in 0 ..< tokens where scores[j] != 0 {
                    let p = scores[j] / sum
                    for c in 0 ..< headSize { context[i * hidden + offset + c] += p * v[j * hidden + offset + c] }
                }
            }
        }
        return context
    }

    static func activation(_ kind: BertConfig.Activation, _ value: Float) -> Float {
        switch kind {
        case .gelu: return 0.5 * value * (1 + erf(value * 0.70710678118654752))
        case .geluTanh: return 0.5 * value * (1 + tanh(0.7978845608 * (value + 0.044715 * value * value * value)))
        case .relu: return max(value, 0)
        }
    }

    /// (x − mean)/√(var + ε)·γ + β per row, population variance.
    func layerNorm(_ x: inout [Float], _ norm: LayerNormWeights) {
        let hidden = config.hiddenSize
        for row in 0 ..< x.count / hidden {
            let start = row * hidden
            var mean: Float = 0
            for c in 0 ..< hidden { mean += x[start + c] }
            mean /= Float(hidden)
            var variance: Float = 0
            for c in 0 ..< hidden { variance += (x[start + c] - mean) * (x[start + c] - mean) }
            variance /= Float(hidden)
            let inverse = 1 / (variance + config.layerNormEpsilon).squareRoot()
            for c in 0 ..< hidden { x[start + c] = (x[start + c] - mean) * inverse * norm.gamma[c] + norm.beta[c] }
        }
    }

    /// x·Wᵀ + b for `rows` rows of x. W's rows are contiguous like x's, so each output is a dot
    /// product of two contiguous runs.
    static func linear(_ x: [Float], _ layer: Linear, rows: Int) -> [Float] {
        precondition(x.count == rows * layer.inputs)
        var y = [Float](repeating: 0, count: rows * layer.outputs)
        y.withUnsafeMutableBufferPointer { out in
            for row in 0 ..< rows {
                for o in 0 ..< layer.outputs {
                    out[row * layer.outputs + o] = dot(x, row * layer.inputs, layer.weight, o * layer.inputs, count: layer.inputs) + layer.bias[o]
                }
            }
        }
        return y
    }

    /// Σ a[aStart + i]·b[bStart + i], i < count, in eight lanes.
    @inline(__always)
    static func dot(_ a: [Float], _ aStart: Int, _ b: [Float], _ bStart: Int, count: Int) -> Float {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let pa = a.baseAddress! + aStart, pb = b.baseAddress! + bStart
                var lanes = SIMD8<Float>.zero
                var i = 0
                while i + 8 <= count {
                    let va = UnsafeRawPointer(pa + i).loadUnaligned(as: SIMD8<Float>.self)
                    let vb = UnsafeRawPointer(pb + i).loadUnaligned(as: SIMD8<Float>.self)
                    lanes += va * vb
                    i += 8
                }
                var sum = lanes.sum()
                while i < count { sum += pa[i] * pb[i]; i += 1 }
                return sum
            }
        }
    }
}
