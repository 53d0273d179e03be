import Foundation

/// The report as it reads on a terminal: one block per measurement group (workload, size,
/// threads) with its C references first and marked `C`, every other row with its ratio to the
/// reference; then the targets that could be judged, and one line per row that could not run.
/// The markdown file (`--markdown`) keeps every column.
func renderTerminal(_ report: Report, debugBuild: Bool) -> String {
    var lines: [String] = []
    if debugBuild {
        lines.append(String(repeating: "!", count: 96))
        lines.append("!! DEBUG BUILD: timings are 10-100x off and no target is judged. Measure with `make bench`")
        lines.append("!! (or swift build -c release --product ziggy-bench).")
        lines.append(String(repeating: "!", count: 96))
    }
    lines.append("ziggy-bench, \(report.preset) preset\(report.label.isEmpty ? "" : " — \(report.label)")")
    lines.append(report.host)
    let load = report.host_load
    lines.append(
        "host load: \(percent(load.busy_before)) busy before, others \(percent(load.others_busy_during)) during"
            + (load.warning.map { " — \($0)" } ?? ""))
    let measured = report.rows.filter(\.isMeasured)
    var blocks: [(key: String, rows: [Row])] = []
    for row in measured {
        let key = "\(row.workload)|\(row.size_bytes)|\(row.threads)"
        if let index = blocks.firstIndex(where: { $0.key == key }) {
            blocks[index].rows.append(row)
        } else {
            blocks.append((key, [row]))
        }
    }
    for block in blocks {
        let first = block.rows[0]
        let size = first.size_bytes > 0 ? "  \(formatBytes(first.size_bytes))" : ""
        let threads = first.threads > 1 ? "  \(first.threads) threads" : ""
        lines.append("")
        lines.append(
            pad("\(first.workload)\(size)\(threads)", 52) + "\(first.unit), median (min–max)"
                + (first.higher_is_better ? "" : ", lower is better"))
        let ordered = block.rows.filter(\.isReference) + block.rows.filter { !$0.isReference }
        for row in ordered {
            var line = (row.isReference ? "  C " : "    ") + pad(row.backend, 24)
            line += pad(format(row.median), 8, right: true) + "  " + pad("\(format(row.min))–\(format(row.max))", 16)
            if let ratio = row.ratio_to_reference, let reference = row.reference {
                let interval = row.ratio_interval.map { " [\(format($0.lower))–\(format($0.upper))]" } ?? ""
                line += "\(format(ratio))× \(reference)\(interval)"
            }
            let placement = [row.page_size_obtained, row.nodes].filter { !["-", "", "malloc", "untouched"].contains($0) }
            if !placement.isEmpty { line += "  (\(placement.joined(separator: ", ")))" }
            lines.append(line)
        }
    }
    let judged = report.targets.filter { $0.verdict != Verdict.notApplicable.rawValue }
    let counts = Verdict.allCases.filter { $0 != .notApplicable }.map {
        "\(report.verdict_counts[$0.rawValue] ?? 0) \($0.rawValue)"
    }
    lines.append("")
    lines.append("targets: \(counts.joined(separator: ", "))\(debugBuild ? " (debug build: none judged)" : "")")
    for target in judged {
        let mark =
            target.verdict == Verdict.met.rawValue ? "ok    " : target.verdict == Verdict.missed.rawValue ? "MISSED" : "noise "
        lines.append(
            "  \(mark) " + pad(target.target, 62) + pad(format(target.measured), 6, right: true)
                + " [\(format(target.lower))–\(format(target.upper))]  needed \(target.atLeast ? "≥" : "≤") \(format(target.threshold))"
        )
    }
    if let comparison = report.comparison, let baseline = report.baseline {
        let regressions = comparison.filter { $0.status == "regression" }
        lines.append("")
        lines.append("compared with \(baseline): \(comparison.count) rows, \(regressions.count) regression(s) beyond the spread")
        for entry in regressions {
            lines.append(
                "  REGRESSION \(entry.workload) \(entry.backend) \(formatBytes(entry.size_bytes)) ×\(entry.threads): "
                    + "\(format(entry.ratio))× the baseline")
        }
    }
    let notRun = report.rows.filter { !$0.isMeasured }
    if !notRun.isEmpty {
        lines.append("")
        lines.append("not run:")
        for row in notRun {
            let reason = (row.note ?? "").replacingOccurrences(of: "not run: ", with: "")
            lines.append("  \(row.workload) \(row.backend): \(reason)")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let count = text.count
    if count >= width { return text + " " }
    let fill = String(repeating: " ", count: width - count)
    return right ? fill + text : text + fill
}
