import CZiggyShims
import Glibc
import ZiggyKernel

/// An arena: bump allocation from large chunks, everything freed at once when the allocator's
/// scope ends (the .NET `ScopedAllocator`, Zig's `ArenaAllocator`).
///
/// Noncopyable, so its end is lexical: it frees its chunks when the variable goes out of scope,
/// or when ``withScope(chunkByteCount:_:)`` returns. Freeing one buffer only records the free
/// (``supportsIndividualDeallocation`` is false): the bytes come back at the end of the scope.
///
/// A buffer must not outlive the arena that holds its bytes. The arena counts its live buffers,
/// and if any is still alive when the scope ends it traps, naming how many and how large, rather
/// than let them dangle silently.
///
/// Not thread-safe for allocation (it is not `Sendable`); its buffers may be used and freed on any
/// thread while the scope lasts.
public struct ScopedAllocator: ~Copyable, UnmanagedMemoryAllocator {
    @usableFromInline let arena: UnsafeMutablePointer<Arena>

    /// A new arena whose first chunk holds `chunkByteCount` bytes (at least 4 KiB; later chunks
    /// double, up to 64 MiB or the first chunk's size if larger). The chunk is allocated with the
    /// first buffer, so an impossible size is an ``AllocationError/outOfMemory(byteCount:backend:errno:)``
    /// from that `allocate`, naming the chunk.
    public init(chunkByteCount: Int = 64 << 10) {
        arena = .allocate(capacity: 1)
        arena.initialize(to: Arena(chunkByteCount: max(4096, chunkByteCount)))
    }

    deinit {
        arena.pointee.end()
        arena.deinitialize(count: 1)
        arena.deallocate()
    }

    /// Runs `body` with a fresh arena and frees everything it allocated when `body` returns or
    /// throws.
    public static func withScope<R: ~Copyable, E: Error>(
        chunkByteCount: Int = 64 << 10, _ body: (borrowing ScopedAllocator) throws(E) -> R
    ) throws(E) -> R {
        let scope = ScopedAllocator(chunkByteCount: chunkByteCount)
        return try body(scope)
    }

    public var supportsIndividualDeallocation: Bool { false }

    public var statistics: AllocationStatistics { arena.pointee.recorder.snapshot }

    /// Bytes the arena holds from the system (chunks), at least the live bytes.
    public var reservedBytes: Int { arena.pointee.reservedBytes }

    @_spi(AllocatorImplementation)
    public func allocateRaw(_ request: AllocationRequest) throws(AllocationError) -> RawAllocation {
        let memory = try _bump(request.byteCount, alignment: request.alignment, zeroed: request.zeroed)
        return RawAllocation(
            base: memory, byteCount: request.byteCount,
            deallocator: .arena(record: arena.pointee.record, alignment: request.alignment))
    }

    /// Allocates `count` elements of `type` from the arena, zeroed when asked, aligned to
    /// `alignment` (nil: the element's own; else a power of two from the element's alignment to
    /// 1 GiB): the protocol's typed `allocate`, restated here so the bump path is inlined (the
    /// protocol's own reaches the SPI primitive through a call). Throws for a negative count, an
    /// overflowing size, a bad alignment, or when no chunk can be had.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, alignment: Int? = nil, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        try _allocateElements(T.self, count: count, alignment: alignment, zeroed: zeroed)
    }

    @inlinable @inline(__always)
    func _allocateElements<T>(
        _ type: T.Type, count: Int, alignment: Int?, zeroed: Bool
    ) throws(AllocationError)
        -> UnmanagedBuffer<T>
    {
        let layout = try AllocationLayout(T.self, count: count, alignment: alignment)
        if layout.byteCount == 0 { return UnmanagedBuffer(_emptyAlignedTo: layout.alignment) }
        let memory = try _bump(layout.byteCount, alignment: layout.alignment, zeroed: zeroed)
        return UnmanagedBuffer(
            _base: memory, count: count, deallocator: .arena(record: arena.pointee.record, alignment: layout.alignment))
    }

    /// Bytes from the current chunk (or a new one), counted.
    @inlinable @inline(__always)
    func _bump(_ bytes: Int, alignment: Int, zeroed: Bool) throws(AllocationError) -> UnsafeMutableRawPointer {
        let start = (arena.pointee.cursor &+ UInt(alignment &- 1)) & ~UInt(alignment &- 1)
        let memory: UnsafeMutableRawPointer
        if arena.pointee.limit > start, bytes <= Int(bitPattern: arena.pointee.limit &- start) {
            arena.pointee.cursor = start &+ UInt(bytes)
            // Non-nil: the cursor is inside a chunk here (limit > start), never 0. Unchecked in
            // release builds: the check was a compare and a branch on every allocation.
            memory = UnsafeMutableRawPointer(bitPattern: start).unsafelyUnwrapped
        } else {
            memory = try arena.pointee.allocateSlow(bytes: bytes, alignment: alignment)
        }
        if zeroed { memset(memory, 0, bytes) }
        // Allocation is single-threaded (the arena is not Sendable): no owner check.
        zg_stats_allocated_serial(arena.pointee.record, Int64(bytes))
        return memory
    }

    /// In place when `allocation` is this arena's most recent one and the new size fits in its
    /// chunk (the cursor moves); nil otherwise, so the buffer is copied to a new arena block (the
    /// old bytes come back with the rest at the end of the scope). Counts one free and one
    /// allocation.
    @_spi(AllocatorImplementation)
    public func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(AllocationError) -> RawAllocation? {
        guard request.byteCount > 0, allocation.byteCount > 0 else {
            throw SystemMemoryAllocator.outsideContract(allocation, request)
        }
        let deallocator = allocation.deallocator
        let start = UInt(bitPattern: allocation.base)
        // The last allocation ends at the cursor (dedicated blocks never move it), so it lies in
        // the current chunk, which ends at `limit`.
        guard deallocator.kind == .arena, deallocator.payload == UInt(bitPattern: arena.pointee.recorder.record),
            start & UInt(request.alignment &- 1) == 0,
            start &+ UInt(allocation.byteCount) == arena.pointee.cursor,
            request.byteCount <= Int(bitPattern: arena.pointee.limit &- start)
        else { return nil }
        arena.pointee.cursor = start &+ UInt(request.byteCount)
        arena.pointee.recorder.recordDeallocation(byteCount: allocation.byteCount)
        arena.pointee.recorder.recordAllocation(byteCount: request.byteCount)
        return RawAllocation(
            base: allocation.base, byteCount: request.byteCount,
            deallocator: .arena(record: arena.pointee.recorder.record, alignment: max(deallocator.alignment, request.alignment)))
    }

    /// Frees every chunk now so the arena can be reused; traps if any buffer is still alive.
    public func reset() {
        arena.pointee.end()
    }
}

