import SpinelHDL

/// A row write: `data` goes to the lanes whose `mask` bit is set; with `accumulate`, each such
/// lane is added to the stored value (wrapping) instead of replacing it.
@Bundle
public struct RowWrite: Aggregate {
    public var row: Signal
    public var data: Signal
    public var mask: Signal
    public var accumulate: Signal
}

extension RowWrite {
    /// A template for a memory of `rows` rows of `lanes` × `laneWidth` bits.
    public static func template(rows: Int, lanes: Int, laneWidth: Int) -> RowWrite {
        RowWrite(row: Signal(.uint(HWType.addressWidth(for: rows))), data: Signal(.uint(lanes * laneWidth)),
                 mask: Signal(.uint(lanes)), accumulate: Signal(.bool))
    }
}

extension RowReadPort {
    /// A template for a memory of `rows` rows of `lanes` × `laneWidth` bits.
    public static func template(rows: Int, lanes: Int, laneWidth: Int) -> RowReadPort {
        RowReadPort(request: Decoupled(Signal(.uint(HWType.addressWidth(for: rows)))), response: Valid(Signal(.uint(lanes * laneWidth))))
    }
}

/// One client's read port: a request carries the row; the data comes back exactly
/// `readLatency` cycles after the request fired (the client must take it then).
@Bundle
public struct RowReadPort: Aggregate {
    @Name("req") public var request: Decoupled<Signal>
    @Flipped("resp") public var response: Valid<Signal>
}

/// The scratchpad or the accumulator: `banks` single-read, single-write SRAM banks of `lanes`
/// lanes each, shared by several clients.
///
/// Each cycle, each bank serves at most one read and one write. Clients are in priority order
/// (index 0 first): a request waits while a higher-priority client uses the same bank port. A
/// row's bank is its high bits, or, with `stripe` rows per stripe, stripes go round the banks
/// (`LocalMemoryBanks.bank(row:)`): the accumulator stripes by DIM rows, so that neighbouring tiles of C sit in
/// different banks and an mvout of one reads while the array accumulates onto the next. Writes to an accumulating memory pass through a
/// `readLatency`-deep read-modify-write pipeline, which owns the bank's write port and takes
/// its read port first, and an accumulating write waits while an earlier write to the same row
/// is still in the pipeline, so back-to-back accumulation onto one row never reads a stale row.
public struct BankedMemory: Module {
    public let rows: Int
    public let banks: Int
    public let lanes: Int
    public let laneWidth: Int
    public let readClients: Int
    public let writeClients: Int
    public let accumulating: Bool
    /// Rows per stripe when stripes go round the banks; 0: a bank is a contiguous block of rows.
    public let stripe: Int
    public let readLatency = 1

    public init(rows: Int, banks: Int, lanes: Int, laneWidth: Int, readClients: Int, writeClients: Int, accumulating: Bool,
                stripe: Int = 0) {
        precondition(banks >= 1 && rows % banks == 0 && (rows / banks) & (rows / banks - 1) == 0,
                     "rows per bank must be a power of two")
        precondition(stripe == 0 || (stripe & (stripe - 1) == 0 && banks & (banks - 1) == 0 && (rows / banks) % stripe == 0),
                     "a stripe must be a power of two dividing a bank, with a power-of-two number of banks")
        self.stripe = banks == 1 ? 0 : stripe
        self.rows = rows
        self.banks = banks
        self.lanes = lanes
        self.laneWidth = laneWidth
        self.readClients = readClients
        self.writeClients = writeClients
        self.accumulating = accumulating
    }

    public var name: String {
        "\(accumulating ? "Accumulator" : "Scratchpad")_\(banks)x\(rows / banks)x\(lanes)x\(laneWidth)_r\(readClients)w\(writeClients)"
            + (stripe == 0 ? "" : "_s\(stripe)")
    }

    public var rowBits: Int { HWType.addressWidth(for: rows) }
    public var rowsPerBank: Int { rows / banks }
    public var bankRowBits: Int { HWType.addressWidth(for: rowsPerBank) }
    public var rowWidth: Int { lanes * laneWidth }

    @Bundle
    public struct IO: Aggregate {
        @Input("read") public var reads: [RowReadPort]
        @Input("write") public var writes: [Decoupled<RowWrite>]
        /// A write is still in the read-modify-write pipeline.
        @Output("writes_pending") public var writesPending: Signal
    }

    public var io: IO {
        IO(reads: (0..<readClients).map { _ in .template(rows: rows, lanes: lanes, laneWidth: laneWidth) },
           writes: (0..<writeClients).map { _ in Decoupled(.template(rows: rows, lanes: lanes, laneWidth: laneWidth)) },
           writesPending: Signal(.bool))
    }

    var stripeBits: Int { stripe.trailingZeroBitCount }
    var bankBits: Int { banks.trailingZeroBitCount }

    func bank(of row: Signal) -> Signal {
        if banks == 1 { return Signal.literal(0, .uint(1)) }
        return stripe == 0 ? row.bits(rowBits - 1, bankRowBits) : row.bits(stripeBits + bankBits - 1, stripeBits)
    }

    func bankRow(of row: Signal) -> Signal {
        if stripe == 0 { return row.bits(bankRowBits - 1, 0) }
        // One stripe per bank (rows = stripe · banks): no bits above the bank.
        if rowBits == stripeBits + bankBits { return row.bits(stripeBits - 1, 0) }
        let high = row.bits(rowBits - 1, stripeBits + bankBits)
        return stripeBits == 0 ? high : cat(high, row.bits(stripeBits - 1, 0))
    }

