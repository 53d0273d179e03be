@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// Advice to the kernel about a mapped buffer's pages (`madvise`).
public enum MemoryAdvice: Sendable, Hashable, CustomStringConvertible {
    /// Fault the pages in soon (read-ahead for file mappings).
    case willNeed
    /// Discard the contents now and free the memory; the mapping stays, and the pages read as
    /// zero (anonymous) or as the file's contents (file mappings) when touched again.
    case dontNeed
    /// The contents may be discarded lazily under memory pressure (`MADV_FREE`, anonymous
    /// non-hugetlb memory only); until then they stay. Write before reading again.
    case free
    /// Allow transparent huge pages for the range.
    case hugePage
    /// Forbid transparent huge pages for the range.
    case noHugePage
    /// Expect sequential access (aggressive read-ahead for file mappings).
    case sequential
    /// Expect random access (no read-ahead).
    case random

    var code: Int32 {
        switch self {
        case .willNeed: return KernelConstants.MADV_WILLNEED
        case .dontNeed: return KernelConstants.MADV_DONTNEED
        case .free: return KernelConstants.MADV_FREE
        case .hugePage: return KernelConstants.MADV_HUGEPAGE
        case .noHugePage: return KernelConstants.MADV_NOHUGEPAGE
        case .sequential: return KernelConstants.MADV_SEQUENTIAL
        case .random: return KernelConstants.MADV_RANDOM
        }
    }

    /// Advice that changes contents applies only to whole pages inside the range.
    var isDestructive: Bool { self == .dontNeed || self == .free }

    public var description: String {
        switch self {
        case .willNeed: return "will-need"
        case .dontNeed: return "don't-need"
        case .free: return "free"
        case .hugePage: return "huge-page"
        case .noHugePage: return "no-huge-page"
        case .sequential: return "sequential"
        case .random: return "random"
        }
    }
}

extension MemoryAdvice {
    /// Gives the advice for the pages holding bytes `[start, end)` of a mapping whose advisable
    /// unit is `pageBytes` (the huge page size for hugetlb, else the base page). Destructive
    /// advice covers only whole pages inside the range; other advice every page it touches.
    func apply(start: UInt, end: UInt, pageBytes: Int, pageSize: PageSize) throws(MmapError) {
        let page = UInt(pageBytes)
        let low = isDestructive ? (start + page - 1) / page * page : start / page * page
        let high = isDestructive ? end / page * page : (end + page - 1) / page * page
        guard high > low else { return }
        if case .failure(let error) = Kernel.madvise(UnsafeMutableRawPointer(bitPattern: low)!, Int(high - low), code) {
            throw .kernel(call: "madvise(\(self))", errno: error, request: "advising \(high - low) B of \(pageSize) pages")
        }
    }
}

extension UnmanagedBuffer {
    /// Gives `advice` for the pages holding `elements` (nil, the default: the whole buffer).
    ///
    /// Only for buffers from ``MmapAllocator``, ``NumaAllocator`` or ``FileMapping`` (whose pages no
    /// one else shares). Destructive advice (`dontNeed`, `free`) applies only to the pages lying
    /// wholly inside `elements`, so neighbouring elements keep their values; other advice covers
    /// every page the range touches. Throws ``MmapError/invalidArgument(_:)`` for other buffers or
    /// an out-of-range `elements`, and ``MmapError/kernel(call:errno:request:)`` when the kernel
    /// refuses (e.g. `free` on hugetlb pages).
    public mutating func advise(_ advice: MemoryAdvice, elements: Range<Int>? = nil) throws(MmapError) {
        let elements = elements ?? 0..<count
        guard elements.lowerBound >= 0, elements.upperBound <= count else {
            throw .invalidArgument("advise: range \(elements) is outside 0..<\(count)")
        }
        // No elements, no pages: nothing to advise (an empty buffer from any allocator).
        guard !elements.isEmpty else { return }
        let pageSize: PageSize
        if let obtained = MappingRecord.of(self)?.mapping.obtained {
            pageSize = obtained.isHugeTLB ? obtained : .base
        } else if owner(ofType: FileMappingRecord.self) != nil {
            pageSize = .base
        } else {
            throw .invalidArgument(
                "advise needs a buffer from MmapAllocator, NumaAllocator or FileMapping; "
                    + "this one is \(backing.backend) memory, whose pages may be shared with other allocations")
        }
        let stride = MemoryLayout<Element>.stride
        let base = UInt(bitPattern: unsafe unsafeBaseAddress)
        try advice.apply(
            start: base + UInt(elements.lowerBound * stride), end: base + UInt(elements.upperBound * stride),
            pageBytes: pageSize.byteCount, pageSize: backing.mapping?.obtainedPageSize ?? .base)
    }
}
