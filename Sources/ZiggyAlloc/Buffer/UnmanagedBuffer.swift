import ZiggyKernel

/// A contiguous run of `count` elements in memory the Swift runtime does not manage: the one
/// buffer type every ZiggyAlloc allocator returns.
///
/// **Ownership.** An owning buffer frees its memory exactly once, through the allocator that made
/// it: when it goes out of scope (`deinit`) or earlier with ``free()``. It is noncopyable, so a
/// double free or a use after free needs API marked unsafe (``unsafeBaseAddress``, and
/// `unsafeDetach()` for allocator authors), which a client built with strict memory safety must
/// spell `unsafe`.
/// Foreign memory is viewed without ownership through ``withWrapping(_:_:)-392k4``, whose view cannot
/// leave its closure.
///
/// **Elements.** Any trivially copyable type: `BitwiseCopyable` types (checked at compile time),
/// and ``TrivialElement`` types such as swift-numerics' `Complex<Double>` (whose layout is checked
/// when the buffer is made). Elements are never initialized or deinitialized, only stored.
///
/// **Access.** The subscript traps on an out-of-range index, naming the index and the count — in
/// release builds too; ``span`` and ``mutableSpan`` give bounds-checked views at the speed of an
/// unsafe pointer (the checks hoist out of loops).
///
/// **Threads.** A buffer may be sent to another thread when its elements are `Sendable`. Reading
/// it from several threads at once is safe; writing needs exclusive (`inout`) access.
///
/// **What it is.** ``backing`` reports what the memory really is: backend, alignment, and what the
/// backend knows (page size obtained, NUMA policy, population, lock state).
@frozen
public struct UnmanagedBuffer<Element>: ~Copyable {
    @usableFromInline let _base: UnsafeMutablePointer<Element>
    @usableFromInline let _count: Int
    @usableFromInline let _deallocator: BufferDeallocator

    /// Takes ownership of `count` elements at `base`, released by `deallocator` (the built-in
    /// allocators' path; allocator authors use ``RawAllocation/buffer(of:)``).
    @inlinable @inline(__always)
    package init(_base base: UnsafeMutableRawPointer, count: Int, deallocator: BufferDeallocator) {
        _base = base.bindMemory(to: Element.self, capacity: count)
        _count = count
        _deallocator = deallocator
    }

    /// An empty buffer that owns nothing; its (never dereferenced) address is aligned to `alignment`.
    @inlinable @inline(__always)
    init(_emptyAlignedTo alignment: Int) {
        _base = UnsafeMutablePointer(bitPattern: Swift.max(alignment, MemoryLayout<Element>.alignment))!
        _count = 0
        _deallocator = .none
    }

    /// A non-owning buffer over foreign memory (the .NET `WrapExisting`): never frees it.
    ///
    /// The memory must stay valid, and not be written through other paths, while the buffer is
    /// used — nothing checks either, hence `unsafe`. For memory a `MutableSpan` describes, prefer
    /// ``withWrapping(_:_:)-392k4``, whose view cannot outlive the span. Traps when `Element` is not
    /// trivially copyable.
    @unsafe @inlinable
    public init(unsafeWrapping pointer: UnsafeMutableBufferPointer<Element>) {
        _checkTrivial(Element.self)
        _base = pointer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
        _count = pointer.count
        _deallocator = .none
    }

    /// An empty buffer that owns nothing.
    @inlinable
    public init() {
        self.init(_emptyAlignedTo: MemoryLayout<Element>.alignment)
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
    /// ``RawAllocation/release()`` on the result exactly once.
    @unsafe @_spi(AllocatorImplementation)
    public consuming func unsafeDetach() -> RawAllocation {
        let allocation = RawAllocation(
            base: UnsafeMutableRawPointer(_base),
            byteCount: _count &* MemoryLayout<Element>.stride,
            deallocator: _deallocator)
        discard self
        return allocation
    }

    /// Number of elements.
    @inlinable public var count: Int { _count }
    /// Whether the buffer has no elements.
    @inlinable public var isEmpty: Bool { _count == 0 }
    /// Size in bytes (`count × stride`). (Whether the buffer frees its memory is `backing.isOwning`.)
    @inlinable public var byteCount: Int { _count &* MemoryLayout<Element>.stride }
    /// The valid indices, `0..<count`.
    @inlinable public var indices: Range<Int> { 0..<_count }

    /// ``byteCount`` for the library's own code (ZiggyFoundation's and ZiggyMmap's too).
    @inlinable package var _byteCount: Int { _count &* MemoryLayout<Element>.stride }

    /// The first element's address (the .NET `RawPointer`): the escape hatch to C. Valid while
    /// the buffer lives and is not moved into ``free()``; for an empty buffer it is a non-null
    /// address that must not be dereferenced. Nothing stops the pointer from outliving the
    /// buffer, hence `unsafe`; prefer ``withUnsafeMutableBufferPointer(_:)`` for calls into C.
    @unsafe @inlinable public var unsafeBaseAddress: UnsafeMutablePointer<Element> { _base }

    /// The object that frees the memory, for allocators whose buffers carry per-buffer state
    /// (nil for malloc, arena and wrapped memory). Backends use it to find their own records.
    @_spi(AllocatorImplementation)
    public var owner: BufferOwner? { _deallocator.ownerObject }

    /// The first owner of type `T` in the chain of owners (through wrappers such as debug records).
    @_spi(AllocatorImplementation)
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
        _deallocator.backing(UnsafeMutableRawPointer(_base), byteCount: _byteCount)
    }

