import Foundation
import SpinelISA

/// The hardware's answers against the golden model's: COUNTER responses and the final error
/// state here, the DMA writes in `WriteComparison` below.
extension TraceReplay {
    /// Every COUNTER the golden model accepted answers with the timing model's value; nothing
    /// else answers.
    static func compareResponses(_ trace: HarnessTrace, timing: TimingComparison, stop: Int?) -> [TraceProblem] {
        var problems: [TraceProblem] = []
        let predicted = timing.prediction.responses
        for command in trace.commands where stop.map({ command.index < $0 }) ?? true {
            let expected = command.index < predicted.count ? predicted[command.index] : nil
            switch (expected, command.response) {
            case (nil, nil):
                continue
            case (let value?, nil):
                problems.append(TraceProblem(kind: .response, commandIndex: command.index, traceLine: command.line,
                                             message: "COUNTER \(command.index) should answer \(value), but the trace has no resp event for it"))
            case (nil, let value?):
                problems.append(TraceProblem(kind: .response, commandIndex: command.index, traceLine: command.responseLine,
                                             message: "command \(command.index) answered \(value) on the response port; only a COUNTER the golden model accepts answers"))
            case (let value?, let actual?):
                if value != actual {
                    problems.append(TraceProblem(kind: .response, commandIndex: command.index, traceLine: command.responseLine,
                                                 message: "COUNTER \(command.index) answered \(actual); the timing model counts \(value)"))
                }
            }
        }
        return problems
    }

    /// The error state the trace ends with against the golden model's (a hardware error at or
    /// after `stop`, where the golden model never got, is not compared).
    static func compareErrors(hardware: HarnessTrace.ErrorRecord?, golden: AcceleratorError?, stop: Int?) -> TraceProblem? {
        func hardwareWords(_ record: HarnessTrace.ErrorRecord) -> String {
            let info = UInt64(record.code) << 56 | (record.commandIndex & (1 << 56 - 1))
            return "\(errorName(record.code)) (code \(record.code)) at command \(record.commandIndex) (error_info 0x\(String(info, radix: 16)), trace line \(record.line))"
        }
        switch (hardware, golden) {
        case (nil, nil):
            return nil
        case (let hardware?, nil):
            if let stop, hardware.commandIndex >= UInt64(stop) { return nil }  // the golden model never got there
            return TraceProblem(kind: .errorState, commandIndex: Int(clamping: hardware.commandIndex), traceLine: hardware.line,
                                message: "error state: the hardware reports \(hardwareWords(hardware)); the golden model reports no error")
        case (nil, let golden?):
            return TraceProblem(kind: .errorState, commandIndex: Int(golden.commandIndex),
                                message: "error state: the golden model rejects command \(golden.commandIndex) with \(golden.code) "
                                    + "(code \(golden.code.rawValue), error_info 0x\(String(golden.info, radix: 16))): \(golden.reason); the hardware reports no error")
        case (let hardware?, let golden?):
            if hardware.code == Int(golden.code.rawValue) && hardware.commandIndex == golden.commandIndex { return nil }
            return TraceProblem(kind: .errorState, commandIndex: Int(min(golden.commandIndex, hardware.commandIndex)), traceLine: hardware.line,
                                message: "error state: the hardware reports \(hardwareWords(hardware)); the golden model reports "
                                    + "\(golden.code) (code \(golden.code.rawValue)) at command \(golden.commandIndex) (error_info 0x\(String(golden.info, radix: 16))): \(golden.reason)")
        }
    }
}

/// The golden model's writes against the hardware's, byte address by byte address.
struct WriteComparison {
    var problems: [TraceProblem] = []
    var notes: [String] = []

    private struct ByteWrite {
        var address: UInt64
        var source: Int32
        var value: UInt8
    }

