import Foundation
import SpinelAccelerator
import SpinelGolden

/// Shrinks a failing program to a few commands, for bug reports: drops chunks of commands
/// (halves, quarters, … single commands; a PRELOAD always with its COMPUTE) and fences, keeping
/// a candidate when the golden model still accepts every command and the trace replay still
/// fails. Greedy (ddmin-like), so the result is small but not necessarily minimal.
public struct ProgramMinimizer: Sendable {
    public let runner: DifferentialRunner

    public init(runner: DifferentialRunner) { self.runner = runner }

    /// Whether every command of `program` is legal for the golden model, and every DMA (a
    /// LOOP_WS's unrolled mvins and mvouts included) stays inside the buffer with no mvin
    /// reading a byte that an mvout writes (the accelerator does not order DRAM accesses between
    /// its load and store queues). Removing a CONFIG_LD, CONFIG_ST or LOOP_WS_CONFIG command
    /// changes strides and addresses of later moves, so the minimizer needs the second half too.
    public static func isLegal(_ program: CommandProgram, parameters: AcceleratorParameters) -> Bool {
        var model = GoldenModel(parameters: parameters)
        var memory = SparseMemory()
        let base = ProgramGenerator.goldenBase
        try! memory.write(address: base, bytes: program.dram)
        var reads: [Range<Int>] = [], writes: [Range<Int>] = []
        for instruction in program.instructions {
            let (rs1, rs2) = instruction.relocated(to: base)
            var moves: [(funct: UInt8, rs1: UInt64, rs2: UInt64)] = []
            switch instruction.funct {
            case Funct.mvin, Funct.mvin2, Funct.mvin3, Funct.mvout:
                moves = [(instruction.funct, rs1, rs2)]
            case Funct.loopWS:
                if case .loopWS(let launch)? = try? Command.decode(funct: instruction.funct, rs1: rs1, rs2: rs2, parameters: parameters),
                   LoopWSUnrolling.rejection(of: launch, settings: model.state.loop, parameters: parameters) == nil {
                    moves = LoopWSUnrolling.commands(of: launch, settings: model.state.loop, parameters: parameters).map { ($0.funct, $0.rs1, $0.rs2) }
                }
            default:
                break
            }
            for move in moves {
                guard let range = ProgramGenerator.dramRange(funct: move.funct, rs1: move.rs1, rs2: move.rs2, state: model.state,
                                                             parameters: parameters, base: base) else { continue }
                if move.funct == Funct.mvout { writes.append(range) } else { reads.append(range) }
            }
            do { try model.execute(instruction.funct, rs1, rs2, memory: &memory) } catch { return false }
            if model.lastRejection != nil { return false }
        }
        var written = [Bool](repeating: false, count: program.dram.count)
        for range in writes {
            guard range.lowerBound >= 0 && range.upperBound <= written.count else { return false }
            for offset in range { written[offset] = true }
        }
        for range in reads {
            guard range.lowerBound >= 0 && range.upperBound <= written.count else { return false }
            if range.contains(where: { written[$0] }) { return false }
        }
        return true
    }

    /// Whether the program's trace replay fails on the RTL (zero reset).
    public func fails(_ program: CommandProgram, in directory: URL) throws -> (Bool, String?) {
        let file = directory.appendingPathComponent("candidate.program")
        try program.render().write(to: file, atomically: true, encoding: .utf8)
        let run = try runner.run(file, program: program, stem: "candidate", in: directory, randomResetSeed: nil)
        return (run.failure != nil, run.firstMismatch ?? run.failure)
    }

    /// The smallest failing program found; `progress` hears of every improvement.
    public func minimize(_ program: CommandProgram, in directory: URL, progress: (String) -> Void = { _ in }) throws -> (CommandProgram, String?) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var best = program
        let (failing, firstMessage) = try fails(program, in: directory)
        guard failing else { return (program, nil) }
        var message = firstMessage
        var chunk = max(1, units(of: best).count / 2)
        while true {
            var improved = false
            var start = 0
            while start < units(of: best).count {
                let groups = units(of: best)
                let removed = Set(start..<min(start + chunk, groups.count))
                let candidate = CommandProgram(notes: best.notes, dram: best.dram,
                                               steps: groups.indices.filter { !removed.contains($0) }.flatMap { groups[$0] })
                if Self.isLegal(candidate, parameters: runner.parameters) {
                    let (stillFails, newMessage) = try fails(candidate, in: directory)
                    if stillFails {
                        best = candidate
                        message = newMessage
                        improved = true
                        progress("\(best.instructions.count) commands")
                        continue  // the same start now names the next chunk
                    }
                }
                start += chunk
            }
            if chunk == 1 && !improved { break }
            if !improved { chunk = max(1, chunk / 2) }
        }
        return (best, message)
    }

    /// Steps grouped into removable units: a PRELOAD with the step after it (its COMPUTE).
    func units(of program: CommandProgram) -> [[CommandProgram.Step]] {
        var groups: [[CommandProgram.Step]] = []
        var index = 0
        let steps = program.steps
        while index < steps.count {
            if case .command(let instruction) = steps[index], instruction.funct == Funct.preload, index + 1 < steps.count {
                groups.append([steps[index], steps[index + 1]])
                index += 2
            } else {
                groups.append([steps[index]])
                index += 1
            }
        }
        return groups
    }
}
