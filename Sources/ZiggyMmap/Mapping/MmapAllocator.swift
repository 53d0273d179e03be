@_spi(AllocatorImplementation) import ZiggyAlloc

/// Anonymous memory mappings with an explicit page size — base pages, transparent huge pages, or
/// hugetlb 2 MiB / 1 GiB — handed out as ``UnmanagedBuffer``s.
///
/// **Truth.** Every buffer's ``UnmanagedBuffer/backing`` says which page size it obtained and
/// why it differs from the request, if it does; ``UnmanagedBuffer/pageSizeReport()`` checks it
/// against `/proc/self/smaps`. Fallbacks are counted in ``mmapStatistics`` and reported through
/// `onFallback`.
///
/// **Failure.** Allocation throws ``MmapError`` — an empty hugetlb pool names the free pages per
/// node and how to reserve more — and leaves nothing mapped, locked or counted. Population uses
/// `MADV_POPULATE_WRITE`, so a shortage is an error rather than a SIGBUS; hugetlb mappings are
/// never `MAP_NORESERVE`, and alignment slack is reserved as address space only, so a request
/// needs exactly ⌈size / page⌉ huge pages whatever its alignment.
///
/// **Zeroing.** Fresh anonymous mappings are zero-filled by the kernel, so `zeroed: true` costs
/// nothing for them; only memory reused from the pool is cleared (with `memset`, and only when
/// asked).
///
/// **NUMA.** This allocator sets no memory policy; ``NumaAllocator`` does, with the checks that
/// keep hugetlb pages on a node from raising SIGBUS.
///
/// Thread-safe: share one instance. Buffers may outlive the allocator: its pool is unmapped when
/// the allocator goes, and later frees unmap directly, so no mapping outlives both its buffer and
/// its allocator.
public final class MmapAllocator: UnmanagedMemoryAllocator, Sendable {

    @_spi(AllocatorImplementation)
    public static func failure(forInvalidRequest error: AllocationError) -> MmapError { .request(error) }

    /// How buffers are mapped: the parameters of ``init(pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)``,
    /// held by the engine (package-only: the initializer's parameters are the one public spelling).
    package struct Options: Sendable {
        /// The page size asked for.
        package var pageSize: PageSize
        /// What to do when it cannot be had.
        package var fallback: MmapAllocator.Fallback
        /// How pages are faulted in before a buffer is returned.
        package var populate: PopulateMode
        /// `mlock` the pages (fails with ``MmapError/memoryLockLimit(byteCount:limit:errno:)``
        /// beyond `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`).
        package var lock: Bool
        /// Keep up to this many bytes of freed mappings to hand out again (0: no pool). Repeated
        /// allocate/free of large buffers then reuses mappings whose pages are already faulted in.
        package var reusePoolBytes: Int
        /// Called (on the allocating thread) whenever a request is served with another page size.
        package var onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)?

