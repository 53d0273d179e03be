import CZiggyShims
import ZiggyKernel

/// How a buffer gives its memory back: a small trivially-copyable value stored in every
/// ``UnmanagedBuffer`` (which is why a buffer can `discard self` and free exactly once).
///
/// The built-in kinds are dispatched with a switch so the system allocator's free is inlined; an
/// ``owner(_:)`` deallocator holds one retained reference to a ``BufferOwner``. A value of this
/// type is the right to free one allocation: calling ``release(_:byteCount:)`` twice is a double
/// free, which is why only allocators (and `unsafe` code) ever call it.
@frozen
public struct BufferDeallocator: BitwiseCopyable, @unchecked Sendable {
    @usableFromInline
    enum Kind: UInt8, BitwiseCopyable {
        case none, system, arena, owner
    }

    @usableFromInline let kind: Kind
    /// Guaranteed alignment (system and arena kinds).
    @usableFromInline let alignment: Int
    /// The statistics id (system), the arena's statistics record (arena) or the retained owner's
    /// address (owner).
    @usableFromInline let payload: UInt

    @inlinable
    init(kind: Kind, alignment: Int, payload: UInt) {
        self.kind = kind
        self.alignment = alignment
        self.payload = payload
    }

    /// Frees nothing: the memory belongs to someone else (wrapped foreign memory, empty buffers).
    public static var none: BufferDeallocator { BufferDeallocator(kind: .none, alignment: 1, payload: 0) }

    /// `free()` the memory and count it against the statistics recorder `statisticsID`
    /// (``SystemMemoryAllocator`` only: an id is not a capability users may forge).
    @inlinable
    package static func system(statisticsID: UInt64, alignment: Int) -> BufferDeallocator {
        BufferDeallocator(kind: .system, alignment: alignment, payload: UInt(statisticsID))
    }

    /// Memory owned by an arena: the free is only counted; the arena reclaims the bytes.
    ///
    /// The record is referenced directly, not by id: an arena outlives its buffers (its scope's
    /// end traps while one is alive), so the record is valid at every free, and the free skips
    /// the thread cache lookup a system buffer needs.
    @inlinable
    static func arena(record: UnsafeMutablePointer<zg_stats>, alignment: Int) -> BufferDeallocator {
        BufferDeallocator(kind: .arena, alignment: alignment, payload: UInt(bitPattern: record))
    }

    /// Released by `owner`, which the deallocator keeps alive until then (one retain).
    public static func owner(_ owner: BufferOwner) -> BufferDeallocator {
        BufferDeallocator(
            kind: .owner, alignment: 1,
            payload: UInt(bitPattern: Unmanaged.passRetained(owner).toOpaque()))
    }

    /// Whether releasing frees anything (false for wrapped memory).
    @inlinable public var isOwning: Bool { kind != .none }

