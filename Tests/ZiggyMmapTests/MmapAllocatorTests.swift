import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

@Suite("MmapAllocator: base pages and THP")
struct MmapAllocatorTests {
    @Test("base pages: rounded to whole pages, zero-filled, reported as base by backing and smaps")
    func basePages() throws {
        let allocator = MmapAllocator(pageSize: .base)
        var buffer = try allocator.allocate(UInt8.self, count: 10, zeroed: true)
        #expect(buffer.toArray() == Array(repeating: 0, count: 10))
        let backing = buffer.backing
        #expect(backing.backend == .mmap)
        #expect(backing.mapping?.obtainedPageSize == .base && backing.mapping?.requestedPageSize == .base)
        #expect(backing.reservedByteCount == 4096)
        #expect(backing.mapping?.fallbackReason == nil)
        buffer[9] = 7
        let report = buffer.pageSizeReport()
        #expect(report.obtainedPageSize == .base)
        #expect(report.kernelPageSizes == [4096])
        #expect(report.residentBytes >= 4096)
        #expect(allocator.mmapStatistics.mappedBytes == 4096)
        buffer.free()
        #expect(allocator.mmapStatistics.mappedBytes == 0)
        #expect(allocator.statistics.liveBytes == 0 && allocator.statistics.totalAllocations == 1)
    }

    @Test("the mapping is gone from /proc/self/maps after free")
    func unmappedAfterFree() throws {
        let allocator = MmapAllocator(pageSize: .base)
        // An odd length (3 MiB and 5 pages): another test may map the same addresses right away,
        // but not with this length, so only our own mapping is looked for.
        let length = 3 * MiB + 5 * 4096
        let buffer = try allocator.allocate(UInt64.self, count: length / 8)
        let start = UInt(bitPattern: buffer.unsafeBaseAddress)
        #expect(ProcessState.capture(hugePages: false).covers(start, byteCount: length))
        buffer.free()
        let now = ProcessState.readMappings().filter { $0.start == start && $0.byteCount == length }
        #expect(now.isEmpty == true)
    }

    @Test("alignment stricter than a page is met by over-mapping and trimming", arguments: [64 << 10, 1 << 20, 32 << 20])
    func alignment(alignment: Int) throws {
        let allocator = MmapAllocator(pageSize: .base)
        let buffer = try allocator.allocate(Double.self, count: 1000, alignment: alignment)
        #expect(Int(bitPattern: buffer.unsafeBaseAddress) % alignment == 0)
        #expect(buffer.backing.alignment >= alignment)
        #expect(allocator.mmapStatistics.mappedBytes == 8192)
    }

    @Test(
        "THP: a 2 MiB-aligned region advised MADV_HUGEPAGE, backed by huge pages once populated",
        .enabled(if: PageSize.TransparentHugePages.read().isUsable, "THP is disabled on this kernel"))
    func transparentHugePages() throws {
        let allocator = MmapAllocator(pageSize: .transparentHuge, populate: .kernel)
        let buffer = try allocator.allocate(UInt8.self, count: 64 * MiB)
        #expect(Int(bitPattern: buffer.unsafeBaseAddress) % (2 * MiB) == 0)
        let backing = buffer.backing
        #expect(backing.mapping?.obtainedPageSize == .transparentHuge)
        #expect(backing.mapping?.populate == .kernel)
        let report = buffer.pageSizeReport()
        #expect(report.regions.allSatisfy { $0.advisedHuge })
        #expect(report.transparentHugeBytes > 0, "AnonHugePages is 0: \(report)")
        #expect(report.obtainedPageSize == .transparentHuge)
        #expect(backing.mapping?.transparentHugeBytes ?? 0 > 0)
        // Honest: what backing measured at allocation matches what smaps says now.
        #expect(backing.mapping?.transparentHugeBytes == report.transparentHugeBytes)
    }

