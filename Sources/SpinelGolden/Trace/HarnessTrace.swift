import Foundation

/// A harness trace: the JSON Lines file that the C harness writes while it drives the Verilated
/// accelerator (docs/MICROARCHITECTURE.md, "Harness trace"; the writer is `TraceWriter` in
/// `SpinelAccelerator/Harness/Static/spinel_harness.cpp`). One event per line:
///
/// - `{"ev":"cmd","i":N,"funct":F,"rs1":"0x…","rs2":"0x…","cycle":C}`: the command port took
///   command N at cycle C. Indices count from 0 with no gaps.
/// - `{"ev":"done","i":N,"cycle":C}`: a retire port reported command N at cycle C.
/// - `{"ev":"rd","addr":"0x…","data":"hex"}`: an AXI read burst, recorded at its last R beat.
///   `data` is every byte of every beat in address order from the (bus-aligned) burst address.
///   A burst answered with an error has `"data":""` and `"resp":2` (or 3).
/// - `{"ev":"wr","addr":"0x…","data":"hex","strb":"hex"}`: an AXI write burst, recorded when its
///   B response was taken. `strb` is the beats' WSTRB fields concatenated: bit i of strobe byte
///   k covers data byte 8k + i. Unstrobed data bytes read `00`. A burst answered with an error
///   (nothing written) carries `"resp"`.
/// - `{"ev":"resp","i":N,"data":"0x…","cycle":C}`: command N (a COUNTER) answered with `data`
///   on the response port at cycle C.
/// - `{"ev":"error","code":K,"i":N}`: the error port rose (or `error_info` changed) with code K
///   for command N; the last one stands.
/// - `{"ev":"memory","latency":L,"bytes_per_cycle":B,"max_outstanding":M}`: the AXI memory
///   model's settings as the harness used them (the configuration's, or SPINEL_MEMORY_LATENCY /
///   SPINEL_MEMORY_BYTES_PER_CYCLE), written first. Traces of older harnesses lack it; the timing
///   model then assumes the configuration's.
/// - `{"ev":"config","name":"SpinelSmall","hash":"2fa4204413abcb1f"}`: the configuration the
///   trace was recorded on (its name and `AcceleratorParameters.hash`), the first line.
/// - `{"ev":"end","commands":N,"cycle":C}`: the harness closed the trace, the last line. A trace
///   with a `config` line and no `end` line is incomplete: the testbench crashed or was killed.
///   (Traces of older harnesses have neither.)
///
/// Parsing checks the shape of every line and the consistency that replay relies on (command
/// indices in order, strobes as long as the data); it reports the first problem with its line
/// number, what is wrong and how to fix it.
public struct HarnessTrace: Sendable {
    /// A command the port accepted, with its retirement when the trace has one.
    public struct CommandRecord: Hashable, Sendable {
        public var index: Int
        public var funct: UInt8
        public var rs1: UInt64
        public var rs2: UInt64
        public var issueCycle: UInt64
        /// The line of its `cmd` event (1-based).
        public var line: Int
        public var doneCycle: UInt64?
        /// The line of its first `done` event.
        public var doneLine: Int?
        /// A COUNTER's answer on the response port, and its trace line.
        public var response: UInt64?
        public var responseLine: Int?

        /// done − issue, if it retired.
        public var measuredCycles: UInt64? { doneCycle.map { $0 - issueCycle } }
    }

    /// An AXI read burst.
    public struct ReadBurst: Hashable, Sendable {
        public var address: UInt64
        /// Empty for a failed burst.
        public var data: [UInt8]
        /// The AXI response: 0 OKAY, 2 SLVERR, 3 DECERR.
        public var response: Int
        public var line: Int

        public var failed: Bool { response != 0 }
    }

    /// An AXI write burst.
    public struct WriteBurst: Hashable, Sendable {
        public var address: UInt64
        /// Unstrobed bytes are 0.
        public var data: [UInt8]
        /// One entry per data byte.
        public var strobe: [Bool]
        public var response: Int
        public var line: Int

        public var failed: Bool { response != 0 }
        public var strobedByteCount: Int { strobe.reduce(0) { $0 + ($1 ? 1 : 0) } }
    }

    /// An `error` event.
    public struct ErrorRecord: Hashable, Sendable {
        public var code: Int
        public var commandIndex: UInt64
        public var line: Int
    }

    /// Something well formed that the hardware should not have done (a retirement of a command
    /// that was never issued, a second retirement); replay reports it as a problem.
    public struct Anomaly: Hashable, Sendable {
        public var line: Int
        public var commandIndex: Int?
        public var message: String
    }

