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

    /// Per-column units on the residual stream (docs/QUANTIZATION.md, "Per-column units"): needs
    /// the numerics extensions (per-lane requantizer in front of the residual LayerNorms).
    public let perColumn: Bool

    /// `perColumn` gives every column of the LayerNorm outputs its own int8 unit
    /// (`ColumnUnits`, with `smoothing` α: 1 the column's own range, 0 one unit for all).
    /// The smoothing α of the residual stream's and of H's units that `spinel run-model` uses
    /// (measured in docs/QUANTIZATION.md, "Per-column units").
    public static let recommendedSmoothing: Float = 0.7
    public static let recommendedActivatedSmoothing: Float = 0.5

    /// `block` > 0 (the accelerator's DIM): the residual matmuls' c and K per block of that many
    /// columns, and (with `activatedSmoothing` α > 0) H one unit per block.
    public let block: Int

    public init(encoder: BertEncoder, ranges: ActivationRanges, perColumn: Bool = false, smoothing: Float = 1,
                block: Int = 0, activatedSmoothing: Float = 0) {
        self.block = perColumn ? block : 0
        config = encoder.config
        self.ranges = ranges
        self.perColumn = perColumn
        let weights = encoder.weights
        let columnUnits = ColumnUnits(ranges: ranges, hidden: config.hiddenSize, perColumn: perColumn, smoothing: smoothing,
                                      block: self.block, activatedSmoothing: activatedSmoothing)
        embeddings = QuantizedEmbeddings(weights: weights, config: config, ranges: ranges, outputUnits: columnUnits.units(layer: nil, .output),
                                         perRow: perColumn)
        var layers: [QuantizedLayer] = []
        var input = embeddings.outputUnits
        for (index, layer) in weights.layers.enumerated() {
            let quantized = QuantizedLayer(layer, index: index, inputUnits: input, config: config, ranges: ranges, columnUnits: columnUnits)
            layers.append(quantized)
            input = quantized.outputUnits
        }
        self.layers = layers
    }

    /// The unit of the last layer's int8 output (per-tensor models).
    public var outputUnit: Float { layers.last?.units.output ?? embeddings.outputUnit }
    /// The per-column units of the last layer's int8 output.
    public var outputUnits: [Float] { layers.last?.outputUnits ?? embeddings.outputUnits }
}

/// The int8 units of the LayerNorm outputs (the residual stream), one per column. Per tensor,
/// every column has the site's unit; per column, column j's range r_j (its own percentile)
/// is widened towards the largest column's R as r_j^α·R^(1−α) (α = `smoothing`; never below
/// r_j, so nothing saturates that would not at α = 1), unit = that / 127.
struct ColumnUnits {
    let ranges: ActivationRanges, hidden: Int, perColumn: Bool, smoothing: Float
    /// H per block of `block` columns (0: one unit): block b's range r_b (its columns' largest)
    /// as R^(1−α)·r_b^α with R the site's range and α = `activatedSmoothing`.
    var block = 0, activatedSmoothing: Float = 0

    func blockUnits(layer: Int?, _ site: BertEncoder.Site) -> [Float]? {
        let whole = ranges.range(layer: layer, site)
        guard block > 0, activatedSmoothing > 0, let columns = ranges.columnRanges(layer: layer, site), whole > 0 else { return nil }
        return (0 ..< columns.count).map { j in
            let first = j / block * block
            let r = max(columns[first ..< min(columns.count, first + block)].max() ?? 0, whole * 1e-3)
            return unit(forRange: Float(pow(Double(r), Double(activatedSmoothing)) * pow(Double(whole), Double(1 - activatedSmoothing))))
        }
    }

    func units(layer: Int?, _ site: BertEncoder.Site) -> [Float] {
        guard perColumn, let columns = ranges.columnRanges(layer: layer, site), columns.count == hidden else {
            return Array(repeating: unit(forRange: ranges.range(layer: layer, site)), count: hidden)
        }
        let largest = columns.max() ?? 0
        guard largest > 0 else { return Array(repeating: 1, count: hidden) }
        return columns.map { r in
            let floor = largest * 1e-4
            return unit(forRange: Float(pow(Double(max(r, floor)), Double(smoothing)) * pow(Double(largest), Double(1 - smoothing))))
        }
    }
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
    /// The common unit the store scale puts the output in (1 / storeScale).
    public var outputUnit: Float

    static let gammaFractionBits = 12
    static let normalizedFractionBits = 16
    static let gammaLimit = Int32(1 << 17) - 1

    init(_ norm: LayerNormWeights, outputUnit: Float) {
        gamma = norm.gamma.map { quantize32($0, unit: 1 / Float(1 << Self.gammaFractionBits)).clamped(to: -Self.gammaLimit...Self.gammaLimit) }
        beta = norm.beta.map { quantize32($0, unit: 1 / Float(1 << Self.normalizedFractionBits)) }
        storeScale = 1 / outputUnit
        self.outputUnit = outputUnit
    }

