import SpinelAccelerator

/// A LOOP_WS as the `LoopUnroller` emits it: its unrolled commands (`LoopWSUnrolling`, each a
/// `TimedCommand` with the state it runs with) and, cycle by cycle, what the unroller offers
/// the dispatcher from the cycle after it took the LOOP_WS.
///
/// The unroller offers one command per cycle and holds it until the dispatcher takes it. Its
/// phases (LoopUnroller.swift) add cycles without a command:
/// - residual add: per C tile an MVIN, an MVIN2 and an MVOUT; without C, the MVOUT's cycle
///   passes without a command (`emitting` skips part 2, `advance` still steps);
/// - bias, then `firstLoads` (K block 0's operands): one cycle without a command after the last
///   load, in which `firstLoads` sees `loads_left` low and moves to `pairs` (also when there
///   is no load at all);
/// - each K block: its pairs, each followed by one waiting command (`waiting`), then `drain`
///   emits what still waits and spends one cycle without a command deciding what comes next
///   (the next block's pairs, or `finish`);
/// - `finish`: one cycle without a command; the loop's slot then waits for its commands to
///   retire, and the unroller takes host commands again in the next cycle.
public struct UnrolledLoop: Sendable {
    /// The unrolled commands (`index` is the position in the unrolling).
    public var commands: [TimedCommand]
    /// One entry per unroller cycle: the command it offers (until the dispatcher takes it), or
    /// nil for a cycle without one. The last entry is `finish`.
    public var emission: [Int?]

    /// Runs the LOOP_WS on `model` command by command, as the dispatcher sees them. Nil (and
    /// `model` untouched) when the launch fails the unroller's own checks: it then retires in
    /// the cycle the unroller takes it.
    init?(rs1: UInt64, rs2: UInt64, model: inout GoldenModel, memory: inout DiscardingMemory, parameters: AcceleratorParameters) {
        guard case .loopWS(let launch)? = try? Command.decode(funct: Funct.loopWS, rs1: rs1, rs2: rs2, parameters: parameters),
              LoopWSUnrolling.rejection(of: launch, settings: model.state.loop, parameters: parameters) == nil else { return nil }
        let settings = model.state.loop
        let unrolled = LoopWSUnrolling.commands(of: launch, settings: settings, parameters: parameters)
        commands = []
        commands.reserveCapacity(unrolled.count)
        for (position, command) in unrolled.enumerated() {
            let before = model.state
            var rejected = false
            do {
                try model.execute(command.funct, command.rs1, command.rs2, memory: &memory)
                rejected = model.lastRejection != nil
            } catch {
                rejected = true
            }
            commands.append(TimedCommand(index: position, funct: command.funct, rs1: command.rs1, rs2: command.rs2, arrival: 0,
                                         rejected: rejected, state: before, parameters: parameters))
        }
        // GoldenModel.loopWS: a loop that stores C flips the accumulator half of the next one.
        if model.state.loop.c != 0 { model.state.loop.accumulatorHalf ^= 1 }
        emission = Self.emission(launch: launch, settings: settings, commands: unrolled, parameters: parameters)
    }

    /// The unroller's cycles for `commands` (see the type's comment).
    static func emission(launch: LoopWSLaunch, settings: LoopWSSettings, commands: [UnrolledCommand],
                         parameters: AcceleratorParameters) -> [Int?] {
        var out: [Int?] = []
        out.reserveCapacity(commands.count + 8)
        if launch.isResidualAdd {
            // MVIN, MVIN2, MVOUT per tile; part 2 takes its cycle without C too.
            var position = 0
            while position < commands.count {
                out.append(position)
                out.append(position + 1)
                if settings.c != 0 {
                    out.append(position + 2)
                    position += 3
                } else {
                    out.append(nil)
                    position += 2
                }
            }
            out.append(nil)  // finish
            return out
        }
        // Pairs per K block (each pair starts with its PRELOAD).
        let bounds = settings.bounds, blockLength = parameters.loopBlockTiles
        let steps = (bounds.tilesK + blockLength - 1) / blockLength
        var blockStarts: Set<Int> = []  // PRELOAD ordinals that begin a block
        var preloads = 0
        for step in 0..<steps {
            blockStarts.insert(preloads)
            preloads += bounds.tilesI * bounds.tilesJ * min(blockLength, bounds.tilesK - step * blockLength)
        }
        var preload = 0
        for (position, command) in commands.enumerated() {
            if command.funct == Funct.preload {
                // Before block 0's pairs: `firstLoads`' last cycle; before a later block's: `drain`'s.
                if blockStarts.contains(preload) { out.append(nil) }
                preload += 1
            }
            out.append(position)
        }
        out.append(nil)  // the last block's `drain`
        out.append(nil)  // finish
        return out
    }
}
