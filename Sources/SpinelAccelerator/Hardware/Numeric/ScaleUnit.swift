import SpinelHDL

/// docs/NUMERICS.md's `ACC_SCALE` / `MVIN_SCALE` for one element: `sat(rne(fp32(x) ⊗ scale))`,
/// equal bit for bit to `Numerics.scale(x, by: Float(bitPattern: scale), toBits: outputWidth)`.
///
/// The accumulator read path and mvin scaling instantiate one per lane, so the unit is the
/// three conversions in a row and nothing more: `IntToFloat` → `FloatMultiply` → `FloatToInt`.
///
/// `latency` (0 ... 3) adds pipeline registers, without reset or enable (a fixed delay: the
/// caller delays its valid bit alongside). They sit, in order of need, after the multiply
/// (latency ≥ 1), after the int → float conversion (≥ 2) and at the output (3); the result of
/// the input presented in cycle t appears in cycle t + latency.
public struct ScaleUnit: Module {
    public let inputWidth: Int
    public let outputWidth: Int
    public let latency: Int

    public init(inputWidth: Int, outputWidth: Int, latency: Int = 0) {
        precondition((0...3).contains(latency), "a ScaleUnit has 0 to 3 pipeline registers, not \(latency)")
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.latency = latency
    }

    public var name: String {
        "ScaleUnit_\(inputWidth)to\(outputWidth)" + (latency == 0 ? "" : "_latency\(latency)")
    }

    @Bundle
    public struct IO: Aggregate {
        /// SInt(inputWidth).
        @Input public var value: Signal
        /// binary32 bits of the scale.
        @Input public var scale: Signal
        /// SInt(outputWidth).
        @Output public var result: Signal
    }

    public var io: IO {
        IO(value: Signal(.sint(inputWidth)), scale: Signal(.uint(32)), result: Signal(.sint(outputWidth)))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let toFloat = m.instance("to_float", IntToFloat(width: inputWidth))
        toFloat.value.set(io.value)

        let multiply = m.instance("multiply", FloatMultiply())
        let convertedRegistered = latency >= 2
        multiply.a.set(convertedRegistered ? m.delay(toFloat.result, name: "converted_reg") : toFloat.result)
        // The scale travels beside the value so both reach the multiplier from the same input cycle.
        multiply.b.set(convertedRegistered ? m.delay(io.scale, name: "scale_reg") : io.scale)

        let toInteger = m.instance("to_integer", FloatToInt(width: outputWidth))
        toInteger.value.set(latency >= 1 ? m.delay(multiply.product, name: "product_reg") : multiply.product)

        io.result.set(latency >= 3 ? m.delay(toInteger.result, name: "result_reg") : toInteger.result)
    }
}
