import SpinelHDL

/// A weight-stationary multiply-accumulate cell: activations flow right, partial sums flow
/// down, weights shift down while `load` is high and then stay.
///
/// This is the sample design of the foundation (the elaboration benchmark and `make demo`
/// until the accelerator's own `PE` exists).
public struct MACCell: Module {
    public let inputWidth: Int
    public let accumulatorWidth: Int

    public init(inputWidth: Int, accumulatorWidth: Int) {
        self.inputWidth = inputWidth
        self.accumulatorWidth = accumulatorWidth
    }

    public var name: String { "MACCell_\(inputWidth)x\(accumulatorWidth)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("a_in") public var activation: Signal
        @Input("w_in") public var weight: Signal
        @Input("psum_in") public var partialSum: Signal
        @Input public var load: Signal
        @Output("a_out") public var activationOut: Signal
        @Output("w_out") public var weightOut: Signal
        @Output("psum_out") public var partialSumOut: Signal
    }

    public var io: IO {
        let input = HWType.sint(inputWidth), accumulator = HWType.sint(accumulatorWidth)
        return IO(activation: Signal(input), weight: Signal(input), partialSum: Signal(accumulator), load: Signal(.bool),
                  activationOut: Signal(input), weightOut: Signal(input), partialSumOut: Signal(accumulator))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let weight = m.register("weight", .sint(inputWidth))
        m.when(io.load) { weight.set(io.weight) }
        io.weightOut.set(weight)
        io.activationOut.set(m.delay(io.activation, name: "a_reg"))
        let product = (io.activation * weight).resized(to: accumulatorWidth)
        io.partialSumOut.set(m.delay(io.partialSum +% product, name: "psum_reg"))
    }
}

/// A `rows` × `columns` grid of `MACCell`s: activations enter on the left, weights and zero
/// partial sums at the top, results leave at the bottom.
public struct MACArray: Module {
    public let rows: Int
    public let columns: Int
    public let inputWidth: Int
    public let accumulatorWidth: Int

    public init(rows: Int, columns: Int, inputWidth: Int = 8, accumulatorWidth: Int = 32) {
        precondition(rows >= 1 && columns >= 1, "an array needs at least one cell")
        self.rows = rows
        self.columns = columns
        self.inputWidth = inputWidth
        self.accumulatorWidth = accumulatorWidth
    }

    public var name: String { "MACArray_\(rows)x\(columns)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("a") public var activations: [Signal]
        @Input("w") public var weights: [Signal]
        @Input public var load: Signal
        @Output("result") public var results: [Signal]
    }

    public var io: IO {
        IO(activations: (0..<rows).map { _ in Signal(.sint(inputWidth)) },
           weights: (0..<columns).map { _ in Signal(.sint(inputWidth)) },
           load: Signal(.bool),
           results: (0..<columns).map { _ in Signal(.sint(accumulatorWidth)) })
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let cell = MACCell(inputWidth: inputWidth, accumulatorWidth: accumulatorWidth)
        var activations = io.activations
        var weights = io.weights
        var partialSums = (0..<columns).map { _ in Signal.literal(0, .sint(accumulatorWidth)) }
        for row in 0..<rows {
            for column in 0..<columns {
                let pe = m.instance("pe_\(row)_\(column)", cell)
                pe.activation.set(activations[row])
                pe.weight.set(weights[column])
                pe.partialSum.set(partialSums[column])
                pe.load.set(io.load)
                activations[row] = pe.activationOut
                weights[column] = pe.weightOut
                partialSums[column] = pe.partialSumOut
            }
        }
        for (result, sum) in zip(io.results, partialSums) { result.set(sum) }
    }
}
