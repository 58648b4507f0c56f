import Foundation

/// The real value of one unit of each integer tensor of the encoder layer (docs/ACCURACY.md,
/// "Scales"), derived from the constants the run used. Only X's scale is a free choice; the
/// integer pipeline fixes the rest:
///
/// - Softmax: the exponential's shift by z is exact when one step of qln2 is ln 2, so the
///   scores' scale is `ln 2 / qln2`. Scores are `α·Q_h·K_hᵀ` with `α = 1/√dh`; Q and K share
///   QKV_SCALE, so `s_Q = s_K = √(ln 2 / (qln2·α))`, V too, and the three projections share one
///   weight scale `s_Q·QKV_SCALE / s_X`.
/// - P: `127 / Σe` makes a row sum to 127: `1/127`.
/// - ctx = P·V rescaled by CTX_SCALE: `s_P·s_V / CTX_SCALE`.
/// - X1: the accumulator adds X (the bias, in X's units) to ctx·Wo, so `s_ctx·s_Wo = s_X`.
///   LayerNorm's output is in standard deviations times LAYERNORM_SCALE: `1 / LAYERNORM_SCALE`.
/// - H: I-GELU's input `X1·W1` is in units of its input scale S: `s_W1 = S / s_X1`. I-BERT's
///   output scale is `S·S_erf/2` with `S_erf = −0.2888·S²/2` (negative: docs/NUMERICS.md's
///   polynomial `(q_clip + qb)² + qc` is erf divided by S_erf), then FFN1_SCALE.
/// - Y: the accumulator adds X1 to H·W2, so `s_H·s_W2 = s_X1`; `1 / (γ·LAYERNORM_SCALE)`, γ the
///   affine LayerNorm's gain (1 without it).
public struct EncoderLayerScales: Equatable, Sendable {
    public var x, wqkv, wo, w1, w2: Double
    public var qkv, p, context, x1, h, y: Double
    /// The scores' scale (ln 2 / qln2) and the attention's `α = 1/√dh`.
    public var softmaxInput, attention: Double
    public var igeluInput, igeluOutput: Double

    public init(constants c: EncoderLayerConstants, headWidth: Int) {
        attention = 1 / Double(headWidth).squareRoot()
        softmaxInput = log(2) / Double(c.exponential.qln2)
        x = c.inputScale
        qkv = (softmaxInput / attention).squareRoot()
        wqkv = qkv * Double(c.qkvScale) / x
        p = 1.0 / 127
        context = p * qkv / Double(c.contextScale)
        wo = x / context
        x1 = 1 / Double(c.layerNormScale)
        igeluInput = c.igeluInputScale
        w1 = igeluInput / x1
        igeluOutput = Self.igeluOutputScale(inputScale: igeluInput)
        h = igeluOutput / Double(c.feedForwardScale)
        w2 = x1 / h
        y = 1 / (Double(c.layerNormScale) * Double(c.outputGain))
    }

    /// I-BERT's I-GELU output scale for input scale S: `S·S_erf/2`, `S_erf = −0.2888·(S/√2)²`.
    public static func igeluOutputScale(inputScale s: Double) -> Double {
        s * (-0.2888 * s * s / 2) / 2
    }
}

/// The float (Double) reference of the encoder layer, end to end from the dequantized int8
/// inputs and weights: real matmuls, exact softmax, GELU with erf, LayerNorm with sqrt. Each
/// stage feeds the next float stage, so a comparison with the integer tensors measures the
/// integer pipeline's whole error up to that stage.
public struct EncoderLayerFloatReference: Sendable {
    public var q, k, v: RealMatrix
    public var p: [RealMatrix]
    public var context, x1, h, y: RealMatrix

    public init(dump: EncoderLayerDump, scales: EncoderLayerScales) {
        let x = dump.x.dequantized(scale: scales.x)
        q = x * dump.wq.dequantized(scale: scales.wqkv)
        k = x * dump.wk.dequantized(scale: scales.wqkv)
        v = x * dump.wv.dequantized(scale: scales.wqkv)
        var context = RealMatrix(rows: dump.sequence, columns: dump.model, values: Array(repeating: 0, count: dump.sequence * dump.model))
        var p: [RealMatrix] = []
        for head in 0..<dump.heads {
            let columns = head * dump.headWidth ..< (head + 1) * dump.headWidth
            let scores = (q.columns(columns) * k.columns(columns).transposed()).scaled(by: scales.attention)
            p.append(scores.mapRows(RealFunctions.softmax))
            context.replaceColumns(from: columns.lowerBound, with: p[head] * v.columns(columns))
        }
        self.p = p
        self.context = context
        x1 = (context * dump.wo.dequantized(scale: scales.wo) + x).mapRows(RealFunctions.layerNorm)
        let hidden = x1 * dump.w1.dequantized(scale: scales.w1)
        h = RealMatrix(rows: hidden.rows, columns: hidden.columns, values: hidden.values.map(RealFunctions.gelu))
        y = (h * dump.w2.dequantized(scale: scales.w2) + x1).mapRows(RealFunctions.layerNorm)
    }
}

