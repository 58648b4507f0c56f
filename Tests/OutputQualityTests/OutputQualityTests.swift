import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

/// Every kind of block the project generates, at a few parameterizations.
let qualityDesigns: [(label: String, elaborate: @Sendable () throws -> Design)] = [
    ("Queue 1", { try Elaborator.elaborate(Queue(entries: 1, payload: .uint(8))) }),
    ("Queue 5 flow", { try Elaborator.elaborate(Queue(entries: 5, payload: .sint(12), flow: true)) }),
    ("Queue 16 pipe", { try Elaborator.elaborate(Queue(entries: 16, payload: .uint(130), pipe: true)) }),
    ("PriorityArbiter", { try Elaborator.elaborate(Arbiter(inputs: 3, payload: .uint(16), policy: .priority)) }),
    ("RoundRobinArbiter", { try Elaborator.elaborate(Arbiter(inputs: 4, payload: .uint(8), policy: .roundRobin)) }),
    ("RoundRobinArbiter 1", { try Elaborator.elaborate(Arbiter(inputs: 1, payload: .uint(8), policy: .roundRobin)) }),
    ("PipelineRegister", { try Elaborator.elaborate(PipelineRegister(payload: .uint(32))) }),
    ("SkidBuffer", { try Elaborator.elaborate(SkidBuffer(payload: .uint(1))) }),
    ("WrappingCounter 10", { try Elaborator.elaborate(WrappingCounter(limit: 10)) }),
    ("WrappingCounter 1", { try Elaborator.elaborate(WrappingCounter(limit: 1)) }),
    ("SRAMBank", { try Elaborator.elaborate(SRAMBank(rows: 100, lanes: 4, laneWidth: 8, readLatency: 2)) }),
    ("SRAMBank wide", { try Elaborator.elaborate(SRAMBank(rows: 64, lanes: 16, laneWidth: 32, readLatency: 1)) }),
    ("AXI4RegisterSlice", { try Elaborator.elaborate(AXI4RegisterSlice(AXI4Parameters(addressBits: 32, dataBits: 128, idBits: 4))) }),
    ("MACArray 8x8", { try SampleDesign.macArray.elaborate(rows: 8, columns: 8) }),
    ("4096-bit constant", { try Elaborator.elaborate(WideConstant(width: 4096)) }),
    ("Dispatcher small", { try Elaborator.elaborate(Dispatcher(try AcceleratorConfig.small.parameters())) }),
    ("Dispatcher default", { try Elaborator.elaborate(Dispatcher(try AcceleratorConfig.default.parameters())) }),
    ("BankedMemory accumulator", {
        try Elaborator.elaborate(BankedMemory(rows: 64, banks: 2, lanes: 4, laneWidth: 32, readClients: 2, writeClients: 2, accumulating: true))
    }),
    ("MeshWithDelays small", { try Elaborator.elaborate(MeshWithDelays(mesh: Mesh(try AcceleratorConfig.small.parameters()), tagBits: 6)) }),
    ("MeshWithDelays 2x2 tiles", {
        let types = ArrayTypes(input: .sint(8), spatial: .sint(20), accumulator: .sint(32), shiftBits: 5)
        return try Elaborator.elaborate(MeshWithDelays(mesh: Mesh(meshRows: 2, meshColumns: 2, tileRows: 2, tileColumns: 2, types: types), tagBits: 1))
    }),
]

/// A `width`-bit register loaded with a constant of alternating bytes, XORed with an input:
/// proves constants far wider than 64 bits survive elaboration, emission and every tool.
struct WideConstant: Module {
    let width: Int
    var name: String { "WideConstant_\(width)" }

    struct IO: Aggregate {
        var input: Signal
        var output: Signal
        func map(_ f: FieldMapper) -> IO { IO(input: f.input("in", input), output: f.output("out", output)) }
    }

    var io: IO { IO(input: Signal(.uint(width)), output: Signal(.uint(width))) }

    func build(_ m: ModuleBuilder, _ io: IO) {
        let pattern = BigInteger(String(repeating: "a5", count: width / 8), radix: 16)!
        let state = m.register("state", .uint(width), reset: Signal.literal(pattern, .uint(width)))
        state.set(state ^ io.input)
        io.output.set(state +% Signal(pattern))
    }
}

@Suite("Generated Verilog passes Verilator -Wall, Yosys and Icarus")
struct OutputQualityTests {
    @Test(arguments: qualityDesigns.map(\.label))
    func lintSynthesizeCompile(label: String) throws {
        let design = try qualityDesigns.first { $0.label == label }!.elaborate()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-quality-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(VerilogEmitter(locators: true).emit(design), to: directory)
        try OutputChecks.lint(directory: directory, top: design.top.name)
        try OutputChecks.synthesize(directory: directory, top: design.top.name)
        try OutputChecks.compileWithIcarus(directory: directory, top: design.top.name)
    }

