import Foundation

/// BERT's tokenizer: the basic tokenizer (clean-up, CJK splitting, lower-casing, accent
/// stripping, punctuation splitting) then greedy longest-match-first WordPiece over `vocab.txt`,
/// framed by `[CLS]` … `[SEP]` — the rules of Hugging Face's `BertTokenizer` with
/// `do_lower_case`, `tokenize_chinese_chars` and (for uncased models) accent stripping.
/// "Characters" below are Unicode scalars, as in Python strings.
public struct WordPieceTokenizer: Sendable {
    /// Ids by the token's UTF-8 bytes: Swift's `String` equality is canonical equivalence, but a
    /// vocabulary, like Python's dict, tells "é" from "e\u{301}".
    let ids: [[UInt8]: Int]
    /// Token text by id (the line of vocab.txt).
    public let tokens: [String]
    public var lowerCase: Bool
    public var stripAccents: Bool
    public var maxCharactersPerWord = 100
    public let unknownID: Int, classID: Int, separatorID: Int, paddingID: Int

    /// `tokens`: vocab.txt's lines in order (line n is id n). `path` is used in errors.
    public init(tokens: [String], lowerCase: Bool = true, stripAccents: Bool? = nil, path: String = "vocab.txt") throws {
        var ids: [[UInt8]: Int] = [:]
        // Later lines win, as in Hugging Face's load_vocab.
        for (id, token) in tokens.enumerated() { ids[Array(token.utf8)] = id }
        func special(_ name: String) throws -> Int {
            guard let id = ids[Array(name.utf8)] else {
                throw ModelError.malformedFile(path: path, problem: "has no \(name) token (a BERT vocabulary has [PAD], [UNK], [CLS], [SEP])")
            }
            return id
        }
        self.tokens = tokens
        self.ids = ids
        self.lowerCase = lowerCase
        self.stripAccents = stripAccents ?? lowerCase
        unknownID = try special("[UNK]")
        classID = try special("[CLS]")
        separatorID = try special("[SEP]")
        paddingID = try special("[PAD]")
    }

    /// Reads vocab.txt (one token per line).
    public static func load(path: String, lowerCase: Bool = true, stripAccents: Bool? = nil) throws -> WordPieceTokenizer {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path: path) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ModelError.malformedFile(path: path, problem: "is not UTF-8 text")
        }
        // Split on scalars: to String, "\r\n" is one Character and would not match "\n".
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(String.UnicodeScalarView(line.last == "\r" ? line.dropLast() : line[...]))
        }
        if lines.last == "" { lines.removeLast() }
        return try WordPieceTokenizer(tokens: lines, lowerCase: lowerCase, stripAccents: stripAccents, path: path)
    }

    /// `[CLS]` + WordPiece ids of `text` + `[SEP]`, truncated to `maxLength` ids (the text's
    /// end is cut; `[SEP]` stays last).
    public func encode(_ text: String, maxLength: Int = .max) -> [Int] {
        var ids = [classID] + wordPieces(text).map { id(of: $0) ?? unknownID }
        if ids.count > maxLength - 1 { ids.removeLast(ids.count - max(maxLength - 1, 1)) }
        return ids + [separatorID]
    }

    /// The token's line in vocab.txt, comparing Unicode scalars exactly.
    public func id(of token: String) -> Int? { ids[Array(token.utf8)] }

    /// The WordPiece strings of `text`, without `[CLS]`/`[SEP]`.
    public func wordPieces(_ text: String) -> [String] {
        basicTokens(text).flatMap(wordPiece)
    }

    // MARK: Basic tokenizer

    /// Clean-up, CJK splitting, whitespace splitting, lower-casing and accents, punctuation.
    public func basicTokens(_ text: String) -> [String] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if Self.isCJK(scalar) {
                cleaned.append(" "); cleaned.append(scalar); cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        let composed = String(cleaned).precomposedStringWithCanonicalMapping
        var result: [String] = []
        for word in Self.splitOnWhitespace(composed) {
            var word = word
            if lowerCase { word = word.lowercased() }
            if stripAccents {
                word = String(String.UnicodeScalarView(word.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                    $0.properties.generalCategory != .nonspacingMark
                }))
            }
            result += Self.splitOnPunctuation(word)
        }
        return result
    }

    static func splitOnWhitespace(_ text: String) -> [String] {
        var words: [String] = [], current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !current.isEmpty { words.append(String(current)); current = .init() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// Each punctuation character becomes a token of its own.
    static func splitOnPunctuation(_ word: String) -> [String] {
        var pieces: [String] = [], current = String.UnicodeScalarView()
        for scalar in word.unicodeScalars {
            if isPunctuation(scalar) {
                if !current.isEmpty { pieces.append(String(current)); current = .init() }
                pieces.append(String(scalar))
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { pieces.append(String(current)) }
        return pieces
    }

    // MARK: WordPiece

    /// Greedy longest-match-first: the longest vocabulary entry that starts the word, then the
    /// longest `##`-prefixed entry that continues it; a word with no such split, or longer than
    /// `maxCharactersPerWord`, is `[UNK]`.
    public func wordPiece(_ word: String) -> [String] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxCharactersPerWord { return [tokens[unknownID]] }
        var pieces: [String] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: String?
            while start < end {
                var piece = String(String.UnicodeScalarView(scalars[start ..< end]))
                if start > 0 { piece = "##" + piece }
                if id(of: piece) != nil { found = piece; break }
                end -= 1
            }
            guard let found else { return [tokens[unknownID]] }
            pieces.append(found)
            start = end
        }
        return pieces
    }

    // MARK: Character classes (BERT's definitions)

    /// Space, tab, newline, carriage return and the space separators (Zs).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" { return true }
        return scalar.properties.generalCategory == .spaceSeparator
    }

    /// The "C" categories (control, format, unassigned, private use, surrogate) except tab, newline, return.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// ASCII symbols (BERT counts `$`, `+`, `^`, `` ` `` … as punctuation) and the "P" categories.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT splits character by character (not Hangul, kana).
    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
