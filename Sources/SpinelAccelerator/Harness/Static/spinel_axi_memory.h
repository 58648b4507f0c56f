// Spinel harness: the AXI4 memory model (an AXI4 subordinate) that serves the accelerator's DMA
// from this process's own memory. DMA addresses are host virtual addresses, so a C testbench
// passes pointers to its own arrays.
//
// Timing (the golden timing model assumes the same):
// - A read burst accepted on AR in cycle t offers beat k on R from cycle t + latency + k on,
//   one beat per cycle at most, in the order the bursts were accepted.
// - A write burst answers on B from cycle max(t + latency, c + 1) on, where t is its AW
//   handshake and c the cycle of its last W beat; B responses keep the AW order.
// - Bandwidth: reads and writes each have a budget of bytesPerCycle bytes per cycle (a token
//   bucket holding at most max(bus width, bytesPerCycle) bytes); every R or W beat costs one
//   full bus width.
// - W beats may arrive before their AW; they are paired with AW bursts in order.
// - At most maxReads read bursts and maxWrites write bursts are outstanding (ARREADY/AWREADY
//   drop while the limit is reached).
//
// Errors: a read burst whose bytes the process may not read, or a write burst whose strobed
// bytes it may not write (checked against /proc/self/maps, re-read on a miss, and with every
// access guarded against SIGSEGV/SIGBUS), is answered with SLVERR and touches nothing.
// Protocol errors (a burst crossing 4 KiB, a size other than the bus width, a burst type other
// than INCR, an unaligned address, W beats not matching AWLEN + 1, a request changed or
// withdrawn before its handshake) are bugs in the accelerator: they end the simulation with
// a message.
//
// Written for Spinel. This header does not depend on Verilator, so it can be tested alone.
#ifndef SPINEL_AXI_MEMORY_H
#define SPINEL_AXI_MEMORY_H

#include <algorithm>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace spinel {

