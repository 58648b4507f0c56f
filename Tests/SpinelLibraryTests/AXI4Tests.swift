import Testing
import SpinelHDL
import SpinelSim

/// One channel of an AXI4 link through a register slice, driven from both ends: a well-behaved
/// producer (a payload, once offered, stays with `valid` until it is taken, as AXI4 requires)
/// and a consumer with random `ready`.
struct AXI4ChannelCheck {
    /// The port prefix of the producing side (`in_aw`) and the consuming side (`out_aw`).
    let source: String
    let sink: String
    let fields: [(name: String, width: Int)]
    /// The payload on offer, held until the transfer.
    var offered: [BigInteger]?
    /// Payloads accepted at the source and not yet delivered at the sink, oldest first: the
    /// end-to-end scoreboard of order and integrity.
    var outstanding: [[BigInteger]] = []
    /// Entries held by the channel's skid buffer (a two-entry stage: accepts while it holds
    /// fewer than two, offers while it holds any, never passes a payload through in one cycle).
    var held = 0
    var delivered = 0
    var offerRate = 0.5
    var readyRate = 0.5

    init(source: String, sink: String, fields: [(String, Int)]) {
        self.source = source
        self.sink = sink
        self.fields = fields.map { (name: $0.0, width: $0.1) }
    }

    static func random(_ width: Int, _ random: inout SeededGenerator) -> BigInteger {
        BigInteger(words: (0..<(width + 31) / 32).map { _ in UInt32(truncatingIfNeeded: random.next()) }).truncated(toBits: width)
    }

    /// Offers a payload (or garbage with `valid` low) and a random `ready`; returns that `ready`.
    mutating func drive(_ sim: VerilatorSimulation, _ random: inout SeededGenerator) -> Bool {
        if offered == nil && random.chance(offerRate) {
            offered = fields.map { Self.random($0.width, &random) }
        }
        sim.poke("\(source)_valid", offered != nil)
        for (index, field) in fields.enumerated() {
            sim.poke("\(source)_bits_\(field.name)", offered?[index] ?? Self.random(field.width, &random))
        }
        let ready = random.chance(readyRate)
        sim.poke("\(sink)_ready", ready)
        return ready
    }

    func outputBits(_ sim: VerilatorSimulation) -> [BigInteger] {
        fields.map { sim.peekWide("\(sink)_bits_\($0.name)") }
    }

    /// Compares this cycle's outputs with the model, then records the transfers.
    mutating func check(_ sim: VerilatorSimulation, sinkReady: Bool, context: String) throws {
        let inReady = sim.peekBool("\(source)_ready")
        let outValid = sim.peekBool("\(sink)_valid")
        try #require(inReady == (held < 2), "\(source).ready: \(context)")
        try #require(outValid == (held > 0), "\(sink).valid: \(context)")
        let accepted = inReady && offered != nil
        let leaves = outValid && sinkReady
        if outValid {
            let bits = outputBits(sim)
            for (index, field) in fields.enumerated() {
                try #require(bits[index] == outstanding.first?[index],
                             "\(sink).bits.\(field.name) of payload \(delivered): \(context)")
            }
        }
        if leaves {
            outstanding.removeFirst()
            delivered += 1
            held -= 1
        }
        if accepted, let payload = offered {
            outstanding.append(payload)
            offered = nil
            held += 1
        }
        try #require(held == outstanding.count, "model out of step on \(source): \(context)")
    }
}

