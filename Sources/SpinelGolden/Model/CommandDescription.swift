import SpinelISA

// Commands in words, for mismatch and error reports: "MVIN 4×16 from 0x7f00_0000_1000 to
// scratchpad row 32". Only what the command itself says; `GoldenModel.describe` adds the state
// it uses (strides, scales).

extension Command: CustomStringConvertible {
    public var description: String {
        switch self {
        case .configExecute(let fields): fields.description
        case .configLoad(let fields): fields.description
        case .configStore(let fields): fields.description
        case .configNormalization(let fields): fields.description
        case .mvin(let which, let dram, let local):
            dram == 0
                ? "\(Self.mvinName(which)) \(local.shape) zeros to \(local.address)"
                : "\(Self.mvinName(which)) \(local.shape) from \(hexAddress(dram)) to \(local.address)"
        case .mvout(let dram, let local):
            "MVOUT \(local.shape) from \(local.address) to \(hexAddress(dram))"
        case .preload(let bd, let c):
            "PRELOAD B/D \(bd.shape) at \(bd.address), C \(c.shape) to \(c.address)"
        case .computePreloaded(let a, let bd):
            "COMPUTE_PRELOADED A \(a.shape) at \(a.address), B/D \(bd.shape) at \(bd.address)"
        case .computeAccumulated(let a, let bd):
            "COMPUTE_ACCUMULATED A \(a.shape) at \(a.address), B/D \(bd.shape) at \(bd.address)"
        case .flush(let skip):
            skip ? "FLUSH (skip)" : "FLUSH"
        case .counter(let access):
            access.description
        case .loopWSConfigBounds(let bounds):
            "LOOP_WS_CONFIG_BOUNDS I \(bounds.tilesI), J \(bounds.tilesJ), K \(bounds.tilesK) tiles; padding I \(bounds.padI), J \(bounds.padJ), K \(bounds.padK)"
        case .loopWSConfigAddressesAB(let a, let b):
            "LOOP_WS_CONFIG_ADDRS_AB A \(hexAddress(a)), B \(hexAddress(b))"
        case .loopWSConfigAddressesDC(let d, let c):
            "LOOP_WS_CONFIG_ADDRS_DC D \(hexAddress(d)), C \(hexAddress(c))"
        case .loopWSConfigStridesAB(let a, let b):
            "LOOP_WS_CONFIG_STRIDES_AB A \(a), B \(b) elements"
        case .loopWSConfigStridesDC(let d, let c):
            "LOOP_WS_CONFIG_STRIDES_DC D \(d), C \(c) elements"
        case .loopWS(let launch):
            launch.description
        case .loadAffine(let local):
            "LOAD_AFFINE γ and β \(local.shape) from \(local.address)"
        case .loadRequantizer(let local):
            "LOAD_REQUANT multipliers \(local.shape) from \(local.address)"
        case .loadLaneScales(let local):
            "LOAD_LANE_SCALES \(local.shape) from \(local.address)"
        case .cta(let command):
            command.description
        }
    }

    /// LOAD_REQUANT or LOAD_LANE_SCALES, for messages.
    var laneLoadName: String {
        if case .loadLaneScales = self { return "LOAD_LANE_SCALES" }
        return "LOAD_REQUANT"
    }

    static func mvinName(_ which: Int) -> String { which == 0 ? "MVIN" : "MVIN\(which + 1)" }
}

extension LocalAddress: CustomStringConvertible {
    public var description: String {
        if isGarbage { return "GARBAGE" }
        guard isAccumulator else {
            return flagBits == 0 ? "scratchpad row \(row)" : "scratchpad row \(row) with reserved bits 0x\(String(flagBits << LocalAddressLayout.flags.low, radix: 16))"
        }
        var flags: [String] = []
        if accumulates { flags.append("accumulating") }
        if readsFullWidth { flags.append("full width") }
        if normalizationCommand != 0 { flags.append("normalization command \(normalizationCommand)") }
        return "accumulator row \(row)" + (flags.isEmpty ? "" : " (\(flags.joined(separator: ", ")))")
    }
}

extension LocalOperand {
    /// "rows×columns".
    var shape: String { "\(rows)×\(columns)" }
}

extension Activation: CustomStringConvertible {
    public var description: String {
        switch self {
        case .none: "no activation"
        case .relu: "ReLU"
        case .layerNorm: "LayerNorm"
        case .igelu: "I-GELU"
        case .softmax: "Softmax"
        case .affineLayerNorm: "affine LayerNorm"
        case .softmaxRelativeToMaximum: "Softmax relative to the maximum"
        case .twoSegmentGELU: "two-segment I-GELU"
        }
    }

