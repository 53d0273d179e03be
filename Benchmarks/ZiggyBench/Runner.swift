import CNuma
import CZiggyShims
import Foundation
import Glibc
import ZiggyMmap
import ZiggySupport

/// Runs the selected workloads over the selected backends and collects rows.
final class Runner {
    let config: BenchConfig
    let backends: [Backend]
    let workloads: [Workload]
    let factory: RegionFactory
    var rows: [Row] = []
    var references: [String: Double] = [:]
    private var step = 0
    private var totalSteps = 0

    init(config: BenchConfig, backends: [Backend], workloads: [Workload], factory: RegionFactory) {
        self.config = config
        self.backends = backends
        self.workloads = workloads
        self.factory = factory
    }

    func progress(_ text: String) {
        step += 1
        FileHandle.standardError.write(Data("ziggy-bench: [\(step)/\(max(step, totalSteps))] \(text)\n".utf8))
    }

    func run() {
        totalSteps = workloads.reduce(0) { total, workload in
            total + (workload == .allocFree ? config.allocSizes.count * backends.count : backends.count + 2)
        }
        for workload in workloads {
            switch workload {
            case .allocFree: allocFree()
            case .firstTouch: firstTouch(write: false)
            case .firstTouchWrite: firstTouch(write: true)
            case .populate: populate()
            case .pool: pool()
            case .triad: triad()
            case .access: access()
            case .gups: gups()
            case .pointerChase: pointerChase()
            }
        }
    }

    // MARK: helpers

    func unavailable(_ backend: String, _ workload: Workload, bytes: Int, unit: String, higherIsBetter: Bool,
                     threads: Int = 1, reason: String) {
        rows.append(Row(backend: backend, workload: workload.rawValue, size_bytes: bytes, threads: threads, median: nil,
                        min: nil, max: nil, unit: unit, higher_is_better: higherIsBetter, repetitions: 0,
                        page_size_obtained: "-", nodes: "-", reference: nil, ratio_to_reference: nil,
                        speedup_vs_base_pages: nil, note: "not run: \(reason)"))
    }

    func record(_ backend: String, _ workload: String, bytes: Int, threads: Int = 1, samples: [Double], unit: String,
                higherIsBetter: Bool, pageSize: String, nodes: String, note: String? = nil) {
        let summary = Summary(samples)
        rows.append(Row(backend: backend, workload: workload, size_bytes: bytes, threads: threads, median: summary.median,
                        min: summary.min, max: summary.max, unit: unit, higher_is_better: higherIsBetter,
                        repetitions: summary.count, page_size_obtained: pageSize, nodes: nodes, reference: nil,
                        ratio_to_reference: nil, speedup_vs_base_pages: nil, note: note))
    }

    /// The batch size for which one run of `body(batch)` takes at least `minSampleSeconds`.
    func calibrate(_ body: (Int) -> Void) -> Int {
        var batch = 1
        while true {
            let start = now()
            body(batch)
            if now() - start >= config.minSampleSeconds || batch >= 1 << 26 { return batch }
            batch *= 2
        }
    }

    /// Seconds per operation of one run of `body(batch)`.
    func sample(_ body: (Int) -> Void, batch: Int) -> Double {
        let start = now()
        body(batch)
        return (now() - start) / Double(batch)
    }

    func reason(_ backend: Backend, bytes: Int) -> String? { factory.unavailableReason(backend, bytes: bytes) }

    /// Runs `measure(repetition)` once to warm up, then `repetitions` times; returns the kept samples.
    func samplesAfterWarmUp(_ measure: (Int) -> Double) -> [Double] {
        _ = measure(0)
        return (1...config.repetitions).map(measure)
    }

    /// The selected backends that take part in `workload`: allocation-only backends (malloc, the
    /// arena) have no large region to measure; Triad runs its raw-pointer reference first.
    func backends(for workload: Workload) -> [Backend] {
        switch workload {
        case .firstTouch, .firstTouchWrite:
            return backends.filter { $0 != .malloc && $0 != .scoped }
        case .triad:
            return [.rawMmap] + backends.filter { ![.rawMmap, .malloc, .scoped, .rawMmap2M].contains($0) }
        case .gups, .pointerChase:
            return backends.filter { ![.malloc, .scoped, .array, .rawMmap2M].contains($0) }
        default:
            return backends
        }
    }

