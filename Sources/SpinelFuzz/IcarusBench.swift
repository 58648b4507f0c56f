import Foundation
import SpinelAccelerator

/// Runs programs under Icarus Verilog (placeholder).
public struct IcarusBench: Sendable {
    public init(config: AcceleratorConfig) throws {}
    public func check(seed: UInt64, generator: ProgramGenerator, directory: URL) throws -> [String] { [] }
    public static func removeFiles(seed: UInt64, in directory: URL) throws {}
}
