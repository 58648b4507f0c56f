// One BERT-style encoder layer on the accelerator, int8 with per-tensor scales (I-BERT style),
// every stage checked bit for bit against the C reference (spinel_reference.h and the integer
// matmul below):
//
//   Q, K, V   = X·Wq, X·Wk, X·Wv                        (tiled_matmul_auto: LOOP_WS, ACC_SCALE)
//   per head  P_h = Softmax(Q_h·K_hᵀ)                    (LOOP_WS into the accumulator, then the
//             ctx_h = P_h·V_h                             normalizer's MAX / SUM_EXP passes)
//   X1        = LayerNorm(ctx·Wo + X)                    (X as the bias D, LayerNorm passes)
//   H         = I-GELU(X1·W1)                            (CONFIG_ST activation I-GELU)
//   Y         = LayerNorm(H·W2 + X1)
//
// Usage: encoder_layer [S D heads F]  (S, D/heads multiples of DIM; default 32 64 2 128).
// BERT-base: encoder_layer 128 768 12 3072. Prints the layer's cycles and its PE utilization
// (MACs / (DIM²·cycles)), and the cycles of the non-matmul work (the normalizer passes).
#include "common/testbench.h"
#include "spinel_reference.h"
#include "spinel_tiled.h"

#ifndef HAS_NORMALIZATIONS
#error "encoder_layer.c needs a configuration with normalizations (the transformer preset)"
#endif

#define ACC (1u << 31)
enum { SUM = 1, MEAN = 2, VARIANCE = 3, INV_STDDEV = 4, MAX = 5, SUM_EXP = 6, INV_SUM_EXP = 7 };
enum { ACT_NONE = 0, ACT_LAYERNORM = 2, ACT_IGELU = 3 };

static int S = 32, D = 64, HEADS = 2, F = 128;

// Scales of each stage (chosen for the value ranges of the random inputs; the check is exact
// whatever they are).
static const acc_scale_t QKV_SCALE = 1.0f / 64, CTX_SCALE = 1.0f / 128, FFN1_SCALE = 1.0e-6f, LAYERNORM_SCALE = 24.0f;
// I-GELU for an input scale of 1/64; the exponential for 1/16 (NUMERICS.md's formulas).
static const acc_t IGELU_QB = -160, IGELU_QC = -28364;
static const acc_t QLN2 = 11, QLN2_INV = 65536 / 11, EXP_QB = 21, EXP_QC = 245;

static uint64_t normalizer_cycles = 0;

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static void* allocate(size_t bytes) {
  void* p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
  return p;
}

// ---- The reference: integer matmul and the same stages in C ----

// acc[i][j] = Σ_k A[i][k]·B[k][j] (+ bias[i][j]), wrapping in acc_t; B transposed when asked.
static void ref_matmul(const elem_t* A, size_t lda, const elem_t* B, size_t ldb, int transpose_b, const elem_t* bias, size_t ldbias,
                       size_t M, size_t N, size_t K, acc_t* acc) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      int64_t sum = bias ? bias[i * ldbias + j] : 0;
      for (size_t k = 0; k < K; k++) sum += (int64_t)A[i * lda + k] * (transpose_b ? B[j * ldb + k] : B[k * ldb + j]);
      acc[i * N + j] = tb_wrap_acc(sum);
    }
}

static void ref_scale(const acc_t* acc, size_t M, size_t N, acc_scale_t scale, int igelu, elem_t* out, size_t ldo) {
  for (size_t i = 0; i < M; i++)
    if (igelu) spinel_igelu_row(&acc[i * N], N, IGELU_QB, IGELU_QC, scale, &out[i * ldo]);
    else for (size_t j = 0; j < N; j++) out[i * ldo + j] = ACC_SCALE(acc[i * N + j], scale);
}

// ---- The accelerator ----

// out = ACC_SCALE(A·B) (I-GELU first with act), through tiled_matmul_auto's LOOP_WS.
static void matmul_scaled(const elem_t* A, size_t lda, const elem_t* B, size_t ldb, size_t M, size_t N, size_t K, elem_t* out,
                          size_t ldo, acc_scale_t scale, int act) {
  tiled_matmul_auto(M, N, K, A, B, NULL, out, lda, ldb, 0, ldo, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, 0, act, scale, 0, false,
                    false, false, false, false, 0, WS);
}