    // MARK: alloc-free

    /// Backends are sampled round-robin (A B C A B C …) so that drift on a noisy host spreads
    /// over all of them instead of biasing the ratios between them.
    func allocFree() {
        for size in config.allocSizes {
            var loops: [(Backend, (Int) -> Void)] = []
            for backend in backends {
                progress("alloc-free \(backend.rawValue) \(formatBytes(size))")
                if backend == .scoped && size > 65536 {
                    unavailable(backend.rawValue, .allocFree, bytes: size, unit: "ns", higherIsBetter: false,
                                reason: "arena sizes above 64 KiB live until the scope ends")
                    continue
                }
                if let why = reason(backend, bytes: size) {
                    unavailable(backend.rawValue, .allocFree, bytes: size, unit: "ns", higherIsBetter: false, reason: why)
                    continue
                }
                do {
                    loops.append((backend, try allocFreeLoop(backend, size)))
                } catch {
                    unavailable(backend.rawValue, .allocFree, bytes: size, unit: "ns", higherIsBetter: false,
                                reason: "\(error)")
                }
            }
            let batches = loops.map { calibrate($0.1) }
            var samples = Array(repeating: [Double](), count: loops.count)
            for _ in 0..<config.repetitions {
                for (index, loop) in loops.enumerated() { samples[index].append(sample(loop.1, batch: batches[index]) * 1e9) }
            }
            for (index, loop) in loops.enumerated() {
                record(loop.0.rawValue, Workload.allocFree.rawValue, bytes: size, samples: samples[index],
                       unit: "ns", higherIsBetter: false, pageSize: "untouched", nodes: "-")
            }
        }
    }

