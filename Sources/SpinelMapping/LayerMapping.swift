import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelModel

/// One program of a mapped model: the embeddings, or one encoder layer (the last one also mean-
/// pools). The host reads `output` (int8, tokens × hidden) from the buffer after the run and
/// places it in the next program's buffer.
public struct MappedProgram: Sendable {
    public var name: String
    public var program: CommandProgram
    /// The int8 hidden state the program leaves: offset, rows, columns (row stride = columns).
    public var output: (offset: Int, rows: Int, columns: Int)
    /// The last layer's mean pooling: the int32 column sums of the output (1 × hidden).
    public var pooled: (offset: Int, columns: Int)?
    public var macs: Double
    /// The int8 tensors the program leaves in its buffer, each with the float site it stands for
    /// and its real units, one per column (for per-stage errors). Q, K, V, the context and H are tokens × columns.
    public var tensors: [(site: BertEncoder.Site, offset: Int, rows: Int, columns: Int, units: [Float])] = []
}

/// What a mapping cannot do on a configuration or an input, with the fix.
public struct MappingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Maps a quantized BERT onto accelerator commands (docs/QUANTIZATION.md, "Mapping"):
///
/// - embeddings: the host gathers the int8 word rows of the tokens and the first position rows
///   (data movement); the accumulator takes the token-type bias row, then both tables through
///   scaled accumulator mvins; the affine LayerNorm writes X (int8).
/// - per layer: Q, K, V = X·W + b (`tiled_matmul_auto`: LOOP_WS, the bias a repeated int32
///   row, ACC_SCALE); per head P = Softmax(Q_h·K_hᵀ) (LOOP_WS with the normalizer's passes;
///   1/√d_head is in the exponential's constants) and ctx_h = P·V_h; then bias + X (scaled
///   accumulator mvins) + ctx·W_out (LOOP_WS accumulating, C not stored) and the affine
///   LayerNorm's passes → X1; X1·W1 + b1 as int32 (full_C), moved back into the accumulator at
///   I-GELU's input unit and stored through I-GELU → H; bias + X1 + H·W2 and the affine
///   LayerNorm → Y.
/// - the last layer: ones(1 × tokens)·Y, int32 (mean pooling without the division).
public struct ModelMapper: Sendable {
    public let model: QuantizedModel
    public let parameters: AcceleratorParameters

    public init(model: QuantizedModel, parameters: AcceleratorParameters) throws {
        let config = parameters.config
        guard config.hasNormalizations && config.hasAffineLayerNorm else {
            throw MappingError("\(parameters.name) has \(config.hasNormalizations ? "no affine LayerNorm" : "no normalization units"): "
                + "a BERT layer needs Softmax, I-GELU and LayerNorm with γ and β on the accelerator. "
                + "Use a configuration with \"hasNormalizations\": true and \"hasAffineLayerNorm\": true "
                + "(e.g. --config Testbenches/configs/transformer-affine.json)")
        }
        guard config.accScale == .fp32 && config.mvinScale == .fp32 else {
            throw MappingError("\(parameters.name) has no fp32 \(config.accScale == .fp32 ? "mvin" : "accumulator") scale: the mapping's "
                + "scales (ACC_SCALE, the scaled accumulator mvins) need both. Use a configuration with mvinScale and accScale fp32")
        }
        guard config.dataflow != .os else {
            throw MappingError("\(parameters.name) is output-stationary only: the mapping's matmuls run through LOOP_WS (weight-stationary). "
                + "Use a configuration with dataflow \"ws\" or \"both\"")
        }
        guard config.inputType.width == 8 && config.accType.width == 32 else {
            throw MappingError("\(parameters.name) has \(config.inputType) inputs and \(config.accType) accumulators; the quantization is int8 × int8 → int32")
        }
        guard !model.perColumn || config.hasNumericsExtensions else {
            throw MappingError("\(parameters.name) has no numerics extensions: per-column units on the residual stream need the per-lane "
                + "requantizer. Quantize per tensor, or use a configuration with the extensions (e.g. the transformer preset)")
        }
        guard model.block == 0 || model.block == parameters.dim else {
            throw MappingError("the model's units are per block of \(model.block) columns, but \(parameters.name) has DIM \(parameters.dim): "
                + "quantize with the configuration's DIM")
        }
        self.model = model
        self.parameters = parameters
        let hidden = model.config.hiddenSize
        guard rowsPerBlock(columns: hidden) > 0 else {
            throw MappingError("a LayerNorm row of \(hidden) columns does not fit half the accumulator (\(parameters.accRows / 2) rows of \(parameters.dim) columns) "
                + "with its operands in half the scratchpad: use a configuration with a larger accumulator or scratchpad")
        }
    }

