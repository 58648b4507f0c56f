// Operators on `Signal`. Width rules (also in docs/DSL.md):
//
//   a +% b, a -% b      wrap at max(width a, width b); the narrower operand is extended
//   a +& b, a -& b      widen: max(width a, width b) + 1 bits, never overflows
//   a * b               width a + width b, never overflows
//   a & b, a | b, a ^ b operands must have the same type; result that type
//   ~a                  same type;  !a, a && b, a || b on one-bit signals
//   ===, =/=, <, <=, >, >=   one bit; the narrower operand is extended; SInt compares signed
//   a << n, a >> n      by a constant: width grows by n / shrinks by n
//   a << s, a >> s      by a UInt signal: width of a kept; >> is arithmetic for SInt
//
// Mixing UInt and SInt is always an error: convert with asUInt / asSInt first. An integer
// literal takes the type of the other operand; elaboration reports one that does not fit.

infix operator +% : AdditionPrecedence
infix operator -% : AdditionPrecedence
infix operator +& : AdditionPrecedence
infix operator -& : AdditionPrecedence
infix operator === : ComparisonPrecedence
infix operator =/= : ComparisonPrecedence

extension Signal {
    /// The module the operands belong to; mixing signals of two modules is a programming error.
    static func owner(_ signals: [Signal]) -> ModuleBuilder? {
        var found: ModuleBuilder?
        for signal in signals {
            guard let owner = signal.owner else { continue }
            if let other = found, other !== owner {
                preconditionFailure("an expression mixes signals of modules '\(other.ir.name)' and '\(owner.ir.name)'; pass values between modules through instance ports")
            }
            found = owner
        }
        return found
    }

    static func owner(_ lhs: Signal, _ rhs: Signal) -> ModuleBuilder? { owner([lhs, rhs]) }

    /// Both operands as expressions; a literal adopts the other side's type, and an operand
    /// narrower than the other (with the same signedness) is extended when `extendNarrower`.
    static func operands(_ lhs: Signal, _ rhs: Signal, extendNarrower: Bool) -> (Expr, Expr) {
        var left = lhs.expr(as: rhs.isUnsizedLiteral ? nil : rhs.type)
        var right = rhs.expr(as: left.type)
        if lhs.isUnsizedLiteral { left = lhs.expr(as: right.type) }
        if extendNarrower, left.type.isSigned == right.type.isSigned, left.width != right.width {
            let width = max(left.width, right.width)
            left = extend(left, to: width)
            right = extend(right, to: width)
        }
        return (left, right)
    }

    static func extend(_ expr: Expr, to width: Int, at location: SourceLocation = .unknown) -> Expr {
        expr.width == width ? expr : Expr(.extend(expr), expr.type.withWidth(width), at: location)
    }

    static func binary(_ op: BinaryOperator, _ lhs: Signal, _ rhs: Signal, extendNarrower: Bool) -> Signal {
        let (left, right) = operands(lhs, rhs, extendNarrower: extendNarrower)
        let type: HWType = op.isComparison ? .bool : left.type.withWidth(max(left.width, right.width))
        return Signal(Expr(.binary(op, left, right), type, at: .unknown), owner: owner(lhs, rhs))
    }

    static func widening(_ op: BinaryOperator, _ lhs: Signal, _ rhs: Signal, width: (Int, Int) -> Int) -> Signal {
        let (left, right) = operands(lhs, rhs, extendNarrower: false)
        let resultWidth = width(left.width, right.width)
        let type = left.type.withWidth(resultWidth)
        guard left.type.isSigned == right.type.isSigned else {
            // Leave the mismatch in the IR for the width check to report.
            return Signal(Expr(.binary(op, left, right), type, at: .unknown), owner: owner(lhs, rhs))
        }
        return Signal(Expr(.binary(op, extend(left, to: resultWidth), extend(right, to: resultWidth)), type, at: .unknown), owner: owner(lhs, rhs))
    }

    public static func +% (lhs: Signal, rhs: Signal) -> Signal { binary(.add, lhs, rhs, extendNarrower: true) }
    public static func -% (lhs: Signal, rhs: Signal) -> Signal { binary(.subtract, lhs, rhs, extendNarrower: true) }
    public static func +& (lhs: Signal, rhs: Signal) -> Signal { widening(.add, lhs, rhs) { max($0, $1) + 1 } }
    public static func -& (lhs: Signal, rhs: Signal) -> Signal { widening(.subtract, lhs, rhs) { max($0, $1) + 1 } }
    public static func * (lhs: Signal, rhs: Signal) -> Signal { widening(.multiply, lhs, rhs) { $0 + $1 } }

