import Foundation

/// One measured (or unavailable) row: a backend × workload × size.
struct Row: Codable {
    var backend: String
    var workload: String
    var size_bytes: Int
    var threads: Int
    var median: Double?
    var min: Double?
    var max: Double?
    var unit: String
    var higher_is_better: Bool
    var repetitions: Int
    var page_size_obtained: String
    var nodes: String
    var reference: String?
    var ratio_to_reference: Double?
    var speedup_vs_base_pages: Double?
    var note: String?

    var isMeasured: Bool { median != nil }

    private enum CodingKeys: String, CodingKey {
        case backend, workload, size_bytes, threads, median, min, max, unit, higher_is_better, repetitions
        case page_size_obtained, nodes, reference, ratio_to_reference, speedup_vs_base_pages, note
    }

    /// Every field, `null` when absent, so each record has the same shape.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(backend, forKey: .backend)
        try container.encode(workload, forKey: .workload)
        try container.encode(size_bytes, forKey: .size_bytes)
        try container.encode(threads, forKey: .threads)
        try container.encode(median, forKey: .median)
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
        try container.encode(unit, forKey: .unit)
        try container.encode(higher_is_better, forKey: .higher_is_better)
        try container.encode(repetitions, forKey: .repetitions)
        try container.encode(page_size_obtained, forKey: .page_size_obtained)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(reference, forKey: .reference)
        try container.encode(ratio_to_reference, forKey: .ratio_to_reference)
        try container.encode(speedup_vs_base_pages, forKey: .speedup_vs_base_pages)
        try container.encode(note, forKey: .note)
    }
}

/// A target from the issues, checked against rows of this run.
struct TargetCheck: Codable {
    var target: String
    var measured: Double?
    var threshold: Double
    var atLeast: Bool
    var detail: String

    var status: String {
        guard let measured else { return "n/a" }
        return (atLeast ? measured >= threshold : measured <= threshold) ? "met" : "missed"
    }
}

struct Report: Codable {
    var host: String
    var preset: String
    var command: String
    var references: [String: Double]
    var rows: [Row]
    var targets: [TargetCheck]
}

func format(_ value: Double?, digits: Int = 2) -> String {
    guard let value, value.isFinite else { return "-" }
    if value >= 1000 { return String(format: "%.0f", value) }
    if value >= 100 { return String(format: "%.1f", value) }
    if value != 0 && abs(value) < 0.1 { return String(format: "%.2g", value) }
    return String(format: "%.\(digits)f", value)
}

func renderMarkdown(_ report: Report) -> String {
    var lines: [String] = []
    lines.append("## ziggy-bench — \(report.preset) preset")
    lines.append("")
    lines.append("Host: \(report.host)  ")
    lines.append("Command: `\(report.command)`  ")
    let references = report.references.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value))" }
    lines.append("References measured in this run: \(references.joined(separator: ", "))")
    lines.append("")
    lines.append("| workload | backend | size | thr | median | min–max | unit | reps | pages obtained | nodes | vs reference | vs base pages | note |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in report.rows {
        let ratio = row.ratio_to_reference.map { "\(format($0))× \(row.reference ?? "")" } ?? "-"
        let speedup = row.speedup_vs_base_pages.map { "\(format($0))×" } ?? "-"
        lines.append("| \(row.workload) | \(row.backend) | \(formatBytes(row.size_bytes)) | \(row.threads) | "
            + "\(format(row.median)) | \(format(row.min))–\(format(row.max)) | \(row.unit) | \(row.repetitions) | "
            + "\(row.page_size_obtained) | \(row.nodes) | \(ratio) | \(speedup) | \(row.note ?? "") |")
    }
    lines.append("")
    lines.append("### Targets")
    lines.append("")
    lines.append("| target | measured | needed | status |")
    lines.append("|---|---|---|---|")
    for target in report.targets {
        lines.append("| \(target.target) | \(format(target.measured)) | \(target.atLeast ? "≥" : "≤") \(format(target.threshold)) | "
            + "\(target.status)\(target.detail.isEmpty ? "" : " (\(target.detail))") |")
    }
    return lines.joined(separator: "\n") + "\n"
}

func renderCSV(_ report: Report) -> String {
    var lines = ["backend,workload,size_bytes,threads,median,min,max,unit,repetitions,page_size_obtained,nodes,reference,ratio_to_reference,speedup_vs_base_pages,note"]
    for row in report.rows {
        let fields: [String] = [
            row.backend, row.workload, "\(row.size_bytes)", "\(row.threads)", format(row.median, digits: 4),
            format(row.min, digits: 4), format(row.max, digits: 4), row.unit, "\(row.repetitions)", row.page_size_obtained,
            row.nodes, row.reference ?? "", format(row.ratio_to_reference, digits: 4),
            format(row.speedup_vs_base_pages, digits: 4), row.note ?? "",
        ]
        lines.append(fields.map { $0.contains(",") || $0.contains("\"") ? "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" : $0 }
            .joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
}

func renderJSON(_ report: Report) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
}

/// A horizontal bar chart: one panel per throughput workload, one bar per backend.
func renderSVG(_ report: Report) -> String {
    let workloads = ["first-touch", "first-touch-write", "populate", "triad", "gups"]
    let panels = workloads.compactMap { workload -> (String, [Row])? in
        let rows = report.rows.filter { $0.workload == workload && $0.isMeasured && $0.higher_is_better }
        return rows.isEmpty ? nil : (workload, rows)
    }
    let width = 900.0, labelWidth = 190.0, barHeight = 16.0, gap = 4.0, panelGap = 34.0
    var y = 60.0
    var body: [String] = []
    let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    for (workload, rows) in panels {
        let unit = rows.first?.unit ?? ""
        let maximum = rows.compactMap(\.median).max() ?? 1
        body.append("<text x=\"10\" y=\"\(y)\" font-size=\"14\" font-weight=\"bold\">\(workload) (\(unit), median; higher is better)</text>")
        y += 8
        for (index, row) in rows.enumerated() {
            let value = row.median ?? 0
            let barWidth = max(1, (width - labelWidth - 120) * value / maximum)
            let label = row.threads > 1 ? "\(row.backend) ×\(row.threads)" : row.backend
            body.append("<text x=\"\(labelWidth - 6)\" y=\"\(y + barHeight - 4)\" font-size=\"11\" text-anchor=\"end\">\(label) [\(row.page_size_obtained)]</text>")
            body.append("<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(String(format: "%.1f", barWidth))\" height=\"\(barHeight)\" fill=\"\(palette[index % palette.count])\"/>")
            body.append("<text x=\"\(labelWidth + barWidth + 4)\" y=\"\(y + barHeight - 4)\" font-size=\"11\">\(format(value))</text>")
            y += barHeight + gap
        }
        y += panelGap
    }
    let header = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(y))\" font-family=\"sans-serif\">"
    let title = "<text x=\"10\" y=\"20\" font-size=\"15\">ziggy-bench, \(report.preset) preset</text>"
    let host = "<text x=\"10\" y=\"38\" font-size=\"10\" fill=\"#555\">\(escapeXML(report.host))</text>"
    return ([header, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>", title, host] + body + ["</svg>"])
        .joined(separator: "\n") + "\n"
}

func escapeXML(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}
