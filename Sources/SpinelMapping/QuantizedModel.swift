import Foundation
import SpinelModel

/// A BERT encoder quantized for the accelerator (docs/QUANTIZATION.md): int8 weights laid out as
/// the B operands of the matmuls, int32 biases in the accumulator's unit, LayerNorm's γ and β
/// for the affine LayerNorm, and every scale and constant the commands carry. Each int8 tensor
/// has one real unit (`Units`): value = integer × unit.
public struct QuantizedModel: Sendable {
    public let config: BertConfig
    public let embeddings: QuantizedEmbeddings
    public var layers: [QuantizedLayer]
    public let ranges: ActivationRanges

    public init(encoder: BertEncoder, ranges: ActivationRanges) {
        config = encoder.config
        self.ranges = ranges
        let weights = encoder.weights
        embeddings = QuantizedEmbeddings(weights: weights, config: config, ranges: ranges)
        var layers: [QuantizedLayer] = []
        var input = embeddings.outputUnit
        for (index, layer) in weights.layers.enumerated() {
            let quantized = QuantizedLayer(layer, index: index, inputUnit: input, config: config, ranges: ranges)
            layers.append(quantized)
            input = quantized.units.output
        }
        self.layers = layers
    }

    /// The unit of the last layer's int8 output.
    public var outputUnit: Float { layers.last?.units.output ?? embeddings.outputUnit }
}

/// An int8 unit for a calibrated range: the range maps onto ±127 (a zero range, which only a
/// degenerate model has, gets unit 1).
func unit(forRange range: Float) -> Float { range > 0 ? range / 127 : 1 }

/// rne(x / unit) saturated to int8.
func quantize8(_ x: Float, unit: Float) -> Int8 {
    Int8(clamping: Int((Double(x) / Double(unit)).rounded(.toNearestOrEven).clamped(to: -1e9...1e9)))
}

