// One BERT-style encoder layer on the accelerator, int8 with per-tensor scales (I-BERT style),
// every stage checked bit for bit against the C reference (spinel_reference.h and the integer
// matmul below):
//
//   Q, K, V   = X·Wq, X·Wk, X·Wv                        (tiled_matmul_auto: LOOP_WS, ACC_SCALE)
//   per head  P_h = Softmax(Q_h·K_hᵀ)                    (LOOP_WS with act SOFTMAX: its own MAX /
//                                                          SUM_EXP passes, the heads' loops back to back)
//             ctx_h = P_h·V_h
//   X1        = LayerNorm(ctx·Wo + X)                    (X as the bias D; the product at full width
//                                                          to DRAM, then per block of rows mvin and
//                                                          the LayerNorm passes)
//   H         = I-GELU(X1·W1)                            (CONFIG_ST activation I-GELU)
//   Y         = LayerNorm(H·W2 + X1)
//
// Usage: encoder_layer [--host-nonlinear | --cta] [S D heads F [dump-file]]
//   S, D/heads and F multiples of DIM; default 32 64 2 128. BERT-base: encoder_layer 128 768 12 3072.
//   --cta: the attention is compressed-token attention (configurations with CTA units; docs/CTA.md):
//     spinel_cta_attention_heads clusters X once and runs every head's CTA (its linears are the
//     head's columns of Wq, Wk, Wv), ctx comes out of CTA_GATHER, and each head's ctx is checked
//     against spinel_cta_head_reference; X is drawn near three prototypes so that it clusters.
//     S at most SPINEL_CTA_MAX_TOKENS; no dump-file.
//   --host-nonlinear: Softmax, LayerNorm and I-GELU run on the host instead of the normalizer: each
//     matmul leaves int32 in DRAM (full-width mvouts), the host applies spinel_reference.h, and the
//     next matmul moves its int8 result in. The results are the same bits (checked against the
//     same reference); the host's cycles come from a cost model (below, docs/PERFORMANCE.md).
//   dump-file: written (atomically) after a passing run: the header and the int8 tensors that
//     `spinel accuracy` compares with a float reference (format below, docs/ACCURACY.md).
// Prints one summary line: cycles (accelerator simulated + host modelled), PE utilization
// (MACs / (DIM²·cycles)), and the LayerNorm phases' (after each product: the mvins and passes)
// or the host's share. (Softmax's passes overlap the next head's pairs: not counted apart.)
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "common/testbench.h"
#include "spinel_reference.h"
#include "spinel_tiled.h"

#if !SPINEL_HAS_WS
#error "encoder_layer.c needs the weight-stationary dataflow (its matmuls run weight-stationary, through LOOP_WS): use a configuration whose dataflow is \"ws\" or \"both\""
#endif

#ifndef HAS_NORMALIZATIONS
#error "encoder_layer.c needs a configuration with normalizations (the transformer preset)"
#endif

#define ACC (1u << 31)
enum { SUM = 1, MEAN = 2, VARIANCE = 3, INV_STDDEV = 4, MAX = 5, SUM_EXP = 6, INV_SUM_EXP = 7 };
enum { ACT_NONE = 0, ACT_LAYERNORM = 2, ACT_IGELU = 3 };

static int S = 32, D = 64, HEADS = 2, F = 128;
static int host_nonlinear = 0, cta_mode = 0;

// ---- Scales (docs/ACCURACY.md derives the real value each integer tensor stands for) ----
//
// The inputs are uniform random integers: X in [-X_RANGE, X_RANGE], the weights in
// [-W_RANGE, W_RANGE]. The scales are chosen per shape from their standard deviations, as a
// calibration would: Q, K and V get a standard deviation of TARGET_STD (4 standard deviations
// to saturation, the usual clipping for 8 bits), and each nonlinear function sees inputs in its
// working range: the scores have a real standard deviation of SCORE_STD (attention neither
// uniform nor one-hot), I-GELU's input a real standard deviation of 1. Every check is exact
// whatever they are.
enum { X_RANGE = 40, W_RANGE = 12 };
static const double TARGET_STD = 32, SCORE_STD = 2;
// The real value of one unit of X: X has unit variance.
static double X_SCALE;
// QKV: X·W to a standard deviation of TARGET_STD.
// CTX: ctx_h = P_h·V_h is an average of V's rows weighted by P (rows summing to 127); 1/127
//   keeps it in V's units, where it cannot saturate (a larger scale gains nothing measurable:
//   P's own error dominates ctx's).
// LAYERNORM: LayerNorm's output is rne(LAYERNORM_SCALE·(x - mean)/std) (docs/NUMERICS.md: 16
//   fractional bits before the scale); 1, whole standard deviations, keeps X1·W1 small enough
//   for I-GELU's int32 polynomial (its product overflows for |x| > 1.55e8·S³ at input scale S).
// FFN1: I-GELU's output scale is negative (S·S_erf/2 with S_erf = -0.2888·S²/2), so FFN1_SCALE
//   is too: H = GELU / H_UNIT with H_UNIT = 4/127 (an input of 4 standard deviations is 127).
static acc_scale_t QKV_SCALE, CTX_SCALE, FFN1_SCALE, LAYERNORM_SCALE;
// Y_GAIN: with the affine LayerNorm extension (HAS_AFFINE_LAYERNORM), Y's LayerNorm runs as
//   activation 6 with γ = Y_GAIN (Q.12: Y_GAIN·4096) in every column (β = 0): 32 steps per
//   standard deviation (±4 in int8) where X1 keeps whole ones. Y is the layer's output, so nothing after it needs small values. X1 stays
//   activation 2: finer X1 steps would overflow I-GELU's int32 polynomial (above).
static acc_t Y_GAIN = 1;
static const double H_UNIT = 4.0 / 127;
// I-GELU for IGELU_INPUT_SCALE, the real value of one unit of X1·W1; the exponential for the
// scores' scale SOFTMAX_INPUT_SCALE (docs/NUMERICS.md's formulas).
static double IGELU_INPUT_SCALE, SOFTMAX_INPUT_SCALE;
static acc_t IGELU_QB, IGELU_QC, QLN2, QLN2_INV, EXP_QB, EXP_QC;

