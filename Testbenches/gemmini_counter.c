// Gemmini's performance counters (COUNTER, funct 126) through gemmini.h and gemmini_counter.h,
// used the way Gemmini's counter tests use them: configure a slot, check it starts at 0, run
// commands, read it while they run, take a snapshot and check it holds across a fence, release
// it, reset every counter, read an external value. Each check uses only what the program can
// know (a count starts at 0, an event Spinel does not have stays 0, a cycle count is at most
// the cycles that passed); the trace's replay then requires every answer to equal the timing
// model's count (docs/GEMMINI-COMPATIBILITY.md, "Performance counters").
//
//   gemmini_counter            one WS matmul tile, mvins and mvouts, an illegal event last
#include "common/testbench.h"
#include "gemmini_testutils.h"

#define TILES 4

static elem_t A[DIM][DIM] row_align(1), B[DIM][DIM] row_align(1), D[DIM][DIM] row_align(1);
static elem_t C[DIM][DIM] row_align(1), want[DIM][DIM];
static full_t full[DIM][DIM];
static elem_t In[TILES][DIM][DIM] row_align(1), Out[TILES][DIM][DIM] row_align(1);

int main(void) {
  gemmini_flush(0);

  // Every slot: reset, configured, read back as 0.
  counter_reset();
  const int events[8] = {EXE_ACTIVE_CYCLE, LOAD_ACTIVE_CYCLE, STORE_ACTIVE_CYCLE, IM2COL_ACTIVE_CYCLES,
                         RDMA_READ_REQUESTS, MAIN_LD_EX_CYCLES, RESERVATION_STATION_LD_COUNT, RDMA_BYTES_REC};
  for (int slot = 0; slot < 8; slot++) counter_configure(slot, events[slot]);
  for (int slot = 0; slot < 8; slot++) TB_CHECK(counter_read(slot) == 0, "slot %d reads %u after configuration", slot, counter_read(slot));

  // One WS tile: C = A·B + D.
  tb_fill(&A[0][0], DIM * DIM, 3);
  tb_fill(&B[0][0], DIM * DIM, 3);
  tb_fill(&D[0][0], DIM * DIM, 20);
  const uint64_t before = spinel_cycles();
  gemmini_config_ld(DIM * sizeof(elem_t));
  gemmini_config_st(DIM * sizeof(elem_t));
  gemmini_config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 0);
  gemmini_mvin(A, 0);
  gemmini_mvin(B, DIM);
  gemmini_mvin(D, 2 * DIM);
  gemmini_preload(DIM, 3 * DIM);
  gemmini_compute_preloaded(0, 2 * DIM);
  gemmini_mvout(C, 3 * DIM);
  gemmini_fence();
  const uint64_t elapsed = spinel_cycles() - before;
  matmul(A, B, D, full);
  matshift(full, want, 0);
  TB_CHECK(is_equal(C, want), "the tile's C differs from matmul + matshift");

  uint32_t value[8];
  for (int slot = 0; slot < 8; slot++) value[slot] = counter_read(slot);
  printf("gemmini_counter: one tile in %" PRIu64 " cycles: EXE_ACTIVE_CYCLE %u, LOAD_ACTIVE_CYCLE %u, STORE_ACTIVE_CYCLE %u, "
         "RDMA_READ_REQUESTS %u, MAIN_LD_EX_CYCLES %u, RDMA_BYTES_REC %u\n",
         elapsed, value[0], value[1], value[2], value[4], value[5], value[7]);
  TB_CHECK(value[0] > 0 && value[0] <= elapsed, "EXE_ACTIVE_CYCLE %u after a matmul of %" PRIu64 " cycles", value[0], elapsed);
  TB_CHECK(value[1] > 0 && value[1] <= elapsed, "LOAD_ACTIVE_CYCLE %u", value[1]);
  TB_CHECK(value[2] > 0 && value[2] <= elapsed, "STORE_ACTIVE_CYCLE %u", value[2]);
  TB_CHECK(value[3] == 0, "IM2COL_ACTIVE_CYCLES (no im2col in Spinel) reads %u", value[3]);
  TB_CHECK(value[4] >= 3 * DIM / 2 && value[4] <= 3 * DIM, "RDMA_READ_REQUESTS %u for 3 tiles of %d rows", value[4], DIM);
  TB_CHECK(value[5] <= value[0] && value[5] <= value[1], "MAIN_LD_EX_CYCLES %u above EXE or LOAD", value[5]);
  TB_CHECK(value[6] == 0, "RESERVATION_STATION_LD_COUNT %u after a fence", value[6]);
  TB_CHECK(value[7] >= 3 * DIM * DIM * sizeof(elem_t), "RDMA_BYTES_REC %u below the %zu bytes moved in", value[7],
           (size_t)(3 * DIM * DIM * sizeof(elem_t)));

  // Gemmini's counter test: a count that grows while commands run, a snapshot that holds.
  counter_reset();
  counter_configure(0, LOAD_ACTIVE_CYCLE);
  TB_CHECK(counter_read(0) == 0, "LOAD_ACTIVE_CYCLE after configuration");
  for (int t = 0; t < TILES; t++)
    for (int i = 0; i < DIM; i++)
      for (int j = 0; j < DIM; j++) In[t][i][j] = (elem_t)(i * DIM + j + t);
  for (int t = 0; t < TILES; t++) {
    gemmini_mvin(In[t], t * DIM);
    gemmini_mvout(Out[t], t * DIM);
  }
  const uint32_t running = counter_read(0);
  TB_CHECK(running > 0, "LOAD_ACTIVE_CYCLE did not grow while mvins ran");
  counter_configure(7, RESERVATION_STATION_LD_COUNT);
  const uint32_t queued = counter_read(7);
  TB_CHECK(queued <= TILES, "RESERVATION_STATION_LD_COUNT %u with %d mvins issued", queued, TILES);
  counter_snapshot_take();
  const uint32_t snapshot = counter_read(0);
  gemmini_fence();
  TB_CHECK(counter_read(0) == snapshot, "the snapshot moved across a fence: %u, then %u", snapshot, counter_read(0));
  counter_snapshot_reset();
  const uint32_t live = counter_read(0);
  TB_CHECK(live >= snapshot, "after the snapshot, LOAD_ACTIVE_CYCLE %u is below the snapshot %u", live, snapshot);
  TB_CHECK(counter_read(7) == 0, "RESERVATION_STATION_LD_COUNT after a fence");
  for (int t = 0; t < TILES; t++) TB_CHECK(memcmp(In[t], Out[t], sizeof In[t]) == 0, "tile %d did not come back", t);
  printf("gemmini_counter: LOAD_ACTIVE_CYCLE %u while running, %u at the snapshot, %u after; %u loads queued\n", running,
         snapshot, live, queued);

  // A global reset: every count back to 0, and an idle accelerator counts nothing.
  counter_reset();
  for (int slot = 0; slot < 8; slot++) TB_CHECK(counter_read(slot) == 0, "slot %d reads %u after counter_reset", slot, counter_read(slot));

  // An event Gemmini does not define: unsupportedField, the program goes on.
  uint64_t ignored;
  gemmini_counter_access(ignored, 0x8 | (uint64_t)(INCREMENTAL_COUNTERS + 1) << 12)
  (void)ignored;
  gemmini_fence();
  TB_CHECK(spinel_error_code() == SPINEL_ERROR_UNSUPPORTED_FIELD, "an event id past Gemmini's: error %u (%s)", spinel_error_code(),
           spinel_error_text());
  printf("gemmini_counter: %d checks, %d failed, %" PRIu64 " cycles\n", tb_checks, tb_failures, spinel_cycles());
  printf("%s\n", tb_failures == 0 ? "PASSED" : "FAILED");
  return tb_failures == 0 ? 0 : 1;
}