    var dim: Int { parameters.dim }

    /// The longest token sequence a program can take: a Softmax row of that many scores must fit
    /// half the accumulator with its operands in half the scratchpad, and the model must have
    /// position embeddings for it.
    public var maxTokens: Int {
        let halfAcc = parameters.accRows / 2 / dim, halfSp = parameters.spRows / 2 / dim
        return min(model.config.maxPositions, min(halfAcc, halfSp - 1) * dim)
    }

    /// Rows of a normalized block of `columns`: whole rows in half the accumulator, a row of
    /// tiles of A plus B's tiles in half the scratchpad (encoder_layer.c's rows_per_block).
    func rowsPerBlock(columns: Int) -> Int {
        let tilesJ = ProgramBuilder.tiles(columns, dim)
        let halfSp = parameters.spRows / 2 / dim
        return min(parameters.accRows / 2 / (tilesJ * dim), halfSp > tilesJ ? halfSp - tilesJ : 0) * dim
    }

    public func checkTokens(_ count: Int) throws {
        guard count > 0 else { throw MappingError("no tokens: the text is empty") }
        guard count <= maxTokens else {
            throw MappingError("\(count) tokens, but \(parameters.name) runs at most \(maxTokens) (a Softmax row must fit half the accumulator "
                + "and half the scratchpad\(maxTokens == model.config.maxPositions ? "; the model has \(maxTokens) positions" : "")): "
                + "shorten the text, pass --max-tokens, or use a configuration with more memory")
        }
    }

    // MARK: Programs

    public func embeddingProgram(ids: [Int]) throws -> MappedProgram {
        try checkTokens(ids.count)
        let hidden = model.config.hiddenSize, tokens = ids.count
        let embeddings = model.embeddings
        var builder = ProgramBuilder(parameters: parameters)
        builder.notes = ["\(parameters.name): embeddings of \(tokens) tokens (spinel run-model)"]
        var words: [Int8] = []
        for id in ids {
            guard (0 ..< model.config.vocabularySize).contains(id) else { throw MappingError("token id \(id) is outside the vocabulary") }
            words += embeddings.words[id * hidden ..< (id + 1) * hidden]
        }
        let wordRows = builder.place(words, rows: tokens, columns: hidden)
        let positionRows = builder.place(Array(embeddings.positions[0 ..< tokens * hidden]), rows: tokens, columns: hidden)
        let bias = builder.placeRow(embeddings.typeBias, rows: tokens)
        let norm = builder.place(embeddings.norm.gamma + embeddings.norm.beta, rows: 2, columns: hidden)
        let output = builder.allocate(rows: tokens, columns: hidden, elementBytes: 1)
        builder.normalizedRows(rows: tokens, columns: hidden, blockRows: rowsPerBlock(columns: hidden),
                               inputs: [(bias, 1), (wordRows, embeddings.wordScale), (positionRows, embeddings.positionScale)],
                               rowScales: embeddings.wordRowScales.map { scales in
                                   [1: ids.map { scales[$0] }, 2: (0 ..< tokens).map { embeddings.positionRowScales![$0] }]
                               } ?? [:],
                               matmul: nil, norm: norm, storeScale: embeddings.norm.storeScale, output: output)
        builder.fence()
        return MappedProgram(name: "embeddings", program: builder.program, output: (output.offset, tokens, hidden), pooled: nil, macs: builder.macs)
    }

