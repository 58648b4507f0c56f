import Foundation
import SpinelHDL

/// The output-quality gates every generated design must pass: Verilator's full lint, Yosys
/// synthesis without latches or undriven nets, and Icarus Verilog compilation.
public enum OutputChecks {
    /// Writes `files` into `directory` (created if needed, existing files replaced).
    public static func write(_ files: [GeneratedFile], to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in files {
            // A name may hold a folder (rocc-software/src/xcustom.h).
            let url = directory.appendingPathComponent(file.name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.contents.utf8).write(to: url, options: .atomic)
        }
    }

    /// The Verilog files of a filelist, in order.
    static func sources(filelist: URL) throws -> [String] {
        try String(contentsOf: filelist, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// `verilator --lint-only -Wall` on the filelist `<top>.f` in `directory`: any warning fails.
    public static func lint(directory: URL, top: String) throws {
        let result = try Tools.run("verilator", ["--lint-only", "-Wall", "--top-module", top, "-f", "\(top).f"], in: directory)
        guard result.succeeded, !result.output.contains("%Warning"), !result.output.contains("%Error") else {
            throw ToolError(tool: "verilator --lint-only -Wall", message: result.output)
        }
    }

    /// Yosys: elaborate with `hierarchy -check`, `proc`, `check -assert` (no undriven or
    /// multiply driven nets), no latch cells, then `synth` and `check -assert` again.
    public static func synthesize(directory: URL, top: String) throws {
        let files = try sources(filelist: directory.appendingPathComponent("\(top).f")).joined(separator: " ")
        let script = """
            read_verilog \(files); hierarchy -check -top \(top); proc; check -assert; \
            select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr; synth -top \(top); check -assert
            """
        let result = try Tools.run("yosys", ["-q", "-p", script], in: directory)
        guard result.succeeded else {
            throw ToolError(tool: "yosys", message: result.output)
        }
    }

    /// Cell counts per type after `synth` of `top` (for benchmarks and area estimates).
    public static func cellCounts(directory: URL, top: String) throws -> String {
        let files = try sources(filelist: directory.appendingPathComponent("\(top).f")).joined(separator: " ")
        return try Tools.check("yosys", ["-q", "-p", "read_verilog \(files); synth -top \(top); tee -o /dev/stdout stat"], in: directory)
    }

    /// `iverilog -g2005` compiles the design.
    public static func compileWithIcarus(directory: URL, top: String) throws {
        let output = directory.appendingPathComponent(".\(top).vvp").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try Tools.run("iverilog", ["-g2005", "-Wall", "-s", top, "-o", output, "-c", "\(top).f"], in: directory)
        guard result.succeeded, result.output.isEmpty else {
            throw ToolError(tool: "iverilog -g2005", message: result.output)
        }
    }

    /// All three gates.
    public static func checkAll(directory: URL, top: String) throws {
        try lint(directory: directory, top: top)
        try synthesize(directory: directory, top: top)
        try compileWithIcarus(directory: directory, top: top)
    }
}
