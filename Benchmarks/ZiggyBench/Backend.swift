// Every use of the library's API by the benchmark's workloads goes through this file (and the
// access kernels in Kernels.swift), so a change of the library's API is adapted here.
import CNuma
import CZiggyShims
import Foundation
import Glibc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyMmap

/// Every library memory source the benchmark compares (the outside references are `c-` rows).
enum Backend: String, CaseIterable, Comparable {
    case system
    case scoped
    case array
    case mmapBase = "mmap-base"
    case mmapTHP = "mmap-thp"
    case mmap2M = "mmap-2m"
    case mmap1G = "mmap-1g"
    case numaLocal = "numa-local"
    case numaLocal2M = "numa-local-2m"
    case numaRemote = "numa-remote"
    case numaInterleave = "numa-interleave"

    static func < (a: Backend, b: Backend) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// What the row is, for the table's legend.
    var summary: String {
        switch self {
        case .system: return "SystemMemoryAllocator"
        case .scoped: return "ScopedAllocator (arena)"
        case .array: return "Swift [T] (managed baseline)"
        case .mmapBase: return "MmapAllocator, base pages"
        case .mmapTHP: return "MmapAllocator, transparent huge pages"
        case .mmap2M: return "MmapAllocator, hugetlb 2 MiB"
        case .mmap1G: return "MmapAllocator, hugetlb 1 GiB"
        case .numaLocal: return "NumaAllocator bind(local node), base pages"
        case .numaLocal2M: return "NumaAllocator bind(local node), hugetlb 2 MiB"
        case .numaRemote: return "NumaAllocator bind(remote node), base pages"
        case .numaInterleave: return "NumaAllocator interleave(all nodes), base pages"
        }
    }

    /// The hugetlb size the backend needs, if any.
    var hugePageSize: PageSize? {
        switch self {
        case .mmap2M, .numaLocal2M: return .huge2MiB
        case .mmap1G: return .huge1GiB
        default: return nil
        }
    }

    /// Backends that hand out large regions (the arena and arrays are for small allocations).
    var isRegionBackend: Bool { self != .scoped && self != .array }
}

/// A large region of memory from one backend, freed when the value ends.
final class Region: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    private let release: () -> Void

    init(base: UnsafeMutableRawPointer, byteCount: Int, release: @escaping () -> Void) {
        self.base = base
        self.byteCount = byteCount
        self.release = release
    }

    deinit { release() }

    /// One byte per 4 KiB page, the cheapest way to fault every page in.
    func touchPages() {
        var offset = 0
        while offset < byteCount {
            base.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self)
            offset += 4096
        }
        zg_compiler_barrier()
    }

    /// Every byte written.
    func writeAll() { memset(base, 1, byteCount) }

    /// The page size the memory really has now (smaps), e.g. "hugetlb 2 MiB".
    func obtainedPageSize() -> String {
        let report = PageSize.Report.measure(address: base, byteCount: byteCount)
        guard let obtained = report.obtainedPageSize else { return "?" }
        if obtained == .transparentHuge {
            return String(format: "THP %.0f%%", Double(report.transparentHugeBytes) / Double(max(1, report.residentBytes)) * 100)
        }
        return obtained.description
    }

    /// Share of pages per node, sampled, e.g. "N0=100%".
    func nodeHistogram() -> String {
        let view = UnmanagedBuffer(
            unsafeWrapping: UnsafeMutableBufferPointer(
                start: base.assumingMemoryBound(to: UInt8.self), count: byteCount))
        guard let placement = try? view.placement(maximumSamples: 4096), placement.presentPages > 0 else { return "-" }
        return placement.pagesPerNode.sorted { $0.key < $1.key }
            .map { String(format: "N%d=%.0f%%", $0.key, placement.fraction(onNode: $0.key) * 100) }
            .joined(separator: " ")
    }
}

/// Creates regions for every backend; keeps one allocator per backend (and population mode) so
/// pools and statistics persist across repetitions.
final class RegionFactory {
    let localNode: Int
    let remoteNode: Int?
    let allNodes: NodeSet
    private var allocators: [String: any UnmanagedMemoryAllocator] = [:]

    init(localNode: Int) {
        self.localNode = localNode
        let withMemory = NumaTopology.current().nodesWithMemory
        remoteNode = withMemory.first { $0 != localNode }
        allNodes = withMemory
    }

