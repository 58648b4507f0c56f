import Foundation
import SpinelAccelerator
import SpinelGolden

/// Cycles of one attention head on one generated accelerator, compressed (`CTAHeadMapping`)
/// and dense, from the golden timing model (docs/CTA.md, "Cycles against dense attention"):
/// each program's fence-to-fence segments, added up by stage.
public struct CTACycles: Sendable {
    /// Cycles per stage (`CTAHeadMapping.Stage`), in the order of `CTAHeadMapping.Stage.all`,
    /// stages a program does not have left out.
    public var compressed: [(stage: String, cycles: UInt64)]
    public var dense: [(stage: String, cycles: UInt64)]
    public var counts: [Int]

    public var compressedTotal: UInt64 { compressed.reduce(0) { $0 + $1.cycles } }
    public var denseTotal: UInt64 { dense.reduce(0) { $0 + $1.cycles } }

    /// Maps `head` both ways on `parameters` and predicts both programs' cycles.
    public init(head: CTAHeadMapping.Head, parameters: AcceleratorParameters) throws {
        let mapped = try CTAHeadMapping.map(head, parameters: parameters)
        counts = mapped.counts
        compressed = try Self.breakdown(mapped.program, stages: mapped.stages, parameters: parameters)
        let dense = try Self.denseHead(head, parameters: parameters)
        self.dense = try Self.breakdown(dense.program, stages: dense.stages, parameters: parameters)
    }

    /// The program's segment cycles added up by the stage each fence closes.
    static func breakdown(_ program: MappedProgram, stages: [String], parameters: AcceleratorParameters) throws -> [(stage: String, cycles: UInt64)] {
        let outcome = try ProgramExecution.golden(program, parameters: parameters)
        precondition(outcome.segmentCycles.count >= stages.count, "one segment per fence")
        var totals: [String: UInt64] = [:]
        for (stage, cycles) in zip(stages, outcome.segmentCycles) { totals[stage, default: 0] += cycles }
        return CTAHeadMapping.Stage.all.compactMap { stage in totals[stage].map { (stage, $0) } }
    }

    /// Dense attention of the same head on the same accelerator, as the encoder layer maps it
    /// (int8 path, `ModelMapper.layerProgram`): Q, K, V through LOOP_WS with their biases; the
    /// scores `Q·Kᵀ` through the normalizer's Softmax into int8 probabilities; `P·V`. The
    /// Softmax constants are those of a score unit of 1/64 (the timing does not depend on them).
    static func denseHead(_ head: CTAHeadMapping.Head, parameters: AcceleratorParameters) throws -> (program: MappedProgram, stages: [String]) {
        let n = head.tokens.count, width = head.tokens.first?.count ?? 0, d = head.query.bias.count
        var b = ProgramBuilder(parameters: parameters)
        b.notes = ["\(parameters.name): one dense attention head of \(n) tokens × \(width), d = \(d) (CTACycles)"]
        var stages: [String] = []
        func fence(_ stage: String) {
            b.fence()
            stages.append(stage)
        }
        let x = b.place(head.tokens.flatMap { $0.map { Int8($0) } }, rows: n, columns: width)
        let linears = [(head.query, head.scales.query), (head.key, head.scales.key), (head.value, head.scales.value)]
        let outputs = linears.map { _ in b.allocate(rows: n, columns: d, elementBytes: 1) }
        for ((linear, scale), output) in zip(linears, outputs) {
            let w = b.place(linear.weights.flatMap { $0.map { Int8($0) } }, rows: d, columns: width)
            let bias = b.placeRow(linear.bias.map { Int32(truncatingIfNeeded: $0) }, rows: n)
            b.tiledMatmul(i: n, j: d, k: width, a: x, b: w, d: bias, c: output, scale: scale, transposeB: true)
        }
        fence(CTAHeadMapping.Stage.linears)
        let probabilities = b.allocate(rows: n, columns: n, elementBytes: 1), context = b.allocate(rows: n, columns: d, elementBytes: 1)
        // The fence between the scores and P·V closes the scores' stage.
        b.softmaxAttention(q: outputs[0], k: outputs[1], v: outputs[2], probabilities: probabilities, context: context,
                           exponential: ExponentialConstants(inputUnit: 1.0 / 64), contextScale: head.scales.output)
        stages.append(CTAHeadMapping.Stage.scores)
        fence(CTAHeadMapping.Stage.output)
        return (MappedProgram(name: "dense-head", program: b.program, output: (context.offset, n, d), pooled: nil, macs: b.macs), stages)
    }

    /// One line per stage, compressed next to dense.
    public var table: String {
        var lines = [String(format: "%-14@ %12@ %12@", "stage" as NSString, "CTA" as NSString, "dense" as NSString)]
        for stage in CTAHeadMapping.Stage.all {
            let c = compressed.first { $0.stage == stage }?.cycles, d = dense.first { $0.stage == stage }?.cycles
            guard c != nil || d != nil else { continue }
            lines.append(String(format: "%-14@ %12@ %12@", stage as NSString, (c.map { "\($0)" } ?? "-") as NSString, (d.map { "\($0)" } ?? "-") as NSString))
        }
        lines.append(String(format: "%-14@ %12llu %12llu", "total" as NSString, compressedTotal, denseTotal))
        return lines.joined(separator: "\n")
    }
}
