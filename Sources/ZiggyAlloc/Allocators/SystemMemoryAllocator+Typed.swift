// The typed calls of the protocol, restated on the concrete class: the protocol extension's
// generic `allocate` reaches `allocateRaw` through the protocol witness table (the optimizer does
// not devirtualize it for a `~Copyable`-constrained extension), which made a 64-byte
// allocate + free 12 ns instead of 7 (glibc's malloc + free: 5). These call it directly; the
// validation and the empty-request answer are the protocol's own (`_allocate`'s steps).
extension SystemMemoryAllocator {
    /// Allocates `count` elements of `type`, zeroed when asked: the protocol's typed `allocate`,
    /// dispatched statically. Throws for a negative count, an overflowing size, or no memory.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let request = try AllocationRequest(
            T.self, count: count, alignment: nil, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
        if request.byteCount == 0 { return UnmanagedBuffer(_emptyAlignedTo: request.alignment) }
        return UnmanagedBuffer(_adopting: try _heapAllocate(request), count: request.elementCount)
    }

    /// Allocates `count` elements of `type` aligned to `alignment` (a power of two from the
    /// element's alignment to 1 GiB): the protocol's typed `allocate`, dispatched statically.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, alignment: Int, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let request = try AllocationRequest(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
        if request.byteCount == 0 { return UnmanagedBuffer(_emptyAlignedTo: request.alignment) }
        return UnmanagedBuffer(_adopting: try _heapAllocate(request), count: request.elementCount)
    }
}
