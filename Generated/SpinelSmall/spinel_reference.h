/*
 * Spinel harness: the C reference of the transformer nonlinear functions, written for Spinel
 * from docs/NUMERICS.md (shared spec) and docs/ACCELERATOR.md ("Normalization"), bit for bit
 * what the accelerator computes. int_sqrt keeps the name of Gemmini's CPU reference in
 * include/gemmini.h; the rest are Spinel's.
 *
 *   spinel_igelu(q, qb, qc)                     I-GELU's y of one accumulator value (activation 3)
 *   spinel_igelu_row(x, J, qb, qc, scale, out)  out_j = ACC_SCALE(y_j, scale)
 *   spinel_layernorm_row(x, J, scale, out)      LayerNorm of one row (activation 2)
 *   spinel_layernorm_affine_row(x, J, gamma, beta, scale, out)
 *                                               the affine LayerNorm (activation 6, a Spinel
 *                                               extension), γ and β per column
 *   spinel_iexp(q, qln2, qln2_inv, qb, qc)      I-BERT's integer exponential of q = x - max
 *   spinel_softmax_row(x, J, qln2, qln2_inv, qb, qc, out)
 *                                               Softmax of one row (activation 4); returns -1
 *                                               (and writes nothing) for J = 0
 * Spinel's numerics extensions (HAS_NUMERICS_EXTENSIONS, docs/NUMERICS.md):
 *   spinel_requantize(x, m, k)                  the per-lane requantizer, sat_acc(RRS(x·M, K))
 *   spinel_igelu2(q, c)                         the two-segment I-GELU's y (activation 7)
 *   spinel_igelu2_row(x, J, c, scale, out)      out_j = ACC_SCALE(y_j, scale)
 *   spinel_softmax_max_row(x, J, qln2, qln2_inv, qb, qc, out, rho)
 *                                               Softmax relative to the row maximum
 *                                               (activation 5) and the row's ρ
 *   spinel_row_scale_row(x, J, rho, scale, out) the row-scale store, ACC_SCALE(x_j, ρ ⊗ scale)
 *   spinel_lane_scale_row(x, J, scales, out)    the lane scales, ACC_SCALE(x_j, scales[j])
 * Compressed-token attention (docs/CTA.md, docs/NUMERICS.md):
 *   spinel_cta_hash, spinel_cta_assign          hash positions; cluster ids in order of first appearance
 *   spinel_cta_average, spinel_cta_centroids, spinel_cta_residual
 *                                               centroids by the reciprocal table; level-2 residuals
 *   spinel_cta_exp_entry, spinel_cta_exponent, spinel_cta_exp
 *                                               the exponential table, its input, its output
 *   spinel_cta_probabilities, spinel_cta_quantize_half
 *                                               AP and its denominators; AP's int8 halves
 *   spinel_cta_output_factor, spinel_cta_output the two-factor normalized output
 *   spinel_cta_head_reference                   one whole head (SPINEL_HAS_CTA configurations)
 *
 * Widths, as the accelerator's: accumulator values are acc_t of at most 32 bits; I-GELU's
 * polynomial and product and i-exp's qp and polynomial wrap in acc_t (two's complement, as
 * Gemmini's reference computes them in acc_t); sums, the mean and the variance are exact,
 * LayerNorm divides once per row (a reciprocal, docs/NUMERICS.md) and keeps F = 16 fractional
 * bits; fp32 results round to nearest even (ACC_SCALE from gemmini_params.h).
 * Everything below is defined C for every input: wrapping arithmetic is done in uint64_t.
 */
#ifndef SPINEL_REFERENCE_H
#define SPINEL_REFERENCE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "gemmini_params.h"
#include "spinel_isa.h"

/* v (an integer modulo 2^64) as a two's-complement acc_t value of SPINEL_ACC_BITS bits. */
static inline int64_t spinel_wrap_acc(uint64_t v) {
#if SPINEL_ACC_BITS >= 64
    return (int64_t)v;
#else
    const uint64_t sign = (uint64_t)1 << (SPINEL_ACC_BITS - 1);
    v &= ((uint64_t)1 << SPINEL_ACC_BITS) - 1;
    return (int64_t)(v ^ sign) - (int64_t)sign;
#endif
}

/* floor(x / 2^shift) for shift < 64, without relying on how >> treats negative numbers. */
static inline int64_t spinel_shift_right_floor(int64_t x, unsigned shift) {
    return x >= 0 ? x >> shift : -1 - ((-1 - x) >> shift);
}