// A·B (+ bias, int8) for `rows` (≤ its tiles' worth) rows and all N columns, left in the
// accumulator: tile (i, j) at row (i·Jt + j)·DIM of half spinel_acc_half. K is split over
// LOOP_WS calls that accumulate; none stores C, so the half stays.
static void matmul_into_accumulator(const elem_t* A, size_t lda, const elem_t* B, size_t ldb, int transpose_b, const elem_t* bias,
                                    size_t ldbias, size_t rows, size_t N, size_t K) {
  const size_t It = (rows + DIM - 1) / DIM, Jt = (N + DIM - 1) / DIM, Kt = (K + DIM - 1) / DIM;
  const size_t sp_half_tiles = BANK_NUM * BANK_ROWS / 2 / DIM;
  const size_t k_per_loop = min_size(Kt, sp_half_tiles / (It + Jt));
  if (It * Jt * DIM > ACC_ROWS / 2 || k_per_loop == 0) {
    fprintf(stderr, "encoder_layer: a block of %zu×%zu tiles does not fit the memories\n", It, Jt);
    exit(2);
  }
  gemmini_extended_config_ex(WEIGHT_STATIONARY, 0, 0, 1, false, transpose_b);
  gemmini_extended3_config_ld(lda * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_extended3_config_ld(ldb * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 1);
  gemmini_extended3_config_ld(ldbias * sizeof(elem_t), MVIN_SCALE_IDENTITY, true, 2);
  int spad = 0;
  for (size_t k0 = 0; k0 < Kt; k0 += k_per_loop, spad ^= 1) {
    const size_t kt = min_size(k_per_loop, Kt - k0);
    const size_t pad_k = k0 + kt == Kt ? Kt * DIM - K : 0;
    const elem_t* b = transpose_b ? B + k0 * DIM : B + k0 * DIM * ldb;
    gemmini_loop_ws(It, Jt, kt, It * DIM - rows, Jt * DIM - N, pad_k, (uint64_t)(uintptr_t)(A + k0 * DIM), (uint64_t)(uintptr_t)b,
                    k0 == 0 && bias ? (uint64_t)(uintptr_t)bias : 0, 0, lda, ldb, ldbias, 0, false, transpose_b, false, true,
                    k0 > 0 || bias != NULL, 0, 1 + spad, 1 + spad, 0);
  }
}

// The rows whose whole width N fits in half the accumulator (and, with their operands, a K
// tile in half the scratchpad), a multiple of DIM.
static size_t rows_per_block(size_t N) {
  const size_t Jt = (N + DIM - 1) / DIM, sp_half_tiles = BANK_NUM * BANK_ROWS / 2 / DIM;
  const size_t by_acc = ACC_ROWS / 2 / (Jt * DIM), by_sp = sp_half_tiles > Jt ? sp_half_tiles - Jt : 0;
  return min_size(by_acc, by_sp) * DIM;
}

static uint32_t acc_row(size_t i, size_t j, size_t Jt) { return ACC | (uint32_t)(spinel_acc_half * (ACC_ROWS / 2) + (i * Jt + j) * DIM); }

// The normalizer over the accumulator block matmul_into_accumulator left (rows × N): for each
// tile row, the two statistics passes then the output pass into `out` (int8, stride ldo).
static void normalize_rows(size_t rows, size_t N, int softmax, elem_t* out, size_t ldo) {
  gemmini_fence();  // the matmul into the accumulator first, so that the count below is the passes'
  const uint64_t start = spinel_cycles();
  const size_t It = (rows + DIM - 1) / DIM, Jt = (N + DIM - 1) / DIM;
  const int first[2] = {softmax ? MAX : SUM, softmax ? SUM_EXP : VARIANCE};
  const int finishing[2] = {softmax ? MAX : MEAN, softmax ? INV_SUM_EXP : INV_STDDEV};
  gemmini_extended_config_st(ldo * sizeof(elem_t), softmax ? 0 : ACT_LAYERNORM, softmax ? ACC_SCALE_IDENTITY : LAYERNORM_SCALE);
  for (size_t i = 0; i < It; i++) {
    const size_t r = min_size(DIM, rows - i * DIM);
    for (int p = 0; p < 2; p++)
      for (size_t j = 0; j < Jt; j++)
        gemmini_extended_mvout(out, acc_row(i, j, Jt) | (uint32_t)(j == Jt - 1 ? finishing[p] : first[p]) << 26,
                               min_size(DIM, N - j * DIM), r);
    for (size_t j = 0; j < Jt; j++)
      gemmini_extended_mvout(&out[i * DIM * ldo + j * DIM], acc_row(i, j, Jt), min_size(DIM, N - j * DIM), r);
  }
  gemmini_fence();
  normalizer_cycles += spinel_cycles() - start;
}

static void check(const char* what, const elem_t* got, const elem_t* want, size_t M, size_t N, size_t ld) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++)
      TB_CHECK(got[i * ld + j] == want[i * ld + j], "%s [%zu][%zu] = %d, expected %d", what, i, j, got[i * ld + j], want[i * ld + j]);
}

