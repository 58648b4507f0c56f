import Testing
import SpinelHDL

// The DSL's declare-once features against what they replace: a `@Bundle` maps to the leaves a
// hand-written `map` gave, a hardware enum emits the Verilog of hand-numbered states, and the
// literal and inferred-type conveniences emit what their long forms did.

// MARK: - @Bundle

@Bundle
private struct DeclaredIO: Aggregate {
    @Input("in") var request: Decoupled<AXI4Address>
    @Output("out") var results: [Valid<Signal>]
    @Flipped("resp") var response: Signal
    @Name("ws") var weightStationary: Signal
    var plain: Signal
    var description: String { "computed, not a field" }
}

/// The same IO with the `map` and `init` that `@Bundle` replaces.
private struct HandWrittenIO: Aggregate {
    var request: Decoupled<AXI4Address>
    var results: [Valid<Signal>]
    var response: Signal
    var weightStationary: Signal
    var plain: Signal

    func map(_ f: FieldMapper) -> HandWrittenIO {
        HandWrittenIO(request: f.input("in", request), results: f.output("out", results), response: f.flipped("resp", response),
                      weightStationary: f("ws", weightStationary), plain: f("plain", plain))
    }
}

/// Name, direction (under an output parent), flip and width of every leaf.
private func leafSummary<T: Aggregate>(_ value: T) -> [String] {
    var summary: [String] = []
    _ = value.map(FieldMapper(root: "io", direction: .output) { leaf in
        summary.append("\(leaf.name) \(leaf.direction.map { "\($0)" } ?? "-") \(leaf.isFlipped) \(leaf.field.width)")
        return leaf.field
    })
    return summary
}

@Suite struct BundleTests {
    let axi = AXI4Parameters(addressBits: 16, dataBits: 32, idBits: 2)

    @Test func bundleMapsToTheLeavesOfItsHandWrittenMap() {
        let results = [Valid(Signal(.uint(4))), Valid(Signal(.uint(4)))]
        let declared = DeclaredIO(request: Decoupled(AXI4Address(axi)), results: results, response: Signal(.bool),
                                  weightStationary: Signal(.bool), plain: Signal(.uint(3)))
        let handWritten = HandWrittenIO(request: Decoupled(AXI4Address(axi)), results: results, response: Signal(.bool),
                                        weightStationary: Signal(.bool), plain: Signal(.uint(3)))
        #expect(leafSummary(declared) == leafSummary(handWritten))
        #expect(leafSummary(declared).count == (2 + 5) + 2 * 2 + 3)
    }

    @Test func decoupledFlipsReadyOnly() {
        // Written out from the ready/valid convention, not from the code.
        #expect(leafSummary(Decoupled(Signal(.uint(8)))) == [
            "io_valid output false 1", "io_ready input true 1", "io_bits output false 8",
        ])
        #expect(leafSummary(Valid(Signal(.sint(5)))) == ["io_valid output false 1", "io_bits output false 5"])
    }

    @Test func bundleKeepsItsMemberwiseInit() {
        let bus = AXI4WriteResponse(id: Signal(.uint(2)), response: Signal(.uint(2)))
        #expect(bus.leaves.map(\.name) == ["id", "resp"])
    }

    // MARK: - Hardware enum, literals, inferred wires

    @Test func hardwareEnumTypeFitsItsCases() {
        #expect(SetState.type == .uint(2))
        #expect(Phase.type == .uint(3))
        #expect(Single.type == .uint(1))
    }

    @Test func hardwareEnumEmitsTheHandNumberedStateMachine() throws {
        let named = try emitFiles(StateMachine(numbered: false))
        let numbered = try emitFiles(StateMachine(numbered: true))
        #expect(file("StateMachine.v", in: named) == file("StateMachine.v", in: numbered))
        #expect(file("StateMachine.v", in: named).contains("reg  [1:0] state"))
        try expectLintClean(named)
    }

    @Test func integerAndInferredFormsEmitTheirLongForms() throws {
        let short = try emitFiles(Conveniences(long: false))
        let long = try emitFiles(Conveniences(long: true))
        #expect(file("Conveniences.v", in: short) == file("Conveniences.v", in: long))
    }
}

private enum SetState: Int, HardwareEnum { case free, accepted, reading, ready }
private enum Phase: Int, HardwareEnum { case idle, one, two, three, four }
private enum Single: Int, HardwareEnum { case only }

/// Free → accepted on `go`, → reading, → ready, → free on `done`: with the enum or with the
/// numbers 0…3 it replaces.
private struct StateMachine: Module {
    let numbered: Bool
    var name: String { "StateMachine" }
    var io: Ports { Ports(.input("go", .bool), .input("done", .bool), .output("busy", .bool), .output("ready", .bool)) }

    func build(_ m: ModuleBuilder, _ io: Ports) {
        if numbered {
            let state = m.register("state", .uint(2), reset: 0)
            m.when(state === 0 && io.go) { state.set(1) }
            m.when(state === 1) { state.set(2) }
            m.when(state === 2) { state.set(3) }
            m.when(state === 3 && io.done) { state.set(0) }
            io.busy.set(state =/= 0)
            io.ready.set(state === 3)
        } else {
            let state = m.register("state", SetState.self, reset: .free)
            m.when(state === SetState.free && io.go) { state.set(SetState.accepted) }
            m.when(state === SetState.accepted) { state.set(SetState.reading) }
            m.when(state === SetState.reading) { state.set(SetState.ready) }
            m.when(state === SetState.ready && io.done) { state.set(SetState.free) }
            io.busy.set(state =/= SetState.free)
            io.ready.set(state === SetState.ready)
        }
    }
}

/// `Signal(k)`, `Signal.literal(k, type)` and `wire(name, default:)` against the BigInteger and
/// explicit-type forms.
private struct Conveniences: Module {
    let long: Bool
    var name: String { "Conveniences" }
    var io: Ports { Ports(.input("x", .uint(4)), .output("hit", .bool), .output("sum", .uint(4))) }

    func build(_ m: ModuleBuilder, _ io: Ports) {
        let limit = 9, step = 3
        if long {
            let hit = m.wire("hit_w", .bool, default: io.x > Signal(BigInteger(limit)))
            io.hit.set(hit)
            io.sum.set(io.x +% Signal.literal(BigInteger(step), .uint(4)))
        } else {
            let hit = m.wire("hit_w", default: io.x > Signal(limit))
            io.hit.set(hit)
            io.sum.set(io.x +% Signal.literal(step, .uint(4)))
        }
    }
}
