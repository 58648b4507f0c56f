import Foundation

/// A row-major matrix: the encoder layer's int8 tensors (`Int8Matrix`) and the float
/// reference's (`RealMatrix`).
public struct Matrix<Element: Equatable & Sendable>: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    public var values: [Element]

    public init(rows: Int, columns: Int, values: [Element]) {
        precondition(values.count == rows * columns, "a \(rows)×\(columns) matrix needs \(rows * columns) values, not \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public func row(_ index: Int) -> ArraySlice<Element> { values[index * columns ..< (index + 1) * columns] }
}

public typealias Int8Matrix = Matrix<Int8>
public typealias RealMatrix = Matrix<Double>

extension Matrix where Element == Int8 {
    /// Each value times `scale`: the real matrix the integers stand for.
    public func dequantized(scale: Double) -> RealMatrix {
        RealMatrix(rows: rows, columns: columns, values: values.map { Double($0) * scale })
    }
}

extension Matrix where Element == Double {
    public subscript(row: Int, column: Int) -> Double { values[row * columns + column] }

    /// Columns `range` of every row (a head's slice of Q, K or V).
    public func columns(_ range: Range<Int>) -> RealMatrix {
        RealMatrix(rows: rows, columns: range.count, values: (0..<rows).flatMap { values[$0 * columns + range.lowerBound ..< $0 * columns + range.upperBound] })
    }

    /// The matrix whose columns `offset…` are `block` (same rows), the rest unchanged.
    public mutating func replaceColumns(from offset: Int, with block: RealMatrix) {
        precondition(block.rows == rows && offset + block.columns <= columns, "a \(block.rows)×\(block.columns) block does not fit at column \(offset)")
        for i in 0..<rows { values.replaceSubrange(i * columns + offset ..< i * columns + offset + block.columns, with: block.row(i)) }
    }

    public func transposed() -> RealMatrix {
        var result = [Double](repeating: 0, count: values.count)
        for i in 0..<rows { for j in 0..<columns { result[j * rows + i] = values[i * columns + j] } }
        return RealMatrix(rows: columns, columns: rows, values: result)
    }

    /// The real matrix product.
    public static func * (a: RealMatrix, b: RealMatrix) -> RealMatrix {
        precondition(a.columns == b.rows, "a \(a.rows)×\(a.columns) matrix times a \(b.rows)×\(b.columns) one")
        var result = [Double](repeating: 0, count: a.rows * b.columns)
        let m = a.rows, n = b.columns, k = a.columns
        a.values.withUnsafeBufferPointer { a in
            b.values.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { c in
                    for i in 0..<m {
                        for p in 0..<k {
                            let scale = a[i * k + p]
                            if scale == 0 { continue }
                            for j in 0..<n { c[i * n + j] += scale * b[p * n + j] }
                        }
                    }
                }
            }
        }
        return RealMatrix(rows: a.rows, columns: b.columns, values: result)
    }

    public static func + (a: RealMatrix, b: RealMatrix) -> RealMatrix {
        precondition(a.rows == b.rows && a.columns == b.columns, "adding a \(a.rows)×\(a.columns) and a \(b.rows)×\(b.columns) matrix")
        return RealMatrix(rows: a.rows, columns: a.columns, values: zip(a.values, b.values).map(+))
    }

    /// Every element times `factor`.
    public func scaled(by factor: Double) -> RealMatrix {
        RealMatrix(rows: rows, columns: columns, values: values.map { $0 * factor })
    }

    /// `function` applied to each row.
    public func mapRows(_ function: ([Double]) -> [Double]) -> RealMatrix {
        RealMatrix(rows: rows, columns: columns, values: (0..<rows).flatMap { function(Array(row($0))) })
    }
}

/// The real functions of a transformer layer, as the integer ones approximate them
/// (docs/NUMERICS.md): exact exp, erf and sqrt in Double.
public enum RealFunctions {
    /// `softmax(x)_j = exp(x_j − max x) / Σ_k exp(x_k − max x)`.
    public static func softmax(_ row: [Double]) -> [Double] {
        guard let maximum = row.max() else { return [] }
        let exponentials = row.map { exp($0 - maximum) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }

    /// LayerNorm as docs/NUMERICS.md's activation 2: `(x − mean) / sqrt(variance)` with the population
    /// variance, no epsilon, no γ/β. A row of equal values (variance 0) gives zeros, as the
    /// integer LayerNorm does (its divisor is then 1 and every deviation 0).
    public static func layerNorm(_ row: [Double]) -> [Double] {
        guard !row.isEmpty else { return [] }
        let count = Double(row.count)
        let mean = row.reduce(0, +) / count
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
        guard variance > 0 else { return row.map { _ in 0 } }
        let deviation = variance.squareRoot()
        return row.map { ($0 - mean) / deviation }
    }

    /// `GELU(x) = x · (1 + erf(x / √2)) / 2`.
    public static func gelu(_ x: Double) -> Double {
        x * (1 + erf(x / 2.0.squareRoot())) / 2
    }
}
