import SpinelAccelerator
import SpinelHDL
import SpinelISA

/// The normalizer as the store controller uses it: `Normalizer` with the scale units the store
/// controller lends its lanes (columns 0 … L − 1, `ScaleUnit` of `Normalizer.scaledValueBits`
/// to inputType), wired as `StoreController` wires them. `NormalizerTests` drives this: the
/// normalizer's outputs need those units, and its own ports are the rest.
struct NormalizerWithScaleUnits: Module {
    let parameters: AcceleratorParameters

    var name: String { "NormalizerWithScaleUnits_\(parameters.name)" }

    @Bundle
    struct IO: Aggregate {
        @Input var configure: Valid<RoCCCommand>
        @Input var row: Valid<Normalizer.Row>
        @Output var result: Valid<Signal>
        @Output var busy: Signal
        @Output("activation_high") var activationHigh: Signal
        @Output("lane_scale_fault") var laneScaleFault: Signal
    }

    var io: IO {
        let inner = Normalizer(parameters).io
        return IO(configure: inner.configure, row: inner.row, result: inner.result, busy: inner.busy,
                  activationHigh: inner.activationHigh, laneScaleFault: inner.laneScaleFault)
    }

    func build(_ m: ModuleBuilder, _ io: IO) {
        let normalizer = m.instance("normalizer", Normalizer(parameters))
        m.connect(normalizer.configure, from: io.configure)
        m.connect(normalizer.row, from: io.row)
        let results = (0..<parameters.normalizerLanes).map { lane -> Signal in
            let unit = m.instance("scale_\(lane)", ScaleUnit(inputWidth: Normalizer.scaledValueBits(parameters.config),
                                                              outputWidth: parameters.config.inputType.width))
            let request = normalizer.scaleRequest(lane: lane)
            unit.value.set(request.value)
            unit.scale.set(request.factor)
            return unit.result.asUInt
        }
        normalizer.scaled.set(cat(results.reversed()))
        m.connect(io.result, from: normalizer.result)
        io.busy.set(normalizer.busy)
        io.activationHigh.set(normalizer.activationHigh)
        io.laneScaleFault.set(normalizer.laneScaleFault)
    }
}
