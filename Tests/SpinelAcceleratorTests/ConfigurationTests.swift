import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

@Suite("Accelerator configuration")
struct ConfigurationTests {
    @Test(arguments: AcceleratorConfig.Preset.allCases)
    func presetsAreValid(preset: AcceleratorConfig.Preset) throws {
        let config = AcceleratorConfig.preset(preset)
        #expect(config.problems().isEmpty, "\(config.problems())")
        _ = try config.parameters()
    }

    @Test func defaultMatchesGemminiParams() throws {
        // Gemmini's gemmini_params.h for its default configuration.
        let p = try AcceleratorConfig.default.parameters()
        #expect(p.dim == 16)
        #expect(p.config.spBanks == 4 && p.spRowsPerBank == 4096)
        #expect(p.accRows == 1024)
        #expect(p.config.dmaMaxBytes == 64)
        #expect(p.maxBlockLen == 4)       // MAX_BYTES / (DIM · 1)
        #expect(p.maxBlockLenAcc == 1)    // MAX_BYTES / (DIM · 4)
    }

    @Test func derivedValuesOfTheOtherPresets() throws {
        let transformer = try AcceleratorConfig.transformer.parameters()
        #expect(transformer.spRows == 4096 && transformer.spRowsPerBank == 1024)    // 64 KiB of 16-byte rows
        #expect(transformer.accRows == 4096 && transformer.accRowsPerBank == 2048)  // 256 KiB of 64-byte rows
        let small = try AcceleratorConfig.small.parameters()
        #expect(small.dim == 4 && small.spRowBytes == 4 && small.spRows == 1024 && small.accRowBytes == 16 && small.accRows == 256)
        #expect(small.maxBlockLen == 8 && small.maxBlockLenAcc == 2 && small.dmaBusBytes == 8)
        #expect(small.spRowBits == 10 && small.accRowBits == 8)
    }

