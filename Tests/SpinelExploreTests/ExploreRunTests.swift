import Foundation
import SpinelAccelerator
import SpinelExplore
import Testing

/// A small space end to end through the local pool: point files, resume, deterministic tables,
/// and the report read back.
@Suite("Explore: a small space through the local pool")
struct ExploreRunTests {
    static let spaceText = """
        {"base": "transformer",
         "axes": [{"fields": ["meshRows", "meshColumns"], "values": [8, 16]}, {"field": "memory.latencyCycles", "values": [40, 100]},
                  {"field": "spBanks", "values": [4, 3]}],
         "workloads": [{"name": "matmul-64", "matmul": [64, 64, 64]}, {"name": "encoder-small", "encoder": [32, 64, 2, 128]}]}
        """

    @Test("points, resume, byte-identical tables, the report's plots")
    func smallSpace() throws {
        let space = try ExploreTestSupport.space(Self.spaceText)
        let out = ExploreTestSupport.temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: out) }
        let explorer = try ExploreTestSupport.explorer(space, out: out, jobs: 2)
        #expect(try explorer.run() == 8, "2 × 2 × 2 configurations, each its own hash")
        let tables = try explorer.writeTables(title: "test")
        let points = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("points").path).filter { $0.hasSuffix(".json") }
        #expect(points.count == 8)
        let valid = tables.results.filter { $0.status == "ok" }
        #expect(valid.count == 4, "spBanks 3 is invalid")
        for result in tables.results where result.status == "invalid" {
            #expect(result.error?.contains("spBanks") == true, "\(result.error ?? "")")
        }
        // Every valid point ran both workloads; a longer memory latency never makes them faster.
        for result in valid {
            #expect(result.workloads.allSatisfy { $0.cycles != nil && $0.error == nil }, "\(result.workloads)")
        }
        for workload in space.workloads.map(\.name) {
            for dim in ["8", "16"] {
                let cycles = valid.filter { $0.assignment[0].value == dim }.sorted { Int($0.assignment[1].value)! < Int($1.assignment[1].value)! }
                    .map { $0.workloads.first { $0.name == workload }!.cycles! }
                #expect(cycles.count == 2 && cycles[0] < cycles[1], "\(workload) DIM \(dim): latency 40 before 100: \(cycles)")
            }
        }

        // Resume: nothing left to do; the tables are the same bytes when written again.
        let csv = try Data(contentsOf: out.appendingPathComponent("results.csv"))
        let json = try Data(contentsOf: out.appendingPathComponent("results.json"))
        let again = try ExploreTestSupport.explorer(space, out: out, jobs: 1)
        #expect(try again.run() == 0)
        try again.writeTables(title: "test")
        #expect(try Data(contentsOf: out.appendingPathComponent("results.csv")) == csv)
        #expect(try Data(contentsOf: out.appendingPathComponent("results.json")) == json)

        // A deleted point file is evaluated again, and gives the same row.
        let first = valid[0].hash
        try FileManager.default.removeItem(at: out.appendingPathComponent("points/\(first).json"))
        #expect(try again.run() == 1)
        try again.writeTables(title: "test")
        #expect(try Data(contentsOf: out.appendingPathComponent("results.csv")) == csv)

        // The report: per workload one circle per valid point, the Pareto ones marked as the
        // dominance rule says (checked here by hand on the rows).
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(!html.contains("<script"), "self-contained, no scripts")
        for workload in space.workloads.map(\.name) {
            let rows = tables.rows.filter { $0.workload == workload }
            let circles = ReportReader.circles(in: html, plot: "pareto-plot", workload: workload)
            #expect(circles.count == valid.count)
            let expected = Set(rows.filter { row in
                !rows.contains { other in
                    other.totalTransistors! <= row.totalTransistors! && other.cycles! <= row.cycles!
                        && (other.totalTransistors! < row.totalTransistors! || other.cycles! < row.cycles!)
                }
            }.map(\.hash))
            #expect(Set(circles.filter { $0.pareto }.map(\.hash)) == expected, "\(workload)")
            #expect(!expected.isEmpty)
        }
        #expect(ReportReader.count(of: "class=\"util\"", in: html) == 2 * valid.count)
        try Self.render(out.appendingPathComponent("report.html"))
    }

    /// Headless Chromium draws the report into a PNG. Without Chromium the check cannot run, and
    /// fails saying how to install it (`make deps` does, or `apt-get install chromium`).
    static func render(_ report: URL) throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("no chromium at /usr/bin/chromium: the report's rendering cannot be checked; install it (make deps, or apt-get install chromium)")
            return
        }
        func screenshot(_ page: URL, _ png: URL) throws -> Data {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: chromium)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,2400",
                                 "--screenshot=\(png.path)", page.absoluteString]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "chromium exited \(process.terminationStatus)")
            return (try? Data(contentsOf: png)) ?? Data()
        }
        let folder = report.deletingLastPathComponent()
        let blank = folder.appendingPathComponent("blank.html")
        try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: blank)
        let drawn = try screenshot(report, folder.appendingPathComponent("report.png"))
        let empty = try screenshot(blank, folder.appendingPathComponent("blank.png"))
        // A PNG, and much more than a blank page of the same size compresses to: the plots drew.
        #expect(drawn.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        #expect(drawn.count > 2 * max(empty.count, 1), "report \(drawn.count) bytes, blank page \(empty.count) bytes")
    }
}

/// Reads the report's SVG back: the circles of one plot.
enum ReportReader {
    static func circles(in html: String, plot: String, workload: String) -> [(hash: String, pareto: Bool)] {
        guard let start = html.range(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"\(plot)\" data-workload=\"\(workload)\""),
              let end = html.range(of: "</svg>", range: start.upperBound ..< html.endIndex) else { return [] }
        let svg = html[start.lowerBound ..< end.upperBound]
        return svg.components(separatedBy: "<circle ").dropFirst().map { element in
            let pareto = element.hasPrefix("class=\"pareto\"")
            let hash = element.components(separatedBy: "data-hash=\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
            return (hash, pareto)
        }
    }

    static func count(of text: String, in html: String) -> Int { html.components(separatedBy: text).count - 1 }
}
