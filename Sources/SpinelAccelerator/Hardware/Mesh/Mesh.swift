import SpinelHDL

/// The edges of a grid of PEs: `a` enters on the left (one per row), `b`, `d` and the control
/// enter at the top (one per column); `c` and `b` leave at the bottom.
@Bundle
public struct GridIO: Aggregate {
    @Input("in_a") public var a: [Signal]
    @Input("in_b") public var b: [Signal]
    @Input("in_d") public var d: [Signal]
    @Input("in") public var control: [ArrayControl]
    @Output("out_a") public var aOut: [Signal]
    @Output("out_b") public var bOut: [Signal]
    @Output("out_c") public var cOut: [Signal]
    @Output("out") public var controlOut: [ArrayControl]

    init(rows: Int, columns: Int, types: ArrayTypes) {
        a = (0..<rows).map { _ in Signal(types.input) }
        b = (0..<columns).map { _ in Signal(types.spatial) }
        d = (0..<columns).map { _ in Signal(types.accumulator) }
        control = (0..<columns).map { _ in ArrayControl(types) }
        aOut = (0..<rows).map { _ in Signal(types.input) }
        bOut = (0..<columns).map { _ in Signal(types.spatial) }
        cOut = (0..<columns).map { _ in Signal(types.accumulator) }
        controlOut = (0..<columns).map { _ in ArrayControl(types) }
    }
}

/// A combinational `rows` × `columns` grid of PEs: values cross the whole tile in one cycle.
public struct Tile: Module {
    public let rows: Int
    public let columns: Int
    public let types: ArrayTypes

    public init(rows: Int, columns: Int, types: ArrayTypes) {
        self.rows = rows
        self.columns = columns
        self.types = types
    }

    public var name: String { "Tile_\(rows)x\(columns)_\(types.tag)" }
    public var io: GridIO { GridIO(rows: rows, columns: columns, types: types) }

    public func build(_ m: ModuleBuilder, _ io: GridIO) {
        let pe = ProcessingElement(types: types)
        var a = io.a
        var b = io.b, d = io.d, control = io.control
        for row in 0..<rows {
            for column in 0..<columns {
                let cell = m.instance("pe_\(row)_\(column)", pe)
                cell.a.set(a[row])
                cell.b.set(b[column])
                cell.d.set(d[column])
                m.connect(cell.control, from: control[column])
                a[row] = cell.aOut
                b[column] = cell.bOut
                d[column] = cell.cOut
                control[column] = cell.controlOut
            }
        }
        for (port, value) in zip(io.aOut, a) { port.set(value) }
        for (port, value) in zip(io.bOut, b) { port.set(value) }
        for (port, value) in zip(io.cOut, d) { port.set(value) }
        for (port, value) in zip(io.controlOut, control) { m.connect(port, from: value) }
    }
}

/// One row of tiles of a `Mesh` with its pipeline registers: one after each tile but the last
/// horizontally (`a`), and, unless it is the mesh's bottom row, one below each tile (`b`, `d`,
/// control). `Mesh` instantiates a row module per tile row, so the mesh's hardware is
/// elaborated, emitted and compiled in O(DIM), not O(DIM²) (a flat 64×64 mesh was a 9 MB file).
public struct MeshRow: Module {
    public let meshColumns: Int
    public let tile: Tile
    /// Registers below the tiles (every row but the bottom one).
    public let registersBelow: Bool

    public init(meshColumns: Int, tile: Tile, registersBelow: Bool) {
        self.meshColumns = meshColumns
        self.tile = tile
        self.registersBelow = registersBelow
    }

    public var name: String { "MeshRow_\(meshColumns)_\(tile.name)\(registersBelow ? "" : "_bottom")" }
    public var io: GridIO { GridIO(rows: tile.rows, columns: meshColumns * tile.columns, types: tile.types) }

