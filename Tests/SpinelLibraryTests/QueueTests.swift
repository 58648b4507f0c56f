import Testing
import SpinelHDL
import SpinelSim

/// An independent model of a ready/valid FIFO with Chisel's `pipe` and `flow` options.
struct FIFOModel {
    let capacity: Int
    let pipe: Bool
    let flow: Bool
    var contents: [UInt64] = []

    struct Outputs: Equatable {
        var enqReady: Bool
        var deqValid: Bool
        /// Only meaningful when `deqValid`.
        var deqBits: UInt64
        var count: Int
    }

    func outputs(enqValid: Bool, enqBits: UInt64, deqReady: Bool) -> Outputs {
        let full = contents.count == capacity
        return Outputs(enqReady: !full || (pipe && deqReady),
                       deqValid: !contents.isEmpty || (flow && enqValid),
                       deqBits: contents.first ?? enqBits,
                       count: contents.count)
    }

    mutating func step(enqValid: Bool, enqBits: UInt64, deqReady: Bool) {
        let now = outputs(enqValid: enqValid, enqBits: enqBits, deqReady: deqReady)
        let enqueue = enqValid && now.enqReady
        let dequeue = deqReady && now.deqValid
        if flow && contents.isEmpty && enqueue && dequeue { return }
        if dequeue { contents.removeFirst() }
        if enqueue { contents.append(enqBits) }
    }
}

/// Drives a FIFO-like module (`enq`/`deq` or `in`/`out` ports) and its model with random
/// traffic and random back-pressure, comparing every output in every cycle.
func checkAgainstFIFOModel(_ design: Design, model initial: FIFOModel, input: String, output: String, width: Int,
                           hasCount: Bool, cycles: Int = 10_000, seed: UInt64) throws {
    let sim = try VerilatorSimulation(design)
    var model = initial
    var random = SeededGenerator(seed: seed)
    sim.reset()
    for cycle in 0..<cycles {
        // Phases of heavy and light traffic so the queue fills and drains.
        let phase = (cycle / 200) % 3
        let enqValid = random.chance(phase == 0 ? 0.9 : phase == 1 ? 0.3 : 0.6)
        let deqReady = random.chance(phase == 0 ? 0.3 : phase == 1 ? 0.9 : 0.6)
        let bits = random.bits(width)
        sim.poke("\(input)_valid", enqValid)
        sim.poke("\(input)_bits", bits)
        sim.poke("\(output)_ready", deqReady)
        sim.eval()
        let expected = model.outputs(enqValid: enqValid, enqBits: bits, deqReady: deqReady)
        let context = "\(design.top.name), seed \(seed), cycle \(cycle)"
        try #require(sim.peekBool("\(input)_ready") == expected.enqReady, "\(input).ready: \(context)")
        try #require(sim.peekBool("\(output)_valid") == expected.deqValid, "\(output).valid: \(context)")
        if expected.deqValid {
            try #require(sim.peek("\(output)_bits") == expected.deqBits, "\(output).bits: \(context)")
        }
        if hasCount {
            try #require(sim.peek("count") == UInt64(expected.count), "count: \(context)")
        }
        model.step(enqValid: enqValid, enqBits: bits, deqReady: deqReady)
        sim.tick()
    }
}

@Suite("Queue under Verilator against a FIFO model")
struct QueueTests {
    @Test(arguments: [(1, false, false), (2, false, false), (3, false, false), (4, true, false), (5, false, true), (4, true, true)])
    func randomTraffic(entries: Int, pipe: Bool, flow: Bool) throws {
        let queue = Queue(entries: entries, payload: .uint(8), pipe: pipe, flow: flow)
        let design = try Elaborator.elaborate(queue)
        try checkAgainstFIFOModel(design, model: FIFOModel(capacity: entries, pipe: pipe, flow: flow),
                                  input: "enq", output: "deq", width: 8, hasCount: true,
                                  seed: SeededGenerator.testSeed(0x5EED_0000 + UInt64(entries)))
    }
}