// The standard deviation of a uniform integer in [-range, range].
static double uniform_std(int range) { return sqrt(range * (range + 1.0) / 3.0); }

static void choose_scales(void) {
  const double x_std = uniform_std(X_RANGE), w_std = uniform_std(W_RANGE), dh = (double)(D / HEADS);
  X_SCALE = 1 / x_std;
  QKV_SCALE = (acc_scale_t)(TARGET_STD / (x_std * w_std * sqrt(D)));
  CTX_SCALE = 1.0f / 127;
  LAYERNORM_SCALE = 1;
  // Q_h·K_hᵀ sums dh products of two values of standard deviation TARGET_STD.
  SOFTMAX_INPUT_SCALE = SCORE_STD / (TARGET_STD * TARGET_STD * sqrt(dh));
  QLN2 = (acc_t)(0.693147 / SOFTMAX_INPUT_SCALE);
  QLN2_INV = 65536 / QLN2;
  EXP_QB = (acc_t)(1.353 / SOFTMAX_INPUT_SCALE);
  EXP_QC = (acc_t)(0.344 / (0.3585 * SOFTMAX_INPUT_SCALE * SOFTMAX_INPUT_SCALE));
  // X1·W1 sums D products of LayerNorm's output (standard deviation LAYERNORM_SCALE) and W1.
  IGELU_INPUT_SCALE = 1 / (LAYERNORM_SCALE * w_std * sqrt(D));
  IGELU_QB = (acc_t)(-1.769 / (IGELU_INPUT_SCALE / sqrt(2.0)));
  IGELU_QC = (acc_t)(1 / (-0.2888 * IGELU_INPUT_SCALE * IGELU_INPUT_SCALE / 2));
  const double igelu_output_scale = IGELU_INPUT_SCALE * (-0.2888 * IGELU_INPUT_SCALE * IGELU_INPUT_SCALE / 2) / 2;
  FFN1_SCALE = (acc_scale_t)(igelu_output_scale / H_UNIT);
#ifdef HAS_AFFINE_LAYERNORM
  Y_GAIN = 32;
#endif
}

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

static void ref_softmax(const acc_t* acc, size_t rows, size_t J, elem_t* out, size_t ldo) {
  for (size_t i = 0; i < rows; i++) spinel_softmax_row(&acc[i * J], J, QLN2, QLN2_INV, EXP_QB, EXP_QC, &out[i * ldo]);
}

// LayerNorm with γ = gain (1: plain, activation 2), β = 0.
static void ref_layernorm(const acc_t* acc, size_t rows, size_t J, acc_t gain, elem_t* out, size_t ldo) {
  if (gain == 1) {
    for (size_t i = 0; i < rows; i++) spinel_layernorm_row(&acc[i * J], J, LAYERNORM_SCALE, &out[i * ldo]);
    return;
  }
  acc_t* parameters = allocate(2 * J * sizeof(acc_t));  // γ, then β
  for (size_t j = 0; j < J; j++) parameters[j] = gain << SPINEL_AFFINE_GAMMA_FRACTION, parameters[J + j] = 0;
  for (size_t i = 0; i < rows; i++) spinel_layernorm_affine_row(&acc[i * J], J, parameters, &parameters[J], LAYERNORM_SCALE, &out[i * ldo]);
  free(parameters);
}

// ---- The accelerator ----

// out = ACC_SCALE(A·B) (I-GELU first with act), through tiled_matmul_auto's LOOP_WS.
static void matmul_scaled(const elem_t* A, size_t lda, const elem_t* B, size_t ldb, size_t M, size_t N, size_t K, elem_t* out,
                          size_t ldo, acc_scale_t scale, int act) {
  // Without tiled_matmul_auto's final fence: the next matmul's loads overlap this one.
  spinel_tiled_matmul(M, N, K, A, B, NULL, out, lda, ldb, 0, ldo, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, 0, act, scale, 0, false,
                      false, false, false, false, WS);
}

// The rows whose whole width N fits in half the accumulator (and, with their operands, a K
// tile in half the scratchpad), a multiple of DIM.
static size_t rows_per_block(size_t N) {
  const size_t Jt = (N + DIM - 1) / DIM, sp_half_tiles = BANK_NUM * BANK_ROWS / 2 / DIM;
  const size_t by_acc = ACC_ROWS / 2 / (Jt * DIM), by_sp = sp_half_tiles > Jt ? sp_half_tiles - Jt : 0;
  return min_size(by_acc, by_sp) * DIM;
}

