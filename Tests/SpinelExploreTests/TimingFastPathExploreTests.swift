import Foundation
import SpinelAccelerator
import SpinelExplore
import SpinelGolden
import Testing

/// The explorer's workloads through the timing model's fast path and through the plain
/// cycle-stepped reference: the same cycles, fences and stage breakdown (docs/TIMING.md, "Speed").
@Suite("Explore: the timing model's fast path equals the cycle-stepped reference")
struct TimingFastPathExploreTests {
    @Test("matmuls on default and transformer, an encoder layer on transformer")
    func workloads() throws {
        let directory = ExploreTestSupport.temporaryDirectory("fast-path")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recorder = CommandRecorder(testbenches: ExploreTestSupport.testbenches, directory: directory)
        let cases: [(AcceleratorConfig, Workload)] = [
            (.default, Workload(name: "m64", kind: .matmul, sizes: [64, 64, 64])),
            (.default, Workload(name: "m128x64x256", kind: .matmul, sizes: [128, 64, 256])),
            (.transformer, Workload(name: "m96", kind: .matmul, sizes: [96, 96, 96])),
            (.transformer, Workload(name: "encoder", kind: .encoder, sizes: [32, 64, 2, 128])),
        ]
        for (config, workload) in cases {
            let parameters = try config.parameters()
            let program = try recorder.record(workload, parameters: parameters)
            let reference = FencedTiming.cycles(of: program, parameters: parameters, stepping: .cycleStepped)
            let fast = FencedTiming.cycles(of: program, parameters: parameters, stepping: .fast)
            #expect(fast == reference, "\(workload.name) on \(config.name): fast \(fast.cycles) \(fast.stages), reference \(reference.cycles) \(reference.stages)")
            #expect(fast.busyFences == reference.busyFences && fast.idleFences == reference.idleFences)
        }
    }
}
