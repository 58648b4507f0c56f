import SpinelAccelerator
import SpinelGolden

// Test support: commands encoded as Gemmini's gemmini.h macros encode them (bit positions from
// docs/ISA.md), a machine that runs them, and an independent reference written from docs/NUMERICS.md.

/// One command as it crosses the command port.
struct Encoded: Sendable, CustomStringConvertible {
    var funct: UInt8
    var rs1: UInt64
    var rs2: UInt64

    var description: String { "funct \(funct) rs1 0x\(String(rs1, radix: 16)) rs2 0x\(String(rs2, radix: 16))" }
}

/// The gemmini.h macros, one function each. Local addresses are `UInt32`, as in C.
enum Gemmini {
    static let addrLen: UInt64 = 32
    static let garbage: UInt32 = 0xFFFF_FFFF
    static let outputStationary = 0, weightStationary = 1
    static let noActivation = 0, relu = 1

    /// An accumulator address: bit 31, bit 30 to accumulate, bit 29 to read full width.
    static func acc(_ row: Int, accumulate: Bool = false, fullWidth: Bool = false) -> UInt32 {
        1 << 31 | (accumulate ? 1 << 30 : 0) | (fullWidth ? 1 << 29 : 0) | UInt32(row)
    }

    static func operand(_ address: UInt32, cols: Int, rows: Int) -> UInt64 {
        UInt64(rows) << (addrLen + 16) | UInt64(cols) << addrLen | UInt64(address)
    }

    // gemmini_extended_mvin, _mvin2, _mvin3, _mvout
    static func mvin(_ dram: UInt64, _ local: UInt32, cols: Int, rows: Int) -> Encoded {
        Encoded(funct: 2, rs1: dram, rs2: operand(local, cols: cols, rows: rows))
    }
    static func mvin2(_ dram: UInt64, _ local: UInt32, cols: Int, rows: Int) -> Encoded {
        Encoded(funct: 1, rs1: dram, rs2: operand(local, cols: cols, rows: rows))
    }
    static func mvin3(_ dram: UInt64, _ local: UInt32, cols: Int, rows: Int) -> Encoded {
        Encoded(funct: 14, rs1: dram, rs2: operand(local, cols: cols, rows: rows))
    }
    static func mvout(_ dram: UInt64, _ local: UInt32, cols: Int, rows: Int) -> Encoded {
        Encoded(funct: 3, rs1: dram, rs2: operand(local, cols: cols, rows: rows))
    }

    // gemmini_extended_preload, _compute_preloaded, _compute_accumulated
    static func preload(_ bd: UInt32, _ c: UInt32, bdCols: Int, bdRows: Int, cCols: Int, cRows: Int) -> Encoded {
        Encoded(funct: 6, rs1: operand(bd, cols: bdCols, rows: bdRows), rs2: operand(c, cols: cCols, rows: cRows))
    }
    static func computePreloaded(_ a: UInt32, _ bd: UInt32, aCols: Int, aRows: Int, bdCols: Int, bdRows: Int) -> Encoded {
        Encoded(funct: 4, rs1: operand(a, cols: aCols, rows: aRows), rs2: operand(bd, cols: bdCols, rows: bdRows))
    }
    static func computeAccumulated(_ a: UInt32, _ bd: UInt32, aCols: Int, aRows: Int, bdCols: Int, bdRows: Int) -> Encoded {
        Encoded(funct: 5, rs1: operand(a, cols: aCols, rows: aRows), rs2: operand(bd, cols: bdCols, rows: bdRows))
    }

    // gemmini_extended3_config_ex
    static func configEx(dataflow: Int, activation: Int = 0, shift: UInt32 = 0, accScale: Float = 1, cStride: Int = 1,
                         aStride: Int = 1, transposeA: Bool = false, transposeB: Bool = false,
                         setOnlyStrides: Bool = false) -> Encoded {
        let rs1 = UInt64(accScale.bitPattern) << 32 | UInt64(aStride) << 16 | UInt64(transposeB ? 1 : 0) << 9
            | UInt64(transposeA ? 1 : 0) << 8 | UInt64(setOnlyStrides ? 1 : 0) << 7 | UInt64(activation) << 3
            | UInt64(dataflow) << 2 | 0
        return Encoded(funct: 0, rs1: rs1, rs2: UInt64(cStride) << 48 | UInt64(shift))
    }

