import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim

/// A second simulator for the differential test: runs a program file under Icarus Verilog with a
/// generated behavioural testbench, and checks that the DRAM buffer ends as the Verilator run's
/// and the golden model's did.
///
/// The C harness is Verilator-specific, so the testbench is plain Verilog-2005: it reads the
/// commands (relocated onto `base`) and the initial buffer with `$readmemh`, offers each command
/// on the `cmd` port until `cmd_ready`, waits at fences and at the end until the accelerator and
/// the memory are idle, and writes the buffer in `program_runner --dump`'s format. Its AXI4 slave
/// serves every burst after a fixed latency, one beat per cycle, reads and writes each in order.
/// The testbench is compiled once per configuration (`vvp` file in `directory`); files are
/// chosen at run time with plusargs.
public struct IcarusBench: Sendable {
    public let config: AcceleratorConfig
    public let parameters: AcceleratorParameters
    let verilog: [GeneratedFile]
    let top: String

    /// Where the testbench places the buffer: page-aligned, as the runner's, so that every
    /// offset keeps its position within a page and a bus beat.
    public static let base: UInt64 = 0x1000_0000
    static let maxDRAMBytes = 65_536
    static let maxSteps = 16_384

    public init(config: AcceleratorConfig) throws {
        self.config = config
        parameters = try config.parameters()
        let inputs = try AcceleratorGeneration.simulationInputs(for: config)
        verilog = inputs.verilog
        top = inputs.top
    }

    /// Runs the program of `seed` (already checked by `DifferentialRunner`, whose program file and
    /// zero-reset dump are in `directory`) under Icarus; returns the failures, none if it agrees.
    public func check(seed: UInt64, generator: ProgramGenerator, directory: URL) throws -> [String] {
        let generated = generator.generate(seed: seed)
        let stem = directory.appendingPathComponent("seed-\(seed)-icarus")
        let image = try run(generated.program, stem: stem.path, in: directory)
        var failures: [String] = []
        if let difference = DifferentialRunner.firstDifference(generated.expectedDRAM, image.dram) {
            failures.append("Icarus: the final DRAM buffer differs from the golden model's at offset 0x\(String(difference, radix: 16)) "
                            + "(golden 0x\(String(generated.expectedDRAM[difference], radix: 16)), Icarus 0x\(String(image.dram[difference], radix: 16)))")
        }
        let verilatorDump = directory.appendingPathComponent("seed-\(seed).dram")
        if let text = try? String(contentsOf: verilatorDump, encoding: .utf8) {
            let verilator = try CommandProgram.parseImage(text, size: generated.program.dram.count, name: verilatorDump.path)
            if let difference = DifferentialRunner.firstDifference(verilator, image.dram) {
                failures.append("Icarus: the final DRAM buffer differs from the Verilator run's at offset 0x\(String(difference, radix: 16))")
            }
        }
        if let error = image.error { failures.append("Icarus: the accelerator reports \(error)") }
        return failures
    }

