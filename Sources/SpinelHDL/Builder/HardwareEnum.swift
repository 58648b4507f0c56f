/// A Swift enum as hardware: state machines and command fields name their values instead of
/// numbering them by hand. Cases are encoded as their raw values (0, 1, 2, … by default) in the
/// fewest bits that hold the largest one.
///
/// ```swift
/// enum SetState: Int, HardwareEnum { case free, accepted, reading, ready }
/// let state = m.register("state", SetState.self, reset: .free)
/// m.when(state === .accepted) { state.set(.reading) }
/// ```
public protocol HardwareEnum: RawRepresentable, CaseIterable, Sendable where RawValue == Int {}

extension HardwareEnum {
    /// The unsigned type that holds every case.
    public static var type: HWType { .uint(HWType.addressWidth(for: (allCases.map(\.rawValue).max() ?? 0) + 1)) }
}

extension Signal {
    /// The case `value` as a literal of its enum's type.
    public init<E: HardwareEnum>(_ value: E, file: StaticString = #fileID, line: UInt = #line) {
        self = .literal(BigInteger(value.rawValue), E.type, file: file, line: line)
    }

    public static func === <E: HardwareEnum>(lhs: Signal, rhs: E) -> Signal { lhs === Signal(rhs) }
    public static func =/= <E: HardwareEnum>(lhs: Signal, rhs: E) -> Signal { lhs =/= Signal(rhs) }

    /// Drives this signal with the case `value`.
    public func set<E: HardwareEnum>(_ value: E, file: StaticString = #fileID, line: UInt = #line) {
        set(Signal(value, file: file, line: line), file: file, line: line)
    }
}

extension ModuleBuilder {
    /// A register holding a case of `E`, reset to `reset` if given.
    public func register<E: HardwareEnum>(_ name: String, _ enumeration: E.Type, reset: E? = nil, enable: Signal? = nil,
                                          file: StaticString = #fileID, line: UInt = #line) -> Signal {
        register(name, E.type, reset: reset.map { Signal($0, file: file, line: line) }, enable: enable, file: file, line: line)
    }
}