/// rne(x / unit) saturated to int32.
func quantize32(_ x: Float, unit: Float) -> Int32 {
    Int32(clamping: Int64((Double(x) / Double(unit)).rounded(.toNearestOrEven).clamped(to: -4e18...4e18)))
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

/// A weight matrix as a matmul's B operand: `values[k * outputs + n]` = W[n][k]·rowScale[k] /
/// unit[n], int8. One unit for the whole tensor (the largest |w| maps to 127), or with
/// `perColumn` one per output channel (lane scales or the requantizer take them out).
/// `rowScales` folds a per-input-channel unit of the activations into the weights.
public struct QuantizedMatrix: Sendable {
    public var inputs: Int, outputs: Int
    public var values: [Int8]
    public var units: [Float]
    /// The unit of a per-tensor matrix.
    public var unit: Float { units[0] }

    init(_ linear: Linear, perColumn: Bool = false, rowScales: [Float]? = nil) {
        inputs = linear.inputs
        outputs = linear.outputs
        let (inputs, outputs) = (linear.inputs, linear.outputs)
        func weight(_ n: Int, _ k: Int) -> Float { linear.weight[n * inputs + k] * (rowScales?[k] ?? 1) }
        let columnRanges = (0 ..< outputs).map { n in (0 ..< inputs).reduce(Float(0)) { max($0, abs(weight(n, $1))) } }
        units = perColumn ? columnRanges.map(SpinelMapping.unit(forRange:))
            : Array(repeating: SpinelMapping.unit(forRange: columnRanges.max() ?? 0), count: outputs)
        var values = [Int8](repeating: 0, count: inputs * outputs)
        for n in 0 ..< outputs {
            for k in 0 ..< inputs { values[k * outputs + n] = quantize8(weight(n, k), unit: units[n]) }
        }
        self.values = values
    }
}

/// The affine LayerNorm's parameters (docs/NUMERICS.md, activation 6): γ in signed Q.12 (18 bits),
/// β in units of 2^−16, and the store scale that puts the output in `outputUnit`.
public struct AffineLayerNorm: Sendable {
    public var gamma: [Int32]
    public var beta: [Int32]
    public var storeScale: Float

    static let gammaFractionBits = 12
    static let normalizedFractionBits = 16
    static let gammaLimit = Int32(1 << 17) - 1

    init(_ norm: LayerNormWeights, outputUnit: Float) {
        gamma = norm.gamma.map { quantize32($0, unit: 1 / Float(1 << Self.gammaFractionBits)).clamped(to: -Self.gammaLimit...Self.gammaLimit) }
        beta = norm.beta.map { quantize32($0, unit: 1 / Float(1 << Self.normalizedFractionBits)) }
        storeScale = 1 / outputUnit
    }
}

/// The embeddings: word and position tables in int8 (the host gathers their rows: data
/// movement), the token-type-0 row as an int32 bias in the accumulator's unit, and the
/// LayerNorm. The accumulator adds word + position (each moved in with its scale) + bias.
public struct QuantizedEmbeddings: Sendable {
    public var words: [Int8], wordUnit: Float
    public var positions: [Int8], positionUnit: Float
    /// The accumulator's unit: 1/64 of the finer table unit (LayerNorm's integer statistics
    /// need rows with a standard deviation of many units).
    public var accumulatorUnit: Float
    public var typeBias: [Int32]
    public var wordScale: Float, positionScale: Float
    public var norm: AffineLayerNorm
    public var outputUnit: Float

    init(weights: BertWeights, config: BertConfig, ranges: ActivationRanges) {
        let hidden = config.hiddenSize
        let wordUnit = unit(forRange: weights.wordEmbeddings.map(abs).max() ?? 0)
        let positionUnit = unit(forRange: weights.positionEmbeddings.map(abs).max() ?? 0)
        let accumulatorUnit = min(wordUnit, positionUnit) / 64
        words = weights.wordEmbeddings.map { quantize8($0, unit: wordUnit) }
        positions = weights.positionEmbeddings.map { quantize8($0, unit: positionUnit) }
        typeBias = weights.typeEmbeddings.prefix(hidden).map { quantize32($0, unit: accumulatorUnit) }
        (self.wordUnit, self.positionUnit, self.accumulatorUnit) = (wordUnit, positionUnit, accumulatorUnit)
        wordScale = wordUnit / accumulatorUnit
        positionScale = positionUnit / accumulatorUnit
        outputUnit = unit(forRange: ranges.range(layer: nil, .output))
        norm = AffineLayerNorm(weights.embeddingNorm, outputUnit: outputUnit)
    }
}

/// I-BERT's integer exponential for Softmax inputs in `inputUnit` (docs/NUMERICS.md's formulas).
public struct ExponentialConstants: Sendable {
    public var qln2: Int32, qln2Inverse: Int32, qb: Int32, qc: Int32

    init(inputUnit s: Double) {
        qln2 = Int32(clamping: Int((0.693147 / s).rounded(.towardZero)))
        qln2Inverse = qln2 > 0 ? 65536 / qln2 : 0
        qb = Int32(clamping: Int((1.353 / s).rounded(.towardZero)))
        qc = Int32(clamping: Int((0.344 / (0.3585 * s * s)).rounded(.towardZero)))
    }
}

/// I-GELU's constants for inputs in `inputUnit` and the unit of its output (docs/NUMERICS.md).
public struct GELUConstants: Sendable {
    public var qb: Int32, qc: Int32
    public var inputUnit: Float
    public var outputUnit: Double

    /// I-GELU's int32 product `q·(q_erf + qc)` reaches 13.85·|x|/S³ for a real input x in
    /// unit S: the unit is chosen so that twice the calibrated range stays below 2^31 with a
    /// quarter to spare (docs/NUMERICS.md, "per-lane requantizer": real accumulators have units far
    /// below what the polynomial needs).
    init(inputRange: Float) {
        let limit = 2 * Double(max(inputRange, 1e-3))
        let s = 1.25 * Foundation.cbrt(limit * 13.85 / 2_147_483_648.0)
        inputUnit = Float(s)
        let sPrime = Double(inputUnit) / 2.0.squareRoot()
        qb = Int32(clamping: Int((-1.769 / sPrime).rounded(.towardZero)))
        let erfUnit = -0.2888 * sPrime * sPrime
        qc = Int32(clamping: Int((1 / erfUnit).rounded(.towardZero)))
        outputUnit = Double(inputUnit) * erfUnit / 2
    }
}

/// The two-segment I-GELU's constants for inputs in `inputUnit` (docs/NUMERICS.md, "Spinel numerics
/// extensions"), with the input unit chosen as for I-GELU: its int32 product reaches
/// 20.2·|x|/S³ (|poly| + |q1| ≤ 2.31/|A|), so twice the calibrated range stays below 2^31.
public struct TwoSegmentGELU: Sendable {
    public var qb1: Int32, qc1: Int32, qb2: Int32, qc2: Int32, qt: Int32, q1: Int32
    public var inputUnit: Float
    public var outputUnit: Double

    init(inputRange: Float) {
        let limit = 2 * Double(max(inputRange, 1e-3))
        inputUnit = Float(1.25 * Foundation.cbrt(limit * 20.2 / 2_147_483_648.0))
        let sPrime = Double(inputUnit) / 2.0.squareRoot(), a = -0.2284088 * sPrime * sPrime
        func int(_ v: Double) -> Int32 { Int32(clamping: Int64(v.rounded(.towardZero))) }
        (qb1, qc1, qb2, qc2, qt, q1) = (int(-2.37091198 / sPrime), int(1.31460745 / a), int(-1.83209186 / sPrime),
                                        int(0.99717067 / a), int(0.81734265 / sPrime), int(1 / a))
        outputUnit = Double(inputUnit) * a / 2
    }
}

/// The FFN with the numerics extensions: W1 per output channel, its accumulator brought to the
/// two-segment I-GELU's input unit by the per-lane requantizer (M_j / 2^K per column block).
public struct ExtendedFFN: Sendable {
    public var intermediate: QuantizedMatrix
    public var intermediateBias: [Int32]
    public var gelu: TwoSegmentGELU
    /// ACC_SCALE from the two-segment I-GELU's output unit to H's (lane scales do not go with an
    /// activation: docs/NUMERICS.md's per-lane store scale is for plain stores).
    public var activatedScale: Float
    public var output: QuantizedMatrix
    public var outputBias: [Int32]
    public var outputResidualScale: Float
    /// Each column's accumulator unit over I-GELU's input unit: M_j / 2^K.
    let ratios: [Double]

    /// The requantizer's shift for columns `columns` (a block that shares one CONFIG_ST): the
    /// largest K ≤ 47 with every M_j = rne(2^K·ratio_j) ≤ 65535.
    public func shift(columns: Range<Int>) -> Int {
        let largest = columns.map { ratios[$0] }.max() ?? 1
        return max(1, min(47, Int(Foundation.log2(65535 / largest).rounded(.down))))
    }

    public func multipliers(columns: Range<Int>) -> [Int32] {
        let k = shift(columns: columns)
        return columns.map { Int32(clamping: Int64((ratios[$0] * Double(1 << Int64(k))).rounded(.toNearestOrEven))) }
    }

    init(_ layer: EncoderLayerWeights, intermediateRange: Float, activatedUnit: Float, outputUnit attentionNormed: Float) {
        intermediate = QuantizedMatrix(layer.intermediate, perColumn: true)
        let accumulatorUnits = intermediate.units.map { attentionNormed * $0 }
        intermediateBias = zip(layer.intermediate.bias, accumulatorUnits).map { quantize32($0, unit: $1) }
        let gelu = TwoSegmentGELU(inputRange: intermediateRange)
        self.gelu = gelu
        ratios = accumulatorUnits.map { Double($0) / Double(gelu.inputUnit) }
        activatedScale = Float(gelu.outputUnit / Double(activatedUnit))
        let output = QuantizedMatrix(layer.output)
        self.output = output
        let outputUnit = activatedUnit * output.unit
        outputBias = layer.output.bias.map { quantize32($0, unit: outputUnit) }
        outputResidualScale = attentionNormed / outputUnit
    }
}

/// One encoder layer, quantized.
public struct QuantizedLayer: Sendable {
    /// The real unit of every int8 tensor the layer's program produces.
    public struct Units: Sendable {
        public var input: Float, query: Float, key: Float, value: Float, context: Float
        public var attentionNormed: Float, activated: Float, output: Float
    }

    public var index: Int
    public var units: Units
    public var query: QuantizedMatrix, key: QuantizedMatrix, value: QuantizedMatrix
    public var attentionOutput: QuantizedMatrix, intermediate: QuantizedMatrix, output: QuantizedMatrix
    /// Biases in the accumulator unit of their matmul.
    public var queryBias: [Int32], keyBias: [Int32], valueBias: [Int32]
    public var attentionOutputBias: [Int32], intermediateBias: [Int32], outputBias: [Int32]
    /// ACC_SCALE of the plain stores: accumulator unit / output unit.
    public var queryScale: Float, keyScale: Float, valueScale: Float, contextScale: Float
    public var exponential: ExponentialConstants
    /// The residual's int8 unit / the accumulator unit it is added in (scaled accumulator mvin).
    public var attentionResidualScale: Float, outputResidualScale: Float
    public var attentionNorm: AffineLayerNorm, outputNorm: AffineLayerNorm
    /// The FFN's first accumulator (int32) moved back in at I-GELU's input unit.
    public var geluRequantizeScale: Float
    public var gelu: GELUConstants
    public var activatedScale: Float
    /// The FFN for the numerics extensions (used when the configuration has them).
    public var extendedFFN: ExtendedFFN

    init(_ layer: EncoderLayerWeights, index: Int, inputUnit: Float, config: BertConfig, ranges: ActivationRanges) {
        self.index = index
        func range(_ site: BertEncoder.Site) -> Float { ranges.range(layer: index, site) }
        units = Units(input: inputUnit, query: unit(forRange: range(.query)), key: unit(forRange: range(.key)),
                      value: unit(forRange: range(.value)), context: unit(forRange: range(.context)),
                      attentionNormed: unit(forRange: range(.attentionNormed)), activated: unit(forRange: range(.activated)),
                      output: unit(forRange: range(.output)))
        query = QuantizedMatrix(layer.query)
        key = QuantizedMatrix(layer.key)
        value = QuantizedMatrix(layer.value)
        attentionOutput = QuantizedMatrix(layer.attentionOutput)
        intermediate = QuantizedMatrix(layer.intermediate)
        output = QuantizedMatrix(layer.output)

        let qkvUnit = (query: inputUnit * query.unit, key: inputUnit * key.unit, value: inputUnit * value.unit)
        queryBias = layer.query.bias.map { quantize32($0, unit: qkvUnit.query) }
        keyBias = layer.key.bias.map { quantize32($0, unit: qkvUnit.key) }
        valueBias = layer.value.bias.map { quantize32($0, unit: qkvUnit.value) }
        queryScale = qkvUnit.query / units.query
        keyScale = qkvUnit.key / units.key
        valueScale = qkvUnit.value / units.value

        // Scores Q·Kᵀ are in units of unit(Q)·unit(K); Softmax takes them divided by √d_head.
        exponential = ExponentialConstants(inputUnit: Double(units.query) * Double(units.key) / Double(config.headSize).squareRoot())
        // Softmax's output is in units of 1/127 of the row's sum: P·V is in unit(V)/127.
        contextScale = units.value / 127 / units.context

        let attentionUnit = units.context * attentionOutput.unit
        attentionOutputBias = layer.attentionOutput.bias.map { quantize32($0, unit: attentionUnit) }
        attentionResidualScale = inputUnit / attentionUnit
        attentionNorm = AffineLayerNorm(layer.attentionNorm, outputUnit: units.attentionNormed)

        let intermediateUnit = units.attentionNormed * intermediate.unit
        intermediateBias = layer.intermediate.bias.map { quantize32($0, unit: intermediateUnit) }
        gelu = GELUConstants(inputRange: range(.intermediate))
        geluRequantizeScale = intermediateUnit / gelu.inputUnit
        activatedScale = Float(gelu.outputUnit / Double(units.activated))

        let outputUnit = units.activated * output.unit
        outputBias = layer.output.bias.map { quantize32($0, unit: outputUnit) }
        outputResidualScale = units.attentionNormed / outputUnit
        outputNorm = AffineLayerNorm(layer.outputNorm, outputUnit: units.output)
        extendedFFN = ExtendedFFN(layer, intermediateRange: range(.intermediate),
                                  activatedUnit: units.activated, outputUnit: units.attentionNormed)
    }
}
