/// Lowers a module body with `when` blocks into one expression per assigned signal: the value
/// a combinational signal takes, or the value a register takes at the next clock edge.
///
/// Later assignments override earlier ones; a `when` becomes a mux between what its branches
/// leave. A register not assigned on some path keeps its value (the mux selects the register
/// itself). The latch check has already proven combinational signals assigned on every path.
///
/// One table holds the values assigned so far on the path being expanded; a branch's
/// assignments are undone from a journal when the branch ends. Each statement is visited once,
/// so a body with thousands of `when`s expands in linear time (copying a per-branch map made it
/// quadratic: a DIM 64 accelerator spent most of its generation here).
struct ExpandedAssignments {
    /// Indexed by signal; nil for signals no statement assigns.
    var values: [Expr?]
    /// (signal, value before the assignment), for every assignment since the module began.
    private var journal: [(SignalID, Expr?)] = []

    init(_ module: ModuleIR) {
        values = Array(repeating: nil, count: module.signals.count)
        expand(module.body, signals: module.signals)
        journal = []
    }

    private mutating func assign(_ target: SignalID, _ value: Expr) {
        journal.append((target, values[target]))
        values[target] = value
    }

    /// Runs `statements` (a branch) on the current table; returns what it assigned, by signal
    /// in ascending order, and restores the table to its state before the branch.
    private mutating func branch(_ statements: [Statement], signals: [SignalDecl]) -> [SignalID: Expr] {
        let mark = journal.count
        expand(statements, signals: signals)
        var assigned: [SignalID: Expr] = [:]
        for (target, _) in journal[mark...] where assigned[target] == nil {
            assigned[target] = values[target]
        }
        while journal.count > mark {
            let (target, previous) = journal.removeLast()
            values[target] = previous
        }
        return assigned
    }

    private mutating func expand(_ statements: [Statement], signals: [SignalDecl]) {
        for statement in statements {
            switch statement {
            case .connect(let target, let value, _):
                assign(target, value)
            case .when(let condition, let then, let otherwise, let location):
                let thenValues = branch(then, signals: signals)
                let otherwiseValues = branch(otherwise, signals: signals)
                for target in Set(thenValues.keys).union(otherwiseValues.keys).sorted() {
                    let before = values[target] ?? Expr(.signal(target), signals[target].type, at: signals[target].location)
                    let whenTrue = thenValues[target] ?? before
                    let whenFalse = otherwiseValues[target] ?? before
                    assign(target, whenTrue == whenFalse ? whenTrue
                        : Expr(.mux(condition: condition, whenTrue: whenTrue, whenFalse: whenFalse), signals[target].type, at: location))
                }
            }
        }
    }
}
