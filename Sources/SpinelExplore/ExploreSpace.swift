import Foundation
import SpinelAccelerator

/// A space file that cannot be used: the file, the field (its JSON path), the problem and the fix.
public struct SpaceFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var field: String?
    public var problem: String
    public var fix: String

    public init(file: String, field: String? = nil, problem: String, fix: String) {
        self.file = file
        self.field = field
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        "\(file): " + (field.map { "field '\($0)': " } ?? "") + problem + "\n  fix: " + fix
    }
}

/// One workload every point runs: a testbench and its arguments, whose command stream the
/// golden timing model replays (docs/EXPLORE.md, "Workloads").
public struct Workload: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// `sweep_matmul.c M N K ws`: tiled_matmul_auto through LOOP_WS.
        case matmul
        /// `encoder_layer.c S D heads F`: one BERT-style encoder layer, nonlinear functions on the normalizer.
        case encoder
    }

    public var name: String
    public var kind: Kind
    public var sizes: [Int]

    public init(name: String, kind: Kind, sizes: [Int]) {
        self.name = name
        self.kind = kind
        self.sizes = sizes
    }

    /// The testbench (relative to the testbench directory) and its arguments.
    public var testbench: String { kind == .matmul ? "sweep_matmul.c" : "encoder_layer.c" }
    public var arguments: [String] { sizes.map(String.init) + (kind == .matmul ? ["ws"] : []) }

    /// Multiply-accumulates, as the testbench counts them.
    public var macs: Double {
        let s = sizes.map(Double.init)
        switch kind {
        case .matmul: return s[0] * s[1] * s[2]
        case .encoder: return s[0] * s[1] * s[1] * 4 + s[0] * s[0] * s[1] * 2 + s[0] * s[1] * s[3] * 2
        }
    }
}

/// One axis: the values one configuration field (or several tied fields, such as meshRows and
/// meshColumns) takes.
public struct Axis: Hashable, Sendable {
    /// Field paths as configuration files write them (`meshRows`, `memory.latencyCycles`).
    public var fields: [String]
    /// JSON values, as text (`16`, `"ws"`, `true`).
    public var values: [JSONValue]

    public var name: String { fields.joined(separator: "+") }
}

/// A JSON scalar of an axis, kept as the value the configuration reader gets.
public enum JSONValue: Hashable, Sendable, CustomStringConvertible {
    case integer(Int)
    case string(String)
    case bool(Bool)

    public var description: String {
        switch self {
        case .integer(let value): "\(value)"
        case .string(let text): text
        case .bool(let flag): "\(flag)"
        }
    }

    var object: Any {
        switch self {
        case .integer(let value): value
        case .string(let text): text
        case .bool(let flag): flag
        }
    }
}

/// `left op right`: a rule each point must keep, or it is skipped (reported as excluded).
public struct Constraint: Hashable, Sendable, CustomStringConvertible {
    public enum Operator: String, CaseIterable, Sendable { case le = "<=", ge = ">=", ne = "!=", eq = "==", lt = "<", gt = ">" }
    /// Each side: a product of terms, each a field path or a whole number (`meshRows*meshColumns`).
    public var left: [String]
    public var op: Operator
    public var right: [String]
    public var text: String

    public var description: String { text }
}

/// A design space (docs/EXPLORE.md): a base configuration, the axes whose cross product gives
/// the points, the constraints that exclude some, and the workloads each point runs.
public struct ExploreSpace: Sendable {
    public var base: AcceleratorConfig
    /// What the base was, in words (`preset transformer`, `config Testbenches/configs/x.json`).
    public var baseDescription: String
    public var axes: [Axis]
    public var constraints: [Constraint]
    public var workloads: [Workload]

    static let topFields = ["base", "baseConfig", "axes", "constraints", "workloads"]

