// Shared helpers of the C testbenches: checks, a seeded generator and reference arithmetic.
// Each kernel includes gemmini.h (generated per configuration) and checks itself against the
// reference functions here, then exits 0 only if every check passed and no error was raised.
#ifndef SPINEL_TESTBENCH_H
#define SPINEL_TESTBENCH_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemmini.h"

static int tb_checks = 0;
static int tb_failures = 0;

#define TB_CHECK(condition, ...)                                      \
  do {                                                                \
    tb_checks++;                                                      \
    if (!(condition)) {                                               \
      if (tb_failures++ < 10) {                                       \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);          \
        fprintf(stderr, __VA_ARGS__);                                 \
        fputc('\n', stderr);                                          \
      }                                                               \
    }                                                                 \
  } while (0)

// xorshift32: deterministic across machines.
static uint32_t tb_seed = 0x5eed1234u;
static inline uint32_t tb_random(void) {
  tb_seed ^= tb_seed << 13;
  tb_seed ^= tb_seed >> 17;
  tb_seed ^= tb_seed << 5;
  return tb_seed;
}

static inline int64_t tb_saturate(int64_t x, int64_t low, int64_t high) { return x < low ? low : (x > high ? high : x); }
static inline acc_t tb_wrap_acc(int64_t x) { return (acc_t)(uint32_t)(uint64_t)x; }

// A CTA bucket width w as the hash's reciprocal M·2^-K ≈ 1/w, M of 16 bits (the presets'
// cta.hashReciprocalBits): K the largest shift that keeps M below 2^16, M rounded to nearest even.
static inline void tb_cta_reciprocal(double w, int64_t *multiplier, unsigned *shift) {
  unsigned k = 0;
  while (ldexp(1.0 / w, (int)k + 1) < 65536.0) k++;
  *multiplier = (int64_t)nearbyint(ldexp(1.0 / w, (int)k));
  *shift = k;
}

static void tb_fill(elem_t *p, size_t n, int range) {
  for (size_t i = 0; i < n; i++) p[i] = (elem_t)((int)(tb_random() % (2 * range + 1)) - range);
}

static void tb_fill_acc(acc_t *p, size_t n, int range) {
  for (size_t i = 0; i < n; i++) p[i] = (acc_t)((int64_t)(tb_random() % (2 * (uint32_t)range + 1)) - range);
}

// Rows for the normalizer (rows × columns, row-major): row r spread over ±2^(4 + 3·(r mod 6)),
// row 1 constant (zero variance), row 2 negative.
static inline void tb_fill_normalization_rows(acc_t *x, int rows, int columns) {
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < columns; j++) {
      const int range = 1 << (4 + 3 * (r % 6));
      acc_t *v = &x[(size_t)r * columns + j];
      *v = (acc_t)((int64_t)(tb_random() % (2u * (uint32_t)range + 1)) - range);
      if (r == 1) *v = 1234;
      if (r == 2) *v = -(acc_t)(tb_random() % 5000) - 10;
    }
}

// Waits for the accelerator, reports, and returns the process exit status.
static int tb_finish(const char *name) {
  gemmini_fence();
  uint32_t code = spinel_error_code();
  if (code != 0) {
    fprintf(stderr, "%s: accelerator error: %s\n", name, spinel_error_text());
    tb_failures++;
  }
  printf("%s: %d checks, %d failed, %" PRIu64 " cycles\n", name, tb_checks, tb_failures, spinel_cycles());
  printf("%s\n", tb_failures == 0 ? "PASSED" : "FAILED");
  return tb_failures == 0 ? 0 : 1;
}

#endif
