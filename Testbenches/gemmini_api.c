// Conformance of Spinel's gemmini.h with Gemmini's software API, used the way Gemmini's own test
// programs use it: plain mvin/mvout, one-tile matmuls with gemmini_preload / compute in both
// dataflows, tiled_matmul_auto with every option (WS, OS, CPU; bias of acc_t or elem_t, scaled
// or repeated; transposes; full C; scales; ReLU, I-GELU, LayerNorm, Softmax), tiled_resadd_auto,
// tiled_global_average_auto, tiled_norm_auto (and the wide one-row mvouts of Gemmini's own
// normalization sequence), tiled_matmul_nn_auto and the gemmini_testutils.h helpers. Every
// result is checked against the plain C reference below (not the library's own CPU path, which
// is checked against it too).
//
//   gemmini_api [I J K]      the tiled problem size (default 2·DIM+3, 2·DIM+1, 3·DIM-1)
#include "common/testbench.h"
#include "gemmini_testutils.h"
#include "spinel_reference.h"

static size_t I, J, K;

// ---- The reference: docs/NUMERICS.md written out plainly ----

static int64_t ref_at(const elem_t* m, size_t stride, bool transposed, size_t r, size_t c) {
  return transposed ? m[c * stride + r] : m[r * stride + c];
}

typedef struct {
  bool bias, low_D, repeating, ta, tb, full_C;
  scale_t a_scale, b_scale, d_scale;
  acc_scale_t scale;
  int act;
  acc_scale_t bert_scale;
} matmul_case;

// The accumulator values of C = A·B + D, row-major I×J (acc_t wraps).
static void ref_accumulate(const matmul_case* c, const elem_t* A, const elem_t* B, const void* D, acc_t* out) {
  for (size_t i = 0; i < I; i++)
    for (size_t j = 0; j < J; j++) {
      int64_t sum = 0;
      if (c->bias) {
        const size_t row = c->repeating ? 0 : i;
        const int64_t d = c->low_D ? ((const elem_t*)D)[row * J + j] : ((const acc_t*)D)[row * J + j];
        sum = MVIN_SCALE_ACC(d, c->d_scale);
      }
      for (size_t k = 0; k < K; k++)
        sum += (int64_t)MVIN_SCALE(ref_at(A, c->ta ? I : K, c->ta, i, k), c->a_scale) *
               (int64_t)MVIN_SCALE(ref_at(B, c->tb ? K : J, c->tb, k, j), c->b_scale);
      out[i * J + j] = tb_wrap_acc(sum);
    }
}

// C as the store path leaves it: elem_t through the activation, or acc_t at full width.
static void ref_output(const matmul_case* c, const acc_t* acc, void* out) {
  acc_t qb = 0, qc = 0, qln2 = 0, qln2_inv = 0;
  if (c->act == IGELU) {
    qb = (acc_t)(-1.769f / (c->bert_scale / 1.41421356237f));
    qc = (acc_t)(1.0f / (-0.2888f * (c->bert_scale * c->bert_scale / 2)));
  } else if (c->act == SOFTMAX) {
    qln2 = (acc_t)(0.693147f / c->bert_scale);
    qln2_inv = 65536 / qln2;
    qb = (acc_t)(1.353f / c->bert_scale);
    qc = (acc_t)(0.344f / (0.3585f * c->bert_scale * c->bert_scale));
  }
  for (size_t i = 0; i < I; i++) {
    if (c->full_C) {
      memcpy((acc_t*)out + i * J, acc + i * J, J * sizeof(acc_t));
      continue;
    }
    elem_t* row = (elem_t*)out + i * J;
    if (c->act == LAYERNORM) spinel_layernorm_row(acc + i * J, J, c->scale, row);
    else if (c->act == SOFTMAX) spinel_softmax_row(acc + i * J, J, qln2, qln2_inv, qb, qc, row);
    else
      for (size_t j = 0; j < J; j++) {
        const acc_t x = c->act == IGELU ? spinel_igelu(acc[i * J + j], qb, qc) : acc[i * J + j];
        elem_t y = ACC_SCALE(x, c->scale);
        row[j] = c->act == RELU && y < 0 ? 0 : y;
      }
  }
}

static const char* type_name(enum tiled_matmul_type_t t) { return t == OS ? "OS" : t == WS ? "WS" : t == CPU ? "CPU" : "TILED_COMMANDS"; }

