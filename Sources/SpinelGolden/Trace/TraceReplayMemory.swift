import Foundation
import SpinelISA

/// Lookup tables over a trace's bursts and command flights.
struct TraceIndex {
    static let chunkShift: UInt64 = 6

    /// Successful read bursts by 64-byte chunk of the bytes they cover (indices ascending).
    var readChunks: [UInt64: [Int]] = [:]
    /// Failed read bursts by the 4 KiB page of their address.
    var failedReadPages: [UInt64: [Int]] = [:]
    /// Failed write bursts by 64-byte chunk.
    var failedWriteChunks: [UInt64: [Int]] = [:]
    /// For each command: trace lines strictly between which its requests happened.
    var flights: [(from: Int, to: Int)]
    /// For each write burst: the commands in flight when it completed, in program order.
    var inFlightAtWrite: [[Int]]

    init(_ trace: HarnessTrace) {
        for (i, burst) in trace.reads.enumerated() {
            if burst.failed {
                failedReadPages[burst.address >> 12, default: []].append(i)
            } else {
                Self.register(i, address: burst.address, count: burst.data.count, in: &readChunks)
            }
        }
        for (i, burst) in trace.writes.enumerated() where burst.failed {
            Self.register(i, address: burst.address, count: burst.data.count, in: &failedWriteChunks)
        }
        flights = trace.commands.map { ($0.line, $0.doneLine ?? Int.max) }

        // Sweep the lines: which commands are in flight at each write burst.
        enum Mark { case issue(Int), retire(Int), write(Int) }
        var marks: [(line: Int, mark: Mark)] = []
        for command in trace.commands {
            marks.append((command.line, .issue(command.index)))
            if let done = command.doneLine { marks.append((done, .retire(command.index))) }
        }
        for (i, burst) in trace.writes.enumerated() { marks.append((burst.line, .write(i))) }
        marks.sort { $0.line < $1.line }
        var active = Set<Int>()
        inFlightAtWrite = Array(repeating: [], count: trace.writes.count)
        for (_, mark) in marks {
            switch mark {
            case .issue(let c): active.insert(c)
            case .retire(let c): active.remove(c)
            case .write(let w): inFlightAtWrite[w] = active.sorted()
            }
        }
    }

    private static func register(_ burst: Int, address: UInt64, count: Int, in table: inout [UInt64: [Int]]) {
        guard count > 0 else { return }
        let last = address &+ UInt64(count - 1)
        guard last >= address else { return }
        for chunk in (address >> chunkShift)...(last >> chunkShift) { table[chunk, default: []].append(burst) }
    }

    /// Calls `body` for the entries of `list` (ascending burst indices, hence ascending lines)
    /// whose line lies strictly between `from` and `to`.
    static func forEach(in list: [Int], line: (Int) -> Int, from: Int, to: Int, _ body: (Int) -> Void) {
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if line(list[middle]) <= from { low = middle + 1 } else { high = middle }
        }
        var i = low
        while i < list.count && line(list[i]) < to {
            body(list[i])
            i += 1
        }
    }

    /// The chunks covering `count` bytes at `address` (empty if the range wraps).
    static func chunks(address: UInt64, count: Int) -> ClosedRange<UInt64>? {
        guard count > 0 else { return nil }
        let last = address &+ UInt64(count - 1)
        guard last >= address else { return nil }
        return (address >> chunkShift)...(last >> chunkShift)
    }
}

/// A DMA write of the golden model.
struct GoldenWrite {
    var command: Int
    var address: UInt64
    var bytes: [UInt8]
}

/// Main memory for replay: reads come from the trace's `rd` bursts of the current command's
/// flight, writes are collected.
struct TraceReplayMemory: MainMemory {
    let trace: HarnessTrace
    let index: TraceIndex
    var command = 0
    var flight = (from: 0, to: Int.max)
    /// Per read burst, which bytes a golden read has taken (allocated on first use).
    var consumed: [[Bool]]
    /// Per read burst, whether a golden read took any byte of it.
    var used: [Bool]
    var goldenWrites: [GoldenWrite] = []
    /// What faulted MVOUTs would have written after their fault (`MainMemory.abandoned`).
    var abandonedWrites: [GoldenWrite] = []
    var goldenReadBytes = 0
    /// The 64-byte chunks that golden reads touched.
    var goldenReadChunks = Set<UInt64>()
    /// "The hardware never read …": at most one per command.
    var unread: [TraceProblem] = []

    init(trace: HarnessTrace, index: TraceIndex) {
        self.trace = trace
        self.index = index
        consumed = Array(repeating: [], count: trace.reads.count)
        used = Array(repeating: false, count: trace.reads.count)
    }

    mutating func willRun(command index: Int) {
        command = index
        flight = self.index.flights[index]
    }

