import Foundation
@testable import SpinelISA
import Testing

@Suite("JSON scanner")
struct JSONScannerTests {
    /// A canonical text for a parsed value, so the scanner can be compared with Foundation's
    /// parser (an independent implementation) on valid input.
    static func canonical(_ node: JSONNode) -> String {
        switch node.value {
        case .object(let members): "{" + members.map { "\($0.key.debugDescription):\(canonical($0.value))" }.sorted().joined(separator: ",") + "}"
        case .array(let elements): "[" + elements.map(canonical).joined(separator: ",") + "]"
        case .string(let text): text.debugDescription
        case .number(let text): "\(Double(text)!)"
        case .bool(let flag): "\(flag ? 1.0 : 0.0)"
        case .null: "null"
        }
    }

    static func canonical(_ value: Any) -> String {
        switch value {
        case let text as String: text.debugDescription
        case let members as [String: Any]: "{" + members.map { "\($0.key.debugDescription):\(canonical($0.value))" }.sorted().joined(separator: ",") + "}"
        case let elements as [Any]: "[" + elements.map(canonical).joined(separator: ",") + "]"
        case is NSNull: "null"
        case let number as NSNumber: "\(number.doubleValue)"
        default: "?\(value)"
        }
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#,
        "\u{FEFF} { \"x\" :\r\n -0.5e+3 }\n", #"[0, -1, 12.25, 1E2, 2e-2, "\u00e9\ud83d\ude00\n\t\"\\\/"]"#,
        #"{"name": "SpinelSmall", "memory": {"latencyCycles": 20, "bytesPerCycle": 8}, "cta": null}"#,
    ])
    func agreesWithFoundationOnValidJSON(text: String) throws {
        let ours = try JSONScanner.parse(text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.canonical(ours) == Self.canonical(theirs))
    }

    @Test func keepsOrderDuplicatesAndPlaces() throws {
        let root = try JSONScanner.parse("{\n  \"b\": 1,\n\t\"a\": {\"c\": [true, null]},\n  \"b\": 2\n}")
        guard case .object(let members) = root.value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "b"])
        #expect(members.map(\.keyPosition) == [.init(line: 2, column: 3), .init(line: 3, column: 2), .init(line: 4, column: 3)])
        #expect(members[1].value.position == .init(line: 3, column: 7))
        guard case .object(let inner) = members[1].value.value else { Issue.record("not an object"); return }
        #expect(inner[0].value.position == .init(line: 3, column: 13))
        guard case .number(let text) = members[2].value.value else { Issue.record("not a number"); return }
        #expect(text == "2")
    }

    @Test(arguments: [(String, Int, Int, String)]([
        (#"{"a": 1,}"#, 1, 9, "trailing comma"),
        (#"{"a": 1 "b": 2}"#, 1, 9, "expected ',' or '}' after the value of \"a\""),
        (#"{"a": 01}"#, 1, 8, "leading zero"),
        (#"{"a": 1.}"#, 1, 9, "digit after the decimal point"),
        (#"{"a": -}"#, 1, 8, "digit after '-'"),
        (#"{"a": 2e}"#, 1, 9, "digit in the exponent"),
        ("{\n  \"a\": \"x", 2, 10, "string opened at line 2, column 8 is not closed"),
        ("{\n  \"a\": tru}", 2, 8, "expected true"),
        (#"{"a": True}"#, 1, 7, "found 'T'"),
        (#"{a: 1}"#, 1, 2, "keys take double quotes"),
        (#"{'a': 1}"#, 1, 2, "expected a key in double quotes, found '''"),
        (#"{"a" 1}"#, 1, 6, "expected ':' after the key \"a\""),
        (#"{"a": 'x'}"#, 1, 7, "JSON strings take double quotes"),
        (#"[1, 2]]"#, 1, 7, "after the end of the top-level value"),
        (#"[1, 2,]"#, 1, 7, "trailing comma"),
        ("", 1, 1, "found end of file"),
        ("{\"a\": 1", 1, 8, "the object opened at line 1, column 1 is not closed"),
        ("[1", 1, 3, "the array opened at line 1, column 1 is not closed"),
        ("\"a\nb\"", 1, 3, "control character U+A inside a string"),
        (#""\q""#, 1, 3, #"unknown escape \q"#),
        (#""\"#, 1, 3, "string opened at line 1, column 1 is not closed"),
        (#""\u12G4""#, 1, 6, "four hexadecimal digits"),
        (#""\ud800\u0041""#, 1, 2, "low one"),
        (#""\udc00""#, 1, 2, "unpaired surrogate"),
        (String(repeating: "[", count: 101), 1, 101, "nested more than 100 levels"),
    ]))
    func syntaxErrorsAreLocated(text: String, line: Int, column: Int, words: String) {
        do {
            _ = try JSONScanner.parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.position == TextPosition(line: line, column: column), "\(text.debugDescription): \(error.message)")
            #expect(error.message.contains(words), "\(text.debugDescription): \(error.message)")
        }
    }
}
