import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelModel

/// A text through the mapped model: the embeddings' program, then every layer's, each on the
/// golden model and (with an `RTLRunner`) on the RTL, the host moving each program's int8
/// output into the next program's buffer. The sentence embedding is the last layer's pooled
/// int32 sums in real units, L2-normalized on the host.
public struct ModelRun: Sendable {
    public var ids: [Int]
    public var programs: [ProgramOutcome]
    /// The int8 output of every program (embeddings, then each layer), tokens × hidden.
    public var outputs: [[Int8]]
    /// Those outputs in real units.
    public var hiddenStates: [[Float]]
    public var embedding: [Float]
    /// Per layer, the relative error of each int8 tensor against the float layer run on the
    /// same (dequantized) input: where a layer's error arises.
    public var stageErrors: [[(site: BertEncoder.Site, error: Double)]] = []

    public var macs: Double { programs.reduce(0) { $0 + $1.macs } }
    public var predictedCycles: UInt64 { programs.reduce(0) { $0 + $1.predictedCycles } }
    public var measuredCycles: UInt64? {
        programs.allSatisfy({ $0.rtl != nil }) ? programs.reduce(0) { $0 + $1.rtl!.measuredCycles } : nil
    }

    /// `progress` hears each program's outcome as soon as it is known.
    /// With `encoder` (the float model), `stageErrors` compares every stage with float.
    /// `predictCycles` false skips the timing model (golden-only accuracy runs).
    public static func run(ids: [Int], mapper: ModelMapper, rtl: RTLRunner? = nil, stem: String = "run", encoder: BertEncoder? = nil,
                           predictCycles: Bool = true,
                           progress: ((ProgramOutcome) -> Void)? = nil) throws -> ModelRun {
        try mapper.checkTokens(ids.count)
        let model = mapper.model, hidden = model.config.hiddenSize, tokens = ids.count
        var programs: [ProgramOutcome] = [], outputs: [[Int8]] = []
        var units: [[Float]] = [model.embeddings.outputUnits]
        var pooled: [Int32] = []
        var stageErrors: [[(site: BertEncoder.Site, error: Double)]] = []
        for index in -1 ..< model.layers.count {
            let mapped = index < 0 ? try mapper.embeddingProgram(ids: ids)
                : try mapper.layerProgram(index, input: outputs.last!, tokens: tokens, pool: index == model.layers.count - 1)
            var outcome = try ProgramExecution.golden(mapped, parameters: mapper.parameters, predictCycles: predictCycles)
            if let rtl {
                outcome.rtl = try rtl.check(mapped, golden: outcome, stem: "\(stem)-\(index < 0 ? "embeddings" : "layer\(index)")")
            }
            progress?(outcome)
            if let check = outcome.rtl, !check.passed {
                throw MappingError("\(mapped.name) on the RTL: "
                    + (check.replay != .match ? "trace replay \(check.replay.rawValue): \(check.firstProblem ?? "")"
                                              : "the final DRAM buffer differs from the golden model's"))
            }
            let o = mapped.output
            outputs.append(outcome.image[o.offset ..< o.offset + o.rows * o.columns].map { Int8(bitPattern: $0) })
            if index >= 0 { units.append(model.layers[index].outputUnits) }
            if let p = mapped.pooled {
                pooled = (0 ..< p.columns).map { c in
                    let at = p.offset + 4 * c
                    return Int32(bitPattern: UInt32(outcome.image[at]) | UInt32(outcome.image[at + 1]) << 8
                                 | UInt32(outcome.image[at + 2]) << 16 | UInt32(outcome.image[at + 3]) << 24)
                }
            }
            if let encoder, index >= 0 {
                let input = Self.dequantized(outputs[outputs.count - 2], units[units.count - 2])
                var sites: [BertEncoder.Site: [Float]] = [:]
                _ = encoder.layer(index, input: input, tokens: tokens) { site, tensor in sites[site] = tensor }
                stageErrors.append(mapped.tensors.map { tensor in
                    let values = (0 ..< tensor.rows * tensor.columns).map {
                        Float(Int8(bitPattern: outcome.image[tensor.offset + $0])) * tensor.units[$0 % tensor.columns]
                    }
                    return (tensor.site, relativeError(values, sites[tensor.site] ?? []))
                })
            }
            programs.append(outcome)
        }
        let hiddenStates = zip(outputs, units).map { output, units in Self.dequantized(output, units) }
        let outputUnits = model.outputUnits
        let mean = pooled.enumerated().map { Float($1) * outputUnits[$0] / Float(tokens) }
        let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        precondition(mean.count == hidden, "the last program pools \(mean.count) columns")
        return ModelRun(ids: ids, programs: programs, outputs: outputs, hiddenStates: hiddenStates, embedding: mean.map { $0 / norm },
                        stageErrors: stageErrors)
    }

    /// Rows of int8 values, column j in `units[j]`.
    static func dequantized(_ values: [Int8], _ units: [Float]) -> [Float] {
        values.enumerated().map { Float($1) * units[$0 % units.count] }
    }

    /// ‖quantized − float‖ / ‖float‖ of every program's hidden state against the float
    /// reference's (`BertEncoder.layerOutputs`).
    public func relativeErrors(float reference: [[Float]]) -> [Double] {
        zip(hiddenStates, reference).map { relativeError($0, $1) }
    }
}

/// ‖quantized − float‖ / ‖float‖.
func relativeError(_ quantized: [Float], _ float: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for (q, f) in zip(quantized, float) {
        difference += Double(q - f) * Double(q - f)
        norm += Double(f) * Double(f)
    }
    return (difference / max(norm, 1e-30)).squareRoot()
}
