import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelExplore

/// The options `explore` and `explore-point` share.
struct ExploreOptions: ParsableArguments {
    @Option(help: "The space file (JSON; docs/EXPLORE.md).")
    var space: String

    @Option(help: "The output folder: new, empty, or an earlier output of spinel explore (resumed).")
    var out: String

    @Option(help: "Area: model (SRAM model + per-unit logic figures, instant) or yosys (Yosys stat -tech cmos, SRAM black-boxed; slow, cached).")
    var area = "model"

    @Option(help: "The folder with the testbenches (sweep_matmul.c, encoder_layer.c, explore/command_recorder.c).")
    var testbenches = "Testbenches"

    func validate() throws {
        guard ["model", "yosys"].contains(area) else { throw ValidationError("--area: model or yosys (got \(area))") }
    }

    func explorer(jobs: Int = 1, progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> Explorer {
        let space = try ExploreSpace.load(path: self.space)
        let output = ExploreOutput(directory: URL(fileURLWithPath: out))
        try output.prepare()
        let recorder = CommandRecorder(testbenches: URL(fileURLWithPath: testbenches), directory: output.build)
        try recorder.checkSources(space.workloads)
        let evaluator = PointEvaluator(space: space, recorder: recorder, area: area,
                                       yosys: area == "yosys" ? YosysArea(cache: output.area) : nil)
        return Explorer(space: space, output: output, evaluator: evaluator, jobs: jobs, progress: progress)
    }
}

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Design-space exploration: every point of a space file on its workloads (golden timing model) with its area; tables and an HTML report.",
        discussion: """
            Each point's result is written to OUT/points/<config-hash>.json as soon as it is known, so a \
            re-run resumes. Then OUT/results.csv, OUT/results.json (one row per point and workload) and \
            OUT/report.html (Pareto front, utilization, cycles per stage). Invalid configurations are \
            reported with the configuration's own error and skipped. --engine ray runs the points as Ray \
            tasks (Tools/ray_explore.py). docs/EXPLORE.md has the space file format.
            """
    )

    @OptionGroup var options: ExploreOptions

    @Option(help: "Points evaluated at once (default: the number of cores).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "local (a pool of --jobs threads) or ray (Tools/ray_explore.py, one Ray task per point).")
    var engine = "local"

    @Option(help: "With --engine ray: the Ray cluster's address (default: a local Ray started for the run).")
    var address: String?

    @Flag(help: "Print the hashes of the points not evaluated yet, one per line, and stop (for distributed drivers).")
    var listPending = false

    @Flag(help: "Evaluate nothing: write the tables and the report from the points finished so far.")
    var tablesOnly = false

    @Option(help: "pareto: re-simulate every Pareto-optimal point's workload on its Verilated RTL and fail on any cycle difference from the prediction (writes OUT/verification.csv).")
    var verify: String?

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
        guard ["local", "ray"].contains(engine) else { throw ValidationError("--engine: local or ray (got \(engine))") }
        if address != nil && engine != "ray" { throw ValidationError("--address goes with --engine ray") }
        if let verify, verify != "pareto" { throw ValidationError("--verify: pareto (got \(verify))") }
    }

    func run() throws {
        let explorer = try options.explorer(jobs: jobs) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        if listPending {
            for plan in explorer.pending(explorer.space.plans()) { print(plan.hash) }
            return
        }
        if tablesOnly {
            // Nothing to evaluate.
        } else if engine == "ray" {
            try runRay()
        } else {
            try explorer.run()
        }
        let tables = try explorer.writeTables(title: "spinel explore: \(options.space)")
        let valid = tables.results.filter { $0.status == "ok" }.count
        print("explore: \(tables.results.count) configurations (\(valid) valid), \(tables.rows.count) rows; "
              + "wrote \(options.out)/results.csv, results.json and report.html")
        if tables.missing > 0 {
            print("explore: \(tables.missing) points not evaluated; run again to resume")
            if !tablesOnly { throw ExitCode(1) }
        }
        if verify == "pareto" {
            let checks = try explorer.verifyPareto(tables, testbenches: URL(fileURLWithPath: options.testbenches))
            for check in checks {
                let measured = check.measured.map(String.init) ?? "-"
                print("verify: \(check.hash) \(check.workload): predicted \(check.predicted), RTL \(measured) "
                      + (check.matches ? "MATCH" : "MISMATCH" + (check.error.map { ": \($0)" } ?? "")))
            }
            let failed = checks.filter { !$0.matches }.count
            print("verify: \(checks.count) Pareto points on the RTL, \(checks.count - failed) match, \(failed) differ; wrote \(options.out)/verification.csv")
            guard failed == 0 else { throw ExitCode(1) }
        }
    }

    /// Hands the pending points to Tools/ray_explore.py; the tables are written here afterwards.
    func runRay() throws {
        let script = URL(fileURLWithPath: options.testbenches).deletingLastPathComponent().appendingPathComponent("Tools/ray_explore.py")
        try UserFiles.checkReadable(script.path, role: "Ray driver")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // This very binary, wherever it was started from (PATH or a relative path).
        let spinel = Bundle.main.executableURL?.path ?? CommandLine.arguments[0]
        var arguments = ["python3", script.path, "--spinel", spinel, "--space", options.space, "--out", options.out,
                         "--area", options.area, "--testbenches", options.testbenches]
        if let address { arguments += ["--address", address] }
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ExploreError(message: "Tools/ray_explore.py exited with status \(process.terminationStatus) "
                               + "(is Ray installed? python3 -m pip install ray; docs/EXPLORE.md)")
        }
    }
}

/// One point, for distributed drivers (a Ray task): evaluates it and writes its file.
struct ExplorePoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore-point",
        abstract: "Evaluate one point of a space and write OUT/points/<hash>.json (for Tools/ray_explore.py).",
        shouldDisplay: false
    )

    @OptionGroup var options: ExploreOptions

    @Option(help: "The configuration hash of the point (spinel explore --list-pending prints them).")
    var hash: String

    func run() throws {
        // A test hook: the first attempt of a point kills its own worker process.
        if let marker = ProcessInfo.processInfo.environment["SPINEL_EXPLORE_KILL_ONCE"], !marker.isEmpty,
           case let file = open(marker + "." + hash, O_CREAT | O_EXCL | O_WRONLY, 0o644), file >= 0 {
            close(file)
            if let parent = ProcessInfo.processInfo.environment["SPINEL_EXPLORE_KILL_PID"], let pid = Int32(parent) { kill(pid, SIGKILL) }
            kill(getpid(), SIGKILL)
        }
        let explorer = try options.explorer()
        guard let plan = explorer.space.plans().first(where: { $0.hash == hash }) else {
            throw ExploreError(message: "no point of \(options.space) has the configuration hash \(hash); list them with spinel explore --list-pending")
        }
        if explorer.output.finished(hash, key: explorer.key) == nil { try explorer.evaluate(plan) }
        print(explorer.output.pointFile(hash).path)
    }
}
