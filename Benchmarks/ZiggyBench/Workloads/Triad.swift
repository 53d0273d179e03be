import CZiggyReferences

extension Runner {
    /// STREAM at every thread count in `triadThreads`: `c-stream` (copy, scale, add and Triad in C
    /// over its own arrays, as stream.c runs them) and Triad through `buffer[i]` over each backend's
    /// buffers, on the same pinned team, round-robin, each sample over fresh memory first touched
    /// in parallel by the threads that use it, after one untimed pass. A sample is the bytes moved
    /// divided by the average time of `triadPasses` passes (stream.c's "average time").
    func triad() {
        let bytes = config.triadBytes
        let count = bytes / 8
        let passes = config.triadPasses
        let lanes = Int(zr_stream_uses_streaming_stores())
        let storesNote = lanes > 0 ? "streaming stores (\(lanes * 64)-bit)" : "ordinary stores"
        for threads in config.triadThreads {
            var contenders: [Contender] = []
            var side: [String: [Double]] = ["copy": [], "scale": [], "add": []]
            var calls = 0
            let stream = Contender(
                "c-stream", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
                note: "C STREAM Triad, static schedule over pinned threads, " + storesNote
            ) {
                var arrays = zr_stream_arrays()
                let rc = zr_stream_alloc(&arrays, count, Int32(threads))
                if rc != 0 { _ = try checked(Double(rc), "mmap of 3 × \(formatBytes(bytes))") }
                defer { zr_stream_free(&arrays) }
                var totals = [0.0, 0.0, 0.0, 0.0]
                for pass in 0...passes {
                    let times = [
                        zr_stream_copy(&arrays, Int32(threads)), zr_stream_scale(&arrays, Int32(threads)),
                        zr_stream_add(&arrays, Int32(threads)), zr_stream_triad(&arrays, Int32(threads)),
                    ]
                    if pass > 0 { for k in 0..<4 { totals[k] += times[k] } }
                }
                calls += 1
                if calls > 1 {  // the measure helper's warm-up round is the first call
                    side["copy"]!.append(Double(16 * count) / (totals[0] / Double(passes)) / 1e9)
                    side["scale"]!.append(Double(16 * count) / (totals[1] / Double(passes)) / 1e9)
                    side["add"]!.append(Double(24 * count) / (totals[2] / Double(passes)) / 1e9)
                }
                return Double(24 * count) / (totals[3] / Double(passes)) / 1e9
            }
            stream.pageSize = "base 4 KiB"
            contenders.append(stream)
            let plain = Contender(
                "c-stream-plain", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
                note: "C Triad with ordinary stores, as stream.c's loop compiles"
            ) {
                var arrays = zr_stream_arrays()
                let rc = zr_stream_alloc(&arrays, count, Int32(threads))
                if rc != 0 { _ = try checked(Double(rc), "mmap of 3 × \(formatBytes(bytes))") }
                defer { zr_stream_free(&arrays) }
                _ = zr_stream_triad_plain(&arrays, Int32(threads))
                var total = 0.0
                for _ in 0..<passes { total += zr_stream_triad_plain(&arrays, Int32(threads)) }
                return Double(24 * count) / (total / Double(passes)) / 1e9
            }
            plain.pageSize = "base 4 KiB"
            contenders.append(plain)
            contenders.append(outsideStream(threads: threads, count: count, passes: passes))
            contenders.append(streamC(threads: threads))
            for backend in backends(for: .triad) where backend != .array || threads == 1 {
                let why = factory.unavailableReason(backend, bytes: bytes * 3)
                var contender: Contender!
                contender = Contender(
                    backend.rawValue, bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
                    note: backend == .array ? "Swift arrays" : "buffer[i]", unavailable: why
                ) { [factory] in
                    let regions = try (0..<3).map { _ in try factory.make(backend, bytes: bytes) }
                    let seconds = withExtendedLifetime(regions) {
                        triadOverTeam(regions.map(\.base), count: count, threads: threads, passes: passes)
                    }
                    if contender.pageSize == "-" {
                        contender.pageSize = regions[0].obtainedPageSize()
                        contender.nodes = regions[0].nodeHistogram()
                    }
                    return Double(24 * count) / seconds / 1e9
                }
                contenders.append(contender)
            }
            let made = measure(Workload.triad.rawValue, contenders)
            if let row = made.first(where: { $0.backend == "c-stream" && $0.isMeasured }) {
                references["c-stream \(threads)T GB/s"] = row.median
                for kernel in ["copy", "scale", "add"] where side[kernel]!.count == row.repetitions {
                    rows.append(
                        Row(
                            backend: "c-stream", workload: "stream-\(kernel)", bytes: bytes, threads: threads,
                            unit: .gigabytesPerSecond, samples: side[kernel]!, group: row.group,
                            pageSize: row.page_size_obtained, nodes: "-", note: "C STREAM \(kernel), " + storesNote))
                }
            }
        }
    }
}

