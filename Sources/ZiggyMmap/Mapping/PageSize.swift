import ZiggyKernel

/// The size of the pages backing a buffer: what an allocator is asked for, and what it obtained.
///
/// `transparentHuge` names a region the kernel may back with 2 MiB pages on its own (transparent
/// huge pages, THP); whether it did is only known after the memory is touched, so reports of
/// obtained THP coverage come from `/proc/self/smaps` (see ``PageSize/Report``).
/// `huge2MiB` and `huge1GiB` are hugetlb pages: reserved up front, guaranteed once mapped.
public enum PageSize: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The system's base page (4 KiB on x86_64).
    case base
    /// A base-page mapping aligned to 2 MiB and advised `MADV_HUGEPAGE`.
    case transparentHuge
    /// hugetlb 2 MiB pages (`MAP_HUGETLB | MAP_HUGE_2MB`).
    case huge2MiB
    /// hugetlb 1 GiB pages (`MAP_HUGETLB | MAP_HUGE_1GB`).
    case huge1GiB

    /// The system's base page size in bytes (public as `PageSize.base.byteCount`).
    package static var basePageByteCount: Int { KernelConstants.basePageByteCount }

    /// Bytes per page. For `transparentHuge` this is the PMD size (2 MiB on x86_64 and arm64 with
    /// 4 KiB base pages), the unit the kernel promotes to.
    public var byteCount: Int {
        switch self {
        case .base: return PageSize.basePageByteCount
        case .transparentHuge, .huge2MiB: return 2 << 20
        case .huge1GiB: return 1 << 30
        }
    }

    /// Whether this is a hugetlb page size (reserved pool, `MAP_HUGETLB`).
    public var isHugeTLB: Bool { self == .huge2MiB || self == .huge1GiB }

    public var description: String {
        switch self {
        case .base: return "base \(PageSize.basePageByteCount / 1024) KiB"
        case .transparentHuge: return "THP 2 MiB"
        case .huge2MiB: return "hugetlb 2 MiB"
        case .huge1GiB: return "hugetlb 1 GiB"
        }
    }

    /// The page size whose `byteCount` is `bytes` among the kernel's page kinds, if any; THP is
    /// never inferred from a size alone.
    package init?(hugeTLBByteCount bytes: Int) {
        switch bytes {
        case 2 << 20: self = .huge2MiB
        case 1 << 30: self = .huge1GiB
        default: return nil
        }
    }
}
