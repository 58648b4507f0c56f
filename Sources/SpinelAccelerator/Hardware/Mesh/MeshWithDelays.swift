import SpinelHDL

/// One cycle's worth of input to the array, in matrix order (the skew is added inside).
@Bundle
public struct MeshSlot: Aggregate {
    /// One value per array row (left edge): a row of A' (WS) or a column of A' (OS).
    public var a: [Signal]
    /// One value per column (top): B' row k (OS); zero in WS.
    public var b: [Signal]
    /// One value per column (top): the weight or D row shifting into the idle registers.
    public var d: [Signal]
    public var propagate: Signal
    @Name("ws") public var weightStationary: Signal
    public var shift: Signal
    /// Whether this slot's result row is wanted (WS compute rows, OS drain rows).
    public var output: Signal
    /// Travels with the slot and comes out with its result (e.g. where to write it).
    public var tag: Signal
}

/// A result row of the array, deskewed, with the tag of the slot that produced it.
@Bundle
public struct MeshResult: Aggregate {
    public var row: [Signal]
    public var tag: Signal
}

/// The mesh with the delay lines that make it usable: slot values are skewed so that each
/// wavefront meets at the right PE, and result rows are deskewed so that a whole row leaves in
/// one cycle, `latency` cycles after its slot entered. WS results are the partial sums at the
/// bottom (`out_b`, sign-extended); OS results are the `c` values shifting out (`out_c`).
public struct MeshWithDelays: Module {
    public let mesh: Mesh
    public let tagBits: Int

    public init(mesh: Mesh, tagBits: Int) {
        self.mesh = mesh
        self.tagBits = tagBits
    }

    public var name: String { "MeshWithDelays_\(mesh.name)_t\(tagBits)" }

    /// Cycles from a slot entering to its result row leaving.
    public var latency: Int { mesh.meshRows + mesh.meshColumns - 1 }

    @Bundle
    public struct IO: Aggregate {
        @Input public var slot: Valid<MeshSlot>
        @Output public var result: Valid<MeshResult>
    }

    public var io: IO {
        let types = mesh.types, dim = mesh.rows
        return IO(slot: Valid(MeshSlot(a: (0..<dim).map { _ in Signal(types.input) }, b: (0..<dim).map { _ in Signal(types.input) },
                                       d: (0..<dim).map { _ in Signal(types.accumulator) }, propagate: Signal(.bool),
                                       weightStationary: Signal(.bool), shift: Signal(.uint(types.shiftBits)),
                                       output: Signal(.bool), tag: Signal(.uint(tagBits)))),
                  result: Valid(MeshResult(row: (0..<dim).map { _ in Signal(types.accumulator) }, tag: Signal(.uint(tagBits)))))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let types = mesh.types
        let grid = m.instance("mesh", mesh)
        let slot = io.slot.bits
        let tileRows = mesh.tileRows, tileColumns = mesh.tileColumns

        // Skew: row r waits for its tile row, column c for its tile column.
        for (row, a) in slot.a.enumerated() {
            grid.a[row].set(m.delay(a, cycles: row / tileRows, name: "skew_a_\(row)"))
        }
        for column in 0..<mesh.columns {
            let delay = column / tileColumns
            grid.b[column].set(m.delay(slot.b[column].extended(to: types.spatial.width), cycles: delay, name: "skew_b_\(column)"))
            grid.d[column].set(m.delay(slot.d[column], cycles: delay, name: "skew_d_\(column)"))
            let control = grid.control[column]
            control.valid.set(m.delay(io.slot.valid, cycles: delay, name: "skew_valid_\(column)", reset: false))
            control.propagate.set(m.delay(slot.propagate, cycles: delay, name: "skew_propagate_\(column)"))
            control.weightStationary.set(m.delay(slot.weightStationary, cycles: delay, name: "skew_ws_\(column)"))
            control.shift.set(m.delay(slot.shift, cycles: delay, name: "skew_shift_\(column)"))
        }

        // Deskew: the bottom of column c is ready `meshRows - 1 + tile column` cycles after the
        // slot entered; wait out the rest of the row, then register once more.
        for column in 0..<mesh.columns {
            let tileColumn = column / tileColumns
            let bottom = grid.controlOut[column]
            let value = mux(bottom.weightStationary, grid.bOut[column].extended(to: types.accumulator.width), grid.cOut[column])
            io.result.bits.row[column].set(m.delay(value, cycles: mesh.meshColumns - tileColumn, name: "deskew_\(column)"))
        }
        io.result.valid.set(m.delay(io.slot.valid && slot.output, cycles: latency, name: "result_valid_pipe", reset: false))
        io.result.bits.tag.set(m.delay(slot.tag, cycles: latency, name: "result_tag_pipe"))
    }
}
