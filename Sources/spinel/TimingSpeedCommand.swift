import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelExplore
import SpinelGolden
import SpinelISA
import SpinelSim

/// `make bench-timing-speed`: how fast the golden timing model predicts a workload (the
/// explorer's path: the recorded command stream, `FencedTiming`), against the Verilated RTL's
/// simulation of the same workload (docs/PERFORMANCE.md, "Timing model speed").
struct TimingSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timing-speed",
        abstract: "Time the golden timing model on a workload (fast and cycle-stepped paths) and compare with the RTL's simulation time.",
        shouldDisplay: false
    )

    @Option(help: "An accelerator preset (default: transformer).")
    var preset: AcceleratorConfig.Preset?

    @Option(help: "An accelerator configuration file (JSON), instead of --preset.")
    var config: String?

    @Option(help: "encoder (encoder_layer.c S D heads F) or matmul (sweep_matmul.c M N K).")
    var workload = "encoder"

    @Option(help: "The folder with the testbenches.")
    var testbenches = "Testbenches"

    @Option(help: "Scratch folder for the recorder's builds.")
    var scratch = ".build/bench/timing-speed"

    @Flag(help: "Also run the plain cycle-stepped path (the reference) and require the same result.")
    var reference = false

    @Option(help: "The RTL's simulation seconds (CPU), measured earlier.")
    var rtlSeconds: Double?

    @Option(help: "A file with the RTL's measurement (`CPU-seconds wall-seconds cycles`): read when it exists, else the RTL is run (Verilator build untimed) and the file written.")
    var rtlCache: String?

    @Argument(help: "The workload's sizes.")
    var sizes: [Int]

    func run() throws {
        let accelerator = try AcceleratorConfig.chosen(preset: preset, configFile: config, fallback: .transformer)!
        let parameters = try AcceleratorParameters(accelerator)
        guard let kind = Workload.Kind(rawValue: workload) else { throw ValidationError("--workload: encoder or matmul") }
        let work = Workload(name: "\(workload)-\(sizes.map(String.init).joined(separator: "x"))", kind: kind, sizes: sizes)
        let folder = URL(fileURLWithPath: scratch)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let recorder = CommandRecorder(testbenches: URL(fileURLWithPath: testbenches), directory: folder)
        try recorder.checkSources([work])
        let program = try recorder.record(work, parameters: parameters)
        print("timing-speed: \(work.testbench) \(work.arguments.joined(separator: " ")) on \(accelerator.name): \(program.commandCount) commands, \(program.segments.count) fences")

        let (fast, fastTime) = Self.timed { FencedTiming.cycles(of: program, parameters: parameters) }
        print("timing model (fast path): \(fast.cycles) cycles in \(Self.format(fastTime.cpu)) s CPU, \(Self.format(fastTime.wall)) s wall "
              + "(\(fast.skippedCycles) cycles jumped over, \(fast.periodicCycles) of them in repeating loop periods); stages: " + fast.stages.map { "\($0.name) \($0.cycles)" }.joined(separator: ", "))
        if reference {
            let (plain, plainTime) = Self.timed { FencedTiming.cycles(of: program, parameters: parameters, stepping: .cycleStepped) }
            print("timing model (cycle-stepped reference): \(plain.cycles) cycles in \(Self.format(plainTime.cpu)) s CPU, \(Self.format(plainTime.wall)) s wall")
            guard plain == fast else {
                print("timing-speed: MISMATCH between the fast path and the reference (stages \(fast.stages) against \(plain.stages))")
                throw ExitCode(1)
            }
            print("timing-speed: the fast path equals the reference (cycles and stages); speedup \(Self.format(plainTime.cpu / max(fastTime.cpu, 1e-9)))x")
        }

        var rtl = rtlSeconds.map { (cpu: $0, wall: Double?.none, cycles: UInt64?.none) }
        if rtl == nil, let rtlCache {
            if let text = try? String(contentsOfFile: rtlCache, encoding: .utf8) {
                let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
                let cycles = fields.dropFirst(2).first.flatMap { UInt64($0) }
                if let cpu = fields.first.flatMap({ Double($0) }), cycles == nil || cycles == fast.cycles {
                    rtl = (cpu, fields.dropFirst().first.flatMap { Double($0) }, cycles)
                    print("RTL (from \(rtlCache)): \(Self.format(cpu)) s CPU")
                } else if let cycles {
                    // Another program or configuration than the one measured: measure again.
                    print("RTL: \(rtlCache) holds a run of \(cycles) cycles, not the \(fast.cycles) predicted now; simulating again")
                }
            }
            if rtl == nil {
                let verification = RTLVerification(testbenches: URL(fileURLWithPath: testbenches))
                print("RTL: building the Verilator model (cached, untimed), then simulating \(work.testbench) \(work.arguments.joined(separator: " "))")
                let inputs = try AcceleratorGeneration.simulationInputs(for: accelerator)
                let source = URL(fileURLWithPath: testbenches).appendingPathComponent(work.testbench)
                _ = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness, sources: [source],
                                                name: (work.testbench as NSString).deletingPathExtension)
                let (measured, time) = try Self.timedThrowing { try verification.measure(work, on: parameters) }
                rtl = (time.cpu, time.wall, measured)
                try "\(time.cpu) \(time.wall) \(measured)\n".write(toFile: rtlCache, atomically: true, encoding: .utf8)
                print("RTL simulation: \(measured) cycles in \(Self.format(time.cpu)) s CPU, \(Self.format(time.wall)) s wall")
            }
        }
        if let rtl {
            if let cycles = rtl.cycles {
                print("RTL cycles \(cycles), predicted \(fast.cycles): \(cycles == fast.cycles ? "exact" : "differ by \(Int64(fast.cycles) - Int64(cycles))")")
            }
            print("speed ratio (RTL CPU / timing model CPU): \(Self.format(rtl.cpu / max(fastTime.cpu, 1e-9)))x")
        }
    }

    static func format(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.2f", value) }

    /// CPU seconds of this process and its children, and wall seconds.
    static func clock() -> (cpu: Double, wall: Double) {
        var me = rusage(), children = rusage()
        getrusage(__rusage_who_t(truncatingIfNeeded: RUSAGE_SELF.rawValue), &me)
        getrusage(__rusage_who_t(truncatingIfNeeded: RUSAGE_CHILDREN.rawValue), &children)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let cpu = seconds(me.ru_utime) + seconds(me.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime)
        return (cpu, Date().timeIntervalSince1970)
    }

    static func timed<T>(_ body: () -> T) -> (T, (cpu: Double, wall: Double)) {
        let start = clock()
        let result = body()
        let end = clock()
        return (result, (end.cpu - start.cpu, end.wall - start.wall))
    }

    static func timedThrowing<T>(_ body: () throws -> T) throws -> (T, (cpu: Double, wall: Double)) {
        let start = clock()
        let result = try body()
        let end = clock()
        return (result, (end.cpu - start.cpu, end.wall - start.wall))
    }
}