    /// Per-column output units u_j: γ'_j = γ_j·u/u_j and β'_j = β_j·u/u_j with one store scale
    /// 1/u, u the largest that keeps every |γ'_j| within Q.12's 18 bits (so γ' keeps the most
    /// fraction bits). Equal units give the per-tensor LayerNorm above.
    init(_ norm: LayerNormWeights, outputUnits: [Float]) {
        let first = outputUnits.first ?? 1
        let uniform = !outputUnits.contains { $0 != first }
        var common = first
        if !uniform {
            let limit = Double(Self.gammaLimit) / Double(1 << Self.gammaFractionBits)
            let u = zip(norm.gamma, outputUnits).map { gamma, unit in abs(gamma) > 0 ? limit * Double(unit) / Double(abs(gamma)) : .infinity }
                .min().map { $0 * 0.999 } ?? 1
            common = Float(u.isFinite ? u : Double(outputUnits.max()!))
        }
        func folded(_ values: [Float]) -> [Float] { uniform ? values : zip(values, outputUnits).map { $0 * common / $1 } }
        gamma = folded(norm.gamma).map { quantize32($0, unit: 1 / Float(1 << Self.gammaFractionBits)).clamped(to: -Self.gammaLimit...Self.gammaLimit) }
        beta = folded(norm.beta).map { quantize32($0, unit: 1 / Float(1 << Self.normalizedFractionBits)) }
        storeScale = 1 / common
        outputUnit = common
    }
}

/// A matmul whose accumulator also takes the residual (W_out and W2 with per-column units on the
/// residual stream): the residual X_j (unit u_j) enters with one mvin scale c, so column j of the
/// accumulator is in U_j = u_j / c, and W's output channel j is quantized in U_j / u_A (u_A the
/// A operand's unit); c is the largest that keeps every weight within ±127. The per-lane
/// requantizer (M_j = rne(2^K·U_j/U), one K) brings every column to one unit U before the
/// LayerNorm's statistics and output.
public struct ResidualMatmul: Sendable {
    public var weights: QuantizedMatrix
    public var bias: [Int32]
    /// The residual's mvin scale c per column (constant over each block of `block` columns).
    public var residualScales: [Float]
    /// The requantizer's K per column (constant over each block) and M_j.
    public var shifts: [Int]
    public var multipliers: [Int32]
    /// Columns per block with their own c and K (0: one c and one K for all).
    public let block: Int

