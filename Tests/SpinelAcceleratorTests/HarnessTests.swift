import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// Tests of the C testbench harness (SpinelAccelerator/Harness, SpinelSim/HarnessBuild): the
// parameter header, the AXI4 memory model on its own, and the whole harness end to end on a
// stand-in top module (defined here) that has exactly the accelerator's top-level ports.

// MARK: - The stand-in top module

/// The command port's payload as the accelerator top names it (`cmd_bits_funct`, …).
struct HarnessStandInCommand: Aggregate {
    var funct: Signal
    var rs1: Signal
    var rs2: Signal

    init(funct: Signal, rs1: Signal, rs2: Signal) {
        self.funct = funct
        self.rs1 = rs1
        self.rs2 = rs2
    }

    init() {
        self.init(funct: Signal(.uint(7)), rs1: Signal(.uint(64)), rs2: Signal(.uint(64)))
    }

    func map(_ f: FieldMapper) -> HarnessStandInCommand {
        HarnessStandInCommand(funct: f("funct", funct), rs1: f("rs1", rs1), rs2: f("rs2", rs2))
    }
}

/// A stand-in for the accelerator's top module, with exactly its ports
/// (docs/MICROARCHITECTURE.md, "Top-level ports"), built on the real `DMAEngine`. Commands, with
/// n = rs1[63:56] bytes (1 ≤ n ≤ dmaMaxBytes) and addresses rs1[47:0] and rs2:
/// - funct 3 COPY: read n bytes at rs1[47:0] and write them to rs2; one at a time; retires on
///   `retire_st`.
/// - funct 2 TOUCH: read n bytes at rs1[47:0] and drop them; several in flight; retires on
///   `retire_ld`.
/// - funct 7 NOP (what `gemmini_flush` issues): retires on `retire_dispatch`.
/// - `retire_loop` never fires (the stand-in has no LOOP_WS).
/// - anything else: `unknownCommand` (1); COPY or TOUCH with a bad n: `tooManyColumns` (3);
///   both retire on `retire_dispatch`. DMA faults: `dmaReadFault` (11), `dmaWriteFault` (12).
/// The first error latches `code << 56 | index`. `config_hash` is `configHash`.
struct HarnessStandIn: Module {
    let parameters: AcceleratorParameters
    let configHash: UInt64

    init(_ parameters: AcceleratorParameters, configHash: UInt64? = nil) {
        self.parameters = parameters
        self.configHash = configHash ?? GemminiParamsHeader.hashValue(parameters)
    }

    var name: String { "HarnessStandIn_\(parameters.name)_\(String(configHash, radix: 16))" }

    struct IO: Aggregate {
        var cmd: Decoupled<HarnessStandInCommand>
        var busy: Signal
        var error: Signal
        var errorInfo: Signal
        var cycles: Signal
        var configHash: Signal
        var retireDispatch: Valid<Signal>
        var retireLd: Valid<Signal>
        var retireEx: Valid<Signal>
        var retireSt: Valid<Signal>
        var retireLoop: Valid<Signal>
        var axi: AXI4Bundle

        func map(_ f: FieldMapper) -> IO {
            IO(cmd: f.input("cmd", cmd), busy: f.output("busy", busy), error: f.output("error", error),
               errorInfo: f.output("error_info", errorInfo), cycles: f.output("cycles", cycles),
               configHash: f.output("config_hash", configHash),
               retireDispatch: f.output("retire_dispatch", retireDispatch), retireLd: f.output("retire_ld", retireLd),
               retireEx: f.output("retire_ex", retireEx), retireSt: f.output("retire_st", retireSt),
               retireLoop: f.output("retire_loop", retireLoop), axi: f.output("axi", axi))
        }
    }

    var dma: DMAParameters { DMAParameters(parameters, tagBits: 1) }

    var io: IO {
        IO(cmd: Decoupled(HarnessStandInCommand()), busy: Signal(.bool), error: Signal(.bool), errorInfo: Signal(.uint(64)),
           cycles: Signal(.uint(64)), configHash: Signal(.uint(64)),
           retireDispatch: Valid(Signal(.uint(32))), retireLd: Valid(Signal(.uint(32))),
           retireEx: Valid(Signal(.uint(32))), retireSt: Valid(Signal(.uint(32))), retireLoop: Valid(Signal(.uint(32))),
           axi: AXI4Bundle(dma.axi))
    }

