/// Writes `gemmini_counter.h`: Gemmini's performance-counter event ids under Gemmini's names,
/// from `CounterEvent` and `ExternalCounter` (the tables the counter file is built from), so that
/// a Gemmini program's counter code builds unchanged. The same for every configuration.
public enum CounterHeader {
    public static let fileName = "gemmini_counter.h"

    public static func render() -> String {
        var lines = [
            "/*",
            " * Spinel harness: the performance-counter events, with the names and ids of Gemmini's",
            " * gemmini_counter.h (generated from CounterEvent and ExternalCounter). Events Spinel does",
            " * not have count nothing and read 0 (docs/GEMMINI-COMPATIBILITY.md, \"Performance counters\").",
            " * Written for Spinel.",
            " */",
            "#ifndef SPINEL_GEMMINI_COUNTER_H",
            "#define SPINEL_GEMMINI_COUNTER_H",
            "",
            "#define INCREMENTAL_COUNTERS \(CounterEvent.incrementalCount)",
            "",
            "/* Events: a slot counts the cycles (or handshakes) in which the event happens. */",
        ]
        for event in CounterEvent.allCases {
            lines.append("#define \(event.gemminiName) \(event.rawValue)" + (event.isCounted || event == .disable ? "" : "  /* not in Spinel: reads 0 */"))
        }
        lines += ["", "/* External values: a slot reads them as they are at the read. */"]
        for value in ExternalCounter.allCases where value != .disable {
            lines.append("#define \(value.gemminiName) (INCREMENTAL_COUNTERS + \(value.rawValue))"
                         + (value.isCounted ? "" : "  /* not in Spinel: reads 0 */"))
        }
        lines += ["", "#endif /* SPINEL_GEMMINI_COUNTER_H */"]
        return lines.joined(separator: "\n")
    }
}
