import Foundation

/// The baseline is a previous run's JSON report (`--json` or `--save-baseline`); rows match on
/// workload, backend, size and threads.
func loadBaseline(_ path: String) throws -> Report {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(Report.self, from: data)
}

/// Each measured row's ratio to the same baseline row. A row is a regression when its whole
/// min–max range is worse than the baseline's whole min–max range (beyond both measured
/// spreads), an improvement when it is wholly better, and "same" when the ranges overlap.
func compareWithBaseline(_ rows: [Row], baseline: Report) -> [BaselineComparison] {
    var result: [BaselineComparison] = []
    for row in rows where row.isMeasured {
        guard
            let old = baseline.rows.first(where: {
                $0.workload == row.workload && $0.backend == row.backend && $0.size_bytes == row.size_bytes
                    && $0.threads == row.threads && $0.isMeasured
            }), let oldMedian = old.median, oldMedian > 0, let oldMin = old.min, let oldMax = old.max,
            let median = row.median, let low = row.min, let high = row.max
        else { continue }
        let worse = row.higher_is_better ? high < oldMin : low > oldMax
        let better = row.higher_is_better ? low > oldMax : high < oldMin
        result.append(
            BaselineComparison(
                workload: row.workload, backend: row.backend, size_bytes: row.size_bytes,
                threads: row.threads, ratio: median / oldMedian,
                status: worse ? "regression" : better ? "improvement" : "same"))
    }
    return result
}
