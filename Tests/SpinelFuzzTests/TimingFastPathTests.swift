import Foundation
import SpinelAccelerator
import SpinelFuzz
import SpinelGolden
import SpinelSim
import Testing

/// The timing model's fast path (`TimingStepping.fast`: frozen stretches jumped over) against
/// the plain cycle-stepped model, on random programs: every command's accepted and retired
/// cycle and every COUNTER's answer must be the same (docs/TIMING.md, "Speed").
@Suite("Timing model: fast path against the cycle-stepped reference")
struct TimingFastPathTests {
    static func stream(_ program: CommandProgram) -> [(funct: UInt8, rs1: UInt64, rs2: UInt64)] {
        program.instructions.map { instruction in
            (instruction.funct, instruction.rs1IsDRAM ? ProgramGenerator.goldenBase &+ instruction.rs1 : instruction.rs1,
             instruction.rs2IsDRAM ? ProgramGenerator.goldenBase &+ instruction.rs2 : instruction.rs2)
        }
    }

    /// Predicts `stream` both ways; returns the cycles the fast path jumped over.
    static func compare(_ stream: [(funct: UInt8, rs1: UInt64, rs2: UInt64)], issueCycles: [UInt64], parameters: AcceleratorParameters,
                        label: String) -> UInt64 {
        let program = TimingProgram(stream, issueCycles: issueCycles, parameters: parameters)
        let memory = MemoryTimingSettings(parameters.config.memory)
        let reference = TimingModel(parameters: parameters, memory: memory, stepping: .cycleStepped).predict(program)
        let fast = TimingModel(parameters: parameters, memory: memory, stepping: .fast).predict(program)
        #expect(fast.accepted == reference.accepted, "\(label): accepted cycles differ")
        #expect(fast.retired == reference.retired, "\(label): retired cycles differ")
        #expect(fast.responses == reference.responses, "\(label): COUNTER answers differ")
        #expect(reference.skippedCycles == 0)
        return fast.skippedCycles
    }

    @Test("random programs on small and default, back to back and with the host's own pace")
    func randomPrograms() throws {
        var skipped: UInt64 = 0
        for (preset, offset) in ["small", "default"].flatMap({ preset in (0..<12 as Range<UInt64>).map { (preset, $0) } }) {
            let config: AcceleratorConfig = preset == "small" ? .small : .default
            let parameters = try config.parameters()
            var options = ProgramGenerator.Options()
            options.commands = 150
            let generator = ProgramGenerator(parameters: parameters, options: options)
            let seed = SeededGenerator.testSeed(7000) + offset
            let stream = Self.stream(generator.generate(seed: seed).program)
            skipped += Self.compare(stream, issueCycles: Array(repeating: 0, count: stream.count), parameters: parameters,
                                    label: "\(preset) seed \(seed), back to back")
            // The host offers each command some cycles after the last (its own timers for the fast path).
            var random = SeededGenerator(seed: seed)
            var cycle: UInt64 = 0
            let paced = stream.map { _ in
                cycle += UInt64.random(in: 0...120, using: &random)
                return cycle
            }
            skipped += Self.compare(stream, issueCycles: paced, parameters: parameters, label: "\(preset) seed \(seed), paced")
        }
        // The fast path did jump (memory latency, the host's pace), or this test checks nothing.
        #expect(skipped > 0)
    }
}