/* floor(sqrt(n)) for n >= 0: Newton's iteration from 2^ceil(bits(n) / 2), which is above the
 * root, down to the first step that does not decrease (Gemmini's int_sqrt, on 64 bits). */
static inline int64_t int_sqrt(int64_t n) {
    if (n <= 0) return 0;
    int bits = 0;
    for (uint64_t v = (uint64_t)n; v > 0; v >>= 1) bits++;
    uint64_t x = (uint64_t)1 << ((bits + 1) / 2);
    for (;;) {
        const uint64_t next = (x + (uint64_t)n / x) / 2;
        if (next >= x) return (int64_t)x;
        x = next;
    }
}

/* rne(n / d) for d > 0: the exact quotient rounded to the nearest integer, ties to even. */
static inline int64_t spinel_divide_round_even(int64_t n, int64_t d) {
    int64_t q = n / d;                          /* C truncates toward zero */
    const int64_t r = n % d;
    const uint64_t twice = 2 * (uint64_t)(r < 0 ? -r : r);
    if (twice > (uint64_t)d || (twice == (uint64_t)d && q % 2 != 0)) q += n < 0 ? -1 : 1;
    return q;
}

/* floor((high·2^64 + low) / d) for high < d (the quotient fits 64 bits): long division. */
static inline uint64_t spinel_divide_wide(uint64_t high, uint64_t low, uint64_t d) {
    uint64_t remainder = high, quotient = 0;
    for (int bit = 63; bit >= 0; bit--) {
        const int overflow = (int)(remainder >> 63);
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if (overflow || remainder >= d) {
            remainder -= d;
            quotient |= 1;
        }
    }
    return quotient;
}

/* I-GELU: q_clip = min(|q|, -qb), q_poly = (q_clip + qb)^2 + qc, q_erf = sign(q)·q_poly,
 * y = q·(q_erf + qc). The clip is exact; the rest wraps in acc_t. */
static inline acc_t spinel_igelu(acc_t q, acc_t qb, acc_t qc) {
    const int64_t magnitude = q < 0 ? -(int64_t)q : (int64_t)q, limit = -(int64_t)qb;
    const int64_t clip = magnitude < limit ? magnitude : limit;
    const uint64_t base = (uint64_t)clip + (uint64_t)(int64_t)qb;
    const uint64_t poly = base * base + (uint64_t)(int64_t)qc;
    const uint64_t erf = q < 0 ? 0 - poly : poly;
    return (acc_t)spinel_wrap_acc((uint64_t)(int64_t)q * (erf + (uint64_t)(int64_t)qc));
}

static inline void spinel_igelu_row(const acc_t* x, size_t J, acc_t qb, acc_t qc, acc_scale_t scale, elem_t* out) {
    for (size_t j = 0; j < J; j++) out[j] = ACC_SCALE(spinel_igelu(x[j], qb, qc), scale);
}

/* LayerNorm's statistics of J >= 1 values: mean = trunc(Σx / J), var = trunc(Σ(x - mean)^2 / J),
 * std = var == 0 ? 1 : int_sqrt(var). Σ(x - mean)^2 is kept in 128 bits (two halves): each
 * square is below 2^64. */
static inline void spinel_layernorm_statistics(const acc_t* x, size_t J, int64_t* mean, int64_t* std) {
    int64_t sum = 0;
    for (size_t j = 0; j < J; j++) sum += x[j];
    *mean = sum / (int64_t)J;
    uint64_t high = 0, low = 0;
    for (size_t j = 0; j < J; j++) {
        const int64_t deviation = (int64_t)x[j] - *mean;
        const uint64_t magnitude = (uint64_t)(deviation < 0 ? -deviation : deviation);
        const uint64_t square = magnitude * magnitude;
        low += square;
        if (low < square) high++;
    }
    const int64_t variance = (int64_t)spinel_divide_wide(high, low, (uint64_t)J);
    *std = variance == 0 ? 1 : int_sqrt(variance);
}

/* F, the fractional bits of LayerNorm's normalized value, and the affine LayerNorm's γ format
 * (signed Q.12 in 18 bits). */
#define SPINEL_LAYERNORM_F SPINEL_ISA_LAYERNORM_F
#define SPINEL_AFFINE_GAMMA_BITS SPINEL_ISA_AFFINE_GAMMA_BITS
#define SPINEL_AFFINE_GAMMA_FRACTION SPINEL_ISA_AFFINE_GAMMA_FRACTION