    /// Reads and checks the space file at `path`. Errors name the file, the field and the fix.
    public static func load(path: String) throws -> ExploreSpace {
        let data = try UserFiles.read(path, role: "space file")
        return try parse(data, file: path, directory: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    public static func parse(_ data: Data, file: String, directory: URL) throws -> ExploreSpace {
        func fail(_ field: String?, _ problem: String, _ fix: String) -> SpaceFileError {
            SpaceFileError(file: file, field: field, problem: problem, fix: fix)
        }
        let root: Any
        do {
            root = try JSONDecoder().decode(JSONTree.self, from: data).plain
        } catch {
            throw fail(nil, "is not valid JSON (\(Self.describe(error)))",
                       "correct the JSON; docs/EXPLORE.md has an example (Testbenches/explore/example.json)")
        }
        guard let object = root as? [String: Any] else {
            throw fail(nil, "must be a JSON object", #"write {"base": "transformer", "axes": [...], "workloads": [...]}"#)
        }
        for key in object.keys.sorted() where !topFields.contains(key) {
            throw fail(key, "unknown field of the space file", "the fields are: \(topFields.joined(separator: ", "))")
        }

        // The base: a preset or a configuration file (relative to the space file).
        var base: AcceleratorConfig
        var baseDescription: String
        switch (object["base"], object["baseConfig"]) {
        case (.some, .some):
            throw fail("baseConfig", "base and baseConfig are both given", "keep one: a preset name in base, or a configuration file in baseConfig")
        case (let preset?, nil):
            let names = AcceleratorConfig.Preset.allCases.map(\.rawValue)
            guard let name = preset as? String, let value = AcceleratorConfig.Preset(rawValue: name) else {
                throw fail("base", "must name a preset (\(names.joined(separator: ", ")))",
                           "write one of " + names.map { "\"\($0)\"" }.joined(separator: ", ") + ", or give a configuration file in baseConfig")
            }
            base = .preset(value)
            baseDescription = "preset \(name)"
        case (nil, let configFile?):
            guard let relative = configFile as? String else {
                throw fail("baseConfig", "must be a path in double quotes", #"write e.g. "../configs/transformer-affine.json""#)
            }
            let path = relative.hasPrefix("/") ? relative : directory.appendingPathComponent(relative).path
            base = try AcceleratorConfig.load(path: path)
            baseDescription = "config \(relative)"
        case (nil, nil):
            throw fail("base", "no base configuration", #"write "base": "transformer" (a preset) or "baseConfig": "path/to/config.json""#)
        }

        // Axes: an array, so that their order (and the points' order) is the file's.
        guard let axisList = object["axes"] as? [Any] else {
            throw fail("axes", object["axes"] == nil ? "is missing" : "must be an array of axes",
                       #"write "axes": [{"field": "memory.latencyCycles", "values": [40, 100]}]"#)
        }
        var axes: [Axis] = []
        let known = ConfigFields.all
        for (index, entry) in axisList.enumerated() {
            let field = "axes[\(index)]"
            guard let axis = entry as? [String: Any] else {
                throw fail(field, "must be an object", #"write {"field": "meshRows", "values": [8, 16]} or {"fields": ["meshRows", "meshColumns"], "values": [8, 16]}"#)
            }
            for key in axis.keys.sorted() where !["field", "fields", "values"].contains(key) {
                throw fail("\(field).\(key)", "unknown field of an axis", "an axis has field (or fields) and values")
            }
            let fields: [String]
            if let one = axis["field"] as? String, axis["fields"] == nil {
                fields = [one]
            } else if let many = axis["fields"] as? [String], axis["field"] == nil, !many.isEmpty {
                fields = many
            } else {
                throw fail("\(field).field", "an axis needs one field (\"field\": \"meshRows\") or a list (\"fields\": [...]), not both",
                           #"write "field": "meshRows", or "fields": ["meshRows", "meshColumns"] for fields that change together"#)
            }
            for name in fields where !known.contains(name) {
                let guess = Misspelling.closest(to: name, in: known).map { "did you mean '\($0)'? " } ?? ""
                throw fail("\(field).field", "'\(name)' is not a configuration field",
                           guess + "the fields are: \(known.joined(separator: ", ")) (docs/CONFIGURATION.md)")
            }
            if fields.contains("name") {
                throw fail("\(field).field", "the name is not an axis", "every point keeps the base's name; choose another field")
            }
            guard let rawValues = axis["values"] as? [Any], !rawValues.isEmpty else {
                throw fail("\(field).values", "must be a non-empty array", "write the values the field takes, e.g. \"values\": [8, 16, 32]")
            }
            var values: [JSONValue] = []
            for (valueIndex, raw) in rawValues.enumerated() {
                guard let value = scalar(raw) else {
                    throw fail("\(field).values[\(valueIndex)]", "must be a whole number, a string or true/false",
                               "write the value as a configuration file would, e.g. 16, \"ws\" or true")
                }
                if values.contains(value) {
                    throw fail("\(field).values[\(valueIndex)]", "\(value) is given twice", "keep one of the two")
                }
                values.append(value)
            }
            if let earlier = axes.first(where: { !Set($0.fields).isDisjoint(with: fields) }) {
                throw fail("\(field).field", "a field of this axis is already an axis (\(earlier.name))", "merge the two axes into one")
            }
            axes.append(Axis(fields: fields, values: values))
        }

        var constraints: [Constraint] = []
        if let list = object["constraints"] {
            guard let texts = list as? [String] else {
                throw fail("constraints", "must be an array of strings", #"write e.g. "constraints": ["spCapacityKiB >= accCapacityKiB"]"#)
            }
            for (index, text) in texts.enumerated() {
                guard let constraint = Constraint(parsing: text, fields: known) else {
                    throw fail("constraints[\(index)]", "\"\(text)\" is not a rule the explorer reads",
                               "write SIDE OP SIDE with OP one of <=, >=, <, >, ==, != and each SIDE a product of fields and whole numbers, "
                               + "e.g. \"meshRows*meshColumns <= 256\"")
                }
                constraints.append(constraint)
            }
        }

        guard let workloadList = object["workloads"] as? [Any], !workloadList.isEmpty else {
            throw fail("workloads", "must be a non-empty array",
                       #"write e.g. "workloads": [{"name": "matmul-256", "matmul": [256, 256, 256]}, {"name": "bert-base", "encoder": [128, 768, 12, 3072]}]"#)
        }
        var workloads: [Workload] = []
        for (index, entry) in workloadList.enumerated() {
            let field = "workloads[\(index)]"
            guard let workload = entry as? [String: Any] else {
                throw fail(field, "must be an object", #"write {"name": "matmul-256", "matmul": [256, 256, 256]}"#)
            }
            for key in workload.keys.sorted() where !["name", "matmul", "encoder"].contains(key) {
                throw fail("\(field).\(key)", "unknown field of a workload", "a workload has a name and one of matmul [M, N, K] or encoder [S, D, heads, F]")
            }
            let kind: Workload.Kind
            let raw: Any
            switch (workload["matmul"], workload["encoder"]) {
            case (let sizes?, nil): kind = .matmul; raw = sizes
            case (nil, let sizes?): kind = .encoder; raw = sizes
            default:
                throw fail(field, "needs exactly one of matmul [M, N, K] and encoder [S, D, heads, F]",
                           #"write "matmul": [256, 256, 256] or "encoder": [128, 768, 12, 3072]"#)
            }
            let count = kind == .matmul ? 3 : 4
            guard let numbers = raw as? [Any], numbers.count == count,
                  case let sizes = numbers.compactMap({ scalar($0) }).compactMap({ value -> Int? in
                      if case .integer(let n) = value, n > 0 { return n } else { return nil } }),
                  sizes.count == count else {
                throw fail("\(field).\(kind.rawValue)", "must be \(count) positive whole numbers (\(kind == .matmul ? "M, N, K" : "S, D, heads, F"))",
                           kind == .matmul ? "write e.g. [256, 256, 256]" : "write e.g. [128, 768, 12, 3072] (BERT-base at S 128)")
            }
            if kind == .encoder && sizes[1] % sizes[2] != 0 {
                throw fail("\(field).encoder", "D (\(sizes[1])) is not a multiple of heads (\(sizes[2]))", "choose heads that divide D")
            }
            let name = (workload["name"] as? String) ?? "\(kind.rawValue)-" + sizes.map(String.init).joined(separator: "x")
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw fail("\(field).name", "\"\(name)\" must be letters, digits, '-', '_' or '.'", "rename it, e.g. \"bert-base-s128\"")
            }
            if workloads.contains(where: { $0.name == name }) {
                throw fail("\(field).name", "\"\(name)\" names two workloads", "give each workload its own name")
            }
            workloads.append(Workload(name: name, kind: kind, sizes: sizes))
        }
        return ExploreSpace(base: base, baseDescription: baseDescription, axes: axes, constraints: constraints, workloads: workloads)
    }

    static func scalar(_ raw: Any) -> JSONValue? {
        switch raw {
        case let flag as JSONTree.Flag: return .bool(flag.value)
        case let number as Int: return .integer(number)
        case let text as String: return .string(text)
        default: return nil
        }
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError.map { "\($0)" } ?? context.debugDescription)
        }
        return "\(error)"
    }

    // MARK: Points

    /// Every combination of the axes' values, the last axis changing fastest.
    public var assignments: [[(axis: Axis, value: JSONValue)]] {
        var result: [[(axis: Axis, value: JSONValue)]] = [[]]
        for axis in axes {
            result = result.flatMap { prefix in axis.values.map { prefix + [(axis, $0)] } }
        }
        return result
    }
}

/// The configuration fields an axis or constraint can name: the JSON keys, nested ones as paths.
enum ConfigFields {
    static let all: [String] = {
        // The keys of a full configuration (toJSON writes every field it has), nested objects as
        // paths; the optional sections and fields given a value so that their keys are there.
        var config = AcceleratorConfig.default
        config.cta = CTAConfig()
        config.normalizerLanes = config.meshRows * config.tileRows
        guard let object = (try? JSONDecoder().decode(JSONTree.self, from: config.toJSON()))?.plain as? [String: Any] else { return [] }
        var fields: [String] = []
        for key in object.keys.sorted() {
            if let nested = object[key] as? [String: Any] {
                fields += nested.keys.sorted().map { "\(key).\($0)" }
            } else {
                fields.append(key)
            }
        }
        return fields
    }()

    /// The value of `path` in a configuration's JSON object (nil when absent, e.g. cta.* without CTA units).
    static func value(_ path: String, in object: [String: Any]) -> Any? {
        let parts = path.split(separator: ".").map(String.init)
        if parts.count == 2 { return (object[parts[0]] as? [String: Any])?[parts[1]] }
        return object[path]
    }
}

extension Constraint {
    init?(parsing text: String, fields: [String]) {
        // Longest operators first, so that "<=" is not read as "<".
        for op in [Operator.le, .ge, .ne, .eq, .lt, .gt] {
            let parts = text.components(separatedBy: op.rawValue)
            guard parts.count == 2 else { continue }
            func side(_ part: String) -> [String]? {
                let terms = part.split(separator: "*").map { $0.trimmingCharacters(in: .whitespaces) }
                guard !terms.isEmpty, terms.allSatisfy({ fields.contains($0) || Int($0) != nil }) else { return nil }
                return terms
            }
            guard let left = side(parts[0]), let right = side(parts[1]) else { return nil }
            self.init(left: left, op: op, right: right, text: text.trimmingCharacters(in: .whitespaces))
            return
        }
        return nil
    }

    /// Whether a configuration (as its JSON object) keeps the rule; nil when a field has no
    /// number there (the rule cannot be checked).
    func holds(in object: [String: Any]) -> Bool? {
        func product(_ terms: [String]) -> Int? {
            var result = 1
            for term in terms {
                if let number = Int(term) { result *= number; continue }
                guard let value = ConfigFields.value(term, in: object) as? Int else { return nil }
                result *= value
            }
            return result
        }
        guard let a = product(left), let b = product(right) else { return nil }
        switch op {
        case .le: return a <= b
        case .ge: return a >= b
        case .lt: return a < b
        case .gt: return a > b
        case .eq: return a == b
        case .ne: return a != b
        }
    }
}

/// JSON read into plain Swift values: objects as [String: Any], arrays as [Any], whole numbers
/// as Int, other numbers as Double, true/false as `Flag` (never confused with 0 and 1).
enum JSONTree: Decodable {
    struct Flag { var value: Bool }
    case object([String: JSONTree]), array([JSONTree]), integer(Int), number(Double), string(String), flag(Bool), null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .flag(flag) }
        else if let integer = try? container.decode(Int.self) { self = .integer(integer) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let array = try? container.decode([JSONTree].self) { self = .array(array) }
        else { self = .object(try container.decode([String: JSONTree].self)) }
    }

    var plain: Any {
        switch self {
        case .object(let members): members.mapValues(\.plain)
        case .array(let items): items.map(\.plain)
        case .integer(let value): value
        case .number(let value): value
        case .string(let text): text
        case .flag(let flag): Flag(value: flag)
        case .null: NSNull()
        }
    }
}
