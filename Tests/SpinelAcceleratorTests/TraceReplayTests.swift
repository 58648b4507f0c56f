import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// `spinel check` (SpinelGolden/Trace/TraceReplay): hand-written traces for each verdict and each
// malformed input, then the real `small` accelerator end to end: a C testbench with the trace
// on, replayed on the golden model (MATCH), and the same trace with one written byte flipped
// (MISMATCH).

/// Lines of a trace, written as the harness writes them.
enum TraceLines {
    static func cmd(_ i: Int, _ funct: UInt8, _ rs1: UInt64, _ rs2: UInt64, cycle: Int) -> String {
        #"{"ev":"cmd","i":\#(i),"funct":\#(funct),"rs1":"0x\#(String(rs1, radix: 16))","rs2":"0x\#(String(rs2, radix: 16))","cycle":\#(cycle)}"#
    }

    static func done(_ i: Int, cycle: Int) -> String { #"{"ev":"done","i":\#(i),"cycle":\#(cycle)}"# }

    static func rd(_ address: UInt64, _ bytes: [UInt8]) -> String {
        #"{"ev":"rd","addr":"0x\#(String(address, radix: 16))","data":"\#(hex(bytes))"}"#
    }

    static func failedRead(_ address: UInt64) -> String {
        #"{"ev":"rd","addr":"0x\#(String(address, radix: 16))","data":"","resp":2}"#
    }

    static func wr(_ address: UInt64, _ bytes: [UInt8], strobe: [Bool]? = nil, resp: Int? = nil) -> String {
        let strobe = strobe ?? Array(repeating: true, count: bytes.count)
        var bits = [UInt8](repeating: 0, count: (bytes.count + 7) / 8)
        for (i, on) in strobe.enumerated() where on { bits[i / 8] |= 1 << UInt8(i % 8) }
        let data = zip(bytes, strobe).map { $1 ? $0 : 0 }
        return #"{"ev":"wr","addr":"0x\#(String(address, radix: 16))","data":"\#(hex(data))","strb":"\#(hex(bits))""#
            + (resp.map { #","resp":\#($0)"# } ?? "") + "}"
    }

    static func error(code: Int, _ i: Int) -> String { #"{"ev":"error","code":\#(code),"i":\#(i)}"# }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// A four-command program on `small` (DIM 4, 8-byte bus): CONFIG_LD and CONFIG_ST with a
/// 4-byte stride, a 4×4 MVIN from 0x1000 to scratchpad row 0, a 4×4 MVOUT of it to 0x2000.
enum CopyProgram {
    static let one: UInt64 = 0x3F80_0000  // 1.0f
    static let operand: UInt64 = 4 << 48 | 4 << 32  // 4 rows, 4 columns, scratchpad row 0
    static let input: [UInt8] = (0..<16).map { UInt8(truncatingIfNeeded: $0 * 37 + 5) }

    static let configLoad = TraceLines.cmd(0, 0, one << 32 | 4 << 16 | 1 << 8 | 1, 4, cycle: 0)
    static let configStore = TraceLines.cmd(1, 0, 2, one << 32 | 4, cycle: 1)
    static let mvin = TraceLines.cmd(2, 2, 0x1000, operand, cycle: 2)
    static let mvout = TraceLines.cmd(3, 3, 0x2000, operand, cycle: 3)

    /// The trace of a correct run; `written` replaces the bytes of the write burst.
    static func lines(written: [UInt8] = input, readData: [UInt8] = input) -> [String] {
        [configLoad, TraceLines.done(0, cycle: 2), configStore, TraceLines.done(1, cycle: 3), mvin, mvout,
         TraceLines.rd(0x1000, Array(readData[0..<8])), TraceLines.rd(0x1008, Array(readData[8..<16])),
         TraceLines.done(2, cycle: 30), TraceLines.wr(0x2000, written), TraceLines.done(3, cycle: 61)]
    }

    static func replay(_ lines: [String], parameters: AcceleratorParameters = HarnessTestSupport.small) throws -> TraceReplayReport {
        let trace = try HarnessTrace.parse(lines.joined(separator: "\n") + "\n")
        return TraceReplay.replay(trace, parameters: parameters)
    }
}

@Suite struct TraceReplayTests {
    // MARK: Hand-written traces

    @Test func aCorrectTraceMatches() throws {
        let report = try CopyProgram.replay(CopyProgram.lines())
        #expect(report.verdict == .match, "\(report.render())")
        #expect(report.problems.isEmpty)
        #expect(report.goldenReadBytes == 16 && report.hardwareReadBytes == 16)
        #expect(report.goldenWrittenBytes == 16 && report.hardwareWrittenBytes == 16)
        #expect(report.commands.map(\.measuredCycles) == [2, 2, 28, 58])
        #expect(report.totalCycles?.cycles == 61)
        let text = report.render()
        #expect(text.contains("MATCH"))
        #expect(text.contains("timing         predicted "), "\(text)")
        #expect(text.contains("total cycles   61"))
        #expect(text.contains("MVOUT 4×4 from scratchpad row 0 to 0x2000"))
    }

    @Test func aFlippedWrittenByteIsTheFirstMismatch() throws {
        var written = CopyProgram.input
        written[6] ^= 0x10
        let report = try CopyProgram.replay(CopyProgram.lines(written: written))
        #expect(report.verdict == .mismatch)
        let first = try #require(report.firstProblem)
        #expect(first.kind == .writeDiffers)
        #expect(first.commandIndex == 3)
        #expect(first.address == 0x2004)  // row 1 of the MVOUT
        #expect(first.firstDifference == 0x2006)
        #expect(first.expected == Array(CopyProgram.input[4..<8]))
        #expect(first.actual == Array(written[4..<8]).map { $0 })
        let text = report.render()
        #expect(text.contains("MISMATCH"))
        #expect(text.contains("command 3: MVOUT 4×4 from scratchpad row 0 to 0x2000, stride 4 B"), "\(text)")
        #expect(text.contains("at 0x2004") && text.contains("the first at 0x2006"), "\(text)")
        let expected = TraceLines.hex(Array(CopyProgram.input[4..<8])).enumerated()
            .map { $0.offset % 2 == 1 ? "\($0.element) " : "\($0.element)" }.joined().trimmingCharacters(in: .whitespaces)
        #expect(text.contains("expected (golden model): \(expected)"), "\(text)")
        #expect(text.contains("timing         predicted "), "\(text)")
    }

    @Test func differentReadDataMakesTheWriteDiffer() throws {
        // The golden model moves what the hardware read; if the hardware then writes the old
        // data, the write differs.
        var read = CopyProgram.input
        read[12] = 0xEE
        let report = try CopyProgram.replay(CopyProgram.lines(readData: read))
        #expect(report.verdict == .mismatch)
        #expect(report.firstProblem?.firstDifference == 0x200C)
        #expect(report.firstProblem?.expected?.first == 0xEE)
    }

    @Test func aMissingWriteAndAnExtraWriteAreReported() throws {
        // The hardware writes rows 0–1 only, and 4 bytes nobody asked for.
        var lines = CopyProgram.lines()
        let wrIndex = lines.firstIndex { $0.contains(#""ev":"wr""#) }!
        lines[wrIndex] = TraceLines.wr(0x2000, Array(CopyProgram.input[0..<8]))
        lines.insert(TraceLines.wr(0x3000, [1, 2, 3, 4, 0, 0, 0, 0], strobe: [true, true, true, true, false, false, false, false]),
                     at: wrIndex + 1)
        let report = try CopyProgram.replay(lines)
        #expect(report.verdict == .mismatch)
        let kinds = report.problems.map(\.kind)
        #expect(kinds.filter { $0 == .missingWrite }.count == 2, "\(report.render())")
        let extra = try #require(report.problems.first { $0.kind == .extraWrite })
        #expect(extra.commandIndex == 3)
        #expect(extra.address == 0x3000)
        #expect(extra.actual == [1, 2, 3, 4])
        #expect(report.render().contains("the hardware never wrote these bytes"))
    }

    @Test func bytesTheHardwareNeverReadAreAReplayProblem() throws {
        // The hardware read only the first beat: rows 2 and 3 were never read.
        var lines = CopyProgram.lines()
        lines.removeAll { $0.contains("0x1008") }
        let report = try CopyProgram.replay(lines)
        #expect(report.verdict == .mismatch)
        let first = try #require(report.firstProblem)
        #expect(first.kind == .unreadBytes)
        #expect(first.commandIndex == 2)
        #expect(first.message.contains("never read 4 bytes from 0x1008 to 0x100b"), "\(first.message)")
        #expect(first.description.contains("MVIN 4×4 from 0x1000 to scratchpad row 0"))
    }

    @Test func aReadOutsideTheCommandsFlightDoesNotCount() throws {
        // The second beat is recorded after the MVIN retired: it cannot be that command's.
        var lines = CopyProgram.lines()
        let beat = lines.firstIndex { $0.contains("0x1008") }!
        let moved = lines.remove(at: beat)
        lines.append(moved)
        let report = try CopyProgram.replay(lines)
        let first = try #require(report.firstProblem)
        #expect(first.kind == .unreadBytes)
        #expect(first.message.contains("outside this command's flight"), "\(first.message)")
    }

    @Test func aFailedReadIsADMAFaultOnBothSides() throws {
        // The second beat failed: the golden model rejects the MVIN with dmaReadFault, as the
        // hardware did; the MVOUT then writes rows 0–1 as moved and rows 2–3 as they were (0).
        var lines = CopyProgram.lines(written: Array(CopyProgram.input[0..<8]) + Array(repeating: 0, count: 8))
        let beat = lines.firstIndex { $0.contains("0x1008") }!
        lines[beat] = TraceLines.failedRead(0x1008)
        lines.append(TraceLines.error(code: 11, 2))
        let report = try CopyProgram.replay(lines)
        #expect(report.verdict == .match, "\(report.render())")
        #expect(report.goldenError?.code == .dmaReadFault)
        #expect(report.goldenError?.commandIndex == 2)

        // Without the error event, the error states differ.
        lines.removeLast()
        let missing = try CopyProgram.replay(lines)
        #expect(missing.verdict == .mismatch)
        #expect(missing.firstProblem?.kind == .errorState)
        #expect(missing.firstProblem?.message.contains("the golden model rejects command 2 with dmaReadFault") == true)
    }

    @Test func aFailedWriteIsADMAFaultOnBothSides() throws {
        var lines = CopyProgram.lines()
        let wrIndex = lines.firstIndex { $0.contains(#""ev":"wr""#) }!
        lines[wrIndex] = TraceLines.wr(0x2000, Array(CopyProgram.input[0..<8]))
        lines.insert(TraceLines.wr(0x2008, Array(CopyProgram.input[8..<16]), resp: 2), at: wrIndex + 1)
        lines.append(TraceLines.error(code: 12, 3))
        let report = try CopyProgram.replay(lines)
        #expect(report.verdict == .match, "\(report.render())")
        #expect(report.goldenError?.code == .dmaWriteFault)
    }

    @Test func anErrorOnlyTheHardwareReportsIsAMismatch() throws {
        var lines = CopyProgram.lines()
        lines.append(TraceLines.error(code: 4, 2))
        let report = try CopyProgram.replay(lines)
        #expect(report.verdict == .mismatch)
        let first = try #require(report.firstProblem)
        #expect(first.kind == .errorState)
        #expect(first.commandIndex == 2)
        #expect(first.message.contains("localAddressOutOfRange (code 4) at command 2"))
    }

    @Test func retirementProblems() throws {
        var lines = CopyProgram.lines()
        lines.removeAll { $0 == TraceLines.done(3, cycle: 61) }
        lines.append(TraceLines.done(1, cycle: 70))
        lines.append(TraceLines.done(9, cycle: 71))
        let report = try CopyProgram.replay(lines)
        #expect(report.verdict == .mismatch)
        let messages = report.problems.filter { $0.kind == .retirement }.map(\.message)
        #expect(messages.contains { $0.contains("command 3 never retired") }, "\(messages)")
        #expect(messages.contains { $0.contains("retired command 1 a second time") }, "\(messages)")
        #expect(messages.contains { $0.contains("retired command 9") && $0.contains("only 4 command(s)") }, "\(messages)")
    }

    // MARK: Malformed traces

    private func formatError(_ lines: [String]) -> TraceFormatError? {
        do {
            _ = try HarnessTrace.parse(lines.joined(separator: "\n") + "\n")
            return nil
        } catch {
            return error
        }
    }

    @Test func aMalformedLineNamesItsLineNumber() throws {
        var lines = CopyProgram.lines()
        lines[4] = #"{"ev":"cmd","i":2,"funct":2,"rs1":"0x1000" "rs2":"0x4000400000000","cycle":2}"#
        let error = try #require(formatError(lines))
        #expect(error.line == 5)
        #expect(error.description.contains("line 5"))
        #expect(error.problem.contains("expected ',' or '}'") && error.problem.contains("column 44"), "\(error)")
        #expect(error.description.contains("fix:"))
    }

    @Test(arguments: [
        (#"{"ev":"cmd","i":2,"funct":2,"rs1":"0x1000","cycle":2}"#, #"the key "rs2" is missing"#),
        (#"{"ev":"cmd","i":2,"funct":2,"rs1":"4096","rs2":"0x0","cycle":2}"#, #""rs1" is the string "4096", not a string "0x…""#),
        (#"{"ev":"cmd","i":2,"funct":200,"rs1":"0x0","rs2":"0x0","cycle":2}"#, "7 bits"),
        (#"{"ev":"cmd","i":5,"funct":2,"rs1":"0x0","rs2":"0x0","cycle":2}"#, "command index 5 where 2 was expected"),
        (#"{"ev":"rd","addr":"0x1000","data":"abc"}"#, "odd number of hexadecimal digits"),
        (#"{"ev":"rd","addr":"0x1000","data":"zz"}"#, "not a hexadecimal digit"),
        (#"{"ev":"rd","addr":"0x1000","data":""}"#, "answered OKAY carries no data"),
        (#"{"ev":"wr","addr":"0x2000","data":"00112233445566778899","strb":"ff"}"#, #""strb" has 1 byte(s) for 10 data byte(s)"#),
        (#"{"ev":"done","i":0,"cycle":1.5}"#, "whole numbers"),
        (#"{"ev":"done","i":-1,"cycle":1}"#, "not a whole number from 0"),
        (#"{"ev":"retire","i":0}"#, #"unknown event "retire""#),
        (#"{"i":0,"cycle":3}"#, #"no "ev" key"#),
        (#"["cmd"]"#, "expected '{'"),
        (#"{"ev":"done","i":0,"cycle":3} x"#, "after the closing '}'"),
        (#"{"ev":"done","i":0,"i":1,"cycle":3}"#, "appears twice"),
        (#"{"ev":"done","i":0,"cycle":{"at":3}}"#, "nested objects"),
    ])
    func malformedLines(line: String, problem: String) throws {
        var lines = CopyProgram.lines()
        lines.insert(line, at: 4)
        let error = try #require(formatError(lines), "\(line) was accepted")
        #expect(error.line == 5)
        #expect(error.problem.contains(problem), "\(error)")
        #expect(!error.fix.isEmpty)
    }

    @Test func aTraceCutMidLineSaysSo() throws {
        let text = CopyProgram.lines().joined(separator: "\n") + "\n" + #"{"ev":"done","i":3,"cy"#
        #expect(throws: TraceFormatError.self) { try HarnessTrace.parse(text) }
        do {
            _ = try HarnessTrace.parse(text)
        } catch {
            #expect(error.line == 12)
            #expect(error.fix.contains("ends in the middle of this line"), "\(error)")
        }
    }

    @Test func aTraceWithoutCommandsIsRejected() throws {
        do {
            _ = try HarnessTrace.parse("\n" + TraceLines.rd(0x1000, [1, 2, 3, 4, 5, 6, 7, 8]) + "\n")
            Issue.record("an empty trace was accepted")
        } catch {
            #expect(error.problem.contains("no cmd event"))
            #expect(error.fix.contains("SPINEL_TRACE"))
        }
    }

    // MARK: Files and the configuration

    @Test func aMissingConfigurationIsAClearError() throws {
        let directory = try HarnessTestSupport.temporaryDirectory("trace-noconfig")
        defer { try? FileManager.default.removeItem(at: directory) }
        let traceFile = directory.appendingPathComponent("run.jsonl")
        try (CopyProgram.lines().joined(separator: "\n") + "\n").write(to: traceFile, atomically: true, encoding: .utf8)
        do {
            _ = try TraceReplay.check(traceFile: traceFile)
            Issue.record("a trace without configuration was replayed")
        } catch let error as TraceConfigurationError {
            #expect(error.message.contains(directory.appendingPathComponent("config.json").path))
            #expect(error.message.contains("--config FILE or --preset NAME"))
            #expect(error.message.contains("spinel generate"))
        }
        // With a preset, or with config.json next to it, it replays.
        #expect(try TraceReplay.check(traceFile: traceFile, preset: .small).verdict == .match)
        try AcceleratorConfig.small.toJSON().write(to: directory.appendingPathComponent("config.json"))
        let report = try TraceReplay.check(traceFile: traceFile)
        #expect(report.verdict == .match)
        #expect(report.render().contains("SpinelSmall from config.json next to the trace"))
        // A broken --config names the file.
        let broken = directory.appendingPathComponent("broken.json")
        try Data("{\"meshRows\": }".utf8).write(to: broken)
        #expect(throws: TraceConfigurationError.self) { try TraceReplay.check(traceFile: traceFile, configFile: broken) }
        // A malformed trace file names the file and the line.
        try (CopyProgram.lines().joined(separator: "\n") + "\n{oops}\n").write(to: traceFile, atomically: true, encoding: .utf8)
        do {
            _ = try TraceReplay.check(traceFile: traceFile)
            Issue.record("a malformed trace was replayed")
        } catch let error as TraceFormatError {
            #expect(error.description.hasPrefix("\(traceFile.path), line 12: "), "\(error)")
        }
    }

    // MARK: End to end on the `small` accelerator

    private static let buildLock = NSLock()
    nonisolated(unsafe) private static var built: (files: [GeneratedFile], executable: URL)?

    /// The generated `small` files and the trace_check executable, built once per process (and
    /// cached across runs by HarnessBuild), so that parallel tests do not build it side by side.
    static func traceCheckBuild() throws -> (files: [GeneratedFile], executable: URL) {
        buildLock.lock()
        defer { buildLock.unlock() }
        if let built { return built }
        let parameters = try AcceleratorConfig.small.parameters()
        let files = try AcceleratorGeneration.files(for: .small)
        let source = HarnessTestSupport.repositoryRoot().appendingPathComponent("Testbenches/trace-check/trace_check.c")
        let executable = try HarnessBuild.executable(verilog: files, top: parameters.name, harness: HarnessGenerator.files(for: parameters),
                                                     sources: [source], name: "trace_check")
        built = (files, executable.path)
        return built!
    }

    /// Builds `Testbenches/trace-check/trace_check.c` against the generated `small` accelerator,
    /// runs it with the trace on, and returns the trace (in the directory of the generated
    /// files, next to config.json).
    static func runTraceCheck(mode: String = "matmul") throws -> URL {
        let (files, executable) = try traceCheckBuild()
        let directory = try HarnessTestSupport.temporaryDirectory("trace-check")
        try OutputChecks.write(files, to: directory)
        let traceFile = directory.appendingPathComponent("trace_check-\(mode).jsonl")
        let result = try HarnessBuild.run(executable, [traceFile.path, mode])
        guard result.succeeded, result.standardOutput.contains("PASSED") else {
            throw ToolError(tool: "trace_check", message: HarnessTestSupport.describe(result))
        }
        return traceFile
    }

    @Test(.timeLimit(.minutes(20)))
    func theSmallAcceleratorsTraceReplaysThenAFlippedByteIsCaught() throws {
        let traceFile = try Self.runTraceCheck()
        defer { try? FileManager.default.removeItem(at: traceFile.deletingLastPathComponent()) }

        let report = try TraceReplay.check(traceFile: traceFile)
        let text = report.render()
        #expect(report.verdict == .match, "\(text)")
        #expect(report.commands.count == 12)
        #expect(report.commands.allSatisfy { $0.doneCycle != nil })
        #expect(report.goldenWrittenBytes == 16 + 64)
        #expect(report.hardwareWrittenBytes == report.goldenWrittenBytes)
        #expect(report.goldenReadBytes == 16 + 16 + 64)
        #expect(report.hardwareError == nil && report.goldenError == nil)
        #expect(text.contains("timing         predicted "), "\(text)")
        #expect(report.notes.isEmpty, "\(report.notes)")

        // Flip one strobed data byte of the second wr event (a write of the scaled mvout or the
        // full-width one), in a copy next to the original.
        let lines = try String(contentsOf: traceFile, encoding: .utf8).split(separator: "\n").map(String.init)
        let writeLines = lines.indices.filter { lines[$0].contains(#""ev":"wr""#) }
        try #require(writeLines.count >= 2)
        let target = writeLines[1]
        let event = try #require(try JSONSerialization.jsonObject(with: Data(lines[target].utf8)) as? [String: String])
        let data = Array(try #require(event["data"]))
        let strobe = try #require(HarnessTestSupport.Event(keys: [], fields: event).bytes("strb"))
        let byte = try #require((0..<data.count / 2).first { strobe[$0 / 8] >> UInt8($0 % 8) & 1 == 1 })
        let original = UInt8(String(data[2 * byte..<2 * byte + 2]), radix: 16)!
        var flipped = data
        flipped.replaceSubrange(2 * byte..<2 * byte + 2, with: Array(String(format: "%02x", original ^ 0x01)))
        var corrupted = lines
        corrupted[target] = lines[target].replacingOccurrences(of: String(data), with: String(flipped))
        let copy = traceFile.deletingLastPathComponent().appendingPathComponent("trace_check-corrupted.jsonl")
        try (corrupted.joined(separator: "\n") + "\n").write(to: copy, atomically: true, encoding: .utf8)

        let bad = try TraceReplay.check(traceFile: copy)
        let badText = bad.render()
        #expect(bad.verdict == .mismatch, "\(badText)")
        let first = try #require(bad.firstProblem)
        let address = UInt64(try #require(event["addr"]).dropFirst(2), radix: 16)! + UInt64(byte)
        #expect(first.kind == .writeDiffers)
        #expect(first.firstDifference == address, "\(badText)")
        #expect(bad.problems.count == 1, "\(badText)")
        let mvouts = report.commands.filter { $0.funct == 3 }.map(\.index)
        #expect(mvouts.contains(try #require(first.commandIndex)))
        #expect(badText.contains("command \(first.commandIndex!): MVOUT"), "\(badText)")
        #expect(first.expected?[Int(address - first.address!)] == original)
        #expect(first.actual?[Int(address - first.address!)] == original ^ 0x01)
    }

    /// Errors on the real hardware: a rejected command, a DMA read fault after two rows of an
    /// MVIN, a DMA write fault in row 1 of an MVOUT whose rows 2 and 3 still complete.
    /// The two `then-mvout` modes are issue 11's bug 3: a good MVOUT over the region a faulted
    /// command wrote was reported as never written.
    @Test(.timeLimit(.minutes(20)), arguments: [("reject", 2, 6), ("read-fault", 11, 3), ("write-fault", 12, 3),
                                               ("write-fault-then-mvout", 12, 3), ("loop-write-fault-then-mvout", 12, 10)])
    func errorsOnTheSmallAcceleratorReplay(mode: String, code: Int, index: Int) throws {
        let traceFile = try Self.runTraceCheck(mode: mode)
        defer { try? FileManager.default.removeItem(at: traceFile.deletingLastPathComponent()) }
        let report = try TraceReplay.check(traceFile: traceFile)
        let text = report.render()
        #expect(report.verdict == .match, "\(text)")
        #expect(report.hardwareError?.code == code && report.hardwareError?.commandIndex == UInt64(index), "\(text)")
        #expect(report.goldenError.map { Int($0.code.rawValue) } == code && report.goldenError?.commandIndex == UInt64(index))
        if mode.contains("write-fault") {
            // Rows 2 and 3 were issued before the fault came back: allowed, and said so.
            #expect(report.notes.contains { $0.contains("after their DMA write fault") }, "\(text)")
        }
        if mode.hasSuffix("then-mvout") {
            // The faulted command retiring only after the good MVOUT's writes (slower write
            // responses): its leftovers and the good writes now share a flight. Still MATCH.
            var lines = try String(contentsOf: traceFile, encoding: .utf8).split(separator: "\n").map(String.init)
            let faultedDone = try #require(lines.firstIndex { $0.contains(#""ev":"done","i":\#(index),"#) })
            let done = lines.remove(at: faultedDone)
            let lastDone = try #require(lines.lastIndex { $0.contains(#""ev":"done""#) })
            lines.insert(done, at: lastDone)
            let late = traceFile.deletingLastPathComponent().appendingPathComponent("late-retire.jsonl")
            try (lines.joined(separator: "\n") + "\n").write(to: late, atomically: true, encoding: .utf8)
            let lateReport = try TraceReplay.check(traceFile: late)
            #expect(lateReport.verdict == .match, "\(lateReport.render())")
        }

        // The trace without its error events: the error states differ.
        let lines = try String(contentsOf: traceFile, encoding: .utf8).split(separator: "\n").filter { !$0.contains(#""ev":"error""#) }
        let copy = traceFile.deletingLastPathComponent().appendingPathComponent("no-error.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: copy, atomically: true, encoding: .utf8)
        let bad = try TraceReplay.check(traceFile: copy)
        #expect(bad.verdict == .mismatch)
        #expect(bad.firstProblem?.kind == .errorState && bad.firstProblem?.commandIndex == index, "\(bad.render())")
    }
}

/// Issue 11, bug 3: bytes written while a faulted MVOUT is in flight are tolerated only when
/// no other in-flight command is expected to write them.
@Suite struct TraceReplayAfterAFaultTests {
    static let second = TraceLines.cmd(4, 3, 0x2000, CopyProgram.operand, cycle: 40)

    /// MVOUT 3 faults on its second burst; MVOUT 4 then writes the same 16 bytes correctly.
    static func lines(secondWrites: [UInt8] = CopyProgram.input) -> [String] {
        var lines = CopyProgram.lines()
        let wrIndex = lines.firstIndex { $0.contains(#""ev":"wr""#) }!
        lines[wrIndex] = TraceLines.wr(0x2000, Array(CopyProgram.input[0..<8]))
        lines.removeLast()  // MVOUT 3 retires after MVOUT 4's writes, below
        lines.insert(TraceLines.wr(0x2008, Array(CopyProgram.input[8..<16]), resp: 2), at: wrIndex + 1)
        lines += [second, TraceLines.wr(0x2000, Array(secondWrites[0..<8])), TraceLines.wr(0x2008, Array(secondWrites[8..<16])),
                  TraceLines.done(3, cycle: 85), TraceLines.done(4, cycle: 90), TraceLines.error(code: 12, 3)]
        return lines
    }

    @Test func aGoodMvoutAfterAFaultedOneMatches() throws {
        let report = try CopyProgram.replay(Self.lines())
        #expect(report.verdict == .match, "\(report.render())")
        #expect(report.goldenError?.code == .dmaWriteFault)
    }

    @Test func aWrongByteOfTheGoodMvoutIsStillAMismatch() throws {
        var wrong = CopyProgram.input
        wrong[10] ^= 0x40
        let report = try CopyProgram.replay(Self.lines(secondWrites: wrong))
        #expect(report.verdict == .mismatch, "\(report.render())")
    }
}

/// Issue 11: a trace carries its configuration's identity and its end; `spinel check` uses
/// them rather than replaying on the wrong accelerator or calling a cut trace a mismatch.
@Suite struct TraceIdentityTests {
    static func copy(_ lines: [String], named name: String) throws -> URL {
        let directory = try HarnessTestSupport.temporaryDirectory("trace-identity")
        let file = directory.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test(.timeLimit(.minutes(20)))
    func theTraceNamesItsConfigurationAndItsEnd() throws {
        let traceFile = try TraceReplayTests.runTraceCheck()
        defer { try? FileManager.default.removeItem(at: traceFile.deletingLastPathComponent()) }
        let lines = try String(contentsOf: traceFile, encoding: .utf8).split(separator: "\n").map(String.init)
        let hash = try AcceleratorConfig.small.parameters().hash
        #expect(lines.first == #"{"ev":"config","name":"SpinelSmall","hash":"\#(hash)"}"#)
        #expect(lines.last?.hasPrefix(#"{"ev":"end","commands":12,"#) == true, "\(lines.last ?? "")")

        // Alone in a directory (no config.json): the trace finds its preset by its hash.
        let alone = try Self.copy(lines, named: "alone.jsonl")
        defer { try? FileManager.default.removeItem(at: alone.deletingLastPathComponent()) }
        let report = try TraceReplay.check(traceFile: alone)
        #expect(report.verdict == .match)
        #expect(report.configurationSource.contains("preset small (the trace's configuration SpinelSmall"))

        // The wrong preset is refused, naming both configurations and the fix.
        for preset in [AcceleratorConfig.Preset.default, .transformer] {
            let error = try #require(throws: TraceConfigurationError.self) { try TraceReplay.check(traceFile: alone, preset: preset) }
            #expect(error.message.contains("recorded on configuration SpinelSmall (hash \(hash))"), "\(error)")
            #expect(error.message.contains("drop --preset \(preset.rawValue)"), "\(error)")
        }
        #expect(try TraceReplay.check(traceFile: alone, preset: .small).verdict == .match)

        // Cut at a line boundary (the testbench died): incomplete, not MISMATCH.
        let cut = try Self.copy(Array(lines.prefix(lines.count / 2)), named: "cut.jsonl")
        let incomplete = try #require(throws: TraceFormatError.self) { try TraceReplay.check(traceFile: cut, preset: .small) }
        #expect(incomplete.description.contains("the trace is incomplete: it has no end event"), "\(incomplete)")

        // Anything after the end is refused.
        let appended = try Self.copy(lines + [lines[2]], named: "appended.jsonl")
        let after = try #require(throws: TraceFormatError.self) { try TraceReplay.check(traceFile: appended, preset: .small) }
        #expect(after.description.contains("after the end event"), "\(after)")
    }

    @Test func aConfigurationThatIsNoPresetNeedsItsFile() throws {
        let lines = [#"{"ev":"config","name":"Mine","hash":"0123456789abcdef"}"#] + CopyProgram.lines() + [#"{"ev":"end","commands":4,"cycle":61}"#]
        let file = try Self.copy(lines, named: "mine.jsonl")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let error = try #require(throws: TraceConfigurationError.self) { try TraceReplay.check(traceFile: file) }
        #expect(error.message.contains("recorded on configuration Mine (hash 0123456789abcdef), which is no preset"), "\(error)")
        #expect(error.message.contains("--config FILE"))
    }
}