    public var commands: [CommandRecord] = []
    public var reads: [ReadBurst] = []
    public var writes: [WriteBurst] = []
    public var errors: [ErrorRecord] = []
    /// The memory model's settings, when the trace records them (`memory` event).
    public var memory: MemoryTimingSettings?
    /// The configuration the trace was recorded on (`config` event).
    public var configuration: (name: String, hash: String)?
    /// The line of the `end` event, when the harness closed the trace.
    public var endLine: Int?
    public var anomalies: [Anomaly] = []
    /// Lines in the file, blank ones included.
    public var lineCount = 0

    public init() {}

    /// The error state the harness saw last (`error` events revise it; the last one stands).
    public var finalError: ErrorRecord? { errors.last }

    /// Reads and parses the trace file at `url`.
    public static func load(_ url: URL) throws -> HarnessTrace {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TraceFormatError(file: url.path, line: nil, problem: "cannot read the trace file (\(error.localizedDescription))",
                                   fix: "check the path; the harness writes the trace where SPINEL_TRACE or spinel_options.trace_path says")
        }
        do {
            return try parse([UInt8](data))
        } catch var error {
            error.file = url.path
            throw error
        }
    }

    /// Parses the text of a trace.
    public static func parse(_ text: String) throws(TraceFormatError) -> HarnessTrace {
        try parse(Array(text.utf8))
    }

    /// Parses the bytes of a trace (UTF-8 JSON Lines).
    public static func parse(_ bytes: [UInt8]) throws(TraceFormatError) -> HarnessTrace {
        var trace = HarnessTrace()
        var start = 0
        var lineNumber = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            let terminated = end < bytes.count
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            try trace.add(bytes[start..<lineEnd], line: lineNumber, terminated: terminated)
            start = end + 1
        }
        trace.lineCount = lineNumber
        if trace.configuration != nil && trace.endLine == nil {
            throw TraceFormatError(line: nil, problem: "the trace is incomplete: it has no end event after its \(lineNumber) line\(lineNumber == 1 ? "" : "s") "
                                       + "(\(trace.commands.count) command\(trace.commands.count == 1 ? "" : "s")): the testbench stopped (crashed, was "
                                       + "killed or is still running) before the harness closed the trace",
                                   fix: "rerun the testbench to completion; `spinel sim` reports a crash with its signal and last command")
        }
        guard !trace.commands.isEmpty else {
            throw TraceFormatError(line: nil, problem: "the trace holds no cmd event (\(lineNumber) line\(lineNumber == 1 ? "" : "s"))",
                                   fix: "run the testbench with tracing on (SPINEL_TRACE=FILE or spinel_options.trace_path) "
                                       + "and keep it on (spinel_trace_enable(1)) while it issues commands")
        }
        return trace
    }

    // MARK: Events

    private mutating func add(_ text: ArraySlice<UInt8>, line: Int, terminated: Bool) throws(TraceFormatError) {
        if text.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
        var parser = FlatJSONParser(bytes: text)
        let fields: [String: FlatJSONValue]
        do {
            fields = try parser.parseObject()
        } catch {
            let truncated = !terminated && error.atEnd
            throw TraceFormatError(
                line: line, problem: "not a JSON object: \(error.message) at column \(error.column)",
                fix: truncated
                    ? "the trace ends in the middle of this line: the testbench stopped before it closed the trace; "
                        + "rerun it to completion (or delete the incomplete last line)"
                    : "each line must be one flat JSON object as the harness writes it, e.g. \(Self.examples["done"]!)")
        }
        guard let kindValue = fields["ev"] else {
            throw TraceFormatError(line: line, problem: "the object has no \"ev\" key",
                                   fix: "every event names its kind first, e.g. \(Self.examples["cmd"]!)")
        }
        guard case .string(let kind) = kindValue else {
            throw TraceFormatError(line: line, problem: "\"ev\" is \(kindValue.words), not a string",
                                   fix: "\"ev\" is one of \"config\", \"memory\", \"cmd\", \"done\", \"resp\", \"rd\", \"wr\", \"error\", \"end\"")
        }
        let event = EventFields(kind: kind, fields: fields, line: line)
        if let endLine {
            throw event.problem("a \(kind) event after the end event (line \(endLine))",
                                fix: "a trace holds one run of one accelerator: write each run to its own file")
        }
        switch kind {
        case "cmd":
            let index = try event.integer("i")
            let funct = try event.integer("funct")
            guard funct < 128 else {
                throw event.problem("\"funct\" is \(funct); the command port carries 7 bits (0…127)")
            }
            guard index == UInt64(commands.count) else {
                if index < UInt64(commands.count) {
                    throw event.problem("command index \(index) appears again (the previous cmd event had index \(commands.count - 1))",
                                        fix: "a trace holds one run of one accelerator: write each run to its own file")
                }
                throw event.problem("command index \(index) where \(commands.count) was expected: the trace lacks commands "
                                        + (commands.isEmpty ? "0…\(index - 1)" : "\(commands.count)…\(index - 1)"),
                                    fix: "record the whole program: replay needs every command from index 0 "
                                        + "(was tracing switched off with spinel_trace_enable(0), or the trace file reopened?)")
            }
            commands.append(CommandRecord(index: Int(index), funct: UInt8(funct), rs1: try event.hexNumber("rs1"),
                                          rs2: try event.hexNumber("rs2"), issueCycle: try event.integer("cycle"), line: line))
        case "done":
            let index = try event.integer("i")
            let cycle = try event.integer("cycle")
            guard index < UInt64(commands.count) else {
                anomalies.append(Anomaly(line: line, commandIndex: nil,
                                         message: "the hardware retired command \(index) at cycle \(cycle), but only \(commands.count) command(s) had been issued"))
                return
            }
            let i = Int(index)
            if let first = commands[i].doneCycle {
                anomalies.append(Anomaly(line: line, commandIndex: i,
                                         message: "the hardware retired command \(i) a second time at cycle \(cycle) (first at cycle \(first))"))
                return
            }
            guard cycle >= commands[i].issueCycle else {
                throw event.problem("command \(i) retires at cycle \(cycle), before its issue at cycle \(commands[i].issueCycle) (line \(commands[i].line))",
                                    fix: "cycles only grow within one run: the trace mixes runs or was edited")
            }
            commands[i].doneCycle = cycle
            commands[i].doneLine = line
        case "resp":
            let index = try event.integer("i")
            let data = try event.hexNumber("data")
            guard index < UInt64(commands.count), commands[Int(index)].response == nil else {
                let known = index < UInt64(commands.count)
                anomalies.append(Anomaly(line: line, commandIndex: known ? Int(index) : nil,
                                         message: "the response port answered for command \(index), which "
                                             + (known ? "had already answered" : "was never issued")))
                return
            }
            commands[Int(index)].response = data
            commands[Int(index)].responseLine = line
        case "rd":
            let address = try event.hexNumber("addr")
            let data = try event.hexBytes("data")
            let response = try event.response()
            if response == 0 && data.isEmpty {
                throw event.problem("a read burst answered OKAY carries no data",
                                    fix: "an OKAY burst records every byte it read; a failed one has \"resp\":2 or 3")
            }
            reads.append(ReadBurst(address: address, data: response == 0 ? data : [], response: response, line: line))
        case "wr":
            let address = try event.hexNumber("addr")
            let data = try event.hexBytes("data")
            let strobeBits = try event.hexBytes("strb")
            guard strobeBits.count == (data.count + 7) / 8 else {
                throw event.problem("\"strb\" has \(strobeBits.count) byte(s) for \(data.count) data byte(s); it needs \((data.count + 7) / 8) (one bit per data byte)",
                                    fix: "strb is the beats' WSTRB fields concatenated, as the harness writes it")
            }
            let strobe = (0..<data.count).map { strobeBits[$0 / 8] >> UInt8($0 % 8) & 1 == 1 }
            writes.append(WriteBurst(address: address, data: data, strobe: strobe, response: try event.response(), line: line))
        case "error":
            let code = try event.integer("code")
            guard code < 256 else { throw event.problem("\"code\" is \(code); error codes are 8 bits (error_info[63:56])") }
            errors.append(ErrorRecord(code: Int(code), commandIndex: try event.integer("i"), line: line))
        case "memory":
            let latency = try event.integer("latency"), bytesPerCycle = try event.integer("bytes_per_cycle")
            let outstanding = try event.integer("max_outstanding")
            guard latency < 1 << 32, bytesPerCycle < 1 << 32, outstanding < 1 << 32 else {
                throw event.problem("the settings are 32-bit numbers")
            }
            memory = MemoryTimingSettings(latencyCycles: Int(latency), bytesPerCycle: Int(bytesPerCycle), maxOutstanding: Int(outstanding))
        case "config":
            guard case .string(let name)? = fields["name"], case .string(let hash)? = fields["hash"],
                  hash.utf8.count == 16, UInt64(hash, radix: 16) != nil else {
                throw event.problem("a config event has a string \"name\" and a 16-digit hex \"hash\"")
            }
            guard configuration == nil, commands.isEmpty else {
                throw event.problem("a second config event, or one after the first command",
                                    fix: "a trace holds one run of one accelerator: write each run to its own file")
            }
            configuration = (name, hash)
        case "end":
            _ = try event.integer("commands")
            guard endLine == nil else {
                throw event.problem("a second end event", fix: "a trace holds one run of one accelerator: write each run to its own file")
            }
            endLine = line
        default:
            throw TraceFormatError(line: line, problem: "unknown event \"\(kind)\"",
                                   fix: "events are config, memory, cmd, done, resp, rd, wr, error and end (docs/MICROARCHITECTURE.md, \"Harness trace\")")
        }
    }

    /// One well-formed line of each event, for fixes.
    static let examples: [String: String] = [
        "cmd": #"{"ev":"cmd","i":0,"funct":2,"rs1":"0x1000","rs2":"0x4000400000000","cycle":5}"#,
        "done": #"{"ev":"done","i":0,"cycle":42}"#,
        "rd": #"{"ev":"rd","addr":"0x1000","data":"0001020304050607"}"#,
        "wr": #"{"ev":"wr","addr":"0x2000","data":"0001020300000000","strb":"0f"}"#,
        "error": #"{"ev":"error","code":11,"i":3}"#,
        "resp": #"{"ev":"resp","i":4,"data":"0x2a","cycle":57}"#,
        "memory": #"{"ev":"memory","latency":20,"bytes_per_cycle":8,"max_outstanding":64}"#,
        "config": #"{"ev":"config","name":"SpinelSmall","hash":"2fa4204413abcb1f"}"#,
        "end": #"{"ev":"end","commands":12,"cycle":420}"#,
    ]
}