    // gemmini_extended5_config_ld (block stride DIM and pixel repeats 1 are what the shorter
    // macros pass)
    static func configLd(stride: UInt64, scale: Float = 1, shrunk: Bool = false, blockStride: Int,
                         pixelRepeats: Int = 1, id: Int = 0) -> Encoded {
        let rs1 = UInt64(scale.bitPattern) << 32 | UInt64(blockStride) << 16 | UInt64(pixelRepeats) << 8
            | UInt64(id) << 3 | UInt64(shrunk ? 1 : 0) << 2 | 1
        return Encoded(funct: 0, rs1: rs1, rs2: stride)
    }

    // gemmini_extended2_config_st
    static func configSt(stride: UInt64, activation: Int = 0, accScale: Float = 1, poolStride: Int = 0,
                         poolSize: Int = 0) -> Encoded {
        let rs1 = UInt64(poolSize) << 6 | UInt64(poolStride) << 4 | UInt64(activation) << 2 | 2
        return Encoded(funct: 0, rs1: rs1, rs2: UInt64(accScale.bitPattern) << 32 | UInt64(UInt32(truncatingIfNeeded: stride)))
    }

    // gemmini_config_norm
    static func configNorm(qConst: Int32 = 0, qConstType: Int = 0, setStatsIDOnly: Bool = false, actMSB: Bool = false,
                           statID: Int = 0, igeluQb: Int32 = 0, igeluQc: Int32 = 0) -> Encoded {
        let rs1 = UInt64(UInt32(bitPattern: qConst)) << 32 | UInt64(qConstType & 1) << 18
            | UInt64(setStatsIDOnly ? 1 : 0) << 17 | UInt64(actMSB ? 1 : 0) << 16 | UInt64(statID) << 8 | 3
        return Encoded(funct: 0, rs1: rs1, rs2: UInt64(UInt32(bitPattern: igeluQc)) << 32 | UInt64(UInt32(bitPattern: igeluQb)))
    }

    static func flush(skip: Bool = false) -> Encoded { Encoded(funct: 7, rs1: skip ? 1 : 0, rs2: 0) }

    // gemmini_loop_ws (the six commands)
    static func loopWS(I: Int, J: Int, K: Int, padI: Int, padJ: Int, padK: Int, A: UInt64, B: UInt64, D: UInt64, C: UInt64,
                       aStride: UInt64, bStride: UInt64, dStride: UInt64, cStride: UInt64, aTranspose: Bool, bTranspose: Bool,
                       fullC: Bool, lowD: Bool, exAccumulate: Bool, activation: Int, aSpadID: Int = 0, bSpadID: Int = 0,
                       residualAdd: Bool = false) -> [Encoded] {
        [Encoded(funct: 9, rs1: UInt64(padK) << 32 | UInt64(padJ) << 16 | UInt64(padI), rs2: UInt64(K) << 32 | UInt64(J) << 16 | UInt64(I)),
         Encoded(funct: 10, rs1: A, rs2: B),
         Encoded(funct: 11, rs1: D, rs2: C),
         Encoded(funct: 12, rs1: aStride, rs2: bStride),
         Encoded(funct: 13, rs1: dStride, rs2: cStride),
         Encoded(funct: 8, rs1: UInt64(aSpadID) << 18 | UInt64(bSpadID) << 16 | UInt64(activation) << 8 | UInt64(lowD ? 1 : 0) << 2
                     | UInt64(fullC ? 1 : 0) << 1 | UInt64(exAccumulate ? 1 : 0),
                 rs2: UInt64(residualAdd ? 1 : 0) << 2 | UInt64(bTranspose ? 1 : 0) << 1 | UInt64(aTranspose ? 1 : 0))]
    }
}

/// A golden model with its DRAM, and helpers to put matrices into DRAM and read them back.
struct Machine {
    var model: GoldenModel
    var memory: SparseMemory

    init(_ config: AcceleratorConfig = .small, faultingRanges: [Range<UInt64>] = []) throws {
        model = GoldenModel(parameters: try config.parameters())
        memory = SparseMemory(faultingRanges: faultingRanges)
    }

    var dim: Int { model.parameters.dim }

    mutating func run(_ commands: Encoded...) throws { try run(commands) }

    mutating func run(_ commands: [Encoded]) throws {
        for command in commands {
            try model.execute(command.funct, command.rs1, command.rs2, memory: &memory)
        }
    }