    /// A loop of `n` allocate + free pairs for `backend`.
    func allocFreeLoop(_ backend: Backend, _ size: Int) throws -> (Int) -> Void {
        switch backend {
        case .malloc:
            return { n in
                for _ in 0..<n { let p = Glibc.malloc(size); blackHole(p); Glibc.free(p) }
            }
        case .system:
            let allocator = SystemMemoryAllocator()
            return { n in
                for _ in 0..<n { let b = try! allocator.allocate(UInt8.self, count: size); blackHole(b.baseAddress) }
            }
        case .scoped:
            // The arena is reset every 1024 allocations (its real amortized cost).
            let box = ArenaBox()
            return { n in
                let arena = box
                var done = 0
                while done < n {
                    let batch = min(1024, n - done)
                    for _ in 0..<batch { let b = try! arena.scope.allocate(UInt8.self, count: size); blackHole(b.baseAddress) }
                    arena.scope.reset()
                    done += batch
                }
            }
        case .array:
            return { n in
                for _ in 0..<n {
                    let array = [UInt8](unsafeUninitializedCapacity: size) { _, count in count = size }
                    array.withUnsafeBufferPointer { blackHole($0.baseAddress) }
                }
            }
        case .rawMmap, .rawMmap2M:
            var flags = MAP_PRIVATE | MAP_ANONYMOUS
            if backend == .rawMmap2M { flags |= MAP_HUGETLB | (21 << 26) }
            let length = backend == .rawMmap2M ? (size + (2 << 20) - 1) / (2 << 20) * (2 << 20) : size
            return { n in
                for _ in 0..<n {
                    let p = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0)
                    blackHole(p)
                    munmap(p, length)
                }
            }
        case .libnuma:
            let node = Int32(factory.localNode)
            return { n in
                for _ in 0..<n { let p = numa_alloc_onnode(size, node); blackHole(p); numa_free(p, size) }
            }
        default:
            let allocator = try factory.allocator(backend)
            _ = try allocator.allocate(UInt8.self, count: size)  // fail early, outside the timing
            return { n in
                for _ in 0..<n { let b = try! allocator.allocate(UInt8.self, count: size); blackHole(b.baseAddress) }
            }
        }
    }

    // MARK: first touch

    /// The machine's limit for touching memory: memset over pre-faulted memory.
    func memsetReference() -> Double {
        if let known = references["memset GB/s"] { return known }
        let bytes = config.firstTouchBytes
        progress("reference: memset over pre-faulted \(formatBytes(bytes))")
        guard let region = try? factory.make(.rawMmap, bytes: bytes) else { return .nan }
        region.writeAll()
        let samples = (0..<config.repetitions).map { _ -> Double in
            let start = now()
            region.writeAll()
            return Double(bytes) / (now() - start) / 1e9
        }
        let value = Summary(samples).median
        references["memset GB/s"] = value
        return value
    }

    func firstTouch(write: Bool) {
        let workload: Workload = write ? .firstTouchWrite : .firstTouch
        let bytes = config.firstTouchBytes
        _ = memsetReference()
        for backend in backends(for: workload) {
            progress("\(workload.rawValue) \(backend.rawValue) \(formatBytes(bytes))")
            if let why = reason(backend, bytes: bytes) {
                unavailable(backend.rawValue, workload, bytes: bytes, unit: "GB/s", higherIsBetter: true, reason: why)
                continue
            }
            do {
                var pageSize = "?", nodes = "-"
                var samples: [Double] = []
                // Repetition 0 warms up (first touch of memory the host may have reclaimed).
                for repetition in 0...config.repetitions {
                    let start = now()
                    let region = try factory.make(backend, bytes: bytes)
                    if write { region.writeAll() } else { region.touchPages() }
                    let seconds = now() - start
                    if repetition == 0 { continue }
                    samples.append(Double(bytes) / seconds / 1e9)
                    if repetition == 1 {
                        pageSize = region.obtainedPageSize()
                        nodes = region.nodeHistogram()
                    }
                }
                record(backend.rawValue, workload.rawValue, bytes: bytes, samples: samples, unit: "GB/s",
                       higherIsBetter: true, pageSize: pageSize, nodes: nodes)
            } catch {
                unavailable(backend.rawValue, workload, bytes: bytes, unit: "GB/s", higherIsBetter: true, reason: "\(error)")
            }
        }
    }

    // MARK: populate

    func populate() {
        let bytes = config.firstTouchBytes
        let candidates: [(Backend, PageSize)] = [(.mmapBase, .base), (.mmapTHP, .transparentHuge), (.mmap2M, .huge2MiB)]
        for (backend, pageSize) in candidates where backends.contains(backend) {
            if let why = reason(backend, bytes: bytes) {
                unavailable(backend.rawValue, .populate, bytes: bytes, unit: "GB/s", higherIsBetter: true, reason: why)
                continue
            }
            for mode in [PopulateMode.kernel, .parallel(threads: config.threads)] {
                let threads: Int
                if case .parallel(let count) = mode { threads = count } else { threads = 1 }
                progress("populate \(backend.rawValue) \(mode) \(formatBytes(bytes))")
                let allocator = MmapAllocator(pageSize: pageSize, populate: mode)
                var samples: [Double] = []
                var obtained = "?"
                do {
                    for repetition in 0...config.repetitions {
                        let start = now()
                        let buffer = try allocator.allocate(UInt8.self, count: bytes)
                        let seconds = now() - start
                        if repetition == 1 { obtained = buffer.pageSizeReport().obtainedPageSize?.description ?? "?" }
                        if repetition > 0 { samples.append(Double(bytes) / seconds / 1e9) }
                    }
                    record(backend.rawValue, Workload.populate.rawValue, bytes: bytes, threads: threads, samples: samples,
                           unit: "GB/s", higherIsBetter: true, pageSize: obtained, nodes: "-",
                           note: threads == 1 ? "MADV_POPULATE_WRITE, 1 thread" : "\(threads) threads, each a share")
                } catch {
                    unavailable(backend.rawValue, .populate, bytes: bytes, unit: "GB/s", higherIsBetter: true,
                                threads: threads, reason: "\(error)")
                }
            }
        }
    }

    // MARK: pool

    func pool() {
        let bytes = 64 << 20
        for (backend, pageSize) in [(Backend.mmap2M, PageSize.huge2MiB), (.mmapBase, .base)] where backends.contains(backend) {
            if let why = reason(backend, bytes: bytes * 2) {
                unavailable(backend.rawValue, .pool, bytes: bytes, unit: "ms", higherIsBetter: false, reason: why)
                continue
            }
            for pooled in [false, true] {
                let name = backend.rawValue + (pooled ? "+pool" : "")
                progress("pool \(name) \(formatBytes(bytes)) × \(config.poolRounds)")
                let allocator = MmapAllocator(pageSize: pageSize, reusePoolBytes: pooled ? 2 * bytes : 0)
                do {
                    var samples: [Double] = []
                    for round in 0...config.poolRounds {
                        let start = now()
                        var buffer = try allocator.allocate(UInt8.self, count: bytes)
                        buffer.withUnsafeMutableBufferPointer { pointer in
                            let raw = UnsafeMutableRawPointer(pointer.baseAddress!)
                            for offset in stride(from: 0, to: bytes, by: 4096) { raw.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
                        }
                        buffer.free()
                        if round > 0 { samples.append((now() - start) * 1e3) }
                    }
                    let stats = allocator.mmapStatistics
                    record(name, Workload.pool.rawValue, bytes: bytes, samples: samples, unit: "ms", higherIsBetter: false,
                           pageSize: pageSize.description, nodes: "-",
                           note: pooled ? "pool hits \(stats.poolHits), misses \(stats.poolMisses)" : "fresh mapping each round")
                } catch {
                    unavailable(name, .pool, bytes: bytes, unit: "ms", higherIsBetter: false, reason: "\(error)")
                }
            }
        }
    }

    // MARK: triad

    func triad() {
        let bytes = config.triadBytes
        let count = bytes / 8
        let threads = config.triadThreads
        for backend in backends(for: .triad) {
            progress("triad \(backend.rawValue) 3 × \(formatBytes(bytes))")
            if let why = reason(backend, bytes: bytes * 3) {
                unavailable(backend.rawValue, .triad, bytes: bytes, unit: "GB/s", higherIsBetter: true, threads: threads, reason: why)
                continue
            }
            do {
                let samples: [Double]
                var pageSize = "?", nodes = "-"
                if backend == .array {
                    var a = [Double](repeating: 0, count: count)
                    let b = [Double](repeating: 1, count: count)
                    let c = [Double](repeating: 2, count: count)
                    samples = samplesAfterWarmUp { _ in
                        let start = now()
                        for i in 0..<count { a[i] = b[i] + 3 * c[i] }
                        zg_black_hole(&a)
                        return Double(24 * count) / (now() - start) / 1e9
                    }
                    pageSize = "malloc"
                } else {
                    let regions = try (0..<3).map { _ in try factory.make(backend, bytes: bytes) }
                    for (index, region) in regions.enumerated() {
                        let values = region.base.bindMemory(to: Double.self, capacity: count)
                        for i in 0..<count { values[i] = Double(index) }
                    }
                    pageSize = regions[0].obtainedPageSize()
                    nodes = regions[0].nodeHistogram()
                    let raw = backend == .rawMmap
                    let (a, b, c) = (UInt(bitPattern: regions[0].base), UInt(bitPattern: regions[1].base), UInt(bitPattern: regions[2].base))
                    // The threads see the regions by address only: keep them alive explicitly.
                    samples = withExtendedLifetime(regions) {
                        samplesAfterWarmUp { _ in
                            let start = now()
                            runOnThreads(threads) { index in
                                let share = (count + threads - 1) / threads
                                let range = min(count, index * share)..<min(count, (index + 1) * share)
                                if raw { triadRaw(a, b, c, range) } else { triadBuffer(a, b, c, count, range) }
                            }
                            return Double(24 * count) / (now() - start) / 1e9
                        }
                    }
                }
                record(backend.rawValue, Workload.triad.rawValue, bytes: bytes, threads: threads, samples: samples, unit: "GB/s",
                       higherIsBetter: true, pageSize: pageSize, nodes: nodes,
                       note: backend == .rawMmap ? "raw pointers (reference)" : backend == .array ? "Swift arrays" : "buffer[i]")
                if backend == .rawMmap { references["raw-pointer triad GB/s"] = Summary(samples).median }
            } catch {
                unavailable(backend.rawValue, .triad, bytes: bytes, unit: "GB/s", higherIsBetter: true, threads: threads, reason: "\(error)")
            }
        }
    }

    // MARK: access

    func access() {
        let count = config.accessBytes / 8
        progress("access: fill and triad via raw pointer, buffer[i], mutableSpan (\(formatBytes(config.accessBytes)))")
        let allocator = SystemMemoryAllocator()
        guard var a = try? allocator.allocate(Double.self, count: count, alignment: 64),
              var b = try? allocator.allocate(Double.self, count: count, alignment: 64),
              var c = try? allocator.allocate(Double.self, count: count, alignment: 64) else { return }
        a.fill(with: 0); b.fill(with: 1); c.fill(with: 2)
        let bytes = count * 8
        func seconds(_ body: () -> Void) -> Double {
            let start = now()
            body()
            zg_compiler_barrier()
            return now() - start
        }
        // Round-robin over the variants (repetition 0 warms up) so host drift cannot favour one.
        let pa = a.baseAddress, pb = b.baseAddress, pc = c.baseAddress
        var fill: [[Double]] = [[], [], []], triad: [[Double]] = [[], [], []]
        for repetition in 0...config.repetitions {
            let f = [seconds { fillRaw(pa, count, 1.5) }, seconds { fillSubscript(&a, 2.5) }, seconds { fillSpan(&a, 3.5) }]
            let t = [seconds { triadPointers(pa, pb, pc, count) }, seconds { triadSubscript(&a, b, c) },
                     seconds { triadSpans(&a, b, c) }]
            guard repetition > 0 else { continue }
            for variant in 0..<3 {
                fill[variant].append(Double(bytes) / f[variant] / 1e9)
                triad[variant].append(Double(3 * bytes) / t[variant] / 1e9)
            }
        }
        let names = ["raw pointer", "buffer[i]", "mutableSpan"]
        let fills = (0..<3).map { (names[$0], fill[$0]) }
        let triads = (0..<3).map { (names[$0], triad[$0]) }
        for (workload, variants) in [("access-fill", fills), ("access-triad", triads)] {
            for (name, samples) in variants {
                record("system (\(name))", workload, bytes: bytes, samples: samples, unit: "GB/s", higherIsBetter: true,
                       pageSize: "malloc", nodes: "-")
            }
        }
    }

    // MARK: GUPS

    func gups() {
        let entries = 1 << (Int.bitWidth - 1 - (config.gupsBytes / 8).leadingZeroBitCount)
        let bytes = entries * 8
        for backend in backends(for: .gups) {
            progress("gups \(backend.rawValue) \(formatBytes(bytes)) table, \(config.gupsUpdates) updates")
            if let why = reason(backend, bytes: bytes) {
                unavailable(backend.rawValue, .gups, bytes: bytes, unit: "Mupdates/s", higherIsBetter: true, reason: why)
                continue
            }
            do {
                let region = try factory.make(backend, bytes: bytes)
                let table = region.base.bindMemory(to: UInt64.self, capacity: entries)
                for i in 0..<entries { table[i] = UInt64(i) }
                let pageSize = region.obtainedPageSize(), nodes = region.nodeHistogram()
                let updates = config.gupsUpdates
                let samples = samplesAfterWarmUp { repetition in
                    let start = now()
                    randomAccess(region.base, entries: entries, updates: updates, seed: UInt64(repetition + 1))
                    return Double(updates) / (now() - start) / 1e6
                }
                record(backend.rawValue, Workload.gups.rawValue, bytes: bytes, samples: samples, unit: "Mupdates/s",
                       higherIsBetter: true, pageSize: pageSize, nodes: nodes)
            } catch {
                unavailable(backend.rawValue, .gups, bytes: bytes, unit: "Mupdates/s", higherIsBetter: true, reason: "\(error)")
            }
        }
    }

    // MARK: pointer chase

    func pointerChase() {
        let nodes = config.chaseBytes / 64
        let bytes = nodes * 64
        progress("pointer-chase: building a random cycle over \(nodes) cache lines")
        var permutation = [UInt32](unsafeUninitializedCapacity: nodes) { buffer, count in
            for i in 0..<nodes { buffer[i] = UInt32(i) }
            count = nodes
        }
        var generator = SplitMix64(seed: 42)
        // Sattolo's algorithm: one cycle through every line.
        for i in stride(from: nodes - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i))
            permutation.swapAt(i, j)
        }
        for backend in backends(for: .pointerChase) {
            progress("pointer-chase \(backend.rawValue) \(formatBytes(bytes))")
            if let why = reason(backend, bytes: bytes) {
                unavailable(backend.rawValue, .pointerChase, bytes: bytes, unit: "ns/load", higherIsBetter: false, reason: why)
                continue
            }
            do {
                let region = try factory.make(backend, bytes: bytes)
                let slots = region.base.bindMemory(to: UInt64.self, capacity: nodes * 8)
                permutation.withUnsafeBufferPointer { next in
                    for i in 0..<nodes { slots[i * 8] = UInt64(next[i]) * 8 }
                }
                let pageSize = region.obtainedPageSize(), histogram = region.nodeHistogram()
                let loads = config.chaseLoads
                let samples = samplesAfterWarmUp { _ in
                    let start = now()
                    chase(region.base, loads: loads)
                    return (now() - start) / Double(loads) * 1e9
                }
                record(backend.rawValue, Workload.pointerChase.rawValue, bytes: bytes, samples: samples, unit: "ns/load",
                       higherIsBetter: false, pageSize: pageSize, nodes: histogram)
            } catch {
                unavailable(backend.rawValue, .pointerChase, bytes: bytes, unit: "ns/load", higherIsBetter: false, reason: "\(error)")
            }
        }
    }
}

