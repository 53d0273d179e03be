import CZiggyReferences
import Glibc
import ZiggyMmap

// The library's NUMA teams against their C peers, at every allowed CPU: the fork-join overhead,
// STREAM Triad over blocked buffers, and a reduction. The library's team and the C team are pinned
// to the same CPUs; they alternate round-robin, so each sleeps while the other is measured (after
// a quarter millisecond of spinning, which the warm-up round absorbs).
extension Runner {
    /// Nanoseconds per empty region: Team.run {}, the C team's region, pthread create + join.
    func teamRegion() {
        let threads = teamCPUs.count
        guard let team = libraryTeam(threads) else { return }
        func perRegion(_ body: @escaping (Int) -> Void) -> () throws -> Double {
            var batch = 0
            return { [self] in
                if batch == 0 { batch = calibrate(body) }
                let start = now()
                body(batch)
                return (now() - start) / Double(batch) * 1e9
            }
        }
        measure(
            Workload.teamRegion.rawValue,
            [
                Contender(
                    "team", bytes: 0, threads: threads, unit: .nanoseconds, note: "ZiggyMmap Team.run with an empty body",
                    sample: perRegion { n in for _ in 0..<n { team.run { _ in } } }),
                Contender(
                    "c-fork-join", bytes: 0, threads: threads, unit: .nanoseconds,
                    note: "C team (libgomp-style: spin then futex, sense-reversing barrier)",
                    sample: perRegion { n in for _ in 0..<n { zr_team_empty_region(Int32(threads)) } }),
                Contender(
                    "c-pthread", bytes: 0, threads: threads, unit: .nanoseconds, note: "pthread_create + pthread_join per region",
                    sample: perRegion { n in for _ in 0..<n { _ = zr_pthread_region(Int32(threads)) } }),
                outsideForkJoin(threads),
            ])
    }

    /// gcc's libgomp running an empty `#pragma omp parallel` (an outside program, one run a sample).
    private func outsideForkJoin(_ threads: Int) -> Contender {
        let outside = config.outside
        let regions = max(2000, Int(config.minSampleSeconds / 1e-6))
        let cpus = teamCPUs
        return Contender(
            "c-omp-fork-join", bytes: 0, threads: threads, unit: .nanoseconds,
            note: "gcc libgomp, empty #pragma omp parallel, OMP_PROC_BIND=spread (outside program)",
            unavailable: outside.unavailableReason("omp_fork_join")
        ) {
            let text = try outside.run(
                "omp_fork_join", ["\(regions)"], environment: ["OMP_NUM_THREADS": "\(threads)", "OMP_PROC_BIND": "spread"],
                cpus: cpus)
            guard let nanoseconds = OutsidePrograms.fields(text).first else {
                throw OutsideError(message: "omp_fork_join printed no time: \(text.prefix(80))")
            }
            return nanoseconds
        }
    }

    /// Triad by the library's team over three blocked buffers (each member's part on its node,
    /// populated by it), against C STREAM on the C team over the same three buffers — the question
    /// is the code, and on these hosts the physical memory a fresh mapping gets moves bandwidth by
    /// up to 2× — and, for the record, C STREAM over arrays it mapped and first-touched itself.
    func teamTriad() {
        let threads = teamCPUs.count
        guard let team = libraryTeam(threads) else { return }
        let bytes = config.triadBytes
        let count = bytes / 8
        let passes = config.triadPasses
        let buffers: TeamTriadBuffers
        do {
            buffers = try TeamTriadBuffers(team, count: count)
        } catch {
            rows.append(
                .unavailable(
                    "team", Workload.teamTriad.rawValue, bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
                    reason: "\(error)"))
            return
        }
        let library = Contender(
            "team", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
            note: "Team.forEachChunk(of: &a, reading: b, c) over team.allocate buffers"
        ) {
            Double(24 * count) / buffers.teamPass(passes: passes) / 1e9
        }
        let plain = Contender(
            "c-stream-plain", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
            note: "C STREAM Triad, ordinary stores as stream.c's loop compiles, on the C team, same memory"
        ) {
            Double(24 * count) / buffers.cPass(passes: passes, threads: threads, plain: true) / 1e9
        }
        let stream = Contender(
            "c-stream", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
            note: "C STREAM Triad with streaming stores, on the C team, same memory"
        ) {
            Double(24 * count) / buffers.cPass(passes: passes, threads: threads, plain: false) / 1e9
        }
        let own = Contender(
            "c-stream-own", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
            note: "C STREAM Triad (ordinary stores) over arrays C mapped and first-touched itself"
        ) { try self.cStreamTriad(count, threads, passes, plain: true) }
        for contender in [library, plain, stream, own] { contender.pageSize = "base 4 KiB" }
        measure(Workload.teamTriad.rawValue, [library, plain, stream, own])
    }

