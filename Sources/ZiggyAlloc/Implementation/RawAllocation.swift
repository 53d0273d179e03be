import CZiggyShims

/// An allocation without a buffer: the bytes and the right to free them once. What an
/// allocator's ``UnmanagedMemoryAllocator/allocateRaw(_:)`` returns, and what
/// ``UnmanagedBuffer/unsafeDetach()`` gives up.
///
/// `unsafe`: it is freely copyable, so nothing but the caller's care keeps it from being released
/// twice or used after release.
@unsafe @_spi(AllocatorImplementation)
public struct RawAllocation: BitwiseCopyable, @unchecked Sendable {
    /// The first byte.
    public let base: UnsafeMutableRawPointer
    /// How many bytes, at least one for an allocator's answer.
    public let byteCount: Int
    package let deallocator: BufferDeallocator

    /// `byteCount` bytes at `base` that `owner` frees: the buffer made from them keeps `owner`
    /// alive (one retain) and calls its ``BufferOwner/release(_:byteCount:)`` exactly once.
    public init(base: UnsafeMutableRawPointer, byteCount: Int, owner: BufferOwner) {
        self.init(base: base, byteCount: byteCount, deallocator: .owner(owner))
    }

    package init(base: UnsafeMutableRawPointer, byteCount: Int, deallocator: BufferDeallocator) {
        self.base = base
        self.byteCount = byteCount
        self.deallocator = deallocator
    }

    /// The owner that frees these bytes, when they were made with one.
    public var owner: BufferOwner? { deallocator.ownerObject }

    /// Frees the memory. Call exactly once.
    public func release() { deallocator.release(base, byteCount: byteCount) }

    /// Wraps the allocation back into an owning buffer of `T`; nil when `T` is not trivially
    /// copyable, the size is negative, or the size or the address do not fit `T` (the allocation
    /// is then still the caller's to release). An allocation of no bytes that owns nothing becomes an empty buffer.
    public func buffer<T>(of type: T.Type) -> UnmanagedBuffer<T>? {
        let stride = MemoryLayout<T>.stride
        guard _isPOD(T.self), byteCount >= 0 else { return nil }
        if byteCount == 0 && !deallocator.isOwning { return UnmanagedBuffer(_emptyAlignedTo: MemoryLayout<T>.alignment) }
        guard byteCount % stride == 0, Int(bitPattern: base) % MemoryLayout<T>.alignment == 0 else {
            return nil
        }
        return UnmanagedBuffer(_base: base, count: byteCount / stride, deallocator: deallocator)
    }
}
