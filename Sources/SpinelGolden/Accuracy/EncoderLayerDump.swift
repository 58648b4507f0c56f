import Foundation

/// The integer constants an encoder-layer run used (Testbenches/encoder_layer.c, docs/ACCURACY.md):
/// the stage scales (fp32, as ACC_SCALE uses them), the CONFIG_NORM constants, and the two real
/// scales the testbench chose (X's, and the one I-GELU's constants were computed for).
public struct EncoderLayerConstants: Equatable, Sendable {
    public var qkvScale: Float
    public var contextScale: Float
    public var feedForwardScale: Float
    public var layerNormScale: Float
    public var exponential: IExpConstants
    public var igeluQB: Int64
    public var igeluQC: Int64
    /// The real value of one unit of X.
    public var inputScale: Double
    /// The real value of one unit of X1·W1 (I-GELU's input).
    public var igeluInputScale: Double
    /// γ of Y's LayerNorm, the same in every column (the affine LayerNorm extension); 1: plain
    /// LayerNorm (activation 2).
    public var outputGain: Int64

    public init(qkvScale: Float, contextScale: Float, feedForwardScale: Float, layerNormScale: Float, exponential: IExpConstants,
                igeluQB: Int64, igeluQC: Int64, inputScale: Double, igeluInputScale: Double, outputGain: Int64 = 1) {
        self.qkvScale = qkvScale
        self.contextScale = contextScale
        self.feedForwardScale = feedForwardScale
        self.layerNormScale = layerNormScale
        self.exponential = exponential
        self.igeluQB = igeluQB
        self.igeluQC = igeluQC
        self.inputScale = inputScale
        self.igeluInputScale = igeluInputScale
        self.outputGain = outputGain
    }
}

/// The tensors of one encoder-layer run as `encoder_layer S D heads F FILE` writes them.
///
/// Format (little-endian, version 1): a 96-byte header
///
/// | offset | type | field |
/// |---|---|---|
/// | 0 | char[8] | magic `SPNLENCL` |
/// | 8 | u32 | version (1) |
/// | 12 | u32 | header bytes (96) |
/// | 16 | u32 × 4 | S, D, heads, F |
/// | 32 | u32 | mode: 0 nonlinear functions on the accelerator, 1 on the host |
/// | 36 | f32 × 4 | QKV_SCALE, CTX_SCALE, FFN1_SCALE, LAYERNORM_SCALE |
/// | 52 | i32 × 6 | QLN2, QLN2_INV, EXP_QB, EXP_QC, IGELU_QB, IGELU_QC |
/// | 76 | u32 | γ of Y's LayerNorm (the affine extension); 0 or 1: plain LayerNorm |
/// | 80 | f64 × 2 | X's scale, I-GELU's input scale |
///
/// then the int8 tensors, row-major, in this order: X (S×D), Wq, Wk, Wv, Wo (D×D), W1 (D×F),
/// W2 (F×D), Q, K, V (S×D), P (heads × S×S), ctx, X1 (S×D), H (S×F), Y (S×D).
public struct EncoderLayerDump: Equatable, Sendable {
    public static let magic = Array("SPNLENCL".utf8)
    public static let version: UInt32 = 1
    public static let headerBytes = 96

    public var sequence: Int
    public var model: Int
    public var heads: Int
    public var feedForward: Int
    /// The nonlinear functions ran on the host (`--host-nonlinear`).
    public var hostNonlinear: Bool
    public var constants: EncoderLayerConstants
    public var x, wq, wk, wv, wo, w1, w2: Int8Matrix
    public var q, k, v: Int8Matrix
    /// One S×S matrix per head.
    public var p: [Int8Matrix]
    public var context, x1, h, y: Int8Matrix

    public var headWidth: Int { model / heads }

