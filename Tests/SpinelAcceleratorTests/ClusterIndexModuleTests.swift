import Foundation
import SpinelAccelerator
import SpinelGolden
import SpinelHDL
import SpinelSim
import Testing

// The cluster index module alone under Verilator against the golden function
// `ClusterIndex.assign` (docs/CTA-HARDWARE.md, "Cluster index module"). Streams run back to back
// in one simulator, separated only by `start`, so every stream after the first meets the entries
// its predecessors left in the node memories. Each token's output must be the golden id, or
// `overflowed` from the golden overflow token on; `count`, `overflow` and `overflow_token` must
// match after the drain; and with no back-pressure a stream of n tokens must take n + latency
// cycles.

/// One stream of hash codes and how to drive it.
struct ClusterIndexStream: CustomStringConvertible {
    var label: String
    var codes: [[Int]]
    /// The `limit` input (the golden function's `maximumClusters`).
    var limit: Int
    /// Probabilities of `in.valid` (while tokens remain) and of `out.ready` in a cycle.
    var inValidChance = 1.0
    var outReadyChance = 1.0

    var description: String {
        "\(label): \(codes.count) tokens, limit \(limit), in.valid \(inValidChance), out.ready \(outReadyChance)"
    }
}

/// What the module produced for one stream.
struct ClusterIndexRun {
    /// Per token: its id, or nil when `overflowed`.
    var ids: [Int?] = []
    var count = 0
    var overflowToken: Int?
    /// Cycles from the first `in.fire` to the last `out.fire`, both included.
    var span = 0
    /// Cycles in which a token was waiting and `in.ready` was low.
    var refusals = 0
}

/// Drives a `ClusterIndexModule` under Verilator.
final class ClusterIndexBench {
    let module: ClusterIndexModule
    let sim: VerilatorSimulation
    var random: SeededGenerator

    init(_ module: ClusterIndexModule, seed: UInt64) throws {
        self.module = module
        sim = try VerilatorSimulation(try Elaborator.elaborate(module))
        random = SeededGenerator(seed: seed)
        sim.poke("start", false)
        sim.poke("in_valid", false)
        sim.poke("out_ready", false)
        sim.reset()
    }

    func run(_ stream: ClusterIndexStream) throws -> ClusterIndexRun {
        // `start` while idle takes effect at once.
        sim.poke("start", true)
        sim.poke("limit", stream.limit)
        sim.eval()
        try #require(sim.peekBool("idle") && !sim.peekBool("in_ready"), "start while idle: \(stream)")
        sim.tick()
        sim.poke("start", false)

        var result = ClusterIndexRun()
        var sent = 0
        var firstIn: Int?
        let deadline = sim.cycle + 4 * stream.codes.count + 100
        while result.ids.count < stream.codes.count {
            try #require(sim.cycle < deadline, "the stream hangs after \(result.ids.count) ids: \(stream)")
            let valid = sent < stream.codes.count && (stream.inValidChance >= 1 || random.chance(stream.inValidChance))
            let ready = stream.outReadyChance >= 1 || random.chance(stream.outReadyChance)
            sim.poke("in_valid", valid)
            if valid {
                for (position, element) in stream.codes[sent].enumerated() { sim.poke("in_bits_\(position)", element) }
            } else {
                // Garbage while not valid: the module must ignore it.
                for position in 0..<module.hashLength { sim.poke("in_bits_\(position)", random.bits(module.elementBits)) }
            }
            sim.poke("out_ready", ready)
            sim.eval()
            if valid {
                if sim.peekBool("in_ready") {
                    sent += 1
                    if firstIn == nil { firstIn = sim.cycle }
                } else {
                    result.refusals += 1
                }
            }
            if ready && sim.peekBool("out_valid") {
                result.ids.append(sim.peekBool("out_bits_overflowed") ? nil : Int(sim.peek("out_bits_id")))
                if result.ids.count == stream.codes.count { result.span = sim.cycle - firstIn! + 1 }
            }
            sim.tick()
        }
        sim.poke("in_valid", false)
        sim.poke("out_ready", false)
        sim.eval()
        try #require(sim.peekBool("idle"), "not idle after the last id: \(stream)")
        result.count = Int(sim.peek("count"))
        if sim.peekBool("overflow") { result.overflowToken = Int(sim.peek("overflow_token")) }
        return result
    }