    public static func removeFiles(seed: UInt64, in directory: URL) throws {
        for suffix in ["steps.hex", "dram.hex", "dump", "log"] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("seed-\(seed)-icarus.\(suffix)"))
        }
    }

    public struct Image: Sendable {
        public var dram: [UInt8]
        /// `error_info` in words when the accelerator raised an error.
        public var error: String?
        public var cycles: UInt64?
    }

    /// Simulates `program`; files are `stem`.steps.hex, .dram.hex, .dump, .log.
    public func run(_ program: CommandProgram, stem: String, in directory: URL) throws -> Image {
        guard program.dram.count <= Self.maxDRAMBytes, program.steps.count < Self.maxSteps else {
            throw ToolError(tool: "IcarusBench", message: "the program is too large for the Icarus testbench (at most \(Self.maxDRAMBytes) DRAM bytes, \(Self.maxSteps - 1) steps)")
        }
        let simulation = try compiled(in: directory)
        let steps = program.steps.map { step -> String in
            switch step {
            case .fence:
                return "8" + String(repeating: "0", count: 33)
            case .command(let instruction):
                let (rs1, rs2) = instruction.relocated(to: Self.base)
                return Self.hexWord(UInt64(instruction.funct), digits: 2) + Self.hexWord(rs1, digits: 16) + Self.hexWord(rs2, digits: 16)
            }
        }
        try (steps.joined(separator: "\n") + "\n").write(toFile: stem + ".steps.hex", atomically: true, encoding: .utf8)
        try (program.dram.map { Self.hexWord(UInt64($0), digits: 2) }.joined(separator: "\n") + "\n")
            .write(toFile: stem + ".dram.hex", atomically: true, encoding: .utf8)
        let result = try Tools.run("vvp", ["-n", simulation.path, "+steps=\(stem).steps.hex", "+nsteps=\(program.steps.count)",
                                           "+dram=\(stem).dram.hex", "+nbytes=\(program.dram.count)", "+dump=\(stem).dump"], in: directory)
        try result.output.write(toFile: stem + ".log", atomically: true, encoding: .utf8)
        guard result.succeeded, let dump = try? String(contentsOfFile: stem + ".dump", encoding: .utf8) else {
            throw ToolError(tool: "vvp", message: "the Icarus simulation of \(stem) failed:\n\(result.output)")
        }
        let dram = try CommandProgram.parseImage(dump, size: program.dram.count, name: stem + ".dump")
        let error = result.output.split(separator: "\n").first { $0.hasPrefix("ERROR") }.map(String.init)
        let cycles = result.output.split(separator: "\n").first { $0.hasPrefix("DONE") }
            .flatMap { $0.split(separator: " ").last.flatMap { UInt64($0) } }
        if result.output.contains("TIMEOUT") {
            throw ToolError(tool: "vvp", message: "the Icarus simulation of \(stem) timed out:\n\(result.output)")
        }
        return Image(dram: dram, error: error, cycles: cycles)
    }

    /// The testbench and the accelerator compiled with `iverilog -g2005`, once per configuration
    /// and testbench text.
    func compiled(in directory: URL) throws -> URL {
        let testbench = Self.testbench(top: top, ports: try ports(), latency: parameters.config.memory.latencyCycles)
        var hasher = StableHash()
        hasher.add(testbench)
        for file in verilog { hasher.add(file.name); hasher.add(file.contents) }
        let output = directory.appendingPathComponent("icarus-\(top)-\(hasher.hex).vvp")
        if FileManager.default.fileExists(atPath: output.path) { return output }
        let sources = directory.appendingPathComponent("icarus-\(top)-\(hasher.hex)-src")
        try OutputChecks.write(verilog + [GeneratedFile(name: "spinel_program_tb.v", contents: testbench)], to: sources)
        let staging = output.path + ".\(UUID().uuidString)"
        let result = try Tools.run("iverilog", ["-g2005", "-s", "spinel_program_tb", "-o", staging, "spinel_program_tb.v", "-c", "\(top).f"],
                                   in: sources)
        guard result.succeeded else { throw ToolError(tool: "iverilog -g2005", message: result.output) }
        try? FileManager.default.removeItem(at: sources)
        try FileManager.default.moveItem(atPath: staging, toPath: output.path)
        return output
    }

    /// The top module's ports (name, width, input?) from its Verilog header.
    func ports() throws -> [(name: String, width: Int, isInput: Bool)] {
        guard let file = verilog.first(where: { $0.name == "\(top).v" }) else {
            throw ToolError(tool: "IcarusBench", message: "no \(top).v among the generated files")
        }
        var ports: [(String, Int, Bool)] = []
        for line in file.contents.split(separator: "\n") {
            let words = line.replacingOccurrences(of: ",", with: " ").split(separator: " ").map(String.init)
            guard let direction = words.first, direction == "input" || direction == "output", words.count >= 3 else { continue }
            var width = 1
            if let range = words.first(where: { $0.hasPrefix("[") }) {
                width = (Int(range.dropFirst().split(separator: ":")[0]) ?? 0) + 1
            }
            ports.append((words.last!, width, direction == "input"))
        }
        return ports
    }

    static func hexWord(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension IcarusBench {
    /// The Verilog-2005 testbench: command driver, AXI4 slave memory, final dump.
    static func testbench(top: String, ports: [(name: String, width: Int, isInput: Bool)], latency: Int) -> String {
        let declarations = ports.filter { $0.name != "clock" && $0.name != "reset" }.map { port in
            "  \(port.isInput ? "reg " : "wire") \(port.width > 1 ? "[\(port.width - 1):0] " : "")\(port.name);"
        }.joined(separator: "\n")
        let connections = ports.map { "    .\($0.name)(\($0.name))" }.joined(separator: ",\n")
        let busBytes = (ports.first { $0.name == "axi_r_bits_data" }?.width ?? 64) / 8
        let idBits = ports.first { $0.name == "axi_r_bits_id" }?.width ?? 1
        return """
        // Behavioural testbench of \(top) for Icarus Verilog (generated by SpinelFuzz.IcarusBench).
        // Plusargs: +steps=FILE +nsteps=N (136-bit words: fence<<135 | funct<<128 | rs1<<64 | rs2)
        //           +dram=FILE +nbytes=N (one byte a line) +dump=FILE (the buffer at the end).
        `timescale 1ns/1ps
        module spinel_program_tb;
          localparam BUS = \(busBytes);
          localparam ID = \(idBits);
          localparam LATENCY = \(latency);
          localparam [63:0] BASE = 64'h\(String(base, radix: 16));
          localparam MAX_BYTES = \(maxDRAMBytes);
          localparam MAX_STEPS = \(maxSteps);
          localparam DEPTH = 64;
          localparam CYCLE_LIMIT = 2000000;

          reg clock = 1'b0;
          reg reset = 1'b1;
          always #5 clock = ~clock;

        \(declarations)

          \(top) dut (
        \(connections)
          );

          reg [7:0] dram [0:MAX_BYTES - 1];
          reg [135:0] steps [0:MAX_STEPS - 1];
          integer step_count, byte_count;
          reg [1023:0] steps_file, dram_file, dump_file;

          function [7:0] peek;
            input [63:0] address;
            begin
              if (address >= BASE && address - BASE < byte_count) peek = dram[address - BASE];
              else peek = 8'h00;
            end
          endfunction

          // ---- AXI4 slave: reads ----
          reg [63:0] ar_addr [0:DEPTH - 1];
          reg [7:0] ar_len [0:DEPTH - 1];
          reg [ID - 1:0] ar_id [0:DEPTH - 1];
          reg [63:0] ar_due [0:DEPTH - 1];
          integer ar_head, ar_tail, r_beat;
          // ---- writes ----
          reg [63:0] aw_addr [0:DEPTH - 1];
          reg [ID - 1:0] aw_id [0:DEPTH - 1];
          integer aw_head, aw_tail, w_beat;
          reg [8 * BUS - 1:0] w_data [0:DEPTH - 1];
          reg [BUS - 1:0] w_strb [0:DEPTH - 1];
          reg w_last [0:DEPTH - 1];
          integer w_head, w_tail;
          reg [ID - 1:0] b_pending_id [0:DEPTH - 1];
          reg [63:0] b_due [0:DEPTH - 1];
          integer b_head, b_tail;
          reg [63:0] cycle;
          integer k, step, idle, offset;
          reg [63:0] beat_address;
          reg [135:0] current;

          wire memory_idle = ar_head == ar_tail && !axi_r_valid && aw_head == aw_tail && w_head == w_tail
                             && b_head == b_tail && !axi_b_valid;
          wire quiet = !busy && memory_idle && !cmd_valid;


          initial begin
            if (!$value$plusargs("steps=%s", steps_file) || !$value$plusargs("nsteps=%d", step_count)
                || !$value$plusargs("dram=%s", dram_file) || !$value$plusargs("nbytes=%d", byte_count)
                || !$value$plusargs("dump=%s", dump_file)) begin
              $display("usage: vvp SIM +steps=FILE +nsteps=N +dram=FILE +nbytes=N +dump=FILE");
              $finish;
            end
            if (step_count > 0) $readmemh(steps_file, steps, 0, step_count - 1);
            $readmemh(dram_file, dram, 0, byte_count - 1);
            cmd_valid = 1'b0; cmd_bits_funct = 7'd0; cmd_bits_rs1 = 64'd0; cmd_bits_rs2 = 64'd0;
            axi_r_valid = 1'b0; axi_r_bits_id = 0; axi_r_bits_data = 0; axi_r_bits_resp = 2'd0; axi_r_bits_last = 1'b0;
            axi_b_valid = 1'b0; axi_b_bits_id = 0; axi_b_bits_resp = 2'd0;
            axi_ar_ready = 1'b0; axi_aw_ready = 1'b0; axi_w_ready = 1'b0;
            ar_head = 0; ar_tail = 0; r_beat = 0; aw_head = 0; aw_tail = 0; w_beat = 0; w_head = 0; w_tail = 0;
            b_head = 0; b_tail = 0; cycle = 0; step = 0; idle = 0;
            repeat (4) @(posedge clock);
            #1 reset = 1'b0;
          end

          always @(posedge clock) if (!reset) begin
            cycle <= cycle + 1;
            if (cycle > CYCLE_LIMIT) begin
              $display("TIMEOUT after %0d cycles at step %0d", cycle, step);
              $finish;
            end

            // Reads: accept, then answer each burst LATENCY cycles later, one beat a cycle.
            if (axi_ar_valid && axi_ar_ready) begin
              ar_addr[ar_tail % DEPTH] = axi_ar_bits_addr;
              ar_len[ar_tail % DEPTH] = axi_ar_bits_len;
              ar_id[ar_tail % DEPTH] = axi_ar_bits_id;
              ar_due[ar_tail % DEPTH] = cycle + LATENCY;
              ar_tail = ar_tail + 1;
            end
            if (!axi_r_valid || axi_r_ready) begin
              axi_r_valid <= 1'b0;
              if (ar_head != ar_tail && cycle >= ar_due[ar_head % DEPTH]) begin
                beat_address = (ar_addr[ar_head % DEPTH] & ~(BUS - 1)) + r_beat * BUS;
                for (k = 0; k < BUS; k = k + 1) axi_r_bits_data[8 * k +: 8] <= peek(beat_address + k);
                axi_r_valid <= 1'b1;
                axi_r_bits_id <= ar_id[ar_head % DEPTH];
                axi_r_bits_resp <= 2'd0;
                axi_r_bits_last <= r_beat == ar_len[ar_head % DEPTH];
                if (r_beat == ar_len[ar_head % DEPTH]) begin
                  r_beat = 0;
                  ar_head = ar_head + 1;
                end else begin
                  r_beat = r_beat + 1;
                end
              end
            end

            // Writes: addresses and beats queue separately; one beat a cycle goes to memory; the B
            // response follows LATENCY cycles after a burst's last beat.
            if (axi_aw_valid && axi_aw_ready) begin
              aw_addr[aw_tail % DEPTH] = axi_aw_bits_addr;
              aw_id[aw_tail % DEPTH] = axi_aw_bits_id;
              aw_tail = aw_tail + 1;
            end
            if (axi_w_valid && axi_w_ready) begin
              w_data[w_tail % DEPTH] = axi_w_bits_data;
              w_strb[w_tail % DEPTH] = axi_w_bits_strb;
              w_last[w_tail % DEPTH] = axi_w_bits_last;
              w_tail = w_tail + 1;
            end
            if (aw_head != aw_tail && w_head != w_tail) begin
              beat_address = (aw_addr[aw_head % DEPTH] & ~(BUS - 1)) + w_beat * BUS;
              for (k = 0; k < BUS; k = k + 1)
                if (w_strb[w_head % DEPTH][k] && beat_address + k >= BASE && beat_address + k - BASE < byte_count)
                  dram[beat_address + k - BASE] = w_data[w_head % DEPTH][8 * k +: 8];
              if (w_last[w_head % DEPTH]) begin
                b_pending_id[b_tail % DEPTH] = aw_id[aw_head % DEPTH];
                b_due[b_tail % DEPTH] = cycle + LATENCY;
                b_tail = b_tail + 1;
                aw_head = aw_head + 1;
                w_beat = 0;
              end else begin
                w_beat = w_beat + 1;
              end
              w_head = w_head + 1;
            end
            if (!axi_b_valid || axi_b_ready) begin
              axi_b_valid <= 1'b0;
              if (b_head != b_tail && cycle >= b_due[b_head % DEPTH]) begin
                axi_b_valid <= 1'b1;
                axi_b_bits_id <= b_pending_id[b_head % DEPTH];
                axi_b_bits_resp <= 2'd0;
                b_head = b_head + 1;
              end
            end

            // Ready for more when there is room after this cycle (registered: no race with the DUT).
            axi_ar_ready <= ar_tail - ar_head < DEPTH - 2;
            axi_aw_ready <= aw_tail - aw_head < DEPTH - 2;
            axi_w_ready <= w_tail - w_head < DEPTH - 2;

            // Commands: offer each until taken; fences and the end wait for two quiet cycles.
            if (cmd_valid && cmd_ready) begin
              cmd_valid <= 1'b0;
              step = step + 1;
            end else if (!cmd_valid && step < step_count) begin
              current = steps[step];
              if (current[135]) begin
                idle = quiet ? idle + 1 : 0;
                if (idle >= 2) begin
                  idle = 0;
                  step = step + 1;
                end
              end else begin
                cmd_valid <= 1'b1;
                cmd_bits_funct <= current[134:128];
                cmd_bits_rs1 <= current[127:64];
                cmd_bits_rs2 <= current[63:0];
              end
            end else if (step >= step_count) begin
              idle = quiet ? idle + 1 : 0;
              if (idle >= 16) begin
                k = $fopen(dump_file, "w");
                for (offset = 0; offset < byte_count; offset = offset + 1) begin
                  if (offset % 64 == 0) $fwrite(k, "data 0x%0h ", offset);
                  $fwrite(k, "%h", dram[offset]);
                  if (offset % 64 == 63 || offset == byte_count - 1) $fwrite(k, "\\n");
                end
                $fclose(k);
                if (error) $display("ERROR error_info %h", error_info);
                $display("DONE %0d", cycle);
                $finish;
              end
            end
          end
        endmodule

        """
    }
}