    func build(_ m: ModuleBuilder, _ io: IO) {
        let p = dma
        let engine = m.instance("dma", DMAEngine(p))
        m.connect(io.axi, from: engine.axi)

        let cycles = m.register("cycle_count", .uint(64), reset: 0)
        cycles.set(cycles +% 1)
        io.cycles.set(cycles)
        io.configHash.set(Signal.literal(BigInteger(configHash), .uint(64)))
        let index = m.register("command_index", .uint(32), reset: 0)

        // Decode.
        let funct = io.cmd.bits.funct
        let count = m.wire("count", .uint(8), default: io.cmd.bits.rs1.bits(63, 56))
        let sizeOK = m.wire("size_ok", .bool, default: count =/= 0 && count <= Signal.literal(BigInteger(p.maxBytes), .uint(16)))
        let source = m.wire("source", .uint(64), default: io.cmd.bits.rs1.bits(47, 0).extended(to: 64))
        let isCopy = m.wire("is_copy", .bool, default: funct === 3 && sizeOK)
        let isTouch = m.wire("is_touch", .bool, default: funct === 2 && sizeOK)

        // The copy machine: 0 idle, 1 read request, 2 read response, 3 write request, 4 write response.
        let state = m.register("copy_state", .uint(3), reset: 0)
        let copySource = m.register("copy_source", .uint(64))
        let copyDestination = m.register("copy_destination", .uint(64))
        let copyBytes = m.register("copy_bytes", .uint(p.bytesBits))
        let copyIndex = m.register("copy_index", .uint(32))
        let copyData = m.register("copy_data", .uint(p.maxBytes * 8))
        let idle = m.wire("copy_idle", .bool, default: state === 0)

        let touches = m.instance("touches", Queue(entries: p.maxInFlight, payload: .uint(32)))

        io.cmd.ready.set(mux(isCopy, idle && !touches.deq.valid,
                             mux(isTouch, idle && engine.readRequest.ready && touches.enq.ready, true)))
        let fire = m.wire("fire", .bool, default: io.cmd.valid && io.cmd.ready)
        m.when(fire) { index.set(index +% 1) }

        // Reads: the copy machine's, or a touch straight from the command port.
        let touchOffer = m.wire("touch_offer", .bool, default: io.cmd.valid && isTouch && idle && touches.enq.ready)
        engine.readRequest.valid.set(touchOffer || state === 1)
        engine.readRequest.bits.address.set(mux(state === 1, copySource, source))
        engine.readRequest.bits.bytes.set(mux(state === 1, copyBytes, count.resized(to: p.bytesBits)))
        engine.readRequest.bits.tag.set(mux(state === 1, Signal.literal(1, .uint(1)), Signal.literal(0, .uint(1))))
        touches.enq.valid.set(touchOffer && engine.readRequest.ready)
        touches.enq.bits.set(index)

        engine.readResponse.ready.set(true)
        let response = engine.readResponse
        let touchDone = m.wire("touch_done", .bool, default: response.valid && response.bits.tag === 0)
        let copyRead = m.wire("copy_read", .bool, default: response.valid && response.bits.tag === 1)
        touches.deq.ready.set(touchDone)

        engine.writeRequest.valid.set(state === 3)
        engine.writeRequest.bits.address.set(copyDestination)
        engine.writeRequest.bits.bytes.set(copyBytes)
        engine.writeRequest.bits.data.set(copyData)
        engine.writeRequest.bits.tag.set(0)
        engine.writeResponse.ready.set(state === 4)
        let written = m.wire("written", .bool, default: state === 4 && engine.writeResponse.valid)

        m.when(fire && isCopy) {
            state.set(1)
            copySource.set(source)
            copyDestination.set(io.cmd.bits.rs2)
            copyBytes.set(count.resized(to: p.bytesBits))
            copyIndex.set(index)
        }
        m.when(state === 1 && engine.readRequest.ready) { state.set(2) }
        m.when(copyRead) {
            copyData.set(response.bits.data)
            state.set(mux(response.bits.error, Signal.literal(0, .uint(3)), Signal.literal(3, .uint(3))))
        }
        m.when(state === 3 && engine.writeRequest.ready) { state.set(4) }
        m.when(written) { state.set(0) }

        // Retire ports.
        let dispatchValid = m.register("dispatch_valid", .bool, reset: false)
        let dispatchIndex = m.register("dispatch_index", .uint(32))
        dispatchValid.set(fire && !isCopy && !isTouch)
        dispatchIndex.set(index)
        io.retireDispatch.valid.set(dispatchValid)
        io.retireDispatch.bits.set(dispatchIndex)
        io.retireLd.valid.set(touchDone)
        io.retireLd.bits.set(touches.deq.bits)
        io.retireEx.valid.set(false)
        io.retireEx.bits.set(0)
        io.retireSt.valid.set(written || (copyRead && response.bits.error))
        io.retireSt.bits.set(copyIndex)
        io.retireLoop.valid.set(false)
        io.retireLoop.bits.set(Signal.literal(0, .uint(32)))

        // Errors: the first one latches code << 56 | index.
        func info(_ code: Int, _ at: Signal) -> Signal {
            cat(Signal.literal(BigInteger(code), .uint(8)), Signal.literal(0, .uint(24)), at)
        }
        let dispatchError = m.wire("dispatch_error", .bool, default: fire && !isCopy && !isTouch && funct =/= 7)
        let dispatchCode = mux(funct === 2 || funct === 3, info(3, index), info(1, index))
        let readFault = m.wire("read_fault", .bool, default: response.valid && response.bits.error)
        let readFaultInfo = mux(response.bits.tag === 1, info(11, copyIndex), info(11, touches.deq.bits))
        let writeFault = m.wire("write_fault", .bool, default: written && engine.writeResponse.bits.error)
        let errorLatched = m.register("error_latched", .bool, reset: false)
        let errorInfo = m.register("error_info_latched", .uint(64), reset: 0)
        m.when(!errorLatched) {
            m.when(readFault) {
                errorLatched.set(true)
                errorInfo.set(readFaultInfo)
            }.elsewhen(writeFault) {
                errorLatched.set(true)
                errorInfo.set(info(12, copyIndex))
            }.elsewhen(dispatchError) {
                errorLatched.set(true)
                errorInfo.set(dispatchCode)
            }
        }
        io.error.set(errorLatched)
        io.errorInfo.set(errorInfo)
        io.busy.set(!idle || touches.deq.valid || engine.busy || dispatchValid)
    }
}

// MARK: - Shared helpers

enum HarnessTestSupport {
    static func repositoryRoot(_ file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var selftestDirectory: URL { repositoryRoot().appendingPathComponent("Testbenches/harness-selftest") }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-harness-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static let small = try! AcceleratorConfig.small.parameters()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var executables: [String: URL] = [:]

    /// The self-test built against the stand-in of `small` (models and executables are cached
    /// across runs by HarnessBuild, and within this process here).
    static func selftest(waveforms: HarnessBuild.Waveforms = .none,
                         harnessFrom harnessParameters: AcceleratorParameters? = nil) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(waveforms)-\(harnessParameters?.hash ?? "same")"
        if let known = executables[key] { return known }
        let design = try Elaborator.elaborate(HarnessStandIn(small))
        let verilog = VerilogEmitter().emit(design)
        let harness = HarnessGenerator.files(for: harnessParameters ?? small)
        let built = try HarnessBuild.executable(verilog: verilog, top: design.top.name, harness: harness,
                                                sources: [selftestDirectory.appendingPathComponent("selftest.c")],
                                                name: "harness_selftest", waveforms: waveforms)
        executables[key] = built.path
        return built.path
    }

    /// One event of a trace, with its keys in file order.
    struct Event {
        var keys: [String]
        var fields: [String: Any]
        var kind: String { fields["ev"] as? String ?? "" }
        func int(_ key: String) -> Int? {
            if let value = fields[key] as? Int { return value }
            return (fields[key] as? NSNumber)?.intValue
        }
        func string(_ key: String) -> String? { fields[key] as? String }
        func hexNumber(_ key: String) -> UInt64? {
            guard let text = string(key), text.hasPrefix("0x") else { return nil }
            return UInt64(text.dropFirst(2), radix: 16)
        }
        func bytes(_ key: String) -> [UInt8]? {
            guard let text = string(key), text.count % 2 == 0 else { return nil }
            var result: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(index, offsetBy: 2)
                guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
                result.append(byte)
                index = next
            }
            return result
        }
    }

    /// Parses a JSON Lines trace; every line must be one JSON object with "ev" first.
    static func events(_ url: URL) throws -> [Event] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let object else { throw ToolError(tool: "trace", message: "not a JSON object: \(line)") }
            // Key order as written (JSONSerialization loses it).
            let keys = line.split(separator: ",").compactMap { part -> String? in
                guard let quote = part.firstIndex(of: "\""), let colon = part.firstIndex(of: ":"), quote < colon else { return nil }
                let key = part[part.index(after: quote)..<colon].dropLast()
                return key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? String(key) : nil
            }
            return Event(keys: keys, fields: object)
        }
    }

    static func pattern(_ offset: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 7 &+ 3) }

    /// `name=0x…` in the output.
    static func printedAddress(_ name: String, in output: String) -> UInt64? {
        guard let range = output.range(of: "\(name)=0x") else { return nil }
        let digits = output[range.upperBound...].prefix { $0.isHexDigit }
        return UInt64(digits, radix: 16)
    }

    static func describe(_ result: HarnessBuild.RunResult) -> String {
        "status \(result.status)\(result.signaled ? " (signal)" : "")\nstdout:\n\(result.standardOutput)\nstderr:\n\(result.standardError)"
    }
}

