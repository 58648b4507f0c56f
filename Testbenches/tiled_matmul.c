// C = ACC_SCALE(A·B) for A (M×K) and B (K×N) in int8, tiled for the scratchpad and the
// accumulator, weight-stationary with the weights of each tile reused across the row tiles,
// and double-buffered: the operands of the next K block move in while the current one
// computes (the reservation station lets them overlap because they use the other half).
//
// Usage: tiled_matmul [M N K]   (multiples of DIM; default 128 192 64)
#include "common/testbench.h"

// Tiles (of DIM) per block: I and J by the accumulator, K by half the scratchpad.
#define TILES_I 4
#define TILES_J 4
#define TILES_K 4

static elem_t *A, *B, *C;
static int M = 128, N = 192, K = 64;

static uint32_t half_base(int half) { return (uint32_t)(half * (BANK_NUM * BANK_ROWS / 2)); }
static uint32_t a_row(int half, int i, int k) { return half_base(half) + (uint32_t)((i * TILES_K + k) * DIM); }
static uint32_t b_row(int half, int k, int j) { return half_base(half) + (uint32_t)(TILES_I * TILES_K * DIM + (k * TILES_J + j) * DIM); }
static uint32_t c_row(int i, int j, int accumulate) { return (1u << 31) | (accumulate ? 1u << 30 : 0) | (uint32_t)((i * TILES_J + j) * DIM); }

int main(int argc, char **argv) {
  if (argc == 4) {
    M = atoi(argv[1]);
    N = atoi(argv[2]);
    K = atoi(argv[3]);
  }
  if (M % DIM || N % DIM || K % DIM || TILES_I * TILES_J * DIM > ACC_ROWS || 2 * (TILES_I + TILES_J) * TILES_K * DIM > BANK_NUM * BANK_ROWS / 2) {
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

  int half = 0;
  for (int i0 = 0; i0 < M; i0 += TILES_I * DIM)
    for (int j0 = 0; j0 < N; j0 += TILES_J * DIM) {
      const int ti = (M - i0) / DIM < TILES_I ? (M - i0) / DIM : TILES_I;
      const int tj = (N - j0) / DIM < TILES_J ? (N - j0) / DIM : TILES_J;
      for (int k0 = 0; k0 < K; k0 += TILES_K * DIM, half ^= 1) {
        const int tk = (K - k0) / DIM < TILES_K ? (K - k0) / DIM : TILES_K;
        for (int i = 0; i < ti; i++)
          for (int k = 0; k < tk; k++) gemmini_extended_mvin(&A[(size_t)(i0 + i * DIM) * K + k0 + k * DIM], a_row(half, i, k), DIM, DIM);
        for (int k = 0; k < tk; k++)
          for (int j = 0; j < tj; j++) gemmini_extended_mvin2(&B[(size_t)(k0 + k * DIM) * N + j0 + j * DIM], b_row(half, k, j), DIM, DIM);
        for (int j = 0; j < tj; j++)
          for (int k = 0; k < tk; k++)
            for (int i = 0; i < ti; i++) {
              const int accumulate = k0 > 0 || k > 0;
              if (i == 0) {
                gemmini_extended_preload(b_row(half, k, j), c_row(i, j, accumulate), DIM, DIM, DIM, DIM);
                gemmini_extended_compute_preloaded(a_row(half, i, k), GARBAGE_ADDR, DIM, DIM, DIM, DIM);
              } else {
                gemmini_extended_preload(GARBAGE_ADDR, c_row(i, j, accumulate), DIM, DIM, DIM, DIM);
                gemmini_extended_compute_accumulated(a_row(half, i, k), GARBAGE_ADDR, DIM, DIM, DIM, DIM);
              }
            }
      }
      for (int i = 0; i < ti; i++)
        for (int j = 0; j < tj; j++) gemmini_extended_mvout(&C[(size_t)(i0 + i * DIM) * N + j0 + j * DIM], c_row(i, j, 0), DIM, DIM);
    }
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
