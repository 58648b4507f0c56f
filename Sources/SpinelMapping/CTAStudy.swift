import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelModel
import SpinelSim  // SeededGenerator: the random hash directions are reproducible from the seed

/// Compressed-token attention on a real model's activations (docs/CTA.md, "Measured on
/// MiniLM"): for every layer and bucket width w, the cluster counts k0, k1, k2 of the layer's
/// input tokens, the compression ratios, the relative error of the integer CTA (the golden
/// model's `CTAAttention`) and of the float CTA against exact float attention, averaged over the
/// heads, and the multiply-accumulates of dense and compressed attention.
public struct CTAStudy: Sendable {
    /// One layer at one bucket width.
    public struct Row: Sendable {
        public var layer: Int
        public var width: Double
        public var tokens: Int
        /// k0, k1, k2 of the integer hashes (the hardware's), and of the float hashes.
        public var clusters: [Int]
        public var floatClusters: [Int]
        /// Relative error (Frobenius) against exact attention, averaged over the heads.
        public var integerError: Double
        public var floatError: Double
        /// Multiply-accumulates of the layer's attention (all heads), dense and with CTA.
        public var denseMACs: Int
        public var compressedMACs: Int
        /// Head 0's cycles on the accelerator, compressed and dense (at the width asked for), or
        /// why the head could not be mapped.
        public var cycles: Result<CTACycles, MappingError>?
        /// With `cycles`: the layer's mesh floor on that accelerator (`CTAMeshFloor`).
        public var meshFloor: Result<CTAMeshFloor.Floor, MappingError>?

        /// RL = (k0 + 2k1 + 2k2) / 3n: the share of the linears' work left.
        public var linearRatio: Double { Double(clusters[0] + 2 * clusters[1] + 2 * clusters[2]) / Double(3 * tokens) }
        /// RA = k0(k1 + k2) / n²: the share of the scores' and the output's work left.
        public var attentionRatio: Double { Double(clusters[0] * (clusters[1] + clusters[2])) / Double(tokens * tokens) }
    }

    public var rows: [Row]

    /// Runs the study on `ids` through `encoder`. Every layer uses the same three random LSH
    /// instances (directions N(0,1), offsets U(0, w)) drawn from `seed`.
    /// With `cycles`, head 0 of every layer at that width is also mapped onto that accelerator
    /// (`CTACycles`: the timing model's cycles, CTA and dense).
    public init(encoder: BertEncoder, ids: [Int], widths: [Double], parameters: CTAParameters, seed: UInt64 = 13,
                cycles: (width: Double, accelerator: AcceleratorParameters)? = nil) {
        let config = encoder.config
        let hidden = config.hiddenSize, headSize = config.headSize, n = ids.count
        precondition(n <= parameters.maxTokens, "\(n) tokens exceed cta.maxTokens (\(parameters.maxTokens))")
        var generator = SeededGenerator(seed: seed)
        func gaussian() -> Double {
            let u = Double.random(in: Double.ulpOfOne ..< 1, using: &generator), v = Double.random(in: 0 ..< 1, using: &generator)
            return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
        }
        let l = parameters.hashLength
        let directions = (0 ..< 3).map { _ in (0 ..< l).map { _ in (0 ..< hidden).map { _ in gaussian() } } }
        let offsetFractions = (0 ..< 3).map { _ in (0 ..< l).map { _ in Double.random(in: 0 ..< 1, using: &generator) } }
        let quantizedDirections = directions.map { Quantized($0) }

        let inputs = encoder.layerOutputs(ids: ids)
        var rows: [Row] = []
        for (layerIndex, layer) in encoder.weights.layers.enumerated() {
            let x = (0 ..< n).map { i in (0 ..< hidden).map { Double(inputs[layerIndex][i * hidden + $0]) } }
            let tokens = Quantized(x)
            let heads = (0 ..< config.heads).map { head in
                Head(layer: layer, offset: head * headSize, size: headSize, tokens: x, tokenScale: tokens.scale, parameters: parameters)
            }
            for width in widths {
                let floatHashes = (0 ..< 3).map { i in
                    FloatAttention.Hash(directions: quantizedDirections[i].dequantized, offsets: offsetFractions[i].map { $0 * width }, width: width)
                }
                let integerHashes = (0 ..< 3).map { i in
                    let unit = quantizedDirections[i].scale * tokens.scale  // one accumulator unit, in the units of w
                    let (multiplier, shift) = CTANumerics.reciprocal(ofWidth: width / unit, bits: parameters.hashReciprocalBits)
                    return LocalitySensitiveHash(directions: quantizedDirections[i].values,
                                                 offsets: offsetFractions[i].map { Int64(($0 * width / unit).rounded(.toNearestOrEven)) },
                                                 multiplier: multiplier, shift: shift)
                }
                var integerError = 0.0, floatError = 0.0
                var clusters: [Int] = [], floatClusters: [Int] = []
                var headCycles: Result<CTACycles, MappingError>?
                var meshFloor: Result<CTAMeshFloor.Floor, MappingError>?
                if let cycles, cycles.width == width, let head = heads.first {
                    let mapped = CTAHeadMapping.Head(tokens: tokens.values, hashes: integerHashes, query: head.query.integer, key: head.key.integer,
                                                     value: head.value.integer, scales: head.scales)
                    do {
                        headCycles = .success(try CTACycles(head: mapped, parameters: cycles.accelerator))
                    } catch let error as MappingError {
                        headCycles = .failure(error)
                    } catch {
                        headCycles = .failure(MappingError("\(error)"))
                    }
                }
                for head in heads {
                    let floatResult = FloatAttention.cta(tokens: x, hashes: floatHashes, query: head.query.float, key: head.key.float, value: head.value.float)
                    floatError += FloatAttention.relativeError(floatResult.output, reference: head.exact)
                    floatClusters = floatResult.tables.map(\.count)
                    do {
                        let result = try CTAAttention.run(tokens: tokens.values, hashes: integerHashes, query: head.query.integer,
                                                          key: head.key.integer, value: head.value.integer, scales: head.scales, parameters: parameters)
                        let output = result.output.map { $0.map { Double($0) * head.outputScale } }
                        integerError += FloatAttention.relativeError(output, reference: head.exact)
                        clusters = result.clusterCounts
                    } catch {
                        preconditionFailure("\(error) (the study sets maxClusters to maxTokens, which cannot overflow)")
                    }
                }
                if let cycles, cycles.width == width {
                    meshFloor = Result {
                        try CTAMeshFloor.floor(n: n, hidden: hidden, heads: config.heads, headSize: headSize, hashLength: l, counts: clusters,
                                               parameters: cycles.accelerator)
                    }.mapError { $0 as? MappingError ?? MappingError("\($0)") }
                }
                let heads = Double(config.heads)
                let dense = config.heads * (3 * n * hidden * headSize + 2 * n * n * headSize)
                let compressed = Self.compressedMACs(n: n, hidden: hidden, heads: config.heads, headSize: headSize, hashLength: l, counts: clusters)
                rows.append(Row(layer: layerIndex, width: width, tokens: n, clusters: clusters, floatClusters: floatClusters,
                                integerError: integerError / heads, floatError: floatError / heads,
                                denseMACs: dense, compressedMACs: compressed, cycles: headCycles, meshFloor: meshFloor))
            }
        }
        self.rows = rows
    }

