import Foundation

/// report.html: one self-contained page (no scripts, no external files) with SVG plots drawn
/// here: per workload the Pareto front (area against cycles, the optimal points marked), the
/// utilization against the problem size, and the cycles per stage of the Pareto points.
///
/// Every plotted point is an SVG element with `class` `point` or `pareto` (Pareto plots),
/// `util` (utilization) or `stage` (bars) and `data-hash` / `data-workload`, so tests and
/// scripts can read the page back.
public enum ExploreReport {
    public static func html(_ tables: ResultTables, title: String) -> String {
        var body = "<h1>\(escape(title))</h1>\n"
        let evaluated = tables.results.count, valid = tables.results.filter { $0.status == "ok" }.count
        body += "<p>\(evaluated) configurations evaluated, \(valid) valid"
            + (tables.missing > 0 ? ", \(tables.missing) not evaluated yet" : "")
            + ". Cycles: the golden timing model on each workload's command stream; area: transistor equivalents, SRAM macros modelled "
            + "(docs/EXPLORE.md).</p>\n"
        for workload in tables.workloads {
            let rows = tables.rows.filter { $0.workload == workload && $0.cycles != nil && $0.totalTransistors != nil }
            body += "<h2>\(escape(workload))</h2>\n"
            body += paretoPlot(rows, workload: workload)
            body += stagePlot(rows.filter(\.pareto), results: tables.results, workload: workload)
        }
        body += "<h2>Utilization against problem size</h2>\n" + utilizationPlot(tables)
        body += "<h2>Pareto points</h2>\n" + paretoTable(tables)
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:2em;max-width:980px}svg{background:#fff;border:1px solid #ccc}\
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style>
            </head><body>
            \(body)</body></html>

            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ value: Double) -> String {
        if value >= 1e9 { return String(format: "%.2fG", value / 1e9) }
        if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
        if value >= 1e4 { return String(format: "%.0fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    /// A tick's value in k, M or G, with as many decimals as the spacing of the ticks needs
    /// (so that neighbouring ticks never read the same).
    static func tickLabel(_ value: Double, step: Double) -> String {
        let (unit, suffix): (Double, String) = abs(value) >= 1e9 ? (1e9, "G") : abs(value) >= 1e6 ? (1e6, "M") : abs(value) >= 1e4 ? (1e3, "k") : (1, "")
        let decimals = step > 0 ? min(4, max(0, Int((-log10(step / unit)).rounded(.up)))) : 0
        return String(format: "%.\(decimals)f", value / unit) + suffix
    }

    static func label(_ row: ResultRow) -> String {
        row.assignment.map { "\($0.axis)=\($0.value)" }.joined(separator: " ")
    }

    /// A linear axis over [low, high] (widened when the range is empty), with 5 ticks.
    struct Scale {
        var low: Double, high: Double, from: Double, to: Double
        init(_ values: [Double], from: Double, to: Double) {
            var low = values.min() ?? 0, high = values.max() ?? 1
            if high - low < 1e-9 * max(1, abs(high)) { low -= max(1, abs(low) * 0.1); high += max(1, abs(high) * 0.1) }
            let pad = (high - low) * 0.05
            self.low = low - pad
            self.high = high + pad
            self.from = from
            self.to = to
        }
        func callAsFunction(_ value: Double) -> Double { from + (value - low) / (high - low) * (to - from) }
        var ticks: [Double] { (0...4).map { low + (high - low) * Double($0) / 4 } }
    }

    static let width = 900.0, height = 420.0, left = 90.0, right = 20.0, top = 20.0, bottom = 50.0

    static func frame(xLabel: String, yLabel: String, x: Scale, y: Scale, logX: Bool = false) -> String {
        var svg = "<line x1=\"\(left)\" y1=\(q(height - bottom)) x2=\(q(width - right)) y2=\(q(height - bottom)) stroke=\"#000\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\(q(height - bottom)) stroke=\"#000\"/>\n"
        for tick in x.ticks {
            let text = logX ? number(pow(10, tick)) : tickLabel(tick, step: (x.high - x.low) / 4)
            svg += "<text x=\(q(x(tick))) y=\(q(height - bottom + 16)) font-size=\"11\" text-anchor=\"middle\">\(text)</text>"
        }
        for tick in y.ticks {
            svg += "<text x=\(q(left - 6)) y=\(q(y(tick) + 4)) font-size=\"11\" text-anchor=\"end\">\(tickLabel(tick, step: (y.high - y.low) / 4))</text>"
        }
        svg += "\n<text x=\(q((left + width - right) / 2)) y=\(q(height - 8)) font-size=\"13\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        svg += "<text x=\"14\" y=\(q((top + height - bottom) / 2)) font-size=\"13\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 14 \(fmt((top + height - bottom) / 2)))\">\(escape(yLabel))</text>\n"
        return svg
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
    static func q(_ value: Double) -> String { "\"\(fmt(value))\"" }

    static func paretoPlot(_ rows: [ResultRow], workload: String) -> String {
        guard !rows.isEmpty else { return "<p>No valid point for this workload.</p>\n" }
        let x = Scale(rows.map { $0.totalTransistors! }, from: left, to: width - right)
        let y = Scale(rows.map { Double($0.cycles!) }, from: height - bottom, to: top)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"pareto-plot\" data-workload=\"\(escape(workload))\" "
            + "width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        svg += frame(xLabel: "area (transistor equivalents)", yLabel: "cycles", x: x, y: y)
        let front = rows.filter(\.pareto).sorted { ($0.totalTransistors!, $0.cycles!) < ($1.totalTransistors!, $1.cycles!) }
        if front.count > 1 {
            svg += "<polyline fill=\"none\" stroke=\"#c00\" stroke-width=\"1.5\" points=\""
                + front.map { "\(fmt(x($0.totalTransistors!))),\(fmt(y(Double($0.cycles!))))" }.joined(separator: " ") + "\"/>\n"
        }
        for row in rows {
            let cx = x(row.totalTransistors!), cy = y(Double(row.cycles!))
            svg += "<circle class=\"\(row.pareto ? "pareto" : "point")\" data-hash=\"\(row.hash)\" data-workload=\"\(escape(workload))\" "
                + "cx=\(q(cx)) cy=\(q(cy)) r=\"\(row.pareto ? 6 : 4)\" fill=\"\(row.pareto ? "#c00" : "#36c")\" fill-opacity=\"0.8\">"
                + "<title>\(escape(label(row))): \(row.cycles!) cycles, \(number(row.totalTransistors!)) transistors</title></circle>\n"
        }
        return svg + "</svg>\n"
    }

    static func utilizationPlot(_ tables: ResultTables) -> String {
        let rows = tables.rows.filter { $0.utilization != nil && $0.macs != nil }
        guard !rows.isEmpty else { return "<p>No results yet.</p>\n" }
        let x = Scale(rows.map { log10($0.macs!) }, from: left, to: width - right)
        let y = Scale(rows.map { 100 * $0.utilization! } + [0, 100], from: height - bottom, to: top)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"utilization-plot\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        svg += frame(xLabel: "problem size (MACs, log scale)", yLabel: "PE utilization (%)", x: x, y: y, logX: true)
        let palette = ["#36c", "#c00", "#090", "#f90", "#909", "#099", "#666", "#960"]
        var hashes: [String] = []
        for row in rows where !hashes.contains(row.hash) { hashes.append(row.hash) }
        for (index, hash) in hashes.enumerated() {
            let color = palette[index % palette.count]
            let series = rows.filter { $0.hash == hash }.sorted { $0.macs! < $1.macs! }
            if series.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-opacity=\"0.5\" points=\""
                    + series.map { "\(fmt(x(log10($0.macs!)))),\(fmt(y(100 * $0.utilization!)))" }.joined(separator: " ") + "\"/>\n"
            }
            for row in series {
                svg += "<circle class=\"util\" data-hash=\"\(hash)\" data-workload=\"\(escape(row.workload ?? ""))\" cx=\(q(x(log10(row.macs!)))) "
                    + "cy=\(q(y(100 * row.utilization!))) r=\"4\" fill=\"\(color)\"><title>\(escape(label(row))), \(escape(row.workload ?? "")): "
                    + String(format: "%.1f%%", 100 * row.utilization!) + "</title></circle>\n"
            }
        }
        return svg + "</svg>\n"
    }

    static func stagePlot(_ front: [ResultRow], results: [PointResult], workload: String) -> String {
        let bars: [(row: ResultRow, stages: [WorkloadResult.Stage])] = front.compactMap { row in
            guard let stages = results.first(where: { $0.hash == row.hash })?.workloads.first(where: { $0.name == workload })?.stages,
                  !stages.isEmpty else { return nil }
            return (row, stages)
        }
        guard !bars.isEmpty else { return "" }
        let names = bars.flatMap { $0.stages.map(\.name) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let palette = ["#36c", "#c00", "#090", "#f90", "#909", "#099"]
        let barHeight = 22.0, plotHeight = top + Double(bars.count) * (barHeight + 8) + 30 + Double(names.count) * 16
        let longest = Double(bars.map { $0.stages.reduce(0) { $0 + $1.cycles } }.max() ?? 1)
        let axes = bars.first?.row.assignment.map(\.axis).joined(separator: ", ") ?? ""
        var svg = "<p>Cycles per stage of the Pareto points (fence-to-fence segments, named by what they run)"
            + (axes.isEmpty ? "" : "; each bar is labelled with its \(escape(axes))") + ":</p>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"stage-plot\" data-workload=\"\(escape(workload))\" width=\"\(Int(width))\" "
            + "height=\"\(Int(plotHeight))\" viewBox=\"0 0 \(Int(width)) \(Int(plotHeight))\">\n"
        let barLeft = 250.0, barWidth = width - barLeft - right
        for (index, bar) in bars.enumerated() {
            let y0 = top + Double(index) * (barHeight + 8)
            svg += "<text x=\(q(barLeft - 6)) y=\(q(y0 + 15)) font-size=\"11\" text-anchor=\"end\">"
                + "\(escape(bar.row.assignment.map(\.value).joined(separator: ", ")))<title>\(escape(label(bar.row)))</title></text>"
            var x0 = barLeft
            for stage in bar.stages {
                let w = Double(stage.cycles) / longest * barWidth
                let color = palette[(names.firstIndex(of: stage.name) ?? 0) % palette.count]
                svg += "<rect class=\"stage\" data-hash=\"\(bar.row.hash)\" x=\(q(x0)) y=\(q(y0)) width=\(q(w)) height=\"\(Int(barHeight))\" fill=\"\(color)\">"
                    + "<title>\(escape(stage.name)): \(stage.cycles) cycles</title></rect>"
                x0 += w
            }
            svg += "\n"
        }
        var legendY = top + Double(bars.count) * (barHeight + 8) + 20
        for (index, name) in names.enumerated() {
            svg += "<rect x=\(q(barLeft)) y=\(q(legendY - 10)) width=\"12\" height=\"12\" fill=\"\(palette[index % palette.count])\"/>"
                + "<text x=\(q(barLeft + 18)) y=\(q(legendY)) font-size=\"12\">\(escape(name))</text>\n"
            legendY += 16
        }
        return svg + "</svg>\n"
    }

    static func paretoTable(_ tables: ResultTables) -> String {
        var html = "<table><tr><th>workload</th><th>configuration</th><th>hash</th><th>cycles</th><th>utilization</th><th>transistors</th></tr>\n"
        for row in tables.rows where row.pareto {
            html += "<tr><td>\(escape(row.workload ?? ""))</td><td>\(escape(label(row)))</td><td>\(row.hash)</td><td>\(row.cycles!)</td>"
                + "<td>" + String(format: "%.1f%%", 100 * (row.utilization ?? 0)) + "</td><td>\(number(row.totalTransistors!))</td></tr>\n"
        }
        return html + "</table>\n"
    }
}
