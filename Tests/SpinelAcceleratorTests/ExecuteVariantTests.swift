import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

/// One pair (or a pair and its COMPUTE_ACCUMULATED) per case, each changing one thing from a
/// plain 4×4 tile: dataflow, transposes, where D comes from, where C goes, accumulation, partial
/// tiles, A stride, shift, ReLU. Every result row is compared with the golden model.
@Suite("PRELOAD/COMPUTE variants on the whole accelerator against the golden model")
struct ExecuteVariantTests {
    struct Variant: CustomStringConvertible, Sendable {
        var ws = true, ta = false, tb = false, dFrom = 0 /*0 garbage 1 sp 2 acc*/, cAcc = true, accumulate = false
        var rows = 4, cols = 4, aStride = 1, second = false, shift = 0, relu = false
        var description: String { "ws \(ws) ta \(ta) tb \(tb) d \(dFrom) cAcc \(cAcc) acc \(accumulate) rows \(rows) cols \(cols) aStride \(aStride) second \(second) shift \(shift) relu \(relu)" }
    }
    static var variants: [Variant] {
        var list: [Variant] = []
        for ws in [true, false] {
            let base = Variant(ws: ws)
            list.append(base)
            var v = base; v.ta = true; list.append(v)
            v = base; if ws { v.tb = true } else { v.ta = true; v.tb = true }; list.append(v)
            v = base; v.dFrom = 1; list.append(v)
            v = base; v.dFrom = 2; list.append(v)
            v = base; v.cAcc = false; list.append(v)
            v = base; v.cAcc = false; v.relu = true; list.append(v)
            v = base; v.accumulate = true; list.append(v)
            v = base; v.rows = 3; list.append(v)
            v = base; v.cols = 2; list.append(v)
            v = base; v.aStride = 2; list.append(v)
            v = base; v.second = true; list.append(v)
            v = base; v.shift = 2; list.append(v)
        }
        return list
    }

    @Test(arguments: variants.indices)
    func variant(index: Int) throws {
        let v = Self.variants[index]
        let bench = try AcceleratorBench(.small, seed: 1)
        let dim = bench.parameters.dim
        let input: UInt64 = 0x40_0000, output: UInt64 = 0x80_0000
        func run(_ c: (UInt8, UInt64, UInt64)) throws { try bench.issue(c.0, c.1, c.2) }
        try run(Encode.configLoad(stride: UInt64(dim), blockStride: dim))
        for block in 0..<4 { try bench.issue(2, input + UInt64(64 * block), Encode.operand(UInt32(block * dim), columns: dim, rows: dim)) }
        try run(Encode.configLoad(stride: UInt64(dim * 4), blockStride: dim, which: 1))
        try bench.issue(1, input + 0x1000, Encode.operand(Encode.accumulator(0), columns: dim, rows: dim))
        try bench.issue(1, input + 0x1100, Encode.operand(Encode.accumulator(32), columns: dim, rows: dim))
        try run(Encode.configExecute(weightStationary: v.ws, activation: v.relu ? 1 : 0, shift: v.shift, transposeA: v.ta, transposeB: v.tb, aStride: v.aStride))
        let d: UInt64 = v.dFrom == 0 ? Encode.operand(Encode.garbage, columns: dim, rows: dim)
            : v.dFrom == 1 ? Encode.operand(UInt32(2 * dim), columns: dim, rows: dim) : Encode.operand(Encode.accumulator(0), columns: dim, rows: dim)
        let c: UInt64 = v.cAcc ? Encode.operand(Encode.accumulator(32, accumulate: v.accumulate), columns: v.cols, rows: v.rows)
                               : Encode.operand(UInt32(8 * dim), columns: v.cols, rows: v.rows)
        let a = Encode.operand(0, columns: dim, rows: dim), b = Encode.operand(UInt32(dim), columns: dim, rows: dim)
        if v.ws {
            try bench.issue(6, b, c); try bench.issue(4, a, d)
            if v.second { try bench.issue(6, Encode.operand(Encode.garbage, columns: dim, rows: dim), c); try bench.issue(5, Encode.operand(UInt32(3 * dim), columns: dim, rows: dim), d) }
        } else {
            try bench.issue(6, d, v.second ? Encode.operand(Encode.garbage, columns: dim, rows: dim) : c); try bench.issue(4, a, b)
            if v.second { try bench.issue(6, Encode.operand(Encode.garbage, columns: dim, rows: dim), c); try bench.issue(5, Encode.operand(UInt32(3 * dim), columns: dim, rows: dim), b) }
        }
        try run(Encode.configStore(stride: UInt64(dim * 4)))
        try bench.issue(3, output, Encode.operand(Encode.accumulator(32, fullWidth: true), columns: dim, rows: dim))
        try run(Encode.configStore(stride: UInt64(dim)))
        try bench.issue(3, output + 0x100, Encode.operand(UInt32(8 * dim), columns: dim, rows: dim))
        try bench.fence()
        var bad = 0
        for (address, expected) in bench.goldenMemory.written where bench.axi.byte(at: address) != expected { bad += 1 }
        #expect(bad == 0, "\(v): \(bad) bytes")
    }
}
