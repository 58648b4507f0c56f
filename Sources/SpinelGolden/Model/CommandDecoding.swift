import SpinelISA

extension Command {
    /// Decodes `(funct, rs1, rs2)` and checks every field that the command and the configuration
    /// alone decide (unknown functs, config fields, rows and columns beyond DIM). Checks that need
    /// the accelerator's state (local address ranges, which depend on strides; preload pairing)
    /// belong to `GoldenModel`.
    public static func decode(funct: UInt8, rs1: UInt64, rs2: UInt64,
                              parameters: AcceleratorParameters) throws(CommandRejection) -> Command {
        // Without the CTA units their functs are no commands at all: no field of them is read.
        if Funct.cta.contains(funct) && parameters.config.cta == nil {
            throw CommandRejection(.unknownCommand, "funct \(funct) is a CTA command, which needs a configuration with a cta section")
        }
        let command = try fields(funct: funct, rs1: rs1, rs2: rs2)
        try command.checkFields(against: parameters)
        return command
    }

    /// Slices the fields out of rs1 and rs2; fails only for functs that are not commands.
    static func fields(funct: UInt8, rs1: UInt64, rs2: UInt64) throws(CommandRejection) -> Command {
        switch funct {
        case Funct.config:
            return try configFields(rs1: rs1, rs2: rs2)
        case Funct.mvin, Funct.mvin2, Funct.mvin3:
            let which = funct == Funct.mvin ? 0 : funct == Funct.mvin2 ? 1 : 2
            return .mvin(which: which, dramAddress: rs1, local: LocalOperand(field: rs2))
        case Funct.mvout:
            return .mvout(dramAddress: rs1, local: LocalOperand(field: rs2))
        case Funct.preload:
            return .preload(bd: LocalOperand(field: rs1), c: LocalOperand(field: rs2))
        case Funct.computePreloaded:
            return .computePreloaded(a: LocalOperand(field: rs1), bd: LocalOperand(field: rs2))
        case Funct.computeAccumulated:
            return .computeAccumulated(a: LocalOperand(field: rs1), bd: LocalOperand(field: rs2))
        case Funct.flush:
            return .flush(skip: rs1 & 1 == 1)
        case Funct.loopWSConfigBounds:
            let (i, j, k) = (LoopWSFields.bounds[0], LoopWSFields.bounds[1], LoopWSFields.bounds[2])
            return .loopWSConfigBounds(LoopWSBounds(
                tilesI: field(rs2, i), tilesJ: field(rs2, j), tilesK: field(rs2, k),
                padI: field(rs1, i), padJ: field(rs1, j), padK: field(rs1, k)))
        case Funct.loopWSConfigAddressesAB:
            return .loopWSConfigAddressesAB(a: rs1, b: rs2)
        case Funct.loopWSConfigAddressesDC:
            return .loopWSConfigAddressesDC(d: rs1, c: rs2)
        case Funct.loopWSConfigStridesAB:
            return .loopWSConfigStridesAB(a: rs1, b: rs2)
        case Funct.loopWSConfigStridesDC:
            return .loopWSConfigStridesDC(d: rs1, c: rs2)
        case Funct.loopWS:
            typealias F = LoopWSFields
            return .loopWS(LoopWSLaunch(
                exAccumulate: bit(rs1, F.exAccumulateBit), fullC: bit(rs1, F.fullCBit), lowD: bit(rs1, F.lowDBit),
                activation: field(rs1, F.activation), aScratchpadID: field(rs1, F.aScratchpadID), bScratchpadID: field(rs1, F.bScratchpadID),
                transposeA: bit(rs2, F.transposeABit), transposeB: bit(rs2, F.transposeBBit), isResidualAdd: bit(rs2, F.residualAddBit)))
        case Funct.loadAffine:
            return .loadAffine(local: LocalOperand(field: rs2))
        case Funct.loadRequantizer:
            return .loadRequantizer(local: LocalOperand(field: rs2))
        case Funct.loadLaneScales:
            return .loadLaneScales(local: LocalOperand(field: rs2))
        case Funct.loopConvWS:
            throw CommandRejection(.unknownCommand, "funct \(funct) is LOOP_CONV_WS, and convolutions are out of scope")
        case Funct.counter:
            return .counter(CounterAccess(rs1: rs1))
        case Funct.cta:
            return .cta(try CTACommand.decode(funct: funct, rs1: rs1, rs2: rs2))
        default:
            throw CommandRejection(.unknownCommand, "funct \(funct) is not a command")
        }
    }

