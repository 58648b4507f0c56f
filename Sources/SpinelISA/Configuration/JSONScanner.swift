/// A line and column in a text (both from 1; a column counts Unicode scalars, so a tab is one).
public struct TextPosition: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// A JSON value with the place it starts. Objects keep their members in file order, duplicates
/// included, and numbers keep their text: Foundation's JSONSerialization drops all three, and
/// a configuration error must say where it is and must not hide a repeated key.
struct JSONNode: Sendable {
    enum Value: Sendable {
        case object([Member])
        case array([JSONNode])
        case string(String)
        /// The number exactly as written (JSON grammar, checked).
        case number(String)
        case bool(Bool)
        case null
    }

    struct Member: Sendable {
        var key: String
        var keyPosition: TextPosition
        var value: JSONNode
    }

    var value: Value
    var position: TextPosition

    /// How a message names this kind of value: `the string "four"`, `the number 2.5`.
    var kindDescription: String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string(let text): "the string \"\(text)\""
        case .number(let text): "the number \(text)"
        case .bool(let flag): "\(flag)"
        case .null: "null"
        }
    }
}

/// Text that is not JSON (RFC 8259): where, and what was expected there.
struct JSONSyntaxError: Error, Sendable {
    var position: TextPosition
    var message: String
}

/// A small RFC 8259 parser that records where every value and key starts.
struct JSONScanner {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    /// Deeper nesting is refused rather than risking the stack; configurations nest twice.
    static let maximumDepth = 100

    static func parse(_ text: String) throws(JSONSyntaxError) -> JSONNode {
        var scanner = JSONScanner(scalars: Array(text.unicodeScalars))
        if scanner.peek == "\u{FEFF}" { scanner.index += 1; scanner.lineStart = 1 }  // a byte-order mark is not content
        scanner.skipWhitespace()
        let root = try scanner.value()
        scanner.skipWhitespace()
        if let extra = scanner.peek {
            throw scanner.error("unexpected \(describe(extra)) after the end of the top-level value (only one value is allowed)")
        }
        return root
    }

