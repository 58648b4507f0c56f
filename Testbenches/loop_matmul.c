// LOOP_WS (Gemmini's CISC matmul) through tiled_matmul_auto (spinel_tiled.h), case by case,
// each checked against the C reference: pads in I, J and K, bias D (acc_t and low_D),
// ReLU and scale, full-width C, transposed A and B, K split over several loops (C stored by
// the last only), and the residual add. Then one matmul both ways — LOOP_WS and the same
// commands from the host — with the cycles of each.
//
// Usage: loop_matmul [M N K]   (the size of the final comparison; default 8·DIM each)
#include "common/testbench.h"
#include "spinel_tiled.h"

#if !SPINEL_HAS_WS
#error "loop_matmul.c needs the weight-stationary dataflow (LOOP_WS is weight-stationary): use a configuration whose dataflow is \"ws\" or \"both\""
#endif

static int64_t reference(const elem_t *A, const elem_t *B, const void *D, int low_D, int ta, int tb, size_t M, size_t N,
                         size_t K, size_t i, size_t j) {
  int64_t sum = 0;
  for (size_t k = 0; k < K; k++) {
    const elem_t a = ta ? A[k * M + i] : A[i * K + k];
    const elem_t b = tb ? B[j * K + k] : B[k * N + j];
    sum += (int64_t)a * b;
  }
  if (D) sum += low_D ? ((const elem_t *)D)[i * N + j] : ((const acc_t *)D)[i * N + j];
  return sum;
}

typedef struct {
  const char *name;
  size_t M, N, K;
  int bias, low_D, relu, full_C, ta, tb;
  size_t force_K;  // tiles of K per loop (0: the greedy choice)
  double scale;
} case_t;

static void run_case(const case_t *c, enum tiled_matmul_type_t type) {
  const size_t M = c->M, N = c->N, K = c->K;
  elem_t *A = aligned_alloc(64, M * K + 64), *B = aligned_alloc(64, K * N + 64);
  void *D = c->bias ? aligned_alloc(64, M * N * sizeof(acc_t) + 64) : NULL;
  void *C = aligned_alloc(64, M * N * sizeof(acc_t) + 64);
  tb_fill(A, M * K, 20);
  tb_fill(B, K * N, 20);
  if (D && c->low_D) tb_fill((elem_t *)D, M * N, 100);
  if (D && !c->low_D) tb_fill_acc((acc_t *)D, M * N, 5000);
  memset(C, 0x55, M * N * sizeof(acc_t));
  spinel_force_tiles_K = c->force_K;
  const uint64_t start = spinel_cycles();
  tiled_matmul_auto(M, N, K, A, B, D, C, c->ta ? M : K, c->tb ? K : N, N, N, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,
                    MVIN_SCALE_IDENTITY, c->relu ? RELU : NO_ACTIVATION, (acc_scale_t)c->scale, 0, false, c->ta, c->tb,
                    c->full_C, c->low_D, 0, type);
  gemmini_fence();
  const uint64_t cycles = spinel_cycles() - start;
  spinel_force_tiles_K = 0;
  int bad = 0;
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      const int64_t sum = reference(A, B, D, c->low_D, c->ta, c->tb, M, N, K, i, j);
      if (c->full_C) {
        const acc_t got = ((acc_t *)C)[i * N + j], want = tb_wrap_acc(sum);
        TB_CHECK(got == want || bad++ > 3, "%s: C[%zu][%zu] = %d, expected %d", c->name, i, j, got, want);
      } else {
        elem_t want = (elem_t)ACC_SCALE((acc_t)sum, (acc_scale_t)c->scale);
        if (c->relu && want < 0) want = 0;
        const elem_t got = ((elem_t *)C)[i * N + j];
        TB_CHECK(got == want || bad++ > 3, "%s: C[%zu][%zu] = %d, expected %d", c->name, i, j, got, want);
      }
    }
  printf("%-28s %4zux%4zux%4zu %-8s %8" PRIu64 " cycles, PE utilization %.1f%%\n", c->name, M, N, K,
         type == WS ? "LOOP_WS" : "commands", cycles, 100.0 * (double)(M * N * K) / ((double)DIM * DIM * (double)cycles));
  free(A);
  free(B);
  free(D);
  free(C);
}

