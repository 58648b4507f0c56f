import SpinelHDL

/// What the dispatcher knows of the CTA commands the RTL runs (`CTAFields.functsInHardware`:
/// CTA_CONFIG, CTA_CLUSTER, CTA_AGGREGATE, CTA_PROBABILITIES, CTA_GATHER, CTA_STATUS) on a configuration with a `cta` section:
/// their checks, in the golden model's order (CTACommands.swift: the register's reserved bits
/// and the level, then what the configuration decides, then the operand as a plain range), and
/// the local rows they touch, for the reservation station. Every check needs the command alone;
/// the failures that need the state are the CTA controller's: `clusterOverflow`, and
/// CTA_AGGREGATE's table, n, the centroids' last row and their overlap with the tokens,
/// CTA_PROBABILITIES's tables, λ, k1 + k2 and its rows, and CTA_GATHER's level-0 table and k0
/// (the golden model makes these commands' operand checks before those, so the two sides agree
/// on a command with both kinds of mistake). None without a `cta` section (the dispatcher is then
/// what it was without them).
struct CTACommandChecks {
    /// One of the commands the RTL runs.
    let isCommand: Signal
    let checks: [(Signal, ErrorCode)]
    let accumulatorRead: RowRange
    let accumulatorWrite: RowRange
    /// CTA_AGGREGATE, CTA_PROBABILITIES: the whole scratchpad (their rows are known only at execution).
    let scratchpadWrite: RowRange

