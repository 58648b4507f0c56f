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
        for port in ["retire_dispatch", "retire_ld", "retire_ex", "retire_st"] where sim.peekBool("\(port)_valid") {
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

/// Encodings of Gemmini's commands (ISA.md), for writing programs.
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