/// A trace that cannot be replayed as it is: where, what, and the fix.
public struct TraceFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The trace file, when known.
    public var file: String?
    /// 1-based; nil for problems of the whole file.
    public var line: Int?
    public var problem: String
    public var fix: String

    public init(file: String? = nil, line: Int?, problem: String, fix: String) {
        self.file = file
        self.line = line
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        let place = [file, line.map { "line \($0)" }].compactMap { $0 }.joined(separator: ", ")
        return (place.isEmpty ? "" : place + ": ") + problem + "\n  fix: " + fix
    }
}

// MARK: - Fields of one event

private struct EventFields {
    let kind: String
    let fields: [String: FlatJSONValue]
    let line: Int

    func problem(_ text: String, fix: String? = nil) -> TraceFormatError {
        TraceFormatError(line: line, problem: "\(kind) event: \(text)",
                         fix: fix ?? "write the event as the harness does, e.g. \(HarnessTrace.examples[kind] ?? "")")
    }

    private func value(_ key: String) throws(TraceFormatError) -> FlatJSONValue {
        guard let value = fields[key] else {
            throw problem("the key \"\(key)\" is missing")
        }
        return value
    }

    /// A non-negative JSON integer.
    func integer(_ key: String) throws(TraceFormatError) -> UInt64 {
        let value = try value(key)
        guard case .number(let text) = value else {
            throw problem("\"\(key)\" is \(value.words), not a number")
        }
        guard let number = UInt64(text) else {
            throw problem("\"\(key)\" is \(text), not a whole number from 0 to 2^64 − 1")
        }
        return number
    }

