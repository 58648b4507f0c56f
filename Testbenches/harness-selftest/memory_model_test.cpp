// Unit test of the harness's AXI4 memory model (spinel_axi_memory.h) without Verilator: a
// scripted manager drives it cycle by cycle.
//
//   memory_model_test              every functional check; exit 0, or 1 with "FAIL: ..." lines
//   memory_model_test VIOLATION    one protocol violation, which must abort with a message:
//                                  cross4k, size, burst, unaligned, wlast-early, wlast-missing,
//                                  ar-withdrawn, aw-changed
#include "spinel_axi_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using spinel::AxiAddress;
using spinel::AxiMemory;
using spinel::Burst;
using spinel::ManagerSide;
using spinel::SubordinateSide;

static int failures = 0;

#define CHECK(condition, ...)                                     \
    do {                                                          \
        if (!(condition)) {                                       \
            std::printf("FAIL: %s:%d: ", __FILE__, __LINE__);     \
            std::printf(__VA_ARGS__);                             \
            std::printf("\n");                                    \
            ++failures;                                           \
        }                                                         \
    } while (0)

static const uint32_t kBus = 8;

static AxiAddress burst(const void* address, uint32_t beats) {
    AxiAddress a;
    a.address = reinterpret_cast<uintptr_t>(address);
    a.length = beats - 1;
    a.size = 3;  // 8 bytes
    a.burst = 1;
    return a;
}

// A manager that keeps its requests until they are taken and always takes R and B.
struct Bench {
    AxiMemory memory;
    uint64_t cycle = 0;
    std::vector<AxiAddress> reads, writeAddresses;
    struct Beat {
        std::vector<uint8_t> data, strobe;
        bool last;
    };
    std::vector<Beat> beats;
    std::vector<uint64_t> rCycles, bCycles;
    std::vector<uint32_t> rResponses, bResponses;
    std::vector<uint8_t> readData;
    std::vector<Burst> readsDone, writesDone;
    bool rReady = true;

    explicit Bench(uint32_t latency, uint32_t bytesPerCycle, uint32_t maxOutstanding = 64)
        : memory(config(latency, bytesPerCycle, maxOutstanding)) {
        memory.onRead = [this](const Burst& b) { readsDone.push_back(b); };
        memory.onWrite = [this](const Burst& b) { writesDone.push_back(b); };
    }

    static AxiMemory::Config config(uint32_t latency, uint32_t bytesPerCycle, uint32_t maxOutstanding) {
        AxiMemory::Config c;
        c.busBytes = kBus;
        c.latency = latency;
        c.bytesPerCycle = bytesPerCycle;
        c.maxReads = c.maxWrites = maxOutstanding;
        return c;
    }

    void step() {
        const SubordinateSide& s = memory.drive(cycle);
        ManagerSide m;
        m.rReady = rReady;
        m.bReady = true;
        if (!reads.empty()) {
            m.arValid = true;
            m.ar = reads.front();
        }
        if (!writeAddresses.empty()) {
            m.awValid = true;
            m.aw = writeAddresses.front();
        }
        if (!beats.empty()) {
            m.wValid = true;
            m.wData = beats.front().data;
            m.wStrobe = beats.front().strobe;
            m.wLast = beats.front().last;
        }
        const bool arTaken = m.arValid && s.arReady, awTaken = m.awValid && s.awReady, wTaken = m.wValid && s.wReady;
        if (s.rValid && m.rReady) {
            rCycles.push_back(cycle);
            rResponses.push_back(s.rResponse);
            readData.insert(readData.end(), s.rData.begin(), s.rData.end());
        }
        if (s.bValid && m.bReady) {
            bCycles.push_back(cycle);
            bResponses.push_back(s.bResponse);
        }
        memory.observe(cycle, m);
        if (arTaken) reads.erase(reads.begin());
        if (awTaken) writeAddresses.erase(writeAddresses.begin());
        if (wTaken) beats.erase(beats.begin());
        ++cycle;
    }

    void run(uint64_t cycles) {
        for (uint64_t i = 0; i < cycles; ++i) step();
    }

    void beat(const uint8_t* data, uint8_t strobeMask, bool last) {
        Beat b;
        b.data.assign(data, data + kBus);
        for (uint32_t i = 0; i < kBus; ++i) b.strobe.push_back((strobeMask >> i) & 1);
        b.last = last;
        beats.push_back(b);
    }
};

alignas(4096) static uint8_t memoryBlock[2 * 4096];

static void testReadLatency() {
    for (int i = 0; i < 64; ++i) memoryBlock[i] = uint8_t(i * 3 + 1);
    Bench bench(5, kBus);
    bench.reads.push_back(burst(memoryBlock, 4));
    bench.run(20);
    CHECK(bench.rCycles.size() == 4, "%zu beats", bench.rCycles.size());
    // AR taken in cycle 0: beats in cycles 5, 6, 7, 8.
    for (size_t k = 0; k < bench.rCycles.size(); ++k) CHECK(bench.rCycles[k] == 5 + k, "beat %zu in cycle %llu", k, (unsigned long long)bench.rCycles[k]);
    CHECK(bench.readData.size() == 32 && std::memcmp(bench.readData.data(), memoryBlock, 32) == 0, "read data");
    CHECK(bench.readsDone.size() == 1 && bench.readsDone[0].completed == 8 && bench.readsDone[0].response == 0, "read completion");
    CHECK(bench.memory.idle(), "not idle after the burst");
}