// P_h = Softmax(Q_h·K_hᵀ) for every head, through LOOP_WS's own passes (act SOFTMAX; the loop
// holds whole rows of S, as many rows as fit). The loops run back to back under one set of
// configurations, so each loop's passes (its trailing MVOUTs) run while the next loop's pairs
// do: a plain command between two loops would wait until the first had emitted its passes.
static void attention_scores(const elem_t* Q, const elem_t* Kx, elem_t* P) {
  const size_t dh = (size_t)(D / HEADS), Jt = (size_t)S / DIM, Kt = dh / DIM, tiles_I = (size_t)S / DIM;
  // The loops tiled_matmul_auto would choose for act SOFTMAX (whole rows, as many as fit).
  const spinel_tiles_t tiles = spinel_choose_row_tiles(tiles_I, Jt, Kt);
  const size_t It = tiles.I, k_per_loop = tiles.K;
  gemmini_config_norm(QLN2, 0, 0, 1, 0, EXP_QB, EXP_QC);
  gemmini_config_norm(QLN2_INV, 1, 0, 1, 0, EXP_QB, EXP_QC);
  gemmini_extended_config_ex(WEIGHT_STATIONARY, 0, 0, 1, false, true);
  gemmini_extended_config_st(S * sizeof(elem_t), 0, ACC_SCALE_IDENTITY);
  gemmini_extended3_config_ld(D * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_extended3_config_ld(D * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, 1);
  int spad = 0;
  for (size_t h = 0; h < (size_t)HEADS; h++)
    for (size_t i0 = 0; i0 < tiles_I; i0 += It)
      for (size_t k0 = 0; k0 < Kt; k0 += k_per_loop, spad ^= 1) {
        const size_t it = min_size(It, tiles_I - i0), kt = min_size(k_per_loop, Kt - k0);
        const elem_t* a = &Q[i0 * DIM * D + h * dh + k0 * DIM];
        const elem_t* b = &Kx[h * dh + k0 * DIM];
        // K split over loops: only the last stores C, through the passes.
        elem_t* c = k0 + kt == Kt ? &P[h * S * S + i0 * DIM * S] : NULL;
        gemmini_loop_ws(it, Jt, kt, 0, 0, 0, (uint64_t)(uintptr_t)a, (uint64_t)(uintptr_t)b, 0, (uint64_t)(uintptr_t)c, D, D, 0, S,
                        false, true, false, false, k0 > 0, c ? SOFTMAX : 0, 1 + spad, 1 + spad, 0);
        if (c) spinel_acc_half ^= 1;  // as the hardware's C half flips
      }
  gemmini_config_norm(0, 0, 0, 0, 0, IGELU_QB, IGELU_QC);  // the MSB off again
}

// matmul_layernorm's accumulator layout: block b of whole rows in half b % 2, its tile k
// (row-major: tile row k / Jt, column k % Jt) at row k·DIM.
static uint32_t block_tile(size_t b, size_t k) { return ACC | (uint32_t)((b % 2) * (ACC_ROWS / 2) + k * DIM); }

// The mvin of block b's tile k from `wide` (M × N int32; blocks of `block` rows).
static void mvin_block_tile(const acc_t* wide, size_t M, size_t N, size_t block, size_t b, size_t k) {
  const size_t Jt = (N + DIM - 1) / DIM, row = b * block + k / Jt * DIM, column = k % Jt * DIM;
  gemmini_extended_mvin(&wide[row * N + column], block_tile(b, k), min_size(DIM, N - column), min_size(DIM, M - row));
}

// LayerNorm(A·B + bias) of M rows into `out` (gain ≠ 1, only with HAS_AFFINE_LAYERNORM: the
// affine LayerNorm, activation 6, with γ = gain and β = 0 in every column). The product goes
// through tiled_matmul at full width into `wide` (int32 in DRAM; the same values the
// accumulator holds): whole rows of all M do not fit the accumulator, and a block of whole
// rows at a time would load all of B once per block. Then, per block of whole rows, its mvins
// into one accumulator half and the normalizer's passes over it, with the next block's mvins
// spread among them (into the other half, so that loads and passes overlap).
static void matmul_layernorm(const elem_t* A, size_t lda, const elem_t* B, size_t ldb, const elem_t* bias, size_t ldbias, size_t M,
                             size_t N, size_t K, acc_t gain, acc_t* wide, elem_t* out, size_t ldo) {
  spinel_tiled_matmul(M, N, K, A, B, bias, wide, lda, ldb, ldbias, N, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                      ACT_NONE, ACC_SCALE_IDENTITY, 0, false, false, false, true, true, WS);
  gemmini_fence();  // C in DRAM before the mvins read it
  const uint64_t start = spinel_cycles();
  const size_t Jt = (N + DIM - 1) / DIM, block = rows_per_block(N), blocks = (M + block - 1) / block;
  const int affine = gain != 1;
  if (affine) {
    // γ and β are the same in every column, so one LOAD_AFFINE serves every column block. The
    // two rows are block 1's first, which its mvins overwrite only after LOAD_AFFINE read them
    // (the reservation station orders the two).
    static acc_t parameters[2][DIM] row_align_acc(1);
    for (size_t j = 0; j < DIM; j++) parameters[0][j] = gain << SPINEL_AFFINE_GAMMA_FRACTION, parameters[1][j] = 0;
    const uint32_t row = ACC | (uint32_t)(ACC_ROWS / 2);
    gemmini_extended3_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, 1);
    gemmini_extended_mvin2(parameters, row, DIM, 2);
    spinel_load_affine(row, DIM);
    gemmini_config_norm(0, 0, 0, 1, 0, IGELU_QB, IGELU_QC);  // the MSB: activation 6
  }
  gemmini_extended3_config_ld(N * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, 0);
  gemmini_extended_config_st(ldo * sizeof(elem_t), ACT_LAYERNORM, LAYERNORM_SCALE);
  const size_t first_tiles = (min_size(block, M) + DIM - 1) / DIM * Jt;
  for (size_t k = 0; k < first_tiles; k++) mvin_block_tile(wide, M, N, block, 0, k);
  const int first[3] = {SUM, VARIANCE, 0}, finishing[3] = {MEAN, INV_STDDEV, 0};
  for (size_t b = 0; b < blocks; b++) {
    const size_t rows = min_size(block, M - b * block), It = (rows + DIM - 1) / DIM;
    const size_t next_tiles = b + 1 < blocks ? (min_size(block, M - (b + 1) * block) + DIM - 1) / DIM * Jt : 0;
    size_t next = 0, mvouts = 0;
    for (size_t i = 0; i < It; i++) {
      const size_t r = min_size(DIM, rows - i * DIM);
      for (int p = 0; p < 3; p++)
        for (size_t j = 0; j < Jt; j++) {
          // Two statistics passes (no writes), then the output pass.
          const uint32_t pass = (uint32_t)(j == Jt - 1 ? finishing[p] : first[p]);
          elem_t* dram = p == 2 ? &out[(b * block + i * DIM) * ldo + j * DIM] : out;
          gemmini_extended_mvout(dram, block_tile(b, i * Jt + j) | pass << 26, min_size(DIM, N - j * DIM), r);
          // The next block's mvins: one per three mvouts (three passes per tile).
          if (++mvouts % 3 == 0 && next < next_tiles) mvin_block_tile(wide, M, N, block, b + 1, next++);
        }
    }
    for (; next < next_tiles; next++) mvin_block_tile(wide, M, N, block, b + 1, next);
  }
  gemmini_fence();
  normalizer_cycles += spinel_cycles() - start;
  if (affine) gemmini_config_norm(0, 0, 0, 0, 0, IGELU_QB, IGELU_QC);  // the MSB off again
}