extension Runner {
    /// gcc-built OpenMP STREAM (Benchmarks/References/omp_stream.c) over its own arrays: the
    /// program users compare against, one run a sample, its Triad at the average time of `passes`.
    func outsideStream(threads: Int, count: Int, passes: Int) -> Contender {
        let outside = config.outside
        let cpus = teamCPUs
        let contender = Contender(
            "c-omp-stream", bytes: count * 8, threads: threads, unit: .gigabytesPerSecond,
            note: "gcc -O3 -march=native -fopenmp STREAM Triad, its own arrays, OMP_PROC_BIND=spread (outside program)",
            unavailable: outside.unavailableReason("omp_stream")
        ) {
            let text = try outside.run(
                "omp_stream", ["\(count)", "\(passes + 1)"],
                environment: ["OMP_NUM_THREADS": "\(threads)", "OMP_PROC_BIND": "spread"], cpus: cpus)
            guard let rate = OutsidePrograms.fields(text, key: "triad").first else {
                throw OutsideError(message: "omp_stream printed no Triad rate: \(text.prefix(80))")
            }
            return rate
        }
        contender.pageSize = "malloc"
        return contender
    }
}

/// The array size and pass count `make references` builds stream.c with (its `-DSTREAM_ARRAY_SIZE`
/// and `-DNTIMES`; the Makefile's STREAM_FLAGS): the figures are labelled with them.
let streamCElements = 80_000_000
let streamCTimes = 5

extension Runner {
    /// jeffhammond/STREAM's stream.c itself (Benchmarks/References/STREAM, unmodified; gcc
    /// `-O3 -march=native -fopenmp`, 80 M elements a array, NTIMES 5), one run a sample. The sample
    /// is its Triad at its "Avg time" (bytes moved ÷ average time, as every other Triad row), not
    /// the "Best Rate" STREAM publishes: these are labelled figures based on stream.c, not STREAM
    /// benchmark results (its license, item 3b). The best rates go in the note.
    func streamC(threads: Int) -> Contender {
        let outside = config.outside
        let cpus = teamCPUs
        var best: [Double] = []
        var calls = 0
        let contender = Contender(
            "c-stream-c", bytes: streamCElements * 8, threads: threads, unit: .gigabytesPerSecond,
            note: "stream.c 5.10 unmodified, gcc -O3 -march=native -fopenmp, \(streamCElements / 1_000_000) M elements, "
                + "NTIMES \(streamCTimes), OMP_PROC_BIND=spread, Triad at its Avg time (outside program; not a STREAM "
                + "benchmark result)",
            unavailable: outside.unavailableReason("stream")
        ) {
            let text = try outside.run(
                "stream", [], environment: ["OMP_NUM_THREADS": "\(threads)", "OMP_PROC_BIND": "spread"], cpus: cpus)
            // "Triad:  <Best Rate MB/s>  <Avg time>  <Min time>  <Max time>"
            let fields = OutsidePrograms.fields(text, key: "Triad:")
            guard fields.count == 4, fields[1] > 0 else {
                throw OutsideError(message: "stream printed no Triad line: \(text.suffix(120))")
            }
            guard text.contains("Solution Validates") else {
                throw OutsideError(message: "stream did not validate its arrays")
            }
            calls += 1
            if calls > 1 { best.append(fields[0] / 1000) }  // the measure helper's warm-up round is the first call
            return Double(24 * streamCElements) / fields[1] / 1e9
        }
        contender.pageSize = "static arrays"
        contender.finalNote = {
            let sorted = best.sorted()
            return sorted.isEmpty ? nil : "its Best Rate: median \(format(sorted[sorted.count / 2])) GB/s"
        }
        return contender
    }
}

/// What a team member needs for Swift's Triad over three buffers.
private struct TriadJob {
    var a: UnsafeMutableRawPointer
    var b: UnsafeMutableRawPointer
    var c: UnsafeMutableRawPointer
    var count: Int
    var initialize: Bool
}

/// The member's static share: initialize as stream.c does (first touch by the user) or run Triad.
private let triadTask: zr_task = { context, index, members in
    let job = context!.assumingMemoryBound(to: TriadJob.self).pointee
    var begin = 0, end = 0
    zr_static_share(job.count, index, members, &begin, &end)
    if job.initialize {
        initializeStream(job.a, job.b, job.c, begin..<end)
    } else {
        triadBuffer(job.a, job.b, job.c, job.count, begin..<end)
    }
}

/// Seconds per pass, averaged over `passes` timed passes after one untimed pass; the buffers are
/// first initialized by the members that use each share.
func triadOverTeam(_ bases: [UnsafeMutableRawPointer], count: Int, threads: Int, passes: Int) -> Double {
    var job = TriadJob(a: bases[0], b: bases[1], c: bases[2], count: count, initialize: true)
    zr_team_run(Int32(threads), triadTask, &job)
    job.initialize = false
    zr_team_run(Int32(threads), triadTask, &job)
    var total = 0.0
    for _ in 0..<passes {
        let start = now()
        zr_team_run(Int32(threads), triadTask, &job)
        total += now() - start
    }
    return total / Double(passes)
}
