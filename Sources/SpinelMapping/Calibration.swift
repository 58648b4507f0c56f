import SpinelModel

/// The ranges of a model's float activations over calibration text (docs/QUANTIZATION.md):
/// for every layer and `BertEncoder.Site`, a percentile of |x| over every value the site
/// produced for every calibration text. The quantizer turns each into an int8 scale
/// (`range / 127`) or, where a function needs one, into its input unit.
public struct ActivationRanges: Sendable {
    /// `ranges[layer + 1][site]`; index 0 holds the embeddings (layer nil).
    var ranges: [[BertEncoder.Site: Float]]
    /// `columnRanges[layer + 1][site]`: the same percentile per column of the LayerNorm outputs
    /// (`.attentionNormed`, `.output`: the residual stream's per-column units) and of H (`.activated`).
    var columnRanges: [[BertEncoder.Site: [Float]]] = []
    public let percentile: Double
    public let texts: Int
    public let tokens: Int

    public func range(layer: Int?, _ site: BertEncoder.Site) -> Float {
        ranges[(layer ?? -1) + 1][site] ?? 0
    }

    /// The per-column ranges of a LayerNorm output (nil for other sites).
    public func columnRanges(layer: Int?, _ site: BertEncoder.Site) -> [Float]? {
        let index = (layer ?? -1) + 1
        return index < columnRanges.count ? columnRanges[index][site] : nil
    }

    /// The sites whose per-column ranges calibration keeps.
    static let residualSites: Set<BertEncoder.Site> = [.attentionNormed, .output, .activated]

    /// The calibration texts of docs/QUANTIZATION.md: everyday English sentences of several
    /// kinds (statements, questions, a list, numbers, a longer paragraph). None of them is
    /// among the texts the accuracy is measured on (`EvaluationTexts`).
    public static let calibrationTexts = [
        "The weather was cold, so we stayed inside and read books all afternoon.",
        "Can you tell me where the nearest train station is?",
        "She bought apples, bread, cheese and two bottles of milk at the market.",
        "The company reported a profit of 3.2 million dollars in the second quarter of 2019.",
        "A small dog ran across the park chasing a red ball.",
        "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar and oxygen.",
        "He has been learning to play the piano since he was seven years old.",
        "Please remember to lock the door and turn off the lights before you leave.",
        "The committee postponed its decision on the new bridge until the engineers finish their survey of the river bed, "
            + "which is expected to take several months because of the spring floods.",
        "Computers store numbers in binary, and a byte holds eight bits.",
    ]

    /// Runs `encoder` on every text (tokenized by `tokenizer`, cut at `maxTokens`) and keeps
    /// the `percentile` of |x| of every site.
    public static func calibrate(encoder: BertEncoder, tokenizer: WordPieceTokenizer, texts: [String] = calibrationTexts,
                                 maxTokens: Int, percentile: Double = 99.99) -> ActivationRanges {
        precondition(!texts.isEmpty, "calibration needs at least one text")
        var values = [[BertEncoder.Site: [Float]]](repeating: [:], count: encoder.config.layers + 1)
        var tokens = 0
        let hidden = encoder.config.hiddenSize, ffn = encoder.config.intermediateSize
        var columns = [[BertEncoder.Site: [[Float]]]](repeating: [:], count: encoder.config.layers + 1)
        for text in texts {
            let ids = tokenizer.encode(text, maxLength: maxTokens)
            tokens += ids.count
            _ = encoder.layerOutputs(ids: ids, observe: { layer, site, tensor in
                values[(layer ?? -1) + 1][site, default: []] += tensor.lazy.filter(\.isFinite).map(abs)
                let width = site == .activated ? ffn : hidden
                if residualSites.contains(site), tensor.count % width == 0 {
                    var perColumn = columns[(layer ?? -1) + 1][site] ?? Array(repeating: [], count: width)
                    for (index, value) in tensor.enumerated() where value.isFinite { perColumn[index % width].append(abs(value)) }
                    columns[(layer ?? -1) + 1][site] = perColumn
                }
            })
        }
        let ranges = values.map { sites in sites.mapValues { Self.percentile(of: $0, percentile) } }
        let columnRanges = columns.map { sites in sites.mapValues { $0.map { Self.percentile(of: $0, percentile) } } }
        return ActivationRanges(ranges: ranges, columnRanges: columnRanges, percentile: percentile, texts: texts.count, tokens: tokens)
    }

    /// The value below which `percentile` % of `values` lie (nearest rank).
    static func percentile(of values: [Float], _ percentile: Double) -> Float {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
