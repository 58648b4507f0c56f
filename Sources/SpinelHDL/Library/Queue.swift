/// A first-in first-out buffer of `entries` payloads on ready/valid interfaces (Chisel's `Queue`).
///
/// `pipe`: a full queue accepts a new payload in a cycle where one leaves (full throughput
/// with one entry). `flow`: an empty queue passes an arriving payload straight through in the
/// same cycle. Storage is a register file.
public struct Queue: Module {
    public let entries: Int
    public let payload: HWType
    public let pipe: Bool
    public let flow: Bool

    public init(entries: Int, payload: HWType, pipe: Bool = false, flow: Bool = false) {
        precondition(entries >= 1, "a queue needs at least one entry")
        self.entries = entries
        self.payload = payload
        self.pipe = pipe
        self.flow = flow
    }

    public var name: String {
        "Queue_\(entries)x\(payload.width)" + (pipe ? "_pipe" : "") + (flow ? "_flow" : "")
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var enq: Decoupled<Signal>
        @Output public var deq: Decoupled<Signal>
        /// Payloads stored.
        @Output public var count: Signal
    }

    public var countWidth: Int { HWType.addressWidth(for: entries + 1) }

    public var io: IO {
        IO(enq: Decoupled(Signal(payload)), deq: Decoupled(Signal(payload)), count: Signal(.uint(countWidth)))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let pointerType = HWType.uint(HWType.addressWidth(for: entries))
        let storage = m.memory("storage", width: payload.width, depth: entries)
        let enqueuePointer = m.register("enq_ptr", pointerType, reset: 0)
        let dequeuePointer = m.register("deq_ptr", pointerType, reset: 0)
        let maybeFull = m.register("maybe_full", .bool, reset: false)

        let pointersMatch = m.wire("ptr_match", .bool, default: enqueuePointer === dequeuePointer)
        let empty = m.wire("empty", .bool, default: pointersMatch && !maybeFull)
        let full = m.wire("full", .bool, default: pointersMatch && maybeFull)
        let doEnqueue = m.wire("do_enq", .bool, default: io.enq.fire)
        let doDequeue = m.wire("do_deq", .bool, default: io.deq.fire)

        io.deq.valid.set(!empty)
        io.enq.ready.set(!full)
        io.deq.bits.set(storage.read(address: dequeuePointer, latency: 0).asType(payload))

        if flow {
            m.when(io.enq.valid) { io.deq.valid.set(true) }
            m.when(empty) {
                io.deq.bits.set(io.enq.bits)
                doDequeue.set(false)
                m.when(io.deq.ready) { doEnqueue.set(false) }
            }
        }
        if pipe {
            m.when(io.deq.ready) { io.enq.ready.set(true) }
        }

        storage.write(address: enqueuePointer, data: io.enq.bits.asUInt, enable: doEnqueue)
        m.when(doEnqueue) { enqueuePointer.set(Self.next(enqueuePointer, entries: entries)) }
        m.when(doDequeue) { dequeuePointer.set(Self.next(dequeuePointer, entries: entries)) }
        m.when(doEnqueue =/= doDequeue) { maybeFull.set(doEnqueue) }

        let countType = HWType.uint(countWidth)
        let difference = (enqueuePointer.extended(to: countWidth) -% dequeuePointer.extended(to: countWidth))
        let wrapped = difference +% Signal.literal(entries, countType)
        let count = mux(pointersMatch,
                        mux(maybeFull, Signal.literal(entries, countType), Signal.literal(0, countType)),
                        mux(dequeuePointer > enqueuePointer, wrapped, difference))
        io.count.set(count)
    }

    /// `pointer + 1`, wrapping after `entries - 1`.
    static func next(_ pointer: Signal, entries: Int) -> Signal {
        if entries == 1 { return pointer }
        if entries & (entries - 1) == 0 { return pointer +% 1 }
        return mux(pointer === Signal(entries - 1), 0, pointer +% 1)
    }
}

extension Signal {
    /// These bits as `type` (same width): a UInt as is, or reinterpreted as an SInt.
    public func asType(_ type: HWType) -> Signal {
        type.isSigned ? asSInt : asUInt
    }
}
