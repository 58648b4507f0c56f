import SpinelHDL

/// The accelerator of one configuration (docs/ARCHITECTURE.md, "Block diagram"), named after it.
///
/// command port → LoopUnroller → Dispatcher → ReservationStation → LoadController / ExecuteController /
/// StoreController → scratchpad and accumulator → DMAEngine → AXI4. Ports are the contract of
/// docs/MICROARCHITECTURE.md, "Top-level ports", which the generated C harness drives.
public struct Accelerator: Module {
    public let parameters: AcceleratorParameters

    public init(_ parameters: AcceleratorParameters) { self.parameters = parameters }

    public var name: String { parameters.name }

    public var dma: DMAParameters { DMAParameters(parameters, tagBits: 1) }

    @Bundle
    public struct IO: Aggregate {
        @Input("cmd") public var command: Decoupled<RoCCCommand>
        @Output public var busy: Signal
        @Output public var error: Signal
        @Output("error_info") public var errorInfo: Signal
        @Output public var cycles: Signal
        @Output("config_hash") public var configHash: Signal
        @Output("retire_dispatch") public var retireDispatch: Valid<Signal>
        @Output("retire_ld") public var retireLoad: Valid<Signal>
        @Output("retire_ex") public var retireExecute: Valid<Signal>
        @Output("retire_st") public var retireStore: Valid<Signal>
        /// LOOP_WS and its configuration commands.
        @Output("retire_loop") public var retireLoop: Valid<Signal>
        /// A COUNTER's value, in the cycle it retires on `retire_dispatch` (the harness returns it in rd).
        @Output("resp") public var response: Valid<CounterResponse>
        @Output public var axi: AXI4Bundle
    }

    public var io: IO {
        IO(command: Decoupled(RoCCCommand()), busy: Signal(.bool), error: Signal(.bool), errorInfo: Signal(.uint(64)),
           cycles: Signal(.uint(64)), configHash: Signal(.uint(64)),
           retireDispatch: Valid(Signal(.uint(32))), retireLoad: Valid(Signal(.uint(32))),
           retireExecute: Valid(Signal(.uint(32))), retireStore: Valid(Signal(.uint(32))), retireLoop: Valid(Signal(.uint(32))), response: Valid(CounterResponse()),
           axi: AXI4Bundle(dma.axi))
    }

