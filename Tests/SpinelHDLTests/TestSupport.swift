import Foundation
import Testing
import SpinelHDL

// Shared helpers for the SpinelHDL tests: a port list that test modules can declare in one
// line, a probe that records the source line of a deliberately bad statement, and a Verilator
// lint driver.

/// An IO made of named ground ports, so a test module can list its ports inline:
/// `Ports(.input("a", .uint(8)), .output("out", .uint(8)))`, then use `io.a`, `io.out`.
/// Each port's template location is the line its `.input` / `.output` entry is written on.
@dynamicMemberLookup
struct Ports: Aggregate {
    struct Entry {
        var name: String
        var direction: Direction
        var signal: Signal

        static func input(_ name: String, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Entry {
            Entry(name: name, direction: .input, signal: Signal(type, file: file, line: line))
        }

        static func output(_ name: String, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Entry {
            Entry(name: name, direction: .output, signal: Signal(type, file: file, line: line))
        }
    }

    var entries: [Entry]

    init(_ entries: Entry...) { self.entries = entries }
    init(entries: [Entry]) { self.entries = entries }

    func map(_ f: FieldMapper) -> Ports {
        Ports(entries: entries.map { entry in
            var copy = entry
            copy.signal = entry.direction == .input ? f.input(entry.name, entry.signal) : f.output(entry.name, entry.signal)
            return copy
        })
    }

    subscript(dynamicMember name: String) -> Signal {
        guard let entry = entries.first(where: { $0.name == name }) else {
            preconditionFailure("no port named \(name)")
        }
        return entry.signal
    }
}

/// Records the line of the statement it is called on (`x.set(y); probe.mark()` on one line).
/// Hashable by identity so that it can be a stored property of a `Module`.
final class LineProbe: Hashable, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String: Int] = [:]

    func mark(_ key: String = "bad", line: Int = #line) {
        lock.lock()
        defer { lock.unlock() }
        lines[key] = line
    }

    func line(_ key: String = "bad") -> Int {
        lock.lock()
        defer { lock.unlock() }
        return lines[key] ?? -1
    }

    static func == (lhs: LineProbe, rhs: LineProbe) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// The error elaboration of `module` throws, or nil when it succeeds.
func elaborationError<M: Module>(_ module: M) -> ElaborationError? {
    do {
        _ = try Elaborator.elaborate(module)
        return nil
    } catch let error as ElaborationError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// Elaborates and emits `module` without locators.
func emitFiles<M: Module>(_ module: M, locators: Bool = false) throws -> [GeneratedFile] {
    VerilogEmitter(locators: locators).emit(try Elaborator.elaborate(module))
}

/// The contents of the file called `name` among `files`.
func file(_ name: String, in files: [GeneratedFile]) -> String {
    guard let found = files.first(where: { $0.name == name }) else {
        Issue.record("no file \(name) among \(files.map(\.name))")
        return ""
    }
    return found.contents
}

enum Verilator {
    static let path = "/usr/bin/verilator"

    /// Writes `files` to a fresh temporary directory and runs `verilator --lint-only -Wall` on the
    /// `.v` files in filelist order with the filelist's last module as top. Returns Verilator's
    /// combined output (empty when clean) and exit status.
    static func lint(_ files: [GeneratedFile]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LintError(message: "verilator is not installed at \(path); install it (apt-get install verilator) to run these tests")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("spinel-hdl-lint-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in files {
            try file.contents.write(to: directory.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
        }
        guard let filelist = files.first(where: { $0.name.hasSuffix(".f") }) else {
            throw LintError(message: "no filelist among \(files.map(\.name))")
        }
        let sources = filelist.contents.split(separator: "\n").map(String.init)
        let top = String(filelist.name.dropLast(2))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--lint-only", "-Wall", "--top-module", top] + sources
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    struct LintError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// Expects `verilator --lint-only -Wall` to accept `files` without a single warning.
func expectLintClean(_ files: [GeneratedFile], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let result = try Verilator.lint(files)
    #expect(result.status == 0 && result.output.isEmpty,
            "verilator --lint-only -Wall reported:\n\(result.output)\n--- files ---\n\(files.map { "== \($0.name)\n\($0.contents)" }.joined(separator: "\n"))",
            sourceLocation: sourceLocation)
}
