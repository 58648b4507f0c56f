/// The shared IO of the arbiters: `inputs.count` producers compete for one consumer.
@Bundle
public struct ArbiterIO: Aggregate {
    @Input("in") public var inputs: [Decoupled<Signal>]
    @Output("out") public var output: Decoupled<Signal>
    /// Index of the input the output carries this cycle.
    @Output public var chosen: Signal

    init(count: Int, payload: HWType) {
        inputs = (0..<count).map { _ in Decoupled(Signal(payload)) }
        output = Decoupled(Signal(payload))
        chosen = Signal(.uint(HWType.addressWidth(for: count)))
    }
}

/// Chooses one of several ready/valid producers for one consumer each cycle.
///
/// `priority`: the valid input with the lowest index wins (Chisel's `Arbiter`).
/// `roundRobin`: the first valid input after the one granted last wins (Chisel's `RRArbiter`),
/// so every waiting input is served within `inputs` transfers.
public struct Arbiter: Module {
    public enum Policy: String, Hashable, Sendable {
        case priority = "Priority"
        case roundRobin = "RoundRobin"
    }

    public let inputs: Int
    public let payload: HWType
    public let policy: Policy

    public init(inputs: Int, payload: HWType, policy: Policy) {
        precondition(inputs >= 1, "an arbiter needs an input")
        self.inputs = inputs
        self.payload = payload
        self.policy = policy
    }

    public var name: String { "\(policy.rawValue)Arbiter_\(inputs)x\(payload.width)" }
    public var io: ArbiterIO { ArbiterIO(count: inputs, payload: payload) }

    public func build(_ m: ModuleBuilder, _ io: ArbiterIO) {
        let type = io.chosen.type!
        func index(_ value: Int) -> Signal { Signal.literal(value, type) }
        // The lowest valid index (the outermost mux, built last, has the lowest index).
        var chosen = index(inputs - 1)
        for input in stride(from: inputs - 2, through: 0, by: -1) {
            chosen = mux(io.inputs[input].valid, index(input), chosen)
        }
        var lastGrant: Signal?
        if policy == .roundRobin {
            // Overridden by the lowest valid index above the last grant.
            let last = m.register("last_grant", type, reset: 0)
            for input in stride(from: inputs - 1, through: 1, by: -1) {
                chosen = mux(io.inputs[input].valid && index(input) > last, index(input), chosen)
            }
            lastGrant = last
        }
        let choice = m.wire("choice", type, default: chosen)
        io.chosen.set(choice)
        io.output.valid.set(io.inputs.map(\.valid).reduce(false) { $0 || $1 })
        io.output.bits.set(select(io.inputs.map(\.bits), at: choice))
        for (position, input) in io.inputs.enumerated() {
            input.ready.set(io.output.ready && choice === index(position))
        }
        if let lastGrant {
            m.when(io.output.fire) { lastGrant.set(choice) }
        }
    }
}
