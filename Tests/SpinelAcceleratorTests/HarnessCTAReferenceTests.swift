import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelSim
import Testing

// The C reference of compressed-token attention in spinel_reference.h against the golden model's
// CTA functions (CTANumerics, ClusterIndex, CentroidAggregation, ProbabilityAggregation): a C
// program computes every case of an input file, the test compares each printed line with the
// golden function's result. Both are written from docs/NUMERICS.md by different means (C: a
// quadratic search for equal codes, int64_t sums in one pass, its own rounding helpers; Swift: a
// dictionary of codes, the PAG's pairwise merge order).

@Suite("Harness: the CTA C reference against the golden model")
struct HarnessCTAReferenceTests {
    /// Reads `K acc offset M K bits` (a hash position), `U n l max codes…` (cluster ids),
    /// `W n width F k ids… rows…` (centroids and residuals), `E entries bits` (the exponential
    /// table), `X z λBits entries bits` (exponent and exponential), `Z k0 k1 k2 n λBits entries
    /// bits scores… ct1… ct2…` (AP, denominators, int8 halves) and `O a1 a2 m1 m2 D sBits` (output
    /// factors and the normalized output), and prints one line for each.
    static let program = #"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include "spinel_reference.h"

        static float float_of(unsigned bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
        static unsigned bits_of(float f) { unsigned b; memcpy(&b, &f, sizeof b); return b; }
        static int read_all(FILE* in, int64_t* values, size_t count) {
            for (size_t i = 0; i < count; i++) {
                long long v;
                if (fscanf(in, "%lld", &v) != 1) return 0;
                values[i] = (int64_t)v;
            }
            return 1;
        }
        static int64_t values[1 << 16], more[1 << 16], table[4096], sums[1 << 16], counts[1024], centroids[1 << 16], ap[1 << 16],
            denominators[1024], halves[1 << 16];
        static size_t ids[1024], ct1[1024], ct2[1024];

        int main(int argc, char** argv) {
            if (argc != 2) return 2;
            FILE* in = fopen(argv[1], "r");
            if (!in) return 2;
            char kind;
            while (fscanf(in, " %c", &kind) == 1) {
                long long a, b, c, d, e;
                unsigned bits, entries, width_bits;
                size_t n, l, k, width, k0, k1, k2;
                if (kind == 'K') {
                    if (fscanf(in, "%lld %lld %lld %lld %u", &a, &b, &c, &d, &bits) != 5) return 3;
                    printf("%lld\n", (long long)spinel_cta_hash(a, b, c, (unsigned)d, bits));
                } else if (kind == 'U') {
                    if (fscanf(in, "%zu %zu %zu", &n, &l, &k) != 3 || !read_all(in, values, n * l)) return 3;
                    size_t count;
                    const long overflow = spinel_cta_assign(values, n, l, k, ids, &count);
                    printf("%zu %ld", count, overflow);
                    for (size_t t = 0; t < (overflow < 0 ? n : (size_t)overflow); t++) printf(" %zu", ids[t]);
                    printf("\n");
                } else if (kind == 'W') {
                    if (fscanf(in, "%zu %zu %u %zu", &n, &width, &bits, &k) != 4 || !read_all(in, more, n)) return 3;
                    for (size_t t = 0; t < n; t++) ids[t] = (size_t)more[t];
                    if (!read_all(in, values, n * width)) return 3;
                    spinel_cta_centroids(values, n, width, ids, k, bits, sums, counts, centroids);
                    for (size_t i = 0; i < k * width; i++) printf("%lld ", (long long)centroids[i]);
                    printf("|");
                    for (size_t t = 0; t < n; t++)
                        for (size_t j = 0; j < width; j++) printf(" %lld", (long long)spinel_cta_residual(values[t * width + j], centroids[ids[t] * width + j]));
                    printf("\n");
                } else if (kind == 'E') {
                    if (fscanf(in, "%u %u", &entries, &bits) != 2) return 3;
                    for (unsigned i = 0; i < entries; i++) printf(i + 1 < entries ? "%lld " : "%lld\n", (long long)spinel_cta_exp_entry(i, entries, bits));
                } else if (kind == 'X') {
                    if (fscanf(in, "%lld %u %u %u", &a, &width_bits, &entries, &bits) != 4) return 3;
                    for (unsigned i = 0; i < entries; i++) table[i] = spinel_cta_exp_entry(i, entries, bits);
                    const int64_t u = spinel_cta_exponent(a, float_of(width_bits));
                    printf("%lld %lld\n", (long long)u, (long long)spinel_cta_exp(u, table, entries));
                } else if (kind == 'Z') {
                    if (fscanf(in, "%zu %zu %zu %zu %u %u %u", &k0, &k1, &k2, &n, &width_bits, &entries, &bits) != 7) return 3;
                    if (!read_all(in, values, k0 * (k1 + k2)) || !read_all(in, more, 2 * n)) return 3;
                    for (size_t t = 0; t < n; t++) { ct1[t] = (size_t)more[t]; ct2[t] = (size_t)more[n + t]; }
                    for (unsigned i = 0; i < entries; i++) table[i] = spinel_cta_exp_entry(i, entries, bits);
                    spinel_cta_probabilities(values, k0, k1, k2, ct1, ct2, n, float_of(width_bits), table, entries, ap, denominators);
                    for (size_t q = 0; q < k0; q++) {
                        const int64_t* row = ap + q * (k1 + k2);
                        for (size_t j = 0; j < k1 + k2; j++) printf("%lld ", (long long)row[j]);
                        const int64_t m1 = spinel_cta_quantize_half(row, k1, halves), m2 = spinel_cta_quantize_half(row + k1, k2, halves + k1);
                        printf("/ %lld %lld %lld /", (long long)denominators[q], (long long)m1, (long long)m2);
                        for (size_t j = 0; j < k1 + k2; j++) printf(" %lld", (long long)halves[j]);
                        printf(q + 1 < k0 ? " ; " : "\n");
                    }
                } else if (kind == 'O') {
                    if (fscanf(in, "%lld %lld %lld %lld %lld %u", &a, &b, &c, &d, &e, &bits) != 6) return 3;
                    const float s1 = spinel_cta_output_factor(c, e, float_of(bits)), s2 = spinel_cta_output_factor(d, e, float_of(bits));
                    printf("%u %u %lld\n", bits_of(s1), bits_of(s2), (long long)spinel_cta_output(a, s1, b, s2));
                } else if (kind == 'H') {
                    static elem_t hx[1 << 14], hdir[3][1 << 10], hw[3][1 << 12], hout[1 << 14];
                    static int64_t hoff[3][64], hbias[3][256];
                    int64_t multipliers[3];
                    unsigned shifts[3], lambda_bits, scale_bits[4];
                    size_t dh, hcounts[3] = {0, 0, 0};
                    l = SPINEL_CTA_HASH_LENGTH;
                    if (fscanf(in, "%zu %zu %zu %u %u %u %u %u", &n, &width, &dh, &lambda_bits, &scale_bits[0], &scale_bits[1], &scale_bits[2], &scale_bits[3]) != 8) return 3;
                    if (!read_all(in, more, n * width)) return 3;
                    for (size_t i = 0; i < n * width; i++) hx[i] = (elem_t)more[i];
                    for (int level = 0; level < 3; level++) {
                        if (!read_all(in, more, l * width + l + 2)) return 3;
                        for (size_t i = 0; i < l * width; i++) hdir[level][i] = (elem_t)more[i];
                        for (size_t i = 0; i < l; i++) hoff[level][i] = more[l * width + i];
                        multipliers[level] = more[l * width + l];
                        shifts[level] = (unsigned)more[l * width + l + 1];
                    }
                    for (int m = 0; m < 3; m++) {
                        if (!read_all(in, more, dh * width + dh)) return 3;
                        for (size_t i = 0; i < dh * width; i++) hw[m][i] = (elem_t)more[i];
                        for (size_t i = 0; i < dh; i++) hbias[m][i] = more[dh * width + i];
                    }
                    const elem_t* directions[3] = {hdir[0], hdir[1], hdir[2]};
                    const elem_t* weights[3] = {hw[0], hw[1], hw[2]};
                    const int64_t* offsets[3] = {hoff[0], hoff[1], hoff[2]};
                    const int64_t* biases[3] = {hbias[0], hbias[1], hbias[2]};
                    const float scales[3] = {float_of(scale_bits[0]), float_of(scale_bits[1]), float_of(scale_bits[2])};
                    long token = -1;
                    const int failed = spinel_cta_head_reference(hx, n, width, directions, offsets, multipliers, shifts, weights, biases, dh, scales,
                                                                 float_of(lambda_bits), float_of(scale_bits[3]), hout, hcounts, &token);
                    printf("%d %zu %zu %zu |", failed, hcounts[0], hcounts[1], hcounts[2]);
                    if (failed < 0)
                        for (size_t i = 0; i < n * dh; i++) printf(" %d", (int)hout[i]);
                    printf("\n");
                } else {
                    return 3;
                }
            }
            fclose(in);
            return 0;
        }

        """#

    typealias Cases = HarnessReferenceTests.Cases

    static func cases() -> Cases {
        var cases = Cases()
        var random = SeededGenerator(seed: 0xC7A_2E0)
        func int32() -> Int64 {
            switch random.next() % 4 {
            case 0: Int64(Int32.min) + Int64(random.next() % 3)
            case 1: Int64(Int32.max) - Int64(random.next() % 3)
            default: Int64(Int32(truncatingIfNeeded: random.next()))
            }
        }

        // Hash positions: the int32 extremes, M up to 24 bits, every K, 2- to 16-bit codes.
        while cases.counts["K", default: 0] < 10_000 {
            let acc = int32(), offset = int32(), m = Int64(random.next() % (1 << 24)), k = Int(random.next() % 64), bits = Int(random.next() % 15) + 2
            cases.add("K \(acc) \(offset) \(m) \(k) \(bits)", "\(CTANumerics.hash(acc, offset: offset, multiplier: m, shift: k, codeBits: bits))")
        }

        // Cluster ids: few values per position (repeats), all distinct, one cluster, limits reached and exceeded.
        while cases.counts["U", default: 0] < 10_000 {
            let n = Int(random.next() % 80) + 1, l = Int(random.next() % 6) + 1, values = Int(random.next() % 4) + 1
            var codes = (0..<n).map { _ in (0..<l).map { _ in Int(random.next() % UInt64(values)) - 1 } }
            if random.next() % 10 == 0 { codes = (0..<n).map { t in [t] + Array(repeating: 0, count: l - 1) } }
            let limit = Int(random.next() % UInt64(n + 2)) + 1
            let table = ClusterIndex.assign(codes: codes, maximumClusters: limit)
            cases.add("U \(n) \(l) \(limit) " + codes.map(Cases.words).joined(separator: " "),
                      "\(table.count) \(table.overflowToken ?? -1)" + (table.ids.isEmpty ? "" : " " + Cases.words(table.ids)), weight: n)
        }

        // Centroids and residuals: random ids over k clusters, int8 rows with the extremes.
        while cases.counts["W", default: 0] < 10_000 {
            let n = Int(random.next() % 60) + 1, width = Int(random.next() % 8) + 1, f = Int(random.next() % 11) + 13
            let codes = (0..<n).map { _ in [Int(random.next() % UInt64(random.next() % 3 == 0 ? 1 : 6))] }
            let table = ClusterIndex.assign(codes: codes, maximumClusters: n)
            let rows = (0..<n).map { _ in (0..<width).map { _ in random.next() % 5 == 0 ? (random.next() % 2 == 0 ? Int64(127) : -128) : Int64(random.next() % 256) - 128 } }
            let centroids = CentroidAggregation.centroids(rows, table: table, fractionBits: f)
            let residuals = CentroidAggregation.residuals(rows, centroids: centroids, table: table)
            cases.add("W \(n) \(width) \(f) \(table.count) " + Cases.words(table.ids) + " " + rows.map(Cases.words).joined(separator: " "),
                      centroids.flatMap { $0 }.map { "\($0) " }.joined() + "|" + residuals.flatMap { $0 }.map { " \($0)" }.joined(), weight: n)
        }

        // Exponential tables: every size and a few entry widths.
        for entries in [16, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            for bits in [8, 16, 24] {
                cases.add("E \(entries) \(bits)", Cases.words(CTANumerics.expTable(entries: entries, entryBits: bits)))
            }
        }

        // Exponent and exponential: z from 0 down to −2^33, λ of every size (shifts past 64 give 0).
        let table256 = CTANumerics.expTable(entries: 256, entryBits: 16)
        while cases.counts["X", default: 0] < 10_000 {
            let z = random.next() % 8 == 0 ? 0 : -Int64(random.next() % (1 << UInt64(random.next() % 34)))
            let lambda = Float(sign: .plus, exponent: Int(random.next() % 30) - 20, significand: 1 + Float(random.next() % 1024) / 1024)
            let u = CTANumerics.exponent(z, factor: lambda)
            cases.add("X \(z) \(lambda.bitPattern) 256 16", "\(u) \(CTANumerics.exp(u, table: table256))")
        }

        // Probability aggregation: k0 query rows × n key tokens, both tables' corner cases.
        while cases.counts["Z", default: 0] < 10_000 {
            let n = Int(random.next() % 40) + 1, k0 = Int(random.next() % 5) + 1
            let one = ClusterIndex.assign(codes: (0..<n).map { _ in [Int(random.next() % UInt64(random.next() % 4 == 0 ? 1 : n))] }, maximumClusters: n)
            let two = ClusterIndex.assign(codes: (0..<n).map { _ in [Int(random.next() % UInt64(random.next() % 2 == 0 ? 1 : 3))] }, maximumClusters: n)
            let spread = Int64(1) << Int64(random.next() % 31)
            let scores = (0..<k0).map { _ in (0 ..< one.count + two.count).map { _ in Int64(random.next() % UInt64(2 * spread)) - spread } }
            let lambda = Float(sign: .plus, exponent: Int(random.next() % 24) - 20, significand: 1 + Float(random.next() % 1024) / 1024)
            let aggregation = ProbabilityAggregation(scores: scores, levelOne: one, levelTwo: two, exponentFactor: lambda, expTable: table256, tiles: 2)
            let rows = aggregation.rows.enumerated().map { q, row in
                let halves = [row[..<one.count], row[one.count...]]
                return Cases.words(row) + " / \(aggregation.denominators[q]) \(halves[0].max()!) \(halves[1].max()!) / "
                    + Cases.words(CTANumerics.quantizeProbabilities(halves[0]) + CTANumerics.quantizeProbabilities(halves[1]))
            }
            cases.add("Z \(k0) \(one.count) \(two.count) \(n) \(lambda.bitPattern) 256 16 " + scores.map(Cases.words).joined(separator: " ")
                      + " " + Cases.words(one.ids) + " " + Cases.words(two.ids), rows.joined(separator: " ; "), weight: k0 * n)
        }

        // The normalized output: factors from maxima and denominators, products of every size.
        while cases.counts["O", default: 0] < 10_000 {
            let d = random.next() % 10 == 0 ? 0 : Int64(random.next() % (1 << 26)) + 1
            let m1 = Int64(random.next() % UInt64(max(2 * d, 1))), m2 = Int64(random.next() % UInt64(max(2 * d, 1)))
            let scale = Float(sign: .plus, exponent: Int(random.next() % 20) - 12, significand: 1 + Float(random.next() % 1024) / 1024)
            let a1 = int32() >> Int64(random.next() % 24), a2 = int32() >> Int64(random.next() % 24)
            let s1 = CTANumerics.outputFactor(maximum: m1, denominator: d, outputScale: scale)
            let s2 = CTANumerics.outputFactor(maximum: m2, denominator: d, outputScale: scale)
            cases.add("O \(a1) \(a2) \(m1) \(m2) \(d) \(scale.bitPattern)",
                      "\(s1.bitPattern) \(s2.bitPattern) \(CTANumerics.normalizedOutput(levelOne: a1, factor: s1, levelTwo: a2, factor: s2))")
        }
        return cases
    }

    /// Whole heads (`spinel_cta_head_reference` against `CTAAttention.run`) on the `cta` preset's
    /// units (l = 6, 8-bit codes): tokens near a few prototypes (they cluster), or spread out
    /// (most clusters hold one token); widths and head sizes that are not multiples of DIM.
    static func headCases(count: Int) throws -> Cases {
        var cases = Cases()
        var random = SeededGenerator(seed: 0xC7A_4EAD)
        let cta = try #require(AcceleratorConfig.cta.cta)
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        while cases.counts["H", default: 0] < count {
            let n = below(64) + 1, width = below(20) + 1, d = below(8) + 1, distinct = below(8) == 0
            // Distinct tokens with a bucket width that keeps their codes inside 8 bits (narrower ones saturate alike).
            let prototypes = distinct ? n : below(6) + 1, bucket = distinct ? Double(400 + below(400)) : Double(2_000 + below(8_000))
            let centers = (0..<prototypes).map { _ in (0..<width).map { _ in Int64(below(201)) - 100 } }
            let tokens = (0..<n).map { _ in centers[below(prototypes)].map { max(-128, min(127, $0 + Int64(below(7)) - 3)) } }
            let hashes = (0..<3).map { level in
                let w = bucket * (level == 2 ? 0.25 : 1)
                let (multiplier, shift) = CTANumerics.reciprocal(ofWidth: w, bits: cta.hashReciprocalBits)
                return LocalitySensitiveHash(directions: (0..<cta.hashLength).map { _ in (0..<width).map { _ in Int64(below(121)) - 60 } },
                                             offsets: (0..<cta.hashLength).map { _ in Int64(below(max(Int(w), 1))) },
                                             multiplier: multiplier, shift: shift)
            }
            func linear() -> CTAAttention.Linear {
                CTAAttention.Linear(weights: (0..<d).map { _ in (0..<width).map { _ in Int64(below(101)) - 50 } },
                                    bias: (0..<d).map { _ in Int64(below(4001)) - 2000 })
            }
            let (query, key, value) = (linear(), linear(), linear())
            let scales = CTAAttention.Scales(query: 1 / Float(300 + below(600)), key: 1 / Float(300 + below(600)), value: 1 / Float(300 + below(600)),
                                             exponent: Float(below(100) + 1) / 200, output: Float(below(40) + 1) / 10)
            let result = try CTAAttention.run(tokens: tokens, hashes: hashes, query: query, key: key, value: value, scales: scales, parameters: cta)
            let header = "H \(n) \(width) \(d) \(scales.exponent.bitPattern) \(scales.query.bitPattern) \(scales.key.bitPattern) "
                + "\(scales.value.bitPattern) \(scales.output.bitPattern)"
            let tokenWords: [String] = tokens.map(Cases.words)
            let hashWords: [String] = hashes.map { (hash: LocalitySensitiveHash) -> String in
                let values: [Int64] = hash.directions.flatMap { $0 } + hash.offsets + [hash.multiplier, Int64(hash.shift)]
                return Cases.words(values)
            }
            let linearWords: [String] = [query, key, value].map { (linear: CTAAttention.Linear) -> String in
                Cases.words(linear.weights.flatMap { $0 } + linear.bias)
            }
            let input = ([header] + tokenWords + hashWords + linearWords).joined(separator: " ")
            cases.add(input, "-1 " + Cases.words(result.clusterCounts.map(Int64.init)) + " |" + result.output.flatMap { $0 }.map { " \($0)" }.joined(), weight: 1)
        }
        return cases
    }

    @Test func wholeHeadsEqualTheGoldenModel() throws {
        let cases = try Self.headCases(count: 300)
        // Not vacuous: most heads cluster, some do not, and the outputs are not all zero.
        let counts = cases.expected.map { $0.split(separator: "|")[0].split(separator: " ").dropFirst().compactMap { Int($0) } }
        let sizes = cases.input.map { Int($0.split(separator: " ")[1])! }
        #expect(zip(counts, sizes).filter { $0[0] < $1 / 2 }.count > 100 && zip(counts, sizes).filter { $0[1] > $1 / 2 && $1 > 8 }.count > 10)
        #expect(cases.expected.filter { $0.split(separator: "|")[1].split(separator: " ").contains { $0 != "0" } }.count > 200)
        try HarnessReferenceTests.check(cases, kinds: [], program: Self.program, config: .cta, name: "cta-head-reference", libraries: ["-lm"])
    }

    @Test func everyCTAFunctionEqualsTheGoldenModel() throws {
        try HarnessReferenceTests.check(Self.cases(), kinds: ["K", "U", "W", "X", "Z", "O"], program: Self.program, config: .cta,
                                        name: "cta-reference", libraries: ["-lm"])
    }
}
