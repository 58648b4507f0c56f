/// One bank of synchronous SRAM: `rows` rows of `lanes` lanes of `laneWidth` bits, one read
/// port and one write port with a lane mask. Read data appears `readLatency` cycles after an
/// enabled read, with `read.resp.valid` marking it; a read and a write of the same row in one
/// cycle return the old data.
public struct SRAMBank: Module {
    public let rows: Int
    public let lanes: Int
    public let laneWidth: Int
    public let readLatency: Int

    public init(rows: Int, lanes: Int, laneWidth: Int, readLatency: Int = 1) {
        precondition(rows >= 1 && lanes >= 1 && laneWidth >= 1 && readLatency >= 1, "invalid SRAM bank shape")
        self.rows = rows
        self.lanes = lanes
        self.laneWidth = laneWidth
        self.readLatency = readLatency
    }

    public var name: String { "SRAMBank_\(rows)x\(lanes)x\(laneWidth)_l\(readLatency)" }
    public var rowWidth: Int { lanes * laneWidth }
    public var addressWidth: Int { HWType.addressWidth(for: rows) }

    @Bundle
    public struct ReadPort: Aggregate {
        @Name("en") public var enable: Signal
        @Name("addr") public var address: Signal
        @Flipped("resp") public var response: Valid<Signal>
    }

    @Bundle
    public struct WritePort: Aggregate {
        @Name("en") public var enable: Signal
        @Name("addr") public var address: Signal
        public var data: Signal
        public var mask: Signal
    }

    @Bundle
    public struct IO: Aggregate {
        @Input public var read: ReadPort
        @Input public var write: WritePort
    }

    public var io: IO {
        IO(read: ReadPort(enable: Signal(.bool), address: Signal(.uint(addressWidth)),
                          response: Valid(Signal(.uint(rowWidth)))),
           write: WritePort(enable: Signal(.bool), address: Signal(.uint(addressWidth)),
                            data: Signal(.uint(rowWidth)), mask: Signal(.uint(lanes))))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let array = m.memory("array", width: rowWidth, depth: rows)
        io.read.response.bits.set(array.read(address: io.read.address, enable: io.read.enable, latency: readLatency))
        io.read.response.valid.set(m.delay(io.read.enable, cycles: readLatency, name: "read_valid", reset: false))
        array.write(address: io.write.address, data: io.write.data, enable: io.write.enable, mask: io.write.mask)
    }
}