    /// Gives the memory back. Must be called at most once per allocation.
    @inlinable
    public func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        switch kind {
        case .none:
            return
        case .system:
            Kernel.heapFree(base)
            StatisticsRecorder.recordDeallocation(id: UInt64(payload), byteCount: byteCount)
        case .arena:
            zg_stats_freed(UnsafeMutablePointer(bitPattern: payload)!, Int64(byteCount))
        case .owner:
            releaseOwner(base, byteCount: byteCount)
        }
    }

    @usableFromInline
    func releaseOwner(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        let owner = Unmanaged<BufferOwner>.fromOpaque(UnsafeRawPointer(bitPattern: payload)!).takeRetainedValue()
        owner.release(base, byteCount: byteCount)
    }

    /// Drops the owner's retain without releasing the memory: for an allocator whose
    /// ``UnmanagedMemoryAllocator/resizeRaw(_:to:)`` replaced the owner by a new one (the mapping
    /// now belongs to the new record). Spends the deallocator, like `release`.
    package func forgetOwner() {
        guard kind == .owner else { return }
        Unmanaged<BufferOwner>.fromOpaque(UnsafeRawPointer(bitPattern: payload)!).release()
    }

    /// The owner object, for ``BufferOwner``-based deallocators (no ownership transferred).
    public var ownerObject: BufferOwner? {
        guard kind == .owner else { return nil }
        return Unmanaged<BufferOwner>.fromOpaque(UnsafeRawPointer(bitPattern: payload)!).takeUnretainedValue()
    }

    /// What the memory is, as the allocator that made it reports.
    public func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        switch kind {
        case .none:
            var backing = BufferBacking(
                backend: byteCount == 0 ? .empty : .wrapped, alignment: Self.observedAlignment(base),
                reservedByteCount: byteCount)
            backing.isOwning = false
            return backing
        case .system:
            return BufferBacking(backend: .system, alignment: alignment, reservedByteCount: byteCount)
        case .arena:
            return BufferBacking(backend: .scoped, alignment: alignment, reservedByteCount: byteCount)
        case .owner:
            return ownerObject!.backing(base, byteCount: byteCount)
        }
    }

    /// The largest power of two dividing the address (capped at 4 KiB): what wrapped memory is
    /// known to be aligned to.
    static func observedAlignment(_ base: UnsafeMutableRawPointer) -> Int {
        let bits = UInt(bitPattern: base)
        return bits == 0 ? 4096 : min(4096, 1 << bits.trailingZeroBitCount)
    }
}

/// The object that frees a buffer's memory and describes it, for allocators whose buffers need
/// per-buffer state (mappings, debug records, user-defined allocators).
///
/// Subclass it to write an allocator whose memory is released by something other than `free`:
/// a buffer made with ``BufferDeallocator/owner(_:)`` keeps its owner alive and calls
/// ``release(_:byteCount:)`` exactly once, when the buffer is freed, from whichever thread frees it.
/// Subclasses must therefore be thread-safe. Resizing is the allocator's business
/// (``UnmanagedMemoryAllocator/resizeRaw(_:to:)``); an owner only says when its memory must not be
/// resized at all (``resizeRefusal``).
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
            backend: .custom, customName: String(describing: type(of: self)), alignment: 1,
            reservedByteCount: byteCount)
    }
}

/// An allocation without a buffer: the bytes and the right to free them once. What an
/// allocator's ``UnmanagedMemoryAllocator/allocateRaw(_:)`` returns, and what
/// ``UnmanagedBuffer/unsafeDetach()`` gives up.
///
/// `unsafe`: it is freely copyable, so nothing but the caller's care keeps it from being released
/// twice or used after release.
@frozen @unsafe
public struct RawAllocation: BitwiseCopyable, @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    public let deallocator: BufferDeallocator

    @inlinable
    public init(base: UnsafeMutableRawPointer, byteCount: Int, deallocator: BufferDeallocator) {
        self.base = base
        self.byteCount = byteCount
        self.deallocator = deallocator
    }

    /// Frees the memory. Call exactly once.
    @inlinable
    public func release() { deallocator.release(base, byteCount: byteCount) }

    /// Wraps the allocation back into an owning buffer of `T`; nil when `T` is not trivially
    /// copyable or the size or the address do not fit `T` (the allocation is then still the
    /// caller's to release). An allocation of no bytes that owns nothing becomes an empty buffer.
    @inlinable
    public func buffer<T>(of type: T.Type) -> UnmanagedBuffer<T>? {
        let stride = MemoryLayout<T>.stride
        guard _isPOD(T.self) else { return nil }
        if byteCount == 0 && !deallocator.isOwning { return UnmanagedBuffer(_emptyAlignedTo: MemoryLayout<T>.alignment) }
        guard byteCount % stride == 0, Int(bitPattern: base) % MemoryLayout<T>.alignment == 0 else {
            return nil
        }
        return UnmanagedBuffer(_adopting: self, count: byteCount / stride)
    }
}
