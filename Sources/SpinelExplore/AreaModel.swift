import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim

/// Area in transistor equivalents, with the memories counted as SRAM macros instead of the
/// flip-flops a generic synthesis turns them into (docs/EXPLORE.md, "Area").
///
/// - SRAM: every scratchpad and accumulator bank is one 1R1W macro (`SRAMBank`: one read port,
///   one write port with a byte mask). Bit cells are 8T (two-port); each port adds a row decoder
///   and word-line driver per row and sense amplifier / write driver per column.
/// - Logic: `stat -tech cmos` of Yosys (its transistor estimate of the generic gates) on the
///   design with the SRAM banks black-boxed (`--area yosys`), or the per-unit figures below,
///   measured that way on the generated modules (`--area model`, the default: instant).
public struct AreaEstimate: Sendable, Codable, Hashable {
    /// Scratchpad and accumulator macros.
    public var sramTransistors: Double
    /// The array (MeshWithDelays).
    public var arrayTransistors: Double
    /// The normalization units (0 without them).
    public var normalizerTransistors: Double
    /// Everything else: controllers, DMA, queues, scale units.
    public var otherLogicTransistors: Double
    /// `model` or `yosys`.
    public var source: String

    public var logicTransistors: Double { arrayTransistors + normalizerTransistors + otherLogicTransistors }
    public var totalTransistors: Double { sramTransistors + logicTransistors }
}

public enum AreaModel {
    /// Changes whenever a constant below does: point files of an older model are evaluated again.
    public static let version = 4

    // SRAM macro (per bank of R rows × W bits, 1 read + 1 write port).
    /// Transistors per bit: an 8T two-port cell (6T storage + a 2T read port).
    public static let transistorsPerBit = 8.0
    /// Per row and port: decoder and word-line driver.
    public static let transistorsPerRowPort = 4.0
    /// Per column (bit of width) and port: precharge and sense amplifier, or write driver and mask gating.
    public static let transistorsPerColumnPort = 12.0
    public static let portsPerBank = 2.0

    // Logic, measured with Yosys 0.x `synth; stat -tech cmos` on the transformer preset's
    // modules (Generated/SpinelTransformer, 2026-12-06 and -07; docs/EXPLORE.md has the table).
    /// One PE with int8 inputs and int32 accumulation (PE_8_20_32 inside the 16×16 array: 14,450;
    /// alone 1,908 cells, 14,526 transistors; 15,582 before the emitter's signed products).
    public static let transistorsPerPE = 14_450.0
    /// The array's skew and de-skew registers and its tile wiring, per PE, on top of the PEs
    /// (MeshWithDelays 16×16: 4,146,438 transistors, minus 256 PEs, per PE; 4,436,230 before).
    public static let arrayOverheadPerPE = 1_747.0
    /// One normalizer lane: `NormalizerLane` of `transformer` with 4 lanes (211,676; the lane's
    /// output scale unit is the store controller's since 2026-12-07, docs/PERFORMANCE.md, "Area
    /// of the normalization units"), measured hierarchically.
    public static let normalizerPerLane = 211_676.0
    /// The rest of the normalizer (statistics, the sums and maximum across lanes, divider, root,
    /// fp32 units, control): the line through `transformer` with 16 lanes (3,700,140 in all) and
    /// `Testbenches/configs/small-numerics.json` (DIM 4, 1,007,734), rounded so that the DIM 16
    /// total is the measured one.
    public static let normalizerSharedPerLane = 12_691.0
    public static let normalizerSharedFixed = 110_268.0
    /// With fewer lanes than columns (`normalizerLanes`): the held row, the earlier beats'
    /// results, the columns' parameter registers and the beat muxes, per column a beat holds
    /// (DIM − L). Fitted on `transformer` with 4 lanes (1,162,160 measured); the line then gives
    /// 2 and 8 lanes within 0.5% of their measured 735,808 and 2,012,882.
    public static let normalizerBeatsPerHeldColumn = 12_869.0
    /// Controllers, DMA, queues and the store controller's scale units: a rough allowance per
    /// array column plus a fixed part, not measured (`--area yosys` measures them).
    public static let otherLogicPerColumn = 40_000.0
    public static let otherLogicFixed = 400_000.0

    /// One 1R1W SRAM macro.
    public static func sramBank(rows: Int, bits: Int) -> Double {
        Double(rows * bits) * transistorsPerBit
            + portsPerBank * (Double(rows) * transistorsPerRowPort + Double(bits) * transistorsPerColumnPort)
    }

    /// The memories of a configuration: scratchpad banks and accumulator banks.
    public static func sram(_ parameters: AcceleratorParameters) -> Double {
        let config = parameters.config
        return Double(config.spBanks) * sramBank(rows: parameters.spRowsPerBank, bits: parameters.spRowBytes * 8)
            + Double(config.accBanks) * sramBank(rows: parameters.accRowsPerBank, bits: parameters.accRowBytes * 8)
    }

