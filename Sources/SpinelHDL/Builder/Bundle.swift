/// Declares a bundle's fields once: writes the struct's memberwise `init` and its `map(_:)` from
/// the stored properties, in declaration order (the order of the Verilog ports and of `packed`).
///
/// ```swift
/// @Bundle
/// public struct IO: Aggregate {
///     @Input("in_a") public var a: Signal
///     @Output("out_c") public var cOut: Signal
///     @Flipped public var ready: Signal
///     @Name("ws") public var weightStationary: Signal
///     public var bits: Payload               // the parent's direction, named `bits`
/// }
/// ```
/// The generated members take the struct's access level. Fields are the stored properties:
/// computed properties are left out, and every field's type must be written.
@attached(member, names: named(init), named(map))
public macro Bundle() = #externalMacro(module: "SpinelMacros", type: "BundleMacro")

/// A `@Bundle` field that is a module input, named `name` (default: the property's name).
@attached(peer)
public macro Input(_ name: String? = nil) = #externalMacro(module: "SpinelMacros", type: "PortMarkerMacro")

/// A `@Bundle` field that is a module output, named `name` (default: the property's name).
@attached(peer)
public macro Output(_ name: String? = nil) = #externalMacro(module: "SpinelMacros", type: "PortMarkerMacro")

/// A `@Bundle` field against its parent's direction (`ready` in a ready/valid bundle).
@attached(peer)
public macro Flipped(_ name: String? = nil) = #externalMacro(module: "SpinelMacros", type: "PortMarkerMacro")

/// A `@Bundle` field's Verilog name when it differs from the property's.
@attached(peer)
public macro Name(_ name: String) = #externalMacro(module: "SpinelMacros", type: "PortMarkerMacro")
