// Intended break (CHANGELOG 0.2.0): custom allocators implement allocateRaw(_:) returning a
// RawAllocation; an allocator that only has the 0.1.0 allocateBytes(_:) no longer conforms
// (replacement: replacement-allocateRaw.swift). Since 1.0 the implementor's API is SPI, imported
// with `@_spi(AllocatorImplementation)` as every custom allocator does.
//
// EXPECT-ERROR: error: .*does not conform to protocol 'UnmanagedMemoryAllocator'
@_spi(AllocatorImplementation) import ZiggyAlloc

struct Old: UnmanagedMemoryAllocator {
    let base = SystemMemoryAllocator()
    var supportsIndividualDeallocation: Bool { true }
    var statistics: AllocationStatistics { base.statistics }
    func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        try base.allocate(UInt8.self, count: request.byteCount)
    }
}