    /// The element at `index`; traps with the index and the count when out of range.
    @inlinable
    public subscript(index: Int) -> Element {
        @inline(__always) get {
            _checkIndex(index, _count)
            return _base[index]
        }
        @inline(__always) set {
            _checkIndex(index, _count)
            _base[index] = newValue
        }
    }
}

extension UnmanagedBuffer: @unchecked Sendable where Element: Sendable {}

// The library's run-time checks, shaped for the optimizer. A failed check first *reports* (a cold
// call that writes the message, with the index and the count, to standard error and returns)
// and then traps with `precondition`, which `-O` lowers to a bare trap instruction. Two details
// carry the speed of `buffer[i]` loops:
//
// - The failure path rejoins the loop before the trap instead of leaving it through a call, so
//   the SIL optimizer still sees a loop with one exit: it rotates the loop and hoists the loads
//   of the buffer's address and count out of it even when the buffer is an `inout` parameter or
//   a stored property (LLVM cannot: Swift does not mark `inout` memory `noalias`). Ending the
//   failure path in a `Never` call (`fatalError`) made every `inout` loop reload the address per
//   element and stay scalar: 0.34× a C fill in ziggy-bench's `access` workload.
// - After inlining, LLVM threads the report straight into the trap, so the check becomes an
//   exit the vectorizer handles: it runs the iterations known to be in range as SIMD code and
//   leaves the last, failing one to the scalar tail that reports and traps.
//
// A failed `precondition` alone prints nothing in `-O` builds; the report is what names the index.

/// Traps, naming the index and the count, unless `0 <= index < count`.
@inlinable @inline(__always)
func _checkIndex(_ index: Int, _ count: Int) {
    if _slowPath(UInt(bitPattern: index) >= UInt(bitPattern: count)) { _reportIndexOutOfRange(index, count) }
    precondition(UInt(bitPattern: index) < UInt(bitPattern: count), "UnmanagedBuffer index out of range")
}

/// Traps, naming the range and the count, unless `bounds` lies within `0..<count`.
@inlinable @inline(__always)
func _checkRange(_ bounds: Range<Int>, _ count: Int) {
    let inside = bounds.lowerBound >= 0 && bounds.upperBound <= count
    if _slowPath(!inside) { _reportRangeOutOfRange(bounds, count) }
    precondition(inside, "UnmanagedBuffer range out of range")
}

@usableFromInline @inline(never)
func _reportIndexOutOfRange(_ index: Int, _ count: Int) {
    _reportFatal("UnmanagedBuffer index \(index) out of range for count \(count)")
}

@usableFromInline @inline(never)
func _reportRangeOutOfRange(_ bounds: Range<Int>, _ count: Int) {
    _reportFatal("UnmanagedBuffer range \(bounds) out of range for count \(count)")
}

/// Writes `Fatal error: <message>` to standard error for a trap that follows.
@usableFromInline @inline(never)
func _reportFatal(_ message: String) {
    Kernel.writeToStandardError("Fatal error: \(message)\n")
}

/// Traps unless `T` is trivially copyable (for the unsafe initializers; allocation throws instead).
@inlinable @inline(__always)
func _checkTrivial<T>(_ type: T.Type) {
    if _slowPath(!_isPOD(T.self)) { _invalidBuffer("\(T.self) is not trivially copyable") }
}

@usableFromInline @inline(never)
func _invalidBuffer(_ reason: String) -> Never {
    fatalError("UnmanagedBuffer: \(reason)")
}
