/// No signal depends combinationally on itself, within a module or through instances.
///
/// Registers and synchronous memory reads break paths. An instance contributes the paths
/// from its inputs to its outputs, summarized when its module was checked (modules come in
/// dependency order).
public struct CombinationalLoopCheck: ElaborationPass {
    public let name = "combinational loops"

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        /// Per module: for each output port name, the input port names it depends on.
        var summaries: [String: [String: [String]]] = [:]
        for module in design.modules {
            let graph = Self.dependencies(of: module, summaries: summaries)
            if let cycle = Self.findCycle(graph) {
                let path = (cycle + [cycle[0]]).map { module.signals[$0].name }.joined(separator: " → ")
                let places = cycle.map { "\(module.signals[$0].name) at \(module.signals[$0].location)" }.joined(separator: "; ")
                diagnostics.append(Diagnostic(module.signals[cycle[0]].location, module: module.name,
                    "combinational loop: \(path) (\(places))",
                    fix: "break the loop with a register (m.delay or m.register), or remove one dependency"))
                continue
            }
            summaries[module.name] = Self.summary(of: module, graph: graph)
        }
        return diagnostics
    }

    /// For each signal, the signals it depends on combinationally.
    static func dependencies(of module: ModuleIR, summaries: [String: [String: [String]]]) -> [[SignalID]] {
        var graph = Array(repeating: [SignalID](), count: module.signals.count)
        func walk(_ statements: [Statement], conditions: [SignalID]) {
            for statement in statements {
                switch statement {
                case .connect(let target, let value, _):
                    guard !module.signals[target].isRegister else { continue }
                    graph[target].append(contentsOf: conditions)
                    value.forEachSignal { graph[target].append($0) }
                case .when(let condition, let then, let otherwise, _):
                    var inner = conditions
                    condition.forEachSignal { inner.append($0) }
                    walk(then, conditions: inner)
                    walk(otherwise, conditions: inner)
                }
            }
        }
        walk(module.body, conditions: [])
        for memory in module.memories {
            for port in memory.readPorts where port.latency == 0 {
                graph[port.data].append(port.address)
            }
        }
        for instance in module.instances {
            guard let summary = summaries[instance.moduleName] else { continue }
            let inputs = Dictionary(instance.bindings.filter(\.isInput).map { ($0.port, $0.signal) }, uniquingKeysWith: { a, _ in a })
            for binding in instance.bindings where !binding.isInput {
                for input in summary[binding.port] ?? [] {
                    if let signal = inputs[input] { graph[binding.signal].append(signal) }
                }
            }
        }
        return graph
    }

    /// A cycle as a list of signals, or nil. Iterative depth-first search (deep designs would
    /// overflow a recursive one).
    static func findCycle(_ graph: [[SignalID]]) -> [SignalID]? {
        enum State { case unvisited, open, done }
        var state = Array(repeating: State.unvisited, count: graph.count)
        for root in graph.indices where state[root] == .unvisited {
            var stack: [(node: SignalID, next: Int)] = [(root, 0)]
            state[root] = .open
            while let top = stack.last {
                if top.next < graph[top.node].count {
                    stack[stack.count - 1].next += 1
                    let successor = graph[top.node][top.next]
                    switch state[successor] {
                    case .open:
                        let start = stack.firstIndex { $0.node == successor }!
                        return stack[start...].map(\.node)
                    case .unvisited:
                        state[successor] = .open
                        stack.append((successor, 0))
                    case .done:
                        break
                    }
                } else {
                    state[top.node] = .done
                    stack.removeLast()
                }
            }
        }
        return nil
    }

    /// For each output port, the input ports it reaches combinationally.
    static func summary(of module: ModuleIR, graph: [[SignalID]]) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for output in module.signals.indices where module.signals[output].kind == .output {
            var seen = Set<SignalID>([output])
            var work = [output]
            var inputs: [String] = []
            while let node = work.popLast() {
                if module.signals[node].kind == .input { inputs.append(module.signals[node].name) }
                for next in graph[node] where seen.insert(next).inserted { work.append(next) }
            }
            result[module.signals[output].name] = inputs
        }
        return result
    }
}

/// Structurally identical modules with different names become one: the first name is kept
/// and instances of the others point at it.
public struct DeduplicateModules: ElaborationPass {
    public let name = "deduplicate modules"

    public func run(on design: inout Design) -> [Diagnostic] {
        var canonicalName: [String: String] = [:]
        var firstByKey: [ModuleIR: String] = [:]
        var kept: [ModuleIR] = []
        for var module in design.modules {
            for index in module.instances.indices {
                if let name = canonicalName[module.instances[index].moduleName] {
                    module.instances[index].moduleName = name
                }
            }
            let key = module.structuralKey
            if let existing = firstByKey[key], module.name != design.top.name {
                canonicalName[module.name] = existing
            } else {
                firstByKey[key] = module.name
                kept.append(module)
            }
        }
        design.modules = kept
        return []
    }
}
