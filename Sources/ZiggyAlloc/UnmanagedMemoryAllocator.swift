/// An allocator of ``UnmanagedBuffer``s (the .NET `IUnmanagedMemoryAllocator`).
///
/// Implementations provide one byte-level primitive, ``allocateBytes(_:)``, in the manner of Zig's
/// `std.mem.Allocator`: it receives a validated ``AllocationRequest`` and returns an owning buffer
/// of exactly `request.byteCount` bytes aligned to `request.alignment`, whose
/// ``BufferDeallocator`` gives the memory back. The typed calls (``allocate(_:count:zeroed:fileID:line:function:)``
/// and the aligned variant) validate the request, call the primitive and retype the result.
///
/// Allocators may be noncopyable (an arena whose end frees everything) or shared classes; each
/// documents its thread-safety. On failure, allocators throw ``AllocationError`` and leave no
/// memory, mapping or statistics change behind.
public protocol UnmanagedMemoryAllocator: ~Copyable {
    /// Allocates `request.byteCount` bytes aligned to `request.alignment` (zeroed when asked).
    func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8>

    /// Whether freeing one buffer returns its memory (false for arenas, which reclaim at scope end).
    var supportsIndividualDeallocation: Bool { get }

    /// The allocator's counters now.
    var statistics: AllocationStatistics { get }
}

extension UnmanagedMemoryAllocator where Self: ~Copyable {
    /// Allocates `count` elements of `type`, aligned for `T`, zeroed when `zeroed` is true.
    ///
    /// Throws ``AllocationError`` for a negative count, a size that overflows or exceeds the
    /// address space, or when the backend has no memory.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let request = try AllocationRequest(
            T.self, count: count, zeroed: zeroed, site: CallSite(fileID: fileID, line: line, function: function))
        return retype(try allocateBytes(request), request)
    }

    /// Allocates `count` elements of `type` whose first element is aligned to `alignment` bytes (a
    /// power of two, at least `T`'s alignment, at most 1 GiB) — for SIMD loads or page-aligned I/O.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, alignment: Int, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let request = try AllocationRequest(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
        return retype(try allocateBytes(request), request)
    }

    /// Allocates `count` elements and copies `values` into them (a convenience for tests and
    /// small tables).
    @inlinable
    public func allocate<T: BitwiseCopyable>(
        copying values: [T], fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        var buffer = try allocate(T.self, count: values.count, fileID: fileID, line: line, function: function)
        try buffer.copy(from: values)
        return buffer
    }

    @inlinable @inline(__always)
    func retype<T: BitwiseCopyable>(_ bytes: consuming UnmanagedBuffer<UInt8>, _ request: AllocationRequest)
        -> UnmanagedBuffer<T>
    {
        let raw = bytes.unsafeDetach()
        precondition(raw.byteCount == request.byteCount && Int(bitPattern: raw.base) & (request.alignment &- 1) == 0,
                     "\(Self.self).allocateBytes returned \(raw.byteCount) B at \(raw.base) for \(request)")
        return UnmanagedBuffer(unsafeBase: raw.base.bindMemory(to: T.self, capacity: request.elementCount),
                               count: request.elementCount, deallocator: raw.deallocator)
    }
}
