import SpinelHDL

// What the sequential units (SequentialDivider, SequentialSquareRoot, FloatDivider) share: the
// start/busy/done handshake of a fixed number of cycles, and the restoring step of radix-2
// digit recurrence, which produces one quotient or root bit by subtracting where it fits.

/// The handshake of a unit whose operation takes a fixed `latency` (≥ 2) cycles.
///
/// `start` in cycle t, while the unit is not busy, is accepted: the clock edge ending cycle t
/// captures the operands. `busy` is high in cycles t + 1 … t + latency − 1 (`start` is ignored
/// there) and `done` pulses in cycle t + latency, when `busy` is low again, so a `start` in the
/// done cycle is accepted and back-to-back operations take `latency` cycles each.
///
/// Registers `busy_reg`, `done_reg` (both reset to 0) and `cycle`; wires `accept`, `finishing`.
struct IterationControl {
    /// The clock edge ending this cycle starts an operation: `start` while not busy.
    let accept: Signal
    /// An operation is under way: the cycles after the accepting one, before the done cycle.
    let busy: Signal
    /// The last busy cycle (t + latency − 1), whose clock edge completes the operation.
    let finishing: Signal

    init(start: Signal, latency: Int, busyOutput: Signal, doneOutput: Signal, in m: ModuleBuilder,
         file: StaticString = #fileID, line: UInt = #line) {
        precondition(latency >= 2, "an iterating unit takes at least 2 cycles, not \(latency)")
        let busy = m.register("busy_reg", .bool, reset: false, file: file, line: line)
        let done = m.register("done_reg", .bool, reset: false, file: file, line: line)
        // Cycles since the accepting one: 1 in the first busy cycle, latency − 1 in the last.
        let cycleType = HWType.uint(HWType.addressWidth(for: latency))
        let cycle = m.register("cycle", cycleType, reset: 0, file: file, line: line)

        accept = m.wire("accept", .bool, default: start && !busy, file: file, line: line)
        finishing = m.wire("finishing", .bool,
                           default: busy && cycle === Signal.literal(latency - 1, cycleType), file: file, line: line)
        self.busy = busy

        m.when(accept, file: file, line: line) {
            busy.set(true, file: file, line: line)
            cycle.set(Signal.literal(1, cycleType), file: file, line: line)
        }.elsewhen(busy, file: file, line: line) {
            cycle.set(cycle +% 1, file: file, line: line)
            m.when(finishing, file: file, line: line) { busy.set(false, file: file, line: line) }
        }
        done.set(finishing, file: file, line: line)
        busyOutput.set(busy, file: file, line: line)
        doneOutput.set(done, file: file, line: line)
    }
}

extension ModuleBuilder {
    /// One restoring step of radix-2 digit recurrence on UInts: `partial − subtrahend` where
    /// that is not negative (`fits`, the next quotient or root bit), else `partial`, kept to
    /// `resultWidth` bits (the caller knows how wide the remainder can get).
    ///
    /// One subtractor of max(width) + 1 bits whose borrow is the comparison. Wires
    /// `<name>_difference`, `<name>_fits`, `<name>_remainder`.
    func subtractIfFits(_ partial: Signal, _ subtrahend: Signal, resultWidth: Int, name: String,
                        file: StaticString = #fileID, line: UInt = #line) -> (fits: Signal, remainder: Signal) {
        let differenceWidth = max(partial.width, subtrahend.width) + 1
        let difference = wire("\(name)_difference", .uint(differenceWidth), default: partial -& subtrahend, file: file, line: line)
        let fits = wire("\(name)_fits", .bool, default: !difference[differenceWidth - 1], file: file, line: line)
        let remainder = wire("\(name)_remainder", .uint(resultWidth),
                             default: mux(fits, difference.resized(to: resultWidth, file: file, line: line),
                                          partial.resized(to: resultWidth, file: file, line: line), file: file, line: line),
                             file: file, line: line)
        return (fits, remainder)
    }

    /// One step of restoring division, the state being a partial `remainder` (below `divisor`,
    /// same width) and a shift register `quotient` whose top bits are the dividend bits not yet
    /// brought down and whose low bits are the quotient bits found so far: bring down the top
    /// bit into the remainder, subtract the divisor if it fits, shift the quotient bit in.
    ///
    /// After as many steps as `quotient` has bits, starting from remainder 0, `quotient` and
    /// `remainder` are those of the dividend `quotient` held. A zero divisor always "fits":
    /// the quotient becomes all ones and the remainder the dividend's low bits.
    func restoringDivisionStep(remainder: Signal, quotient: Signal, divisor: Signal, name: String,
                               file: StaticString = #fileID, line: UInt = #line) -> (remainder: Signal, quotient: Signal) {
        let quotientWidth = quotient.width
        precondition(quotientWidth >= 2 && remainder.width == divisor.width, "restoringDivisionStep: mismatched state")
        let partial = cat(remainder, quotient[quotientWidth - 1], file: file, line: line)
        let step = subtractIfFits(partial, divisor, resultWidth: remainder.width, name: name, file: file, line: line)
        return (step.remainder, cat(quotient.bits(quotientWidth - 2, 0, file: file, line: line), step.fits, file: file, line: line))
    }
}
