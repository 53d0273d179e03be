/// A validated request for bytes: what every allocator's byte-level primitive receives.
///
/// Built by the typed `allocate` calls, which check the count, the size, the alignment and the
/// element type before any allocator sees the request, so allocators can trust `byteCount > 0`
/// and a power-of-two `alignment`.
@_spi(AllocatorImplementation)
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
    public let site: LeakReport.CallSite

    /// The largest alignment any allocator accepts (1 GiB, the largest page size).
    public static var maximumAlignment: Int { AllocationLayout.maximumAlignment }

    /// The most bytes one allocation may span: the user address space of this architecture
    /// (128 TiB with x86_64 4-level paging; 256 TiB on arm64 with 48-bit addresses).
    public static var addressSpaceLimit: Int { AllocationLayout.addressSpaceLimit }

    /// Validates `count` elements of `type`, aligned to `alignment` (nil: the element's own).
    public init<T>(
        _ type: T.Type, count: Int, alignment: Int? = nil, zeroed: Bool = false,
        site: LeakReport.CallSite
    ) throws(AllocationError) {
        let layout = try AllocationLayout(T.self, count: count, alignment: alignment)
        self.byteCount = layout.byteCount
        self.alignment = layout.alignment
        self.zeroed = zeroed
        self.elementCount = count
        self.elementType = type
        self.site = site
    }

    /// A request for raw bytes.
    public init(byteCount: Int, alignment: Int = 16, zeroed: Bool = false, site: LeakReport.CallSite) throws(AllocationError) {
        try self.init(UInt8.self, count: byteCount, alignment: alignment, zeroed: zeroed, site: site)
    }

    public var description: String {
        "\(elementCount) × \(elementType) (\(byteCount) B, align \(alignment)\(zeroed ? ", zeroed" : ""))"
    }
}
