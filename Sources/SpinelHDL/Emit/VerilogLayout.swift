/// Verilog text that knows where it may break: the emitter builds every expression as one, and
/// `VerilogLayout` writes it on one line when it fits in `VerilogEmitter.lineWidth` columns, and
/// otherwise breaks its outermost groups first, one part per line (a concatenation packs as many
/// parts per line as fit), each continuation aligned under the group's first part.
///
/// Breaking only ever happens between tokens, so the Verilog means the same as on one line.
struct VerilogText {
    indirect enum Kind {
        /// Never broken.
        case atom(String)
        /// Parts written one after the other; only the parts themselves may break.
        case sequence([VerilogText])
        /// `open`, the parts separated by one space, `close`; broken between parts.
        case group(open: String, parts: [VerilogText], close: String, packed: Bool)
    }

    let kind: Kind
    /// Columns on one line.
    let width: Int

    static func atom(_ text: String) -> VerilogText {
        VerilogText(kind: .atom(text), width: text.utf8.count)
    }

    static func sequence(_ parts: [VerilogText]) -> VerilogText {
        VerilogText(kind: .sequence(parts), width: parts.reduce(0) { $0 + $1.width })
    }

    /// A group of `parts`: a chain of operands (`a`, `| b`, `| c`) or of mux arms; `packed` for
    /// lists (`a,`, `b,`, `c`) that may share a line when broken.
    static func group(open: String = "", _ parts: [VerilogText], close: String = "", packed: Bool = false) -> VerilogText {
        let width = open.utf8.count + close.utf8.count + parts.reduce(parts.count - 1) { $0 + $1.width }
        return VerilogText(kind: .group(open: open, parts: parts, close: close, packed: packed), width: width)
    }

    /// The text on one line.
    var flat: String {
        var text = ""
        write(into: &text)
        return text
    }

    func write(into text: inout String) {
        switch kind {
        case .atom(let atom): text += atom
        case .sequence(let parts): for part in parts { part.write(into: &text) }
        case .group(let open, let parts, let close, _):
            text += open
            for (index, part) in parts.enumerated() {
                if index > 0 { text += " " }
                part.write(into: &text)
            }
            text += close
        }
    }
}

/// Writes statements of `VerilogText` in lines of at most `limit` columns where the text allows
/// (an atom longer than a line, such as a very long name, stays whole).
struct VerilogLayout {
    let limit: Int
    private var lines: [String] = []
    private var line = ""
    private var column = 0

    /// `prefix`, `text`, `suffix` as lines; continuation lines are indented at least four more
    /// columns than `prefix`.
    static func lines(_ prefix: String, _ text: VerilogText, _ suffix: String = "", limit: Int = VerilogEmitter.lineWidth) -> [String] {
        var layout = VerilogLayout(limit: limit)
        layout.append(prefix)
        let indent = prefix.prefix { $0 == " " }.count
        layout.write(text, trailing: suffix.utf8.count, margin: indent + 4)
        layout.append(suffix)
        layout.lines.append(layout.line)
        return layout.lines
    }

    private mutating func append(_ text: String) {
        line += text
        column += text.utf8.count
    }

    private mutating func newline(indent: Int) {
        lines.append(line)
        line = String(repeating: " ", count: indent)
        column = indent
    }

    /// Writes `text`, leaving room for `trailing` columns that must follow it on its last line.
    /// `margin` is the indentation for a group whose own alignment column is too far right.
    private mutating func write(_ text: VerilogText, trailing: Int, margin: Int) {
        if column + text.width + trailing <= limit {
            text.write(into: &line)
            column += text.width
            return
        }
        switch text.kind {
        case .atom(let atom):
            append(atom)
        case .sequence(let parts):
            for (index, part) in parts.enumerated() {
                // The atoms right after this part stay on its line.
                var after = 0
                var rest = parts[(index + 1)...].makeIterator()
                var onlyAtoms = true
                while let next = rest.next() {
                    guard case .atom = next.kind else { onlyAtoms = false; break }
                    after += next.width
                }
                write(part, trailing: after + (onlyAtoms ? trailing : 0), margin: margin)
            }
        case .group(let open, let parts, let close, let packed):
            append(open)
            var indent = column
            if indent > limit / 2 && margin < indent {
                newline(indent: margin)
                indent = margin
            }
            for (index, part) in parts.enumerated() {
                let after = index == parts.count - 1 ? close.utf8.count + trailing : 0
                if index > 0 {
                    if packed && column + 1 + part.width + after <= limit {
                        append(" ")
                    } else {
                        newline(indent: indent)
                    }
                }
                write(part, trailing: after, margin: indent + 2)
            }
            append(close)
        }
    }
}
