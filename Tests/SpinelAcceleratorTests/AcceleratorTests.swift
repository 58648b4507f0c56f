import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

/// Main memory for the golden model with the same initial contents as the AXI model.
struct BackgroundMemory: MainMemory {
    var written: [UInt64: UInt8] = [:]

    mutating func read(address: UInt64, count: Int) throws -> [UInt8] {
        (0..<count).map { offset in
            let byte = address &+ UInt64(offset)
            return written[byte] ?? AXIMemoryModel.background(byte)
        }
    }

    mutating func write(address: UInt64, bytes: [UInt8]) throws {
        for (offset, byte) in bytes.enumerated() { written[address &+ UInt64(offset)] = byte }
    }
}

/// The whole accelerator under Verilator, served by the AXI model, next to the golden model
/// running the same commands.
final class AcceleratorBench {
    let parameters: AcceleratorParameters
    let sim: VerilatorSimulation
    let axi: AXIMemoryModel
    var golden: GoldenModel
    var goldenMemory = BackgroundMemory()
    var cycle = 0
    var retired: [Int] = []

    init(_ config: AcceleratorConfig, seed: UInt64) throws {
        parameters = try config.parameters()
        sim = try VerilatorSimulation(try Elaborator.elaborate(Accelerator(parameters)))
        var axiConfig = AXIMemoryModel.Configuration(busBytes: parameters.dmaBusBytes, latency: config.memory.latencyCycles,
                                                     bytesPerCycle: config.memory.bytesPerCycle)
        axiConfig.rValidRate = 0.9
        axi = AXIMemoryModel(axiConfig, seed: seed)
        golden = GoldenModel(parameters: parameters)
        sim.reset()
    }

    /// One clock cycle with the AXI model answering.
    func step() {
        axi.drive(sim, prefix: "axi", cycle: cycle)
        sim.eval()
        axi.observe(sim, prefix: "axi", cycle: cycle)
        for port in ["retire_dispatch", "retire_ld", "retire_ex", "retire_st", "retire_loop"] where sim.peekBool("\(port)_valid") {
            retired.append(Int(sim.peek("\(port)_bits")))
        }
        sim.tick()
        cycle += 1
    }

    func issue(_ funct: UInt8, _ rs1: UInt64, _ rs2: UInt64) throws {
        try golden.execute(funct, rs1, rs2, memory: &goldenMemory)
        sim.poke("cmd_valid", true)
        sim.poke("cmd_bits_funct", Int(funct))
        sim.poke("cmd_bits_rs1", rs1)
        sim.poke("cmd_bits_rs2", rs2)
        for _ in 0..<100_000 {
            axi.drive(sim, prefix: "axi", cycle: cycle)
            sim.eval()
            let accepted = sim.peekBool("cmd_ready")
            step()
            if accepted {
                sim.poke("cmd_valid", false)
                return
            }
        }
        Issue.record("the command port never accepted funct \(funct)")
    }

    /// Waits until the accelerator is idle and every AXI transfer is answered.
    func fence() throws {
        sim.poke("cmd_valid", false)
        var idleCycles = 0
        for _ in 0..<200_000 {
            step()
            sim.eval()
            idleCycles = !sim.peekBool("busy") && !axi.pendingWork ? idleCycles + 1 : 0
            if idleCycles > 2 { return }
        }
        Issue.record("the accelerator stayed busy")
    }

    /// DRAM bytes the golden model wrote, compared with the AXI model's memory.
    func compareMemory(_ context: String) throws {
        var mismatches = 0
        for (address, expected) in goldenMemory.written.sorted(by: { $0.key < $1.key }) where axi.byte(at: address) != expected {
            if mismatches < 5 {
                Issue.record("\(context): DRAM 0x\(String(address, radix: 16)) = \(axi.byte(at: address)), golden \(expected)")
            }
            mismatches += 1
        }
        #expect(mismatches == 0, "\(context): \(mismatches) mismatching bytes")
        #expect(axi.violations.isEmpty, "\(context): AXI violations \(axi.violations.prefix(3))")
    }

    func expectError(_ context: String) {
        sim.eval()
        #expect(sim.peekBool("error") == (golden.error != nil), "\(context): error")
        #expect(sim.peek("error_info") == golden.errorInfo, "\(context): error_info \(golden.error.map(\.description) ?? "none")")
    }
}