// ---- The host-nonlinear mode ----

// A·B (+ bias, int8) as int32 in DRAM: tiled_matmul_auto with full_C (its mvouts read the
// accumulator at full width, address bit 29), then a fence, after which the host may read it.
static void matmul_to_host(const elem_t* A, size_t lda, const elem_t* B, size_t ldb, int transpose_b, const elem_t* bias,
                           size_t ldbias, size_t M, size_t N, size_t K, acc_t* out) {
  tiled_matmul_auto(M, N, K, A, B, bias, out, lda, ldb, ldbias, N, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, ACT_NONE,
                    ACC_SCALE_IDENTITY, 0, false, false, transpose_b, true, true, 0, WS);
  gemmini_fence();
}

// The host's cost model (docs/PERFORMANCE.md, "Host-nonlinear mode"): an in-order, single-issue
// RV64GC core like Rocket running spinel_reference.h's functions. Instructions per element and
// per row on their common path, counted in clang -O2 -march=rv64gc code, by kind:
typedef struct { double simple, loads, muls, divs, fp, fdivs; } host_ops_t;
//                                            simple  loads  muls  divs  fp    fdiv
static const host_ops_t SOFTMAX_ELEMENT   = {47.5,   3,     6,    0,    11.5, 0};  // max, Σ iexp, iexp and ACC_SCALE
static const host_ops_t SOFTMAX_ROW       = {35,     1,     0,    0,    6,    1};  // setup, fp32(127) / fp32(sum)
static const host_ops_t LAYERNORM_ELEMENT = {32,     3,     2,    1,    6,    0};  // Σx, Σ(x - mean)², rne((x - mean) / std), ACC_SCALE
static const host_ops_t LAYERNORM_ROW     = {1030,   0,     1,    7,    2,    0};  // 64 steps of the wide division, int_sqrt (≈6 divides)
static const host_ops_t IGELU_ELEMENT     = {25.5,   1,     2,    0,    10.5, 0};  // the polynomial, its product, ACC_SCALE
static const host_ops_t IGELU_ROW         = {20,     0,     0,    0,    5,    0};  // setup
// Cycles per instruction of each kind: simple integer ops, branches and stores 1; an L1 hit 2
// (the load-use bubble); Rocket's iterative multiplier (8 bits per cycle) 8 for 64 bits; its
// divider (1 bit per cycle, early out) 16 for the short quotients here; a dependent FPU
// operation 3; an fdiv.s 20. Plus the misses: the int32 input was just written to DRAM by the
// accelerator (one 64-byte line per 16 elements at the memory latency, 40 cycles), and the
// int8 output allocates a line per 64 elements.
static const double HOST_MEMORY_LATENCY = 40;
static double host_cycles_of(host_ops_t ops) {
  return ops.simple + 2 * ops.loads + 8 * ops.muls + 16 * ops.divs + 3 * ops.fp + 20 * ops.fdivs;
}
static double host_row_cycles(host_ops_t element, host_ops_t row, size_t J) {
  const double misses = HOST_MEMORY_LATENCY * ((double)J * sizeof(acc_t) / 64 + (double)J / 64);
  return host_cycles_of(row) + (double)J * host_cycles_of(element) + misses;
}

