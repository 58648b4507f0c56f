import Foundation
import SpinelAccelerator
import SpinelExplore
import SpinelSim
import Testing

/// The explorer's cycles (recorded command streams on the golden timing model) against cycles
/// measured on the RTL: figures docs/PERFORMANCE.md took with `spinel sim`, and a run here.
@Suite("Explore: cycles against the RTL")
struct ExploreTimingTests {
    func predicted(_ workload: Workload, on config: AcceleratorConfig) throws -> UInt64 {
        try timing(workload, on: config).cycles
    }

    func timing(_ workload: Workload, on config: AcceleratorConfig) throws -> FencedTiming.Result {
        let directory = ExploreTestSupport.temporaryDirectory("timing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let parameters = try config.parameters()
        let recorder = CommandRecorder(testbenches: ExploreTestSupport.testbenches, directory: directory)
        return FencedTiming.cycles(of: try recorder.record(workload, parameters: parameters), parameters: parameters)
    }

    @Test("tiled matmuls on default: the utilization sweep's RTL figures (docs/PERFORMANCE.md)")
    func sweepFigures() throws {
        // `spinel sim --preset default --testbench Testbenches/sweep_matmul.c -- N N N ws`, latency
        // 40, 16 B/cycle, measured on the Verilated RTL (docs/PERFORMANCE.md, the table after the
        // decoupled cursors, 2 cycles more since tiled_matmul_auto fences before returning).
        for (size, cycles) in [(64, 1_661 as UInt64), (128, 9_344)] {
            let workload = Workload(name: "m\(size)", kind: .matmul, sizes: [size, size, size])
            let model = try predicted(workload, on: .default)
            #expect(model == cycles, "\(size)³: predicted \(model)")
        }
    }

    @Test("an encoder layer with fences on transformer: the RTL run's own count")
    func encoderAgainstRTL() throws {
        // encoder_layer.c prints the harness's cycles from its first command to its last fence.
        let config = AcceleratorConfig.transformer
        let inputs = try AcceleratorGeneration.simulationInputs(for: config)
        let source = ExploreTestSupport.testbenches.appendingPathComponent("encoder_layer.c")
        let executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                     sources: [source], name: "encoder_layer")
        let run = try HarnessBuild.run(executable.path, ["32", "64", "2", "128"], environment: [:])
        #expect(run.succeeded, "\(run.standardOutput)\(run.standardError)")
        // "encoder layer S=32 ...: 34879 cycles (accelerator 34879 simulated + host 0 modelled)"
        let line = run.standardOutput.split(separator: "\n").first { $0.hasPrefix("encoder layer ") } ?? ""
        let measured = line.split(separator: "(accelerator ").dropFirst().first?.split(separator: " ").first.flatMap { UInt64($0) }
        let workload = Workload(name: "encoder", kind: .encoder, sizes: [32, 64, 2, 128])
        let result = try timing(workload, on: config)
        #expect(result.cycles == measured, "predicted \(result.cycles) (\(result.busyFences) busy, \(result.idleFences) idle fences); RTL: \(line)")
    }
}

/// `spinel explore --verify pareto`: the Pareto points re-run on the RTL, and a wrong prediction
/// caught (a point file whose cycles were edited).
@Suite("Explore: Pareto points verified on the RTL")
struct ExploreVerificationTests {
    @Test("a small space's Pareto point matches the RTL; an edited prediction is a mismatch")
    func paretoOnTheRTL() throws {
        // Two memory latencies on `small`: the same hardware (one Verilator build), the shorter
        // latency the only Pareto point.
        let space = try ExploreTestSupport.space("""
            {"base": "small", "axes": [{"field": "memory.latencyCycles", "values": [20, 60]}],
             "workloads": [{"name": "matmul-16", "matmul": [16, 16, 16]}]}
            """)
        let out = ExploreTestSupport.temporaryDirectory("verify")
        defer { try? FileManager.default.removeItem(at: out) }
        let explorer = try ExploreTestSupport.explorer(space, out: out, jobs: 1)
        #expect(try explorer.run() == 2)
        let tables = try explorer.writeTables(title: "verify")
        let pareto = tables.rows.filter(\.pareto)
        #expect(pareto.count == 1 && pareto.first?.assignment.first?.value == "20", "\(pareto)")
        let checks = try explorer.verifyPareto(tables, testbenches: ExploreTestSupport.testbenches)
        #expect(checks.count == 1)
        #expect(checks.allSatisfy { $0.matches }, "\(checks)")
        let csv = try String(contentsOf: out.appendingPathComponent("verification.csv"), encoding: .utf8)
        #expect(csv.contains(",MATCH,"), "\(csv)")

        // The point file claims one cycle fewer: the RTL's count no longer agrees.
        let hash = try #require(checks.first?.hash)
        let file = out.appendingPathComponent("points/\(hash).json")
        var result = try JSONDecoder().decode(PointResult.self, from: Data(contentsOf: file))
        result.workloads[0].cycles! -= 1
        try JSONEncoder().encode(result).write(to: file)
        let edited = try explorer.writeTables(title: "verify")
        let failing = try explorer.verifyPareto(edited, testbenches: ExploreTestSupport.testbenches)
        #expect(failing.count == 1 && !failing[0].matches && failing[0].measured == checks[0].measured, "\(failing)")
        let failingCSV = try String(contentsOf: out.appendingPathComponent("verification.csv"), encoding: .utf8)
        #expect(failingCSV.contains(",MISMATCH,"), "\(failingCSV)")
    }
}