    /// Runs `stream` and compares with the golden function; returns the run.
    @discardableResult
    func check(_ stream: ClusterIndexStream, seed: UInt64) throws -> ClusterIndexRun {
        let run = try run(stream)
        let golden = ClusterIndex.assign(codes: stream.codes, maximumClusters: stream.limit)
        let context = "\(module.name), \(stream), seed \(seed)"
        for (token, id) in run.ids.enumerated() {
            let expected: Int? = token < golden.ids.count ? golden.ids[token] : nil
            try #require(id == expected, "token \(token): id \(id.map(String.init) ?? "none"), expected \(expected.map(String.init) ?? "none"); \(context)")
        }
        #expect(run.count == golden.count, "count: \(context)")
        #expect(run.overflowToken == golden.overflowToken, "overflow token: \(context)")
        return run
    }
}

/// Stream generators: each returns the codes of `tokens` tokens.
struct ClusterIndexCodes {
    let hashLength: Int
    let elementBits: Int
    var random: SeededGenerator

    var lowest: Int { -(1 << (elementBits - 1)) }
    var values: Int { 1 << elementBits }

    mutating func element() -> Int { lowest + Int(random.next() % UInt64(values)) }
    mutating func code() -> [Int] { (0..<hashLength).map { _ in element() } }

    /// Every token with one code.
    mutating func oneCluster(_ tokens: Int) -> [[Int]] {
        let code = code()
        return Array(repeating: code, count: tokens)
    }

    /// `tokens` different codes.
    mutating func distinct(_ tokens: Int) -> [[Int]] {
        var seen = Set<[Int]>(), codes: [[Int]] = []
        while codes.count < tokens {
            let code = code()
            if seen.insert(code).inserted { codes.append(code) }
        }
        return codes
    }

    /// Codes drawn from `alphabet` values per position (real hash codes concentrate on a few
    /// buckets), so most tokens repeat an earlier code.
    mutating func fewValues(_ tokens: Int, alphabet: Int) -> [[Int]] {
        let choices = (0..<hashLength).map { _ in (0..<alphabet).map { _ in element() } }
        return (0..<tokens).map { _ in choices.map { $0[Int(random.next() % UInt64(alphabet))] } }
    }

    /// Consecutive tokens that share all but their last elements, so they make siblings under
    /// one node in back-to-back cycles; runs of siblings at every depth, revisited in
    /// alternation (A, B, A, B: the token two ahead has the same key).
    mutating func sharedPrefixes(_ tokens: Int) -> [[Int]] {
        var codes: [[Int]] = []
        while codes.count < tokens {
            let base = code()
            let depth = Int(random.next() % UInt64(hashLength))
            let family = (0..<min(values, 6)).map { sibling -> [Int] in
                var code = base
                code[depth] = lowest + (base[depth] - lowest + sibling) % values
                for later in (depth + 1)..<hashLength where random.chance(0.5) { code[later] = element() }
                return code
            }
            let pattern = Int(random.next() % 3)
            for step in 0..<12 {
                switch pattern {
                case 0: codes.append(family[step % family.count])
                case 1: codes.append(family[(step / 2) % 2 == 0 ? step % 2 : 2 + step % 2])
                default: codes.append(family[Int(random.next() % UInt64(family.count))])
                }
            }
        }
        return Array(codes.prefix(tokens))
    }
}

/// How often a stream fed without gaps (one token per cycle) meets the cases the module's
/// forwarding exists for, counted per level on the codes alone: the key at level j is the
/// prefix of j + 1 elements, and a token is new at level j when that prefix is.
struct ClusterIndexHazards: CustomStringConvertible {
    /// The token one (two) ahead had the same key and allocated its child: its write to
    /// `children_j` landed after this token's read.
    var sameKeyAsNewLast = 0, sameKeyAsNewBeforeLast = 0
    /// The token one ahead allocated a sibling under the same node (its `owners_j` write landed
    /// after this token's read).
    var siblingOfNewLast = 0

