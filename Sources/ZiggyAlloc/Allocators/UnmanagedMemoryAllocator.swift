/// An allocator of ``UnmanagedBuffer``s (the .NET `IUnmanagedMemoryAllocator`).
///
/// Implementations provide one byte-level primitive, ``allocateRaw(_:)``, in the manner of Zig's
/// `std.mem.Allocator`: it receives a validated ``AllocationRequest`` for at least one byte and
/// returns exactly `request.byteCount` bytes aligned to `request.alignment`, with the
/// ``BufferDeallocator`` that gives them back. Everything else lives once, here, in the protocol
/// extension: the typed `allocate` calls validate the count, the size, the alignment and the
/// element type, hand out empty buffers without asking the allocator, and retype the result.
///
/// Each allocator throws its own ``Failure`` type (``AllocationError`` for the core allocators,
/// ZiggyMmap's `MmapError` for mappings), which carries the core's request errors too
/// (``failure(forInvalidRequest:)``), so generic code stays typed and every backend's errors can
/// be matched exhaustively.
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
    func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(Failure) -> RawAllocation?

    /// The failure for a request the typed API rejects before calling ``allocateRaw(_:)`` (a
    /// negative count, an overflowing size, a bad alignment, a non-trivial element type).
    /// Allocators whose `Failure` is ``AllocationError`` get this for free.
    static func failure(forInvalidRequest error: AllocationError) -> Failure

    /// Whether freeing one buffer returns its memory (false for arenas, which reclaim at scope end).
    var supportsIndividualDeallocation: Bool { get }

    /// The allocator's counters now.
    var statistics: AllocationStatistics { get }
}

extension UnmanagedMemoryAllocator where Self: ~Copyable, Failure == AllocationError {
    public static func failure(forInvalidRequest error: AllocationError) -> AllocationError { error }
}

extension UnmanagedMemoryAllocator where Self: ~Copyable {
    /// Never in place: resizing allocates, copies and frees (see the requirement).
    public func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(Failure) -> RawAllocation? {
        nil
    }

    /// Allocates `count` elements of `type`, aligned for `T`, zeroed when `zeroed` is true.
    ///
    /// Throws for a negative count, a size that overflows or exceeds the address space, or when
    /// the backend has no memory; `count` 0 gives an empty buffer without asking the backend.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(
            T.self, count: count, alignment: nil, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
    }

    /// Allocates `count` elements of `type` whose first element is aligned to `alignment` bytes (a
    /// power of two, at least `T`'s alignment, at most 1 GiB) — for SIMD loads or page-aligned I/O.
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, alignment: Int, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
    }

    /// Allocates `count` elements of a ``TrivialElement`` type (such as `Complex<Double>`),
    /// checking at run time that its layout is trivial; throws
    /// ``AllocationError/nonTrivialElement(_:)`` otherwise.
    @inlinable @inline(__always) @_disfavoredOverload
    public func allocate<T: TrivialElement>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(
            T.self, count: count, alignment: nil, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
    }

    /// Allocates `count` aligned elements of a ``TrivialElement`` type (see the unaligned form).
    @inlinable @inline(__always) @_disfavoredOverload
    public func allocate<T: TrivialElement>(
        _ type: T.Type, count: Int, alignment: Int, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
    }

    /// A buffer of raw bytes for `request` (the byte primitive, with empty requests answered here).
    @available(*, deprecated, message: "implement allocateRaw(_:) and call the typed allocate(_:count:)")
    public func allocateBytes(_ request: AllocationRequest) throws(Failure) -> UnmanagedBuffer<UInt8> {
        try _allocate(
            UInt8.self, count: request.byteCount, alignment: request.alignment, zeroed: request.zeroed,
            site: request.site)
    }

    /// The one typed path: validate, answer empty requests, call the primitive, check its answer.
    @inlinable @inline(__always)
    func _allocate<T>(
        _ type: T.Type, count: Int, alignment: Int?, zeroed: Bool, site: CallSite
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
        return UnmanagedBuffer(_adopting: raw, count: request.elementCount)
    }
}

/// A custom allocator broke the protocol's contract: handing out the buffer would corrupt memory.
@usableFromInline @inline(never)
func _allocatorBroke(_ allocator: String, _ raw: RawAllocation, _ request: AllocationRequest) -> Never {
    fatalError("\(allocator).allocateRaw returned \(raw.byteCount) B at \(raw.base) for \(request)")
}

