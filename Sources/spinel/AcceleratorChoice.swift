import ArgumentParser
import Foundation
import SpinelAccelerator

/// `--preset` and `--config` as `generate`, `sim`, `fuzz` and `check` read them: one rule for all.
enum AcceleratorChoice {
    /// For `validate()`: both at once is a usage error.
    static func validate(preset: AcceleratorConfig.Preset?, config: String?) throws {
        do {
            try AcceleratorConfig.checkChoice(preset: preset, configFile: config)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Foundation's file errors ("The file “x” couldn't be saved") become a message that names the
/// path, what was being done there and the fix; every other error passes through unchanged.
func explainingFileErrors<T>(writing path: String, option: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as NSError where error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain {
        throw FileProblem(path: path, problem: "cannot write \(option) \(path): \(error.localizedDescription)",
                          fix: "choose an \(option) path in a directory you can write, with no file in the way")
    }
}
