/// A copyable, copy-on-write array over one ``UnmanagedBuffer``: the buffer's memory (malloc,
/// huge pages, a NUMA node, a debug-tracked allocation) behind the standard library's collection
/// protocols, so `sort()`, `map`, `reduce`, `[BufferArray<Double>]` and every generic algorithm
/// work on it.
///
/// **Ownership.** The array owns its buffer through a reference-counted storage object; copies of
/// the array share it, and the buffer is freed (through the allocator that made it) when the last
/// copy dies. Its count is fixed at creation.
///
/// **Copy on write.** Before the first write through an array whose storage is shared, the array
/// copies its elements into a new buffer *from the same allocator* (with the same alignment): a
/// copy of a huge-page array is a huge-page array, a copy of a debug-tracked array is tracked, and
/// ``backing`` says what the copy obtained. Writes to an array whose storage is not shared never
/// copy. Should that allocator refuse the copy (a strict hugetlb pool that ran out, say), the
/// copy is made on the C heap instead and ``backing`` says `system`; only when the C heap refuses
/// too does the write trap, naming the count and both errors — as `Array` traps when memory runs
/// out. Call ``makeUnique()`` first to get such a failure as an error instead.
///
/// **Arenas.** ``ScopedAllocator`` buffers are not kept: an arena frees everything at the end of
/// its scope, and an array, being copyable, can outlive it. Initializing an array from an arena
/// buffer (or from foreign memory wrapped with `unsafeWrapping`) copies the elements into memory
/// from the allocator given, and the arena buffer is freed at once; the array's ``backing`` names
/// that allocator.
///
/// **Elements.** What ``UnmanagedBuffer`` holds: `BitwiseCopyable` types and ``TrivialElement``
/// types such as `Complex<Double>`.
///
/// **Access.** The subscript traps on an out-of-range index, naming the index and the count, in
/// release builds too. Reads go straight to memory (the array caches the address and the count),
/// as fast as through the buffer. Each write through the subscript checks uniqueness (a runtime
/// call the optimizer cannot hoist out of a loop, as it can for `Array` alone), which keeps a loop
/// of `a[i] = …` scalar; write loops belong in ``withUnsafeMutableBufferPointer(_:)`` or
/// ``mutableSpan`` (and `withContiguousMutableStorageIfAvailable`, which `sort()` uses), which
/// check once per call and run at the buffer's speed (ziggy-bench's `view` workload measures both).
///
/// **Threads.** `Sendable` when its elements are, like `Array`: copies may be read from any
/// number of threads at once, and each thread may mutate its own copy (the first write copies).
/// One array value written from two threads at once is a data race, as with `Array`.
@frozen
public struct BufferArray<Element> {
    @usableFromInline var _storage: _BufferArrayStorage<Element>
    @usableFromInline var _base: UnsafeMutablePointer<Element>
    @usableFromInline let _count: Int

    @inlinable
    init(_storage storage: _BufferArrayStorage<Element>) {
        _storage = storage
        _base = storage.base
        _count = storage.count
    }

    /// Takes ownership of `buffer`; copies made on write come from `allocator`.
    ///
    /// `allocator` should be the allocator that made `buffer`, so copies are the same kind of
    /// memory; the array's ``backing`` reports each buffer's own. An arena buffer or wrapped
    /// foreign memory is copied into memory from `allocator` (see the type's discussion), which is
    /// the only time this throws: `allocator`'s error when it cannot give that copy (`buffer` is
    /// freed either way).
    @inlinable
    public init<A: UnmanagedMemoryAllocator & Sendable>(
        _ buffer: consuming UnmanagedBuffer<Element>, allocator: A,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(A.Failure) {
        let site = LeakReport.CallSite(_fileID: fileID, line: line, function: function)
        let storage = try _BufferArrayStorage.adopting(buffer, allocator: allocator, site: site)
        self.init(_storage: storage)
    }

    /// Takes ownership of `buffer` from a ``DebugMemoryAllocator``; copies made on write are
    /// tracked by the same allocator (and appear in its leak report while they live).
    ///
    /// The copies outlive the debug allocator as its buffers may. Throws as the generic form does.
    public init<Base: UnmanagedMemoryAllocator & Sendable>(
        _ buffer: consuming UnmanagedBuffer<Element>, allocator: borrowing DebugMemoryAllocator<Base>,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Base.Failure) {
        try self.init(buffer, allocator: allocator._handle, fileID: fileID, line: line, function: function)
    }

    /// An empty array that owns nothing.
    @inlinable
    public init() {
        self.init(_storage: _BufferArrayStorage(UnmanagedBuffer(), copier: _BufferArrayCopier.system))
    }

    /// What the memory really is: the ``UnmanagedBuffer/backing`` of the buffer this array (or the
    /// copy it made on write) holds.
    public var backing: BufferBacking { _storage.buffer.backing }

    /// Copies the elements into storage of their own now if the storage is shared, throwing the
    /// allocator's error (type-erased) instead of falling back to the C heap when it cannot.
    ///
    /// After it returns, writes through this array do not copy until the array is copied again.
    public mutating func makeUnique() throws {
        guard !isKnownUniquelyReferenced(&_storage) else { return }
        _replaceStorage(try _storage.copy())
    }

    /// Copies a shared storage before a write; the fast path is one reference-count load.
    @inlinable @inline(__always)
    mutating func _makeMutable() {
        if _slowPath(!isKnownUniquelyReferenced(&_storage)) { _copyForWrite() }
    }

    @usableFromInline @inline(never)
    mutating func _copyForWrite() {
        _replaceStorage(_storage.copyForWrite())
    }

    @usableFromInline
    mutating func _replaceStorage(_ storage: _BufferArrayStorage<Element>) {
        _storage = storage
        _base = storage.base
    }
}

extension BufferArray: @unchecked Sendable where Element: Sendable {}
