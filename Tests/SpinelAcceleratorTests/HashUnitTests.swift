import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// The hash unit alone under Verilator, every lane of every cycle against the hash position of
// docs/NUMERICS.md ("Hash position"): sat_H(((acc + o) · M) >> K), an arithmetic (flooring) shift.

@Suite("Hash unit under Verilator against the hash position", .serialized)
struct HashUnitTests {
    struct Shape: CustomStringConvertible, Sendable {
        var lanes: Int, reciprocalBits: Int, codeBits: Int
        var description: String { "\(lanes) lanes, M \(reciprocalBits) bits, codes \(codeBits) bits" }
    }

    /// Operand values: extremes, small values and random magnitudes of random sign.
    static func operand(_ random: inout SeededGenerator, bits: Int) -> Int64 {
        let high = (Int64(1) << (bits - 1)) - 1, low = -(Int64(1) << (bits - 1))
        switch random.next() % 8 {
        case 0: return [high, low, 0, -1, 1][Int(random.next() % 5)]
        case 1: return Int64(random.next() % 64) - 32
        default:
            let magnitude = Int64(random.bits(1 + Int(random.next() % UInt64(bits - 1))))
            return random.chance(0.5) ? -magnitude : magnitude
        }
    }

    @Test(arguments: [Shape(lanes: 4, reciprocalBits: 16, codeBits: 8), Shape(lanes: 3, reciprocalBits: 24, codeBits: 4)])
    func randomOperands(shape: Shape) throws {
        let unit = HashUnit(lanes: shape.lanes, reciprocalBits: shape.reciprocalBits, codeBits: shape.codeBits)
        let sim = try VerilatorSimulation(try Elaborator.elaborate(unit))
        let seed = SeededGenerator.testSeed(0x4A5B_0000 + UInt64(shape.codeBits))
        var random = SeededGenerator(seed: seed)
        var pending: [Int64]?
        var compared = 0, inRange = 0, high = 0, low = 0, floored = 0
        let limit = Int64(1) << (shape.codeBits - 1)
        sim.poke("in_valid", false)
        sim.reset()
        for cycle in 0..<20_000 {
            let valid = random.chance(0.85)
            let accumulators = (0..<shape.lanes).map { _ in Self.operand(&random, bits: 32) }
            let offsets = (0..<shape.lanes).map { _ in Self.operand(&random, bits: 32) }
            let multiplier: Int64 = random.chance(0.1)
                ? [0, 1, (Int64(1) << shape.reciprocalBits) - 1][Int(random.next() % 3)]
                : Int64(random.bits(shape.reciprocalBits))
            // Mostly a shift that brings lane 0 near the code range; sometimes any shift.
            let magnitude = abs((accumulators[0] + offsets[0]) * multiplier)
            let natural = max(0, 64 - magnitude.leadingZeroBitCount - shape.codeBits + Int(random.next() % 5) - 2)
            let shift = random.chance(0.8) ? min(natural, 63) : Int(random.next() % 64)

            sim.poke("in_valid", valid)
            for lane in 0..<shape.lanes {
                sim.poke("in_bits_acc_\(lane)", BigInteger(Int(accumulators[lane])))
                sim.poke("in_bits_offset_\(lane)", BigInteger(Int(offsets[lane])))
            }
            sim.poke("multiplier", UInt64(multiplier))
            sim.poke("shift", shift)
            sim.eval()
            let context = "\(unit.name), seed \(seed), cycle \(cycle)"
            try #require(sim.peekBool("out_valid") == (pending != nil), "out.valid: \(context)")
            if let pending {
                for lane in 0..<shape.lanes {
                    let actual = Int64(sim.peekSigned("out_bits_\(lane)"))
                    try #require(actual == pending[lane], "lane \(lane): \(actual), expected \(pending[lane]); \(context)")
                    compared += 1
                }
            }
            pending = nil
            if valid {
                pending = (0..<shape.lanes).map { lane in
                    let code = CTANumerics.hash(accumulators[lane], offset: offsets[lane], multiplier: multiplier, shift: shift,
                                            codeBits: shape.codeBits)
                    let product = (accumulators[lane] + offsets[lane]) * multiplier
                    if code == limit - 1 && product >> Int64(shift) >= limit { high += 1 }
                    else if code == -limit && product >> Int64(shift) < -limit { low += 1 }
                    else {
                        inRange += 1
                        if product < 0 && shift > 0 && product & ((Int64(1) << Int64(shift)) &- 1) != 0 { floored += 1 }
                    }
                    return code
                }
            }
            sim.tick()
        }
        print("\(unit.name), seed \(seed): \(compared) lanes, \(inRange) in range (\(floored) negative floors), \(high) saturated high, \(low) low")
        #expect(compared > 40_000 && inRange > 15_000 && floored > 5_000 && high > 2_000 && low > 2_000, "coverage; seed \(seed)")
    }

    @Test("The hash unit is lint-clean, latch-free and compiles under Icarus")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(HashUnit(lanes: 4, reciprocalBits: 16, codeBits: 8)))
    }
}