    mutating func add(_ codes: [[Int]]) {
        guard let length = codes.first?.count else { return }
        for level in 0..<length {
            var seen = Set<ArraySlice<Int>>()
            var new: [Bool] = []
            for code in codes { new.append(seen.insert(code.prefix(level + 1)).inserted) }
            for token in codes.indices {
                let key = codes[token].prefix(level + 1)
                if token >= 1 && new[token - 1] {
                    if codes[token - 1].prefix(level + 1) == key { sameKeyAsNewLast += 1 }
                    else if codes[token - 1].prefix(level) == codes[token].prefix(level) { siblingOfNewLast += 1 }
                }
                if token >= 2 && new[token - 2] && codes[token - 2].prefix(level + 1) == key { sameKeyAsNewBeforeLast += 1 }
            }
        }
    }

    var description: String {
        "same key as a new last \(sameKeyAsNewLast), as a new before-last \(sameKeyAsNewBeforeLast), sibling of a new last \(siblingOfNewLast)"
    }
}

@Suite("Cluster index module under Verilator against ClusterIndex.assign", .serialized)
struct ClusterIndexModuleTests {
    /// The paper's shape: l = 6, 4-bit elements, n = 512, K = 512.
    static let paper = ClusterIndexModule(hashLength: 6, elementBits: 4, maximumTokens: 512, maximumClusters: 512)
    /// A tree whose second level fills at K = 20 (16 × 16 prefixes > 20), so a token can find
    /// its level full before it reaches the leaves.
    static let narrow = ClusterIndexModule(hashLength: 6, elementBits: 4, maximumTokens: 64, maximumClusters: 20)

    /// The paper's codes on a tree of 2-bit digits: 12 levels of 4 child slots.
    static let radix4 = ClusterIndexModule(hashLength: 6, elementBits: 4, digitBits: 2, maximumTokens: 512, maximumClusters: 512)
    /// 8-bit elements (the `cta` configuration's default code width) on 2-bit digits: 24 levels.
    static let bytes = ClusterIndexModule(hashLength: 6, elementBits: 8, digitBits: 2, maximumTokens: 512, maximumClusters: 512)

    static func shape(_ name: String) -> ClusterIndexModule {
        switch name {
        case "radix4": return radix4
        case "bytes": return bytes
        default: return paper
        }
    }

