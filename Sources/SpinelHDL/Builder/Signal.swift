/// A handle on hardware while a module is being built: a signal of the module, an expression
/// over its signals, an integer literal whose width is taken from where it is used, or — inside an
/// `IO` or bundle template — just a type.
///
/// Operators build expressions; they never change hardware. Hardware changes through `set`,
/// `when` and the other `ModuleBuilder` calls, which record where in the Swift source they were
/// made.
public struct Signal: Aggregate {
    enum Storage {
        case hardware(Expr)
        /// A literal that takes the type of the other operand or of the target it is assigned to.
        case unsizedLiteral(BigInteger)
        /// A placeholder in an IO or bundle template: a type and where it was written.
        case template(HWType, SourceLocation)
    }

    let storage: Storage
    /// Set for signals declared by a builder (ports, wires, registers): the ones `set` may drive.
    let owner: ModuleBuilder?

    init(_ expr: Expr, owner: ModuleBuilder? = nil) {
        storage = .hardware(expr)
        self.owner = owner
    }

    init(storage: Storage) {
        self.storage = storage
        owner = nil
    }

    /// A template field of `type`, for IO structs and bundles.
    public init(_ type: HWType, file: StaticString = #fileID, line: UInt = #line) {
        self.init(storage: .template(type, SourceLocation(file, line)))
    }

    /// A literal of an explicit type. A value that does not fit is reported by elaboration.
    public static func literal(_ value: BigInteger, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        Signal(Expr(.literal(value), type, at: SourceLocation(file, line)))
    }

    /// A literal of an explicit type from an elaboration-time integer: `Signal.literal(bit + 1, .uint(5))`.
    public static func literal(_ value: Int, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        literal(BigInteger(value), type, file: file, line: line)
    }

    /// The same for a command code (`Funct`'s 7-bit codes are `UInt8`).
    public static func literal(_ value: UInt8, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        literal(BigInteger(Int(value)), type, file: file, line: line)
    }

    public func map(_ fields: FieldMapper) -> Signal { fields.visitLeaf(self) }

    /// The expression, with a literal given `type` if it has none yet.
    func expr(as type: HWType? = nil) -> Expr {
        switch storage {
        case .hardware(let expr):
            return expr
        case .unsizedLiteral(let value):
            let inferred = type ?? (value.isNegative ? .sint(value.magnitudeBitWidth + 1) : .uint(max(1, value.magnitudeBitWidth)))
            return Expr(.literal(value), inferred, at: .unknown)
        case .template(let type, let location):
            preconditionFailure("\(location): a template field of type \(type) was used as hardware; declare it with ModuleBuilder.wire, register or a module IO first")
        }
    }

    /// The type, for hardware and templates; nil for a literal without one.
    public var type: HWType? {
        switch storage {
        case .hardware(let expr): expr.type
        case .unsizedLiteral: nil
        case .template(let type, _): type
        }
    }

    /// The width (see `type`); a literal without a type reports its minimal width.
    public var width: Int { type?.width ?? expr().width }

    var isUnsizedLiteral: Bool {
        if case .unsizedLiteral = storage { true } else { false }
    }

    var templateLocation: SourceLocation? {
        if case .template(_, let location) = storage { location } else { nil }
    }

    /// The declared signal this handle names, if it is one.
    var signalID: SignalID? {
        if case .hardware(let expr) = storage, case .signal(let id) = expr.operation { id } else { nil }
    }
}

extension Signal: ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(integerLiteral value: Int) {
        self.init(storage: .unsizedLiteral(BigInteger(value)))
    }

    public init(booleanLiteral value: Bool) {
        self.init(Expr(.literal(value ? .one : .zero), .bool, at: .unknown))
    }

    /// A one-bit constant, for conditions decided at elaboration (`Signal(config.hasX)`).
    public init(_ value: Bool) {
        self.init(booleanLiteral: value)
    }

    /// An integer literal of any size whose type comes from where it is used.
    public init(_ value: BigInteger) {
        self.init(storage: .unsizedLiteral(value))
    }

    /// An elaboration-time integer (a loop index, a raw value) as a literal whose type comes
    /// from where it is used: `row.columns > Signal(column)`.
    public init(_ value: Int) {
        self.init(storage: .unsizedLiteral(BigInteger(value)))
    }

    /// A command code (`Funct`'s 7-bit codes are `UInt8`) as a literal: `funct === Signal(Funct.mvin)`.
    public init(_ value: UInt8) {
        self.init(storage: .unsizedLiteral(BigInteger(Int(value))))
    }
}
