// swift-tools-version: 6.0
import CompilerPluginSupport
import PackageDescription

// Layers, bottom to top; each target depends only on the ones above it in this list.
//   CGMP               GMP through a system library (arbitrary-precision constants)
//   SpinelMacros       the compiler plugin behind `@Bundle` (a bundle's fields declared once)
//   SpinelHDL          IR, builder DSL, elaboration checks, Verilog emitter, standard library of blocks
//   SpinelSim          Verilator/Yosys/Icarus drivers: simulate a module from Swift, lint and synthesize output
//   SpinelISA          what the hardware and the golden model agree on: configurations and their derived
//                      parameters, the command set (functs, field positions, error codes, activations,
//                      normalization commands, local addresses) and the pipeline constants of the timing model
//   SpinelAccelerator  the accelerator generator (hardware modules, harness emitters)
//   SpinelGolden       the golden model: numerics, ISA interpreter, timing model, trace replay
//                      (SpinelISA, not SpinelAccelerator: it never reads the hardware's modules)
//   SpinelFuzz         random differential testing: program generator, RTL vs golden runner
//   SpinelModel        Hugging Face BERT models: safetensors, WordPiece, float reference forward pass
//                      (Foundation only; independent of the hardware)
//   SpinelMapping      a BERT model quantized and mapped onto accelerator commands, run on the golden
//                      model or the RTL (program_runner) and compared with the float reference
//   SpinelExplore      design-space exploration: points, golden-timing cycles, area model, tables, report
//   spinel             the command-line tool
let package = Package(
    name: "Spinel",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "spinel", targets: ["spinel"]),
        .library(name: "SpinelHDL", targets: ["SpinelHDL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
    ],
    targets: [
        .systemLibrary(name: "CGMP", providers: [.apt(["libgmp-dev"]), .brew(["gmp"])]),
        .macro(name: "SpinelMacros", dependencies: [
            .product(name: "SwiftSyntax", package: "swift-syntax"),
            .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
            .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
        ]),
        .target(name: "SpinelHDL", dependencies: ["CGMP", "SpinelMacros"]),
        .target(name: "SpinelSim", dependencies: ["SpinelHDL"]),
        .target(name: "SpinelISA", dependencies: ["SpinelHDL"]),
        // The harness's static C and C++ (Harness/Static/), embedded at build time.
        .target(name: "SpinelAccelerator", dependencies: ["SpinelHDL", "SpinelISA"],
                resources: [
                    .embedInCode("Harness/Static/spinel.h"),
                    .embedInCode("Harness/Static/rocc.h"),
                    .embedInCode("Harness/Static/rocc-software/src/xcustom.h"),
                    .embedInCode("Harness/Static/gemmini.h"),
                    .embedInCode("Harness/Static/spinel_tiled.h"),
                    .embedInCode("Harness/Static/spinel_library.h"),
                    .embedInCode("Harness/Static/gemmini_testutils.h"),
                    .embedInCode("Harness/Static/spinel_reference.h"),
                    .embedInCode("Harness/Static/spinel_axi_memory.h"),
                    .embedInCode("Harness/Static/spinel_harness.cpp"),
                ]),
        // Optimized in debug builds too: the model tests run MiniLM's layers on the golden model.
        .target(name: "SpinelGolden", dependencies: ["SpinelISA"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "SpinelFuzz", dependencies: ["SpinelAccelerator", "SpinelGolden", "SpinelSim"]),
        // Optimized in debug builds too: the tests run MiniLM's forward pass (minutes at -Onone).
        .target(name: "SpinelModel", swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Optimized in debug builds too: the tests run the golden model over MiniLM's layers.
        .target(name: "SpinelMapping", dependencies: ["SpinelAccelerator", "SpinelGolden", "SpinelFuzz", "SpinelSim", "SpinelModel"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "SpinelExplore", dependencies: ["SpinelAccelerator", "SpinelGolden", "SpinelSim"]),
        .executableTarget(
            name: "spinel",
            dependencies: [
                "SpinelHDL", "SpinelSim", "SpinelAccelerator", "SpinelGolden", "SpinelFuzz", "SpinelModel", "SpinelMapping", "SpinelExplore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SpinelHDLTests", dependencies: ["SpinelHDL"]),
        .testTarget(name: "SpinelMacrosTests", dependencies: [
            "SpinelMacros",
            .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
            .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
        ]),
        .testTarget(name: "SpinelLibraryTests", dependencies: ["SpinelHDL", "SpinelSim"]),
        .testTarget(name: "SpinelAcceleratorTests", dependencies: ["SpinelISA", "SpinelAccelerator", "SpinelGolden", "SpinelSim"]),
        .testTarget(name: "SpinelGoldenTests", dependencies: ["SpinelGolden", "SpinelAccelerator", "SpinelSim"]),
        .testTarget(name: "SpinelFuzzTests", dependencies: ["SpinelFuzz", "SpinelGolden", "SpinelAccelerator", "SpinelSim"]),
        .testTarget(name: "SpinelModelTests", dependencies: ["SpinelModel", "SpinelSim", "SpinelMapping", "SpinelAccelerator", "SpinelGolden"]),
        .testTarget(name: "SpinelExploreTests", dependencies: ["SpinelExplore", "SpinelAccelerator", "SpinelGolden", "SpinelHDL", "SpinelSim"]),
        .testTarget(name: "OutputQualityTests", dependencies: ["SpinelHDL", "SpinelSim", "SpinelAccelerator"]),
    ]
)
