import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelSim
import Testing

// spinel_reference.h (the harness's C reference of I-GELU, LayerNorm, Softmax and int_sqrt)
// against the golden model's `Numerics`: a C program computes every case of an input file, the
// test compares each printed line with the golden model's result. Both sides are written from
// docs/NUMERICS.md by different means (C: Newton's square root, long division, uint64_t wrapping;
// Swift: digit recurrence, full-width division, Int64 wrapping).

@Suite("Harness: spinel_reference.h against the golden model")
struct HarnessReferenceTests {
    /// Reads `R n`, `G q qb qc scaleBits`, `L J scaleBits x…`, `A J scaleBits x… γ… β…` (the
    /// affine LayerNorm) and `S J qln2 qln2_inv qb qc x…` lines, and for the numerics extensions
    /// `Q x M K` (requantizer), `H q qb1 qc1 qb2 qc2 qt q1 scaleBits` (two-segment I-GELU),
    /// `M J qln2 qln2_inv qb qc x…` (Softmax relative to the maximum, with ρ's bits),
    /// `P J ρBits scaleBits x…` (row scale) and `V J x… scaleBits…` (lane scales), and prints
    /// one result line for each.
    static let program = #"""
        #include <stdio.h>
        #include <string.h>
        #include "spinel_reference.h"

        static float scale_of(unsigned bits) { float f; memcpy(&f, &bits, sizeof f); return f; }