    /// Layer `index` on `input` (int8, tokens × hidden, in the previous program's output unit).
    /// With `pool`, the program also sums the output over the tokens.
    public func layerProgram(_ index: Int, input: [Int8], tokens: Int, pool: Bool) throws -> MappedProgram {
        try checkTokens(tokens)
        let layer = model.layers[index]
        let hidden = model.config.hiddenSize, heads = model.config.heads, headSize = model.config.headSize
        let ffn = model.config.intermediateSize
        precondition(input.count == tokens * hidden, "layer input of \(input.count) values for \(tokens)×\(hidden)")
        var b = ProgramBuilder(parameters: parameters)
        b.notes = ["\(parameters.name): encoder layer \(index) of \(tokens) tokens (spinel run-model)"]
        let x = b.place(input, rows: tokens, columns: hidden)
        func weights(_ matrix: QuantizedMatrix) -> DRAMMatrix { b.place(matrix.values, rows: matrix.inputs, columns: matrix.outputs) }
        let wq = weights(layer.query), wk = weights(layer.key), wv = weights(layer.value)
        let wo = weights(layer.attentionOutput), w1 = weights(layer.intermediate), w2 = weights(layer.output)
        let bq = b.placeRow(layer.queryBias, rows: tokens), bk = b.placeRow(layer.keyBias, rows: tokens)
        let bv = b.placeRow(layer.valueBias, rows: tokens), bo = b.placeRow(layer.attentionOutputBias, rows: tokens)
        let b1 = b.placeRow(layer.intermediateBias, rows: tokens), b2 = b.placeRow(layer.outputBias, rows: tokens)
        let norm1 = b.place(layer.attentionNorm.gamma + layer.attentionNorm.beta, rows: 2, columns: hidden)
        let norm2 = b.place(layer.outputNorm.gamma + layer.outputNorm.beta, rows: 2, columns: hidden)
        let q = b.allocate(rows: tokens, columns: hidden, elementBytes: 1)
        let k = b.allocate(rows: tokens, columns: hidden, elementBytes: 1)
        let v = b.allocate(rows: tokens, columns: hidden, elementBytes: 1)
        let probabilities = (0 ..< heads).map { _ in b.allocate(rows: tokens, columns: tokens, elementBytes: 1) }
        let context = b.allocate(rows: tokens, columns: hidden, elementBytes: 1)
        let x1 = b.allocate(rows: tokens, columns: hidden, elementBytes: 1)
        let intermediate = b.allocate(rows: tokens, columns: ffn, elementBytes: 4)
        let activated = b.allocate(rows: tokens, columns: ffn, elementBytes: 1)
        let y = b.allocate(rows: tokens, columns: hidden, elementBytes: 1)

        // Q, K, V.
        if let lanes = layer.laneScales {
            for (w, bias, c, scales) in [(wq, bq, q, lanes.query), (wk, bk, k, lanes.key), (wv, bv, v, lanes.value)] {
                b.laneScaledMatmul(x, w: w, bias: bias, laneScales: scales, output: c)
            }
        } else {
            for (w, bias, c, scale) in [(wq, bq, q, layer.queryScale), (wk, bk, k, layer.keyScale), (wv, bv, v, layer.valueScale)] {
                b.tiledMatmul(i: tokens, j: hidden, k: hidden, a: x, b: w, d: bias, c: c, scale: scale)
            }
        }
        b.fence()
        // Attention, head by head.
        let extensions = parameters.config.hasNumericsExtensions
        for head in 0 ..< heads {
            let columns = head * headSize
            let (qh, kh, vh, ctx) = (q.columns(columns, headSize), k.columns(columns, headSize), v.columns(columns, headSize),
                                     context.columns(columns, headSize))
            if extensions {
                b.attentionRelativeToMaximum(q: qh, k: kh, v: vh, probabilities: probabilities[head], context: ctx,
                                             exponential: layer.exponential, contextScale: layer.units.value / layer.units.context)
            } else {
                b.softmaxAttention(q: qh, k: kh, v: vh, probabilities: probabilities[head], context: ctx,
                                   exponential: layer.exponential, contextScale: layer.contextScale)
            }
        }
        b.fence()
        // X1 = LayerNorm(ctx·W_out + b + X).
        if let r = layer.attentionResidual {
            b.residualLayerNorm(r, a: context, residual: x, blockRows: rowsPerBlock(columns: hidden), norm: norm1,
                                storeScale: layer.attentionNorm.storeScale, output: x1)
        } else {
            b.normalizedRows(rows: tokens, columns: hidden, blockRows: rowsPerBlock(columns: hidden),
                             inputs: [(bo, 1), (x, layer.attentionResidualScale)], matmul: (context, wo, hidden),
                             norm: norm1, storeScale: layer.attentionNorm.storeScale, output: x1)
        }
        b.fence()
        if extensions {
            // H = GELU(X1·W1 + b1) per column block: requantizer, two-segment I-GELU, lane scales.
            let f = layer.extendedFFN
            let w1x = b.place(f.intermediate.values, rows: hidden, columns: ffn)
            let b1x = b.placeRow(f.intermediateBias, rows: tokens)
            b.extendedFFN(x1, w1: w1x, bias: b1x, ffn: f, output: activated)
            b.fence()
            if let r = f.residual {
                b.residualLayerNorm(r, a: activated, residual: x1, blockRows: rowsPerBlock(columns: hidden), norm: norm2,
                                    storeScale: layer.outputNorm.storeScale, output: y)
            } else {
                let w2x = b.place(f.output.values, rows: ffn, columns: hidden)
                let b2x = b.placeRow(f.outputBias, rows: tokens)
                b.normalizedRows(rows: tokens, columns: hidden, blockRows: rowsPerBlock(columns: hidden),
                                 inputs: [(b2x, 1), (x1, f.outputResidualScale)], matmul: (activated, w2x, ffn),
                                 norm: norm2, storeScale: layer.outputNorm.storeScale, output: y)
            }
        } else {
            // H = GELU(X1·W1 + b1): int32 out, back in at I-GELU's input unit, stored through I-GELU.
            b.tiledMatmul(i: tokens, j: ffn, k: hidden, a: x1, b: w1, d: b1, c: intermediate, scale: 1, fullC: true)
            b.fence()
            b.activate(intermediate, requantize: layer.geluRequantizeScale, gelu: layer.gelu, storeScale: layer.activatedScale, output: activated)
            b.fence()
            // Y = LayerNorm(H·W2 + b2 + X1).
            b.normalizedRows(rows: tokens, columns: hidden, blockRows: rowsPerBlock(columns: hidden),
                             inputs: [(b2, 1), (x1, layer.outputResidualScale)], matmul: (activated, w2, ffn),
                             norm: norm2, storeScale: layer.outputNorm.storeScale, output: y)
        }
        b.fence()
        var pooled: (offset: Int, columns: Int)?
        if pool {
            let ones = b.place([Int8](repeating: 1, count: tokens), rows: 1, columns: tokens)
            let sums = b.allocate(rows: 1, columns: hidden, elementBytes: 4)
            b.tiledMatmul(i: 1, j: hidden, k: tokens, a: ones, b: y, d: nil, c: sums, scale: 1, fullC: true)
            b.fence()
            pooled = (sums.offset, hidden)
        }
        var mapped = MappedProgram(name: "layer \(index)", program: b.program, output: (y.offset, tokens, hidden), pooled: pooled, macs: b.macs)
        let u = layer.units
        let tensors: [(BertEncoder.Site, DRAMMatrix, [Float])] = [
            (.query, q, [u.query]), (.key, k, [u.key]), (.value, v, [u.value]), (.context, context, [u.context]),
            (.attentionNormed, x1, layer.attentionNormedUnits), (.activated, activated, extensions ? layer.extendedFFN.activatedUnits : [u.activated]), (.output, y, layer.outputUnits)]
        mapped.tensors = tensors.map { site, matrix, units in
            (site, matrix.offset, matrix.rows, matrix.columns, units.count == matrix.columns ? units : Array(repeating: units[0], count: matrix.columns))
        }
        return mapped
    }
}

