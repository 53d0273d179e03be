// The replacement for break-allocateBytes-requirement.swift: one raw primitive; zero-size requests,
// validation and typing come from the protocol extension. (An allocator hands out raw memory,
// so its primitive is `unsafe`; its users are not.) The implementor's API is SPI since 1.0:
// `@_spi(AllocatorImplementation) import ZiggyAlloc` (see spi-required-raw-allocation.swift).
//
// EXPECT-COMPILES
@_spi(AllocatorImplementation) import ZiggyAlloc

struct Forwarding: UnmanagedMemoryAllocator {
    let base = SystemMemoryAllocator()
    var supportsIndividualDeallocation: Bool { true }
    var statistics: AllocationStatistics { base.statistics }
    func allocateRaw(_ request: AllocationRequest) throws(AllocationError) -> RawAllocation {
        try unsafe base.allocateRaw(request)
    }
}

func use() throws -> Int {
    let buffer = try Forwarding().allocate(Double.self, count: 8)
    return buffer.count
}
