import ArgumentParser
import Glibc
import ZiggyMPI
import ZiggyMmap

/// STREAM Triad on every rank of an MPI job, each over three arrays on its own NUMA node with
/// 2 MiB pages (falling back to base pages visibly), first-touched by the rank; rank 0 prints the
/// job's placement table and the aggregate bandwidth (MPI_Reduce of every rank's GB/s).
///
///     mpirun --map-by numa --bind-to numa .build/release/mpi-stream --mib 64
@main
struct MPIStream: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-stream", abstract: "STREAM Triad on node-local huge pages, one MPI rank per NUMA node.")

    @Option(help: "MiB per array and rank (three arrays).") var mib = 64
    @Option(help: "Timed Triad passes (after one warm-up pass).") var passes = 10
    @Flag(help: "Base pages instead of 2 MiB pages.") var basePages = false

    func validate() throws {
        guard (1...(1 << 20)).contains(mib) else { throw ValidationError("--mib must be between 1 and 1048576, got \(mib)") }
        guard (1...10_000).contains(passes) else { throw ValidationError("--passes must be between 1 and 10000, got \(passes)") }
    }

    func run() throws {
        let job = try MPIJob()
        let count = mib << 20 / MemoryLayout<Double>.stride
        let pageSize: PageSize = basePages ? .base : .huge2MiB
        // One reserver per node sizes its pool for all of the node's ranks (nothing to do for base
        // pages, or when the pool already holds enough).
        let pages = basePages ? nil : try job.reserveHugePages(.huge2MiB, bytesPerRank: 3 * count * 8)
        let allocator = try job.nodeAllocator(pageSize: pageSize, fallback: .anySmaller)
        var a = try allocator.allocate(Double.self, count: count)
        var b = try allocator.allocate(Double.self, count: count)
        var c = try allocator.allocate(Double.self, count: count)
        // First touch by this rank (hugetlb arrays were populated on the node at allocation).
        a.fill(with: 1)
        b.fill(with: 2)
        c.fill(with: 0)
        let scalar = 3.0
        triad(&a, b, c, scalar)
        try job.barrier()
        var seconds = 0.0
        for _ in 0..<passes {
            let start = now()
            triad(&a, b, c, scalar)
            seconds += now() - start
        }
        let gigabytesPerSecond = Double(3 * count * 8) / (seconds / Double(passes)) / 1e9
        let expected = 2.0  // b + scalar × c with b = 2, c = 0
        let checked = a[count - 1] == expected && a[0] == expected
        let rows = try job.gatherPlacement(of: a, label: "a")
        let total = try job.reduce(gigabytesPerSecond, .sum)
        let slowest = try job.reduce(gigabytesPerSecond, .min)
        let allChecked = try job.allReduce(checked ? 1 : 0, .min) == 1
        if job.rank == 0, let total, let slowest {
            print(RankPlacement.table(rows))
            print(
                "mpi-stream: \(job.size) rank(s), 3 × \(mib) MiB each, \(pageSize) asked"
                    + (rows.contains { $0.pageSize.contains("fell back") } ? " (some ranks fell back: see page size)" : "")
                    + ": Triad \(format(total)) GB/s aggregate (slowest rank \(format(slowest)) GB/s), "
                    + "result \(allChecked ? "checked" : "WRONG")")
        }
        a.free()
        b.free()
        c.free()
        if let pages { try job.release(pages) }
        if !allChecked { throw ExitCode.failure }
    }
}

/// a[i] = b[i] + scalar × c[i], through spans (bounds checked once per span, not per element).
func triad(
    _ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>,
    _ scalar: Double
) {
    let (bs, cs) = (b.span, c.span)
    var out = a.mutableSpan
    for i in 0..<out.count { out[i] = bs[i] + scalar * cs[i] }
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

func format(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
