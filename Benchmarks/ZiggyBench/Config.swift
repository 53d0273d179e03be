/// What the benchmark measures.
enum Workload: String, CaseIterable {
    /// Allocate + free latency by size, memory never touched (ns per pair).
    case allocFree = "alloc-free"
    /// Allocate + touch one byte per 4 KiB (GB/s of buffer).
    case firstTouch = "first-touch"
    /// Allocate + write every byte (GB/s).
    case firstTouchWrite = "first-touch-write"
    /// Allocate with population by the kernel (1 thread) or by N threads (GB/s).
    case populate
    /// Repeated allocate / touch / free of 64 MiB, with and without the reuse pool (ms per round),
    /// and the pool's zeroed reuse against memset(0) (GB/s).
    case pool
    /// A touched 64 MiB buffer grown to 128 MiB with `resize`, per page size (ms per resize).
    case resize
    /// STREAM (copy, scale, add, Triad) in C and Triad over the library's buffers, at 1 and N threads.
    case triad
    /// Fill, copy, Triad, sum and a stencil through C, `buffer[i]` (inout, in a struct, generic) and spans, same memory.
    case access
    /// Sum and Triad through `BufferArray` (the collection view) against `UnmanagedBuffer`, same memory.
    case view
    /// HPCC RandomAccess-style XOR updates at random indices (million updates/s; TLB-bound).
    case gups
    /// Dependent loads along a random cyclic permutation (ns per load; latency- and TLB-bound).
    case pointerChase = "pointer-chase"
    /// An empty fork-join region: the library's Team, the C team, pthread create + join (ns).
    case teamRegion = "team-region"
    /// STREAM Triad by a library Team over blocked buffers against C STREAM at the same threads (GB/s).
    case teamTriad = "team-triad"
    /// A sum of a buffer by a library Team (SIMD per member) against a C SIMD sum on the C team (GB/s).
    case teamReduce = "team-reduce"
    /// 2-D 5-point and 3-D 7-point Jacobi sweeps through grids and their views against the same
    /// loops in C over the same grids, at 1 thread and with a Team at every allowed CPU (GB/s).
    case stencil

    /// Its usual share of a default run (seconds on the 2-CPU machines this project is measured
    /// on), for the progress line's estimate of the time left.
    var weight: Double {
        switch self {
        case .allocFree: return 25
        case .firstTouch: return 60
        case .firstTouchWrite: return 45
        case .populate: return 30
        case .pool: return 35
        case .resize: return 20
        case .triad: return 70
        case .access: return 45
        case .view: return 20
        case .gups: return 35
        case .pointerChase: return 25
        case .teamRegion: return 15
        case .teamTriad: return 30
        case .teamReduce: return 15
        case .stencil: return 40
        }
    }

    /// How the names of this workload's targets begin (a run reports only its workloads' targets).
    var targetPrefix: String {
        switch self {
        case .allocFree: return "alloc-free"
        case .firstTouch: return "first touch"
        case .firstTouchWrite: return "first touch write"
        case .populate: return "populate"
        case .pool: return "pool"
        case .resize: return "resize"
        case .triad: return "triad "
        case .access: return "access-"
        case .view: return "view-"
        case .gups: return "gups"
        case .pointerChase: return "pointer chase"
        case .teamRegion: return "team-region"
        case .teamTriad: return "team-triad"
        case .teamReduce: return "team-reduce"
        case .stencil: return "stencil-"
        }
    }

