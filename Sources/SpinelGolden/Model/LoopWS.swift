import SpinelISA

/// The registers LOOP_WS_CONFIG_* set (docs/ACCELERATOR.md, "LOOP_WS").
public struct LoopWSSettings: Hashable, Sendable {
    public var bounds = LoopWSBounds(tilesI: 0, tilesJ: 0, tilesK: 0, padI: 0, padJ: 0, padK: 0)
    public var a: UInt64 = 0, b: UInt64 = 0, d: UInt64 = 0, c: UInt64 = 0
    /// Row strides in elements.
    public var strideA: UInt64 = 0, strideB: UInt64 = 0, strideD: UInt64 = 0, strideC: UInt64 = 0
    /// The accumulator half the next LOOP_WS uses; a loop that stores C flips it.
    public var accumulatorHalf = 0

    public init() {}
}

/// One command of a LOOP_WS's unrolling.
public struct UnrolledCommand: Hashable, Sendable {
    public var funct: UInt8
    public var rs1: UInt64
    public var rs2: UInt64
}

/// LOOP_WS as the sequence of plain commands it stands for (docs/ACCELERATOR.md, "LOOP_WS").
/// The hardware's unroller emits the same sequence; the golden model runs it command by command.
public enum LoopWSUnrolling {
    static let garbage: UInt64 = 0xFFFF_FFFF
    static let accumulatorBit: UInt64 = 1 << 31, accumulateBit: UInt64 = 1 << 30, fullWidthBit: UInt64 = 1 << 29

    /// The checks of the launch itself, in order; nil when it may run.
    public static func rejection(of launch: LoopWSLaunch, settings: LoopWSSettings,
                                 parameters: AcceleratorParameters) -> CommandRejection? {
        let bounds = settings.bounds, dim = parameters.dim
        // act 3 (I-GELU) issues no passes: CONFIG_ST's activation applies it, as on Gemmini, whose
        // tiled_matmul_auto passes its act to LOOP_WS.
        if launch.activation > Activation.relu.rawValue && !((launch.normalizes || launch.activation == Activation.igelu.rawValue) && parameters.config.hasNormalizations) {
            return CommandRejection(.unsupportedField, "LOOP_WS activation \(launch.activation): 0 (none) and 1 (ReLU) are accepted, and with normalization units 2 (LayerNorm), 3 (I-GELU, applied by CONFIG_ST's activation) and 4 (Softmax)")
        }
        if launch.normalizes && launch.isResidualAdd {
            return CommandRejection(.unsupportedField, "LOOP_WS activation \(launch.activation) with the residual add: the residual add does not issue normalization passes (add with D as the bias instead)")
        }
        if launch.normalizes && launch.fullC {
            return CommandRejection(.illegalOperand, "LOOP_WS activation \(launch.activation) with full_C: a full-width C has no activation; clear full_C or use act 0")
        }
        if launch.aScratchpadID > 2 || launch.bScratchpadID > 2 {
            return CommandRejection(.unsupportedField, "LOOP_WS scratchpad ids must be 0, 1 or 2 (A \(launch.aScratchpadID), B \(launch.bScratchpadID))")
        }
        if launch.transposeA && launch.transposeB {
            return CommandRejection(.unsupportedDataflow, "LOOP_WS cannot transpose both A and B (weight-stationary)")
        }
        // The residual add has no K; Gemmini's tiled_resadd_auto launches it with K = 0.
        if bounds.tilesI == 0 || bounds.tilesJ == 0 || (bounds.tilesK == 0 && !launch.isResidualAdd) {
            return CommandRejection(.illegalOperand, "LOOP_WS bounds I=\(bounds.tilesI) J=\(bounds.tilesJ) K=\(bounds.tilesK): each must be at least one tile (K may be 0 with the residual add)")
        }
        if bounds.padI >= dim || bounds.padJ >= dim || bounds.padK >= dim {
            return CommandRejection(.illegalOperand, "LOOP_WS pads I=\(bounds.padI) J=\(bounds.padJ) K=\(bounds.padK): each must be below DIM (\(dim))")
        }
        let scratchpadRows = (bounds.tilesI * bounds.tilesK + bounds.tilesK * bounds.tilesJ) * dim
        let accumulatorRows = bounds.tilesI * bounds.tilesJ * dim
        if (!launch.isResidualAdd && scratchpadRows > parameters.spRows / 2) || accumulatorRows > parameters.accRows / 2 {
            return CommandRejection(.localAddressOutOfRange, "LOOP_WS tiles need \(scratchpadRows) scratchpad rows (half: \(parameters.spRows / 2)) and \(accumulatorRows) accumulator rows (half: \(parameters.accRows / 2))")
        }
        return nil
    }

