import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim

@main
struct Spinel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spinel",
        abstract: "Spinel: a Swift hardware-construction DSL and a generator of transformer-inference accelerators.",
        discussion: """
            Generate Verilog for a design, check its output quality (Verilator lint, Yosys synthesis, \
            Icarus compilation), and measure the generator.
            """,
        subcommands: [Generate.self, Sim.self, Check.self, Accuracy.self, Fuzz.self, Lint.self, Bench.self, Embed.self, RunModel.self, CTAStudyCommand.self,
                      Explore.self, ExplorePoint.self, TimingSpeed.self, CTAAreaCommand.self]
    )
}

struct ShapeOptions: ParsableArguments {
    @Option(help: "Rows of the array.")
    var rows = 4

    @Option(help: "Columns of the array.")
    var columns = 4

    func validate() throws {
        guard (1...1024).contains(rows), (1...1024).contains(columns) else {
            throw ValidationError("--rows and --columns must be between 1 and 1024 (got \(rows) × \(columns))")
        }
    }
}

extension SampleDesign: ExpressibleByArgument {}
extension AcceleratorConfig.Preset: ExpressibleByArgument {}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Elaborate a design and write its Verilog (one file per module and a filelist) into a directory.",
        discussion: """
            Designs: \(SampleDesign.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ")).
            The output directory must be new, empty, or an earlier output of spinel generate (its \
            manifest.json lists every file in it); anything else is refused unless --force is given, \
            and a git repository or the working directory is never replaced. The directory is \
            replaced as a whole only after every file has been written, so a failed run leaves the \
            previous output intact. The same design always gives byte-identical files.
            """
    )

    @Option(help: "The design to generate (ignored with --preset or --config).")
    var design: SampleDesign = .macArray

    @Option(help: "An accelerator preset: \(AcceleratorConfig.Preset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: AcceleratorConfig.Preset?

    @Option(help: "An accelerator configuration file (JSON; see docs/CONFIGURATION.md).")
    var config: String?

    @OptionGroup var shape: ShapeOptions

    @Option(help: "Directory to write: new, empty, or an earlier output of spinel generate (replaced).")
    var out: String

    @Flag(help: "Replace --out even if it is not an earlier output of spinel generate (never a git repository or the working directory).")
    var force = false

    @Flag(help: "Append `// File.swift:line` locators to declarations and assignments.")
    var locators = false

    func validate() throws {
        try AcceleratorChoice.validate(preset: preset, config: config)
    }

    func run() throws {
        let accelerator = try AcceleratorConfig.chosen(preset: preset, configFile: config, fallback: nil)
        let files: [GeneratedFile]
        if let accelerator {
            files = try AcceleratorGeneration.files(for: accelerator)
        } else {
            files = try design.files(rows: shape.rows, columns: shape.columns, locators: locators)
        }
        try explainingFileErrors(writing: out, option: "--out") {
            try GeneratedOutput.replace(directory: URL(fileURLWithPath: out), with: files, force: force)
        }
        print("generated \(accelerator?.name ?? design.rawValue): \(files.count) files in \(out)")
    }
}

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check generated Verilog: verilator --lint-only -Wall, Yosys synthesis (no latches, no undriven nets), iverilog -g2005.",
        discussion: "Reads the filelist <top>.f in the directory. Exits non-zero on the first tool that complains, with its output."
    )

    @Argument(help: "Directory written by `spinel generate`.")
    var directory: String

    @Option(help: "Top module (default: the only *.f filelist in the directory).")
    var top: String?

    func run() throws {
        let url = URL(fileURLWithPath: directory)
        let topName = try top ?? GeneratedOutput.singleTop(in: url)
        try OutputChecks.lint(directory: url, top: topName)
        print("verilator --lint-only -Wall: clean")
        try OutputChecks.synthesize(directory: url, top: topName)
        print("yosys synth: no latches, no undriven or multiply driven nets")
        try OutputChecks.compileWithIcarus(directory: url, top: topName)
        print("iverilog -g2005: compiles")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure elaboration and Verilog emission of a synthetic MAC array (default 64 × 64: 4,096 cell instances), or with --utilization the PE utilization of simulated matmuls.",
        discussion: """
            Prints the best of --repeat runs. Build with -c release for meaningful figures (make bench does).

            --utilization runs the utilization sweep instead (docs/PERFORMANCE.md): \
            Testbenches/sweep_matmul.c on the preset for every size (--sizes), dataflow (--modes: ws = \
            tiled_matmul_auto with LOOP_WS, os = output-stationary plain commands) and memory latency \
            (--latencies), at --bytes-per-cycle; every run checks all of C. It prints the table and \
            writes utilization.json and utilization.csv into --out. Exits non-zero if a run failed.
            """
    )

    @Option(help: "Rows of the array.")
    var rows = 64

    @Option(help: "Columns of the array.")
    var columns = 64

    @Option(help: "Runs to take the best of.")
    var `repeat` = 3

    @Flag(help: "Run the utilization sweep (simulated matmuls) instead of the elaboration figures.")
    var utilization = false

    @Option(help: "Sweep: the accelerator preset.")
    var preset: AcceleratorConfig.Preset = .default

    @Option(help: "Sweep: the sizes, MxNxK separated by commas.")
    var sizes = UtilizationSweep.defaultSizes

    @Option(help: "Sweep: the dataflows (ws, os), separated by commas.")
    var modes = "ws,os"

    @Option(help: "Sweep: memory latencies in cycles, separated by commas.")
    var latencies = "40,100"

    @Option(help: "Sweep: memory bytes per cycle (each direction).")
    var bytesPerCycle = 16

    @Option(help: "Sweep: the testbench.")
    var testbench = "Testbenches/sweep_matmul.c"

    @Option(help: "Sweep: directory for utilization.json and utilization.csv.")
    var out = "Generated/bench"

    var shape: ShapeOptions {
        var shape = ShapeOptions()
        shape.rows = rows
        shape.columns = columns
        return shape
    }

    func validate() throws {
        try shape.validate()
        if utilization {
            _ = try UtilizationSweep.parseSizes(sizes)
            _ = try UtilizationSweep.parseList(latencies, option: "--latencies")
            guard !modes.isEmpty, modes.split(separator: ",").allSatisfy({ $0 == "ws" || $0 == "os" }) else {
                throw ValidationError("--modes: ws and/or os, separated by commas")
            }
            guard bytesPerCycle > 0 else { throw ValidationError("--bytes-per-cycle must be positive") }
            do { try UserFiles.checkReadable(testbench, role: "testbench") } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        if utilization {
            let sweep = UtilizationSweep(
                accelerator: .preset(preset), testbench: URL(fileURLWithPath: testbench), sizes: try UtilizationSweep.parseSizes(sizes),
                modes: modes.split(separator: ",").map(String.init), latencies: try UtilizationSweep.parseList(latencies, option: "--latencies"),
                bytesPerCycle: bytesPerCycle, outputDirectory: URL(fileURLWithPath: out),
                command: "spinel bench --utilization --preset \(preset.rawValue) --sizes \(sizes) --modes \(modes) --latencies \(latencies) --bytes-per-cycle \(bytesPerCycle)")
            if !(try sweep.run()) { throw ExitCode(1) }
            return
        }
        var best = (elaborate: Double.infinity, emit: Double.infinity)
        var bytes = 0
        for _ in 0..<max(1, self.repeat) {
            let clock = ContinuousClock()
            var design: Design?
            let elaboration = try clock.measure { design = try SampleDesign.macArray.elaborate(rows: shape.rows, columns: shape.columns) }
            var files: [GeneratedFile] = []
            let emission = clock.measure { files = VerilogEmitter().emit(design!) }
            best = (min(best.elaborate, elaboration.seconds), min(best.emit, emission.seconds))
            bytes = files.reduce(0) { $0 + $1.contents.utf8.count }
        }
        let instances = shape.rows * shape.columns
        print("benchmark                      value")
        print("design                         MACArray_\(shape.rows)x\(shape.columns) (\(instances) MAC cell instances)")
        print(String(format: "elaboration + checks           %.3f s", best.elaborate))
        print(String(format: "Verilog emission               %.3f s", best.emit))
        print(String(format: "total                          %.3f s (target < 2 s)", best.elaborate + best.emit))
        print("Verilog written                \(bytes) bytes")
        for preset in AcceleratorConfig.Preset.allCases {
            let clock = ContinuousClock()
            var count = 0
            let time = try clock.measure { count = try AcceleratorGeneration.files(for: .preset(preset)).count }
            let label = "generate \(preset.rawValue)".padding(toLength: 31, withPad: " ", startingAt: 0)
            print(label + String(format: "%.3f s (%d files)", time.seconds, count))
        }
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a C testbench against the simulated accelerator of a configuration and run it.",
        discussion: """
            Generates the configuration's Verilog and C harness, builds the Verilator model and the testbench \
            (both cached), and runs it. Arguments after `--` go to the testbench. The testbench's exit status \
            becomes spinel's. Example: spinel sim --preset small --testbench Testbenches/tiled_matmul.c -- 64 64 64
            """
    )

    @Option(help: "An accelerator preset (default: small).")
    var preset: AcceleratorConfig.Preset?

    @Option(help: "An accelerator configuration file (JSON), instead of --preset.")
    var config: String?

    @Option(help: "The C testbench to build and run.")
    var testbench: String

    @Option(help: "Write the JSON Lines trace (commands, completions, DMA data) here, for `spinel check`.")
    var trace: String?

    @Option(help: ArgumentHelp("Write a waveform of every signal here: FILE.fst (compact; GTKWave or Surfer) or FILE.vcd. The model is built once more with tracing (cached).", valueName: "file"))
    var waves: String?

    @Option(help: ArgumentHelp("Waveform window: the first cycle dumped (cycles count from the end of reset, as spinel_cycles does).", valueName: "cycle"))
    var wavesFrom: UInt64?

    @Option(help: ArgumentHelp("Waveform window: the cycle after the last one dumped.", valueName: "cycle"))
    var wavesTo: UInt64?

    @Argument(parsing: .postTerminator, help: "Arguments for the testbench.")
    var arguments: [String] = []

    func validate() throws {
        try AcceleratorChoice.validate(preset: preset, config: config)
        if let waves, HarnessBuild.Waveforms(fileName: waves) == nil {
            throw ValidationError("--waves \(waves): name the waveform file .fst (compact, recommended) or .vcd")
        }
        if waves == nil && (wavesFrom != nil || wavesTo != nil) {
            throw ValidationError("--waves-from and --waves-to set the window of a waveform: give --waves FILE.fst too")
        }
        if let wavesFrom, let wavesTo, wavesTo <= wavesFrom {
            throw ValidationError("--waves-to \(wavesTo) must be above --waves-from \(wavesFrom): the window is empty")
        }
    }

    func run() throws {
        let accelerator = try AcceleratorConfig.chosen(preset: preset, configFile: config, fallback: .small)!
        try UserFiles.checkReadable(testbench, role: "testbench")
        guard ["c", "cc", "cpp"].contains(URL(fileURLWithPath: testbench).pathExtension) else {
            throw FileProblem(path: testbench, problem: "a testbench is C or C++ source, named .c, .cc or .cpp",
                              fix: "give the testbench's source file, e.g. Testbenches/tiled_matmul.c")
        }
        if let trace { try UserFiles.checkFileCanBeWritten(trace, option: "--trace") }
        if let waves { try UserFiles.checkFileCanBeWritten(waves, option: "--waves") }
        let waveforms = waves.flatMap(HarnessBuild.Waveforms.init(fileName:)) ?? .none
        let inputs = try AcceleratorGeneration.simulationInputs(for: accelerator)
        let source = URL(fileURLWithPath: testbench)
        print("spinel sim: \(accelerator.name), \(source.lastPathComponent) (building the model and the testbench if not cached)")
        let name = source.deletingPathExtension().lastPathComponent.replacingOccurrences(of: "-", with: "_")
        let executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                     sources: [source], name: name, waveforms: waveforms)
        var environment: [String: String] = [:]
        if let trace { environment["SPINEL_TRACE"] = URL(fileURLWithPath: trace).path }
        if let waves {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: waves).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            environment["SPINEL_VCD"] = URL(fileURLWithPath: waves).path
            if let wavesFrom { environment["SPINEL_WAVE_FROM"] = String(wavesFrom) }
            if let wavesTo { environment["SPINEL_WAVE_TO"] = String(wavesTo) }
        }
        // On a terminal, a progress line every 10 s (SPINEL_PROGRESS=seconds sets another pace, 0 none).
        if isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["SPINEL_PROGRESS"] == nil {
            environment["SPINEL_PROGRESS"] = "10"
        }
        fflush(nil)  // our lines before the testbench's, which it writes to the same descriptors
        let result = try HarnessBuild.run(executable.path, arguments, environment: environment, inheritOutput: true)
        if let signal = result.signalDescription {
            // The harness has said which command came last (on standard error, above).
            FileHandle.standardError.write(Data("spinel sim: \(source.lastPathComponent) was killed by \(signal)\n".utf8))
        }
        if !result.succeeded { throw ExitCode(result.shellStatus == 0 ? 1 : result.shellStatus) }
    }
}
