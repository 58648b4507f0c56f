// Program runner: runs a command program from a text file on the simulated accelerator, for
// random differential testing (`spinel fuzz`, docs/VERIFICATION.md "Random differential
// testing"). The program file format is documented there; in short:
//
//   spinel-program 1
//   dram 4096                     one DRAM buffer of 4096 bytes (zero-filled)
//   data 0x100 0a0bff...          initial bytes at buffer offset 0x100
//   cmd 2 @0x100 0x0004000400000000   funct rs1 rs2; "@OFFSET" is relocated to buffer + OFFSET
//   fence                         wait until the accelerator is idle
//
// Usage: program_runner PROGRAM [--dump FILE] [+verilator+...]
// The harness writes the trace when SPINEL_TRACE is set. --dump writes the buffer after the
// final fence as `data` lines (64 bytes each), so two runs can be compared byte for byte.
// Arguments starting with + go to Verilator (e.g. +verilator+rand+reset+2 +verilator+seed+7).
// Exit status: 0 the program ran and the accelerator reported no error; 1 an accelerator error;
// 2 a malformed program file or bad arguments; 4 the simulation failed (cycle limit).
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spinel.h"

enum { LINE_MAX_BYTES = 1 << 16, PAGE_BYTES = 4096 };

typedef struct {
    int is_fence;
    uint32_t funct;
    uint64_t rs1, rs2;
    int relocate_rs1, relocate_rs2;
    int line;
} program_step;

static const char *program_path;
static int line_number;

static void fail(const char *problem, const char *detail) {
    fprintf(stderr, "program_runner: %s:%d: %s%s%s\n", program_path, line_number, problem, detail ? ": " : "",
            detail ? detail : "");
    exit(2);
}

// A number in decimal or 0x hex, the whole token.
static uint64_t parse_number(const char *token, const char *what) {
    if (token == NULL) fail("missing field", what);
    errno = 0;
    char *end = NULL;
    uint64_t value = strtoull(token, &end, 0);
    if (errno != 0 || end == token || *end != '\0' || token[0] == '-') {
        char message[160];
        snprintf(message, sizeof message, "%s \"%s\" is not a number (decimal or 0x hex)", what, token);
        fail(message, NULL);
    }
    return value;
}

// A command field: a number, or @OFFSET for a DRAM offset into the buffer.
static uint64_t parse_field(const char *token, const char *what, int *relocate, uint64_t dram_size) {
    if (token != NULL && token[0] == '@') {
        uint64_t offset = parse_number(token + 1, what);
        if (offset >= dram_size) {
            char message[160];
            snprintf(message, sizeof message, "%s offset %s is outside the DRAM buffer of %" PRIu64 " bytes", what, token,
                     dram_size);
            fail(message, NULL);
        }
        *relocate = 1;
        return offset;
    }
    *relocate = 0;
    return parse_number(token, what);
}

