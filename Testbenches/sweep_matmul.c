// The utilization sweep's kernel (`make bench`, docs/PERFORMANCE.md): C = ACC_SCALE(A·B) for
// A (M×K) and B (K×N) in int8, one way per run:
//
//   ws  tiled_matmul_auto(..., WS): one LOOP_WS per output tile (spinel_tiled.h);
//   os  output-stationary, written here with plain commands (below).
//
// Every element of C is checked against the C reference. The last line before the verdict is
// machine-readable:
//
//   sweep M N K MODE CYCLES MACS UTILIZATION      (UTILIZATION = MACs / (DIM² · cycles))
//
// The memory model comes from the environment (SPINEL_MEMORY_LATENCY,
// SPINEL_MEMORY_BYTES_PER_CYCLE); the cycles are counted from the first command to the fence.
//
// The OS kernel is software-pipelined like tiled_matmul.c. The work is a list of *steps*: an
// output block of TILES_I×TILES_J tiles and a K block of TILES_K tiles. Per output tile, a K
// loop of pairs: PRELOAD(GARBAGE, C or GARBAGE) + COMPUTE_PRELOADED, then
// PRELOAD(GARBAGE, ...) + COMPUTE_ACCUMULATED..., C named at the last k of the block only (the
// accumulation stays in the array; C goes to the accumulator, accumulating after the first K
// block). The pairs are interleaved with *waiting* commands: the operands of the next step (into
// the other scratchpad half), then the mvouts of finished tiles (output blocks alternate
// between the accumulator halves), so that no controller's queue fills and blocks the
// dispatcher. A and B of one half sit in different scratchpad banks.
//
// Usage: sweep_matmul M N K ws|os   (multiples of DIM)
#include "common/testbench.h"
#include "spinel_tiled.h"

// OS tiles per step: an output block of C in one accumulator half, and a K block.
#define TILES_I 4
#define TILES_J 4
#define TILES_K 16

static elem_t *A, *B, *C;
static int M, N, K;

// Scratchpad quarters: A then B of half 0, then A then B of half 1 (one bank each with four).
#define QUARTER (BANK_NUM * BANK_ROWS / 4)
static uint32_t a_row(int half, int i, int k) { return (uint32_t)(2 * half * QUARTER + (i * TILES_K + k) * DIM); }
static uint32_t b_row(int half, int k, int j) { return (uint32_t)((2 * half + 1) * QUARTER + (k * TILES_J + j) * DIM); }
static uint32_t c_row(int c_half, int i, int j, int accumulate) {
  return (1u << 31) | (accumulate ? 1u << 30 : 0) | (uint32_t)(c_half * (ACC_ROWS / 2) + (i * TILES_J + j) * DIM);
}
static int min_int(int a, int b) { return a < b ? a : b; }

typedef struct { int i0, j0, k0, ti, tj, tk, block, last_k; } step_t;

static int k_steps(void) { return (K / DIM + TILES_K - 1) / TILES_K; }
static int step_count(void) {
  return ((M / DIM + TILES_I - 1) / TILES_I) * ((N / DIM + TILES_J - 1) / TILES_J) * k_steps();
}
static step_t step_at(int t) {
  const int ks = k_steps(), js = (N / DIM + TILES_J - 1) / TILES_J;
  step_t s;
  s.block = t / ks;
  s.i0 = (s.block / js) * TILES_I * DIM;
  s.j0 = (s.block % js) * TILES_J * DIM;
  s.k0 = (t % ks) * TILES_K * DIM;
  s.ti = min_int((M - s.i0) / DIM, TILES_I);
  s.tj = min_int((N - s.j0) / DIM, TILES_J);
  s.tk = min_int((K - s.k0) / DIM, TILES_K);
  s.last_k = t % ks == ks - 1;
  return s;
}

// Commands waiting to be issued, one after each pair (spinel_tiled.h's queue).
static spinel_queue_t waiting;

static void push_loads(step_t s, int half) {
  for (int i = 0; i < s.ti; i++)
    for (int k = 0; k < s.tk; k += MAX_BLOCK_LEN)
      spinel_push(&waiting, k_MVIN, (uint64_t)(uintptr_t)&A[(size_t)(s.i0 + i * DIM) * K + s.k0 + k * DIM],
                  spinel_operand(DIM, (size_t)min_int(s.tk - k, MAX_BLOCK_LEN) * DIM, a_row(half, i, k)));
  for (int k = 0; k < s.tk; k++)
    for (int j = 0; j < s.tj; j += MAX_BLOCK_LEN)
      spinel_push(&waiting, k_MVIN2, (uint64_t)(uintptr_t)&B[(size_t)(s.k0 + k * DIM) * N + s.j0 + j * DIM],
                  spinel_operand(DIM, (size_t)min_int(s.tj - j, MAX_BLOCK_LEN) * DIM, b_row(half, k, j)));
}

