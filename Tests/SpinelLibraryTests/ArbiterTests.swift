import Testing
import SpinelHDL
import SpinelSim

/// An independent model of the arbiters' documented choice.
struct ArbiterModel {
    enum Policy: String, CustomStringConvertible, Sendable {
        /// The valid input with the lowest index wins.
        case priority
        /// The lowest valid index above the one granted last wins, else the lowest valid index.
        case roundRobin

        var description: String { rawValue }
    }

    let inputs: Int
    let policy: Policy
    /// The input granted by the last transfer (0 after reset).
    var lastGrant = 0

    /// The input to serve, or nil when no input is valid.
    func choice(valid: [Bool]) -> Int? {
        if policy == .roundRobin, let above = valid.indices.first(where: { valid[$0] && $0 > lastGrant }) {
            return above
        }
        return valid.firstIndex(of: true)
    }

    mutating func step(valid: [Bool], outReady: Bool) {
        if let chosen = choice(valid: valid), outReady { lastGrant = chosen }
    }
}

/// Drives an arbiter with well-behaved producers (a payload, once offered, stays until it is
/// taken) and a randomly stalling consumer, comparing every output in every cycle with the
/// model. For round robin it also checks the documented fairness: a waiting input is served
/// within `inputs` transfers.
func checkArbiter(_ design: Design, model initial: ArbiterModel, width: Int, cycles: Int = 10_000, seed: UInt64) throws {
    let sim = try VerilatorSimulation(design)
    var model = initial
    var random = SeededGenerator(seed: seed)
    let n = model.inputs
    var valid = [Bool](repeating: false, count: n)
    var bits = [UInt64](repeating: 0, count: n)
    /// Transfers of other inputs while input i has been waiting.
    var overtaken = [Int](repeating: 0, count: n)
    var transfers = [Int](repeating: 0, count: n)
    for index in 0..<n { sim.poke("in_\(index)_valid", false) }
    sim.reset()
    for cycle in 0..<cycles {
        // Phases of heavy and light traffic, each input with its own arrival rate.
        let phase = (cycle / 250) % 3
        for index in 0..<n where !valid[index] {
            let rate = (phase == 0 ? 0.9 : phase == 1 ? 0.2 : 0.5) * (1.0 - 0.1 * Double(index % 3))
            if random.chance(rate) {
                valid[index] = true
                bits[index] = random.bits(width)
            }
        }
        let outReady = random.chance(phase == 0 ? 0.4 : phase == 1 ? 0.9 : 0.7)
        for index in 0..<n {
            sim.poke("in_\(index)_valid", valid[index])
            // Garbage on idle inputs must not reach the output.
            sim.poke("in_\(index)_bits", valid[index] ? bits[index] : random.bits(width))
        }
        sim.poke("out_ready", outReady)
        sim.eval()

        let context = "\(design.top.name), seed \(seed), cycle \(cycle), valid \(valid), last grant \(model.lastGrant)"
        let chosen = model.choice(valid: valid)
        try #require(sim.peekBool("out_valid") == (chosen != nil), "out.valid: \(context)")
        if let chosen {
            try #require(sim.peek("chosen") == UInt64(chosen), "chosen: \(context)")
            try #require(sim.peek("out_bits") == bits[chosen], "out.bits: \(context)")
            for index in 0..<n {
                // Only the chosen input is granted, and only when the consumer is ready.
                try #require(sim.peekBool("in_\(index)_ready") == (outReady && index == chosen),
                             "in_\(index).ready: \(context)")
            }
            if outReady {
                transfers[chosen] += 1
                for index in 0..<n where index != chosen && valid[index] {
                    overtaken[index] += 1
                    if model.policy == .roundRobin {
                        try #require(overtaken[index] < n, "input \(index) starved: \(context)")
                    }
                }
                overtaken[chosen] = 0
            }
        } else {
            // Nothing may be granted a transfer when nothing is offered.
            for index in 0..<n {
                try #require(!(sim.peekBool("in_\(index)_ready") && valid[index]), "in_\(index) fired: \(context)")
            }
        }
        model.step(valid: valid, outReady: outReady)
        if let chosen, outReady { valid[chosen] = false }
        sim.tick()
    }
    // The stimulus must have exercised every input.
    for index in 0..<n {
        try #require(transfers[index] > cycles / (10 * n), "input \(index) transferred only \(transfers[index]) times: seed \(seed)")
    }
}

@Suite("Arbiters under Verilator against a model")
struct ArbiterTests {
    @Test(arguments: [1, 3, 4])
    func priority(inputs: Int) throws {
        let design = try Elaborator.elaborate(Arbiter(inputs: inputs, payload: .uint(8), policy: .priority))
        try checkArbiter(design, model: ArbiterModel(inputs: inputs, policy: .priority), width: 8,
                         seed: SeededGenerator.testSeed(0xA4B1_0000 + UInt64(inputs)))
    }

    @Test(arguments: [1, 3, 4])
    func roundRobin(inputs: Int) throws {
        let design = try Elaborator.elaborate(Arbiter(inputs: inputs, payload: .uint(8), policy: .roundRobin))
        try checkArbiter(design, model: ArbiterModel(inputs: inputs, policy: .roundRobin), width: 8,
                         seed: SeededGenerator.testSeed(0xA4B2_0000 + UInt64(inputs)))
    }
}