/// Encodings of Gemmini's commands (docs/ISA.md), for writing programs.
enum Encode {
    static func operand(_ address: UInt32, columns: Int, rows: Int) -> UInt64 {
        UInt64(rows) << 48 | UInt64(columns) << 32 | UInt64(address)
    }
    static func configLoad(stride: UInt64, scale: Float = 1, shrunk: Bool = false, blockStride: Int, which: Int = 0) -> (UInt8, UInt64, UInt64) {
        (0, UInt64(scale.bitPattern) << 32 | UInt64(blockStride) << 16 | UInt64(which) << 3 | (shrunk ? 4 : 0) | 1, stride)
    }
    static func configStore(stride: UInt64, scale: Float = 1, activation: Int = 0) -> (UInt8, UInt64, UInt64) {
        (0, UInt64(activation) << 2 | 2, UInt64(scale.bitPattern) << 32 | stride)
    }
    static func configExecute(weightStationary: Bool, activation: Int = 0, shift: Int = 0, transposeA: Bool = false,
                              transposeB: Bool = false, aStride: Int = 1, cStride: Int = 1) -> (UInt8, UInt64, UInt64) {
        (0, UInt64(Float(1).bitPattern) << 32 | UInt64(aStride) << 16 | (transposeB ? 1 << 9 : 0) | (transposeA ? 1 << 8 : 0)
            | UInt64(activation) << 3 | (weightStationary ? 4 : 0), UInt64(cStride) << 48 | UInt64(shift))
    }
    static let garbage: UInt32 = 0xFFFF_FFFF
    static func accumulator(_ row: Int, accumulate: Bool = false, fullWidth: Bool = false) -> UInt32 {
        1 << 31 | (accumulate ? 1 << 30 : 0) | (fullWidth ? 1 << 29 : 0) | UInt32(row)
    }
}

@Suite("The accelerator under Verilator against the golden model")
struct AcceleratorTests {
    @Test func moveInAndOut() throws {
        let bench = try AcceleratorBench(.small, seed: SeededGenerator.testSeed(0xA11))
        let dim = bench.parameters.dim
        let source: UInt64 = 0x10_0000, destination: UInt64 = 0x20_0000
        // Rows of 2 blocks into the scratchpad, then back out, one block at a time.
        let ld = Encode.configLoad(stride: 64, blockStride: dim)
        try bench.issue(ld.0, ld.1, ld.2)
        let st = Encode.configStore(stride: 32)
        try bench.issue(st.0, st.1, st.2)
        try bench.issue(2, source, Encode.operand(0, columns: 2 * dim, rows: dim))
        try bench.issue(2, source + 0x1000, Encode.operand(UInt32(4 * dim), columns: dim - 1, rows: dim - 1))
        // Accumulator: full-width rows, then accumulate a shrunk row onto them.
        let ldAcc = Encode.configLoad(stride: 64, blockStride: dim, which: 1)
        try bench.issue(ldAcc.0, ldAcc.1, ldAcc.2)
        try bench.issue(1, source + 0x2000, Encode.operand(Encode.accumulator(0), columns: dim, rows: dim))
        let ldShrunk = Encode.configLoad(stride: 16, shrunk: true, blockStride: dim, which: 2)
        try bench.issue(ldShrunk.0, ldShrunk.1, ldShrunk.2)
        try bench.issue(14, source + 0x3000, Encode.operand(Encode.accumulator(0, accumulate: true), columns: dim, rows: dim))
        // Zeros into one row.
        try bench.issue(2, 0, Encode.operand(UInt32(8 * dim), columns: dim, rows: 1))
        try bench.fence()
        try bench.issue(3, destination, Encode.operand(0, columns: dim, rows: dim))
        try bench.issue(3, destination + 0x800, Encode.operand(UInt32(dim), columns: dim, rows: dim))
        try bench.issue(3, destination + 0x1000, Encode.operand(UInt32(4 * dim), columns: dim, rows: dim))
        try bench.issue(3, destination + 0x1800, Encode.operand(UInt32(8 * dim), columns: dim, rows: 1))
        let stWide = Encode.configStore(stride: 64)
        try bench.issue(stWide.0, stWide.1, stWide.2)
        try bench.issue(3, destination + 0x2000, Encode.operand(Encode.accumulator(0, fullWidth: true), columns: dim, rows: dim))
        let stScaled = Encode.configStore(stride: 16, scale: 0.25, activation: 1)
        try bench.issue(stScaled.0, stScaled.1, stScaled.2)
        try bench.issue(3, destination + 0x3000, Encode.operand(Encode.accumulator(0), columns: dim, rows: dim))
        try bench.fence()
        try bench.compareMemory("mvin/mvout")
        bench.expectError("mvin/mvout")
        #expect(Set(bench.retired) == Set(0..<Int(bench.golden.commandCount)), "every command retires once: \(bench.retired)")
    }
}

