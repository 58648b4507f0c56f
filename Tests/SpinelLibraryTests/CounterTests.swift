import Testing
import SpinelHDL
import SpinelSim

/// An independent model of a counter that counts increments from 0 to `limit - 1` and back to 0.
struct CounterModel {
    let limit: Int
    var value = 0

    /// High in a cycle where the counter wraps from `limit - 1` to 0.
    func wrap(increment: Bool) -> Bool { increment && value == limit - 1 }

    mutating func step(increment: Bool) {
        if increment { value = (value + 1) % limit }
    }
}

@Suite("WrappingCounter under Verilator against a model")
struct CounterTests {
    @Test(arguments: [1, 8, 12])
    func randomIncrements(limit: Int) throws {
        let design = try Elaborator.elaborate(WrappingCounter(limit: limit))
        let sim = try VerilatorSimulation(design)
        let seed = SeededGenerator.testSeed(0xC0_0000 + UInt64(limit))
        var random = SeededGenerator(seed: seed)
        var model = CounterModel(limit: limit)
        var wraps = 0
        sim.poke("increment", false)
        sim.reset()
        for cycle in 0..<10_000 {
            // Phases: counting every cycle, rarely, and at random.
            let phase = (cycle / 300) % 3
            let increment = phase == 0 ? true : random.chance(phase == 1 ? 0.1 : 0.6)
            sim.poke("increment", increment)
            sim.eval()
            let context = "\(design.top.name), seed \(seed), cycle \(cycle)"
            try #require(sim.peek("value") == UInt64(model.value), "value: \(context)")
            try #require(sim.peekBool("wrap") == model.wrap(increment: increment), "wrap: \(context)")
            if model.wrap(increment: increment) { wraps += 1 }
            model.step(increment: increment)
            sim.tick()
        }
        try #require(wraps > 100, "the counter wrapped only \(wraps) times: seed \(seed)")
    }
}
