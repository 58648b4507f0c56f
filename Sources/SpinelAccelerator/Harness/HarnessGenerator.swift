import SpinelHDL

/// The C testbench harness of one configuration (docs/ARCHITECTURE.md, "What spinel generate writes"):
///
/// - `gemmini_params.h`: the parameter header (`GemminiParamsHeader`), the only part that
///   depends on the configuration;
/// - `spinel_isa.h` and `gemmini_counter.h`: Spinel's command encodings beyond Gemmini's
///   (`ISAHeader`) and the performance-counter events (`CounterHeader`), written from the Swift
///   definitions the hardware and the golden model use;
/// - `spinel.h`: the C API (create/destroy, issue, fence, cycles, trace and waveform switches,
///   errors in words);
/// - `rocc.h` and `gemmini.h`: the RoCC shim and Gemmini's command macros, so that a
///   Gemmini-style kernel compiles unchanged;
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

    /// The files that are the same for every configuration: real C and C++ in `Harness/Static/`,
    /// embedded in the package at build time (`Package.swift`: `.embedInCode`), written out as they are.
    public static let staticFiles: [GeneratedFile] = [
        ("spinel.h", PackageResources.spinel_h),
        ("rocc.h", PackageResources.rocc_h),
        ("rocc-software/src/xcustom.h", PackageResources.xcustom_h),
        ("gemmini.h", PackageResources.gemmini_h),
        ("spinel_tiled.h", PackageResources.spinel_tiled_h),
        ("spinel_library.h", PackageResources.spinel_library_h),
        ("gemmini_testutils.h", PackageResources.gemmini_testutils_h),
        ("spinel_reference.h", PackageResources.spinel_reference_h),
        ("spinel_axi_memory.h", PackageResources.spinel_axi_memory_h),
        ("spinel_harness.cpp", PackageResources.spinel_harness_cpp),
    ].map { GeneratedFile(name: $0.0, contents: String(decoding: $0.1, as: UTF8.self)) }

    /// Every harness file of the configuration: the generated headers, then the static files.
    public static func files(for parameters: AcceleratorParameters) -> [GeneratedFile] {
        [GeneratedFile(name: GemminiParamsHeader.fileName, contents: GemminiParamsHeader.render(parameters)),
         GeneratedFile(name: ISAHeader.fileName, contents: ISAHeader.render()),
         GeneratedFile(name: CounterHeader.fileName, contents: CounterHeader.render() + "\n")] + staticFiles
    }
}
