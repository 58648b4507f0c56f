/*
 * Spinel harness: the performance-counter events, with the names and ids of Gemmini's
 * gemmini_counter.h (generated from CounterEvent and ExternalCounter). Events Spinel does
 * not have count nothing and read 0 (docs/GEMMINI-COMPATIBILITY.md, "Performance counters").
 * Written for Spinel.
 */
#ifndef SPINEL_GEMMINI_COUNTER_H
#define SPINEL_GEMMINI_COUNTER_H

#define INCREMENTAL_COUNTERS 46

/* Events: a slot counts the cycles (or handshakes) in which the event happens. */
#define DISABLE 0
#define MAIN_LD_CYCLES 1
#define MAIN_ST_CYCLES 2
#define MAIN_EX_CYCLES 3
#define MAIN_LD_ST_CYCLES 4
#define MAIN_LD_EX_CYCLES 5
#define MAIN_ST_EX_CYCLES 6
#define MAIN_LD_ST_EX_CYCLES 7
#define LOAD_DMA_WAIT_CYCLE 8
#define LOAD_ACTIVE_CYCLE 9
#define LOAD_SCRATCHPAD_WAIT_CYCLE 10  /* not in Spinel: reads 0 */
#define STORE_DMA_WAIT_CYCLE 11
#define STORE_ACTIVE_CYCLE 12
#define STORE_POOLING_CYCLE 13  /* not in Spinel: reads 0 */
#define STORE_SCRATCHPAD_WAIT_CYCLE 14  /* not in Spinel: reads 0 */
#define DMA_TLB_MISS_CYCLE 15  /* not in Spinel: reads 0 */
#define DMA_TLB_HIT_REQ 16  /* not in Spinel: reads 0 */
#define DMA_TLB_TOTAL_REQ 17  /* not in Spinel: reads 0 */
#define RDMA_ACTIVE_CYCLE 18
#define RDMA_TLB_WAIT_CYCLES 19  /* not in Spinel: reads 0 */
#define RDMA_TL_WAIT_CYCLES 20  /* not in Spinel: reads 0 */
#define WDMA_ACTIVE_CYCLE 21
#define WDMA_TLB_WAIT_CYCLES 22  /* not in Spinel: reads 0 */
#define WDMA_TL_WAIT_CYCLES 23  /* not in Spinel: reads 0 */
#define EXE_ACTIVE_CYCLE 24
#define EXE_FLUSH_CYCLE 25  /* not in Spinel: reads 0 */
#define EXE_CONTROL_Q_BLOCK_CYCLE 26  /* not in Spinel: reads 0 */
#define EXE_PRELOAD_HAZ_CYCLE 27  /* not in Spinel: reads 0 */
#define EXE_OVERLAP_HAZ_CYCLE 28  /* not in Spinel: reads 0 */
#define SCRATCHPAD_A_WAIT_CYCLE 29  /* not in Spinel: reads 0 */
#define SCRATCHPAD_B_WAIT_CYCLE 30  /* not in Spinel: reads 0 */
#define SCRATCHPAD_D_WAIT_CYCLE 31  /* not in Spinel: reads 0 */
#define ACC_A_WAIT_CYCLE 32  /* not in Spinel: reads 0 */
#define ACC_B_WAIT_CYCLE 33  /* not in Spinel: reads 0 */
#define ACC_D_WAIT_CYCLE 34  /* not in Spinel: reads 0 */
#define A_GARBAGE_CYCLES 35  /* not in Spinel: reads 0 */
#define B_GARBAGE_CYCLES 36  /* not in Spinel: reads 0 */
#define D_GARBAGE_CYCLES 37  /* not in Spinel: reads 0 */
#define IM2COL_MEM_CYCLES 38  /* not in Spinel: reads 0 */
#define IM2COL_ACTIVE_CYCLES 39  /* not in Spinel: reads 0 */
#define IM2COL_TRANSPOSER_WAIT_CYCLE 40  /* not in Spinel: reads 0 */
#define RESERVATION_STATION_FULL_CYCLES 41
#define RESERVATION_STATION_ACTIVE_CYCLES 42
#define LOOP_MATMUL_ACTIVE_CYCLES 43
#define TRANSPOSE_PRELOAD_UNROLLER_ACTIVE_CYCLES 44  /* not in Spinel: reads 0 */
#define RDMA_READ_REQUESTS 45
#define WDMA_WRITE_REQUESTS 46

/* External values: a slot reads them as they are at the read. */
#define RESERVATION_STATION_LD_COUNT (INCREMENTAL_COUNTERS + 1)
#define RESERVATION_STATION_ST_COUNT (INCREMENTAL_COUNTERS + 2)
#define RESERVATION_STATION_EX_COUNT (INCREMENTAL_COUNTERS + 3)
#define RDMA_BYTES_REC (INCREMENTAL_COUNTERS + 4)
#define WDMA_BYTES_SENT (INCREMENTAL_COUNTERS + 5)
#define RDMA_TOTAL_LATENCY (INCREMENTAL_COUNTERS + 6)  /* not in Spinel: reads 0 */
#define WDMA_TOTAL_LATENCY (INCREMENTAL_COUNTERS + 7)  /* not in Spinel: reads 0 */
#define SCRATCHPAD_READS (INCREMENTAL_COUNTERS + 8)  /* not in Spinel: reads 0 */
#define SCRATCHPAD_WRITES (INCREMENTAL_COUNTERS + 9)  /* not in Spinel: reads 0 */
#define ACCUMULATOR_READS (INCREMENTAL_COUNTERS + 10)  /* not in Spinel: reads 0 */
#define ACCUMULATOR_WRITES (INCREMENTAL_COUNTERS + 11)  /* not in Spinel: reads 0 */

#endif /* SPINEL_GEMMINI_COUNTER_H */