    public static func & (lhs: Signal, rhs: Signal) -> Signal { binary(.and, lhs, rhs, extendNarrower: false) }
    public static func | (lhs: Signal, rhs: Signal) -> Signal { binary(.or, lhs, rhs, extendNarrower: false) }
    public static func ^ (lhs: Signal, rhs: Signal) -> Signal { binary(.xor, lhs, rhs, extendNarrower: false) }
    public static func && (lhs: Signal, rhs: Signal) -> Signal { binary(.and, lhs, rhs, extendNarrower: false) }
    public static func || (lhs: Signal, rhs: Signal) -> Signal { binary(.or, lhs, rhs, extendNarrower: false) }

    public static prefix func ~ (operand: Signal) -> Signal {
        let expr = operand.expr()
        return Signal(Expr(.unary(.not, expr), expr.type, at: .unknown), owner: operand.owner)
    }

    /// Logical not of a one-bit signal.
    public static prefix func ! (operand: Signal) -> Signal { ~operand }

    public static func === (lhs: Signal, rhs: Signal) -> Signal { binary(.equal, lhs, rhs, extendNarrower: true) }
    public static func =/= (lhs: Signal, rhs: Signal) -> Signal { binary(.notEqual, lhs, rhs, extendNarrower: true) }
    public static func < (lhs: Signal, rhs: Signal) -> Signal { binary(.less, lhs, rhs, extendNarrower: true) }
    public static func <= (lhs: Signal, rhs: Signal) -> Signal { binary(.lessOrEqual, lhs, rhs, extendNarrower: true) }
    public static func > (lhs: Signal, rhs: Signal) -> Signal { binary(.greater, lhs, rhs, extendNarrower: true) }
    public static func >= (lhs: Signal, rhs: Signal) -> Signal { binary(.greaterOrEqual, lhs, rhs, extendNarrower: true) }

    /// Shift left by a signal amount; the width of `lhs` is kept (bits shifted out are lost).
    public static func << (lhs: Signal, amount: Signal) -> Signal {
        let value = lhs.expr()
        return Signal(Expr(.binary(.shiftLeft, value, amount.expr()), value.type, at: .unknown), owner: owner(lhs, amount))
    }

    /// Shift right by a signal amount: logical for UInt, arithmetic for SInt; width kept.
    public static func >> (lhs: Signal, amount: Signal) -> Signal {
        let value = lhs.expr()
        return Signal(Expr(.binary(.shiftRight, value, amount.expr()), value.type, at: .unknown), owner: owner(lhs, amount))
    }

    /// Shift left by a constant: `amount` zero bits appended, the width grows by `amount`.
    public static func << (lhs: Signal, amount: Int) -> Signal {
        let value = lhs.expr()
        guard amount > 0 else { return lhs }
        let zeros = Expr(.literal(.zero), .uint(amount), at: .unknown)
        let joined = Expr(.concat([value, zeros]), .uint(value.width + amount), at: .unknown)
        return Signal(value.type.isSigned ? Expr(.reinterpret(joined), .sint(joined.width), at: .unknown) : joined, owner: lhs.owner)
    }

    /// Shift right by a constant: the low `amount` bits dropped, the width shrinks by `amount`
    /// (to one bit at least: 0 for UInt, the sign for SInt).
    public static func >> (lhs: Signal, amount: Int) -> Signal {
        let value = lhs.expr()
        guard amount > 0 else { return lhs }
        let low = min(amount, value.width - 1)
        if amount >= value.width && !value.type.isSigned {
            return Signal(Expr(.literal(.zero), .uint(1), at: .unknown))
        }
        let bits = Expr(.slice(value, high: value.width - 1, low: low), .uint(value.width - low), at: .unknown)
        return Signal(value.type.isSigned ? Expr(.reinterpret(bits), .sint(bits.width), at: .unknown) : bits, owner: lhs.owner)
    }
}