    /// Multiply-accumulates of a CTA layer (docs/CTA.md): the three hash products over the n
    /// tokens, the linears over k0 (Q̄) and k1 + k2 (K̄, V̄) rows, the scores and the output
    /// over k0 × (k1 + k2), every head.
    public static func compressedMACs(n: Int, hidden: Int, heads: Int, headSize: Int, hashLength l: Int, counts: [Int]) -> Int {
        let k0 = counts[0], kv = counts[1] + counts[2]
        return heads * ((k0 + 2 * kv) * hidden * headSize + 2 * k0 * kv * headSize) + 3 * l * n * hidden
    }

    /// The table the command prints and docs/CTA.md shows.
    public var table: String {
        var lines = ["layer      w     n    k0    k1    k2     RL     RA  err int  err float  MACs dense  MACs CTA  CTA/dense"]
        for row in rows {
            lines.append(String(format: "%5d %6.3g %5d %5d %5d %5d %6.3f %6.3f %8.4f %10.4f %11d %9d %10.3f",
                                row.layer, row.width, row.tokens, row.clusters[0], row.clusters[1], row.clusters[2],
                                row.linearRatio, row.attentionRatio, row.integerError, row.floatError,
                                row.denseMACs, row.compressedMACs, Double(row.compressedMACs) / Double(row.denseMACs)))
        }
        return lines.joined(separator: "\n")
    }

