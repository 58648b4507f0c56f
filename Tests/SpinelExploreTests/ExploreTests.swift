import Foundation
import SpinelAccelerator
import SpinelExplore
import SpinelHDL
import Testing

enum ExploreTestSupport {
    static func root(_ file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }

    static var testbenches: URL { root().appendingPathComponent("Testbenches") }

    static func temporaryDirectory(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-explore-\(name)-\(UUID().uuidString)")
        return url
    }

    static func space(_ text: String) throws -> ExploreSpace {
        try ExploreSpace.parse(Data(text.utf8), file: "space.json", directory: root())
    }

    static func explorer(_ space: ExploreSpace, out: URL, jobs: Int = 2) throws -> Explorer {
        let output = ExploreOutput(directory: out)
        try output.prepare()
        let recorder = CommandRecorder(testbenches: testbenches, directory: output.build)
        let evaluator = PointEvaluator(space: space, recorder: recorder, area: "model", yosys: nil)
        return Explorer(space: space, output: output, evaluator: evaluator, jobs: jobs, progress: { _ in })
    }
}

@Suite("Explore: Pareto front, area model, space files")
struct ExploreUnitTests {
    @Test("the Pareto front of a hand-made set")
    func paretoFront() {
        // (area, cycles): (2, 5) beats (3, 5) and (2, 7); (4, 1) beats (4, 2); the two (1, 10) tie
        // and neither is beaten.
        let points: [(area: Double, cycles: Double)] = [(1, 10), (2, 5), (3, 5), (2, 7), (4, 1), (4, 2), (1, 10)]
        #expect(Pareto.front(points) == [0, 1, 4, 6])
        #expect(Pareto.front([]) == [])
        #expect(Pareto.front([(5, 5)]) == [0])
    }

    @Test("SRAM area of the small preset, computed by hand")
    func sramOfSmall() throws {
        // small: DIM 4. Scratchpad 4 KiB of 4-byte rows = 1,024 rows in 4 banks of 256 × 32 bits:
        //   8·256·32 + 2·(4·256 + 12·32) = 65,536 + 2,816 = 68,352 per bank.
        // Accumulator 4 KiB of 16-byte rows = 256 rows in 2 banks of 128 × 128 bits:
        //   8·128·128 + 2·(4·128 + 12·128) = 131,072 + 4,096 = 135,168 per bank.
        let parameters = try AcceleratorConfig.small.parameters()
        #expect(AreaModel.sram(parameters) == 4 * 68_352 + 2 * 135_168)
        let estimate = AreaModel.estimate(parameters)
        #expect(estimate.normalizerTransistors == 0, "small has no normalizer")
        #expect(estimate.arrayTransistors == 16 * (AreaModel.transistorsPerPE + AreaModel.arrayOverheadPerPE))
    }

    @Test("the normalizer's model area is what Yosys measured at DIM 16 and DIM 4")
    func normalizerModel() throws {
        // `stat -tech cmos` of the whole normalizer, synthesized hierarchically (docs/PERFORMANCE.md,
        // "Area of the normalization units", 2026-12-07: the lanes' scale units are the store
        // controller's): transformer with 16 lanes 3,700,140; small-numerics 1,007,734.
        var sixteen = AcceleratorConfig.transformer
        sixteen.normalizerLanes = 16
        let transformer = AreaModel.estimate(try sixteen.parameters()).normalizerTransistors
        #expect(abs(transformer - 3_700_140) < 10)
        let smallNumerics = try AcceleratorConfig.fromJSON(Data(contentsOf: ExploreTestSupport.root().appendingPathComponent("Testbenches/configs/small-numerics.json")))
        #expect(abs(AreaModel.estimate(try smallNumerics.parameters()).normalizerTransistors - 1_007_734) < 100)
    }