enum { HOST_SOFTMAX, HOST_LAYERNORM, HOST_IGELU, HOST_FUNCTIONS };
static const char* const HOST_FUNCTION_NAMES[HOST_FUNCTIONS] = {"Softmax", "LayerNorm", "I-GELU"};
static double host_cycles[HOST_FUNCTIONS];

static void host_softmax(const acc_t* acc, size_t rows, size_t J, elem_t* out, size_t ldo) {
  ref_softmax(acc, rows, J, out, ldo);
  host_cycles[HOST_SOFTMAX] += (double)rows * host_row_cycles(SOFTMAX_ELEMENT, SOFTMAX_ROW, J);
}

static void host_layernorm(const acc_t* acc, size_t rows, size_t J, acc_t gain, elem_t* out, size_t ldo) {
  ref_layernorm(acc, rows, J, gain, out, ldo);
  host_ops_t element = LAYERNORM_ELEMENT;
  if (gain != 1) element.muls += 1;  // (x - mean)·γ
  host_cycles[HOST_LAYERNORM] += (double)rows * host_row_cycles(element, LAYERNORM_ROW, J);
}

static void host_igelu(const acc_t* acc, size_t rows, size_t J, elem_t* out, size_t ldo) {
  ref_scale(acc, rows, J, FFN1_SCALE, 1, out, ldo);
  host_cycles[HOST_IGELU] += (double)rows * host_row_cycles(IGELU_ELEMENT, IGELU_ROW, J);
}

static void check(const char* what, const elem_t* got, const elem_t* want, size_t M, size_t N, size_t ld) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++)
      TB_CHECK(got[i * ld + j] == want[i * ld + j], "%s [%zu][%zu] = %d, expected %d", what, i, j, got[i * ld + j], want[i * ld + j]);
}

// ---- The dump (docs/ACCURACY.md, "Dump format"), little-endian ----
//   0  char[8] "SPNLENCL"        8 u32 version 1     12 u32 header bytes (96)
//  16  u32 S, D, heads, F        32 u32 mode (0 nonlinear on the accelerator, 1 on the host)
//  36  f32 QKV_SCALE, CTX_SCALE, FFN1_SCALE, LAYERNORM_SCALE
//  52  i32 QLN2, QLN2_INV, EXP_QB, EXP_QC, IGELU_QB, IGELU_QC      76 u32 Y_GAIN
//  80  f64 X_SCALE, IGELU_INPUT_SCALE
//  96  int8 X, Wq, Wk, Wv, Wo, W1, W2, Q, K, V, P (heads × S × S), ctx, X1, H, Y, row-major
enum { DUMP_VERSION = 1, DUMP_HEADER_BYTES = 96 };

static void put_u32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_f32(uint8_t* p, float v) { uint32_t bits; memcpy(&bits, &v, 4); put_u32(p, bits); }
static void put_f64(uint8_t* p, double v) { uint64_t bits; memcpy(&bits, &v, 8); put_u64(p, bits); }

typedef struct { const elem_t* data; size_t bytes; } tensor_t;

// Writes FILE.tmp.PID, then renames it to FILE: a failed run leaves no partial dump. Returns 0.
static int write_dump(const char* path, const tensor_t* tensors, size_t count) {
  uint8_t header[DUMP_HEADER_BYTES] = {0};
  memcpy(header, "SPNLENCL", 8);
  const uint32_t fields[] = {DUMP_VERSION, DUMP_HEADER_BYTES, (uint32_t)S, (uint32_t)D, (uint32_t)HEADS, (uint32_t)F, (uint32_t)host_nonlinear};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) put_u32(&header[8 + 4 * i], fields[i]);
  const float scales[] = {QKV_SCALE, CTX_SCALE, FFN1_SCALE, LAYERNORM_SCALE};
  for (size_t i = 0; i < 4; i++) put_f32(&header[36 + 4 * i], scales[i]);
  const acc_t constants[] = {QLN2, QLN2_INV, EXP_QB, EXP_QC, IGELU_QB, IGELU_QC};
  for (size_t i = 0; i < 6; i++) put_u32(&header[52 + 4 * i], (uint32_t)constants[i]);
  put_u32(&header[76], (uint32_t)Y_GAIN);
  put_f64(&header[80], X_SCALE);
  put_f64(&header[88], IGELU_INPUT_SCALE);

  char temporary[4096];
  if (snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof temporary) {
    fprintf(stderr, "encoder_layer: the dump path %s is too long\n", path);
    return -1;
  }
  FILE* file = fopen(temporary, "wb");
  if (!file) {
    fprintf(stderr, "encoder_layer: cannot create %s: %s (does the directory exist?)\n", temporary, strerror(errno));
    return -1;
  }
  int ok = fwrite(header, 1, sizeof header, file) == sizeof header;
  for (size_t i = 0; ok && i < count; i++) ok = fwrite(tensors[i].data, 1, tensors[i].bytes, file) == tensors[i].bytes;
  int error = ok ? 0 : errno;
  if (fclose(file) != 0 && ok) ok = 0, error = errno;
  if (ok && rename(temporary, path) != 0) ok = 0, error = errno;
  if (!ok) {
    fprintf(stderr, "encoder_layer: cannot write the dump %s: %s\n", path, strerror(error));
    remove(temporary);
    return -1;
  }
  return 0;
}

