/// One pipeline stage on a ready/valid path: a register that accepts a new payload whenever it
/// is empty or its payload leaves in the same cycle (full throughput, but `in.ready` depends
/// combinationally on `out.ready`).
public struct PipelineRegister: Module {
    public let payload: HWType

    public init(payload: HWType) { self.payload = payload }

    public var name: String { "PipelineRegister_\(payload.width)" }

    @Bundle
    public struct IO: Aggregate {
        @Input("in") public var input: Decoupled<Signal>
        @Output("out") public var output: Decoupled<Signal>
    }

    public var io: IO { IO(input: Decoupled(Signal(payload)), output: Decoupled(Signal(payload))) }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let valid = m.register("valid", .bool, reset: false)
        let data = m.register("data", payload)
        io.input.ready.set(!valid || io.output.ready)
        io.output.valid.set(valid)
        io.output.bits.set(data)
        m.when(io.input.ready) {
            valid.set(io.input.valid)
            data.set(io.input.bits)
        }
    }
}

/// A skid buffer: a two-entry stage whose `in.ready` comes straight from a register, cutting
/// the combinational ready path between producer and consumer at full throughput. When the
/// consumer stalls, the payload that was already on its way lands in the skid register.
public struct SkidBuffer: Module {
    public let payload: HWType

    public init(payload: HWType) { self.payload = payload }

    public var name: String { "SkidBuffer_\(payload.width)" }

    public var io: PipelineRegister.IO { PipelineRegister(payload: payload).io }

    public func build(_ m: ModuleBuilder, _ io: PipelineRegister.IO) {
        let headValid = m.register("head_valid", .bool, reset: false)
        let headData = m.register("head_data", payload)
        let skidValid = m.register("skid_valid", .bool, reset: false)
        let skidData = m.register("skid_data", payload)

        io.input.ready.set(!skidValid)
        io.output.valid.set(headValid)
        io.output.bits.set(headData)

        let outputFree = m.wire("out_free", .bool, default: !headValid || io.output.ready)
        m.when(outputFree) {
            // The output register takes the oldest payload: the skid one, else the arriving one.
            headValid.set(skidValid || io.input.valid)
            headData.set(mux(skidValid, skidData, io.input.bits))
            // The skid payload moved on; nothing arrived this cycle (in.ready was low).
            m.when(skidValid) { skidValid.set(false) }
        }.otherwise {
            m.when(io.input.fire) {
                skidValid.set(true)
                skidData.set(io.input.bits)
            }
        }
    }
}