static void run_matmul_case(const char* name, const matmul_case* c, enum tiled_matmul_type_t type) {
  elem_t* A = malloc(I * K);
  elem_t* B = malloc(K * J);
  acc_t* D = malloc(I * J * sizeof(acc_t));
  acc_t* acc = malloc(I * J * sizeof(acc_t));
  void* want = malloc(I * J * sizeof(acc_t));
  void* got = malloc(I * J * sizeof(acc_t));
  tb_fill(A, I * K, c->act == LAYERNORM || c->act == SOFTMAX ? 40 : 9);
  tb_fill(B, K * J, 9);
  if (c->low_D) tb_fill((elem_t*)D, I * J, 100);
  else tb_fill_acc(D, I * J, 3000);
  ref_accumulate(c, A, B, D, acc);
  ref_output(c, acc, want);
  const size_t c_bytes = c->full_C ? sizeof(acc_t) : sizeof(elem_t);
  memset(got, 0x5a, I * J * sizeof(acc_t));
  tiled_matmul_auto(I, J, K, A, B, c->bias ? D : NULL, got, c->ta ? I : K, c->tb ? K : J, J, J, c->a_scale, c->b_scale, c->d_scale,
                    c->act, c->scale, c->bert_scale, c->repeating, c->ta, c->tb, c->full_C, c->low_D, 0, type);
  int wrong = 0;
  for (size_t x = 0; x < I * J; x++) {
    const int64_t g = c_bytes == 1 ? ((elem_t*)got)[x] : ((acc_t*)got)[x];
    const int64_t w = c_bytes == 1 ? ((elem_t*)want)[x] : ((acc_t*)want)[x];
    if (g != w && wrong++ < 3)
      fprintf(stderr, "%s (%s): C[%zu][%zu] = %" PRId64 ", expected %" PRId64 "\n", name, type_name(type), x / J, x % J, g, w);
  }
  TB_CHECK(wrong == 0, "tiled_matmul_auto %s (%s): %d of %zu elements differ", name, type_name(type), wrong, I * J);
  free(A), free(B), free(D), free(acc), free(want), free(got);
}

static void tiled_matmuls(void) {
  const matmul_case cases[] = {
      // bias  low_D  repeat  ta     tb     full_C a_scale b_scale d_scale scale  act            bert
      {false, false, false, false, false, false, 1.0f, 1.0f, 1.0f, 0.05f, NO_ACTIVATION, 0},
      {true, false, false, false, false, false, 1.0f, 1.0f, 0.5f, 0.0625f, RELU, 0},
      {true, true, false, false, false, false, 0.75f, 1.0f, 3.0f, 0.05f, NO_ACTIVATION, 0},
      {true, false, true, false, false, false, 1.0f, 2.0f, 1.0f, 0.03f, RELU, 0},
      {true, false, false, true, false, true, 1.0f, 1.0f, 1.0f, 1.0f, NO_ACTIVATION, 0},
      {false, false, false, false, true, false, 1.0f, 1.0f, 1.0f, 0.05f, NO_ACTIVATION, 0},
      {true, false, false, true, true, false, 1.0f, 1.0f, 1.0f, 0.04f, NO_ACTIVATION, 0},
#ifdef HAS_NORMALIZATIONS
      {true, false, true, false, false, false, 1.0f, 1.0f, 1.0f, 0.0002f, IGELU, 0.25f},
      {true, false, false, false, false, false, 1.0f, 1.0f, 1.0f, 16.0f, LAYERNORM, 0},
      {false, false, false, false, true, false, 1.0f, 1.0f, 1.0f, 1.0f, SOFTMAX, 0.05f},
#endif
  };
  const size_t n = sizeof cases / sizeof cases[0];
  for (size_t x = 0; x < n; x++) {
    char name[32];
    snprintf(name, sizeof name, "case %zu", x);
    const matmul_case* c = &cases[x];
    run_matmul_case(name, c, CPU);
    if (SPINEL_HAS_WS && !(c->ta && c->tb)) run_matmul_case(name, c, WS);  // WS has no transpose of both
    if (SPINEL_HAS_OS && !c->ta && !c->tb && c->act != LAYERNORM && c->act != SOFTMAX) run_matmul_case(name, c, OS);
  }
}

// ---- One tile, the way Gemmini's single-tile tests issue it ----

