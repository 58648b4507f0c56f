/// Two different modules may not share a Verilog name; module names must be identifiers.
public struct ModuleNameCheck: ElaborationPass {
    public let name = "module names"

    public init() {}

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics = design.nameCollisions.map { collision in
            Diagnostic(collision.second, module: collision.name,
                       "two different modules are named '\(collision.name)' (the other one is instantiated at \(collision.first))",
                       fix: "make `name` include the parameters in which they differ")
        }
        for module in design.modules where !Naming.isLegal(module.name) {
            diagnostics.append(Diagnostic(module.location, module: module.name, "module name '\(module.name)' is not a legal identifier",
                                          fix: Naming.rule))
        }
        return diagnostics
    }
}

/// Every literal fits the type it was given.
public struct LiteralFitCheck: ElaborationPass {
    public let name = "literal widths"

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for module in design.modules {
            module.forEachExpression { root in
                root.forEachNode { node in
                    guard case .literal(let value) = node.operation, node.width >= 1, !node.type.range.contains(value) else { return }
                    let range = node.type.range
                    diagnostics.append(Diagnostic(node.location, module: module.name,
                        "literal \(value) does not fit \(node.type) (\(range.lowerBound)...\(range.upperBound))",
                        fix: "widen the operand or target it is used with, or give the literal an explicit wider type with Signal.literal(_:_:)"))
                }
            }
        }
        return diagnostics
    }
}

/// Widths and signedness agree everywhere: operators, assignments, conditions, slices.
public struct WidthCheck: ElaborationPass {
    public let name = "widths"

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for module in design.modules {
            func report(_ location: SourceLocation, _ message: String, fix: String) {
                diagnostics.append(Diagnostic(location, module: module.name, message, fix: fix))
            }
            for signal in module.signals where signal.type.width < 1 {
                report(signal.location, "'\(signal.name)' has width \(signal.type.width)", fix: "give every signal at least one bit")
            }
            for memory in module.memories {
                if memory.width < 1 || memory.depth < 1 {
                    report(memory.location, "memory '\(memory.name)' has width \(memory.width) and depth \(memory.depth)", fix: "give a memory at least one bit and one word")
                }
                for port in memory.writePorts {
                    if let mask = port.mask, module.signals[mask].type.width * port.maskGranularity != memory.width {
                        report(memory.location, "write mask of memory '\(memory.name)' has \(module.signals[mask].type.width) bits, which do not divide its \(memory.width)-bit words into equal lanes",
                               fix: "use a mask with one bit per lane, where the lane width divides \(memory.width)")
                    }
                }
            }
            for signal in module.signals {
                guard case .register(let reset, let enable) = signal.kind else { continue }
                if let reset, reset.type != signal.type {
                    report(signal.location, "reset value of register '\(signal.name)' is \(reset.type), the register is \(signal.type)",
                           fix: Self.conversionFix(from: reset.type, to: signal.type))
                }
                if let enable, enable.width != 1 {
                    report(signal.location, "enable of register '\(signal.name)' has \(enable.width) bits", fix: "use a one-bit condition")
                }
            }
            module.forEachExpression { root in
                root.forEachNode { node in
                    if let problem = Self.problem(in: node) { report(node.location, problem.message, fix: problem.fix) }
                }
            }
            func walk(_ statements: [Statement]) {
                for statement in statements {
                    switch statement {
                    case .connect(let target, let value, let location):
                        let signal = module.signals[target]
                        if value.type != signal.type {
                            report(location, "width mismatch: assigning \(value.type) to '\(signal.name)' of type \(signal.type)",
                                   fix: Self.conversionFix(from: value.type, to: signal.type))
                        }
                    case .when(let condition, let then, let otherwise, let location):
                        if condition.width != 1 {
                            report(location, "when condition has \(condition.width) bits", fix: "compare it (=== / =/=) or reduce it (orReduce) to one bit")
                        }
                        walk(then)
                        walk(otherwise)
                    }
                }
            }
            walk(module.body)
        }
        return diagnostics
    }

    static func conversionFix(from source: HWType, to target: HWType) -> String {
        if source.isSigned != target.isSigned {
            return "convert with .\(target.isSigned ? "asSInt" : "asUInt") (and resize if the widths differ)"
        }
        if source.width > target.width {
            return "write .truncated(to: \(target.width)) to drop the high bits, or widen the target to \(source.width) bits"
        }
        return "write .extended(to: \(target.width)), or narrow the target to \(source.width) bits"
    }

    /// What is wrong with one node, judged from its operands' types.
    static func problem(in node: Expr) -> (message: String, fix: String)? {
        if node.width < 1 { return ("expression of width \(node.width)", "every value needs at least one bit") }
        switch node.operation {
        case .signal, .literal:
            return nil
        case .unary(let op, let operand):
            if (op == .not || op == .negate), operand.type != node.type {
                return ("operator \(op.rawValue) changes the type", "internal: report this")
            }
            return nil
        case .binary(let op, let lhs, let rhs):
            if op.isShift {
                if rhs.type.isSigned { return ("shift amount is \(rhs.type)", "shift by a UInt (use .asUInt)") }
                if rhs.width > 16 { return ("shift amount has \(rhs.width) bits", "truncate the amount to the bits that can matter") }
                return nil
            }
            if lhs.type.isSigned != rhs.type.isSigned {
                return ("operator \(op.rawValue) mixes \(lhs.type) and \(rhs.type)", "convert one side with .asUInt or .asSInt")
            }
            if lhs.width != rhs.width {
                let narrow = min(lhs.width, rhs.width), wide = max(lhs.width, rhs.width)
                return ("width mismatch: \(lhs.type) \(op.rawValue) \(rhs.type)",
                        "extend the narrower operand with .extended(to: \(wide)) or truncate the wider with .truncated(to: \(narrow))")
            }
            return nil
        case .mux(let condition, let whenTrue, let whenFalse):
            if condition.width != 1 { return ("mux condition has \(condition.width) bits", "use a one-bit condition") }
            if whenTrue.type != whenFalse.type {
                return ("mux branches differ: \(whenTrue.type) and \(whenFalse.type)", conversionFix(from: whenFalse.type, to: whenTrue.type))
            }
            return nil
        case .slice(let operand, let high, let low):
            if low < 0 || high < low || high >= operand.width {
                return ("bits(\(high), \(low)) is outside a \(operand.width)-bit value", "select bits between \(operand.width - 1) and 0, high first")
            }
            return nil
        case .concat(let parts):
            return parts.isEmpty ? ("empty concatenation", "concatenate at least one value") : nil
        case .extend(let operand):
            if node.width < operand.width {
                return ("extending \(operand.type) to \(node.width) bits would narrow it", "use .truncated(to: \(node.width)) to drop bits")
            }
            return nil
        case .reinterpret(let operand):
            return operand.width == node.width ? nil : ("reinterpreting \(operand.type) as \(node.type)", "internal: report this")
        }
    }
}
