import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelFuzz

/// `spinel fuzz`: random differential testing (docs/VERIFICATION.md).
struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run random legal command programs on the RTL and on the golden model; every DMA write must match.",
        discussion: """
            For each seed: generate a random legal program (ProgramGenerator; every command vetted by the \
            golden model), write it as a program file, run it on the Verilated accelerator through \
            Testbenches/program_runner.c with a harness trace, replay the trace on the golden model (every \
            DMA write bit for bit, no error), and compare the final DRAM buffer with the golden model's. \
            With --random-resets R, each program runs R more times with Verilator's random initial values \
            (+verilator+rand+reset+2 +verilator+seed+N), and each run must end with the same buffer. With \
            --icarus M, the first M programs also run under Icarus Verilog (a generated Verilog testbench) \
            and must end with the same buffer.

            On failure: the seed, the program file, the first mismatch of the replay. Files of passing seeds \
            are removed unless --keep. Exit status: 0 all seeds passed, 1 some seed failed.
            Reproduce one seed: spinel fuzz --preset small --first-seed S --seeds 1 --keep
            """
    )

    @Option(help: "An accelerator preset (default: small).")
    var preset: AcceleratorConfig.Preset?

    @Option(help: "An accelerator configuration file (JSON), instead of --preset.")
    var config: String?

    @Option(help: "How many seeds (programs) to run.")
    var seeds = 50

    @Option(help: "The first seed; seeds S, S+1, … are run.")
    var firstSeed: UInt64 = 1

    @Option(help: "Random commands per program (after the prologue that zeroes the local memories).")
    var commands = 80

    @Option(help: "Runs per program with Verilator's random initial values (Verilator seeds 1…R).")
    var randomResets = 1

    @Option(help: "Programs (the first ones) also run under Icarus Verilog.")
    var icarus = 0

    @Option(help: "Directory for program files, traces and DRAM dumps.")
    var out = ".build/fuzz"

    @Option(help: "The program runner testbench (default: Testbenches/program_runner.c).")
    var runner: String?

    @Flag(help: "Keep the files of passing seeds too.")
    var keep = false

    @Flag(help: "Shrink each failing program to a few commands that still fail (written as seed-S.min.program).")
    var minimize = false

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard commands >= 1 else { throw ValidationError("--commands must be at least 1") }
        guard randomResets >= 0, icarus >= 0 else { throw ValidationError("--random-resets and --icarus cannot be negative") }
        try AcceleratorChoice.validate(preset: preset, config: config)
    }

    func run() throws {
        let accelerator = try AcceleratorConfig.chosen(preset: preset, configFile: config, fallback: .small)!
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let source = runner.map { URL(fileURLWithPath: $0) } ?? DifferentialRunner.defaultRunnerSource(in: cwd)
        try UserFiles.checkReadable(source.path, role: "program runner")
        try UserFiles.checkDirectoryCanBeWritten(out, option: "--out")
        print("spinel fuzz: \(accelerator.name), seeds \(firstSeed)…\(firstSeed + UInt64(seeds) - 1), \(commands) random commands each, "
              + "\(randomResets) random-reset run(s), \(icarus) under Icarus")
        let differential = try DifferentialRunner(config: accelerator, runnerSource: source)
        var options = ProgramGenerator.Options()
        options.commands = commands
        let generator = ProgramGenerator(parameters: differential.parameters, options: options)
        let directory = URL(fileURLWithPath: out)
        let icarusBench = icarus > 0 ? try IcarusBench(config: accelerator) : nil

        var failed: [DifferentialRunner.Outcome] = []
        var totalCommands = 0, totalRuns = 0, totalCycles: UInt64 = 0, icarusRuns = 0
        let started = Date()
        for offset in 0..<seeds {
            let seed = firstSeed + UInt64(offset)
            var outcome = try differential.check(seed: seed, generator: generator, directory: directory,
                                                 randomResetSeeds: (0..<randomResets).map { UInt64($0 + 1) },
                                                 keepFiles: keep || offset < icarus)
            if let icarusBench, offset < icarus {
                outcome.failures += try icarusBench.check(seed: seed, generator: generator, directory: directory)
                icarusRuns += 1
                if outcome.passed && !keep { try? IcarusBench.removeFiles(seed: seed, in: directory) }
            }
            totalCommands += outcome.commands
            totalRuns += outcome.runs
            totalCycles += outcome.cycles ?? 0
            if outcome.passed {
                print("seed \(seed): PASS (\(outcome.commands) commands, \(outcome.cycles ?? 0) cycles, \(outcome.runs) run(s)"
                      + (offset < icarus ? " + Icarus" : "") + ")")
            } else {
                failed.append(outcome)
                print("seed \(seed): FAIL — program \(outcome.programFile.path)")
                for failure in outcome.failures { print("  \(failure)") }
                if let mismatch = outcome.firstMismatch {
                    print("  first mismatch:")
                    print(mismatch.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n"))
                }
                if minimize {
                    let program = try CommandProgram.parse(String(contentsOf: outcome.programFile, encoding: .utf8),
                                                           name: outcome.programFile.path)
                    let work = directory.appendingPathComponent("minimize-\(seed)")
                    let (small, message) = try ProgramMinimizer(runner: differential).minimize(program, in: work)
                    let file = directory.appendingPathComponent("seed-\(seed).min.program")
                    try small.render().write(to: file, atomically: true, encoding: .utf8)
                    try? FileManager.default.removeItem(at: work)
                    print("  minimized to \(small.instructions.count) commands: \(file.path)")
                    if let message { print(message.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n")) }
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("spinel fuzz: \(seeds - failed.count) of \(seeds) seeds passed; \(totalCommands) commands, \(totalRuns) Verilator runs, "
              + "\(icarusRuns) Icarus runs, \(totalCycles) cycles (zero-reset runs), \(String(format: "%.1f", seconds)) s")
        if !failed.isEmpty {
            print("failing seeds: \(failed.map { String($0.seed) }.joined(separator: " ")) (rerun one: spinel fuzz \(config.map { "--config \($0)" } ?? "--preset \((preset ?? .small).rawValue)") --first-seed SEED --seeds 1 --keep)")
            throw ExitCode(1)
        }
    }
}
