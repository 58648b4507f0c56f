import Foundation
import SpinelISA

/// The configuration a trace is replayed with, and where it came from.
public struct TraceConfiguration: Sendable {
    public var config: AcceleratorConfig
    public var parameters: AcceleratorParameters
    /// In words, for reports: "config.json next to the trace (/path/config.json)".
    public var source: String

    /// `configFile` if given, else the preset `preset`, else `config.json` in the trace's
    /// directory (`spinel generate` writes it next to the Verilog and the harness), else the
    /// preset whose name and hash the trace recorded. When the trace records its configuration
    /// (`recorded`), the chosen one must have the same hash.
    public static func resolve(traceFile: URL, configFile: URL?, preset: AcceleratorConfig.Preset?,
                               recorded: (name: String, hash: String)? = nil) throws(TraceConfigurationError) -> TraceConfiguration {
        if configFile != nil && preset != nil {
            throw TraceConfigurationError(message: "give --config FILE or --preset NAME, not both")
        }
        let chosen: (config: AcceleratorConfig, source: String, option: String?)
        if let preset {
            chosen = (.preset(preset), "preset \(preset.rawValue)", "--preset \(preset.rawValue)")
        } else if let configFile {
            chosen = (try read(configFile, role: "--config file"), configFile.path, "--config \(configFile.path)")
        } else {
            let nextToTrace = traceFile.deletingLastPathComponent().appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: nextToTrace.path) {
                chosen = (try read(nextToTrace, role: "config.json next to the trace"), "config.json next to the trace (\(nextToTrace.path))", nil)
            } else if let recorded, let preset = AcceleratorConfig.Preset.allCases.first(where: { (try? AcceleratorConfig.preset($0).parameters().hash) == recorded.hash }) {
                chosen = (.preset(preset), "preset \(preset.rawValue) (the trace's configuration \(recorded.name), hash \(recorded.hash))", nil)
            } else if let recorded {
                throw TraceConfigurationError(
                    message: "the trace \(traceFile.path) was recorded on configuration \(recorded.name) (hash \(recorded.hash)), which is no preset, "
                        + "and there is no config.json next to it (looked for \(nextToTrace.path)).\n"
                        + "  fix: give its configuration file with --config FILE (spinel generate writes it as config.json)")
            } else {
                throw TraceConfigurationError(
                    message: "no configuration for the trace \(traceFile.path): there is no config.json next to it (looked for \(nextToTrace.path)).\n"
                        + "  fix: write the trace into the directory that `spinel generate --preset NAME --out DIR` wrote (it holds config.json), "
                        + "or name the configuration with --config FILE or --preset NAME (\(AcceleratorConfig.Preset.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        let parameters: AcceleratorParameters
        do {
            parameters = try chosen.config.parameters()
        } catch {
            throw TraceConfigurationError(message: "the configuration from \(chosen.source) is invalid: \(error)")
        }
        if let recorded, recorded.hash != parameters.hash {
            throw TraceConfigurationError(
                message: "the trace \(traceFile.path) was recorded on configuration \(recorded.name) (hash \(recorded.hash)), "
                    + "but \(chosen.source) is \(parameters.name) (hash \(parameters.hash)): replaying it there would mislead.\n"
                    + "  fix: " + (chosen.option.map { "drop \($0) to use the trace's own configuration, or give the one it was recorded on" }
                                    ?? "give the configuration it was recorded on with --config FILE or --preset NAME"))
        }
        return TraceConfiguration(config: chosen.config, parameters: parameters, source: chosen.source)
    }

    private static func read(_ url: URL, role: String) throws(TraceConfigurationError) -> AcceleratorConfig {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TraceConfigurationError(message: "cannot read the \(role) \(url.path): \(error.localizedDescription)")
        }
        do {
            return try AcceleratorConfig.fromJSON(data)
        } catch {
            throw TraceConfigurationError(message: "the \(role) \(url.path) is not a valid configuration: \(error)")
        }
    }
}

/// The configuration of a replay is missing or unusable.
public struct TraceConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