    @Test("Named streams and random streams with back-pressure, back to back", arguments: ["paper", "radix4", "bytes"])
    func streams(shape: String) throws {
        let module = Self.shape(shape)
        let seed = SeededGenerator.testSeed(0xC1A5_0001)
        let bench = try ClusterIndexBench(module, seed: seed)
        var codes = ClusterIndexCodes(hashLength: module.hashLength, elementBits: module.elementBits,
                                      random: SeededGenerator(seed: seed ^ 0xFFFF))
        let n = module.maximumTokens, k = module.maximumClusters
        var tokens = 0, overflows = 0, backPressured = 0
        var hazards = ClusterIndexHazards()

        var streams: [ClusterIndexStream] = []
        streams.append(.init(label: "one cluster", codes: codes.oneCluster(n), limit: k))
        let distinct = codes.distinct(n)
        streams.append(.init(label: "all distinct", codes: distinct, limit: k))
        // The same codes in reverse: every lookup meets the previous stream's entries.
        streams.append(.init(label: "all distinct, reversed", codes: distinct.reversed(), limit: k))
        streams.append(.init(label: "37 tokens", codes: codes.fewValues(37, alphabet: 2), limit: k))
        let few = codes.fewValues(300, alphabet: 3)
        let fewClusters = Set(few).count
        streams.append(.init(label: "limit reached exactly", codes: few, limit: fewClusters))
        streams.append(.init(label: "limit exceeded by one", codes: few, limit: fewClusters - 1))
        streams.append(.init(label: "limit 1", codes: few, limit: 1))
        streams.append(.init(label: "shared prefixes", codes: codes.sharedPrefixes(n), limit: k))
        streams.append(.init(label: "shared prefixes, back-pressure", codes: codes.sharedPrefixes(n), limit: k,
                             inValidChance: 0.7, outReadyChance: 0.6))
        // Half of the random streams without gaps (every hazard at full rate), half with random
        // gaps on both sides.
        for round in 0..<48 {
            let alphabet = 2 + round % 4
            let length = 1 + Int(codes.random.next() % UInt64(n))
            let stream = round % 3 == 0 ? codes.sharedPrefixes(length) : codes.fewValues(length, alphabet: alphabet)
            let clusters = Set(stream).count
            let limit = round % 8 == 7 ? max(1, clusters - 1 - Int(codes.random.next() % 4)) : k
            let pressured = round % 2 == 1
            streams.append(.init(label: "random \(round)", codes: stream, limit: limit,
                                 inValidChance: pressured ? [0.5, 0.8, 0.3, 1.0][(round / 2) % 4] : 1,
                                 outReadyChance: pressured ? [0.9, 0.4, 0.7, 0.5][(round / 8) % 4] : 1))
        }
        for stream in streams {
            let run = try bench.check(stream, seed: seed)
            tokens += stream.codes.count
            if run.overflowToken != nil { overflows += 1 }
            if stream.inValidChance < 1 || stream.outReadyChance < 1 {
                backPressured += stream.codes.count
            } else {
                hazards.add(stream.codes)
            }
        }
        print("\(module.name), seed \(seed): \(streams.count) streams, \(tokens) tokens (\(backPressured) with back-pressure), \(overflows) overflows; \(hazards)")
        #expect(tokens >= 7_000 && overflows >= 6 && backPressured >= 3_000, "coverage; seed \(seed)")
        #expect(hazards.sameKeyAsNewLast >= 500 && hazards.sameKeyAsNewBeforeLast >= 500 && hazards.siblingOfNewLast >= 200,
                "hazard coverage: \(hazards); seed \(seed)")
    }

    @Test("One token per cycle: n tokens take n + latency cycles with no back-pressure", arguments: ["paper", "radix4", "bytes"])
    func throughput(shape: String) throws {
        let module = Self.shape(shape)
        let seed = SeededGenerator.testSeed(0xC1A5_0002)
        let bench = try ClusterIndexBench(module, seed: seed)
        var codes = ClusterIndexCodes(hashLength: module.hashLength, elementBits: module.elementBits, random: SeededGenerator(seed: seed))
        let n = module.maximumTokens
        for (label, stream) in [("distinct", codes.distinct(n)), ("few values", codes.fewValues(n, alphabet: 3)),
                                ("shared prefixes", codes.sharedPrefixes(n))] {
            let run = try bench.check(.init(label: label, codes: stream, limit: module.maximumClusters), seed: seed)
            print("\(module.name) \(label): \(n) tokens in \(run.span) cycles (latency \(module.latency))")
            #expect(run.refusals == 0 && run.span == n + module.latency, "\(label): span \(run.span), \(run.refusals) refusals")
        }
    }

    @Test("A level fills before the leaves (K = 20): overflow at the right token")
    func narrowTree() throws {
        let module = Self.narrow
        let seed = SeededGenerator.testSeed(0xC1A5_0003)
        let bench = try ClusterIndexBench(module, seed: seed)
        var codes = ClusterIndexCodes(hashLength: module.hashLength, elementBits: module.elementBits, random: SeededGenerator(seed: seed))
        let n = module.maximumTokens, k = module.maximumClusters
        var tokens = 0, overflows = 0
        // 21 codes with 21 different two-element prefixes, each repeated: the 21st needs a 21st
        // node at depth 2.
        var prefixes = Set<[Int]>(), wide: [[Int]] = []
        while wide.count < k + 1 {
            let code = codes.code()
            if prefixes.insert(Array(code.prefix(2))).inserted { wide.append(code) }
        }
        var streams: [ClusterIndexStream] = [
            .init(label: "prefixes exceed level 2", codes: Array((wide + wide.shuffled(using: &codes.random)).prefix(n)), limit: k),
            .init(label: "prefixes fill level 2 exactly", codes: Array(wide.prefix(k)) + Array(wide.prefix(k)), limit: k),
            .init(label: "exceeded, back-pressure", codes: Array((wide + wide).prefix(n)), limit: k, inValidChance: 0.5, outReadyChance: 0.5),
        ]
        for round in 0..<40 {
            let length = 1 + Int(codes.random.next() % UInt64(n))
            let stream = round % 2 == 0 ? codes.sharedPrefixes(length) : codes.fewValues(length, alphabet: 3 + round % 3)
            streams.append(.init(label: "random \(round)", codes: stream, limit: round % 5 == 4 ? 7 : k,
                                 inValidChance: [1.0, 0.6][round % 2], outReadyChance: [1.0, 0.8, 0.5][round % 3]))
        }
        for stream in streams {
            let run = try bench.check(stream, seed: seed)
            tokens += stream.codes.count
            if run.overflowToken != nil { overflows += 1 }
        }
        print("\(module.name), seed \(seed): \(streams.count) streams, \(tokens) tokens, \(overflows) overflows")
        #expect(overflows >= 10, "coverage; seed \(seed)")
    }

    @Test("A start while tokens are in flight waits for the drain")
    func startWhileBusy() throws {
        let module = Self.narrow
        let bench = try ClusterIndexBench(module, seed: 7)
        let sim = bench.sim
        // Three tokens in, no output taken, then start: in.ready stays low until the ids left.
        for token in 0..<3 {
            sim.poke("in_valid", true)
            for position in 0..<module.hashLength { sim.poke("in_bits_\(position)", token) }
            sim.poke("limit", module.maximumClusters)
            sim.eval()
            try #require(sim.peekBool("in_ready"))
            sim.tick()
        }
        sim.poke("in_valid", false)
        sim.poke("start", true)
        sim.tick()
        sim.poke("start", false)
        var ids: [Int] = []
        sim.poke("out_ready", true)
        sim.poke("in_valid", true)
        for _ in 0..<(module.latency + 5) {
            sim.eval()
            if sim.peekBool("in_ready") { break }
            if sim.peekBool("out_valid") { ids.append(Int(sim.peek("out_bits_id"))) }
            sim.tick()
        }
        // The first cycle of the new stream: everything of the old one has left.
        #expect(sim.peekBool("in_ready") && ids == [0, 1, 2], "ids \(ids)")
        sim.poke("in_valid", false)
        sim.eval()
        #expect(sim.peekBool("idle") && sim.peek("count") == 0, "the new stream starts empty")
    }

    @Test("The module is lint-clean, latch-free and compiles under Icarus (K = 20)")
    func outputQuality() throws {
        try checkOutputQuality(try Elaborator.elaborate(Self.narrow))
    }

    /// The full-size shapes are lint-clean and compile under Icarus, and Yosys sees their node
    /// memories as memories (the full gate-level `synth` would map 190–480 kbit to flip-flops;
    /// K = 20 takes that path in `outputQuality`). Prints the cell counts docs/CTA-HARDWARE.md
    /// reports.
    @Test("Full shapes: lint-clean, Icarus, node memories stay memories in Yosys", arguments: ["paper", "radix4", "bytes"])
    func memoriesStayMemories(shape: String) throws {
        let module = Self.shape(shape)
        let synthesis = try MemoriesKeptSynthesis(try Elaborator.elaborate(module))
        let queueBits = module.capacity * (module.idBits + 1)
        let nodeBits = module.memories.reduce(0) { $0 + $1.words * $1.bits }
        #expect(synthesis.memoryCount == 2 * module.levels + 1)
        #expect(synthesis.memoryBits == nodeBits + queueBits)
        #expect(synthesis.keptMemories == 2 * module.levels + 1, "every memory survives synthesis as a memory")
        #expect(synthesis.flipFlops.reduce(0, +) < 400 * module.levels, "flip-flops: \(synthesis.flipFlops)")
    }
}
