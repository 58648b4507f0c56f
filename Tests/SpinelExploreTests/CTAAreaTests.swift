import Foundation
import SpinelAccelerator
@testable import SpinelExplore
import SpinelHDL
import SpinelSim
import Testing

/// `spinel cta-area` (CTAArea.swift): on the small CTA configuration, the memories Yosys keeps
/// are the ones each unit declares (`memories`, written from its design, not from Yosys), the
/// memory bits agree with Yosys's own count after `proc`, and the SRAM is priced by the
/// exploration's macro model.
@Suite("CTA area against the array")
struct CTAAreaTests {
    static func smallCTA() throws -> AcceleratorConfig {
        try AcceleratorConfig.fromJSON(Data(contentsOf: ExploreTestSupport.root().appendingPathComponent("Testbenches/configs/small-cta.json")))
    }

    /// The cluster index and the centroid unit (seconds; the array and the probability unit,
    /// about a minute more, run in `make bench-cta-area`).
    @Test func smallCTAUnitsKeepTheirDeclaredMemories() throws {
        let config = try Self.smallCTA()
        let parameters = try config.parameters(), cta = try #require(config.cta)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-cta-area-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: work) }
        let units = try CTAArea.units(config)
        #expect(units.map(\.name) == ["hash unit", "cluster index", "centroid aggregation", "probability aggregation", "probability quantizer",
                                        "gather output"])

        // Declared shapes (words × bits, as a multiset), written from each unit's design.
        func shapes(_ memories: [(words: Int, bits: Int)]) -> [String] { memories.map { "\($0.words)x\($0.bits)" }.sorted() }
        let index = CTAController(parameters, dma: Accelerator(parameters).dma).clusterIndex
        let queue = (words: index.capacity, bits: index.idBits + 1)  // the output queue: id and overflowed
        let centroid = CentroidAggregationUnit(dim: parameters.dim, parameters: cta)
        let declared = ["cluster index": shapes(index.memories.map { ($0.words, $0.bits) } + [queue]),
                        "centroid aggregation": shapes(centroid.memories.map { ($0.words, $0.bits) })]
        for unit in units where declared[unit.name] != nil {
            let files = VerilogEmitter().emit(unit.design).filter { $0.name.hasSuffix(".v") }
            let block = try CTAArea.synthesize(name: unit.name, top: unit.design.top.name, files: files, work: work)
            #expect(block.cells > block.memories.count && block.logicTransistors > 0, "\(block)")
            #expect(shapes(block.memories.map { ($0.words, $0.bits) }) == declared[unit.name], "\(unit.name): \(block.memories)")

            // Memory bits against Yosys's own count of the unsynthesized design.
            let directory = work.appendingPathComponent("proc-\(unit.design.top.name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            try OutputChecks.write(files, to: directory)
            let report = try Tools.check("yosys", ["-q", "-p", "read_verilog -sv \(files.map(\.name).joined(separator: " ")); hierarchy -top \(unit.design.top.name); proc; flatten; tee -o /dev/stdout stat"], in: directory)
            let bits = report.split(separator: "\n").first { $0.contains("Number of memory bits:") }.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
            #expect(bits == block.memoryBits, "\(unit.name): Yosys counts \(String(describing: bits)) memory bits")

            // SRAM: one macro per memory, 8T cells plus decoders and sense amplifiers per port.
            let expected = block.memories.reduce(0.0) { $0 + Double($1.words * $1.bits) * 8 + 2 * (Double($1.words) * 4 + Double($1.bits) * 12) }
            #expect(block.sramTransistors == expected)
        }
    }

    /// The controller's block (`spinel cta-area`'s last): with the units as black boxes it keeps
    /// the memories the controller itself declares (its cluster tables, the gather's row buffer,
    /// the probability rows' table) and none of a unit's.
    @Test func controllerBlockKeepsOnlyItsOwnMemories() throws {
        let config = try Self.smallCTA()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-cta-area-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: work) }
        let (design, units) = try CTAArea.controller(config)
        #expect(units.count == 6)
        let files = VerilogEmitter().emit(design).filter { $0.name.hasSuffix(".v") }
        let block = try CTAArea.synthesize(name: "controller", top: design.top.name, files: files, work: work, blackBoxes: units)
        let own = design.top.memories.map { "\($0.name) \($0.depth)x\($0.width)" }.sorted()
        #expect(!own.isEmpty && own.contains { $0.hasPrefix("gather_rows ") })
        let kept = block.memories.filter { !$0.name.contains(".") }.map { "\($0.name) \($0.words)x\($0.bits)" }.sorted()
        #expect(kept == own, "the controller's own memories: \(block.memories)")
        // Anything else kept lies in an instance that is not a unit (a queue's storage).
        let unitInstances = ["hash.", "cluster_index.", "aggregation.", "probability_aggregation.", "probability_quantizer.", "gather."]
        #expect(block.memories.allSatisfy { memory in !unitInstances.contains { memory.name.hasPrefix($0) } }, "\(block.memories)")
        #expect(block.logicTransistors > 0)
    }

    @Test func dumpParserReadsSizesAndWidths() throws {
        let dump = """
          cell $mem_v2 \\children_0
            parameter \\ABITS 8
            parameter \\INIT 2048'x
            parameter \\MEMID "\\\\children_0"
            parameter \\SIZE 256
            parameter \\WIDTH 8
            connect \\RD_DATA \\x
          end
          cell $mem_v2 $auto$mem.cc:1:q
            parameter \\MEMID "\\\\queue"
            parameter \\SIZE 5'01110
            parameter \\WIDTH 10
          end
        """
        let memories = try CTAArea.memories(inDump: dump)
        #expect(memories == [CTAArea.Memory(name: "children_0", words: 256, bits: 8), CTAArea.Memory(name: "queue", words: 14, bits: 10)])
        #expect(throws: ToolError.self) { try CTAArea.memories(inDump: "cell $mem_v2 \\m\nparameter \\SIZE 4\nend") }
    }
}