    /// `inputUnits`: the A operand's unit per row of W (its column k's unit). With `block` > 0
    /// each block of that many columns (the lanes one mvin covers) has its own c, the largest
    /// for its columns, and its own K.
    init(_ linear: Linear, inputUnits: [Float], residualUnits: [Float], block: Int = 0) {
        let (inputs, outputs) = (linear.inputs, linear.outputs)
        self.block = block
        func weight(_ n: Int, _ k: Int) -> Float { linear.weight[n * inputs + k] * inputUnits[k] }
        let columnMaxima = (0 ..< outputs).map { n in (0 ..< inputs).reduce(Float(0)) { max($0, abs(weight(n, $1))) } }
        let limits = zip(residualUnits, columnMaxima).map { u, w in w > 0 ? Double(u) * 127 / Double(w) : .infinity }
        func blockOf(_ j: Int) -> Range<Int> {
            block > 0 ? j / block * block ..< min(outputs, (j / block + 1) * block) : 0 ..< outputs
        }
        residualScales = (0 ..< outputs).map { j in
            let c = limits[blockOf(j)].min() ?? 1
            return Float(c.isFinite ? c : 1)
        }
        let accumulatorUnits = zip(residualUnits, residualScales).map { $0 / $1 }
        weights = QuantizedMatrix(linear, perColumn: true, rowScales: inputUnits)
        var values = [Int8](repeating: 0, count: inputs * outputs)
        for n in 0 ..< outputs {
            for k in 0 ..< inputs { values[k * outputs + n] = quantize8(weight(n, k), unit: accumulatorUnits[n]) }
        }
        weights.values = values
        weights.units = accumulatorUnits
        bias = zip(linear.bias, accumulatorUnits).map { quantize32($0, unit: $1) }
        // U = the largest U_j (x' never grows); each block's K the largest with its M_j ≤ 65535.
        let common = Double(accumulatorUnits.max() ?? 1)
        let shifts = (0 ..< outputs).map { j in
            let largest = accumulatorUnits[blockOf(j)].map { Double($0) / common }.max() ?? 1
            return max(1, min(47, Int(Foundation.log2(65535 / largest).rounded(.down))))
        }
        self.shifts = shifts
        multipliers = (0 ..< outputs).map { j in
            Int32((Double(accumulatorUnits[j]) / common * Double(1 << Int64(shifts[j]))).rounded(.toNearestOrEven))
        }
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
    /// With per-row tables (`perRow`): each table row has its own unit (its largest |x| onto
    /// 127) and moves in with its own scale, row unit / accumulator unit; nil per tensor.
    public var wordRowScales: [Float]?, positionRowScales: [Float]?
    public var norm: AffineLayerNorm
    /// The common unit of the LayerNorm's store (per-tensor: the output's unit).
    public var outputUnit: Float
    /// Each output column's unit.
    public var outputUnits: [Float]

    init(weights: BertWeights, config: BertConfig, ranges: ActivationRanges, outputUnits: [Float], perRow: Bool = false) {
        let hidden = config.hiddenSize
        let wordUnit = unit(forRange: weights.wordEmbeddings.map(abs).max() ?? 0)
        let positionUnit = unit(forRange: weights.positionEmbeddings.map(abs).max() ?? 0)
        let accumulatorUnit = min(wordUnit, positionUnit) / 64
        func rowUnits(_ table: [Float]) -> [Float] {
            stride(from: 0, to: table.count, by: hidden).map { start in unit(forRange: table[start ..< start + hidden].map(abs).max() ?? 0) }
        }
        func quantized(_ table: [Float], _ units: [Float]) -> [Int8] { table.enumerated().map { quantize8($1, unit: units[$0 / hidden]) } }
        if perRow {
            let wordUnits = rowUnits(weights.wordEmbeddings), positionUnits = rowUnits(weights.positionEmbeddings)
            words = quantized(weights.wordEmbeddings, wordUnits)
            positions = quantized(weights.positionEmbeddings, positionUnits)
            wordRowScales = wordUnits.map { $0 / accumulatorUnit }
            positionRowScales = positionUnits.map { $0 / accumulatorUnit }
        } else {
            words = weights.wordEmbeddings.map { quantize8($0, unit: wordUnit) }
            positions = weights.positionEmbeddings.map { quantize8($0, unit: positionUnit) }
        }
        typeBias = weights.typeEmbeddings.prefix(hidden).map { quantize32($0, unit: accumulatorUnit) }
        (self.wordUnit, self.positionUnit, self.accumulatorUnit) = (wordUnit, positionUnit, accumulatorUnit)
        wordScale = wordUnit / accumulatorUnit
        positionScale = positionUnit / accumulatorUnit
        norm = AffineLayerNorm(weights.embeddingNorm, outputUnits: outputUnits)
        outputUnit = norm.outputUnit
        self.outputUnits = outputUnits
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
    /// H's unit per column, constant over each block of `activatedUnits` columns that shares a
    /// CONFIG_ST (all equal without per-block units); W2's rows take them.
    public var activatedUnits: [Float]
    public var output: QuantizedMatrix
    public var outputBias: [Int32]
    public var outputResidualScale: Float
    /// W2 with per-column residual units (nil per tensor: `output` and its bias).
    public var residual: ResidualMatmul?
    /// Each column's accumulator unit over I-GELU's input unit: M_j / 2^K.
    let ratios: [Double]

    /// The requantizer's shift for columns `columns` (a block that shares one CONFIG_ST): the
    /// largest K ≤ 47 with every M_j = rne(2^K·ratio_j) ≤ 65535.
    public func shift(columns: Range<Int>) -> Int {
        let largest = columns.map { ratios[$0] }.max() ?? 1
        return max(1, min(47, Int(Foundation.log2(65535 / largest).rounded(.down))))
    }

    /// The store scale of H's columns `columns` (one block).
    public func activatedScale(columns: Range<Int>) -> Float {
        Float(gelu.outputUnit / Double(activatedUnits[columns.lowerBound]))
    }

    public func multipliers(columns: Range<Int>) -> [Int32] {
        let k = shift(columns: columns)
        return columns.map { Int32(clamping: Int64((ratios[$0] * Double(1 << Int64(k))).rounded(.toNearestOrEven))) }
    }

    /// `attentionNormedUnits` per column (nil: X1 per tensor in `attentionNormed`): folded into
    /// W1's rows, and W2's accumulator takes X1 as a `ResidualMatmul`.
    init(_ layer: EncoderLayerWeights, intermediateRange: Float, activatedUnit: Float, outputUnit attentionNormed: Float,
         attentionNormedUnits: [Float]? = nil, activatedUnits: [Float]? = nil, block: Int = 0) {
        self.activatedUnits = activatedUnits ?? Array(repeating: activatedUnit, count: layer.intermediate.outputs)
        intermediate = QuantizedMatrix(layer.intermediate, perColumn: true, rowScales: attentionNormedUnits)
        let accumulatorUnits = attentionNormedUnits != nil ? intermediate.units : intermediate.units.map { attentionNormed * $0 }
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
        residual = attentionNormedUnits.map { ResidualMatmul(layer.output, inputUnits: self.activatedUnits, residualUnits: $0, block: block) }
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
    /// Per-column units of the layer's input X, of X1 and of the output Y (all equal per tensor).
    public var inputUnits: [Float], attentionNormedUnits: [Float], outputUnits: [Float]
    /// Per column: W_q, W_k, W_v per output channel, each column's accumulator unit / Q's, K's,
    /// V's unit as lane scales (per-lane store scale, scale source 1).
    public var laneScales: (query: [Float], key: [Float], value: [Float])?
    /// W_out with per-column residual units (nil per tensor).
    public var attentionResidual: ResidualMatmul?

    init(_ layer: EncoderLayerWeights, index: Int, inputUnits: [Float], config: BertConfig, ranges: ActivationRanges, columnUnits: ColumnUnits) {
        self.index = index
        let perColumn = columnUnits.perColumn
        func range(_ site: BertEncoder.Site) -> Float { ranges.range(layer: index, site) }
        self.inputUnits = inputUnits
        attentionNormedUnits = columnUnits.units(layer: index, .attentionNormed)
        outputUnits = columnUnits.units(layer: index, .output)
        attentionNorm = AffineLayerNorm(layer.attentionNorm, outputUnits: attentionNormedUnits)
        outputNorm = AffineLayerNorm(layer.outputNorm, outputUnits: outputUnits)
        // Per column, units.input/attentionNormed/output are the LayerNorms' common store units.
        let inputUnit = perColumn ? 1 : inputUnits[0]
        units = Units(input: inputUnit, query: unit(forRange: range(.query)), key: unit(forRange: range(.key)),
                      value: unit(forRange: range(.value)), context: unit(forRange: range(.context)),
                      attentionNormed: attentionNorm.outputUnit, activated: unit(forRange: range(.activated)),
                      output: outputNorm.outputUnit)
        // Per column, X's units fold into the rows of W_q, W_k, W_v (their accumulators are then in the weights' units).
        // Per column also per output channel: the lane scales bring each column to Q's, K's or V's unit.
        let rowScales = perColumn ? inputUnits : nil
        query = QuantizedMatrix(layer.query, perColumn: perColumn, rowScales: rowScales)
        key = QuantizedMatrix(layer.key, perColumn: perColumn, rowScales: rowScales)
        value = QuantizedMatrix(layer.value, perColumn: perColumn, rowScales: rowScales)
        attentionOutput = QuantizedMatrix(layer.attentionOutput)
        intermediate = QuantizedMatrix(layer.intermediate)
        output = QuantizedMatrix(layer.output)

        let qkvUnit = (query: inputUnit * query.unit, key: inputUnit * key.unit, value: inputUnit * value.unit)
        if perColumn {
            queryBias = zip(layer.query.bias, query.units).map { quantize32($0, unit: $1) }
            keyBias = zip(layer.key.bias, key.units).map { quantize32($0, unit: $1) }
            valueBias = zip(layer.value.bias, value.units).map { quantize32($0, unit: $1) }
            let u = units
            laneScales = (query.units.map { $0 / u.query }, key.units.map { $0 / u.key }, value.units.map { $0 / u.value })
        } else {
            queryBias = layer.query.bias.map { quantize32($0, unit: qkvUnit.query) }
            keyBias = layer.key.bias.map { quantize32($0, unit: qkvUnit.key) }
            valueBias = layer.value.bias.map { quantize32($0, unit: qkvUnit.value) }
        }
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
        attentionResidual = perColumn ? ResidualMatmul(layer.attentionOutput, inputUnits: Array(repeating: units.context, count: layer.attentionOutput.inputs), residualUnits: inputUnits,
                                                       block: columnUnits.block) : nil

        let intermediateUnit = units.attentionNormed * intermediate.unit
        intermediateBias = layer.intermediate.bias.map { quantize32($0, unit: intermediateUnit) }
        gelu = GELUConstants(inputRange: range(.intermediate))
        geluRequantizeScale = intermediateUnit / gelu.inputUnit
        activatedScale = Float(gelu.outputUnit / Double(units.activated))

        let outputUnit = units.activated * output.unit
        outputBias = layer.output.bias.map { quantize32($0, unit: outputUnit) }
        outputResidualScale = units.attentionNormed / outputUnit
        extendedFFN = ExtendedFFN(layer, intermediateRange: range(.intermediate),
                                  activatedUnit: units.activated, outputUnit: units.attentionNormed,
                                  attentionNormedUnits: perColumn ? attentionNormedUnits : nil,
                                  activatedUnits: perColumn ? columnUnits.blockUnits(layer: index, .activated) : nil, block: columnUnits.block)
    }
}