/* LayerNorm's one division per row: e = bits(std) (std >= 1), inv = rne(2^(e+23) / std), and the
 * shift e + 23 - F of n_j = RRS((x_j - mean)·inv, shift). */
static inline void spinel_layernorm_reciprocal(int64_t std, int64_t* inv, unsigned* shift) {
    unsigned e = 0;
    for (uint64_t v = (uint64_t)std; v > 0; v >>= 1) e++;
    *inv = spinel_divide_round_even((int64_t)1 << (e + 23), std);
    *shift = e + 23 - SPINEL_LAYERNORM_F;
}

/* n_j = RRS((x_j - mean)·inv, shift): (x_j - mean)/std with F fractional bits. The product is
 * below 2^33·2^24: exact in 64 bits. */
static inline int64_t spinel_layernorm_normalize(acc_t x, int64_t mean, int64_t inv, unsigned shift) {
    const int64_t product = ((int64_t)x - mean) * inv;
    return ROUNDING_RIGHT_SHIFT(product, (int64_t)shift);
}

/* The scale of LayerNorm's output: scale ⊗ 2^-F, one fp32 multiply. */
static inline acc_scale_t spinel_layernorm_scale(acc_scale_t scale) {
    return (acc_scale_t)((float)scale * (1.0f / (float)(1 << SPINEL_LAYERNORM_F)));
}

/* LayerNorm of J >= 1 values: out_j = ACC_SCALE(n_j, scale ⊗ 2^-F). */
static inline void spinel_layernorm_row(const acc_t* x, size_t J, acc_scale_t scale, elem_t* out) {
    int64_t mean, std, inv;
    unsigned shift;
    spinel_layernorm_statistics(x, J, &mean, &std);
    spinel_layernorm_reciprocal(std, &inv, &shift);
    const acc_scale_t folded = spinel_layernorm_scale(scale);
    for (size_t j = 0; j < J; j++) out[j] = ACC_SCALE(spinel_layernorm_normalize(x[j], mean, inv, shift), folded);
}

/* The affine LayerNorm (Spinel extension, activation 6) of J >= 1 values with γ_j (signed Q.12,
 * as LOAD_AFFINE leaves it: saturated to 18 bits) and β_j (units of 2^-F):
 * z_j = sat_acc(RRS(n_j·γ_j, 12) + β_j), out_j = ACC_SCALE(z_j, scale ⊗ 2^-F). |n_j| < 2^49 and
 * |γ_j| <= 2^17: a product beyond 64 bits (checked with the compiler's overflow builtin) is far
 * beyond acc_t after the shift and saturates by its sign. */
static inline void spinel_layernorm_affine_row(const acc_t* x, size_t J, const acc_t* gamma, const acc_t* beta, acc_scale_t scale,
                                               elem_t* out) {
    int64_t mean, std, inv;
    unsigned shift;
    spinel_layernorm_statistics(x, J, &mean, &std);
    spinel_layernorm_reciprocal(std, &inv, &shift);
    const acc_scale_t folded = spinel_layernorm_scale(scale);
    const int64_t high = (int64_t)(((uint64_t)1 << (8 * sizeof(acc_t) - 1)) - 1), low = -high - 1;
    const int64_t gamma_high = ((int64_t)1 << (SPINEL_AFFINE_GAMMA_BITS - 1)) - 1, gamma_low = -gamma_high - 1;
    for (size_t j = 0; j < J; j++) {
        const int64_t n = spinel_layernorm_normalize(x[j], mean, inv, shift);
        const int64_t g = gamma[j] > gamma_high ? gamma_high : (gamma[j] < gamma_low ? gamma_low : (int64_t)gamma[j]);
        int64_t product, z;
        if (__builtin_mul_overflow(n, g, &product)) {
            z = (n < 0) != (g < 0) ? low : high;
        } else {
            z = ROUNDING_RIGHT_SHIFT(product, (int64_t)SPINEL_AFFINE_GAMMA_FRACTION) + (int64_t)beta[j];
            z = z > high ? high : (z < low ? low : z);
        }
        out[j] = ACC_SCALE((int64_t)z, folded);
    }
}

/* I-BERT's exponential of q = x - max: z = (-q·qln2_inv) >> 16 (a 64-bit product, the shift
 * arithmetic), clamped below at 0 (Spinel's rule for q > 0 or qln2_inv <= 0); 0 when z >= 32;
 * otherwise qp = q + z·qln2 and ((qp + qb)^2 + qc) >> z, wrapping in acc_t, the shift
 * arithmetic. */
