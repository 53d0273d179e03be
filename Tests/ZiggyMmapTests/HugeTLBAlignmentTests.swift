import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

// Part of the suite "MmapAllocator: hugetlb pages" (root, a 2 MiB pool): an alignment above the
// page size is met by reserving address space, not pages — a 1-byte request aligned to 64 MiB or
// 1 GiB needs one 2 MiB page, and with one page free it gets it, strict or with fallback.
extension HugeTLBTests {
    /// `body` with exactly one 2 MiB page available to this process, under the hugetlb pool lock:
    /// 4 pages are reserved and all but one of the available pages are held by a strict mapping.
    /// The reservation and the held pages are given back when it returns.
    func withOneHugePage(_ body: (HugePageReservation.Pool) throws -> Void) throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 4)
            defer { _ = reservation.granted }
            let available = try #require(HugePageReservation.Pool.read(.huge2MiB)).available
            try #require(available >= 1)
            let hog = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            let held = available > 1 ? try hog.allocate(UInt8.self, count: (available - 1) * 2 * MiB) : UnmanagedBuffer<UInt8>()
            defer { _ = held.count }
            let pool = try #require(HugePageReservation.Pool.read(.huge2MiB))
            try #require(pool.available == 1, "pool: \(pool)")
            try body(pool)
        }
    }

    @Test(
        "a 1-byte 2 MiB-page request aligned to 64 MiB needs one page and succeeds with pages free",
        arguments: [64 * MiB, GiB])
    func alignedHugeRequestNeedsOnePage(alignment: Int) throws {
        try withOneHugePage { pool in
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .strict)
            do throws(MmapError) {
                let buffer = try allocator.allocate(UInt8.self, count: 1, alignment: alignment)
                #expect(buffer.backing.mapping?.obtainedPageSize == .huge2MiB)
                #expect(Int(bitPattern: buffer.unsafeBaseAddress) % alignment == 0)
            } catch {
                Issue.record("with \(pool.available) free 2 MiB pages, 1 B aligned to \(alignment) failed: \(error)")
                if case .hugePagesUnavailable(_, let needed, _) = error {
                    print(
                        "the error says it needs \(needed) page(s); it maps \(alignment / (2 * MiB)) (alignment slack on hugetlb)")
                }
            }
        }
    }

    @Test("with .anySmaller, an aligned 2 MiB-page request gets 2 MiB pages (no silent drop, no wrong reason)")
    func alignedHugeRequestDoesNotFallBack() throws {
        try withOneHugePage { pool in
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
            let buffer = try allocator.allocate(UInt8.self, count: 1, alignment: 64 * MiB)
            let backing = buffer.backing
            print(
                ".anySmaller, \(pool.available) pages free: obtained \((backing.mapping?.obtainedPageSize).printed), reason: \(backing.mapping?.fallbackReason ?? "none")"
            )
            #expect(
                backing.mapping?.obtainedPageSize == .huge2MiB,
                "fell back with reason: \(backing.mapping?.fallbackReason ?? "none")")
        }
    }
}
