import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelGolden

/// `spinel check TRACE`: co-simulation check of a harness trace against the golden model
/// (docs/ARCHITECTURE.md, "Verification").
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a harness trace on the golden model: every DMA write must match bit for bit.",
        discussion: """
            TRACE is the JSON Lines file the C harness writes (SPINEL_TRACE=FILE or \
            spinel_options.trace_path; docs/MICROARCHITECTURE.md, "Harness trace"). Every command \
            runs on the golden model in order; its DMA reads are answered with the bytes the \
            hardware read (rd events), and its DMA writes must equal the strobed bytes of the \
            hardware's wr events, bit for bit. The final error state (error events) must equal \
            the golden model's.

            The report gives the number of commands, the DMA bytes read and written, MATCH or \
            MISMATCH, and for a mismatch the first one: the command index, the command in words, \
            the address, and the expected (golden) and actual (hardware) bytes. Cycles: the \
            measured ones (done − issue per command, and first issue to last retirement in total) \
            next to the golden timing model's (docs/TIMING.md), which predicts every retire cycle \
            from the configuration, the commands and their issue cycles; the report gives the \
            predicted and measured totals with the relative error, and the retire-cycle errors by \
            command kind. The memory model's settings come from the trace's memory event (older \
            traces: the configuration's). The timing does not change the verdict.

            The configuration is config.json next to the trace (as `spinel generate --out DIR` \
            writes it), unless --config or --preset names one; without either, the preset whose \
            hash the trace records (its config event). A configuration whose hash differs from \
            the trace's is refused. A trace without its end event (the testbench crashed or was \
            killed) is incomplete: exit 2.

            Exit status: 0 MATCH; 1 MISMATCH; 2 the trace or the configuration cannot be used \
            (the message names the line, the problem and the fix); 3 INCOMPLETE (the golden model \
            stopped at a command it does not implement yet, with no mismatch before it).
            """
    )

    @Argument(help: "The trace file (JSON Lines).")
    var trace: String

    @Option(help: "An accelerator configuration file (JSON; see docs/CONFIGURATION.md) instead of config.json next to the trace.")
    var config: String?

    @Option(help: "An accelerator preset instead of config.json next to the trace.")
    var preset: AcceleratorConfig.Preset?

    @Flag(help: "Leave out the per-command cycle table and the timing error table (the timing stays one line).")
    var brief = false

    @Option(help: "Problems to list after the first mismatch.")
    var maxProblems = 20

    func validate() throws {
        try AcceleratorChoice.validate(preset: preset, config: config)
    }

    func run() throws {
        let report: TraceReplayReport
        do {
            report = try TraceReplay.check(traceFile: URL(fileURLWithPath: trace),
                                           configFile: config.map { URL(fileURLWithPath: $0) }, preset: preset)
        } catch {
            FileHandle.standardError.write(Data("spinel check: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(report.render(commandTable: !brief, maximumProblems: maxProblems))
        switch report.verdict {
        case .match: return
        case .mismatch: throw ExitCode(1)
        case .incomplete: throw ExitCode(3)
        }
    }
}