        int main(int argc, char** argv) {
            if (argc != 2) return 2;
            FILE* input = fopen(argv[1], "r");
            if (!input) return 2;
            char kind;
            static acc_t x[256], gamma[256], beta[256];
            static elem_t out[256];
            while (fscanf(input, " %c", &kind) == 1) {
                long long a = 0, b = 0, c = 0, d = 0;
                unsigned bits = 0;
                size_t J = 0;
                if (kind == 'R') {
                    if (fscanf(input, "%lld", &a) != 1) return 3;
                    printf("%lld\n", (long long)int_sqrt((int64_t)a));
                } else if (kind == 'G') {
                    if (fscanf(input, "%lld %lld %lld %u", &a, &b, &c, &bits) != 4) return 3;
                    const acc_t y = spinel_igelu((acc_t)a, (acc_t)b, (acc_t)c);
                    acc_t row[1] = {(acc_t)a};
                    spinel_igelu_row(row, 1, (acc_t)b, (acc_t)c, scale_of(bits), out);
                    printf("%lld %d\n", (long long)y, (int)out[0]);
                } else if (kind == 'L' || kind == 'S' || kind == 'A') {
                    if (fscanf(input, "%zu", &J) != 1 || J == 0 || J > 256) return 3;
                    if ((kind == 'L' || kind == 'A') && fscanf(input, "%u", &bits) != 1) return 3;
                    if (kind == 'S' && fscanf(input, "%lld %lld %lld %lld", &a, &b, &c, &d) != 4) return 3;
                    for (size_t j = 0; j < J; j++) {
                        long long v;
                        if (fscanf(input, "%lld", &v) != 1) return 3;
                        x[j] = (acc_t)v;
                    }
                    for (size_t j = 0; kind == 'A' && j < 2 * J; j++) {
                        long long v;
                        if (fscanf(input, "%lld", &v) != 1) return 3;
                        if (j < J) gamma[j] = (acc_t)v; else beta[j - J] = (acc_t)v;
                    }
                    if (kind == 'L') {
                        spinel_layernorm_row(x, J, scale_of(bits), out);
                    } else if (kind == 'A') {
                        spinel_layernorm_affine_row(x, J, gamma, beta, scale_of(bits), out);
                    } else if (spinel_softmax_row(x, J, (acc_t)a, (acc_t)b, (acc_t)c, (acc_t)d, out) != 0) {
                        printf("-\n");
                        continue;
                    }
                    for (size_t j = 0; j < J; j++) printf(j + 1 < J ? "%d " : "%d\n", (int)out[j]);
                } else if (kind == 'Q') {
                    if (fscanf(input, "%lld %lld %lld", &a, &b, &c) != 3) return 3;
                    printf("%lld\n", (long long)spinel_requantize((acc_t)a, (uint16_t)b, (unsigned)c));
                } else if (kind == 'H') {
                    long long e = 0, f = 0, g = 0;
                    if (fscanf(input, "%lld %lld %lld %lld %lld %lld %lld %u", &a, &b, &c, &d, &e, &f, &g, &bits) != 8) return 3;
                    const spinel_igelu2_constants_t k = {(acc_t)b, (acc_t)c, (acc_t)d, (acc_t)e, (acc_t)f, (acc_t)g};
                    acc_t row[1] = {(acc_t)a};
                    spinel_igelu2_row(row, 1, k, scale_of(bits), out);
                    printf("%lld %d\n", (long long)spinel_igelu2((acc_t)a, k), (int)out[0]);
                } else if (kind == 'M' || kind == 'P' || kind == 'V') {
                    unsigned rho_bits = 0;
                    if (fscanf(input, "%zu", &J) != 1 || J == 0 || J > 256) return 3;
                    if (kind == 'M' && fscanf(input, "%lld %lld %lld %lld", &a, &b, &c, &d) != 4) return 3;
                    if (kind == 'P' && fscanf(input, "%u %u", &rho_bits, &bits) != 2) return 3;
                    for (size_t j = 0; j < J; j++) {
                        long long v;
                        if (fscanf(input, "%lld", &v) != 1) return 3;
                        x[j] = (acc_t)v;
                    }
                    if (kind == 'M') {
                        float rho;
                        if (spinel_softmax_max_row(x, J, (acc_t)a, (acc_t)b, (acc_t)c, (acc_t)d, out, &rho) != 0) return 3;
                        for (size_t j = 0; j < J; j++) printf("%d ", (int)out[j]);
                        unsigned rho_out;
                        memcpy(&rho_out, &rho, sizeof rho_out);
                        printf("%u\n", rho_out);
                        continue;
                    } else if (kind == 'P') {
                        spinel_row_scale_row(x, J, scale_of(rho_bits), scale_of(bits), out);
                    } else {
                        static acc_scale_t scales[256];
                        for (size_t j = 0; j < J; j++) {
                            if (fscanf(input, "%u", &bits) != 1) return 3;
                            scales[j] = scale_of(bits);
                        }
                        spinel_lane_scale_row(x, J, scales, out);
                    }
                    for (size_t j = 0; j < J; j++) printf(j + 1 < J ? "%d " : "%d\n", (int)out[j]);
                } else {
                    return 3;
                }
            }
            fclose(input);
            return 0;
        }