    @Test("a 16 GiB lazy mapping works and frees without touching memory")
    func hugeLazyMapping() throws {
        let allocator = MmapAllocator(pageSize: .base, populate: .none)
        var buffer = try allocator.allocate(UInt8.self, count: 16 * GiB)
        #expect(buffer.count == 16 * GiB)
        buffer[0] = 1
        buffer[16 * GiB - 1] = 2
        let report = buffer.pageSizeReport()
        #expect(report.residentBytes <= 1 * MiB)
        #expect(allocator.mmapStatistics.mappedBytes == 16 * GiB)
        buffer.free()
        #expect(allocator.mmapStatistics.mappedBytes == 0)
    }

    @Test("more than the machine can commit is outOfMemory, not a crash")
    func mmapOutOfMemory() {
        let allocator = MmapAllocator(pageSize: .base)
        #expect(throws: MmapError.outOfMemory(byteCount: 100 << 40, backend: "mmap (base 4 KiB)", errno: .noMemory)) {
            _ = try allocator.allocate(UInt8.self, count: 100 << 40)
        }
        #expect(allocator.statistics == .zero)
        #expect(allocator.mmapStatistics.mappedBytes == 0)
    }

    @Test("kernel and parallel population fault every page in", arguments: [PopulateMode.kernel, .parallel(threads: 2)])
    func populate(mode: PopulateMode) throws {
        let allocator = MmapAllocator(pageSize: .base, populate: mode)
        let buffer = try allocator.allocate(UInt8.self, count: 32 * MiB)
        #expect(buffer.pageSizeReport().residentBytes == 32 * MiB)
        #expect(buffer.backing.mapping?.populate == mode)
    }

    @Test(
        "mlock: locked pages are reported by backing and by smaps",
        .enabled(if: isRoot || Kernel.memlockLimit() >= 1 * MiB, "RLIMIT_MEMLOCK is below 1 MiB"))
    func lock() throws {
        let allocator = MmapAllocator(pageSize: .base, lock: true)
        let buffer = try allocator.allocate(UInt8.self, count: 1 * MiB)
        #expect(buffer.backing.mapping?.isLocked == true)
        #expect(buffer.pageSizeReport().lockedBytes == 1 * MiB)
    }

    @Test("advice: don't-need discards contents (reads zero), will-need and free are accepted")
    func advice() throws {
        let allocator = MmapAllocator(pageSize: .base)
        var buffer = try allocator.allocate(UInt32.self, count: 4 * 4096)
        buffer.fill(with: 0xA5A5_A5A5)
        try buffer.advise(.willNeed)
        // Only whole pages inside the range: elements 1024..<3072 cover bytes 4096..<12288.
        try buffer.advise(.dontNeed, elements: 1000..<3072)
        #expect(buffer[1000] == 0xA5A5_A5A5)  // page 0 is only partly inside: kept
        #expect(buffer[1024] == 0 && buffer[3071] == 0)
        #expect(buffer[3072] == 0xA5A5_A5A5)
        try buffer.advise(.free, elements: 3072..<4096)
        try buffer.advise(.sequential)
        #expect(throws: MmapError.self) { try buffer.advise(.willNeed, elements: 0..<(4 * 4096 + 1)) }
    }

    @Test("advice on memory the allocator does not own page-wise is refused")
    func adviceOnMallocMemory() throws {
        var buffer = try SystemMemoryAllocator().allocate(UInt8.self, count: 1 * MiB)
        let error = #expect(throws: MmapError.self) { try buffer.advise(.dontNeed) }
        #expect(error?.description.contains("advise needs a buffer from MmapAllocator") == true)
    }

    @Test("the reuse pool hands freed mappings out again, zeroed on request, within its byte bound")
    func reusePool() throws {
        // An odd size (4 MiB and 3 pages): the /proc/self/maps check at the end looks for exactly
        // this range, which a test mapping beside this one in the same process does not produce.
        let size = 4 * MiB + 3 * 4096
        let allocator = MmapAllocator(pageSize: .base, reusePoolBytes: 9 * MiB)
        var first = try allocator.allocate(UInt8.self, count: size)
        first.fill(with: 0xEE)
        let address = first.unsafeBaseAddress
        first.free()
        #expect(allocator.mmapStatistics.pooledBytes == size)
        let second = try allocator.allocate(UInt8.self, count: size)
        #expect(second.unsafeBaseAddress == address)
        #expect(second.backing.mapping?.isReused == true)
        #expect(second[0] == 0xEE)  // not zeroed unless asked
        second.free()
        let third = try allocator.allocate(UInt8.self, count: size, zeroed: true)
        #expect(third.backing.mapping?.isReused == true && third[0] == 0 && third[size - 1] == 0)
        let stats = allocator.mmapStatistics
        #expect(stats.poolHits == 2 && stats.poolMisses == 1)

        // Beyond the bound, freed mappings are unmapped.
        let big = try allocator.allocate(UInt8.self, count: 16 * MiB)
        big.free()
        #expect(allocator.mmapStatistics.pooledBytes == 0)
        third.free()
        #expect(allocator.mmapStatistics.pooledBytes == size)
        allocator.drainPool()
        #expect(allocator.mmapStatistics.pooledBytes == 0)
        #expect(!ProcessState.readMappings().contains { $0.start == UInt(bitPattern: address) && $0.byteCount == size })
    }

    @Test("a buffer reused from the pool reports the same alignment as a fresh one")
    func reusedBufferAlignment() throws {
        let allocator = MmapAllocator(pageSize: .base, reusePoolBytes: 64 * MiB)
        let fresh = try allocator.allocate(UInt8.self, count: MiB)
        let freshAlignment = fresh.backing.alignment
        let address = fresh.unsafeBaseAddress
        fresh.free()
        let reused = try allocator.allocate(UInt8.self, count: MiB)
        try #require(
            reused.backing.mapping?.isReused == true && reused.unsafeBaseAddress == address,
            "the pool did not hand the mapping out again")
        print("fresh buffer alignment \(freshAlignment), the same mapping reused: alignment \(reused.backing.alignment)")
        #expect(reused.backing.alignment == freshAlignment)
    }

    @Test("a THP request that cannot be served falls back to base pages, counted and reported")
    func fallbackReported() throws {
        let events = Locked<[MmapAllocator.FallbackEvent]>([])
        let allocator = MmapAllocator(
            pageSize: .transparentHuge, fallback: .anySmaller, onFallback: { event in events.withLock { $0.append(event) } })
        let plan = KernelFaultPlan.failing(.madvise, with: Errno(rawValue: EINVAL), detailContains: "advice=14")
        let buffer = try Kernel.withFaults(plan) { try allocator.allocate(UInt8.self, count: 4 * MiB) }
        let backing = buffer.backing
        #expect(backing.mapping?.requestedPageSize == .transparentHuge)
        #expect(backing.mapping?.obtainedPageSize == .base)
        #expect(backing.mapping?.fallbackReason != nil)
        #expect(backing.mapping?.fallbackReason?.contains("MADV_HUGEPAGE") == true)
        #expect(allocator.mmapStatistics.fallbacks == 1)
        #expect(allocator.mmapStatistics.obtainedPageSizes == [.base: 1])
        let event = try #require(events.withLock { $0.first })
        #expect(event.requested == .transparentHuge && event.obtained == .base && event.byteCount == 4 * MiB)
        #expect(plan.bytesStillMapped == 4 * MiB)  // the THP attempt was unmapped; the base one is live
    }

    @Test("strict THP with THP unavailable is an unsupportedPageSize error")
    func strictTHPFailure() {
        let allocator = MmapAllocator(pageSize: .transparentHuge, fallback: .strict)
        let plan = KernelFaultPlan.failing(.madvise, with: Errno(rawValue: EINVAL), detailContains: "advice=14")
        let error = #expect(throws: MmapError.self) {
            try Kernel.withFaults(plan) { _ = try allocator.allocate(UInt8.self, count: 4 * MiB) }
        }
        if case .unsupportedPageSize(.transparentHuge, _) = error {} else { Issue.record("got \(String(describing: error))") }
        #expect(plan.bytesStillMapped == 0)
        #expect(allocator.statistics == .zero)
    }

    @Test("empty buffers map nothing")
    func empty() throws {
        let allocator = MmapAllocator(pageSize: .huge1GiB)
        let buffer = try allocator.allocate(Double.self, count: 0)
        #expect(buffer.isEmpty == true)
        #expect(allocator.mmapStatistics.mappedBytes == 0)
    }
}
