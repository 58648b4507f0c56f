/// Rules for the names that reach Verilog.
public enum Naming {
    /// Verilog-2005 and SystemVerilog keywords (so output stays valid for either front end).
    static let keywords: Set<String> = [
        "always", "and", "assign", "automatic", "begin", "buf", "bufif0", "bufif1", "case", "casex", "casez", "cell",
        "cmos", "config", "deassign", "default", "defparam", "design", "disable", "edge", "else", "end", "endcase",
        "endconfig", "endfunction", "endgenerate", "endmodule", "endprimitive", "endspecify", "endtable", "endtask",
        "event", "for", "force", "forever", "fork", "function", "generate", "genvar", "highz0", "highz1", "if",
        "ifnone", "incdir", "include", "initial", "inout", "input", "instance", "integer", "join", "large",
        "liblist", "library", "localparam", "macromodule", "medium", "module", "nand", "negedge", "nmos", "nor",
        "noshowcancelled", "not", "notif0", "notif1", "or", "output", "parameter", "pmos", "posedge", "primitive",
        "pull0", "pull1", "pulldown", "pullup", "pulsestyle_onevent", "pulsestyle_ondetect", "rcmos", "real",
        "realtime", "reg", "release", "repeat", "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1", "scalared",
        "showcancelled", "signed", "small", "specify", "specparam", "strong0", "strong1", "supply0", "supply1",
        "table", "task", "time", "tran", "tranif0", "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg",
        "unsigned", "use", "uwire", "vectored", "wait", "wand", "weak0", "weak1", "while", "wire", "wor", "xnor", "xor",
        // SystemVerilog
        "alias", "always_comb", "always_ff", "always_latch", "assert", "assume", "before", "bind", "bins", "binsof",
        "bit", "break", "byte", "chandle", "class", "clocking", "const", "constraint", "context", "continue", "cover",
        "covergroup", "coverpoint", "cross", "dist", "do", "endclass", "endclocking", "endgroup", "endinterface",
        "endpackage", "endprogram", "endproperty", "endsequence", "enum", "expect", "export", "extends", "extern",
        "final", "first_match", "foreach", "forkjoin", "iff", "ignore_bins", "illegal_bins", "import", "inside",
        "int", "interface", "intersect", "join_any", "join_none", "local", "logic", "longint", "matches", "modport",
        "new", "null", "package", "packed", "priority", "program", "property", "protected", "pure", "rand", "randc",
        "randcase", "randsequence", "ref", "return", "sequence", "shortint", "shortreal", "solve", "static", "string",
        "struct", "super", "tagged", "this", "throughout", "timeprecision", "timeunit", "type", "typedef", "union",
        "unique", "var", "virtual", "void", "wait_order", "wildcard", "with", "within",
        // SystemVerilog 1800-2009 and 1800-2012 (Verilator reserves them: its default language is the newest)
        "accept_on", "checker", "endchecker", "eventually", "global", "implies", "let", "nexttime", "reject_on",
        "restrict", "s_always", "s_eventually", "s_nexttime", "s_until", "s_until_with", "strong", "sync_accept_on",
        "sync_reject_on", "unique0", "until", "until_with", "untyped", "weak",
        "implements", "interconnect", "nettype", "soft",
    ]

    /// Whether `name` is reserved by Verilog-2005 or SystemVerilog (up to 1800-2017).
    public static func isKeyword(_ name: String) -> Bool { keywords.contains(name) }

    /// Names the emitter declares itself in modules with state.
    public static let clock = "clock"
    public static let reset = "reset"

    public static let rule = "use letters, digits and single underscores, starting with a letter or `_` (no `$`, no `__`)"

    /// Whether `name` may appear in Verilog as written (keywords aside).
    public static func isLegal(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        guard !name.contains("__") else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// A keyword gets `_v` appended; anything else is kept exactly.
    public static func legalized(_ name: String) -> String {
        keywords.contains(name) ? name + "_v" : name
    }
}

/// Renames Verilog keywords used as names (`reg` becomes `reg_v`), in modules, signals,
/// memories, instances and port bindings alike.
public struct LegalizeKeywords: ElaborationPass {
    public let name = "legalize keywords"

    public func run(on design: inout Design) -> [Diagnostic] {
        for index in design.modules.indices {
            var module = design.modules[index]
            module.name = Naming.legalized(module.name)
            for s in module.signals.indices { module.signals[s].name = Naming.legalized(module.signals[s].name) }
            for m in module.memories.indices { module.memories[m].name = Naming.legalized(module.memories[m].name) }
            for i in module.instances.indices {
                module.instances[i].name = Naming.legalized(module.instances[i].name)
                module.instances[i].moduleName = Naming.legalized(module.instances[i].moduleName)
                for b in module.instances[i].bindings.indices {
                    module.instances[i].bindings[b].port = Naming.legalized(module.instances[i].bindings[b].port)
                }
            }
            design.modules[index] = module
        }
        return []
    }
}

/// Names are legal identifiers and unique in their module.
public struct NameCheck: ElaborationPass {
    public let name = "names"

    public func run(on design: inout Design) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for module in design.modules {
            var reserved: [(String, SourceLocation)] = []
            if module.needsClock { reserved.append((Naming.clock, module.location)) }
            if module.needsReset { reserved.append((Naming.reset, module.location)) }
            let named: [(String, SourceLocation)] = reserved
                + module.signals.map { ($0.name, $0.location) }
                + module.memories.map { ($0.name, $0.location) }
                + module.instances.map { ($0.name, $0.location) }
            var firstUse: [String: SourceLocation] = [:]
            for (name, location) in named {
                if !Naming.isLegal(name) {
                    diagnostics.append(Diagnostic(location, module: module.name, "'\(name)' is not a legal name", fix: Naming.rule))
                } else if let earlier = firstUse[name] {
                    let what = reserved.contains { $0.0 == name } ? "the module's implicit \(name) port" : "the one at \(earlier)"
                    diagnostics.append(Diagnostic(location, module: module.name, "name '\(name)' clashes with \(what)",
                                                  fix: "rename one of them (bundle fields join with `_`, so `a` + `b_c` and `a_b` + `c` clash)"))
                } else {
                    firstUse[name] = location
                }
            }
        }
        return diagnostics
    }
}