static elem_t tile_A[DIM][DIM] row_align(1), tile_B[DIM][DIM] row_align(1), tile_D[DIM][DIM] row_align(1);
static elem_t tile_C[DIM][DIM] row_align(1), tile_want[DIM][DIM];
static full_t tile_full[DIM][DIM];

static void one_tile(int dataflow) {
  tb_fill(&tile_A[0][0], DIM * DIM, 5);
  tb_fill(&tile_B[0][0], DIM * DIM, 5);
  tb_fill(&tile_D[0][0], DIM * DIM, 20);
  const uint32_t A_addr = 0, B_addr = DIM, D_addr = 2 * DIM, C_addr = 3 * DIM;
  gemmini_config_ld(DIM * sizeof(elem_t));
  gemmini_config_st(DIM * sizeof(elem_t));
  gemmini_config_ex(dataflow, NO_ACTIVATION, 0);
  gemmini_mvin(tile_A, A_addr);
  gemmini_mvin(tile_B, B_addr);
  gemmini_mvin(tile_D, D_addr);
  if (dataflow == OUTPUT_STATIONARY) {
    gemmini_preload(D_addr, C_addr);
    gemmini_compute_preloaded(A_addr, B_addr);
  } else {
    gemmini_preload(B_addr, C_addr);
    gemmini_compute_preloaded(A_addr, D_addr);
  }
  gemmini_mvout(tile_C, C_addr);
  gemmini_fence();
  matmul(tile_A, tile_B, tile_D, tile_full);
  matshift(tile_full, tile_want, 0);
  TB_CHECK(is_equal(tile_C, tile_want), "one tile, %s: C differs from matmul + matshift",
           dataflow == OUTPUT_STATIONARY ? "OS" : "WS");
}

// ---- Residual addition, global average, normalization, nn_auto ----

// Both residual additions: `type` CPU, WS or OS runs tiled_resadd_auto on I×J; `loop` runs
// LOOP_WS with is_resadd and K = 0 on (DIM+1)×(DIM+2), as Gemmini's tiled_resadd_auto launches it.
static void resadd(enum tiled_matmul_type_t type, bool loop) {
  const size_t rows = loop ? DIM + 1 : I, cols = loop ? DIM + 2 : J;
  elem_t* A = malloc(rows * cols);
  elem_t* B = malloc(rows * cols);
  elem_t* C = malloc(rows * cols);
  tb_fill(A, rows * cols, 127);
  tb_fill(B, rows * cols, 127);
  const scale_t sa = loop ? 1.5f : 0.5f, sb = loop ? 0.25f : 1.75f;
  const acc_scale_t sc = loop ? 0.75f : 0.6f;
  const bool relu = !loop;
  if (loop) {
    gemmini_extended3_config_ld(cols * sizeof(elem_t), sa, true, 0);
    gemmini_extended3_config_ld(cols * sizeof(elem_t), sb, true, 1);
    gemmini_extended_config_st(cols * sizeof(elem_t), NO_ACTIVATION, sc);
    gemmini_loop_ws(2, 2, 0, 2 * DIM - rows, 2 * DIM - cols, 0, A, B, NULL, C, cols, cols, 0, cols, false, false, false, false,
                    false, NO_ACTIVATION, 0, 0, true);
    gemmini_fence();
  } else {
    tiled_resadd_auto(rows, cols, sa, sb, sc, A, B, C, relu, type);
  }
  int wrong = 0;
  for (size_t x = 0; x < rows * cols; x++) {
    elem_t want = ACC_SCALE((int64_t)MVIN_SCALE_ACC(A[x], sa) + MVIN_SCALE_ACC(B[x], sb), sc);
    if (relu && want < 0) want = 0;
    wrong += C[x] != want;
  }
  TB_CHECK(wrong == 0, "%s (%s): %d elements differ", loop ? "LOOP_WS residual add with K = 0" : "tiled_resadd_auto", type_name(type),
           wrong);
  free(A), free(B), free(C);
}

