// C = ACC_SCALE(A·B) for A (M×K) and B (K×N) in int8, tiled for the scratchpad and the
// accumulator, weight-stationary with the weights of each tile reused across the row tiles.
//
// Software-pipelined like Gemmini's tiled loops: the work is a list of *steps* (an output
// block and a K block). The operands of step t+1 move into the other scratchpad half before
// step t computes, and the results of an output block move out while the next block
// computes (its results go to the other accumulator half), one mvout per group of pairs, so
// that no controller's queue fills and stalls the others. A and B sit in different
// scratchpad banks, so the array reads both in the same cycle.
//
// Usage: tiled_matmul [M N K]   (multiples of DIM; default 128 192 64)
#include "common/testbench.h"

#if !SPINEL_HAS_WS
#error "tiled_matmul.c needs the weight-stationary dataflow (its tiles run weight-stationary): use a configuration whose dataflow is \"ws\" or \"both\""
#endif

// Tiles (of DIM) per block: I and J by the accumulator, K by a quarter of the scratchpad.
#define TILES_I 4
#define TILES_J 4
#define TILES_K 4

static elem_t *A, *B, *C;
static int M = 128, N = 192, K = 64;

// Scratchpad quarters: A then B of one half, then A then B of the other. A pair's operands
// stay inside its half (the reservation station compares row ranges), and A and B of a
// half are in different banks when there are four.
#define QUARTER (BANK_NUM * BANK_ROWS / 4)
static uint32_t a_row(int half, int i, int k) { return (uint32_t)(2 * half * QUARTER + (i * TILES_K + k) * DIM); }
static uint32_t b_row(int half, int k, int j) { return (uint32_t)((2 * half + 1) * QUARTER + (k * TILES_J + j) * DIM); }
static uint32_t c_row(int c_half, int i, int j, int accumulate) {
  return (1u << 31) | (accumulate ? 1u << 30 : 0) | (uint32_t)(c_half * (ACC_ROWS / 2) + (i * TILES_J + j) * DIM);
}
static int min_int(int a, int b) { return a < b ? a : b; }

// One step: output block (i0, j0) of ti×tj tiles, K block k0 of tk tiles.
typedef struct { int i0, j0, k0, ti, tj, tk, block; } step_t;

static int step_count(void) {
  return ((M / DIM + TILES_I - 1) / TILES_I) * ((N / DIM + TILES_J - 1) / TILES_J) * ((K / DIM + TILES_K - 1) / TILES_K);
}

static step_t step_at(int t) {
  const int ks = (K / DIM + TILES_K - 1) / TILES_K, js = (N / DIM + TILES_J - 1) / TILES_J;
  step_t s;
  s.block = t / ks;
  s.i0 = (s.block / js) * TILES_I * DIM;
  s.j0 = (s.block % js) * TILES_J * DIM;
  s.k0 = (t % ks) * TILES_K * DIM;
  s.ti = min_int((M - s.i0) / DIM, TILES_I);
  s.tj = min_int((N - s.j0) / DIM, TILES_J);
  s.tk = min_int((K - s.k0) / DIM, TILES_K);
  return s;
}

// Block moves: up to MAX_BLOCK_LEN tiles side by side per mvin, so each DMA request carries
// a whole row of them.
static void load_step(step_t s, int half) {
  for (int i = 0; i < s.ti; i++)
    for (int k = 0; k < s.tk; k += MAX_BLOCK_LEN)
      gemmini_extended_mvin(&A[(size_t)(s.i0 + i * DIM) * K + s.k0 + k * DIM], a_row(half, i, k), min_int(s.tk - k, MAX_BLOCK_LEN) * DIM, DIM);
  for (int k = 0; k < s.tk; k++)
    for (int j = 0; j < s.tj; j += MAX_BLOCK_LEN)
      gemmini_extended_mvin2(&B[(size_t)(s.k0 + k * DIM) * N + s.j0 + j * DIM], b_row(half, k, j), min_int(s.tj - j, MAX_BLOCK_LEN) * DIM, DIM);
}

// The results of a finished output block, moved out a tile at a time.
static struct { step_t step; int c_half, next, count; } pending;

