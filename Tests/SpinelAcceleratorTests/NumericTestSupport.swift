import Foundation
import SpinelHDL
import SpinelSim
import Testing

// Shared by the tests of numeric hardware: stimulus that reaches the corners of binary32 and
// of two's-complement integers, a driver for combinational or pipelined units, and the
// output-quality gates.

extension SeededGenerator {
    /// A `width`-bit two's-complement integer: uniform bits, a random magnitude length (so
    /// every binary exponent is reached equally often), or an extreme of the range.
    mutating func interestingInteger(width: Int) -> Int64 {
        let low = width >= 64 ? Int64.min : -(Int64(1) << (width - 1))
        let high = width >= 64 ? Int64.max : (Int64(1) << (width - 1)) - 1
        switch width == 1 ? 0 : next() % 8 {
        case 0, 1, 2:
            return Int64(truncatingIfNeeded: bits(width) << UInt64(64 - width)) >> Int64(64 - width)
        case 3:
            return [low, high, 0, -1, 1, low + 1, high - 1][Int(next() % 7)]
        default:
            let length = Int(next() % UInt64(width - 1)) + 1
            let magnitude = Int64(bitPattern: bits(length) | (1 << UInt64(length - 1)))
            return chance(0.5) ? -magnitude : magnitude
        }
    }

    /// A `width`-bit unsigned integer (at most 64 bits): uniform bits, a random length (so
    /// every magnitude is reached equally often), or an extreme (0, 1, 2, the largest, one less).
    mutating func interestingUnsigned(width: Int) -> UInt64 {
        let largest = width >= 64 ? UInt64.max : (1 << UInt64(width)) - 1
        switch next() % 8 {
        case 0, 1, 2: return bits(width)
        case 3: return [0, 1, 2, largest, largest - 1][Int(next() % 5)]
        default:
            let length = Int(next() % UInt64(width)) + 1
            return bits(length) | 1 << UInt64(length - 1)
        }
    }

    /// binary32 bits with the fields drawn independently: exponents from every range (zero,
    /// subnormal field, smallest normals, around 1, largest, all-ones), fractions that are
    /// uniform, empty, full, or short (a few leading bits, which makes exact products and ties).
    mutating func interestingFloatBits(allowNaN: Bool = true) -> UInt32 {
        while true {
            let sign = UInt32(next() & 1) << 31
            let exponent: UInt32
            switch next() % 8 {
            case 0: exponent = 0
            case 1: exponent = UInt32(1 + next() % 24)
            case 2: exponent = UInt32(255 - next() % 24)
            case 3: exponent = 255
            case 4: exponent = UInt32(127 - 30 + Int(next() % 61))
            default: exponent = UInt32(next() % 256)
            }
            let fraction: UInt32
            switch next() % 6 {
            case 0: fraction = 0
            case 1: fraction = 0x7F_FFFF
            case 2, 3: fraction = UInt32(bits(23))
            default:
                let length = Int(next() % 23) + 1
                fraction = UInt32(bits(length)) << UInt32(23 - length)
            }
            let pattern = sign | exponent << 23 | fraction
            if allowNaN || !Float(bitPattern: pattern).isNaN { return pattern }
        }
    }

    /// Uniformly random binary32 bits.
    mutating func uniformFloatBits(allowNaN: Bool = true) -> UInt32 {
        while true {
            let pattern = UInt32(truncatingIfNeeded: next())
            if allowNaN || !Float(bitPattern: pattern).isNaN { return pattern }
        }
    }
}

/// Named binary32 corner values.
enum FloatCorners {
    static let smallestSubnormal: UInt32 = 0x0000_0001
    static let largestSubnormal: UInt32 = 0x007F_FFFF
    static let smallestNormal: UInt32 = 0x0080_0000
    static let largestFinite: UInt32 = 0x7F7F_FFFF
    static let one: UInt32 = 0x3F80_0000
    static let infinity: UInt32 = 0x7F80_0000
    static let quietNaN: UInt32 = 0x7FC0_0000

    /// The values above, both signs, and ±0 (NaN excluded).
    static let all: [UInt32] = [0, smallestSubnormal, largestSubnormal, smallestNormal, largestFinite, one, infinity,
                                0x3F00_0000 /* 0.5 */, 0x4000_0000 /* 2 */, 0x3EAA_AAAB /* 1/3 */]
        .flatMap { [$0, $0 | 0x8000_0000] }
}

/// Drives one input vector per cycle into a unit of `latency` pipeline registers (0 for
/// combinational) and checks each vector's result `latency` cycles later.
func streamVectors<Vector>(_ sim: VerilatorSimulation, latency: Int = 0, _ vectors: [Vector],
                           apply: (Vector) -> Void, check: (Vector) throws -> Void) rethrows {
    for cycle in 0..<(vectors.count + latency) {
        if cycle < vectors.count { apply(vectors[cycle]) }
        sim.eval()
        if cycle >= latency { try check(vectors[cycle - latency]) }
        sim.tick()
    }
}

/// What `runOperations` saw besides the results: starts it gave while the unit was busy (which
/// must be ignored) and operations started in the previous one's done cycle.
struct HandshakeCoverage {
    var startsWhileBusy = 0
    var backToBack = 0
}