    /// Each broken configuration, the field the error must name, and words of its rule.
    static let invalid: [(String, @Sendable (inout AcceleratorConfig) -> Void, field: String, value: String, rule: String)] = [
        ("name with a space", { $0.name = "my chip" }, "name", "\"my chip\"", "Verilog identifier"),
        ("zero mesh rows", { $0.meshRows = 0 }, "meshRows", "0", "at least 1"),
        ("non-square array", { $0.meshColumns = 8 }, "meshColumns", "8", "square"),
        ("DIM of 1", { $0.meshRows = 1; $0.meshColumns = 1 }, "meshRows", "1", "between 2 and 256"),
        ("unsigned inputs", { $0.inputType = .uint(8); $0.weightType = .uint(8) }, "inputType", "UInt8", "signed"),
        ("12-bit inputs", { $0.inputType = .sint(12); $0.weightType = .sint(12) }, "inputType", "SInt12", "whole bytes"),
        ("32-bit inputs", { $0.inputType = .sint(32); $0.weightType = .sint(32); $0.accType = .sint(64); $0.spatialOutputType = .sint(64) },
         "inputType", "SInt32", "a sum of DIM products of SInt32 values needs more than 64 bits"),
        ("weights differ from inputs", { $0.weightType = .sint(16) }, "weightType", "SInt16", "must equal inputType"),
        ("accumulator too narrow", { $0.accType = .sint(8) }, "accType", "SInt8", "twice inputType"),
        ("spatial output too narrow", { $0.spatialOutputType = .sint(16) }, "spatialOutputType", "SInt16", "at least 20 bits"),
        ("three scratchpad banks", { $0.spBanks = 3 }, "spBanks", "3", "power of two"),
        ("accumulator rows per bank not a power of two", { $0.accCapacityKiB = 3 }, "accCapacityKiB", "3",
         "= 24) must be a whole power of two and at least DIM (16)"),
        ("accumulator rows per bank below DIM", { $0.accCapacityKiB = 1 }, "accCapacityKiB", "1",
         "= 8) must be a whole power of two and at least DIM (16)"),
        ("scratchpad rows per bank not a power of two at DIM 6", { $0.meshRows = 6; $0.meshColumns = 6; $0.accCapacityKiB = 3 },
         "spCapacityKiB", "256", "= 10922) must be a whole power of two and at least DIM (6)"),
        ("scratchpad rows not a power of two", { $0.spCapacityKiB = 192 }, "spCapacityKiB", "192", "power of two"),
        ("odd bus width", { $0.dmaBusBits = 96 }, "dmaBusBits", "96", "power of two"),
        ("max bytes below one accumulator row", { $0.dmaMaxBytes = 32 }, "dmaMaxBytes", "32", "one accumulator row (64 B)"),
        ("max bytes not a multiple of the bus", { $0.dmaMaxBytes = 72 }, "dmaMaxBytes", "72", "multiple of the bus width"),
        ("no requests in flight", { $0.maxInFlightReqs = 0 }, "maxInFlightReqs", "0", "between 1 and 64"),
        ("empty load queue", { $0.ldQueue = 0 }, "ldQueue", "0", "between 1 and 64"),
        ("huge reservation station", { $0.exReservationEntries = 100 }, "exReservationEntries", "100", "between 1 and 64"),
        ("CTA without normalizations", { $0.cta = CTAConfig() }, "cta", "present", "hasNormalizations"),
        ("affine LayerNorm without normalizations", { $0.hasAffineLayerNorm = true }, "hasAffineLayerNorm", "true", "hasNormalizations = true"),
        ("normalizations with 64-bit accumulators", { $0.hasNormalizations = true; $0.accType = .sint(64); $0.dmaMaxBytes = 128 },
         "accType", "SInt64", "at most 32 bits with hasNormalizations"),
        ("normalizer lanes not dividing DIM", { $0.normalizerLanes = 3 }, "normalizerLanes", "3", "must divide DIM (16)"),
        ("no normalizer lanes", { $0.normalizerLanes = 0 }, "normalizerLanes", "0", "must divide DIM (16)"),
        ("more normalizer lanes than DIM", { $0.normalizerLanes = 32 }, "normalizerLanes", "32", "must divide DIM (16)"),
        ("zero memory latency", { $0.memory.latencyCycles = 0 }, "memory.latencyCycles", "0", "between 1 and 10000"),
        ("memory faster than the bus", { $0.memory.bytesPerCycle = 32 }, "memory.bytesPerCycle", "32", "bus width (16 B per cycle)"),
    ]

    /// Words of the fix each broken configuration of `invalid` must suggest.
    static let fixes = [
        "name with a space": #"rename it, e.g. "MyAccelerator""#,
        "zero mesh rows": "set meshRows to 1 or more",
        "non-square array": "set meshColumns and tileColumns so that their product is 16",
        "DIM of 1": "choose meshRows and tileRows whose product is between 2 and 256",
        "unsigned inputs": #"write "SInt8""#,
        "12-bit inputs": #"write "SInt8""#,
        "weights differ from inputs": #"write "SInt8", or leave weightType out"#,
        "accumulator too narrow": #"write "SInt32" or another whole-byte width between 16 and 64"#,
        "spatial output too narrow": #"write "SInt20""#,
        "three scratchpad banks": "write 4 or another power of two",
        "32-bit inputs": #"write "SInt8" (Gemmini's), "SInt16" or "SInt24""#,
        "accumulator rows per bank not a power of two": "use 2 KiB or 4 KiB (the nearest sizes whose 2 banks hold a power of two of at least DIM rows each)",
        "accumulator rows per bank below DIM": "use 2 KiB (the nearest sizes whose 2 banks",
        "scratchpad rows per bank not a power of two at DIM 6": "use 192 KiB or 384 KiB",
        "scratchpad rows not a power of two": "use 128 KiB or 256 KiB",
        "odd bus width": "write 32, 64, 128",
        "max bytes below one accumulator row": "write 64 or a larger multiple of 16 up to 4096",
        "max bytes not a multiple of the bus": "write 64 or a larger multiple of 16",
        "no requests in flight": "write a value from 1 to 64",
        "empty load queue": "write a value from 1 to 64",
        "huge reservation station": "write a value from 1 to 64",
        "CTA without normalizations": #"set hasNormalizations to true, or "cta": null"#,
        "affine LayerNorm without normalizations": "set hasNormalizations to true as well",
        "normalizations with 64-bit accumulators": #"write "SInt32", or set hasNormalizations to false"#,
        "normalizer lanes not dividing DIM": "write one of 1, 2, 4, 8, 16 (16, or leaving the field out, gives one lane per column)",
        "no normalizer lanes": "write one of 1, 2, 4, 8, 16",
        "more normalizer lanes than DIM": "write one of 1, 2, 4, 8, 16",
        "zero memory latency": "write a value from 1 to 10000",
        "memory faster than the bus": "write a value from 1 to 16, or widen dmaBusBits",
    ]