    public func build(_ m: ModuleBuilder, _ io: GridIO) {
        let tileRows = tile.rows, tileColumns = tile.columns
        var a = io.a
        var bOut: [Signal] = [], dOut: [Signal] = [], controlOut: [ArrayControl] = []
        for meshColumn in 0..<meshColumns {
            let name = "tile_\(meshColumn)"
            let cell = m.instance(name, tile)
            let columnRange = (meshColumn * tileColumns)..<((meshColumn + 1) * tileColumns)
            for (port, value) in zip(cell.a, a) { port.set(value) }
            for (offset, column) in columnRange.enumerated() {
                cell.b[offset].set(io.b[column])
                cell.d[offset].set(io.d[column])
                m.connect(cell.control[offset], from: io.control[column])
            }
            let lastColumn = meshColumn == meshColumns - 1
            a = (0..<tileRows).map { offset in lastColumn ? cell.aOut[offset] : m.delay(cell.aOut[offset], name: "\(name)_a_\(offset)") }
            for offset in 0..<tileColumns {
                if registersBelow {
                    bOut.append(m.delay(cell.bOut[offset], name: "\(name)_b_\(offset)"))
                    dOut.append(m.delay(cell.cOut[offset], name: "\(name)_d_\(offset)"))
                    let out = cell.controlOut[offset], prefix = "\(name)_\(offset)"
                    // Only valid needs a reset: the rest is ignored while valid is low.
                    controlOut.append(ArrayControl(
                        valid: m.delay(out.valid, name: "\(prefix)_valid", reset: false),
                        propagate: m.delay(out.propagate, name: "\(prefix)_propagate"),
                        weightStationary: m.delay(out.weightStationary, name: "\(prefix)_ws"),
                        shift: m.delay(out.shift, name: "\(prefix)_shift")))
                } else {
                    bOut.append(cell.bOut[offset])
                    dOut.append(cell.cOut[offset])
                    controlOut.append(cell.controlOut[offset])
                }
            }
        }
        for (port, value) in zip(io.aOut, a) { port.set(value) }
        for (port, value) in zip(io.bOut, bOut) { port.set(value) }
        for (port, value) in zip(io.cOut, dOut) { port.set(value) }
        for (port, value) in zip(io.controlOut, controlOut) { m.connect(port, from: value) }
    }
}

/// A `meshRows` × `meshColumns` grid of tiles with a pipeline register on every edge between
/// tiles: one cycle per tile horizontally (`a`) and vertically (`b`, `d`, control). Built of
/// `MeshRow`s.
public struct Mesh: Module {
    public let meshRows: Int
    public let meshColumns: Int
    public let tileRows: Int
    public let tileColumns: Int
    public let types: ArrayTypes

    public init(meshRows: Int, meshColumns: Int, tileRows: Int, tileColumns: Int, types: ArrayTypes) {
        self.meshRows = meshRows
        self.meshColumns = meshColumns
        self.tileRows = tileRows
        self.tileColumns = tileColumns
        self.types = types
    }

    public init(_ parameters: AcceleratorParameters) {
        let config = parameters.config
        self.init(meshRows: config.meshRows, meshColumns: config.meshColumns, tileRows: config.tileRows,
                  tileColumns: config.tileColumns, types: ArrayTypes(parameters))
    }

    public var rows: Int { meshRows * tileRows }
    public var columns: Int { meshColumns * tileColumns }
    var tile: Tile { Tile(rows: tileRows, columns: tileColumns, types: types) }
    public var name: String { "Mesh_\(meshRows)x\(meshColumns)_\(tile.name)" }
    public var io: GridIO { GridIO(rows: rows, columns: columns, types: types) }

    public func build(_ m: ModuleBuilder, _ io: GridIO) {
        // Values entering each tile row (a) and column (b, d, control).
        var b = io.b, d = io.d, control = io.control
        for meshRow in 0..<meshRows {
            let lastRow = meshRow == meshRows - 1
            let row = m.instance("row_\(meshRow)", MeshRow(meshColumns: meshColumns, tile: tile, registersBelow: !lastRow))
            let rowRange = (meshRow * tileRows)..<((meshRow + 1) * tileRows)
            for (port, value) in zip(row.a, io.a[rowRange]) { port.set(value) }
            for (port, value) in zip(io.aOut[rowRange], row.aOut) { port.set(value) }
            for column in 0..<columns {
                row.b[column].set(b[column])
                row.d[column].set(d[column])
                m.connect(row.control[column], from: control[column])
            }
            b = row.bOut
            d = row.cOut
            control = row.controlOut
        }
        for (port, value) in zip(io.bOut, b) { port.set(value) }
        for (port, value) in zip(io.cOut, d) { port.set(value) }
        for (port, value) in zip(io.controlOut, control) { m.connect(port, from: value) }
    }
}