static inline acc_t spinel_iexp(int64_t q, acc_t qln2, acc_t qln2_inv, acc_t qb, acc_t qc) {
    int64_t z = spinel_shift_right_floor(-q * (int64_t)qln2_inv, 16);
    if (z < 0) z = 0;
    if (z >= 32) return 0;
    const uint64_t base = (uint64_t)q + (uint64_t)z * (uint64_t)(int64_t)qln2 + (uint64_t)(int64_t)qb;
    const int64_t poly = spinel_wrap_acc(base * base + (uint64_t)(int64_t)qc);
    return (acc_t)spinel_shift_right_floor(poly, (unsigned)z);
}

/* Softmax of J >= 1 values: e_j = iexp(x_j - max), factor = fp32(127) / fp32(Σe) (one
 * binary32 division; 0 when the exponentials sum to 0), out_j = ACC_SCALE(e_j, factor).
 * Returns 0, or -1 without writing for J = 0. */
static inline int spinel_softmax_row(const acc_t* x, size_t J, acc_t qln2, acc_t qln2_inv, acc_t qb, acc_t qc,
                                     elem_t* out) {
    if (J == 0) return -1;
    acc_t maximum = x[0];
    for (size_t j = 1; j < J; j++) maximum = x[j] > maximum ? x[j] : maximum;
    int64_t sum = 0;
    for (size_t j = 0; j < J; j++) sum += spinel_iexp((int64_t)x[j] - maximum, qln2, qln2_inv, qb, qc);
    const float factor = sum == 0 ? 0.0f : 127.0f / (float)sum;
    for (size_t j = 0; j < J; j++) out[j] = ACC_SCALE(spinel_iexp((int64_t)x[j] - maximum, qln2, qln2_inv, qb, qc), factor);
    return 0;
}

/* ---- Spinel's numerics extensions (HAS_NUMERICS_EXTENSIONS) ---- */

/* The per-lane requantizer: x' = sat_acc(RRS(x·M, K)), M unsigned 16-bit, K 1..47. The
 * product is below 2^47 in magnitude: exact in 64 bits. */
static inline acc_t spinel_requantize(acc_t x, uint16_t m, unsigned k) {
    const int64_t high = (int64_t)(((uint64_t)1 << (8 * sizeof(acc_t) - 1)) - 1), low = -high - 1;
    const int64_t v = ROUNDING_RIGHT_SHIFT((int64_t)x * (int64_t)m, (int64_t)k);
    return (acc_t)(v > high ? high : (v < low ? low : v));
}

/* The two-segment I-GELU's constants (CONFIG_NORM constant sets 1 and 2). */
typedef struct {
    acc_t qb1, qc1, qb2, qc2, qt, q1;
} spinel_igelu2_constants_t;

/* The two-segment I-GELU: c = min(|q|, -qb2), (qb, qc) = c < qt ? (qb1, qc1) : (qb2, qc2),
 * poly = (c + qb)^2 + qc, y = q·(sign(q)·poly + q1). The clip and the comparison are exact;
 * the rest wraps in acc_t, as I-GELU's. */
static inline acc_t spinel_igelu2(acc_t q, spinel_igelu2_constants_t c) {
    const int64_t magnitude = q < 0 ? -(int64_t)q : (int64_t)q, limit = -(int64_t)c.qb2;
    const int64_t clip = magnitude < limit ? magnitude : limit;
    const int first = clip < (int64_t)c.qt;
    const uint64_t base = (uint64_t)clip + (uint64_t)(int64_t)(first ? c.qb1 : c.qb2);
    const uint64_t poly = base * base + (uint64_t)(int64_t)(first ? c.qc1 : c.qc2);
    const uint64_t erf = q < 0 ? 0 - poly : poly;
    return (acc_t)spinel_wrap_acc((uint64_t)(int64_t)q * (erf + (uint64_t)(int64_t)c.q1));
}

static inline void spinel_igelu2_row(const acc_t* x, size_t J, spinel_igelu2_constants_t c, acc_scale_t scale, elem_t* out) {
    for (size_t j = 0; j < J; j++) out[j] = ACC_SCALE(spinel_igelu2(x[j], c), scale);
}

