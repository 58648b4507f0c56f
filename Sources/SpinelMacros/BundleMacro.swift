import SwiftCompilerPlugin
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxMacros

/// `@Bundle`: writes a bundle's memberwise `init` and its `map(_:)` from the stored properties,
/// in declaration order. A property's attribute gives its direction (`@Input`, `@Output`,
/// `@Flipped`, none: its parent's) and, as an argument or with `@Name`, its Verilog name
/// (default: the property's name).
public struct BundleMacro: MemberMacro {
    public static func expansion(
        of node: AttributeSyntax,
        providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard declaration.is(StructDeclSyntax.self) else {
            throw BundleError("@Bundle applies to a struct: make the bundle a struct")
        }
        let access = accessLevel(of: declaration.modifiers)
        let fields = try storedProperties(of: declaration.memberBlock)
        let parameters = fields.map { field in
            "\(field.identifier): \(field.type)" + (field.initializer.map { " = \($0)" } ?? "")
        }
        let assignments = fields.map { "self.\($0.identifier) = \($0.identifier)" }
        let arguments = fields.map { field in
            "\(field.identifier): f\(field.mapper)(\(quoted(field.verilogName)), \(field.identifier))"
        }
        let initializer: DeclSyntax = """
            \(raw: access)init(\(raw: parameters.joined(separator: ", "))) {
            \(raw: assignments.map { "    " + $0 }.joined(separator: "\n"))
            }
            """
        let map: DeclSyntax = """
            \(raw: access)func map(_ f: FieldMapper) -> Self {
                Self(\(raw: arguments.joined(separator: ", ")))
            }
            """
        return [initializer, map]
    }

    /// The generated members' access: the struct's, but `fileprivate` for a `private` struct
    /// (a `private` member would be invisible next to it).
    static func accessLevel(of modifiers: DeclModifierListSyntax) -> String {
        for modifier in modifiers {
            switch modifier.name.tokenKind {
            case .keyword(.public), .keyword(.open): return "public "
            case .keyword(.package): return "package "
            case .keyword(.fileprivate), .keyword(.private): return "fileprivate "
            default: continue
            }
        }
        return ""
    }

    struct Field {
        var identifier: String
        var type: String
        var initializer: String?
        /// `""` (the parent's direction), `.input`, `.output` or `.flipped`.
        var mapper: String
        var verilogName: String
    }

    static func storedProperties(of members: MemberBlockSyntax) throws -> [Field] {
        var fields: [Field] = []
        for member in members.members {
            guard let variable = member.decl.as(VariableDeclSyntax.self),
                  !variable.modifiers.contains(where: { [.keyword(.static), .keyword(.class)].contains($0.name.tokenKind) })
            else { continue }
            let (mapper, explicitName) = try portAttributes(variable.attributes)
            for binding in variable.bindings {
                if let accessors = binding.accessorBlock, !isObserversOnly(accessors) { continue }
                guard let pattern = binding.pattern.as(IdentifierPatternSyntax.self) else {
                    throw BundleError("@Bundle fields are named one by one: split the tuple pattern of `\(binding.pattern.trimmedDescription)`")
                }
                guard let type = binding.typeAnnotation?.type.trimmedDescription else {
                    throw BundleError("@Bundle needs each field's type: write `\(pattern.identifier.text): Signal` (or its bundle type)")
                }
                if variable.bindingSpecifier.tokenKind == .keyword(.let), binding.initializer != nil {
                    throw BundleError("a `let` with a value can't be a bundle field: make `\(pattern.identifier.text)` a `var` or a computed property")
                }
                let identifier = pattern.identifier.text
                fields.append(Field(identifier: identifier, type: type,
                                    initializer: binding.initializer?.value.trimmedDescription,
                                    mapper: mapper,
                                    verilogName: explicitName ?? identifier.trimmingBackticks))
            }
        }
        return fields
    }

    static func isObserversOnly(_ accessors: AccessorBlockSyntax) -> Bool {
        guard case .accessors(let list) = accessors.accessors else { return false }
        return list.allSatisfy { [.keyword(.willSet), .keyword(.didSet)].contains($0.accessorSpecifier.tokenKind) }
    }

    /// The direction and the name that a property's attributes give it.
    static func portAttributes(_ attributes: AttributeListSyntax) throws -> (mapper: String, name: String?) {
        var mapper = "", name: String? = nil
        for element in attributes {
            guard let attribute = element.as(AttributeSyntax.self) else { continue }
            let attributeName = attribute.attributeName.trimmedDescription
            let kinds = ["Input": ".input", "Output": ".output", "Flipped": ".flipped", "Name": ""]
            guard let kind = kinds[attributeName] else { continue }
            if attributeName != "Name" {
                guard mapper.isEmpty else { throw BundleError("a field has one direction: keep one of @Input, @Output, @Flipped") }
                mapper = kind
            }
            if case .argumentList(let arguments) = attribute.arguments, let first = arguments.first {
                guard let literal = first.expression.as(StringLiteralExprSyntax.self),
                      let text = literal.representedLiteralValue else {
                    throw BundleError("@\(attributeName)'s name is a string literal: write @\(attributeName)(\"in_a\")")
                }
                name = text
            }
        }
        return (mapper, name)
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.flatMap { $0 == "\\" || $0 == "\"" ? ["\\", $0] : [$0] } + "\""
    }
}

/// `@Input`, `@Output`, `@Flipped`, `@Name`: markers read by `@Bundle`; they add nothing.
public struct PortMarkerMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax,
        providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        []
    }
}

struct BundleError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    var trimmingBackticks: String {
        hasPrefix("`") && hasSuffix("`") && count > 1 ? String(dropFirst().dropLast()) : self
    }
}

@main
struct SpinelMacrosPlugin: CompilerPlugin {
    let providingMacros: [Macro.Type] = [BundleMacro.self, PortMarkerMacro.self]
}
