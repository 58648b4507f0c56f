import Foundation
@testable import SpinelGolden
import Testing

/// The float reference's functions against hand-computed values, the scales it derives against
/// the integer functions of docs/NUMERICS.md, and the dump reader's checks.
@Suite("Encoder-layer accuracy: float functions, scales, dump")
struct EncoderAccuracyTests {
    // MARK: Float functions, by hand

    /// exp(1), exp(2), exp(3) over their sum e + e² + e³ = 30.19287485.
    @Test func softmaxOfASmallVector() {
        let result = RealFunctions.softmax([1, 2, 3])
        for (got, want) in zip(result, [0.09003057, 0.24472847, 0.66524096]) { #expect(abs(got - want) < 1e-8, "\(result)") }
        // Shifting every input changes nothing; a constant row is uniform.
        #expect(zip(RealFunctions.softmax([101, 102, 103]), result).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(RealFunctions.softmax([5, 5, 5, 5]) == [0.25, 0.25, 0.25, 0.25])
    }

    /// [1, 2, 3, 4]: mean 2.5, population variance 1.25, σ = 1.118033989.
    @Test func layerNormOfASmallVector() {
        let result = RealFunctions.layerNorm([1, 2, 3, 4])
        for (got, want) in zip(result, [-1.341640786, -0.447213595, 0.447213595, 1.341640786]) { #expect(abs(got - want) < 1e-9, "\(result)") }
        #expect(RealFunctions.layerNorm([7, 7, 7]) == [0, 0, 0])
    }

    /// GELU(x) = x·Φ(x): Φ(1) = 0.841344746, Φ(−1) = 0.158655254, Φ(2) = 0.977249868.
    @Test func geluAtAFewPoints() {
        #expect(RealFunctions.gelu(0) == 0)
        #expect(abs(RealFunctions.gelu(1) - 0.841344746) < 1e-9)
        #expect(abs(RealFunctions.gelu(-1) - -0.158655254) < 1e-9)
        #expect(abs(RealFunctions.gelu(2) - 1.954499736) < 1e-9)
        #expect(abs(RealFunctions.gelu(-2) - -0.045500264) < 1e-9)
    }

    @Test func matmulTwoByTwo() {
        let a = RealMatrix(rows: 2, columns: 2, values: [1, 2, 3, 4]), b = RealMatrix(rows: 2, columns: 2, values: [5, 6, 7, 8])
        #expect((a * b).values == [19, 22, 43, 50])
        #expect(a.transposed().values == [1, 3, 2, 4])
        let wide = RealMatrix(rows: 1, columns: 3, values: [1, 0, -2]), tall = RealMatrix(rows: 3, columns: 1, values: [4, 5, 6])
        #expect((wide * tall).values == [-8])
    }

    // MARK: Scales, against the integer functions

    /// I-GELU's output times the derived output scale S·S_erf/2 is GELU of the input times S, to
    /// I-BERT's approximation error (0.0185 at most, measured over ±6 for these scales); the
    /// opposite sign or twice the scale is far outside.
    @Test(arguments: [1.0 / 64, 0.01733, 0.005004])
    func igeluOutputScale(inputScale s: Double) {
        let qb = Int64(-1.769 / (s / 2.0.squareRoot())), qc = Int64(1 / (-0.2888 * s * s / 2))
        let outputScale = EncoderLayerScales.igeluOutputScale(inputScale: s)
        #expect(outputScale < 0, "I-BERT's erf scale is negative, so is the output's")
        var worst = 0.0, worstFlipped = 0.0, worstDoubled = 0.0
        for q in stride(from: Int64(-6 / s), through: Int64(6 / s), by: 1) {
            let y = Double(Numerics.igelu(q, qb: qb, qc: qc, accumulatorBits: 32)), want = RealFunctions.gelu(Double(q) * s)
            worst = max(worst, abs(y * outputScale - want))
            worstFlipped = max(worstFlipped, abs(-y * outputScale - want))
            worstDoubled = max(worstDoubled, abs(2 * y * outputScale - want))
        }
        #expect(worst < 0.02, "I-GELU·S_out against GELU: \(worst)")
        #expect(worstFlipped > 1 && worstDoubled > 1)
    }

    /// The exponential's ratio iexp(q)/iexp(0) is exp(q·ln 2/qln2) within 0.005 (measured 0.003)
    /// over ten units below the maximum, for the constants of a few input scales; the nominal scale
    /// the constants were made for (0.693147/qln2 truncated) is within the same bound, twice the
    /// derived one is not.
    @Test(arguments: [1.0 / 16, 0.0003453, 0.0002442])
    func exponentialInputScale(nominal s: Double) {
        let qln2 = Int64(0.693147 / s)
        let constants = IExpConstants(qln2: qln2, qln2Inverse: 65536 / qln2, qb: Int64(1.353 / s), qc: Int64(0.344 / (0.3585 * s * s)))
        let derived = EncoderLayerScales(constants: Self.constants(exponential: constants), headWidth: 64).softmaxInput
        #expect(abs(derived - log(2.0) / Double(qln2)) < 1e-15)
        let one = Double(Numerics.iexp(0, constants: constants, accumulatorBits: 32))
        var worst = 0.0, worstDoubled = 0.0
        let step = Swift.max(1, Int(0.01 / derived))
        for q in stride(from: -Int64(10 / derived), through: Int64(0), by: step) {
            let ratio = Double(Numerics.iexp(q, constants: constants, accumulatorBits: 32)) / one
            worst = max(worst, abs(ratio - exp(Double(q) * derived)))
            worstDoubled = max(worstDoubled, abs(ratio - exp(Double(q) * 2 * derived)))
        }
        #expect(worst < 0.005, "iexp against exp: \(worst)")
        #expect(worstDoubled > 0.1)
    }

    /// The integer Softmax of a row is 127·softmax(x·ln 2/qln2) within one LSB (the exponential's
    /// error times 127, plus rounding); with the scale doubled some element is off by more than 5.
    @Test func softmaxOutputScale() {
        let s = 0.0003453, qln2 = Int64(0.693147 / s)
        let constants = IExpConstants(qln2: qln2, qln2Inverse: 65536 / qln2, qb: Int64(1.353 / s), qc: Int64(0.344 / (0.3585 * s * s)))
        let unit = EncoderLayerScales(constants: Self.constants(exponential: constants), headWidth: 32).softmaxInput
        var generator = SplitMix64(state: 5)
        var worst = 0.0, worstDoubled = 0.0
        for _ in 0..<50 {
            let row = (0..<32).map { _ in Int64.random(in: -6000...6000, using: &generator) }
            let integers = Numerics.softmaxOutput(row, constants: constants, accumulatorBits: 32, outputBits: 8)!
            let reals = RealFunctions.softmax(row.map { Double($0) * unit }), doubled = RealFunctions.softmax(row.map { Double($0) * 2 * unit })
            for (index, value) in integers.enumerated() {
                worst = max(worst, abs(Double(value) - 127 * reals[index]))
                worstDoubled = max(worstDoubled, abs(Double(value) - 127 * doubled[index]))
            }
        }
        #expect(worst <= 1, "Softmax against 127·softmax: \(worst) LSB")
        #expect(worstDoubled > 5)
    }

    /// LayerNorm's output divided by its scale is the real LayerNorm to half an output step
    /// (0.5 / 24, plus 0.002 for isqrt's floor at these variances); multiplying by the scale
    /// instead is far off.
    @Test func layerNormOutputScale() {
        let scale: Float = 24
        let unit = EncoderLayerScales(constants: Self.constants(layerNormScale: scale), headWidth: 64).x1
        #expect(unit == 1.0 / 24)
        var generator = SplitMix64(state: 9)
        var worst = 0.0, worstWrong = 0.0
        for _ in 0..<50 {
            let row = (0..<64).map { _ in Int64.random(in: -100_000...100_000, using: &generator) }
            let integers = Numerics.layerNormOutput(row, scale: scale, outputBits: 8)
            let reals = RealFunctions.layerNorm(row.map(Double.init))
            for (value, want) in zip(integers, reals) {
                worst = max(worst, abs(Double(value) * unit - want))
                worstWrong = max(worstWrong, abs(Double(value) * Double(scale) - want))
            }
        }
        #expect(worst <= 0.5 / 24 + 0.002, "LayerNorm against the real one: \(worst) standard deviations")
        #expect(worstWrong > 10)
    }

    /// The chain of docs/ACCURACY.md ("Scales") on round numbers, each link computed by hand.
    @Test func derivedScalesByHand() {
        // α = 1/√16 = 1/4; softmax input ln 2/qln2 with qln2 = 1000; X's unit 0.5.
        let constants = Self.constants(qkvScale: 0.25, contextScale: 0.5, feedForwardScale: -0.0009765625, layerNormScale: 4,
                                       exponential: IExpConstants(qln2: 1000, qln2Inverse: 65, qb: 0, qc: 0), inputScale: 0.5, igeluInputScale: 0.01)
        let scales = EncoderLayerScales(constants: constants, headWidth: 16)
        let scores = log(2.0) / 1000
        #expect(abs(scales.softmaxInput - scores) < 1e-18)
        #expect(scales.attention == 0.25)
        #expect(abs(scales.qkv - (scores * 4).squareRoot()) < 1e-15)       // s_Q² · α = scores
        #expect(abs(scales.wqkv - scales.qkv * 0.25 / 0.5) < 1e-15)         // s_Q = s_X·s_W / QKV
        #expect(scales.p == 1.0 / 127)
        #expect(abs(scales.context - scales.qkv / 127 / 0.5) < 1e-15)       // s_P·s_V / CTX
        #expect(abs(scales.wo * scales.context - 0.5) < 1e-15)              // ctx·Wo in X's units
        #expect(scales.x1 == 0.25 && scales.y == 0.25)
        #expect(abs(scales.w1 - 0.04) < 1e-15)                             // 0.01 / 0.25
        #expect(abs(scales.igeluOutput - 0.01 * (-0.2888 * 0.0001 / 2) / 2) < 1e-20)
        #expect(abs(scales.h - scales.igeluOutput / -0.0009765625) < 1e-18)  // FFN1 = -2^-10
        #expect(scales.h > 0)
        #expect(abs(scales.w2 * scales.h - 0.25) < 1e-15)                   // H·W2 in X1's units

        // The affine LayerNorm's γ = 32 on Y: 32 steps per standard deviation times LAYERNORM_SCALE.
        var affine = constants
        affine.outputGain = 32
        let gained = EncoderLayerScales(constants: affine, headWidth: 16)
        #expect(gained.y == 1.0 / 128 && gained.x1 == 0.25)
    }

    /// Y's gain travels in the header's word at offset 76; 0 (older dumps) means 1.
    @Test func dumpCarriesYsGain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-dump-gain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (written, read) in [(UInt32(0), Int64(1)), (1, 1), (32, 32)] {
            var file = DumpFile(s: 2, d: 4, heads: 2, f: 2)
            file.gain = written
            let url = directory.appendingPathComponent("gain-\(written).dump")
            try Data(file.bytes).write(to: url)
            #expect(try EncoderLayerDump.load(url).constants.outputGain == read, "gain word \(written)")
        }
    }

    // MARK: The report's measures

    /// Two rows by hand: errors (0, 0) and (0, −1) against floats (1, 2) and (2, 1) with unit 1
    /// give ‖e‖ = 1 over ‖f‖ = √10, a largest error of 1 LSB, and argmax agreeing in both rows
    /// (the second by a tie); a negative unit compares the integers in real order.
    @Test func stageMeasuresByHand() {
        let reals = RealMatrix(rows: 2, columns: 2, values: [1, 2, 2, 1])
        let stage = StageAccuracy(name: "T", integers: [Int8Matrix(rows: 2, columns: 2, values: [1, 2, 2, 2])], scale: 1, reals: [reals])
        #expect(abs(stage.relativeError - 1 / 10.0.squareRoot()) < 1e-15)
        #expect(stage.maximumError == 1)
        #expect(stage.argmaxAgreeing == 2 && stage.rows == 2)
        let wrongRow = StageAccuracy(name: "T", integers: [Int8Matrix(rows: 2, columns: 2, values: [2, 1, 2, 1])], scale: 1, reals: [reals])
        #expect(wrongRow.argmaxAgreeing == 1)
        let negative = StageAccuracy(name: "T", integers: [Int8Matrix(rows: 2, columns: 2, values: [-4, -8, -8, -4])], scale: -0.25, reals: [reals])
        #expect(negative.relativeError == 0 && negative.maximumError == 0 && negative.argmaxAgreeing == 2)
    }

    // MARK: The dump reader

    @Test func readsAHandWrittenDump() throws {
        let file = DumpFile(s: 2, d: 2, heads: 1, f: 2)
        let dump = try EncoderLayerDump(bytes: file.bytes)
        #expect((dump.sequence, dump.model, dump.heads, dump.feedForward) == (2, 2, 1, 2))
        #expect(dump.hostNonlinear)
        #expect(dump.constants.qkvScale == 0.25 && dump.constants.feedForwardScale == -0.5 && dump.constants.layerNormScale == 3)
        #expect(dump.constants.exponential == IExpConstants(qln2: 100, qln2Inverse: 655, qb: 195, qc: -7))
        #expect(dump.constants.igeluQB == -160 && dump.constants.igeluQC == -28365)
        #expect(dump.constants.inputScale == 0.125 && dump.constants.igeluInputScale == 1.0 / 64)
        // Tensors are numbered 0, 1, … in file order; tensor t holds t·10 + element index.
        #expect(dump.x.values == [0, 1, 2, 3])
        #expect(dump.w2.values == [60, 61, 62, 63])
        #expect(dump.p.count == 1 && dump.p[0].values == [100, 101, 102, 103])
        #expect(dump.y.values == [-116, -115, -114, -113])  // 140…143 as int8
    }

    /// Each damage gives an error that names the problem and says how to write the file again.
    @Test(arguments: DumpDamage.allCases)
    func rejectsABadDump(damage: DumpDamage) {
        var file = DumpFile(s: 32, d: 32, heads: 2, f: 32)
        damage.apply(to: &file)
        do {
            _ = try EncoderLayerDump(bytes: file.bytes)
            Issue.record("\(damage): the dump was read")
        } catch {
            #expect(error.problem.contains(damage.message), "\(damage): \(error)")
            #expect(error.fix.contains("encoder_layer"), "\(damage): the fix says how to write the file again: \(error)")
        }
    }

    @Test func rejectsATruncatedHeaderAndAMissingFile() throws {
        let short = Array(DumpFile(s: 2, d: 2, heads: 1, f: 2).bytes.prefix(40))
        #expect(throws: EncoderLayerDumpError.self) { try EncoderLayerDump(bytes: short) }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-no-such-dump-\(UUID().uuidString)")
        do {
            _ = try EncoderLayerDump.load(missing)
            Issue.record("a missing file was read")
        } catch let error as EncoderLayerDumpError {
            #expect(error.file == missing.path && error.problem.contains("cannot read"))
        }
    }

    // MARK: Helpers

    static func constants(qkvScale: Float = 1, contextScale: Float = 1, feedForwardScale: Float = -1, layerNormScale: Float = 1,
                          exponential: IExpConstants = IExpConstants(qln2: 11, qln2Inverse: 5957, qb: 21, qc: 245),
                          inputScale: Double = 1, igeluInputScale: Double = 1.0 / 64) -> EncoderLayerConstants {
        EncoderLayerConstants(qkvScale: qkvScale, contextScale: contextScale, feedForwardScale: feedForwardScale, layerNormScale: layerNormScale,
                              exponential: exponential, igeluQB: -160, igeluQC: -28365, inputScale: inputScale, igeluInputScale: igeluInputScale)
    }
}

/// A dump assembled byte by byte from the format's table (independently of the reader).
struct DumpFile: Sendable {
    var magic = Array("SPNLENCL".utf8)
    var version: UInt32 = 1, headerBytes: UInt32 = 96
    var s: UInt32, d: UInt32, heads: UInt32, f: UInt32, mode: UInt32 = 1
    var ffn1: Float = -0.5
    var qln2: Int32 = 100
    var xScale = 0.125
    var gain: UInt32 = 0
    var trim = 0, extra = 0

