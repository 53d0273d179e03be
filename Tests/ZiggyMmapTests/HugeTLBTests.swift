import Glibc
import Testing
@testable import ZiggyMmap

/// Real hugetlb behaviour. These tests change the kernel's huge page pools, so they run one at
/// a time and every reservation gives its pages back when it ends, also when a test fails.
@Suite("MmapAllocator: hugetlb pages", .serialized,
       .enabled(if: isRoot, "needs root to reserve huge pages through /proc/sys/vm/nr_hugepages"),
       .enabled(if: HugePagePool.read(.huge2MiB) != nil, "this kernel has no 2 MiB hugetlb pool"))
struct HugeTLBTests {
    /// Maps every currently available 2 MiB page strictly (so the pool is empty for this process),
    /// runs `body`, then unmaps them.
    func withExhaustedPool<R>(_ body: () throws -> R) throws -> R {
        let available = HugePagePool.read(.huge2MiB)?.available ?? 0
        let hog = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
        let held = available > 0 ? try hog.allocate(UInt8.self, count: available * 2 * MiB) : UnmanagedBuffer<UInt8>()
        defer { _ = held.count }
        #expect(HugePagePool.read(.huge2MiB)?.available == 0)
        return try body()
    }

    @Test("2 MiB pages: backing and smaps agree on KernelPageSize 2 MiB; the pool gets its pages back")
    func twoMiB() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 8)
            try #require(reservation.granted == 8, "the kernel granted \(reservation.granted) of 8 pages")
            let before = try #require(HugePagePool.read(.huge2MiB))
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            var buffer = try allocator.allocate(UInt8.self, count: 6 * MiB + 1)
            #expect(buffer.backing.obtainedPageSize == .huge2MiB)
            #expect(buffer.backing.reservedByteCount == 8 * MiB)
            #expect(Int(bitPattern: buffer.baseAddress) % (2 * MiB) == 0)
            let report = buffer.pageSizeReport()
            #expect(report.kernelPageSizes == [2 * MiB])
            #expect(report.hugetlbBytes == 8 * MiB)
            #expect(report.obtainedPageSize == .huge2MiB)
            #expect(HugePagePool.read(.huge2MiB)?.free == before.free - 4)
            buffer[6 * MiB] = 1
            buffer.free()
            #expect(HugePagePool.read(.huge2MiB)?.free == before.free)
        }
    }

    @Test("strict 2 MiB with an exhausted pool: typed error naming free pages and how to reserve more; nothing mapped")
    func strictExhausted() throws {
        try withHugeTLBPool {
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .strict)
            try withExhaustedPool {
                let plan = KernelFaultPlan()
                let error = #expect(throws: AllocationError.self) {
                    try Kernel.withFaults(plan) { _ = try allocator.allocate(UInt8.self, count: 4 * MiB) }
                }
                guard case .hugePagesUnavailable(.huge2MiB, let needed, let detail)? = error else {
                    Issue.record("expected hugePagesUnavailable, got \(String(describing: error))")
                    return
                }
                #expect(needed == 2)
                #expect(detail.contains("0 free") || detail.contains("free"))
                #expect(detail.contains("/proc/sys/vm/nr_hugepages"))
                #expect(plan.bytesStillMapped == 0)
            }
            #expect(allocator.statistics == .zero)
            #expect(allocator.mmapStatistics.mappedBytes == 0)
        }
    }

    @Test("fallback 2 MiB → THP → base with an exhausted pool serves THP (or base), reported truthfully")
    func fallbackWhenExhausted() throws {
        try withHugeTLBPool {
            let events = Locked<[FallbackEvent]>([])
            let allocator = MmapAllocator(MmapAllocator.Options(
                pageSize: .huge2MiB, fallback: .anySmaller, populate: .kernel,
                onFallback: { event in events.withLock { $0.append(event) } }))
            try withExhaustedPool {
                let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
                let backing = buffer.backing
                let expected: PageSize = TransparentHugePages.read().isUsable ? .transparentHuge : .base
                #expect(backing.obtainedPageSize == expected)
                #expect(backing.requestedPageSize == .huge2MiB)
                #expect(backing.fallbackReason?.contains("hugetlb 2 MiB") == true)
                #expect(buffer.pageSizeReport().kernelPageSizes == [4096])
                #expect(allocator.mmapStatistics.fallbacks == 1)
                #expect(events.withLock { $0.count } == 1)
            }
        }
    }

    @Test("1 GiB pages when the kernel can assemble one: KernelPageSize 1 GiB")
    func oneGiB() throws {
        try withHugeTLBPool {
            guard HugePagePool.read(.huge1GiB) != nil else {
                try Test.cancel("this kernel has no 1 GiB hugetlb pool")
            }
            let reservation = try HugePageReservation(.huge1GiB, count: 1)
            guard reservation.granted == 1 else {
                try Test.cancel("the kernel could not assemble a contiguous 1 GiB page (fragmentation); reserve at boot with hugepagesz=1G hugepages=1")
            }
            let allocator = MmapAllocator(pageSize: .huge1GiB, populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 1 * GiB)
            #expect(buffer.backing.obtainedPageSize == .huge1GiB)
            #expect(Int(bitPattern: buffer.baseAddress) % GiB == 0)
            #expect(buffer.pageSizeReport().kernelPageSizes == [GiB])
            #expect(buffer.pageSizeReport().hugetlbBytes == GiB)
        }
    }

    @Test("strict 1 GiB with no 1 GiB pages is a typed error")
    func oneGiBUnavailable() throws {
        try withHugeTLBPool {
            let available = HugePagePool.read(.huge1GiB)?.available ?? 0
            try #require(available == 0, "a 1 GiB page is free on this host; the error path cannot be shown")
            let allocator = MmapAllocator(pageSize: .huge1GiB)
            let error = #expect(throws: AllocationError.self) { _ = try allocator.allocate(UInt8.self, count: 1) }
            switch error {
            case .hugePagesUnavailable(.huge1GiB, 1, _)?, .unsupportedPageSize(.huge1GiB, _)?: break
            default: Issue.record("got \(String(describing: error))")
            }
        }
    }

    @Test("reservations restore nr_hugepages when they end, also when the test throws")
    func reservationRestores() throws {
        try withHugeTLBPool {
            let path = "/proc/sys/vm/nr_hugepages"
            let before = try #require(Kernel.readInt(path))
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                let reservation = try HugePageReservation(.huge2MiB, count: 3)
                #expect(Kernel.readInt(path) == before + reservation.granted)
                throw Boom()
            }
            #expect(Kernel.readInt(path) == before)
            do {
                let outer = try HugePageReservation(.huge2MiB, count: 2)
                let inner = try HugePageReservation(.huge2MiB, count: 2)
                #expect(Kernel.readInt(path) == before + outer.granted + inner.granted)
                outer.release()
                #expect(Kernel.readInt(path) == before + inner.granted)
            }
            #expect(Kernel.readInt(path) == before)
        }
    }

    @Test("the reuse pool keeps hugetlb mappings: repeated allocate/free does not re-fault")
    func hugePool() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 4)
            try #require(reservation.isComplete == true)
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel, reusePoolBytes: 8 * MiB)
            let free0 = HugePagePool.read(.huge2MiB)!.free
            for round in 0..<5 {
                var buffer = try allocator.allocate(UInt8.self, count: 8 * MiB, zeroed: round == 4)
                if round == 4 { #expect(buffer[8 * MiB - 1] == 0) }
                touchPages(&buffer)
            }
            #expect(allocator.mmapStatistics.poolHits == 4)
            #expect(HugePagePool.read(.huge2MiB)!.free == free0 - 4)  // still held by the pool
            allocator.drainPool()
            #expect(HugePagePool.read(.huge2MiB)!.free == free0)
        }
    }
}