    /// Why `backend` cannot run with `bytes` here, or nil when it can.
    func unavailableReason(_ backend: Backend, bytes: Int) -> String? {
        switch backend {
        case .numaRemote where remoteNode == nil:
            return "one NUMA node: no remote node"
        case .numaInterleave where allNodes.count < 2:
            return "one NUMA node: nothing to interleave"
        case .mmapTHP where !PageSize.TransparentHugePages.read().isUsable:
            return "THP disabled (enabled=never)"
        default:
            break
        }
        if let size = backend.hugePageSize {
            return hugePagesMissing(
                size == .huge1GiB ? 1 << 30 : 2 << 20, bytes: bytes,
                onNode: backend == .numaLocal2M ? localNode : nil)
        }
        return nil
    }

    /// Why `bytes` of hugetlb pages of `pageBytes` cannot be had now, or nil.
    func hugePagesMissing(_ pageBytes: Int, bytes: Int, onNode node: Int? = nil) -> String? {
        let size: PageSize = pageBytes == 1 << 30 ? .huge1GiB : .huge2MiB
        guard let pool = HugePageReservation.Pool.read(size) else { return "no \(size) pool in this kernel" }
        let needed = (bytes + size.byteCount - 1) / size.byteCount
        let free = node.map { node in pool.nodes.first { $0.node == node }?.free ?? pool.available } ?? pool.available
        if free < needed {
            return
                "needs \(needed) free \(size) pages, \(free) free (reserve with --reserve-hugepages / --reserve-1g-pages as root)"
        }
        return nil
    }

    private func allocator(_ backend: Backend, populateThreads: Int? = nil) throws -> any UnmanagedMemoryAllocator {
        let key = "\(backend.rawValue)/\(populateThreads ?? 0)"
        if let existing = allocators[key] { return existing }
        let populate: PopulateMode
        switch populateThreads {
        case nil: populate = .none
        case 1?: populate = .kernel
        case let threads?: populate = .parallel(threads: threads)
        }
        let made: any UnmanagedMemoryAllocator
        switch backend {
        case .system: made = SystemMemoryAllocator()
        case .mmapBase: made = MmapAllocator(pageSize: .base, populate: populate)
        case .mmapTHP: made = MmapAllocator(pageSize: .transparentHuge, populate: populate)
        case .mmap2M: made = MmapAllocator(pageSize: .huge2MiB, populate: populate)
        case .mmap1G: made = MmapAllocator(pageSize: .huge1GiB, populate: populate)
        case .numaLocal: made = try NumaAllocator(policy: .bind([localNode]))
        case .numaLocal2M: made = try NumaAllocator(policy: .bind([localNode]), pageSize: .huge2MiB, populate: .kernel)
        case .numaRemote: made = try NumaAllocator(policy: .bind([remoteNode ?? localNode]))
        case .numaInterleave: made = try NumaAllocator(policy: .interleave(allNodes))
        case .scoped, .array: preconditionFailure("\(backend) has no region allocator")
        }
        allocators[key] = made
        return made
    }

    /// A fresh, untouched region of `bytes` (hugetlb NUMA regions come populated: the allocator
    /// populates them under the policy to turn a shortage into an error).
    func make(_ backend: Backend, bytes: Int) throws -> Region {
        switch backend {
        case .array:
            let box = ArrayBox(bytes: bytes)
            return Region(base: box.base, byteCount: bytes) { withExtendedLifetime(box) {} }
        default:
            return try detach(allocator(backend).allocate(UInt8.self, count: bytes, alignment: 4096))
        }
    }

    /// A region allocated with population by the kernel (`threads` 1) or by `threads` threads.
    func makePopulated(_ backend: Backend, bytes: Int, threads: Int) throws -> Region {
        try detach(allocator(backend, populateThreads: threads).allocate(UInt8.self, count: bytes))
    }

    private func detach(_ buffer: consuming UnmanagedBuffer<UInt8>) -> Region {
        let raw = buffer.unsafeDetach()
        return Region(base: raw.base, byteCount: raw.byteCount) { raw.release() }
    }

