/// Index of a signal in its module's `signals`.
public typealias SignalID = Int

/// One ground net of a module: a port, a wire or a register.
public struct SignalDecl: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case input
        case output
        case wire
        /// Updated at the rising clock edge; `reset` is its synchronous reset value (nil: none);
        /// `enable` gates every update.
        case register(reset: Expr?, enable: Expr?)
    }

    public var name: String
    public var type: HWType
    public var kind: Kind
    public var location: SourceLocation

    public var isPort: Bool { kind == .input || kind == .output }
    public var isRegister: Bool { if case .register = kind { true } else { false } }
}

/// A statement of the module body. `when` blocks follow last-connect semantics: a later
/// assignment under a condition overrides an earlier default.
public indirect enum Statement: Hashable, Sendable {
    case connect(target: SignalID, value: Expr, location: SourceLocation)
    case when(condition: Expr, then: [Statement], otherwise: [Statement], location: SourceLocation)
}

/// A memory: `depth` words of `width` bits. Read ports with latency 0 are combinational (a
/// register file); latency n ≥ 1 is a synchronous SRAM whose data appears n cycles after the
/// enabled read (read-before-write on the same address). Write ports apply in order, so on
/// the same address in one cycle the later port wins.
public struct MemoryDecl: Hashable, Sendable {
    public struct ReadPort: Hashable, Sendable {
        public var address: SignalID
        public var enable: SignalID?
        /// Driven by the memory.
        public var data: SignalID
        public var latency: Int
    }

    public struct WritePort: Hashable, Sendable {
        public var address: SignalID
        public var enable: SignalID
        public var data: SignalID
        /// One bit per `maskGranularity` bits of data, lowest lane first.
        public var mask: SignalID?
        public var maskGranularity: Int
    }

    public var name: String
    public var width: Int
    public var depth: Int
    public var readPorts: [ReadPort]
    public var writePorts: [WritePort]
    public var location: SourceLocation

    public var addressWidth: Int { HWType.addressWidth(for: depth) }
}

/// An instance of another module. Each port is bound to a signal of the parent: the parent
/// drives the signals bound to inputs; the instance drives those bound to outputs.
public struct InstanceDecl: Hashable, Sendable {
    public struct Binding: Hashable, Sendable {
        public var port: String
        public var signal: SignalID
        public var isInput: Bool
    }

    public var name: String
    public var moduleName: String
    public var bindings: [Binding]
    public var location: SourceLocation
}

/// One elaborated module: plain values, ordered as they were described.
public struct ModuleIR: Hashable, Sendable {
    public var name: String
    public var signals: [SignalDecl] = []
    public var memories: [MemoryDecl] = []
    public var instances: [InstanceDecl] = []
    public var body: [Statement] = []
    public var location: SourceLocation

    /// Whether the module has state, directly or through its instances; set by the elaborator.
    public var needsClock = false
    /// Whether any register, here or below, has a reset value; set by the elaborator.
    public var needsReset = false

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    public var ports: [SignalID] { signals.indices.filter { signals[$0].isPort } }
}

/// A whole elaborated design: its modules with every module after the ones it instantiates
/// (dependency order), the top one last.
public struct Design: Hashable, Sendable {
    /// Two different modules built under one name: reported by `ModuleNameCheck`.
    public struct NameCollision: Hashable, Sendable {
        public var first: SourceLocation
        public var second: SourceLocation
        public var name: String
    }

    public var modules: [ModuleIR]
    public var nameCollisions: [NameCollision] = []

    public init(modules: [ModuleIR]) { self.modules = modules }

    public var top: ModuleIR { modules[modules.count - 1] }

    public func module(named name: String) -> ModuleIR? {
        modules.first { $0.name == name }
    }
}

extension ModuleIR {
    /// Every expression of the module (assigned values, `when` conditions, register resets and
    /// enables), with the statement location that applies to it.
    public func forEachExpression(_ visit: (Expr) -> Void) {
        for signal in signals {
            if case .register(let reset, let enable) = signal.kind {
                reset.map(visit)
                enable.map(visit)
            }
        }
        func walk(_ statements: [Statement]) {
            for statement in statements {
                switch statement {
                case .connect(_, let value, _):
                    visit(value)
                case .when(let condition, let then, let otherwise, _):
                    visit(condition)
                    walk(then)
                    walk(otherwise)
                }
            }
        }
        walk(body)
    }
}
