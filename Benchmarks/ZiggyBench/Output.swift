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

/// A horizontal bar chart: one panel per throughput workload, one bar per backend.
func renderSVG(_ report: Report) -> String {
    let workloads = ["first-touch", "first-touch-write", "populate", "pool", "triad", "gups"]
    let panels = workloads.compactMap { workload -> (String, [Row])? in
        let rows = report.rows.filter { $0.workload == workload && $0.isMeasured && $0.higher_is_better }
        return rows.isEmpty ? nil : (workload, rows)
    }
    let width = 900.0, labelWidth = 230.0, barHeight = 16.0, gap = 4.0, panelGap = 34.0
    var y = 60.0
    var body: [String] = []
    let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    for (workload, rows) in panels {
        let unit = rows.first?.unit ?? ""
        let maximum = rows.compactMap(\.median).max() ?? 1
        body.append(
            "<text x=\"10\" y=\"\(y)\" font-size=\"14\" font-weight=\"bold\">\(escapeXML(workload)) (\(escapeXML(unit)), median; higher is better)</text>"
        )
        y += 8
        for (index, row) in rows.enumerated() {
            let value = row.median ?? 0
            let barWidth = max(1, (width - labelWidth - 120) * value / maximum)
            let label = row.threads > 1 ? "\(row.backend) ×\(row.threads)" : row.backend
            body.append(
                "<text x=\"\(labelWidth - 6)\" y=\"\(y + barHeight - 4)\" font-size=\"11\" text-anchor=\"end\">"
                    + "\(escapeXML(label)) [\(escapeXML(row.page_size_obtained))]</text>")
            body.append(
                "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(String(format: "%.1f", barWidth))\" height=\"\(barHeight)\" fill=\"\(palette[index % palette.count])\"/>"
            )
            body.append(
                "<text x=\"\(labelWidth + barWidth + 4)\" y=\"\(y + barHeight - 4)\" font-size=\"11\">"
                    + "\(escapeXML(format(value))) (\(escapeXML(format(row.min)))–\(escapeXML(format(row.max))))</text>")
            y += barHeight + gap
        }
        y += panelGap
    }
    let header =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(y))\" font-family=\"sans-serif\">"
    let title =
        "<text x=\"10\" y=\"20\" font-size=\"15\">ziggy-bench, \(escapeXML(report.preset)) preset"
        + "\(report.label.isEmpty ? "" : " — " + escapeXML(report.label))</text>"
    let host = "<text x=\"10\" y=\"38\" font-size=\"10\" fill=\"#555\">\(escapeXML(report.host))</text>"
    return ([header, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>", title, host] + body + ["</svg>"])
        .joined(separator: "\n") + "\n"
}

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