int main(int argc, char** argv) {
  if (argc == 5) {
    S = atoi(argv[1]);
    D = atoi(argv[2]);
    HEADS = atoi(argv[3]);
    F = atoi(argv[4]);
  } else if (argc != 1) {
    fprintf(stderr, "usage: encoder_layer [S D heads F]\n");
    return 2;
  }
  const int dh = D / HEADS;
  if (S % DIM || dh % DIM || D % HEADS || F % DIM || rows_per_block((size_t)S) == 0 || rows_per_block((size_t)D) == 0) {
    fprintf(stderr, "encoder_layer: S, D/heads and F must be multiples of DIM (%d), and a row of S or D must fit half the accumulator\n", DIM);
    return 2;
  }
  elem_t *X = allocate((size_t)S * D), *Wq = allocate((size_t)D * D), *Wk = allocate((size_t)D * D), *Wv = allocate((size_t)D * D);
  elem_t *Wo = allocate((size_t)D * D), *W1 = allocate((size_t)D * F), *W2 = allocate((size_t)F * D);
  elem_t *Q = allocate((size_t)S * D), *Kx = allocate((size_t)S * D), *V = allocate((size_t)S * D), *P = allocate((size_t)S * S);
  elem_t *ctx = allocate((size_t)S * D), *X1 = allocate((size_t)S * D), *H = allocate((size_t)S * F), *Y = allocate((size_t)S * D);
  const size_t widest = (size_t)(F > D ? (F > S ? F : S) : (D > S ? D : S));
  elem_t* want = allocate((size_t)S * widest);
  acc_t* acc = allocate((size_t)S * widest * sizeof(acc_t));
  tb_fill(X, (size_t)S * D, 40);
  tb_fill(Wq, (size_t)D * D, 12);
  tb_fill(Wk, (size_t)D * D, 12);
  tb_fill(Wv, (size_t)D * D, 12);
  tb_fill(Wo, (size_t)D * D, 12);
  tb_fill(W1, (size_t)D * F, 12);
  tb_fill(W2, (size_t)F * D, 12);
  const double macs = (double)S * D * D * 4 + (double)S * S * D * 2 + (double)S * D * F * 2;
  const uint64_t start = spinel_cycles();

  // Q, K, V projections.
  gemmini_config_norm(0, 0, 0, 0, 0, IGELU_QB, IGELU_QC);
  matmul_scaled(X, D, Wq, D, S, D, D, Q, D, QKV_SCALE, ACT_NONE);
  matmul_scaled(X, D, Wk, D, S, D, D, Kx, D, QKV_SCALE, ACT_NONE);
  matmul_scaled(X, D, Wv, D, S, D, D, V, D, QKV_SCALE, ACT_NONE);

  // Attention per head: scores into the accumulator, Softmax by the normalizer, then P·V_h.
  for (int h = 0; h < HEADS; h++) {
    gemmini_config_norm(QLN2, 0, 0, 1, 0, EXP_QB, EXP_QC);
    gemmini_config_norm(QLN2_INV, 1, 0, 1, 0, EXP_QB, EXP_QC);
    const size_t score_rows = rows_per_block(S);
    for (size_t r0 = 0; r0 < (size_t)S; r0 += score_rows) {
      const size_t rows = min_size(score_rows, S - r0);
      matmul_into_accumulator(&Q[r0 * D + h * dh], D, &Kx[h * dh], D, true, NULL, 0, rows, S, dh);
      normalize_rows(rows, S, 1, &P[r0 * S], S);
    }
    gemmini_config_norm(0, 0, 0, 0, 0, IGELU_QB, IGELU_QC);  // the MSB off again
    matmul_scaled(P, S, &V[h * dh], D, S, dh, S, &ctx[h * dh], D, CTX_SCALE, ACT_NONE);
  }

  // X1 = LayerNorm(ctx·Wo + X), a block of rows at a time (whole rows in the accumulator).
  const size_t ln_rows = rows_per_block(D);
  for (size_t r0 = 0; r0 < (size_t)S; r0 += ln_rows) {
    const size_t rows = min_size(ln_rows, S - r0);
    matmul_into_accumulator(&ctx[r0 * D], D, Wo, D, false, &X[r0 * D], D, rows, D, D);
    normalize_rows(rows, D, 0, &X1[r0 * D], D);
  }
  // H = I-GELU(X1·W1); Y = LayerNorm(H·W2 + X1).
  matmul_scaled(X1, D, W1, F, S, F, D, H, F, FFN1_SCALE, ACT_IGELU);
  for (size_t r0 = 0; r0 < (size_t)S; r0 += ln_rows) {
    const size_t rows = min_size(ln_rows, S - r0);
    matmul_into_accumulator(&H[r0 * F], F, W2, D, false, &X1[r0 * D], D, rows, D, F);
    normalize_rows(rows, D, 0, &Y[r0 * D], D);
  }
  gemmini_fence();
  const uint64_t cycles = spinel_cycles() - start;

  // The reference, stage by stage, each from the accelerator's previous stage (so a mismatch
  // points at its stage).
  ref_matmul(X, D, Wq, D, 0, NULL, 0, S, D, D, acc);
  ref_scale(acc, S, D, QKV_SCALE, 0, want, D);
  check("Q", Q, want, S, D, D);
  ref_matmul(X, D, Wk, D, 0, NULL, 0, S, D, D, acc);
  ref_scale(acc, S, D, QKV_SCALE, 0, want, D);
  check("K", Kx, want, S, D, D);
  ref_matmul(X, D, Wv, D, 0, NULL, 0, S, D, D, acc);
  ref_scale(acc, S, D, QKV_SCALE, 0, want, D);
  check("V", V, want, S, D, D);
  for (int h = 0; h < HEADS; h++) {
    ref_matmul(&Q[h * dh], D, &Kx[h * dh], D, 1, NULL, 0, S, S, dh, acc);
    for (int i = 0; i < S; i++) spinel_softmax_row(&acc[(size_t)i * S], S, QLN2, QLN2_INV, EXP_QB, EXP_QC, &want[(size_t)i * S]);
    if (h == HEADS - 1) check("P (last head)", P, want, S, S, S);
  }
  // ctx from the accelerator's P of the last head only (P is overwritten per head): recompute
  // every head's P in C for the other heads.
  for (int h = 0; h < HEADS; h++) {
    elem_t* Ph = allocate((size_t)S * S);
    ref_matmul(&Q[h * dh], D, &Kx[h * dh], D, 1, NULL, 0, S, S, dh, acc);
    for (int i = 0; i < S; i++) spinel_softmax_row(&acc[(size_t)i * S], S, QLN2, QLN2_INV, EXP_QB, EXP_QC, &Ph[(size_t)i * S]);
    ref_matmul(Ph, S, &V[h * dh], D, 0, NULL, 0, S, dh, S, acc);
    for (int i = 0; i < S; i++)
      for (int j = 0; j < dh; j++) want[(size_t)i * D + h * dh + j] = ACC_SCALE(acc[(size_t)i * dh + j], CTX_SCALE);
    free(Ph);
  }
  check("ctx", ctx, want, S, D, D);
  ref_matmul(ctx, D, Wo, D, 0, X, D, S, D, D, acc);
  for (int i = 0; i < S; i++) spinel_layernorm_row(&acc[(size_t)i * D], D, LAYERNORM_SCALE, &want[(size_t)i * D]);
  check("X1", X1, want, S, D, D);
  ref_matmul(X1, D, W1, F, 0, NULL, 0, S, F, D, acc);
  ref_scale(acc, S, F, FFN1_SCALE, 1, want, F);
  check("H", H, want, S, F, F);
  ref_matmul(H, F, W2, D, 0, X1, D, S, D, F, acc);
  for (int i = 0; i < S; i++) spinel_layernorm_row(&acc[(size_t)i * D], D, LAYERNORM_SCALE, &want[(size_t)i * D]);
  check("Y", Y, want, S, D, D);

  printf("encoder layer S=%d D=%d heads=%d F=%d: %" PRIu64 " cycles, PE utilization %.1f%%, normalizer passes %" PRIu64
         " cycles (%.1f%%)\n",
         S, D, HEADS, F, cycles, 100.0 * macs / ((double)DIM * DIM * (double)cycles), normalizer_cycles,
         100.0 * (double)normalizer_cycles / (double)cycles);
  return tb_finish("encoder_layer");
}
