import Foundation
@testable import SpinelModel
import Testing

/// all-MiniLM-L6-v2 from `.build/models/` (`make model`) against Hugging Face's tokenizer and an
/// independent float64 NumPy forward pass. The expected values were printed once by
/// `docs/model_reference.py` (its header has the exact command). Skipped when the model is not
/// there, unless SPINEL_REQUIRE_MODEL=1 (as `make test` sets): then its absence fails.
@Suite("all-MiniLM-L6-v2 against the Python reference", .enabled(if: MiniLM.present || MiniLM.required))
struct MiniLMTests {
    static let embedder: SentenceEmbedder? = try? SentenceEmbedder(folder: MiniLM.folder)

    func model() throws -> SentenceEmbedder {
        guard MiniLM.present else { throw MiniLM.Missing() }
        return try Self.embedder ?? SentenceEmbedder(folder: MiniLM.folder)
    }

    /// Ids printed by transformers' BertTokenizer (and the tokenizers library over tokenizer.json).
    static let tokenCases: [(String, [Int])] = [
        ("A man is eating food.", [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]),
        ("A man is eating a piece of bread.", [101, 1037, 2158, 2003, 5983, 1037, 3538, 1997, 7852, 1012, 102]),
        ("The girl is carrying a baby.", [101, 1996, 2611, 2003, 4755, 1037, 3336, 1012, 102]),
        ("Héllo, WORLD!! naïve café — déjà vu?", [101, 7592, 1010, 2088, 999, 999, 15743, 7668, 1517, 2139, 3900, 24728, 1029, 102]),
        ("unaffable xyzzyqx $12.50 (a+b)=c",
         [101, 14477, 20961, 3468, 1060, 2100, 28753, 4160, 2595, 1002, 2260, 1012, 2753, 1006, 1037, 1009, 1038, 1007, 1027, 1039, 102]),
        ("我爱北京 天安门 and 東京", [101, 1855, 100, 1781, 1755, 1811, 1820, 100, 1998, 1879, 1755, 102]),
        ("tab\there\u{00A0}nbsp\u{200B}zero-width\u{07}bell", [101, 21628, 2182, 1050, 5910, 2361, 6290, 2080, 1011, 9381, 17327, 102]),
        // Printed by transformers' BertTokenizer like the above (not by docs/model_reference.py):
        // ß and the ﬁ ligature kept, İ lower-cased and stripped, full-width letters unknown;
        // Greek and Cyrillic letter by letter; Hangul decomposed into jamo by NFD, kana whole, emoji
        // unknown; soft hyphen and BOM (Cf) removed; whole words of 100 and 101 characters.
        ("Straße İstanbul ﬁne Ａｂｃ１２３", [101, 2358, 27807, 9960, 1984, 2638, 100, 102]),
        ("ΣΑΣ Ωμέγα Привет ¿qué? «quote»",
         [101, 1173, 14608, 29733, 1179, 29728, 29723, 29721, 14608, 1194, 16856, 10325, 25529, 15290, 22919, 1094, 10861, 1029, 1077, 14686, 1090, 102]),
        ("안녕하세요 こんにちは カタカナ 🙂 👍🏽",
         [101, 1463, 30006, 30021, 29992, 30010, 30025, 30005, 30006, 29997, 30009, 29999, 30013, 1655, 30217, 30194, 30188, 30198, 1700, 30235, 30226, 30241, 100, 100, 102]),
        ("x\u{AD}y\u{FEFF}z don't U.S.A. e-mail", [101, 1060, 2100, 2480, 2123, 1005, 1056, 1057, 1012, 1055, 1012, 1037, 1012, 1041, 1011, 5653, 102]),
        (String(repeating: "ab", count: 50) + " " + String(repeating: "a", count: 101),
         [101, 19557] + Array(repeating: 3676, count: 48) + [2497, 100, 102]),
    ]