    func isBank(_ row: Signal, _ index: Int) -> Signal {
        banks == 1 ? true : bank(of: row) === Signal(index)
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let bankModule = SRAMBank(rows: rowsPerBank, lanes: lanes, laneWidth: laneWidth, readLatency: readLatency)
        let sram = (0..<banks).map { m.instance("bank_\($0)", bankModule) }

        // The read-modify-write stage of each bank (accumulating memories): a write accepted
        // in one cycle is written `readLatency` (= 1) cycles later, with the old row in hand.
        struct Stage { var valid: Signal; var write: RowWrite }
        let stages: [Stage] = accumulating ? (0..<banks).map { index in
            Stage(valid: m.register("rmw_\(index)_valid", .bool, reset: false),
                  write: RowWrite(row: m.register("rmw_\(index)_row", .uint(rowBits)),
                                  data: m.register("rmw_\(index)_data", .uint(rowWidth)),
                                  mask: m.register("rmw_\(index)_mask", .uint(lanes)),
                                  accumulate: m.register("rmw_\(index)_accumulate", .bool)))
        } : []
        /// An accumulating write must not read a row whose previous write has not landed.
        func rowInFlight(_ row: Signal) -> Signal {
            stages.reduce(Signal(false)) { $0 || ($1.valid && $1.write.row === row) }
        }

        // Writes: per bank, the highest-priority client writing to it wins.
        var writeTaken = Array(repeating: Signal(false), count: banks)
        var accepted: [(valid: Signal, write: RowWrite)] = Array(repeating: (Signal(false), io.writes[0].bits), count: banks)
        for (client, port) in io.writes.enumerated() {
            var blocked: Signal = accumulating ? port.bits.accumulate && rowInFlight(port.bits.row) : false
            for index in 0..<banks {
                blocked = blocked || (isBank(port.bits.row, index) && writeTaken[index])
            }
            let ready = m.wire("write_\(client)_ready_internal", .bool, default: !blocked)
            port.ready.set(ready)
            for index in 0..<banks {
                let wants = port.valid && isBank(port.bits.row, index)
                accepted[index] = (accepted[index].valid || (wants && ready),
                                   mapWrite(writeTaken[index], keep: accepted[index].write, take: port.bits))
                writeTaken[index] = writeTaken[index] || wants
            }
        }

        // Reads: read-modify-write first, then clients by priority.
        var readTaken = Array(repeating: Signal(false), count: banks)
        var readAddress = Array(repeating: Signal.literal(0, .uint(bankRowBits)), count: banks)
        for index in 0..<banks {
            let write = accepted[index].write
            if accumulating {
                let stage = stages[index]
                let needsOld = accepted[index].valid && write.accumulate
                readTaken[index] = needsOld
                readAddress[index] = mux(needsOld, bankRow(of: write.row), readAddress[index])
                stage.valid.set(accepted[index].valid)
                m.when(accepted[index].valid) { m.connect(stage.write, from: write) }
                let old = sram[index].read.response.bits
                let lanesOut = (0..<lanes).map { lane -> Signal in
                    let high = (lane + 1) * laneWidth - 1, low = lane * laneWidth
                    let sum = stage.write.data.bits(high, low) +% old.bits(high, low)
                    return mux(stage.write.accumulate, sum, stage.write.data.bits(high, low))
                }
                sram[index].write.enable.set(stage.valid)
                sram[index].write.address.set(bankRow(of: stage.write.row))
                sram[index].write.data.set(cat(lanesOut.reversed()))
                sram[index].write.mask.set(stage.write.mask)
            } else {
                sram[index].write.enable.set(accepted[index].valid)
                sram[index].write.address.set(bankRow(of: write.row))
                sram[index].write.data.set(write.data)
                sram[index].write.mask.set(write.mask)
            }
        }
        io.writesPending.set(stages.reduce(Signal(false)) { $0 || $1.valid })

        var readEnable = readTaken
        for (client, port) in io.reads.enumerated() {
            var blocked: Signal = false
            for index in 0..<banks {
                blocked = blocked || (isBank(port.request.bits, index) && readTaken[index])
            }
            let ready = m.wire("read_\(client)_ready_internal", .bool, default: !blocked)
            port.request.ready.set(ready)
            for index in 0..<banks {
                let wants = port.request.valid && isBank(port.request.bits, index)
                readAddress[index] = mux(wants && ready, bankRow(of: port.request.bits), readAddress[index])
                readEnable[index] = readEnable[index] || wants
                readTaken[index] = readTaken[index] || wants
            }
            // The response comes from the bank read `readLatency` cycles ago.
            let fired = m.delay(port.request.valid && ready, cycles: readLatency, name: "read_\(client)_fired", reset: false)
            let bankIndex = m.delay(bank(of: port.request.bits), cycles: readLatency, name: "read_\(client)_bank")
            port.response.valid.set(fired)
            port.response.bits.set(select(sram.map { $0.read.response.bits }, at: bankIndex))
        }
        for index in 0..<banks {
            sram[index].read.enable.set(readEnable[index])
            sram[index].read.address.set(readAddress[index])
        }
    }

    /// The write a bank takes: the one already chosen, else this client's.
    private func mapWrite(_ taken: Signal, keep: RowWrite, take: RowWrite) -> RowWrite {
        RowWrite(row: mux(taken, keep.row, take.row), data: mux(taken, keep.data, take.data),
                 mask: mux(taken, keep.mask, take.mask), accumulate: mux(taken, keep.accumulate, take.accumulate))
    }
}
