import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim

/// The area of the CTA units against the array (docs/CTA-HARDWARE.md, "Area against the mesh"):
/// each unit synthesized alone at a configuration's shape by Yosys with its memories kept as
/// memories, the array (`MeshWithDelays`) by the same script.
///
/// - Logic: `stat -tech cmos` (Yosys's transistor estimate of the generic gates) after
///   `synth -flatten -run begin:fine; opt; techmap; abc -fast`: the memories stay `$mem_v2`
///   cells, which `stat -tech cmos` leaves out.
/// - Memories: each kept `$mem_v2` (its `SIZE` words × `WIDTH` bits, read from Yosys, not from
///   the unit's own list) as one 1R1W SRAM macro of `AreaModel.sramBank` — the model the
///   exploration prices the scratchpad and accumulator with.
public enum CTAArea {
    /// One synthesized block.
    public struct Block: Sendable, Hashable {
        public var name: String
        /// The Verilog module synthesized.
        public var module: String
        /// Generic cells, the kept memories among them.
        public var cells: Int
        public var logicTransistors: Int
        /// The kept memories: words × bits each.
        public var memories: [Memory]

        public var memoryBits: Int { memories.reduce(0) { $0 + $1.words * $1.bits } }
        public var sramTransistors: Double { memories.reduce(0) { $0 + AreaModel.sramBank(rows: $1.words, bits: $1.bits) } }
        public var totalTransistors: Double { Double(logicTransistors) + sramTransistors }
    }

    public struct Memory: Sendable, Hashable {
        public var name: String
        public var words: Int
        public var bits: Int

        public init(name: String, words: Int, bits: Int) {
            self.name = name
            self.words = words
            self.bits = bits
        }
    }

    /// The CTA units of `config` (which must have a `cta` section), in the order of docs/CTA.md's
    /// pipeline: hash, cluster index, centroid aggregation, probability aggregation, the AP
    /// quantizer, the gather's output unit.
    public static func units(_ config: AcceleratorConfig) throws -> [(name: String, design: Design)] {
        let parameters = try config.parameters()
        guard let cta = config.cta else {
            throw ToolError(tool: "cta-area", message: "configuration \(config.name) has no cta section; use --preset cta or a configuration with one")
        }
        let controller = CTAController(parameters, dma: Accelerator(parameters).dma)
        let table = CTANumerics.expTable(entries: cta.expTableEntries, entryBits: cta.expTableBits)
        return [
            ("hash unit", try Elaborator.elaborate(controller.hashUnit)),
            ("cluster index", try Elaborator.elaborate(controller.clusterIndex)),
            ("centroid aggregation", try Elaborator.elaborate(CentroidAggregationUnit(dim: parameters.dim, parameters: cta))),
            ("probability aggregation", try Elaborator.elaborate(ProbabilityAggregationUnit(cta, dim: parameters.dim, expTable: table))),
            ("probability quantizer", try Elaborator.elaborate(ProbabilityQuantizer(cta, dim: parameters.dim))),
            ("gather output", try Elaborator.elaborate(GatherOutputUnit(cta, dim: parameters.dim, outputBits: config.inputType.width))),
        ]
    }

    /// The CTA controller and its units' modules: synthesized with those as black boxes, the
    /// controller's own logic and memories (the cluster tables, the gather's row buffer, the
    /// probability rows' table, the sequencing) without counting a unit twice.
    public static func controller(_ config: AcceleratorConfig) throws -> (design: Design, units: [String]) {
        let parameters = try config.parameters()
        let units = try units(config).map(\.design.top.name)
        return (try Elaborator.elaborate(CTAController(parameters, dma: Accelerator(parameters).dma)), units)
    }

