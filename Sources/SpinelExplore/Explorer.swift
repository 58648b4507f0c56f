import Foundation
import SpinelAccelerator

/// `spinel explore`'s output folder (docs/EXPLORE.md, "Output"):
///
///     DIR/.spinel-explore        marks the folder as the explorer's (nothing else is touched without it)
///     DIR/points/<hash>.json     one per configuration, written atomically (temp + rename): a re-run skips them
///     DIR/build/ DIR/area/       recorded testbenches and Yosys results, per configuration hash
///     DIR/results.csv, results.json, report.html
public struct ExploreOutput: Sendable {
    public let directory: URL
    static let marker = ".spinel-explore"
    /// The only names the explorer writes at the top of its folder.
    static let ownNames: Set<String> = [marker, "points", "build", "area", "results.csv", "results.json", "report.html",
                                           "verification.csv"]

    public init(directory: URL) { self.directory = directory }

    public var points: URL { directory.appendingPathComponent("points") }
    public var build: URL { directory.appendingPathComponent("build") }
    public var area: URL { directory.appendingPathComponent("area") }

    /// Makes the folder, or checks that an existing one is the explorer's: an empty folder
    /// becomes one; a folder with other files and no marker is refused, so that nothing the
    /// explorer did not create is overwritten.
    public func prepare(option: String = "--out") throws {
        let manager = FileManager.default
        let path = directory.path
        try UserFiles.checkDirectoryCanBeWritten(path, option: option)
        if manager.fileExists(atPath: path) {
            let contents = try manager.contentsOfDirectory(atPath: path)
            if !contents.isEmpty && !contents.contains(Self.marker) {
                throw FileProblem(path: path, problem: "\(option) is a folder that spinel explore did not create (it has no \(Self.marker) and holds "
                                  + contents.sorted().prefix(3).joined(separator: ", ") + (contents.count > 3 ? ", …" : "") + ")",
                                  fix: "give a new or empty folder, or an earlier output of spinel explore (to resume it)")
            }
        }
        for folder in [directory, points, build, area] {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let marker = directory.appendingPathComponent(Self.marker)
        if !manager.fileExists(atPath: marker.path) {
            try Data("spinel explore output: points/, build/, area/, results.csv, results.json and report.html are the explorer's.\n".utf8)
                .write(to: marker)
        }
    }

    public func pointFile(_ hash: String) -> URL { points.appendingPathComponent("\(hash).json") }

    /// The finished result of a configuration, if its file is there, readable and made for `key`.
    public func finished(_ hash: String, key: String) -> PointResult? {
        guard let data = try? Data(contentsOf: pointFile(hash)),
              let result = try? JSONDecoder().decode(PointResult.self, from: data), result.key == key else { return nil }
        return result
    }

    /// Writes a point's file atomically: a temporary name in the same folder, then rename.
    public func write(_ result: PointResult) throws {
        let temporary = points.appendingPathComponent(".\(result.hash).\(ProcessInfo.processInfo.processIdentifier).\(UInt64.random(in: 0 ... .max)).tmp")
        try Self.encode(result).write(to: temporary)
        guard rename(temporary.path, pointFile(result.hash).path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw FileProblem(path: pointFile(result.hash).path, problem: "cannot rename the finished point file into place (errno \(errno))",
                              fix: "check that the folder is writable")
        }
    }

    /// Writes a top-level file of the explorer (results, report) atomically.
    public func writeFile(_ name: String, _ data: Data) throws {
        precondition(Self.ownNames.contains(name))
        let url = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).\(ProcessInfo.processInfo.processIdentifier).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw FileProblem(path: url.path, problem: "cannot rename \(name) into place (errno \(errno))", fix: "check that the folder is writable")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value) + Data("\n".utf8)
    }
}

/// Runs a space: evaluates every point that has no finished file (in parallel, `jobs` at a
/// time), then writes the tables and the report from the point files.
public struct Explorer: Sendable {
    public var space: ExploreSpace
    public var output: ExploreOutput
    public var evaluator: PointEvaluator
    public var jobs: Int
    /// Progress lines (`points done / total, ETA`); stderr in the command.
    public var progress: @Sendable (String) -> Void

    public init(space: ExploreSpace, output: ExploreOutput, evaluator: PointEvaluator, jobs: Int, progress: @escaping @Sendable (String) -> Void) {
        self.space = space
        self.output = output
        self.evaluator = evaluator
        self.jobs = max(1, jobs)
        self.progress = progress
    }