int main(int argc, char** argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--host-nonlinear") == 0) {
    host_nonlinear = 1;
    first = 2;
  } else if (argc > 1 && strcmp(argv[1], "--cta") == 0) {
#if SPINEL_HAS_CTA
    cta_mode = 1;
    first = 2;
#else
    fprintf(stderr, "encoder_layer: --cta needs a configuration with CTA units (a cta section, e.g. Testbenches/configs/small-cta.json)\n");
    return 2;
#endif
  }
  const char* dump_path = NULL;
  const int positional = argc - first;
  if (positional == 4 || positional == 5) {
    S = atoi(argv[first]);
    D = atoi(argv[first + 1]);
    HEADS = atoi(argv[first + 2]);
    F = atoi(argv[first + 3]);
    if (positional == 5) dump_path = argv[first + 4];
  } else if (positional != 0) {
    fprintf(stderr, "usage: encoder_layer [--host-nonlinear | --cta] [S D heads F [dump-file]]\n");
    return 2;
  }
#if SPINEL_HAS_CTA
  if (cta_mode && (S > SPINEL_CTA_MAX_TOKENS || dump_path)) {
    fprintf(stderr, "encoder_layer --cta: S %d must be at most cta.maxTokens (%d), and there is no dump file (P is never formed)\n", S,
            SPINEL_CTA_MAX_TOKENS);
    return 2;
  }
#endif
  if (S <= 0 || D <= 0 || HEADS <= 0 || F <= 0 || D % HEADS || S % DIM || (D / HEADS) % DIM || F % DIM ||
      rows_per_block((size_t)S) == 0 || rows_per_block((size_t)D) == 0) {
    fprintf(stderr, "encoder_layer: S %d, D %d, heads %d, F %d: S, F and D/heads must be positive multiples of DIM (%d), D a multiple of heads, "
            "and a row of S or D must fit half the accumulator\n", S, D, HEADS, F, DIM);
    return 2;
  }
  const int dh = D / HEADS;
  choose_scales();
  elem_t *X = allocate((size_t)S * D), *Wq = allocate((size_t)D * D), *Wk = allocate((size_t)D * D), *Wv = allocate((size_t)D * D);
  elem_t *Wo = allocate((size_t)D * D), *W1 = allocate((size_t)D * F), *W2 = allocate((size_t)F * D);
  elem_t *Q = allocate((size_t)S * D), *Kx = allocate((size_t)S * D), *V = allocate((size_t)S * D);
  elem_t* P = allocate((size_t)HEADS * S * S);
  elem_t *ctx = allocate((size_t)S * D), *X1 = allocate((size_t)S * D), *H = allocate((size_t)S * F), *Y = allocate((size_t)S * D);
  const size_t widest = (size_t)(F > D ? (F > S ? F : S) : (D > S ? D : S));
  elem_t* want = allocate((size_t)S * widest);
  acc_t* acc = allocate((size_t)S * widest * sizeof(acc_t));
  acc_t* to_host = host_nonlinear ? allocate((size_t)S * widest * sizeof(acc_t)) : NULL;
  acc_t* wide = host_nonlinear ? NULL : allocate((size_t)S * D * sizeof(acc_t));
  tb_fill(X, (size_t)S * D, X_RANGE);
  if (cta_mode) {
    // Rows near three prototypes (±3), inside [-X_RANGE, X_RANGE]: tokens that cluster.
    for (int t = 3; t < S; t++)
      for (int j = 0; j < D; j++)
        X[(size_t)t * D + j] = (elem_t)tb_saturate(X[(size_t)(tb_random() % 3) * D + j] + (int)(tb_random() % 7) - 3, -X_RANGE, X_RANGE);
  }
  tb_fill(Wq, (size_t)D * D, W_RANGE);
  tb_fill(Wk, (size_t)D * D, W_RANGE);
  tb_fill(Wv, (size_t)D * D, W_RANGE);
  tb_fill(Wo, (size_t)D * D, W_RANGE);
  tb_fill(W1, (size_t)D * F, W_RANGE);
  tb_fill(W2, (size_t)F * D, W_RANGE);
  const double macs = (double)S * D * D * 4 + (double)S * S * D * 2 + (double)S * D * F * 2;
  const uint64_t start = spinel_cycles();

  // Q, K, V projections.
  gemmini_config_norm(0, 0, 0, 0, 0, IGELU_QB, IGELU_QC);
  matmul_scaled(X, D, Wq, D, S, D, D, Q, D, QKV_SCALE, ACT_NONE);
  matmul_scaled(X, D, Wk, D, S, D, D, Kx, D, QKV_SCALE, ACT_NONE);
  matmul_scaled(X, D, Wv, D, S, D, D, V, D, QKV_SCALE, ACT_NONE);