// C = A + B through LOOP_WS's residual add (both into the accumulator, then out scaled).
static void run_residual(void) {
  const size_t M = 2 * DIM + 3, N = 3 * DIM - 1;
  const size_t tI = spinel_tiles_of(M), tJ = spinel_tiles_of(N);
  elem_t *A = aligned_alloc(64, M * N + 64), *B = aligned_alloc(64, M * N + 64), *C = aligned_alloc(64, M * N + 64);
  tb_fill(A, M * N, 100);
  tb_fill(B, M * N, 100);
  memset(C, 0x55, M * N);
  gemmini_extended_config_st(N * sizeof(elem_t), NO_ACTIVATION, (acc_scale_t)0.5);
  gemmini_extended3_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, true, 0);   // elem_t into the accumulator
  gemmini_extended3_config_ld(N * sizeof(elem_t), MVIN_SCALE_IDENTITY, true, 1);
  gemmini_loop_ws(tI, tJ, 1, tI * DIM - M, tJ * DIM - N, 0, (uint64_t)(uintptr_t)A, (uint64_t)(uintptr_t)B, 0,
                  (uint64_t)(uintptr_t)C, N, N, 0, N, false, false, false, false, false, 0, 0, 0, true);
  spinel_acc_half ^= 1;
  gemmini_fence();
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      const elem_t want = (elem_t)ACC_SCALE((acc_t)(A[i * N + j] + B[i * N + j]), (acc_scale_t)0.5);
      TB_CHECK(C[i * N + j] == want, "residual: C[%zu][%zu] = %d, expected %d", i, j, C[i * N + j], want);
    }
  printf("%-28s %4zux%4zu      done\n", "residual add", M, N);
  free(A);
  free(B);
  free(C);
}

int main(int argc, char **argv) {
  size_t M = 8 * DIM, N = 8 * DIM, K = 8 * DIM;
  if (argc == 4) {
    M = (size_t)atoi(argv[1]);
    N = (size_t)atoi(argv[2]);
    K = (size_t)atoi(argv[3]);
  }
  const case_t cases[] = {
      {"square", 3 * DIM, 3 * DIM, 3 * DIM, 0, 0, 0, 0, 0, 0, 0, 1.0 / 64},
      {"pads in I, J, K", 2 * DIM + 1, DIM + 3, 2 * DIM - 1, 0, 0, 0, 0, 0, 0, 0, 1.0 / 32},
      {"bias, ReLU", 2 * DIM, 3 * DIM, 2 * DIM, 1, 0, 1, 0, 0, 0, 0, 1.0 / 16},
      {"low_D bias, pads", DIM + 2, 2 * DIM + 1, 3 * DIM, 1, 1, 0, 0, 0, 0, 0, 1.0 / 16},
      {"full-width C", 2 * DIM, 2 * DIM + 2, 3 * DIM, 0, 0, 0, 1, 0, 0, 0, 1.0},
      {"transposed A", 2 * DIM + 3, 2 * DIM, 2 * DIM + 1, 0, 0, 0, 0, 1, 0, 0, 1.0 / 32},
      {"transposed B", 3 * DIM, DIM + 1, 2 * DIM + 2, 0, 0, 0, 0, 0, 1, 0, 1.0 / 32},
      {"K split over loops, bias", 2 * DIM, 2 * DIM, 5 * DIM - 3, 1, 0, 0, 0, 0, 0, 2, 1.0 / 64},
  };
  for (size_t n = 0; n < sizeof cases / sizeof cases[0]; n++) run_case(&cases[n], WS);
  run_residual();
  const case_t both = {"both ways", M, N, K, 0, 0, 0, 0, 0, 0, 0, 1.0 / 1024};
  run_case(&both, WS);
  run_case(&both, TILED_COMMANDS);
  return tb_finish("loop_matmul");
}