    mutating func read(address: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        goldenReadBytes += count
        var candidates: [Int] = []
        if let chunks = TraceIndex.chunks(address: address, count: count) {
            let last = address &+ UInt64(count - 1)
            for chunk in chunks {
                goldenReadChunks.insert(chunk)
                guard let list = index.readChunks[chunk] else { continue }
                TraceIndex.forEach(in: list, line: { trace.reads[$0].line }, from: flight.from, to: flight.to) { b in
                    let burst = trace.reads[b]
                    if burst.address <= last && (burst.address >= address || address - burst.address < UInt64(burst.data.count)) {
                        candidates.append(b)
                    }
                }
            }
            candidates = Array(Set(candidates)).sorted()
        }
        var result = [UInt8](repeating: 0, count: count)
        var missing: [Int] = []
        for j in 0..<count {
            let x = address &+ UInt64(j)
            var chosen = -1, fallback = -1
            for b in candidates {
                let burst = trace.reads[b]
                guard burst.address <= x, x - burst.address < UInt64(burst.data.count) else { continue }
                let offset = Int(x - burst.address)
                if consumed[b].isEmpty { consumed[b] = Array(repeating: false, count: burst.data.count) }
                if !consumed[b][offset] {
                    chosen = b
                    break
                }
                fallback = b
            }
            if chosen < 0 { chosen = fallback }
            guard chosen >= 0 else {
                missing.append(j)
                continue
            }
            let offset = Int(x - trace.reads[chosen].address)
            consumed[chosen][offset] = true
            used[chosen] = true
            result[j] = trace.reads[chosen].data[offset]
        }
        guard !missing.isEmpty else { return result }

        // A failed burst of this flight may cover the missing bytes: the read fails as the hardware's did.
        for j in missing {
            let x = address &+ UInt64(j)
            guard let list = index.failedReadPages[x >> 12] else { continue }
            var faulted = false
            TraceIndex.forEach(in: list, line: { trace.reads[$0].line }, from: flight.from, to: flight.to) { b in
                if trace.reads[b].address <= x { faulted = true }
            }
            if faulted { throw DMAFault(isWrite: false, address: address, count: count) }
        }
        recordUnread(address: address, count: count, missing: missing)
        return result
    }

    mutating func write(address: UInt64, bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        if let chunks = TraceIndex.chunks(address: address, count: bytes.count) {
            let last = address &+ UInt64(bytes.count - 1)
            var faulted = false
            for chunk in chunks {
                guard let list = index.failedWriteChunks[chunk] else { continue }
                TraceIndex.forEach(in: list, line: { trace.writes[$0].line }, from: flight.from, to: flight.to) { b in
                    let burst = trace.writes[b]
                    for (k, strobed) in burst.strobe.enumerated() where strobed {
                        let y = burst.address &+ UInt64(k)
                        if y >= address && y <= last { faulted = true }
                    }
                }
            }
            if faulted { throw DMAFault(isWrite: true, address: address, count: bytes.count) }
        }
        goldenWrites.append(GoldenWrite(command: command, address: address, bytes: bytes))
    }

    mutating func abandoned(address: UInt64, bytes: [UInt8]) {
        abandonedWrites.append(GoldenWrite(command: command, address: address, bytes: bytes))
    }

    private mutating func recordUnread(address: UInt64, count: Int, missing: [Int]) {
        guard unread.last?.commandIndex != command else { return }
        let firstMissing = address &+ UInt64(missing[0])
        var run = 1
        while run < missing.count && missing[run] == missing[0] + run { run += 1 }
        let range = run == 1 ? "the byte at \(hexAddress(firstMissing))"
            : "\(run) bytes from \(hexAddress(firstMissing)) to \(hexAddress(firstMissing &+ UInt64(run - 1)))"
        var message = "the golden model reads \(count) B at \(hexAddress(address)), but the hardware never read \(range)"
            + (missing.count > run ? " (and \(missing.count - run) more of those bytes)" : "")
            + " while this command was in flight (trace lines \(flight.from)–\(flight.to == Int.max ? "end" : String(flight.to)))"
        // Did the hardware read it at another time?
        var elsewhere: Int?
        if let list = index.readChunks[firstMissing >> TraceIndex.chunkShift] {
            for b in list {
                let burst = trace.reads[b]
                if burst.address <= firstMissing && firstMissing - burst.address < UInt64(burst.data.count) {
                    if elsewhere == nil || abs(burst.line - flight.from) < abs(elsewhere! - flight.from) { elsewhere = burst.line }
                }
            }
        }
        if let elsewhere {
            message += "; a read burst at trace line \(elsewhere) covers it, outside this command's flight"
        } else {
            message += "; no read burst of the trace covers it"
        }
        message += " (replay fed zeros for the missing bytes)"
        unread.append(TraceProblem(kind: .unreadBytes, commandIndex: command, address: address, firstDifference: firstMissing,
                                   message: message))
    }
}