extension ProgramBuilder {
    /// Attention of one head on the int8 path: P = Softmax(Q·Kᵀ) through LOOP_WS with the
    /// normalizer's passes, stored in int8; a fence; ctx = P·V stored with `contextScale`.
    mutating func softmaxAttention(q: DRAMMatrix, k: DRAMMatrix, v: DRAMMatrix, probabilities: DRAMMatrix, context: DRAMMatrix,
                                   exponential e: ExponentialConstants, contextScale: Float) {
        let tokens = q.rows, headSize = q.columns
        configNormalization(activationMSB: true, constant: e.qln2, inverse: false, qb: e.qb, qc: e.qc)
        configNormalization(activationMSB: true, constant: e.qln2Inverse, inverse: true, qb: e.qb, qc: e.qc)
        tiledMatmul(i: tokens, j: tokens, k: headSize, a: q, b: k, d: nil, c: probabilities, activation: Activation.softmax.rawValue,
                    scale: 1, transposeB: true)
        configNormalization(activationMSB: false)
        fence()
        tiledMatmul(i: tokens, j: headSize, k: tokens, a: probabilities, b: v, d: nil, c: context, scale: contextScale)
    }

    /// Attention of one head with Softmax relative to the row maximum (numerics extensions): per
    /// row of tiles, P = Softmax5(Q_h·K_hᵀ) through LOOP_WS (the passes leave each row's
    /// ρ = 1/Σ P in the statistics slot), a fence, then P·V_h stored with the row scale ρ·scale.
    /// The row of tiles at a time keeps ρ in the slot until its P·V is stored.
    mutating func attentionRelativeToMaximum(q: DRAMMatrix, k: DRAMMatrix, v: DRAMMatrix, probabilities: DRAMMatrix, context: DRAMMatrix,
                                             exponential e: ExponentialConstants, contextScale: Float) {
        let tokens = q.rows, headSize = q.columns
        let tilesI = Self.tiles(tokens, dim), tilesT = Self.tiles(tokens, dim), tilesH = Self.tiles(headSize, dim)
        let padT = tilesT * dim - tokens, padH = tilesH * dim - headSize
        for i in 0 ..< tilesI {
            let padI = i == tilesI - 1 ? tilesI * dim - tokens : 0
            configNormalization(activationMSB: true, constant: e.qln2, inverse: false, qb: e.qb, qc: e.qc)
            configNormalization(activationMSB: true, constant: e.qln2Inverse, inverse: true, qb: e.qb, qc: e.qc)
            configExecuteWS(transposeB: true)
            configStore(activation: Activation.softmaxRelativeToMaximum.rawValue & 3, scale: 1, strideBytes: probabilities.stride)
            configLoad(which: 0, strideBytes: q.stride)
            configLoad(which: 1, strideBytes: k.stride)
            macs += Double(tokens) * Double(tokens) * Double(headSize) / Double(tilesI)
            loopWS(Loop(tilesI: 1, tilesJ: tilesT, tilesK: tilesH, padI: padI, padJ: padT, padK: padH,
                        a: q.at(i * dim, 0), b: k.at(0, 0), d: 0, c: probabilities.at(i * dim, 0),
                        strideA: q.stride, strideB: k.stride, strideD: 0, strideC: probabilities.stride,
                        transposeB: true, activation: Activation.softmax.rawValue))
            fence()
            // The MSB off (activation 0 again); the slot keeps ρ.
            configNormalization(activationMSB: false, constant: e.qln2, qb: e.qb, qc: e.qc)
            configExecuteWS()
            configStore(activation: 0, scale: contextScale, strideBytes: context.stride, scaleSource: .row)
            configLoad(which: 0, strideBytes: probabilities.stride)
            configLoad(which: 1, strideBytes: v.stride)
            macs += Double(tokens) * Double(tokens) * Double(headSize) / Double(tilesI)
            loopWS(Loop(tilesI: 1, tilesJ: tilesH, tilesK: tilesT, padI: padI, padJ: padH, padK: padT,
                        a: probabilities.at(i * dim, 0), b: v.at(0, 0), d: 0, c: context.at(i * dim, 0),
                        strideA: probabilities.stride, strideB: v.stride, strideD: 0, strideC: context.stride))
        }
    }

