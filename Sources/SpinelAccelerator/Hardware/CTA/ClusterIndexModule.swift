import SpinelHDL

/// The cluster index module of compressed-token attention (docs/CTA-HARDWARE.md, "Cluster index
/// module"): hash codes stream in, one token per cycle, and each token's cluster id streams out
/// in order — ids numbered by first appearance of each code, exactly as `ClusterIndex.assign`.
///
/// Structure: the cluster tree, one level per digit of the code (by default a digit is a whole
/// element, as in the paper). Level j maps (node at depth j, digit j) to a child at depth j + 1;
/// the children of the last level are the cluster ids.
/// Each level has two synchronous memories, and a token spends two cycles on each:
/// - `children_j`, indexed by the key (node, digit): the child allocated for that key;
/// - `owners_j`, indexed by child: the key that allocated it.
/// Children are allocated in order (0, 1, …), so an entry of `children_j` is current only if its
/// child is below the level's allocation count and `owners_j` names the same key back. Entries
/// left by an earlier stream fail that check, and a new stream starts by resetting the counts:
/// no memory is ever cleared.
///
/// Thread j of the paper is the token in level j. A younger token reads `children_j` two cycles
/// before it decides, so it may miss the allocations of the two tokens ahead of it at that level,
/// and it reads `owners_j` one cycle before deciding, so it may miss the one ahead; both are
/// forwarded from the level's `last` and `before_last` registers.
///
/// Overflow: a token whose code needs cluster number `limit` (or a node beyond a level's
/// capacity, which implies it) gets no id, nor does any later token of the stream: their outputs
/// carry `overflowed`, `overflow` rises and `overflow_token` holds the first one's index. Every
/// token still produces an output, so a consumer counting ids never hangs.
///
/// Ports:
/// - `in`: the l signed hash elements of one token; `out`: its cluster id, or `overflowed`.
/// - `limit`: clusters allowed in this stream (at most `maximumClusters`), held during a stream.
/// - `start`: begins a new stream once every id of the current one has left (`in.ready` is low
///   until then); the state after reset is a new stream.
/// - `count`: clusters so far; `overflow`, `overflow_token`; `idle`: no token in flight.
public struct ClusterIndexModule: Module, Sendable {
    /// Elements per hash code (l).
    public let hashLength: Int
    /// Bits of one signed hash element.
    public let elementBits: Int
    /// Tokens in a stream at most (n): the width of `overflow_token`.
    public let maximumTokens: Int
    /// Clusters at most (K): the size of the tree's levels.
    public let maximumClusters: Int
    /// Bits of the code one tree level consumes (a divisor of `elementBits`; all of an element
    /// by default). Smaller digits make more, narrower levels: a node has 2^digitBits child
    /// slots, so the memories shrink (from K · 256 slots per level at 8-bit elements) while the
    /// latency grows.
    public let digitBits: Int

    public init(hashLength: Int, elementBits: Int, digitBits: Int? = nil, maximumTokens: Int, maximumClusters: Int) {
        precondition(hashLength >= 1 && elementBits >= 1 && elementBits <= 16, "a hash code has at least one element of 1 to 16 bits")
        precondition(maximumTokens >= 1 && maximumClusters >= 1, "a cluster index needs room for one token and one cluster")
        let digitBits = digitBits ?? elementBits
        precondition(digitBits >= 1 && elementBits % digitBits == 0, "a digit is a divisor of an element's bits")
        self.hashLength = hashLength
        self.elementBits = elementBits
        self.digitBits = digitBits
        self.maximumTokens = maximumTokens
        self.maximumClusters = maximumClusters
    }

    public var name: String {
        "ClusterIndexModule_l\(hashLength)_b\(elementBits)" + (digitBits == elementBits ? "" : "_d\(digitBits)")
            + "_n\(maximumTokens)_k\(maximumClusters)"
    }

    /// Levels of the tree: one per digit of the code.
    public var levels: Int { hashLength * (elementBits / digitBits) }

    /// Cycles from a token's `in.fire` to its id on `out` (with `out.ready` high): two per
    /// level, one in the output queue.
    public var latency: Int { PipelineTiming.clusterIndexLatency(levels: levels) }

    /// Tokens accepted and not yet taken from `out`: the output queue holds them all, so the
    /// pipeline never stalls (with `out.ready` high, `latency` are in flight, and one more
    /// keeps `in.ready` high).
    public var capacity: Int { latency + 1 }

    /// Nodes at depth `depth` at most (depth 0 is the root; depth `levels` holds the clusters):
    /// the distinct prefixes of `depth` digits, and never more than the clusters.
    public func nodes(atDepth depth: Int) -> Int {
        var prefixes = 1
        for _ in 0..<depth where prefixes < maximumClusters {
            prefixes <<= digitBits
        }
        return min(prefixes, maximumClusters)
    }

    /// Bits of a node number at `depth`.
    func nodeBits(atDepth depth: Int) -> Int { HWType.addressWidth(for: nodes(atDepth: depth)) }

