import Foundation
import SpinelAccelerator
import SpinelHDL
import Testing

/// Configuration files as users write them: every error names the place, the field, the rule
/// and the fix (issue 11).
@Suite("Configuration files")
struct ConfigFileTests {
    static func error(_ json: String, file: String? = nil) -> ConfigFileError? {
        do {
            _ = try AcceleratorConfig.fromJSON(Data(json.utf8), file: file)
            return nil
        } catch {
            return error
        }
    }

    /// The JSON, the field the error names, its line and column, and words of the problem and of the fix.
    @Test(arguments: [
        ("{\"name\": \"X\",\n \"meshRows\": 2.5}", "meshRows", 2, 14, "must be a whole number, found 2.5", "digits only"),
        (#"{"meshRows": 1e3}"#, "meshRows", 1, 14, "must be a whole number, found 1e3", "no decimal point or exponent"),
        (#"{"meshRows": 12345678901234567890}"#, "meshRows", 1, 14, "does not fit a 64-bit integer", "range"),
        (#"{"meshRows": "4"}"#, "meshRows", 1, 14, "must be a number, found the string \"4\"", "without quotes: 4"),
        (#"{"meshRows": "four"}"#, "meshRows", 1, 14, "must be a whole number, found the string \"four\"", "a number such as 16"),
        (#"{"base": "small", "meshRows": true}"#, "meshRows", 1, 31, "found true", "a number such as 4"),
        (#"{"memory": {"latencyCycles": 2.5}}"#, "memory.latencyCycles", 1, 30, "must be a whole number", "digits only"),
        (#"{"cta": {"maxTokens": "x"}}"#, "cta.maxTokens", 1, 23, "must be a whole number", "512"),
        (#"{"meshRows": null}"#, "meshRows", 1, 14, "is null", "leave the field out"),
        (#"{"memory": {"bytesPerCycle": null}}"#, "memory.bytesPerCycle", 1, 30, "must be a whole number, found null", "a number such as 16"),
        (#"{"memory": null}"#, "memory", 1, 12, "is null", "leave the field out"),
        (#"{"meshRows": 4, "meshRows": 8}"#, "meshRows", 1, 17, "given twice (first at line 1, column 2)", "keep one"),
        ("{\"memory\": {\"latencyCycles\": 5,\n  \"latencyCycles\": 6}}", "memory.latencyCycles", 2, 3, "given twice (first at line 1, column 13)", "keep one"),
        (#"{"meshRow": 4}"#, "meshRow", 1, 2, "unknown field of the configuration", "did you mean 'meshRows'?"),
        (#"{"memory": {"latency": 5}}"#, "memory.latency", 1, 13, "unknown field of memory", "the fields of memory are: latencyCycles, bytesPerCycle"),
        (#"{"memory": 5}"#, "memory", 1, 12, "must be an object, found the number 5", "latencyCycles, bytesPerCycle"),
        (#"{"hasNormalizations": "true"}"#, "hasNormalizations", 1, 23, "must be true or false", "without quotes"),
        (#"{"dataflow": "WS"}"#, "dataflow", 1, 14, #"must be one of "os", "ws", "both", found the string "WS""#, #"write one of "os""#),
        (#"{"accScale": 1}"#, "accScale", 1, 14, #"must be one of "fp32", "none""#, "write one of"),
        (#"{"inputType": "Int8"}"#, "inputType", 1, 15, "'Int8' is not a number type", "SInt8"),
        (#"{"inputType": 8}"#, "inputType", 1, 15, "must be a number type in quotes", "SInt8"),
        (#"{"inputType": "SInt+8"}"#, "inputType", 1, 15, "'SInt+8' is not a number type", "SInt8"),
        (#"{"accType": "SInt032"}"#, "accType", 1, 13, "'SInt032' is not a number type", "SInt32"),
        (#"{"name": 5}"#, "name", 1, 10, "must be a string", "double quotes"),
        (#"{"base": "huge"}"#, "base", 1, 10, "must name a preset (default, transformer, small, cta), found the string \"huge\"", "\"small\""),
        (#"{"base": null}"#, "base", 1, 10, "must name a preset", "leave base out"),
    ])
    func fieldErrorsNameThePlaceTheFieldAndTheFix(json: String, field: String, line: Int, column: Int, problem: String, fix: String) throws {
        let error = try #require(Self.error(json, file: "mine.json"), "accepted \(json)")
        #expect(error.field == field, "\(error)")
        #expect(error.position == TextPosition(line: line, column: column), "\(error)")
        #expect(error.problem.contains(problem), "\(error)")
        #expect(error.fix.contains(fix), "\(error)")
        #expect("\(error)".hasPrefix("mine.json:\(line):\(column): field '\(field)': "), "\(error)")
        #expect("\(error)".contains("\n  fix: "), "\(error)")
    }

    @Test(arguments: [
        (#"[1, 2]"#, 1, 1, "must be a JSON object of parameters, found an array"),
        ("{\n  \"name\": \"X\"", 2, 14, "not valid JSON: the object opened at line 1, column 1 is not closed"),
        (#"{"name": "X",}"#, 1, 14, "not valid JSON: expected a key in double quotes, found '}' (a trailing comma is not allowed)"),
    ])
    func documentErrorsAreLocated(json: String, line: Int, column: Int, problem: String) throws {
        let error = try #require(Self.error(json), "accepted \(json)")
        #expect(error.field == nil && error.position == TextPosition(line: line, column: column), "\(error)")
        #expect(error.problem.contains(problem), "\(error)")
        #expect("\(error)".hasPrefix("configuration line \(line), column \(column): "), "\(error)")
    }

    @Test func textThatIsNotUTF8IsRefused() {
        do {
            _ = try AcceleratorConfig.fromJSON(Data([0x7B, 0xFF, 0x7D]), file: "bin.json")
            Issue.record("accepted bytes that are not UTF-8")
        } catch {
            #expect("\(error)" == "bin.json: is not UTF-8 text\n  fix: save the configuration as UTF-8 JSON")
        }
    }

    @Test func partialNestedObjectsMergeWithTheBase() throws {
        // small's memory is (20 cycles, 8 B/cycle); the default's bytesPerCycle is 16.
        let memory = try AcceleratorConfig.fromJSON(Data(#"{"base": "small", "memory": {"latencyCycles": 5}}"#.utf8))
        #expect(memory.memory == MemoryModel(latencyCycles: 5, bytesPerCycle: 8))
        let bytes = try AcceleratorConfig.fromJSON(Data(#"{"base": "small", "memory": {"bytesPerCycle": 4}}"#.utf8))
        #expect(bytes.memory == MemoryModel(latencyCycles: 20, bytesPerCycle: 4))
        // A cta object turns the units on; what it leaves out comes from CTAConfig's defaults or the base's units.
        let on = try AcceleratorConfig.fromJSON(Data(#"{"hasNormalizations": true, "cta": {"maxClusters": 8}}"#.utf8))
        #expect(on.cta == CTAParameters(hashLength: 6, maxTokens: 512, maxClusters: 8))
        let baseUnits = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "cta": {"maxTokens": 256}}"#.utf8))
        #expect(baseUnits.cta == CTAParameters(hashLength: 6, maxTokens: 256, maxClusters: 256))  // maxClusters left out follows maxTokens
        // Everything else is the base preset's.
        var expected = AcceleratorConfig.small
        expected.memory.latencyCycles = 5
        #expect(memory == expected)
    }

    /// The configurations in the repository still load: Testbenches/configs/ and the
    /// config.json that `spinel generate` wrote for each preset (which says "cta" : null).
    @Test func committedConfigurationsLoad() throws {
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root = root.deletingLastPathComponent() }
        let configs = root.appendingPathComponent("Testbenches/configs")
        let names = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(names.count >= 3)
        for name in names {
            _ = try AcceleratorConfig.load(path: configs.appendingPathComponent(name).path)
        }
        for preset in AcceleratorConfig.Preset.allCases {
            let config = AcceleratorConfig.preset(preset)
            #expect(try AcceleratorConfig.load(path: root.appendingPathComponent("Generated/\(config.name)/config.json").path) == config)
        }
    }

    @Test func ctaNullLeavesTheUnitsOut() throws {
        let config = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "name": "NoCTA", "cta": null}"#.utf8))
        #expect(config.cta == nil && config.hasNormalizations)
        // config.json as `spinel generate` writes it says "cta" : null for presets without the units.
        #expect(String(decoding: AcceleratorConfig.small.toJSON(), as: UTF8.self).contains("\"cta\" : null"))
    }

    // MARK: Files

    static func scratch(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-config-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func loadPlacesBrokenRulesAtTheirLine() throws {
        let directory = try Self.scratch("load")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("banks.json").path
        try "{\n  \"base\": \"small\",\n  \"accBanks\": 3\n}\n".write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try AcceleratorConfig.load(path: file)
            Issue.record("accepted accBanks = 3")
        } catch let error as ConfigFileError {
            #expect(error.field == "accBanks" && error.position == TextPosition(line: 3, column: 3), "\(error)")
            #expect("\(error)".hasPrefix("\(file):3:3: field 'accBanks': 3 breaks the rule: must be a power of two"), "\(error)")
            #expect(error.fix == "write 4 or another power of two", "\(error)")
        }
        // A rule broken by a value the file did not give names the base preset instead of a line.
        try #"{"meshRows": 8}"#.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try AcceleratorConfig.load(path: file)
            Issue.record("accepted a non-square array")
        } catch let error as ConfigFileError {
            #expect(error.field == "meshColumns" && error.position == nil, "\(error)")
            #expect(error.problem.contains("the value comes from the base preset \"default\""), "\(error)")
            #expect(error.fix.contains("product is 8"), "\(error)")
        }
    }

    @Test func missingAndUnreadableFilesAreExplained() throws {
        let directory = try Self.scratch("files")
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("nope.json").path
        #expect(throws: FileProblem.self) { try AcceleratorConfig.load(path: missing) }
        do {
            _ = try AcceleratorConfig.load(path: missing)
        } catch {
            #expect("\(error)".hasPrefix("\(missing): no configuration file there\n  fix: check the path"), "\(error)")
        }
        do {
            _ = try AcceleratorConfig.load(path: directory.path)
            Issue.record("read a directory")
        } catch {
            #expect("\(error)" == "\(directory.path): is a directory, not a configuration file\n  fix: give the path of the configuration file itself, not of a directory")
        }
        do {
            try UserFiles.checkReadable("relative/nowhere.c", role: "testbench")
            Issue.record("accepted a missing testbench")
        } catch {
            #expect(error.problem.contains("no testbench there (looked for \(FileManager.default.currentDirectoryPath)/relative/nowhere.c)"), "\(error)")
            #expect(error.fix.contains("current directory (\(FileManager.default.currentDirectoryPath))"), "\(error)")
        }
    }

    @Test func outputPathsAreCheckedBeforeAnyWork() throws {
        let directory = try Self.scratch("out")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("plain")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        do {
            try UserFiles.checkDirectoryCanBeWritten(file.appendingPathComponent("a/b").path, option: "--out")
            Issue.record("accepted an --out under a file")
        } catch {
            #expect(error.problem == "cannot create the directory: \(file.path) is a file, not a directory", "\(error)")
            #expect(error.fix.contains("--out"), "\(error)")
        }
        #expect(throws: FileProblem.self) { try UserFiles.checkDirectoryCanBeWritten(file.path, option: "--out") }
        #expect(throws: FileProblem.self) { try UserFiles.checkFileCanBeWritten(directory.path, option: "--trace") }
        try UserFiles.checkDirectoryCanBeWritten(directory.appendingPathComponent("new/deeper").path, option: "--out")
        try UserFiles.checkFileCanBeWritten(directory.appendingPathComponent("trace.jsonl").path, option: "--trace")
    }

    @Test func presetAndConfigTogetherAreRefused() throws {
        #expect(throws: ConfigChoiceError(preset: .small, configFile: "x.json")) {
            _ = try AcceleratorConfig.chosen(preset: .small, configFile: "x.json", fallback: .small)
        }
        #expect(try AcceleratorConfig.chosen(preset: nil, configFile: nil, fallback: .small) == AcceleratorConfig.small)
        #expect(try AcceleratorConfig.chosen(preset: nil, configFile: nil, fallback: nil) == nil)
        #expect(try AcceleratorConfig.chosen(preset: .cta, configFile: nil, fallback: .small) == AcceleratorConfig.cta)
    }
}