    /// The FFN's first matmul with the numerics extensions, one LOOP_WS per column block of
    /// W1 (each block has its own requantizer multipliers): the bias as D (an int32 row
    /// repeated), the requantizer from each column's accumulator unit to the two-segment
    /// I-GELU's input unit. A block's multipliers go through the accumulator's last row (LOAD_REQUANT).
    mutating func extendedFFN(_ x: DRAMMatrix, w1: DRAMMatrix, bias: DRAMMatrix, ffn f: ExtendedFFN, output: DRAMMatrix) {
        let tokens = x.rows, hidden = x.columns, columns = w1.columns
        let tilesI = Self.tiles(tokens, dim), tilesJ = Self.tiles(columns, dim), tilesK = Self.tiles(hidden, dim)
        var multipliers: [Int32] = [], shifts: [Int] = []
        for j in 0 ..< tilesJ {
            let block = j * dim ..< min(columns, (j + 1) * dim)
            multipliers += f.multipliers(columns: block)
            shifts.append(f.shift(columns: block))
        }
        let multiplierRow = place(multipliers, rows: 1, columns: columns)
        let multiplierLocal = Self.accumulator | UInt32(parameters.accRows - 1)
        let rowsOfTiles = min(tilesI, accumulatorHalfTiles - 1, scratchpadHalfTiles - 1)
        let perLoop = splitK((rowsOfTiles, 1, 1), tilesK)
        configNormalization(activationMSB: true)
        configGELUSegment(.geluFirstSegment, qb: f.gelu.qb1, qc: f.gelu.qc1, constant: f.gelu.qt)
        configGELUSegment(.geluSecondSegment, qb: f.gelu.qb2, qc: f.gelu.qc2, constant: f.gelu.q1)
        configExecuteWS()
        configLoad(which: 0, strideBytes: x.stride)
        configLoad(which: 1, strideBytes: w1.stride)
        configLoad(which: 2, strideBytes: 0)
        macs += Double(tokens) * Double(columns) * Double(hidden)
        var spad = 0
        for j in 0 ..< tilesJ {
            let width = min(dim, columns - j * dim)
            moveIn(which: 2, from: multiplierRow.at(0, j * dim), to: multiplierLocal, rows: 1, columns: width)
            loadLaneParameters(Funct.loadRequantizer, multiplierLocal, columns: width)
            configStore(activation: Activation.igelu.rawValue, scale: f.activatedScale(columns: j * dim ..< min(columns, (j + 1) * dim)), strideBytes: output.stride, requantizerShift: shifts[j])
            columnBlockLoops(x: x, w: w1, bias: bias, output: output, block: j, width: width, rowsOfTiles: rowsOfTiles,
                             perLoop: perLoop, spad: &spad)
        }
        configStore(activation: 0, scale: 1, strideBytes: output.stride)
        configNormalization(activationMSB: false)
    }

