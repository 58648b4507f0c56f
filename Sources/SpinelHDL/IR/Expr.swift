/// A combinational expression over a module's signals.
///
/// Every node knows its result type and where it was written. Width rules (documented in
/// `docs/DSL.md`): `+%`/`-%` wrap at the operands' common width; widening `+&`/`-&` and `*`
/// are built from explicit extensions; comparisons and reductions give one bit; slices,
/// concatenations and extensions are explicit.
public struct Expr: Hashable, Sendable {
    public indirect enum Operation: Hashable, Sendable {
        case signal(SignalID)
        case literal(BigInteger)
        case unary(UnaryOperator, Expr)
        case binary(BinaryOperator, Expr, Expr)
        case mux(condition: Expr, whenTrue: Expr, whenFalse: Expr)
        /// Bits `high` down to `low` inclusive.
        case slice(Expr, high: Int, low: Int)
        /// Most significant part first, as in Verilog.
        case concat([Expr])
        /// Zero- or sign-extension (by the operand's signedness) to the node's width.
        case extend(Expr)
        /// The same bits read as another type of equal width.
        case reinterpret(Expr)
    }

    public var operation: Operation
    public var type: HWType
    public var location: SourceLocation

    public init(_ operation: Operation, _ type: HWType, at location: SourceLocation) {
        self.operation = operation
        self.type = type
        self.location = location
    }

    public var width: Int { type.width }

    /// The operands in order.
    public var children: [Expr] {
        switch operation {
        case .signal, .literal: []
        case .unary(_, let operand), .slice(let operand, _, _), .extend(let operand), .reinterpret(let operand): [operand]
        case .binary(_, let lhs, let rhs): [lhs, rhs]
        case .mux(let condition, let whenTrue, let whenFalse): [condition, whenTrue, whenFalse]
        case .concat(let parts): parts
        }
    }

    /// Calls `visit` on this node and every node below it, parents first.
    public func forEachNode(_ visit: (Expr) -> Void) {
        visit(self)
        for child in children { child.forEachNode(visit) }
    }

    /// The signals this expression reads.
    public func forEachSignal(_ visit: (SignalID) -> Void) {
        forEachNode { if case .signal(let id) = $0.operation { visit(id) } }
    }

    /// Replaces unknown locations in this tree by `location`.
    public func stamped(_ location: SourceLocation) -> Expr {
        guard !location.isUnknown else { return self }
        var copy = self
        if copy.location.isUnknown { copy.location = location }
        switch operation {
        case .signal, .literal: break
        case .unary(let op, let operand): copy.operation = .unary(op, operand.stamped(location))
        case .binary(let op, let lhs, let rhs): copy.operation = .binary(op, lhs.stamped(location), rhs.stamped(location))
        case .mux(let c, let t, let f): copy.operation = .mux(condition: c.stamped(location), whenTrue: t.stamped(location), whenFalse: f.stamped(location))
        case .slice(let operand, let high, let low): copy.operation = .slice(operand.stamped(location), high: high, low: low)
        case .concat(let parts): copy.operation = .concat(parts.map { $0.stamped(location) })
        case .extend(let operand): copy.operation = .extend(operand.stamped(location))
        case .reinterpret(let operand): copy.operation = .reinterpret(operand.stamped(location))
        }
        return copy
    }
}

public enum UnaryOperator: String, Hashable, Sendable {
    case not = "~"
    case negate = "-"
    case andReduce = "&"
    case orReduce = "|"
    case xorReduce = "^"

    public var isReduction: Bool { self == .andReduce || self == .orReduce || self == .xorReduce }
}

public enum BinaryOperator: String, Hashable, Sendable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case and = "&"
    case or = "|"
    case xor = "^"
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    /// Shift left by a signal amount, keeping the left operand's width.
    case shiftLeft = "<<"
    /// Shift right by a signal amount: logical for UInt, arithmetic for SInt.
    case shiftRight = ">>"

    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: true
        default: false
        }
    }

    public var isShift: Bool { self == .shiftLeft || self == .shiftRight }
}
