// The harness API (spinel.h) without the simulated accelerator: every command a testbench
// issues, and every fence, is written to the file SPINEL_RECORD names, one per line:
//
//   c FUNCT RS1 RS2     a command (decimal)
//   f                   a fence
//   t                   a read of the cycle counter (spinel_cycles, read_cycles)
//   e                   the end (written at exit: a file without it is incomplete)
//
// `spinel explore` links a testbench (sweep_matmul.c, encoder_layer.c) with this file instead
// of spinel_harness.cpp, and replays the commands on the golden timing model (docs/EXPLORE.md).
// Nothing is computed, so the testbench's own checks of the results fail: only the command
// stream counts, and the testbenches used here never decide a command on a result before
// their last fence. DRAM addresses are this process's pointers, as in the simulated run.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemmini_params.h"
#include "rocc.h"
#include "spinel.h"

static FILE* record = NULL;
static uint64_t commands = 0;

static void finish(void) {
  if (record != NULL) {
    fputs("e\n", record);
    fclose(record);
    record = NULL;
  }
}

int spinel_create(const spinel_options* options) {
  (void)options;
  if (record != NULL) return SPINEL_OK;
  const char* path = getenv("SPINEL_RECORD");
  if (path == NULL || *path == 0) {
    fprintf(stderr, "command_recorder: set SPINEL_RECORD to the file the commands go to\n");
    exit(2);
  }
  record = fopen(path, "w");
  if (record == NULL) {
    perror(path);
    exit(2);
  }
  atexit(finish);
  return SPINEL_OK;
}

void spinel_default_options(spinel_options* options) { *options = (spinel_options){0}; }
void spinel_options_from_environment(spinel_options* options) { spinel_default_options(options); }
void spinel_verilator_args(int argc, char** argv) { (void)argc, (void)argv; }
void spinel_destroy(void) { finish(); }
int spinel_is_created(void) { return record != NULL; }

int spinel_issue(uint32_t funct, uint64_t rs1, uint64_t rs2) {
  spinel_create(NULL);
  fprintf(record, "c %" PRIu32 " %" PRIu64 " %" PRIu64 "\n", funct & 0x7f, rs1, rs2);
  commands++;
  return SPINEL_OK;
}

int spinel_fence(void) {
  spinel_create(NULL);
  fputs("f\n", record);
  return SPINEL_OK;
}

uint64_t spinel_cycles(void) {
  spinel_create(NULL);
  fputs("t\n", record);
  return 0;
}
uint64_t spinel_hw_cycles(void) { return 0; }
uint64_t spinel_commands(void) { return commands; }
int spinel_trace_enable(int on) { (void)on; return SPINEL_ERROR_UNSUPPORTED; }
int spinel_waveform_enable(int on) { (void)on; return SPINEL_ERROR_UNSUPPORTED; }
int spinel_waveform_supported(void) { return 0; }
uint32_t spinel_error_code(void) { return SPINEL_OK; }
uint64_t spinel_error_index(void) { return 0; }
const char* spinel_error_text(void) { return "no error"; }
const char* spinel_error_name(uint32_t code) { return code == 0 ? "ok" : "unknown"; }
const char* spinel_command_name(uint32_t funct, uint64_t rs1) { (void)funct, (void)rs1; return "command"; }
const char* spinel_config_name(void) { return SPINEL_CONFIG_NAME; }

void spinel_rocc_issue(uint32_t funct, uint64_t rs1, uint64_t rs2) { spinel_issue(funct, rs1, rs2); }
void spinel_rocc_fence(void) { spinel_fence(); }
void spinel_rocc_inline_assembly(const char* text) {
  (void)text;
  spinel_fence();
}
