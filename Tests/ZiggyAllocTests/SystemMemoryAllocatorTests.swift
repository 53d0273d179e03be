import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyAlloc

@Suite("SystemMemoryAllocator")
struct SystemMemoryAllocatorTests {
    @Test("zeroed requests read as zero (calloc), also when aligned (posix_memalign + memset)")
    func zeroed() throws {
        let allocator = SystemMemoryAllocator()
        // Dirty the heap first so a fresh block would not be zero by accident.
        for _ in 0..<8 {
            var dirty = try allocator.allocate(UInt8.self, count: 4096)
            dirty.fill(with: 0xFF)
        }
        let plain = try allocator.allocate(UInt64.self, count: 512, zeroed: true)
        #expect(plain.toArray().allSatisfy { $0 == 0 })
        let aligned = try allocator.allocate(UInt64.self, count: 512, alignment: 4096, zeroed: true)
        #expect(aligned.toArray().allSatisfy { $0 == 0 })
        #expect(Int(bitPattern: aligned.unsafeBaseAddress) % 4096 == 0)
    }

    @Test("aligned allocation honours every power of two up to a page", arguments: [16, 32, 64, 128, 4096, 1 << 16])
    func aligned(alignment: Int) throws {
        let allocator = SystemMemoryAllocator()
        for count in [1, 3, 1000] {
            let buffer = try allocator.allocate(Float.self, count: count, alignment: alignment)
            #expect(Int(bitPattern: buffer.unsafeBaseAddress) % alignment == 0)
            #expect(buffer.backing.alignment == alignment)
        }
        #expect(allocator.statistics.liveAllocations == 0)
    }

    @Test("individual deallocation is supported")
    func individualFree() {
        #expect(SystemMemoryAllocator().supportsIndividualDeallocation)
    }

    @Test("peak and cumulative bytes follow the allocation history")
    func peakAndCumulative() throws {
        let allocator = SystemMemoryAllocator()
        do {
            let a = try allocator.allocate(UInt8.self, count: 1000)
            do {
                let b = try allocator.allocate(UInt8.self, count: 500)
                _ = b.count
            }
            let c = try allocator.allocate(UInt8.self, count: 200)
            _ = (a.count, c.count)
            #expect(allocator.statistics.liveBytes == 1200)
        }
        let stats = allocator.statistics
        #expect(stats.peakBytes == 1500)
        #expect(stats.cumulativeBytes == 1700)
        #expect(stats.totalAllocations == 3)
        #expect(stats.liveBytes == 0)
    }

    @Test("buffers may outlive their allocator: freeing them later is safe")
    func outliveAllocator() throws {
        var survivor: UnmanagedBuffer<Int>
        do {
            let allocator = SystemMemoryAllocator()
            survivor = try allocator.allocate(Int.self, count: 8)
        }
        survivor.fill(with: 5)
        #expect(survivor[7] == 5)
        survivor.free()
    }

    @Test("statistics records are released with their allocators")
    func recordsReleased() throws {
        // Other suites create and release allocators concurrently, so follow our own records by id
        // (a count of all records raced with them under the sanitizers).
        var ids: [UInt64] = []
        do {
            let allocators = (0..<50).map { _ in SystemMemoryAllocator() }
            ids = allocators.map(\.statisticsID)
            #expect(ids.allSatisfy(StatisticsRegistry.isRegistered))
        }
        #expect(!ids.contains(where: StatisticsRegistry.isRegistered))
    }
}