inline std::string hex(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

namespace detail {
inline sigjmp_buf*& guardTarget() {
    static thread_local sigjmp_buf* target = nullptr;
    return target;
}

inline void guardHandler(int signal, siginfo_t*, void*) {
    sigjmp_buf* target = guardTarget();
    if (target != nullptr) siglongjmp(*target, 1);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

// Runs `body` (which only reads or writes plain bytes) with SIGSEGV and SIGBUS turned into a
// `false` result. The previous handlers are restored afterwards.
template <typename Body>
bool guarded(Body body) {
    struct sigaction action;
    struct sigaction oldSegv;
    struct sigaction oldBus;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = guardHandler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &oldSegv);
    sigaction(SIGBUS, &action, &oldBus);
    sigjmp_buf buffer;
    volatile bool succeeded = false;
    if (sigsetjmp(buffer, 1) == 0) {
        guardTarget() = &buffer;
        body();
        succeeded = true;
    }
    guardTarget() = nullptr;
    sigaction(SIGSEGV, &oldSegv, nullptr);
    sigaction(SIGBUS, &oldBus, nullptr);
    return succeeded;
}
}  // namespace detail

// The memory of this process as the DMA sees it: permissions from /proc/self/maps.
class ProcessMemory {
public:
    enum class Access { read, write };

    // Whether every byte of [address, address + length) may be accessed. The cached map is
    // re-read once when it does not grant the access.
    bool permits(uint64_t address, uint64_t length, Access access) {
        if (covered(address, length, access)) return true;
        refresh();
        return covered(address, length, access);
    }

    // Copies bytes out of process memory; false (and nothing trustworthy in `out`) on a fault.
    bool read(uint64_t address, uint8_t* out, size_t length) {
        const volatile uint8_t* source = reinterpret_cast<const volatile uint8_t*>(static_cast<uintptr_t>(address));
        bool ok = detail::guarded([&] {
            for (size_t i = 0; i < length; ++i) out[i] = source[i];
        });
        if (!ok) refresh();
        return ok;
    }

    // Writes the bytes whose `enables` entry is nonzero; false on a fault.
    bool write(uint64_t address, const uint8_t* data, const uint8_t* enables, size_t length) {
        volatile uint8_t* target = reinterpret_cast<volatile uint8_t*>(static_cast<uintptr_t>(address));
        bool ok = detail::guarded([&] {
            for (size_t i = 0; i < length; ++i) {
                if (enables[i]) target[i] = data[i];
            }
        });
        if (!ok) refresh();
        return ok;
    }

    // Why an access is refused, in words.
    std::string explain(uint64_t address, uint64_t length, Access access) {
        refresh();
        const char* verb = access == Access::read ? "read" : "write";
        if (address + length < address) return "the range wraps around the address space";
        uint64_t cursor = address;
        const uint64_t end = address + length;
        while (cursor < end) {
            const Region* region = find(cursor);
            if (region == nullptr) {
                return "address " + hex(cursor) + " is not mapped in the testbench process";
            }
            bool allowed = access == Access::read ? region->readable : region->writable;
            if (!allowed) {
                return "the process may not " + std::string(verb) + " " + hex(cursor) + " (mapping " + hex(region->start) +
                       "-" + hex(region->end) + " " + region->permissions + (region->name.empty() ? "" : " " + region->name) + ")";
            }
            cursor = region->end;
        }
        return "the access faulted (the mapping changed during the access)";
    }

    void refresh() {
        ++refreshes_;
        regions_.clear();
        FILE* maps = std::fopen("/proc/self/maps", "r");
        if (maps == nullptr) return;
        char line[4096];
        while (std::fgets(line, sizeof line, maps) != nullptr) {
            unsigned long long start = 0, end = 0;
            char permissions[8] = {0};
            int consumed = 0;
            if (std::sscanf(line, "%llx-%llx %7s %*s %*s %*s%n", &start, &end, permissions, &consumed) < 3) continue;
            Region region;
            region.start = start;
            region.end = end;
            region.readable = permissions[0] == 'r';
            region.writable = permissions[1] == 'w';
            region.permissions = permissions;
            if (consumed > 0) {
                std::string rest(line + consumed);
                size_t first = rest.find_first_not_of(" \t");
                size_t last = rest.find_last_not_of(" \t\r\n");
                if (first != std::string::npos && last != std::string::npos) region.name = rest.substr(first, last - first + 1);
            }
            regions_.push_back(region);
        }
        std::fclose(maps);
        std::sort(regions_.begin(), regions_.end(), [](const Region& a, const Region& b) { return a.start < b.start; });
    }

    uint64_t refreshes() const { return refreshes_; }

private:
    struct Region {
        uint64_t start = 0;
        uint64_t end = 0;
        bool readable = false;
        bool writable = false;
        std::string permissions;
        std::string name;
    };

    const Region* find(uint64_t address) const {
        auto after = std::upper_bound(regions_.begin(), regions_.end(), address,
                                      [](uint64_t value, const Region& region) { return value < region.start; });
        if (after == regions_.begin()) return nullptr;
        const Region& candidate = *(after - 1);
        return address < candidate.end ? &candidate : nullptr;
    }

    bool covered(uint64_t address, uint64_t length, Access access) const {
        if (length == 0) return true;
        const uint64_t end = address + length;
        if (end < address) return false;
        uint64_t cursor = address;
        while (cursor < end) {
            const Region* region = find(cursor);
            if (region == nullptr) return false;
            if (access == Access::read ? !region->readable : !region->writable) return false;
            cursor = region->end;
        }
        return true;
    }

    std::vector<Region> regions_;
    uint64_t refreshes_ = 0;
};

// One AR or AW request.
struct AxiAddress {
    uint64_t address = 0;
    uint32_t id = 0;
    uint32_t length = 0;  // beats minus one
    uint32_t size = 0;    // log2 of the bytes per beat
    uint32_t burst = 0;   // 0 FIXED, 1 INCR, 2 WRAP

    bool operator==(const AxiAddress& other) const {
        return address == other.address && id == other.id && length == other.length && size == other.size &&
               burst == other.burst;
    }
    bool operator!=(const AxiAddress& other) const { return !(*this == other); }
};

// What the manager (the accelerator) drives in one cycle, sampled after evaluation.
struct ManagerSide {
    bool arValid = false;
    AxiAddress ar;
    bool awValid = false;
    AxiAddress aw;
    bool wValid = false;
    std::vector<uint8_t> wData;    // bus width bytes, byte i = lane i
    std::vector<uint8_t> wStrobe;  // one 0/1 entry per lane
    bool wLast = false;
    bool rReady = false;
    bool bReady = false;
};

// What the memory model drives in one cycle.
struct SubordinateSide {
    bool arReady = false;
    bool awReady = false;
    bool wReady = false;
    bool rValid = false;
    uint32_t rId = 0;
    uint32_t rResponse = 0;
    bool rLast = false;
    std::vector<uint8_t> rData;
    bool bValid = false;
    uint32_t bId = 0;
    uint32_t bResponse = 0;
};

enum : uint32_t { kAxiOkay = 0, kAxiSlaveError = 2 };

// One burst from its address handshake to its last R beat or its B response.
struct Burst {
    AxiAddress request;
    uint64_t accepted = 0;   // cycle of the AR/AW handshake
    uint64_t completed = 0;  // cycle of the last R beat or of the B handshake
    uint64_t respondAt = 0;  // writes: first cycle B may be offered
    uint32_t response = kAxiOkay;
    uint32_t beatsDone = 0;  // reads: beats delivered; writes: beats received
    std::vector<uint8_t> data;    // all beats, in address order from the burst's first byte
    std::vector<uint8_t> strobe;  // writes: one 0/1 entry per data byte
    std::string fault;            // why the burst got SLVERR

    uint32_t beats() const { return request.length + 1; }
};

class AxiMemory {
public:
    struct Config {
        uint32_t busBytes = 16;
        uint32_t latency = 40;
        uint32_t bytesPerCycle = 16;
        uint32_t maxReads = 64;
        uint32_t maxWrites = 64;
    };

    // Called when a read burst delivered its last beat and when a write burst's B response was
    // taken. `onViolation` must not return (the default prints and aborts).
    std::function<void(const Burst&)> onRead;
    std::function<void(const Burst&)> onWrite;
    std::function<void(const std::string&)> onViolation;

    explicit AxiMemory(const Config& config) : config_(config) {
        if (config_.busBytes == 0) config_.busBytes = 1;
        if (config_.latency == 0) config_.latency = 1;
        if (config_.bytesPerCycle == 0) config_.bytesPerCycle = config_.busBytes;
        if (config_.maxReads == 0) config_.maxReads = 1;
        if (config_.maxWrites == 0) config_.maxWrites = 1;
        out_.rData.assign(config_.busBytes, 0);
        readTokens_ = writeTokens_ = std::max(config_.busBytes, config_.bytesPerCycle);
    }

    const Config& config() const { return config_; }
    ProcessMemory& process() { return process_; }

    // The subordinate's outputs for `cycle`; call once per cycle, before the manager is sampled.
    const SubordinateSide& drive(uint64_t cycle) {
        const uint64_t bus = config_.busBytes;
        const uint64_t capacity = std::max<uint64_t>(bus, config_.bytesPerCycle);
        readTokens_ = std::min(capacity, readTokens_ + config_.bytesPerCycle);
        writeTokens_ = std::min(capacity, writeTokens_ + config_.bytesPerCycle);
        out_.arReady = reads_.size() < config_.maxReads;
        out_.awReady = writes_.size() < config_.maxWrites;
        out_.wReady = writeTokens_ >= bus && unmatchedBeats_.size() < kMaxUnmatchedBeats;
        if (!out_.rValid && !reads_.empty()) {
            Burst& burst = reads_.front();
            if (cycle >= burst.accepted + config_.latency + burst.beatsDone && readTokens_ >= bus) {
                readTokens_ -= bus;
                out_.rValid = true;
                out_.rId = burst.request.id;
                out_.rResponse = burst.response;
                out_.rLast = burst.beatsDone == burst.request.length;
                std::copy(burst.data.begin() + burst.beatsDone * bus, burst.data.begin() + (burst.beatsDone + 1) * bus,
                          out_.rData.begin());
            }
        }
        if (!out_.rValid) {
            out_.rId = 0;
            out_.rResponse = 0;
            out_.rLast = false;
            std::fill(out_.rData.begin(), out_.rData.end(), 0);
        }
        if (!out_.bValid && completeWrites_ > 0 && writes_.front().respondAt <= cycle) {
            out_.bValid = true;
            out_.bId = writes_.front().request.id;
            out_.bResponse = writes_.front().response;
        }
        if (!out_.bValid) {
            out_.bId = 0;
            out_.bResponse = 0;
        }
        return out_;
    }

    // Takes what the manager drove in `cycle` (after `drive(cycle)` and evaluation).
    void observe(uint64_t cycle, const ManagerSide& m) {
        checkStable(cycle, m);
        if (m.arValid && out_.arReady) acceptRead(cycle, m.ar);
        if (m.awValid && out_.awReady) acceptWriteAddress(cycle, m.aw);
        if (m.wValid && out_.wReady) {
            writeTokens_ -= config_.busBytes;
            ++writeBeats;
            Beat beat;
            beat.data = m.wData;
            beat.strobe = m.wStrobe;
            beat.data.resize(config_.busBytes, 0);
            beat.strobe.resize(config_.busBytes, 0);
            beat.last = m.wLast;
            unmatchedBeats_.push_back(beat);
        }
        matchWrites(cycle);
        if (out_.rValid && m.rReady) {
            out_.rValid = false;
            ++readBeats;
            Burst& burst = reads_.front();
            ++burst.beatsDone;
            if (burst.beatsDone == burst.beats()) {
                burst.completed = cycle;
                Burst done = std::move(burst);
                reads_.pop_front();
                if (onRead) onRead(done);
            }
        }
        if (out_.bValid && m.bReady) {
            out_.bValid = false;
            Burst done = std::move(writes_.front());
            writes_.pop_front();
            --completeWrites_;
            done.completed = cycle;
            if (onWrite) onWrite(done);
        }
    }

    // No burst in flight, no W beat waiting for its AW.
    bool idle() const { return reads_.empty() && writes_.empty() && unmatchedBeats_.empty() && !out_.rValid && !out_.bValid; }
    size_t readsOutstanding() const { return reads_.size(); }
    size_t writesOutstanding() const { return writes_.size(); }
    size_t unmatchedWriteBeats() const { return unmatchedBeats_.size(); }

    uint64_t readBursts = 0;
    uint64_t writeBursts = 0;
    uint64_t readBeats = 0;
    uint64_t writeBeats = 0;
    uint64_t readFaults = 0;
    uint64_t writeFaults = 0;
    // The most recent bursts answered with SLVERR (valid when the fault counts are nonzero).
    Burst lastReadFault;
    Burst lastWriteFault;

private:
    struct Beat {
        std::vector<uint8_t> data;
        std::vector<uint8_t> strobe;
        bool last = false;
    };

    static constexpr size_t kMaxUnmatchedBeats = 1024;

    [[noreturn]] void violation(uint64_t cycle, const std::string& what) {
        std::string message = "AXI protocol violation by the accelerator at cycle " + std::to_string(cycle) + ": " + what;
        if (onViolation) onViolation(message);
        std::fprintf(stderr, "spinel: %s\n", message.c_str());
        std::fflush(stderr);
        std::abort();
    }

    static std::string describe(const AxiAddress& a) {
        return "addr " + hex(a.address) + " len " + std::to_string(a.length) + " size " + std::to_string(a.size) + " burst " +
               std::to_string(a.burst) + " id " + std::to_string(a.id);
    }

    void checkBurst(uint64_t cycle, const char* channel, const AxiAddress& a) {
        const uint64_t bus = config_.busBytes;
        if (a.burst != 1) {
            violation(cycle, std::string(channel) + " burst type " + std::to_string(a.burst) +
                                 ": the memory model serves only INCR bursts (1) [" + describe(a) + "]");
        }
        if (a.size > 7 || (uint64_t(1) << a.size) != bus) {
            violation(cycle, std::string(channel) + " size " + std::to_string(a.size) + " (" +
                                 (a.size > 7 ? std::string("invalid") : std::to_string(1u << a.size) + " B per beat") +
                                 "): bursts must use the full bus width of " + std::to_string(bus) + " B [" + describe(a) +
                                 "]");
        }
        if (a.length > 255) {
            violation(cycle, std::string(channel) + " len " + std::to_string(a.length) + ": AXI4 bursts have at most 256 beats [" +
                                 describe(a) + "]");
        }
        if (a.address % bus != 0) {
            violation(cycle, std::string(channel) + " address " + hex(a.address) + " is not aligned to the beat size of " +
                                 std::to_string(bus) + " B [" + describe(a) + "]");
        }
        const uint64_t bytes = uint64_t(a.length + 1) * bus;
        if (a.address % 4096 + bytes > 4096) {
            violation(cycle, std::string(channel) + " burst of " + std::to_string(a.length + 1) + " beats (" + std::to_string(bytes) +
                                 " B) at " + hex(a.address) + " crosses the 4 KiB boundary at " +
                                 hex((a.address / 4096 + 1) * 4096) + " [" + describe(a) + "]");
        }
    }

    void checkStable(uint64_t cycle, const ManagerSide& m) {
        if (arHeld_ && (!m.arValid || m.ar != heldAr_)) {
            violation(cycle, "AR request " + describe(heldAr_) + " was " + (m.arValid ? "changed" : "withdrawn") +
                                 " before ARREADY (AXI4 A3.2.1: VALID stays high with the same payload until the handshake)");
        }
        if (awHeld_ && (!m.awValid || m.aw != heldAw_)) {
            violation(cycle, "AW request " + describe(heldAw_) + " was " + (m.awValid ? "changed" : "withdrawn") +
                                 " before AWREADY (AXI4 A3.2.1: VALID stays high with the same payload until the handshake)");
        }
        if (wHeld_ && (!m.wValid || m.wData != heldW_.data || m.wStrobe != heldW_.strobe || m.wLast != heldW_.last)) {
            violation(cycle, std::string("W beat was ") + (m.wValid ? "changed" : "withdrawn") +
                                 " before WREADY (AXI4 A3.2.1: VALID stays high with the same payload until the handshake)");
        }
        arHeld_ = m.arValid && !out_.arReady;
        heldAr_ = m.ar;
        awHeld_ = m.awValid && !out_.awReady;
        heldAw_ = m.aw;
        wHeld_ = m.wValid && !out_.wReady;
        if (wHeld_) {
            heldW_.data = m.wData;
            heldW_.strobe = m.wStrobe;
            heldW_.last = m.wLast;
        }
    }

    void acceptRead(uint64_t cycle, const AxiAddress& request) {
        checkBurst(cycle, "AR", request);
        ++readBursts;
        Burst burst;
        burst.request = request;
        burst.accepted = cycle;
        const uint64_t bytes = uint64_t(request.length + 1) * config_.busBytes;
        burst.data.assign(bytes, 0);
        bool ok = process_.permits(request.address, bytes, ProcessMemory::Access::read) &&
                  process_.read(request.address, burst.data.data(), bytes);
        if (!ok) {
            std::fill(burst.data.begin(), burst.data.end(), 0);
            burst.response = kAxiSlaveError;
            burst.fault = process_.explain(request.address, bytes, ProcessMemory::Access::read);
            ++readFaults;
            lastReadFault = burst;
        }
        reads_.push_back(std::move(burst));
    }

    void acceptWriteAddress(uint64_t cycle, const AxiAddress& request) {
        checkBurst(cycle, "AW", request);
        ++writeBursts;
        Burst burst;
        burst.request = request;
        burst.accepted = cycle;
        const uint64_t bytes = uint64_t(request.length + 1) * config_.busBytes;
        burst.data.assign(bytes, 0);
        burst.strobe.assign(bytes, 0);
        writes_.push_back(std::move(burst));
    }

    // Pairs buffered W beats with the AW bursts in order; a burst whose last beat arrived is
    // written to memory and scheduled for its B response.
    void matchWrites(uint64_t cycle) {
        const uint64_t bus = config_.busBytes;
        while (completeWrites_ < writes_.size() && !unmatchedBeats_.empty()) {
            Burst& burst = writes_[completeWrites_];
            Beat beat = std::move(unmatchedBeats_.front());
            unmatchedBeats_.pop_front();
            const uint32_t index = burst.beatsDone;
            const bool lastExpected = index == burst.request.length;
            if (beat.last != lastExpected) {
                violation(cycle, std::string("W beat ") + std::to_string(index + 1) + " of the write burst at " +
                                     hex(burst.request.address) + " (AWLEN " + std::to_string(burst.request.length) + ", " +
                                     std::to_string(burst.beats()) + " beats) has WLAST = " + (beat.last ? "1" : "0") +
                                     ": the number of W beats must equal AWLEN + 1");
            }
            std::copy(beat.data.begin(), beat.data.end(), burst.data.begin() + index * bus);
            std::copy(beat.strobe.begin(), beat.strobe.end(), burst.strobe.begin() + index * bus);
            ++burst.beatsDone;
            if (lastExpected) {
                finishWrite(burst, cycle);
                ++completeWrites_;
            }
        }
    }

    void finishWrite(Burst& burst, uint64_t cycle) {
        burst.respondAt = std::max(burst.accepted + config_.latency, cycle + 1);
        size_t first = burst.strobe.size(), last = 0;
        for (size_t i = 0; i < burst.strobe.size(); ++i) {
            if (burst.strobe[i]) {
                first = std::min(first, i);
                last = i;
            }
        }
        if (first == burst.strobe.size()) return;  // nothing strobed: nothing to write
        const uint64_t start = burst.request.address + first;
        const uint64_t length = last - first + 1;
        bool ok = process_.permits(start, length, ProcessMemory::Access::write) &&
                  process_.write(start, burst.data.data() + first, burst.strobe.data() + first, length);
        if (!ok) {
            burst.response = kAxiSlaveError;
            burst.fault = process_.explain(start, length, ProcessMemory::Access::write);
            ++writeFaults;
            lastWriteFault = burst;
        }
    }

    Config config_;
    ProcessMemory process_;
    SubordinateSide out_;
    uint64_t readTokens_ = 0;
    uint64_t writeTokens_ = 0;
    std::deque<Burst> reads_;   // accepted, not every beat delivered
    std::deque<Burst> writes_;  // accepted, B not yet taken; the first completeWrites_ have all their data
    size_t completeWrites_ = 0;
    std::deque<Beat> unmatchedBeats_;
    bool arHeld_ = false;
    bool awHeld_ = false;
    bool wHeld_ = false;
    AxiAddress heldAr_;
    AxiAddress heldAw_;
    Beat heldW_;
};

}  // namespace spinel

#endif  // SPINEL_AXI_MEMORY_H