// MARK: - gemmini_params.h

@Suite("Harness: gemmini_params.h")
struct HarnessHeaderTests {
    /// `#define NAME value` lines of a header.
    static func defines(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in header.split(separator: "\n") where line.hasPrefix("#define ") {
            let parts = line.dropFirst(8).split(separator: " ", maxSplits: 1)
            guard let name = parts.first, !name.contains("(") else { continue }
            result[String(name)] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }

    @Test func defaultHasGemminisValues() throws {
        let p = try AcceleratorConfig.default.parameters()
        let header = GemminiParamsHeader.render(p)
        let d = Self.defines(header)
        // Gemmini's gemmini_params.h for its default configuration.
        #expect(d["DIM"] == "16")
        #expect(d["ADDR_LEN"] == "32")
        #expect(d["BANK_NUM"] == "4")
        #expect(d["BANK_ROWS"] == "4096")
        #expect(d["ACC_ROWS"] == "1024")
        #expect(d["MAX_BYTES"] == "64")
        #expect(d["MAX_BLOCK_LEN"] == "4")
        #expect(d["MAX_BLOCK_LEN_ACC"] == "1")
        #expect(header.contains("typedef int8_t elem_t;"))
        #expect(header.contains("typedef int32_t acc_t;"))
        #expect(header.contains("typedef int64_t full_t;"))
        #expect(header.contains("typedef float scale_t;") && header.contains("typedef uint32_t scale_t_bits;"))
        #expect(header.contains("typedef float acc_scale_t;") && header.contains("typedef uint32_t acc_scale_t_bits;"))
        #expect(header.contains("static const elem_t elem_t_max = 127;"))
        #expect(header.contains("static const elem_t elem_t_min = (-127 - 1);"))
        #expect(d["HAS_MVIN_SCALE"] == "")
        #expect(d["HAS_NORMALIZATIONS"] == nil)
        #expect(d["MVIN_SCALE_IDENTITY"] == "1.0" && d["ACC_SCALE_IDENTITY"] == "1.0")
        #expect(d["SPINEL_CONFIG_HASH"] == "0x\(p.hash)ULL")
        #expect(d["SPINEL_CONFIG_NAME"] == "\"SpinelDefault\"")
        #expect(d["SPINEL_DATAFLOW"] == "SPINEL_DATAFLOW_BOTH")
        #expect(d["SPINEL_DMA_BUS_BYTES"] == "16")
        #expect(d["SPINEL_ACC_BANKS"] == "2" && d["SPINEL_SP_BANKS"] == "4")
        #expect(d["SPINEL_MEMORY_LATENCY_CYCLES"] == "40" && d["SPINEL_MEMORY_BYTES_PER_CYCLE"] == "16")
        #expect(GemminiParamsHeader.hashValue(p) == UInt64(p.hash, radix: 16))
    }

    @Test func otherConfigurations() throws {
        var wide = AcceleratorConfig(name: "Wide")
        wide.inputType = .sint(16)
        wide.weightType = .sint(16)
        wide.accType = .sint(64)
        wide.spatialOutputType = .sint(40)
        wide.dataflow = .ws
        wide.dmaMaxBytes = 128
        wide.mvinScale = .none
        let header = GemminiParamsHeader.render(try wide.parameters())
        let d = Self.defines(header)
        #expect(header.contains("typedef int16_t elem_t;") && header.contains("typedef int64_t acc_t;"))
        #expect(header.contains("static const elem_t elem_t_max = 32767;"))
        #expect(header.contains("static const acc_t acc_t_min = INT64_MIN;"))
        #expect(d["SPINEL_DATAFLOW"] == "SPINEL_DATAFLOW_WS" && d["SPINEL_HAS_OS"] == "0" && d["SPINEL_HAS_WS"] == "1")
        #expect(d["HAS_MVIN_SCALE"] == nil && d["SPINEL_HAS_MVIN_SCALE"] == "0")
        #expect(d["MAX_BLOCK_LEN"] == "4" && d["MAX_BLOCK_LEN_ACC"] == "1")

        let transformer = Self.defines(GemminiParamsHeader.render(try AcceleratorConfig.transformer.parameters()))
        #expect(transformer["HAS_NORMALIZATIONS"] == "" && transformer["SPINEL_HAS_NORMALIZATIONS"] == "1")
        let cta = Self.defines(GemminiParamsHeader.render(try AcceleratorConfig.cta.parameters()))
        #expect(cta["SPINEL_HAS_CTA"] == "1" && cta["SPINEL_CTA_MAX_TOKENS"] == "512")
    }

    @Test func generationIsDeterministic() throws {
        for preset in AcceleratorConfig.Preset.allCases {
            let p = try AcceleratorConfig.preset(preset).parameters()
            #expect(HarnessGenerator.files(for: p) == HarnessGenerator.files(for: p))
        }
        let names = HarnessGenerator.files(for: HarnessTestSupport.small).map(\.name)
        #expect(names == ["gemmini_params.h", "spinel.h", "rocc.h", "rocc-software/src/xcustom.h", "gemmini.h", "spinel_tiled.h",
                          "spinel_library.h", "gemmini_testutils.h", "spinel_reference.h", "spinel_axi_memory.h", "spinel_harness.cpp"])
    }

    /// Every preset's headers (gemmini.h, spinel_reference.h) compile with gcc as C (-Wall
    /// -Wextra -Werror, C99 to C17) and C++, and the compiled values equal the configuration's.
    @Test(arguments: AcceleratorConfig.Preset.allCases)
    func compilesWithGCC(preset: AcceleratorConfig.Preset) throws {
        let p = try AcceleratorConfig.preset(preset).parameters()
        let directory = try HarnessTestSupport.temporaryDirectory("header")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(HarnessGenerator.files(for: p), to: directory)
        let program = """
            #include <stdio.h>
            #include "gemmini.h"
            #include "spinel_reference.h"
            int main(void) {
                printf("%d %d %d %d %d %d %d\\n", DIM, BANK_NUM, BANK_ROWS, ACC_ROWS, MAX_BYTES, MAX_BLOCK_LEN, MAX_BLOCK_LEN_ACC);
                printf("%zu %zu %d %d\\n", sizeof(elem_t), sizeof(acc_t), (int)elem_t_max, (int)elem_t_min);
                printf("%llx %s\\n", (unsigned long long)SPINEL_CONFIG_HASH, SPINEL_CONFIG_NAME);
                return 0;
            }

            """
        try Data(program.utf8).write(to: directory.appendingPathComponent("values.c"))
        for standard in ["c99", "gnu99", "c11", "gnu17"] {
            try Tools.check("gcc", ["-std=\(standard)", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", directory.path,
                                    directory.appendingPathComponent("values.c").path], in: directory)
        }
        try Data(program.utf8).write(to: directory.appendingPathComponent("values.cpp"))
        try Tools.check("g++", ["-std=gnu++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", directory.path,
                                directory.appendingPathComponent("values.cpp").path], in: directory)
        let binary = directory.appendingPathComponent("values").path
        try Tools.check("gcc", ["-std=gnu11", "-O1", "-I", directory.path, directory.appendingPathComponent("values.c").path, "-o", binary],
                        in: directory)
        let run = try HarnessBuild.run(URL(fileURLWithPath: binary))
        #expect(run.succeeded, "\(HarnessTestSupport.describe(run))")
        let output = run.standardOutput.split(separator: "\n").map(String.init)
        try #require(output.count == 3)
        let c = p.config
        #expect(output[0] == "\(p.dim) \(c.spBanks) \(p.spRowsPerBank) \(p.accRows) \(c.dmaMaxBytes) \(p.maxBlockLen) \(p.maxBlockLenAcc)")
        let elemMax = (1 << (c.inputType.width - 1)) - 1
        #expect(output[1] == "\(p.inputBytes) \(p.accBytes) \(elemMax) \(-elemMax - 1)")
        #expect(output[2] == "\(String(GemminiParamsHeader.hashValue(p), radix: 16)) \(p.name)")
    }

    /// The header's ROUNDING_RIGHT_SHIFT and ACC_SCALE equal the golden model's numerics.
    @Test func referenceMacrosMatchTheGoldenModel() throws {
        let p = try AcceleratorConfig.default.parameters()
        let directory = try HarnessTestSupport.temporaryDirectory("numerics")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(HarnessGenerator.files(for: p), to: directory)
        var random = SeededGenerator(seed: 0x5EED_4EAD)
        var shifts: [(Int64, Int)] = [(5, 1), (7, 1), (-5, 1), (6, 2), (10, 2), (11, 2), (-11, 2), (Int64(Int32.max), 31),
                                      (Int64(Int32.min), 31), (-1, 1), (1, 1), (3, 1), (-3, 1)]
        var scales: [(Int64, UInt32)] = [(5, Float(0.5).bitPattern), (7, Float(0.5).bitPattern), (-5, Float(0.5).bitPattern),
                                         (1000, Float(0.25).bitPattern), (-1000, Float(1).bitPattern),
                                         (Int64(Int32.max), Float(1).bitPattern), (Int64(Int32.min), Float(1e-9).bitPattern),
                                         (3, Float(-0.0).bitPattern), (253, Float(0.5).bitPattern), (255, Float(0.5).bitPattern)]
        for _ in 0..<300 {
            let x = Int64(Int32(truncatingIfNeeded: random.next()))
            shifts.append((x >> Int64(random.next() % 24), Int(random.next() % 31) + 1))
            let scale = Float(Double(random.next() % 2_000_001) / 1_000_000.0 - 1.0) * (random.next() % 2 == 0 ? 1 : 0.001)
            scales.append((x >> Int64(random.next() % 28), scale.bitPattern))
        }
        var program = "#include <stdio.h>\n#include <string.h>\n#include \"gemmini_params.h\"\n"
        program += "static float f(unsigned bits) { float v; memcpy(&v, &bits, 4); return v; }\nint main(void) {\n"
        for (x, shift) in shifts {
            program += "  { acc_t x = \(x == Int64(Int32.min) ? "INT32_MIN" : "\(x)"); int s = \(shift); printf(\"%d\\n\", (int)ROUNDING_RIGHT_SHIFT(x, s)); }\n"
        }
        for (x, bits) in scales {
            program += "  { acc_t x = \(x == Int64(Int32.min) ? "INT32_MIN" : "\(x)"); printf(\"%d\\n\", (int)ACC_SCALE(x, f(\(bits)u))); }\n"
        }
        program += "  return 0;\n}\n"
        try Data(program.utf8).write(to: directory.appendingPathComponent("numerics.c"))
        let binary = directory.appendingPathComponent("numerics").path
        try Tools.check("gcc", ["-std=gnu11", "-O2", "-Wall", "-Werror", "-I", directory.path,
                                directory.appendingPathComponent("numerics.c").path, "-o", binary], in: directory)
        let run = try HarnessBuild.run(URL(fileURLWithPath: binary))
        #expect(run.succeeded, "\(HarnessTestSupport.describe(run))")
        let results = run.standardOutput.split(separator: "\n").compactMap { Int64($0) }
        let expected = shifts.map { Numerics.roundingRightShift($0.0, by: $0.1) }
            + scales.map { Numerics.scale($0.0, by: Float(bitPattern: $0.1), toBits: 8) }
        #expect(results.count == expected.count)
        for (index, (got, want)) in zip(results, expected).enumerated() where got != want {
            let input = index < shifts.count ? "ROUNDING_RIGHT_SHIFT\(shifts[index])" : "ACC_SCALE\(scales[index - shifts.count])"
            Issue.record("\(input): C gives \(got), the golden model \(want)")
        }
    }
}

