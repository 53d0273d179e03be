import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// Resizing hugetlb buffers changes the kernel's pools, so these run one at a time under the
/// hugetlb test lock, with reservations that give their pages back.
@Suite(
    "Resize: hugetlb buffers", .serialized,
    .enabled(if: isRoot, "needs root to reserve huge pages through /proc/sys/vm/nr_hugepages"),
    .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "this kernel has no 2 MiB hugetlb pool"))
struct MmapResizeHugeTLBTests {
    @Test("2 MiB growth is a new mapping plus a copy (moved, still 2 MiB pages); shrinking unmaps tail pages in place")
    func growAndShrink() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 8)
            try #require(reservation.granted == 8, "the kernel granted \(reservation.granted) of 8 pages")
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            let plan = KernelFaultPlan()
            try Kernel.withFaults(plan) { () throws(MmapError) in
                var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
                fillPattern(&buffer)
                let freeBefore = HugePageReservation.Pool.read(.huge2MiB)?.free ?? 0
                let before = address(buffer)
                let grown = try allocator.resize(&buffer, to: 2 * 1024 * 1024)
                #expect(grown == .moved)
                let address1 = address(buffer)
                #expect(address1 != before)
                #expect(buffer.backing.mapping?.obtainedPageSize == .huge2MiB)
                #expect(buffer.pageSizeReport().hugetlbBytes == 8 * MiB)
                var intact = holdsPattern(buffer, count: 1024 * 1024)
                #expect(intact)
                #expect(HugePageReservation.Pool.read(.huge2MiB)?.free == freeBefore - 2)
                fillPattern(&buffer)
                let grownAddress = address(buffer)
                let within = try allocator.resize(&buffer, to: 2 * 1024 * 1024 - 1000)
                #expect(within == .inPlace)
                #expect(buffer.backing.reservedByteCount == 8 * MiB)
                let shrunk = try allocator.resize(&buffer, to: 300_000)
                #expect(shrunk == .inPlace)
                let address2 = address(buffer)
                #expect(address2 == grownAddress)
                #expect(buffer.backing.reservedByteCount == 2 * MiB)
                #expect(HugePageReservation.Pool.read(.huge2MiB)?.free == freeBefore + 1)
                intact = holdsPattern(buffer, count: 300_000)
                #expect(intact)
                #expect(allocator.mmapStatistics.mappedBytes == 2 * MiB)
                #expect(allocator.statistics.liveBytes == 1_200_000)
                buffer.free()
            }
            #expect(plan.rangesStillMapped.isEmpty, "left mapped: \(plan.rangesStillMapped)")
            #expect(allocator.mmapStatistics.mappedBytes == 0)
            #expect(allocator.mmapStatistics.obtainedPageSizes[.huge2MiB] == 4)
        }
    }

    @Test("growing past the pool: hugePagesUnavailable saying a resize needs old + new pages; the buffer stays readable")
    func beyondPool() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 3)
            try #require(reservation.granted == 3, "the kernel granted \(reservation.granted) of 3 pages")
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
            fillPattern(&buffer)
            let available = HugePageReservation.Pool.read(.huge2MiB)?.available ?? 0
            let before = address(buffer)
            let stats = allocator.statistics
            let plan = KernelFaultPlan()
            // More than the pool can give, and more than the buffer's 2 pages (a real growth).
            let pages = max(available + 1, 3)
            let error = #expect(throws: MmapError.self) {
                try Kernel.withFaults(plan) { () throws(MmapError) in
                    try allocator.resize(&buffer, to: pages * 2 * MiB / 4)
                }
            }
            guard case .hugePagesUnavailable(.huge2MiB, let needed, let detail)? = error else {
                Issue.record("expected hugePagesUnavailable, got \(String(describing: error))")
                return
            }
            #expect(needed == pages)
            #expect(detail.contains("old and the new pages at once"))
            #expect(detail.contains("nr_hugepages"))
            #expect(plan.calls.filter { $0.call == .mmap }.isEmpty, "nothing may be mapped before the check")
            let address3 = address(buffer)
            #expect(address3 == before && buffer.count == 1024 * 1024)
            let intact = holdsPattern(buffer, count: 1024 * 1024)
            #expect(intact)
            #expect(allocator.statistics == stats)
        }
    }
}
