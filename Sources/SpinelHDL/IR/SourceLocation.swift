/// Where in the Swift source a piece of hardware was described.
///
/// Every IR node carries one, so that an elaboration error points at the line to change and the
/// emitted Verilog can carry `// Mesh.swift:42` locators.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var fileID: String
    public var line: Int

    public init(fileID: String, line: Int) {
        self.fileID = fileID
        self.line = line
    }

    public init(_ fileID: StaticString, _ line: UInt) {
        self.init(fileID: "\(fileID)", line: Int(line))
    }

    /// For nodes created without a location (integer literals, operator results) until the
    /// statement that consumes them stamps its own.
    public static let unknown = SourceLocation(fileID: "", line: 0)

    public var isUnknown: Bool { line == 0 }

    /// `Mesh.swift:42` — the file name without the module prefix of `#fileID`.
    public var description: String {
        if isUnknown { return "<unknown location>" }
        let file = fileID.split(separator: "/").last.map(String.init) ?? fileID
        return "\(file):\(line)"
    }
}
