// What 0.1.0 code keeps compiling with `import ZiggyMmap` (deprecated forwarders included, so
// warnings are expected here and this snippet checks only that it compiles).
//
// EXPECT-WARNING: deprecated
import ZiggyMmap

func old() throws {
    let allocator = MmapAllocator(pageSize: .base, fallback: .strict, populate: .none, lock: false, reusePoolBytes: 0)
    let buffer = try allocator.allocate(Double.self, count: 16)
    let backing = buffer.backing
    _ = backing.mapping?.obtainedPageSize == .base && backing.mapping?.requestedPageSize == .base && backing.mapping?.fallbackReason == nil
    _ = backing.backend == .mmap
    _ = unsafe buffer.baseAddress
    let system = SystemMemoryAllocator()
    let bytes = try system.allocateBytes(AllocationRequest(byteCount: 64, site: CallSite()))
    _ = bytes.count
    _ = AllocationError.errnoName(12)
    _ = BufferBacking(backend: .custom, alignment: 16, reservedByteCount: 64, requestedPageSize: .base, obtainedPageSize: .base)
    var scope = DeferScope()
    _ = try Ctx(allocator: system).allocate(Int.self, count: 2, deferringTo: &scope)
    let nodes: NodeSet = [0]
    _ = NumaPolicy.bind(nodes)
    _ = PopulateMode.parallel(threads: 2)
}