    /// A string "0x…" of 1 to 16 hexadecimal digits.
    func hexNumber(_ key: String) throws(TraceFormatError) -> UInt64 {
        let value = try value(key)
        guard case .string(let text) = value, text.hasPrefix("0x"), (3...18).contains(text.utf8.count),
              let number = UInt64(text.dropFirst(2), radix: 16)
        else {
            throw problem("\"\(key)\" is \(value.words), not a string \"0x…\" of 1 to 16 hexadecimal digits")
        }
        return number
    }

    /// A string of hexadecimal byte pairs.
    func hexBytes(_ key: String) throws(TraceFormatError) -> [UInt8] {
        let value = try value(key)
        guard case .string(let text) = value else {
            throw problem("\"\(key)\" is \(value.words), not a string of hexadecimal bytes")
        }
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else {
            throw problem("\"\(key)\" has an odd number of hexadecimal digits (\(digits.count)); each byte is two digits")
        }
        var bytes = [UInt8](repeating: 0, count: digits.count / 2)
        for i in 0..<bytes.count {
            guard let high = hexDigit(digits[2 * i]), let low = hexDigit(digits[2 * i + 1]) else {
                throw problem("\"\(key)\" holds a character that is not a hexadecimal digit near position \(2 * i + 1)")
            }
            bytes[i] = high << 4 | low
        }
        return bytes
    }