extension Signal {
    /// Bits `high` down to `low` as a UInt.
    public func bits(_ high: Int, _ low: Int, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let value = expr()
        if low == 0 && high == value.width - 1 && !value.type.isSigned { return self }
        return Signal(Expr(.slice(value, high: high, low: low), .uint(high - low + 1), at: SourceLocation(file, line)), owner: owner)
    }

    /// One bit.
    public func bit(_ index: Int, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        bits(index, index, file: file, line: line)
    }

    public subscript(index: Int) -> Signal { bit(index) }

    /// The low `width` bits, keeping signedness.
    public func truncated(to width: Int, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let value = expr()
        if width == value.width { return self }
        let location = SourceLocation(file, line)
        let bits = Expr(.slice(value, high: width - 1, low: 0), .uint(width), at: location)
        return Signal(value.type.isSigned ? Expr(.reinterpret(bits), .sint(width), at: location) : bits, owner: owner)
    }

    /// Zero-extended (UInt) or sign-extended (SInt) to `width`, which must not be smaller.
    public func extended(to width: Int, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let value = expr()
        if width == value.width { return self }
        return Signal(Expr(.extend(value), value.type.withWidth(width), at: SourceLocation(file, line)), owner: owner)
    }

    /// Extended or truncated to `width`, keeping signedness: the value is kept when it fits.
    public func resized(to width: Int, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        width < self.width ? truncated(to: width, file: file, line: line) : extended(to: width, file: file, line: line)
    }

    /// The same bits as a UInt.
    public var asUInt: Signal {
        let value = expr()
        return value.type.isSigned ? Signal(Expr(.reinterpret(value), .uint(value.width), at: .unknown), owner: owner) : self
    }

    /// The same bits as a two's-complement SInt.
    public var asSInt: Signal {
        let value = expr()
        return value.type.isSigned ? self : Signal(Expr(.reinterpret(value), .sint(value.width), at: .unknown), owner: owner)
    }

    /// Two's-complement negation at the same width (wraps for the most negative value).
    public var negated: Signal {
        let value = expr()
        return Signal(Expr(.unary(.negate, value), value.type, at: .unknown), owner: owner)
    }

    private func reduce(_ op: UnaryOperator) -> Signal {
        Signal(Expr(.unary(op, expr()), .bool, at: .unknown), owner: owner)
    }

    /// One when every bit is one.
    public var andReduce: Signal { reduce(.andReduce) }
    /// One when any bit is one.
    public var orReduce: Signal { reduce(.orReduce) }
    /// The parity of the bits.
    public var xorReduce: Signal { reduce(.xorReduce) }
}

/// Concatenation, most significant part first (as Verilog's `{a, b}`); the result is a UInt.
public func cat(_ parts: [Signal], file: StaticString = #fileID, line: UInt = #line) -> Signal {
    let exprs = parts.map { $0.expr() }
    if exprs.count == 1 { return parts[0].asUInt }
    return Signal(Expr(.concat(exprs), .uint(exprs.reduce(0) { $0 + $1.width }), at: SourceLocation(file, line)), owner: Signal.owner(parts))
}

public func cat(_ parts: Signal..., file: StaticString = #fileID, line: UInt = #line) -> Signal {
    cat(parts, file: file, line: line)
}

/// `whenTrue` if `condition` (one bit) is set, else `whenFalse`; both of the same type.
public func mux(_ condition: Signal, _ whenTrue: Signal, _ whenFalse: Signal, file: StaticString = #fileID, line: UInt = #line) -> Signal {
    let (t, f) = Signal.operands(whenTrue, whenFalse, extendNarrower: false)
    return Signal(Expr(.mux(condition: condition.expr(as: .bool), whenTrue: t, whenFalse: f), t.type, at: SourceLocation(file, line)),
                  owner: Signal.owner([condition, whenTrue, whenFalse]))
}

/// The element of `choices` at `index` (a mux tree). Out-of-range indices give the last element.
public func select(_ choices: [Signal], at index: Signal, file: StaticString = #fileID, line: UInt = #line) -> Signal {
    precondition(!choices.isEmpty, "select from no choices")
    var result = choices[choices.count - 1]
    for position in stride(from: choices.count - 2, through: 0, by: -1) {
        result = mux(index === Signal(BigInteger(position)), choices[position], result, file: file, line: line)
    }
    return result
}
