import SpinelHDL

/// The designs `spinel generate --design` knows until the accelerator's presets exist.
public enum SampleDesign: String, CaseIterable, Sendable {
    /// A weight-stationary grid of multiply-accumulate cells (`MACArray`).
    case macArray = "mac-array"

    public var summary: String {
        switch self {
        case .macArray: "a rows × columns grid of 8-bit multiply-accumulate cells (weight-stationary)"
        }
    }

    /// Elaborates the design with the given shape.
    public func elaborate(rows: Int, columns: Int) throws -> Design {
        switch self {
        case .macArray: try Elaborator.elaborate(MACArray(rows: rows, columns: columns))
        }
    }

    /// Everything `spinel generate --design` writes: the Verilog and the manifest.
    public func files(rows: Int, columns: Int, locators: Bool = false) throws -> [GeneratedFile] {
        let design = try elaborate(rows: rows, columns: columns)
        return GeneratedManifest.adding(to: VerilogEmitter(locators: locators).emit(design),
                                        generatorVersion: AcceleratorGeneration.version,
                                        fields: ["design": rawValue, "top": design.top.name])
    }
}

extension AcceleratorConfig {
    /// Validates the configuration and elaborates its accelerator.
    public func elaborate() throws -> Design {
        try Elaborator.elaborate(Accelerator(try parameters()))
    }
}