@Suite("AXI4RegisterSlice under Verilator against per-channel models")
struct AXI4Tests {
    @Test(arguments: [AXI4Parameters(addressBits: 32, dataBits: 64, idBits: 4),
                      AXI4Parameters(addressBits: 40, dataBits: 128, idBits: 1)])
    func randomTrafficOnAllChannels(parameters p: AXI4Parameters) throws {
        let design = try Elaborator.elaborate(AXI4RegisterSlice(p))
        let sim = try VerilatorSimulation(design)
        let seed = SeededGenerator.testSeed(0xA514_0000 + UInt64(p.dataBits))
        var random = SeededGenerator(seed: seed)
        let address: [(String, Int)] = [("id", p.idBits), ("addr", p.addressBits), ("len", 8), ("size", 3), ("burst", 2)]
        var channels = [
            AXI4ChannelCheck(source: "in_aw", sink: "out_aw", fields: address),
            AXI4ChannelCheck(source: "in_w", sink: "out_w", fields: [("data", p.dataBits), ("strb", p.strobeBits), ("last", 1)]),
            AXI4ChannelCheck(source: "in_ar", sink: "out_ar", fields: address),
            AXI4ChannelCheck(source: "out_b", sink: "in_b", fields: [("id", p.idBits), ("resp", 2)]),
            AXI4ChannelCheck(source: "out_r", sink: "in_r",
                             fields: [("id", p.idBits), ("data", p.dataBits), ("resp", 2), ("last", 1)]),
        ]
        for channel in channels { sim.poke("\(channel.source)_valid", false) }
        sim.reset()
        let cycles = 10_000
        for cycle in 0..<cycles {
            // Each channel goes through its own phases of back-pressure, both-sides-busy and
            // starvation, so that the channels' states are uncorrelated.
            if cycle % 150 == 0 {
                for index in channels.indices {
                    let rates = [(0.9, 0.3), (0.3, 0.9), (0.7, 0.7), (1.0, 1.0), (0.5, 0.5)]
                    (channels[index].offerRate, channels[index].readyRate) = rates[Int(random.next() % UInt64(rates.count))]
                }
            }
            var sinkReady: [Bool] = []
            for index in channels.indices { sinkReady.append(channels[index].drive(sim, &random)) }
            sim.eval()
            let context = "\(design.top.name), seed \(seed), cycle \(cycle)"

            // The slice cuts every combinational path: flipping a channel's inputs within the
            // cycle (the producer's valid and bits, the consumer's ready) changes no output.
            let inReady = channels.map { sim.peekBool("\($0.source)_ready") }
            let outValid = channels.map { sim.peekBool("\($0.sink)_valid") }
            let outBits = channels.map { $0.outputBits(sim) }
            for (index, channel) in channels.enumerated() {
                sim.poke("\(channel.source)_valid", channel.offered == nil)
                for field in channel.fields {
                    sim.poke("\(channel.source)_bits_\(field.name)", AXI4ChannelCheck.random(field.width, &random))
                }
                sim.poke("\(channel.sink)_ready", !sinkReady[index])
            }
            sim.eval()
            for (index, channel) in channels.enumerated() {
                try #require(sim.peekBool("\(channel.source)_ready") == inReady[index], "\(channel.source).ready combinational: \(context)")
                try #require(sim.peekBool("\(channel.sink)_valid") == outValid[index], "\(channel.sink).valid combinational: \(context)")
                if outValid[index] {
                    try #require(channel.outputBits(sim) == outBits[index], "\(channel.sink).bits combinational: \(context)")
                }
            }
            // Restore this cycle's stimulus.
            for index in channels.indices {
                let channel = channels[index]
                sim.poke("\(channel.source)_valid", channel.offered != nil)
                if let offered = channel.offered {
                    for (position, field) in channel.fields.enumerated() {
                        sim.poke("\(channel.source)_bits_\(field.name)", offered[position])
                    }
                }
                sim.poke("\(channel.sink)_ready", sinkReady[index])
            }
            sim.eval()

            for index in channels.indices {
                try channels[index].check(sim, sinkReady: sinkReady[index], context: context)
            }
            sim.tick()
        }
        for channel in channels {
            try #require(channel.delivered > cycles / 5, "\(channel.source) delivered only \(channel.delivered) payloads: seed \(seed)")
        }
    }
}
