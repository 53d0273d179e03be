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
    /// Repeated allocate / touch / free of 64 MiB, with and without the reuse pool (ms per round).
    case pool
    /// STREAM Triad a[i] = b[i] + s·c[i] over three arrays (GB/s, 24 B per element).
    case triad
    /// Fill and Triad through a raw pointer, `buffer[i]` and `mutableSpan` over the same memory.
    case access
    /// HPCC RandomAccess-style XOR updates at random indices (million updates/s; TLB-bound).
    case gups
    /// Dependent loads along a random cyclic permutation (ns per load; latency- and TLB-bound).
    case pointerChase = "pointer-chase"

    var summary: String {
        switch self {
        case .allocFree: return "allocate + free latency by size, untouched"
        case .firstTouch: return "allocate + first touch (1 byte per 4 KiB)"
        case .firstTouchWrite: return "allocate + write every byte"
        case .populate: return "allocation with kernel (1 thread) vs parallel population"
        case .pool: return "allocate/touch/free of 64 MiB, with and without the reuse pool"
        case .triad: return "STREAM Triad"
        case .access: return "fill and Triad through raw pointer, buffer[i], mutableSpan"
        case .gups: return "random-access updates (GUPS)"
        case .pointerChase: return "pointer chase over a random cycle"
        }
    }
}

/// Sizes and repetition counts of a preset.
struct BenchConfig {
    var preset: String
    var firstTouchBytes: Int
    var triadBytes: Int
    var accessBytes: Int
    var gupsBytes: Int
    var gupsUpdates: Int
    var chaseBytes: Int
    var chaseLoads: Int
    var allocSizes: [Int]
    var repetitions: Int
    var minSampleSeconds: Double
    var threads: Int
    var triadThreads: Int
    var poolRounds: Int

    static func quick(cpus: Int) -> BenchConfig {
        BenchConfig(preset: "quick", firstTouchBytes: 256 << 20, triadBytes: 32 << 20, accessBytes: 16 << 20,
                    gupsBytes: 64 << 20, gupsUpdates: 1 << 22, chaseBytes: 64 << 20, chaseLoads: 1 << 21,
                    allocSizes: [64, 4096, 65536, 1 << 20, 16 << 20], repetitions: 3, minSampleSeconds: 0.01,
                    threads: min(2, cpus), triadThreads: 1, poolRounds: 6)
    }

    static func standard(cpus: Int) -> BenchConfig {
        BenchConfig(preset: "default", firstTouchBytes: 1 << 30, triadBytes: 256 << 20, accessBytes: 64 << 20,
                    gupsBytes: 1 << 30, gupsUpdates: 1 << 25, chaseBytes: 1 << 30, chaseLoads: 1 << 23,
                    allocSizes: [64, 4096, 65536, 1 << 20, 16 << 20, 256 << 20], repetitions: 7,
                    minSampleSeconds: 0.05, threads: min(2, cpus), triadThreads: 1, poolRounds: 16)
    }
}
