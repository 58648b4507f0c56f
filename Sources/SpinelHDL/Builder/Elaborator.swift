/// One problem found by elaboration: where, what, and what to change.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var module: String
    public var message: String
    public var fix: String

    public init(_ location: SourceLocation, module: String, _ message: String, fix: String) {
        self.location = location
        self.module = module
        self.message = message
        self.fix = fix
    }

    public var description: String {
        "\(location): error: \(message) (in module \(module))\n    fix: \(fix)"
    }
}

/// Elaboration failed; every diagnostic of the first failing pass is listed.
public struct ElaborationError: Error, CustomStringConvertible {
    public var pass: String
    public var diagnostics: [Diagnostic]

    public var description: String {
        "elaboration failed in pass '\(pass)' with \(diagnostics.count) error\(diagnostics.count == 1 ? "" : "s"):\n"
            + diagnostics.map(\.description).joined(separator: "\n")
    }
}

/// A step of elaboration after the modules are built: a check that reports diagnostics, or a
/// transform of the design. Passes run in `Elaborator.passes` order; the first one that reports
/// anything stops elaboration.
public protocol ElaborationPass: Sendable {
    var name: String { get }
    func run(on design: inout Design) -> [Diagnostic]
}

/// Turns a top module into a checked `Design`.
public final class Elaborator {
    /// The ordered passes: checks first, then the transforms that prepare emission.
    public static let passes: [any ElaborationPass] = [
        ModuleNameCheck(),
        LiteralFitCheck(),
        WidthCheck(),
        LegalizeKeywords(),
        NameCheck(),
        DriverCheck(),
        LatchCheck(),
        CombinationalLoopCheck(),
        DeduplicateModules(),
    ]

    private var definitions: [ModuleIR] = []
    private var nameByModule: [AnyHashable: String] = [:]
    /// Modules that share a name with an earlier, different one: reported by `ModuleNameCheck`.
    var nameCollisions: [(first: ModuleIR, second: ModuleIR)] = []

    private init() {}

    /// Builds `top` and everything it instantiates, then runs every pass.
    public static func elaborate<M: Module>(_ top: M, file: StaticString = #fileID, line: UInt = #line) throws -> Design {
        let elaborator = Elaborator()
        _ = elaborator.define(top, at: SourceLocation(file, line))
        var design = Design(modules: elaborator.definitions)
        for collision in elaborator.nameCollisions {
            design.nameCollisions.append(.init(first: collision.first.location, second: collision.second.location, name: collision.first.name))
        }
        for pass in passes {
            let diagnostics = pass.run(on: &design)
            if !diagnostics.isEmpty {
                throw ElaborationError(pass: pass.name, diagnostics: diagnostics)
            }
        }
        return design
    }

    /// Builds `module` unless an equal one was built already; returns its name.
    func define<M: Module>(_ module: M, at location: SourceLocation) -> String {
        if let name = nameByModule[AnyHashable(module)] { return name }
        let builder = ModuleBuilder(name: module.name, elaborator: self, location: location)
        let io = module.io.map(FieldMapper { leaf in
            guard let direction = leaf.direction else {
                preconditionFailure("\(leaf.field.templateLocation ?? location): port '\(leaf.name)' of module '\(module.name)' has no direction; mark it with input or output in the IO's map")
            }
            return builder.declare(leaf.name, leaf.field.templateType, direction == .input ? .input : .output,
                                   at: leaf.field.templateLocation ?? location)
        })
        module.build(builder, io)
        var ir = builder.finish()
        ir.needsClock = !ir.memories.isEmpty || ir.signals.contains { $0.isRegister }
        ir.needsReset = ir.signals.contains { if case .register(reset: .some, _) = $0.kind { true } else { false } }
        for instance in ir.instances {
            guard let child = definitions.first(where: { $0.name == instance.moduleName }) else { continue }
            ir.needsClock = ir.needsClock || child.needsClock
            ir.needsReset = ir.needsReset || child.needsReset
        }
        nameByModule[AnyHashable(module)] = ir.name
        if let existing = definitions.first(where: { $0.name == ir.name }) {
            if existing.structuralKey != ir.structuralKey {
                nameCollisions.append((existing, ir))
            }
        } else {
            definitions.append(ir)
        }
        return ir.name
    }
}

extension ModuleIR {
    /// The module with its name and every source location erased: equal keys mean the modules
    /// would emit the same hardware.
    var structuralKey: ModuleIR {
        var copy = self
        copy.name = ""
        copy.location = .unknown
        func erase(_ expr: Expr) -> Expr {
            var result = expr
            result.location = .unknown
            switch expr.operation {
            case .signal, .literal: break
            case .unary(let op, let operand): result.operation = .unary(op, erase(operand))
            case .binary(let op, let lhs, let rhs): result.operation = .binary(op, erase(lhs), erase(rhs))
            case .mux(let c, let t, let f): result.operation = .mux(condition: erase(c), whenTrue: erase(t), whenFalse: erase(f))
            case .slice(let operand, let high, let low): result.operation = .slice(erase(operand), high: high, low: low)
            case .concat(let parts): result.operation = .concat(parts.map(erase))
            case .extend(let operand): result.operation = .extend(erase(operand))
            case .reinterpret(let operand): result.operation = .reinterpret(erase(operand))
            }
            return result
        }
        func erase(_ statement: Statement) -> Statement {
            switch statement {
            case .connect(let target, let value, _):
                .connect(target: target, value: erase(value), location: .unknown)
            case .when(let condition, let then, let otherwise, _):
                .when(condition: erase(condition), then: then.map(erase), otherwise: otherwise.map(erase), location: .unknown)
            }
        }
        copy.signals = signals.map { signal in
            var erased = signal
            erased.location = .unknown
            if case .register(let reset, let enable) = signal.kind {
                erased.kind = .register(reset: reset.map(erase), enable: enable.map(erase))
            }
            return erased
        }
        copy.memories = memories.map { var m = $0; m.location = .unknown; return m }
        copy.instances = instances.map { var i = $0; i.location = .unknown; return i }
        copy.body = body.map(erase)
        return copy
    }
}
