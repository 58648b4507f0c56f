// The CTA commands the hardware runs (docs/CTA.md, "In the RTL now") through the library's C API
// (spinel_cta_config_hash, spinel_cta_cluster, spinel_cta_status): random int8 tokens and LSH
// directions, the products A·Xᵀ computed on the host and moved into accumulator rows as int32
// (as the CTA programs of Tests/SpinelFuzzTests/CTAProgramTests.swift do; the mesh is not
// used), a level's offsets row, CTA_CONFIG + CTA_CLUSTER per level, CTA_STATUS and an mvout of
// the status row at full width. Each status value is compared with the C reference
// (spinel_cta_hash, then spinel_cta_assign counting the clusters):
//   level 0  tokens drawn from a few prototypes: several clusters, no overflow
//   level 1  offsets that put every hash position at 0: all tokens in one cluster
//   level 2  distinct tokens with fine codes: more than SPINEL_CTA_MAX_CLUSTERS clusters, the
//            fault clusterOverflow (13) at that CTA_CLUSTER, k2 = -1 and the overflow token;
//            then level 2 again from prototypes: k2 back, the overflow token kept.
// Needs a configuration with CTA (Testbenches/configs/small-cta.json).
#include "common/testbench.h"
#include "spinel_reference.h"

#if !SPINEL_HAS_CTA
#error "cta_cluster.c needs a configuration with CTA (e.g. Testbenches/configs/small-cta.json)"
#endif

#define L SPINEL_CTA_HASH_LENGTH
#define TOKENS SPINEL_CTA_MAX_TOKENS
#define ACC (1u << 31)
#define FULL_WIDTH (1u << 29)
#define OFFSETS_ROW 100  // + level
#define STATUS_ROW 120   // + round
#define CLUSTER_OVERFLOW 13

static elem_t tokens[TOKENS][DIM], directions[L][DIM];
// One buffer per run_level: the DMA reads them after the commands are issued, while the host
// goes on to write the next level's.
#define RUNS 4
static acc_t products_of[RUNS][TOKENS][DIM] row_align_acc(1);
static acc_t offsets_of[RUNS][DIM] row_align_acc(1);
static int runs = 0;
static acc_t status[2][DIM] row_align_acc(1);
static unsigned commands = 0;  // commands issued so far: the index of the next one

// What the hardware should report for a level: its cluster count and overflow token.
typedef struct {
  long k;         // -1: the level keeps no table
  long overflow;  // -1: no token needed a cluster past the last
} level_result_t;

static elem_t random_int8(void) { return (elem_t)(int8_t)(tb_random() & 0xFF); }

// n tokens: with `prototypes` > 0, copies of that many random tokens; otherwise all random.
static void make_tokens(size_t n, size_t prototypes) {
  for (size_t t = 0; t < n; t++)
    for (int j = 0; j < DIM; j++)
      tokens[t][j] = prototypes ? tokens[TOKENS - 1 - (t * 7 + 3) % prototypes][j] : random_int8();
  // The prototypes sit at the end of the table; fill them first when they are used.
}

static void make_prototypes(size_t prototypes) {
  for (size_t p = 0; p < prototypes; p++)
    for (int j = 0; j < DIM; j++) tokens[TOKENS - 1 - p][j] = random_int8();
}

// A level: the products moved in at `row`, CTA_CONFIG and CTA_CLUSTER; returns the reference.
static level_result_t run_level(unsigned level, size_t n, uint32_t multiplier, uint32_t shift, const int32_t* level_offsets,
                                uint32_t row) {
  static int64_t codes[TOKENS * L];
  static size_t ids[TOKENS];
  acc_t(*products)[DIM] = products_of[runs];
  acc_t* offsets = offsets_of[runs++];
  for (size_t t = 0; t < n; t++)
    for (int i = 0; i < L; i++) {
      int64_t p = 0;
      for (int j = 0; j < DIM; j++) p += (int64_t)tokens[t][j] * directions[i][j];
      products[t][i] = (acc_t)p;
      codes[t * L + i] = spinel_cta_hash(p, level_offsets[i], multiplier, shift, SPINEL_CTA_HASH_CODE_BITS);
    }
  for (int i = 0; i < L; i++) offsets[i] = level_offsets[i];

  gemmini_extended_mvin(offsets, ACC | (OFFSETS_ROW + level), L, 1);
  spinel_cta_config_hash(level, ACC | (OFFSETS_ROW + level), multiplier, shift);
  commands += 2;
  for (size_t first = 0; first < n; first += DIM) {
    gemmini_extended_mvin(&products[first][0], ACC | (row + first), L, n - first < DIM ? n - first : DIM);
    commands++;
  }
  spinel_cta_cluster(level, ACC | row, n);
  commands++;

  size_t count = 0;
  const long overflow = spinel_cta_assign(codes, n, L, SPINEL_CTA_MAX_CLUSTERS, ids, &count);
  return (level_result_t){overflow < 0 ? (long)count : -1, overflow};
}

