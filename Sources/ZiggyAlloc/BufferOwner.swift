/// The object that frees a buffer's memory and describes it, for allocators whose buffers need
/// per-buffer state (mappings, debug records, user-defined allocators).
///
/// Subclass it to write an allocator whose memory is released by something other than `free`:
/// a buffer made with ``BufferDeallocator/owner(_:)`` keeps its owner alive and calls
/// ``release(_:byteCount:)`` exactly once, when the buffer is freed, from whichever thread frees it.
/// Subclasses must therefore be thread-safe.
open class BufferOwner: @unchecked Sendable {
    public init() {}

    /// Frees (or returns to a pool) the memory at `base`. Called exactly once per buffer.
    open func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {}

    /// The owner this one wraps, if it forwards to another (a debug record wraps the owner of the
    /// allocator it tracks); lets backends find their own records through wrappers.
    open var wrappedOwner: BufferOwner? { nil }

    /// What the memory at `base` is.
    open func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        BufferBacking(backend: .custom, customName: String(describing: type(of: self)), alignment: 1,
                      reservedByteCount: byteCount)
    }
}