    public static func load(_ url: URL) throws -> EncoderLayerDump {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw EncoderLayerDumpError(file: url.path, problem: "cannot read the file (\(error.localizedDescription))",
                                        fix: "check the path; `encoder_layer S D heads F FILE` writes it after a passing run")
        }
        do {
            return try EncoderLayerDump(bytes: [UInt8](data))
        } catch var error {
            error.file = url.path
            throw error
        }
    }

    public init(bytes: [UInt8]) throws(EncoderLayerDumpError) {
        let rewrite = "write it again with `spinel sim --preset transformer --testbench Testbenches/encoder_layer.c -- S D heads F FILE`"
        guard bytes.count >= Self.headerBytes else {
            throw EncoderLayerDumpError(problem: "the file has \(bytes.count) bytes, shorter than the \(Self.headerBytes)-byte header",
                                        fix: "it is truncated or not an encoder-layer dump; " + rewrite)
        }
        guard Array(bytes[0..<8]) == Self.magic else {
            throw EncoderLayerDumpError(problem: "the file does not start with the magic \"SPNLENCL\" (it starts with \(Self.printable(bytes[0..<8])))",
                                        fix: "give the file that encoder_layer.c wrote as its dump argument")
        }
        var reader = LittleEndianReader(bytes: bytes, offset: 8)
        let version = reader.u32()
        guard version == Self.version else {
            throw EncoderLayerDumpError(problem: "version \(version); this spinel reads version \(Self.version)",
                                        fix: "use the spinel and the encoder_layer.c of the same tree, or " + rewrite)
        }
        let headerBytes = reader.u32()
        guard headerBytes == Self.headerBytes else {
            throw EncoderLayerDumpError(problem: "the header says it has \(headerBytes) bytes; version 1 has \(Self.headerBytes)",
                                        fix: "the header is damaged; " + rewrite)
        }
        let (s, d, heads, f, mode) = (Int(reader.u32()), Int(reader.u32()), Int(reader.u32()), Int(reader.u32()), reader.u32())
        guard s > 0, d > 0, heads > 0, f > 0, d % heads == 0, max(s, d, f) <= 1 << 16 else {
            throw EncoderLayerDumpError(problem: "S \(s), D \(d), heads \(heads), F \(f): sizes must be positive (at most 65536) and D a multiple of heads",
                                        fix: "the header is damaged; " + rewrite)
        }
        guard mode <= 1 else {
            throw EncoderLayerDumpError(problem: "mode \(mode); 0 (nonlinear on the accelerator) or 1 (on the host)", fix: "the header is damaged; " + rewrite)
        }
        let scales = (0..<4).map { _ in Float(bitPattern: reader.u32()) }
        let integers = (0..<6).map { _ in Int64(Int32(bitPattern: reader.u32())) }
        let gain = Int64(reader.u32())
        guard gain <= 1 << 20 else {
            throw EncoderLayerDumpError(problem: "Y's LayerNorm gain is \(gain); encoder_layer.c writes 0, 1 or a small power of two",
                                        fix: "the header is damaged; " + rewrite)
        }
        let realScales = (0..<2).map { _ in Double(bitPattern: reader.u64()) }
        let names = ["QKV_SCALE", "CTX_SCALE", "FFN1_SCALE", "LAYERNORM_SCALE"]
        for (name, scale) in zip(names, scales) where !scale.isFinite || scale == 0 {
            throw EncoderLayerDumpError(problem: "\(name) is \(scale); a stage scale must be finite and not 0", fix: "the header is damaged; " + rewrite)
        }
        for (name, scale) in zip(["X's scale", "I-GELU's input scale"], realScales) where !scale.isFinite || scale <= 0 {
            throw EncoderLayerDumpError(problem: "\(name) is \(scale); it must be finite and positive", fix: "the header is damaged; " + rewrite)
        }
        guard integers[0] > 0 else {
            throw EncoderLayerDumpError(problem: "QLN2 is \(integers[0]); the exponential's ln 2 step must be positive",
                                        fix: "the header is damaged; " + rewrite)
        }

        let shapes = [(s, d), (d, d), (d, d), (d, d), (d, d), (d, f), (f, d), (s, d), (s, d), (s, d)]
            + Array(repeating: (s, s), count: heads) + [(s, d), (s, d), (s, f), (s, d)]
        let expected = Self.headerBytes + shapes.reduce(0) { $0 + $1.0 * $1.1 }
        guard bytes.count == expected else {
            let what = bytes.count < expected ? "truncated: it is \(bytes.count) bytes" : "\(bytes.count - expected) bytes too long: it is \(bytes.count) bytes"
            throw EncoderLayerDumpError(problem: "\(what), and S \(s), D \(d), \(heads) heads, F \(f) need \(expected)",
                                        fix: bytes.count < expected ? "the run was cut short or the file was copied partly; " + rewrite : rewrite)
        }
        var offset = Self.headerBytes
        var matrices: [Int8Matrix] = []
        for (rows, columns) in shapes {
            matrices.append(Int8Matrix(rows: rows, columns: columns, values: bytes[offset ..< offset + rows * columns].map { Int8(bitPattern: $0) }))
            offset += rows * columns
        }
        sequence = s
        model = d
        self.heads = heads
        feedForward = f
        hostNonlinear = mode == 1
        constants = EncoderLayerConstants(
            qkvScale: scales[0], contextScale: scales[1], feedForwardScale: scales[2], layerNormScale: scales[3],
            exponential: IExpConstants(qln2: integers[0], qln2Inverse: integers[1], qb: integers[2], qc: integers[3]),
            igeluQB: integers[4], igeluQC: integers[5], inputScale: realScales[0], igeluInputScale: realScales[1],
            outputGain: max(gain, 1))
        (x, wq, wk, wv, wo, w1, w2) = (matrices[0], matrices[1], matrices[2], matrices[3], matrices[4], matrices[5], matrices[6])
        (q, k, v) = (matrices[7], matrices[8], matrices[9])
        p = Array(matrices[10 ..< 10 + heads])
        (context, x1, h, y) = (matrices[10 + heads], matrices[11 + heads], matrices[12 + heads], matrices[13 + heads])
    }

    private static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        "\"" + bytes.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined() + "\""
    }
}

/// A dump that cannot be read: what is wrong and how to fix it.
public struct EncoderLayerDumpError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String?
    public var problem: String
    public var fix: String

    public init(file: String? = nil, problem: String, fix: String) {
        self.file = file
        self.problem = problem
        self.fix = fix
    }

    public var description: String { (file.map { $0 + ": " } ?? "") + problem + "\n  fix: " + fix }
}

private struct LittleEndianReader {
    let bytes: [UInt8]
    var offset: Int

    mutating func u32() -> UInt32 {
        defer { offset += 4 }
        return (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    mutating func u64() -> UInt64 {
        defer { offset += 8 }
        return (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }
}
