import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

/// Random command programs, mostly legal, with every kind of mistake mixed in.
struct RandomCommands {
    var random: SeededGenerator
    let parameters: AcceleratorParameters

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }
    mutating func chance(_ p: Double) -> Bool { random.chance(p) }

    /// A local address: usually in range, sometimes at the edge or past it, with stray bits or GARBAGE.
    mutating func local(accumulator: Bool? = nil) -> UInt32 {
        if chance(0.05) { return 0xFFFF_FFFF }
        let inAccumulator = accumulator ?? chance(0.4)
        let size = inAccumulator ? parameters.accRows : parameters.spRows
        var row = chance(0.1) ? size - Int.random(in: 0...8, using: &random) : Int.random(in: 0..<size, using: &random)
        if chance(0.02) { row = Int.random(in: 0..<(1 << 26), using: &random) }
        var address = UInt32(row) | (inAccumulator ? 1 << 31 : 0)
        if inAccumulator {
            if chance(0.3) { address |= 1 << 30 }
            if chance(0.15) { address |= 1 << 29 }
            if chance(0.05) { address |= UInt32(Int.random(in: 1...7, using: &random)) << 26 }
        } else if chance(0.03) {
            address |= UInt32(Int.random(in: 1...31, using: &random)) << 26
        }
        return address
    }

    mutating func operand(maxColumns: Int? = nil, accumulator: Bool? = nil) -> UInt64 {
        let dim = parameters.dim
        let rows = chance(0.05) ? Int.random(in: 0...(dim + 3), using: &random) : Int.random(in: 1...dim, using: &random)
        let columnLimit = maxColumns ?? dim
        let columns = chance(0.05) ? Int.random(in: 0...(columnLimit + 5), using: &random) : Int.random(in: 1...columnLimit, using: &random)
        return UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(local(accumulator: accumulator))
    }

    mutating func scaleBits() -> UInt64 {
        UInt64(pick([Float(1).bitPattern, Float(1).bitPattern, Float(0.5).bitPattern, Float.nan.bitPattern, Float.infinity.bitPattern, Float(-2).bitPattern]))
    }

    /// With the numerics extensions: CONFIG_ST with K and the scale source, CONFIG_NORM constant
    /// sets, slots and the MSB (activations 5 and 7, the row scale), LOAD_REQUANT and
    /// LOAD_LANE_SCALES, each with its mistakes.
    mutating func extensionCommand() -> (funct: UInt8, rs1: UInt64, rs2: UInt64) {
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            let shift = UInt64(chance(0.8) ? Int.random(in: 0...47, using: &random) : Int.random(in: 48...63, using: &random))
            let source = UInt64(chance(0.95) ? Int.random(in: 0...2, using: &random) : 3)
            let rs1 = source << UInt64(NumericsExtensions.scaleSourceLow) | shift << UInt64(NumericsExtensions.requantizerShiftLow)
                | UInt64(Int.random(in: 0...3, using: &random)) << 2 | 2
            return (0, rs1, scaleBits() << 32 | UInt64(Int.random(in: 0...256, using: &random)))
        case 1:
            let set = UInt64(chance(0.6) ? 0 : chance(0.9) ? Int.random(in: 1...2, using: &random) : 3)
            let slot = UInt64(chance(0.9) ? Int.random(in: 0..<parameters.config.normalizationSlots, using: &random) : Int.random(in: 0...255, using: &random))
            let rs1 = random.next() << 32 | set << UInt64(NumericsExtensions.constantSetLow) | UInt64(chance(0.2) ? 1 : 0) << 17
                | UInt64(chance(0.5) ? 1 : 0) << 16 | slot << 8 | 3
            return (0, rs1, random.next())
        default:
            return (pick([Funct.loadRequantizer, Funct.loadLaneScales]), random.next(),
                    chance(0.8) ? 1 << 48 | UInt64(Int.random(in: 1...parameters.dim, using: &random)) << 32 | UInt64(local(accumulator: chance(0.9)))
                                : operand(accumulator: chance(0.8)))
        }
    }

    /// With a `cta` section: CTA_CONFIG (a level or λ), CTA_CLUSTER, CTA_AGGREGATE, CTA_PROBABILITIES and CTA_STATUS,
    /// mostly legal, with stray bits, wrong levels, shapes and operands.
    mutating func ctaCommand() -> (funct: UInt8, rs1: UInt64, rs2: UInt64) {
        let cta = parameters.config.cta!
        let stray: UInt64 = chance(0.08) ? 1 << UInt64(Int.random(in: 0...63, using: &random)) : 0
        func products(rows: Int) -> UInt64 {
            let columns = chance(0.9) ? cta.hashLength : Int.random(in: 0...parameters.dim, using: &random)
            let address = chance(0.85) ? 1 << 31 | UInt32(Int.random(in: 0..<parameters.accRows, using: &random)) : local()
            return UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(address)
        }
        switch Int.random(in: 0..<6, using: &random) {
        case 5:  // CTA_PROBABILITIES (its state checks are the CTA controller's)
            let output = chance(0.85) ? UInt32(Int.random(in: 0..<parameters.spRows, using: &random)) : local()
            let rows = chance(0.9) ? Int.random(in: 1...cta.maxClusters, using: &random) : pick([0, cta.maxClusters + 1, 0xFFFF])
            let columns = Int.random(in: 0...(2 * cta.maxClusters + 1), using: &random)
            let scores = chance(0.85) ? 1 << 31 | UInt32(Int.random(in: 0..<parameters.accRows, using: &random)) : local()
            let firstRow = UInt64(chance(0.3) ? Int.random(in: 0...cta.maxClusters, using: &random) : 0)
            return (Funct.ctaProbabilities, UInt64(output) | firstRow << 32 | stray, UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(scores))
        case 4:  // CTA_AGGREGATE (its state checks, which the golden model often fails, are the CTA controller's)
            let level = UInt64(chance(0.9) ? Int.random(in: 0...2, using: &random) : 3)
            let residuals: UInt64 = chance(0.3) ? 1 << UInt64(CTAFields.residualsBit) : 0
            let output = chance(0.85) ? UInt32(Int.random(in: 0..<parameters.spRows, using: &random)) : local()
            let rows = chance(0.9) ? Int.random(in: 1...cta.maxTokens, using: &random) : pick([0, 0xFFFF])
            let columns = chance(0.9) ? Int.random(in: 1...parameters.dim, using: &random) : Int.random(in: 0...parameters.dim + 2, using: &random)
            let tokens = chance(0.85) ? UInt32(Int.random(in: 0..<parameters.spRows, using: &random)) : local()
            return (Funct.ctaAggregate, UInt64(output) | level << 32 | residuals | stray, UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(tokens))
        case 0:  // CTA_CONFIG of a level
            let multiplier = UInt64(chance(0.9) ? Int.random(in: 0..<(1 << cta.hashReciprocalBits), using: &random) : Int.random(in: 0..<(1 << 24), using: &random))
            return (Funct.ctaConfig, UInt64(Int.random(in: 0...2, using: &random)) | multiplier << 8 | UInt64(Int.random(in: 0...63, using: &random)) << 32 | stray,
                    products(rows: chance(0.9) ? 1 : Int.random(in: 0...3, using: &random)))
        case 1:  // CTA_CONFIG of λ
            let factor = pick([Float(1).bitPattern, Float(0.125).bitPattern, Float(0).bitPattern, Float(-1).bitPattern, Float.nan.bitPattern,
                               Float.infinity.bitPattern, Float.leastNonzeroMagnitude.bitPattern])
            return (Funct.ctaConfig, 3 | UInt64(factor) << 32 | stray, chance(0.9) ? 0 : random.next())
        case 2:  // CTA_CLUSTER
            let level = UInt64(chance(0.9) ? Int.random(in: 0...2, using: &random) : 3)
            let rows = chance(0.9) ? Int.random(in: 1...cta.maxTokens, using: &random) : pick([0, cta.maxTokens + 1, 0xFFFF])
            return (Funct.ctaCluster, level | stray, products(rows: rows))
        default:  // CTA_STATUS
            return (Funct.ctaStatus, stray, UInt64(chance(0.85) ? 1 << 31 | UInt32(Int.random(in: 0..<parameters.accRows, using: &random)) : local()))
        }
    }

    mutating func next() -> (funct: UInt8, rs1: UInt64, rs2: UInt64) {
        let dim = parameters.dim
        if parameters.config.hasNumericsExtensions && chance(0.15) { return extensionCommand() }
        if parameters.config.cta != nil && chance(0.2) { return ctaCommand() }
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<8:  // CONFIG_EX
            var rs1: UInt64 = 0
            if chance(0.5) { rs1 |= 1 << 2 }
            if chance(0.3) { rs1 |= 1 << 8 }
            if chance(0.3) { rs1 |= 1 << 9 }
            if chance(0.1) { rs1 |= 1 << 7 }
            rs1 |= UInt64(chance(0.9) ? Int.random(in: 0...1, using: &random) : Int.random(in: 2...3, using: &random)) << 3
            rs1 |= UInt64(Int.random(in: 1...3, using: &random)) << 16 | scaleBits() << 32
            let shift = UInt64(chance(0.9) ? Int.random(in: 0...8, using: &random) : Int.random(in: 30...40, using: &random))
            return (0, rs1, UInt64(Int.random(in: 1...2, using: &random)) << 48 | shift)
        case 8..<16:  // CONFIG_LD
            var rs1: UInt64 = 1
            if chance(0.3) { rs1 |= 1 << 2 }
            rs1 |= UInt64(chance(0.95) ? Int.random(in: 0...2, using: &random) : 3) << 3
            rs1 |= UInt64(chance(0.95) ? Int.random(in: 0...1, using: &random) : 2) << 8
            rs1 |= UInt64(pick([dim, dim, 2 * dim, 1])) << 16
            rs1 |= (chance(0.7) ? UInt64(Float(1).bitPattern) : scaleBits()) << 32
            return (0, rs1, UInt64(Int.random(in: 0...256, using: &random)))
        case 16..<21:  // CONFIG_ST
            var rs1: UInt64 = 2 | UInt64(chance(0.9) ? Int.random(in: 0...1, using: &random) : 2) << 2
            if chance(0.05) { rs1 |= 1 << UInt64(Int.random(in: 4...63, using: &random)) }
            return (0, rs1, scaleBits() << 32 | UInt64(Int.random(in: 0...256, using: &random)))
        case 21..<22:
            return (0, 3, 0)  // CONFIG_NORM: no normalizations here
        case 22..<40:
            let funct: UInt8 = pick([2, 2, 1, 14])
            return (funct, random.next(), operand(maxColumns: parameters.config.dmaMaxBytes / parameters.inputBytes))
        case 40..<52:
            // Up to MAX_BLOCK_LEN blocks (one at full width, bit 29 in 15% of accumulator addresses).
            return (3, random.next(), operand(maxColumns: chance(0.5) ? dim : parameters.mvoutMaxColumns))
        case 52..<70:
            return (6, operand(accumulator: chance(0.2)), operand())
        case 70..<92:
            return (pick([4, 5]), operand(accumulator: chance(0.05)), operand(accumulator: chance(0.3)))
        case 92..<96:
            return (7, random.bits(1), 0)
        default:
            // Without a `cta` section the CTA functs are unknown too, whatever their fields.
            return (pick([8, 15, 20, 33, 99, 126, 127] + (parameters.config.cta == nil ? [Funct.ctaCluster, Funct.ctaGather] : [])), random.next(), random.next())
        }
    }
}

