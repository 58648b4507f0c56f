/// Who drives each signal of a module.
struct DriverMap {
    enum Driver: Equatable {
        case port
        case statements
        case instance(name: String, port: String)
        case memory(name: String)
    }

    var drivers: [[Driver]]
    /// Locations of the assignments to each signal, in order.
    var assignments: [[SourceLocation]]
    /// For signals bound to an instance input: the instance and port.
    var instanceInput: [SignalID: (instance: String, module: String, port: String)] = [:]

    init(_ module: ModuleIR) {
        drivers = module.signals.map { $0.kind == .input ? [.port] : [] }
        assignments = Array(repeating: [], count: module.signals.count)
        func walk(_ statements: [Statement]) {
            for statement in statements {
                switch statement {
                case .connect(let target, _, let location):
                    if assignments[target].isEmpty { drivers[target].append(.statements) }
                    assignments[target].append(location)
                case .when(_, let then, let otherwise, _):
                    walk(then)
                    walk(otherwise)
                }
            }
        }
        walk(module.body)
        for instance in module.instances {
            for binding in instance.bindings {
                if binding.isInput {
                    instanceInput[binding.signal] = (instance.name, instance.moduleName, binding.port)
                } else {
                    drivers[binding.signal].append(.instance(name: instance.name, port: binding.port))
                }
            }
        }
        for memory in module.memories {
            for port in memory.readPorts { drivers[port.data].append(.memory(name: memory.name)) }
        }
    }
}

/// Every signal has exactly one driver: outputs, wires and registers are driven, inputs are
/// not, instance inputs are connected, and no assignment is overridden unconditionally.
public struct DriverCheck: ElaborationPass {
    public let name = "drivers"

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for module in design.modules {
            let map = DriverMap(module)
            func report(_ location: SourceLocation, _ message: String, fix: String) {
                diagnostics.append(Diagnostic(location, module: module.name, message, fix: fix))
            }
            for (id, signal) in module.signals.enumerated() {
                let drivers = map.drivers[id]
                if signal.kind == .input, drivers.contains(.statements) {
                    report(map.assignments[id][0], "input port '\(signal.name)' is assigned inside its own module",
                           fix: "drive it from the parent, or make it an output")
                } else if drivers.isEmpty {
                    if let binding = map.instanceInput[id] {
                        report(signal.location, "input '\(binding.port)' of instance '\(binding.instance)' (module \(binding.module)) is not connected",
                               fix: "drive it, e.g. \(binding.instance).\(binding.port.split(separator: "_").joined(separator: ".")).set(…)")
                    } else {
                        let what = signal.kind == .output ? "output port" : signal.isRegister ? "register" : "wire"
                        report(signal.location, "\(what) '\(signal.name)' is never driven", fix: "assign it with .set(…), or remove it")
                    }
                } else if drivers.count > 1 {
                    let names = drivers.map { driver -> String in
                        switch driver {
                        case .port: "the module's input"
                        case .statements: "assignments at \(map.assignments[id].map(\.description).joined(separator: ", "))"
                        case .instance(let name, let port): "output '\(port)' of instance '\(name)'"
                        case .memory(let name): "memory '\(name)'"
                        }
                    }
                    // Point at the assignment when there is one: it is usually the line to change.
                    report(map.assignments[id].first ?? signal.location, "'\(signal.name)' has multiple drivers: \(names.joined(separator: " and "))",
                           fix: "keep one driver; route the others through a mux or a separate wire")
                }
            }
            for memory in module.memories where !memory.readPorts.isEmpty && memory.writePorts.isEmpty {
                report(memory.location, "memory '\(memory.name)' is read but never written, so every read is undefined",
                       fix: "add a write port (memories have no initial contents), or use a constant instead")
            }
            checkOverrides(module.body, module: module, report: report)
        }
        return diagnostics
    }

    /// Reports an unconditional assignment that overrides an earlier one in the same block
    /// (the earlier one would be dead). Returns the signals the block assigns.
    @discardableResult
    private func checkOverrides(_ statements: [Statement], module: ModuleIR,
                                report: (SourceLocation, String, String) -> Void) -> Set<SignalID> {
        var assigned: [SignalID: SourceLocation] = [:]
        for statement in statements {
            switch statement {
            case .connect(let target, _, let location):
                if let earlier = assigned[target] {
                    report(location, "'\(module.signals[target].name)' is assigned again unconditionally, overriding the assignment at \(earlier): two drivers",
                           "assign a default first and override it under when(…), or remove one assignment")
                }
                assigned[target] = location
            case .when(_, let then, let otherwise, let location):
                for target in checkOverrides(then, module: module, report: report).union(checkOverrides(otherwise, module: module, report: report))
                where assigned[target] == nil {
                    assigned[target] = location
                }
            }
        }
        return Set(assigned.keys)
    }
}

/// A combinational signal assigned in statements must be assigned on every path; otherwise
/// it would hold its value and synthesize to a latch.
public struct LatchCheck: ElaborationPass {
    public let name = "latches"

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for module in design.modules {
            let map = DriverMap(module)
            let complete = Self.definitelyAssigned(module.body)
            for (id, signal) in module.signals.enumerated()
            where !signal.isRegister && map.drivers[id] == [.statements] && !complete.contains(id) {
                diagnostics.append(Diagnostic(signal.location, module: module.name,
                    "'\(signal.name)' is not assigned on every path (first assigned at \(map.assignments[id][0])): it would be a latch",
                    fix: "give it a default (wire(…, default: …)) or assign it in every branch, including otherwise"))
            }
        }
        return diagnostics
    }

    static func definitelyAssigned(_ statements: [Statement]) -> Set<SignalID> {
        var result = Set<SignalID>()
        for statement in statements {
            switch statement {
            case .connect(let target, _, _):
                result.insert(target)
            case .when(_, let then, let otherwise, _):
                result.formUnion(definitelyAssigned(then).intersection(definitelyAssigned(otherwise)))
            }
        }
        return result
    }
}
