/// A hardware module: a value whose properties are its parameters.
///
/// Swift `if` and `for` in `build` run at elaboration and generate hardware; `when`, `mux` and
/// `switch` build multiplexers. `name` must tell parameterizations apart (`Queue_4x8`): two
/// different modules with one name are an elaboration error.
public protocol Module: Hashable {
    associatedtype IO: Aggregate

    /// The Verilog module name; the type name unless a parameterized module says otherwise.
    var name: String { get }

    /// The ports: a template whose fields are marked `input`/`output` by its `map`.
    var io: IO { get }

    /// Describes the hardware, given the ports bound to this module.
    func build(_ m: ModuleBuilder, _ io: IO)
}

extension Module {
    public var name: String { String(describing: Self.self) }
}

/// Records one module's hardware while its `build` runs.
public final class ModuleBuilder {
    public internal(set) var ir: ModuleIR
    let elaborator: Elaborator
    /// Open statement blocks: the module body first, then one per open `when` branch.
    private var blocks: [[Statement]] = [[]]
    /// Conditions of the open `when` branches, for gating memory ports declared inside them.
    private var conditions: [Expr] = []
    private var temporaryCount = 0

    init(name: String, elaborator: Elaborator, location: SourceLocation) {
        ir = ModuleIR(name: name, location: location)
        self.elaborator = elaborator
    }

    /// The finished module.
    func finish() -> ModuleIR {
        precondition(blocks.count == 1, "module \(ir.name) finished inside a when block")
        ir.body = blocks[0]
        return ir
    }

    // MARK: Declarations

    @discardableResult
    func declare(_ name: String, _ type: HWType, _ kind: SignalDecl.Kind, at location: SourceLocation) -> Signal {
        ir.signals.append(SignalDecl(name: name, type: type, kind: kind, location: location))
        return Signal(Expr(.signal(ir.signals.count - 1), type, at: location), owner: self)
    }

    /// A name for a generated signal: `_` + `hint` + a number, stable for a given build.
    public func temporaryName(_ hint: String) -> String {
        temporaryCount += 1
        return "_\(hint)_\(temporaryCount)"
    }

    /// A combinational signal. Without `default` it must be assigned on every path.
    public func wire(_ name: String, _ type: HWType, default value: Signal? = nil,
                     file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let location = SourceLocation(file, line)
        let signal = declare(name, type, .wire, at: location)
        // The default holds on every path, even for a wire declared inside a `when`.
        if let value { connect(signal, value, at: location, topLevel: true) }
        return signal
    }

    /// A combinational signal of `value`'s type, `value` unless a `when` assigns it otherwise
    /// (`let flip = m.wire("flip", default: valid && changed)`).
    public func wire(_ name: String, default value: Signal, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        guard let type = value.type else {
            preconditionFailure("\(SourceLocation(file, line)): wire(\"\(name)\", default: …) of an integer literal has no type; write the type: wire(\"\(name)\", .uint(8), default: …)")
        }
        return wire(name, type, default: value, file: file, line: line)
    }

    /// `value` under the name `name`: a wire of the value's type that the Verilog reads wherever
    /// the value is used. A Swift `let` is invisible to the emitter; this is how a binding keeps
    /// its name (`let shift = m.named("shift_amount", mux(flip, io.shift, 0))`). The result
    /// cannot be assigned again.
    public func named(_ name: String, _ value: Signal, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        guard let type = value.type else {
            preconditionFailure("\(SourceLocation(file, line)): named(\"\(name)\", …) of an integer literal has no type; write Signal.literal(value, type)")
        }
        return Signal(wire(name, type, default: value, file: file, line: line).expr())
    }

    /// A combinational aggregate (a bundle or vector of wires) shaped like `template`.
    public func wire<T: Aggregate>(_ name: String, _ template: T, file: StaticString = #fileID, line: UInt = #line) -> T {
        let location = SourceLocation(file, line)
        return template.map(FieldMapper(root: name) { leaf in
            self.declare(leaf.name, leaf.field.templateType, .wire, at: location)
        })
    }

    /// A register updated at each rising clock edge (only when `enable` is high, if given),
    /// set to `reset` while the synchronous reset is asserted (if given). It keeps its value in
    /// a cycle where it is not assigned.
    public func register(_ name: String, _ type: HWType, reset: Signal? = nil, enable: Signal? = nil,
                         file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let location = SourceLocation(file, line)
        let kind = SignalDecl.Kind.register(reset: reset.map { $0.expr(as: type).stamped(location) },
                                            enable: enable.map { $0.expr(as: .bool).stamped(location) })
        return declare(name, type, kind, at: location)
    }