/// A validated request for bytes: what every allocator's byte-level primitive receives.
///
/// Built by the typed `allocate` calls, which check the count, the size, the alignment and the
/// element type before any allocator sees the request, so allocators can trust `byteCount > 0`
/// and a power-of-two `alignment`.
public struct AllocationRequest: Sendable, CustomStringConvertible {
    /// Bytes to allocate (count × stride).
    public let byteCount: Int
    /// Required alignment of the first byte; a power of two.
    public let alignment: Int
    /// Whether the memory must read as zero.
    public let zeroed: Bool
    /// Elements requested (for messages and reports).
    public let elementCount: Int
    /// The element type requested (for messages and reports).
    public let elementType: Any.Type
    /// Where the request was made.
    public let site: CallSite

    /// The largest alignment any allocator accepts (1 GiB, the largest page size).
    @inlinable public static var maximumAlignment: Int { 1 << 30 }

    /// The most bytes one allocation may span: the user address space of this architecture
    /// (128 TiB with x86_64 4-level paging; 256 TiB on arm64 with 48-bit addresses).
    @inlinable
    public static var addressSpaceLimit: Int {
        #if arch(x86_64)
        return 1 << 47
        #else
        return 1 << 48
        #endif
    }

    /// Validates `count` elements of `type`, aligned to `alignment` (nil: the element's own).
    @inlinable
    public init<T>(
        _ type: T.Type, count: Int, alignment: Int? = nil, zeroed: Bool = false,
        site: CallSite
    ) throws(AllocationError) {
        let stride = MemoryLayout<T>.stride
        // One unsigned comparison rules out negative counts, overflow and sizes beyond the
        // address space at once (the bound folds to a constant); the slow path says which.
        guard UInt(bitPattern: count) <= UInt(AllocationRequest.addressSpaceLimit / Swift.max(stride, 1)) else {
            throw AllocationRequest.sizeError(T.self, count: count)
        }
        // Folds to nothing for BitwiseCopyable types once specialized.
        guard _isPOD(T.self) else { throw .nonTrivialElement(String(describing: T.self)) }
        let bytes = count &* stride
        let natural = MemoryLayout<T>.alignment
        let align = alignment ?? natural
        guard align >= natural, align <= AllocationRequest.maximumAlignment, align & (align &- 1) == 0 else {
            throw .invalidAlignment(
                align, minimum: natural, maximum: AllocationRequest.maximumAlignment,
                element: String(describing: T.self))
        }
        self.byteCount = bytes
        self.alignment = align
        self.zeroed = zeroed
        self.elementCount = count
        self.elementType = type
        self.site = site
    }

    /// Which of the size errors a rejected `count` of `T` is.
    @usableFromInline
    static func sizeError<T>(_ type: T.Type, count: Int) -> AllocationError {
        let stride = MemoryLayout<T>.stride
        if count < 0 { return .negativeCount(count, element: String(describing: T.self)) }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        if overflow { return .sizeOverflow(count: count, stride: stride, element: String(describing: T.self)) }
        return .exceedsAddressSpace(byteCount: bytes, limit: addressSpaceLimit)
    }

    /// A request for raw bytes.
    @inlinable
    public init(byteCount: Int, alignment: Int = 16, zeroed: Bool = false, site: CallSite) throws(AllocationError) {
        try self.init(UInt8.self, count: byteCount, alignment: alignment, zeroed: zeroed, site: site)
    }

    public var description: String {
        "\(elementCount) × \(elementType) (\(byteCount) B, align \(alignment)\(zeroed ? ", zeroed" : ""))"
    }
}

/// Where an allocation was requested: the caller's `#fileID`, `#line` and `#function`.
///
/// Captured by default arguments of the typed `allocate` calls at no run-time cost (static
/// strings), and recorded by ``DebugMemoryAllocator`` for leak reports.
public struct CallSite: Sendable, Hashable, CustomStringConvertible {
    public let fileID: StaticString
    public let line: UInt
    public let function: StaticString

    public init(fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function) {
        self.fileID = fileID
        self.line = line
        self.function = function
    }

    public var description: String { "\(fileID):\(line) in \(function)" }

    public static func == (a: CallSite, b: CallSite) -> Bool {
        a.line == b.line && a.fileID.description == b.fileID.description && a.function.description == b.function.description
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fileID.description)
        hasher.combine(line)
        hasher.combine(function.description)
    }
}