    init(trace: HarnessTrace, index: TraceIndex, golden: GoldenPass, stop: Int?) {
        let writes = golden.memory.goldenWrites
        var writesByCommand: [Int: [Int]] = [:]
        for (w, write) in writes.enumerated() { writesByCommand[write.command, default: []].append(w) }
        func goldenCovers(_ command: Int, _ x: UInt64) -> Bool {
            writesByCommand[command, default: []].contains { w in
                writes[w].address <= x && x - writes[w].address < UInt64(writes[w].bytes.count)
            }
        }
        let writeFaulted = Set(golden.rejections.filter { $0.value.code == .dmaWriteFault }.keys)
        let mvout = Funct.mvout

        var expected: [ByteWrite] = []
        for (w, write) in writes.enumerated() {
            for (j, value) in write.bytes.enumerated() {
                expected.append(ByteWrite(address: write.address &+ UInt64(j), source: Int32(w), value: value))
            }
        }
        // What faulted commands would have written after their fault, by address.
        var abandoned: [UInt64: [(command: Int, value: UInt8)]] = [:]
        for write in golden.memory.abandonedWrites {
            for (j, value) in write.bytes.enumerated() { abandoned[write.address &+ UInt64(j), default: []].append((write.command, value)) }
        }
        // How often the golden model writes each of those addresses (no work without a fault).
        var expectedCount: [UInt64: Int] = [:]
        if !abandoned.isEmpty {
            for write in writes {
                for j in write.bytes.indices where abandoned[write.address &+ UInt64(j)] != nil {
                    expectedCount[write.address &+ UInt64(j), default: 0] += 1
                }
            }
        }

        var actual: [ByteWrite] = []
        var toleratedBytes = 0
        var toleratedCommands = Set<Int>()
        // Bytes that may be a faulted command's leftover, dropped below where the address got
        // more writes than the golden model expects.
        var leftoverCandidates: [(index: Int, command: Int)] = []
        for (b, burst) in trace.writes.enumerated() where !burst.failed {
            let inFlight = index.inFlightAtWrite[b]
            let faultedInFlight = inFlight.filter { writeFaulted.contains($0) }
            for (j, strobed) in burst.strobe.enumerated() where strobed {
                let x = burst.address &+ UInt64(j)
                if !faultedInFlight.isEmpty {
                    // A byte no in-flight command is expected to write: a faulted command's
                    // leftover request, tolerated.
                    if !inFlight.contains(where: { goldenCovers($0, x) }) {
                        toleratedBytes += 1
                        toleratedCommands.formUnion(faultedInFlight)
                        continue
                    }
                    // A byte another command is expected to write, with the value a faulted
                    // command would have written there: perhaps that command's leftover.
                    if let leftover = abandoned[x]?.first(where: { faultedInFlight.contains($0.command) && $0.value == burst.data[j] }) {
                        leftoverCandidates.append((actual.count, leftover.command))
                    }
                }
                actual.append(ByteWrite(address: x, source: Int32(b), value: burst.data[j]))
            }
        }
        // A leftover is dropped only when its address has more writes than expected (earliest
        // first: the faulted command came before the ones still expected to write there).
        var actualCount: [UInt64: Int] = [:]
        for write in actual where abandoned[write.address] != nil { actualCount[write.address, default: 0] += 1 }
        var dropped = Set<Int>()
        for candidate in leftoverCandidates {
            let x = actual[candidate.index].address
            guard actualCount[x, default: 0] > expectedCount[x, default: 0] else { continue }
            actualCount[x, default: 0] -= 1
            dropped.insert(candidate.index)
            toleratedBytes += 1
            toleratedCommands.insert(candidate.command)
        }
        if !dropped.isEmpty { actual = actual.enumerated().filter { !dropped.contains($0.offset) }.map(\.element) }
        if toleratedBytes > 0 {
            notes.append("\(toleratedBytes) B written by the hardware for command(s) \(toleratedCommands.sorted().map(String.init).joined(separator: ", ")) "
                         + "after their DMA write fault: allowed (requests issued before a fault may complete; docs/ACCELERATOR.md, \"Errors\")")
        }
        expected.sort { ($0.address, $0.source) < ($1.address, $1.source) }
        actual.sort { ($0.address, $0.source) < ($1.address, $1.source) }

        // Walk both, address by address.
        var differences: [Int: [(address: UInt64, value: UInt8?, burst: Int?)]] = [:]
        var extra: [Int: [UInt64]] = [:]
        var e = 0, a = 0
        while e < expected.count || a < actual.count {
            let address = min(e < expected.count ? expected[e].address : UInt64.max, a < actual.count ? actual[a].address : UInt64.max)
            let eStart = e, aStart = a
            while e < expected.count && expected[e].address == address { e += 1 }
            while a < actual.count && actual[a].address == address { a += 1 }
            let eCount = e - eStart, aCount = a - aStart
            for k in 0..<max(eCount, aCount) {
                if k < eCount && k < aCount {
                    if expected[eStart + k].value != actual[aStart + k].value {
                        differences[Int(expected[eStart + k].source), default: []]
                            .append((address, actual[aStart + k].value, Int(actual[aStart + k].source)))
                    }
                } else if k < eCount {
                    differences[Int(expected[eStart + k].source), default: []].append((address, nil, nil))
                } else {
                    extra[Int(actual[aStart + k].source), default: []].append(address)
                }
            }
        }

        for (w, list) in differences {
            let write = writes[w]
            var bytes: [UInt8?] = write.bytes.map { $0 }
            for difference in list { bytes[Int(difference.address - write.address)] = difference.value }
            let first = list.min { $0.address < $1.address }!
            let neverWritten = list.allSatisfy { $0.value == nil }
            let line = list.first { $0.burst != nil }.flatMap { $0.burst }.map { trace.writes[$0].line }
            let message: String
            if neverWritten {
                message = list.count == write.bytes.count
                    ? "DRAM write of \(write.bytes.count) B at \(hexAddress(write.address)): the hardware never wrote these bytes"
                    : "DRAM write of \(write.bytes.count) B at \(hexAddress(write.address)): the hardware never wrote \(list.count) of these bytes, the first at \(hexAddress(first.address))"
            } else {
                message = "DRAM write of \(write.bytes.count) B at \(hexAddress(write.address)): \(list.count) byte(s) differ, the first at \(hexAddress(first.address))"
                    + (line.map { " (wr burst at trace line \($0))" } ?? "")
            }
            problems.append(TraceProblem(kind: neverWritten ? .missingWrite : .writeDiffers, commandIndex: write.command,
                                         address: write.address, firstDifference: first.address, expected: write.bytes,
                                         actual: bytes, traceLine: line, message: message))
        }

        for (b, addresses) in extra {
            let burst = trace.writes[b]
            let inFlight = index.inFlightAtWrite[b]
            let mvouts = inFlight.filter { trace.commands[$0].funct == mvout }
            let owner = mvouts.first { c in
                writesByCommand[c, default: []].contains { w in
                    writes[w].address < burst.address &+ UInt64(burst.data.count) && burst.address < writes[w].address &+ UInt64(writes[w].bytes.count)
                }
            } ?? mvouts.first ?? inFlight.first
            if let stop, (owner ?? Int.max) >= stop { continue }  // beyond where the golden model stopped
            let sorted = addresses.sorted()
            let values: [UInt8?] = sorted.map { burst.data[Int($0 - burst.address)] }
            let context = owner != nil ? "" : " while no command was in flight"
            problems.append(TraceProblem(
                kind: .extraWrite, commandIndex: owner, address: sorted[0], firstDifference: sorted[0], actual: values, traceLine: burst.line,
                message: "the hardware wrote \(sorted.count) B from \(hexAddress(sorted[0])) to \(hexAddress(sorted.last!))\(context) "
                    + "that the golden model did not write (wr burst at trace line \(burst.line))"))
        }
    }
}