    /// Synthesizes the array, every CTA unit and the controller's own part in fresh directories
    /// under `work` (which must exist; each block's directory is removed after its run).
    public static func measure(_ config: AcceleratorConfig, work: URL, progress: (String) -> Void = { _ in }) throws -> [Block] {
        let accelerator = try AcceleratorGeneration.files(for: config).filter { $0.name.hasSuffix(".v") }
        guard let mesh = accelerator.map({ ($0.name as NSString).deletingPathExtension }).first(where: { $0.hasPrefix("MeshWithDelays_") }) else {
            throw ToolError(tool: "cta-area", message: "the generated accelerator of \(config.name) has no MeshWithDelays module")
        }
        progress("array (\(mesh))")
        var blocks = [try synthesize(name: "array", top: mesh, files: accelerator, work: work, flatten: false)]
        for unit in try units(config) {
            progress("\(unit.name) (\(unit.design.top.name))")
            blocks.append(try synthesize(name: unit.name, top: unit.design.top.name,
                                         files: VerilogEmitter().emit(unit.design).filter { $0.name.hasSuffix(".v") }, work: work))
        }
        let controller = try controller(config)
        progress("controller (\(controller.design.top.name), the units as black boxes)")
        blocks.append(try synthesize(name: "controller", top: controller.design.top.name,
                                     files: VerilogEmitter().emit(controller.design).filter { $0.name.hasSuffix(".v") }, work: work,
                                     blackBoxes: controller.units))
        return blocks
    }

    /// Yosys on `files` with `top`'s memories kept: flattened (a CTA unit), or by module (the
    /// array: its PE is synthesized once, and `stat -top` counts every instance); the modules
    /// named in `blackBoxes` are left out (black boxes: no logic, no memories).
    static func synthesize(name: String, top: String, files: [GeneratedFile], work: URL, flatten: Bool = true,
                           blackBoxes: [String] = []) throws -> Block {
        let directory = work.appendingPathComponent("\(top).\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(files, to: directory)
        let script = "read_verilog -sv \(files.map(\.name).joined(separator: " ")); "
            + (blackBoxes.isEmpty ? "" : "blackbox \(blackBoxes.joined(separator: " ")); ") + "hierarchy -check -top \(top); "
            + "synth -top \(top)\(flatten ? " -flatten" : "") -run begin:fine; opt -fast -full; techmap; opt -fast; abc -fast; opt -fast; "
            + "tee -q -o cmos.txt stat -tech cmos -top \(top); tee -q -o memories.txt dump t:$mem_v2"
        let result = try Tools.run("yosys", ["-q", "-p", script], in: directory)
        guard result.succeeded,
              let cmos = try? String(contentsOf: directory.appendingPathComponent("cmos.txt"), encoding: .utf8),
              let dump = try? String(contentsOf: directory.appendingPathComponent("memories.txt"), encoding: .utf8) else {
            throw ToolError(tool: "yosys", message: "synthesis of \(top) (\(name)) failed:\n\(result.output.suffix(2000))")
        }
        return try block(name: name, module: top, statistics: cmos, dump: dump)
    }

    /// Reads a block from `stat -tech cmos -top` (its last totals are the whole hierarchy's) and
    /// `dump t:$mem_v2`.
    static func block(name: String, module: String, statistics: String, dump: String) throws -> Block {
        func number(after label: String) -> Int? {
            statistics.split(separator: "\n").last { $0.contains(label) }.flatMap { line in
                Int(line.split(separator: ":").last.map { $0.filter(\.isNumber) } ?? "")
            }
        }
        guard let cells = number(after: "Number of cells:"), let transistors = number(after: "Estimated number of transistors:") else {
            throw ToolError(tool: "yosys", message: "no cell count or transistor estimate for \(module) in:\n\(statistics.suffix(1500))")
        }
        return Block(name: name, module: module, cells: cells, logicTransistors: transistors, memories: try memories(inDump: dump))
    }

    /// The `$mem_v2` cells of a Yosys `dump`: their `MEMID`, `SIZE` and `WIDTH` parameters.
    public static func memories(inDump dump: String) throws -> [Memory] {
        var result: [Memory] = []
        var current: (name: String, words: Int?, bits: Int?)?
        func finish() throws {
            guard let memory = current else { return }
            guard let words = memory.words, let bits = memory.bits else {
                throw ToolError(tool: "yosys", message: "memory \(memory.name) has no SIZE or WIDTH in the dump")
            }
            result.append(Memory(name: memory.name, words: words, bits: bits))
            current = nil
        }
        for line in dump.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let words = line.split(separator: " ")
            if line.hasPrefix("cell $mem_v2 ") {
                try finish()
                current = (String(words.last ?? ""), nil, nil)
            } else if line == "end" {
                try finish()
            } else if current != nil, words.count == 3, words[0] == "parameter" {
                // Yosys writes integers as decimal or as `<width>'<binary digits>`.
                let text = String(words[2]), value = text.split(separator: "'").last.flatMap { digits in
                    text.contains("'") ? Int(digits, radix: 2) : Int(digits)
                }
                if words[1] == "\\SIZE" { current?.words = value }
                if words[1] == "\\WIDTH" { current?.bits = value }
                if words[1] == "\\MEMID" { current?.name = text.trimmingCharacters(in: CharacterSet(charactersIn: "\"\\")) }
            }
        }
        try finish()
        return result
    }