/* Softmax relative to the row maximum of J >= 1 values: out_j = ACC_SCALE(iexp(x_j - max), c)
 * with the constant c = fp32(127) / fp32(iexp(0)) (0 when iexp(0) is 0), and the row statistic
 * ρ = fp32(1) / fp32(Σ out_j) (0 for a zero sum). Returns 0, or -1 without writing for J = 0. */
static inline int spinel_softmax_max_row(const acc_t* x, size_t J, acc_t qln2, acc_t qln2_inv, acc_t qb, acc_t qc,
                                         elem_t* out, float* rho) {
    if (J == 0) return -1;
    acc_t maximum = x[0];
    for (size_t j = 1; j < J; j++) maximum = x[j] > maximum ? x[j] : maximum;
    const acc_t peak = spinel_iexp(0, qln2, qln2_inv, qb, qc);
    const float factor = peak == 0 ? 0.0f : 127.0f / (float)peak;
    int64_t sum = 0;
    for (size_t j = 0; j < J; j++) {
        out[j] = ACC_SCALE(spinel_iexp((int64_t)x[j] - maximum, qln2, qln2_inv, qb, qc), factor);
        sum += out[j];
    }
    *rho = sum == 0 ? 0.0f : 1.0f / (float)sum;
    return 0;
}

/* The row-scale store of a P·V row: out_j = ACC_SCALE(x_j, ρ ⊗ scale), one fp32 multiply. */
static inline void spinel_row_scale_row(const acc_t* x, size_t J, float rho, acc_scale_t scale, elem_t* out) {
    const acc_scale_t folded = (acc_scale_t)(rho * (float)scale);
    for (size_t j = 0; j < J; j++) out[j] = ACC_SCALE(x[j], folded);
}

/* The lane scales: out_j = ACC_SCALE(x_j, scales[j]). */
static inline void spinel_lane_scale_row(const acc_t* x, size_t J, const acc_scale_t* scales, elem_t* out) {
    for (size_t j = 0; j < J; j++) out[j] = ACC_SCALE(x[j], scales[j]);
}

/* ---- Compressed-token attention (docs/NUMERICS.md, "Compressed-token attention") ----
 * Plain functions of their arguments (the CTA parameters come from the configuration's cta
 * section): every value is an integer carried in int64_t, or an fp32 factor. */

/* sat_bits(v) for a signed width of 2..63 bits. */
static inline int64_t spinel_saturate(int64_t v, unsigned bits) {
    const int64_t high = ((int64_t)1 << (bits - 1)) - 1, low = -high - 1;
    return v > high ? high : (v < low ? low : v);
}

/* fp32 v rounded to nearest even and saturated into `bits` signed bits (v not NaN). */
static inline int64_t spinel_round_saturate(float v, unsigned bits) {
    const int64_t high = ((int64_t)1 << (bits - 1)) - 1, low = -high - 1;
    if (v >= (float)high) return high;
    if (v <= (float)low) return low;
    const float r = ROUND_NEAR_EVEN(v);
    return r >= (float)high ? high : (r <= (float)low ? low : (int64_t)r);
}

/* One hash position: sat_codeBits(floor((acc + offset)·M / 2^K)); acc + offset is 33 bits, M
 * at most 24, so the product is exact in 64 bits. */
static inline int64_t spinel_cta_hash(int64_t acc, int64_t offset, int64_t m, unsigned k, unsigned code_bits) {
    return spinel_saturate(spinel_shift_right_floor((acc + offset) * m, k), code_bits);
}

/* Cluster ids in order of first appearance of n codes of l positions (row-major): ids[t] for
 * every token before the first overflow, *count = k. Returns the first token that needed
 * cluster number max_clusters, or -1. O(n²·l): a reference, not a model of the hardware. */
static inline long spinel_cta_assign(const int64_t* codes, size_t n, size_t l, size_t max_clusters, size_t* ids, size_t* count) {
    *count = 0;
    for (size_t t = 0; t < n; t++) {
        size_t found = n;
        for (size_t u = 0; u < t && found == n; u++) {
            size_t j = 0;
            while (j < l && codes[u * l + j] == codes[t * l + j]) j++;
            if (j == l) found = u;
        }
        if (found < n) {
            ids[t] = ids[found];
        } else if (*count == max_clusters) {
            return (long)t;
        } else {
            ids[t] = (*count)++;
        }
    }
    return -1;
}