    @Test("A checker that cannot fail proves nothing: a latch and a lint warning are caught")
    func gatesReject() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-quality-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let latch = """
            `default_nettype none
            module Latchy (input wire en, input wire d, output reg q);
              always @(*) if (en) q = d;
            endmodule
            `default_nettype wire

            """
        try OutputChecks.write([GeneratedFile(name: "Latchy.v", contents: latch), GeneratedFile(name: "Latchy.f", contents: "Latchy.v\n")],
                               to: directory)
        #expect(throws: ToolError.self) { try OutputChecks.synthesize(directory: directory, top: "Latchy") }
        #expect(throws: ToolError.self) { try OutputChecks.lint(directory: directory, top: "Latchy") }
        let unused = """
            `default_nettype none
            module Unused (input wire [7:0] a, output wire b);
              assign b = a[0];
            endmodule
            `default_nettype wire

            """
        try OutputChecks.write([GeneratedFile(name: "Unused.v", contents: unused), GeneratedFile(name: "Unused.f", contents: "Unused.v\n")],
                               to: directory)
        #expect(throws: ToolError.self) { try OutputChecks.lint(directory: directory, top: "Unused") }
    }
}

/// The repository root (the directory holding Package.swift).
func repositoryRoot(_ file: String = #filePath) -> URL {
    var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        directory = directory.deletingLastPathComponent()
    }
    return directory
}

/// The regular files below `directory`, as paths relative to it (the harness has
/// `rocc-software/src/xcustom.h`), sorted.
func filePaths(under directory: URL) throws -> [String] {
    try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { path in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path, isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }.sorted()
}

@Suite("Generated/ is what the generator produces today")
struct GeneratedDirectoryTests {
    @Test func sampleMACArrayIsUpToDate() throws {
        let directory = repositoryRoot().appendingPathComponent("Generated/samples/mac-array-4x4")
        let files = try SampleDesign.macArray.files(rows: 4, columns: 4)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(onDisk == files.map(\.name).sorted(), "Generated/samples/mac-array-4x4 has other files than the generator writes; run `make generated`")
        for file in files {
            let stored = try String(contentsOf: directory.appendingPathComponent(file.name), encoding: .utf8)
            #expect(stored == file.contents, "\(file.name) differs from a fresh generation; run `make generated` and review the diff")
        }
    }

    @Test(arguments: AcceleratorConfig.Preset.allCases)
    func presetIsUpToDate(preset: AcceleratorConfig.Preset) throws {
        let config = AcceleratorConfig.preset(preset)
        let directory = repositoryRoot().appendingPathComponent("Generated/\(config.name)")
        let files = try AcceleratorGeneration.files(for: config)
        let onDisk = try filePaths(under: directory)
        #expect(onDisk == files.map(\.name).sorted(), "Generated/\(config.name) has other files than the generator writes; run `make generated`")
        for file in files {
            let stored = try String(contentsOf: directory.appendingPathComponent(file.name), encoding: .utf8)
            #expect(stored == file.contents, "\(config.name)/\(file.name) differs from a fresh generation; run `make generated` and review the diff")
        }
    }

    @Test func generationIsDeterministic() throws {
        let first = VerilogEmitter(locators: true).emit(try SampleDesign.macArray.elaborate(rows: 6, columns: 5))
        let second = VerilogEmitter(locators: true).emit(try SampleDesign.macArray.elaborate(rows: 6, columns: 5))
        #expect(first == second)
    }
}

@Suite("Every preset's accelerator passes the output gates")
struct PresetQualityTests {
    /// Every line of every preset's Verilog fits `VerilogEmitter.lineWidth` columns (before the
    /// emitter wrapped expressions, one line of the reservation station had 45,393).
    @Test(arguments: AcceleratorConfig.Preset.allCases)
    func linesFitTheWidth(preset: AcceleratorConfig.Preset) throws {
        let files = try AcceleratorGeneration.files(for: .preset(preset))
        #expect(files.contains { $0.name.hasSuffix(".v") })
        for file in files where file.name.hasSuffix(".v") {
            let longest = file.contents.split(separator: "\n").map(\.utf8.count).max() ?? 0
            #expect(longest <= VerilogEmitter.lineWidth, "\(file.name) has a line of \(longest) columns")
        }
    }

    /// Verilator -Wall and Icarus on every preset; Yosys synthesis (minutes for DIM 16) on
    /// `small` here, on the others in `make synth`.
    @Test(arguments: AcceleratorConfig.Preset.allCases)
    func lintAndCompile(preset: AcceleratorConfig.Preset) throws {
        let config = AcceleratorConfig.preset(preset)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-preset-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(try AcceleratorGeneration.files(for: config), to: directory)
        try OutputChecks.lint(directory: directory, top: config.name)
        try OutputChecks.compileWithIcarus(directory: directory, top: config.name)
        if preset == .small {
            try OutputChecks.synthesize(directory: directory, top: config.name)
        }
    }
}