    /// Head 0's cycles per layer (the rows with `cycles`): every stage of the CTA program, its
    /// total and the dense head's; then the layer's `heads` heads: the front (hashing,
    /// clustering, aggregation) works on the layer's input tokens, so it is shared by all heads
    /// and runs once, the rest once per head (the same cycles for every head: the cluster tables
    /// are the layer's, and the timing does not depend on the weights' values). The CTA layer
    /// is front + heads × rest, the dense layer heads × the dense head. Then the layer's MAC
    /// bound (its multiply-accumulates over DIM² PEs), the CTA layer over it, and the mesh floor
    /// (`CTAMeshFloor`) over it: the least any mapping of the layer can reach on this mesh.
    public func cycleTable(heads: Int) -> String {
        let stages = CTAHeadMapping.Stage.all
        var lines = ["layer      w     n    k0    k1    k2 " + stages.map { String($0.prefix(9)).padding(toLength: 9, withPad: " ", startingAt: 0) }.joined(separator: " ")
                     + "   CTA head dense head    CTA layer  dense layer  CTA/dense  front/dense  MAC bound  CTA/bound  mesh floor  floor/bound"]
        for row in rows {
            guard let cycles = row.cycles else { continue }
            let head = String(format: "%5d %6.3g %5d %5d %5d %5d ", row.layer, row.width, row.tokens, row.clusters[0], row.clusters[1], row.clusters[2])
            switch cycles {
            case .failure(let error):
                lines.append(head + "not mapped: \(error)")
            case .success(let c):
                let byStage = stages.map { stage in c.compressed.first { $0.stage == stage }?.cycles ?? 0 }
                let front = byStage[0] + byStage[1] + byStage[2]
                let layer = front + UInt64(heads) * (c.compressedTotal - front), denseLayer = UInt64(heads) * c.denseTotal
                var floor = "  floor not mapped"
                switch row.meshFloor {
                case .success(let f):
                    floor = String(format: " %10.0f %10.3f %11llu %12.3f", f.bound, Double(layer) / f.bound, f.cycles, f.ratio)
                case .failure(let error):
                    floor = "  floor not mapped: \(error)"
                case nil:
                    break
                }
                lines.append(head + byStage.map { String(format: "%9llu", $0) }.joined(separator: " ")
                             + String(format: " %10llu %10llu %12llu %12llu %10.3f %12.3f", c.compressedTotal, c.denseTotal, layer, denseLayer,
                                      Double(layer) / Double(denseLayer), Double(front) / Double(denseLayer)) + floor)
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// A real matrix quantized to int8 with one scale (max |x| / 127), round to nearest even.
private struct Quantized {
    var values: [[Int64]]
    var scale: Double
    var dequantized: [[Double]] { values.map { $0.map { Double($0) * scale } } }

    init(_ x: [[Double]]) {
        let maximum = x.lazy.flatMap { $0 }.map(abs).max() ?? 0
        scale = maximum > 0 ? maximum / 127 : 1
        let unit = scale
        values = x.map { $0.map { Int64(Numerics.saturate(Int64(($0 / unit).rounded(.toNearestOrEven)), bits: 8)) } }
    }
}

/// One head's three linears in float and in int8, its exact attention, and the scales the
/// integer CTA needs (calibrated on the exact float Q, K, V and output of this input).
private struct Head {
    struct Projection {
        var float: FloatAttention.Linear
        var integer: CTAAttention.Linear
        var weightScale: Double
        /// Unit of the stored int8 rows (max |x·W + b| / 127).
        var outputUnit: Double
    }

    var query: Projection, key: Projection, value: Projection
    var exact: [[Double]]
    var scales: CTAAttention.Scales
    var outputScale: Double

    init(layer: EncoderLayerWeights, offset: Int, size: Int, tokens: [[Double]], tokenScale: Double, parameters: CTAParameters) {
        func projection(_ linear: SpinelModel.Linear) -> (Projection, [[Double]]) {
            let weights = (offset ..< offset + size).map { o in (0 ..< linear.inputs).map { Double(linear.weight[o * linear.inputs + $0]) } }
            let bias = (offset ..< offset + size).map { Double(linear.bias[$0]) }
            let float = FloatAttention.Linear(weights: weights, bias: bias)
            let quantized = Quantized(weights)
            let accumulatorUnit = tokenScale * quantized.scale
            let integer = CTAAttention.Linear(weights: quantized.values, bias: bias.map { Int64(($0 / accumulatorUnit).rounded(.toNearestOrEven)) })
            let exact = float.apply(tokens)
            let range = exact.lazy.flatMap { $0 }.map(abs).max() ?? 0
            return (Projection(float: float, integer: integer, weightScale: quantized.scale, outputUnit: range > 0 ? range / 127 : 1), exact)
        }
        let (query, q) = projection(layer.query), (key, k) = projection(layer.key), (value, v) = projection(layer.value)
        self.query = query; self.key = key; self.value = value
        exact = FloatAttention.exact(queries: q, keys: k, values: v)
        let outputRange = exact.lazy.flatMap { $0 }.map(abs).max() ?? 0
        let outputUnit = outputRange > 0 ? outputRange / 127 : 1
        outputScale = outputUnit
        func store(_ p: Projection) -> Float { Float(tokenScale * p.weightScale / p.outputUnit) }
        let scoreUnit = query.outputUnit * key.outputUnit / Double(size).squareRoot()
        scales = CTAAttention.Scales(query: store(query), key: store(key), value: store(value),
                                     exponent: Float(scoreUnit * Foundation.log2(M_E) * Double(parameters.expTableEntries)),
                                     output: Float(value.outputUnit / outputUnit))
    }
}