static int hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv) {
    const char *dump_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dump_path = argv[++i];
        } else if (argv[i][0] == '+') {
            continue;  // for Verilator
        } else if (program_path == NULL) {
            program_path = argv[i];
        } else {
            fprintf(stderr, "program_runner: unexpected argument %s\nusage: program_runner PROGRAM [--dump FILE] [+verilator+...]\n",
                    argv[i]);
            return 2;
        }
    }
    if (program_path == NULL) {
        fprintf(stderr, "usage: program_runner PROGRAM [--dump FILE] [+verilator+...]\n");
        return 2;
    }
    spinel_verilator_args(argc, argv);

    FILE *file = fopen(program_path, "r");
    if (file == NULL) {
        fprintf(stderr, "program_runner: cannot read %s: %s\n", program_path, strerror(errno));
        return 2;
    }
    static char line[LINE_MAX_BYTES];
    uint8_t *dram = NULL;
    uint64_t dram_size = 0;
    int seen_header = 0;
    program_step *steps = NULL;
    size_t step_count = 0, step_capacity = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        line_number++;
        size_t length = strlen(line);
        if (length == sizeof line - 1 && line[length - 1] != '\n') fail("line too long", "at most 65535 characters");
        char *comment = strchr(line, '#');
        if (comment) *comment = '\0';
        char *keyword = strtok(line, " \t\r\n");
        if (keyword == NULL) continue;
        if (!seen_header) {
            char *version = strtok(NULL, " \t\r\n");
            if (strcmp(keyword, "spinel-program") != 0 || version == NULL || strcmp(version, "1") != 0) {
                fail("the first line must be \"spinel-program 1\"", NULL);
            }
            seen_header = 1;
        } else if (strcmp(keyword, "dram") == 0) {
            if (dram != NULL) fail("a second dram line", "a program has one DRAM buffer");
            dram_size = parse_number(strtok(NULL, " \t\r\n"), "dram size");
            if (dram_size == 0 || dram_size > (1u << 30)) fail("dram size must be between 1 byte and 1 GiB", NULL);
            // Page-aligned, so that offsets keep their position within a 4 KiB page and a bus
            // beat; one spare page past the end for bus-aligned reads of the last bytes.
            size_t allocated = (size_t)((dram_size + PAGE_BYTES - 1) / PAGE_BYTES + 1) * PAGE_BYTES;
            void *memory = NULL;
            if (posix_memalign(&memory, PAGE_BYTES, allocated) != 0) fail("cannot allocate the DRAM buffer", NULL);
            dram = memory;
            memset(dram, 0, allocated);
        } else if (strcmp(keyword, "data") == 0) {
            if (dram == NULL) fail("data before the dram line", "declare the buffer first: dram SIZE");
            uint64_t offset = parse_number(strtok(NULL, " \t\r\n"), "data offset");
            char *hex = strtok(NULL, " \t\r\n");
            if (hex == NULL) fail("data without bytes", "expected: data OFFSET HEXBYTES");
            size_t digits = strlen(hex);
            if (digits % 2 != 0) fail("data bytes must be an even number of hex digits", NULL);
            if (offset + digits / 2 > dram_size) fail("data runs past the end of the DRAM buffer", NULL);
            for (size_t k = 0; k < digits / 2; k++) {
                int high = hex_digit((unsigned char)hex[2 * k]), low = hex_digit((unsigned char)hex[2 * k + 1]);
                if (high < 0 || low < 0) fail("data bytes must be hex digits", hex);
                dram[offset + k] = (uint8_t)(high << 4 | low);
            }
            if (strtok(NULL, " \t\r\n") != NULL) fail("unexpected text after the data bytes", NULL);
        } else if (strcmp(keyword, "cmd") == 0 || strcmp(keyword, "fence") == 0) {
            program_step step;
            memset(&step, 0, sizeof step);
            step.line = line_number;
            if (keyword[0] == 'f') {
                step.is_fence = 1;
            } else {
                if (dram == NULL) fail("cmd before the dram line", "declare the buffer first: dram SIZE");
                uint64_t funct = parse_number(strtok(NULL, " \t\r\n"), "funct");
                if (funct > 127) fail("funct must be below 128", NULL);
                step.funct = (uint32_t)funct;
                step.rs1 = parse_field(strtok(NULL, " \t\r\n"), "rs1", &step.relocate_rs1, dram_size);
                step.rs2 = parse_field(strtok(NULL, " \t\r\n"), "rs2", &step.relocate_rs2, dram_size);
            }
            if (strtok(NULL, " \t\r\n") != NULL) fail("unexpected text after the command", NULL);
            if (step_count == step_capacity) {
                step_capacity = step_capacity ? 2 * step_capacity : 256;
                steps = realloc(steps, step_capacity * sizeof *steps);
                if (steps == NULL) fail("out of memory", NULL);
            }
            steps[step_count++] = step;
        } else {
            fail("unknown keyword (expected dram, data, cmd or fence)", keyword);
        }
    }
    fclose(file);
    line_number++;
    if (!seen_header) fail("empty program", "the first line must be \"spinel-program 1\"");
    if (dram == NULL) fail("the program has no dram line", NULL);

    uint64_t base = (uint64_t)(uintptr_t)dram;
    size_t commands = 0;
    for (size_t i = 0; i < step_count; i++) {
        const program_step *step = &steps[i];
        int status;
        if (step->is_fence) {
            status = spinel_fence();
        } else {
            status = spinel_issue(step->funct, step->relocate_rs1 ? base + step->rs1 : step->rs1,
                                  step->relocate_rs2 ? base + step->rs2 : step->rs2);
            commands++;
        }
        if (status != SPINEL_OK) {
            fprintf(stderr, "program_runner: %s:%d: the simulation failed: %s\n", program_path, step->line, spinel_error_text());
            return 4;
        }
    }
    if (spinel_fence() != SPINEL_OK) {
        fprintf(stderr, "program_runner: the final fence failed: %s\n", spinel_error_text());
        return 4;
    }

    if (dump_path != NULL) {
        FILE *dump = fopen(dump_path, "w");
        if (dump == NULL) {
            fprintf(stderr, "program_runner: cannot write %s: %s\n", dump_path, strerror(errno));
            return 2;
        }
        for (uint64_t offset = 0; offset < dram_size; offset += 64) {
            fprintf(dump, "data 0x%" PRIx64 " ", offset);
            for (uint64_t k = offset; k < dram_size && k < offset + 64; k++) fprintf(dump, "%02x", dram[k]);
            fputc('\n', dump);
        }
        fclose(dump);
    }
    uint32_t code = spinel_error_code();
    printf("program_runner: %zu commands, %" PRIu64 " cycles, %s\n", commands, spinel_cycles(),
           code == 0 ? "no error" : spinel_error_text());
    return code == 0 ? 0 : 1;
}
