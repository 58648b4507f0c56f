import SpinelHDL

/// Unsigned integer division, `dividend / divisor` and `dividend % divisor`, one quotient bit
/// per cycle: the core of docs/NUMERICS.md's LayerNorm mean and variance, a row sum divided by the
/// row length (the sum's sign is handled around it).
///
/// Radix-2 restoring division: one (divisorBits + 1)-bit subtractor, whose borrow decides each
/// quotient bit, and a shift register that holds the unconsumed dividend bits above the quotient
/// bits found so far.
///
/// Timing (`latency` = dividendBits cycles): the operands are captured in a cycle t where
/// `start` is high and the unit is not busy, and that cycle's clock edge already computes the
/// first quotient bit. `busy` is high in cycles t + 1 … t + dividendBits − 1, one bit each;
/// `done` pulses in cycle t + dividendBits, when `quotient` and `remainder` are valid. They hold
/// until the clock edge of the next accepted `start`, which may come in the done cycle itself.
/// A `start` while `busy` is ignored: its operands are not captured and the running division
/// is not disturbed.
///
/// Divisor 0: every trial subtraction fits, so the quotient is all ones and the remainder is
/// the dividend's low divisorBits bits (the whole dividend, zero-extended, if it is narrower).
public struct SequentialDivider: Module {
    public let dividendBits: Int
    public let divisorBits: Int

    public init(dividendBits: Int, divisorBits: Int) {
        precondition(dividendBits >= 2 && divisorBits >= 1,
                     "a SequentialDivider needs a dividend of at least 2 bits and a divisor of at least 1, not \(dividendBits) by \(divisorBits)")
        self.dividendBits = dividendBits
        self.divisorBits = divisorBits
    }

    public var name: String { "SequentialDivider_\(dividendBits)by\(divisorBits)" }

    /// Cycles from an accepted `start` to `done`.
    public var latency: Int { PipelineTiming.sequentialDividerLatency(dividendBits: dividendBits) }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        /// UInt(dividendBits), captured with `start`.
        @Input public var dividend: Signal
        /// UInt(divisorBits), captured with `start`.
        @Input public var divisor: Signal
        @Output public var busy: Signal
        /// A one-cycle pulse `latency` cycles after the accepted `start`.
        @Output public var done: Signal
        /// UInt(dividendBits), valid from `done` until the next accepted `start`.
        @Output public var quotient: Signal
        /// UInt(divisorBits), valid from `done` until the next accepted `start`.
        @Output public var remainder: Signal
    }

    public var io: IO {
        IO(start: Signal(.bool), dividend: Signal(.uint(dividendBits)), divisor: Signal(.uint(divisorBits)),
           busy: Signal(.bool), done: Signal(.bool), quotient: Signal(.uint(dividendBits)), remainder: Signal(.uint(divisorBits)))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let control = IterationControl(start: io.start, latency: latency, busyOutput: io.busy, doneOutput: io.done, in: m)

        // The running division's state; no reset, since the outputs mean nothing before `done`.
        let remainder = m.register("remainder_reg", .uint(divisorBits))
        let quotient = m.register("quotient_reg", .uint(dividendBits))
        let divisor = m.register("divisor_reg", .uint(divisorBits))

        // The accepting cycle steps from the ports (remainder 0), the busy ones from the registers.
        let step = m.restoringDivisionStep(remainder: mux(control.accept, Signal.literal(0, .uint(divisorBits)), remainder),
                                           quotient: mux(control.accept, io.dividend, quotient),
                                           divisor: mux(control.accept, io.divisor, divisor), name: "step")
        m.when(control.accept || control.busy) {
            remainder.set(step.remainder)
            quotient.set(step.quotient)
        }
        m.when(control.accept) { divisor.set(io.divisor) }

        io.quotient.set(quotient)
        io.remainder.set(remainder)
    }
}
