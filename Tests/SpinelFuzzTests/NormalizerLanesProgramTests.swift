import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim
import Testing

/// Random programs (ProgramGenerator: normalization passes and outputs, LOAD_AFFINE,
/// LOAD_REQUANT, LOAD_LANE_SCALES, the requantizer and the scale sources, LOOP_WS with act 2 and
/// 4) on `small` with the numerics extensions and fewer normalizer lanes than columns
/// (Testbenches/configs/small-numerics-lanes2.json and -lanes1.json: rows through the lanes take
/// 2 or 4 cycles, plain rows take the store controller's scale units). Each run: every DMA write
/// replayed on the golden model, the final error the golden model's, the timing model
/// cycle-exact on every command, and its fast path equal to the cycle-stepped reference.
@Suite("Random programs with fewer normalizer lanes than columns")
struct NormalizerLanesProgramTests {
    static func root(_ file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }

    static let runners = Result {
        try ["small-numerics-lanes2", "small-numerics-lanes1"].map { name in
            let config = try AcceleratorConfig.fromJSON(Data(contentsOf: root().appendingPathComponent("Testbenches/configs/\(name).json")))
            return try DifferentialRunner(config: config, runnerSource: DifferentialRunner.defaultRunnerSource())
        }
    }

    @Test(arguments: (0..<8).map { (0, UInt64($0)) } + (0..<4).map { (1, UInt64($0)) })
    func randomProgram(runnerIndex: Int, offset: UInt64) throws {
        let runner = try Self.runners.get()[runnerIndex]
        #expect(runner.parameters.normalizerBeats == (runnerIndex == 0 ? 2 : 4))
        let seed = SeededGenerator.testSeed(60_000) + offset
        let generated = ProgramGenerator(parameters: runner.parameters).generate(seed: seed)
        let program = generated.program
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-lanes-\(seed)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("seed-\(seed).program"), tracePath = directory.appendingPathComponent("seed-\(seed).jsonl")
        try program.render().write(to: file, atomically: true, encoding: .utf8)
        let run = try HarnessBuild.run(runner.executable, [file.path], environment: ["SPINEL_TRACE": tracePath.path, "SPINEL_QUIET": "1"])
        #expect(run.status == 0 || run.status == 1, "\(run.standardOutput)\(run.standardError)")
        let trace = try HarnessTrace.load(tracePath)
        let report = TraceReplay.replay(trace, parameters: runner.parameters)
        let label = "\(runner.parameters.name) seed \(seed) (files in \(directory.path))"
        #expect(report.verdict == .match, "\(label): \(report.render(commandTable: false, maximumProblems: 3))")
        let timing = TimingComparison(trace: trace, parameters: runner.parameters)
        #expect(timing.predictedTotal == timing.measuredTotal && (timing.statistics.first?.maxAbsoluteError ?? 0) == 0,
                "\(label): the timing model is not cycle-exact: \(timing.summary)")
        let stream = TimingFastPathTests.stream(program)
        _ = TimingFastPathTests.compare(stream, issueCycles: Array(repeating: 0, count: stream.count), parameters: runner.parameters, label: label)
        if report.verdict == .match && timing.predictedTotal == timing.measuredTotal { try? FileManager.default.removeItem(at: directory) }
    }
}
