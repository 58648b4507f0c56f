/// The `manifest.json` that every `spinel generate` output directory carries. It lists every
/// file the generator wrote there, so a later run can tell its own output (which it may
/// replace) from a directory that holds anything else (which it must never delete).
public enum GeneratedManifest {
    /// The manifest's file name.
    public static let fileName = "manifest.json"

    /// The prefix of the manifest's `generator` field; a directory is Spinel's output only
    /// if its manifest starts with it.
    public static let generatorPrefix = "spinel "

    /// `files` plus their manifest. `fields` are extra string fields (`configuration`, `hash`,
    /// `top`, …); the keys are written sorted, so the text depends only on the arguments.
    public static func adding(to files: [GeneratedFile], generatorVersion: String, fields: [String: String]) -> [GeneratedFile] {
        let names = (files.map(\.name) + [fileName]).sorted()
        var entries = fields.map { (key: $0.key, value: "\"\($0.value)\"") }
        entries.append((key: "generator", value: "\"\(generatorPrefix)\(generatorVersion)\""))
        entries.append((key: "files", value: "[\n" + names.map { "    \"\($0)\"" }.joined(separator: ",\n") + "\n  ]"))
        let body = entries.sorted { $0.key < $1.key }.map { "  \"\($0.key)\" : \($0.value)" }.joined(separator: ",\n")
        let manifest = GeneratedFile(name: fileName, contents: "{\n\(body)\n}\n")
        return (files + [manifest]).sorted { $0.name < $1.name }
    }
}