    /// Bits of level `level`'s key: the parent node (none at the root) and the digit.
    func keyBits(level: Int) -> Int { (level == 0 ? 0 : nodeBits(atDepth: level)) + digitBits }

    public var idBits: Int { HWType.addressWidth(for: maximumClusters) }
    public var countBits: Int { HWType.addressWidth(for: maximumClusters + 1) }
    public var tokenBits: Int { HWType.addressWidth(for: maximumTokens) }

    /// Level `level`'s memories as (name, words, bits), for documentation and reports.
    public var memories: [(name: String, words: Int, bits: Int)] {
        (0..<levels).flatMap { level in
            [("children_\(level)", nodes(atDepth: level) << digitBits, nodeBits(atDepth: level + 1)),
             ("owners_\(level)", nodes(atDepth: level + 1), keyBits(level: level))]
        }
    }

    /// One token's cluster id, or none.
    @Bundle
    public struct ClusterId: Aggregate {
        public var id: Signal
        /// This token or an earlier one of the stream found no free cluster: `id` is 0.
        public var overflowed: Signal
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var start: Signal
        @Input public var limit: Signal
        @Input("in") public var codes: Decoupled<[Signal]>
        @Output("out") public var ids: Decoupled<ClusterId>
        @Output public var count: Signal
        @Output public var overflow: Signal
        @Output("overflow_token") public var overflowToken: Signal
        @Output public var idle: Signal
    }

    public var io: IO {
        IO(start: Signal(.bool), limit: Signal(.uint(countBits)),
           codes: Decoupled((0..<hashLength).map { _ in Signal(.sint(elementBits)) }),
           ids: Decoupled(ClusterId(id: Signal(.uint(idBits)), overflowed: Signal(.bool))),
           count: Signal(.uint(countBits)), overflow: Signal(.bool), overflowToken: Signal(.uint(tokenBits)), idle: Signal(.bool))
    }

    /// A token as it enters a level: the node it stands on (none at the root) and the digits
    /// still to use, the first one this level's.
    struct Token {
        var valid: Signal
        /// It found no room at an earlier level (none at the root): it allocates nothing more.
        var dead: Signal?
        var node: Signal?
        var elements: [Signal]
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let outstanding = m.register("outstanding", .uint(HWType.addressWidth(for: capacity + 1)), reset: 0)
        let startPending = m.register("start_pending", .bool, reset: false)
        let idle = m.named("idle_now", outstanding === 0)
        let clear = m.named("clear", (io.start || startPending) && idle)
        m.when(io.start && !idle) { startPending.set(true) }
        m.when(clear) { startPending.set(false) }
        io.idle.set(idle)
        io.codes.ready.set(outstanding < Signal(capacity) && !io.start && !startPending)

        // The digits of the code, most significant first: equal codes have equal digits.
        let perElement = elementBits / digitBits
        let digits = io.codes.bits.flatMap { element in
            (0..<perElement).map { k in
                element.asUInt.bits(elementBits - 1 - k * digitBits, elementBits - (k + 1) * digitBits)
            }
        }
        var token = Token(valid: io.codes.fire, dead: nil, node: nil, elements: digits)
        var leafCount: Signal?
        for level in 0..<levels {
            let (next, allocated) = buildLevel(m, level: level, token: token, limit: io.limit, clear: clear)
            token = next
            leafCount = allocated
        }

        // The last level's child is the cluster id; after the first overflow no token has one.
        let sticky = m.register("overflowed_seen", .bool, reset: false)
        let index = m.register("token_index", .uint(tokenBits), reset: 0)
        let firstOverflow = m.register("first_overflow", .uint(tokenBits), reset: 0)
        let dead = token.dead!
        let overflowed = m.named("token_overflowed", dead || sticky)
        m.when(token.valid) {
            index.set(index +% 1)
            m.when(dead && !sticky) {
                sticky.set(true)
                firstOverflow.set(index)
            }
        }
        m.when(clear) {
            sticky.set(false)
            index.set(0)
            firstOverflow.set(0)
        }

        let queue = m.instance("pending", Queue(entries: capacity, payload: .uint(idBits + 1)))
        queue.enq.valid.set(token.valid)
        queue.enq.bits.set(cat(overflowed, mux(overflowed, 0, token.node!)))
        io.ids.valid.set(queue.deq.valid)
        io.ids.bits.overflowed.set(queue.deq.bits[idBits])
        io.ids.bits.id.set(queue.deq.bits.bits(idBits - 1, 0))
        queue.deq.ready.set(io.ids.ready)

        m.when(io.codes.fire =/= io.ids.fire) {
            outstanding.set(mux(io.codes.fire, outstanding +% 1, outstanding -% 1))
        }
        io.count.set(leafCount!.extended(to: countBits))
        io.overflow.set(sticky)
        io.overflowToken.set(firstOverflow)
    }

