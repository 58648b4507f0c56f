import Foundation
import Testing

/// The `spinel` executable's messages for wrong paths and option mixes (issue 11): each run
/// fails before any generation and says what, where and the fix.
@Suite("spinel command line: usage and file errors")
struct CommandLineTests {
    /// `spinel`, built next to the test bundle by `swift build --build-tests` or `swift test`
    /// (SPINEL_EXECUTABLE=PATH runs these tests against another build).
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["SPINEL_EXECUTABLE"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("spinel")
    }

    static func spinel(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable.path,
                                                         NSLocalizedDescriptionKey: "no spinel at \(executable.path); run swift build first"])
        }
        return try run(executable, arguments, in: directory)
    }

    /// Runs `program` with `arguments` in `directory`; standard output and error together.
    static func run(_ program: URL, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func scratch(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-cli-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// `sim`, `fuzz` and `check` refuse --preset with --config as `generate` does, with the same words.
    @Test(arguments: [
        ["generate", "--preset", "small", "--config", "mine.json", "--out", "out"],
        ["sim", "--preset", "small", "--config", "mine.json", "--testbench", "t.c"],
        ["fuzz", "--preset", "small", "--config", "mine.json", "--seeds", "1"],
        ["check", "trace.jsonl", "--preset", "small", "--config", "mine.json"],
    ])
    func presetWithConfigIsAUsageError(arguments: [String]) throws {
        let directory = try Self.scratch("choice-\(arguments[0])")  // the cases run in parallel
        defer { try? FileManager.default.removeItem(at: directory) }
        try #"{"base": "small", "name": "Mine"}"#.write(to: directory.appendingPathComponent("mine.json"), atomically: true, encoding: .utf8)
        let (status, output) = try Self.spinel(arguments, in: directory)
        #expect(status == 64, "\(output)")  // ArgumentParser's usage-error status
        #expect(output.contains("give --preset or --config, not both (got --preset small and --config mine.json)"), "\(output)")
        #expect(output.contains(#"write "base": "small" in mine.json"#), "\(output)")
    }

    /// `sim --waves`: the file name picks the format, and the window needs a waveform and an order.
    @Test(arguments: [
        (["--waves", "run.txt"], "--waves run.txt: name the waveform file .fst (compact, recommended) or .vcd"),
        (["--waves-from", "10"], "--waves-from and --waves-to set the window of a waveform: give --waves FILE.fst too"),
        (["--waves", "run.fst", "--waves-from", "10", "--waves-to", "10"], "--waves-to 10 must be above --waves-from 10"),
    ])
    func waveformOptionsAreChecked(options: [String], message: String) throws {
        let directory = try Self.scratch("waves-\(options.count)-\(options[0])")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try Self.spinel(["sim", "--testbench", "bench.c"] + options, in: directory)
        #expect(status == 64, "\(output)")
        #expect(output.contains(message), "\(output)")
    }

    @Test func fileProblemsNameThePathAndTheFix() throws {
        let directory = try Self.scratch("files")
        defer { try? FileManager.default.removeItem(at: directory) }
        try "x".write(to: directory.appendingPathComponent("plain"), atomically: true, encoding: .utf8)
        try "int main(void) { return 0; }\n".write(to: directory.appendingPathComponent("bench.c"), atomically: true, encoding: .utf8)
        try "{\n  \"base\": \"small\",\n  \"name\": \"module\"\n}\n".write(to: directory.appendingPathComponent("keyword.json"),
                                                                         atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["generate", "--config", "missing.json", "--out", "out"],
             "missing.json: no configuration file there (looked for \(directory.path)/missing.json)\n  fix: check the path"),
            (["generate", "--config", ".", "--out", "out"], ".: is a directory, not a configuration file"),
            (["fuzz", "--runner", "plain", "--out", "plain/sub", "--seeds", "1"],
             "plain/sub: cannot create the directory: \(directory.path)/plain is a file, not a directory\n  fix: choose an --out path"),
            (["fuzz", "--runner", "plain", "--out", "plain", "--seeds", "1"], "plain: --out names an existing file; it must name a directory"),
            (["generate", "--config", "keyword.json", "--out", "out"],
             "keyword.json:3:3: field 'name': \"module\" breaks the rule: is a Verilog or SystemVerilog keyword"),
            (["sim", "--preset", "small", "--testbench", "nowhere.c"], "nowhere.c: no testbench there"),
            (["sim", "--config", "keyword.json", "--testbench", "nowhere.c"], "keyword.json:3:3: field 'name'"),
            (["sim", "--testbench", "plain"], "plain: a testbench is C or C++ source, named .c, .cc or .cpp\n  fix: give the testbench's source file"),
            (["sim", "--testbench", "bench.c", "--trace", "plain/trace.jsonl"], "cannot create the file: \(directory.path)/plain is a file"),
            (["fuzz", "--runner", "nowhere.c"], "nowhere.c: no program runner there"),
        ]
        for (arguments, message) in cases {
            let (status, output) = try Self.spinel(arguments, in: directory)
            #expect(status == 1, "\(arguments): \(output)")
            #expect(output.contains(message), "\(arguments): \(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path))
    }
}

/// Read-only places (issue 11): nothing is lost, nothing is left behind, and the message says
/// what and where. Root may write anywhere, so as root (CI) the runs drop to the user nobody
/// with setpriv (util-linux); the check fails loudly if that is impossible.
@Suite("spinel command line: read-only places", .serialized)
struct ReadOnlyPlacesTests {
    static let nobody: UInt32 = 65534

    /// Runs spinel as a user that read-only permissions apply to.
    static func spinelUnprivileged(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        guard getuid() == 0 else { return try CommandLineTests.spinel(arguments, in: directory) }
        let setpriv = "/usr/bin/setpriv"
        guard FileManager.default.isExecutableFile(atPath: setpriv) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "running as root, and \(setpriv) (util-linux) is missing: cannot test read-only permissions"])
        }
        return try CommandLineTests.run(URL(fileURLWithPath: setpriv),
                                        ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", CommandLineTests.executable.path] + arguments,
                                        in: directory)
    }

    /// A scratch directory the unprivileged user owns.
    static func scratch(_ name: String) throws -> URL {
        let directory = try CommandLineTests.scratch(name)
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountID: Self.nobody, .groupOwnerAccountID: Self.nobody, .posixPermissions: 0o755],
                                                  ofItemAtPath: directory.path)
        }
        return directory
    }

    static func entries(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    /// The old output is read-only: it cannot be removed, so the swap is undone.
    @Test func aReadOnlyEarlierOutputIsKept() throws {
        let parent = try Self.scratch("ro-output")
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: parent.appendingPathComponent("out").path)
            try? FileManager.default.removeItem(at: parent)
        }
        let first = try Self.spinelUnprivileged(["generate", "--preset", "small", "--out", "out"], in: parent)
        #expect(first.status == 0, "\(first.output)")
        let out = parent.appendingPathComponent("out")
        let before = try Self.entries(out)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: out.path)
        let second = try Self.spinelUnprivileged(["generate", "--design", "mac-array", "--out", "out"], in: parent)
        #expect(second.status != 0)
        #expect(second.output.contains("cannot remove the previous output in \(out.path): permission denied; it is unchanged"), "\(second.output)")
        #expect(try Self.entries(out) == before)
        let left = try Self.entries(parent)
        #expect(left == ["out"], "left behind: \(left)")
    }

    /// The parent is read-only: nothing can be staged; the message names the directory.
    @Test func aReadOnlyParentIsExplained() throws {
        let parent = try Self.scratch("ro-parent")
        let locked = parent.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path)
            try? FileManager.default.removeItem(at: parent)
        }
        let generate = try Self.spinelUnprivileged(["generate", "--preset", "small", "--out", "locked/out"], in: parent)
        #expect(generate.status != 0)
        #expect(generate.output.contains("staging in \(locked.path)): permission denied. Fix: make \(locked.path) writable, or choose another --out"),
                "\(generate.output)")
        #expect(try Self.entries(locked).isEmpty)
        try "int main(void) { return 0; }\n".write(to: parent.appendingPathComponent("t.c"), atomically: true, encoding: .utf8)
        let sim = try Self.spinelUnprivileged(["sim", "--preset", "small", "--testbench", "t.c", "--trace", "locked/t.jsonl"], in: parent)
        #expect(sim.status != 0)
        #expect(sim.output.contains("\(locked.path) is not writable"), "\(sim.output)")
    }
}