    private init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }
    private var position: TextPosition { TextPosition(line: line, column: index - lineStart + 1) }

    private func error(_ message: String, at position: TextPosition? = nil) -> JSONSyntaxError {
        JSONSyntaxError(position: position ?? self.position, message: message)
    }

    private static func describe(_ scalar: Unicode.Scalar?) -> String {
        guard let scalar else { return "end of file" }
        if scalar.value < 0x20 || scalar.value == 0x7F { return "control character U+\(String(scalar.value, radix: 16, uppercase: true))" }
        return "'\(scalar)'"
    }

    private mutating func skipWhitespace() {
        while let c = peek, c == " " || c == "\t" || c == "\n" || c == "\r" {
            index += 1
            if c == "\n" { line += 1; lineStart = index }
        }
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONNode {
        let start = position
        guard let first = peek else { throw error("expected a value, found end of file") }
        switch first {
        case "{": return JSONNode(value: .object(try object()), position: start)
        case "[": return JSONNode(value: .array(try array()), position: start)
        case "\"": return JSONNode(value: .string(try string()), position: start)
        case "-", "0"..."9": return JSONNode(value: .number(try number()), position: start)
        case "t": try literal("true"); return JSONNode(value: .bool(true), position: start)
        case "f": try literal("false"); return JSONNode(value: .bool(false), position: start)
        case "n": try literal("null"); return JSONNode(value: .null, position: start)
        case let other:
            throw error("expected a value (object, array, string, number, true, false or null), found \(Self.describe(other))"
                        + (other == "'" ? "; JSON strings take double quotes" : ""))
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth { throw error("nested more than \(Self.maximumDepth) levels deep") }
    }

    private mutating func object() throws(JSONSyntaxError) -> [JSONNode.Member] {
        try enter()
        let open = position
        index += 1
        var members: [JSONNode.Member] = []
        skipWhitespace()
        if peek == "}" { index += 1; depth -= 1; return members }
        while true {
            skipWhitespace()
            guard peek == "\"" else {
                let hint = peek == "}" ? " (a trailing comma is not allowed)" : peek.map { $0.properties.isAlphabetic } == true ? " (keys take double quotes)" : ""
                throw error("expected a key in double quotes, found \(Self.describe(peek))\(hint)")
            }
            let keyPosition = position
            let key = try string()
            skipWhitespace()
            guard peek == ":" else { throw error("expected ':' after the key \"\(key)\", found \(Self.describe(peek))") }
            index += 1
            skipWhitespace()
            members.append(JSONNode.Member(key: key, keyPosition: keyPosition, value: try value()))
            skipWhitespace()
            switch peek {
            case ","?: index += 1
            case "}"?: index += 1; depth -= 1; return members
            case nil: throw error("the object opened at \(open) is not closed: expected ',' or '}'")
            default: throw error("expected ',' or '}' after the value of \"\(key)\", found \(Self.describe(peek))")
            }
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> [JSONNode] {
        try enter()
        let open = position
        index += 1
        var elements: [JSONNode] = []
        skipWhitespace()
        if peek == "]" { index += 1; depth -= 1; return elements }
        while true {
            skipWhitespace()
            if peek == "]" { throw error("expected a value, found ']' (a trailing comma is not allowed)") }
            elements.append(try value())
            skipWhitespace()
            switch peek {
            case ","?: index += 1
            case "]"?: index += 1; depth -= 1; return elements
            case nil: throw error("the array opened at \(open) is not closed: expected ',' or ']'")
            default: throw error("expected ',' or ']' after an array element, found \(Self.describe(peek))")
            }
        }
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let open = position
        index += 1
        var text = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw error("the string opened at \(open) is not closed: expected '\"'") }
            if c == "\"" { index += 1; return String(text) }
            if c.value < 0x20 {
                throw error("\(Self.describe(c)) inside a string (the string opened at \(open)); write it escaped, e.g. \\n, or close the string")
            }
            let escape = position
            index += 1
            guard c == "\\" else { text.append(c); continue }
            switch peek ?? "\0" {
            case "\"": text.append("\"")
            case "\\": text.append("\\")
            case "/": text.append("/")
            case "b": text.append("\u{8}")
            case "f": text.append("\u{C}")
            case "n": text.append("\n")
            case "r": text.append("\r")
            case "t": text.append("\t")
            case "u":
                index += 1
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), peek == "\\", index + 1 < scalars.count, scalars[index + 1] == "u" {
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("\\u escape: a high surrogate must be followed by a low one", at: escape) }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("\\u escape: an unpaired surrogate is not a character", at: escape) }
                text.append(scalar)
                continue
            case "\0" where peek == nil:
                throw error("the string opened at \(open) is not closed: expected '\"'")
            default:
                throw error("unknown escape \\\(peek.map(String.init) ?? ""); the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
            }
            index += 1
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek, let digit = Int(String(c), radix: 16) else {
                throw error("\\u takes four hexadecimal digits, found \(Self.describe(peek))")
            }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }

    private mutating func number() throws(JSONSyntaxError) -> String {
        let start = index
        func digits() -> Int {
            let first = index
            while let c = peek, ("0"..."9").contains(c) { index += 1 }
            return index - first
        }
        if peek == "-" { index += 1 }
        if peek == "0" {
            index += 1
            if let c = peek, ("0"..."9").contains(c) { throw error("a number cannot have a leading zero") }
        } else if digits() == 0 {
            throw error("expected a digit after '-', found \(Self.describe(peek))")
        }
        if peek == "." {
            index += 1
            if digits() == 0 { throw error("expected a digit after the decimal point, found \(Self.describe(peek))") }
        }
        if peek == "e" || peek == "E" {
            index += 1
            if peek == "+" || peek == "-" { index += 1 }
            if digits() == 0 { throw error("expected a digit in the exponent, found \(Self.describe(peek))") }
        }
        return String(String.UnicodeScalarView(scalars[start..<index]))
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let start = position
        for expected in word.unicodeScalars {
            guard peek == expected else {
                throw error("expected \(word) (JSON literals are lower case: true, false, null)", at: start)
            }
            index += 1
        }
    }
}
