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
        // `spinel bench --utilization --preset default`, WS, latency 40, 16 B/cycle, measured on
        // the Verilated RTL (docs/PERFORMANCE.md, the table after the decoupled cursors).
        for (size, cycles) in [(64, 1_659 as UInt64), (128, 9_342)] {
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
