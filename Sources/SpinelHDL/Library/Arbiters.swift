/// The shared IO of the arbiters: `inputs.count` producers compete for one consumer.
public struct ArbiterIO: Aggregate {
    public var inputs: [Decoupled<Signal>]
    public var output: Decoupled<Signal>
    /// Index of the input the output carries this cycle.
    public var chosen: Signal

    public func map(_ f: FieldMapper) -> ArbiterIO {
        ArbiterIO(inputs: f.input("in", inputs), output: f.output("out", output), chosen: f.output("chosen", chosen))
    }

    public init(inputs: [Decoupled<Signal>], output: Decoupled<Signal>, chosen: Signal) {
        self.inputs = inputs
        self.output = output
        self.chosen = chosen
    }

    init(count: Int, payload: HWType) {
        inputs = (0..<count).map { _ in Decoupled(Signal(payload)) }
        output = Decoupled(Signal(payload))
        chosen = Signal(.uint(HWType.addressWidth(for: count)))
    }
}

/// Drives `io.output` from input `chosen` and grants `ready` only to it.
private func connectChosen(_ m: ModuleBuilder, _ io: ArbiterIO, chosen: Signal) {
    io.chosen.set(chosen)
    io.output.valid.set(io.inputs.map(\.valid).reduce(false) { $0 || $1 })
    io.output.bits.set(select(io.inputs.map(\.bits), at: chosen))
    for (index, input) in io.inputs.enumerated() {
        input.ready.set(io.output.ready && chosen === Signal(BigInteger(index)))
    }
}

/// The valid input with the lowest index wins (Chisel's `Arbiter`).
public struct PriorityArbiter: Module {
    public let inputs: Int
    public let payload: HWType

    public init(inputs: Int, payload: HWType) {
        precondition(inputs >= 1, "an arbiter needs an input")
        self.inputs = inputs
        self.payload = payload
    }

    public var name: String { "PriorityArbiter_\(inputs)x\(payload.width)" }
    public var io: ArbiterIO { ArbiterIO(count: inputs, payload: payload) }

    public func build(_ m: ModuleBuilder, _ io: ArbiterIO) {
        let type = io.chosen.type!
        var chosen = Signal.literal(BigInteger(inputs - 1), type)
        for index in stride(from: inputs - 2, through: 0, by: -1) {
            chosen = mux(io.inputs[index].valid, Signal.literal(BigInteger(index), type), chosen)
        }
        connectChosen(m, io, chosen: m.wire("choice", type, default: chosen))
    }
}

/// Round robin: the first valid input after the one granted last wins (Chisel's `RRArbiter`),
/// so every waiting input is served within `inputs` transfers.
public struct RoundRobinArbiter: Module {
    public let inputs: Int
    public let payload: HWType

    public init(inputs: Int, payload: HWType) {
        precondition(inputs >= 1, "an arbiter needs an input")
        self.inputs = inputs
        self.payload = payload
    }

    public var name: String { "RoundRobinArbiter_\(inputs)x\(payload.width)" }
    public var io: ArbiterIO { ArbiterIO(count: inputs, payload: payload) }

    public func build(_ m: ModuleBuilder, _ io: ArbiterIO) {
        let type = io.chosen.type!
        let lastGrant = m.register("last_grant", type, reset: 0)
        // The lowest valid index overall, overridden by the lowest valid index above lastGrant
        // (the outermost mux, built last, is the lowest index).
        var chosen = Signal.literal(BigInteger(inputs - 1), type)
        for index in stride(from: inputs - 1, through: 0, by: -1) {
            chosen = mux(io.inputs[index].valid, Signal.literal(BigInteger(index), type), chosen)
        }
        for index in stride(from: inputs - 1, through: 1, by: -1) {
            let literal = Signal.literal(BigInteger(index), type)
            chosen = mux(io.inputs[index].valid && literal > lastGrant, literal, chosen)
        }
        let choice = m.wire("choice", type, default: chosen)
        connectChosen(m, io, chosen: choice)
        m.when(io.output.fire) { lastGrant.set(choice) }
    }
}
