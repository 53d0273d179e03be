@_spi(AllocatorImplementation) import ZiggyAlloc

/// What ZiggyMmap knows about a mapped buffer, attached to its ``BufferBacking``: the page size
/// asked for and obtained (and why they differ), population, lock state, the NUMA policy the
/// kernel reported back, and whether the mapping came from a reuse pool.
///
/// Every field is what was obtained, never merely what was asked for: a hugetlb request served
/// with base pages says `obtainedPageSize == .base` and names the reason in ``fallbackReason``.
public struct MappingDetails: Sendable, Hashable, CustomStringConvertible {
    /// The page size asked for (nil for file mappings, which take the page cache's pages).
    public var requestedPageSize: PageSize?
    /// The page size the memory is mapped with. For `.transparentHuge` the region is eligible
    /// and advised; the bytes the kernel really backs with huge pages are in
    /// ``transparentHugeBytes`` when they were measured.
    public var obtainedPageSize: PageSize
    /// Why the obtained page size differs from the requested one (nil when it does not).
    public var fallbackReason: String?
    /// How the pages were faulted in before the buffer was returned.
    public var populate: PopulateMode
    /// Whether the pages are locked in RAM (`mlock`).
    public var isLocked: Bool
    /// The NUMA policy the kernel accepted for the range (nil: none set). For a ``NumaAllocator``
    /// with ``NumaPolicy/default`` under an inherited policy (`numactl --membind`, a launcher's
    /// `--mem-bind`), the inherited policy, which the range's pages follow, with
    /// ``isPolicyInherited`` set.
    public var numaPolicy: NumaPolicy?
    /// Whether ``numaPolicy`` is the allocating thread's inherited policy rather than one set on
    /// the range.
    public var isPolicyInherited: Bool = false
    /// Whether the memory came from an allocator's reuse pool rather than a fresh mapping.
    public var isReused: Bool
    /// For THP regions populated at allocation: bytes the kernel backed with huge pages
    /// (`AnonHugePages` in `/proc/self/smaps`), measured then.
    public var transparentHugeBytes: Int?
    /// The mapped file, for file mappings.
    public var filePath: String?
    /// For a blocked buffer (a team's placement): the nodes its consecutive blocks are bound to,
    /// with their byte ranges from the start of the mapping. Empty otherwise. Shown in the
    /// description; public as the allocating team's `schedule(for: buffer).parts` (each member's
    /// node and pages, of `pageBytes`).
    package var blocks: [Block] = []

    /// One block of a blocked buffer.
    package struct Block: Sendable, Hashable, CustomStringConvertible {
        package let node: Int
        package let bytes: Range<Int>
        package var description: String { "\(bytes) on node \(node)" }
    }

    init(
        requestedPageSize: PageSize?, obtainedPageSize: PageSize, fallbackReason: String? = nil,
        populate: PopulateMode = .none, isLocked: Bool = false, numaPolicy: NumaPolicy? = nil,
        isReused: Bool = false, transparentHugeBytes: Int? = nil, filePath: String? = nil,
        blocks: [Block] = []
    ) {
        self.requestedPageSize = requestedPageSize
        self.obtainedPageSize = obtainedPageSize
        self.fallbackReason = fallbackReason
        self.populate = populate
        self.isLocked = isLocked
        self.numaPolicy = numaPolicy
        self.isReused = isReused
        self.transparentHugeBytes = transparentHugeBytes
        self.filePath = filePath
        self.blocks = blocks
    }

    public var description: String {
        var parts: [String] = []
        if let path = filePath { parts.append("file \(path)") }
        if let requested = requestedPageSize, requested != obtainedPageSize {
            parts.append("pages \(obtainedPageSize) (asked \(requested))")
        } else {
            parts.append("pages \(obtainedPageSize)")
        }
        if let reason = fallbackReason { parts.append("fallback: \(reason)") }
        if let thp = transparentHugeBytes { parts.append("THP-backed \(thp) B") }
        if populate != .none { parts.append("populated \(populate)") }
        if isLocked { parts.append("locked") }
        if let policy = numaPolicy { parts.append("policy \(policy)" + (isPolicyInherited ? " (inherited)" : "")) }
        if isReused { parts.append("reused") }
        if !blocks.isEmpty { parts.append("blocks " + blocks.map(\.description).joined(separator: ", ")) }
        return parts.joined(separator: ", ")
    }
}

extension BufferBacking.Backend {
    /// An anonymous `mmap` (``MmapAllocator``).
    public static var mmap: Self { Self("mmap") }
    /// An anonymous `mmap` with a NUMA policy (``NumaAllocator``).
    public static var numa: Self { Self("numa") }
    /// A file mapping (``FileMapping``).
    public static var file: Self { Self("file") }
}

extension BufferBacking {
    /// What ZiggyMmap knows about the memory (nil for memory from other backends, which is on base
    /// pages, not populated, not locked, with no policy of its own).
    public var mapping: MappingDetails? { details(as: MappingDetailsRecord.self)?.details }
}

/// The mapping details as a backend's attachment to `BufferBacking` (the core's extension point,
/// SPI), so that ``MappingDetails`` itself is an ordinary public value.
struct MappingDetailsRecord: BackingDetails {
    let details: MappingDetails
    init(_ details: MappingDetails) { self.details = details }
    var description: String { details.description }
}
