/// What a buffer's memory really is: which backend made it, with which pages, alignment, NUMA
/// policy and population state.
///
/// Every field reports what was obtained, never merely what was asked for: a hugetlb request that
/// fell back to base pages says `obtainedPageSize == .base` and names the reason in
/// ``fallbackReason``. Values, not live views: take a new one after changing the memory (advice,
/// migration).
public struct BufferBacking: Sendable, Hashable, CustomStringConvertible {
    /// The backend that owns the memory.
    public enum Backend: String, Sendable, Hashable {
        /// `malloc`/`posix_memalign`/`calloc` via ``SystemMemoryAllocator``.
        case system
        /// A ``ScopedAllocator`` arena; freed all at once at the end of its scope.
        case scoped
        /// An anonymous `mmap` (ZiggyMmap's `MmapAllocator`).
        case mmap
        /// An anonymous `mmap` with a NUMA policy (ZiggyMmap's `NumaAllocator`).
        case numa
        /// A file mapping (ZiggyMmap's file mappings).
        case file
        /// Foreign memory wrapped without ownership; never freed by the buffer.
        case wrapped
        /// A user-defined allocator.
        case custom
    }

    public var backend: Backend
    /// A custom allocator's own name (nil for the built-in backends).
    public var customName: String?
    /// Whether a ``DebugMemoryAllocator`` tracks the buffer (its free is recorded for leak reports).
    public var isDebugTracked: Bool = false
    /// Whether the buffer frees its memory (false for wrapped foreign memory).
    public var isOwning: Bool = true
    /// The alignment the allocator guarantees for the first element (bytes).
    public var alignment: Int
    /// Bytes reserved for the buffer, including rounding up to whole pages (at least `byteCount`).
    public var reservedByteCount: Int
    /// The page size asked for, when the allocator takes a request (nil for malloc-based ones).
    public var requestedPageSize: PageSize?
    /// The page size the memory is mapped with. For `.transparentHuge` the region is eligible
    /// and advised; the bytes the kernel really backs with huge pages are in
    /// ``transparentHugeBytes`` when they were measured.
    public var obtainedPageSize: PageSize
    /// Why the obtained page size differs from the requested one (nil when it does not).
    public var fallbackReason: String?
    /// How the pages were faulted in before the buffer was returned.
    public var populate: PopulateMode = .none
    /// Whether the pages are locked in RAM (`mlock`).
    public var isLocked: Bool = false
    /// The NUMA policy the kernel accepted for the range (nil: none set).
    public var numaPolicy: NumaPolicy?
    /// Whether the memory came from an allocator's reuse pool rather than a fresh mapping.
    public var isReused: Bool = false
    /// For THP regions populated at allocation: bytes the kernel backed with huge pages
    /// (`AnonHugePages` in `/proc/self/smaps`), measured then.
    public var transparentHugeBytes: Int?

    public init(backend: Backend, customName: String? = nil, alignment: Int, reservedByteCount: Int,
                requestedPageSize: PageSize? = nil, obtainedPageSize: PageSize = .base) {
        self.backend = backend
        self.customName = customName
        self.alignment = alignment
        self.reservedByteCount = reservedByteCount
        self.requestedPageSize = requestedPageSize
        self.obtainedPageSize = obtainedPageSize
    }

    /// Whether the request was satisfied with a different page size than asked for.
    public var fellBack: Bool { fallbackReason != nil }

    public var description: String {
        var parts = [customName ?? backend.rawValue]
        if isDebugTracked { parts.append("debug-tracked") }
        if !isOwning { parts.append("non-owning") }
        parts.append("align \(alignment)")
        if let requested = requestedPageSize, requested != obtainedPageSize {
            parts.append("pages \(obtainedPageSize) (asked \(requested))")
        } else {
            parts.append("pages \(obtainedPageSize)")
        }
        if let reason = fallbackReason { parts.append("fallback: \(reason)") }
        if let thp = transparentHugeBytes { parts.append("THP-backed \(thp) of \(reservedByteCount) B") }
        if populate != .none { parts.append("populated \(populate)") }
        if isLocked { parts.append("locked") }
        if let policy = numaPolicy { parts.append("policy \(policy)") }
        if isReused { parts.append("reused") }
        return parts.joined(separator: ", ")
    }
}
