/// DRAM as the golden model sees it: byte reads and writes at 64-bit addresses.
///
/// A read or write that the memory refuses (an AXI SLVERR or DECERR in the hardware) throws
/// `DMAFault`; the model turns it into `dmaReadFault` / `dmaWriteFault`. Any other error is a
/// problem of the memory itself and stops the model. Reads are `mutating` so that a memory
/// replaying a recorded trace can advance through it.
public protocol MainMemory {
    mutating func read(address: UInt64, count: Int) throws -> [UInt8]
    mutating func write(address: UInt64, bytes: [UInt8]) throws
    /// The rows an MVOUT would have written after its DMA write fault (the faulted row and the
    /// ones after it). The golden model writes none of them; a memory that replays a trace
    /// uses them to recognise the hardware's requests that were already on their way.
    mutating func abandoned(address: UInt64, bytes: [UInt8])
    /// Command `index` of the stream runs next: a memory that replays a trace answers its reads
    /// from that command's bursts only (its flight).
    mutating func willRun(command index: Int)
}

extension MainMemory {
    public mutating func abandoned(address: UInt64, bytes: [UInt8]) {}
    public mutating func willRun(command index: Int) {}
}

/// A DMA request that main memory refused.
public struct DMAFault: Error, Hashable, Sendable, CustomStringConvertible {
    public var isWrite: Bool
    public var address: UInt64
    public var count: Int

    public init(isWrite: Bool, address: UInt64, count: Int) {
        self.isWrite = isWrite
        self.address = address
        self.count = count
    }

    public var description: String {
        "DMA \(isWrite ? "write" : "read") of \(count) B at \(hexAddress(address)) refused"
    }
}

/// A deterministic byte store: never-written bytes read as 0; accesses that touch a faulting
/// range throw `DMAFault` and change nothing. Addresses wrap at 2^64, as a 64-bit adder does.
public struct SparseMemory: MainMemory, Hashable, Sendable {
    /// Accesses touching any of these byte ranges fail, as an AXI error response would.
    public var faultingRanges: [Range<UInt64>]

    private static let pageBytes = 4096
    private var pages: [UInt64: [UInt8]] = [:]

    public init(faultingRanges: [Range<UInt64>] = []) {
        self.faultingRanges = faultingRanges
    }

    public mutating func read(address: UInt64, count: Int) throws -> [UInt8] {
        try checkFaults(address: address, count: count, isWrite: false)
        return (0..<count).map { byte(at: address &+ UInt64($0)) }
    }

    public mutating func write(address: UInt64, bytes: [UInt8]) throws {
        try checkFaults(address: address, count: bytes.count, isWrite: true)
        for (offset, value) in bytes.enumerated() {
            let location = address &+ UInt64(offset)
            let page = location / UInt64(Self.pageBytes)
            pages[page, default: [UInt8](repeating: 0, count: Self.pageBytes)][Int(location % UInt64(Self.pageBytes))] = value
        }
    }

    /// The byte at `address`, 0 if never written.
    public func byte(at address: UInt64) -> UInt8 {
        pages[address / UInt64(Self.pageBytes)]?[Int(address % UInt64(Self.pageBytes))] ?? 0
    }

    private func checkFaults(address: UInt64, count: Int, isWrite: Bool) throws {
        guard !faultingRanges.isEmpty else { return }
        for offset in 0..<count {
            let location = address &+ UInt64(offset)
            if faultingRanges.contains(where: { $0.contains(location) }) {
                throw DMAFault(isWrite: isWrite, address: address, count: count)
            }
        }
    }
}