    /// Level `level` of the tree: the token's key is looked up in `children` (first cycle),
    /// the child's owner in `owners` (second cycle), then the token takes the existing child
    /// or allocates the next one. Returns the token on the child (combinational, in the cycle
    /// the level decides) and the level's allocation count.
    func buildLevel(_ m: ModuleBuilder, level: Int, token: Token, limit: Signal, clear: Signal) -> (Token, Signal) {
        let prefix = "level\(level)"
        let childBits = nodeBits(atDepth: level + 1)
        let childCapacity = nodes(atDepth: level + 1)
        let isLeaf = level == levels - 1
        func key(_ node: Signal?, _ digit: Signal) -> Signal {
            node.map { cat($0, digit) } ?? digit
        }
        let children = m.memory("children_\(level)", width: childBits, depth: nodes(atDepth: level) << digitBits)
        let owners = m.memory("owners_\(level)", width: keyBits(level: level), depth: childCapacity)

        // First cycle: the key goes to `children`. Second: the candidate child to `owners`.
        let candidate = children.read(address: key(token.node, token.elements[0]), enable: token.valid, latency: 1)
        let fetched = stage(m, "\(prefix)_fetch", token)
        let owner = owners.read(address: candidate, enable: fetched.valid, latency: 1)
        let checked = stage(m, "\(prefix)_check", fetched)
        let checkedCandidate = m.delay(candidate, name: "\(prefix)_candidate")

        // Third cycle (the next level's first): decide.
        let thisKey = m.named("\(prefix)_key", key(checked.node, checked.elements[0]))
        let allocatedCount = m.register("\(prefix)_allocated", .uint(HWType.addressWidth(for: childCapacity + 1)), reset: 0)
        let last = m.register("\(prefix)_last", Decision(keyBits: keyBits(level: level), childBits: childBits))
        let lastValid = m.register("\(prefix)_last_valid", .bool, reset: false)
        let lastAllocated = m.register("\(prefix)_last_allocated", .bool)
        let beforeLast = m.register("\(prefix)_before_last", Decision(keyBits: keyBits(level: level), childBits: childBits))
        let beforeLastValid = m.register("\(prefix)_before_last_valid", .bool, reset: false)

        let forwardLast = m.named("\(prefix)_forward_last", lastValid && last.key === thisKey)
        let forwardBeforeLast = m.named("\(prefix)_forward_before_last", beforeLastValid && beforeLast.key === thisKey)
        // `owners` was read before the token ahead wrote its new child there.
        let candidateJustTaken = lastValid && lastAllocated && last.child === checkedCandidate
        let found = m.named("\(prefix)_found", checkedCandidate < allocatedCount && owner === thisKey && !candidateJustTaken)
        let known = m.named("\(prefix)_known", forwardLast || forwardBeforeLast || found)
        let levelFull = allocatedCount === Signal(childCapacity)
        let full = m.named("\(prefix)_full", isLeaf ? levelFull || allocatedCount >= limit : levelFull)
        let alive = checked.dead.map { checked.valid && !$0 } ?? checked.valid
        let allocate = m.named("\(prefix)_allocate", alive && !known && !full)
        let dead = m.named("\(prefix)_dead", checked.dead.map { $0 || (!known && full) } ?? (!known && full))
        let child = m.named("\(prefix)_child",
                            mux(forwardLast, last.child,
                                mux(forwardBeforeLast, beforeLast.child,
                                    mux(found, checkedCandidate, allocatedCount.truncated(to: childBits)))))

        children.write(address: thisKey, data: child, enable: allocate)
        owners.write(address: child, data: thisKey, enable: allocate)
        m.when(allocate) { allocatedCount.set(allocatedCount +% 1) }
        lastValid.set(checked.valid && !dead)
        last.key.set(thisKey)
        last.child.set(child)
        lastAllocated.set(allocate)
        beforeLastValid.set(lastValid)
        m.connect(beforeLast, from: last)
        m.when(clear) {
            allocatedCount.set(0)
            lastValid.set(false)
            beforeLastValid.set(false)
        }
        let next = Token(valid: checked.valid, dead: dead, node: child, elements: Array(checked.elements.dropFirst()))
        return (next, allocatedCount)
    }

    /// What a level decided for one token, kept two cycles for the tokens behind it.
    @Bundle
    struct Decision: Aggregate {
        var key: Signal
        var child: Signal

        init(keyBits: Int, childBits: Int) {
            self.init(key: Signal(.uint(keyBits)), child: Signal(.uint(childBits)))
        }
    }

    /// `token` one cycle later, in registers named `name_…` (only `valid` is reset).
    func stage(_ m: ModuleBuilder, _ name: String, _ token: Token) -> Token {
        let valid = m.delay(token.valid, name: "\(name)_valid", reset: false)
        let dead = token.dead.map { m.delay($0, name: "\(name)_dead") }
        let node = token.node.map { m.delay($0, name: "\(name)_node") }
        let elements = m.register("\(name)_code", token.elements)
        m.connect(elements, from: token.elements)
        return Token(valid: valid, dead: dead, node: node, elements: elements)
    }
}