        """#

    /// Input lines and the golden model's result for each.
    struct Cases {
        var input: [String] = []
        var expected: [String] = []
        var counts: [Character: Int] = [:]

        mutating func isqrt(_ n: Int64) {
            add("R \(n)", "\(Numerics.isqrt(n))")
        }

        mutating func igelu(_ q: Int32, qb: Int32, qc: Int32, scale: Float) {
            let y = Numerics.igelu(Int64(q), qb: Int64(qb), qc: Int64(qc), accumulatorBits: 32)
            add("G \(q) \(qb) \(qc) \(scale.bitPattern)", "\(y) \(Numerics.scale(y, by: scale, toBits: 8))")
        }

        mutating func layerNorm(_ row: [Int64], scale: Float) {
            let out = Numerics.layerNormOutput(row, scale: scale, outputBits: 8)
            add("L \(row.count) \(scale.bitPattern) " + Self.words(row), Self.words(out))
        }

        mutating func affineLayerNorm(_ row: [Int64], gamma: [Int64], beta: [Int64], scale: Float) {
            // γ as LOAD_AFFINE leaves it: saturated to 18 bits.
            let statistics = LayerNormStatistics(row: row)
            let out = row.indices.map { j in
                let g = Numerics.saturate(gamma[j], bits: LayerNormFormat.gammaBits)
                return Numerics.scale(statistics.normalize(row[j], gamma: g, beta: beta[j], accumulatorBits: 32),
                                      by: Numerics.layerNormScale(scale), toBits: 8)
            }
            add("A \(row.count) \(scale.bitPattern) " + Self.words(row + gamma + beta), Self.words(out))
        }

        mutating func softmax(_ row: [Int64], _ c: IExpConstants) {
            let out = Numerics.softmaxOutput(row, constants: c, accumulatorBits: 32, outputBits: 8)
            add("S \(row.count) \(c.qln2) \(c.qln2Inverse) \(c.qb) \(c.qc) " + Self.words(row), out.map(Self.words) ?? "-")
        }

        mutating func requantize(_ x: Int32, multiplier: UInt16, shift: Int) {
            add("Q \(x) \(multiplier) \(shift)", "\(Numerics.requantize(Int64(x), multiplier: Int64(multiplier), shift: shift, accumulatorBits: 32))")
        }

        mutating func twoSegmentGELU(_ q: Int32, _ c: TwoSegmentGELUConstants, scale: Float) {
            let y = Numerics.twoSegmentGELU(Int64(q), constants: c, accumulatorBits: 32)
            add("H \(q) \(c.qb1) \(c.qc1) \(c.qb2) \(c.qc2) \(c.qt) \(c.q1) \(scale.bitPattern)", "\(y) \(Numerics.scale(y, by: scale, toBits: 8))")
        }

        mutating func softmaxRelativeToMaximum(_ row: [Int64], _ c: IExpConstants) {
            let result = Numerics.softmaxRelativeToMaximum(row, constants: c, accumulatorBits: 32, outputBits: 8)!
            add("M \(row.count) \(c.qln2) \(c.qln2Inverse) \(c.qb) \(c.qc) " + Self.words(row),
                Self.words(result.outputs) + " \(result.rho.bitPattern)")
        }

        mutating func rowScale(_ row: [Int64], rho: Float, scale: Float) {
            add("P \(row.count) \(rho.bitPattern) \(scale.bitPattern) " + Self.words(row),
                Self.words(row.map { Numerics.rowScaled($0, rho: rho, scale: scale, toBits: 8) }))
        }

        mutating func laneScales(_ row: [Int64], scales: [Float]) {
            add("V \(row.count) " + Self.words(row) + " " + scales.map { String($0.bitPattern) }.joined(separator: " "),
                Self.words(zip(row, scales).map { Numerics.scale($0, by: $1, toBits: 8) }))
        }

        /// A case, counted `weight` times toward its kind's total (its letter).
        mutating func add(_ line: String, _ result: String, weight: Int = 1) {
            input.append(line)
            expected.append(result)
            counts[line.first!, default: 0] += weight
        }

        static func words(_ values: [Int64]) -> String { values.map(String.init).joined(separator: " ") }
        static func words(_ values: [Int]) -> String { values.map(String.init).joined(separator: " ") }
    }

    static let int32Edges: [Int32] = [.min, .min + 1, -65537, -1, 0, 1, 2, 65536, .max - 1, .max]

    static func randomScale(_ random: inout SeededGenerator) -> Float {
        let magnitude = Float(sign: .plus, exponent: Int(random.next() % 31) - 20, significand: 1 + Float(random.next() % 1024) / 1024)
        return random.next() % 4 == 0 ? -magnitude : magnitude
    }

    static func randomInt32(_ random: inout SeededGenerator) -> Int32 {
        switch random.next() % 4 {
        case 0: Int32(truncatingIfNeeded: random.next())
        case 1: int32Edges[Int(random.next() % UInt64(int32Edges.count))]
        default: Int32(truncatingIfNeeded: Int64(random.next() % 20001) - 10000)
        }
    }

    /// A row of 1 to 64 int32 values around a random center, of every spread.
    static func randomLayerNormRow(_ random: inout SeededGenerator) -> [Int64] {
        let length = Int(random.next() % 64) + 1
        let shift = Int32(random.next() % 32)
        let center = Int64(randomInt32(&random)) / 2
        return (0..<length).map { _ in Int64(Int32(clamping: center + Int64(Int32(truncatingIfNeeded: random.next()) >> shift))) }
    }

    /// ≥ 10,000 cases of each function, edges first.
    static func cases() -> Cases {
        var cases = Cases()
        var random = SeededGenerator(seed: 0x5EF_E2E0)
        let scales: [Float] = [1, 0.5, 0.05, -0.5, 1e-9, Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, 127, 0]

        // int_sqrt: edges, perfect squares and their neighbours, random values.
        for n: Int64 in [0, 1, 2, 3, 4, 5, 8, 9, 10, Int64(Int32.max), 1 << 62, (1 << 62) - 1, Int64.max] { cases.isqrt(n) }
        while cases.counts["R", default: 0] < 10_000 {
            let root = Int64(random.next() % (1 << 31))
            cases.isqrt(root * root)
            cases.isqrt(max(root * root - 1, 0))
            cases.isqrt(Int64(random.next() >> 1) >> Int64(random.next() % 63))
        }

        // I-GELU: every combination of edge values, then random ones (Gemmini-like constants
        // half of the time).
        for q in int32Edges {
            for qb: Int32 in [.min, -25, -1, 0, 1, .max] {
                for qc: Int32 in [.min, -692, 0, .max] { cases.igelu(q, qb: qb, qc: qc, scale: scales[Int(random.next() % UInt64(scales.count))]) }
            }
        }
        while cases.counts["G", default: 0] < 10_000 {
            let gemminiLike = random.next() % 2 == 0
            let qb = gemminiLike ? -Int32(random.next() % 2000) : randomInt32(&random)
            let qc = gemminiLike ? -Int32(random.next() % 100_000) : randomInt32(&random)
            cases.igelu(randomInt32(&random), qb: qb, qc: qc, scale: randomScale(&random))
        }

        // LayerNorm: constant rows, single elements, ties, the int32 extremes, random rows of
        // 1 to 64 elements and every spread.
        cases.layerNorm([5, 5, 5, 5], scale: 1)
        cases.layerNorm([-7], scale: 1)
        cases.layerNorm([97, 99, 101, 103], scale: 1)
        cases.layerNorm([105, 99, 99, 99, 99, 99], scale: 1)
        cases.layerNorm([93, 101, 101, 101, 101, 101, 101, 101], scale: 0.75)
        cases.layerNorm(Array(repeating: [Int64(Int32.max), Int64(Int32.min)], count: 32).flatMap { $0 }, scale: 100)
        cases.layerNorm(Array(repeating: Int64(Int32.min), count: 64), scale: 1)
        cases.layerNorm([Int64(Int32.max)] + Array(repeating: Int64(Int32.min), count: 63), scale: 1)
        while cases.counts["L", default: 0] < 10_000 {
            let row = randomLayerNormRow(&random)
            cases.layerNorm(row, scale: random.next() % 8 == 0 ? scales[Int(random.next() % UInt64(scales.count))] : randomScale(&random))
        }

        // The affine LayerNorm: γ = 1.0 and β = 0 (LayerNorm's values), ties of both roundings,
        // saturation of z and of γ, then random rows with int8, fixed-point and arbitrary int32 γ and β.
        cases.affineLayerNorm([97, 99, 101, 103], gamma: [4096, 4096, 4096, 4096], beta: [0, 0, 0, 0], scale: 1)
        cases.affineLayerNorm([0, 1, 4, 5], gamma: [4096, 4096, 3 * 4096, 5 * 4096], beta: [0, 0, 0, 0], scale: 1)
        cases.affineLayerNorm([95, 99, 101, 105], gamma: [2048, 2048, 2048, 2048], beta: [54560, 10880, -10880, -54560], scale: 65536)
        cases.affineLayerNorm([97, 99, 101, 103], gamma: Array(repeating: Int64(Int32.max), count: 4), beta: [0, 0, 0, 0], scale: 0x1p-26)
        cases.affineLayerNorm([Int64(Int32.min), Int64(Int32.max)], gamma: [Int64(Int32.min), Int64(Int32.min)],
                              beta: [Int64(Int32.max), Int64(Int32.min)], scale: 1)
        while cases.counts["A", default: 0] < 10_000 {
            let row = randomLayerNormRow(&random)
            let style = random.next() % 3
            func parameter() -> Int64 {
                switch style {
                case 0: Int64(random.next() % 255) - 127
                case 1: Int64(random.next() % (1 << 17)) - (1 << 16)
                default: Int64(randomInt32(&random))
                }
            }
            let gamma = row.map { _ in parameter() }, beta = row.map { _ in parameter() }
            cases.affineLayerNorm(row, gamma: gamma, beta: beta, scale: randomScale(&random))
        }

        // Softmax: Gemmini's software constants for input scales 0.005 to 0.5, arbitrary
        // constants (wrapping polynomials, negative sums), and the refused rows.
        cases.softmax([0, -1, -5, -200], IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: 2))
        cases.softmax([0, -127, -128], IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: -100))
        cases.softmax([0], IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 0, qc: 0))        // sum 0: factor 0
        cases.softmax([1, 2, 3], IExpConstants(qln2: 4, qln2Inverse: 0, qb: 3, qc: 2))      // no qln2_inv: z clamps at 0
        cases.softmax([1, 2, 3], IExpConstants(qln2: 4, qln2Inverse: -5, qb: 3, qc: 2))
        cases.softmax([Int64(Int32.max), Int64(Int32.min), 0], IExpConstants(qln2: 1, qln2Inverse: Int64(Int32.max), qb: 3, qc: 2))
        while cases.counts["S", default: 0] < 10_000 {
            let constants: IExpConstants
            if random.next() % 3 == 0 {
                constants = IExpConstants(qln2: Int64(randomInt32(&random)), qln2Inverse: Int64(randomInt32(&random)),
                                          qb: Int64(randomInt32(&random)), qc: Int64(randomInt32(&random)))
            } else {
                let s = 0.005 + Double(random.next() % 10_000) / 10_000 * 0.495
                let qln2 = Int64(0.693147 / s)
                constants = IExpConstants(qln2: qln2, qln2Inverse: 65536 / qln2, qb: Int64(1.353 / s), qc: Int64(0.344 / (0.3585 * s * s)))
            }
            let length = Int(random.next() % 64) + 1
            let shift = Int32(random.next() % 32)
            let row = (0..<length).map { _ in Int64(Int32(truncatingIfNeeded: random.next()) >> shift) }
            cases.softmax(row, constants)
        }
        // The numerics extensions: the requantizer at the K and M extremes and at random; the
        // two-segment I-GELU with software constants and arbitrary (wrapping) ones; Softmax
        // relative to the maximum (ρ's bits compared too); the row scale and the lane scales.
        for x in int32Edges {
            for m: UInt16 in [0, 1, 2, 4096, .max] {
                for k in [1, 2, 16, 31, 46, 47] { cases.requantize(x, multiplier: m, shift: k) }
            }
        }
        cases.requantize(6, multiplier: 1, shift: 2)
        cases.requantize(-6, multiplier: 1, shift: 2)
        while cases.counts["Q", default: 0] < 10_000 {
            cases.requantize(randomInt32(&random), multiplier: UInt16(truncatingIfNeeded: random.next()), shift: Int(random.next() % 47) + 1)
        }
        while cases.counts["H", default: 0] < 10_000 {
            let constants: TwoSegmentGELUConstants
            if random.next() % 3 == 0 {
                constants = TwoSegmentGELUConstants(qb1: Int64(randomInt32(&random)), qc1: Int64(randomInt32(&random)), qb2: Int64(randomInt32(&random)),
                                                    qc2: Int64(randomInt32(&random)), qt: Int64(randomInt32(&random)), q1: Int64(randomInt32(&random)))
            } else {
                constants = TwoSegmentGELUConstants(inputScale: 0.001 + Double(random.next() % 10_000) / 10_000 * 0.1)
            }
            cases.twoSegmentGELU(randomInt32(&random), constants, scale: randomScale(&random))
        }
        cases.softmaxRelativeToMaximum([0, -1, -5, -200], IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 3, qc: 2))
        cases.softmaxRelativeToMaximum([0], IExpConstants(qln2: 4, qln2Inverse: 16384, qb: 0, qc: 0))   // iexp(0) = 0: factor 0, ρ 0
        cases.softmaxRelativeToMaximum([Int64(Int32.max), Int64(Int32.min), 0], IExpConstants(qln2: 1, qln2Inverse: Int64(Int32.max), qb: 3, qc: 2))
        while cases.counts["M", default: 0] < 10_000 {
            let s = 0.005 + Double(random.next() % 10_000) / 10_000 * 0.495
            let qln2 = Int64(0.693147 / s)
            let constants = random.next() % 4 == 0
                ? IExpConstants(qln2: Int64(randomInt32(&random)), qln2Inverse: Int64(randomInt32(&random)), qb: Int64(randomInt32(&random)), qc: Int64(randomInt32(&random)))
                : IExpConstants(qln2: qln2, qln2Inverse: 65536 / qln2, qb: Int64(1.353 / s), qc: Int64(0.344 / (0.3585 * s * s)))
            let length = Int(random.next() % 64) + 1
            let shift = Int32(random.next() % 32)
            cases.softmaxRelativeToMaximum((0..<length).map { _ in Int64(Int32(truncatingIfNeeded: random.next()) >> shift) }, constants)
        }
        while cases.counts["P", default: 0] < 10_000 {
            let row = (0..<Int(random.next() % 16) + 1).map { _ in Int64(randomInt32(&random)) }
            let rho = random.next() % 8 == 0 ? 0 : Float(1) / Float(random.next() % 5000 + 1)
            cases.rowScale(row, rho: rho, scale: randomScale(&random))
        }
        while cases.counts["V", default: 0] < 10_000 {
            let row = (0..<Int(random.next() % 16) + 1).map { _ in Int64(randomInt32(&random)) }
            cases.laneScales(row, scales: row.map { _ in random.next() % 8 == 0 ? scales[Int(random.next() % UInt64(scales.count))] : randomScale(&random) })
        }
        return cases
    }

    @Test func everyFunctionEqualsTheGoldenModel() throws {
        try Self.check(Self.cases(), kinds: ["R", "G", "L", "A", "S", "Q", "H", "M", "P", "V"], program: Self.program,
                       config: .transformer, name: "reference")
    }

    /// Builds `program` against `config`'s harness, runs it on the cases (at least 10,000 of each
    /// kind) and compares every printed line with the golden model's.
    static func check(_ cases: Cases, kinds: [Character], program: String, config: AcceleratorConfig, name: String,
                      libraries: [String] = []) throws {
        let p = try config.parameters()
        let directory = try HarnessTestSupport.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        try OutputChecks.write(HarnessGenerator.files(for: p), to: directory)
        let source = directory.appendingPathComponent("reference.c"), binary = directory.appendingPathComponent("reference")
        try Data(program.utf8).write(to: source)
        try Tools.check("gcc", ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-I", directory.path, source.path, "-o", binary.path] + libraries,
                        in: directory)

        for kind in kinds { #expect(cases.counts[kind, default: 0] >= 10_000, "\(kind): \(cases.counts)") }
        let inputFile = directory.appendingPathComponent("cases.txt")
        try Data((cases.input.joined(separator: "\n") + "\n").utf8).write(to: inputFile)
        let run = try HarnessBuild.run(binary, [inputFile.path])
        try #require(run.succeeded, "\(HarnessTestSupport.describe(run))")
        let lines = run.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == cases.expected.count)
        var mismatches = 0
        for (index, (got, want)) in zip(lines, cases.expected).enumerated() where got != want {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(cases.input[index].prefix(300)):\n  C      \(got.prefix(300))\n  golden \(want.prefix(300))") }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.expected.count) cases differ")
    }
}