    init?(funct: Signal, rs1: Signal, rs2: Signal, parameters: AcceleratorParameters) {
        guard let cta = parameters.config.cta else { return nil }
        typealias F = CTAFields
        let isConfig = funct === Signal(Funct.ctaConfig), isCluster = funct === Signal(Funct.ctaCluster)
        let isStatus = funct === Signal(Funct.ctaStatus), isAggregate = funct === Signal(Funct.ctaAggregate)
        let isProbabilities = funct === Signal(Funct.ctaProbabilities), isGather = funct === Signal(Funct.ctaGather)
        precondition(F.functsInHardware == [Funct.ctaConfig, Funct.ctaCluster, Funct.ctaAggregate, Funct.ctaProbabilities, Funct.ctaGather,
                                            Funct.ctaStatus], "the dispatcher decodes these six")
        isCommand = isConfig || isCluster || isAggregate || isProbabilities || isGather || isStatus

        func reserved(_ word: Signal, besides used: [BitField]) -> Signal {
            (word & Signal.literal(BigInteger(F.reservedBits(besides: used)), .uint(64))).orReduce
        }
        let operand = OperandFields(rs2)
        let rowBits = 40
        /// `GoldenModel.checkCTALocal`: plain accumulator rows (bit 31 set, bits 30:26 clear, not
        /// GARBAGE), the last of them inside the accumulator.
        func plainAccumulatorRows(lastRowOffset: Signal) -> [(Signal, ErrorCode)] {
            [(operand.isGarbage || !operand.isAccumulator || operand.flagBits.orReduce, .illegalOperand),
             (operand.row.extended(to: rowBits) +% lastRowOffset.resized(to: rowBits) >= Signal(parameters.accRows), .localAddressOutOfRange)]
        }

        // CTA_CONFIG: λ (target 3), or a level's hash instance.
        let isExponent = rs1.field(F.configTarget) === Signal(F.exponentTarget)
        let factor = rs1.field(F.exponentFactor)
        let factorInvalid = factor[31] || factor.bits(30, 23) === Signal.literal(0xFF, .uint(8)) || factor.bits(30, 0) === 0
        let exponentChecks: [(Signal, ErrorCode)] = [
            (reserved(rs1, besides: F.configExponentRs1), .unsupportedField),
            (rs2.orReduce, .unsupportedField),
            (factorInvalid, .invalidScale),
        ]
        let multiplierTooWide: Signal = cta.hashReciprocalBits >= F.hashMultiplier.width
            ? false : rs1.field(F.hashMultiplier) >= Signal(1 << cta.hashReciprocalBits)
        let hashChecks: [(Signal, ErrorCode)] = [
            (reserved(rs1, besides: F.configHashRs1), .unsupportedField),
            (multiplierTooWide, .unsupportedField),
            (operand.rows =/= 1 || operand.columns =/= Signal(cta.hashLength), .illegalOperand),
        ] + plainAccumulatorRows(lastRowOffset: Signal.literal(0, .uint(16)))
        let configChecks = exponentChecks.map { (isExponent && $0.0, $0.1) } + hashChecks.map { (!isExponent && $0.0, $0.1) }

        // CTA_CLUSTER: n products of l lanes.
        let clusterChecks: [(Signal, ErrorCode)] = [
            (reserved(rs1, besides: F.clusterRs1), .unsupportedField),
            (rs1.field(F.clusterLevel) >= Signal(F.levels), .unsupportedField),
            // (A maxTokens beyond the rows field's reach, 65536, leaves only 0 to refuse.)
            (operand.rows === 0 || (cta.maxTokens > Int(LocalOperandLayout.rows.mask) ? false : operand.rows > Signal(cta.maxTokens)), .illegalOperand),
            (operand.columns =/= Signal(cta.hashLength), .illegalOperand),
        ] + plainAccumulatorRows(lastRowOffset: operand.rows -% 1)

        // CTA_STATUS: rs1 unused, rs2 a bare accumulator address.
        let statusRows = F.statusRows(dim: parameters.dim)
        let statusChecks: [(Signal, ErrorCode)] = [
            (rs1.orReduce, .unsupportedField),
            (reserved(rs2, besides: F.statusRs2), .unsupportedField),
        ] + plainAccumulatorRows(lastRowOffset: Signal.literal(statusRows - 1, .uint(16)))

        // CTA_AGGREGATE: the fields (`checkFields`), then `GoldenModel.checkAggregateOperands`:
        // n plain scratchpad token rows inside the scratchpad (row + n − 1 < rows, also for n = 0),
        // the centroids' address a plain scratchpad address.
        let aggregateLevel = rs1.field(F.aggregateLevel)
        let output = OperandFields(rs1)
        let aggregateChecks: [(Signal, ErrorCode)] = [
            (reserved(rs1, besides: F.aggregateRs1), .unsupportedField),
            (aggregateLevel >= Signal(F.levels), .unsupportedField),
            (rs1[F.residualsBit] && aggregateLevel =/= 1, .unsupportedField),
            (operand.columns === 0, .illegalOperand),
            (operand.columns > Signal(parameters.dim), .tooManyColumns),
            (operand.isGarbage || operand.isAccumulator || operand.flagBits.orReduce, .illegalOperand),
            (operand.row.extended(to: rowBits) +% operand.rows.extended(to: rowBits) > Signal(parameters.spRows), .localAddressOutOfRange),
            (output.isGarbage || output.isAccumulator || output.flagBits.orReduce, .illegalOperand),
        ]

        // CTA_PROBABILITIES: the fields (`checkFields`: at least one row, the first row q0 + the
        // rows at most maxClusters), then
        // `GoldenModel.checkProbabilitiesOperands`: the scores a plain accumulator address, AP's a
        // plain scratchpad address (how many rows follow is the tables').
        let probabilitiesChecks: [(Signal, ErrorCode)] = [
            (reserved(rs1, besides: F.probabilitiesRs1), .unsupportedField),
            (operand.rows === 0 || rs1.field(F.firstRow) +& operand.rows > Signal(cta.maxClusters), .illegalOperand),
            (operand.isGarbage || !operand.isAccumulator || operand.flagBits.orReduce, .illegalOperand),
            (output.isGarbage || output.isAccumulator || output.flagBits.orReduce, .illegalOperand),
        ]

        // CTA_GATHER: rs1 is a DRAM address (no reserved bits); k0 product rows of 1 to DIM
        // columns, and the k0 rows after them, plain accumulator rows inside it.
        let gatherChecks: [(Signal, ErrorCode)] = [
            (operand.rows === 0 || operand.columns === 0, .illegalOperand),
            (operand.columns > Signal(parameters.dim), .tooManyColumns),
        ] + plainAccumulatorRows(lastRowOffset: (operand.rows.extended(to: 17) << 1).resized(to: 17) -% 1)

        checks = configChecks.map { (isConfig && $0.0, $0.1) } + clusterChecks.map { (isCluster && $0.0, $0.1) }
            + aggregateChecks.map { (isAggregate && $0.0, $0.1) } + probabilitiesChecks.map { (isProbabilities && $0.0, $0.1) }
            + gatherChecks.map { (isGather && $0.0, $0.1) }
            + statusChecks.map { (isStatus && $0.0, $0.1) }

        // Rows: CTA_CONFIG of a level reads its offsets' row, CTA_CLUSTER its n rows; CTA_STATUS writes.
        let low = operand.row.extended(to: RowRange.bits)
        let readRows = mux(isCluster, operand.rows.extended(to: 17) -% 1,
                           mux(isGather, (operand.rows.extended(to: 17) << 1).resized(to: 17) -% 1, Signal.literal(0, .uint(17))))
        // CTA_PROBABILITIES reads its scores' blocks of k0 rows (k1 and k2 are the tables'): from
        // its row to the accumulator's end (just its row when that lies beyond the end: the
        // controller then fails it).
        let lastRow = Signal.literal(parameters.accRows - 1, .uint(RowRange.bits))
        let probabilitiesHigh = mux(low > lastRow, low, lastRow)
        accumulatorRead = RowRange(valid: (isConfig && !isExponent) || isCluster || isProbabilities || isGather, low: low,
                                   high: mux(isProbabilities, probabilitiesHigh, low +% readRows.resized(to: RowRange.bits)))
        accumulatorWrite = RowRange(valid: isStatus, low: low, high: low +% Signal.literal(statusRows - 1, .uint(RowRange.bits)))
        // CTA_AGGREGATE reads its n token rows and writes k centroid rows (k is the table's, unknown
        // here) and, with residuals, the token rows again: it claims the whole scratchpad, so no
        // load or execute command that touches the scratchpad runs beside it (its reads and
        // writes then never wait for a bank). So does CTA_PROBABILITIES, whose AP rows follow from
        // k1 and k2.
        scratchpadWrite = RowRange(valid: isAggregate || isProbabilities, low: Signal.literal(0, .uint(RowRange.bits)),
                                   high: Signal.literal(parameters.spRows - 1, .uint(RowRange.bits)))
    }

    /// `range` of the other commands, or this command's own.
    func footprint(_ range: RowRange, _ own: RowRange) -> RowRange {
        RowRange(valid: mux(isCommand, own.valid, range.valid), low: mux(isCommand, own.low, range.low), high: mux(isCommand, own.high, range.high))
    }
}