static void status_into(int round) {
  spinel_cta_status(ACC | (STATUS_ROW + round));
  gemmini_extended_mvout(&status[round][0], ACC | FULL_WIDTH | (STATUS_ROW + round), DIM, 1);
  commands += 2;
}

static void check_status(int round, const level_result_t* levels, long overflow) {
  const long expected[SPINEL_CTA_STATUS_VALUES] = {levels[0].k, levels[1].k, levels[2].k, overflow};
  static const char* names[SPINEL_CTA_STATUS_VALUES] = {"k0", "k1", "k2", "overflow token"};
  for (int v = 0; v < SPINEL_CTA_STATUS_VALUES; v++)
    TB_CHECK(status[round][v] == expected[v], "status %d: %s = %d, expected %ld", round, names[v], (int)status[round][v], expected[v]);
  printf("cta_cluster: status %d: k0 %d, k1 %d, k2 %d, overflow token %d\n", round, (int)status[round][0], (int)status[round][1],
         (int)status[round][2], (int)status[round][3]);
}

// M in 1..2^16-1 and K such that a product of magnitude 2^12 is about one code step: codes
// spread over the 4-bit range on the int8 products of DIM elements.
static void fine_hash(uint32_t* multiplier, uint32_t* shift) {
  *multiplier = 1 + tb_random() % 0xFFFF;
  unsigned log2 = 0;
  while ((*multiplier >> (log2 + 1)) != 0) log2++;
  *shift = log2 + 12;
}

int main(void) {
  tb_seed = 0xC7A5EEDu;
  for (int i = 0; i < L; i++)
    for (int j = 0; j < DIM; j++) directions[i][j] = random_int8();
  gemmini_extended4_config_ld(DIM * sizeof(acc_t), MVIN_SCALE_IDENTITY, false, DIM, 0);
  gemmini_extended_config_st(DIM * sizeof(acc_t), 0, ACC_SCALE_IDENTITY);
  commands = 2;

  level_result_t levels[3];
  uint32_t m, k;
  int32_t level_offsets[L];

  // Level 0: 5 prototypes over 27 tokens (not a multiple of DIM), random offsets.
  make_prototypes(5);
  make_tokens(27, 5);
  fine_hash(&m, &k);
  for (int i = 0; i < L; i++) level_offsets[i] = (int32_t)(tb_random() % 2001) - 1000;
  levels[0] = run_level(0, 27, m, k, level_offsets, 0);

  // Level 1: every (p + offset) in [0, 2^20): all hash positions 0, one cluster.
  make_tokens(TOKENS, 0);
  for (int i = 0; i < L; i++) level_offsets[i] = 100000;
  levels[1] = run_level(1, TOKENS, 1, 20, level_offsets, 32);

  // Level 2: all tokens random with fine codes: overflow.
  make_tokens(TOKENS, 0);
  fine_hash(&m, &k);
  for (int i = 0; i < L; i++) level_offsets[i] = 0;
  const unsigned overflow_command = commands + 2 + TOKENS / DIM;  // its CTA_CLUSTER
  levels[2] = run_level(2, TOKENS, m, k, level_offsets, 64);
  const long overflow = levels[2].overflow;
  TB_CHECK(overflow >= 0, "the reference has no overflow on level 2 (k = %ld): the case tests nothing", levels[2].k);
  TB_CHECK(levels[0].overflow < 0 && levels[0].k > 1, "level 0: the reference gives k = %ld", levels[0].k);
  TB_CHECK(levels[1].k == 1, "level 1: the reference gives k = %ld, not one cluster", levels[1].k);
  status_into(0);
  gemmini_fence();
  check_status(0, levels, overflow);

  TB_CHECK(spinel_error_code() == CLUSTER_OVERFLOW, "error code %u (%s), expected %d (clusterOverflow)", spinel_error_code(),
           spinel_error_text(), CLUSTER_OVERFLOW);
  TB_CHECK(spinel_error_index() == overflow_command, "error at command %" PRIu64 ", expected %u (level 2's CTA_CLUSTER)",
           spinel_error_index(), overflow_command);

  // Level 2 again, from 6 prototypes: it has a table again, the overflow token stays.
  make_prototypes(6);
  make_tokens(20, 6);
  fine_hash(&m, &k);
  levels[2] = run_level(2, 20, m, k, level_offsets, 64);
  TB_CHECK(levels[2].overflow < 0, "level 2 again: the reference overflows");
  status_into(1);
  gemmini_fence();
  check_status(1, levels, overflow);

  printf("cta_cluster: reported as: %s\n", spinel_error_text());
  // The expected error was checked above; report only the checks.
  printf("cta_cluster: %d checks, %d failed, %" PRIu64 " cycles\n%s\n", tb_checks, tb_failures, spinel_cycles(),
         tb_failures == 0 ? "PASSED" : "FAILED");
  return tb_failures == 0 ? 0 : 1;
}