    @Test("the normalizer's model area with fewer lanes: within 1% of Yosys on transformer with 2, 4 and 8")
    func normalizerModelWithFewerLanes() throws {
        // Measured 2026-12-07 (docs/PERFORMANCE.md, "Fewer lanes"); the per-column term was
        // fitted on 4 lanes (the preset's), so 2 and 8 are the check.
        for (lanes, measured) in [(2, 735_808.0), (4, 1_162_160.0), (8, 2_012_882.0)] {
            var config = AcceleratorConfig.transformer
            config.normalizerLanes = lanes
            let estimate = AreaModel.estimate(try config.parameters()).normalizerTransistors
            #expect(abs(estimate - measured) / measured < 0.01, "\(lanes) lanes: \(estimate), measured \(measured)")
        }
    }

    @Test("Yosys area: each module with everything inside it, by hand")
    func yosysBreakdown() {
        // Top holds one MeshWithDelays (own 100), which holds 4 PEs (own 50 each), and one
        // Normalizer (own 1,000) with 2 dividers (own 30); Top's own cells are 7.
        let report = """
            === PE_x ===
               Estimated number of transistors:         50+
            === MeshWithDelays_x ===
               Estimated number of transistors:        100+
            === Divider ===
               Estimated number of transistors:         30+
            === Normalizer_x ===
               Estimated number of transistors:       1000+
            === Top ===
               Estimated number of transistors:          7+
            === design hierarchy ===
               Estimated number of transistors:       1367+
            """
        let files = [
            GeneratedFile(name: "Top.v", contents: "module Top;\n  MeshWithDelays_x mesh (\n  );\n  Normalizer_x norm (\n  );\nendmodule\n"),
            GeneratedFile(name: "MeshWithDelays_x.v", contents: "module MeshWithDelays_x;\n" + String(repeating: "  PE_x pe (\n  );\n", count: 4) + "endmodule\n"),
            GeneratedFile(name: "PE_x.v", contents: "module PE_x;\nendmodule\n"),
            GeneratedFile(name: "Normalizer_x.v", contents: "module Normalizer_x;\n  Divider a (\n  );\n  Divider b (\n  );\nendmodule\n"),
            GeneratedFile(name: "Divider.v", contents: "module Divider;\nendmodule\n"),
        ]
        let parts = YosysArea.breakdown(report: report, files: files, top: "Top")
        #expect(parts.array == 100 + 4 * 50)
        #expect(parts.normalizer == 1_000 + 2 * 30)
        #expect(parts.total == 7 + 300 + 1_060)
        #expect(parts.total == 1_367, "the hierarchy total Yosys prints")
    }

    @Test("Yosys area: the normalizer's lanes count inside it, once per instance")
    func yosysBreakdownLanes() {
        // Top holds one Normalizer (own 1,000) with 3 NormalizerLane instances (own 200 each),
        // each with a ScaleUnit (own 40): the lane module is not a Normalizer_ module.
        let report = """
            === ScaleUnit_x ===
               Estimated number of transistors:         40+
            === NormalizerLane_x ===
               Estimated number of transistors:        200+
            === Normalizer_x ===
               Estimated number of transistors:       1000+
            === Top ===
               Estimated number of transistors:          5+
            """
        let files = [
            GeneratedFile(name: "Top.v", contents: "module Top;\n  Normalizer_x norm (\n  );\nendmodule\n"),
            GeneratedFile(name: "Normalizer_x.v", contents: "module Normalizer_x;\n" + String(repeating: "  NormalizerLane_x lane (\n  );\n", count: 3) + "endmodule\n"),
            GeneratedFile(name: "NormalizerLane_x.v", contents: "module NormalizerLane_x;\n  ScaleUnit_x scale (\n  );\nendmodule\n"),
            GeneratedFile(name: "ScaleUnit_x.v", contents: "module ScaleUnit_x;\nendmodule\n"),
        ]
        let parts = YosysArea.breakdown(report: report, files: files, top: "Top")
        #expect(parts.normalizer == 1_000 + 3 * (200 + 40))
        #expect(parts.array == 0)
        #expect(parts.total == 5 + 1_720)
    }

