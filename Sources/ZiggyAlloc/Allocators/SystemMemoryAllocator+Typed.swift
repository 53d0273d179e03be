// The typed calls of the protocol, restated on the concrete class and inlined: the protocol
// extension's generic `allocate` is not inlinable (it reaches the SPI primitive `allocateRaw`)
// and would cost a call and a witness-table dispatch per allocation. These take the same steps
// (`AllocationLayout`'s validation, the empty-request answer) and call the heap directly.
extension SystemMemoryAllocator {
    /// Allocates `count` elements of `type`, zeroed when asked, aligned to `alignment` (nil: the
    /// element's own; else a power of two from the element's alignment to 1 GiB): the protocol's
    /// typed `allocate`, dispatched statically. Throws for a negative count, an overflowing size, a
    /// bad alignment, or no memory.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, alignment: Int? = nil, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let layout = try AllocationLayout(T.self, count: count, alignment: alignment)
        if layout.byteCount == 0 { return UnmanagedBuffer(_emptyAlignedTo: layout.alignment) }
        let (memory, deallocator) = try _heapAllocate(layout.byteCount, alignment: layout.alignment, zeroed: zeroed)
        return UnmanagedBuffer(_base: memory, count: count, deallocator: deallocator)
    }
}