/// How close one integer tensor is to its float reference.
public struct StageAccuracy: Equatable, Sendable {
    public var name: String
    /// The real value of one unit of the integer tensor.
    public var scale: Double
    /// ‖int·scale − float‖₂ / ‖float‖₂.
    public var relativeError: Double
    /// max |int − float/scale|: in units of the int8 tensor (LSB).
    public var maximumError: Double
    /// Rows whose float maximum is at one of the integer row's maxima in real terms (int·scale;
    /// ties in int8 count as agreeing).
    public var argmaxAgreeing: Int
    public var rows: Int

    /// Compares `integers` (one or more matrices, their rows taken in order) with `reals`.
    public init(name: String, integers: [Int8Matrix], scale: Double, reals: [RealMatrix]) {
        precondition(integers.count == reals.count && zip(integers, reals).allSatisfy { $0.rows == $1.rows && $0.columns == $1.columns },
                     "\(name): the integer and float tensors differ in shape")
        self.name = name
        self.scale = scale
        var difference = 0.0, reference = 0.0, maximum = 0.0, agreeing = 0, rows = 0
        for (integer, real) in zip(integers, reals) {
            for row in 0..<integer.rows {
                // The integers in real order (`value·|scale|` is `int·scale`): a negative unit, as
                // I-GELU's output has before FFN1_SCALE's sign, reverses them.
                let ints = integer.row(row).map { scale < 0 ? -Int($0) : Int($0) }
                let floats = Array(real.row(row))
                for (value, want) in zip(ints, floats) {
                    let error = Double(value) * abs(scale) - want
                    difference += error * error
                    reference += want * want
                    maximum = max(maximum, abs(error / scale))
                }
                if let best = floats.indices.max(by: { floats[$0] < floats[$1] }), ints[best] == ints.max() { agreeing += 1 }
                rows += 1
            }
        }
        relativeError = reference > 0 ? (difference / reference).squareRoot() : (difference > 0 ? .infinity : 0)
        maximumError = maximum
        argmaxAgreeing = agreeing
        self.rows = rows
    }
}

/// The accuracy of an encoder-layer run: each stage's integer tensor against the float reference.
public struct EncoderLayerAccuracy: Sendable {
    public var dump: EncoderLayerDump
    public var scales: EncoderLayerScales
    /// Q, K, V, P (every head), ctx, X1, H, Y.
    public var stages: [StageAccuracy]

    public init(dump: EncoderLayerDump, scales: EncoderLayerScales? = nil) {
        let scales = scales ?? EncoderLayerScales(constants: dump.constants, headWidth: dump.headWidth)
        let reference = EncoderLayerFloatReference(dump: dump, scales: scales)
        self.dump = dump
        self.scales = scales
        stages = [
            StageAccuracy(name: "Q", integers: [dump.q], scale: scales.qkv, reals: [reference.q]),
            StageAccuracy(name: "K", integers: [dump.k], scale: scales.qkv, reals: [reference.k]),
            StageAccuracy(name: "V", integers: [dump.v], scale: scales.qkv, reals: [reference.v]),
            StageAccuracy(name: "P", integers: dump.p, scale: scales.p, reals: reference.p),
            StageAccuracy(name: "ctx", integers: [dump.context], scale: scales.context, reals: [reference.context]),
            StageAccuracy(name: "X1", integers: [dump.x1], scale: scales.x1, reals: [reference.x1]),
            StageAccuracy(name: "H", integers: [dump.h], scale: scales.h, reals: [reference.h]),
            StageAccuracy(name: "Y", integers: [dump.y], scale: scales.y, reals: [reference.y]),
        ]
    }

    public func stage(_ name: String) -> StageAccuracy? { stages.first { $0.name == name } }

    /// A compact table: one line per stage, then the scales the comparison used.
    public func render() -> String {
        let mode = dump.hostNonlinear ? "host" : "accelerator"
        var lines = ["accuracy: encoder layer S \(dump.sequence), D \(dump.model), \(dump.heads) heads, F \(dump.feedForward) "
                     + "(nonlinear on the \(mode)), int8 against the float reference"]
        lines.append("stage  unit (real)   rel. error  max |error| (LSB)  argmax agrees")
        for stage in stages {
            let agreement = String(format: "%d/%d (%.1f%%)", stage.argmaxAgreeing, stage.rows, 100 * Double(stage.argmaxAgreeing) / Double(stage.rows))
            lines.append(stage.name.padding(toLength: 7, withPad: " ", startingAt: 0)
                         + String(format: "%-13.4g %9.2f%%  %17.2f  ", stage.scale, 100 * stage.relativeError, stage.maximumError) + agreement)
        }
        lines.append(String(format: "inputs: X %.4g, Wq/Wk/Wv %.4g, Wo %.4g, W1 %.4g, W2 %.4g; scores %.4g (ln 2/qln2, α = 1/√%d), "
                            + "I-GELU in %.4g out %.4g", scales.x, scales.wqkv, scales.wo, scales.w1, scales.w2, scales.softmaxInput,
                            dump.headWidth, scales.igeluInput, scales.igeluOutput))
        return lines.joined(separator: "\n")
    }
}