    /// Stores `matrix` little-endian, `elementBytes` per element, rows `rowStride` bytes apart.
    mutating func put(_ matrix: [[Int64]], at address: UInt64, rowStride: Int, elementBytes: Int) throws {
        for (r, row) in matrix.enumerated() {
            var bytes: [UInt8] = []
            for value in row {
                for byte in 0..<elementBytes { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * byte))) }
            }
            try memory.write(address: address + UInt64(r * rowStride), bytes: bytes)
        }
    }

    /// Reads a matrix of signed little-endian elements.
    func get(at address: UInt64, rows: Int, cols: Int, rowStride: Int, elementBytes: Int) -> [[Int64]] {
        (0..<rows).map { r in
            (0..<cols).map { c in
                let start = address + UInt64(r * rowStride + c * elementBytes)
                var value: Int64 = 0
                for byte in 0..<elementBytes { value |= Int64(memory.byte(at: start + UInt64(byte))) << (8 * byte) }
                let unused = 64 - 8 * elementBytes
                return unused == 0 ? value : (value << unused) >> unused
            }
        }
    }

    func scratchpad(_ first: Int, rows: Int) -> [[Int64]] { (first..<first + rows).map(model.scratchpadRow) }
    func accumulator(_ first: Int, rows: Int) -> [[Int64]] { (first..<first + rows).map(model.accumulatorRow) }
}

/// A plain reference, independent of the model: exact Int64 arithmetic with explicit clamps.
enum Reference {
    static func clamp(_ x: Int64, bits: Int) -> Int64 {
        let high = Int64(1) << (bits - 1) - 1
        return x > high ? high : x < -high - 1 ? -high - 1 : x
    }

    static func int32(_ x: Int64) -> Int64 { Int64(Int32(truncatingIfNeeded: x)) }

    static func transpose(_ m: [[Int64]]) -> [[Int64]] {
        guard let columns = m.first?.count else { return [] }
        return (0..<columns).map { j in m.map { $0[j] } }
    }

    /// `a·b` with a triple loop, exact.
    static func matmul(_ a: [[Int64]], _ b: [[Int64]]) -> [[Int64]] {
        let n = a.count, k = b.count, m = b.first?.count ?? 0
        var c = Array(repeating: Array(repeating: Int64(0), count: m), count: n)
        for i in 0..<n {
            for j in 0..<m {
                for l in 0..<k { c[i][j] += a[i][l] * b[l][j] }
            }
        }
        return c
    }

    /// `x / 2^shift` rounded to nearest, ties to even, from floor division and its remainder.
    static func shiftRoundingHalfEven(_ x: Int64, _ shift: Int) -> Int64 {
        guard shift > 0 else { return x }
        let divisor = Int64(1) << shift
        var quotient = x / divisor, remainder = x % divisor
        if remainder < 0 { quotient -= 1; remainder += divisor }
        if 2 * remainder > divisor || (2 * remainder == divisor && quotient % 2 != 0) { quotient += 1 }
        return quotient
    }
}

/// SplitMix64: a small seeded generator, so failures reproduce from the seed printed with them.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == [Int64] {
    /// A `rows`×`cols` matrix of random values in `range`.
    static func random(rows: Int, cols: Int, in range: ClosedRange<Int64>, using rng: inout SplitMix64) -> [[Int64]] {
        (0..<rows).map { _ in (0..<cols).map { _ in Int64.random(in: range, using: &rng) } }
    }
}

extension Machine {
    /// Moves `matrix` (at most DIM columns) into scratchpad rows `row`, `row + rowStride`, …
    /// through a staging area of DRAM, one MVIN per row.
    mutating func loadScratchpad(_ matrix: [[Int64]], row: Int, rowStride: Int = 1, staging: UInt64 = 0x100_0000) throws {
        try load(matrix, to: { UInt32($0) }, row: row, rowStride: rowStride, elementBytes: 1, staging: staging)
    }

    /// Moves int32 `matrix` (at most DIM columns) into accumulator rows, overwriting.
    mutating func loadAccumulator(_ matrix: [[Int64]], row: Int, rowStride: Int = 1, staging: UInt64 = 0x200_0000) throws {
        try load(matrix, to: { Gemmini.acc($0) }, row: row, rowStride: rowStride, elementBytes: 4, staging: staging)
    }

    private mutating func load(_ matrix: [[Int64]], to address: (Int) -> UInt32, row: Int, rowStride: Int,
                               elementBytes: Int, staging: UInt64) throws {
        let cols = matrix.first?.count ?? 0
        try put(matrix, at: staging, rowStride: cols * elementBytes, elementBytes: elementBytes)
        try run(Gemmini.configLd(stride: UInt64(cols * elementBytes), blockStride: dim))
        for i in matrix.indices {
            try run(Gemmini.mvin(staging + UInt64(i * cols * elementBytes), address(row + i * rowStride), cols: cols, rows: 1))
        }
    }
}
