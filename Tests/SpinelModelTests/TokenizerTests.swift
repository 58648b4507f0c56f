import Foundation
@testable import SpinelModel
import Testing

/// BERT's basic + WordPiece tokenization on a small vocabulary, each expectation derived by hand
/// from the rules (docs/MODEL.md, "Tokenizer").
@Suite("WordPiece tokenizer")
struct TokenizerTests {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "un", "##aff", "##able",
                             "##s", ".", ",", "!", "caf", "##e", "a", "##a", "dog", "北", "京", "run", "hello", "world", "$", "5"]
    let tokenizer = try! WordPieceTokenizer(tokens: vocabulary)

    /// (text, the word pieces BERT produces)
    static let cases: [(String, [String])] = [
        ("The cat sat.", ["the", "cat", "sat", "."]),
        // Lower-casing, NFD accent stripping, punctuation as tokens of their own.
        ("Héllo, WORLD!", ["hello", ",", "world", "!"]),
        // "cafe" is not in the vocabulary: the longest prefix "caf", then "##e".
        ("Café", ["caf", "##e"]),
        // A decomposed é (e + U+0301) gives the same pieces.
        ("Cafe\u{301}", ["caf", "##e"]),
        ("unaffable cats", ["un", "##aff", "##able", "cat", "##s"]),
        // "run" matches but no "##…" piece continues "ning": the whole word is [UNK], not "run [UNK]".
        ("running dog", ["[UNK]", "dog"]),
        // CJK ideographs are split even without spaces.
        ("北京dog", ["北", "京", "dog"]),
        // Control characters vanish (BEL, zero-width space U+200B is format "Cf"), joining their neighbours.
        ("dog\u{07}s", ["dog", "##s"]),
        ("the\u{200B}cat", ["[UNK]"]),
        // Tab, newline, no-break space U+00A0 and ideographic space U+3000 separate words.
        ("a\tdog\na\u{00A0}cat\u{3000}sat", ["a", "dog", "a", "cat", "sat"]),
        // ASCII symbols count as punctuation; "$5" is two tokens.
        ("$5!", ["$", "5", "!"]),
        // Unknown punctuation and unknown words.
        ("(a) zebra", ["[UNK]", "a", "[UNK]", "[UNK]"]),
        ("  ", []),
        ("", []),
    ]

    @Test(arguments: cases.indices)
    func wordPiecesOfOneText(index: Int) {
        let (text, expected) = Self.cases[index]
        #expect(tokenizer.wordPieces(text) == expected, "\(text.debugDescription)")
    }

    /// Ids are vocabulary lines; [CLS] first, [SEP] last.
    @Test func encodeFramesWithClassAndSeparator() {
        #expect(tokenizer.encode("The cat sat.") == [2, 4, 5, 6, 13, 3])
        #expect(tokenizer.encode("") == [2, 3])
        #expect(tokenizer.encode("zebra") == [2, 1, 3])
    }

    /// Truncation keeps [CLS], the first tokens, and [SEP].
    @Test func truncationKeepsTheSeparator() {
        #expect(tokenizer.encode("the cat sat on the mat", maxLength: 5) == [2, 4, 5, 6, 3])
        #expect(tokenizer.encode("the cat", maxLength: 4) == [2, 4, 5, 3])
        #expect(tokenizer.encode("the cat sat", maxLength: 2) == [2, 3])
    }

    /// 100 characters are still split; 101 make the word [UNK] however it would split.
    @Test func maxCharactersPerWord() {
        let hundred = String(repeating: "a", count: 100)
        #expect(tokenizer.wordPieces(hundred) == ["a"] + Array(repeating: "##a", count: 99))
        #expect(tokenizer.wordPieces(hundred + "a") == ["[UNK]"])
        #expect(tokenizer.wordPieces(hundred + "a dog") == ["[UNK]", "dog"])
    }

    /// A cased model keeps capitals and accents (strip_accents follows do_lower_case).
    @Test func casedTokenizerKeepsCaseAndAccents() throws {
        let cased = try WordPieceTokenizer(tokens: Self.vocabulary + ["The", "é"], lowerCase: false)
        #expect(cased.wordPieces("The the é") == ["The", "the", "é"])
        #expect(cased.wordPieces("THE") == ["[UNK]"])
        let stripping = try WordPieceTokenizer(tokens: Self.vocabulary + ["The"], lowerCase: false, stripAccents: true)
        #expect(stripping.wordPieces("The café") == ["The", "caf", "##e"])
    }

    /// A cased vocabulary holding both "é" (U+00E9) and "e" + U+0301 keeps them apart, as Python's dict does.
    @Test func canonicallyEquivalentTokensStayDistinct() throws {
        let cased = try WordPieceTokenizer(tokens: Self.vocabulary + ["\u{E9}", "e\u{301}"], lowerCase: false)
        #expect(cased.id(of: "\u{E9}") == Self.vocabulary.count && cased.id(of: "e\u{301}") == Self.vocabulary.count + 1)
        // The basic tokenizer's NFC makes both spellings of the input the precomposed token.
        #expect(cased.encode("e\u{301} \u{E9}") == [2, Self.vocabulary.count, Self.vocabulary.count, 3])
    }

    @Test func vocabularyFileWithWindowsLineEnds() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-vocab-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(Self.vocabulary.joined(separator: "\r\n").utf8).write(to: url)
        let loaded = try WordPieceTokenizer.load(path: url.path)
        #expect(loaded.tokens == Self.vocabulary)
        #expect(loaded.encode("the dog") == [2, 4, 20, 3])
    }

    @Test func vocabularyWithoutSpecialTokensIsAnError() {
        #expect {
            _ = try WordPieceTokenizer(tokens: ["[PAD]", "[CLS]", "[SEP]", "the"], path: "/m/vocab.txt")
        } throws: { error in
            "\(error)".contains("/m/vocab.txt") && "\(error)".contains("[UNK]")
        }
    }
}