    public func build(_ m: ModuleBuilder, _ io: IO) {
        let unroller = m.instance("unroller", LoopUnroller(parameters))
        let dispatcher = m.instance("dispatcher", Dispatcher(parameters))
        let station = m.instance("station", ReservationStation(parameters))
        let load = m.instance("load", LoadController(parameters, dma: dma))
        let execute = m.instance("execute", ExecuteController(parameters))
        let store = m.instance("store", StoreController(parameters, dma: dma))
        // With a `cta` section, the CTA commands share the store lane (CTAController.swift).
        let cta = parameters.config.cta == nil ? nil : m.instance("cta", CTAController(parameters, dma: dma))
        let engine = m.instance("dma", DMAEngine(dma))
        // Clients: reads (execute, store), writes (execute, load); the array cannot wait, so it comes first.
        // The execute controller reads the scratchpad on two ports (A; the other operands).
        let scratchpad = m.instance("scratchpad", parameters.scratchpadMemory)
        let accumulator = m.instance("accumulator", parameters.accumulatorMemory)

        m.connect(unroller.command, from: io.command)
        m.connect(dispatcher.command, from: unroller.issued)
        // The unroller's mvouts go only when the store queue takes them at once.
        unroller.storeRoom.set(station.allocate[2].ready)

        // Dispatcher → reservation station (load and store entries carry no PRELOAD).
        func allocation(_ routed: Decoupled<RoutedCommand>, into port: Decoupled<ExecuteCommand>) {
            port.valid.set(routed.valid)
            routed.ready.set(port.ready)
            m.connect(port.bits.command, from: routed.bits)
            port.bits.preloadRs1.set(Signal.literal(0, .uint(64)))
            port.bits.preloadRs2.set(Signal.literal(0, .uint(64)))
        }
        allocation(dispatcher.load, into: station.allocate[0])
        m.connect(station.allocate[1], from: dispatcher.execute)
        allocation(dispatcher.store, into: station.allocate[2])
        m.connect(station.footprint, from: dispatcher.footprint)

        // Reservation station → controllers.
        func issue(_ port: Decoupled<ExecuteCommand>, to controller: Decoupled<RoutedCommand>) {
            controller.valid.set(port.valid)
            port.ready.set(controller.ready)
            m.connect(controller.bits, from: port.bits.command)
        }
        issue(station.issue[0], to: load.command)
        m.connect(execute.command, from: station.issue[1])
        m.connect(execute.footprint, from: station.executeFootprint)
        if let cta {
            // One of the two at a time, so that the lane retires in order: a CTA command waits until
            // the store controller has nothing in flight, and the store controller while one runs.
            let lane = station.issue[2]
            let isCTA = m.named("store_lane_cta", CTAFields.functsInHardware.map { lane.bits.command.command.funct === Signal($0) }.reduce(Signal(false)) { $0 || $1 })
            store.command.valid.set(lane.valid && !isCTA && !cta.busy)
            m.connect(store.command.bits, from: lane.bits.command)
            cta.command.valid.set(lane.valid && isCTA && !store.busy)
            m.connect(cta.command.bits, from: lane.bits.command)
            lane.ready.set(mux(isCTA, cta.command.ready && !store.busy, store.command.ready && !cta.busy))
        } else {
            issue(station.issue[2], to: store.command)
        }
        station.retire[0].set(load.retire)
        station.retire[1].set(execute.retire)
        let storeLaneRetire = cta.map { m.named("store_lane_retire", store.retire || $0.retire) } ?? store.retire
        station.retire[2].set(storeLaneRetire)

        // Memories.
        m.connect(scratchpad.reads[0], from: execute.scratchpadReads[0])
        m.connect(scratchpad.reads[1], from: execute.scratchpadReads[1])
        m.connect(scratchpad.writes[0], from: execute.scratchpadWrite)
        m.connect(scratchpad.writes[1], from: load.scratchpadWrite)
        // The store lane's ports, shared by the controller that runs (never both): a read port of
        // each memory; the CTA controller's own writes come last (CTA_STATUS to the accumulator,
        // CTA_AGGREGATE to the scratchpad).
        func share(_ port: RowReadPort, _ store: RowReadPort, _ cta: RowReadPort) {
            let ctaReads = cta.request.valid
            port.request.valid.set(store.request.valid || ctaReads)
            port.request.bits.set(mux(ctaReads, cta.request.bits, store.request.bits))
            for client in [store, cta] {
                client.request.ready.set(port.request.ready)
                client.response.valid.set(port.response.valid)
                client.response.bits.set(port.response.bits)
            }
        }
        if let cta {
            share(scratchpad.reads[2], store.scratchpadRead, cta.scratchpadRead)
            m.connect(scratchpad.writes[2], from: cta.scratchpadWrite)
        } else {
            m.connect(scratchpad.reads[2], from: store.scratchpadRead)
        }
        m.connect(accumulator.reads[0], from: execute.accumulatorRead)
        if let cta {
            share(accumulator.reads[1], store.accumulatorRead, cta.accumulatorRead)
            m.connect(accumulator.writes[2], from: cta.accumulatorWrite)
        } else {
            m.connect(accumulator.reads[1], from: store.accumulatorRead)
        }
        m.connect(accumulator.writes[0], from: execute.accumulatorWrite)
        m.connect(accumulator.writes[1], from: load.accumulatorWrite)

        // DMA.
        m.connect(engine.readRequest, from: load.readRequest)
        m.connect(load.readResponse, from: engine.readResponse)
        if let cta {
            // The DMA writer serves the store lane's controller that runs (CTA_GATHER's token rows
            // while the CTA controller is busy; the store controller has nothing in flight then).
            let gathering = cta.busy
            engine.writeRequest.valid.set(mux(gathering, cta.writeRequest.valid, store.writeRequest.valid))
            let request = engine.writeRequest.bits, ours = cta.writeRequest.bits, theirs = store.writeRequest.bits
            request.address.set(mux(gathering, ours.address, theirs.address))
            request.bytes.set(mux(gathering, ours.bytes, theirs.bytes))
            request.data.set(mux(gathering, ours.data, theirs.data))
            request.tag.set(mux(gathering, ours.tag, theirs.tag))
            store.writeRequest.ready.set(engine.writeRequest.ready && !gathering)
            cta.writeRequest.ready.set(engine.writeRequest.ready && gathering)
            for (client, active) in [(store.writeResponse, !gathering), (cta.writeResponse, gathering)] {
                client.valid.set(engine.writeResponse.valid && active)
                m.connect(client.bits, from: engine.writeResponse.bits)
            }
            engine.writeResponse.ready.set(mux(gathering, cta.writeResponse.ready, store.writeResponse.ready))
            cta.storeStride.set(store.dramStride)
            cta.storeScale.set(store.accScale)
        } else {
            m.connect(engine.writeRequest, from: store.writeRequest)
            m.connect(store.writeResponse, from: engine.writeResponse)
        }
        m.connect(io.axi, from: engine.axi)

        // Performance counters (COUNTER, funct 126).
        let counters = m.instance("counters", CounterFile())
        m.connect(counters.access, from: dispatcher.counter)
        m.connect(io.response, from: counters.response)
        connectCounterEvents(m, counters, station: station, unroller: unroller, load: load, store: store, engine: engine)

        // Errors: the failure of the oldest command wins, as in program order.
        let errorValid = m.register("error_valid", .bool, reset: false)
        let errorInfo = m.register("error_info_reg", .uint(64), reset: 0)
        let dispatcherReported = m.register("dispatcher_reported", .bool, reset: false)
        var candidates: [(valid: Signal, info: Signal)] = [
            (dispatcher.error && !dispatcherReported, dispatcher.errorInfo),
        ]
        for fault in [unroller.fault, load.fault, store.fault, store.scaleFault] + (cta.map { [$0.fault] } ?? []) {
            candidates.append((fault.valid, cat(fault.bits.code.extended(to: 8), Signal.literal(0, .uint(24)), fault.bits.index)))
        }
        m.when(dispatcher.error) { dispatcherReported.set(true) }
        for candidate in candidates {
            let index = candidate.info.bits(31, 0)
            let older = !errorValid || (index -% errorInfo.bits(31, 0))[31]
            m.when(candidate.valid && older) {
                errorValid.set(true)
                errorInfo.set(candidate.info)
            }
        }
        io.error.set(errorValid)
        io.errorInfo.set(errorInfo)

        let cycles = m.register("cycle_counter", .uint(64), reset: 0)
        cycles.set(cycles +% 1)
        io.cycles.set(cycles)
        io.configHash.set(Signal.literal(BigInteger(parameters.hash, radix: 16)!, .uint(64)))
        // Retirements: the host sees its own commands; a LOOP_WS's commands count down its loop.
        let controllerRetires = [load.retire, execute.retire, storeLaneRetire]
        let retirements: [(valid: Signal, bits: Retirement)] = [(dispatcher.retire.valid, dispatcher.retire.bits)]
            + (0..<3).map { (controllerRetires[$0], station.heads[$0]) }
        for (port, retirement) in zip(unroller.retirements, retirements) {
            port.valid.set(retirement.valid)
            m.connect(port.bits, from: retirement.bits)
        }
        for (port, retirement) in zip([io.retireDispatch, io.retireLoad, io.retireExecute, io.retireStore], retirements) {
            port.valid.set(retirement.valid && !retirement.bits.loop.internal)
            port.bits.set(retirement.bits.index)
        }
        m.connect(io.retireLoop, from: unroller.retire)
        // A failure being latched this cycle keeps `busy` up, so `error` is final once `busy` drops.
        let failureLanding = candidates.reduce(Signal(false)) { $0 || $1.valid }
        let storeLaneBusy = cta.map { store.busy || $0.busy } ?? store.busy
        io.busy.set(unroller.busy || station.busy || load.busy || execute.busy || storeLaneBusy || engine.busy
                    || accumulator.writesPending || io.command.valid || failureLanding)
    }
}