    /// The analytic estimate (`--area model`).
    public static func estimate(_ parameters: AcceleratorParameters) -> AreaEstimate {
        let config = parameters.config
        let pes = Double(parameters.dim * parameters.dim)
        let lanes = config.hasNormalizations ? Double(parameters.normalizerLanes) : 0
        let beats = Double(parameters.dim - parameters.normalizerLanes) * normalizerBeatsPerHeldColumn
        return AreaEstimate(sramTransistors: sram(parameters),
                            arrayTransistors: pes * (transistorsPerPE + arrayOverheadPerPE),
                            normalizerTransistors: lanes == 0 ? 0 : lanes * (normalizerPerLane + normalizerSharedPerLane) + normalizerSharedFixed + beats,
                            otherLogicTransistors: Double(parameters.dim) * otherLogicPerColumn + otherLogicFixed,
                            source: "model")
    }
}

/// `--area yosys`: Yosys `synth; stat -tech cmos` on the generated Verilog with the SRAM banks
/// black-boxed, per module; the SRAM from `AreaModel.sram`. Slow on large arrays (minutes):
/// results are kept in `cache` per configuration hash.
public struct YosysArea: Sendable {
    public var cache: URL

    public init(cache: URL) { self.cache = cache }

    public func estimate(_ parameters: AcceleratorParameters) throws -> AreaEstimate {
        let file = cache.appendingPathComponent("\(parameters.hash).cmos.txt")
        let report: String
        if let cached = try? String(contentsOf: file, encoding: .utf8) {
            report = cached
        } else {
            let directory = cache.appendingPathComponent("\(parameters.hash).verilog")
            let files = try AcceleratorGeneration.files(for: parameters.config).filter { $0.name.hasSuffix(".v") }
            try OutputChecks.write(files, to: directory)
            let banks = files.map(\.name).filter { $0.hasPrefix("SRAMBank_") }.map { ($0 as NSString).deletingPathExtension }
            let script = "read_verilog \(files.map(\.name).joined(separator: " ")); "
                + (banks.isEmpty ? "" : "blackbox \(banks.joined(separator: " ")); ")
                + "synth -top \(parameters.name); tee -o cmos.txt stat -tech cmos"
            let result = try Tools.run("yosys", ["-q", "-p", script], in: directory)
            guard result.succeeded, let text = try? String(contentsOf: directory.appendingPathComponent("cmos.txt"), encoding: .utf8) else {
                throw ToolError(tool: "yosys", message: "area of \(parameters.name) failed:\n\(result.output.suffix(2000))")
            }
            let temporary = cache.appendingPathComponent(".\(parameters.hash).\(ProcessInfo.processInfo.processIdentifier).tmp")
            try Data(text.utf8).write(to: temporary)
            _ = rename(temporary.path, file.path)
            try? FileManager.default.removeItem(at: directory)
            report = text
        }
        let files = try AcceleratorGeneration.files(for: parameters.config).filter { $0.name.hasSuffix(".v") }
        let parts = Self.breakdown(report: report, files: files, top: parameters.name)
        return AreaEstimate(sramTransistors: AreaModel.sram(parameters), arrayTransistors: parts.array, normalizerTransistors: parts.normalizer,
                            otherLogicTransistors: max(0, parts.total - parts.array - parts.normalizer), source: "yosys")
    }

    /// The transistors of the whole design, of the array (`MeshWithDelays_*`) and of the
    /// normalizer (`Normalizer_*`), each module counted with everything inside it: Yosys keeps the
    /// hierarchy, and `stat` reports each module's own cells once.
    public static func breakdown(report: String, files: [GeneratedFile], top: String) -> (total: Double, array: Double, normalizer: Double) {
        let own = transistorsPerModule(report)
        let children = instances(in: files)
        var memo: [String: Double] = [:]
        func subtree(_ module: String) -> Double {
            if let known = memo[module] { return known }
            let value = (own[module] ?? 0) + (children[module] ?? []).map(subtree).reduce(0, +)
            memo[module] = value
            return value
        }
        let array = children.keys.filter { $0.hasPrefix("MeshWithDelays_") }.map(subtree).reduce(0, +)
        let normalizer = children.keys.filter { $0.hasPrefix("Normalizer_") }.map(subtree).reduce(0, +)
        return (subtree(top), array, normalizer)
    }

    /// Per module of the generated Verilog (one module per file), the modules it instantiates, once per instance.
    static func instances(in files: [GeneratedFile]) -> [String: [String]] {
        let modules = Set(files.map { ($0.name as NSString).deletingPathExtension })
        var result: [String: [String]] = [:]
        for file in files {
            let module = (file.name as NSString).deletingPathExtension
            result[module] = file.contents.split(separator: "\n").compactMap { line in
                let words = line.split(separator: " ")
                guard words.count >= 2, let first = words.first, modules.contains(String(first)), line.hasPrefix("  ") else { return nil }
                return String(first)
            }
        }
        return result
    }

    /// From `stat -tech cmos`: per module, the transistors of its own cells (not its submodules').
    static func transistorsPerModule(_ report: String) -> [String: Double] {
        var result: [String: Double] = [:]
        var current: String?
        for line in report.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("=== ") && text.hasSuffix(" ===") {
                current = String(text.dropFirst(4).dropLast(4))
            } else if text.hasPrefix("Estimated number of transistors:"), let module = current {
                let digits = text.dropFirst("Estimated number of transistors:".count).filter(\.isNumber)
                result[module] = Double(digits) ?? 0
            }
        }
        return result
    }
}
