import ArgumentParser
import Foundation
import SpinelAccelerator
import SpinelExplore

/// `spinel cta-area`: the CTA units' area against the array (docs/CTA-HARDWARE.md, "Area against
/// the mesh").
struct CTAAreaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cta-area",
        abstract: "Synthesize the CTA units and the array with Yosys and compare their area.",
        discussion: """
            Elaborates the array (MeshWithDelays) and each CTA unit of the configuration (hash unit, \
            cluster index, centroid aggregation, probability aggregation) at its shape, synthesizes each \
            alone with Yosys keeping memories as memories, and prints per block the generic cells, the \
            logic transistors (stat -tech cmos), the memories and their bits, the memories priced as \
            1R1W SRAM macros (the exploration's area model) and the total. Works in a fresh temporary \
            directory that it removes; writes nothing else. Takes minutes at the cta preset's shape.
            """
    )

    @Option(help: "An accelerator preset (default: cta).")
    var preset: AcceleratorConfig.Preset?

    @Option(help: "An accelerator configuration file (JSON) with a cta section, instead of --preset.")
    var config: String?

    func validate() throws {
        try AcceleratorChoice.validate(preset: preset, config: config)
    }

    func run() throws {
        let accelerator = try AcceleratorConfig.chosen(preset: preset, configFile: config, fallback: .cta)!
        guard accelerator.cta != nil else {
            throw ValidationError("configuration \(accelerator.name) has no cta section: give --preset cta or a configuration file with one")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-cta-area-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: work) }
        let blocks = try CTAArea.measure(accelerator, work: work) { block in
            FileHandle.standardError.write(Data("synthesizing \(block)\n".utf8))
        }
        print(CTAArea.table(blocks, config: accelerator.name, localMemories: AreaModel.sram(try accelerator.parameters())))
    }
}
