/// An allocator of ``UnmanagedBuffer``s (the .NET `IUnmanagedMemoryAllocator`).
///
/// Users call the typed `allocate` methods; the protocol extension validates the count, the size,
/// the alignment and the element type, hands out empty buffers without asking the allocator, and
/// retypes the result. Implementations provide one byte-level primitive in the manner of Zig's
/// `std.mem.Allocator` — `allocateRaw(_:)`, with the rest of the implementor's API, behind
/// `@_spi(AllocatorImplementation) import ZiggyAlloc` (see the ZiggyAlloc article "Writing an
/// allocator").
///
/// Each allocator throws its own ``Failure`` type (``AllocationError`` for the core allocators,
/// ZiggyMmap's `MmapError` for mappings), which carries the core's request errors too, so generic
/// code stays typed and every backend's errors can be matched exhaustively.
///
/// Allocators may be noncopyable (an arena whose end frees everything) or shared classes; each
/// documents its thread-safety. On failure, allocators leave no memory, mapping or statistics
/// change behind.
public protocol UnmanagedMemoryAllocator: ~Copyable {
    /// What this allocator throws.
    ///
    /// Constrained to `Error` only (not to a refinement), so that code holding an
    /// `any UnmanagedMemoryAllocator` gets `any Error`, which every `try` form accepts.
    associatedtype Failure: Error = AllocationError

    /// Allocates `request.byteCount` (> 0) bytes aligned to `request.alignment`, zeroed when asked.
    @_spi(AllocatorImplementation)
    func allocateRaw(_ request: AllocationRequest) throws(Failure) -> RawAllocation

    /// Resizes or remaps `allocation` (> 0 bytes, made by any allocator: check that it is yours)
    /// to `request.byteCount` (> 0) bytes aligned to `request.alignment`, keeping the first
    /// min(old, new) bytes — Zig's `resize`/`remap` vtable entries in one.
    ///
    /// Return nil when you cannot do it without a new allocation (the memory is not yours, or it
    /// cannot grow); ``resize(_:to:fileID:line:function:)`` then allocates, copies and frees.
    /// A non-nil answer consumes `allocation`: its deallocator is spent (give up whatever it holds
    /// without releasing the memory) and the answer's deallocator frees the result. Throw only
    /// for a real failure (out of memory, a limit), leaving `allocation` untouched and valid. The
    /// default answers nil, so an allocator that does nothing here is still resized correctly.
    @_spi(AllocatorImplementation)
    func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(Failure) -> RawAllocation?

    /// The failure for a request the typed API rejects before calling ``allocateRaw(_:)`` (a
    /// negative count, an overflowing size, a bad alignment, a non-trivial element type).
    /// Allocators whose `Failure` is ``AllocationError`` get this for free.
    @_spi(AllocatorImplementation)
    static func failure(forInvalidRequest error: AllocationError) -> Failure

    /// Whether freeing one buffer returns its memory (false for arenas, which reclaim at scope end).
    var supportsIndividualDeallocation: Bool { get }

    /// The allocator's counters now.
    var statistics: AllocationStatistics { get }
}

extension UnmanagedMemoryAllocator where Self: ~Copyable, Failure == AllocationError {
    @_spi(AllocatorImplementation)
    public static func failure(forInvalidRequest error: AllocationError) -> AllocationError { error }
}

extension UnmanagedMemoryAllocator where Self: ~Copyable {
    /// Never in place: resizing allocates, copies and frees (see the requirement).
    @_spi(AllocatorImplementation)
    public func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(Failure) -> RawAllocation? {
        nil
    }

    /// Allocates `count` elements of `type`, zeroed when `zeroed` is true, the first element aligned
    /// to `alignment` bytes — nil (the default): `T`'s own alignment; otherwise a power of two, at
    /// least `T`'s alignment, at most 1 GiB (for SIMD loads or page-aligned I/O).
    ///
    /// Throws for a negative count, a size that overflows or exceeds the address space, a bad
    /// alignment, or when the backend has no memory; `count` 0 gives an empty buffer without
    /// asking the backend.
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, alignment: Int? = nil, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
    }

    /// Allocates `count` elements of a ``TrivialElement`` type (such as `Complex<Double>`),
    /// checking at run time that its layout is trivial; throws
    /// ``AllocationError/nonTrivialElement(_:)`` otherwise. Otherwise as the `BitwiseCopyable` form.
    @_disfavoredOverload
    public func allocate<T: TrivialElement>(
        _ type: T.Type, count: Int = 1, alignment: Int? = nil, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
    }

    /// The one typed path: validate, answer empty requests, call the primitive, check its answer.
    /// Not inlinable (it reaches the SPI primitive); the system allocator and the arena restate
    /// the typed calls on their concrete types, inlined, for their fast paths.
    @usableFromInline
    func _allocate<T>(
        _ type: T.Type, count: Int, alignment: Int?, zeroed: Bool, site: LeakReport.CallSite
    )
        throws(Failure) -> UnmanagedBuffer<T>
    {
        let request: AllocationRequest
        do {
            request = try AllocationRequest(T.self, count: count, alignment: alignment, zeroed: zeroed, site: site)
        } catch {
            throw Self.failure(forInvalidRequest: error)
        }
        if request.byteCount == 0 { return UnmanagedBuffer(_emptyAlignedTo: request.alignment) }
        let raw = try allocateRaw(request)
        if _slowPath(raw.byteCount != request.byteCount || Int(bitPattern: raw.base) & (request.alignment &- 1) != 0) {
            _allocatorBroke(String(describing: Self.self), raw, request)
        }
        return UnmanagedBuffer(_base: raw.base, count: request.elementCount, deallocator: raw.deallocator)
    }
}

/// A custom allocator broke the protocol's contract: handing out the buffer would corrupt memory.
@inline(never)
func _allocatorBroke(_ allocator: String, _ raw: RawAllocation, _ request: AllocationRequest) -> Never {
    fatalError("\(allocator).allocateRaw returned \(raw.byteCount) B at \(raw.base) for \(request)")
}
