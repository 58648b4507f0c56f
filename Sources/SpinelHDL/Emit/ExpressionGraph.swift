/// A module's expressions as one graph: structurally equal subexpressions (same operation,
/// operands and type; where they were written does not count) are one node, and each node
/// knows how many places use it.
///
/// The emitter names a node that is used more than once and costs more than an operator or
/// two (`sharesName`), so that a condition shared by many registers (the `when` around an
/// array of them, say) is computed once on a wire instead of being repeated in every
/// register's next value. Simulators do not undo such repetition: Verilator compiles each copy.
struct ExpressionGraph {
    /// `Expr.Operation` with operands by node.
    enum Operation: Hashable {
        case signal(SignalID)
        case literal(BigInteger)
        case unary(UnaryOperator, Int)
        case binary(BinaryOperator, Int, Int)
        case mux(condition: Int, whenTrue: Int, whenFalse: Int)
        case slice(Int, high: Int, low: Int)
        case concat([Int])
        case extend(Int)
        case reinterpret(Int)

        var operands: [Int] {
            switch self {
            case .signal, .literal: []
            case .unary(_, let operand), .slice(let operand, _, _), .extend(let operand), .reinterpret(let operand): [operand]
            case .binary(_, let lhs, let rhs): [lhs, rhs]
            case .mux(let condition, let whenTrue, let whenFalse): [condition, whenTrue, whenFalse]
            case .concat(let parts): parts
            }
        }
    }

    struct Node {
        var operation: Operation
        var type: HWType
        /// Where the first of its equal expressions was written.
        var location: SourceLocation
        /// Operands' nodes and roots that refer to this node.
        var uses = 0
        var width: Int { type.width }
    }

    private struct Key: Hashable {
        var operation: Operation
        var type: HWType
    }

    /// Operands come before the nodes that use them.
    private(set) var nodes: [Node] = []
    private var index: [Key: Int] = [:]

    /// Operators a shared node must cost (operand nodes that get names of their own cost
    /// nothing) before it is named: below that, repeating it is cheaper to read than a name.
    static let sharingCost = 2

    /// Adds a root expression (one use); returns its node.
    mutating func add(_ expr: Expr) -> Int {
        let id = intern(expr)
        nodes[id].uses += 1
        return id
    }

    private mutating func intern(_ expr: Expr) -> Int {
        let operation: Operation
        switch expr.operation {
        case .signal(let id): operation = .signal(id)
        case .literal(let value): operation = .literal(value)
        case .unary(let op, let operand): operation = .unary(op, intern(operand))
        case .binary(let op, let lhs, let rhs): operation = .binary(op, intern(lhs), intern(rhs))
        case .mux(let condition, let whenTrue, let whenFalse):
            operation = .mux(condition: intern(condition), whenTrue: intern(whenTrue), whenFalse: intern(whenFalse))
        case .slice(let operand, let high, let low): operation = .slice(intern(operand), high: high, low: low)
        case .concat(let parts): operation = .concat(parts.map { intern($0) })
        case .extend(let operand): operation = .extend(intern(operand))
        case .reinterpret(let operand): operation = .reinterpret(intern(operand))
        }
        let key = Key(operation: operation, type: expr.type)
        if let id = index[key] { return id }
        for operand in operation.operands { nodes[operand].uses += 1 }
        nodes.append(Node(operation: operation, type: expr.type, location: expr.location))
        index[key] = nodes.count - 1
        return nodes.count - 1
    }

    /// The signal `node` reads as a whole (through reinterpretations), if it is one.
    func signal(read node: Int) -> SignalID? {
        switch nodes[node].operation {
        case .signal(let id): id
        case .reinterpret(let operand): signal(read: operand)
        default: nil
        }
    }

    /// The operand of a node that is its operand's bits unchanged (a reinterpretation, an
    /// extension or a slice to the same width): a name of the operand names it too.
    func sameBits(_ node: Int) -> Int? {
        switch nodes[node].operation {
        case .reinterpret(let operand): operand
        case .extend(let operand) where nodes[operand].width == nodes[node].width: operand
        case .slice(let operand, let high, let low) where low == 0 && high == nodes[operand].width - 1: operand
        default: nil
        }
    }

    /// Per node, whether the emitter puts it on a wire of its own because several places use it.
    /// Call once every root has been added.
    func sharedNodes() -> [Bool] {
        // A node that a slice or a sign extension reads gets a name in any case (a part of an
        // expression cannot be selected in Verilog-2005): every other use reads that name too.
        var named = Array(repeating: false, count: nodes.count)
        for node in nodes {
            switch node.operation {
            case .slice(let operand, let high, let low) where low > 0 || high < nodes[operand].width - 1:
                markNamed(operand, in: &named)
            case .extend(let operand) where nodes[operand].type.isSigned && nodes[operand].width < node.width:
                markNamed(operand, in: &named)
            default: break
            }
        }
        var shared = Array(repeating: false, count: nodes.count)
        var cost = Array(repeating: 0, count: nodes.count)
        for (id, node) in nodes.enumerated() {
            let operands = node.operation.operands.reduce(0) { $0 + (shared[$1] ? 0 : cost[$1]) }
            switch node.operation {
            case .signal, .literal: cost[id] = 0
            // Views of their operand: no operator of their own.
            case .reinterpret, .extend: cost[id] = operands
            // A slice of an expression goes through a wire anyway.
            case .slice: cost[id] = 0
            case .unary, .binary, .mux, .concat: cost[id] = 1 + operands
            }
            shared[id] = node.uses > 1 && (cost[id] >= Self.sharingCost || named[id])
        }
        return shared
    }

    /// Marks `node` and the nodes it views (`sameBits`): a name of one names them all.
    private func markNamed(_ node: Int, in named: inout [Bool]) {
        named[node] = true
        if let operand = sameBits(node) { markNamed(operand, in: &named) }
    }
}
