import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelSim

/// `spinel bench --utilization`: the utilization sweep (docs/PERFORMANCE.md). Runs
/// `Testbenches/sweep_matmul.c` for every size × dataflow × memory latency on one
/// configuration, each run checking every element of C, and reports
/// MACs / (DIM² · cycles) as a table on standard output, JSON and CSV.
struct UtilizationSweep {
    struct Size: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var description: String { "\(m)x\(n)x\(k)" }
    }

    struct Row: Encodable {
        var m: Int, n: Int, k: Int
        var mode: String
        var latency: Int
        var bytesPerCycle: Int
        var cycles: Int
        var macs: Double
        var utilization: Double
        var passed: Bool
        var wallSeconds: Double
    }

    struct Report: Encodable {
        var configuration: String
        var dim: Int
        var testbench: String
        var command: String
        var rows: [Row]
    }

    /// The sweep of `make bench`: squares 64…1024 and three rectangles.
    static let defaultSizes = "64x64x64,128x128x128,256x256x256,512x512x512,1024x1024x1024,1024x256x512,256x1024x128,512x128x1024"

    static func parseSizes(_ text: String) throws -> [Size] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--sizes: \"\(item)\" is not MxNxK")
            }
            return Size(m: parts[0], n: parts[1], k: parts[2])
        }
    }

    static func parseList(_ text: String, option: String) throws -> [Int] {
        try text.split(separator: ",").map {
            guard let value = Int($0), value > 0 else { throw ValidationError("\(option): \"\($0)\" is not a positive integer") }
            return value
        }
    }

    var accelerator: AcceleratorConfig
    var testbench: URL
    var sizes: [Size]
    var modes: [String]
    var latencies: [Int]
    var bytesPerCycle: Int
    var outputDirectory: URL
    var command: String

    /// Runs every case (a failing case is reported and the sweep goes on); writes
    /// utilization.json and utilization.csv; returns whether every case passed.
    func run() throws -> Bool {
        let inputs = try AcceleratorGeneration.simulationInputs(for: accelerator)
        let executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                     sources: [testbench], name: "sweep_matmul")
        let dim = accelerator.meshRows * accelerator.tileRows
        var rows: [Row] = []
        print("== utilization sweep: \(accelerator.name), \(testbench.lastPathComponent), \(bytesPerCycle) B/cycle")
        printHeader()
        flushOutput()
        for latency in latencies {
            for mode in modes {
                for size in sizes {
                    let clock = ContinuousClock()
                    var result: HarnessBuild.RunResult?
                    let wall = try clock.measure {
                        result = try HarnessBuild.run(executable.path, ["\(size.m)", "\(size.n)", "\(size.k)", mode],
                                                      environment: ["SPINEL_MEMORY_LATENCY": "\(latency)",
                                                                    "SPINEL_MEMORY_BYTES_PER_CYCLE": "\(bytesPerCycle)"])
                    }
                    let output = result!.standardOutput
                    let fields = output.split(separator: "\n").first { $0.hasPrefix("sweep ") }?.split(separator: " ") ?? []
                    let passed = result!.succeeded && output.contains("\nPASSED") && fields.count == 8
                    let cycles = fields.count == 8 ? Int(fields[5]) ?? 0 : 0
                    let macs = Double(size.m) * Double(size.n) * Double(size.k)
                    let row = Row(m: size.m, n: size.n, k: size.k, mode: mode, latency: latency, bytesPerCycle: bytesPerCycle,
                                  cycles: cycles, macs: macs,
                                  utilization: cycles > 0 ? macs / (Double(dim * dim) * Double(cycles)) : 0,
                                  passed: passed, wallSeconds: wall.seconds)
                    if !passed {
                        FileHandle.standardError.write(Data("sweep \(size) \(mode) latency \(latency) FAILED:\n\(output)\(result!.standardError)\n".utf8))
                    }
                    printRow(row)
                    flushOutput()
                    rows.append(row)
                }
            }
        }
        try write(Report(configuration: accelerator.name, dim: dim, testbench: testbench.lastPathComponent, command: command, rows: rows))
        return rows.allSatisfy(\.passed)
    }

    private func printHeader() {
        print("M     N     K     mode latency B/cycle     cycles   utilization  check   wall")
    }

    private func printRow(_ row: Row) {
        print(String(format: "%-5d %-5d %-5d ", row.m, row.n, row.k) + row.mode.padding(toLength: 4, withPad: " ", startingAt: 0)
              + String(format: " %7d %7d %10d %12.1f%%  ", row.latency, row.bytesPerCycle, row.cycles, 100 * row.utilization)
              + (row.passed ? "PASSED" : "FAILED") + String(format: " %5.1f s", row.wallSeconds))
    }

    private func write(_ report: Report) throws {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var json = try encoder.encode(report)
        json.append(contentsOf: "\n".utf8)
        let jsonURL = outputDirectory.appendingPathComponent("utilization.json")
        try json.write(to: jsonURL)
        var csv = "M,N,K,mode,latency,bytes_per_cycle,cycles,macs,utilization,passed,wall_seconds\n"
        for row in report.rows {
            csv += "\(row.m),\(row.n),\(row.k),\(row.mode),\(row.latency),\(row.bytesPerCycle),\(row.cycles),"
                + String(format: "%.0f,%.4f,", row.macs, row.utilization) + (row.passed ? "true" : "false")
                + String(format: ",%.1f\n", row.wallSeconds)
        }
        let csvURL = outputDirectory.appendingPathComponent("utilization.csv")
        try csv.write(to: csvURL, atomically: true, encoding: .utf8)
        print("wrote \(jsonURL.path) and \(csvURL.path)")
    }
}

/// Each row appears as soon as it is measured, also when the output is a pipe.
private func flushOutput() {
    fflush(nil)   // all output streams; naming `stdout` is not concurrency-safe in Swift 6
}
