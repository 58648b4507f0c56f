import Testing
import SpinelHDL

// One test per elaboration check. Each test module carries a `LineProbe`; the deliberately
// bad call and `probe.mark()` share one source line, so the probe holds the line the
// diagnostic must point at.

private let testFile = "ErrorTests.swift"

/// Expects `error` to come from `pass` with exactly one diagnostic, located at `line` of this
/// file, whose message and fix contain the given fragments. Returns the diagnostic.
@discardableResult
private func expectDiagnostic(
    _ error: ElaborationError?, pass: String, line: Int, message: [String], fix: [String] = [],
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Diagnostic? {
    guard let error else {
        Issue.record("elaboration succeeded; expected an error from pass '\(pass)'", sourceLocation: sourceLocation)
        return nil
    }
    #expect(error.pass == pass, "\(error)", sourceLocation: sourceLocation)
    #expect(error.diagnostics.count == 1, "\(error)", sourceLocation: sourceLocation)
    guard let diagnostic = error.diagnostics.first else { return nil }
    #expect(line > 0, "the probe was not marked", sourceLocation: sourceLocation)
    #expect(diagnostic.location.line == line, "\(diagnostic)", sourceLocation: sourceLocation)
    #expect(diagnostic.location.fileID.hasSuffix("/" + testFile), "\(diagnostic.location.fileID)", sourceLocation: sourceLocation)
    #expect(diagnostic.location.description == "\(testFile):\(line)", sourceLocation: sourceLocation)
    for fragment in message {
        #expect(diagnostic.message.contains(fragment), "message \"\(diagnostic.message)\" lacks \"\(fragment)\"", sourceLocation: sourceLocation)
    }
    for fragment in fix {
        #expect(diagnostic.fix.contains(fragment), "fix \"\(diagnostic.fix)\" lacks \"\(fragment)\"", sourceLocation: sourceLocation)
    }
    #expect(error.description.contains("\(testFile):\(line): error: "), sourceLocation: sourceLocation)
    return diagnostic
}

// MARK: - Test modules

/// Assigns a mismatched value to an output, on the marked line; the other output is correct.
private struct AssignTo: Module {
    enum Case: Hashable { case wideToNarrow, narrowToWide, unsignedToSigned, bitwiseWidths, mixedSignedness }
    let which: Case
    let probe: LineProbe

    var name: String { "AssignTo" }

    var io: Ports {
        Ports(.input("u8", .uint(8)), .input("u4", .uint(4)), .input("u16", .uint(16)), .input("s8", .sint(8)),
              .output("out8", .uint(8)), .output("sout8", .sint(8)))
    }

    func build(_ m: ModuleBuilder, _ io: Ports) {
        switch which {
        case .wideToNarrow:
            io.out8.set(io.u16); probe.mark()
            io.sout8.set(io.s8)
        case .narrowToWide:
            io.out8.set(io.u4); probe.mark()
            io.sout8.set(io.s8)
        case .unsignedToSigned:
            io.out8.set(io.u8)
            io.sout8.set(io.u8); probe.mark()
        case .bitwiseWidths:
            io.out8.set(io.u8 & io.u4); probe.mark()
            io.sout8.set(io.s8)
        case .mixedSignedness:
            io.out8.set(io.u8)
            io.sout8.set(io.s8 +% io.u8); probe.mark()
        }
    }
}

private struct UndrivenOutput: Module {
    let probe: LineProbe
    var io: Ports {
        let ports = Ports(.input("a", .uint(8)), .output("used", .uint(8)),
                          .output("forgotten", .uint(8))); probe.mark()
        return ports
    }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        io.used.set(io.a)
    }
}

private struct UndrivenWire: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let w = m.wire("w", .uint(8)); probe.mark()
        io.out.set(io.a ^ w)
    }
}

private struct AssignsInput: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        io.out.set(io.a)
        io.a.set(3); probe.mark()
    }
}

private struct AssignedTwice: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .input("b", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        io.out.set(io.a); probe.mark("first")
        io.out.set(io.b); probe.mark()
    }
}