static void testBandwidth() {
    Bench bench(3, 2);  // a beat (8 B) every 4 cycles; the bucket starts with one beat
    bench.reads.push_back(burst(memoryBlock, 4));
    bench.run(40);
    CHECK(bench.rCycles.size() == 4, "%zu beats", bench.rCycles.size());
    if (bench.rCycles.size() == 4) {
        CHECK(bench.rCycles[0] == 3, "first beat in cycle %llu", (unsigned long long)bench.rCycles[0]);
        for (size_t k = 1; k < 4; ++k) {
            CHECK(bench.rCycles[k] - bench.rCycles[k - 1] == 4, "beat %zu after %llu cycles", k,
                  (unsigned long long)(bench.rCycles[k] - bench.rCycles[k - 1]));
        }
    }
}

static void testOutstandingReads() {
    Bench bench(10, kBus, 2);
    bench.reads.push_back(burst(memoryBlock, 1));
    bench.reads.push_back(burst(memoryBlock + 8, 1));
    bench.reads.push_back(burst(memoryBlock + 16, 1));
    bench.run(40);
    // Two outstanding at most: the third AR waits for the first burst to finish (cycle 10).
    CHECK(bench.rCycles.size() == 3, "%zu beats", bench.rCycles.size());
    if (bench.rCycles.size() == 3) {
        CHECK(bench.rCycles[0] == 10 && bench.rCycles[1] == 11, "first beats in cycles %llu, %llu",
              (unsigned long long)bench.rCycles[0], (unsigned long long)bench.rCycles[1]);
        CHECK(bench.rCycles[2] == 21, "third beat in cycle %llu (AR taken in cycle 11)", (unsigned long long)bench.rCycles[2]);
    }
    CHECK(bench.readData.size() == 24 && std::memcmp(bench.readData.data(), memoryBlock, 24) == 0, "read data in order");
}

static void testBackPressure() {
    Bench bench(2, kBus);
    bench.rReady = false;
    bench.reads.push_back(burst(memoryBlock, 2));
    bench.run(6);
    CHECK(bench.rCycles.empty(), "R taken without RREADY");
    bench.rReady = true;
    bench.run(6);
    CHECK(bench.rCycles.size() == 2 && bench.rCycles[0] == 6 && bench.rCycles[1] == 7, "beats after RREADY");
    CHECK(bench.readData.size() == 16 && std::memcmp(bench.readData.data(), memoryBlock, 16) == 0, "held beat data");
}

static void testWrites() {
    uint8_t* target = memoryBlock + 4096;
    std::memset(target, 0xee, 64);
    uint8_t data[8];
    for (int i = 0; i < 8; ++i) data[i] = uint8_t(0xa0 + i);
    Bench bench(6, kBus);
    // W first, AW later: allowed.
    bench.beat(data, 0xf0, false);
    bench.beat(data, 0x0f, true);
    bench.run(3);
    CHECK(bench.bCycles.empty(), "B before AW");
    bench.writeAddresses.push_back(burst(target, 2));  // AW taken in cycle 3
    bench.run(20);
    CHECK(bench.bCycles.size() == 1 && bench.bCycles[0] == 9, "B in cycle %llu, expected 9 (AW + latency)",
          bench.bCycles.empty() ? 0ull : (unsigned long long)bench.bCycles[0]);
    for (int i = 0; i < 16; ++i) {
        uint8_t expected = (i < 4) ? 0xee : (i < 8 ? uint8_t(0xa0 + i) : (i < 12 ? uint8_t(0xa0 + i - 8) : 0xee));
        CHECK(target[i] == expected, "byte %d = %02x, expected %02x", i, target[i], expected);
    }
    CHECK(bench.writesDone.size() == 1 && bench.writesDone[0].response == 0, "write completion");

    // B waits for the last W beat when data comes late.
    Bench late(2, kBus);
    late.writeAddresses.push_back(burst(target + 16, 1));
    late.run(10);
    CHECK(late.bCycles.empty(), "B before data");
    late.beat(data, 0xff, true);  // taken in cycle 10
    late.run(5);
    CHECK(late.bCycles.size() == 1 && late.bCycles[0] == 11, "late B in cycle %llu, expected 11",
          late.bCycles.empty() ? 0ull : (unsigned long long)late.bCycles[0]);
    CHECK(std::memcmp(target + 16, data, 8) == 0, "late write data");
}

