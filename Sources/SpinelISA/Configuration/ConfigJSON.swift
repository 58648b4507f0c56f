import Foundation
import SpinelHDL

/// A configuration file that cannot be used: where (file, line, column), which field, the
/// rule it breaks and the fix.
public struct ConfigFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as the user named it; nil for JSON that did not come from a file.
    public var file: String?
    /// Where the problem is; nil when it is not in the file (a field taken from the base preset).
    public var position: TextPosition?
    /// The full path of the field, such as `memory.latencyCycles`; nil for the file as a whole.
    public var field: String?
    public var problem: String
    public var fix: String

    public init(file: String? = nil, position: TextPosition? = nil, field: String? = nil, problem: String, fix: String) {
        self.file = file
        self.position = position
        self.field = field
        self.problem = problem
        self.fix = fix
    }

    /// `my.json:3:18: field 'memory.latencyCycles': must be a whole number, found the number 2.5`
    /// and, on the next line, the fix.
    public var description: String {
        var place = file ?? "configuration"
        if let position { place += file == nil ? " \(position)" : ":\(position.line):\(position.column)" }
        return "\(place): " + (field.map { "field '\($0)': " } ?? "") + problem + "\n  fix: " + fix
    }
}

extension AcceleratorConfig {
    /// The JSON keys, in the order they are written.
    enum Key: String, CodingKey, CaseIterable {
        case name, meshRows, meshColumns, tileRows, tileColumns, dataflow
        case inputType, weightType, accType, spatialOutputType
        case spCapacityKiB, spBanks, accCapacityKiB, accBanks
        case dmaBusBits, dmaMaxBytes, maxInFlightReqs
        case ldQueue, exQueue, stQueue, ldReservationEntries, exReservationEntries, stReservationEntries
        case mvinScale, accScale, hasNormalizations, normalizationSlots, hasAffineLayerNorm, hasNumericsExtensions, normalizerLanes, cta, memory
    }

    /// Reads a configuration from JSON (docs/CONFIGURATION.md). Fields the text leaves out take
    /// the value of the base preset (`default` unless it says `"base": "small"` or another), and
    /// a nested object (`memory`, `cta`) changes only the fields it names. Unknown fields,
    /// repeated keys, `null` (except `"cta": null`, no CTA units) and numbers that are not whole
    /// are errors that name the file, the line and column, the field and the fix. The result is
    /// not validated: `parameters()` does that (or `load(path:)`, which also places the error).
    public static func fromJSON(_ data: Data, file: String? = nil) throws(ConfigFileError) -> AcceleratorConfig {
        try ConfigDocument(data: data, file: file).config
    }

    /// Pretty, key-sorted JSON: the same configuration always gives the same bytes.
    public func toJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain values into JSON cannot fail.
        return try! encoder.encode(self) + Data("\n".utf8)
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
        try c.encode(hasNumericsExtensions, forKey: .hasNumericsExtensions)
        // Left out when nil (DIM lanes), so that the configurations written before the field
        // existed keep their JSON and their hash.
        try c.encodeIfPresent(normalizerLanes, forKey: .normalizerLanes)
        if let cta { try c.encode(cta, forKey: .cta) } else { try c.encodeNil(forKey: .cta) }
        try c.encode(memory, forKey: .memory)
    }
}

extension HWType {
    /// `SInt8`, `UInt32`: how configuration files name number types.
    public var configName: String { "\(isSigned ? "SInt" : "UInt")\(width)" }

    public init?(configName: String) {
        let signed = configName.hasPrefix("SInt"), unsigned = configName.hasPrefix("UInt")
        // Digits only, as `configName` writes them: not "SInt+8" or "SInt08".
        let digits = configName.dropFirst(4)
        guard signed || unsigned, digits.first != "0", digits.allSatisfy({ ("0"..."9").contains($0) }),
              let width = Int(digits), width >= 1 else { return nil }
        self = signed ? .sint(width) : .uint(width)
    }
}