    public var key: String { space.resultKey(area: evaluator.area) }

    /// The plans to evaluate: one per configuration hash (two assignments giving the same
    /// configuration share it), excluded points left out. A finished point whose model area
    /// is of an older `AreaModel` gets the current one (its cycles are kept).
    public func pending(_ plans: [PointPlan]) -> [PointPlan] {
        var seen = Set<String>()
        return plans.filter { plan in
            if case .excluded = plan.outcome { return false }
            guard seen.insert(plan.hash).inserted else { return false }
            guard var result = output.finished(plan.hash, key: key) else { return true }
            if evaluator.area == "model", result.status == "ok", result.areaModelVersion != AreaModel.version,
               case .valid(let parameters) = plan.outcome {
                result.area = AreaModel.estimate(parameters)
                result.areaModelVersion = AreaModel.version
                try? output.write(result)
            }
            return false
        }
    }

    /// Evaluates one point and writes its file (`spinel explore-point`, a Ray task).
    public func evaluate(_ plan: PointPlan) throws {
        try output.write(evaluator.evaluate(plan))
    }

    /// Evaluates every pending point with `jobs` threads; returns how many were evaluated.
    @discardableResult
    public func run() throws -> Int {
        let plans = space.plans()
        let todo = pending(plans)
        let total = todo.count
        let excluded = plans.filter { if case .excluded = $0.outcome { return true } else { return false } }.count
        progress("explore: \(plans.count) points (\(excluded) excluded by constraints), \(total) to evaluate, \(jobs) jobs")
        let state = PoolState()
        let started = Date()
        let worker: @Sendable () -> Void = { [self] in
            while let index = state.next(limit: total) {
                do {
                    try evaluate(todo[index])
                } catch {
                    state.fail("point \(todo[index].hash): \(error)")
                }
                let done = state.finish()
                let elapsed = Date().timeIntervalSince(started)
                let eta = done < total ? elapsed / Double(done) * Double(total - done) : 0
                progress(String(format: "explore: %d / %d points done, %.0f s elapsed, ETA %.0f s", done, total, elapsed, eta))
            }
        }
        let group = DispatchGroup()
        for _ in 0 ..< min(jobs, max(total, 1)) {
            group.enter()
            let runner = Thread {
                worker()
                group.leave()
            }
            runner.stackSize = 16 << 20
            runner.start()
        }
        group.wait()
        if let failure = state.failure { throw ExploreError(message: failure) }
        return total
    }

    /// The point results of the space, in point order (one per configuration), with the
    /// excluded points; nil entries for points not evaluated yet.
    public func results() -> (plans: [PointPlan], results: [PointResult?]) {
        _ = pending(space.plans())  // brings older model areas up to date
        var seen = Set<String>()
        let plans = space.plans().filter { plan in
            if case .excluded = plan.outcome { return true }
            return seen.insert(plan.hash).inserted
        }
        return (plans, plans.map { plan in
            if case .excluded = plan.outcome { return evaluator.evaluate(plan) }
            return output.finished(plan.hash, key: key)
        })
    }
}

public struct ExploreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The pool's shared counters.
final class PoolState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var done = 0
    private(set) var failure: String?

    func next(limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < limit else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    func finish() -> Int {
        lock.lock(); defer { lock.unlock() }
        done += 1
        return done
    }

    func fail(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        if failure == nil { failure = message }
    }
}

extension Explorer {
    /// Writes results.csv, results.json and report.html from the point files.
    @discardableResult
    /// `--verify pareto`: the Pareto rows of `tables` re-run on the RTL; writes verification.csv.
    public func verifyPareto(_ tables: ResultTables, testbenches: URL) throws -> [RTLVerification.Check] {
        let checks = RTLVerification(testbenches: testbenches).verifyPareto(tables, space: space, plans: results().plans, progress: progress)
        try output.writeFile("verification.csv", Data(RTLVerification.csv(checks).utf8))
        return checks
    }

    public func writeTables(title: String) throws -> ResultTables {
        let (plans, results) = self.results()
        let tables = ResultTables(space: space, plans: plans, results: results)
        try output.writeFile("results.csv", Data(tables.csv.utf8))
        try output.writeFile("results.json", tables.json)
        try output.writeFile("report.html", Data(ExploreReport.html(tables, title: title).utf8))
        return tables
    }
}