    @Test(arguments: invalid.indices)
    func invalidConfigurationIsRejected(index: Int) throws {
        let (label, edit, field, value, rule) = Self.invalid[index]
        var config = AcceleratorConfig.default
        edit(&config)
        do {
            _ = try config.parameters()
            Issue.record("\(label): accepted")
        } catch let error as ConfigError {
            #expect(error.field == field, "\(label): \(error)")
            #expect(error.value == value, "\(label): \(error)")
            #expect(error.rule.contains(rule), "\(label): \(error)")
            #expect(error.description.hasPrefix("\(field) = \(value): "), "\(label): \(error)")
            #expect(error.fix.contains(Self.fixes[label] ?? "(no fix written for this case)"), "\(label): \(error)")
            #expect(error.description.hasSuffix("\n  fix: \(error.fix)"), "\(label): \(error)")
        }
    }

    // MARK: The top module's name

    /// Verilog-2005 and SystemVerilog keywords, typed in from IEEE 1800-2017 Annex B (not
    /// copied from Naming.keywords), the later standards' additions among them.
    static let keywordSample = ["module", "reg", "wire", "begin", "end", "input", "logic", "interface", "class", "bit", "int",
                                "program", "property", "final", "unique", "checker", "global", "let", "weak", "strong", "until",
                                "implies", "restrict", "eventually", "untyped", "unique0", "s_always", "sync_accept_on",
                                "implements", "interconnect", "nettype", "soft"]

    @Test(arguments: keywordSample)
    func keywordNamesAreRefused(name: String) throws {
        var config = AcceleratorConfig.small
        config.name = name
        let problem = try #require(config.problems().first)
        #expect(problem.field == "name" && problem.rule.contains("keyword"), "\(problem)")
        #expect(problem.fix.contains("\"\(name.prefix(1).uppercased() + name.dropFirst())Accelerator\""), "\(problem)")
        config.name = name.prefix(1).uppercased() + name.dropFirst()
        #expect(config.problems().isEmpty, "\(config.problems())")
    }

    /// Keywords Verilator 5 reads only in context (`global clocking`) and accepts as a module
    /// name. Spinel refuses them all the same: the standard reserves them, and other tools do.
    static let keywordsVerilatorTakesAsNames: Set = ["global"]

