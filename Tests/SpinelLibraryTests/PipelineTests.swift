import Testing
import SpinelHDL
import SpinelSim

@Suite("Pipeline stages under Verilator against FIFO models")
struct PipelineTests {
    /// A pipeline register holds one payload and accepts a new one whenever it is empty or its
    /// payload leaves in the same cycle: a one-entry `pipe` queue.
    @Test(arguments: [1, 40])
    func pipelineRegister(width: Int) throws {
        let design = try Elaborator.elaborate(PipelineRegister(payload: .uint(width)))
        try checkAgainstFIFOModel(design, model: FIFOModel(capacity: 1, pipe: true, flow: false),
                                  input: "in", output: "out", width: width, hasCount: false,
                                  seed: SeededGenerator.testSeed(0x919E_0000 + UInt64(width)))
    }

    /// A skid buffer is a two-entry stage that never passes a payload through in the cycle it
    /// arrives and whose `in.ready` only says whether both entries are taken: a two-entry queue
    /// without `pipe` or `flow`.
    @Test(arguments: [1, 40])
    func skidBuffer(width: Int) throws {
        let design = try Elaborator.elaborate(SkidBuffer(payload: .uint(width)))
        try checkAgainstFIFOModel(design, model: FIFOModel(capacity: 2, pipe: false, flow: false),
                                  input: "in", output: "out", width: width, hasCount: false,
                                  seed: SeededGenerator.testSeed(0x5C1D_0000 + UInt64(width)))
    }

    /// The point of a skid buffer: no combinational path from the consumer's `ready` to the
    /// producer's `ready`, nor from the producer's `valid`/`bits` to the output. Under random
    /// traffic, flipping those inputs within a cycle must not change the outputs they must not
    /// reach.
    @Test func skidBufferCutsCombinationalPaths() throws {
        let width = 40
        let design = try Elaborator.elaborate(SkidBuffer(payload: .uint(width)))
        let sim = try VerilatorSimulation(design)
        let seed = SeededGenerator.testSeed(0x5C1D_C0DE)
        var random = SeededGenerator(seed: seed)
        sim.reset()
        var sawFull = false
        for cycle in 0..<10_000 {
            let phase = (cycle / 200) % 3
            let inValid = random.chance(phase == 0 ? 0.9 : phase == 1 ? 0.3 : 0.6)
            let outReady = random.chance(phase == 0 ? 0.3 : phase == 1 ? 0.9 : 0.6)
            let bits = random.bits(width)
            sim.poke("in_valid", inValid)
            sim.poke("in_bits", bits)
            sim.poke("out_ready", outReady)
            sim.eval()
            let inReady = sim.peekBool("in_ready")
            let outValid = sim.peekBool("out_valid")
            let outBits = sim.peek("out_bits")
            sawFull = sawFull || !inReady
            let context = "seed \(seed), cycle \(cycle)"

            sim.poke("out_ready", !outReady)
            sim.eval()
            try #require(sim.peekBool("in_ready") == inReady, "in.ready follows out.ready: \(context)")
            sim.poke("out_ready", outReady)
            sim.poke("in_valid", !inValid)
            sim.poke("in_bits", ~bits & 0xFF_FFFF_FFFF)
            sim.eval()
            try #require(sim.peekBool("out_valid") == outValid, "out.valid follows in.valid: \(context)")
            if outValid {
                try #require(sim.peek("out_bits") == outBits, "out.bits follows in: \(context)")
            }
            sim.poke("in_valid", inValid)
            sim.poke("in_bits", bits)
            sim.eval()
            sim.tick()
        }
        try #require(sawFull, "the buffer never filled: seed \(seed)")
    }
}
