import Foundation

func format(_ value: Double?, digits: Int = 2) -> String {
    guard let value, value.isFinite else { return "-" }
    if value >= 1000 { return String(format: "%.0f", value) }
    if value >= 100 { return String(format: "%.1f", value) }
    if value != 0 && abs(value) < 0.1 { return String(format: "%.2g", value) }
    return String(format: "%.\(digits)f", value)
}

func percent(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "-" }
    return String(format: "%.0f%%", value * 100)
}

func renderMarkdown(_ report: Report) -> String {
    var lines: [String] = []
    lines.append("## ziggy-bench — \(report.preset) preset")
    lines.append("")
    if !report.label.isEmpty { lines.append("Label: \(markdownCell(report.label))  ") }
    lines.append("Host: \(report.host)  ")
    let load = report.host_load
    lines.append(
        "Host load: \(percent(load.busy_before)) of the CPUs busy in the \(format(load.window_seconds)) s before "
            + "measuring; other processes \(percent(load.others_busy_during)) during the run\(load.warning.map { " — **\($0)**" } ?? "")  "
    )
    lines.append("Threads: \(report.thread_placement)  ")
    lines.append("Command: `\(report.command)`  ")
    let references = report.references.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value))" }
    lines.append("References (C, this run): \(references.joined(separator: ", "))")
    lines.append("")
    lines.append(
        "| workload | backend | size | thr | median | min–max | spread | unit | reps | pages obtained | nodes | vs reference | vs base pages | note |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in report.rows {
        var ratio = row.ratio_to_reference.map { "\(format($0))× \(row.reference ?? "")" } ?? "-"
        if let interval = row.ratio_interval, row.ratio_to_reference != nil {
            ratio += " [\(format(interval.lower))–\(format(interval.upper))]"
        }
        let speedup = row.speedup_vs_base_pages.map { "\(format($0))×" } ?? "-"
        let spread = row.spread_percent.map { String(format: "±%.0f%%", $0 / 2) } ?? "-"
        lines.append(
            "| \(row.workload) | \(row.backend) | \(formatBytes(row.size_bytes)) | \(row.threads) | "
                + "\(format(row.median)) | \(format(row.min))–\(format(row.max)) | \(spread) | \(row.unit) | \(row.repetitions) | "
                + "\(row.page_size_obtained) | \(row.nodes) | \(ratio) | \(speedup) | \(markdownCell(row.note ?? "")) |")
    }
    lines.append("")
    lines.append("### Targets")
    lines.append("")
    let counts = Verdict.allCases.map { "\(report.verdict_counts[$0.rawValue] ?? 0) \($0.rawValue)" }
    lines.append("Verdicts: \(counts.joined(separator: ", ")) (within noise: the ratio's interval straddles the threshold).")
    lines.append("")
    lines.append("| target | measured | interval | needed | verdict |")
    lines.append("|---|---|---|---|---|")
    for target in report.targets {
        lines.append(
            "| \(target.target) | \(format(target.measured)) | \(format(target.lower))–\(format(target.upper)) | "
                + "\(target.atLeast ? "≥" : "≤") \(format(target.threshold)) | "
                + "\(target.verdict)\(target.detail.isEmpty ? "" : " (\(markdownCell(target.detail)))") |")
    }
    if let comparison = report.comparison, let baseline = report.baseline {
        lines.append("")
        lines.append("### Compared with \(baseline)")
        lines.append("")
        let regressions = comparison.filter { $0.status == "regression" }.count
        lines.append("\(comparison.count) rows matched, \(regressions) regression(s) beyond the measured spread.")
        lines.append("")
        lines.append("| workload | backend | size | thr | now ÷ baseline | status |")
        lines.append("|---|---|---|---|---|---|")
        for entry in comparison {
            lines.append(
                "| \(entry.workload) | \(entry.backend) | \(formatBytes(entry.size_bytes)) | \(entry.threads) | "
                    + "\(format(entry.ratio))× | \(entry.status == "regression" ? "**regression**" : entry.status) |")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}

func markdownCell(_ text: String) -> String {
    text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
}

/// RFC 4180: fields with a comma, a quote, CR or LF are quoted, quotes doubled; lines end in CRLF.
func csvField(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

func renderCSV(_ report: Report) -> String {
    let header = [
        "backend", "workload", "size_bytes", "threads", "median", "mean", "min", "max", "spread_percent", "unit",
        "repetitions", "page_size_obtained", "nodes", "reference", "ratio_to_reference", "ratio_lower",
        "ratio_upper", "speedup_vs_base_pages", "note", "label",
    ]
    var lines = [header.joined(separator: ",")]
    for row in report.rows {
        let fields: [String] = [
            row.backend, row.workload, "\(row.size_bytes)", "\(row.threads)", format(row.median, digits: 4),
            format(row.mean, digits: 4), format(row.min, digits: 4), format(row.max, digits: 4),
            format(row.spread_percent, digits: 1), row.unit, "\(row.repetitions)", row.page_size_obtained, row.nodes,
            row.reference ?? "", format(row.ratio_to_reference, digits: 4), format(row.ratio_interval?.lower, digits: 4),
            format(row.ratio_interval?.upper, digits: 4), format(row.speedup_vs_base_pages, digits: 4), row.note ?? "",
            report.label,
        ]
        lines.append(fields.map(csvField).joined(separator: ","))
    }
    return lines.joined(separator: "\r\n") + "\r\n"
}

func renderJSON(_ report: Report) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
}

/// A horizontal bar chart, one panel per measurement group of the workloads people compare
/// (first touch, population, Triad, the access loops, fork-join, small allocations): each bar the
/// median, its whisker the samples' min–max, C references grey and marked "C", the library blue.
func renderSVG(_ report: Report) -> String {
    let charted = [
        "first-touch", "populate", "triad", "access-triad", "access-fill", "access-sum", "team-region", "team-triad",
        "alloc-free", "gups",
    ]
    var panels: [(title: String, rows: [Row])] = []
    for workload in charted {
        var groups: [(String, [Row])] = []
        for row in report.rows where row.workload == workload && row.isMeasured {
            if workload == "alloc-free" && row.size_bytes > 4096 { continue }
            let key = "\(row.size_bytes)|\(row.threads)"
            if let index = groups.firstIndex(where: { $0.0 == key }) {
                groups[index].1.append(row)
            } else {
                groups.append((key, [row]))
            }
        }
        for (_, rows) in groups {
            let first = rows[0]
            let size = first.size_bytes > 0 ? ", \(formatBytes(first.size_bytes))" : ""
            let threads = first.threads > 1 ? ", \(first.threads) threads" : ", 1 thread"
            let direction = first.higher_is_better ? "higher is better" : "lower is better"
            panels.append(
                (
                    "\(workload)\(size)\(threads) — \(first.unit), \(direction)",
                    rows.filter(\.isReference) + rows.filter { !$0.isReference }
                ))
        }
    }
    let width = 960.0, labelWidth = 250.0, valueRoom = 200.0, barHeight = 15.0, gap = 5.0, panelGap = 30.0
    let plotWidth = width - labelWidth - valueRoom
    let referenceColor = "#9a9a9a", libraryColor = "#3b6ea5"
    var y = 86.0
    var body: [String] = []
    for panel in panels {
        body.append("<text x=\"10\" y=\"\(y)\" font-size=\"13\" font-weight=\"bold\">\(escapeXML(panel.title))</text>")
        y += 8
        // The scale ends at 3× the reference's median (or the panel's smallest median): a row far
        // off that scale (pthread create+join, a 10 µs mmap among 20 ns mallocs) is drawn clipped,
        // with a break mark, so that it does not flatten every other bar.
        let values = panel.rows.compactMap { $0.max ?? $0.median }
        let anchor = panel.rows.first(where: \.isReference)?.median ?? panel.rows.compactMap(\.median).min() ?? 1
        let maximum = min(values.max() ?? 1, 3 * anchor)
        func x(_ value: Double) -> Double { labelWidth + plotWidth * min(value, maximum * 1.04) / maximum }
        for row in panel.rows {
            let median = row.median ?? 0
            let label =
                row.threads > 1 && panel.rows.contains(where: { $0.threads != row.threads })
                ? "\(row.backend) ×\(row.threads)" : row.backend
            body.append(
                "<text x=\"\(labelWidth - 8)\" y=\"\(y + barHeight - 3.5)\" font-size=\"11\" text-anchor=\"end\""
                    + (row.isReference ? " fill=\"#444\" font-style=\"italic\"" : "") + ">\(escapeXML(label))</text>")
            body.append(
                "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(svgNumber(max(1, x(median) - labelWidth)))\" height=\"\(barHeight)\" "
                    + "fill=\"\(row.isReference ? referenceColor : libraryColor)\"/>")
            if median > maximum {
                let breakX = x(maximum) - 10
                body.append(
                    "<path d=\"M\(svgNumber(breakX - 3)) \(svgNumber(y + barHeight + 1)) L\(svgNumber(breakX + 3)) \(svgNumber(y - 1)) "
                        + "M\(svgNumber(breakX + 3)) \(svgNumber(y + barHeight + 1)) L\(svgNumber(breakX + 9)) \(svgNumber(y - 1))\" "
                        + "stroke=\"white\" stroke-width=\"3\"/>")
            } else if let low = row.min, let high = row.max {
                let middle = y + barHeight / 2
                body.append(
                    "<path d=\"M\(svgNumber(x(low))) \(svgNumber(middle)) H\(svgNumber(x(high))) "
                        + "M\(svgNumber(x(low))) \(svgNumber(middle - 4)) V\(svgNumber(middle + 4)) "
                        + "M\(svgNumber(x(high))) \(svgNumber(middle - 4)) V\(svgNumber(middle + 4))\" stroke=\"#111\" stroke-width=\"1.2\" fill=\"none\"/>"
                )
            }
            var value = format(median) + (median > maximum ? " ≫" : "")
            if let ratio = row.ratio_to_reference { value += "  (\(format(ratio))×)" }
            body.append(
                "<text x=\"\(svgNumber(x(max(median, row.max ?? median)) + 6))\" y=\"\(y + barHeight - 3.5)\" font-size=\"11\">\(escapeXML(value))</text>"
            )
            y += barHeight + gap
        }
        y += panelGap
    }
    let header =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(y))\" font-family=\"sans-serif\">"
    let title =
        "<text x=\"10\" y=\"22\" font-size=\"16\">ziggy-bench, \(escapeXML(report.preset)) preset"
        + "\(report.label.isEmpty ? "" : " — " + escapeXML(report.label))</text>"
    let host = "<text x=\"10\" y=\"40\" font-size=\"10\" fill=\"#555\">\(escapeXML(report.host))</text>"
    let legend = [
        "<rect x=\"10\" y=\"50\" width=\"14\" height=\"10\" fill=\"\(libraryColor)\"/>",
        "<text x=\"30\" y=\"59\" font-size=\"11\">ZiggyAlloc</text>",
        "<rect x=\"110\" y=\"50\" width=\"14\" height=\"10\" fill=\"\(referenceColor)\"/>",
        "<text x=\"130\" y=\"59\" font-size=\"11\" font-style=\"italic\">C reference, same run</text>",
        "<path d=\"M290 55 H320 M290 51 V59 M320 51 V59\" stroke=\"#111\" stroke-width=\"1.2\"/>",
        "<text x=\"328\" y=\"59\" font-size=\"11\">min–max; number: median (ratio to the first C reference); ≫ off scale</text>",
    ]
    return ([header, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>", title, host] + legend + body + ["</svg>"])
        .joined(separator: "\n") + "\n"
}

private func svgNumber(_ value: Double) -> String { String(format: "%.1f", value) }

/// Every character XML gives meaning to in text and attributes.
func escapeXML(_ text: String) -> String {
    var result = ""
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&apos;"
        default: result.append(character)
        }
    }
    return result
}