static void global_average(enum tiled_matmul_type_t type) {
  const int batches = 2, channels = (int)J, dim = 3;
  elem_t* in = malloc((size_t)batches * dim * dim * channels);
  elem_t* out = malloc((size_t)batches * channels);
  tb_fill(in, (size_t)batches * dim * dim * channels, 127);
  tiled_global_average_auto(in, out, batches, channels, dim, type);
  int wrong = 0;
  for (int b = 0; b < batches; b++)
    for (int ch = 0; ch < channels; ch++) {
      int64_t sum = 0;
      for (int p = 0; p < dim * dim; p++) sum += in[((size_t)b * dim * dim + p) * channels + ch];
      wrong += out[b * channels + ch] != ACC_SCALE(sum, 1.0f / (dim * dim));
    }
  TB_CHECK(wrong == 0, "tiled_global_average_auto (%s): %d channels differ", type_name(type), wrong);
  free(in), free(out);
}

#ifdef HAS_NORMALIZATIONS
static void norm(int act, enum tiled_matmul_type_t type) {
  acc_t* in = malloc(I * J * sizeof(acc_t));
  elem_t* out = malloc(I * J);
  elem_t* want = malloc(J);
  tb_fill_normalization_rows(in, (int)I, (int)J);
  const acc_scale_t scale = act == LAYERNORM ? 8.0f : 1.0f;
  tiled_norm_auto(I, J, in, out, scale, act, type);
  int wrong = 0;
  for (size_t i = 0; i < I; i++) {
    if (act == LAYERNORM) spinel_layernorm_row(in + i * J, J, scale, want);
    else spinel_softmax_row(in + i * J, J, 13, 65536 / 13, (acc_t)(1.353f / 0.05f), (acc_t)(0.344f / (0.3585f * 0.05f * 0.05f)), want);
    for (size_t j = 0; j < J; j++) wrong += out[i * J + j] != want[j];
  }
  TB_CHECK(wrong == 0, "tiled_norm_auto %s (%s): %d elements differ", act == LAYERNORM ? "LAYERNORM" : "SOFTMAX", type_name(type), wrong);
  free(in), free(out), free(want);
}

