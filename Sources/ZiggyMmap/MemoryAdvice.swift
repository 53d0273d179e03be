import Glibc

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
        case .willNeed: return 3
        case .dontNeed: return 4
        case .free: return 8
        case .hugePage: return 14
        case .noHugePage: return 15
        case .sequential: return 2
        case .random: return 1
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

extension UnmanagedBuffer {
    /// Gives `advice` for the whole buffer. See ``advise(_:elements:)``.
    public mutating func advise(_ advice: MemoryAdvice) throws(AllocationError) {
        try advise(advice, elements: 0..<count)
    }

    /// Gives `advice` for the pages holding `elements`.
    ///
    /// Only for buffers from ``MmapAllocator``, `NumaAllocator` or ``FileMapping`` (whose pages no
    /// one else shares). Destructive advice (`dontNeed`, `free`) applies only to the pages lying
    /// wholly inside `elements`, so neighbouring elements keep their values; other advice covers
    /// every page the range touches. Throws ``AllocationError/invalidArgument(_:)`` for other
    /// buffers or an out-of-range `elements`, and ``AllocationError/kernel(call:errno:request:)``
    /// when the kernel refuses (e.g. `free` on hugetlb pages).
    public mutating func advise(_ advice: MemoryAdvice, elements: Range<Int>) throws(AllocationError) {
        guard elements.lowerBound >= 0, elements.upperBound <= count else {
            throw .invalidArgument("advise: range \(elements) is outside 0..<\(count)")
        }
        let pageBytes: Int
        if let mapping = MappingRecord.of(self) {
            pageBytes = mapping.obtained.isHugeTLB ? mapping.obtained.byteCount : PageSize.basePageByteCount
        } else if owner(ofType: FileMappingRecord.self) != nil {
            pageBytes = PageSize.basePageByteCount
        } else {
            throw .invalidArgument("advise needs a buffer from MmapAllocator, NumaAllocator or FileMapping; "
                + "this one is \(backing.backend.rawValue) memory, whose pages may be shared with other allocations")
        }
        let stride = MemoryLayout<Element>.stride
        let start = UInt(bitPattern: baseAddress) + UInt(elements.lowerBound * stride)
        let end = UInt(bitPattern: baseAddress) + UInt(elements.upperBound * stride)
        let page = UInt(pageBytes)
        let low = advice.isDestructive ? (start + page - 1) / page * page : start / page * page
        let high = advice.isDestructive ? end / page * page : (end + page - 1) / page * page
        guard high > low else { return }
        if case .failure(let error) = Kernel.madvise(UnsafeMutableRawPointer(bitPattern: low)!, Int(high - low), advice.code) {
            throw .kernel(call: "madvise(\(advice))", errno: error.code,
                          request: "advising \(high - low) B of \(backing.obtainedPageSize) pages")
        }
    }
}
