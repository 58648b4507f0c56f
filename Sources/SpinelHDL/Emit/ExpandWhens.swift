/// Lowers a module body with `when` blocks into one expression per assigned signal: the value
/// a combinational signal takes, or the value a register takes at the next clock edge.
///
/// Later assignments override earlier ones; a `when` becomes a mux between what its branches
/// leave. A register not assigned on some path keeps its value (the mux selects the register
/// itself). The latch check has already proven combinational signals assigned on every path.
struct ExpandedAssignments {
    /// Indexed by signal; nil for signals no statement assigns.
    var values: [Expr?]

    init(_ module: ModuleIR) {
        values = Array(repeating: nil, count: module.signals.count)
        let signals = module.signals
        func hold(_ id: SignalID) -> Expr {
            Expr(.signal(id), signals[id].type, at: signals[id].location)
        }
        /// The assignments `statements` make, given what was assigned before them (`outer`).
        func expand(_ statements: [Statement], outer: @escaping (SignalID) -> Expr?) -> [SignalID: Expr] {
            var local: [SignalID: Expr] = [:]
            for statement in statements {
                switch statement {
                case .connect(let target, let value, _):
                    local[target] = value
                case .when(let condition, let then, let otherwise, let location):
                    let snapshot = local
                    let current: (SignalID) -> Expr? = { snapshot[$0] ?? outer($0) }
                    let thenValues = expand(then, outer: current)
                    let otherwiseValues = expand(otherwise, outer: current)
                    for target in Set(thenValues.keys).union(otherwiseValues.keys).sorted() {
                        let before = current(target) ?? hold(target)
                        let whenTrue = thenValues[target] ?? before
                        let whenFalse = otherwiseValues[target] ?? before
                        local[target] = whenTrue == whenFalse ? whenTrue
                            : Expr(.mux(condition: condition, whenTrue: whenTrue, whenFalse: whenFalse), signals[target].type, at: location)
                    }
                }
            }
            return local
        }
        for (target, value) in expand(module.body, outer: { _ in nil }) {
            values[target] = value
        }
    }
}