// MARK: - gemmini.h encodings

@Suite("Harness: gemmini.h encodings")
struct HarnessGemminiMacroTests {
    /// Every command macro of gemmini.h, compiled with a RoCC shim that prints what it would
    /// issue, decodes in the golden model (written from docs/ISA.md independently) to the fields
    /// the macro was given.
    @Test func macrosEncodeWhatTheGoldenDecoderReads() throws {
        let p = try AcceleratorConfig.transformer.parameters()
        let directory = try HarnessTestSupport.temporaryDirectory("macros")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(HarnessGenerator.files(for: p), to: directory)
        let program = """
            #include <stdio.h>
            #include "gemmini.h"
            void spinel_rocc_issue(uint32_t funct, uint64_t rs1, uint64_t rs2) {
                printf("%u %llu %llu\\n", funct, (unsigned long long)rs1, (unsigned long long)rs2);
            }
            void spinel_rocc_fence(void) { printf("fence\\n"); }
            int main(void) {
                gemmini_extended3_config_ex(WEIGHT_STATIONARY, RELU, 3, 0.5f, 5, 7, true, false, false);
                gemmini_config_ex(OUTPUT_STATIONARY, NO_ACTIVATION, 2);
                gemmini_extended5_config_ld(48, 1.0f, true, 20, 1, 2);
                gemmini_config_ld(16);
                gemmini_extended_config_st(64, LAYERNORM, 0.25f);
                gemmini_config_norm(-9, 1, 0, 1, 1, -5, 7);
                gemmini_extended_mvin((void *)0x1234, 5, 16, 4);
                gemmini_extended_mvin2(0x40, (1u << 31) | (1u << 30) | 3, 8, 2);
                gemmini_extended_mvin3(0x80, 9, 1, 1);
                gemmini_extended_mvout(0x2000, (1u << 31) | (1u << 29), 16, 16);
                gemmini_extended_preload(GARBAGE_ADDR, 1u << 31, 16, 16, 12, 10);
                gemmini_extended_compute_preloaded(0, 16, 15, 14, 13, 12);
                gemmini_compute_accumulated(32, GARBAGE_ADDR);
                gemmini_loop_ws(2, 3, 4, 1, 2, 3, 0x100, 0x200, 0, 0x300, 64, 48, 0, 32, false, true, true, false, true, RELU, 0, 1, false);
                gemmini_flush(1);
                gemmini_fence();
                return 0;
            }

            """
        try Data(program.utf8).write(to: directory.appendingPathComponent("macros.c"))
        let binary = directory.appendingPathComponent("macros")
        try Tools.check("gcc", ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", directory.path,
                                directory.appendingPathComponent("macros.c").path, "-o", binary.path], in: directory)
        let run = try HarnessBuild.run(binary)
        #expect(run.succeeded, "\(HarnessTestSupport.describe(run))")
        let lines = run.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.last == "fence")
        let commands = try lines.dropLast().map { line -> Command in
            let fields = line.split(separator: " ").compactMap { UInt64($0) }
            try #require(fields.count == 3, "\(line)")
            return try Command.decode(funct: UInt8(fields[0]), rs1: fields[1], rs2: fields[2], parameters: p)
        }
        try #require(commands.count == 20)
        func operand(_ address: UInt32, _ columns: Int, _ rows: Int) -> LocalOperand {
            LocalOperand(address: LocalAddress(bits: address), columns: columns, rows: rows)
        }
        guard case .configExecute(let ex) = commands[0], case .configExecute(let os) = commands[1],
              case .configLoad(let ld) = commands[2], case .configLoad(let plainLoad) = commands[3],
              case .configStore(let st) = commands[4], case .configNormalization(let norm) = commands[5],
              case .loopWSConfigBounds(let bounds) = commands[13], case .loopWS(let launch) = commands[18] else {
            Issue.record("unexpected commands: \(commands)")
            return
        }
        #expect(ex.dataflow == .ws && ex.activation == 1 && ex.shift == 3 && ex.accScaleBits == Float(0.5).bitPattern)
        #expect(ex.cStride == 5 && ex.aStride == 7 && ex.transposeA && !ex.transposeB && !ex.setOnlyStrides)
        #expect(os.dataflow == .os && os.activation == 0 && os.shift == 2 && os.aStride == 1 && os.cStride == 1)
        #expect(os.accScaleBits == Float(1).bitPattern && !os.transposeA && !os.transposeB)
        #expect(ld.which == 2 && ld.shrunk && ld.pixelRepeats == 1 && ld.blockStride == 20 && ld.dramStride == 48)
        #expect(ld.scaleBits == Float(1).bitPattern)
        #expect(plainLoad.which == 0 && !plainLoad.shrunk && plainLoad.blockStride == p.dim && plainLoad.dramStride == 16)
        #expect(st.activation == 2 && st.poolingFields == 0 && st.dramStride == 64 && st.accScaleBits == Float(0.25).bitPattern)
        #expect(norm.constant == -9 && norm.setsQln2Inverse && !norm.setSlotOnly && norm.activationMSB)
        #expect(norm.statisticsSlot == 1 && norm.igeluQb == -5 && norm.igeluQc == 7)
        #expect(commands[6] == .mvin(which: 0, dramAddress: 0x1234, local: operand(5, 16, 4)))
        #expect(commands[7] == .mvin(which: 1, dramAddress: 0x40, local: operand(0xC000_0003, 8, 2)))
        #expect(commands[8] == .mvin(which: 2, dramAddress: 0x80, local: operand(9, 1, 1)))
        #expect(commands[9] == .mvout(dramAddress: 0x2000, local: operand(0xA000_0000, 16, 16)))
        #expect(commands[10] == .preload(bd: operand(0xFFFF_FFFF, 16, 16), c: operand(0x8000_0000, 12, 10)))
        #expect(commands[11] == .computePreloaded(a: operand(0, 15, 14), bd: operand(16, 13, 12)))
        #expect(commands[12] == .computeAccumulated(a: operand(32, p.dim, p.dim), bd: operand(0xFFFF_FFFF, p.dim, p.dim)))
        #expect(bounds.tilesI == 2 && bounds.tilesJ == 3 && bounds.tilesK == 4)
        #expect(bounds.padI == 1 && bounds.padJ == 2 && bounds.padK == 3)
        #expect(commands[14] == .loopWSConfigAddressesAB(a: 0x100, b: 0x200))
        #expect(commands[15] == .loopWSConfigAddressesDC(d: 0, c: 0x300))
        #expect(commands[16] == .loopWSConfigStridesAB(a: 64, b: 48))
        #expect(commands[17] == .loopWSConfigStridesDC(d: 0, c: 32))
        #expect(launch.exAccumulate && !launch.lowD && launch.fullC && launch.activation == 1)
        #expect(launch.aScratchpadID == 0 && launch.bScratchpadID == 1)
        #expect(!launch.transposeA && launch.transposeB && !launch.isResidualAdd)
        #expect(commands[19] == .flush(skip: true))
    }
}

