import Foundation
import SpinelHDL

/// Builds C testbench executables: a Verilated accelerator + the generated harness (see
/// `SpinelAccelerator.HarnessGenerator`) + the testbench's own C or C++ sources.
///
/// Two cached stages, keyed by a hash of everything that goes into them:
/// 1. **Model** (once per design): `verilator --cc --build` with `translationFlags`,
///    `--prefix Vspinel_top` and `--trace` when a waveform is wanted, into a static
///    library, plus Verilator's runtime (`libverilated.a`). Key: Verilog files, top, flags,
///    `verilator --version`.
/// 2. **Executable** (once per testbench): the harness and the testbench compiled with gcc/g++
///    and linked against the model. Key: the model's key, harness files, testbench sources,
///    flags, compiler versions, and the path and contents of every other file the compilers
///    read (their `-MD` dependency output, recorded beside the cache entry after each build:
///    a header anywhere on the include path, or a system header, that changes makes a new key).
///
/// N testbenches of one configuration therefore compile the Verilated model once. Results live
/// under `VerilatorSimulation.cacheDirectory/harness`; builds happen in private staging
/// directories that are moved into place in one step, so concurrent builds are safe.
public enum HarnessBuild {
    /// The Verilator `--prefix` the harness expects (`HarnessGenerator.modelClass`).
    public static let modelClass = "Vspinel_top"

    /// How Verilator turns every Spinel design into C++ (the harness model here, the unit tests'
    /// shared libraries in `VerilatorBuild`). The per-cycle code is compiled with `-O1` rather
    /// than Verilator's default `-Os`: on the default preset that compiles in two thirds of the
    /// time and simulates no slower. Functions are split every 2,000 statements: the compiler's
    /// time grows faster than linearly with a function's size, and a DIM 32 model's evaluation
    /// function is otherwise tens of thousands of lines (its C++ compiled in 17% less CPU time,
    /// docs/PERFORMANCE.md "Build times").
    public static let translationFlags = ["-O3", "--x-assign", "unique", "--x-initial", "unique",
                                          "--output-split-cfuncs", "2000", "-MAKEFLAGS", "OPT_FAST=-O1"]

    /// Verilator flags of the model stage (`--trace` is added when a waveform is wanted).
    public static let modelFlags = ["--cc"] + translationFlags + ["--prefix", modelClass]

    /// Flags for the harness and C++ testbench sources, and for C testbench sources.
    public static let cxxFlags = ["-std=gnu++17", "-O2", "-faligned-new", "-Wall", "-Wno-unused-parameter"]
    public static let cFlags = ["-std=gnu11", "-O2", "-Wall"]

    public static var cacheDirectory: URL { VerilatorSimulation.cacheDirectory.appendingPathComponent("harness") }

    /// The waveform format a model is built to write (Verilator's `--trace` or `--trace-fst`).
    public enum Waveforms: String, Sendable, CaseIterable {
        case none, vcd, fst

        /// The format a waveform file's name asks for (`.vcd` or `.fst`), or nil.
        public init?(fileName: String) {
            switch URL(fileURLWithPath: fileName).pathExtension.lowercased() {
            case "vcd": self = .vcd
            case "fst": self = .fst
            default: return nil
            }
        }

        var verilatorFlags: [String] {
            switch self {
            case .none: []
            case .vcd: ["--trace"]
            case .fst: ["--trace-fst"]
            }
        }

        /// Verilator's runtime objects of the writer.
        var runtimeObjects: [String] {
            switch self {
            case .none: []
            case .vcd: ["verilated_vcd_c.o"]
            case .fst: ["verilated_fst_c.o"]
            }
        }
    }

    /// A Verilated model built as a static library.
    public struct Model: Sendable {
        /// Holds `include/` (the model's headers) and `lib/` (`Vspinel_top__ALL.a`, `libverilated.a`).
        public let directory: URL
        public let top: String
        /// The waveforms the harness can write with it.
        public let waveforms: Waveforms
        /// The hash of everything the model was built from.
        public let key: String
        /// Whether this call found it in the cache.
        public let cached: Bool
    }

