// Intended break (CHANGELOG 1.0.0): the symbols 0.2 deprecated are gone — UnmanagedBuffer.baseAddress
// (unsafeBaseAddress), UnmanagedMemoryAllocator.allocateBytes(_:) (the typed allocate),
// AllocationError.errnoName(_:) (Errno(rawValue:)), Ctx.allocate(…, deferringTo: &scope) (the scope
// borrowed) and BufferBacking's 0.1.0 page-size initializer and forwarders (backing.mapping).
// Replacements: replacement-source-compatible.swift.
//
// EXPECT-ERROR: error: .*(has no member 'baseAddress'|has no member 'allocateBytes'|has no member 'errnoName'|has no member 'obtainedPageSize'|'&' used with non-inout argument|extra arguments)
import ZiggyMmap

func old() throws {
    let system = SystemMemoryAllocator()
    let buffer = try system.allocate(Double.self, count: 16)
    _ = unsafe buffer.baseAddress
    _ = buffer.backing.obtainedPageSize
    _ = AllocationError.errnoName(12)
    var scope = DeferScope()
    _ = try Ctx(allocator: system).allocate(Int.self, count: 2, deferringTo: &scope)
}