// MARK: - The AXI4 memory model alone

@Suite("Harness: AXI4 memory model", .serialized)
struct HarnessMemoryModelTests {
    static let lock = NSLock()
    nonisolated(unsafe) static var binary: URL?

    /// Testbenches/harness-selftest/memory_model_test.cpp compiled against the generated header.
    static func build() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let binary { return binary }
        let directory = try HarnessTestSupport.temporaryDirectory("memory")
        try OutputChecks.write(HarnessGenerator.staticFiles, to: directory)
        let output = directory.appendingPathComponent("memory_model_test")
        try Tools.check("g++", ["-std=gnu++17", "-O2", "-Wall", "-Wextra", "-Werror", "-I", directory.path,
                                HarnessTestSupport.selftestDirectory.appendingPathComponent("memory_model_test.cpp").path,
                                "-o", output.path], in: directory)
        binary = output
        return output
    }

    @Test func timingBandwidthOrderingAndFaults() throws {
        let result = try HarnessBuild.run(try Self.build())
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        #expect(result.standardOutput.contains("PASS memory model"))
        #expect(result.standardOutput.contains("may not read") && result.standardOutput.contains("---p"))
    }

    @Test(arguments: [
        ("cross4k", "crosses the 4 KiB boundary"),
        ("size", "bursts must use the full bus width"),
        ("burst", "only INCR bursts"),
        ("unaligned", "is not aligned to the beat size"),
        ("wlast-early", "the number of W beats must equal AWLEN + 1"),
        ("wlast-missing", "the number of W beats must equal AWLEN + 1"),
        ("ar-withdrawn", "withdrawn before ARREADY"),
        ("aw-changed", "changed before AWREADY"),
    ])
    func protocolViolationsAbortWithAMessage(violation: String, message: String) throws {
        let result = try HarnessBuild.run(try Self.build(), [violation])
        #expect(result.signaled && result.status == SIGABRT, "\(HarnessTestSupport.describe(result))")
        #expect(result.standardError.contains("AXI protocol violation by the accelerator"))
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }
}

