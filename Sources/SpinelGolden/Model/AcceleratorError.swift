/// The error the accelerator latches when it rejects a command (docs/ACCELERATOR.md, "Errors").
/// The hardware reports `code` and `commandIndex` through `error_info`; `reason` is the golden
/// model's explanation in words, for reports.
public struct AcceleratorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error codes of docs/ACCELERATOR.md (SpinelISA); the raw value is the code in `error_info`.
    public typealias Code = ErrorCode

    public var code: Code
    /// Which command failed, counting every command the port accepted from 0.
    public var commandIndex: UInt64
    public var reason: String

    public init(code: Code, commandIndex: UInt64, reason: String) {
        self.code = code
        self.commandIndex = commandIndex
        self.reason = reason
    }

    /// `code << 56 | command index`, as the hardware's `error_info` register holds it.
    public var info: UInt64 { UInt64(code.rawValue) << 56 | (commandIndex & (1 << 56 - 1)) }

    public var description: String { "command \(commandIndex): \(code) — \(reason)" }
}

/// Why one command is rejected, before the model knows its index. `GoldenModel` turns it into
/// the latched `AcceleratorError`.
public struct CommandRejection: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: AcceleratorError.Code
    public var reason: String

    public init(_ code: AcceleratorError.Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}

/// A problem of the golden model itself, not of the program it runs: the model stops instead of
/// guessing.
public enum GoldenModelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The command is legal, but the model does not implement it yet.
    case notImplemented(String)

    public var description: String {
        switch self {
        case .notImplemented(let feature): "the golden model does not implement \(feature) yet"
        }
    }
}
