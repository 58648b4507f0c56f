import SpinelMacros
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacros
import SwiftSyntaxMacrosGenericTestSupport
import Testing

// What `@Bundle` writes, compared with the members a person would write by hand.

private let macros: [String: MacroSpec] = [
    "Bundle": MacroSpec(type: BundleMacro.self),
    "Input": MacroSpec(type: PortMarkerMacro.self),
    "Output": MacroSpec(type: PortMarkerMacro.self),
    "Flipped": MacroSpec(type: PortMarkerMacro.self),
    "Name": MacroSpec(type: PortMarkerMacro.self),
]

private func expect(_ source: String, expands expanded: String, diagnostics: [DiagnosticSpec] = [],
                    sourceLocation: SourceLocation = #_sourceLocation) {
    assertMacroExpansion(source, expandedSource: expanded, diagnostics: diagnostics, macroSpecs: macros,
                         failureHandler: { Issue.record(Comment(rawValue: $0.message), sourceLocation: sourceLocation) })
}

@Suite struct BundleMacroTests {
    @Test func directionsAndNamesOfAnIO() {
        expect("""
            @Bundle
            public struct IO: Aggregate {
                @Input("in_a") public var a: Signal
                @Output public var busy: Signal
                /// A comment stays.
                @Name("ws") public var weightStationary: Signal
                public var name: String { "computed, not a field" }
                public static let width = 8
            }
            """, expands: """
            public struct IO: Aggregate {
                public var a: Signal
                public var busy: Signal
                /// A comment stays.
                public var weightStationary: Signal
                public var name: String { "computed, not a field" }
                public static let width = 8

                public init(a: Signal, busy: Signal, weightStationary: Signal) {
                    self.a = a
                    self.busy = busy
                    self.weightStationary = weightStationary
                }

                public func map(_ f: FieldMapper) -> Self {
                    Self(a: f.input("in_a", a), busy: f.output("busy", busy), weightStationary: f("ws", weightStationary))
                }
            }
            """)
    }

    @Test func genericBundleWithAFlippedField() {
        expect("""
            @Bundle
            struct Decoupled<Payload: Aggregate>: Aggregate {
                var valid: Signal
                @Flipped var ready: Signal
                var bits: Payload
            }
            """, expands: """
            struct Decoupled<Payload: Aggregate>: Aggregate {
                var valid: Signal
                var ready: Signal
                var bits: Payload

                init(valid: Signal, ready: Signal, bits: Payload) {
                    self.valid = valid
                    self.ready = ready
                    self.bits = bits
                }

                func map(_ f: FieldMapper) -> Self {
                    Self(valid: f("valid", valid), ready: f.flipped("ready", ready), bits: f("bits", bits))
                }
            }
            """)
    }

    @Test func privateBundleGetsFileprivateMembersAndKeywordNamesWork() {
        expect("""
            @Bundle
            private struct Tag: Aggregate {
                var `internal`: Signal
                @Flipped("resp") var response: [Signal]
            }
            """, expands: """
            private struct Tag: Aggregate {
                var `internal`: Signal
                var response: [Signal]

                fileprivate init(`internal`: Signal, response: [Signal]) {
                    self.`internal` = `internal`
                    self.response = response
                }

                fileprivate func map(_ f: FieldMapper) -> Self {
                    Self(`internal`: f("internal", `internal`), response: f.flipped("resp", response))
                }
            }
            """)
    }

    @Test func diagnosesWhatItCannotExpand() {
        expect("""
            @Bundle
            struct IO: Aggregate {
                var a = Signal(.bool)
            }
            """, expands: """
            struct IO: Aggregate {
                var a = Signal(.bool)
            }
            """, diagnostics: [
                DiagnosticSpec(message: "@Bundle needs each field's type: write `a: Signal` (or its bundle type)", line: 1, column: 1),
            ])
        expect("""
            @Bundle
            struct IO: Aggregate {
                @Input @Output var a: Signal
            }
            """, expands: """
            struct IO: Aggregate {
                var a: Signal
            }
            """, diagnostics: [
                DiagnosticSpec(message: "a field has one direction: keep one of @Input, @Output, @Flipped", line: 1, column: 1),
            ])
        expect("""
            @Bundle
            enum IO {}
            """, expands: """
            enum IO {}
            """, diagnostics: [
                DiagnosticSpec(message: "@Bundle applies to a struct: make the bundle a struct", line: 1, column: 1),
            ])
    }
}