    init(s: UInt32, d: UInt32, heads: UInt32, f: UInt32) {
        (self.s, self.d, self.heads, self.f) = (s, d, heads, f)
    }

    var bytes: [UInt8] {
        var out = magic
        func u32(_ v: UInt32) { out += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func u64(_ v: UInt64) { out += (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        for v in [version, headerBytes, s, d, heads, f, mode] { u32(v) }
        for v: Float in [0.25, 0.5, ffn1, 3] { u32(v.bitPattern) }
        for v: Int32 in [qln2, 655, 195, -7, -160, -28365] { u32(UInt32(bitPattern: v)) }
        u32(gain)
        u64(xScale.bitPattern)
        u64((1.0 / 64).bitPattern)
        let (S, D, F, heads) = (Int(s), Int(d), Int(f), Int(heads))
        let sizes = [S * D, D * D, D * D, D * D, D * D, D * F, F * D, S * D, S * D, S * D] + Array(repeating: S * S, count: max(heads, 0))
            + [S * D, S * D, S * F, S * D]
        for (tensor, size) in sizes.enumerated() { out += (0..<size).map { UInt8(truncatingIfNeeded: tensor * 10 + $0) } }
        return Array(out.dropLast(trim)) + Array(repeating: 0, count: extra)
    }
}

enum DumpDamage: CaseIterable, Sendable {
    case wrongMagic, newerVersion, headerSize, zeroSequence, headsNotDividingModel, modeTwo, nanScale, zeroInputScale, zeroQLN2
    case hugeGain, truncatedTensors, extraBytes

    func apply(to file: inout DumpFile) {
        switch self {
        case .wrongMagic: file.magic = Array("SPNLTRCE".utf8)
        case .newerVersion: file.version = 2
        case .headerSize: file.headerBytes = 100
        case .zeroSequence: file.s = 0
        case .headsNotDividingModel: file.heads = 3
        case .modeTwo: file.mode = 2
        case .nanScale: file.ffn1 = .nan
        case .zeroInputScale: file.xScale = 0
        case .zeroQLN2: file.qln2 = 0
        case .hugeGain: file.gain = 1 << 30
        case .truncatedTensors: file.trim = 3
        case .extraBytes: file.extra = 5
        }
    }

    /// A part of the error's problem text.
    var message: String {
        switch self {
        case .wrongMagic: "magic"
        case .newerVersion: "version 2"
        case .headerSize: "100 bytes"
        case .zeroSequence: "must be positive"
        case .headsNotDividingModel: "multiple of heads"
        case .modeTwo: "mode 2"
        case .nanScale: "FFN1_SCALE is nan"
        case .zeroInputScale: "X's scale is 0.0"
        case .zeroQLN2: "QLN2 is 0"
        case .hugeGain: "gain is 1073741824"
        case .truncatedTensors: "truncated"
        case .extraBytes: "5 bytes too long"
        }
    }
}