#if SPINEL_HAS_CTA
  // CTA: the heads' linears are the heads' columns of Wq, Wk, Wv (as Wᵀ rows, no bias), stored
  // with QKV_SCALE; λ puts the scores in the exp table's units (SOFTMAX_INPUT_SCALE·log2 e·E);
  // s_out = 1 keeps ctx in V's units, as CTX_SCALE does for the dense P·V.
  const int dh_cta = D / HEADS;
  size_t cta_counts[3] = {0, 0, 0};
  elem_t* cta_weights = cta_mode ? allocate((size_t)3 * D * D) : NULL;
  acc_t* cta_zero_bias = cta_mode ? allocate((size_t)D * sizeof(acc_t)) : NULL;
  static elem_t cta_directions[3][SPINEL_CTA_HASH_LENGTH * 1024];
  static acc_t cta_offsets[3][SPINEL_CTA_HASH_LENGTH] row_align_acc(1);
  int64_t cta_reference_offsets[3][SPINEL_CTA_HASH_LENGTH], cta_multipliers[3];
  unsigned cta_shifts[3];
  spinel_cta_hash_t cta_hashes[3];
  if (cta_mode) {
    TB_CHECK(D <= 1024, "--cta: D %d, at most 1024 in this test", D);
    memset(cta_zero_bias, 0, (size_t)D * sizeof(acc_t));
    const elem_t* w[3] = {Wq, Wk, Wv};
    for (int m = 0; m < 3; m++)
      for (int j = 0; j < D; j++)
        for (int k = 0; k < D; k++) cta_weights[(size_t)m * D * D + (size_t)j * D + k] = w[m][(size_t)k * D + j];
    for (int level = 0; level < 3; level++) {
      const double width = 2500.0 * sqrt((double)D);
      for (int i = 0; i < SPINEL_CTA_HASH_LENGTH * D; i++) cta_directions[level][i] = (elem_t)((int)(tb_random() % 121) - 60);
      for (int i = 0; i < SPINEL_CTA_HASH_LENGTH; i++) cta_reference_offsets[level][i] = cta_offsets[level][i] = (acc_t)(tb_random() % (unsigned)width);
      tb_cta_reciprocal(width, &cta_multipliers[level], &cta_shifts[level]);
      cta_hashes[level] = (spinel_cta_hash_t){cta_directions[level], cta_offsets[level], (uint32_t)cta_multipliers[level], cta_shifts[level]};
    }
  }
  const float cta_lambda = (float)(SOFTMAX_INPUT_SCALE * 1.4426950408889634 * SPINEL_CTA_EXP_TABLE_ENTRIES), cta_output_scale = 1.0f;
  if (cta_mode) {
    spinel_cta_linear_t linears[3 * 64];
    float store_scales[3 * 64], lambdas[64], output_scales[64];
    TB_CHECK(HEADS <= 64, "--cta: at most 64 heads");
    for (int h = 0; h < HEADS; h++) {
      for (int m = 0; m < 3; m++) {
        linears[3 * h + m] = (spinel_cta_linear_t){&cta_weights[(size_t)m * D * D + (size_t)h * dh_cta * D], cta_zero_bias};
        store_scales[3 * h + m] = QKV_SCALE;
      }
      lambdas[h] = cta_lambda;
      output_scales[h] = cta_output_scale;
    }
    const int failed = spinel_cta_attention_heads((size_t)S, (size_t)D, (size_t)HEADS, (size_t)dh_cta, X, (size_t)D, cta_hashes, linears,
                                                  store_scales, lambdas, output_scales, ctx, (size_t)D, cta_counts);
    TB_CHECK(failed == 0, "spinel_cta_attention_heads returned %d (a level overflowed)", failed);
  }