    /// Rows of `columns` through the affine LayerNorm, `blockRows` at a time: each block's
    /// accumulator tiles take `inputs` in order (the first overwrites, the others accumulate;
    /// int32 as they are, int8 shrunk; each with its mvin scale), then `matmul`'s A·B
    /// accumulating (LOOP_WS with C not stored, K in as few loops as fit half the scratchpad),
    /// then per row of tiles the MEAN and INV_STDDEV passes and the output pass, γ and β of each
    /// column block loaded by LOAD_AFFINE from the other accumulator half.
    /// With `requantizer`, the per-lane requantizer (multipliers: an int32 row of `columns`, one
    /// shift) is on for the passes and the output: each column block's multipliers are loaded
    /// (LOAD_REQUANT) before each of its mvouts.
    /// `rowScales[position]` gives input `position` one mvin scale per row (one row per mvin).
    mutating func normalizedRows(rows: Int, columns: Int, blockRows: Int, inputs: [(matrix: DRAMMatrix, scale: Float)],
                                 rowScales: [Int: [Float]] = [:], columnScales: [Int: [Float]] = [:], matmul: (a: DRAMMatrix, b: DRAMMatrix, k: Int)?, norm: DRAMMatrix, storeScale: Float, output: DRAMMatrix,
                                 requantizer: (multipliers: DRAMMatrix, shifts: [Int])? = nil) {
        let tilesJ = Self.tiles(columns, dim)
        for first in stride(from: 0, to: rows, by: blockRows) {
            let count = min(blockRows, rows - first), tilesI = Self.tiles(count, dim)
            let half = accumulatorHalf
            func tile(_ i: Int, _ j: Int) -> UInt32 { accumulatorRow(half: half, (i * tilesJ + j) * dim) }
            func rowsOf(_ i: Int) -> Int { min(dim, count - i * dim) }
            func columnsOf(_ j: Int) -> Int { min(dim, columns - j * dim) }
            for (position, input) in inputs.enumerated() {
                if let scales = rowScales[position] {
                    for r in 0 ..< count {
                        configLoad(which: 2, shrunk: input.matrix.elementBytes == 1, scale: scales[first + r],
                                   strideBytes: input.matrix.stride * input.matrix.elementBytes)
                        for j in 0 ..< tilesJ {
                            moveIn(which: 2, from: input.matrix.at(first + r, j * dim), to: (tile(r / dim, j) + UInt32(r % dim)) | (position > 0 ? Self.accumulate : 0),
                                   rows: 1, columns: columnsOf(j))
                        }
                    }
                    continue
                }
                if let scales = columnScales[position] {
                    // One mvin scale per column block.
                    for j in 0 ..< tilesJ {
                        configLoad(which: 2, shrunk: input.matrix.elementBytes == 1, scale: scales[j * dim],
                                   strideBytes: input.matrix.stride * input.matrix.elementBytes)
                        for i in 0 ..< tilesI {
                            moveIn(which: 2, from: input.matrix.at(first + i * dim, j * dim),
                                   to: tile(i, j) | (position > 0 ? Self.accumulate : 0), rows: rowsOf(i), columns: columnsOf(j))
                        }
                    }
                    continue
                }
                configLoad(which: 2, shrunk: input.matrix.elementBytes == 1, scale: input.scale,
                           strideBytes: input.matrix.stride * input.matrix.elementBytes)
                for i in 0 ..< tilesI {
                    for j in 0 ..< tilesJ {
                        moveIn(which: 2, from: input.matrix.at(first + i * dim, j * dim),
                               to: tile(i, j) | (position > 0 ? Self.accumulate : 0), rows: rowsOf(i), columns: columnsOf(j))
                    }
                }
            }
            if let matmul {
                macs += Double(count) * Double(columns) * Double(matmul.k)
                let tilesK = Self.tiles(matmul.k, dim)
                let perLoop = min(tilesK, scratchpadHalfTiles / (tilesI + tilesJ))
                configExecuteWS()
                configLoad(which: 0, strideBytes: matmul.a.stride)
                configLoad(which: 1, strideBytes: matmul.b.stride)
                var spad = 0
                for k0 in stride(from: 0, to: tilesK, by: perLoop) {
                    let lk = min(perLoop, tilesK - k0)
                    loopWS(Loop(tilesI: tilesI, tilesJ: tilesJ, tilesK: lk, padI: tilesI * dim - count, padJ: tilesJ * dim - columns,
                                padK: k0 + lk == tilesK ? tilesK * dim - matmul.k : 0,
                                a: matmul.a.at(first, k0 * dim), b: matmul.b.at(k0 * dim, 0), d: 0, c: 0,
                                strideA: matmul.a.stride, strideB: matmul.b.stride, strideD: 0, strideC: 0,
                                exAccumulate: k0 > 0 || !inputs.isEmpty, scratchpadID: 1 + spad))
                    spad ^= 1
                }
            }
            // γ and β of column block j: rows 2j and 2j + 1 of the other half.
            func parameters(_ j: Int) -> UInt32 { accumulatorRow(half: 1 - half, 2 * j) }
            configLoad(which: 2, strideBytes: norm.stride * 4)
            for j in 0 ..< tilesJ { moveIn(which: 2, from: norm.at(0, j * dim), to: parameters(j), rows: 2, columns: columnsOf(j)) }
            // The requantizer's multipliers of column block j: row 2·tilesJ + j of the other half.
            func multipliers(_ j: Int) -> UInt32 { accumulatorRow(half: 1 - half, 2 * tilesJ + j) }
            if let requantizer {
                configLoad(which: 2, strideBytes: requantizer.multipliers.stride * 4)
                for j in 0 ..< tilesJ {
                    moveIn(which: 2, from: requantizer.multipliers.at(0, j * dim), to: multipliers(j), rows: 1, columns: columnsOf(j))
                }
            }
            // Before each mvout of block j: its multipliers and (when it differs) its K.
            var shift = requantizer?.shifts[0] ?? 0
            func loadMultipliers(_ j: Int) {
                guard let requantizer else { return }
                loadLaneParameters(Funct.loadRequantizer, multipliers(j), columns: columnsOf(j))
                if requantizer.shifts[j * dim] != shift {
                    shift = requantizer.shifts[j * dim]
                    configStore(activation: Activation.layerNorm.rawValue, scale: storeScale, strideBytes: output.stride, requantizerShift: shift)
                }
            }
            configNormalization(activationMSB: true)
            configStore(activation: Activation.layerNorm.rawValue, scale: storeScale, strideBytes: output.stride, requantizerShift: shift)
            let passes = NormalizationCommand.passes(softmax: false)
            for i in 0 ..< tilesI {
                for pass in passes {
                    for j in 0 ..< tilesJ {
                        let command = UInt32(LocalAddressLayout.normalizationCommand.placed(UInt64((j == tilesJ - 1 ? pass.last : pass.each).rawValue)))
                        loadMultipliers(j)
                        moveOut(to: output.at(first + i * dim, j * dim), from: tile(i, j) | command, rows: rowsOf(i), columns: columnsOf(j))
                    }
                }
                for j in 0 ..< tilesJ {
                    loadAffine(parameters(j), columns: columnsOf(j))
                    loadMultipliers(j)
                    moveOut(to: output.at(first + i * dim, j * dim), from: tile(i, j), rows: rowsOf(i), columns: columnsOf(j))
                }
            }
            if requantizer != nil { configStore(activation: 0, scale: 1, strideBytes: output.stride) }
            configNormalization(activationMSB: false)
        }
    }