    /// The sample is what Verilator itself reserves: each is refused as a module name, and
    /// the capitalized spelling the fix suggests is accepted.
    @Test func verilatorReservesTheSampleKeywords() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-keywords-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in Self.keywordSample + ["Module", "Weak"] {
            let file = directory.appendingPathComponent("\(name).v")  // -Wall wants the file named after the module
            try "module \(name)(input wire a, output wire b);\n  assign b = a;\nendmodule\n".write(to: file, atomically: true, encoding: .utf8)
            let result = try Tools.run("verilator", ["--lint-only", "-Wall", file.path])
            if name.first!.isUppercase {
                #expect(result.succeeded, "\(name): \(result.output)")
            } else if !Self.keywordsVerilatorTakesAsNames.contains(name) {
                #expect(!result.succeeded, "\(name): Verilator accepts it as a module name")
            }
        }
    }

    /// A name that a module inside the accelerator already has is a configuration error on
    /// `name`, not an elaboration error that asks to change the generator's Swift.
    @Test(arguments: ["FloatMultiply", "FloatDivider"])
    func namesOfInnerModulesAreRefused(name: String) throws {
        var config = AcceleratorConfig.small
        config.name = name
        config.hasNormalizations = true  // FloatDivider is the normalizer's
        do {
            _ = try AcceleratorGeneration.files(for: config)
            Issue.record("generated a top named \(name)")
        } catch let error as ConfigError {
            #expect(error.field == "name" && error.value == "\"\(name)\"", "\(error)")
            #expect(error.rule.contains("also the name of a module inside the accelerator"), "\(error)")
            #expect(error.fix == "rename it, e.g. \"\(name)Accelerator\"", "\(error)")
        }
    }

    @Test func jsonRoundTripIsExactAndDeterministic() throws {
        for preset in AcceleratorConfig.Preset.allCases {
            let config = AcceleratorConfig.preset(preset)
            let json = config.toJSON()
            #expect(try AcceleratorConfig.fromJSON(json) == config)
            #expect(config.toJSON() == json)
        }
        let text = String(decoding: AcceleratorConfig.small.toJSON(), as: UTF8.self)
        #expect(text.contains("\"inputType\" : \"SInt8\""))
        #expect(text.contains("\"meshRows\" : 4"))
        // normalizerLanes: left out while nil (DIM lanes, the hash of every configuration
        // written before the field unchanged), written and read back when set.
        #expect(!text.contains("normalizerLanes"))
        var lanes = AcceleratorConfig.cta
        lanes.normalizerLanes = 2
        let lanesText = lanes.toJSON()
        #expect(String(decoding: lanesText, as: UTF8.self).contains("\"normalizerLanes\" : 2"))
        #expect(try AcceleratorConfig.fromJSON(lanesText) == lanes)
        #expect(try lanes.parameters().normalizerBeats == 8 && AcceleratorConfig.cta.parameters().normalizerLanes == 16)
        // transformer sets 4 lanes (4 beats per row); cta, built on it, sets DIM lanes again.
        #expect(String(decoding: AcceleratorConfig.transformer.toJSON(), as: UTF8.self).contains("\"normalizerLanes\" : 4"))
        #expect(try AcceleratorConfig.transformer.parameters().normalizerBeats == 4)
        #expect(!String(decoding: AcceleratorConfig.cta.toJSON(), as: UTF8.self).contains("normalizerLanes"))
    }

    @Test func jsonFillsMissingFieldsFromTheBase() throws {
        let config = try AcceleratorConfig.fromJSON(Data(#"{"base": "small", "name": "Tiny", "accBanks": 1}"#.utf8))
        var expected = AcceleratorConfig.small
        expected.name = "Tiny"
        expected.accBanks = 1
        #expect(config == expected)
        let fromDefault = try AcceleratorConfig.fromJSON(Data(#"{"name": "Mine"}"#.utf8))
        #expect(fromDefault.meshRows == 16 && fromDefault.name == "Mine")
    }

    @Test(arguments: [
        (#"{"name": "X", "meshRow": 4}"#, "field 'meshRow': unknown field of the configuration\n  fix: did you mean 'meshRows'?"),
        (#"{"name": "X", "meshRows": "four"}"#, "field 'meshRows': must be a whole number, found the string \"four\""),
        (#"{"name": "X", "inputType": "Int8"}"#, "'Int8' is not a number type"),
        (#"{"base": "huge"}"#, "field 'base': must name a preset (default, transformer, small, cta)"),
        (#"[1, 2]"#, "must be a JSON object"),
        (#"{"name": "X""#, "configuration line 1, column 13: not valid JSON"),
    ])
    func malformedJSONIsExplained(json: String, message: String) {
        do {
            _ = try AcceleratorConfig.fromJSON(Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func hashNamesTheConfiguration() throws {
        let a = try AcceleratorConfig.small.parameters()
        var other = AcceleratorConfig.small
        other.stQueue = 3
        let b = try other.parameters()
        #expect(a.hash.count == 16 && a.hash != b.hash)
        #expect(try AcceleratorConfig.small.parameters().hash == a.hash)
    }
}