    /// The optional AXI response: 0 when absent.
    func response() throws(TraceFormatError) -> Int {
        guard fields["resp"] != nil else { return 0 }
        let code = try integer("resp")
        guard code < 4 else { throw problem("\"resp\" is \(code); AXI responses are 0 (OKAY) to 3 (DECERR)") }
        return Int(code)
    }

    private func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

// MARK: - Flat JSON objects

/// A value of a flat JSON object (no nesting: the trace format has none).
enum FlatJSONValue: Hashable {
    case string(String)
    /// The number's text, as written.
    case number(String)
    case bool(Bool)
    case null

    var words: String {
        switch self {
        case .string(let text): "the string \"\(text.count > 40 ? text.prefix(40) + "…" : Substring(text))\""
        case .number(let text): "the number \(text)"
        case .bool(let value): "\(value)"
        case .null: "null"
        }
    }
}

struct FlatJSONError: Error {
    var message: String
    /// 1-based.
    var column: Int
    /// The text ended before the object did.
    var atEnd: Bool
}

/// A parser of one-line JSON objects whose values are strings, numbers, booleans or null:
/// fast on long hexadecimal strings and precise about where a line goes wrong.
struct FlatJSONParser {
    let bytes: ArraySlice<UInt8>
    var position: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    mutating func parseObject() throws(FlatJSONError) -> [String: FlatJSONValue] {
        skipSpace()
        try expect(UInt8(ascii: "{"), "expected '{'")
        var fields: [String: FlatJSONValue] = [:]
        skipSpace()
        if peek == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipSpace()
                let keyColumn = column
                guard peek == UInt8(ascii: "\"") else { throw failure("expected a key in double quotes") }
                let key = try parseString()
                skipSpace()
                try expect(UInt8(ascii: ":"), "expected ':' after the key \"\(key)\"")
                skipSpace()
                let value = try parseValue()
                guard fields.updateValue(value, forKey: key) == nil else {
                    throw FlatJSONError(message: "the key \"\(key)\" appears twice", column: keyColumn, atEnd: false)
                }
                skipSpace()
                if peek == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(UInt8(ascii: "}"), "expected ',' or '}'")
                break
            }
        }
        skipSpace()
        guard position == bytes.endIndex else { throw failure("unexpected text after the closing '}'") }
        return fields
    }

    private var peek: UInt8? { position < bytes.endIndex ? bytes[position] : nil }
    private var column: Int { position - bytes.startIndex + 1 }

    private func failure(_ message: String) -> FlatJSONError {
        FlatJSONError(message: position < bytes.endIndex ? message : message + " (the line ends here)", column: column,
                      atEnd: position >= bytes.endIndex)
    }

    private mutating func skipSpace() {
        while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { position += 1 }
    }

    private mutating func expect(_ c: UInt8, _ message: String) throws(FlatJSONError) {
        guard peek == c else { throw failure(message) }
        position += 1
    }

    private mutating func parseValue() throws(FlatJSONError) -> FlatJSONValue {
        guard let c = peek else { throw failure("expected a value") }
        switch c {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            position += 1
            while let d = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d) { position += 1 }
            if let d = peek, d == UInt8(ascii: ".") || d == UInt8(ascii: "e") || d == UInt8(ascii: "E") {
                throw failure("numbers in a trace are whole numbers")
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            guard text != "-" else { throw failure("expected digits after '-'") }
            return .number(text)
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw failure("nested objects and arrays are not part of the trace format")
        default:
            throw failure("expected a value (a string, a number, true, false or null)")
        }
    }

    private mutating func literal(_ word: String) throws(FlatJSONError) {
        for c in word.utf8 {
            guard peek == c else { throw failure("expected \(word)") }
            position += 1
        }
    }

    private mutating func parseString() throws(FlatJSONError) -> String {
        position += 1  // the opening quote
        let start = position
        var escaped = false
        while let c = peek, c != UInt8(ascii: "\"") {
            if c < 0x20 { throw failure("a control character inside a string") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                position += 1
                guard peek != nil else { break }
            }
            position += 1
        }
        guard peek == UInt8(ascii: "\"") else { throw failure("the string is not closed") }
        let raw = bytes[start..<position]
        position += 1
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        // Rare: decode the escapes with Foundation.
        let quoted = [UInt8(ascii: "\"")] + Array(raw) + [UInt8(ascii: "\"")]
        guard let text = try? JSONSerialization.jsonObject(with: Data(quoted), options: [.fragmentsAllowed]) as? String else {
            throw FlatJSONError(message: "a string with an invalid escape sequence", column: start - bytes.startIndex, atEnd: false)
        }
        return text
    }
}
