/// Fills in each row's ratio to its reference (measured in the same run, round-robin where the
/// two were measured together) and its speedup over base pages, then checks the targets.

func find(_ rows: [Row], _ backend: String, _ workload: String, size: Int? = nil, threads: Int? = nil) -> Row? {
    rows.first {
        $0.backend == backend && $0.workload == workload && $0.isMeasured
            && (size == nil || $0.size_bytes == size) && (threads == nil || $0.threads == threads)
    }
}

/// a ÷ b with the interval rule of `RatioInterval` (paired when measured in the same group).
func interval(_ a: Row?, _ b: Row?) -> RatioInterval? {
    guard let a, let b else { return nil }
    return RatioInterval(a.samples, b.samples, paired: a.group != nil && a.group == b.group)
}

/// The reference row of `row`, and its name in the table.
func referenceRow(of row: Row, in rows: [Row]) -> (String, Row?)? {
    switch row.workload {
    case Workload.allocFree.rawValue:
        return ("c-malloc", find(rows, "c-malloc", row.workload, size: row.size_bytes))
    case Workload.firstTouch.rawValue, Workload.firstTouchWrite.rawValue:
        return ("c-clear-4k", find(rows, "c-clear-4k", Workload.firstTouch.rawValue))
    case Workload.populate.rawValue:
        return ("C parallel touch", rows.first { $0.workload == row.workload && $0.group == row.group && $0.isReference })
    case Workload.pool.rawValue:
        return ("no pool", find(rows, row.backend.replacingOccurrences(of: "+pool", with: ""), row.workload))
    case "pool-zeroed":
        return ("memset(0)", rows.first { $0.workload == row.workload && $0.group == row.group && $0.isReference })
    case Workload.triad.rawValue:
        return ("c-stream", find(rows, "c-stream", row.workload, threads: row.threads))
    case let workload where workload.hasPrefix("stencil-"):
        return ("c-kernel", find(rows, "c-kernel", workload, size: row.size_bytes, threads: row.threads))
    case let workload where workload.hasPrefix("access-"):
        return ("c-kernel", find(rows, "c-kernel", row.workload, size: row.size_bytes))
    case "view-sum", "view-triad":
        return ("buffer[i]", find(rows, ViewVariant.buffer.rawValue, row.workload))
    case Workload.teamRegion.rawValue:
        return ("c-fork-join", find(rows, "c-fork-join", row.workload))
    case Workload.teamTriad.rawValue:
        return ("c-stream-plain", find(rows, "c-stream-plain", row.workload))
    case Workload.teamReduce.rawValue:
        return ("c-simd-sum", find(rows, "c-simd-sum", row.workload))
    case Workload.gups.rawValue, Workload.pointerChase.rawValue:
        return ("base pages", find(rows, "mmap-base", row.workload))
    default:
        return nil
    }
}

func computeRatios(_ rows: inout [Row]) {
    let snapshot = rows
    for index in rows.indices where rows[index].isMeasured {
        let row = rows[index]
        if let (name, reference) = referenceRow(of: row, in: snapshot), let reference, reference.backend != row.backend {
            rows[index].reference = name
            rows[index].ratio_interval = interval(row, reference)
            rows[index].ratio_to_reference = rows[index].ratio_interval?.value
        }
        let baseWorkloads = [
            Workload.firstTouch.rawValue, Workload.firstTouchWrite.rawValue, Workload.gups.rawValue,
            Workload.pointerChase.rawValue,
        ]
        if baseWorkloads.contains(row.workload), let base = find(snapshot, "mmap-base", row.workload)?.median, base > 0 {
            rows[index].speedup_vs_base_pages = row.higher_is_better ? row.median! / base : base / row.median!
        }
    }
}

