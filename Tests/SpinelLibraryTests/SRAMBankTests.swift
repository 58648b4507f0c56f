import Testing
import SpinelHDL
import SpinelSim

/// An independent model of a synchronous SRAM bank with a masked write port and a read port of
/// fixed latency. Lanes never written are unknown (nil) and are not compared.
struct SRAMBankModel {
    let rows: Int
    let lanes: Int
    let readLatency: Int
    var memory: [[UInt64?]]
    /// `inFlight[k]`: the row contents returned by the read issued `k + 1` cycles ago, if any.
    var inFlight: [[UInt64?]?]

    init(rows: Int, lanes: Int, readLatency: Int) {
        self.rows = rows
        self.lanes = lanes
        self.readLatency = readLatency
        memory = Array(repeating: Array(repeating: nil, count: lanes), count: rows)
        inFlight = Array(repeating: nil, count: readLatency)
    }

    /// The response visible this cycle: the read issued `readLatency` cycles ago.
    var response: [UInt64?]? { inFlight[readLatency - 1] }

    /// One clock edge. The read sees the memory before this cycle's write.
    mutating func step(readEnable: Bool, readAddress: Int,
                       writeEnable: Bool, writeAddress: Int, writeLanes: [UInt64], mask: [Bool]) {
        inFlight = [readEnable ? memory[readAddress] : nil] + inFlight.dropLast()
        if writeEnable {
            for lane in 0..<lanes where mask[lane] { memory[writeAddress][lane] = writeLanes[lane] }
        }
    }
}

@Suite("SRAMBank under Verilator against a model")
struct SRAMBankTests {
    struct Shape: CustomStringConvertible, Sendable {
        var rows: Int, lanes: Int, laneWidth: Int, readLatency: Int
        var description: String { "\(rows)x\(lanes)x\(laneWidth) latency \(readLatency)" }
    }

    @Test(arguments: [
        Shape(rows: 16, lanes: 4, laneWidth: 8, readLatency: 1),
        Shape(rows: 10, lanes: 3, laneWidth: 5, readLatency: 2),
        // A row wider than 64 bits.
        Shape(rows: 6, lanes: 3, laneWidth: 24, readLatency: 2),
        Shape(rows: 1, lanes: 1, laneWidth: 16, readLatency: 3),
    ])
    func randomReadsAndMaskedWrites(shape: Shape) throws {
        let bank = SRAMBank(rows: shape.rows, lanes: shape.lanes, laneWidth: shape.laneWidth, readLatency: shape.readLatency)
        let design = try Elaborator.elaborate(bank)
        let sim = try VerilatorSimulation(design)
        let seed = SeededGenerator.testSeed(0x5EA4_0000 + UInt64(shape.rows * 1000 + shape.lanes * 100 + shape.readLatency))
        var random = SeededGenerator(seed: seed)
        var model = SRAMBankModel(rows: shape.rows, lanes: shape.lanes, readLatency: shape.readLatency)
        let width = shape.laneWidth
        var lanesCompared = 0, responses = 0, sameRowCollisions = 0

        sim.poke("read_en", false)
        sim.poke("write_en", false)
        sim.reset()
        for cycle in 0..<10_000 {
            // Phases: mostly writes, mostly reads, and both busy.
            let phase = (cycle / 250) % 3
            let writeEnable = random.chance(phase == 0 ? 0.8 : phase == 1 ? 0.15 : 0.5)
            let readEnable = random.chance(phase == 0 ? 0.2 : phase == 1 ? 0.8 : 0.6)
            let writeAddress = Int(random.next() % UInt64(shape.rows))
            // Often read the row being written, to check that the read returns the old data.
            let readAddress = random.chance(0.3) ? writeAddress : Int(random.next() % UInt64(shape.rows))
            let writeLanes = (0..<shape.lanes).map { _ in random.bits(width) }
            let mask = random.chance(0.3) ? Array(repeating: true, count: shape.lanes)
                                          : (0..<shape.lanes).map { _ in random.chance(0.5) }
            var data = BigInteger.zero, maskBits: UInt64 = 0
            for lane in 0..<shape.lanes {
                data = data | (BigInteger(writeLanes[lane]) << (lane * width))
                if mask[lane] { maskBits |= 1 << UInt64(lane) }
            }
            if readEnable && writeEnable && readAddress == writeAddress && model.memory[readAddress].contains(where: { $0 != nil }) {
                sameRowCollisions += 1
            }

            sim.poke("read_en", readEnable)
            // Any address, even past the last row, while the read port is idle.
            sim.poke("read_addr", readEnable ? UInt64(readAddress) : random.bits(bank.addressWidth))
            sim.poke("write_en", writeEnable)
            sim.poke("write_addr", UInt64(writeAddress))
            sim.poke("write_data", data)
            sim.poke("write_mask", maskBits)
            sim.eval()

            let context = "\(design.top.name), seed \(seed), cycle \(cycle)"
            let expected = model.response
            try #require(sim.peekBool("read_resp_valid") == (expected != nil), "read.resp.valid: \(context)")
            if let expected {
                responses += 1
                let bits = sim.peekWide("read_resp_bits")
                for lane in 0..<shape.lanes {
                    guard let value = expected[lane] else { continue }
                    let actual = (bits >> (lane * width)).truncated(toBits: width).low64
                    try #require(actual == value, "read.resp.bits lane \(lane): \(context)")
                    lanesCompared += 1
                }
            }
            model.step(readEnable: readEnable, readAddress: readAddress,
                       writeEnable: writeEnable, writeAddress: writeAddress, writeLanes: writeLanes, mask: mask)
            sim.tick()
        }
        try #require(responses > 3_000 && lanesCompared > 3_000 * shape.lanes / 2,
                     "too few checked reads (\(responses) responses, \(lanesCompared) lanes): seed \(seed)")
        try #require(sameRowCollisions > 300, "only \(sameRowCollisions) same-row read/write cycles: seed \(seed)")
    }
}
