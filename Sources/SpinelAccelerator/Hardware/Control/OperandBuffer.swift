import SpinelHDL

/// A DIM×DIM operand of a PRELOAD+COMPUTE pair, held in registers for `ExecuteController`:
/// rows land one per cycle, straight or transposed, and the array reads one row per cycle.
///
/// The controller has thirteen of them (A, B and P of four operand sets, and the bias buffer).
/// As one module their DIM² registers are elaborated, emitted and compiled by a simulator once,
/// not thirteen times inside the controller (at DIM 64 that made a 27 MB Verilog file).
public struct OperandBuffer: Module {
    public let dim: Int
    public let elementType: HWType

    public init(dim: Int, elementType: HWType) {
        self.dim = dim
        self.elementType = elementType
    }

    public var name: String { "OperandBuffer_\(dim)x\(dim)_\(elementType.width)" }
    var indexBits: Int { HWType.addressWidth(for: dim) }

    @Bundle
    public struct IO: Aggregate {
        /// Sets every element to zero; wins over `write`.
        @Input public var clear: Signal
        /// Row `row` lands: its lanes below `columns` go to row `row` of the buffer, or to
        /// column `row` when `transposed` (lane c to element (c, row)).
        @Input public var write: Signal
        @Input public var transposed: Signal
        @Input public var row: Signal
        @Input public var columns: Signal
        @Input("lane") public var lanes: [Signal]
        /// Row `readRow` of the buffer, combinationally.
        @Input("read_row") public var readRow: Signal
        @Output public var out: [Signal]
    }

    public var io: IO {
        IO(clear: Signal(.bool), write: Signal(.bool), transposed: Signal(.bool), row: Signal(.uint(indexBits)),
           columns: Signal(.uint(16)), lanes: (0..<dim).map { _ in Signal(elementType) }, readRow: Signal(.uint(indexBits)),
           out: (0..<dim).map { _ in Signal(elementType) })
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let elements = (0..<dim).map { r in (0..<dim).map { c in m.register("element_\(r)_\(c)", elementType) } }
        let rowIs = (0..<dim).map { m.wire("row_is_\($0)", .bool, default: io.row === Signal($0)) }
        let laneUsed = (0..<dim).map { m.wire("lane_used_\($0)", .bool, default: Signal($0) < io.columns) }
        // Element (r, c) of `view` takes lane c when row r lands and lane c is used.
        func land(_ view: [[Signal]]) {
            for r in 0..<dim {
                for c in 0..<dim { m.when(rowIs[r] && laneUsed[c]) { view[r][c].set(io.lanes[c]) } }
            }
        }
        let zero = Signal.literal(0, elementType)
        m.when(io.clear) {
            for row in elements { for element in row { element.set(zero) } }
        }.elsewhen(io.write) {
            m.when(io.transposed) {
                land((0..<dim).map { c in (0..<dim).map { r in elements[r][c] } })
            }.otherwise {
                land(elements)
            }
        }
        for c in 0..<dim {
            io.out[c].set(select(elements.map { $0[c] }, at: io.readRow))
        }
    }
}
