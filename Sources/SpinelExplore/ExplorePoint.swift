import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL

/// One point of a space: the axis values, and the configuration they give (or why they give none).
public struct PointPlan: Sendable {
    public var index: Int
    public var assignment: [AxisValue]
    /// The configuration as JSON text (the base with the axis values written over it).
    public var configJSON: String
    public var hash: String
    public var outcome: Outcome

    public enum Outcome: Sendable {
        case valid(AcceleratorParameters)
        /// The configuration's own error (file reader or validation).
        case invalid(String)
        /// A constraint of the space excludes it.
        case excluded(String)
    }
}

public struct AxisValue: Sendable, Codable, Hashable {
    public var axis: String
    public var value: String
}

/// What one workload gave on one point.
public struct WorkloadResult: Sendable, Codable, Hashable {
    public var name: String
    public var cycles: UInt64?
    public var macs: Double
    /// MACs / (DIM² · cycles).
    public var utilization: Double?
    public var commands: Int?
    public var fences: Int?
    /// Cycles per stage (fence to fence, named by what the segment does), in program order merged by name.
    public var stages: [Stage]?
    public var error: String?

    public struct Stage: Sendable, Codable, Hashable {
        public var name: String
        public var cycles: UInt64
    }
}

/// The file `points/<hash>.json` holds: everything about one configuration.
public struct PointResult: Sendable, Codable, Hashable {
    public var hash: String
    public var assignment: [AxisValue]
    /// `ok` or `invalid`.
    public var status: String
    public var error: String?
    public var dim: Int?
    public var area: AreaEstimate?
    public var workloads: [WorkloadResult]
    /// Identifies what was evaluated (the workloads and the area source); a point file with
    /// another key is evaluated again.
    public var key: String
    /// `AreaModel.version` of the area (model area only): an older one is recomputed, the
    /// cycles kept.
    public var areaModelVersion: Int?
}

extension ExploreSpace {
    /// Every point, in order, with its configuration built and checked. Never throws for a
    /// bad point: its error is the outcome.
    public func plans() -> [PointPlan] {
        let baseObject = (try? JSONDecoder().decode(JSONTree.self, from: base.toJSON())) ?? .object([:])
        return assignments.enumerated().map { index, assignment in
            var object = baseObject
            for (axis, value) in assignment {
                for field in axis.fields { object.set(field, value) }
            }
            let text = object.text
            var hasher = StableHash()
            hasher.add(text)
            let values = assignment.map { AxisValue(axis: $0.axis.name, value: $0.value.description) }
            var plan = PointPlan(index: index, assignment: values, configJSON: text, hash: hasher.hex, outcome: .invalid(""))
            let config: AcceleratorConfig
            do {
                config = try AcceleratorConfig.fromJSON(Data(text.utf8), file: nil)
            } catch {
                plan.outcome = .invalid("\(error)")
                return plan
            }
            if case .object(let members) = object,
               let broken = constraints.first(where: { $0.holds(in: JSONTree.object(members).plain as? [String: Any] ?? [:]) == false }) {
                plan.outcome = .excluded(broken.text)
                return plan
            }
            do {
                let parameters = try config.parameters()
                plan.hash = parameters.hash
                plan.outcome = .valid(parameters)
            } catch {
                plan.outcome = .invalid("\(error)")
            }
            return plan
        }
    }

    /// The key a point file must carry to count as finished for this space.
    public func resultKey(area: String) -> String {
        var hasher = StableHash()
        hasher.add("explore-v1")
        hasher.add(area)
        for workload in workloads { hasher.add("\(workload.name) \(workload.kind.rawValue) \(workload.sizes)") }
        return hasher.hex
    }
}

/// Evaluates points: their workloads' cycles on the golden timing model, and their area.
public struct PointEvaluator: Sendable {
    public var space: ExploreSpace
    public var recorder: CommandRecorder
    /// `model` or `yosys`.
    public var area: String
    public var yosys: YosysArea?

    public init(space: ExploreSpace, recorder: CommandRecorder, area: String, yosys: YosysArea?) {
        self.space = space
        self.recorder = recorder
        self.area = area
        self.yosys = yosys
    }

    public func evaluate(_ plan: PointPlan) -> PointResult {
        let key = space.resultKey(area: area)
        switch plan.outcome {
        case .excluded(let rule):
            return PointResult(hash: plan.hash, assignment: plan.assignment, status: "excluded", error: "excluded by the constraint \(rule)",
                               workloads: [], key: key)
        case .invalid(let message):
            return PointResult(hash: plan.hash, assignment: plan.assignment, status: "invalid", error: message, workloads: [], key: key)
        case .valid(let parameters):
            var results: [WorkloadResult] = []
            for workload in space.workloads {
                var result = WorkloadResult(name: workload.name, macs: workload.macs)
                do {
                    let program = try recorder.record(workload, parameters: parameters)
                    let timing = FencedTiming.cycles(of: program, parameters: parameters)
                    result.cycles = timing.cycles
                    result.commands = timing.commands
                    result.fences = timing.fences
                    result.stages = timing.stages.map { WorkloadResult.Stage(name: $0.name, cycles: $0.cycles) }
                    result.utilization = workload.macs / (Double(parameters.dim * parameters.dim) * Double(max(timing.cycles, 1)))
                } catch {
                    result.error = "\(error)"
                }
                results.append(result)
            }
            var estimate: AreaEstimate?
            var error: String?
            if area == "yosys", let yosys {
                do { estimate = try yosys.estimate(parameters) } catch let failure { error = "area: \(failure)" }
            } else {
                estimate = AreaModel.estimate(parameters)
            }
            return PointResult(hash: plan.hash, assignment: plan.assignment, status: "ok", error: error, dim: parameters.dim,
                               area: estimate, workloads: results, key: key, areaModelVersion: area == "model" ? AreaModel.version : nil)
        }
    }
}

extension JSONTree {
    /// Writes `value` at `path` (`memory.latencyCycles`), creating the nested object if needed.
    mutating func set(_ path: String, _ value: JSONValue) {
        let parts = path.split(separator: ".").map(String.init)
        guard case .object(var members) = self else { return }
        let leaf: JSONTree
        switch value {
        case .integer(let number): leaf = .integer(number)
        case .string(let text): leaf = .string(text)
        case .bool(let flag): leaf = .flag(flag)
        }
        if parts.count == 1 {
            members[parts[0]] = leaf
        } else {
            var nested = members[parts[0]] ?? .object([:])
            if case .null = nested { nested = .object([:]) }
            nested.set(parts.dropFirst().joined(separator: "."), value)
            members[parts[0]] = nested
        }
        self = .object(members)
    }

    /// Compact JSON with sorted keys: the same tree always gives the same text.
    var text: String {
        switch self {
        case .object(let members):
            return "{" + members.keys.sorted().map { "\(JSONTree.string($0).text):\(members[$0]!.text)" }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .integer(let value): return "\(value)"
        case .number(let value): return "\(value)"
        case .string(let text):
            var escaped = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": escaped += "\\\""
                case "\\": escaped += "\\\\"
                case "\n": escaped += "\\n"
                default:
                    if scalar.value < 0x20 { escaped += String(format: "\\u%04x", scalar.value) } else { escaped.unicodeScalars.append(scalar) }
                }
            }
            return escaped + "\""
        case .flag(let flag): return flag ? "true" : "false"
        case .null: return "null"
        }
    }
}
