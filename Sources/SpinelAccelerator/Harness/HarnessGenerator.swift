import SpinelHDL

/// The static C and C++ sources of the testbench harness (see `HarnessGenerator`).
public enum HarnessSources {}

/// The C testbench harness of one configuration (docs/ARCHITECTURE.md, "What spinel generate writes"):
///
/// - `gemmini_params.h`: the parameter header (`GemminiParamsHeader`), the only generated part;
/// - `spinel.h`: the C API (create/destroy, issue, fence, cycles, trace and waveform switches,
///   errors in words);
/// - `rocc.h` and `gemmini.h`: the RoCC shim and Gemmini's command macros, so that a
///   Gemmini-style kernel compiles unchanged; `gemmini_counter.h`: the performance-counter events;
/// - `rocc-software/src/xcustom.h`: what Gemmini's own `include/gemmini.h` includes, so that a
///   copy of Gemmini's header builds against the harness too;
/// - `spinel_tiled.h`: `tiled_matmul_auto` over LOOP_WS (or the same commands from the host),
///   output-stationary, or on the host;
/// - `spinel_library.h`: the rest of Gemmini's software library (`tiled_resadd_auto`,
///   `tiled_global_average_auto`, `tiled_norm_auto`, `tiled_matmul_nn_auto`);
/// - `gemmini_testutils.h`: the helpers of Gemmini's test programs, `read_cycles()` in simulated
///   cycles;
/// - `spinel_reference.h`: the C reference of I-GELU, LayerNorm, Softmax and `int_sqrt`, bit for
///   bit the accelerator's (docs/NUMERICS.md);
/// - `spinel_axi_memory.h`: the AXI4 memory model serving the DMA from process memory;
/// - `spinel_harness.cpp`: the Verilator driver. It expects the Verilated model under the class
///   name `Vspinel_top` (Verilator `--prefix Vspinel_top`), whatever the top module is called,
///   with the ports of docs/MICROARCHITECTURE.md, "Top-level ports".
///
/// `SpinelSim.HarnessBuild` compiles these files with a Verilated model and a C testbench.
public enum HarnessGenerator {
    /// The Verilator `--prefix` the harness expects.
    public static let modelClass = "Vspinel_top"

    /// The files that are the same for every configuration.
    public static let staticFiles: [GeneratedFile] = [
        GeneratedFile(name: "spinel.h", contents: HarnessSources.spinelHeader + "\n"),
        GeneratedFile(name: "rocc.h", contents: HarnessSources.roccHeader + "\n"),
        GeneratedFile(name: "rocc-software/src/xcustom.h", contents: HarnessSources.xcustomHeader + "\n"),
        GeneratedFile(name: "gemmini.h", contents: HarnessSources.gemminiHeader + "\n"),
        GeneratedFile(name: "gemmini_counter.h", contents: HarnessSources.counterHeader + "\n"),
        GeneratedFile(name: "spinel_tiled.h", contents: HarnessSources.tiledHeader + "\n"),
        GeneratedFile(name: "spinel_library.h", contents: HarnessSources.libraryHeader + "\n"),
        GeneratedFile(name: "gemmini_testutils.h", contents: HarnessSources.testUtilitiesHeader + "\n"),
        GeneratedFile(name: "spinel_reference.h", contents: HarnessSources.referenceHeader + "\n"),
        GeneratedFile(name: "spinel_axi_memory.h", contents: HarnessSources.axiMemoryHeader + "\n"),
        GeneratedFile(name: "spinel_harness.cpp", contents: HarnessSources.harnessSource + "\n"),
    ]

    /// Every harness file of the configuration, `gemmini_params.h` first.
    public static func files(for parameters: AcceleratorParameters) -> [GeneratedFile] {
        [GeneratedFile(name: GemminiParamsHeader.fileName, contents: GemminiParamsHeader.render(parameters))] + staticFiles
    }
}