/* A centroid element: sat8(RRS(sum·R[count], F)), R[c] = rne(2^F / c). */
static inline int64_t spinel_cta_average(int64_t sum, int64_t count, unsigned f) {
    const int64_t reciprocal = spinel_divide_round_even((int64_t)1 << f, count);
    return spinel_saturate(ROUNDING_RIGHT_SHIFT(sum * reciprocal, (int64_t)f), 8);
}

/* The k centroids (k × width, row-major) of n rows of `width` values under ids (all < k). */
static inline void spinel_cta_centroids(const int64_t* rows, size_t n, size_t width, const size_t* ids, size_t k, unsigned f,
                                        int64_t* sums, int64_t* counts, int64_t* centroids) {
    for (size_t i = 0; i < k * width; i++) sums[i] = 0;
    for (size_t c = 0; c < k; c++) counts[c] = 0;
    for (size_t t = 0; t < n; t++) {
        counts[ids[t]]++;
        for (size_t j = 0; j < width; j++) sums[ids[t] * width + j] += rows[t * width + j];
    }
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < width; j++) centroids[c * width + j] = spinel_cta_average(sums[c * width + j], counts[c], f);
}

/* A level-2 residual element: sat8(x − c). */
static inline int64_t spinel_cta_residual(int64_t x, int64_t c) { return spinel_saturate(x - c, 8); }

/* Entry i of the exponential table: rne(2^(bits − 1 + i/entries)). */
static inline int64_t spinel_cta_exp_entry(unsigned i, unsigned entries, unsigned bits) {
    return (int64_t)ROUND_NEAR_EVEN(exp2((double)(bits - 1) + (double)i / (double)entries));
}

/* The base-2 exponent the table takes: sat32(rne(fp32(z) ⊗ λ)). */
static inline int64_t spinel_cta_exponent(int64_t z, float lambda) {
    return spinel_round_saturate((float)z * lambda, 32);
}

/* 2^(u / entries) in table units for u <= 0: RRS(T[u mod entries], −floor(u / entries)), 0 for a
 * shift of 64 or more; entries is a power of two. */
static inline int64_t spinel_cta_exp(int64_t u, const int64_t* table, unsigned entries) {
    const int64_t shift = -spinel_shift_right_floor(u, (unsigned)__builtin_ctz(entries));
    if (shift >= 64) return 0;
    return ROUNDING_RIGHT_SHIFT(table[u & (int64_t)(entries - 1)], shift);
}

/* Probability aggregation: AP (k0 × (k1 + k2), row-major) and the denominators ΣAP/2 from the
 * compressed scores (same shape) and the level-1 and level-2 ids of the n key tokens. Row q's
 * bound is max(level-1 scores) + max(level-2 scores); every token adds its exponential to both
 * entries that made its score. Integer sums: the order of the additions does not matter. */
static inline void spinel_cta_probabilities(const int64_t* scores, size_t k0, size_t k1, size_t k2, const size_t* ct1,
                                            const size_t* ct2, size_t n, float lambda, const int64_t* table, unsigned entries,
                                            int64_t* ap, int64_t* denominators) {
    const size_t width = k1 + k2;
    for (size_t q = 0; q < k0; q++) {
        const int64_t* row = scores + q * width;
        int64_t first = row[0], second = row[k1];
        for (size_t j = 1; j < k1; j++) first = row[j] > first ? row[j] : first;
        for (size_t j = k1 + 1; j < width; j++) second = row[j] > second ? row[j] : second;
        int64_t* out = ap + q * width;
        for (size_t j = 0; j < width; j++) out[j] = 0;
        for (size_t t = 0; t < n; t++) {
            const size_t x1 = ct1[t], x2 = k1 + ct2[t];
            const int64_t e = spinel_cta_exp(spinel_cta_exponent(row[x1] + row[x2] - first - second, lambda), table, entries);
            out[x1] += e;
            out[x2] += e;
        }
        int64_t sum = 0;
        for (size_t j = 0; j < width; j++) sum += out[j];
        denominators[q] = sum / 2;
    }
}

/* One half of an AP row in int8 relative to its maximum m: ACC_SCALE(AP_j, fp32(127) ⊘ fp32(m));
 * an all-zero half stays zero. Returns m. */
static inline int64_t spinel_cta_quantize_half(const int64_t* half, size_t count, int64_t* out) {
    int64_t maximum = 0;
    for (size_t j = 0; j < count; j++) maximum = half[j] > maximum ? half[j] : maximum;
    const float factor = maximum > 0 ? 127.0f / (float)maximum : 0.0f;
    for (size_t j = 0; j < count; j++) out[j] = maximum > 0 ? ACC_SCALE(half[j], factor) : 0;
    return maximum;
}

