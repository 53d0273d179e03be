import CNuma
import CZiggyShims
import Foundation
import Glibc
import ZiggyMmap

/// Every memory source the benchmark compares.
enum Backend: String, CaseIterable, Comparable {
    case malloc
    case system
    case scoped
    case array
    case rawMmap = "raw-mmap"
    case rawMmap2M = "raw-mmap-2m"
    case mmapBase = "mmap-base"
    case mmapTHP = "mmap-thp"
    case mmap2M = "mmap-2m"
    case mmap1G = "mmap-1g"
    case numaLocal = "numa-local"
    case numaLocal2M = "numa-local-2m"
    case numaRemote = "numa-remote"
    case numaInterleave = "numa-interleave"
    case libnuma

    static func < (a: Backend, b: Backend) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// What the row is, for the table's legend.
    var summary: String {
        switch self {
        case .malloc: return "glibc malloc/free (reference for small allocations)"
        case .system: return "SystemMemoryAllocator"
        case .scoped: return "ScopedAllocator (arena)"
        case .array: return "Swift [T] (managed baseline)"
        case .rawMmap: return "plain mmap, base pages (C-level reference)"
        case .rawMmap2M: return "plain mmap(MAP_HUGETLB) 2 MiB (C-level reference)"
        case .mmapBase: return "MmapAllocator, base pages"
        case .mmapTHP: return "MmapAllocator, transparent huge pages"
        case .mmap2M: return "MmapAllocator, hugetlb 2 MiB"
        case .mmap1G: return "MmapAllocator, hugetlb 1 GiB"
        case .numaLocal: return "NumaAllocator bind(local node), base pages"
        case .numaLocal2M: return "NumaAllocator bind(local node), hugetlb 2 MiB"
        case .numaRemote: return "NumaAllocator bind(remote node), base pages"
        case .numaInterleave: return "NumaAllocator interleave(all nodes), base pages"
        case .libnuma: return "libnuma numa_alloc_onnode(local node) (peer)"
        }
    }

    /// The hugetlb size the backend needs, if any.
    var hugePageSize: PageSize? {
        switch self {
        case .rawMmap2M, .mmap2M, .numaLocal2M: return .huge2MiB
        case .mmap1G: return .huge1GiB
        default: return nil
        }
    }
}

/// A large region of memory from one backend, freed when the value ends.
final class Region {
    let base: UnsafeMutableRawPointer
    let byteCount: Int
    let backing: BufferBacking?
    private let release: () -> Void

    init(base: UnsafeMutableRawPointer, byteCount: Int, backing: BufferBacking?, release: @escaping () -> Void) {
        self.base = base
        self.byteCount = byteCount
        self.backing = backing
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
        let report = PageSizeReport.measure(address: base, byteCount: byteCount)
        guard let obtained = report.obtainedPageSize else { return "?" }
        if obtained == .transparentHuge {
            return String(format: "THP %.0f%%", report.transparentHugeFraction * 100)
        }
        return obtained.description
    }

    /// Share of pages per node, sampled, e.g. "N0=100%".
    func nodeHistogram() -> String {
        let view = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(
            start: base.assumingMemoryBound(to: UInt8.self), count: byteCount))
        guard let placement = try? view.placement(maximumSamples: 4096), placement.presentPages > 0 else { return "-" }
        return placement.pagesPerNode.sorted { $0.key < $1.key }
            .map { String(format: "N%d=%.0f%%", $0.key, placement.fraction(onNode: $0.key) * 100) }
            .joined(separator: " ")
    }
}

/// Creates regions for every backend; keeps one allocator per backend so pools and statistics
/// persist across repetitions.
final class RegionFactory {
    let localNode: Int
    let remoteNode: Int?
    let allNodes: NodeSet
    private var allocators: [Backend: any UnmanagedMemoryAllocator] = [:]

