/// A validated request for bytes: what every allocator's byte-level primitive receives.
///
/// Built by the typed `allocate` calls, which check the count, the size and the alignment before
/// any allocator sees the request, so allocators can trust `byteCount >= 0` and a power-of-two
/// `alignment`.
public struct AllocationRequest: Sendable, CustomStringConvertible {
    /// Bytes to allocate (count × stride); may be 0.
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
    public init<T>(_ type: T.Type, count: Int, alignment: Int? = nil, zeroed: Bool = false,
                   site: CallSite) throws(AllocationError) {
        let stride = MemoryLayout<T>.stride
        // One unsigned comparison rules out negative counts, overflow and sizes beyond the
        // address space at once (the bound folds to a constant); the slow path says which.
        guard UInt(bitPattern: count) <= UInt(AllocationRequest.addressSpaceLimit / stride) else {
            throw AllocationRequest.sizeError(T.self, count: count)
        }
        let bytes = count &* stride
        let natural = MemoryLayout<T>.alignment
        let align = alignment ?? natural
        guard align >= natural, align <= AllocationRequest.maximumAlignment, align & (align &- 1) == 0 else {
            throw .invalidAlignment(align, minimum: natural, maximum: AllocationRequest.maximumAlignment,
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
