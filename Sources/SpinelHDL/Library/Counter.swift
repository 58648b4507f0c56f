extension ModuleBuilder {
    /// A register counting cycles where `increment` is high, from 0 to `limit - 1` and back to 0.
    /// Returns the count and a one-bit signal that is high in the cycle it wraps.
    public func counter(_ name: String, limit: Int, increment: Signal = true,
                        file: StaticString = #fileID, line: UInt = #line) -> (value: Signal, wrap: Signal) {
        precondition(limit >= 1, "a counter needs a limit of at least 1")
        let type = HWType.uint(HWType.addressWidth(for: limit))
        let value = register(name, type, reset: 0, file: file, line: line)
        let last = value === Signal.literal(limit - 1, type, file: file, line: line)
        when(increment, file: file, line: line) {
            // Wrapping by overflow only works when the limit fills the register (not for limit 1).
            value.set(limit == 1 << type.width ? value +% 1 : mux(last, 0, value +% 1, file: file, line: line), file: file, line: line)
        }
        return (value, increment && last)
    }
}

/// A wrapping counter as a module (`ModuleBuilder.counter` with ports), for reuse and tests.
public struct WrappingCounter: Module {
    public let limit: Int

    public init(limit: Int) { self.limit = limit }

    public var name: String { "WrappingCounter_\(limit)" }

    @Bundle
    public struct IO: Aggregate {
        @Input public var increment: Signal
        @Output public var value: Signal
        @Output public var wrap: Signal
    }

    public var io: IO {
        IO(increment: Signal(.bool), value: Signal(.uint(HWType.addressWidth(for: limit))), wrap: Signal(.bool))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let counter = m.counter("count", limit: limit, increment: io.increment)
        io.value.set(counter.value)
        io.wrap.set(counter.wrap)
    }
}