static void store_one(void) {
  if (pending.next >= pending.count) return;
  const int i = pending.next / pending.step.tj, j = pending.next % pending.step.tj;
  gemmini_extended_mvout(&C[(size_t)(pending.step.i0 + i * DIM) * N + pending.step.j0 + j * DIM], c_row(pending.c_half, i, j, 0), DIM, DIM);
  pending.next++;
}

static void compute_step(step_t s, int half, int c_half) {
  for (int j = 0; j < s.tj; j++)
    for (int k = 0; k < s.tk; k++) {
      for (int i = 0; i < s.ti; i++) {
        const int accumulate = s.k0 > 0 || k > 0;
        if (i == 0) {
          gemmini_extended_preload(b_row(half, k, j), c_row(c_half, i, j, accumulate), DIM, DIM, DIM, DIM);
          gemmini_extended_compute_preloaded(a_row(half, i, k), GARBAGE_ADDR, DIM, DIM, DIM, DIM);
        } else {
          gemmini_extended_preload(GARBAGE_ADDR, c_row(c_half, i, j, accumulate), DIM, DIM, DIM, DIM);
          gemmini_extended_compute_accumulated(a_row(half, i, k), GARBAGE_ADDR, DIM, DIM, DIM, DIM);
        }
      }
      store_one();
    }
}

int main(int argc, char **argv) {
  if (argc == 4) {
    M = atoi(argv[1]);
    N = atoi(argv[2]);
    K = atoi(argv[3]);
  }
  if (M % DIM || N % DIM || K % DIM || 2 * TILES_I * TILES_J * DIM > ACC_ROWS || TILES_I * TILES_K * DIM > QUARTER || TILES_K * TILES_J * DIM > QUARTER) {
    fprintf(stderr, "tiled_matmul: M, N, K must be multiples of DIM (%d) and the tiles must fit\n", DIM);
    return 2;
  }
  A = aligned_alloc(64, (size_t)M * K);
  B = aligned_alloc(64, (size_t)K * N);
  C = aligned_alloc(64, (size_t)M * N);
  tb_fill(A, (size_t)M * K, 127);
  tb_fill(B, (size_t)K * N, 127);
  memset(C, 0, (size_t)M * N);
  const acc_scale_t scale = (acc_scale_t)1.0 / (acc_scale_t)(16 * K);

  gemmini_extended4_config_ld(K * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 0);   // A rows
  gemmini_extended4_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, false, DIM, 1);   // B rows
  gemmini_extended_config_st(N * sizeof(elem_t), 0, scale);
  gemmini_extended3_config_ex(1, 0, 0, ACC_SCALE_IDENTITY, 1, 1, false, false, false);
  const uint64_t start = spinel_cycles();

  const int steps = step_count();
  load_step(step_at(0), 0);
  for (int t = 0; t < steps; t++) {
    const step_t s = step_at(t);
    if (t + 1 < steps) load_step(step_at(t + 1), (t + 1) & 1);
    compute_step(s, t & 1, s.block & 1);
    if (t + 1 == steps || step_at(t + 1).block != s.block) {
      while (pending.next < pending.count) store_one();
      pending.step = s;
      pending.c_half = s.block & 1;
      pending.next = 0;
      pending.count = s.ti * s.tj;
    }
  }
  while (pending.next < pending.count) store_one();
  gemmini_fence();
  const uint64_t cycles = spinel_cycles() - start;

  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      int64_t sum = 0;
      for (int k = 0; k < K; k++) sum += (int64_t)A[(size_t)i * K + k] * B[(size_t)k * N + j];
      elem_t expected = (elem_t)ACC_SCALE((acc_t)sum, scale);
      TB_CHECK(C[(size_t)i * N + j] == expected, "C[%d][%d] = %d, expected %d", i, j, C[(size_t)i * N + j], expected);
    }
  const double macs = (double)M * N * K;
  printf("tiled_matmul %dx%dx%d: %" PRIu64 " cycles, %.0f MACs, PE utilization %.1f%%\n", M, N, K, cycles, macs,
         100.0 * macs / ((double)DIM * DIM * (double)cycles));
  return tb_finish("tiled_matmul");
}
