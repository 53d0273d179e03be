import Glibc

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

    /// A new arena whose first chunk holds `chunkByteCount` bytes (later chunks grow, up to 64 MiB).
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

    @inlinable @inline(__always)
    public func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        let bytes = request.byteCount
        let alignment = request.alignment
        if bytes == 0 {
            return UnmanagedBuffer(unsafeBase: UnsafeMutablePointer(bitPattern: alignment)!, count: 0, deallocator: .none)
        }
        let start = (arena.pointee.cursor &+ UInt(alignment &- 1)) & ~UInt(alignment &- 1)
        let memory: UnsafeMutableRawPointer
        if arena.pointee.limit >= start, bytes <= Int(bitPattern: arena.pointee.limit &- start) {
            arena.pointee.cursor = start &+ UInt(bytes)
            memory = UnsafeMutableRawPointer(bitPattern: start)!
        } else {
            memory = try arena.pointee.allocateSlow(bytes: bytes, alignment: alignment)
        }
        if request.zeroed { memset(memory, 0, bytes) }
        arena.pointee.recorder.recordAllocation(byteCount: bytes)
        return UnmanagedBuffer(unsafeBase: memory.bindMemory(to: UInt8.self, capacity: bytes), count: bytes,
                               deallocator: .arena(statisticsID: arena.pointee.recorder.id, alignment: alignment))
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
    @usableFromInline let recorder = StatisticsRecorder()
    var chunks: UnsafeMutableRawPointer?
    var nextChunkByteCount: Int
    let firstChunkByteCount: Int
    var reservedBytes = 0

    static let maximumChunkByteCount = 64 << 20
    static let headerByteCount = 64

    init(chunkByteCount: Int) {
        nextChunkByteCount = chunkByteCount
        firstChunkByteCount = chunkByteCount
    }

    /// A new chunk, or a dedicated block for a request (with its alignment padding) larger than a
    /// quarter of a chunk, so a fresh chunk always has room for the request.
    @usableFromInline
    mutating func allocateSlow(bytes: Int, alignment: Int) throws(AllocationError) -> UnsafeMutableRawPointer {
        let dedicated = bytes + alignment > nextChunkByteCount / 4
        let payload = dedicated ? bytes + alignment : nextChunkByteCount
        guard let chunk = malloc(Arena.headerByteCount + payload) else {
            throw .outOfMemory(byteCount: bytes, backend: "ScopedAllocator (malloc)", errno: ENOMEM)
        }
        chunk.initializeMemory(as: ChunkHeader.self, to: ChunkHeader(next: chunks, byteCount: Arena.headerByteCount + payload))
        chunks = chunk
        reservedBytes += Arena.headerByteCount + payload
        let first = UInt(bitPattern: chunk) + UInt(Arena.headerByteCount)
        let start = (first + UInt(alignment - 1)) & ~UInt(alignment - 1)
        if !dedicated {
            limit = first + UInt(payload)
            nextChunkByteCount = min(nextChunkByteCount * 2, Arena.maximumChunkByteCount)
            cursor = start + UInt(bytes)
        }
        return UnsafeMutableRawPointer(bitPattern: start)!
    }

    /// Frees all chunks after checking that no buffer is still alive.
    mutating func end() {
        let stats = recorder.snapshot
        precondition(stats.liveAllocations == 0,
                     "ScopedAllocator: \(stats.liveAllocations) buffer(s) of \(stats.liveBytes) B are still alive at "
                        + "the end of the arena's scope; their memory would be freed under them. Let them end "
                        + "inside the scope (or allocate them from a SystemMemoryAllocator).")
        var chunk = chunks
        while let current = chunk {
            chunk = current.load(as: ChunkHeader.self).next
            Glibc.free(current)
        }
        chunks = nil
        cursor = 0
        limit = 0
        reservedBytes = 0
        nextChunkByteCount = firstChunkByteCount
    }
}