/// Runs `operations` one after another through a unit with the start/busy/done handshake of
/// `IterationControl` (ports `start`, `busy`, `done`) and a fixed `latency`, checking the
/// handshake cycle by cycle: `busy` high and `done` low in each of the `latency` − 1 cycles
/// after the start, `done` high and `busy` low in exactly the cycle `latency` after it, then
/// `done` low again. `check` reads the results in the done cycle, and again in the idle cycles
/// that sometimes follow (the results must hold).
///
/// While an operation runs, random cycles raise `start` with other operands (`scramble` pokes
/// random ones): the unit must ignore them. Other cycles change the operands without `start`.
/// About a third of the operations start in the previous one's done cycle.
func runOperations<Operation>(_ sim: VerilatorSimulation, latency: Int, _ operations: [Operation],
                              using random: inout SeededGenerator, apply: (Operation) -> Void,
                              scramble: (inout SeededGenerator) -> Void,
                              check: (Operation) throws -> Void) throws -> HandshakeCoverage {
    var coverage = HandshakeCoverage()
    sim.poke("start", false)
    sim.reset()
    for (index, operation) in operations.enumerated() {
        apply(operation)
        sim.poke("start", true)
        sim.eval()
        try #require(!sim.peekBool("busy"), "busy in the start cycle of operation \(index); seed \(random.seed)")
        sim.tick()

        for cycle in 1..<latency {
            scramble(&random)
            let start = random.chance(0.2)
            sim.poke("start", start)
            sim.eval()
            try #require(sim.peekBool("busy") && !sim.peekBool("done"),
                         "operation \(index), cycle \(cycle) of \(latency): busy \(sim.peekBool("busy")), done \(sim.peekBool("done")); seed \(random.seed)")
            if start { coverage.startsWhileBusy += 1 }
            sim.tick()
        }

        scramble(&random)
        sim.poke("start", false)
        sim.eval()
        try #require(sim.peekBool("done") && !sim.peekBool("busy"),
                     "operation \(index), cycle \(latency): done \(sim.peekBool("done")), busy \(sim.peekBool("busy")); seed \(random.seed)")
        try check(operation)
        if index + 1 < operations.count && random.chance(0.3) {
            // The next operation starts in this cycle.
            coverage.backToBack += 1
            continue
        }
        sim.tick()
        for _ in 0..<(1 + random.next() % 2) {
            scramble(&random)
            sim.eval()
            try #require(!sim.peekBool("done") && !sim.peekBool("busy"), "operation \(index): done or busy after the done cycle; seed \(random.seed)")
            try check(operation)
            sim.tick()
        }
    }
    return coverage
}

extension VerilatorSimulation {
    /// Sets a `width`-bit input to the two's-complement pattern of `value`, masked to the
    /// port: `poke` passes the bits above the width through, and Verilator assumes they are
    /// zero (a negative value poked into a 20-bit port compares unequal to its own pattern).
    func poke(_ name: String, signed value: Int64, width: Int) {
        poke(name, BigInteger(Int(value)).truncated(toBits: width))
    }
}

/// Writes `design` into a fresh temporary directory and runs Verilator's lint, Yosys (no
/// latches, no undriven nets) and Icarus on it.
func checkOutputQuality(_ design: Design) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-numeric-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    try OutputChecks.write(VerilogEmitter(locators: true).emit(design), to: directory)
    try OutputChecks.lint(directory: directory, top: design.top.name)
    try OutputChecks.synthesize(directory: directory, top: design.top.name)
    try OutputChecks.compileWithIcarus(directory: directory, top: design.top.name)
}

/// The output-quality gates of a design whose memories are too large for the gate-level `synth`
/// (which maps them to flip-flops): Verilator's lint, Icarus, and Yosys with the memories kept as
/// memories (`check -assert`, no latch cells). Keeps and prints the two Yosys statistics: after
/// `proc` (the memories) and after the kept-memories synthesis (the cells).
struct MemoriesKeptSynthesis {
    var memories: String
    var cells: String

    init(_ design: Design) throws {
        let top = design.top.name
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-memories-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(VerilogEmitter(locators: true).emit(design), to: directory)
        try OutputChecks.lint(directory: directory, top: top)
        try OutputChecks.compileWithIcarus(directory: directory, top: top)

        let files = try String(contentsOf: directory.appendingPathComponent("\(top).f"), encoding: .utf8)
            .split(separator: "\n").joined(separator: " ")
        let read = "read_verilog -sv \(files); hierarchy -check -top \(top)"
        memories = try Tools.check("yosys", ["-q", "-p", "\(read); proc; flatten; tee -o /dev/stdout stat"], in: directory)
        let keep = "\(read); synth -top \(top) -flatten -run begin:fine; opt -fast -full; techmap; opt -fast; abc -fast; opt -fast; "
            + "check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr t:$_DLATCH_* t:$_SR_*; tee -o /dev/stdout stat"
        cells = try Tools.check("yosys", ["-q", "-p", keep], in: directory)
        print("\(top) memories:\n\(memories)\ncells (memories kept):\n\(cells)")
    }

    /// The number at the end of the first line of `report` that contains `label`.
    static func number(_ label: String, in report: String) -> Int? {
        report.split(separator: "\n").first { $0.contains(label) }
            .flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
    }

    var memoryCount: Int? { Self.number("Number of memories:", in: memories) }
    var memoryBits: Int? { Self.number("Number of memory bits:", in: memories) }
    /// Memories that survived the synthesis as memories.
    var keptMemories: Int? { Self.number("$mem_v2", in: cells) }
    /// The flip-flop cells, one count per kind.
    var flipFlops: [Int] {
        cells.split(separator: "\n").filter { $0.contains("DFF") }.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
    }
}

/// `value` as `0x` and eight hex digits, with the float it encodes.
func describeFloat(_ bits: UInt32) -> String {
    "0x" + String(bits, radix: 16).leftPadded(to: 8) + " (\(Float(bitPattern: bits)))"
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