// The waiting commands are spread over the first three quarters of the step's pairs, not one
// after each pair: a 4-tile mvin takes 64 cycles at 16 B/cycle and a pair 16, so one per pair
// fills the load queue (8 entries + 8 in the station) and the dispatcher then waits on it,
// throttling the pairs to the DMA's pace.
static void compute_step_os(step_t s, int half) {
  const int c_half = s.block & 1, pairs = s.ti * s.tj * s.tk;
  const int pending = (int)(waiting.count - waiting.head) + (s.last_k ? s.ti * s.tj : 0);
  const int stride = pending > 0 ? (pairs * 3 / 4 > pending ? pairs * 3 / 4 / pending : 1) : 1;
  int p = 0;
  for (int i = 0; i < s.ti; i++)
    for (int j = 0; j < s.tj; j++) {
      for (int k = 0; k < s.tk; k++, p++) {
        const int last = k == s.tk - 1;
        gemmini_extended_preload(GARBAGE_ADDR, last ? c_row(c_half, i, j, s.k0 > 0) : GARBAGE_ADDR, DIM, DIM, DIM, DIM);
        if (k == 0) {
          gemmini_extended_compute_preloaded(a_row(half, i, k), b_row(half, k, j), DIM, DIM, DIM, DIM);
        } else {
          gemmini_extended_compute_accumulated(a_row(half, i, k), b_row(half, k, j), DIM, DIM, DIM, DIM);
        }
        if (p % stride == stride - 1) spinel_pop(&waiting);
      }
      if (s.last_k)
        spinel_push(&waiting, k_MVOUT, (uint64_t)(uintptr_t)&C[(size_t)(s.i0 + i * DIM) * N + s.j0 + j * DIM],
                    spinel_operand(DIM, DIM, c_row(c_half, i, j, 0)));
    }
}

static void matmul_os(acc_scale_t scale) {
  gemmini_extended4_config_ld(K * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 0);   // A rows
  gemmini_extended4_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 1);   // B rows
  gemmini_extended_config_st(N * sizeof(elem_t), 0, scale);
  gemmini_extended3_config_ex(OUTPUT_STATIONARY, 0, 0, ACC_SCALE_IDENTITY, 1, 1, false, false, false);
  const int steps = step_count();
  push_loads(step_at(0), 0);
  while (spinel_pop(&waiting)) {}
  for (int t = 0; t < steps; t++) {
    if (t + 1 < steps) push_loads(step_at(t + 1), (t + 1) & 1);
    compute_step_os(step_at(t), t & 1);
  }
  while (spinel_pop(&waiting)) {}
  free(waiting.items);
}

int main(int argc, char **argv) {
  if (argc != 5 || (strcmp(argv[4], "ws") != 0 && strcmp(argv[4], "os") != 0)) {
    fprintf(stderr, "usage: sweep_matmul M N K ws|os\n");
    return 2;
  }
  M = atoi(argv[1]);
  N = atoi(argv[2]);
  K = atoi(argv[3]);
  const int os = strcmp(argv[4], "os") == 0;
  if (os ? !SPINEL_HAS_OS : !SPINEL_HAS_WS) {
    fprintf(stderr, "sweep_matmul: mode %s needs the %s dataflow, which %s lacks: use a configuration that has it\n", argv[4],
            os ? "output-stationary" : "weight-stationary", SPINEL_CONFIG_NAME);
    return 2;
  }
  (void)tb_fill_acc;
  if (M <= 0 || N <= 0 || K <= 0 || M % DIM || N % DIM || K % DIM || 2 * TILES_I * TILES_J * DIM > ACC_ROWS ||
      TILES_I * TILES_K * DIM > QUARTER || TILES_K * TILES_J * DIM > QUARTER) {
    fprintf(stderr, "sweep_matmul: M, N, K must be positive multiples of DIM (%d) and the OS tiles must fit\n", DIM);
    return 2;
  }
  A = aligned_alloc(64, (size_t)M * K);
  B = aligned_alloc(64, (size_t)K * N);
  C = aligned_alloc(64, (size_t)M * N);
  tb_fill(A, (size_t)M * K, 127);
  tb_fill(B, (size_t)K * N, 127);
  memset(C, 0x55, (size_t)M * N);
  const acc_scale_t scale = (acc_scale_t)1.0 / (acc_scale_t)(16 * K);

  const uint64_t start = spinel_cycles();
  if (os) {
    matmul_os(scale);
  } else {
    tiled_matmul_auto((size_t)M, (size_t)N, (size_t)K, A, B, NULL, C, (size_t)K, (size_t)N, (size_t)N, (size_t)N,
                      MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY, NO_ACTIVATION, scale, 0, false, false,
                      false, false, false, 0, WS);
  }
  gemmini_fence();
  const uint64_t cycles = spinel_cycles() - start;

  // The reference, a row of C at a time (|sum| ≤ K·127·128 fits in 32 bits for K < 2^17).
  int32_t *row = malloc((size_t)N * sizeof *row);
  for (int i = 0; i < M; i++) {
    memset(row, 0, (size_t)N * sizeof *row);
    for (int k = 0; k < K; k++) {
      const int32_t a = A[(size_t)i * K + k];
      const elem_t *b = &B[(size_t)k * N];
      for (int j = 0; j < N; j++) row[j] += a * b[j];
    }
    for (int j = 0; j < N; j++) {
      const elem_t expected = (elem_t)ACC_SCALE((acc_t)row[j], scale);
      TB_CHECK(C[(size_t)i * N + j] == expected, "C[%d][%d] = %d, expected %d", i, j, C[(size_t)i * N + j], expected);
    }
  }
  free(row);
  const double macs = (double)M * N * K;
  printf("sweep %d %d %d %s %" PRIu64 " %.0f %.4f\n", M, N, K, os ? "os" : "ws", cycles, macs,
         macs / ((double)DIM * DIM * (double)cycles));
  return tb_finish("sweep_matmul");
}
