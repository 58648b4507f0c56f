import Foundation
import SpinelHDL

/// A configuration read from JSON, with the place of every field the text gave, so that a
/// rule broken later (`problems()`) can still be reported at its line.
struct ConfigDocument {
    var config: AcceleratorConfig
    /// The base preset the fields the text leaves out come from.
    var base: AcceleratorConfig.Preset = .default
    /// Where each field's key is, by full path (`memory.latencyCycles`).
    var positions: [String: TextPosition] = [:]
    let file: String?

    init(data: Data, file: String?) throws(ConfigFileError) {
        self.file = file
        config = .default
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFileError(file: file, problem: "is not UTF-8 text", fix: "save the configuration as UTF-8 JSON")
        }
        let root: JSONNode
        do {
            root = try JSONScanner.parse(text)
        } catch {
            throw ConfigFileError(file: file, position: error.position, problem: "not valid JSON: \(error.message)",
                                  fix: "correct the JSON at that place (docs/CONFIGURATION.md has an example)")
        }
        guard case .object = root.value else {
            throw ConfigFileError(file: file, position: root.position,
                                  problem: "the configuration must be a JSON object of parameters, found \(root.kindDescription)",
                                  fix: #"write an object such as {"base": "small", "name": "Mine", "meshRows": 8}"#)
        }
        let members = try self.members(of: root, path: nil, fields: AcceleratorConfig.Key.allCases.map(\.rawValue) + ["base"])
        if let member = members.first(where: { $0.key == "base" }) {
            let presets = AcceleratorConfig.Preset.allCases.map(\.rawValue)
            guard case .string(let name) = member.value.value, let preset = AcceleratorConfig.Preset(rawValue: name) else {
                throw fail(member.value, "base", "must name a preset (\(presets.joined(separator: ", "))), found \(member.value.kindDescription)",
                           fix: "write one of " + presets.map { "\"\($0)\"" }.joined(separator: ", ") + ", or leave base out to start from \"default\"")
            }
            base = preset
        }
        config = .preset(base)
        for member in members where member.key != "base" {
            // Every key of `members` is a field: `members(of:)` refused the others.
            try apply(AcceleratorConfig.Key(rawValue: member.key)!, member.value)
        }
    }

    private func fail(_ node: JSONNode, _ field: String, _ problem: String, fix: String) -> ConfigFileError {
        ConfigFileError(file: file, position: node.position, field: field, problem: problem, fix: fix)
    }

    /// The members of an object, each key known and given once; records their places.
    private mutating func members(of node: JSONNode, path: String?, fields: [String]) throws(ConfigFileError) -> [JSONNode.Member] {
        guard case .object(let members) = node.value else {
            throw fail(node, path ?? "", "must be an object, found \(node.kindDescription)",
                       fix: "write an object of its fields (\(fields.joined(separator: ", "))), or leave the field out")
        }
        var seen: [String: TextPosition] = [:]
        for member in members {
            let field = path.map { "\($0).\(member.key)" } ?? member.key
            if let first = seen[member.key] {
                throw ConfigFileError(file: file, position: member.keyPosition, field: field,
                                      problem: "is given twice (first at \(first)); JSON readers disagree on which one counts",
                                      fix: "keep one of the two")
            }
            seen[member.key] = member.keyPosition
            guard fields.contains(member.key) else {
                let guess = Misspelling.closest(to: member.key, in: fields).map { "did you mean '\($0)'? " } ?? ""
                throw ConfigFileError(file: file, position: member.keyPosition, field: field,
                                      problem: "unknown field" + (path.map { " of \($0)" } ?? " of the configuration"),
                                      fix: guess + "the fields\(path.map { " of \($0)" } ?? "") are: \(fields.joined(separator: ", "))")
            }
            positions[field] = member.keyPosition
        }
        return members
    }