    /// An aggregate of registers without reset, shaped like `template`.
    public func register<T: Aggregate>(_ name: String, _ template: T, file: StaticString = #fileID, line: UInt = #line) -> T {
        let location = SourceLocation(file, line)
        return template.map(FieldMapper(root: name) { leaf in
            self.declare(leaf.name, leaf.field.templateType, .register(reset: nil, enable: nil), at: location)
        })
    }

    /// `value` delayed by `cycles` registers (reset to `reset` if given), named `name`, `name_1`, … or temporaries.
    public func delay(_ value: Signal, cycles: Int = 1, name: String? = nil, reset: Signal? = nil, enable: Signal? = nil,
                      file: StaticString = #fileID, line: UInt = #line) -> Signal {
        var current = value
        let type = value.expr().type
        for stage in 0..<cycles {
            let stageName = name.map { stage == 0 ? $0 : "\($0)_\(stage)" } ?? temporaryName("delay")
            let register = register(stageName, type, reset: reset, enable: enable, file: file, line: line)
            appendTopLevel(.connect(target: register.signalID!, value: current.expr(as: type).stamped(SourceLocation(file, line)),
                                    location: SourceLocation(file, line)))
            current = register
        }
        return current
    }

    // MARK: Statements

    /// Records `target := value` in the current block (or in the module body).
    func connect(_ target: Signal, _ value: Signal, at location: SourceLocation, topLevel: Bool = false) {
        guard let id = target.signalID, target.owner === self else {
            preconditionFailure("\(location): only a port, wire or register of module '\(ir.name)' can be assigned")
        }
        let expr = value.expr(as: ir.signals[id].type).stamped(location)
        if let owner = value.owner, owner !== self {
            preconditionFailure("\(location): a value of module '\(owner.ir.name)' assigned in module '\(ir.name)'")
        }
        blocks[topLevel ? 0 : blocks.count - 1].append(.connect(target: id, value: expr, location: location))
    }

    private func appendTopLevel(_ statement: Statement) {
        blocks[0].append(statement)
    }

    /// Connects two aggregates of the same shape field by field: unflipped fields flow from
    /// `source` to `sink`, flipped ones (such as `ready`) the other way.
    public func connect<T: Aggregate>(_ sink: T, from source: T, file: StaticString = #fileID, line: UInt = #line) {
        let location = SourceLocation(file, line)
        let sinkLeaves = sink.leaves
        let sourceLeaves = source.leaves
        precondition(sinkLeaves.count == sourceLeaves.count, "\(location): connected aggregates differ in shape")
        for (to, from) in zip(sinkLeaves, sourceLeaves) {
            if to.isFlipped {
                connect(from.field, to.field, at: location)
            } else {
                connect(to.field, from.field, at: location)
            }
        }
    }

    /// Runs `body` in a new block under `condition`; returns its statements.
    private func block(condition: Expr, _ body: () -> Void) -> [Statement] {
        blocks.append([])
        conditions.append(condition)
        body()
        conditions.removeLast()
        return blocks.removeLast()
    }

    /// Hardware in `body` takes effect only in cycles where `condition` (one bit) is high.
    /// Chain `.elsewhen` and `.otherwise` for the other cases.
    @discardableResult
    public func when(_ condition: Signal, file: StaticString = #fileID, line: UInt = #line, _ body: () -> Void) -> WhenChain {
        let location = SourceLocation(file, line)
        let expr = condition.expr(as: .bool).stamped(location)
        let statements = block(condition: expr, body)
        blocks[blocks.count - 1].append(.when(condition: expr, then: statements, otherwise: [], location: location))
        return WhenChain(builder: self, blockDepth: blocks.count - 1, index: blocks[blocks.count - 1].count - 1,
                         nesting: 0, previous: [expr])
    }

    /// Continues a `when` chain: builds the `otherwise` branch of the innermost `when`.
    fileprivate func extend(_ chain: WhenChain, condition: Expr?, location: SourceLocation, _ body: () -> Void) -> WhenChain {
        precondition(blocks.count - 1 == chain.blockDepth && blocks[chain.blockDepth].count - 1 == chain.index,
                     "\(location): elsewhen/otherwise must directly follow its when")
        let noneBefore = chain.previous.map { Expr(.unary(.not, $0), .bool, at: location) }
            .reduce(nil as Expr?) { all, next in all.map { Expr(.binary(.and, $0, next), .bool, at: location) } ?? next }!
        let branchCondition = condition.map { Expr(.binary(.and, noneBefore, $0), .bool, at: location) } ?? noneBefore
        let statements = block(condition: branchCondition, body)
        let branch: [Statement] = condition.map { [.when(condition: $0, then: statements, otherwise: [], location: location)] } ?? statements
        WhenChain.setInnermostOtherwise(&blocks[chain.blockDepth][chain.index], nesting: chain.nesting, to: branch)
        return WhenChain(builder: self, blockDepth: chain.blockDepth, index: chain.index,
                         nesting: chain.nesting + 1, previous: chain.previous + (condition.map { [$0] } ?? []))
    }

