import SpinelHDL

// The two building blocks every floating-point unit here needs: finding the leading one (to
// normalize) and shifting right while remembering whether a one fell off (to round).

extension ModuleBuilder {
    /// The number of zero bits above the highest one of the UInt `value`, as a UInt of
    /// ⌈log2(width)⌉ bits (at least one). Meaningless when `value` is zero: callers handle zero
    /// on their own path.
    ///
    /// A binary tree of (all-zero, count) pairs: O(width) small muxes and log2(width) levels, in
    /// place of a priority mux chain. Each tree node is a wire named `<name>_l<level>_<index>`
    /// holding `{allZero, count}`, so shared subterms are written once in the Verilog.
    func leadingZeros(_ value: Signal, name: String, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let width = value.width
        let levels = HWType.addressWidth(for: max(width, 2))
        // Zeros below the value keep the count of a nonzero value unchanged. A wire, so that the
        // tree's many one-bit slices read a name rather than each repeating the expression.
        let padding = (1 << levels) - width
        let padded = wire("\(name)_input", .uint(1 << levels), default: padding == 0 ? value
                          : cat(value, Signal.literal(0, .uint(padding), file: file, line: line), file: file, line: line),
                          file: file, line: line)

        // Level 1 covers bit pairs: all-zero = no bit set; count = top bit clear.
        var nodes: [Signal] = (0..<(1 << (levels - 1))).map { index in
            let high = padded[2 * index + 1], low = padded[2 * index]
            return wire("\(name)_l1_\(index)", .uint(2), default: cat(!(high || low), !high), file: file, line: line)
        }
        for level in stride(from: 2, through: levels, by: 1) {
            nodes = (0..<(nodes.count / 2)).map { index in
                let low = nodes[2 * index], high = nodes[2 * index + 1]
                let countWidth = level - 1
                let highZero = high[countWidth]
                // Upper half empty: count all of it plus the lower half's zeros.
                let count = cat(highZero, mux(highZero, low.bits(countWidth - 1, 0), high.bits(countWidth - 1, 0)))
                return wire("\(name)_l\(level)_\(index)", .uint(level + 1),
                            default: cat(highZero && low[countWidth], count), file: file, line: line)
            }
        }
        return nodes[0].bits(levels - 1, 0)
    }

    /// `value` (a UInt) shifted right by the UInt `amount`, width kept, and whether any one bit
    /// was shifted out (the IEEE "sticky" bit). Amounts at or beyond the width give zero.
    ///
    /// A logarithmic shifter: stage k shifts by 2^k when bit k of `amount` is set and ORs the
    /// bits it drops into the sticky bit. Stages are wires `<name>_s<k>`.
    func shiftRightSticky(_ value: Signal, by amount: Signal, name: String,
                          file: StaticString = #fileID, line: UInt = #line) -> (shifted: Signal, sticky: Signal) {
        let width = value.width
        let type = HWType.uint(width)
        // Stages whose shift is still inside the value; higher amount bits clear everything.
        let stages = min(amount.width, HWType.addressWidth(for: width))
        var current = value
        var sticky: Signal = false
        for stage in 0..<stages {
            let distance = 1 << stage
            let shifted = (current >> distance).extended(to: width, file: file, line: line)
            let dropped = current.bits(distance - 1, 0, file: file, line: line).orReduce
            sticky = sticky || (amount[stage] && dropped)
            current = wire("\(name)_s\(stage)", type, default: mux(amount[stage], shifted, current, file: file, line: line),
                           file: file, line: line)
        }
        if amount.width > stages {
            let beyondWidth = amount.bits(amount.width - 1, stages, file: file, line: line).orReduce
            sticky = sticky || (beyondWidth && current.orReduce)
            current = mux(beyondWidth, Signal.literal(0, type, file: file, line: line), current, file: file, line: line)
        }
        return (current, wire("\(name)_sticky", .bool, default: sticky, file: file, line: line))
    }
}
