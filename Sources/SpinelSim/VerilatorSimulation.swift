import Foundation
import SpinelHDL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Simulates one elaborated design under Verilator, driven from Swift cycle by cycle.
///
/// The design's Verilog and a generated `extern "C"` wrapper (PyMTL3's approach) are compiled
/// by Verilator into a shared library, which is loaded with `dlopen`. Compiled libraries are
/// cached by a hash of (Verilog, wrapper, flags, Verilator version) under `cacheDirectory`,
/// so each design is built once per machine.
///
/// Typical test loop: `poke` inputs, `eval`, `peek` outputs and compare with a model, `tick`.
public final class VerilatorSimulation {
    public struct Port: Hashable, Sendable {
        public var name: String
        public var width: Int
        public var isInput: Bool
        var index: Int32
        var words: Int { (width + 31) / 32 }
    }

    public let top: String
    public private(set) var ports: [Port] = []
    private var portIndex: [String: Int] = [:]
    private let library: UnsafeMutableRawPointer
    private let handle: UnsafeMutableRawPointer
    private let setPort: @convention(c) (UnsafeMutableRawPointer, Int32, UnsafePointer<UInt32>) -> Void
    private let getPort: @convention(c) (UnsafeMutableRawPointer, Int32, UnsafeMutablePointer<UInt32>) -> Void
    private let evaluate: @convention(c) (UnsafeMutableRawPointer) -> Void
    private let destroy: @convention(c) (UnsafeMutableRawPointer) -> Void
    /// Cycles ticked since creation.
    public private(set) var cycle: Int = 0

    /// Where compiled simulators are kept: `$SPINEL_CACHE/verilator`, else
    /// `~/.cache/spinel/verilator`, else the temporary directory.
    public static var cacheDirectory: URL {
        let environment = ProcessInfo.processInfo.environment
        if let root = environment["SPINEL_CACHE"], !root.isEmpty {
            return URL(fileURLWithPath: root).appendingPathComponent("verilator")
        }
        if let home = environment["HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home).appendingPathComponent(".cache/spinel/verilator")
        }
        return FileManager.default.temporaryDirectory.appendingPathComponent("spinel-verilator")
    }

    /// Builds (or finds in the cache) and loads a simulator of `design`.
    public convenience init(_ design: Design) throws {
        try self.init(files: VerilogEmitter().emit(design), top: design.top)
    }