static void testFaults() {
    Bench bench(2, kBus);
    long page = sysconf(_SC_PAGESIZE);
    uint8_t* guard = static_cast<uint8_t*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK(guard != MAP_FAILED, "mmap");
    std::memset(guard, 0x11, 2 * page);
    CHECK(mprotect(guard, page, PROT_NONE) == 0, "mprotect none");
    CHECK(mprotect(guard + page, page, PROT_READ) == 0, "mprotect read");
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    bench.reads.push_back(burst(reinterpret_cast<void*>(0x10), 2));  // unmapped
    bench.reads.push_back(burst(guard, 1));                           // PROT_NONE
    bench.reads.push_back(burst(guard + page, 1));                    // readable
    bench.writeAddresses.push_back(burst(guard + page + 8, 1));       // read-only
    bench.beat(data, 0xff, true);
    bench.writeAddresses.push_back(burst(memoryBlock + 4096 + 64, 1));  // fine, and unstrobed
    bench.beat(data, 0x00, true);
    bench.run(30);
    CHECK(bench.rResponses.size() == 4, "%zu R beats", bench.rResponses.size());
    if (bench.rResponses.size() == 4) {
        CHECK(bench.rResponses[0] == 2 && bench.rResponses[1] == 2, "unmapped read not SLVERR");
        CHECK(bench.rResponses[2] == 2, "PROT_NONE read not SLVERR");
        CHECK(bench.rResponses[3] == 0, "readable page read not OKAY");
    }
    CHECK(bench.bResponses.size() == 2 && bench.bResponses[0] == 2 && bench.bResponses[1] == 0, "write responses");
    CHECK(guard[page + 8] == 0x11, "the read-only page changed");
    CHECK(bench.memory.readFaults == 2 && bench.memory.writeFaults == 1, "fault counts %llu %llu",
          (unsigned long long)bench.memory.readFaults, (unsigned long long)bench.memory.writeFaults);
    CHECK(bench.memory.lastWriteFault.fault.find("may not write") != std::string::npos, "write fault text: %s",
          bench.memory.lastWriteFault.fault.c_str());
    std::printf("read fault: %s\n", bench.memory.lastReadFault.fault.c_str());
    std::printf("write fault: %s\n", bench.memory.lastWriteFault.fault.c_str());

    // A region unmapped after the model cached the map as readable: SLVERR, no crash.
    uint8_t* gone = static_cast<uint8_t*>(mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    gone[0] = 42;
    Bench cached(1, kBus);
    cached.reads.push_back(burst(gone, 1));
    cached.run(5);
    CHECK(cached.rResponses.size() == 1 && cached.rResponses[0] == 0, "read before munmap");
    munmap(gone, page);
    cached.reads.push_back(burst(gone, 1));
    cached.writeAddresses.push_back(burst(gone + 8, 1));
    cached.beat(data, 0xff, true);
    cached.run(8);
    CHECK(cached.rResponses.size() == 2 && cached.rResponses[1] == 2, "read after munmap not SLVERR");
    CHECK(cached.bResponses.size() == 1 && cached.bResponses[0] == 2, "write after munmap not SLVERR");
    munmap(guard, 2 * page);
}

static int violation(const std::string& kind) {
    Bench bench(2, kBus);
    uint8_t data[8] = {0};
    if (kind == "cross4k") {
        bench.reads.push_back(burst(memoryBlock + 4096 - 8, 2));
    } else if (kind == "size") {
        AxiAddress a = burst(memoryBlock, 1);
        a.size = 2;
        bench.reads.push_back(a);
    } else if (kind == "burst") {
        AxiAddress a = burst(memoryBlock, 1);
        a.burst = 2;
        bench.writeAddresses.push_back(a);
    } else if (kind == "unaligned") {
        bench.reads.push_back(burst(memoryBlock + 4, 1));
    } else if (kind == "wlast-early") {
        bench.writeAddresses.push_back(burst(memoryBlock, 2));
        bench.beat(data, 0xff, true);
    } else if (kind == "wlast-missing") {
        bench.writeAddresses.push_back(burst(memoryBlock, 1));
        bench.beat(data, 0xff, false);
    } else if (kind == "ar-withdrawn" || kind == "aw-changed") {
        // A memory that accepts nothing: one outstanding burst, already taken.
        Bench full(100, kBus, 1);
        full.reads.push_back(burst(memoryBlock, 1));
        full.writeAddresses.push_back(burst(memoryBlock, 1));
        full.beat(data, 0xff, true);
        full.run(2);
        if (kind == "ar-withdrawn") {
            full.reads.push_back(burst(memoryBlock + 8, 1));
            full.run(1);
            full.reads.clear();
        } else {
            full.writeAddresses.push_back(burst(memoryBlock + 8, 1));
            full.run(1);
            full.writeAddresses[0].address += 8;
        }
        full.run(2);
        std::printf("no violation detected\n");
        return 0;
    } else {
        std::printf("unknown violation %s\n", kind.c_str());
        return 2;
    }
    bench.run(10);
    std::printf("no violation detected\n");
    return 0;
}

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    if (argc > 1) return violation(argv[1]);
    testReadLatency();
    testBandwidth();
    testOutstandingReads();
    testBackPressure();
    testWrites();
    testFaults();
    if (failures) {
        std::printf("%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("PASS memory model\n");
    return 0;
}