/// An arena the benchmark's escaping loops can share.
final class ArenaBox {
    let scope = ScopedAllocator(chunkByteCount: 4 << 20)
}

// MARK: kernels (not inlined into the runner so each is compiled once, in its own loop)

@inline(never)
func triadRaw(_ a: UInt, _ b: UInt, _ c: UInt, _ range: Range<Int>) {
    let pa = UnsafeMutablePointer<Double>(bitPattern: a)!
    let pb = UnsafePointer<Double>(bitPattern: b)!
    let pc = UnsafePointer<Double>(bitPattern: c)!
    for i in range { pa[i] = pb[i] + 3 * pc[i] }
}

/// Triad through `UnmanagedBuffer` subscripts (bounds-checked) over the same memory.
@inline(never)
func triadBuffer(_ a: UInt, _ b: UInt, _ c: UInt, _ count: Int, _ range: Range<Int>) {
    var ba = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: UnsafeMutablePointer<Double>(bitPattern: a), count: count))
    let bb = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: UnsafeMutablePointer<Double>(bitPattern: b), count: count))
    let bc = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: UnsafeMutablePointer<Double>(bitPattern: c), count: count))
    for i in range { ba[i] = bb[i] + 3 * bc[i] }
}

@inline(never)
func fillRaw(_ p: UnsafeMutablePointer<Double>, _ count: Int, _ value: Double) {
    for i in 0..<count { p[i] = value }
}