        package init(
            pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict, populate: PopulateMode = .none,
            lock: Bool = false, reusePoolBytes: Int = 0, onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)? = nil
        ) {
            self.pageSize = pageSize
            self.fallback = fallback
            self.populate = populate
            self.lock = lock
            self.reusePoolBytes = reusePoolBytes
            self.onFallback = onFallback
        }
    }

    let engine: MappingEngine

    /// An allocator mapping with `options`.
    package init(_ options: Options) {
        engine = MappingEngine(options: options, placement: nil)
    }

    /// An allocator mapping `pageSize` pages.
    ///
    /// - `fallback`: what to do when `pageSize` cannot be had.
    /// - `populate`: how pages are faulted in before a buffer is returned.
    /// - `lock`: `mlock` the pages (fails with ``MmapError/memoryLockLimit(byteCount:limit:errno:)``
    ///   beyond `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`).
    /// - `reusePoolBytes`: keep up to this many bytes of freed mappings to hand out again (0: no
    ///   pool); repeated allocate/free of large buffers then reuses mappings already faulted in.
    /// - `onFallback`: called (on the allocating thread) whenever a request is served with
    ///   another page size.
    public convenience init(
        pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict,
        populate: PopulateMode = .none, lock: Bool = false, reusePoolBytes: Int = 0,
        onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)? = nil
    ) {
        self.init(
            Options(
                pageSize: pageSize, fallback: fallback, populate: populate, lock: lock,
                reusePoolBytes: reusePoolBytes, onFallback: onFallback))
    }

    deinit {
        engine.close()
    }

    /// The options this allocator maps with.
    package var options: Options { engine.options }

    public var supportsIndividualDeallocation: Bool { true }

    public var statistics: AllocationStatistics { engine.counters.allocation }

    /// Fallbacks, page sizes obtained, pool use and mapped bytes.
    public var mmapStatistics: MmapAllocator.Statistics { engine.mmapStatistics }

    @_spi(AllocatorImplementation)
    public func allocateRaw(_ request: AllocationRequest) throws(MmapError) -> RawAllocation {
        try engine.allocate(request)
    }

    /// Resizes this allocator's own mappings (nil for other memory, which is then copied): base
    /// and THP mappings with `mremap` — in place, or moved by the kernel without a copy;
    /// allocators that populate grow in place only and populate the new pages — and hugetlb
    /// mappings by unmapping tail pages when shrinking. Growing hugetlb is a new mapping plus a
    /// copy: a strict allocator first checks that the pool holds the new pages while the old ones
    /// are still in use and throws ``MmapError/hugePagesUnavailable(_:neededPages:detail:)``
    /// saying so. The buffer keeps its page size, alignment, lock and NUMA policy (the kernel
    /// keeps a mapping's policy for its grown pages); a resize counts as one free and one
    /// allocation. Throws (leaving the buffer as it was) when the kernel has no memory or a lock
    /// limit is reached. Thread-safe.
    @_spi(AllocatorImplementation)
    public func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(MmapError) -> RawAllocation? {
        try engine.resize(allocation, to: request)
    }

    /// Unmaps every mapping the reuse pool holds.
    public func drainPool() {
        engine.drainPool()
    }
}

extension MmapAllocator {
    /// What an allocator does when the page size asked for cannot be had.
    public enum Fallback: Sendable, Hashable, CustomStringConvertible {
        /// Throw: no other page size is acceptable.
        case strict
        /// Try these page sizes, in order, after the requested one.
        case fallback(to: [PageSize])
        /// Try each smaller kind in turn: 1 GiB → 2 MiB → THP → base.
        case anySmaller

        /// The page sizes to try for `requested`, requested first.
        package func chain(for requested: PageSize) -> [PageSize] {
            switch self {
            case .strict:
                return [requested]
            case .fallback(let sizes):
                var chain = [requested]
                for size in sizes where !chain.contains(size) { chain.append(size) }
                return chain
            case .anySmaller:
                let order: [PageSize] = [.huge1GiB, .huge2MiB, .transparentHuge, .base]
                return Array(order.drop(while: { $0 != requested }))
            }
        }

        public var description: String {
            switch self {
            case .strict: return "strict"
            case .fallback(let sizes): return "fallback to " + sizes.map(\.description).joined(separator: " → ")
            case .anySmaller: return "any smaller page size"
            }
        }
    }
}

extension MmapAllocator {
    /// A request served with another page size than asked for, as reported to
    /// the allocator's `onFallback`.
    public struct FallbackEvent: Sendable, Hashable, CustomStringConvertible {
        public let requested: PageSize
        public let obtained: PageSize
        public let byteCount: Int
        /// Why each page size tried before `obtained` failed, in order.
        public let reasons: [String]

        public var description: String {
            "\(byteCount) B: asked \(requested), got \(obtained) — " + reasons.joined(separator: "; ")
        }
    }
}
