import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim
import Testing

/// The generator and the program file format, without simulation.
@Suite("Random program generator")
struct ProgramGeneratorTests {
    static let parameters = try! AcceleratorConfig.small.parameters()

    static func generator(commands: Int = 80) -> ProgramGenerator {
        var options = ProgramGenerator.Options()
        options.commands = commands
        return ProgramGenerator(parameters: parameters, options: options)
    }

    @Test func sameSeedGivesTheSameProgramByteForByte() {
        let seed = SeededGenerator.testSeed(42)
        let first = Self.generator().generate(seed: seed).program.render()
        let second = Self.generator().generate(seed: seed).program.render()
        #expect(first == second, "seed \(seed)")
        let other = Self.generator().generate(seed: seed + 1).program.render()
        #expect(first != other, "seeds \(seed) and \(seed + 1) gave the same program")
    }

    /// Every command is legal for an independent run of the golden model over the whole program
    /// (not the generator's own model), and the program covers every command kind it should.
    @Test(arguments: 0..<12)
    func everyCommandIsLegal(offset: UInt64) throws {
        let seed = SeededGenerator.testSeed(1000) + offset
        let result = Self.generator().generate(seed: seed)
        let program = result.program
        #expect(ProgramMinimizer.isLegal(program, parameters: Self.parameters), "seed \(seed): the golden model rejects a command")
        #expect(result.counts.values.reduce(0, +) > 0)
        // The prologue writes every local row, so the random part never reads unwritten memory.
        let prologueRows = program.instructions.prefix { $0.funct == Funct.mvin || $0.funct == Funct.config }
        #expect(prologueRows.count > 0)
        // Round trip through the text form.
        let parsed = try CommandProgram.parse(program.render(), name: "seed-\(seed)")
        #expect(parsed.dram == program.dram && parsed.steps == program.steps, "seed \(seed): the text form does not round-trip")
    }

    @Test func programsUseBothDataflowsBothMemoriesAndGarbage() {
        var functs = Set<UInt8>()
        var weightStationary = false, outputStationary = false, garbage = false, accumulatorC = false, zeros = false
        for seed in 0..<UInt64(20) {
            for instruction in Self.generator().generate(seed: seed).program.instructions {
                functs.insert(instruction.funct)
                if instruction.funct == Funct.config && instruction.rs1 & 3 == 0 && instruction.rs1 >> 7 & 1 == 0 {
                    if instruction.rs1 >> 2 & 1 == 1 { weightStationary = true } else { outputStationary = true }
                }
                if instruction.funct == Funct.preload {
                    garbage = garbage || UInt32(truncatingIfNeeded: instruction.rs1) == LocalAddressLayout.garbage
                    accumulatorC = accumulatorC || UInt32(truncatingIfNeeded: instruction.rs2) >> 31 == 1
                        && UInt32(truncatingIfNeeded: instruction.rs2) != LocalAddressLayout.garbage
                }
                if instruction.funct == Funct.mvin && instruction.rs1 == 0 && !instruction.rs1IsDRAM { zeros = true }
            }
        }
        for funct in [Funct.config, Funct.mvin, Funct.mvin2, Funct.mvin3, Funct.mvout, Funct.preload,
                      Funct.computePreloaded, Funct.computeAccumulated, Funct.flush] {
            #expect(functs.contains(funct), "no command with funct \(funct) in 20 programs")
        }
        #expect(weightStationary && outputStationary && garbage && accumulatorC && zeros)
    }

