/// Fills in each row's ratio to its reference (measured in the same run) and its speedup over
/// base pages, then checks the targets the project set itself.

func median(_ rows: [Row], _ backend: String, _ workload: String, size: Int? = nil, threads: Int? = nil) -> Double? {
    rows.first {
        $0.backend == backend && $0.workload == workload && $0.isMeasured
            && (size == nil || $0.size_bytes == size) && (threads == nil || $0.threads == threads)
    }?.median
}

func computeRatios(_ rows: inout [Row]) {
    let snapshot = rows
    for index in rows.indices where rows[index].isMeasured {
        let row = rows[index]
        let value = row.median!
        var reference: (String, Double?)?
        var base: Double?
        switch row.workload {
        case Workload.allocFree.rawValue:
            reference = ("malloc", median(snapshot, "malloc", row.workload, size: row.size_bytes))
        case Workload.firstTouch.rawValue, Workload.firstTouchWrite.rawValue:
            reference = ("memset", nil)
            base = median(snapshot, "mmap-base", row.workload)
        case Workload.populate.rawValue:
            reference = ("1 thread", median(snapshot, row.backend, row.workload, threads: 1))
            base = median(snapshot, "mmap-base", row.workload, threads: row.threads)
        case Workload.pool.rawValue:
            let plain = row.backend.replacingOccurrences(of: "+pool", with: "")
            reference = ("no pool", median(snapshot, plain, row.workload))
        case Workload.triad.rawValue:
            reference = ("raw triad", median(snapshot, "raw-mmap", row.workload))
        case "access-fill", "access-triad":
            reference = ("raw pointer", median(snapshot, "system (raw pointer)", row.workload))
        case Workload.gups.rawValue, Workload.pointerChase.rawValue:
            reference = ("base pages", median(snapshot, "mmap-base", row.workload))
            base = median(snapshot, "mmap-base", row.workload)
        default:
            break
        }
        if let (name, referenceValue) = reference {
            rows[index].reference = name
            if let referenceValue, referenceValue > 0 { rows[index].ratio_to_reference = value / referenceValue }
        }
        if let base, base > 0 {
            rows[index].speedup_vs_base_pages = row.higher_is_better ? value / base : base / value
        }
    }
}

/// Adds the memset reference to first-touch rows (known only after the run).
func applyMemsetReference(_ rows: inout [Row], memset: Double?) {
    guard let memset, memset > 0 else { return }
    for index in rows.indices where rows[index].reference == "memset" {
        rows[index].ratio_to_reference = rows[index].median.map { $0 / memset }
    }
}

func targets(_ rows: [Row]) -> [TargetCheck] {
    func ratio(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b, b > 0 else { return nil }
        return a / b
    }
    var checks: [TargetCheck] = []
    func add(_ target: String, _ measured: Double?, _ threshold: Double, atLeast: Bool = true, _ detail: String = "") {
        checks.append(TargetCheck(target: target, measured: measured, threshold: threshold, atLeast: atLeast, detail: detail))
    }
    let touch = Workload.firstTouch.rawValue
    add("first touch: mmap-2m ÷ mmap-base", ratio(median(rows, "mmap-2m", touch), median(rows, "mmap-base", touch)), 6)
    add("first touch: mmap-2m ÷ raw mmap(MAP_HUGETLB)", ratio(median(rows, "mmap-2m", touch), median(rows, "raw-mmap-2m", touch)), 0.95)
    add("populate: mmap-2m 2 threads ÷ 1 thread",
        ratio(median(rows, "mmap-2m", Workload.populate.rawValue, threads: 2), median(rows, "mmap-2m", Workload.populate.rawValue, threads: 1)), 1.25)
    add("pool: mmap-2m 64 MiB round, no pool ÷ pool",
        ratio(median(rows, "mmap-2m", Workload.pool.rawValue), median(rows, "mmap-2m+pool", Workload.pool.rawValue)), 5)
    let ours = ["system", "mmap-base", "mmap-thp", "mmap-2m", "mmap-1g", "numa-local", "numa-local-2m", "numa-remote", "numa-interleave"]
    let triadRatios = ours.compactMap { backend in ratio(median(rows, backend, Workload.triad.rawValue), median(rows, "raw-mmap", Workload.triad.rawValue)) }
    add("triad: worst of our buffers ÷ raw-pointer triad", triadRatios.min(), 0.95, "\(triadRatios.count) backends")
    add("gups: mmap-2m ÷ mmap-base", ratio(median(rows, "mmap-2m", Workload.gups.rawValue), median(rows, "mmap-base", Workload.gups.rawValue)), 1.0)
    add("pointer chase: mmap-base ns ÷ mmap-2m ns",
        ratio(median(rows, "mmap-base", Workload.pointerChase.rawValue), median(rows, "mmap-2m", Workload.pointerChase.rawValue)), 1.0)
    add("first touch: numa-local ÷ libnuma (base pages)", ratio(median(rows, "numa-local", touch), median(rows, "libnuma", touch)), 0.95)
    add("first touch: mmap-base ÷ libnuma (base pages)", ratio(median(rows, "mmap-base", touch), median(rows, "libnuma", touch)), 0.95)
    add("first touch: numa-local-2m ÷ libnuma", ratio(median(rows, "numa-local-2m", touch), median(rows, "libnuma", touch)), 5)
    add("first touch: mmap-2m ÷ libnuma", ratio(median(rows, "mmap-2m", touch), median(rows, "libnuma", touch)), 5)
    for workload in ["access-fill", "access-triad"] {
        for variant in ["buffer[i]", "mutableSpan"] {
            add("\(workload): \(variant) ÷ raw pointer",
                ratio(median(rows, "system (\(variant))", workload), median(rows, "system (raw pointer)", workload)), 0.95)
        }
    }
    add("alloc-free 64 B: system ÷ malloc",
        ratio(median(rows, "system", Workload.allocFree.rawValue, size: 64), median(rows, "malloc", Workload.allocFree.rawValue, size: 64)),
        1.3, atLeast: false)
    add("alloc-free 64 B: scoped arena ns", median(rows, "scoped", Workload.allocFree.rawValue, size: 64), 10, atLeast: false)
    return checks
}