    /// What a command of the unrolling is to the hardware's cursors (LoopUnroller.swift).
    public enum Role: Hashable, Sendable {
        /// MVIN, MVIN2 or MVOUT of the residual add.
        case residual
        /// An MVIN3 of D.
        case bias
        /// An operand load of K block `step`.
        case load(step: Int)
        /// The PRELOAD or COMPUTE of a pair in K block `step`.
        case pair(step: Int)
        /// An MVOUT of C.
        case store
    }

    /// The commands, in the order the golden model runs them: the bias, the operands of K block
    /// 0, then each block's pairs, each pair followed by one waiting load of the next block or
    /// mvout of a finished column of C, then whatever still waits. With LayerNorm or Softmax
    /// (act 2 or 4) the mvouts of C come after all pairs instead: per row of tiles, the two
    /// statistics passes, then the output. Each controller receives its
    /// commands in this order; the hardware interleaves the controllers' commands differently
    /// (LoopUnroller.swift), which the hazard checks make invisible.
    public static func commands(of launch: LoopWSLaunch, settings: LoopWSSettings,
                                parameters: AcceleratorParameters) -> [UnrolledCommand] {
        unrolling(of: launch, settings: settings, parameters: parameters).map(\.command)
    }

    /// `commands` with each command's role.
    public static func unrolling(of launch: LoopWSLaunch, settings: LoopWSSettings,
                                 parameters: AcceleratorParameters) -> [(command: UnrolledCommand, role: Role)] {
        let dim = parameters.dim, bounds = settings.bounds
        let tilesI = bounds.tilesI, tilesJ = bounds.tilesJ, tilesK = bounds.tilesK
        let inputBytes = UInt64(parameters.inputBytes), accBytes = UInt64(parameters.accBytes)
        let blockLength = parameters.loopBlockTiles
        var out: [(command: UnrolledCommand, role: Role)] = []
        func operand(rows: Int, columns: Int, _ address: UInt64) -> UInt64 {
            UInt64(rows) << 48 | UInt64(columns) << 32 | address
        }
        func rowsOf(i: Int) -> Int { dim - (i == tilesI - 1 ? bounds.padI : 0) }
        func columnsOf(j: Int) -> Int { dim - (j == tilesJ - 1 ? bounds.padJ : 0) }
        func depthOf(k: Int) -> Int { dim - (k == tilesK - 1 ? bounds.padK : 0) }
        /// `count` tiles side by side starting at tile `first` of `total`, the last one padded by `pad`.
        func width(_ first: Int, _ count: Int, of total: Int, pad: Int) -> Int { count * dim - (first + count == total ? pad : 0) }
        let cBase = accumulatorBit | UInt64(settings.accumulatorHalf * parameters.accRows / 2)
        func cRow(_ i: Int, _ j: Int) -> UInt64 { cBase + UInt64((i * tilesJ + j) * dim) }
        let sizeC = launch.fullC ? accBytes : inputBytes
        func store(_ i: Int, _ j: Int) -> UnrolledCommand {
            let dram = settings.c &+ (UInt64(i * dim) &* settings.strideC &+ UInt64(j * dim)) &* sizeC
            return UnrolledCommand(funct: UInt8(Funct.mvout), rs1: dram,
                                   rs2: operand(rows: rowsOf(i: i), columns: columnsOf(j: j), cRow(i, j) | (launch.fullC ? fullWidthBit : 0)))
        }

        if launch.isResidualAdd {
            for i in 0..<tilesI {
                for j in 0..<tilesJ {
                    let offset = UInt64(i * dim), column = UInt64(j * dim)
                    out.append((UnrolledCommand(funct: UInt8(Funct.mvin), rs1: settings.a &+ (offset &* settings.strideA &+ column) &* inputBytes,
                                                rs2: operand(rows: rowsOf(i: i), columns: columnsOf(j: j), cRow(i, j))), .residual))
                    out.append((UnrolledCommand(funct: UInt8(Funct.mvin2), rs1: settings.b &+ (offset &* settings.strideB &+ column) &* inputBytes,
                                                rs2: operand(rows: rowsOf(i: i), columns: columnsOf(j: j), cRow(i, j) | accumulateBit)), .residual))
                    if settings.c != 0 { out.append((store(i, j), .residual)) }
                }
            }
            return out
        }

        // Bias: D into C's rows, overwriting.
        if settings.d != 0 {
            let sizeD = launch.lowD ? inputBytes : accBytes
            let dBlocks = launch.lowD ? blockLength : max(parameters.maxBlockLenAcc, 1)
            for i in 0..<tilesI {
                for j in stride(from: 0, to: tilesJ, by: dBlocks) {
                    let count = min(dBlocks, tilesJ - j)
                    let dram = settings.d &+ (UInt64(i * dim) &* settings.strideD &+ UInt64(j * dim)) &* sizeD
                    out.append((UnrolledCommand(funct: UInt8(Funct.mvin3), rs1: dram,
                                                rs2: operand(rows: rowsOf(i: i), columns: width(j, count, of: tilesJ, pad: bounds.padJ), cRow(i, j))), .bias))
                }
            }
        }

        let half = parameters.spRows / 2
        let aBase = launch.aScratchpadID == 2 ? half : 0
        let bBase = (launch.bScratchpadID == 2 ? parameters.spRows : half) - tilesK * tilesJ * dim
        func aRow(_ i: Int, _ k: Int) -> Int { aBase + (launch.transposeA ? k * tilesI + i : i * tilesK + k) * dim }
        func bRow(_ k: Int, _ j: Int) -> Int { bBase + (launch.transposeB ? j * tilesK + k : k * tilesJ + j) * dim }
        let steps = (tilesK + blockLength - 1) / blockLength

        func loads(_ step: Int) -> [(command: UnrolledCommand, role: Role)] {
            var out: [UnrolledCommand] = []
            let k0 = step * blockLength, count = min(blockLength, tilesK - k0)
            if settings.a != 0 {
                if !launch.transposeA {
                    for i in 0..<tilesI {
                        let dram = settings.a &+ (UInt64(i * dim) &* settings.strideA &+ UInt64(k0 * dim)) &* inputBytes
                        out.append(UnrolledCommand(funct: UInt8(Funct.mvin), rs1: dram,
                                                   rs2: operand(rows: rowsOf(i: i), columns: width(k0, count, of: tilesK, pad: bounds.padK), UInt64(aRow(i, k0)))))
                    }
                } else {
                    for k in k0..<k0 + count {
                        for i in stride(from: 0, to: tilesI, by: blockLength) {
                            let blocks = min(blockLength, tilesI - i)
                            let dram = settings.a &+ (UInt64(k * dim) &* settings.strideA &+ UInt64(i * dim)) &* inputBytes
                            out.append(UnrolledCommand(funct: UInt8(Funct.mvin), rs1: dram,
                                                       rs2: operand(rows: depthOf(k: k), columns: width(i, blocks, of: tilesI, pad: bounds.padI), UInt64(aRow(i, k)))))
                        }
                    }
                }
            }
            if settings.b != 0 {
                if !launch.transposeB {
                    for k in k0..<k0 + count {
                        for j in stride(from: 0, to: tilesJ, by: blockLength) {
                            let blocks = min(blockLength, tilesJ - j)
                            let dram = settings.b &+ (UInt64(k * dim) &* settings.strideB &+ UInt64(j * dim)) &* inputBytes
                            out.append(UnrolledCommand(funct: UInt8(Funct.mvin2), rs1: dram,
                                                       rs2: operand(rows: depthOf(k: k), columns: width(j, blocks, of: tilesJ, pad: bounds.padJ), UInt64(bRow(k, j)))))
                        }
                    }
                } else {
                    for j in 0..<tilesJ {
                        let dram = settings.b &+ (UInt64(j * dim) &* settings.strideB &+ UInt64(k0 * dim)) &* inputBytes
                        out.append(UnrolledCommand(funct: UInt8(Funct.mvin2), rs1: dram,
                                                   rs2: operand(rows: columnsOf(j: j), columns: width(k0, count, of: tilesK, pad: bounds.padK), UInt64(bRow(k0, j)))))
                    }
                }
            }
            return out.map { ($0, Role.load(step: step)) }
        }

        // The pairs of a K block. After each pair comes one command that is waiting: a load of
        // the next block, or else an mvout of a column of C whose pairs are done (in the last
        // block). What still waits when the block's pairs are done follows them.
        func pairs(_ step: Int) {
            let k0 = step * blockLength, count = min(blockLength, tilesK - k0)
            var waiting = step + 1 < steps ? loads(step + 1) : []
            for j in 0..<tilesJ {
                for k in k0..<k0 + count {
                    for i in 0..<tilesI {
                        let b = i == 0
                            ? operand(rows: launch.transposeB ? columnsOf(j: j) : depthOf(k: k),
                                      columns: launch.transposeB ? depthOf(k: k) : columnsOf(j: j), UInt64(bRow(k, j)))
                            : operand(rows: dim, columns: dim, garbage)
                        let accumulate = launch.exAccumulate || k > 0
                        let c = operand(rows: rowsOf(i: i), columns: columnsOf(j: j), cRow(i, j) | (accumulate ? accumulateBit : 0))
                        let a = operand(rows: launch.transposeA ? depthOf(k: k) : rowsOf(i: i),
                                        columns: launch.transposeA ? rowsOf(i: i) : depthOf(k: k), UInt64(aRow(i, k)))
                        out.append((UnrolledCommand(funct: UInt8(Funct.preload), rs1: b, rs2: c), .pair(step: step)))
                        out.append((UnrolledCommand(funct: UInt8(i == 0 ? Funct.computePreloaded : Funct.computeAccumulated), rs1: a,
                                                    rs2: operand(rows: dim, columns: dim, garbage)), .pair(step: step)))
                        if !waiting.isEmpty { out.append(waiting.removeFirst()) }
                    }
                }
                if step == steps - 1 && settings.c != 0 && !launch.normalizes {
                    waiting += (0..<tilesI).map { (store($0, j), Role.store) }
                }
            }
            out += waiting
        }

        out += loads(0)
        for step in 0..<steps { pairs(step) }
        // LayerNorm or Softmax: once all of C is in the accumulator, each row of tiles gets its
        // two statistics passes over the whole row, then its output pass.
        if settings.c != 0 && launch.normalizes {
            let passes = NormalizationCommand.passes(softmax: launch.activation == Activation.softmax.rawValue)
            for i in 0..<tilesI {
                for pass in passes {
                    for j in 0..<tilesJ {
                        var command = store(i, j)
                        command.rs2 |= LocalAddressLayout.normalizationCommand.placed(UInt64((j == tilesJ - 1 ? pass.last : pass.each).rawValue))
                        out.append((command, .store))
                    }
                }
                out += (0..<tilesJ).map { (store(i, $0), Role.store) }
            }
        }
        return out
    }
}
