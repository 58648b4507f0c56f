/// A command program as `Testbenches/program_runner.c` runs it: one DRAM buffer with its initial
/// bytes, and a list of commands and fences. Fields that hold a DRAM address are stored as
/// offsets into the buffer and marked, so that the runner can relocate them onto the buffer it
/// allocates (docs/VERIFICATION.md, "Program files").
///
/// Text form, one item per line, `#` starts a comment:
///
///     spinel-program 1
///     dram 4096
///     data 0x40 0a0bfe…            initial bytes at a buffer offset (hex, two digits a byte)
///     cmd 2 @0x40 0x0004000400000010   funct, rs1, rs2; `@OFFSET` is relocated to buffer + OFFSET
///     fence
public struct CommandProgram: Hashable, Sendable {
    /// One command; `rs1`/`rs2` are buffer offsets where `rs1IsDRAM`/`rs2IsDRAM` say so.
    public struct Instruction: Hashable, Sendable {
        public var funct: UInt8
        public var rs1: UInt64
        public var rs2: UInt64
        public var rs1IsDRAM: Bool
        public var rs2IsDRAM: Bool

        public init(funct: UInt8, rs1: UInt64, rs2: UInt64, rs1IsDRAM: Bool = false, rs2IsDRAM: Bool = false) {
            self.funct = funct
            self.rs1 = rs1
            self.rs2 = rs2
            self.rs1IsDRAM = rs1IsDRAM
            self.rs2IsDRAM = rs2IsDRAM
        }

        /// rs1 and rs2 with the DRAM offsets moved onto a buffer at `base`.
        public func relocated(to base: UInt64) -> (rs1: UInt64, rs2: UInt64) {
            (rs1IsDRAM ? base &+ rs1 : rs1, rs2IsDRAM ? base &+ rs2 : rs2)
        }
    }

    public enum Step: Hashable, Sendable {
        case command(Instruction)
        /// Wait until the accelerator is idle.
        case fence
    }

    /// Comment lines written after the header (e.g. the generator's seed and options).
    public var notes: [String]
    /// The initial DRAM buffer; its count is the buffer's size.
    public var dram: [UInt8]
    public var steps: [Step]

    public init(notes: [String] = [], dram: [UInt8], steps: [Step]) {
        self.notes = notes
        self.dram = dram
        self.steps = steps
    }

    public var instructions: [Instruction] {
        steps.compactMap { if case .command(let instruction) = $0 { instruction } else { nil } }
    }

    /// Bytes per `data` line.
    static let dataLineBytes = 64

