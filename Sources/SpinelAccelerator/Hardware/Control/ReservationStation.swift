import SpinelHDL

/// Holds every routed command from dispatch until its controller retires it, and lets a
/// command start only when no *older* command of *another* controller touches the same local
/// rows in a conflicting way (read-after-write, write-after-read, write-after-write).
///
/// One in-order queue per controller (load, execute, store: `ldReservationEntries`, … of the
/// configuration). A controller's commands issue in order and retire in order, so each queue
/// needs only three pointers: the oldest unretired entry, the next to issue, the next free
/// slot. Age across queues comes from the command index the dispatcher assigned.
public struct ReservationStation: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { "ReservationStation_\(parameters.name)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("alloc") public var allocate: [Decoupled<ExecuteCommand>]
        @Input public var footprint: Footprint
        @Output public var issue: [Decoupled<ExecuteCommand>]
        /// The rows the command offered on `issue[1]` (execute) touches.
        @Output("ex_footprint") public var executeFootprint: Footprint
        /// A controller retired its oldest command.
        @Input public var retire: [Signal]
        /// The oldest entry of each queue: what a retire of that queue retires.
        @Output public var heads: [Retirement]
        @Output public var busy: Signal
        /// Per queue, for the performance counters: its valid entries, and whether one of them
        /// has issued and not yet retired.
        @Output public var occupancy: [Signal]
        @Output public var started: [Signal]
    }

    public var io: IO {
        IO(allocate: (0..<3).map { _ in Decoupled(ExecuteCommand()) }, footprint: Footprint(),
           issue: (0..<3).map { _ in Decoupled(ExecuteCommand()) }, executeFootprint: Footprint(), retire: (0..<3).map { _ in Signal(.bool) },
           heads: (0..<3).map { _ in Retirement() },
           busy: Signal(.bool), occupancy: entries.map { Signal(.uint(HWType.addressWidth(for: $0 + 1))) },
           started: (0..<3).map { _ in Signal(.bool) })
    }

    public var entries: [Int] {
        let config = parameters.config
        return [config.ldReservationEntries, config.exReservationEntries, config.stReservationEntries]
    }

    struct Entry {
        var valid: Signal
        var issued: Signal
        var command: ExecuteCommand
        var footprint: Footprint
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let names = ["ld", "ex", "st"]
        var queues: [[Entry]] = []
        var heads: [Signal] = [], issuePointers: [Signal] = [], tails: [Signal] = []
        for (kind, count) in entries.enumerated() {
            let pointer = HWType.uint(HWType.addressWidth(for: count))
            heads.append(m.register("\(names[kind])_head", pointer, reset: 0))
            issuePointers.append(m.register("\(names[kind])_issue", pointer, reset: 0))
            tails.append(m.register("\(names[kind])_tail", pointer, reset: 0))
            queues.append((0..<count).map { slot in
                Entry(valid: m.register("\(names[kind])_\(slot)_valid", .bool, reset: false),
                      issued: m.register("\(names[kind])_\(slot)_issued", .bool, reset: false),
                      command: m.register("\(names[kind])_\(slot)_cmd", ExecuteCommand()),
                      footprint: m.register("\(names[kind])_\(slot)_footprint", Footprint()))
            })
        }
        func advance(_ pointer: Signal, _ count: Int) -> Signal {
            count & (count - 1) == 0 ? pointer +% 1 : mux(pointer === Signal(count - 1), 0, pointer +% 1)
        }
        /// `a` was dispatched before `b` (sequence numbers wrap at 2^32).
        func older(_ a: Signal, _ b: Signal) -> Signal { (a -% b)[31] }

        var anyValid: Signal = false
        for kind in 0..<3 {
            let queue = queues[kind]
            // Allocation: in dispatch order (the dispatcher routes one command per cycle).
            io.allocate[kind].ready.set(!select(queue.map(\.valid), at: tails[kind]))
            m.when(io.allocate[kind].fire) {
                for (slot, entry) in queue.enumerated() {
                    m.when(tails[kind] === Signal(slot)) {
                        entry.valid.set(true)
                        entry.issued.set(false)
                        m.connect(entry.command, from: io.allocate[kind].bits)
                        m.connect(entry.footprint, from: io.footprint)
                    }
                }
                tails[kind].set(advance(tails[kind], entries[kind]))
            }

            // Issue: the next entry, once nothing older elsewhere conflicts with it.
            let candidateValid = select(queue.map { $0.valid && !$0.issued }, at: issuePointers[kind])
            // Named wires: every comparison below reads them, and an inline mux tree would be
            // written out again for each.
            let candidateCommand = m.wire("\(names[kind])_candidate", ExecuteCommand())
            m.connect(candidateCommand, from: ExecuteCommand().unpacked(from: select(queue.map(\.command.packed), at: issuePointers[kind])))
            let candidateFootprint = m.wire("\(names[kind])_candidate_footprint", Footprint())
            m.connect(candidateFootprint, from: Footprint().unpacked(from: select(queue.map(\.footprint.packed), at: issuePointers[kind])))
            var blocked: Signal = false
            for other in 0..<3 where other != kind {
                for entry in queues[other] {
                    blocked = blocked || (entry.valid && older(entry.command.command.sequence, candidateCommand.command.sequence)
                                          && entry.footprint.conflicts(with: candidateFootprint))
                }
            }
            let issuable = m.wire("\(names[kind])_issuable", .bool, default: candidateValid && !blocked)
            io.issue[kind].valid.set(issuable)
            m.connect(io.issue[kind].bits, from: candidateCommand)
            if kind == 1 { m.connect(io.executeFootprint, from: candidateFootprint) }
            m.when(io.issue[kind].fire) {
                for (slot, entry) in queue.enumerated() {
                    m.when(issuePointers[kind] === Signal(slot)) { entry.issued.set(true) }
                }
                issuePointers[kind].set(advance(issuePointers[kind], entries[kind]))
            }

            // Retire: the oldest entry of this queue (controllers retire in order).
            io.heads[kind].index.set(select(queue.map(\.command.command.index), at: heads[kind]))
            io.heads[kind].loop.internal.set(select(queue.map(\.command.command.loop.internal), at: heads[kind]))
            io.heads[kind].loop.slot.set(select(queue.map(\.command.command.loop.slot), at: heads[kind]))
            m.when(io.retire[kind]) {
                for (slot, entry) in queue.enumerated() {
                    m.when(heads[kind] === Signal(slot)) { entry.valid.set(false) }
                }
                heads[kind].set(advance(heads[kind], entries[kind]))
            }
            anyValid = anyValid || queue.map(\.valid).reduce(Signal(false)) { $0 || $1 }
            let occupancyType = HWType.uint(HWType.addressWidth(for: entries[kind] + 1))
            io.occupancy[kind].set(queue.map { mux($0.valid, Signal.literal(1, occupancyType), Signal.literal(0, occupancyType)) }
                .reduce(Signal.literal(0, occupancyType)) { $0 +% $1 })
            io.started[kind].set(queue.map { $0.valid && $0.issued }.reduce(Signal(false)) { $0 || $1 })
        }
        io.busy.set(anyValid)
    }
}