    /// A loop of `n` allocate + free pairs of `size` bytes for `backend`.
    func allocFreeLoop(_ backend: Backend, _ size: Int) throws -> (Int) -> Void {
        switch backend {
        case .scoped:
            // The arena is reset every 1024 allocations (its real amortized cost).
            let box = ArenaBox()
            return { n in
                let arena = box
                var done = 0
                while done < n {
                    let batch = min(1024, n - done)
                    for _ in 0..<batch {
                        let b = try! arena.scope.allocate(UInt8.self, count: size); blackHole(b.unsafeBaseAddress)
                    }
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
        case .system:
            // The concrete type, as a user holds it (an existential would add a witness-table call).
            let allocator = SystemMemoryAllocator()
            return { n in
                for _ in 0..<n { let b = try! allocator.allocate(UInt8.self, count: size); blackHole(b.unsafeBaseAddress) }
            }
        default:
            let allocator = try allocator(backend)
            _ = try allocator.allocate(UInt8.self, count: size)  // fail early, outside the timing
            return { n in
                for _ in 0..<n { let b = try! allocator.allocate(UInt8.self, count: size); blackHole(b.unsafeBaseAddress) }
            }
        }
    }
}

/// The reuse pool of an `MmapAllocator`: rounds of allocate / touch / free, and zeroed reuse.
final class PoolProbe {
    let allocator: MmapAllocator
    let pooled: Bool

    init(_ backend: Backend, poolBytes: Int) {
        let pageSize: PageSize = backend == .mmap2M ? .huge2MiB : backend == .mmap1G ? .huge1GiB : .base
        allocator = MmapAllocator(pageSize: pageSize, reusePoolBytes: poolBytes)
        pooled = poolBytes > 0
    }

    /// Allocate, touch every page, free.
    func round(bytes: Int) throws {
        var buffer = try allocator.allocate(UInt8.self, count: bytes)
        buffer.withUnsafeMutableBufferPointer { pointer in
            let raw = UnsafeMutableRawPointer(pointer.baseAddress!)
            for offset in stride(from: 0, to: bytes, by: 4096) { raw.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
        }
        buffer.free()
    }

    /// Seconds for one `allocate(zeroed: true)` (served from the pool once it holds a mapping).
    func zeroedAllocation(bytes: Int) throws -> Double {
        let start = now()
        let buffer = try allocator.allocate(UInt8.self, count: bytes, zeroed: true)
        let seconds = now() - start
        blackHole(buffer.unsafeBaseAddress)
        return seconds
    }

    var note: String {
        let stats = allocator.mmapStatistics
        return pooled ? "pool hits \(stats.poolHits), misses \(stats.poolMisses)" : "fresh mapping each round"
    }
}

/// An arena the benchmark's escaping loops can share.
final class ArenaBox {
    let scope = ScopedAllocator(chunkByteCount: 4 << 20)
}

/// Swift's managed array as a memory source: the array's storage, kept alive by the box.
final class ArrayBox {
    var array: [UInt8]
    let base: UnsafeMutableRawPointer

    init(bytes: Int) {
        array = [UInt8](unsafeUninitializedCapacity: bytes) { _, count in count = bytes }
        base = array.withUnsafeMutableBytes { $0.baseAddress! }
    }
}

/// What the host is and where the benchmark runs, from the library's topology and pinning APIs.
enum Host {
    static func allowedCPUs() -> Int {
        NumaTopology.current().allowedCPUs.count
    }

    static func nodesWithMemory() -> [Int] { Array(NumaTopology.current().nodesWithMemory) }

    static func currentNode() -> Int? { NumaTopology.current().node(ofCPU: ThreadPinning.currentCPU) }

    /// Runs `body` on the current thread pinned to `node`'s CPUs (unpinned when that fails).
    static func onNode(_ node: Int, _ body: () -> Void) {
        if (try? ThreadPinning.withCurrentThread(pinnedTo: node) { body() }) == nil { body() }
    }

    static func description(cpus: Int, reservations: [String]) -> String {
        let topology = NumaTopology.current()
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: " ") } ?? "" } ?? "unknown CPU"
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: name.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let memory = topology.nodes.reduce(0) { $0 + $1.memoryTotal }
        let thp = PageSize.TransparentHugePages.read()
        return "\(model), \(cpus) CPUs, \(formatBytes(memory)) in \(topology.nodes.count) NUMA node(s), Linux \(kernel), "
            + "THP \(thp.mode); huge pages reserved for the run: \(reservations.isEmpty ? "none" : reservations.joined(separator: ", "))"
    }

    /// The nr_hugepages file of a hugetlb size.
    static func poolPath(pageBytes: Int) -> String {
        // The global counter of the page size: also the file whose flock HugePageReservation takes,
        // so the benchmark and the library never interleave their read-modify-writes.
        pageBytes == 1 << 30
            ? "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
            : "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
    }
}

enum BenchError: Error, CustomStringConvertible {
    case failed(String)
    var description: String {
        switch self {
        case .failed(let message): return message
        }
    }
}