    @Test("space file errors name the field and the fix")
    func spaceErrors() {
        func error(_ text: String) -> SpaceFileError? {
            do { _ = try ExploreTestSupport.space(text); return nil } catch let error as SpaceFileError { return error } catch { return nil }
        }
        let workloads = #""workloads": [{"matmul": [64, 64, 64]}]"#
        let misspelt = error(#"{"base": "small", "axes": [{"field": "meshRow", "values": [4]}], \#(workloads)}"#)
        #expect(misspelt?.field == "axes[0].field")
        #expect(misspelt?.fix.contains("did you mean 'meshRows'") == true, "\(String(describing: misspelt))")
        #expect(error(#"{"base": "small", "axes": []}"#)?.field == "workloads")
        #expect(error(#"{"base": "tiny", "axes": [], \#(workloads)}"#)?.field == "base")
        #expect(error(#"{"base": "small", "axes": [], "constraints": ["meshRows ~ 4"], \#(workloads)}"#)?.field == "constraints[0]")
        #expect(error(#"{"base": "small", "axes": [{"field": "meshRows", "values": [4, 4]}], \#(workloads)}"#)?.field == "axes[0].values[1]")
        #expect(error(#"{"base": "small", "axes": [], "workloads": [{"matmul": [64, 64]}]}"#)?.field == "workloads[0].matmul")
        #expect(error(#"{"base": "small", "axis": [], \#(workloads)}"#)?.field == "axis")
        #expect(error(#"{"base": "small", "axes": [], \#(workloads)"#)?.problem.contains("not valid JSON") == true)
    }

    @Test("points: the cross product in order, invalid ones with the configuration's error, constraints")
    func points() throws {
        let space = try ExploreTestSupport.space("""
            {"base": "small", "axes": [{"fields": ["meshRows", "meshColumns"], "values": [4, 8]}, {"field": "spBanks", "values": [4, 3]}],
             "constraints": ["meshRows*meshColumns <= 16"], "workloads": [{"matmul": [64, 64, 64]}]}
            """)
        let plans = space.plans()
        #expect(plans.map { $0.assignment.map(\.value) } == [["4", "4"], ["4", "3"], ["8", "4"], ["8", "3"]])
        guard case .valid(let parameters) = plans[0].outcome else { Issue.record("point 0 is valid"); return }
        #expect(parameters.dim == 4)
        #expect(plans[0].hash == parameters.hash, "a valid point is named by its configuration hash")
        guard case .invalid(let message) = plans[1].outcome else { Issue.record("spBanks 3 is invalid"); return }
        #expect(message.contains("spBanks"), "the configuration's own error: \(message)")
        for plan in plans[2...] {
            guard case .excluded(let rule) = plan.outcome else { Issue.record("DIM 8 breaks the constraint"); continue }
            #expect(rule == "meshRows*meshColumns <= 16")
        }
    }

    @Test("normalizerLanes is an axis: each point gets its lanes, and lanes that do not divide DIM are invalid points")
    func normalizerLanesAxis() throws {
        let space = try ExploreTestSupport.space("""
            {"base": "small", "axes": [{"field": "hasNormalizations", "values": [true]}, {"field": "normalizerLanes", "values": [4, 2, 3]}],
             "workloads": [{"matmul": [64, 64, 64]}]}
            """)
        let plans = space.plans()
        #expect(plans.count == 3)
        var lanes: [Int] = []
        for plan in plans.prefix(2) {
            guard case .valid(let parameters) = plan.outcome else { Issue.record("lanes \(plan.assignment) are valid on DIM 4"); continue }
            lanes.append(parameters.normalizerLanes)
        }
        #expect(lanes == [4, 2])
        guard case .invalid(let message) = plans[2].outcome else { Issue.record("3 lanes do not divide DIM 4"); return }
        #expect(message.contains("normalizerLanes"), "the configuration's own error: \(message)")
    }

    @Test("a folder spinel explore did not create is refused")
    func foreignFolder() throws {
        let directory = ExploreTestSupport.temporaryDirectory("foreign")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("mine".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        #expect(throws: FileProblem.self) { try ExploreOutput(directory: directory).prepare() }
        #expect(try String(contentsOf: directory.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
    }
}
