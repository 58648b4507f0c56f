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

    public struct ReadPort: Aggregate {
        public var enable: Signal
        public var address: Signal
        public var response: Valid<Signal>

        public func map(_ f: FieldMapper) -> ReadPort {
            ReadPort(enable: f("en", enable), address: f("addr", address), response: f.flipped("resp", response))
        }
    }

    public struct WritePort: Aggregate {
        public var enable: Signal
        public var address: Signal
        public var data: Signal
        public var mask: Signal

        public func map(_ f: FieldMapper) -> WritePort {
            WritePort(enable: f("en", enable), address: f("addr", address), data: f("data", data), mask: f("mask", mask))
        }
    }

    public struct IO: Aggregate {
        public var read: ReadPort
        public var write: WritePort

        public func map(_ f: FieldMapper) -> IO {
            IO(read: f.input("read", read), write: f.input("write", write))
        }
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
