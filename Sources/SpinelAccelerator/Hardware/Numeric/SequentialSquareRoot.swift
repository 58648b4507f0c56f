import SpinelHDL

/// The integer square root `isqrt(n) = floor(sqrt(n))` of an unsigned `bits`-bit number, one
/// root bit per cycle: docs/NUMERICS.md's LayerNorm standard deviation, `isqrt(var)`.
///
/// Radix-2 restoring digit recurrence, the pencil-and-paper method in binary: each step brings
/// down the next two bits of n into the remainder and subtracts 4·root + 1 where it fits, which
/// appends a one to the root (else a zero). The invariant n_so_far = root² + remainder with
/// remainder ≤ 2·root keeps the remainder to bits/2 + 1 bits and the subtractor to bits/2 + 3.
///
/// Timing (`latency` = bits / 2 cycles), as `SequentialDivider`: `value` is captured in a
/// cycle t where `start` is high and the unit is not busy, and that cycle's clock edge already
/// computes the first root bit; `busy` is high in cycles t + 1 … t + bits/2 − 1; `done` pulses
/// in cycle t + bits/2, when `root` is valid; it holds until the clock edge of the next
/// accepted `start` (which may come in the done cycle). A `start` while `busy` is ignored.
public struct SequentialSquareRoot: Module {
    public let bits: Int

    public init(bits: Int) {
        precondition(bits >= 4 && bits % 2 == 0, "a SequentialSquareRoot takes an even number of bits, at least 4, not \(bits)")
        self.bits = bits
    }

    public var name: String { "SequentialSquareRoot_\(bits)" }

    /// Cycles from an accepted `start` to `done`.
    public var latency: Int { PipelineTiming.sequentialSquareRootLatency(bits: bits) }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        /// UInt(bits), captured with `start`.
        @Input public var value: Signal
        @Output public var busy: Signal
        /// A one-cycle pulse `latency` cycles after the accepted `start`.
        @Output public var done: Signal
        /// UInt(bits / 2), valid from `done` until the next accepted `start`.
        @Output public var root: Signal
    }

    public var io: IO {
        IO(start: Signal(.bool), value: Signal(.uint(bits)), busy: Signal(.bool), done: Signal(.bool), root: Signal(.uint(bits / 2)))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let rootBits = bits / 2
        let control = IterationControl(start: io.start, latency: latency, busyOutput: io.busy, doneOutput: io.done, in: m)

        // The running root's state; no reset, since the output means nothing before `done`.
        // `pending` holds the bits of n not yet brought down, at its top.
        let remainder = m.register("remainder_reg", .uint(rootBits + 1))
        let root = m.register("root_reg", .uint(rootBits))
        let pending = m.register("pending_reg", .uint(bits))

        // The accepting cycle steps from the port (root and remainder 0), the busy ones from
        // the registers.
        let stepRemainder = mux(control.accept, Signal.literal(0, .uint(rootBits + 1)), remainder)
        let stepRoot = mux(control.accept, Signal.literal(0, .uint(rootBits)), root)
        let stepPending = m.wire("step_pending", .uint(bits), default: mux(control.accept, io.value, pending))

        let partial = cat(stepRemainder, stepPending.bits(bits - 1, bits - 2))
        let trial = cat(stepRoot, Signal.literal(1, .uint(2)))   // 4·root + 1
        let step = m.subtractIfFits(partial, trial, resultWidth: rootBits + 1, name: "step")
        m.when(control.accept || control.busy) {
            remainder.set(step.remainder)
            root.set(cat(stepRoot.bits(rootBits - 2, 0), step.fits))
            pending.set(cat(stepPending.bits(bits - 3, 0), Signal.literal(0, .uint(2))))
        }

        io.root.set(root)
    }
}
