import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

/// An independent model of `BankedMemory`, from its documented behaviour: per-bank priority
/// arbitration, read-first SRAM reads with one cycle of latency, and (accumulating) writes that
/// land one cycle after acceptance, with same-row accumulation held back while a write is in flight.
struct BankedMemoryModel {
    let memory: BankedMemory
    var rows: [[UInt64?]]
    /// Writes accepted last cycle, landing at the end of this one (accumulating memories).
    var inFlight: [(row: Int, data: [UInt64], mask: [Bool], accumulate: Bool)] = []

    init(_ memory: BankedMemory) {
        self.memory = memory
        rows = Array(repeating: Array(repeating: nil, count: memory.lanes), count: memory.rows)
    }

    func bank(_ row: Int) -> Int { memory.stripe == 0 ? row / memory.rowsPerBank : (row / memory.stripe) % memory.banks }

    /// Which write and read requests are accepted this cycle.
    func arbitrate(writes: [(valid: Bool, row: Int, accumulate: Bool)], reads: [(valid: Bool, row: Int)]) -> (writes: [Bool], reads: [Bool]) {
        var writeTaken = Set<Int>(), readTaken = Set<Int>()
        var writeReady: [Bool] = []
        for write in writes {
            let hazard = memory.accumulating && write.accumulate && inFlight.contains { $0.row == write.row }
            writeReady.append(!hazard && !writeTaken.contains(bank(write.row)))
            if write.valid {
                if writeReady.last! && memory.accumulating && write.accumulate { readTaken.insert(bank(write.row)) }
                writeTaken.insert(bank(write.row))
            }
        }
        var readReady: [Bool] = []
        for read in reads {
            readReady.append(!readTaken.contains(bank(read.row)))
            if read.valid { readTaken.insert(bank(read.row)) }
        }
        return (writeReady, readReady)
    }

    mutating func land(_ write: (row: Int, data: [UInt64], mask: [Bool], accumulate: Bool)) {
        let laneMask: UInt64 = memory.laneWidth == 64 ? .max : (1 << UInt64(memory.laneWidth)) - 1
        for lane in 0..<memory.lanes where write.mask[lane] {
            if write.accumulate {
                rows[write.row][lane] = rows[write.row][lane].map { ($0 &+ write.data[lane]) & laneMask }
            } else {
                rows[write.row][lane] = write.data[lane]
            }
        }
    }
}

@Suite("Scratchpad and accumulator memories under Verilator against a model")
struct BankedMemoryTests {
    @Test(arguments: [(false, 0), (true, 0), (true, 4), (false, 2)])
    func randomTraffic(accumulating: Bool, stripe: Int) throws {
        let memory = BankedMemory(rows: accumulating ? 32 : 64, banks: accumulating ? 2 : 4, lanes: 4,
                                  laneWidth: accumulating ? 32 : 8, readClients: 2, writeClients: 2, accumulating: accumulating,
                                  stripe: stripe)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(memory))
        var model = BankedMemoryModel(memory)
        var random = SeededGenerator(seed: SeededGenerator.testSeed(accumulating ? 0xACC : 0x5BAD))
        sim.reset()
        var expectedResponses: [Int: [UInt64?]] = [:]
        var comparedLanes = 0, accumulations = 0, hazards = 0
        for cycle in 0..<10_000 {
            // A few hot rows make conflicts and same-row accumulation common.
            func row() -> Int { random.chance(0.5) ? Int(random.bits(2)) : Int.random(in: 0..<memory.rows, using: &random) }
            let writes = (0..<2).map { _ in
                (valid: random.chance(0.6), row: row(), accumulate: accumulating && cycle > 200 && random.chance(0.5))
            }
            let writeData = (0..<2).map { _ in (0..<memory.lanes).map { _ in random.bits(memory.laneWidth) } }
            let writeMask = (0..<2).map { _ in (0..<memory.lanes).map { _ in cycle < 200 || random.chance(0.7) } }
            let reads = (0..<2).map { _ in (valid: random.chance(0.6), row: row()) }
            for (client, write) in writes.enumerated() {
                sim.poke("write_\(client)_valid", write.valid)
                sim.poke("write_\(client)_bits_row", write.row)
                sim.poke("write_\(client)_bits_accumulate", write.accumulate)
                sim.poke("write_\(client)_bits_data", BigInteger(words: packLanes(writeData[client], width: memory.laneWidth)))
                sim.poke("write_\(client)_bits_mask", writeMask[client].enumerated().reduce(0) { $0 | ($1.element ? 1 << $1.offset : 0) })
            }
            for (client, read) in reads.enumerated() {
                sim.poke("read_\(client)_req_valid", read.valid)
                sim.poke("read_\(client)_req_bits", read.row)
            }
            sim.eval()
            let context = "accumulating \(accumulating), seed \(random.seed), cycle \(cycle)"
            // Responses to last cycle's reads.
            for client in 0..<2 {
                let expected = expectedResponses[client]
                try #require(sim.peekBool("read_\(client)_resp_valid") == (expected != nil), "read \(client) response valid: \(context)")
                if let expected {
                    let lanes = unpackLanes(sim.peekWide("read_\(client)_resp_bits"), count: memory.lanes, width: memory.laneWidth)
                    for lane in 0..<memory.lanes {
                        if let value = expected[lane] {
                            try #require(lanes[lane] == value, "read \(client) lane \(lane): \(context)")
                            comparedLanes += 1
                        }
                    }
                }
            }
            let ready = model.arbitrate(writes: writes.map { ($0.valid, $0.row, $0.accumulate) }, reads: reads)
            for client in 0..<2 {
                try #require(sim.peekBool("write_\(client)_ready") == ready.writes[client], "write \(client) ready: \(context)")
                try #require(sim.peekBool("read_\(client)_req_ready") == ready.reads[client], "read \(client) ready: \(context)")
                if writes[client].valid && !ready.writes[client] && writes[client].accumulate { hazards += 1 }
            }
            // Reads see the memory before this cycle's landings.
            expectedResponses = [:]
            for (client, read) in reads.enumerated() where read.valid && ready.reads[client] {
                expectedResponses[client] = model.rows[read.row]
            }
            // Land writes: accumulating memories land last cycle's accepted writes now.
            let acceptedNow = writes.indices.filter { writes[$0].valid && ready.writes[$0] }.map {
                (row: writes[$0].row, data: writeData[$0], mask: writeMask[$0], accumulate: writes[$0].accumulate)
            }
            if accumulating {
                for write in model.inFlight { model.land(write) }
                model.inFlight = acceptedNow
                accumulations += acceptedNow.filter(\.accumulate).count
            } else {
                for write in acceptedNow { model.land(write) }
            }
            sim.tick()
        }
        #expect(comparedLanes > 5_000, "too few lanes compared: \(comparedLanes)")
        if accumulating {
            #expect(accumulations > 1_000 && hazards > 50, "accumulations \(accumulations), hazards \(hazards)")
        }
    }
}

func packLanes(_ lanes: [UInt64], width: Int) -> [UInt32] {
    var value = BigInteger.zero
    for (index, lane) in lanes.enumerated() { value = value | (BigInteger(lane) << (index * width)) }
    return value.words(count: (lanes.count * width + 31) / 32)
}

func unpackLanes(_ value: BigInteger, count: Int, width: Int) -> [UInt64] {
    (0..<count).map { ((value >> ($0 * width)).truncated(toBits: width)).low64 }
}
