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
        layerOutputs(ids: ids, attentionMask: attentionMask, observe: nil)
    }

    /// Where `observe` sees an intermediate tensor of the forward pass (calibration of a
    /// quantized mapping, docs/QUANTIZATION.md). `layer` is nil for the embeddings.
    public enum Site: String, CaseIterable, Sendable {
        /// word + position + token type, before the embeddings' LayerNorm
        case embeddingSum
        /// the query, key and value projections (bias included), [tokens, hidden]
        case query, key, value
        /// Q·Kᵀ/√d_head of every head, [heads, tokens, tokens] (unmasked keys only matter)
        case scores
        /// softmax(scores)·V, heads concatenated, [tokens, hidden]
        case context
        /// context·W_out + b + x, before the LayerNorm
        case attentionSum
        /// LayerNorm(attentionSum), the FFN's input and second residual
        case attentionNormed
        /// the FFN's first projection (bias included), before the activation
        case intermediate
        /// the activation's output
        case activated
        /// activated·W2 + b + attentionNormed, before the LayerNorm
        case outputSum
        /// the layer's output (the embeddings' LayerNorm output for layer nil)
        case output
    }

    /// `layerOutputs`, calling `observe(layer, site, tensor)` at every `Site` of every layer.
    public func layerOutputs(ids: [Int], attentionMask: [Bool]? = nil,
                             observe: ((Int?, Site, [Float]) -> Void)?) -> [[Float]] {
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
        observe?(nil, .embeddingSum, x)
        layerNorm(&x, weights.embeddingNorm)
        observe?(nil, .output, x)
        var outputs = [x]
        for (index, layer) in weights.layers.enumerated() {
            x = encoderLayer(x, layer, tokens: ids.count, mask: mask, observe: observe.map { observe in { observe(index, $0, $1) } })
            outputs.append(x)
        }
        return outputs
    }

    /// Encoder layer `index` alone on `input` ([tokens, hidden]), every token visible, with
    /// `observe` at its sites: the float reference of one layer of a quantized run, from that
    /// run's own input.
    public func layer(_ index: Int, input: [Float], tokens: Int, observe: ((Site, [Float]) -> Void)? = nil) -> [Float] {
        encoderLayer(input, weights.layers[index], tokens: tokens, mask: Array(repeating: true, count: tokens), observe: observe)
    }

    func encoderLayer(_ x: [Float], _ layer: EncoderLayerWeights, tokens: Int, mask: [Bool],
                      observe: ((Site, [Float]) -> Void)? = nil) -> [Float] {
        let hidden = config.hiddenSize
        let context = attention(x, layer, tokens: tokens, mask: mask, observe: observe)
        observe?(.context, context)
        var attended = Self.linear(context, layer.attentionOutput, rows: tokens)
        for i in attended.indices { attended[i] += x[i] }
        observe?(.attentionSum, attended)
        layerNorm(&attended, layer.attentionNorm)
        observe?(.attentionNormed, attended)
        var intermediate = Self.linear(attended, layer.intermediate, rows: tokens)
        observe?(.intermediate, intermediate)
        for i in intermediate.indices { intermediate[i] = Self.activation(config.activation, intermediate[i]) }
        observe?(.activated, intermediate)
        var output = Self.linear(intermediate, layer.output, rows: tokens)
        for i in output.indices { output[i] += attended[i] }
        observe?(.outputSum, output)
        layerNorm(&output, layer.outputNorm)
        observe?(.output, output)
        precondition(output.count == tokens * hidden)
        return output
    }

    /// softmax(Q·Kᵀ/√d_head + mask)·V per head, heads concatenated.
    func attention(_ x: [Float], _ layer: EncoderLayerWeights, tokens: Int, mask: [Bool],
                   observe: ((Site, [Float]) -> Void)? = nil) -> [Float] {
        let hidden = config.hiddenSize, headSize = config.headSize
        let q = Self.linear(x, layer.query, rows: tokens)
        let k = Self.linear(x, layer.key, rows: tokens)
        let v = Self.linear(x, layer.value, rows: tokens)
        observe?(.query, q)
        observe?(.key, k)
        observe?(.value, v)
        var allScores: [Float] = []
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
                if observe != nil { allScores += scores }
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
        observe?(.scores, allScores)
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
