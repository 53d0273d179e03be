/// A contiguous run of `count` elements in memory the Swift runtime does not manage: the one
/// buffer type every ZiggyAlloc allocator returns.
///
/// **Ownership.** An owning buffer frees its memory exactly once, through the allocator that made
/// it: when it goes out of scope (`deinit`) or earlier with ``free()``. It is noncopyable, so a
/// double free or a use after free needs `unsafe` API (``baseAddress``, ``unsafeDetach()``).
/// A non-owning buffer (``init(unsafeWrapping:)``) views foreign memory and never frees it.
///
/// **Access.** The subscript traps on an out-of-range index, naming the index and the count;
/// ``span`` and ``mutableSpan`` give bounds-checked views at the speed of an unsafe pointer (the
/// checks hoist out of loops).
///
/// **Threads.** A buffer may be sent to another thread. Reading it from several threads at once
/// is safe; writing needs exclusive (`inout`) access, as for any Swift value.
///
/// **What it is.** ``backing`` reports what the memory really is: backend, page size obtained,
/// NUMA policy, population and lock state.
@frozen
public struct UnmanagedBuffer<Element: BitwiseCopyable>: ~Copyable {
    @usableFromInline let _base: UnsafeMutablePointer<Element>
    @usableFromInline let _count: Int
    @usableFromInline let _deallocator: BufferDeallocator

    /// Takes ownership of `count` elements at `base`, to be released by `deallocator`.
    ///
    /// For allocator implementations: `base` must be aligned for `Element` and valid for
    /// `count` elements until `deallocator` releases it, which the buffer does exactly once.
    @inlinable
    public init(unsafeBase base: UnsafeMutablePointer<Element>, count: Int, deallocator: BufferDeallocator) {
        precondition(count >= 0, "UnmanagedBuffer: negative count \(count)")
        _base = base
        _count = count
        _deallocator = deallocator
    }

    /// A non-owning buffer over foreign memory (the .NET `WrapExisting`): never frees it.
    ///
    /// The memory must stay valid, and not be written through other paths, while the buffer is
    /// used. An empty pointer gives an empty buffer.
    @inlinable
    public init(unsafeWrapping pointer: UnsafeMutableBufferPointer<Element>) {
        _base = pointer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
        _count = pointer.count
        _deallocator = .none
    }

    /// An empty buffer that owns nothing.
    @inlinable
    public init() {
        _base = UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
        _count = 0
        _deallocator = .none
    }

    @inlinable
    deinit {
        _deallocator.release(UnsafeMutableRawPointer(_base), byteCount: _count &* MemoryLayout<Element>.stride)
    }

    /// Frees the memory now instead of at the end of the buffer's scope.
    ///
    /// Arena (``ScopedAllocator``) buffers only record the free: the arena reclaims their bytes
    /// when its scope ends. Non-owning buffers free nothing.
    @inlinable
    public consuming func free() {
        let deallocator = _deallocator
        let base = UnsafeMutableRawPointer(_base)
        let bytes = _count &* MemoryLayout<Element>.stride
        discard self
        deallocator.release(base, byteCount: bytes)
    }

    /// Gives up ownership without freeing: the caller becomes responsible for calling
    /// `release` on the returned allocation exactly once.
    @inlinable
    public consuming func unsafeDetach() -> RawAllocation {
        let allocation = RawAllocation(base: UnsafeMutableRawPointer(_base),
                                       byteCount: _count &* MemoryLayout<Element>.stride,
                                       deallocator: _deallocator)
        discard self
        return allocation
    }

    /// Number of elements.
    @inlinable public var count: Int { _count }
    /// Whether the buffer has no elements.
    @inlinable public var isEmpty: Bool { _count == 0 }
    /// Size in bytes (`count × stride`).
    @inlinable public var byteCount: Int { _count &* MemoryLayout<Element>.stride }
    /// The first element's address (the .NET `RawPointer`). Valid while the buffer lives; for an
    /// empty buffer it is a non-null address that must not be dereferenced.
    @inlinable public var baseAddress: UnsafeMutablePointer<Element> { _base }
    /// The valid indices, `0..<count`.
    @inlinable public var indices: Range<Int> { 0..<_count }
    /// Whether the buffer frees its memory (false for wrapped foreign memory).
    @inlinable public var isOwning: Bool { _deallocator.isOwning }

    /// The object that frees the memory, for allocators whose buffers carry per-buffer state
    /// (nil for malloc, arena and wrapped memory). Backends use it to find their own records.
    public var owner: BufferOwner? { _deallocator.ownerObject }

    /// The first owner of type `T` in the chain of owners (through wrappers such as debug records).
    public func owner<T: BufferOwner>(ofType type: T.Type) -> T? {
        var current = owner
        while let candidate = current {
            if let match = candidate as? T { return match }
            current = candidate.wrappedOwner
        }
        return nil
    }

    /// What the memory really is. See ``BufferBacking``.
    public var backing: BufferBacking {
        _deallocator.backing(UnsafeMutableRawPointer(_base), byteCount: byteCount)
    }

    /// The element at `index`; traps with the index and the count when out of range.
    @inlinable
    public subscript(index: Int) -> Element {
        @inline(__always) get {
            precondition(UInt(bitPattern: index) < UInt(bitPattern: _count),
                         "UnmanagedBuffer index \(index) out of range for count \(_count)")
            return _base[index]
        }
        @inline(__always) set {
            precondition(UInt(bitPattern: index) < UInt(bitPattern: _count),
                         "UnmanagedBuffer index \(index) out of range for count \(_count)")
            _base[index] = newValue
        }
    }
}

extension UnmanagedBuffer: @unchecked Sendable {}

/// An allocation detached from its buffer (``UnmanagedBuffer/unsafeDetach()``): the bytes and
/// the right to free them once.
@frozen
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

    /// Wraps the allocation back into an owning buffer of `T`; nil when the size or the address
    /// do not fit `T` (the allocation is then still the caller's to release).
    @inlinable
    public func buffer<T: BitwiseCopyable>(of type: T.Type) -> UnmanagedBuffer<T>? {
        let stride = MemoryLayout<T>.stride
        guard byteCount % stride == 0, Int(bitPattern: base) % MemoryLayout<T>.alignment == 0 else { return nil }
        let count = byteCount / stride
        return UnmanagedBuffer(unsafeBase: base.bindMemory(to: T.self, capacity: count), count: count,
                               deallocator: deallocator)
    }
}