    /// A `when` chain comparing `selector` with constants: `s.on(1, 2) { … }`, then
    /// `s.otherwise { … }`.
    public func `switch`(_ selector: Signal, file: StaticString = #fileID, line: UInt = #line, _ body: (SwitchCases) -> Void) {
        let cases = SwitchCases(selector: selector)
        body(cases)
        var chain: WhenChain?
        for entry in cases.entries {
            let matches = entry.values.map { selector === $0 }.reduce(nil as Signal?) { all, next in all.map { $0 || next } ?? next }!
            if let previous = chain {
                chain = previous.elsewhen(matches, file: entry.file, line: entry.line, entry.body)
            } else {
                chain = when(matches, file: entry.file, line: entry.line, entry.body)
            }
        }
        if let otherwise = cases.otherwiseBody {
            if let chain { chain.otherwise(otherwise) } else { otherwise() }
        }
    }

    /// The AND of the conditions of the open `when` branches (nil at the top level).
    var activeCondition: Expr? {
        conditions.reduce(nil as Expr?) { all, next in all.map { Expr(.binary(.and, $0, next), .bool, at: next.location) } ?? next }
    }

    // MARK: Memories and instances

    /// A memory of `depth` words of `width` bits; add ports with `read` and `write`.
    public func memory(_ name: String, width: Int, depth: Int, file: StaticString = #fileID, line: UInt = #line) -> Memory {
        ir.memories.append(MemoryDecl(name: name, width: width, depth: depth, readPorts: [], writePorts: [],
                                      location: SourceLocation(file, line)))
        return Memory(builder: self, index: ir.memories.count - 1)
    }

    func addReadPort(memory index: Int, address: Signal, enable: Signal, latency: Int, location: SourceLocation) -> Signal {
        let decl = ir.memories[index]
        let prefix = "\(decl.name)_r\(decl.readPorts.count)"
        let addressWire = declare("\(prefix)_addr", .uint(decl.addressWidth), .wire, at: location)
        appendTopLevel(.connect(target: addressWire.signalID!, value: address.expr(as: .uint(decl.addressWidth)).stamped(location), location: location))
        var enableID: SignalID?
        if latency > 0 {
            let enableWire = declare("\(prefix)_en", .bool, .wire, at: location)
            appendTopLevel(.connect(target: enableWire.signalID!, value: gated(enable, at: location), location: location))
            enableID = enableWire.signalID
        }
        let data = declare("\(prefix)_data", .uint(decl.width), .wire, at: location)
        ir.memories[index].readPorts.append(.init(address: addressWire.signalID!, enable: enableID, data: data.signalID!, latency: latency))
        return data
    }

    func addWritePort(memory index: Int, address: Signal, data: Signal, enable: Signal, mask: Signal?, location: SourceLocation) {
        let decl = ir.memories[index]
        let prefix = "\(decl.name)_w\(decl.writePorts.count)"
        func port(_ suffix: String, _ type: HWType, _ value: Expr) -> SignalID {
            let wire = declare("\(prefix)_\(suffix)", type, .wire, at: location)
            appendTopLevel(.connect(target: wire.signalID!, value: value, location: location))
            return wire.signalID!
        }
        let addressID = port("addr", .uint(decl.addressWidth), address.expr(as: .uint(decl.addressWidth)).stamped(location))
        let enableID = port("en", .bool, gated(enable, at: location))
        let dataID = port("data", .uint(decl.width), data.expr(as: .uint(decl.width)).stamped(location))
        var maskID: SignalID?
        var granularity = decl.width
        if let mask {
            let maskExpr = mask.expr().stamped(location)
            granularity = decl.width / max(1, maskExpr.width)
            maskID = port("mask", .uint(maskExpr.width), maskExpr)
        }
        ir.memories[index].writePorts.append(.init(address: addressID, enable: enableID, data: dataID, mask: maskID,
                                                   maskGranularity: granularity))
    }

    /// `enable` AND the conditions of the open `when` branches.
    private func gated(_ enable: Signal, at location: SourceLocation) -> Expr {
        let expr = enable.expr(as: .bool).stamped(location)
        return activeCondition.map { Expr(.binary(.and, $0, expr), .bool, at: location) } ?? expr
    }