    private static func configFields(rs1: UInt64, rs2: UInt64) throws(CommandRejection) -> Command {
        switch ConfigKind(rawValue: Int(ConfigKind.field.value(in: rs1)))! {
        case .execute:
            typealias F = ConfigExecuteFields
            return .configExecute(ExecuteConfigFields(
                dataflow: bit(rs1, F.weightStationaryBit) ? .ws : .os, activation: field(rs1, F.activation),
                setOnlyStrides: bit(rs1, F.setOnlyStridesBit), transposeA: bit(rs1, F.transposeABit), transposeB: bit(rs1, F.transposeBBit),
                aStride: field(rs1, F.aStride), accScaleBits: UInt32(F.accScale.value(in: rs1)), shift: UInt32(F.shift.value(in: rs2)),
                relu6Shift: field(rs2, F.relu6Shift), cStride: field(rs2, F.cStride)))
        case .load:
            typealias F = ConfigLoadFields
            let which = field(rs1, F.state)
            guard which < 3 else {
                throw CommandRejection(.unknownCommand, "CONFIG_LD selects load state \(which); only 0 (MVIN), 1 (MVIN2) and 2 (MVIN3) exist")
            }
            return .configLoad(LoadConfigFields(
                which: which, shrunk: bit(rs1, F.shrunkBit), pixelRepeats: field(rs1, F.pixelRepeats), blockStride: field(rs1, F.blockStride),
                scaleBits: UInt32(F.scale.value(in: rs1)), dramStride: rs2))
        case .store:
            typealias F = ConfigStoreFields
            let e = NumericsExtensions.self
            return .configStore(StoreConfigFields(
                activation: field(rs1, F.activation), poolingFields: F.poolingFields.value(in: rs1 & ~e.configStoreFieldMask),
                requantizerShift: field(rs1, BitField(low: e.requantizerShiftLow, width: e.requantizerShiftBits)),
                scaleSource: field(rs1, BitField(low: e.scaleSourceLow, width: e.scaleSourceBits)),
                dramStride: F.dramStride.value(in: rs2), accScaleBits: UInt32(F.accScale.value(in: rs2))))
        case .normalization:
            typealias F = ConfigNormFields
            let e = NumericsExtensions.self
            return .configNormalization(NormalizationConfigFields(
                statisticsSlot: field(rs1, F.statisticsSlot), activationMSB: bit(rs1, F.activationMSBBit), setSlotOnly: bit(rs1, F.setSlotOnlyBit),
                setsQln2Inverse: bit(rs1, F.setsQln2InverseBit), constant: Int32(truncatingIfNeeded: F.constant.value(in: rs1)),
                igeluQb: Int32(truncatingIfNeeded: F.igeluQb.value(in: rs2)), igeluQc: Int32(truncatingIfNeeded: F.igeluQc.value(in: rs2)),
                constantSet: field(rs1, BitField(low: e.constantSetLow, width: e.constantSetBits))))
        }
    }

    private static func field(_ word: UInt64, _ field: BitField) -> Int {
        Int(field.value(in: word))
    }

    private static func bit(_ word: UInt64, _ position: Int) -> Bool {
        word >> UInt64(position) & 1 == 1
    }
}

// MARK: Checks that need only the configuration