// MARK: - End to end on the stand-in top

@Suite("Harness: end to end on a stand-in top", .serialized)
struct HarnessEndToEndTests {
    @Test func standInIsLintClean() throws {
        let design = try Elaborator.elaborate(HarnessStandIn(HarnessTestSupport.small))
        let directory = try HarnessTestSupport.temporaryDirectory("lint")
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(VerilogEmitter().emit(design), to: directory)
        try OutputChecks.lint(directory: directory, top: design.top.name)
    }

    @Test func copyThroughTheAcceleratorWithATrace() throws {
        let executable = try HarnessTestSupport.selftest()
        let directory = try HarnessTestSupport.temporaryDirectory("copy")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracePath = directory.appendingPathComponent("copy.jsonl")
        let result = try HarnessBuild.run(executable, ["copy", tracePath.path])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        #expect(result.standardOutput.contains("PASS copy"))
        let events = try HarnessTestSupport.events(tracePath)
        let source = try #require(HarnessTestSupport.printedAddress("source", in: result.standardOutput))
        let target = try #require(HarnessTestSupport.printedAddress("target", in: result.standardOutput))
        let size: UInt64 = 3 * 4096
        let bus = UInt64(HarnessTestSupport.small.dmaBusBytes)

        // Exactly the event shapes of docs/MICROARCHITECTURE.md, "Harness trace".
        let shapes: [String: [String]] = ["cmd": ["ev", "i", "funct", "rs1", "rs2", "cycle"], "done": ["ev", "i", "cycle"],
                                          "rd": ["ev", "addr", "data"], "wr": ["ev", "addr", "data", "strb"],
                                          "error": ["ev", "code", "i"], "memory": ["ev", "latency", "bytes_per_cycle", "max_outstanding"],
                                          "config": ["ev", "name", "hash"], "end": ["ev", "commands", "cycle"]]
        for event in events {
            #expect(shapes[event.kind] == event.keys, "event keys \(event.keys)")
        }
        // The configuration comes first, then the memory model's settings as the harness used them.
        #expect(events.first?.kind == "config" && events.first?.string("name") == HarnessTestSupport.small.name
                && events.first?.string("hash") == HarnessTestSupport.small.hash)
        let memory = HarnessTestSupport.small.config.memory
        #expect(events[1].kind == "memory" && events[1].int("latency") == memory.latencyCycles
                && events[1].int("bytes_per_cycle") == memory.bytesPerCycle)
        #expect(events.last?.kind == "end" && events.last?.int("commands") == 40)
        let commands = events.filter { $0.kind == "cmd" }
        let dones = events.filter { $0.kind == "done" }
        #expect(commands.count == 40)
        #expect(commands.map { $0.int("i") } == (0..<commands.count).map { $0 })
        let issueCycles = commands.compactMap { $0.int("cycle") }
        #expect(issueCycles == issueCycles.sorted() && Set(issueCycles).count == issueCycles.count)
        #expect(Set(dones.compactMap { $0.int("i") }) == Set(0..<commands.count) && dones.count == commands.count)
        for done in dones {
            let i = try #require(done.int("i")), cycle = try #require(done.int("cycle"))
            #expect(cycle > issueCycles[i], "command \(i) done at \(cycle), issued at \(issueCycles[i])")
        }
        #expect(events.allSatisfy { $0.kind != "error" })

        // Read bursts: aligned, whole beats, and the data is the source's bytes.
        let reads = events.filter { $0.kind == "rd" }
        #expect(reads.count == 40)  // 32 copies, one of them split at 4 KiB, and 6 touches
        for read in reads {
            let address = try #require(read.hexNumber("addr")), data = try #require(read.bytes("data"))
            #expect(address % bus == 0 && !data.isEmpty && UInt64(data.count) % bus == 0)
            #expect(address / 4096 == (address + UInt64(data.count) - 1) / 4096, "a burst crosses 4 KiB")
            for (offset, byte) in data.enumerated() {
                let at = address + UInt64(offset)
                if at >= source && at < source + size {
                    #expect(byte == HarnessTestSupport.pattern(at - source), "rd byte at source+\(at - source)")
                }
            }
        }
        // Write bursts: strobed bytes land in the target and carry source bytes; unstrobed read 00.
        let writes = events.filter { $0.kind == "wr" }
        #expect(writes.count == 34)
        var written = 0
        for write in writes {
            let address = try #require(write.hexNumber("addr")), data = try #require(write.bytes("data"))
            let strobes = try #require(write.bytes("strb"))
            #expect(address % bus == 0 && UInt64(data.count) % bus == 0 && strobes.count == (data.count + 7) / 8)
            for (offset, byte) in data.enumerated() {
                let strobed = strobes[offset / 8] >> (offset % 8) & 1 == 1
                let at = address + UInt64(offset)
                if strobed {
                    written += 1
                    #expect(at >= target && at < target + size)
                } else {
                    #expect(byte == 0)
                }
            }
        }
        #expect(written == (1...32).reduce(0, +) + 32)

        // Deterministic: a second run gives the same cycles and the same event sequence.
        let again = directory.appendingPathComponent("again.jsonl")
        let second = try HarnessBuild.run(executable, ["copy", again.path])
        #expect(second.succeeded)
        let secondEvents = try HarnessTestSupport.events(again)
        #expect(secondEvents.map(\.kind) == events.map(\.kind))
        #expect(secondEvents.compactMap { $0.int("cycle") } == events.compactMap { $0.int("cycle") })
    }

    @Test func gemminiStyleCodeThroughTheRoCCShim() throws {
        let directory = try HarnessTestSupport.temporaryDirectory("rocc")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracePath = directory.appendingPathComponent("rocc.jsonl")
        let result = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["rocc"], environment: ["SPINEL_TRACE": tracePath.path])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        let events = try HarnessTestSupport.events(tracePath)
        #expect(events.filter { $0.kind == "cmd" }.map { $0.int("funct") } == [7, 3, 2])
        #expect(events.filter { $0.kind == "done" }.count == 3)
    }

    @Test func readFromAnUnmappedAddressIsAnErrorWithText() throws {
        let directory = try HarnessTestSupport.temporaryDirectory("fault")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracePath = directory.appendingPathComponent("fault.jsonl")
        let result = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["read-fault", tracePath.path])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        let text = result.standardOutput
        for words in ["dmaReadFault (code 11", "command #1", "funct 3", "rs1 0x1000000000000010", "SLVERR to the read burst at 0x10",
                      "0x10 is not mapped"] {
            #expect(text.contains(words), "missing \"\(words)\" in: \(text)")
        }
        let events = try HarnessTestSupport.events(tracePath)
        let errors = events.filter { $0.kind == "error" }
        #expect(errors.count == 1 && errors.first?.int("code") == 11 && errors.first?.int("i") == 1)
        let faulted = events.filter { $0.kind == "rd" && $0.int("resp") == 2 }
        #expect(faulted.count == 1 && faulted.first?.hexNumber("addr") == 0x10 && faulted.first?.string("data") == "")
        #expect(events.filter { $0.kind == "done" }.count == 3)
    }

    @Test func writeToAReadOnlyPageIsAnErrorWithText() throws {
        let result = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["write-fault"])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        let page = try #require(HarnessTestSupport.printedAddress("page", in: result.standardOutput))
        for words in ["dmaWriteFault (code 12", "command #0", "the process may not write", "r--p",
                      "SLVERR to the write burst at 0x\(String(page + 64, radix: 16))"] {
            #expect(result.standardOutput.contains(words), "missing \"\(words)\" in: \(result.standardOutput)")
        }
    }

    @Test func unknownCommandKeepsTheFirstError() throws {
        let result = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["unknown"])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        #expect(result.standardOutput.contains("unknownCommand (code 1") && result.standardOutput.contains("command #2"))
        #expect(result.standardOutput.contains("funct 99, rs1 0x1234, rs2 0x5678"))
    }

    @Test func aHangIsReportedNotHung() throws {
        let result = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["cycle-limit"])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        #expect(result.standardOutput.contains("cycle limit: spinel_fence saw no progress for 10 cycles"))
        #expect(result.standardOutput.contains("1 read and 0 write bursts outstanding"))
    }

    /// Progress lines: the harness looks at the clock every 4,096 cycles; the first look starts
    /// the clock, each later one prints (the pace, 1 µs, has always passed), so the lines name
    /// the cycles 8192, 12288, … up to the end of the run.
    @Test func progressLines() throws {
        let result = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["progress"])
        #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
        let total = result.standardOutput.split(separator: "\n").first { $0.hasPrefix("cycles=") }
            .flatMap { Int($0.dropFirst("cycles=".count)) } ?? 0
        #expect(total > 20_000, "\(result.standardOutput)")
        let lines = result.standardError.split(separator: "\n").filter { $0.hasPrefix("spinel: cycle ") }
        let cycles = lines.compactMap { $0.dropFirst("spinel: cycle ".count).split(separator: ",").first.flatMap { Int($0) } }
        #expect(cycles == Array(stride(from: 8192, through: total, by: 4096)), "\(result.standardError)")
        #expect(lines.allSatisfy { $0.contains(" kHz, commands taken: 1") }, "\(result.standardError)")
    }

    /// Latency and bandwidth as specified: a TOUCH of one beat takes exactly `latency` more
    /// cycles per cycle of latency; four beats at a quarter of the bus width per cycle arrive
    /// every 4 cycles instead of every cycle (the first beat uses the full bucket).
    @Test func memoryLatencyAndBandwidth() throws {
        let executable = try HarnessTestSupport.selftest()
        func cycles(_ arguments: [String]) throws -> Int {
            let result = try HarnessBuild.run(executable, ["timing", "/dev/null"] + arguments)
            #expect(result.succeeded, "\(HarnessTestSupport.describe(result))")
            let line = result.standardOutput.split(separator: "\n").first { $0.hasPrefix("cycles=") }
            return Int(line?.dropFirst(7) ?? "") ?? -1
        }
        let fast = try cycles(["20", "8", "8"]), slow = try cycles(["60", "8", "8"])
        #expect(slow - fast == 40)
        let wide = try cycles(["20", "8", "32"]), narrow = try cycles(["20", "2", "32"])
        #expect(narrow - wide == 9)
        // The configuration's defaults (latency 20, 8 B per cycle) when no option is given.
        #expect(try cycles([]) == fast)
    }

    @Test func configurationMismatchIsDetected() throws {
        var other = AcceleratorConfig.small
        other.memory.latencyCycles = 21
        let otherParameters = try other.parameters()
        let executable = try HarnessTestSupport.selftest(harnessFrom: otherParameters)
        let result = try HarnessBuild.run(executable, ["create"])
        #expect(!result.signaled && result.status == 3, "\(HarnessTestSupport.describe(result))")
        #expect(result.standardError.contains("configuration mismatch"))
        #expect(result.standardError.contains("0x\(HarnessTestSupport.small.hash)"))
        #expect(result.standardError.contains("0x\(otherParameters.hash)"))
        #expect(!result.standardOutput.contains("created"))
        // The matching harness starts.
        let matching = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["create"])
        #expect(matching.succeeded && matching.standardOutput.contains("created: 0 config=SpinelSmall"))
    }

    @Test func waveforms() throws {
        let directory = try HarnessTestSupport.temporaryDirectory("vcd")
        defer { try? FileManager.default.removeItem(at: directory) }
        let vcd = directory.appendingPathComponent("run.vcd")
        let unsupported = try HarnessBuild.run(try HarnessTestSupport.selftest(), ["waveform", vcd.path])
        #expect(unsupported.succeeded && unsupported.standardOutput.contains("waveform unsupported"),
                "\(HarnessTestSupport.describe(unsupported))")
        #expect(unsupported.standardError.contains("built without tracing"))

        let traced = try HarnessBuild.run(try HarnessTestSupport.selftest(waveforms: .vcd), ["waveform", vcd.path])
        #expect(traced.succeeded, "\(HarnessTestSupport.describe(traced))")
        let text = try String(contentsOf: vcd, encoding: .utf8)
        #expect(text.contains("$enddefinitions") && text.contains("cmd_valid") && text.contains("axi_r_bits_data"))
        // A model that writes VCD refuses a file named for FST (and the other way round).
        let misnamed = try HarnessBuild.run(try HarnessTestSupport.selftest(waveforms: .vcd),
                                            ["waveform", directory.appendingPathComponent("run.fst").path])
        #expect(misnamed.standardError.contains("must be named *.vcd"), "\(HarnessTestSupport.describe(misnamed))")
    }

    /// The cycle window: the harness dumps at `(4 reset cycles + cycle) × 10` (clock low) and
    /// `+ 5` (clock high), so cycles 5 ..< 12 are the times 90 … 155 and nothing else.
    @Test func waveformWindow() throws {
        let directory = try HarnessTestSupport.temporaryDirectory("vcd-window")
        defer { try? FileManager.default.removeItem(at: directory) }
        let vcd = directory.appendingPathComponent("window.vcd")
        let traced = try HarnessBuild.run(try HarnessTestSupport.selftest(waveforms: .vcd), ["waveform", vcd.path, "5", "12"])
        #expect(traced.succeeded, "\(HarnessTestSupport.describe(traced))")
        let times = try String(contentsOf: vcd, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("#") }.compactMap { Int($0.dropFirst()) }
        #expect(times == Array(stride(from: 90, through: 155, by: 5)), "\(times)")
        let empty = try HarnessBuild.run(try HarnessTestSupport.selftest(waveforms: .vcd), ["waveform", vcd.path, "12", "5"])
        #expect(empty.standardError.contains("is empty"), "\(HarnessTestSupport.describe(empty))")
    }

    /// FST (`--trace-fst`): the file starts with FST's header block (type 0, a 329-byte section)
    /// and holds a signal name of the top level.
    @Test func fstWaveforms() throws {
        let directory = try HarnessTestSupport.temporaryDirectory("fst")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fst = directory.appendingPathComponent("run.fst")
        let traced = try HarnessBuild.run(try HarnessTestSupport.selftest(waveforms: .fst), ["waveform", fst.path])
        #expect(traced.succeeded, "\(HarnessTestSupport.describe(traced))")
        let bytes = [UInt8](try Data(contentsOf: fst))
        #expect(bytes.count > 329 && bytes[0] == 0 && bytes[1...8] == [0, 0, 0, 0, 0, 0, 0x01, 0x49][...],
                "header \(bytes.prefix(9))")
    }

    @Test func buildsAreCached() throws {
        let design = try Elaborator.elaborate(HarnessStandIn(HarnessTestSupport.small))
        _ = try HarnessTestSupport.selftest()
        let again = try HarnessBuild.executable(verilog: VerilogEmitter().emit(design), top: design.top.name,
                                                harness: HarnessGenerator.files(for: HarnessTestSupport.small),
                                                sources: [HarnessTestSupport.selftestDirectory.appendingPathComponent("selftest.c")],
                                                name: "harness_selftest")
        #expect(again.cached && again.model.cached)
        #expect(again.path == (try HarnessTestSupport.selftest()))
    }

    /// Issue 11, bug 4 (issue 14, point 4): a header outside the testbench's folder
    /// (`../common/x.h`, as Testbenches/common/testbench.h is), in an include directory, or in a
    /// folder below the testbench's (`include/sub.h`) changes: the next build must not come from
    /// the cache.
    @Test func aChangedHeaderAnywhereRebuilds() throws {
        let design = try Elaborator.elaborate(HarnessStandIn(HarnessTestSupport.small))
        let model = try HarnessBuild.model(verilog: VerilogEmitter().emit(design), top: design.top.name)
        let root = try HarnessTestSupport.temporaryDirectory("deps")
        defer { try? FileManager.default.removeItem(at: root) }
        let bench = root.appendingPathComponent("bench"), common = root.appendingPathComponent("common")
        let include = root.appendingPathComponent("include"), subfolder = bench.appendingPathComponent("include")
        for directory in [bench, common, include, subfolder] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        let source = bench.appendingPathComponent("values.c")
        // A unique value per run, so an entry cached by an earlier test run cannot answer.
        let salt = UInt32.random(in: 1...1_000_000)
        try """
            #include <stdio.h>
            #include "../common/parent.h"
            #include "x.h"
            #include "include/sub.h"
            int main(void) { printf("%d %d %d %u\\n", PARENT, INCLUDED, SUB, \(salt)u); return 0; }

            """.write(to: source, atomically: true, encoding: .utf8)
        func build(parent: Int, included: Int, sub: Int = 1) throws -> (cached: Bool, output: String) {
            try "#define PARENT \(parent)\n".write(to: common.appendingPathComponent("parent.h"), atomically: true, encoding: .utf8)
            try "#define INCLUDED \(included)\n".write(to: include.appendingPathComponent("x.h"), atomically: true, encoding: .utf8)
            try "#define SUB \(sub)\n".write(to: subfolder.appendingPathComponent("sub.h"), atomically: true, encoding: .utf8)
            let built = try HarnessBuild.executable(model: model, harness: HarnessGenerator.files(for: HarnessTestSupport.small),
                                                    sources: [source], name: "header_values", includeDirectories: [include])
            let run = try HarnessBuild.run(built.path)
            return (built.cached, run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let first = try build(parent: 1, included: 1)
        #expect(!first.cached && first.output == "1 1 1 \(salt)")
        #expect(try build(parent: 1, included: 1) == (true, "1 1 1 \(salt)"))
        let parentChanged = try build(parent: 2, included: 1)
        #expect(!parentChanged.cached && parentChanged.output == "2 1 1 \(salt)")
        let includeChanged = try build(parent: 2, included: 3)
        #expect(!includeChanged.cached && includeChanged.output == "2 3 1 \(salt)")
        // Issue 14: include/sub.h in a folder below the testbench's (issue 11's case) changes.
        let subfolderChanged = try build(parent: 2, included: 3, sub: 4)
        #expect(!subfolderChanged.cached && subfolderChanged.output == "2 3 4 \(salt)")
        // Back to an earlier state: that build is still in the cache.
        #expect(try build(parent: 1, included: 1) == (true, "1 1 1 \(salt)"))
    }

    /// Issue 11: a testbench that crashes is reported with the signal and the last command.
    @Test func aCrashingTestbenchNamesTheSignalAndTheLastCommand() throws {
        let design = try Elaborator.elaborate(HarnessStandIn(HarnessTestSupport.small))
        let directory = try HarnessTestSupport.temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("crash.c")
        try """
            #include <stdlib.h>
            #include "gemmini.h"
            #include "spinel.h"
            int main(int argc, char **argv) {
                gemmini_flush(0);               /* command #0 */
                gemmini_flush(1);               /* command #1, the last one */
                if (argc > 1) abort();
                volatile int *nowhere = (volatile int *)(size_t)(argc - 1);
                return *nowhere;
            }

            """.write(to: source, atomically: true, encoding: .utf8)
        let built = try HarnessBuild.executable(verilog: VerilogEmitter().emit(design), top: design.top.name,
                                                harness: HarnessGenerator.files(for: HarnessTestSupport.small),
                                                sources: [source], name: "crash")
        let segfault = try HarnessBuild.run(built.path)
        #expect(segfault.signaled && segfault.status == SIGSEGV && segfault.shellStatus == 128 + SIGSEGV)
        #expect(segfault.signalDescription == "signal 11 (SIGSEGV, segmentation fault)")
        #expect(segfault.standardError.contains("the testbench crashed: signal 11 (SIGSEGV, segmentation fault) after issuing command #1 FLUSH (funct 7, rs1 0x1, rs2 0x0)"),
                "\(segfault.standardError)")
        let abort = try HarnessBuild.run(built.path, ["abort"])
        #expect(abort.signaled && abort.status == SIGABRT)
        #expect(abort.standardError.contains("signal 6 (SIGABRT, abort) after issuing command #1 FLUSH"), "\(abort.standardError)")
    }

    @Test func makeRuleDependenciesAreParsed() throws {
        let rule = "0-a.o: /x/a.c /x/b\\ c.h \\\n /usr/include/stdio.h\n"
        #expect(try HarnessBuild.dependencies(inMakeRule: rule) == ["/x/a.c", "/x/b c.h", "/usr/include/stdio.h"])
        #expect(throws: ToolError.self) { try HarnessBuild.dependencies(inMakeRule: "garbage") }
    }
}
