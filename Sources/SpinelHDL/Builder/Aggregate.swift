/// Which way a port carries data, seen from inside the module.
public enum Direction: Hashable, Sendable {
    case input
    case output

    public var flipped: Direction { self == .input ? .output : .input }
}

/// Hardware made of named ground fields: a `Signal`, an array of aggregates (a vector), or a
/// bundle — a struct whose `map` rebuilds it field by field. `@Bundle` writes `map` (and the
/// memberwise `init`) from the stored properties:
///
/// ```swift
/// @Bundle
/// struct Decoupled<Payload: Aggregate>: Aggregate {
///     var valid: Signal
///     @Flipped var ready: Signal
///     var bits: Payload
/// }
/// ```
/// Field names join with `_` into Verilog names (`enq_valid`), in the order `map` visits them.
public protocol Aggregate {
    /// Returns a copy whose fields are what `fields` makes of each of them, in a fixed order.
    func map(_ fields: FieldMapper) -> Self
}

/// Walks an aggregate's fields, tracking the name path and the direction, and replaces each
/// ground field by what `visit` returns.
public struct FieldMapper {
    public struct Leaf {
        /// The field's name path, outermost first.
        public var path: [String]
        /// The field as it was (a template or hardware).
        public var field: Signal
        /// The direction in effect: set by `input`/`output`, inverted by `flipped`.
        public var direction: Direction?
        /// Whether an odd number of `flipped` lie on the path.
        public var isFlipped: Bool

        public var name: String { path.joined(separator: "_") }
    }

    let path: [String]
    let direction: Direction?
    let isFlipped: Bool
    let visit: (Leaf) -> Signal

    public init(root: String? = nil, direction: Direction? = nil, visit: @escaping (Leaf) -> Signal) {
        path = root.map { [$0] } ?? []
        self.direction = direction
        isFlipped = false
        self.visit = visit
    }

    private init(path: [String], direction: Direction?, isFlipped: Bool, visit: @escaping (Leaf) -> Signal) {
        self.path = path
        self.direction = direction
        self.isFlipped = isFlipped
        self.visit = visit
    }

    private func child(_ name: String, direction: Direction?, flip: Bool) -> FieldMapper {
        FieldMapper(path: path + [name], direction: direction, isFlipped: isFlipped != flip, visit: visit)
    }

    /// A field in the direction of its parent.
    public func callAsFunction<T: Aggregate>(_ name: String, _ field: T) -> T {
        field.map(child(name, direction: direction, flip: false))
    }

    /// A field against the direction of its parent (`ready` in a ready/valid bundle).
    public func flipped<T: Aggregate>(_ name: String, _ field: T) -> T {
        field.map(child(name, direction: direction?.flipped, flip: true))
    }

    /// A field that is a module input (for IO structs).
    public func input<T: Aggregate>(_ name: String, _ field: T) -> T {
        field.map(child(name, direction: .input, flip: false))
    }

    /// A field that is a module output (for IO structs).
    public func output<T: Aggregate>(_ name: String, _ field: T) -> T {
        field.map(child(name, direction: .output, flip: false))
    }

    func visitLeaf(_ field: Signal) -> Signal {
        visit(Leaf(path: path, field: field, direction: direction, isFlipped: isFlipped))
    }
}

extension Array: Aggregate where Element: Aggregate {
    /// A vector: element `i` is the field named `i`.
    public func map(_ fields: FieldMapper) -> [Element] {
        enumerated().map { fields(String($0.offset), $0.element) }
    }
}

extension Aggregate {
    /// The ground fields in order.
    public var leaves: [FieldMapper.Leaf] {
        let collector = LeafCollector()
        _ = map(FieldMapper { leaf in
            collector.leaves.append(leaf)
            return leaf.field
        })
        return collector.leaves
    }
}

/// A payload with a `valid` qualifier (Chisel's `Valid`).
@Bundle
public struct Valid<Payload: Aggregate>: Aggregate {
    public var valid: Signal
    public var bits: Payload

    /// A template carrying `bits`.
    public init(_ bits: Payload, file: StaticString = #fileID, line: UInt = #line) {
        self.init(valid: Signal(.bool, file: file, line: line), bits: bits)
    }
}

/// A ready/valid handshake: a transfer happens in a cycle where both are high (`fire`). The
/// producer drives `valid` and `bits`; the consumer drives `ready` (a flipped field).
@Bundle
public struct Decoupled<Payload: Aggregate>: Aggregate {
    public var valid: Signal
    @Flipped public var ready: Signal
    public var bits: Payload

    /// A template carrying `bits`.
    public init(_ bits: Payload, file: StaticString = #fileID, line: UInt = #line) {
        self.init(valid: Signal(.bool, file: file, line: line), ready: Signal(.bool, file: file, line: line), bits: bits)
    }

    /// High in a cycle where a transfer happens.
    public var fire: Signal { valid && ready }
}

private final class LeafCollector {
    var leaves: [FieldMapper.Leaf] = []
}

extension Aggregate {
    /// Total width of the ground fields.
    public var packedWidth: Int { leaves.reduce(0) { $0 + $1.field.width } }

    /// The fields concatenated into one UInt, the first field in the most significant bits
    /// (for storing a bundle in a `Queue` or a memory).
    public var packed: Signal { cat(leaves.map(\.field)) }

    /// A copy of this aggregate (hardware or template) whose fields are sliced out of `word`,
    /// laid out as `packed` lays them.
    public func unpacked(from word: Signal) -> Self {
        let cursor = PackCursor(high: word.width)
        return map(FieldMapper { leaf in
            let width = leaf.field.width
            cursor.high -= width
            let bits = word.bits(cursor.high + width - 1, cursor.high)
            return leaf.field.type?.isSigned == true ? bits.asSInt : bits
        })
    }
}

private final class PackCursor {
    var high: Int
    init(high: Int) { self.high = high }
}