    @Test func tokenIdsMatchHuggingFace() throws {
        let tokenizer = try model().tokenizer
        for (text, ids) in Self.tokenCases { #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)") }
    }

    /// Long inputs stop at sentence_bert_config.json's max_seq_length, 256 tokens; the embedding
    /// of the cut text against the NumPy reference (its "long text" line).
    @Test func longTextIsTruncatedTo256Tokens() throws {
        let embedder = try model()
        let text = Array(repeating: "The quick brown fox jumps over the lazy dog while the accelerator computes attention for every token.", count: 20).joined(separator: " ")
        let embedding = embedder.embed(text)
        #expect(embedder.maxTokens == 256 && embedding.ids.count == 256 && embedding.ids.first == 101 && embedding.ids.last == 102)
        let first: [Float] = [0.030008, -0.006803, 0.022630, 0.042895, -0.030413, -0.052332, 0.017804, -0.077627]
        #expect(zip(embedding.vector, first).allSatisfy { abs($0 - $1) < 1e-4 }, "\(embedding.vector.prefix(8))")
        let sum = embedding.vector.reduce(0, +)
        let alternating = stride(from: 0, to: 384, by: 2).reduce(Float(0)) { $0 + embedding.vector[$1] - embedding.vector[$1 + 1] }
        #expect(abs(sum - -0.298639) < 3e-4 && abs(alternating - 0.466984) < 3e-4, "sum \(sum), alternating \(alternating)")
    }

    /// The NumPy reference's first 8 values, sum and alternating sum (Σ even − Σ odd) of each
    /// normalized embedding, and the pairwise cosines.
    static let sentences: [(text: String, first: [Float], sum: Float, alternatingSum: Float)] = [
        ("A man is eating food.", [0.033242, 0.004406, -0.006277, 0.048379, -0.138702, -0.033617, 0.101128, -0.054385], 0.226490, 1.550051),
        ("A man is eating a piece of bread.", [0.052518, 0.055241, -0.011188, -0.005745, -0.127208, -0.022252, 0.076879, 0.013185], 0.101685, 0.910798),
        ("The girl is carrying a baby.", [-0.036309, -0.035653, -0.027223, 0.038320, 0.070778, -0.016580, 0.061681, 0.054438], 0.688192, 0.987956),
    ]
    static let cosines: [(Int, Int, Float)] = [(0, 1, 0.755337), (0, 2, -0.104958), (1, 2, -0.061017)]

    @Test func embeddingsMatchTheNumPyReference() throws {
        let embedder = try model()
        let vectors = Self.sentences.map { embedder.embed($0.text).vector }
        for (vector, reference) in zip(vectors, Self.sentences) {
            #expect(vector.count == 384)
            #expect(zip(vector.prefix(8), reference.first).allSatisfy { abs($0 - $1) < 1e-4 }, "\(reference.text): \(vector.prefix(8))")
            let sum = vector.reduce(0, +)
            let alternating = stride(from: 0, to: vector.count, by: 2).reduce(Float(0)) { $0 + vector[$1] - vector[$1 + 1] }
            #expect(abs(sum - reference.sum) < 3e-4 && abs(alternating - reference.alternatingSum) < 3e-4, "\(reference.text): sum \(sum), alternating \(alternating)")
        }
        for (i, j, cosine) in Self.cosines {
            #expect(abs(SentenceEmbedder.cosine(vectors[i], vectors[j]) - cosine) < 1e-4, "cosine \(i) \(j)")
        }
    }
}

enum MiniLM {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "SPINEL_REQUIRE_MODEL=1 but there is no model at \(MiniLM.folder): run `make model` (or set SPINEL_MODEL_DIR)"
        }
    }

    /// SPINEL_MODEL_DIR, else .build/models/all-MiniLM-L6-v2 in the package.
    static let folder: String = ProcessInfo.processInfo.environment["SPINEL_MODEL_DIR"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/models/all-MiniLM-L6-v2").path
    static let present = FileManager.default.fileExists(atPath: folder + "/model.safetensors")
    static let required = ProcessInfo.processInfo.environment["SPINEL_REQUIRE_MODEL"] == "1"
}