@Suite("Dispatcher under Verilator against the golden model's decisions")
struct DispatcherTests {
    /// `small`, `default`, `small` with the numerics extensions (Testbenches/configs/small-numerics.json),
    /// and the small CTA configuration (Testbenches/configs/small-cta.json).
    static func configuration(_ name: String) throws -> AcceleratorConfig {
        if name == "small-cta" {
            return try AcceleratorConfig.fromJSON(Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Testbenches/configs/small-cta.json").standardized))
        }
        guard name == "small-numerics" else { return AcceleratorConfig.preset(AcceleratorConfig.Preset(rawValue: name)!) }
        var config = AcceleratorConfig.small
        config.name = "SpinelSmallNumerics"
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        config.hasNumericsExtensions = true
        return config
    }

    @Test(arguments: ["small", "default", "small-numerics", "small-cta"])
    func randomPrograms(preset: String) throws {
        let parameters = try Self.configuration(preset).parameters()
        let sim = try VerilatorSimulation(try Elaborator.elaborate(Dispatcher(parameters)))
        var golden = GoldenModel(parameters: parameters)
        var memory = SparseMemory()
        var commands = RandomCommands(random: SeededGenerator(seed: SeededGenerator.testSeed(0xD15 + UInt64(parameters.dim))), parameters: parameters)
        sim.reset()
        var counts = [String: Int]()
        var cycle = 0
        for _ in 0..<6_000 {
            let (funct, rs1, rs2) = commands.next()
            // LOOP_WS (functs 8–13) never reaches the dispatcher: the LoopUnroller takes it.
            if (8...13).contains(funct) { continue }
            let index = Int(golden.commandCount)
            let before = golden
            try golden.execute(funct, rs1, rs2, memory: &memory)
            var failed = golden.lastRejection != nil
            // A CTA command that passes the dispatcher's checks but not the golden model's (the
            // state: CTA_AGGREGATE's table, n, k, overlap; CTA_PROBABILITIES's tables, λ, k1 + k2,
            // rows) goes on to the CTA controller, which reports it; the dispatcher's error latch
            // never sees it.
            if failed && Funct.cta.contains(funct)
                && GoldenModel.ctaDispatcherRejection(funct: funct, rs1: rs1, rs2: rs2, parameters: parameters) == nil {
                golden = before
                failed = false
                counts["cta failing behind the dispatcher", default: 0] += 1
            }
            let expected: String
            // FLUSH, a PRELOAD, an accepted COUNTER (which answers from the counter file) retire here.
            if failed || funct == 6 || funct == 7 || funct == 126 {
                expected = "retire"
            } else if funct == 0 {
                expected = ["ex", "ld", "st", "st"][Int(rs1 & 3)]  // CONFIG_NORM (with normalizations) goes to the store controller
            } else {
                expected = [1: "ld", 2: "ld", 14: "ld", 3: "st", 4: "ex", 5: "ex", 41: "st", 42: "st", 48: "st", 49: "st", 50: "st", 51: "st", 53: "st"][Int(funct)]!
            }
            counts[failed ? "error \(golden.lastRejection!.code)" : expected, default: 0] += 1
            if Funct.cta.contains(funct) { counts[failed ? "cta rejected" : "cta routed", default: 0] += 1 }
            let context = "command \(index) funct \(funct) rs1 0x\(String(rs1, radix: 16)) rs2 0x\(String(rs2, radix: 16)), golden: \(golden.lastRejection.map(\.description) ?? "accepted"), seed \(commands.random.seed)"

            sim.poke("cmd_valid", true)
            sim.poke("cmd_bits_cmd_funct", Int(funct))
            sim.poke("cmd_bits_cmd_rs1", rs1)
            sim.poke("cmd_bits_cmd_rs2", rs2)
            sim.poke("cmd_bits_index", UInt64(index))
            // Random back-pressure: hold the command until its controller takes it.
            while true {
                let ready = (ld: commands.chance(0.8), ex: commands.chance(0.8), st: commands.chance(0.8))
                sim.poke("ld_ready", ready.ld)
                sim.poke("ex_ready", ready.ex)
                sim.poke("st_ready", ready.st)
                sim.eval()
                let fired = ["ld": sim.peekBool("ld_valid"), "ex": sim.peekBool("ex_valid"), "st": sim.peekBool("st_valid"),
                             "retire": sim.peekBool("retire_valid")].filter(\.value).map(\.key)
                let targetReady = ["ld": ready.ld, "ex": ready.ex, "st": ready.st, "retire": true][expected]!
                if expected == "retire" {
                    try #require(fired == ["retire"], "outputs \(fired): \(context)")
                    try #require(sim.peek("retire_bits_index") == UInt64(index), "retire index: \(context)")
                    let answers = funct == 126 && !failed
                    try #require(sim.peekBool("counter_valid") == answers, "counter access: \(context)")
                    if answers { try #require(sim.peek("counter_bits_data") == rs1 && sim.peek("counter_bits_index") == UInt64(index), "counter access: \(context)") }
                } else {
                    try #require(fired == [expected], "outputs \(fired): \(context)")
                    let prefix = expected == "ex" ? "ex_bits_compute" : "\(expected)_bits"
                    try #require(sim.peek("\(prefix)_index") == UInt64(index), "index: \(context)")
                }
                try #require(sim.peekBool("cmd_ready") == targetReady, "cmd_ready: \(context)")
                sim.tick()
                cycle += 1
                if targetReady { break }
            }
            sim.poke("cmd_valid", false)
            sim.eval()
            try #require(sim.peekBool("error") == (golden.error != nil), "error latch: \(context)")
            try #require(sim.peek("error_info") == golden.errorInfo, "error_info: \(context)")
        }
        // Every outcome must have been exercised.
        // DMA faults and cluster overflows are found behind the dispatcher (the DMA, the CTA units).
        for code in AcceleratorError.Code.allCases where ![.dmaReadFault, .dmaWriteFault, .clusterOverflow].contains(code) {
            #expect(counts["error \(code)", default: 0] > 0, "no command failed with \(code): \(counts)")
        }
        for target in ["ld", "ex", "st", "retire"] {
            #expect(counts[target, default: 0] > 100, "\(target): \(counts)")
        }
        if parameters.config.cta != nil {
            #expect(counts["cta routed", default: 0] > 300 && counts["cta rejected", default: 0] > 100, "CTA commands: \(counts)")
        }
    }
}