func targets(_ rows: [Row], triadThreads: [Int]) -> [TargetCheck] {
    var checks: [TargetCheck] = []
    func add(_ target: String, _ value: RatioInterval?, _ threshold: Double, atLeast: Bool = true, _ detail: String = "") {
        checks.append(TargetCheck(target: target, interval: value, threshold: threshold, atLeast: atLeast, detail: detail))
    }
    func note(_ backend: String, _ workload: String) -> String {
        rows.first { $0.backend == backend && $0.workload == workload }?.note ?? "not measured"
    }
    let touch = Workload.firstTouch.rawValue
    let clear = find(rows, "c-clear-4k", touch)
    func clearing(_ backends: [String]) -> String {
        backends.map { backend in
            "\(backend) \(format(interval(find(rows, backend, touch), clear)?.value)) of c-clear-4k"
        }.joined(separator: ", ")
    }
    for (ours, peer, label) in [
        ("mmap-2m", "c-hugetlb-2m", "2 MiB"), ("mmap-2m", "c-memkind", "2 MiB"),
        ("mmap-2m", "c-glibc-hugetlb", "2 MiB"), ("mmap-1g", "c-hugetlb-1g", "1 GiB"),
        ("numa-local-2m", "c-hugetlb-2m", "2 MiB"), ("numa-local", "c-libnuma", "base pages"),
        ("mmap-base", "c-mmap-4k", "base pages"),
    ] {
        let value = interval(find(rows, ours, touch), find(rows, peer, touch))
        let detail = value == nil ? note(find(rows, ours, touch) == nil ? ours : peer, touch) : clearing([ours, peer])
        add("first touch \(label): \(ours) ÷ \(peer)", value, 0.95, detail)
    }
    // Triad over library buffers against the same loop in C (ordinary stores, as stream.c's loop
    // compiles: what the buffers cost), and against C with streaming stores (what Swift, which
    // cannot emit them, leaves on the table).
    for threads in triadThreads {
        let plain = find(rows, "c-stream-plain", Workload.triad.rawValue, threads: threads)
        let streaming = find(rows, "c-stream", Workload.triad.rawValue, threads: threads)
        let ours = rows.filter {
            $0.workload == Workload.triad.rawValue && $0.threads == threads && !$0.isReference && $0.isMeasured
        }
        if ours.isEmpty { add("triad \(threads) thr: library buffers ÷ c-stream-plain", nil, 0.95, "no library row measured") }
        for row in ours {
            add(
                "triad \(threads) thr: \(row.backend) ÷ c-stream-plain", interval(row, plain), 0.95,
                "c-stream-plain \(format(plain?.median)) GB/s")
        }
        // The in-process C reference against the program users run (gcc, OpenMP, its own
        // arrays): a reference slower than the outside one would flatter every row it judges.
        let outside = find(rows, "c-omp-stream", Workload.triad.rawValue, threads: threads)
        add(
            "triad \(threads) thr: c-stream-plain (in process) ÷ c-omp-stream (outside)", interval(plain, outside), 0.95,
            outside == nil ? note("c-omp-stream", Workload.triad.rawValue) : "c-omp-stream \(format(outside?.median)) GB/s")
        // And against stream.c itself (80 M elements a array, its Avg-time Triad): the program the
        // outside world quotes. omp_stream (the arrays of the rows it judges) is checked against it too.
        let streamC = find(rows, "c-stream-c", Workload.triad.rawValue, threads: threads)
        let streamCNote =
            streamC == nil ? note("c-stream-c", Workload.triad.rawValue) : "stream.c \(format(streamC?.median)) GB/s"
        add(
            "triad \(threads) thr: c-stream-plain (in process) ÷ c-stream-c (stream.c)", interval(plain, streamC), 0.95,
            streamCNote)
        add(
            "triad \(threads) thr: c-omp-stream ÷ c-stream-c (stream.c)", interval(outside, streamC), 0.95, streamCNote)
        if let best = ours.max(by: { ($0.median ?? 0) < ($1.median ?? 0) }) {
            add(
                "triad \(threads) thr: \(best.backend) ÷ c-stream (streaming stores)", interval(best, streaming), 0.95,
                "c-stream \(format(streaming?.median)) GB/s; Swift loops cannot emit non-temporal stores")
        }
    }
    let region = Workload.teamRegion.rawValue
    add(
        "team-region: Team ÷ C fork-join (ns)", interval(find(rows, "team", region), find(rows, "c-fork-join", region)), 1.5,
        atLeast: false)
    add(
        "team-region: Team ÷ gcc libgomp (ns)", interval(find(rows, "team", region), find(rows, "c-omp-fork-join", region)), 1.0,
        atLeast: false, find(rows, "c-omp-fork-join", region) == nil ? note("c-omp-fork-join", region) : "")
    add("team-region: pthread create+join ÷ Team (ns)", interval(find(rows, "c-pthread", region), find(rows, "team", region)), 5)
    let teamTriad = Workload.teamTriad.rawValue
    add(
        "team-triad: Team ÷ c-stream-plain (same memory)",
        interval(find(rows, "team", teamTriad), find(rows, "c-stream-plain", teamTriad)), 0.95)
    add(
        "team-triad: Team ÷ c-stream (streaming stores, same memory)",
        interval(find(rows, "team", teamTriad), find(rows, "c-stream", teamTriad)), 0.95,
        "Swift loops cannot emit non-temporal stores")
    let reduce = Workload.teamReduce.rawValue
    add("team-reduce: Team.sum ÷ C SIMD sum", interval(find(rows, "team", reduce), find(rows, "c-simd-sum", reduce)), 0.95)
    for reference in rows where reference.workload == Workload.populate.rawValue && reference.isReference && reference.isMeasured {
        for row in rows
        where row.workload == reference.workload && row.group == reference.group && !row.isReference
            && row.threads == reference.threads && row.isMeasured
        {
            add("populate \(row.threads) thr: \(row.backend) ÷ \(reference.backend)", interval(row, reference), 0.95)
        }
    }
    for (ours, memset) in [("mmap-2m+pool zeroed", "c-memset-2m"), ("mmap-base+pool zeroed", "c-memset-4k")] {
        add(
            "pool zeroed reuse: \(ours) ÷ \(memset)", interval(find(rows, ours, "pool-zeroed"), find(rows, memset, "pool-zeroed")),
            0.9)
    }
    let pool = Workload.pool.rawValue
    add(
        "pool: mmap-2m round without ÷ with the pool (ms)", interval(find(rows, "mmap-2m", pool), find(rows, "mmap-2m+pool", pool)),
        5)
    // The loops users write against the same loop in C, over the same memory, in cache and not.
    for size in Set(rows.filter { $0.workload.hasPrefix("access-") }.map(\.size_bytes)).sorted() {
        for kernel in AccessKernel.allCases {
            let reference = find(rows, AccessVariant.c.rawValue, kernel.workload, size: size)
            for variant in AccessVariant.variants(for: kernel) where variant != .c && variant != .raw {
                add(
                    "\(kernel.workload) \(formatBytes(size)): \(variant.rawValue) ÷ c-kernel",
                    interval(find(rows, variant.rawValue, kernel.workload, size: size), reference), 0.95)
            }
        }
    }
    // Stencils through the grid API against the same C loop over the same grids, per size and
    // thread count (the team's rows against the C kernel run per block on the same team).
    for row in rows where row.workload.hasPrefix("stencil-") && !row.isReference {
        let reference = find(rows, "c-kernel", row.workload, size: row.size_bytes, threads: row.threads)
        add(
            "\(row.workload) \(formatBytes(row.size_bytes)) \(row.threads) thr: \(row.backend) ÷ c-kernel",
            row.isMeasured ? interval(row, reference) : nil, 0.95, row.isMeasured ? "" : row.note ?? "not measured")
    }
    // The view's code against the buffer's, on the same memory; span against span. Per-element
    // writes through BufferArray check uniqueness each time (as Array does outside the loops its
    // optimizer recognizes): 0.9 of the buffer's loop is the target there.
    for (workload, variants) in [("view-sum", ViewVariant.sumVariants), ("view-triad", ViewVariant.triadVariants)] {
        for variant in variants where variant.rawValue.hasPrefix("array") {
            let reference: ViewVariant = variant == .arraySpan ? .bufferSpan : .buffer
            add(
                "\(workload): \(variant.rawValue) ÷ \(reference.rawValue) (same memory)",
                interval(find(rows, variant.rawValue, workload), find(rows, reference.rawValue, workload)),
                variant == .arraySubscript && workload == "view-triad" ? 0.9 : 0.95)
        }
    }
    add(
        "gups: mmap-2m ÷ mmap-base",
        interval(find(rows, "mmap-2m", Workload.gups.rawValue), find(rows, "mmap-base", Workload.gups.rawValue)), 1.0)
    let chase = Workload.pointerChase.rawValue
    add("pointer chase: mmap-base ns ÷ mmap-2m ns", interval(find(rows, "mmap-base", chase), find(rows, "mmap-2m", chase)), 1.0)
    let allocFree = Workload.allocFree.rawValue
    for size in [64, 4096] {
        add(
            "alloc-free \(formatBytes(size)): system ÷ c-malloc (ns)",
            interval(find(rows, "system", allocFree, size: size), find(rows, "c-malloc", allocFree, size: size)), 1.10,
            atLeast: false)
    }
    if let scoped = find(rows, "scoped", allocFree, size: 64) {
        add(
            "alloc-free 64 B: scoped arena ns", RatioInterval(scoped.samples, scoped.samples.map { _ in 1 }, paired: true), 3,
            atLeast: false)
    } else {
        add("alloc-free 64 B: scoped arena ns", nil, 3, atLeast: false, "not measured")
    }
    return checks
}

func verdictCounts(_ checks: [TargetCheck]) -> [String: Int] {
    var counts: [String: Int] = [:]
    for verdict in Verdict.allCases { counts[verdict.rawValue] = checks.filter { $0.verdict == verdict.rawValue }.count }
    return counts
}
