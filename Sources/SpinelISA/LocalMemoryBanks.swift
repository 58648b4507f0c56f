/// How a local memory's rows map onto its banks: a bank is a contiguous block of rows, or
/// (`stripe` > 0) stripes of `stripe` rows go round the banks. The hardware's `BankedMemory` is
/// built from it and the timing model finds bank conflicts with it.
public struct LocalMemoryBanks: Hashable, Sendable {
    public let rows: Int
    public let banks: Int
    /// Rows per stripe when stripes go round the banks; 0: a bank is a contiguous block of rows.
    public let stripe: Int

    public init(rows: Int, banks: Int, stripe: Int = 0) {
        self.rows = rows
        self.banks = banks
        self.stripe = banks == 1 ? 0 : stripe
    }

    public var rowsPerBank: Int { rows / banks }

    /// The bank of `row`.
    public func bank(row: Int) -> Int {
        stripe == 0 ? row / rowsPerBank : (row / stripe) % banks
    }
}

extension AcceleratorParameters {
    /// The scratchpad's banks: contiguous blocks of rows.
    public var scratchpadBanks: LocalMemoryBanks { LocalMemoryBanks(rows: spRows, banks: config.spBanks) }

    /// The accumulator's banks: stripes of DIM rows (one tile) go round the banks when the sizes
    /// allow it.
    public var accumulatorBanks: LocalMemoryBanks {
        let banks = config.accBanks
        let striped = banks & (banks - 1) == 0 && dim & (dim - 1) == 0 && (accRows / banks) % dim == 0
        return LocalMemoryBanks(rows: accRows, banks: banks, stripe: striped ? dim : 0)
    }
}
