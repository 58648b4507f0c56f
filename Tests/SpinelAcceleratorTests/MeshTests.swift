import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

/// Drives `MeshWithDelays` slot by slot the way the execute controller does, and compares the
/// result rows with a plain integer matrix product.
struct MeshDriver {
    struct Slot {
        var a: [Int64]
        var b: [Int64]
        var d: [Int64]
        var propagate: Bool
        var weightStationary: Bool
        var shift = 0
        var output = false
        var tag = 0
    }

    let sim: VerilatorSimulation
    let dim: Int
    let latency: Int

    init(mesh: Mesh) throws {
        let module = MeshWithDelays(mesh: mesh, tagBits: 8)
        sim = try VerilatorSimulation(try Elaborator.elaborate(module))
        dim = mesh.rows
        latency = module.latency
        sim.reset()
    }

    /// Feeds `slots` (with `gaps` idle cycles after each) and returns every result row with its tag.
    func run(_ slots: [Slot], gaps: [Int] = []) -> [(row: [Int64], tag: Int)] {
        var results: [(row: [Int64], tag: Int)] = []
        func collect() {
            sim.eval()
            guard sim.peekBool("result_valid") else { return }
            results.append(((0..<dim).map { sim.peekSigned("result_bits_row_\($0)") }, Int(sim.peek("result_bits_tag"))))
        }
        for (index, slot) in slots.enumerated() {
            sim.poke("slot_valid", true)
            for i in 0..<dim {
                sim.poke("slot_bits_a_\(i)", BigInteger(Int(slot.a[i])))
                sim.poke("slot_bits_b_\(i)", BigInteger(Int(slot.b[i])))
                sim.poke("slot_bits_d_\(i)", BigInteger(Int(slot.d[i])))
            }
            sim.poke("slot_bits_propagate", slot.propagate)
            sim.poke("slot_bits_ws", slot.weightStationary)
            sim.poke("slot_bits_shift", slot.shift)
            sim.poke("slot_bits_output", slot.output)
            sim.poke("slot_bits_tag", slot.tag)
            collect()
            sim.tick()
            sim.poke("slot_valid", false)
            for _ in 0..<(index < gaps.count ? gaps[index] : 0) {
                collect()
                sim.tick()
            }
        }
        sim.poke("slot_valid", false)
        for _ in 0...latency {
            collect()
            sim.tick()
        }
        return results
    }
}

/// Builds slot sequences for pairs, tracking which `c` register computes.
struct SlotSchedule {
    let dim: Int
    var propagate = false
    var slots: [MeshDriver.Slot] = []

    init(dim: Int) { self.dim = dim }

    var zeros: [Int64] { Array(repeating: 0, count: dim) }

    /// Shifts `rows` (DIM rows, bottom row first) into the idle registers, then flips them in.
    mutating func load(_ rows: [[Int64]], weightStationary: Bool) {
        for row in rows.reversed() {
            slots.append(.init(a: zeros, b: zeros, d: row, propagate: propagate, weightStationary: weightStationary))
        }
        propagate.toggle()
    }

    /// WS: one slot per row of A; result rows tagged with their row index.
    mutating func multiplyWS(_ a: [[Int64]]) {
        for (i, row) in a.enumerated() {
            slots.append(.init(a: row, b: zeros, d: zeros, propagate: propagate, weightStationary: true, output: true, tag: i))
        }
    }

    /// OS: slot k carries column k of A and row k of B.
    mutating func accumulateOS(_ a: [[Int64]], _ b: [[Int64]]) {
        for k in 0..<b.count {
            slots.append(.init(a: a.map { $0[k] }, b: b[k], d: zeros, propagate: propagate, weightStationary: false))
        }
    }

    /// OS: flips the results out; rows leave bottom row first.
    mutating func drainOS(shift: Int) {
        propagate.toggle()
        for q in 0..<dim {
            slots.append(.init(a: zeros, b: zeros, d: zeros, propagate: propagate, weightStationary: false, shift: shift,
                               output: true, tag: dim - 1 - q))
        }
    }
}

func randomMatrix(_ rows: Int, _ columns: Int, range: ClosedRange<Int64>, _ random: inout SeededGenerator) -> [[Int64]] {
    (0..<rows).map { _ in (0..<columns).map { _ in Int64.random(in: range, using: &random) } }
}