    /// The LOOP_WSs of column block `j` of C = X·W (`width` columns): `rowsOfTiles` rows of tiles
    /// and `perLoop` K tiles per loop, the bias as D in each row's first loop, C stored by its
    /// last, the operands in alternating scratchpad halves (`spad`).
    mutating func columnBlockLoops(x: DRAMMatrix, w: DRAMMatrix, bias: DRAMMatrix, output: DRAMMatrix, block j: Int, width: Int,
                                   rowsOfTiles: Int, perLoop: Int, spad: inout Int) {
        let tokens = x.rows, inner = x.columns
        let tilesI = Self.tiles(tokens, dim), tilesK = Self.tiles(inner, dim)
        for i0 in stride(from: 0, to: tilesI, by: rowsOfTiles) {
            let li = min(rowsOfTiles, tilesI - i0)
            for k0 in stride(from: 0, to: tilesK, by: perLoop) {
                let lk = min(perLoop, tilesK - k0)
                loopWS(Loop(tilesI: li, tilesJ: 1, tilesK: lk, padI: i0 + li == tilesI ? tilesI * dim - tokens : 0, padJ: dim - width,
                            padK: k0 + lk == tilesK ? tilesK * dim - inner : 0,
                            a: x.at(i0 * dim, k0 * dim), b: w.at(k0 * dim, j * dim), d: k0 == 0 ? bias.at(i0 * dim, j * dim) : 0,
                            c: k0 + lk == tilesK ? output.at(i0 * dim, j * dim) : 0,
                            strideA: x.stride, strideB: w.stride, strideD: 0, strideC: output.stride,
                            exAccumulate: true, scratchpadID: 1 + spad))
                spad ^= 1
            }
        }
    }

