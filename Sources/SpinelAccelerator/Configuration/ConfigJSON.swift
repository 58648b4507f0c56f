import Foundation
import SpinelHDL

/// A configuration file that cannot be read: the message names the field and the fix.
public struct ConfigFileError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension AcceleratorConfig {
    /// The JSON keys, in the order they are written.
    enum Key: String, CodingKey, CaseIterable {
        case name, meshRows, meshColumns, tileRows, tileColumns, dataflow
        case inputType, weightType, accType, spatialOutputType
        case spCapacityKiB, spBanks, accCapacityKiB, accBanks
        case dmaBusBits, dmaMaxBytes, maxInFlightReqs
        case ldQueue, exQueue, stQueue, ldReservationEntries, exReservationEntries, stReservationEntries
        case mvinScale, accScale, hasNormalizations, normalizationSlots, hasAffineLayerNorm, cta, memory
    }

    /// Reads a configuration from JSON. Missing fields take the value of `base` (the
    /// `default` preset unless the file says `"base": "small"` or another preset); unknown
    /// fields are an error, so a misspelt parameter is never silently ignored.
    public static func fromJSON(_ data: Data) throws -> AcceleratorConfig {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigFileError(message: "the configuration is not valid JSON (\(error.localizedDescription)); fix the syntax and retry")
        }
        guard let fields = object as? [String: Any] else {
            throw ConfigFileError(message: "the configuration must be a JSON object of parameters, e.g. {\"name\": \"Mine\", \"meshRows\": 8}")
        }
        let known = Set(Key.allCases.map(\.rawValue) + ["base"])
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigFileError(message: "unknown configuration field '\(unknown)'; the fields are: \(Key.allCases.map(\.rawValue).joined(separator: ", ")), base")
        }
        var base = AcceleratorConfig.default
        if let baseName = fields["base"] {
            guard let text = baseName as? String, let preset = Preset(rawValue: text) else {
                throw ConfigFileError(message: "base = \(baseName): must be one of \(Preset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            base = .preset(preset)
        }
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[baseKey] = base
            return try decoder.decode(AcceleratorConfig.self, from: data)
        } catch let error as DecodingError {
            throw ConfigFileError(message: Self.explain(error))
        }
    }

    /// Pretty, key-sorted JSON: the same configuration always gives the same bytes.
    public func toJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain values into JSON cannot fail.
        return try! encoder.encode(self) + Data("\n".utf8)
    }

    static let baseKey = CodingUserInfoKey(rawValue: "spinel.base")!

    static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "field '\(path(context))' has the wrong kind of value: expected \(type) (\(context.debugDescription))"
        case .valueNotFound(_, let context):
            return "field '\(path(context))' is null; give it a value or leave it out to take the base preset's"
        case .keyNotFound(let key, let context):
            return "field '\(path(context)).\(key.stringValue)' is missing"
        case .dataCorrupted(let context):
            return "field '\(path(context))': \(context.debugDescription)"
        @unknown default:
            return "the configuration could not be read: \(error)"
        }
    }

    public init(from decoder: Decoder) throws {
        let base = decoder.userInfo[Self.baseKey] as? AcceleratorConfig ?? .default
        let c = try decoder.container(keyedBy: Key.self)
        func value<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        func type(_ key: Key, _ fallback: HWType) throws -> HWType {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return fallback }
            guard let parsed = HWType(configName: text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c,
                    debugDescription: "'\(text)' is not a number type; write SInt8, SInt32, UInt16 or similar")
            }
            return parsed
        }
        self.init(name: try value(.name, base.name))
        meshRows = try value(.meshRows, base.meshRows)
        meshColumns = try value(.meshColumns, base.meshColumns)
        tileRows = try value(.tileRows, base.tileRows)
        tileColumns = try value(.tileColumns, base.tileColumns)
        dataflow = try value(.dataflow, base.dataflow)
        inputType = try type(.inputType, base.inputType)
        weightType = try type(.weightType, base.weightType)
        accType = try type(.accType, base.accType)
        spatialOutputType = try type(.spatialOutputType, base.spatialOutputType)
        spCapacityKiB = try value(.spCapacityKiB, base.spCapacityKiB)
        spBanks = try value(.spBanks, base.spBanks)
        accCapacityKiB = try value(.accCapacityKiB, base.accCapacityKiB)
        accBanks = try value(.accBanks, base.accBanks)
        dmaBusBits = try value(.dmaBusBits, base.dmaBusBits)
        dmaMaxBytes = try value(.dmaMaxBytes, base.dmaMaxBytes)
        maxInFlightReqs = try value(.maxInFlightReqs, base.maxInFlightReqs)
        ldQueue = try value(.ldQueue, base.ldQueue)
        exQueue = try value(.exQueue, base.exQueue)
        stQueue = try value(.stQueue, base.stQueue)
        ldReservationEntries = try value(.ldReservationEntries, base.ldReservationEntries)
        exReservationEntries = try value(.exReservationEntries, base.exReservationEntries)
        stReservationEntries = try value(.stReservationEntries, base.stReservationEntries)
        mvinScale = try value(.mvinScale, base.mvinScale)
        accScale = try value(.accScale, base.accScale)
        hasNormalizations = try value(.hasNormalizations, base.hasNormalizations)
        normalizationSlots = try value(.normalizationSlots, base.normalizationSlots)
        hasAffineLayerNorm = try value(.hasAffineLayerNorm, base.hasAffineLayerNorm)
        cta = c.contains(.cta) ? try c.decodeIfPresent(CTAConfig.self, forKey: .cta) : base.cta
        memory = try value(.memory, base.memory)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: .name)
        try c.encode(meshRows, forKey: .meshRows)
        try c.encode(meshColumns, forKey: .meshColumns)
        try c.encode(tileRows, forKey: .tileRows)
        try c.encode(tileColumns, forKey: .tileColumns)
        try c.encode(dataflow, forKey: .dataflow)
        try c.encode(inputType.configName, forKey: .inputType)
        try c.encode(weightType.configName, forKey: .weightType)
        try c.encode(accType.configName, forKey: .accType)
        try c.encode(spatialOutputType.configName, forKey: .spatialOutputType)
        try c.encode(spCapacityKiB, forKey: .spCapacityKiB)
        try c.encode(spBanks, forKey: .spBanks)
        try c.encode(accCapacityKiB, forKey: .accCapacityKiB)
        try c.encode(accBanks, forKey: .accBanks)
        try c.encode(dmaBusBits, forKey: .dmaBusBits)
        try c.encode(dmaMaxBytes, forKey: .dmaMaxBytes)
        try c.encode(maxInFlightReqs, forKey: .maxInFlightReqs)
        try c.encode(ldQueue, forKey: .ldQueue)
        try c.encode(exQueue, forKey: .exQueue)
        try c.encode(stQueue, forKey: .stQueue)
        try c.encode(ldReservationEntries, forKey: .ldReservationEntries)
        try c.encode(exReservationEntries, forKey: .exReservationEntries)
        try c.encode(stReservationEntries, forKey: .stReservationEntries)
        try c.encode(mvinScale, forKey: .mvinScale)
        try c.encode(accScale, forKey: .accScale)
        try c.encode(hasNormalizations, forKey: .hasNormalizations)
        try c.encode(normalizationSlots, forKey: .normalizationSlots)
        try c.encode(hasAffineLayerNorm, forKey: .hasAffineLayerNorm)
        if let cta { try c.encode(cta, forKey: .cta) } else { try c.encodeNil(forKey: .cta) }
        try c.encode(memory, forKey: .memory)
    }
}

extension HWType {
    /// `SInt8`, `UInt32`: how configuration files name number types.
    public var configName: String { "\(isSigned ? "SInt" : "UInt")\(width)" }

    public init?(configName: String) {
        let signed = configName.hasPrefix("SInt"), unsigned = configName.hasPrefix("UInt")
        guard signed || unsigned, let width = Int(configName.dropFirst(4)), width >= 1 else { return nil }
        self = signed ? .sint(width) : .uint(width)
    }
}