    /// The activation with raw number `raw`, or "activation N" when no such activation exists.
    static func words(_ raw: Int) -> String { Activation(rawValue: raw)?.description ?? "activation \(raw)" }
}

extension ExecuteConfigFields: CustomStringConvertible {
    public var description: String {
        if setOnlyStrides { return "CONFIG_EX strides only: A stride \(aStride), C stride \(cStride)" }
        var parts = [dataflow.words, Activation.words(activation), "shift \(shift)", "A stride \(aStride)", "C stride \(cStride)"]
        if transposeA { parts.append("transpose A") }
        if transposeB { parts.append("transpose B") }
        return "CONFIG_EX " + parts.joined(separator: ", ")
    }
}

extension LoadConfigFields: CustomStringConvertible {
    public var description: String {
        var parts = ["DRAM stride \(dramStride) B", "scale \(scale)", "block stride \(blockStride)"]
        if shrunk { parts.append("shrunk") }
        if pixelRepeats > 1 { parts.append("pixel repeats \(pixelRepeats)") }
        return "CONFIG_LD for \(Command.mvinName(which)): " + parts.joined(separator: ", ")
    }
}

extension StoreConfigFields: CustomStringConvertible {
    public var description: String {
        var text = "CONFIG_ST: DRAM stride \(dramStride) B, \(Activation.words(activation)), accumulator scale \(accScale)"
        if requantizerShift != 0 { text += ", requantizer K \(requantizerShift)" }
        switch NumericsExtensions.ScaleSource(rawValue: scaleSource) {
        case .lane: text += ", lane scales"
        case .row: text += ", row scale"
        case .store: break
        case nil: text += ", scale source \(scaleSource)"
        }
        if poolingFields != 0 { text += ", pooling fields 0x\(String(poolingFields, radix: 16))" }
        return text
    }
}

extension NormalizationConfigFields: CustomStringConvertible {
    public var description: String {
        switch constantSet {
        case NumericsExtensions.ConstantSet.geluFirstSegment.rawValue:
            return "CONFIG_NORM two-segment I-GELU qb1 \(igeluQb), qc1 \(igeluQc), qt \(constant)"
        case NumericsExtensions.ConstantSet.geluSecondSegment.rawValue:
            return "CONFIG_NORM two-segment I-GELU qb2 \(igeluQb), qc2 \(igeluQc), q1 \(constant)"
        case 0: break
        default: return "CONFIG_NORM constant set \(constantSet)"
        }
        if setSlotOnly { return "CONFIG_NORM statistics slot \(statisticsSlot) only" }
        return "CONFIG_NORM statistics slot \(statisticsSlot), \(setsQln2Inverse ? "qln2_inv" : "qln2") = \(constant), "
            + "I-GELU qb \(igeluQb), qc \(igeluQc)" + (activationMSB ? ", activation MSB" : "")
    }
}

extension LoopWSLaunch: CustomStringConvertible {
    public var description: String {
        var parts = [Activation.words(activation)]
        if exAccumulate { parts.append("accumulate") }
        if fullC { parts.append("full-width C") }
        if lowD { parts.append("inputType D") }
        if transposeA { parts.append("transpose A") }
        if transposeB { parts.append("transpose B") }
        if isResidualAdd { parts.append("residual add") }
        return "LOOP_WS " + parts.joined(separator: ", ")
    }
}

/// `0x7f00_0000_1000`: hexadecimal in groups of four digits.
func hexAddress(_ value: UInt64) -> String {
    let digits = Array(String(value, radix: 16))
    var groups: [String] = []
    var end = digits.count
    while end > 0 {
        let start = max(0, end - 4)
        groups.insert(String(digits[start..<end]), at: 0)
        end = start
    }
    return "0x" + groups.joined(separator: "_")
}

extension CounterAccess: CustomStringConvertible {
    public var description: String {
        var parts: [String] = []
        if reset { parts.append("reset") }
        if releaseSnapshot { parts.append("release snapshot") }
        if takeSnapshot { parts.append("take snapshot") }
        if configure {
            let name = external ? ExternalCounter(rawValue: event).map(\.gemminiName) : CounterEvent(rawValue: event).map(\.gemminiName)
            parts.append("configure slot \(slot) to \(name ?? "\(external ? "external value" : "event") \(event)")")
        }
        return "COUNTER " + (parts + ["read slot \(slot)"]).joined(separator: ", ")
    }
}