    /// C = X·W + bias with a per-column store scale (int8 out), one LOOP_WS per column block of W:
    /// the block's scales loaded by LOAD_LANE_SCALES (through the accumulator's last row) and
    /// stored with scale source 1.
    mutating func laneScaledMatmul(_ x: DRAMMatrix, w: DRAMMatrix, bias: DRAMMatrix, laneScales: [Float], output: DRAMMatrix) {
        let tokens = x.rows, inner = x.columns, columns = w.columns
        let tilesI = Self.tiles(tokens, dim), tilesJ = Self.tiles(columns, dim), tilesK = Self.tiles(inner, dim)
        let scaleRow = place(laneScales.map { Int32(bitPattern: $0.bitPattern) }, rows: 1, columns: columns)
        let scaleLocal = Self.accumulator | UInt32(parameters.accRows - 1)
        let rowsOfTiles = min(tilesI, accumulatorHalfTiles - 1, scratchpadHalfTiles - 1)
        let perLoop = splitK((rowsOfTiles, 1, 1), tilesK)
        configExecuteWS()
        configLoad(which: 0, strideBytes: x.stride)
        configLoad(which: 1, strideBytes: w.stride)
        configLoad(which: 2, strideBytes: 0)
        configStore(activation: 0, scale: 1, strideBytes: output.stride, scaleSource: .lane)
        macs += Double(tokens) * Double(columns) * Double(inner)
        var spad = 0
        for j in 0 ..< tilesJ {
            let width = min(dim, columns - j * dim)
            moveIn(which: 2, from: scaleRow.at(0, j * dim), to: scaleLocal, rows: 1, columns: width)
            loadLaneParameters(Funct.loadLaneScales, scaleLocal, columns: width)
            columnBlockLoops(x: x, w: w, bias: bias, output: output, block: j, width: width, rowsOfTiles: rowsOfTiles,
                             perLoop: perLoop, spad: &spad)
        }
        configStore(activation: 0, scale: 1, strideBytes: output.stride)
    }

    /// A residual matmul's requantizer multipliers placed as one int32 row, with its shift.
    /// Y = LayerNorm(A·W + bias + residual) with per-column units (`ResidualMatmul`): the bias
    /// row, the residual with its mvin scale c per column block, A·W accumulating, and the
    /// per-lane requantizer in front of the LayerNorm's passes.
    mutating func residualLayerNorm(_ r: ResidualMatmul, a: DRAMMatrix, residual: DRAMMatrix, blockRows: Int, norm: DRAMMatrix,
                                    storeScale: Float, output: DRAMMatrix) {
        let bias = placeRow(r.bias, rows: residual.rows)
        let weights = place(r.weights.values, rows: r.weights.inputs, columns: r.weights.outputs)
        let multipliers = place(r.multipliers, rows: 1, columns: r.multipliers.count)
        normalizedRows(rows: residual.rows, columns: residual.columns, blockRows: blockRows,
                       inputs: [(bias, 1), (residual, r.residualScales[0])], columnScales: [1: r.residualScales],
                       matmul: (a, weights, r.weights.inputs), norm: norm, storeScale: storeScale, output: output,
                       requantizer: (multipliers, r.shifts))
    }

    /// I-GELU over an int32 matrix in DRAM: each tile moved into the accumulator with the scale
    /// `requantize` (I-GELU's input unit), then stored through I-GELU with `storeScale`. Eight
    /// accumulator tiles in turn, so that a tile's mvin overlaps the previous one's mvout.
    mutating func activate(_ input: DRAMMatrix, requantize: Float, gelu: GELUConstants, storeScale: Float, output: DRAMMatrix) {
        let tilesI = Self.tiles(input.rows, dim), tilesJ = Self.tiles(input.columns, dim)
        configLoad(which: 2, scale: requantize, strideBytes: input.stride * 4)
        configNormalization(activationMSB: false, qb: gelu.qb, qc: gelu.qc)
        configStore(activation: Activation.igelu.rawValue, scale: storeScale, strideBytes: output.stride)
        var slot = 0
        for i in 0 ..< tilesI {
            for j in 0 ..< tilesJ {
                let rows = min(dim, input.rows - i * dim), columns = min(dim, input.columns - j * dim)
                let local = accumulatorRow(half: accumulatorHalf, slot * dim)
                moveIn(which: 2, from: input.at(i * dim, j * dim), to: local, rows: rows, columns: columns)
                moveOut(to: output.at(i * dim, j * dim), from: local, rows: rows, columns: columns)
                slot = (slot + 1) % 8
            }
        }
    }
}
