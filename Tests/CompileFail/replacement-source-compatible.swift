// What 0.x code keeps compiling with `import ZiggyMmap` in 1.0, and the spellings that replace the
// deprecated forwarders 1.0 removed (break-deprecated-removed.swift): without a single warning.
//
// EXPECT-COMPILES
import ZiggyMmap

func old() throws {
    let allocator = MmapAllocator(pageSize: .base, fallback: .strict, populate: .none, lock: false, reusePoolBytes: 0)
    let buffer = try allocator.allocate(Double.self, count: 16)
    let backing = buffer.backing
    // backing.obtainedPageSize, .requestedPageSize, .fellBack → the mapping details.
    _ = backing.mapping?.obtainedPageSize == .base && backing.mapping?.requestedPageSize == .base
    _ = backing.mapping?.fallbackReason == nil
    _ = backing.backend == .mmap
    // buffer.baseAddress → unsafeBaseAddress.
    _ = unsafe buffer.unsafeBaseAddress
    // allocateBytes(AllocationRequest(byteCount:)) → the typed allocate of bytes.
    let system = SystemMemoryAllocator()
    let bytes = try system.allocate(UInt8.self, count: 64, alignment: 16)
    _ = bytes.count
    // AllocationError.errnoName(12) → Errno's description.
    _ = Errno(rawValue: 12).description
    // Ctx.allocate(…, deferringTo: &scope) → the scope adopts the context's allocator's buffer.
    let scope = DeferScope()
    _ = unsafe scope.adopt(try Ctx(allocator: system).allocator.allocate(Int.self, count: 2))
    let nodes: NodeSet = [0]
    _ = NumaPolicy.bind(nodes)
    _ = PopulateMode.parallel(threads: 2)
}