    /// A testbench that cannot run on the configuration: its sources stop the compiler with
    /// `#error "…"` (a feature or dataflow the configuration lacks), which names the need.
    public struct UnmetRequirement: Error, CustomStringConvertible, Sendable {
        public var source: String
        public var configuration: String
        public var needs: [String]
        public var description: String {
            "\(source) cannot run on \(configuration): " + needs.joined(separator: "; ")
        }

        /// The `#error` messages in a compiler's output, without quotes.
        public static func messages(inCompilerOutput output: String) -> [String] {
            var found: [String] = []
            for line in output.split(separator: "\n") {
                guard let range = line.range(of: "error: #error ") else { continue }
                var text = String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
                text = text.replacingOccurrences(of: "\\\"", with: "\"")
                if !found.contains(text) { found.append(text) }
            }
            return found
        }
    }

    /// A testbench executable.
    public struct Executable: Sendable {
        public let path: URL
        public let model: Model
        public let cached: Bool
    }

    /// Prints progress of builds that are not cached (to standard error).
    nonisolated(unsafe) public static var progress: (String) -> Void = { message in
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    // MARK: Stage 1: the model

    /// The Verilated model of `verilog` (the `.v` files of a design, e.g. `VerilogEmitter().emit`)
    /// with top module `top`, from the cache or built now.
    public static func model(verilog: [GeneratedFile], top: String, waveforms: Waveforms = .none) throws -> Model {
        let sources = verilog.filter { $0.name.hasSuffix(".v") || $0.name.hasSuffix(".sv") }
        guard !sources.isEmpty else {
            throw ToolError(tool: "HarnessBuild", message: "no Verilog files given for the model of \(top)")
        }
        let flags = modelFlags + waveforms.verilatorFlags
        var hasher = StableHash()
        hasher.add("model-v1")
        hasher.add(try Tools.verilatorVersion())
        hasher.add(try compilerVersion("g++"))
        hasher.add(flags.joined(separator: " "))
        hasher.add(top)
        for file in sources {
            hasher.add(file.name)
            hasher.add(file.contents)
        }
        let key = hasher.hex
        let final = cacheDirectory.appendingPathComponent("\(top)-model-\(waveforms == .none ? "" : "\(waveforms.rawValue)-")\(key)")
        let marker = final.appendingPathComponent("lib/libverilated.a")
        if FileManager.default.fileExists(atPath: marker.path) {
            return Model(directory: final, top: top, waveforms: waveforms, key: key, cached: true)
        }

        let started = Date()
        // The last build of this top module (any configuration of it) as the estimate.
        let timing = cacheDirectory.appendingPathComponent("\(top)-model-build-seconds")
        let estimate = (try? String(contentsOf: timing, encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .map { String(format: "; the last build took %.0f s", $0) } ?? ""
        progress("verilator: building \(top)\(waveforms == .none ? "" : " with \(waveforms.rawValue.uppercased()) waveform tracing") (cached: no\(estimate)) …")
        let staging = try makeStaging()
        defer { try? FileManager.default.removeItem(at: staging) }
        let sourceDirectory = staging.appendingPathComponent("src")
        try OutputChecks.write(sources, to: sourceDirectory)
        let objects = staging.appendingPathComponent("obj")
        let jobs = String(max(1, ProcessInfo.processInfo.activeProcessorCount))
        try Tools.check("verilator", flags + ["--top-module", top, "--build", "-j", jobs, "-Mdir", objects.path]
                            + sources.map { sourceDirectory.appendingPathComponent($0.name).path },
                        in: staging)
        // Verilator's runtime, compiled with the model's own flags (its makefile has the rules).
        var runtime = ["verilated.o", "verilated_threads.o"]
        runtime += waveforms.runtimeObjects
        try Tools.check("make", ["-s", "-j", jobs, "-C", objects.path, "-f", "\(modelClass).mk"] + runtime, in: staging)

        let include = staging.appendingPathComponent("model/include")
        let lib = staging.appendingPathComponent("model/lib")
        try FileManager.default.createDirectory(at: include, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: objects.path).sorted() where name.hasSuffix(".h") {
            try FileManager.default.moveItem(at: objects.appendingPathComponent(name), to: include.appendingPathComponent(name))
        }
        try FileManager.default.moveItem(at: objects.appendingPathComponent("\(modelClass)__ALL.a"),
                                         to: lib.appendingPathComponent("\(modelClass)__ALL.a"))
        try Tools.check("ar", ["rcs", lib.appendingPathComponent("libverilated.a").path] + runtime, in: objects)
        try publish(staging.appendingPathComponent("model"), to: final, marker: marker)
        let seconds = Date().timeIntervalSince(started)
        try? Data(String(format: "%.1f\n", seconds).utf8).write(to: timing, options: .atomic)
        progress("verilator: built \(top) in \(String(format: "%.1f", seconds)) s")
        return Model(directory: final, top: top, waveforms: waveforms, key: key, cached: false)
    }

    // MARK: Stage 2: the executable

    /// An executable named `name` made of `model`, the `harness` files and the testbench
    /// `sources` (`.c` compiled as C, `.cc`/`.cpp` as C++). The harness directory is on the
    /// include path both as itself and as `include/` (so `#include "include/gemmini.h"` works),
    /// followed by each source's directory and `includeDirectories`. Every file the compilers
    /// read is part of the cache key.
    public static func executable(model: Model, harness: [GeneratedFile], sources: [URL], name: String,
                                  includeDirectories: [URL] = [], defines: [String] = []) throws -> Executable {
        guard Naming.isLegal(name) else {
            throw ToolError(tool: "HarnessBuild", message: "executable name \"\(name)\" must be letters, digits and single underscores")
        }
        guard harness.contains(where: { $0.name == "spinel_harness.cpp" }) else {
            throw ToolError(tool: "HarnessBuild", message: "the harness files lack spinel_harness.cpp (use HarnessGenerator.files(for:))")
        }
        for source in sources where !FileManager.default.isReadableFile(atPath: source.path) {
            throw ToolError(tool: "HarnessBuild", message: "testbench source \(source.path) does not exist or cannot be read")
        }
        var directories: [URL] = []
        for directory in sources.map({ $0.deletingLastPathComponent() }) + includeDirectories
        where !directories.contains(directory.standardizedFileURL) {
            directories.append(directory.standardizedFileURL)
        }
        let defineFlags = defines.map { "-D\($0)" }

        var hasher = StableHash()
        hasher.add("executable-v2")
        hasher.add(model.key)
        hasher.add(model.waveforms == .none ? "no-trace" : model.waveforms == .vcd ? "trace" : "trace-fst")
        hasher.add(try compilerVersion("gcc"))
        hasher.add((cxxFlags + cFlags + defineFlags).joined(separator: " "))
        hasher.add(directories.map(\.path).joined(separator: "\n"))
        hasher.add(name)
        for file in harness {
            hasher.add(file.name)
            hasher.add(file.contents)
        }
        for source in sources {
            hasher.add(source.standardizedFileURL.path)
            hasher.add(try String(contentsOf: source, encoding: .utf8))
        }
        let baseKey = hasher.hex
        // The files the last build of this base key read; if they are unchanged, so is the build.
        let dependencyList = cacheDirectory.appendingPathComponent("\(name)-\(baseKey).deps")
        if let recorded = try? String(contentsOf: dependencyList, encoding: .utf8),
           let key = dependencyKey(baseKey: baseKey, dependencies: recorded.split(separator: "\n").map(String.init)) {
            let executable = cacheDirectory.appendingPathComponent("\(name)-\(key)").appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: executable.path) {
                return Executable(path: executable, model: model, cached: true)
            }
        }

        let started = Date()
        progress("harness: building \(name) against \(model.top) (cached: no) …")
        let staging = try makeStaging()
        defer { try? FileManager.default.removeItem(at: staging) }
        let harnessDirectory = staging.appendingPathComponent("harness")
        try OutputChecks.write(harness, to: harnessDirectory)
        try FileManager.default.createSymbolicLink(atPath: harnessDirectory.appendingPathComponent("include").path,
                                                   withDestinationPath: ".")
        let root = try Tools.check("verilator", ["--getenv", "VERILATOR_ROOT"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let traceValue = model.waveforms == .none ? "0" : "1"
        let fstValue = model.waveforms == .fst ? "1" : "0"
        let vcdValue = model.waveforms == .vcd ? "1" : "0"
        let includes = ["-I", harnessDirectory.path] + directories.flatMap { ["-I", $0.path] }
        let verilatorFlags = ["-I", model.directory.appendingPathComponent("include").path,
                              "-I", "\(root)/include", "-I", "\(root)/include/vltstd",
                              "-DVM_COVERAGE=0", "-DVM_SC=0", "-DVM_TRACE=\(traceValue)", "-DVM_TRACE_FST=\(fstValue)",
                              "-DVM_TRACE_VCD=\(vcdValue)"]
        var objects: [String] = []
        var dependencies = Set<String>()
        func compile(_ source: URL, index: Int) throws {
            let object = staging.appendingPathComponent("\(index)-\(source.deletingPathExtension().lastPathComponent).o").path
            let isC = source.pathExtension == "c"
            let compiler = isC ? "gcc" : "g++"
            let flags = (isC ? cFlags : cxxFlags) + defineFlags + includes + (isC ? [] : verilatorFlags)
            do {
                try Tools.check(compiler, flags + ["-MD", "-MF", object + ".d", "-c", source.path, "-o", object], in: staging)
            } catch let error as ToolError {
                let needs = UnmetRequirement.messages(inCompilerOutput: error.message)
                guard needs.isEmpty else {
                    let configuration = harness.first { $0.name == "gemmini_params.h" }
                        .flatMap { Self.configurationName(inParams: $0.contents) } ?? "this configuration"
                    throw UnmetRequirement(source: source.lastPathComponent, configuration: configuration, needs: needs)
                }
                throw error
            }
            objects.append(object)
            let listed = try Self.dependencies(inMakeRule: String(contentsOf: URL(fileURLWithPath: object + ".d"), encoding: .utf8))
            for path in listed {
                let file = URL(fileURLWithPath: path, relativeTo: staging).standardizedFileURL.path
                // The staged harness and the model are in the key already (their contents and key).
                if file.hasPrefix(staging.standardizedFileURL.path + "/") || file.hasPrefix(model.directory.standardizedFileURL.path + "/") { continue }
                dependencies.insert(file)
            }
        }
        try compile(harnessDirectory.appendingPathComponent("spinel_harness.cpp"), index: 0)
        for (index, source) in sources.enumerated() {
            guard ["c", "cc", "cpp", "cxx"].contains(source.pathExtension) else {
                throw ToolError(tool: "HarnessBuild", message: "\(source.path): a testbench source must be .c, .cc or .cpp")
            }
            try compile(source, index: index + 1)
        }
        let lib = model.directory.appendingPathComponent("lib")
        let output = staging.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try Tools.check("g++", objects + [lib.appendingPathComponent("\(modelClass)__ALL.a").path,
                                          lib.appendingPathComponent("libverilated.a").path,
                                          "-pthread", "-latomic"] + (model.waveforms == .fst ? ["-lz"] : []) + ["-o", output.appendingPathComponent(name).path], in: staging)
        let recorded = dependencies.sorted()
        guard let key = dependencyKey(baseKey: baseKey, dependencies: recorded) else {
            throw ToolError(tool: "HarnessBuild", message: "a file the compiler read while building \(name) disappeared during the build; run again")
        }
        let final = cacheDirectory.appendingPathComponent("\(name)-\(key)")
        let executable = final.appendingPathComponent(name)
        try publish(output, to: final, marker: executable)
        // Written after the entry it points to, atomically: a reader sees the old list or the new.
        try Data((recorded.joined(separator: "\n") + "\n").utf8).write(to: dependencyList, options: .atomic)
        progress("harness: built \(name) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        return Executable(path: executable, model: model, cached: false)
    }

    /// `SPINEL_CONFIG_NAME` of a generated gemmini_params.h.
    static func configurationName(inParams text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("#define SPINEL_CONFIG_NAME ") {
            return line.dropFirst("#define SPINEL_CONFIG_NAME ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        return nil
    }

    /// The key of a build from `baseKey` and the current contents of `dependencies`; nil when
    /// one of them cannot be read (the build must run again).
    static func dependencyKey(baseKey: String, dependencies: [String]) -> String? {
        var hasher = StableHash()
        hasher.add(baseKey)
        for path in dependencies where !path.isEmpty {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            hasher.add(path)
            hasher.add(String(decoding: data, as: UTF8.self))
        }
        return hasher.hex
    }

    /// The prerequisites of a make rule as `gcc -MD` writes it (`obj.o: a.c b.h \` lines,
    /// spaces in names escaped as `\ `).
    public static func dependencies(inMakeRule rule: String) throws -> [String] {
        let joined = rule.replacingOccurrences(of: "\\\n", with: " ")
        guard let colon = joined.range(of: ": ") ?? joined.range(of: ":\n") else {
            throw ToolError(tool: "HarnessBuild", message: "unreadable dependency output from the compiler: \(joined.prefix(200))")
        }
        var paths: [String] = []
        var current = ""
        var escaped = false
        for character in joined[colon.upperBound...] {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character.isWhitespace {
                if !current.isEmpty { paths.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { paths.append(current) }
        return paths
    }

    /// Both stages in one call.
    public static func executable(verilog: [GeneratedFile], top: String, harness: [GeneratedFile], sources: [URL],
                                  name: String, waveforms: Waveforms = .none, includeDirectories: [URL] = [],
                                  defines: [String] = []) throws -> Executable {
        let model = try model(verilog: verilog, top: top, waveforms: waveforms)
        return try executable(model: model, harness: harness, sources: sources, name: name,
                              includeDirectories: includeDirectories, defines: defines)
    }

    // MARK: Running

    public struct RunResult: Sendable {
        public var status: Int32
        /// The process ended by a signal (`status` is then the signal number).
        public var signaled: Bool
        public var standardOutput: String
        public var standardError: String
        public var succeeded: Bool { status == 0 && !signaled }

        /// For a process ended by a signal: which one, in words ("signal 11 (SIGSEGV,
        /// segmentation fault)"); nil otherwise.
        public var signalDescription: String? {
            guard signaled else { return nil }
            let names: [Int32: String] = [SIGSEGV: "SIGSEGV, segmentation fault", SIGBUS: "SIGBUS, bus error",
                                          SIGFPE: "SIGFPE, arithmetic exception", SIGILL: "SIGILL, illegal instruction",
                                          SIGABRT: "SIGABRT, abort", SIGKILL: "SIGKILL, killed", SIGTERM: "SIGTERM, terminated"]
            return "signal \(status)" + (names[status].map { " (\($0))" } ?? "")
        }

        /// The shell's exit status for this result: the status, or 128 + the signal.
        public var shellStatus: Int32 { signaled ? 128 + status : status }
    }

    /// Runs a built testbench with `arguments` and extra `environment` variables, capturing
    /// standard output and standard error separately.
    /// With `inheritOutput`, the program writes to this process's standard output and error as
    /// it runs (progress lines appear live) and the result's texts are empty.
    public static func run(_ executable: URL, _ arguments: [String] = [], environment: [String: String] = [:],
                           in directory: URL? = nil, inheritOutput: Bool = false) throws -> RunResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        if let directory { process.currentDirectoryURL = directory }
        if inheritOutput {
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return RunResult(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                             standardOutput: "", standardError: "")
        }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes concurrently so a chatty testbench cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = errPipe.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return RunResult(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                         standardOutput: String(decoding: outData, as: UTF8.self),
                         standardError: String(decoding: errData, as: UTF8.self))
    }

    // MARK: Helpers

    private static func makeStaging() throws -> URL {
        let staging = cacheDirectory.appendingPathComponent("staging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        return staging
    }

    /// Moves a finished build into place in one step; another process may have won the race.
    private static func publish(_ built: URL, to final: URL, marker: URL) throws {
        do {
            try FileManager.default.moveItem(at: built, to: final)
        } catch where FileManager.default.fileExists(atPath: marker.path) {
            // Another process finished the same build first.
        }
    }

    nonisolated(unsafe) private static var versions: [String: String] = [:]
    private static let versionsLock = NSLock()

    /// The first line of `compiler --version` (part of the cache keys).
    static func compilerVersion(_ compiler: String) throws -> String {
        versionsLock.lock()
        defer { versionsLock.unlock() }
        if let known = versions[compiler] { return known }
        let output = try Tools.check(compiler, ["--version"])
        let first = String(output.split(separator: "\n").first ?? "")
        versions[compiler] = first
        return first
    }
}
