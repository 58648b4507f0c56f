import Foundation

/// One row of results.csv / results.json: a point × a workload.
public struct ResultRow: Sendable, Codable, Hashable {
    public var point: Int
    public var hash: String
    public var assignment: [AxisValue]
    public var status: String
    public var workload: String?
    public var cycles: UInt64?
    public var macs: Double?
    public var utilization: Double?
    public var sramTransistors: Double?
    public var logicTransistors: Double?
    public var totalTransistors: Double?
    /// Pareto-optimal for its workload (area against cycles, both minimized).
    public var pareto: Bool
    public var error: String?
}

/// The tables of a run: built from the point files only, so a local and a Ray run of the same
/// space give the same bytes.
public struct ResultTables: Sendable {
    public var axes: [String]
    public var workloads: [String]
    public var rows: [ResultRow]
    public var results: [PointResult]
    /// Points not evaluated yet (a run that stopped early).
    public var missing: Int

    public init(space: ExploreSpace, plans: [PointPlan], results: [PointResult?]) {
        axes = space.axes.map(\.name)
        workloads = space.workloads.map(\.name)
        self.results = results.compactMap { $0 }
        missing = results.filter { $0 == nil }.count
        var rows: [ResultRow] = []
        // Rows are numbered by the point's place in the space's cross product.
        for (plan, result) in zip(plans, results) {
            guard let result else { continue }
            let number = plan.index
            if result.status != "ok" {
                rows.append(ResultRow(point: number, hash: result.hash, assignment: result.assignment, status: result.status, pareto: false,
                                      error: result.error))
                continue
            }
            for workload in result.workloads {
                rows.append(ResultRow(point: number, hash: result.hash, assignment: result.assignment, status: workload.error == nil ? "ok" : "failed",
                                      workload: workload.name, cycles: workload.cycles, macs: workload.macs, utilization: workload.utilization,
                                      sramTransistors: result.area?.sramTransistors, logicTransistors: result.area?.logicTransistors,
                                      totalTransistors: result.area?.totalTransistors, pareto: false, error: workload.error ?? result.error))
            }
        }
        for workload in workloads {
            let candidates = rows.indices.filter { rows[$0].workload == workload && rows[$0].cycles != nil && rows[$0].totalTransistors != nil }
            let front = Pareto.front(candidates.map { (area: rows[$0].totalTransistors!, cycles: Double(rows[$0].cycles!)) })
            for position in front { rows[candidates[position]].pareto = true }
        }
        self.rows = rows
    }

    public var csv: String {
        func quoted(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = [(["point", "hash"] + axes + ["status", "workload", "cycles", "macs", "utilization", "sram_transistors", "logic_transistors",
                                                  "total_transistors", "pareto", "error"]).joined(separator: ",")]
        for row in rows {
            var fields = ["\(row.point)", row.hash]
            fields += axes.map { axis in row.assignment.first { $0.axis == axis }?.value ?? "" }
            fields += [row.status, row.workload ?? "", row.cycles.map(String.init) ?? "", row.macs.map { String(format: "%.0f", $0) } ?? "",
                       row.utilization.map { String(format: "%.6f", $0) } ?? "",
                       row.sramTransistors.map { String(format: "%.0f", $0) } ?? "", row.logicTransistors.map { String(format: "%.0f", $0) } ?? "",
                       row.totalTransistors.map { String(format: "%.0f", $0) } ?? "", row.pareto ? "true" : "false",
                       (row.error ?? "").replacingOccurrences(of: "\n", with: " ")]
            lines.append(fields.map(quoted).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    struct Document: Encodable {
        var axes: [String]
        var workloads: [String]
        var missing: Int
        var rows: [ResultRow]
    }

    public var json: Data {
        (try? ExploreOutput.encode(Document(axes: axes, workloads: workloads, missing: missing, rows: rows))) ?? Data()
    }
}

public enum Pareto {
    /// Indices of the points no other point beats on both area and cycles (minimizing both;
    /// equal points are all on the front), in input order.
    public static func front(_ points: [(area: Double, cycles: Double)]) -> [Int] {
        points.indices.filter { i in
            !points.indices.contains { j in
                j != i && points[j].area <= points[i].area && points[j].cycles <= points[i].cycles
                    && (points[j].area < points[i].area || points[j].cycles < points[i].cycles)
            }
        }
    }
}
