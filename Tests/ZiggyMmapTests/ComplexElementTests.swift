import ComplexModule
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

/// `Complex<Double>` (swift-numerics, not BitwiseCopyable) from every ZiggyMmap allocator.
@Suite("Complex elements from the mapping allocators", .serialized)
struct ComplexElementTests {
    static let values = (0..<4096).map { Complex<Double>(Double($0), 0.5) }

    func check(_ buffer: borrowing UnmanagedBuffer<Complex<Double>>, _ what: String) {
        #expect(buffer.count == Self.values.count, "\(what)")
        #expect(buffer.toArray() == Self.values, "\(what)")
    }

    @Test("MmapAllocator base pages and THP, NumaAllocator, a team's blocked buffer, the reuse pool")
    func mappingAllocators() throws {
        for allocator in [
            MmapAllocator(pageSize: .base), MmapAllocator(pageSize: .transparentHuge), MmapAllocator(reusePoolBytes: 1 << 20),
        ] {
            check(try allocator.allocate(copying: Self.values), "\(allocator)")
            var zeroed = try allocator.allocate(Complex<Double>.self, count: 64, zeroed: true)
            #expect(zeroed.toArray() == Array(repeating: .zero, count: 64))
            zeroed[63] = .i
            #expect(zeroed[63].imaginary == 1)
        }
        let numa = try NumaAllocator(policy: .bind([NumaTopology.current().nodesWithAllowedCPUs.first ?? 0]))
        check(try numa.allocate(copying: Self.values.span), "NumaAllocator")
        let team = try Team(threads: 1)
        var blocked = try team.allocate(Complex<Double>.self, count: Self.values.count)
        for i in blocked.indices { blocked[i] = Self.values[i] }
        check(blocked, "Team.allocate")
    }

    @Test("2 MiB hugetlb pages hold Complex<Double> (skipped without a pool)")
    func hugeTLB() throws {
        guard HugePageReservation.Pool.read(.huge2MiB) != nil else {
            print("skipped: this kernel has no 2 MiB hugetlb pool")
            return
        }
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 1)
            guard reservation.granted == 1 else {
                print("skipped: the kernel granted no 2 MiB page (not root, or no memory)")
                return
            }
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            let buffer = try allocator.allocate(copying: Self.values)
            #expect(buffer.backing.mapping?.obtainedPageSize == .huge2MiB)
            check(buffer, "hugetlb")
        }
    }
}