    /// The sum of one blocked buffer, read by the library's team and by the C team.
    func teamReduce() {
        let threads = teamCPUs.count
        guard let team = libraryTeam(threads) else { return }
        let count = config.triadBytes / 8
        guard var values = try? team.allocate(Double.self, count: count) else { return }
        values.fill(with: 0.5)
        let base = unsafe UnsafePointer(values.unsafeBaseAddress)
        let expected = 0.5 * Double(count)
        let bytes = count * 8
        var checksum = 0.0
        measure(
            Workload.teamReduce.rawValue,
            [
                Contender("team", bytes: bytes, threads: threads, unit: .gigabytesPerSecond, note: "Team.sum (SIMD per member)") {
                    let start = now()
                    checksum = team.sum(values)
                    let seconds = now() - start
                    if checksum != expected { throw BenchError.failed("Team.sum gave \(checksum), expected \(expected)") }
                    return Double(bytes) / seconds / 1e9
                },
                Contender(
                    "c-simd-sum", bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
                    note: "C omp simd reduction on the C team, same memory"
                ) {
                    let start = now()
                    checksum = zr_team_sum(base, count, Int32(threads))
                    let seconds = now() - start
                    if checksum != expected { throw BenchError.failed("c sum gave \(checksum), expected \(expected)") }
                    return Double(bytes) / seconds / 1e9
                },
            ])
        withExtendedLifetime(values) {}
    }

    /// The library team for the team workloads, kept for the run.
    func libraryTeam(_ threads: Int) -> Team? {
        if let team = libraryTeamCache { return team }
        do {
            let team = try Team(threads: threads)
            libraryTeamCache = team
            return team
        } catch {
            rows.append(.unavailable("team", "team", bytes: 0, threads: threads, unit: .nanoseconds, reason: "\(error)"))
            return nil
        }
    }

    private func cStreamTriad(_ count: Int, _ threads: Int, _ passes: Int, plain: Bool) throws -> Double {
        var arrays = zr_stream_arrays()
        let rc = zr_stream_alloc(&arrays, count, Int32(threads))
        if rc != 0 { _ = try checked(Double(rc), "mmap of 3 × \(formatBytes(count * 8))") }
        defer { zr_stream_free(&arrays) }
        let pass = { plain ? zr_stream_triad_plain(&arrays, Int32(threads)) : zr_stream_triad(&arrays, Int32(threads)) }
        _ = pass()
        var total = 0.0
        for _ in 0..<passes { total += pass() }
        return Double(24 * count) / (total / Double(passes)) / 1e9
    }
}

/// The three blocked buffers of `team-triad`, shared by the library's and C's passes.
final class TeamTriadBuffers {
    var a: UnmanagedBuffer<Double>
    var b: UnmanagedBuffer<Double>
    var c: UnmanagedBuffer<Double>
    let team: Team

    init(_ team: Team, count: Int) throws {
        // Into locals first (see AccessBuffers).
        let a = try team.allocate(Double.self, count: count)
        var b = try team.allocate(Double.self, count: count)
        var c = try team.allocate(Double.self, count: count)
        b.fill(with: 2)
        c.fill(with: 1)
        self.a = a
        self.b = b
        self.c = c
        self.team = team
    }

    /// Average seconds per pass of the library's team.
    func teamPass(passes: Int) -> Double { teamTriadPasses(team, &a, b, c, passes: passes) }

    /// Average seconds per pass of C STREAM over the same memory (one untimed pass first).
    func cPass(passes: Int, threads: Int, plain: Bool) -> Double {
        var arrays = zr_stream_arrays(
            a: a.unsafeBaseAddress, b: b.unsafeBaseAddress, c: c.unsafeBaseAddress, count: a.count, scalar: 3)
        let pass = { plain ? zr_stream_triad_plain(&arrays, Int32(threads)) : zr_stream_triad(&arrays, Int32(threads)) }
        _ = pass()
        var total = 0.0
        for _ in 0..<passes { total += pass() }
        return total / Double(passes)
    }
}

/// Seconds per Triad pass by the team (one untimed pass first), each member writing its part of
/// `a` from `b` and `c` — the code a user writes, with no unsafe pointer.
func teamTriadPasses(
    _ team: Team, _ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>,
    _ c: borrowing UnmanagedBuffer<Double>, passes: Int
) -> Double {
    func pass() {
        team.forEachChunk(of: &a, reading: b, c) { _, range, part, b, c in
            let offset = range.lowerBound
            for i in part.indices { part[i] = b[offset + i] + 3.0 * c[offset + i] }
        }
    }
    pass()
    var total = 0.0
    for _ in 0..<passes {
        let start = now()
        pass()
        total += now() - start
    }
    return total / Double(passes)
}
