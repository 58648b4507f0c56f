import SpinelHDL

/// A run of consecutive full-width beats to move: the first beat's (bus-aligned) address and
/// the number of beats minus one.
@Bundle
public struct DMABeatRun: Aggregate {
    public var address: Signal
    @Name("beats_minus_one") public var beatsMinusOne: Signal

    public init(_ p: DMAParameters) {
        self.init(address: Signal(.uint(p.addressBits)), beatsMinusOne: Signal(.uint(p.beatCountBits)))
    }
}

/// Turns runs of beats into AXI4 INCR bursts of full-width beats, cut at every
/// `burstBoundaryBytes` boundary so that no burst crosses 4 KiB (nor exceeds 256 beats).
///
/// The AR/AW payload comes straight from registers. A run within one boundary takes one cycle;
/// a new run is accepted in the cycle the previous one's last burst leaves, so one burst per
/// cycle goes out while the subordinate keeps up.
public struct DMABurstSplitter: Module {
    public let parameters: DMAParameters

    public init(_ parameters: DMAParameters) { self.parameters = parameters }

    public var name: String { "DMABurstSplitter_\(parameters)" }

    @Bundle
    public struct IO: Aggregate {
        @Input public var run: Decoupled<DMABeatRun>
        @Output public var burst: Decoupled<AXI4Address>
    }

    public var io: IO { IO(run: Decoupled(DMABeatRun(parameters)), burst: Decoupled(AXI4Address(parameters.axi))) }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let p = parameters
        let beatBits = p.boundaryBits - p.offsetBits
        let countBits = max(p.beatCountBits, beatBits)

        let burstValid = m.register("issue_valid", .bool, reset: false)
        let burstAddress = m.register("issue_address", .uint(p.addressBits))
        let burstLength = m.register("issue_length", .uint(8))
        // The rest of a run that crosses a boundary, issued as the next burst.
        let restValid = m.register("rest_valid", .bool, reset: false)
        let restAddress = m.register("rest_address", .uint(p.addressBits))
        let restBeatsMinusOne = m.register("rest_beats_minus_one", .uint(p.beatCountBits))

        io.burst.valid.set(burstValid)
        io.burst.bits.id.set(p.constant(0, bits: p.idBits))
        io.burst.bits.address.set(burstAddress)
        io.burst.bits.length.set(burstLength)
        io.burst.bits.size.set(p.constant(p.offsetBits, bits: 3))
        io.burst.bits.burst.set(p.constant(AXI4.burstIncrement, bits: 2))

        let burstFree = m.wire("burst_free", .bool, default: !burstValid || io.burst.ready)
        io.run.ready.set(burstFree && !restValid)

        /// Offers the first burst of the run at `address` and keeps what lies past the boundary.
        func issue(address: Signal, beatsMinusOne: Signal) {
            // Beats from `address` to the boundary, minus one: the complement of the beat index.
            let boundaryBeatsMinusOne = (~address.bits(p.boundaryBits - 1, p.offsetBits)).resized(to: countBits)
            let wanted = beatsMinusOne.resized(to: countBits)
            let fits = wanted <= boundaryBeatsMinusOne
            burstValid.set(true)
            burstAddress.set(address)
            burstLength.set(mux(fits, wanted, boundaryBeatsMinusOne).resized(to: 8))
            restValid.set(!fits)
            restAddress.set(cat(address.bits(p.addressBits - 1, p.boundaryBits) +% 1, p.constant(0, bits: p.boundaryBits)))
            restBeatsMinusOne.set((wanted -% boundaryBeatsMinusOne -% 1).resized(to: p.beatCountBits))
        }

        m.when(burstFree) {
            m.when(restValid) {
                issue(address: restAddress, beatsMinusOne: restBeatsMinusOne)
            }.elsewhen(io.run.valid) {
                issue(address: io.run.bits.address, beatsMinusOne: io.run.bits.beatsMinusOne)
            }.otherwise {
                burstValid.set(false)
            }
        }
    }
}
