import Foundation

/// A failure of an external tool (Verilator, Yosys, Icarus, the C++ compiler), with its output.
public struct ToolError: Error, CustomStringConvertible {
    public var tool: String
    public var message: String

    public init(tool: String, message: String) {
        self.tool = tool
        self.message = message
    }

    public var description: String { "\(tool): \(message)" }
}

/// Runs external programs.
public enum Tools {
    /// The Debian packages that provide what Spinel runs.
    public static let installCommand = "apt-get update && apt-get install -y verilator libgmp-dev yosys iverilog"

    /// The absolute path of `program` on PATH, or nil.
    public static func find(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The path of `program`, or an error that says how to install it.
    public static func require(_ program: String) throws -> String {
        guard let path = find(program) else {
            throw ToolError(tool: program, message: "not found on PATH; install it with: \(installCommand)")
        }
        return path
    }

    public struct Result {
        public var status: Int32
        public var output: String
        public var succeeded: Bool { status == 0 }
    }

    /// Runs `program` with `arguments` in `directory`, capturing stdout and stderr together.
    public static func run(_ program: String, _ arguments: [String], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try require(program))
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting so a chatty tool cannot fill the pipe and block.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Like `run`, but throws with the tool's output when it fails.
    @discardableResult
    public static func check(_ program: String, _ arguments: [String], in directory: URL? = nil) throws -> String {
        let result = try run(program, arguments, in: directory)
        guard result.succeeded else {
            throw ToolError(tool: program, message: "exited with status \(result.status):\n\(result.output)")
        }
        return result.output
    }

    /// `verilator --version`, part of every simulator cache key.
    public static func verilatorVersion() throws -> String {
        try check("verilator", ["--version"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