    private mutating func apply(_ key: AcceleratorConfig.Key, _ node: JSONNode) throws(ConfigFileError) {
        let field = key.rawValue
        if case .null = node.value {
            if key == .cta { config.cta = nil; return }
            throw fail(node, field, "is null; null is not a value for any field but cta",
                       fix: "give a value, or leave the field out to take the base preset's (\(base.rawValue))")
        }
        func whole(_ keyPath: WritableKeyPath<AcceleratorConfig, Int>) throws(ConfigFileError) {
            config[keyPath: keyPath] = try integer(node, field, example: config[keyPath: keyPath])
        }
        switch key {
        case .name: config.name = try string(node, field)
        case .meshRows: try whole(\.meshRows)
        case .meshColumns: try whole(\.meshColumns)
        case .tileRows: try whole(\.tileRows)
        case .tileColumns: try whole(\.tileColumns)
        case .dataflow: config.dataflow = try choice(node, field)
        case .inputType: config.inputType = try type(node, field)
        case .weightType: config.weightType = try type(node, field)
        case .accType: config.accType = try type(node, field)
        case .spatialOutputType: config.spatialOutputType = try type(node, field)
        case .spCapacityKiB: try whole(\.spCapacityKiB)
        case .spBanks: try whole(\.spBanks)
        case .accCapacityKiB: try whole(\.accCapacityKiB)
        case .accBanks: try whole(\.accBanks)
        case .dmaBusBits: try whole(\.dmaBusBits)
        case .dmaMaxBytes: try whole(\.dmaMaxBytes)
        case .maxInFlightReqs: try whole(\.maxInFlightReqs)
        case .ldQueue: try whole(\.ldQueue)
        case .exQueue: try whole(\.exQueue)
        case .stQueue: try whole(\.stQueue)
        case .ldReservationEntries: try whole(\.ldReservationEntries)
        case .exReservationEntries: try whole(\.exReservationEntries)
        case .stReservationEntries: try whole(\.stReservationEntries)
        case .mvinScale: config.mvinScale = try choice(node, field)
        case .accScale: config.accScale = try choice(node, field)
        case .hasNormalizations: config.hasNormalizations = try bool(node, field)
        case .normalizationSlots: try whole(\.normalizationSlots)
        case .hasAffineLayerNorm: config.hasAffineLayerNorm = try bool(node, field)
        case .hasNumericsExtensions: config.hasNumericsExtensions = try bool(node, field)
        case .normalizerLanes: config.normalizerLanes = try integer(node, field, example: config.normalizerLanes ?? 4)
        case .cta:
            // An object turns the CTA units on; the fields it leaves out keep the base's CTA
            // sizes, or CTAParameters' defaults when the base has no CTA units. maxClusters left
            // out follows maxTokens (its default), clusterDigitBits left out follows hashCodeBits.
            var cta = config.cta ?? CTAParameters()
            let named = try members(of: node, path: field, fields: CTAParameters.fields.map(\.name)).map(\.key)
            try merge(node, into: &cta, path: field, fields: CTAParameters.fields)
            if !named.contains("maxClusters") { cta.maxClusters = cta.maxTokens }
            if !named.contains("clusterDigitBits") { cta.clusterDigitBits = CTAParameters.defaultDigitBits(hashCodeBits: cta.hashCodeBits) }
            config.cta = cta
        case .memory:
            var memory = config.memory
            try merge(node, into: &memory, path: field, fields: [("latencyCycles", \.latencyCycles), ("bytesPerCycle", \.bytesPerCycle)])
            config.memory = memory
        }
    }

    /// Sets the integer fields a nested object names; the others keep their value.
    private mutating func merge<T>(_ node: JSONNode, into value: inout T, path: String,
                                   fields: [(name: String, keyPath: WritableKeyPath<T, Int>)]) throws(ConfigFileError) {
        for member in try members(of: node, path: path, fields: fields.map(\.name)) {
            // `members(of:)` let through only the names in `fields`.
            let keyPath = fields.first { $0.name == member.key }!.keyPath
            value[keyPath: keyPath] = try integer(member.value, "\(path).\(member.key)", example: value[keyPath: keyPath])
        }
    }