/* The store factor of one half's product: (fp32(m) ⊘ fp32(127·D)) ⊗ s_out; 0 for D = 0. */
static inline float spinel_cta_output_factor(int64_t maximum, int64_t denominator, float output_scale) {
    if (denominator == 0) return 0.0f;
    const float ratio = (float)maximum / (float)(127 * denominator);
    return ratio * output_scale;
}

/* One normalized output element: sat8(rne(fp32(a1) ⊗ σ1 ⊕ fp32(a2) ⊗ σ2)), each operation one
 * binary32 rounding (the products are kept apart so that no fused multiply-add joins them). */
static inline int64_t spinel_cta_output(int64_t a1, float s1, int64_t a2, float s2) {
    volatile float p1 = (float)a1 * s1;
    volatile float p2 = (float)a2 * s2;
    return spinel_round_saturate(p1 + p2, 8);
}

#if SPINEL_HAS_CTA
#include <stdlib.h>

/* Room for `count` int64_t values (at least one; cast, so that C++ compiles it too). */
static inline int64_t* spinel_cta_values(size_t count) { return (int64_t*)malloc(sizeof(int64_t) * (count ? count : 1)); }

/* c (m × cols) = wrap_acc(a · btᵀ + bias): a is m × k, bt is cols × k (one row per output column),
 * bias (cols values) or NULL. The mesh's product. */
static inline void spinel_cta_product(const int64_t* a, size_t m, size_t k, const int64_t* bt, size_t cols, const int64_t* bias,
                                      int64_t* c) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < cols; j++) {
            uint64_t sum = bias ? (uint64_t)bias[j] : 0;
            for (size_t t = 0; t < k; t++) sum += (uint64_t)(a[i * k + t] * bt[j * k + t]);
            c[i * cols + j] = spinel_wrap_acc(sum);
        }
}

/* One head of compressed-token attention (docs/CTA.md, "The algorithm, one head"), composed of
 * the functions above in the order the golden model's CTAAttention.run composes its own: n
 * tokens x (n × width), three LSH instances (directions l × width, l offsets in accumulator units,
 * M and K), the three linears (weights d × width, one row per output column; int32 biases, the
 * key and value biases on the level-1 rows only), the store scales of Q̄, K̄, V̄, λ and s_out.
 * Writes the n × d output rows and k0, k1, k2. Returns -1, or the level whose clustering
 * overflowed (its token in *overflow_token; nothing is written to out). */
