import Foundation
import SpinelAccelerator
import SpinelSim

/// `spinel explore --verify pareto`: every Pareto-optimal point's workloads re-run on the
/// Verilated RTL of its configuration, the cycles the testbench measures against the timing
/// model's prediction. Any difference, or a run that cannot be made, is a failure.
public struct RTLVerification: Sendable {
    /// One point × workload checked on the RTL.
    public struct Check: Sendable, Codable, Hashable {
        public var hash: String
        public var workload: String
        public var predicted: UInt64
        public var measured: UInt64?
        /// Why there is no measurement (a build or run failure, an unreadable output).
        public var error: String?

        public var matches: Bool { measured == predicted && error == nil }
    }

    /// Where the workloads' testbenches are (`sweep_matmul.c`, `encoder_layer.c`).
    public var testbenches: URL

    public init(testbenches: URL) { self.testbenches = testbenches }

    /// The Pareto rows of `tables`, each simulated on its configuration's RTL, in table order.
    public func verifyPareto(_ tables: ResultTables, space: ExploreSpace, plans: [PointPlan],
                             progress: @Sendable (String) -> Void = { _ in }) -> [Check] {
        let rows = tables.rows.filter { $0.pareto }
        return rows.enumerated().map { number, row in
            let predicted = row.cycles ?? 0
            var check = Check(hash: row.hash, workload: row.workload ?? "", predicted: predicted)
            guard let workload = space.workloads.first(where: { $0.name == row.workload }),
                  let plan = plans.first(where: { $0.hash == row.hash }), case .valid(let parameters) = plan.outcome else {
                check.error = "the point or its workload is no longer in the space"
                return check
            }
            progress("verify: \(number + 1) / \(rows.count): \(parameters.name) \(row.hash) \(workload.name) on the RTL")
            do {
                check.measured = try measure(workload, on: parameters)
            } catch {
                check.error = "\(error)"
            }
            return check
        }
    }

    /// The cycles the workload's testbench reports on the Verilated RTL (fences included, as the
    /// prediction counts them).
    public func measure(_ workload: Workload, on parameters: AcceleratorParameters) throws -> UInt64 {
        let inputs = try AcceleratorGeneration.simulationInputs(for: parameters.config)
        let source = testbenches.appendingPathComponent(workload.testbench)
        try UserFiles.checkReadable(source.path, role: "testbench source")
        let name = (workload.testbench as NSString).deletingPathExtension
        let executable = try HarnessBuild.executable(verilog: inputs.verilog, top: inputs.top, harness: inputs.harness,
                                                     sources: [source], name: name)
        let run = try HarnessBuild.run(executable.path, workload.arguments, environment: [:])
        guard run.succeeded else {
            throw ExploreError(message: "\(workload.testbench) \(workload.arguments.joined(separator: " ")) on \(parameters.name) exited "
                               + "\(run.status):\n\(run.standardOutput)\(run.standardError)")
        }
        guard let cycles = Self.cycles(inOutput: run.standardOutput, of: workload.kind) else {
            throw ExploreError(message: "\(workload.testbench) on \(parameters.name) printed no cycle count:\n\(run.standardOutput)")
        }
        return cycles
    }

    /// The measured cycles in a testbench's output: `sweep M N K ws CYCLES …` (sweep_matmul.c) or
    /// `… (accelerator CYCLES simulated …` (encoder_layer.c).
    static func cycles(inOutput output: String, of kind: Workload.Kind) -> UInt64? {
        for line in output.split(separator: "\n") {
            switch kind {
            case .matmul:
                let fields = line.split(separator: " ")
                if fields.first == "sweep", fields.count > 5 { return UInt64(fields[5]) }
            case .encoder:
                if line.hasPrefix("encoder layer "), let after = line.split(separator: "(accelerator ").dropFirst().first {
                    return after.split(separator: " ").first.flatMap { UInt64($0) }
                }
            }
        }
        return nil
    }

    /// verification.csv: one row per check.
    public static func csv(_ checks: [Check]) -> String {
        (["hash,workload,predicted_cycles,rtl_cycles,verdict,error"] + checks.map { check in
            let error = (check.error ?? "").replacingOccurrences(of: "\"", with: "\"\"").replacingOccurrences(of: "\n", with: " ")
            return "\(check.hash),\(check.workload),\(check.predicted),\(check.measured.map(String.init) ?? ""),"
                + "\(check.matches ? "MATCH" : "MISMATCH"),\"\(error)\""
        }).joined(separator: "\n") + "\n"
    }
}
