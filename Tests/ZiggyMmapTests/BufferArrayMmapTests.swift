import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// The address of the first element (to tell shared storage from a copy).
private func address<T>(_ array: BufferArray<T>) -> UInt {
    array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
}

@Suite("BufferArray over mappings")
struct BufferArrayMmapTests {
    @Test("a copy on write of a 2 MiB-page array comes from the same MmapAllocator: same backend and page size obtained")
    func hugePageCopyOnWrite() throws {
        // hugetlb pages may be free (another test reserved them): take the pool lock, as every
        // test that may map them does, so no test counting free pages sees these.
        try withHugeTLBPool { try hugePageCopyOnWriteLocked() }
    }

    func hugePageCopyOnWriteLocked() throws {
        let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
        let count = 4 * MiB / 8
        let original = try BufferArray(allocator: allocator, count: count, repeating: 2.0)
        let obtained = original.backing.mapping?.obtainedPageSize
        print("BufferArray over MmapAllocator(.huge2MiB, .anySmaller): obtained \(obtained.printed)")
        #expect(original.backing.backend == .mmap)
        #expect(original.backing.mapping?.requestedPageSize == .huge2MiB)
        #expect(original.withBuffer { $0.pageSizeReport().obtainedPageSize } == obtained, "the report must match smaps")
        var copy = original
        copy[count - 1] = -1
        #expect(address(copy) != address(original))
        #expect(copy.backing.backend == .mmap)
        #expect(copy.backing.mapping?.obtainedPageSize == obtained, "the copy must be the same kind of memory")
        #expect(copy.backing.mapping?.requestedPageSize == .huge2MiB)
        #expect(copy.withBuffer { $0.pageSizeReport().obtainedPageSize } == obtained)
        #expect(original[count - 1] == 2 && copy[count - 1] == -1)
        #expect(allocator.statistics.liveAllocations == 2)
    }

    @Test("mapped arrays give their mappings back when the last copy dies")
    func mappingsReleased() throws {
        let allocator = MmapAllocator(pageSize: .base)
        do {
            let original = try BufferArray(allocator: allocator, copying: Array(0..<10_000) as [Int])
            var copies = [original, original, original]
            for index in copies.indices { copies[index][index] = -1 }
            #expect(allocator.statistics.liveAllocations == 4)
            #expect(original.elementsEqual(0..<10_000))
        }
        #expect(allocator.statistics.liveAllocations == 0 && allocator.mmapStatistics.mappedBytes == 0)
    }

    @Test("a NUMA array's copy keeps the policy the kernel reports back")
    func numaCopyOnWrite() throws {
        let node = try #require(NumaTopology.current().nodesWithMemory.first)
        let allocator = try NumaAllocator(policy: .bind([node]), populate: .kernel)
        let original = try BufferArray(allocator: allocator, count: 1 << 20, repeating: UInt8(1))
        var copy = original
        copy[0] = 0
        #expect(original.backing.backend == .numa && copy.backing.backend == .numa)
        #expect(copy.backing.mapping?.numaPolicy == .bind([node]))
        let placement = try copy.withBuffer { buffer throws(MmapError) in try buffer.placement() }
        #expect(placement.pagesPerNode.keys.allSatisfy { $0 == node }, "\(placement)")
    }

    @Test("a debug-wrapped mmap array: the copy is tracked and mapped; no leak after both die")
    func debugOverMmap() throws {
        let mmap = MmapAllocator(pageSize: .transparentHuge, fallback: .anySmaller)
        let debug = DebugMemoryAllocator("mapped arrays", wrapping: mmap, onLeak: .throw)
        do {
            let original = try BufferArray(try debug.allocate(Double.self, count: 1 << 18, zeroed: true), allocator: debug)
            var copy = original
            copy[0] = 1
            #expect(copy.backing.isDebugTracked && copy.backing.backend == .mmap)
            #expect(debug.leakReport.leaks.count == 2)
        }
        #expect(debug.leakReport.leaks.isEmpty && mmap.statistics.liveAllocations == 0)
        try debug.finish()
    }

    @Test(
        "with reserved hugetlb pages, a copy on write gets hugetlb pages too; with the pool exhausted it falls back to the C heap and says so, and makeUnique throws",
        .enabled(if: isRoot, "needs root to reserve huge pages"),
        .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "this kernel has no 2 MiB hugetlb pool"))
    func hugetlbCopyOnWrite() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 4)
            try #require(reservation.granted == 4, "the kernel granted \(reservation.granted) of 4 pages")
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
            let original = try BufferArray(allocator: allocator, count: MiB / 8, repeating: 1.0)
            print("BufferArray over reserved 2 MiB pages: obtained \((original.backing.mapping?.obtainedPageSize).printed)")
            #expect(original.backing.mapping?.obtainedPageSize == .huge2MiB)
            var copy = original
            copy[0] = -1
            #expect(copy.backing.mapping?.obtainedPageSize == .huge2MiB, "\(copy.backing)")
            #expect(copy.withBuffer { $0.pageSizeReport().kernelPageSizes } == [2 * MiB])

            // Strict 2 MiB with every free page taken: the copy cannot come from the allocator.
            let strict = MmapAllocator(pageSize: .huge2MiB)
            let first = try BufferArray(allocator: strict, count: MiB / 8, repeating: 2.0)
            let available = HugePageReservation.Pool.read(.huge2MiB)?.available ?? 0
            let hog = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            let held = available > 0 ? try hog.allocate(UInt8.self, count: available * 2 * MiB) : UnmanagedBuffer<UInt8>()
            defer { _ = held.count }
            var second = first
            #expect(throws: MmapError.self) { try second.makeUnique() }
            #expect(address(second) == address(first), "a failed makeUnique must leave the array as it was")
            second[0] = -2
            #expect(second.backing.backend == .system, "the fallback copy must say it is on the C heap: \(second.backing)")
            #expect(first[0] == 2 && second[0] == -2 && second.dropFirst().allSatisfy { $0 == 2 })
        }
    }
}