static inline int spinel_cta_head_reference(const elem_t* x, size_t n, size_t width, const elem_t* const directions[3],
                                            const int64_t* const offsets[3], const int64_t multipliers[3], const unsigned shifts[3],
                                            const elem_t* const weights[3], const int64_t* const biases[3], size_t d,
                                            const float store_scales[3], float lambda, float output_scale, elem_t* out,
                                            size_t counts[3], long* overflow_token) {
    const size_t l = SPINEL_CTA_HASH_LENGTH, entries = SPINEL_CTA_EXP_TABLE_ENTRIES;
    int64_t *tokens = spinel_cta_values(n * width), *rows = spinel_cta_values(n * width),
            *products = spinel_cta_values(n * l), *sums = spinel_cta_values(n * width), *sizes = spinel_cta_values(n),
            *centroids[3], *w = spinel_cta_values(3 * d * width), *dir = spinel_cta_values(l * width);
    size_t* ids[3];
    for (size_t i = 0; i < 3; i++) {
        centroids[i] = spinel_cta_values(n * width);
        ids[i] = (size_t*)malloc(sizeof(size_t) * n);
    }
    for (size_t i = 0; i < n * width; i++) tokens[i] = rows[i] = x[i];
    for (size_t i = 0; i < 3 * d * width; i++) w[i] = weights[i / (d * width)][i % (d * width)];
    int failed = -1;
    for (int level = 0; level < 3 && failed < 0; level++) {
        if (level == 2) /* the residuals of the key/value tokens against their level-1 centroids */
            for (size_t t = 0; t < n; t++)
                for (size_t j = 0; j < width; j++) rows[t * width + j] = spinel_cta_residual(tokens[t * width + j], centroids[1][ids[1][t] * width + j]);
        for (size_t i = 0; i < l * width; i++) dir[i] = directions[level][i];
        spinel_cta_product(rows, n, width, dir, l, NULL, products);
        for (size_t t = 0; t < n; t++)
            for (size_t j = 0; j < l; j++)
                products[t * l + j] = spinel_cta_hash(products[t * l + j], offsets[level][j], multipliers[level], shifts[level], SPINEL_CTA_HASH_CODE_BITS);
        const long overflow = spinel_cta_assign(products, n, l, SPINEL_CTA_MAX_CLUSTERS, ids[level], &counts[level]);
        if (overflow >= 0) {
            failed = level;
            *overflow_token = overflow;
            break;
        }
        spinel_cta_centroids(rows, n, width, ids[level], counts[level], SPINEL_CTA_AVERAGE_FRACTION_BITS, sums, sizes, centroids[level]);
    }
    if (failed < 0) {
        const size_t k0 = counts[0], k1 = counts[1], k2 = counts[2], kv = k1 + k2;
        int64_t *q = spinel_cta_values(k0 * d), *keys = spinel_cta_values(kv * d), *values = spinel_cta_values(kv * d),
                *scores = spinel_cta_values(k0 * kv), *ap = spinel_cta_values(k0 * kv), *denominators = spinel_cta_values(k0),
                *half = spinel_cta_values(kv), *vt = spinel_cta_values(d * kv), *compressed = spinel_cta_values(k0 * d),
                *bias = spinel_cta_values(d), table[4096];
        /* Q̄ from C⁰; K̄, V̄ from C¹ (with the bias) and C² (without), each stored to int8. */
        int64_t* targets[3] = {q, keys, values};
        for (int m = 0; m < 3; m++) {
            for (size_t j = 0; j < d; j++) bias[j] = biases[m][j];
            for (int level = m == 0 ? 0 : 1; level <= (m == 0 ? 0 : 2); level++) {
                const size_t first = level == 2 ? k1 : 0, k = counts[level];
                spinel_cta_product(centroids[level], k, width, w + (size_t)m * d * width, d, level == 2 ? NULL : bias, targets[m] + first * d);
                for (size_t i = first * d; i < (first + k) * d; i++) targets[m][i] = ACC_SCALE(targets[m][i], store_scales[m]);
            }
        }
        spinel_cta_product(q, k0, d, keys, kv, NULL, scores);
        for (size_t i = 0; i < entries; i++) table[i] = spinel_cta_exp_entry((unsigned)i, (unsigned)entries, SPINEL_CTA_EXP_TABLE_BITS);
        spinel_cta_probabilities(scores, k0, k1, k2, ids[1], ids[2], n, lambda, table, (unsigned)entries, ap, denominators);
        /* Ō = AP₁·V̄₁ and AP₂·V̄₂ with AP's halves in int8, joined by the two output factors. */
        for (size_t c = 0; c < d; c++)
            for (size_t j = 0; j < kv; j++) vt[c * kv + j] = values[j * d + c];
        for (size_t row = 0; row < k0; row++) {
            const int64_t m1 = spinel_cta_quantize_half(ap + row * kv, k1, half);
            const int64_t m2 = spinel_cta_quantize_half(ap + row * kv + k1, k2, half + k1);
            const float s1 = spinel_cta_output_factor(m1, denominators[row], output_scale);
            const float s2 = spinel_cta_output_factor(m2, denominators[row], output_scale);
            for (size_t c = 0; c < d; c++) {
                uint64_t a1 = 0, a2 = 0;
                for (size_t j = 0; j < k1; j++) a1 += (uint64_t)(half[j] * vt[c * kv + j]);
                for (size_t j = k1; j < kv; j++) a2 += (uint64_t)(half[j] * vt[c * kv + j]);
                compressed[row * d + c] = spinel_cta_output(spinel_wrap_acc(a1), s1, spinel_wrap_acc(a2), s2);
            }
        }
        for (size_t t = 0; t < n; t++)
            for (size_t c = 0; c < d; c++) out[t * d + c] = (elem_t)compressed[ids[0][t] * d + c];
        free(q); free(keys); free(values); free(scores); free(ap); free(denominators); free(half); free(vt); free(compressed); free(bias);
    }
    for (size_t i = 0; i < 3; i++) {
        free(centroids[i]);
        free(ids[i]);
    }
    free(tokens); free(rows); free(products); free(sums); free(sizes); free(w); free(dir);
    return failed;
}
#endif /* SPINEL_HAS_CTA */

#endif /* SPINEL_REFERENCE_H */