    init(files: [GeneratedFile], top module: ModuleIR) throws {
        top = module.name
        let library = try VerilatorBuild.library(files: files, top: module)
        guard let opened = dlopen(library.path, RTLD_NOW | RTLD_LOCAL) else {
            throw ToolError(tool: "dlopen", message: String(cString: dlerror()))
        }
        self.library = opened
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let pointer = dlsym(opened, name) else {
                throw ToolError(tool: "dlsym", message: "\(library.path) lacks \(name)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        let create = try symbol("spinel_sim_create", as: (@convention(c) () -> UnsafeMutableRawPointer).self)
        setPort = try symbol("spinel_sim_set", as: (@convention(c) (UnsafeMutableRawPointer, Int32, UnsafePointer<UInt32>) -> Void).self)
        getPort = try symbol("spinel_sim_get", as: (@convention(c) (UnsafeMutableRawPointer, Int32, UnsafeMutablePointer<UInt32>) -> Void).self)
        evaluate = try symbol("spinel_sim_eval", as: (@convention(c) (UnsafeMutableRawPointer) -> Void).self)
        destroy = try symbol("spinel_sim_destroy", as: (@convention(c) (UnsafeMutableRawPointer) -> Void).self)
        handle = create()
        ports = VerilatorBuild.ports(of: module)
        for (position, port) in ports.enumerated() { portIndex[port.name] = position }
    }

    deinit {
        destroy(handle)
        dlclose(library)
    }

    private func port(_ name: String) -> Port {
        guard let position = portIndex[name] else {
            preconditionFailure("module \(top) has no port '\(name)'; its ports are \(ports.map(\.name).joined(separator: ", "))")
        }
        return ports[position]
    }

    /// Sets an input to `value` (the low bits of its two's-complement pattern).
    public func poke(_ name: String, _ value: BigInteger) {
        let port = port(name)
        precondition(port.isInput, "'\(name)' is an output of \(top)")
        // Verilator expects the bits above the port's width to be zero.
        let words = value.truncated(toBits: port.width).words(count: port.words)
        words.withUnsafeBufferPointer { setPort(handle, port.index, $0.baseAddress!) }
    }

    public func poke(_ name: String, _ value: UInt64) {
        poke(name, BigInteger(value))
    }

    public func poke(_ name: String, _ value: Int) {
        poke(name, BigInteger(value))
    }

    public func poke(_ name: String, _ value: Bool) {
        poke(name, BigInteger(value ? 1 : 0))
    }

    /// The value of any port as an unsigned number.
    public func peekWide(_ name: String) -> BigInteger {
        let port = port(name)
        var words = [UInt32](repeating: 0, count: port.words)
        words.withUnsafeMutableBufferPointer { getPort(handle, port.index, $0.baseAddress!) }
        return BigInteger(words: words).truncated(toBits: port.width)
    }

    /// The value of a port of at most 64 bits, unsigned.
    public func peek(_ name: String) -> UInt64 {
        precondition(port(name).width <= 64, "'\(name)' is wider than 64 bits: use peekWide")
        return peekWide(name).low64
    }

    /// The value of a port read as two's-complement.
    public func peekSigned(_ name: String) -> Int64 {
        let width = port(name).width
        precondition(width <= 64, "'\(name)' is wider than 64 bits: use peekWide")
        return Int64(truncatingIfNeeded: peekWide(name).signExtended(fromBits: width).intValue ?? 0)
    }

    public func peekBool(_ name: String) -> Bool { peek(name) != 0 }

    /// Settles combinational logic after inputs changed.
    public func eval() { evaluate(handle) }

    /// One rising clock edge (then the clock goes low again and logic settles).
    public func tick() {
        guard portIndex[Naming.clock] != nil else {
            cycle += 1
            return
        }
        poke(Naming.clock, 0)
        eval()
        poke(Naming.clock, 1)
        eval()
        poke(Naming.clock, 0)
        eval()
        cycle += 1
    }

    /// Holds the synchronous reset high for `cycles` edges.
    public func reset(cycles: Int = 1) {
        guard portIndex[Naming.reset] != nil else { return }
        poke(Naming.reset, 1)
        for _ in 0..<cycles { tick() }
        poke(Naming.reset, 0)
        eval()
    }
}

/// Builds the shared library of a simulator.
enum VerilatorBuild {
    static let flags = ["--cc", "-Wall"] + HarnessBuild.translationFlags + [
                        "-CFLAGS", "-fPIC -fvisibility=hidden", "-LDFLAGS", "-shared -Wl,-Bsymbolic"]

    /// The ports of the top module as the emitter writes them (clock and reset first).
    static func ports(of module: ModuleIR) -> [VerilatorSimulation.Port] {
        var ports: [VerilatorSimulation.Port] = []
        if module.needsClock { ports.append(.init(name: Naming.clock, width: 1, isInput: true, index: 0)) }
        if module.needsReset { ports.append(.init(name: Naming.reset, width: 1, isInput: true, index: 0)) }
        for signal in module.signals where signal.isPort {
            ports.append(.init(name: signal.name, width: signal.type.width, isInput: signal.kind == .input, index: 0))
        }
        for position in ports.indices { ports[position].index = Int32(position) }
        return ports
    }

    /// The C++ wrapper: create/destroy a model, set/get a port by index as 32-bit words, eval.
    static func wrapper(for module: ModuleIR) -> String {
        let model = "V\(module.name)"
        var set: [String] = [], get: [String] = []
        for port in ports(of: module) {
            let member = "h->model->\(port.name)"
            let body: (Bool) -> String
            if port.width > 64 {
                body = { isSet in isSet
                    ? "for (int i = 0; i < \(port.words); ++i) \(member)[i] = words[i];"
                    : "for (int i = 0; i < \(port.words); ++i) words[i] = \(member)[i];" }
            } else if port.width > 32 {
                body = { isSet in isSet
                    ? "\(member) = (uint64_t)words[0] | ((uint64_t)words[1] << 32);"
                    : "words[0] = (uint32_t)\(member); words[1] = (uint32_t)(\(member) >> 32);" }
            } else {
                body = { isSet in isSet ? "\(member) = words[0];" : "words[0] = \(member);" }
            }
            if port.isInput { set.append("    case \(port.index): \(body(true)) break;") }
            get.append("    case \(port.index): \(body(false)) break;")
        }
        return """
            // Generated by Spinel: C entry points for driving \(module.name) from Swift.
            #include "\(model).h"
            #include "verilated.h"
            #include <cstdint>
            #define SPINEL_EXPORT extern "C" __attribute__((visibility("default")))

            struct SpinelSim {
              VerilatedContext* context;
              \(model)* model;
            };

            SPINEL_EXPORT void* spinel_sim_create() {
              SpinelSim* h = new SpinelSim;
              h->context = new VerilatedContext;
              h->model = new \(model)(h->context, "top");
              return h;
            }

            SPINEL_EXPORT void spinel_sim_destroy(void* handle) {
              SpinelSim* h = static_cast<SpinelSim*>(handle);
              h->model->final();
              delete h->model;
              delete h->context;
              delete h;
            }

            SPINEL_EXPORT void spinel_sim_set(void* handle, int32_t port, const uint32_t* words) {
              SpinelSim* h = static_cast<SpinelSim*>(handle);
              switch (port) {
            \(set.joined(separator: "\n"))
                default: break;
              }
            }

            SPINEL_EXPORT void spinel_sim_get(void* handle, int32_t port, uint32_t* words) {
              SpinelSim* h = static_cast<SpinelSim*>(handle);
              switch (port) {
            \(get.joined(separator: "\n"))
                default: break;
              }
            }

            SPINEL_EXPORT void spinel_sim_eval(void* handle) {
              static_cast<SpinelSim*>(handle)->model->eval();
            }

            """
    }

    /// The cached library for `files`, building it if needed.
    static func library(files: [GeneratedFile], top module: ModuleIR) throws -> URL {
        let wrapperSource = wrapper(for: module)
        var key = StableHash()
        key.add(try Tools.verilatorVersion())
        key.add(flags.joined(separator: " "))
        key.add(wrapperSource)
        for file in files { key.add(file.name); key.add(file.contents) }
        let cache = VerilatorSimulation.cacheDirectory
        let final = cache.appendingPathComponent("\(module.name)-\(key.hex)")
        let library = final.appendingPathComponent("libsim.so")
        if FileManager.default.fileExists(atPath: library.path) { return library }

        // Build in a private directory, then move it into place in one step, so concurrent
        // builds of the same design never see a half-written library.
        let staging = cache.appendingPathComponent("staging-\(UUID().uuidString)")
        try OutputChecks.write(files, to: staging)
        defer { try? FileManager.default.removeItem(at: staging) }
        try Data(wrapperSource.utf8).write(to: staging.appendingPathComponent("spinel_sim.cpp"))
        let sources = files.filter { $0.name.hasSuffix(".v") }.map(\.name)
        let jobs = String(max(1, ProcessInfo.processInfo.activeProcessorCount))
        try Tools.check("verilator", flags + ["--top-module", module.name, "--build", "-j", jobs, "-Mdir", "obj",
                                              "--exe", "spinel_sim.cpp", "-o", "libsim.so"] + sources, in: staging)
        try FileManager.default.moveItem(at: staging.appendingPathComponent("obj/libsim.so"),
                                         to: staging.appendingPathComponent("libsim.so"))
        try? FileManager.default.removeItem(at: staging.appendingPathComponent("obj"))
        do {
            try FileManager.default.moveItem(at: staging, to: final)
        } catch where FileManager.default.fileExists(atPath: library.path) {
            // Another process finished the same build first.
        }
        return library
    }
}