@inline(never)
func fillSubscript(_ buffer: inout UnmanagedBuffer<Double>, _ value: Double) {
    for i in buffer.indices { buffer[i] = value }
}

@inline(never)
func fillSpan(_ buffer: inout UnmanagedBuffer<Double>, _ value: Double) {
    var span = buffer.mutableSpan
    for i in span.indices { span[i] = value }
}

@inline(never)
func triadPointers(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, _ c: UnsafeMutablePointer<Double>, _ count: Int) {
    for i in 0..<count { a[i] = b[i] + 3 * c[i] }
}

@inline(never)
func triadSubscript(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>) {
    for i in a.indices { a[i] = b[i] + 3 * c[i] }
}

@inline(never)
func triadSpans(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>) {
    var sa = a.mutableSpan
    let sb = b.span, sc = c.span
    for i in sa.indices { sa[i] = sb[i] + 3 * sc[i] }
}

/// HPCC RandomAccess: XOR a pseudo-random stream into random table entries.
@inline(never)
func randomAccess(_ base: UnsafeMutableRawPointer, entries: Int, updates: Int, seed: UInt64) {
    let table = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: base.assumingMemoryBound(to: UInt64.self), count: entries))
    var view = table
    let mask = UInt64(entries - 1)
    var random = seed
    for _ in 0..<updates {
        random = (random << 1) ^ (Int64(bitPattern: random) < 0 ? 7 : 0)
        view[Int(random & mask)] ^= random
    }
    zg_black_hole(base)
}

/// Follows the cycle for `loads` dependent loads.
@inline(never)
func chase(_ base: UnsafeMutableRawPointer, loads: Int) {
    let slots = base.assumingMemoryBound(to: UInt64.self)
    var index: UInt64 = 0
    for _ in 0..<loads { index = slots[Int(index)] }
    blackHole(index)
}