/// Independent reference: `D + A·B` in Int64, wrapped to `bits`.
func product(_ a: [[Int64]], _ b: [[Int64]], plus d: [[Int64]]? = nil, bits: Int) -> [[Int64]] {
    a.indices.map { i in
        b[0].indices.map { j in
            let sum = a[i].indices.reduce(Int64(0)) { $0 &+ a[i][$1] &* b[$1][j] }
            return Numerics.wrap(sum &+ (d?[i][j] ?? 0), bits: bits)
        }
    }
}

@Suite("Systolic array (MeshWithDelays) under Verilator against integer matrix products")
struct MeshTests {
    static let types = ArrayTypes(input: .sint(8), spatial: .sint(20), accumulator: .sint(32), shiftBits: 5)

    static let shapes: [(meshRows: Int, tileRows: Int)] = [(4, 1), (2, 2), (1, 4)]

    @Test(arguments: shapes.indices)
    func weightStationary(shape: Int) throws {
        let (meshRows, tileRows) = Self.shapes[shape]
        let mesh = Mesh(meshRows: meshRows, meshColumns: meshRows, tileRows: tileRows, tileColumns: tileRows, types: Self.types)
        let driver = try MeshDriver(mesh: mesh)
        let dim = mesh.rows
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0x3E5A + UInt64(shape)))
        var schedule = SlotSchedule(dim: dim)
        var expected: [[[Int64]]] = []
        var weights: [[Int64]] = []
        for pair in 0..<6 {
            let preloaded = pair % 3 != 2  // every third pair reuses the loaded weights
            if preloaded {
                weights = randomMatrix(dim, dim, range: -128...127, &random)
                schedule.load(weights, weightStationary: true)
            }
            let a = randomMatrix(1 + pair % dim, dim, range: -128...127, &random)
            schedule.multiplyWS(a)
            expected.append(product(a, weights, bits: 20))
        }
        let results = driver.run(schedule.slots, gaps: (0..<schedule.slots.count).map { $0 % 5 == 3 ? 2 : 0 })
        let expectedRows = expected.flatMap { $0 }
        try #require(results.count == expectedRows.count, "seed \(random.seed)")
        for (index, result) in results.enumerated() {
            #expect(result.row == expectedRows[index], "row \(index), seed \(random.seed)")
        }
    }

    @Test(arguments: shapes.indices)
    func outputStationary(shape: Int) throws {
        let (meshRows, tileRows) = Self.shapes[shape]
        let mesh = Mesh(meshRows: meshRows, meshColumns: meshRows, tileRows: tileRows, tileColumns: tileRows, types: Self.types)
        let driver = try MeshDriver(mesh: mesh)
        let dim = mesh.rows
        var random = SeededGenerator(seed: SeededGenerator.testSeed(0x05A + UInt64(shape)))
        var schedule = SlotSchedule(dim: dim)
        var expected: [[[Int64]]] = []
        for tile in 0..<4 {
            let d = randomMatrix(dim, dim, range: -100_000...100_000, &random)
            let shift = tile == 0 ? 0 : tile + 1
            schedule.load(d, weightStationary: false)
            // Two accumulation steps, the second one a COMPUTE_ACCUMULATED (no flip).
            let a1 = randomMatrix(dim, dim, range: -128...127, &random), b1 = randomMatrix(dim, dim, range: -128...127, &random)
            let a2 = randomMatrix(dim, dim, range: -128...127, &random), b2 = randomMatrix(dim, dim, range: -128...127, &random)
            schedule.accumulateOS(a1, b1)
            schedule.accumulateOS(a2, b2)
            schedule.drainOS(shift: shift)
            let sum = product(a2, b2, plus: product(a1, b1, plus: d, bits: 32), bits: 32)
            // Rows leave bottom row first.
            expected.append(sum.map { $0.map { Numerics.roundingRightShift($0, by: shift) } }.reversed())
        }
        let results = driver.run(schedule.slots)
        let expectedRows = expected.flatMap { $0 }
        try #require(results.count == expectedRows.count, "seed \(random.seed)")
        for (index, result) in results.enumerated() {
            #expect(result.row == expectedRows[index], "row \(index) (tag \(result.tag)), seed \(random.seed)")
        }
    }
}