    init(topology: NumaTopology, localNode: Int) {
        self.localNode = localNode
        let withMemory = topology.nodesWithMemory
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
        case .libnuma where numa_available() < 0:
            return "libnuma: numa_available() failed"
        case .mmapTHP where !TransparentHugePages.read().isUsable:
            return "THP disabled (enabled=never)"
        default:
            break
        }
        if let size = backend.hugePageSize {
            guard let pool = HugePagePool.read(size) else { return "no \(size) pool in this kernel" }
            let needed = (bytes + size.byteCount - 1) / size.byteCount
            let free = backend == .numaLocal2M
                ? (pool.nodes.first { $0.node == localNode }?.free ?? pool.available) : pool.available
            if free < needed {
                return "needs \(needed) free \(size) pages, \(free) free (reserve with --reserve-hugepages / --reserve-1g-pages as root)"
            }
        }
        return nil
    }

    func allocator(_ backend: Backend) throws -> any UnmanagedMemoryAllocator {
        if let existing = allocators[backend] { return existing }
        let made: any UnmanagedMemoryAllocator
        switch backend {
        case .system: made = SystemMemoryAllocator()
        case .mmapBase: made = MmapAllocator(pageSize: .base)
        case .mmapTHP: made = MmapAllocator(pageSize: .transparentHuge)
        case .mmap2M: made = MmapAllocator(pageSize: .huge2MiB)
        case .mmap1G: made = MmapAllocator(pageSize: .huge1GiB)
        case .numaLocal: made = try NumaAllocator(policy: .bind([localNode]))
        case .numaLocal2M: made = try NumaAllocator(policy: .bind([localNode]), pageSize: .huge2MiB, populate: .kernel)
        case .numaRemote: made = try NumaAllocator(policy: .bind([remoteNode ?? localNode]))
        case .numaInterleave: made = try NumaAllocator(policy: .interleave(allNodes))
        default: preconditionFailure("\(backend) has no allocator")
        }
        allocators[backend] = made
        return made
    }

    /// A fresh, untouched region of `bytes` (hugetlb NUMA regions come populated: the allocator
    /// populates them under the policy to turn a shortage into an error).
    func make(_ backend: Backend, bytes: Int) throws -> Region {
        switch backend {
        case .malloc, .scoped:
            guard let memory = Glibc.malloc(bytes) else { throw BenchError.failed("malloc(\(bytes)) failed") }
            return Region(base: memory, byteCount: bytes, backing: nil) { Glibc.free(memory) }
        case .array:
            let box = ArrayBox(bytes: bytes)
            return Region(base: box.base, byteCount: bytes, backing: nil) { withExtendedLifetime(box) {} }
        case .rawMmap, .rawMmap2M:
            var flags = MAP_PRIVATE | MAP_ANONYMOUS
            if backend == .rawMmap2M { flags |= MAP_HUGETLB | (21 << 26) }
            guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, -1, 0), memory != MAP_FAILED else {
                throw BenchError.failed("mmap of \(bytes) B failed: errno \(errno)")
            }
            let length = backend == .rawMmap2M ? (bytes + (2 << 20) - 1) / (2 << 20) * (2 << 20) : bytes
            return Region(base: memory, byteCount: bytes, backing: nil) { munmap(memory, length) }
        case .libnuma:
            guard let memory = numa_alloc_onnode(bytes, Int32(localNode)) else {
                throw BenchError.failed("numa_alloc_onnode(\(bytes)) failed")
            }
            return Region(base: memory, byteCount: bytes, backing: nil) { numa_free(memory, bytes) }
        default:
            let allocator = try allocator(backend)
            let buffer = try allocator.allocate(UInt8.self, count: bytes)
            let backing = buffer.backing
            let raw = buffer.unsafeDetach()
            return Region(base: raw.base, byteCount: bytes, backing: backing) { raw.release() }
        }
    }
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

enum BenchError: Error, CustomStringConvertible {
    case failed(String)
    var description: String {
        switch self {
        case .failed(let message): return message
        }
    }
}