extension Command {
    func checkFields(against parameters: AcceleratorParameters) throws(CommandRejection) {
        let config = parameters.config
        switch self {
        case .configExecute(let fields) where !fields.setOnlyStrides:
            guard config.dataflow == .both || config.dataflow == fields.dataflow else {
                throw CommandRejection(.unsupportedDataflow,
                                       "CONFIG_EX selects \(fields.dataflow.words), but this configuration has only \(config.dataflow.words)")
            }
            guard Self.transposesArePermitted(a: fields.transposeA, b: fields.transposeB, in: fields.dataflow) else {
                throw CommandRejection(.unsupportedDataflow,
                                       "\(fields.dataflow.words) cannot transpose \(fields.transposeA ? "both A and B" : "B alone") (permitted: OS none, A, A and B; WS none, A, B)")
            }
            try Self.checkActivation(fields.activation, of: "CONFIG_EX", parameters)
            guard fields.shift < UInt32(config.accType.width) else {
                throw CommandRejection(.unsupportedField, "CONFIG_EX shift \(fields.shift) is not below the accumulator width (\(config.accType.width))")
            }
        case .configExecute:
            break
        case .configLoad(let fields):
            guard fields.pixelRepeats <= 1 else {
                throw CommandRejection(.unsupportedField, "CONFIG_LD pixel repeats \(fields.pixelRepeats) must be 1")
            }
            try Self.checkScale(fields.scaleBits, of: "CONFIG_LD mvin scale", hardware: config.mvinScale)
        case .configStore(let fields):
            guard fields.poolingFields == 0 else {
                throw CommandRejection(.unsupportedField, "CONFIG_ST pooling fields rs1[63:4] = 0x\(String(fields.poolingFields, radix: 16)); Spinel has no pooling")
            }
            if fields.requantizerShift != 0 || fields.scaleSource != 0 {
                guard config.hasNumericsExtensions else {
                    throw CommandRejection(.unsupportedField,
                                           "CONFIG_ST rs1[19:12] = 0x\(String(fields.requantizerShift | fields.scaleSource << 6, radix: 16)) (requantizer shift, scale source) needs a configuration with hasNumericsExtensions")
                }
                guard fields.requantizerShift == 0 || NumericsExtensions.requantizerShifts.contains(fields.requantizerShift) else {
                    throw CommandRejection(.unsupportedField,
                                           "CONFIG_ST requantizer shift K = \(fields.requantizerShift); K is 1 to 47 (0 turns the requantizer off)")
                }
                guard NumericsExtensions.ScaleSource(rawValue: fields.scaleSource) != nil else {
                    throw CommandRejection(.unsupportedField,
                                           "CONFIG_ST scale source \(fields.scaleSource) is reserved; 0 is acc_scale, 1 the lane scales, 2 the row scale")
                }
            }
            try Self.checkActivation(fields.activation, of: "CONFIG_ST", parameters)
            try Self.checkScale(fields.accScaleBits, of: "CONFIG_ST accumulator scale", hardware: config.accScale)
        case .configNormalization(let fields):
            guard config.hasNormalizations else {
                throw CommandRejection(.unsupportedField, "CONFIG_NORM needs a configuration with normalizations")
            }
            if fields.constantSet != 0 {
                guard config.hasNumericsExtensions else {
                    throw CommandRejection(.unsupportedField,
                                           "CONFIG_NORM constant set \(fields.constantSet) (rs1[20:19]) is the two-segment I-GELU's, which needs a configuration with hasNumericsExtensions")
                }
                guard NumericsExtensions.ConstantSet(rawValue: fields.constantSet) != nil else {
                    throw CommandRejection(.unsupportedField,
                                           "CONFIG_NORM constant set \(fields.constantSet) (rs1[20:19]) is reserved; 0 is Gemmini's, 1 and 2 the two-segment I-GELU's")
                }
                return
            }
            guard fields.statisticsSlot < config.normalizationSlots else {
                throw CommandRejection(.unsupportedField,
                                       "CONFIG_NORM selects statistics slot \(fields.statisticsSlot); this configuration has \(config.normalizationSlots) (normalizationSlots)")
            }
        case .mvin(_, _, let local):
            // The column limit depends on the load state (shrunk or not), so GoldenModel checks it.
            try Self.checkRows(local, "MVIN", parameters)
        case .mvout(_, let local):
            try Self.checkRows(local, "MVOUT", parameters)
            let fullWidth = local.address.isAccumulator && local.address.readsFullWidth && !local.address.isGarbage
            let limit = fullWidth ? parameters.dim : parameters.mvoutMaxColumns
            guard local.columns <= limit else {
                throw CommandRejection(.tooManyColumns, fullWidth
                    ? "MVOUT reads \(local.columns) full-width columns; a full-width accumulator mvout moves at most DIM = \(parameters.dim)"
                    : "MVOUT has \(local.columns) columns; at most \(parameters.mvoutMaxColumns) (MAX_BLOCK_LEN = \(max(parameters.maxBlockLen, 1)) blocks of DIM = \(parameters.dim))")
            }
        case .preload(let bd, let c):
            try Self.checkShape(bd, "PRELOAD B/D", parameters)
            try Self.checkShape(c, "PRELOAD C", parameters)
        case .computePreloaded(let a, let bd), .computeAccumulated(let a, let bd):
            try Self.checkShape(a, "COMPUTE A", parameters)
            try Self.checkShape(bd, "COMPUTE B/D", parameters)
        case .loadAffine(let local):
            guard config.hasAffineLayerNorm else {
                throw CommandRejection(.unknownCommand, "funct \(Funct.loadAffine) is LOAD_AFFINE, which needs a configuration with hasAffineLayerNorm")
            }
            try Self.checkShape(local, "LOAD_AFFINE", parameters)
        case .loadRequantizer(let local), .loadLaneScales(let local):
            let name = self.laneLoadName
            guard config.hasNumericsExtensions else {
                throw CommandRejection(.unknownCommand, "funct \(name == "LOAD_REQUANT" ? Funct.loadRequantizer : Funct.loadLaneScales) is \(name), which needs a configuration with hasNumericsExtensions")
            }
            try Self.checkShape(local, name, parameters)
        case .counter(let access):
            let limit = CounterAccess.maximumEvent(external: access.external)
            guard !access.configure || access.event <= limit else {
                throw CommandRejection(.unsupportedField, "COUNTER configures slot \(access.slot) with \(access.external ? "external value" : "event") \(access.event); "
                                           + "Gemmini's \(access.external ? "external values" : "events") go up to \(limit) (gemmini_counter.h)")
            }
        case .cta(let command):
            try command.checkFields(against: parameters)
        case .flush, .loopWSConfigBounds, .loopWSConfigAddressesAB, .loopWSConfigAddressesDC,
             .loopWSConfigStridesAB, .loopWSConfigStridesDC, .loopWS:
            break
        }
    }