extension Accelerator {
    /// The events of docs/GEMMINI-COMPATIBILITY.md, "Performance counters": a controller is
    /// active while the station offers it a command or holds one it issued and has not retired.
    func connectCounterEvents(_ m: ModuleBuilder, _ counters: CounterFile.IO, station: ReservationStation.IO,
                              unroller: LoopUnroller.IO, load: LoadController.IO, store: StoreController.IO, engine: DMAEngine.IO) {
        let active = (0..<3).map { station.issue[$0].valid || station.started[$0] }
        let (loading, executing, storing) = (active[0], active[1], active[2])
        let axi = engine.axi
        // Bursts in flight on AXI: reads from AR to the last R beat, writes from AW to B.
        let readBursts = m.register("counter_read_bursts", .uint(16), reset: 0)
        let writeBursts = m.register("counter_write_bursts", .uint(16), reset: 0)
        let readDone = axi.r.fire && axi.r.bits.last
        readBursts.set(readBursts +% mux(axi.ar.fire, Signal.literal(1, .uint(16)), Signal.literal(0, .uint(16)))
                       -% mux(readDone, Signal.literal(1, .uint(16)), Signal.literal(0, .uint(16))))
        writeBursts.set(writeBursts +% mux(axi.aw.fire, Signal.literal(1, .uint(16)), Signal.literal(0, .uint(16)))
                        -% mux(axi.b.fire, Signal.literal(1, .uint(16)), Signal.literal(0, .uint(16))))

        var events = CounterEvent.allCases.map { _ in Signal(false) }
        events[CounterEvent.mainLoadCycles.rawValue] = loading && !storing && !executing
        events[CounterEvent.mainStoreCycles.rawValue] = !loading && storing && !executing
        events[CounterEvent.mainExecuteCycles.rawValue] = !loading && !storing && executing
        events[CounterEvent.mainLoadStoreCycles.rawValue] = loading && storing && !executing
        events[CounterEvent.mainLoadExecuteCycles.rawValue] = loading && !storing && executing
        events[CounterEvent.mainStoreExecuteCycles.rawValue] = !loading && storing && executing
        events[CounterEvent.mainLoadStoreExecuteCycles.rawValue] = loading && storing && executing
        events[CounterEvent.loadDMAWaitCycle.rawValue] = load.readRequest.valid && !engine.readRequest.ready
        events[CounterEvent.loadActiveCycle.rawValue] = loading
        events[CounterEvent.storeDMAWaitCycle.rawValue] = store.writeRequest.valid && !engine.writeRequest.ready
        events[CounterEvent.storeActiveCycle.rawValue] = storing
        events[CounterEvent.readDMAActiveCycle.rawValue] = readBursts =/= 0
        events[CounterEvent.writeDMAActiveCycle.rawValue] = writeBursts =/= 0
        events[CounterEvent.executeActiveCycle.rawValue] = executing
        events[CounterEvent.reservationStationFullCycles.rawValue] = (0..<3).map { !station.allocate[$0].ready }.reduce(Signal(false)) { $0 || $1 }
        events[CounterEvent.reservationStationActiveCycles.rawValue] = station.busy
        events[CounterEvent.loopMatmulActiveCycles.rawValue] = unroller.busy
        events[CounterEvent.readDMARequests.rawValue] = axi.ar.fire
        events[CounterEvent.writeDMARequests.rawValue] = axi.aw.fire
        for (port, event) in zip(counters.events, events) { port.set(event) }

        let width = CounterAccess.width
        var external = ExternalCounter.allCases.map { _ in Signal.literal(0, .uint(width)) }
        external[ExternalCounter.reservationStationLoadCount.rawValue] = station.occupancy[0].extended(to: width)
        external[ExternalCounter.reservationStationExecuteCount.rawValue] = station.occupancy[1].extended(to: width)
        external[ExternalCounter.reservationStationStoreCount.rawValue] = station.occupancy[2].extended(to: width)
        for (port, value) in zip(counters.externalValues, external) { port.set(value) }
        let busBytes = Signal.literal(dma.busBytes, .uint(16))
        counters.readBytes.set(mux(axi.r.fire, busBytes, Signal.literal(0, .uint(16))))
        counters.writeBytes.set(mux(axi.w.fire, busBytes, Signal.literal(0, .uint(16))))
    }
}

extension AcceleratorParameters {
    /// The scratchpad: read clients execute (A), execute (other operands), the store lane (the
    /// store or the CTA controller); write clients execute, load, and with a `cta` section the
    /// CTA controller. Its banks: `scratchpadBanks`.
    public var scratchpadMemory: BankedMemory {
        BankedMemory(rows: spRows, banks: config.spBanks, lanes: dim, laneWidth: config.inputType.width, readClients: 3,
                     writeClients: config.cta == nil ? 2 : 3, accumulating: false, stripe: scratchpadBanks.stripe)
    }

    /// The accumulator: read clients execute, the store lane (the store or the CTA controller);
    /// write clients execute, load, and with a `cta` section the CTA controller. Its banks:
    /// `accumulatorBanks`.
    public var accumulatorMemory: BankedMemory {
        BankedMemory(rows: accRows, banks: config.accBanks, lanes: dim, laneWidth: config.accType.width, readClients: 2,
                     writeClients: config.cta == nil ? 2 : 3, accumulating: true, stripe: accumulatorBanks.stripe)
    }
}