// The command sequence Gemmini's own normalization code issues (sp_tiled_norm in its transformer
// test), written out: DIM rows at a time move into the accumulator as wide mvins, block b of a row
// DIM rows after block b - 1; then, NORM_STAT_IDS rows at a time, each pass runs row by row, one
// statistics id per row, as one-row mvouts of up to `blocks` DIM-column blocks: the accumulating
// command on every mvout of the row but the last, the finishing one on the last; the output pass
// last. Mvouts wider than DIM are what this checks (`blocks` 2 splits a row into several of them).
static void gemmini_style_norm(int act, size_t blocks) {
  static const uint32_t layernorm_passes[3][2] = {{SPINEL_NORM_SUM, SPINEL_NORM_MEAN},
                                                  {SPINEL_NORM_VARIANCE, SPINEL_NORM_INV_STDDEV},
                                                  {SPINEL_NORM_RESET, SPINEL_NORM_RESET}};
  static const uint32_t softmax_passes[3][2] = {{SPINEL_NORM_MAX, SPINEL_NORM_MAX},
                                                {SPINEL_NORM_SUM_EXP, SPINEL_NORM_INV_SUM_EXP},
                                                {SPINEL_NORM_RESET, SPINEL_NORM_RESET}};
  const uint32_t (*passes)[2] = act == LAYERNORM ? layernorm_passes : softmax_passes;
  const size_t row_blocks = (J + DIM - 1) / DIM;
  TB_CHECK(row_blocks * DIM <= ACC_ROWS, "gemmini_style_norm: a row of %zu values needs %zu accumulator rows", J, row_blocks * DIM);
  if (blocks > row_blocks) blocks = row_blocks;
  const size_t in_blocks = spinel_min(row_blocks, MAX_BLOCK_LEN_ACC > 0 ? MAX_BLOCK_LEN_ACC : 1);
  acc_t* in = malloc(I * J * sizeof(acc_t));
  elem_t* out = malloc(I * J);
  elem_t* want = malloc(J);
  tb_fill_normalization_rows(in, (int)I, (int)J);
  const acc_scale_t scale = act == LAYERNORM ? 8.0f : 1.0f;
  spinel_norm_constants_t constants = spinel_norm_constants(SOFTMAX, (acc_scale_t)0.05);
  if (act == SOFTMAX) spinel_configure_norm(&constants, SOFTMAX);
  gemmini_extended_config_st(J * sizeof(elem_t), act & 3, scale);
  gemmini_extended4_config_ld(J * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  const uint32_t accumulator = 1u << 31;
  for (size_t i = 0; i < I; i += DIM) {
    const size_t rows = spinel_min(DIM, I - i);
    for (size_t j = 0; j < J; j += in_blocks * DIM)
      gemmini_extended_mvin(in + i * J + j, accumulator | (uint32_t)j, spinel_min(in_blocks * DIM, J - j), rows);
    for (size_t row = 0; row < rows; row += NORM_STAT_IDS) {
      const size_t ids = spinel_min(NORM_STAT_IDS, rows - row);
      for (int pass = 0; pass < 3; pass++)
        for (size_t id = 0; id < ids; id++) {
          // Softmax keeps its constants and activation MSB: only the statistics id changes.
          gemmini_config_norm(0, 0, act == SOFTMAX, 0, id, 0, 0);
          const size_t r = row + id;
          for (size_t jj = 0; jj < J; jj += blocks * DIM) {
            const uint32_t command = passes[pass][jj + blocks * DIM >= J];
            gemmini_extended_mvout(out + (i + r) * J + jj, accumulator | command << 26 | (uint32_t)(jj + r),
                                   spinel_min(blocks * DIM, J - jj), 1);
          }
        }
    }
  }
  gemmini_config_norm(0, 0, 1, 0, 0, 0, 0);
  if (act == SOFTMAX) spinel_reset_norm(&constants);
  gemmini_fence();
  int wrong = 0;
  for (size_t i = 0; i < I; i++) {
    if (act == LAYERNORM) spinel_layernorm_row(in + i * J, J, scale, want);
    else spinel_softmax_row(in + i * J, J, 13, 65536 / 13, (acc_t)(1.353f / 0.05f), (acc_t)(0.344f / (0.3585f * 0.05f * 0.05f)), want);
    for (size_t j = 0; j < J; j++) wrong += out[i * J + j] != want[j];
  }
  TB_CHECK(wrong == 0, "Gemmini's normalization sequence %s, %zu blocks per mvout: %d elements differ",
           act == LAYERNORM ? "LAYERNORM" : "SOFTMAX", blocks, wrong);
  free(in), free(out), free(want);
}
#endif

static void nn_auto(void) {
  elem_t (*A)[K] = malloc(I * K), (*B)[J] = malloc(K * J), (*C)[J] = malloc(I * J);
  acc_t* bias = malloc(J * sizeof(acc_t));
  tb_fill(&A[0][0], I * K, 9);
  tb_fill(&B[0][0], K * J, 9);
  tb_fill_acc(bias, J, 500);
  // Its check compares with the CPU path (itself checked above) and ends the program on a difference.
  tiled_matmul_nn_auto(I, J, K, A, B, bias, C, RELU, 0.05f, true, SPINEL_HAS_WS ? WS : OS, true, "nn_auto");
  free(A), free(B), free(C), free(bias);
}

int main(int argc, char** argv) {
  I = argc > 3 ? (size_t)atoi(argv[1]) : 2 * DIM + 3;
  J = argc > 3 ? (size_t)atoi(argv[2]) : 2 * DIM + 1;
  K = argc > 3 ? (size_t)atoi(argv[3]) : 3 * DIM - 1;
  const uint64_t start = read_cycles();
  if (SPINEL_HAS_OS) one_tile(OUTPUT_STATIONARY);
  if (SPINEL_HAS_WS) one_tile(WEIGHT_STATIONARY);
  tiled_matmuls();
  for (int t = 0; t < 2; t++) {
    const enum tiled_matmul_type_t type = t == 0 ? CPU : (SPINEL_HAS_WS ? WS : OS);
    resadd(type, false);
    global_average(type);
#ifdef HAS_NORMALIZATIONS
    norm(LAYERNORM, type);
    norm(SOFTMAX, type);
#endif
  }
#ifdef HAS_NORMALIZATIONS
  for (int act = 0; act < 2; act++) {
    gemmini_style_norm(act == 0 ? LAYERNORM : SOFTMAX, MAX_BLOCK_LEN);
    gemmini_style_norm(act == 0 ? LAYERNORM : SOFTMAX, 2);
  }
#endif
  if (SPINEL_HAS_WS) resadd(WS, true);
  nn_auto();
  TB_CHECK(read_cycles() > start && read_cycles() == spinel_cycles(), "read_cycles counts simulated cycles");
  printf("gemmini_api: %zu×%zu×%zu on %s\n", I, J, K, SPINEL_CONFIG_NAME);
  return tb_finish("gemmini_api");
}