    /// docs/ISA.md: OS permits (A, B) transposes (0,0), (1,0), (1,1); WS permits (0,0), (0,1), (1,0).
    static func transposesArePermitted(a: Bool, b: Bool, in dataflow: Dataflow) -> Bool {
        dataflow == .ws ? !(a && b) : !(b && !a)
    }

    private static func checkActivation(_ activation: Int, of command: String,
                                        _ parameters: AcceleratorParameters) throws(CommandRejection) {
        guard activation <= Activation.relu.rawValue || parameters.config.hasNormalizations else {
            throw CommandRejection(.unsupportedField, "\(command) activation \(activation) needs a configuration with normalizations")
        }
    }

    private static func checkScale(_ bits: UInt32, of name: String, hardware: ScaleKind) throws(CommandRejection) {
        let scale = Numerics.float(bits: bits)
        guard scale.isFinite else {
            throw CommandRejection(.invalidScale, "\(name) is \(scale) (fp32 bits 0x\(String(bits, radix: 16)))")
        }
        guard hardware == .fp32 || scale == 1 else {
            throw CommandRejection(.invalidScale, "\(name) is \(scale), but this configuration has no scale hardware (only 1.0)")
        }
    }

    private static func checkRows(_ operand: LocalOperand, _ name: String,
                                  _ parameters: AcceleratorParameters) throws(CommandRejection) {
        guard operand.rows <= parameters.dim else {
            throw CommandRejection(.tooManyRows, "\(name) has \(operand.rows) rows; DIM is \(parameters.dim)")
        }
    }

    private static func checkShape(_ operand: LocalOperand, _ name: String,
                                   _ parameters: AcceleratorParameters) throws(CommandRejection) {
        try checkRows(operand, name, parameters)
        guard operand.columns <= parameters.dim else {
            throw CommandRejection(.tooManyColumns, "\(name) has \(operand.columns) columns; DIM is \(parameters.dim)")
        }
    }
}

extension Dataflow {
    /// "output-stationary", for messages.
    var words: String {
        switch self {
        case .os: "output-stationary"
        case .ws: "weight-stationary"
        case .both: "both dataflows"
        }
    }
}