    /// The report: one row per block, then the CTA units' total and the array's share.
    /// `localMemories`: the scratchpad and accumulator macros (`AreaModel.sram`), for the array's
    /// share of the whole.
    public static func table(_ blocks: [Block], config: String, localMemories: Double? = nil) -> String {
        func grouped(_ value: Int) -> String {
            let digits = String(value)
            return digits.enumerated().map { index, character in
                index > 0 && (digits.count - index) % 3 == 0 ? ",\(character)" : "\(character)"
            }.joined()
        }
        func millions(_ value: Double) -> String { String(format: "%.2f M", value / 1e6) }
        var lines = ["CTA units against the array, \(config) (Yosys, memories kept; SRAM as AreaModel.sramBank per memory)", "",
                     "| block | module | cells | logic transistors | memories | memory bits | SRAM transistors | total |",
                     "|---|---|---|---|---|---|---|---|"]
        for block in blocks {
            lines.append("| \(block.name) | `\(block.module)` | \(grouped(block.cells)) | \(grouped(block.logicTransistors)) | \(block.memories.count) | "
                + "\(grouped(block.memoryBits)) | \(millions(block.sramTransistors)) | \(millions(block.totalTransistors)) |")
        }
        let array = blocks.first { $0.name == "array" }
        let units = blocks.filter { $0.name != "array" }
        let logic = units.reduce(0) { $0 + $1.logicTransistors }, bits = units.reduce(0) { $0 + $1.memoryBits }
        let total = units.reduce(0.0) { $0 + $1.totalTransistors }
        lines.append("| CTA units | | \(grouped(units.reduce(0) { $0 + $1.cells })) | \(grouped(logic)) | \(units.reduce(0) { $0 + $1.memories.count }) | "
            + "\(grouped(bits)) | \(millions(units.reduce(0.0) { $0 + $1.sramTransistors })) | \(millions(total)) |")
        if let array {
            lines.append("")
            lines.append(String(format: "CTA units / array: logic %.2f×, with memories %.2f×; the array is %.1f%% of array + CTA units (the paper's array: 74.6%% of its accelerator)",
                                Double(logic) / Double(array.logicTransistors), total / array.totalTransistors,
                                100 * array.totalTransistors / (array.totalTransistors + total)))
            if let localMemories {
                lines.append(String(format: "with the scratchpad and accumulator (%.2f M as SRAM macros): the array is %.1f%%, the CTA units %.1f%%",
                                    localMemories / 1e6, 100 * array.totalTransistors / (array.totalTransistors + total + localMemories),
                                    100 * total / (array.totalTransistors + total + localMemories)))
            }
        }
        return lines.joined(separator: "\n")
    }
}
