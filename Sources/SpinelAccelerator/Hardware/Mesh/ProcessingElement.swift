import SpinelHDL

/// The number types flowing through the array, taken from the configuration.
public struct ArrayTypes: Hashable, Sendable {
    /// A operand and weights.
    public var input: HWType
    /// The vertical `b` path: partial sums (WS) or B values (OS).
    public var spatial: HWType
    /// The `c` registers and the `d` path: weights (WS), D and results (OS).
    public var accumulator: HWType
    /// Bits of the OS rounding-shift amount.
    public var shiftBits: Int

    public init(_ parameters: AcceleratorParameters) {
        input = parameters.config.inputType
        spatial = parameters.config.spatialOutputType
        accumulator = parameters.config.accType
        shiftBits = HWType.addressWidth(for: parameters.config.accType.width)
    }

    public init(input: HWType, spatial: HWType, accumulator: HWType, shiftBits: Int) {
        self.input = input
        self.spatial = spatial
        self.accumulator = accumulator
        self.shiftBits = shiftBits
    }

    var tag: String { "\(input.width)_\(spatial.width)_\(accumulator.width)" }
}

/// The control that travels down each column with the `b` and `d` values.
@Bundle
public struct ArrayControl: Aggregate {
    public var valid: Signal
    /// Which of the two `c` registers is being filled from above (the other one computes);
    /// a change of this bit between two matrices swaps them.
    public var propagate: Signal
    /// 0 output-stationary, 1 weight-stationary.
    @Name("ws") public var weightStationary: Signal
    /// OS: rounding right shift applied to a result as it leaves its PE.
    public var shift: Signal

    public init(_ types: ArrayTypes) {
        self.init(valid: Signal(.bool), propagate: Signal(.bool), weightStationary: Signal(.bool), shift: Signal(.uint(types.shiftBits)))
    }
}

/// One multiply-accumulate cell with two `c` registers (Gemmini's PE).
///
/// WS: the idle `c` register shifts weights down the column (`c := d`, `out_c = c`) while the
/// other one multiplies: `out_b = b + a·w`, partial sums flowing down. OS: the idle register
/// shifts D in and the previous results out, the other accumulates `c += a·b` while B flows
/// down. Flipping `propagate` swaps the roles, so the next matrix's weights (or D) load while
/// the current one computes. State changes only in valid cycles. Outputs are combinational;
/// `Mesh` puts registers between tiles.
public struct ProcessingElement: Module {
    public let types: ArrayTypes

    public init(types: ArrayTypes) { self.types = types }

    public var name: String { "PE_\(types.tag)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("in_a") public var a: Signal
        @Input("in_b") public var b: Signal
        @Input("in_d") public var d: Signal
        @Input("in") public var control: ArrayControl
        @Output("out_a") public var aOut: Signal
        @Output("out_b") public var bOut: Signal
        @Output("out_c") public var cOut: Signal
        @Output("out") public var controlOut: ArrayControl
    }

    public var io: IO {
        IO(a: Signal(types.input), b: Signal(types.spatial), d: Signal(types.accumulator), control: ArrayControl(types),
           aOut: Signal(types.input), bOut: Signal(types.spatial), cOut: Signal(types.accumulator), controlOut: ArrayControl(types))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let c1 = m.register("c1", types.accumulator)
        let c2 = m.register("c2", types.accumulator)
        let lastPropagate = m.register("last_propagate", .bool, reset: false)
        m.connect(io.controlOut, from: io.control)
        io.aOut.set(io.a)

        let control = io.control
        // The first valid cycle of a new matrix: this PE's own result leaves now, so the OS
        // shift applies to it (values shifting through from above were shifted by their PE).
        let flip = m.wire("flip", default: control.valid && (lastPropagate =/= control.propagate))
        m.when(control.valid) { lastPropagate.set(control.propagate) }
        let shiftAmount = m.named("shift_amount", mux(flip, control.shift, Signal.literal(0, .uint(types.shiftBits))))

        // The register that computes and the one that moves.
        let computing = m.wire("computing", default: mux(control.propagate, c2, c1))
        let moving = m.wire("moving", default: mux(control.propagate, c1, c2))
        let bInput = io.b.truncated(to: types.input.width)
        let weight = computing.truncated(to: types.input.width)

        let product = m.wire("product", types.accumulator,
                             default: (io.a * mux(control.weightStationary, weight, bInput)).resized(to: types.accumulator.width))

        m.when(control.weightStationary) {
            io.cOut.set(moving)
            io.bOut.set(io.b +% product.truncated(to: types.spatial.width))
        }.otherwise {
            io.cOut.set(RoundingShift.rightShift(moving, by: shiftAmount))
            io.bOut.set(io.b)
        }

        m.when(control.valid) {
            m.when(control.propagate) {
                c1.set(io.d)
                m.when(!control.weightStationary) { c2.set(c2 +% product) }
            }.otherwise {
                c2.set(io.d)
                m.when(!control.weightStationary) { c1.set(c1 +% product) }
            }
        }
    }
}

/// Gemmini's `ROUNDING_RIGHT_SHIFT` in hardware: an arithmetic right shift that rounds to
/// nearest, ties to even (`Numerics.roundingRightShift`).
public enum RoundingShift {
    public static func rightShift(_ value: Signal, by amount: Signal) -> Signal {
        let width = value.width
        let one = Signal.literal(1, .uint(width))
        let shifted = value >> amount
        // The bit just below the cut and whether anything below it is set.
        let unsigned = value.asUInt
        let roundBit = ((unsigned >> (amount -% Signal.literal(1, amount.type!))) & one).orReduce
        let below = (one << (amount -% Signal.literal(1, amount.type!))) -% one
        let sticky = (unsigned & below).orReduce
        let roundUp = amount =/= 0 && roundBit && (sticky || shifted.asUInt[0])
        return shifted +% mux(roundUp, Signal.literal(1, shifted.type!), Signal.literal(0, shifted.type!))
    }
}