/// out = in, combinationally.
private struct PassThrough: Module {
    var io: Ports { Ports(.input("in", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) { io.out.set(io.in) }
}

/// out = in delayed by a register: no combinational path.
private struct Registered: Module {
    var io: Ports { Ports(.input("in", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) { io.out.set(m.delay(io.in, name: "stage")) }
}

private struct InstanceOutputAlsoAssigned: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let child = m.instance("child", PassThrough()); probe.mark("instance")
        child.in.set(io.a)
        child.out.set(io.a); probe.mark()
        io.out.set(child.out)
    }
}

private struct LatchInWhen: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("c", .bool), .input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let w = m.wire("w", .uint(8)); probe.mark()
        m.when(io.c) {
            w.set(io.a); probe.mark("assignment")
        }
        io.out.set(w)
    }
}

private struct LatchOnOutput: Module {
    let probe: LineProbe
    var io: Ports {
        let ports = Ports(.input("c", .bool), .input("d", .bool), .input("a", .uint(8)),
                          .output("out", .uint(8))); probe.mark()
        return ports
    }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        // Assigned in the `when` and the `elsewhen` but without an `otherwise`.
        m.when(io.c) { io.out.set(io.a) }.elsewhen(io.d) { io.out.set(0) }
    }
}

private struct WireLoop: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("x", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let a = m.wire("a", .uint(8)); probe.mark("a")
        let b = m.wire("b", .uint(8)); probe.mark("b")
        a.set(b +% io.x)
        b.set(a)
        io.out.set(a)
    }
}

private struct LoopThroughInstance: Module {
    let registered: Bool
    let probe: LineProbe
    var io: Ports { Ports(.input("x", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let back = m.wire("back", .uint(8)); probe.mark("back")
        let child = registered ? m.instance("child", Registered()) : m.instance("child", PassThrough()); probe.mark("child")
        child.in.set(back)
        back.set(child.out +% io.x)
        io.out.set(back)
    }
}

private struct UnconnectedInstanceInput: Module {
    let probe: LineProbe
    var io: Ports { Ports(.output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let child = m.instance("child", PassThrough()); probe.mark()
        io.out.set(child.out)
    }
}

private struct SameWireNameTwice: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let first = m.wire("w", .uint(8), default: io.a); probe.mark("first")
        let second = m.wire("w", .uint(8), default: first); probe.mark()
        io.out.set(second)
    }
}

/// A bundle `{ b: UInt<8> }`.
private struct Inner: Aggregate {
    var b: Signal
    func map(_ f: FieldMapper) -> Inner { Inner(b: f("b", b)) }
}

private struct BundleFlatteningClash: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        // The bundle wire `x` with field `b` flattens to `x_b`, the name of the next wire.
        let bundle = m.wire("x", Inner(b: Signal(.uint(8)))); probe.mark("first")
        let plain = m.wire("x_b", .uint(8)); probe.mark()
        bundle.b.set(io.a)
        plain.set(io.a)
        io.out.set(bundle.b ^ plain)
    }
}

private struct IllegalName: Module {
    let wireName: String
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let w = m.wire(wireName, .uint(8), default: io.a); probe.mark()
        io.out.set(w)
    }
}

private struct LiteralTooWide: Module {
    enum Case: Hashable { case operand, negativeToUInt, explicitLiteral, signedOperand }
    let which: Case
    let probe: LineProbe
    var io: Ports { Ports(.input("x8", .uint(8)), .input("s8", .sint(8)), .output("out", .uint(8)), .output("sout", .sint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        io.sout.set(io.s8)
        switch which {
        case .operand: io.out.set(io.x8 +% 300); probe.mark()
        case .negativeToUInt: io.out.set(-1); probe.mark()
        case .explicitLiteral: io.out.set(io.x8 ^ Signal.literal(BigInteger(256), .uint(8))); probe.mark()
        case .signedOperand:
            io.out.set(io.x8)
            m.when(io.s8 === 128) { io.out.set(0) }; probe.mark()
        }
    }
}

/// One name for two different parameterizations: the width is missing from `name`.
private struct Parameterized: Module {
    let width: Int
    var name: String { "Parameterized" }
    var io: Ports { Ports(.input("in", .uint(width)), .output("out", .uint(width))) }
    func build(_ m: ModuleBuilder, _ io: Ports) { io.out.set(io.in) }
}

private struct TwoModulesOneName: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(8)), .input("b", .uint(4)), .output("x", .uint(8)), .output("y", .uint(4))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let wide = m.instance("wide", Parameterized(width: 8)); probe.mark("first")
        let narrow = m.instance("narrow", Parameterized(width: 4)); probe.mark()
        wide.in.set(io.a)
        narrow.in.set(io.b)
        io.x.set(wide.out)
        io.y.set(narrow.out)
    }
}