    var summary: String {
        switch self {
        case .allocFree: return "allocate + free latency by size, untouched"
        case .firstTouch: return "allocate + first touch (1 byte per 4 KiB)"
        case .firstTouchWrite: return "allocate + write every byte"
        case .populate: return "allocation with kernel (1 thread) vs parallel population"
        case .pool: return "allocate/touch/free of 64 MiB with and without the reuse pool; zeroed reuse"
        case .resize: return "resize of a touched 64 MiB buffer to 128 MiB: base, THP, hugetlb 2 MiB"
        case .triad: return "STREAM in C and Triad over library buffers, 1 and N threads"
        case .access: return "fill, copy, Triad, sum, stencil: C against buffer[i] (inout, struct, generic) and spans, same memory"
        case .view: return "sum and Triad through BufferArray vs UnmanagedBuffer on the same memory"
        case .gups: return "random-access updates (GUPS)"
        case .pointerChase: return "pointer chase over a random cycle"
        case .teamRegion: return "empty fork-join region: library Team vs C team vs pthread create+join"
        case .teamTriad: return "Triad by a library Team over blocked buffers vs C STREAM, all allowed CPUs"
        case .teamReduce: return "sum by a library Team vs C SIMD sum on the C team, same memory"
        case .stencil: return "2-D 5-point and 3-D 7-point Jacobi through grids, views and a Team vs C loops, same grids"
        }
    }
}

/// What a measurement is in, and which way is better.
enum Unit: String {
    case gigabytesPerSecond = "GB/s"
    case nanoseconds = "ns"
    case milliseconds = "ms"
    case millionUpdatesPerSecond = "Mupdates/s"
    case nanosecondsPerLoad = "ns/load"

    var higherIsBetter: Bool {
        self == .gigabytesPerSecond || self == .millionUpdatesPerSecond
    }
}

/// Sizes and repetition counts of a preset.
struct BenchConfig {
    var preset: String
    var firstTouchBytes: Int
    var triadBytes: Int
    /// Array sizes of the access workload (one in cache, one far beyond) and of the view workload.
    var accessSizes: [Int]
    var viewBytes: Int
    /// Sides of the square 2-D and cubic 3-D grids of the stencil workload (in cache, then beyond).
    var stencilSides2D: [Int]
    var stencilSides3D: [Int]
    var gupsBytes: Int
    var gupsUpdates: Int
    var chaseBytes: Int
    var chaseLoads: Int
    var allocSizes: [Int]
    /// Samples per row (at least 7 for a verdict other than n/a).
    var repetitions: Int
    var minSampleSeconds: Double
    /// Threads for parallel population.
    var threads: Int
    /// Thread counts Triad runs at (default: 1 and every allowed CPU).
    var triadThreads: [Int]
    /// Timed passes per Triad sample (their average time is the sample, as stream.c averages).
    var triadPasses: Int
    var poolRounds: Int
    /// Seconds /proc/stat is watched before measuring.
    var quietWindow: Double
    /// The outside programs (`--references`).
    var outside = OutsidePrograms(directory: nil)

    static func quick(cpus: Int) -> BenchConfig {
        BenchConfig(
            preset: "quick", firstTouchBytes: 64 << 20, triadBytes: 16 << 20, accessSizes: [16 << 10, 1 << 20], viewBytes: 4 << 20,
            stencilSides2D: [64, 512], stencilSides3D: [16, 64],
            gupsBytes: 16 << 20, gupsUpdates: 1 << 18, chaseBytes: 16 << 20, chaseLoads: 1 << 17,
            allocSizes: [64, 4096, 1 << 20], repetitions: 7, minSampleSeconds: 0.002,
            threads: min(2, cpus), triadThreads: Array(Set([1, cpus])).sorted(), triadPasses: 2,
            poolRounds: 7, quietWindow: 0.5)
    }

    static func standard(cpus: Int) -> BenchConfig {
        BenchConfig(
            preset: "default", firstTouchBytes: 1 << 30, triadBytes: 256 << 20, accessSizes: [16 << 10, 64 << 20],
            viewBytes: 64 << 20,
            // 2 × 128 KiB and 2 × 256 KiB fit a core's L2; 2 × 128 MiB fit no cache.
            stencilSides2D: [128, 4096], stencilSides3D: [32, 256],
            gupsBytes: 1 << 30, gupsUpdates: 1 << 25, chaseBytes: 1 << 30, chaseLoads: 1 << 23,
            allocSizes: [64, 4096, 65536, 1 << 20, 16 << 20, 256 << 20], repetitions: 7,
            minSampleSeconds: 0.05, threads: min(2, cpus), triadThreads: Array(Set([1, cpus])).sorted(),
            triadPasses: 5, poolRounds: 9, quietWindow: 1)
    }
}
