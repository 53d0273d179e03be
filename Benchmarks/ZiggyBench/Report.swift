import Foundation

/// One measured (or unavailable) row: a backend × workload × size × threads.
struct Row: Codable {
    var backend: String
    var workload: String
    var size_bytes: Int
    var threads: Int
    var median: Double?
    var mean: Double?
    var min: Double?
    var max: Double?
    /// (max − min) / median, in percent.
    var spread_percent: Double?
    var unit: String
    var higher_is_better: Bool
    var repetitions: Int
    /// Every kept sample, in measurement order (round i of the group is samples[i]).
    var samples: [Double]
    /// Rows with the same group were measured round-robin, one sample each per round.
    var group: Int?
    var page_size_obtained: String
    var nodes: String
    var reference: String?
    var ratio_to_reference: Double?
    var ratio_interval: RatioInterval?
    var speedup_vs_base_pages: Double?
    var note: String?

    var isMeasured: Bool { median != nil }
    var isReference: Bool { backend.hasPrefix("c-") }

    init(
        backend: String, workload: String, bytes: Int, threads: Int, unit: Unit, samples: [Double], group: Int?,
        pageSize: String, nodes: String, note: String?
    ) {
        self.backend = backend
        self.workload = workload
        size_bytes = bytes
        self.threads = threads
        self.unit = unit.rawValue
        higher_is_better = unit.higherIsBetter
        self.samples = samples
        self.group = samples.isEmpty ? nil : group
        repetitions = samples.count
        page_size_obtained = pageSize
        self.nodes = nodes
        self.note = note
        if !samples.isEmpty {
            let summary = Summary(samples)
            median = summary.median
            mean = summary.mean
            min = summary.min
            max = summary.max
            spread_percent = summary.median > 0 ? (summary.max - summary.min) / summary.median * 100 : nil
        }
    }

    static func unavailable(_ backend: String, _ workload: String, bytes: Int, threads: Int, unit: Unit, reason: String) -> Row {
        Row(
            backend: backend, workload: workload, bytes: bytes, threads: threads, unit: unit, samples: [], group: nil,
            pageSize: "-", nodes: "-", note: "not run: \(reason)")
    }

    private enum CodingKeys: String, CodingKey {
        case backend, workload, size_bytes, threads, median, mean, min, max, spread_percent, unit, higher_is_better
        case repetitions, samples, group, page_size_obtained, nodes, reference, ratio_to_reference, ratio_interval
        case speedup_vs_base_pages, note
    }

    /// Every field, `null` when absent, so each record has the same shape.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(backend, forKey: .backend)
        try container.encode(workload, forKey: .workload)
        try container.encode(size_bytes, forKey: .size_bytes)
        try container.encode(threads, forKey: .threads)
        try container.encode(median, forKey: .median)
        try container.encode(mean, forKey: .mean)
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
        try container.encode(spread_percent, forKey: .spread_percent)
        try container.encode(unit, forKey: .unit)
        try container.encode(higher_is_better, forKey: .higher_is_better)
        try container.encode(repetitions, forKey: .repetitions)
        try container.encode(samples, forKey: .samples)
        try container.encode(group, forKey: .group)
        try container.encode(page_size_obtained, forKey: .page_size_obtained)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(reference, forKey: .reference)
        try container.encode(ratio_to_reference, forKey: .ratio_to_reference)
        try container.encode(ratio_interval, forKey: .ratio_interval)
        try container.encode(speedup_vs_base_pages, forKey: .speedup_vs_base_pages)
        try container.encode(note, forKey: .note)
    }
}

/// A target from the issues, checked against rows of this run.
struct TargetCheck: Codable {
    var target: String
    /// The measured ratio (median ÷ median) and its interval (see `RatioInterval`).
    var measured: Double?
    var lower: Double?
    var upper: Double?
    var threshold: Double
    var atLeast: Bool
    var verdict: String
    var detail: String

    init(target: String, interval: RatioInterval?, threshold: Double, atLeast: Bool, detail: String) {
        self.target = target
        measured = interval?.value
        lower = interval?.lower
        upper = interval?.upper
        self.threshold = threshold
        self.atLeast = atLeast
        verdict = Verdict(interval, threshold: threshold, atLeast: atLeast).rawValue
        var why = detail
        if let interval, interval.samples < RatioInterval.minimumSamples {
            why = ([why, "\(interval.samples) samples, a verdict needs \(RatioInterval.minimumSamples)"]).filter { !$0.isEmpty }
                .joined(separator: "; ")
        }
        self.detail = why
    }
}

/// How busy the machine was: before measuring (all CPUs, a quiet window) and during the run
/// (other processes only: this process's own CPU time is subtracted).
struct HostLoad: Codable {
    var busy_before: Double
    var window_seconds: Double
    var others_busy_during: Double?
    var warning: String?
}

/// A row's ratio to the same row of a baseline run.
struct BaselineComparison: Codable {
    var workload: String
    var backend: String
    var size_bytes: Int
    var threads: Int
    /// current median ÷ baseline median (> 1 is faster for higher-is-better units).
    var ratio: Double
    /// "regression" / "improvement" (ranges do not overlap) or "same" (they overlap).
    var status: String
}

struct Report: Codable {
    var label: String
    var host: String
    var preset: String
    var command: String
    var thread_placement: String
    var host_load: HostLoad
    var references: [String: Double]
    var rows: [Row]
    var targets: [TargetCheck]
    /// How many target verdicts are each of met / missed / within noise / n/a.
    var verdict_counts: [String: Int]
    var baseline: String?
    var comparison: [BaselineComparison]?
}