    private func integer(_ node: JSONNode, _ field: String, example: Int) throws(ConfigFileError) -> Int {
        switch node.value {
        case .number(let text):
            guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
                throw fail(node, field, "must be a whole number, found \(text)",
                           fix: "write the number with digits only, no decimal point or exponent (e.g. \(example))")
            }
            guard let value = Int(text) else {
                throw fail(node, field, "\(text) does not fit a 64-bit integer",
                           fix: "write a value in the field's range (docs/CONFIGURATION.md; the base preset has \(example))")
            }
            return value
        case .string(let text) where Int(text) != nil:
            throw fail(node, field, "must be a number, found \(node.kindDescription)", fix: "write it without quotes: \(text)")
        default:
            throw fail(node, field, "must be a whole number, found \(node.kindDescription)", fix: "write a number such as \(example)")
        }
    }

    private func bool(_ node: JSONNode, _ field: String) throws(ConfigFileError) -> Bool {
        guard case .bool(let flag) = node.value else {
            throw fail(node, field, "must be true or false, found \(node.kindDescription)", fix: "write true or false, without quotes")
        }
        return flag
    }

    private func string(_ node: JSONNode, _ field: String) throws(ConfigFileError) -> String {
        guard case .string(let text) = node.value else {
            throw fail(node, field, "must be a string, found \(node.kindDescription)", fix: #"write it in double quotes, e.g. "Mine""#)
        }
        return text
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ node: JSONNode, _ field: String) throws(ConfigFileError) -> T
    where T.RawValue == String {
        let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        guard case .string(let text) = node.value, let value = T(rawValue: text) else {
            throw fail(node, field, "must be one of \(names), found \(node.kindDescription)", fix: "write one of \(names)")
        }
        return value
    }

    private func type(_ node: JSONNode, _ field: String) throws(ConfigFileError) -> HWType {
        guard case .string(let text) = node.value else {
            throw fail(node, field, "must be a number type in quotes, found \(node.kindDescription)", fix: #"write "SInt8", "SInt32" or similar"#)
        }
        guard let type = HWType(configName: text) else {
            throw fail(node, field, "'\(text)' is not a number type", fix: "write SInt8, SInt32, UInt16 or similar (S or U, Int, the width in bits)")
        }
        return type
    }
}

extension ConfigDocument {
    /// A broken rule, at the line of the field that breaks it (or naming the base preset the
    /// value came from).
    func located(_ error: ConfigError) -> ConfigFileError {
        let position = positions[error.field]
        return ConfigFileError(file: file, position: position, field: error.field,
                               problem: "\(error.value) breaks the rule: \(error.rule)"
                                   + (position == nil ? " (the value comes from the base preset \"\(base.rawValue)\")" : ""),
                               fix: error.fix)
    }
}

extension AcceleratorConfig {
    /// Reads and checks the configuration file at `path`: a missing or unreadable file, bad
    /// JSON and a broken rule (`problems()`) are all reported with the file, the line, the
    /// field and the fix.
    public static func load(path: String) throws -> AcceleratorConfig {
        let document = try ConfigDocument(data: try UserFiles.read(path, role: "configuration file"), file: path)
        if let problem = document.config.problems().first { throw document.located(problem) }
        return document.config
    }

    /// The accelerator a command's `--preset` and `--config` choose, or `fallback` when neither
    /// is given. Both at once is refused: which one should win is not obvious.
    public static func chosen(preset: Preset?, configFile: String?, fallback: Preset?) throws -> AcceleratorConfig? {
        try checkChoice(preset: preset, configFile: configFile)
        if let configFile { return try load(path: configFile) }
        return (preset ?? fallback).map(AcceleratorConfig.preset)
    }

    /// Refuses `--preset` together with `--config`.
    public static func checkChoice(preset: Preset?, configFile: String?) throws(ConfigChoiceError) {
        if let preset, let configFile { throw ConfigChoiceError(preset: preset, configFile: configFile) }
    }
}

/// `--preset` and `--config` given together.
public struct ConfigChoiceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var preset: AcceleratorConfig.Preset
    public var configFile: String

    public init(preset: AcceleratorConfig.Preset, configFile: String) {
        self.preset = preset
        self.configFile = configFile
    }

    public var description: String {
        "give --preset or --config, not both (got --preset \(preset.rawValue) and --config \(configFile)); "
            + "to start a file from a preset, write \"base\": \"\(preset.rawValue)\" in \(configFile) and give only --config"
    }
}