#endif
  // Attention: P_h = Softmax(Q_h·K_hᵀ) (the normalizer, or the host), then ctx_h = P_h·V_h.
  // DRAM is not ordered (docs/ACCELERATOR.md, "LOOP_WS"): a fence before each stage that reads
  // what the stage before wrote.
  gemmini_fence();
  if (!cta_mode && !host_nonlinear) {
    attention_scores(Q, Kx, P);
    gemmini_fence();
  }
  for (int h = 0; h < HEADS && !cta_mode; h++) {
    elem_t* Ph = &P[(size_t)h * S * S];
    if (host_nonlinear) {
      matmul_to_host(&Q[h * dh], D, &Kx[h * dh], D, true, NULL, 0, S, S, dh, to_host);
      host_softmax(to_host, S, S, Ph, S);
    }
    matmul_scaled(Ph, S, &V[h * dh], D, S, dh, S, &ctx[h * dh], D, CTX_SCALE, ACT_NONE);
  }
  gemmini_fence();

  // X1 = LayerNorm(ctx·Wo + X); H = I-GELU(X1·W1); Y = LayerNorm(H·W2 + X1).
  if (host_nonlinear) {
    matmul_to_host(ctx, D, Wo, D, false, X, D, S, D, D, to_host);
    host_layernorm(to_host, S, D, 1, X1, D);
    matmul_to_host(X1, D, W1, F, false, NULL, 0, S, F, D, to_host);
    host_igelu(to_host, S, F, H, F);
    matmul_to_host(H, F, W2, D, false, X1, D, S, D, F, to_host);
    host_layernorm(to_host, S, D, Y_GAIN, Y, D);
  } else {
    matmul_layernorm(ctx, D, Wo, D, X, D, S, D, D, 1, wide, X1, D);
    matmul_scaled(X1, D, W1, F, S, F, D, H, F, FFN1_SCALE, ACT_IGELU);
    gemmini_fence();
    matmul_layernorm(H, F, W2, D, X1, D, S, D, F, Y_GAIN, wide, Y, D);
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
#if SPINEL_HAS_CTA
  for (int h = 0; h < HEADS && cta_mode; h++) {
    const elem_t* directions[3] = {cta_directions[0], cta_directions[1], cta_directions[2]};
    const int64_t* offsets[3] = {cta_reference_offsets[0], cta_reference_offsets[1], cta_reference_offsets[2]};
    const elem_t* weights[3];
    int64_t* zero = calloc((size_t)dh_cta, sizeof(int64_t));
    const int64_t* biases[3] = {zero, zero, zero};
    for (int m = 0; m < 3; m++) weights[m] = &cta_weights[(size_t)m * D * D + (size_t)h * dh_cta * D];
    const float scales[3] = {QKV_SCALE, QKV_SCALE, QKV_SCALE};
    elem_t* head = allocate((size_t)S * dh_cta);
    size_t counts[3];
    long overflow_token = -1;
    const int failed = spinel_cta_head_reference(X, (size_t)S, (size_t)D, directions, offsets, cta_multipliers, cta_shifts, weights, biases,
                                                 (size_t)dh_cta, scales, cta_lambda, cta_output_scale, head, counts, &overflow_token);
    TB_CHECK(failed < 0, "the CTA reference's level %d overflowed at token %ld", failed, overflow_token);
    for (int level = 0; level < 3; level++)
      TB_CHECK(counts[level] == cta_counts[level], "k%d: %zu, the reference %zu", level, cta_counts[level], counts[level]);
    if (h == 0) TB_CHECK(counts[0] < (size_t)S && counts[1] < (size_t)S, "X does not cluster (k0 %zu, k1 %zu of %d)", counts[0], counts[1], S);
    for (int t = 0; t < S; t++) memcpy(&want[(size_t)t * D + h * dh_cta], &head[(size_t)t * dh_cta], (size_t)dh_cta);
    char name[32];
    snprintf(name, sizeof name, "ctx (CTA head %d)", h);
    check(name, &ctx[h * dh_cta], &want[h * dh_cta], S, dh_cta, D);
    free(head);
    free(zero);
  }
#endif
  for (int h = 0; h < HEADS && !cta_mode; h++) {
    const elem_t* Ph = &P[(size_t)h * S * S];
    char name[32];
    snprintf(name, sizeof name, "P (head %d)", h);
    ref_matmul(&Q[h * dh], D, &Kx[h * dh], D, 1, NULL, 0, S, S, dh, acc);
    ref_softmax(acc, S, S, want, S);
    check(name, Ph, want, S, S, S);
    ref_matmul(Ph, S, &V[h * dh], D, 0, NULL, 0, S, dh, S, acc);
    ref_scale(acc, S, dh, CTX_SCALE, 0, &want[h * dh], D);
    snprintf(name, sizeof name, "ctx (head %d)", h);
    check(name, &ctx[h * dh], &want[h * dh], S, dh, D);
  }
  ref_matmul(ctx, D, Wo, D, 0, X, D, S, D, D, acc);
  ref_layernorm(acc, S, D, 1, want, D);
  check("X1", X1, want, S, D, D);
  ref_matmul(X1, D, W1, F, 0, NULL, 0, S, F, D, acc);
  ref_scale(acc, S, F, FFN1_SCALE, 1, want, F);
  check("H", H, want, S, F, F);
  ref_matmul(H, F, W2, D, 0, X1, D, S, D, F, acc);
  ref_layernorm(acc, S, D, Y_GAIN, want, D);
  check("Y", Y, want, S, D, D);

  const double host_total = host_cycles[HOST_SOFTMAX] + host_cycles[HOST_LAYERNORM] + host_cycles[HOST_IGELU];
  const double total = (double)cycles + host_total;
#if SPINEL_HAS_CTA
  if (cta_mode)
    printf("compressed-token attention (k0 %zu, k1 %zu, k2 %zu of %d tokens; the utilization below counts the dense layer's MACs): ",
           cta_counts[0], cta_counts[1], cta_counts[2], S);
#endif
  printf("encoder layer S=%d D=%d heads=%d F=%d, nonlinear on the %s: %.0f cycles (accelerator %" PRIu64 " simulated + host %.0f modelled), PE utilization %.1f%%",
         S, D, HEADS, F, host_nonlinear ? "host" : "accelerator", total, cycles, host_total, 100.0 * macs / ((double)DIM * DIM * total));
  if (host_nonlinear) {
    printf(", host %.1f%% (", 100.0 * host_total / total);
    for (int f = 0; f < HOST_FUNCTIONS; f++) printf("%s%s %.0f", f ? ", " : "", HOST_FUNCTION_NAMES[f], host_cycles[f]);
    printf(")\n");
  } else {
    printf(", LayerNorm phases %" PRIu64 " cycles (%.1f%%)\n", normalizer_cycles, 100.0 * (double)normalizer_cycles / total);
  }

  if (dump_path && tb_failures == 0 && spinel_error_code() == 0) {
    const tensor_t tensors[] = {
        {X, (size_t)S * D},  {Wq, (size_t)D * D}, {Wk, (size_t)D * D},  {Wv, (size_t)D * D},           {Wo, (size_t)D * D},
        {W1, (size_t)D * F}, {W2, (size_t)F * D}, {Q, (size_t)S * D},   {Kx, (size_t)S * D},           {V, (size_t)S * D},
        {P, (size_t)HEADS * S * S},               {ctx, (size_t)S * D}, {X1, (size_t)S * D},           {H, (size_t)S * F},
        {Y, (size_t)S * D}};
    if (write_dump(dump_path, tensors, sizeof tensors / sizeof tensors[0]) == 0) printf("encoder_layer: wrote %s\n", dump_path);
    else tb_failures++;
  } else if (dump_path) {
    printf("encoder_layer: %s not written (the run failed)\n", dump_path);
  }
  return tb_finish("encoder_layer");
}