/// Names that are Verilog keywords: a wire `reg`, a port `output` and an instance `module`.
private struct KeywordNames: Module {
    var io: Ports { Ports(.input("a", .uint(8)), .output("output", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let reg = m.wire("reg", .uint(8), default: io.a)
        let child = m.instance("module", PassThrough())
        child.in.set(reg)
        io.output.set(child.out)
    }
}

// MARK: - Tests

@Suite("Elaboration errors")
struct ErrorTests {
    @Test func widerValueAssignedToNarrowerTarget() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignTo(which: .wideToNarrow, probe: probe)), pass: "widths", line: probe.line(),
                         message: ["width mismatch", "UInt<16>", "'out8'", "UInt<8>"], fix: [".truncated(to: 8)"])
    }

    @Test func narrowerValueAssignedToWiderTarget() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignTo(which: .narrowToWide, probe: probe)), pass: "widths", line: probe.line(),
                         message: ["width mismatch", "UInt<4>", "'out8'", "UInt<8>"], fix: [".extended(to: 8)"])
    }

    @Test func unsignedValueAssignedToSignedTarget() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignTo(which: .unsignedToSigned, probe: probe)), pass: "widths", line: probe.line(),
                         message: ["UInt<8>", "'sout8'", "SInt<8>"], fix: [".asSInt"])
    }

    @Test func bitwiseOperatorWithDifferentWidths() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignTo(which: .bitwiseWidths, probe: probe)), pass: "widths", line: probe.line(),
                         message: ["width mismatch", "UInt<8> & UInt<4>"], fix: [".extended(to: 8)", ".truncated(to: 4)"])
    }

    @Test func operatorMixingSignedness() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignTo(which: .mixedSignedness, probe: probe)), pass: "widths", line: probe.line(),
                         message: ["operator +", "SInt<8>", "UInt<8>"], fix: [".asUInt", ".asSInt"])
    }

    @Test func undrivenOutput() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(UndrivenOutput(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["output port 'forgotten'", "never driven"], fix: [".set("])
    }

    @Test func memoryReadButNeverWritten() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(ReadOnlyMemory(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["memory 'rom'", "never written"], fix: ["write port"])
    }

    @Test func undrivenWire() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(UndrivenWire(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["wire 'w'", "never driven"], fix: [".set("])
    }

    @Test func inputAssignedInsideItsModule() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignsInput(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["input port 'a'", "assigned inside its own module"], fix: ["parent"])
    }

    @Test func unconditionalReassignment() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(AssignedTwice(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["'out'", "assigned again unconditionally", "\(testFile):\(probe.line("first"))"],
                         fix: ["when"])
    }

    /// The diagnostic points at the instance that declares `child_out` and names the stray
    /// assignment's line in its message.
    @Test func instanceOutputAlsoAssigned() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(InstanceOutputAlsoAssigned(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["'child_out' has multiple drivers", "\(testFile):\(probe.line())", "output 'out' of instance 'child'"],
                         fix: ["one driver"])
    }

    @Test func incompleteAssignmentInWhenIsALatch() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(LatchInWhen(probe: probe)), pass: "latches", line: probe.line(),
                         message: ["'w'", "not assigned on every path", "\(testFile):\(probe.line("assignment"))", "latch"],
                         fix: ["default", "otherwise"])
    }

    @Test func incompleteWhenElsewhenChainOnOutputIsALatch() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(LatchOnOutput(probe: probe)), pass: "latches", line: probe.line(),
                         message: ["'out'", "not assigned on every path", "latch"], fix: ["otherwise"])
    }

    @Test func combinationalLoopBetweenWires() {
        let probe = LineProbe()
        let diagnostic = expectDiagnostic(elaborationError(WireLoop(probe: probe)), pass: "combinational loops", line: probe.line("a"),
                                          message: ["combinational loop", "a → b → a"], fix: ["register"])
        #expect(diagnostic?.message.contains("a at \(testFile):\(probe.line("a")); b at \(testFile):\(probe.line("b"))") == true)
    }

    @Test func combinationalLoopThroughInstance() {
        let probe = LineProbe()
        let diagnostic = expectDiagnostic(elaborationError(LoopThroughInstance(registered: false, probe: probe)),
                                          pass: "combinational loops", line: probe.line("back"),
                                          message: ["combinational loop", "back → child_out → child_in → back"], fix: ["register"])
        #expect(diagnostic?.message.contains("child_in at \(testFile):\(probe.line("child"))") == true)
    }

    @Test func registeredInstanceBreaksTheLoop() throws {
        _ = try Elaborator.elaborate(LoopThroughInstance(registered: true, probe: LineProbe()))
    }

    @Test func unconnectedInstanceInput() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(UnconnectedInstanceInput(probe: probe)), pass: "drivers", line: probe.line(),
                         message: ["input 'in' of instance 'child'", "PassThrough", "not connected"], fix: ["child.in.set("])
    }

    @Test func twoWiresWithOneName() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(SameWireNameTwice(probe: probe)), pass: "names", line: probe.line(),
                         message: ["name 'w' clashes", "\(testFile):\(probe.line("first"))"], fix: ["rename"])
    }

    @Test func bundleFieldFlattensOntoAnotherName() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(BundleFlatteningClash(probe: probe)), pass: "names", line: probe.line(),
                         message: ["name 'x_b' clashes", "\(testFile):\(probe.line("first"))"], fix: ["rename", "`_`"])
    }

    @Test(arguments: ["a__b", "x$y", "9lives", "has space"])
    func illegalName(_ name: String) {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(IllegalName(wireName: name, probe: probe)), pass: "names", line: probe.line(),
                         message: ["'\(name)' is not a legal name"], fix: ["`$`", "`__`"])
    }

    @Test func literalTooWideForOperand() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(LiteralTooWide(which: .operand, probe: probe)), pass: "literal widths", line: probe.line(),
                         message: ["literal 300 does not fit UInt<8>", "0...255"], fix: ["Signal.literal"])
    }

    @Test func negativeLiteralAssignedToUInt() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(LiteralTooWide(which: .negativeToUInt, probe: probe)), pass: "literal widths", line: probe.line(),
                         message: ["literal -1 does not fit UInt<8>"])
    }

    @Test func explicitLiteralTooWideForItsType() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(LiteralTooWide(which: .explicitLiteral, probe: probe)), pass: "literal widths", line: probe.line(),
                         message: ["literal 256 does not fit UInt<8>"])
    }

    @Test func literalOutOfSignedRange() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(LiteralTooWide(which: .signedOperand, probe: probe)), pass: "literal widths", line: probe.line(),
                         message: ["literal 128 does not fit SInt<8>", "-128...127"])
    }

    @Test func twoDifferentModulesWithOneName() {
        let probe = LineProbe()
        expectDiagnostic(elaborationError(TwoModulesOneName(probe: probe)), pass: "module names", line: probe.line(),
                         message: ["two different modules are named 'Parameterized'", "\(testFile):\(probe.line("first"))"],
                         fix: ["name"])
    }

    @Test func keywordNamesAreLegalizedNotRejected() throws {
        let design = try Elaborator.elaborate(KeywordNames())
        let top = design.top
        #expect(top.signals.map(\.name) == ["a", "output_v", "reg_v", "module_in", "module_out"])
        #expect(top.instances.map(\.name) == ["module_v"])
        let files = VerilogEmitter().emit(design)
        let text = file("KeywordNames.v", in: files)
        #expect(text.contains("  output wire [7:0] output_v\n"))
        #expect(text.contains("  wire [7:0] reg_v;\n"))
        #expect(text.contains("  assign reg_v = a;\n"))
        #expect(text.contains("  PassThrough module_v (\n"))
        #expect(!text.contains(" reg;") && !text.contains(" reg ="))
        try expectLintClean(files)
    }
}

private struct ReadOnlyMemory: Module {
    let probe: LineProbe
    var io: Ports { Ports(.input("a", .uint(3)), .output("out", .uint(8))) }
    func build(_ m: ModuleBuilder, _ io: Ports) {
        let rom = m.memory("rom", width: 8, depth: 8); probe.mark()
        io.out.set(rom.read(address: io.a, latency: 0))
    }
}
