import CZiggyShims
import ZiggyKernel

/// How a buffer gives its memory back: a small trivially-copyable value stored in every
/// `UnmanagedBuffer` (which is why a buffer can `discard self` and free exactly once).
///
/// Package-internal: allocator authors outside the package hand out memory through
/// `RawAllocation(base:byteCount:owner:)` (SPI `AllocatorImplementation`), which makes the
/// `owner` kind; the other kinds are the built-in allocators' own.
///
/// The built-in kinds are dispatched with a switch so the system allocator's free is inlined; an
/// ``owner(_:)`` deallocator holds one retained reference to a ``BufferOwner``. A value of this
/// type is the right to free one allocation: calling ``release(_:byteCount:)`` twice is a double
/// free, which is why only allocators (and `unsafe` code) ever call it.
@frozen @usableFromInline
package struct BufferDeallocator: BitwiseCopyable, @unchecked Sendable {
    @usableFromInline
    package enum Kind: UInt8, BitwiseCopyable {
        case none, system, arena, owner
    }

    @usableFromInline package let kind: Kind
    /// Guaranteed alignment (system and arena kinds).
    @usableFromInline package let alignment: Int
    /// The statistics id (system), the arena's statistics record (arena) or the retained owner's
    /// address (owner).
    @usableFromInline package let payload: UInt

    @inlinable
    package init(kind: Kind, alignment: Int, payload: UInt) {
        self.kind = kind
        self.alignment = alignment
        self.payload = payload
    }

    /// Frees nothing: the memory belongs to someone else (wrapped foreign memory, empty buffers).
    @inlinable package static var none: BufferDeallocator { BufferDeallocator(kind: .none, alignment: 1, payload: 0) }

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
    package static func arena(record: UnsafeMutablePointer<zg_stats>, alignment: Int) -> BufferDeallocator {
        BufferDeallocator(kind: .arena, alignment: alignment, payload: UInt(bitPattern: record))
    }

    /// Released by `owner`, which the deallocator keeps alive until then (one retain).
    package static func owner(_ owner: BufferOwner) -> BufferDeallocator {
        BufferDeallocator(
            kind: .owner, alignment: 1,
            payload: UInt(bitPattern: Unmanaged.passRetained(owner).toOpaque()))
    }

    /// Whether releasing frees anything (false for wrapped memory).
    @inlinable package var isOwning: Bool { kind != .none }

    /// Gives the memory back. Must be called at most once per allocation.
    @inlinable
    package func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        switch kind {
        case .none:
            return
        case .system:
            Kernel.heapFree(base)
            _recordFree(statisticsID: UInt64(payload), byteCount: byteCount)
        case .arena:
            // The arena's record, never nil (see `arena(record:alignment:)`): unchecked in release.
            zg_stats_freed(UnsafeMutablePointer(bitPattern: payload).unsafelyUnwrapped, Int64(byteCount))
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
    package var ownerObject: BufferOwner? {
        guard kind == .owner else { return nil }
        return Unmanaged<BufferOwner>.fromOpaque(UnsafeRawPointer(bitPattern: payload)!).takeUnretainedValue()
    }

    /// What the memory is, as the allocator that made it reports.
    package func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
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

/// Counts a system buffer's free for the recorder with identity `id`, if it still exists: the
/// thread's cached record, else the registry's (the library's own deallocators only).
@inlinable @inline(__always)
func _recordFree(statisticsID id: UInt64, byteCount: Int) {
    if !zg_stats_freed_cached(id, Int64(byteCount)), let stats = StatisticsRegistry.resolveSlow(id: id) {
        zg_stats_freed(stats, Int64(byteCount))
    }
}