    /// LOOP_WS is generated, with its configuration commands, and its launches cover the flags,
    /// the absent addresses (no A/B load, no bias, no store) and the scratchpad ids.
    @Test func programsRunLoopWSWithEveryFlag() {
        var functs = Set<UInt8>()
        var seen = Set<String>()
        var launches = 0
        for seed in 0..<UInt64(40) {
            let program = Self.generator().generate(seed: seed).program
            for instruction in program.instructions {
                functs.insert(instruction.funct)
                switch instruction.funct {
                case Funct.loopWS:
                    launches += 1
                    let rs1 = instruction.rs1, rs2 = instruction.rs2
                    let flags = ["exAccumulate": rs1 & 1, "fullC": rs1 >> 1 & 1, "lowD": rs1 >> 2 & 1, "relu": rs1 >> 8 & 7,
                                 "transposeA": rs2 & 1, "transposeB": rs2 >> 1 & 1, "residualAdd": rs2 >> 2 & 1]
                    for (name, value) in flags where value == 1 { seen.insert(name) }
                    seen.insert("aID\(rs1 >> 18 & 3)")
                    seen.insert("bID\(rs1 >> 16 & 3)")
                    if rs2 & 3 == 3 { seen.insert("both transposes") }
                case Funct.loopWSConfigAddressesAB:
                    if instruction.rs1 == 0 && !instruction.rs1IsDRAM { seen.insert("no A") }
                    if instruction.rs2 == 0 && !instruction.rs2IsDRAM { seen.insert("no B") }
                case Funct.loopWSConfigAddressesDC:
                    seen.insert(instruction.rs1IsDRAM ? "bias" : "no bias")
                    seen.insert(instruction.rs2IsDRAM ? "store" : "no store")
                case Funct.loopWSConfigBounds:
                    if instruction.rs1 != 0 { seen.insert("pads") }
                    if instruction.rs2 >> 32 & 0xFFFF > 1 { seen.insert("K > 1") }
                default:
                    break
                }
            }
        }
        for funct in [Funct.loopWS, Funct.loopWSConfigBounds, Funct.loopWSConfigAddressesAB, Funct.loopWSConfigAddressesDC,
                      Funct.loopWSConfigStridesAB, Funct.loopWSConfigStridesDC] {
            #expect(functs.contains(funct), "no command with funct \(funct) in 40 programs")
        }
        #expect(launches >= 40, "\(launches) LOOP_WS in 40 programs")
        let expected = ["exAccumulate", "fullC", "lowD", "relu", "transposeA", "transposeB", "residualAdd", "aID0", "aID1", "aID2",
                        "bID0", "bID1", "bID2", "no A", "no B", "bias", "no bias", "store", "no store", "pads", "K > 1"]
        for name in expected { #expect(seen.contains(name), "no LOOP_WS with \(name) in 40 programs") }
        #expect(!seen.contains("both transposes"), "LOOP_WS cannot transpose both A and B")
    }

    /// With the numerics extensions (Testbenches/configs/small-numerics.json) the programs load
    /// multipliers and lane scales, set K and the scale sources, send the two-segment I-GELU's
    /// constants, and run Softmax loops relative to the maximum (activation 5) and plain loops
    /// through the two-segment I-GELU (7); every command stays legal for the golden model.
    @Test func programsUseTheNumericsExtensions() throws {
        var config = AcceleratorConfig.small
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        config.hasNumericsExtensions = true
        let parameters = try config.parameters()
        var options = ProgramGenerator.Options()
        options.commands = 80
        var seen = Set<String>()
        for seed in 0..<UInt64(40) {
            let program = ProgramGenerator(parameters: parameters, options: options).generate(seed: seed).program
            #expect(ProgramMinimizer.isLegal(program, parameters: parameters), "seed \(seed): the golden model rejects a command")
            var storeActivation: UInt64 = 0, msb = false
            for instruction in program.instructions {
                let rs1 = instruction.rs1
                switch instruction.funct {
                case Funct.loadRequantizer: seen.insert("LOAD_REQUANT")
                case Funct.loadLaneScales: seen.insert("LOAD_LANE_SCALES")
                case Funct.config where rs1 & 3 == 2:
                    storeActivation = rs1 >> 2 & 3
                    if rs1 >> UInt64(NumericsExtensions.requantizerShiftLow) & 63 != 0 { seen.insert("K") }
                    seen.insert("scale source \(rs1 >> UInt64(NumericsExtensions.scaleSourceLow) & 3)")
                case Funct.config where rs1 & 3 == 3:
                    let set = rs1 >> UInt64(NumericsExtensions.constantSetLow) & 3
                    if set != 0 { seen.insert("constant set \(set)") } else if rs1 >> 17 & 1 == 0 { msb = rs1 >> 16 & 1 == 1 }
                case Funct.loopWS:
                    let activation = rs1 >> 8 & 7
                    if activation == 4 && storeActivation == 1 && msb { seen.insert("activation 5 loop") }
                    if activation == 0 && storeActivation == 3 && msb { seen.insert("activation 7 loop") }
                default: break
                }
            }
        }
        for name in ["LOAD_REQUANT", "LOAD_LANE_SCALES", "K", "scale source 1", "scale source 2", "constant set 1", "constant set 2",
                     "activation 5 loop", "activation 7 loop"] {
            #expect(seen.contains(name), "no \(name) in 40 programs: \(seen.sorted())")
        }
    }

    /// Output-stationary pairs with C stride 0 that overwrite one local row with several result
    /// rows are generated (docs/ACCELERATOR.md fixes the order: the array's, OS bottom row first).
    @Test func programsOverwriteOneCRowWithSeveralOutputStationaryRows() throws {
        var found = 0
        for seed in 0..<UInt64(40) {
            let program = Self.generator().generate(seed: seed).program
            var model = GoldenModel(parameters: Self.parameters)
            var memory = SparseMemory()
            try memory.write(address: ProgramGenerator.goldenBase, bytes: program.dram)
            for instruction in program.instructions {
                if instruction.funct == Funct.preload, model.state.execute.dataflow == .os, model.state.execute.cStride == 0 {
                    let c = UInt32(truncatingIfNeeded: instruction.rs2), rows = instruction.rs2 >> 48
                    let overwrites = c != LocalAddressLayout.garbage && (c >> 31 == 0 || c >> 30 & 1 == 0)
                    if overwrites && rows > 1 { found += 1 }
                }
                let (rs1, rs2) = instruction.relocated(to: ProgramGenerator.goldenBase)
                try model.execute(instruction.funct, rs1, rs2, memory: &memory)
            }
        }
        #expect(found > 0, "no OS pair with C stride 0 overwriting several rows in 40 programs")
    }

    @Test func malformedProgramFilesNameTheLineAndTheProblem() {
        let cases: [(String, Int, String)] = [
            ("dram 16\n", 1, "spinel-program 1"),
            ("spinel-program 1\ncmd 2 0 0\n", 2, "before the dram line"),
            ("spinel-program 1\ndram 16\ndata 0x8 00112233445566778899\n", 3, "runs past the end"),
            ("spinel-program 1\ndram 16\ndata 0 0g\n", 3, "hex digits"),
            ("spinel-program 1\ndram 16\n\ncmd 2 @0x20 0\n", 4, "outside the 16-byte DRAM buffer"),
            ("spinel-program 1\ndram 16\ncmd 2 zero 0\n", 3, "not a number"),
            ("spinel-program 1\ndram 16\ncmd 200 0 0\n", 3, "below 128"),
            ("spinel-program 1\ndram 16\ncmd 2 0\n", 3, "expected \"cmd FUNCT RS1 RS2\""),
            ("spinel-program 1\ndram 16\nmvin 0 0\n", 3, "unknown keyword"),
        ]
        for (text, line, problem) in cases {
            do {
                _ = try CommandProgram.parse(text, name: "p.program")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line && error.problem.contains(problem), "\(text): \(error)")
                #expect(error.description.hasPrefix("p.program:\(line): "))
            }
        }
    }
}
