/// The object that frees a buffer's memory and describes it, for allocators whose buffers need
/// per-buffer state (mappings, debug records, user-defined allocators).
///
/// Subclass it to write an allocator whose memory is released by something other than `free`:
/// a buffer made from ``RawAllocation/init(base:byteCount:owner:)`` keeps its owner alive and calls
/// ``release(_:byteCount:)`` exactly once, when the buffer is freed, from whichever thread frees it.
/// Subclasses must therefore be thread-safe. Resizing is the allocator's business
/// (``UnmanagedMemoryAllocator/resizeRaw(_:to:)``); an owner only says when its memory must not be
/// resized at all (``resizeRefusal``).
@_spi(AllocatorImplementation)
open class BufferOwner: @unchecked Sendable {
    public init() {}

    /// Frees (or returns to a pool) the memory at `base`. Called exactly once per buffer.
    open func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {}

    /// Why a buffer this owner frees must not be resized — its memory stands for something a copy
    /// would not be, such as a mapped file — phrased to end an error message; nil (the default)
    /// when resizing may move its contents to new memory. Read by
    /// ``UnmanagedMemoryAllocator/resize(_:to:fileID:line:function:)`` before anything changes.
    open var resizeRefusal: String? { nil }

    /// The owner this one wraps, if it forwards to another (a debug record wraps the owner of the
    /// allocator it tracks); lets backends find their own records through wrappers.
    open var wrappedOwner: BufferOwner? { nil }

    /// What the memory at `base` is.
    open func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        BufferBacking(
            backend: BufferBacking.Backend(String(describing: type(of: self))), alignment: 1,
            reservedByteCount: byteCount)
    }
}
