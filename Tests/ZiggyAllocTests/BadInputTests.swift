import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// Every malformed request is a typed error naming it, and leaves the allocator's counters as
/// they were.
@Suite("Bad input")
struct BadInputTests {
    struct Vec3: BitwiseCopyable { var x, y, z: Double }

    @Test("negative counts")
    func negativeCount() {
        let system = SystemMemoryAllocator()
        #expect(throws: AllocationError.negativeCount(-1, element: "Int")) { _ = try system.allocate(Int.self, count: -1) }
        #expect(throws: AllocationError.negativeCount(Int.min, element: "Vec3")) {
            _ = try system.allocate(Vec3.self, count: Int.min)
        }
        ScopedAllocator.withScope { arena in
            #expect(throws: AllocationError.negativeCount(-5, element: "Double")) { _ = try arena.allocate(Double.self, count: -5) }
            #expect(arena.statistics == .zero)
        }
        #expect(system.statistics == .zero)
    }

    @Test("count × stride overflow")
    func overflow() {
        let system = SystemMemoryAllocator()
        let error = #expect(throws: AllocationError.self) { _ = try system.allocate(Vec3.self, count: Int.max / 8) }
        #expect(error == .sizeOverflow(count: Int.max / 8, stride: 24, element: "Vec3"))
        #expect(error?.description.contains("overflows") == true)
        #expect(throws: AllocationError.sizeOverflow(count: Int.max, stride: 8, element: "Int")) {
            _ = try system.allocate(Int.self, count: Int.max)
        }
        #expect(system.statistics == .zero)
    }

    @Test("sizes beyond the address space")
    func addressSpace() {
        let system = SystemMemoryAllocator()
        let limit = AllocationRequest.addressSpaceLimit
        #expect(throws: AllocationError.exceedsAddressSpace(byteCount: limit + 8, limit: limit)) {
            _ = try system.allocate(UInt64.self, count: limit / 8 + 1)
        }
        #expect(throws: AllocationError.exceedsAddressSpace(byteCount: Int.max / 24 * 24, limit: limit)) {
            _ = try system.allocate(Vec3.self, count: Int.max / 24)
        }
        #expect(system.statistics == .zero)
    }

    @Test("a size malloc cannot satisfy is outOfMemory, not a crash")
    func outOfMemory() {
        let system = SystemMemoryAllocator()
        // 64 TiB: inside the address space, far beyond this machine's memory and overcommit.
        let error = #expect(throws: AllocationError.self) { _ = try system.allocate(UInt8.self, count: 1 << 46) }
        #expect(error == .outOfMemory(byteCount: 1 << 46, backend: "malloc", errno: .noMemory))
        #expect(system.statistics == .zero)
    }

    @Test("alignments that are not powers of two, below the element's, or above 1 GiB")
    func alignments() {
        let system = SystemMemoryAllocator()
        #expect(throws: AllocationError.invalidAlignment(48, minimum: 8, maximum: 1 << 30, element: "Double")) {
            _ = try system.allocate(Double.self, count: 4, alignment: 48)
        }
        #expect(throws: AllocationError.invalidAlignment(4, minimum: 8, maximum: 1 << 30, element: "Double")) {
            _ = try system.allocate(Double.self, count: 4, alignment: 4)
        }
        #expect(throws: AllocationError.invalidAlignment(0, minimum: 1, maximum: 1 << 30, element: "UInt8")) {
            _ = try system.allocate(UInt8.self, count: 4, alignment: 0)
        }
        #expect(throws: AllocationError.invalidAlignment(-16, minimum: 1, maximum: 1 << 30, element: "UInt8")) {
            _ = try system.allocate(UInt8.self, count: 4, alignment: -16)
        }
        #expect(throws: AllocationError.invalidAlignment(1 << 31, minimum: 8, maximum: 1 << 30, element: "Int")) {
            _ = try system.allocate(Int.self, count: 4, alignment: 1 << 31)
        }
        ScopedAllocator.withScope { arena in
            #expect(throws: AllocationError.self) { _ = try arena.allocate(Int.self, count: 1, alignment: 3) }
            #expect(arena.statistics == .zero)
        }
        #expect(system.statistics == .zero)
    }

    @Test("errors name the request in their message")
    func messages() {
        #expect(
            AllocationError.negativeCount(-3, element: "Float").description
                == "cannot allocate -3 elements of Float: the count is negative")
        #expect(
            AllocationError.invalidAlignment(48, minimum: 8, maximum: 1 << 30, element: "Double").description
                .contains("invalid alignment 48 for Double"))
        #expect(
            AllocationError.outOfMemory(byteCount: 10, backend: "malloc", errno: .noMemory).description
                .contains("ENOMEM"))
    }
}