    /// The text form. Data lines that would hold only zeros are left out (the buffer starts zeroed).
    public func render() -> String {
        var lines = ["spinel-program 1"]
        lines += notes.map { "# \($0)" }
        lines.append("dram \(dram.count)")
        for offset in stride(from: 0, to: dram.count, by: Self.dataLineBytes) {
            let chunk = dram[offset..<min(offset + Self.dataLineBytes, dram.count)]
            guard chunk.contains(where: { $0 != 0 }) else { continue }
            lines.append("data 0x\(String(offset, radix: 16)) \(hex(chunk))")
        }
        for step in steps {
            switch step {
            case .fence:
                lines.append("fence")
            case .command(let c):
                lines.append("cmd \(c.funct) \(Self.field(c.rs1, dram: c.rs1IsDRAM)) \(Self.field(c.rs2, dram: c.rs2IsDRAM))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func field(_ value: UInt64, dram: Bool) -> String {
        (dram ? "@" : "") + "0x" + String(value, radix: 16)
    }

    /// Parses the text form. Errors name the line and the problem.
    public static func parse(_ text: String, name: String = "program") throws(ProgramFormatError) -> CommandProgram {
        var notes: [String] = []
        var dram: [UInt8]?
        var steps: [Step] = []
        var sawHeader = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            func fail(_ problem: String) -> ProgramFormatError {
                ProgramFormatError(file: name, line: lineNumber, problem: problem)
            }
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") {
                if sawHeader && dram == nil { notes.append(line[line.index(after: hash)...].trimmingCharacters(in: .whitespaces)) }
                line = line[..<hash]
            }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let keyword = words.first else { continue }
            if !sawHeader {
                guard words == ["spinel-program", "1"] else { throw fail("the first line must be \"spinel-program 1\"") }
                sawHeader = true
                continue
            }
            switch keyword {
            case "dram":
                guard dram == nil else { throw fail("a second dram line: a program has one DRAM buffer") }
                guard words.count == 2, let size = number(words[1]), size > 0, size <= 1 << 30 else {
                    throw fail("expected \"dram SIZE\" with SIZE between 1 byte and 1 GiB")
                }
                dram = [UInt8](repeating: 0, count: Int(size))
            case "data":
                guard dram != nil else { throw fail("data before the dram line: declare the buffer first (dram SIZE)") }
                guard words.count == 3, let offset = number(words[1]) else { throw fail("expected \"data OFFSET HEXBYTES\"") }
                guard let bytes = hexBytes(words[2]) else { throw fail("data bytes must be an even number of hex digits") }
                guard offset + UInt64(bytes.count) <= UInt64(dram!.count) else {
                    throw fail("data at offset \(offset) of \(bytes.count) bytes runs past the end of the \(dram!.count)-byte DRAM buffer")
                }
                dram!.replaceSubrange(Int(offset)..<Int(offset) + bytes.count, with: bytes)
            case "cmd":
                guard let size = dram?.count else { throw fail("cmd before the dram line: declare the buffer first (dram SIZE)") }
                guard words.count == 4 else { throw fail("expected \"cmd FUNCT RS1 RS2\" (a field may be @OFFSET)") }
                guard let funct = number(words[1]), funct < 128 else { throw fail("funct \"\(words[1])\" must be a number below 128") }
                var fields: [(UInt64, Bool)] = []
                for (name, word) in [("rs1", words[2]), ("rs2", words[3])] {
                    let isDRAM = word.hasPrefix("@")
                    guard let value = number(isDRAM ? String(word.dropFirst()) : word) else {
                        throw fail("\(name) \"\(word)\" is not a number (decimal or 0x hex, @ for a DRAM offset)")
                    }
                    guard !isDRAM || value < UInt64(size) else {
                        throw fail("\(name) offset \(word) is outside the \(size)-byte DRAM buffer")
                    }
                    fields.append((value, isDRAM))
                }
                steps.append(.command(Instruction(funct: UInt8(funct), rs1: fields[0].0, rs2: fields[1].0,
                                                  rs1IsDRAM: fields[0].1, rs2IsDRAM: fields[1].1)))
            case "fence":
                guard words.count == 1 else { throw fail("unexpected text after fence") }
                steps.append(.fence)
            default:
                throw fail("unknown keyword \"\(keyword)\" (expected dram, data, cmd or fence)")
            }
        }
        guard sawHeader else { throw ProgramFormatError(file: name, line: 1, problem: "empty program: the first line must be \"spinel-program 1\"") }
        guard let dram else { throw ProgramFormatError(file: name, line: 1, problem: "the program has no dram line") }
        return CommandProgram(notes: notes, dram: dram, steps: steps)
    }

    /// A DRAM image in `data` lines, as `program_runner --dump` writes it.
    public static func parseImage(_ text: String, size: Int, name: String) throws(ProgramFormatError) -> [UInt8] {
        let header = "spinel-program 1\ndram \(size)\n"
        do {
            return try parse(header + text, name: name).dram
        } catch {
            throw ProgramFormatError(file: name, line: max(1, error.line - 2), problem: error.problem)
        }
    }

    static func number(_ word: String) -> UInt64? {
        word.hasPrefix("0x") || word.hasPrefix("0X") ? UInt64(word.dropFirst(2), radix: 16) : UInt64(word)
    }

    static func hexBytes(_ word: String) -> [UInt8]? {
        let digits = Array(word.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for k in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[k]), let low = hexValue(digits[k + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 15)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// A malformed program file: the file, the line and what is wrong with it.
public struct ProgramFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var problem: String

    public var description: String { "\(file):\(line): \(problem)" }
}

import Foundation
