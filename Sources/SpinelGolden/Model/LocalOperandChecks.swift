/// What a local address is used as: it decides which memory and which address bits it may use.
enum OperandRole: CustomStringConvertible {
    case a, b, d, c
    case mvinDestination, mvoutSource

    var description: String {
        switch self {
        case .a: "A"
        case .b: "B"
        case .d: "D"
        case .c: "C"
        case .mvinDestination: "MVIN destination"
        case .mvoutSource: "MVOUT source"
        }
    }
}

extension GoldenModel {
    /// Checks that `address` may serve as `role` and that every row it covers, up to
    /// `row + lastRowOffset`, is inside its memory (docs/ACCELERATOR.md, "Local addresses" and
    /// `illegalOperand`). GARBAGE passes for the array's operands, which give it a meaning.
    func checkLocal(_ address: LocalAddress, as role: OperandRole, lastRowOffset: Int) throws {
        if address.isGarbage {
            switch role {
            case .a, .b, .c, .d: return
            case .mvinDestination, .mvoutSource:
                throw CommandRejection(.illegalOperand, "GARBAGE cannot be the \(role)")
            }
        }
        if address.isAccumulator {
            try checkAccumulatorBits(address, as: role)
        } else if address.flagBits != 0 {
            throw CommandRejection(.localAddressOutOfRange,
                                   "the \(role), \(address), sets bits 30:26, which a scratchpad address must leave clear")
        }
        let (memory, size) = address.isAccumulator ? ("accumulator", parameters.accRows) : ("scratchpad", parameters.spRows)
        guard address.row + lastRowOffset < size else {
            throw CommandRejection(.localAddressOutOfRange,
                                   "the \(role) at \(address) reaches row \(address.row + lastRowOffset); the \(memory) has \(size) rows")
        }
    }

    /// Accumulator bits 30 (accumulate on write) and 29 (full-width read) mean nothing to the
    /// other direction and are ignored there, as Gemmini ignores them (its software sets them
    /// freely); normalization commands outside an mvout are errors.
    private func checkAccumulatorBits(_ address: LocalAddress, as role: OperandRole) throws {
        switch role {
        case .a, .b:
            throw CommandRejection(.illegalOperand, "the \(role) operand must be in the scratchpad, not at \(address)")
        case .d:
            guard address.normalizationCommand == 0 else {
                throw CommandRejection(.illegalOperand, "the D operand at \(address) carries a normalization command")
            }
        case .c, .mvinDestination:
            // Bit 29 means nothing for a write and is ignored, as on Gemmini (its LOOP_WS sets it on C
            // with full_C, its software on mvin destinations).
            guard address.normalizationCommand == 0 else {
                throw CommandRejection(.illegalOperand, "the \(role) at \(address) is written, so it takes no normalization command")
            }
        case .mvoutSource:
            guard address.normalizationCommand == 0 else { return try checkStatisticsSource(address) }
        }
    }

    /// A statistics pass needs the normalization units, and reads the accumulator through the
    /// normalizer, which a full-width read (bit 29) bypasses.
    private func checkStatisticsSource(_ address: LocalAddress) throws {
        guard parameters.config.hasNormalizations else {
            throw CommandRejection(.unsupportedField, "MVOUT from \(address) needs a configuration with normalizations")
        }
        guard !address.readsFullWidth else {
            throw CommandRejection(.illegalOperand, "MVOUT from \(address): a statistics pass reads through the normalizer, which the full-width bit 29 bypasses; clear bit 29")
        }
    }
}

extension LocalOperand {
    /// How many rows past its first the operand reaches, with `stride` rows between its rows.
    func lastRowOffset(stride: Int) -> Int { Swift.max(rows - 1, 0) * stride }
}
