import Glibc

/// How a buffer gives its memory back: a small trivially-copyable value stored in every
/// ``UnmanagedBuffer`` (which is why a buffer can `discard self` and free exactly once).
///
/// The built-in kinds are dispatched with a switch so the system allocator's free is inlined; an
/// ``owner(_:)`` deallocator holds one retained reference to a ``BufferOwner``.
/// A value of this type represents the right to free one allocation: calling
/// ``release(_:byteCount:)`` twice is a double free.
@frozen
public struct BufferDeallocator: BitwiseCopyable, @unchecked Sendable {
    @usableFromInline
    enum Kind: UInt8, BitwiseCopyable {
        case none, system, arena, owner
    }

    @usableFromInline let kind: Kind
    /// Guaranteed alignment (system and arena kinds).
    @usableFromInline let alignment: Int
    /// The statistics id (system, arena) or the retained owner's address (owner).
    @usableFromInline let payload: UInt

    @inlinable
    init(kind: Kind, alignment: Int, payload: UInt) {
        self.kind = kind
        self.alignment = alignment
        self.payload = payload
    }

    /// Frees nothing: the memory belongs to someone else (wrapped foreign memory, empty buffers).
    public static var none: BufferDeallocator { BufferDeallocator(kind: .none, alignment: 1, payload: 0) }

    /// `free()` the memory and count it against the statistics recorder `statisticsID`.
    @inlinable
    public static func system(statisticsID: UInt64, alignment: Int) -> BufferDeallocator {
        BufferDeallocator(kind: .system, alignment: alignment, payload: UInt(statisticsID))
    }

    /// Memory owned by an arena: the free is only counted; the arena reclaims the bytes.
    @inlinable
    static func arena(statisticsID: UInt64, alignment: Int) -> BufferDeallocator {
        BufferDeallocator(kind: .arena, alignment: alignment, payload: UInt(statisticsID))
    }

    /// Released by `owner`, which the deallocator keeps alive until then (one retain).
    public static func owner(_ owner: BufferOwner) -> BufferDeallocator {
        BufferDeallocator(kind: .owner, alignment: 1,
                          payload: UInt(bitPattern: Unmanaged.passRetained(owner).toOpaque()))
    }

    /// Whether releasing frees anything (false for wrapped memory).
    public var isOwning: Bool { kind != .none }

    /// Gives the memory back. Must be called at most once per allocation.
    @inlinable
    public func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        switch kind {
        case .none:
            return
        case .system:
            Glibc.free(base)
            StatisticsRecorder.recordDeallocation(id: UInt64(payload), byteCount: byteCount)
        case .arena:
            StatisticsRecorder.recordDeallocation(id: UInt64(payload), byteCount: byteCount)
        case .owner:
            releaseOwner(base, byteCount: byteCount)
        }
    }

    @usableFromInline
    func releaseOwner(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        let owner = Unmanaged<BufferOwner>.fromOpaque(UnsafeRawPointer(bitPattern: payload)!).takeRetainedValue()
        owner.release(base, byteCount: byteCount)
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
            var backing = BufferBacking(backend: .wrapped, alignment: Self.observedAlignment(base),
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