extension AcceleratorTests {
    /// Random matmul programs: operands moved in from (random) DRAM, PRELOAD+COMPUTE pairs in
    /// both dataflows with every permitted transpose pair, bias from either memory, results
    /// to either memory (overwrite or accumulate), then every result region moved out.
    @Test(arguments: [0, 1, 2])
    func randomMatmulPrograms(program: Int) throws {
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0x3A7 + UInt64(program)))
        let bench = try AcceleratorBench(.small, seed: random.next())
        let dim = bench.parameters.dim
        let input: UInt64 = 0x40_0000, output: UInt64 = 0x80_0000
        func run(_ command: (UInt8, UInt64, UInt64)) throws { try bench.issue(command.0, command.1, command.2) }
        func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }

        // Inputs: scratchpad rows 0..<64, accumulator rows 0..<16 (full width).
        try run(Encode.configLoad(stride: UInt64(dim), blockStride: dim))
        for block in 0..<16 { try bench.issue(2, input + UInt64(block * 64), Encode.operand(UInt32(block * dim), columns: dim, rows: dim)) }
        try run(Encode.configLoad(stride: UInt64(dim * 4), blockStride: dim, which: 1))
        for block in 0..<4 {
            try bench.issue(1, input + 0x1000 + UInt64(block * 256), Encode.operand(Encode.accumulator(block * dim), columns: dim, rows: dim))
        }

        // Results: scratchpad rows 128..<192, accumulator rows 32..<64.
        var weightStationary = false
        for pair in 0..<24 {
            // COMPUTE_ACCUMULATED continues the previous pair, so it keeps its configuration.
            let accumulated = pair > 0 && random.chance(0.3)
            if !accumulated && (pair % 3 == 0 || random.chance(0.3)) {
                weightStationary = random.chance(0.5)
                let transposes: [(Bool, Bool)] = weightStationary ? [(false, false), (false, true), (true, false)]
                                                                   : [(false, false), (true, false), (true, true)]
                let (transposeA, transposeB) = pick(transposes)
                try run(Encode.configExecute(weightStationary: weightStationary, activation: pick([0, 1]), shift: weightStationary ? 0 : pick([0, 1, 3]),
                                             transposeA: transposeA, transposeB: transposeB, aStride: pick([1, 1, 2])))
            }
            func spOperand() -> UInt64 {
                Encode.operand(UInt32(Int.random(in: 0..<(64 - 2 * dim), using: &random)), columns: Int.random(in: 1...dim, using: &random),
                               rows: Int.random(in: 1...dim, using: &random))
            }
            let dOperand = random.chance(0.2) ? Encode.operand(Encode.garbage, columns: dim, rows: dim)
                : random.chance(0.5) ? spOperand()
                : Encode.operand(Encode.accumulator(Int.random(in: 0..<(16 - dim), using: &random)), columns: Int.random(in: 1...dim, using: &random),
                                 rows: Int.random(in: 1...dim, using: &random))
            let cOperand: UInt64 = random.chance(0.5)
                ? Encode.operand(UInt32(128 + Int.random(in: 0..<(64 - dim), using: &random)), columns: Int.random(in: 1...dim, using: &random),
                                 rows: Int.random(in: 1...dim, using: &random))
                : Encode.operand(Encode.accumulator(32 + Int.random(in: 0..<(32 - dim), using: &random), accumulate: random.chance(0.5)),
                                 columns: Int.random(in: 1...dim, using: &random), rows: Int.random(in: 1...dim, using: &random))
            if weightStationary {
                try bench.issue(6, accumulated ? Encode.operand(Encode.garbage, columns: dim, rows: dim) : spOperand(), cOperand)
                try bench.issue(accumulated ? 5 : 4, spOperand(), dOperand)
            } else {
                try bench.issue(6, accumulated ? Encode.operand(Encode.garbage, columns: dim, rows: dim) : dOperand, cOperand)
                try bench.issue(accumulated ? 5 : 4, spOperand(), spOperand())
            }
        }
        // Move every result region out.
        try run(Encode.configStore(stride: UInt64(dim)))
        for block in 0..<16 { try bench.issue(3, output + UInt64(block * 64), Encode.operand(UInt32(128 + block * dim), columns: dim, rows: dim)) }
        try run(Encode.configStore(stride: UInt64(dim * 4)))
        for block in 0..<8 {
            try bench.issue(3, output + 0x1000 + UInt64(block * 256), Encode.operand(Encode.accumulator(32 + block * dim, fullWidth: true), columns: dim, rows: dim))
        }
        try bench.fence()
        try bench.compareMemory("program \(program), seed \(random.seed)")
        bench.expectError("program \(program), seed \(random.seed)")
    }
}