/// The arena's state, kept behind a pointer so the noncopyable allocator can allocate without
/// being `mutating`.
@usableFromInline
struct Arena {
    /// Chunks are linked through a header at their start.
    struct ChunkHeader {
        var next: UnsafeMutableRawPointer?
        var byteCount: Int
    }

    @usableFromInline var cursor: UInt = 0
    @usableFromInline var limit: UInt = 0
    let recorder = StatisticsRecorder()
    /// The recorder's record, beside the cursor so the fast path needs no second object.
    @usableFromInline let record: UnsafeMutablePointer<zg_stats>
    var chunks: UnsafeMutableRawPointer?
    var nextChunkByteCount: Int
    let firstChunkByteCount: Int
    var reservedBytes = 0

    static let maximumChunkByteCount = 64 << 20
    static let headerByteCount = 64

    init(chunkByteCount: Int) {
        record = recorder.record
        nextChunkByteCount = chunkByteCount
        firstChunkByteCount = chunkByteCount
    }

    /// A new chunk, or a dedicated block for a request (with its alignment padding) larger than a
    /// quarter of a chunk, so a fresh chunk always has room for the request. Every size is computed
    /// with overflow checks: a chunk size near `Int.max` is an error, not a trap.
    @usableFromInline
    mutating func allocateSlow(bytes: Int, alignment: Int) throws(AllocationError) -> UnsafeMutableRawPointer {
        let (padded, paddedOverflow) = bytes.addingReportingOverflow(alignment)
        let dedicated = paddedOverflow || padded > nextChunkByteCount / 4
        let payload = dedicated ? padded : nextChunkByteCount
        let (total, overflow) = Arena.headerByteCount.addingReportingOverflow(payload)
        guard !paddedOverflow, !overflow, let chunk = Kernel.heapAllocate(total, zeroed: false) else {
            let what =
                paddedOverflow || overflow
                ? "a block larger than Int.max"
                : dedicated ? "a dedicated \(total) B block" : "a \(total) B chunk"
            throw .outOfMemory(byteCount: bytes, backend: "ScopedAllocator (malloc of \(what))", errno: .noMemory)
        }
        chunk.initializeMemory(as: ChunkHeader.self, to: ChunkHeader(next: chunks, byteCount: total))
        chunks = chunk
        reservedBytes += total
        let first = UInt(bitPattern: chunk) + UInt(Arena.headerByteCount)
        let start = (first + UInt(alignment - 1)) & ~UInt(alignment - 1)
        if !dedicated {
            limit = first + UInt(payload)
            if nextChunkByteCount < Arena.maximumChunkByteCount {
                nextChunkByteCount = min(nextChunkByteCount * 2, Arena.maximumChunkByteCount)
            }
            cursor = start + UInt(bytes)
        }
        return UnsafeMutableRawPointer(bitPattern: start)!
    }

    /// Frees all chunks after checking that no buffer is still alive.
    mutating func end() {
        let stats = recorder.snapshot
        if stats.liveAllocations != 0 {
            fatalError(
                "ScopedAllocator: \(stats.liveAllocations) buffer(s) of \(stats.liveBytes) B are still alive at "
                    + "the end of the arena's scope; their memory would be freed under them. Let them end "
                    + "inside the scope (or allocate them from a SystemMemoryAllocator).")
        }
        var chunk = chunks
        while let current = chunk {
            chunk = current.load(as: ChunkHeader.self).next
            Kernel.heapFree(current)
        }
        chunks = nil
        cursor = 0
        limit = 0
        reservedBytes = 0
        nextChunkByteCount = firstChunkByteCount
    }
}
