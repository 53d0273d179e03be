import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyMmap

/// The walk Docs/Architecture.md describes: one mmap buffer's life — allocate, first use, free —
/// and nothing else. `Tests/Architecture/count-walk-files` runs this test alone under code coverage
/// and counts the source files it executes (the architecture's promise: at most 8).
@Suite("Architecture walk")
struct ArchitectureWalkTests {
    @Test("one mmap buffer's life: allocate, first use, free")
    func oneBuffer() throws {
        let allocator = MmapAllocator(pageSize: .base)
        var samples = try allocator.allocate(Double.self, count: 1 << 16)
        samples[0] = 1.5
        #expect(samples[0] == 1.5)
        samples.free()
    }
}