    /// An instance of `module` named `name`. Returns its ports as seen from here: drive the
    /// inputs, read the outputs.
    public func instance<M: Module>(_ name: String, _ module: M, file: StaticString = #fileID, line: UInt = #line) -> M.IO {
        let location = SourceLocation(file, line)
        let moduleName = elaborator.define(module, at: location)
        var bindings: [InstanceDecl.Binding] = []
        let io = module.io.map(FieldMapper(root: name) { leaf in
            let signal = self.declare(leaf.name, leaf.field.templateType, .wire, at: location)
            bindings.append(.init(port: leaf.path.dropFirst().joined(separator: "_"), signal: signal.signalID!,
                                  isInput: leaf.direction == .input))
            return signal
        })
        ir.instances.append(InstanceDecl(name: name, moduleName: moduleName, bindings: bindings, location: location))
        return io
    }
}

extension Signal {
    /// Drives this port, wire or register with `value` (in the current `when` branch). The
    /// types must match exactly; write `resized`, `truncated` or `asUInt` where they do not.
    public func set(_ value: Signal, file: StaticString = #fileID, line: UInt = #line) {
        guard let owner else {
            preconditionFailure("\(SourceLocation(file, line)): only a port, wire or register can be assigned")
        }
        owner.connect(self, value, at: SourceLocation(file, line))
    }

    var templateType: HWType {
        guard let type else { preconditionFailure("an aggregate field has no type") }
        return type
    }
}

/// The continuation of `ModuleBuilder.when`.
public struct WhenChain {
    let builder: ModuleBuilder
    let blockDepth: Int
    let index: Int
    /// How many `otherwise` branches deep the innermost `when` of the chain sits.
    let nesting: Int
    let previous: [Expr]

    /// Taken when no earlier condition of the chain holds and `condition` does.
    @discardableResult
    public func elsewhen(_ condition: Signal, file: StaticString = #fileID, line: UInt = #line, _ body: () -> Void) -> WhenChain {
        let location = SourceLocation(file, line)
        return builder.extend(self, condition: condition.expr(as: .bool).stamped(location), location: location, body)
    }

    /// Taken when no condition of the chain holds.
    public func otherwise(file: StaticString = #fileID, line: UInt = #line, _ body: () -> Void) {
        _ = builder.extend(self, condition: nil, location: SourceLocation(file, line), body)
    }

    static func setInnermostOtherwise(_ statement: inout Statement, nesting: Int, to branch: [Statement]) {
        guard case .when(let condition, let then, var otherwise, let location) = statement else {
            preconditionFailure("when chain lost its when")
        }
        if nesting == 0 {
            otherwise = branch
        } else {
            setInnermostOtherwise(&otherwise[0], nesting: nesting - 1, to: branch)
        }
        statement = .when(condition: condition, then: then, otherwise: otherwise, location: location)
    }
}

/// The cases of `ModuleBuilder.switch`.
public final class SwitchCases {
    struct Entry {
        var values: [Signal]
        var body: () -> Void
        var file: StaticString
        var line: UInt
    }

    let selector: Signal
    var entries: [Entry] = []
    var otherwiseBody: (() -> Void)?

    init(selector: Signal) { self.selector = selector }

    /// Taken when the selector equals one of `values` (and no earlier case matched).
    public func on(_ values: Signal..., file: StaticString = #fileID, line: UInt = #line, _ body: @escaping () -> Void) {
        entries.append(Entry(values: values, body: body, file: file, line: line))
    }

    /// Taken when no case matched.
    public func otherwise(_ body: @escaping () -> Void) {
        otherwiseBody = body
    }
}

/// A handle on a memory of a module under construction.
public struct Memory {
    let builder: ModuleBuilder
    let index: Int

    /// Adds a read port. Latency 0 reads combinationally (a register file); latency n ≥ 1
    /// returns the word addressed in an enabled cycle n cycles later and holds it otherwise.
    public func read(address: Signal, enable: Signal = true, latency: Int,
                     file: StaticString = #fileID, line: UInt = #line) -> Signal {
        builder.addReadPort(memory: index, address: address, enable: enable, latency: latency, location: SourceLocation(file, line))
    }

    /// Adds a write port: at the clock edge of a cycle where `enable` is high (inside any open
    /// `when`), writes `data` to `address`, only the lanes whose `mask` bit is set if a mask is given.
    public func write(address: Signal, data: Signal, enable: Signal, mask: Signal? = nil,
                      file: StaticString = #fileID, line: UInt = #line) {
        builder.addWritePort(memory: index, address: address, data: data, enable: enable, mask: mask, location: SourceLocation(file, line))
    }
}
