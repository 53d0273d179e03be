/// Anonymous memory mappings with an explicit page size — base pages, transparent huge pages, or
/// hugetlb 2 MiB / 1 GiB — handed out as ``UnmanagedBuffer``s.
///
/// **Truth.** Every buffer's ``UnmanagedBuffer/backing`` says which page size it obtained and
/// why it differs from the request, if it does; ``UnmanagedBuffer/pageSizeReport()`` checks it
/// against `/proc/self/smaps`. Fallbacks are counted in ``mmapStatistics`` and reported through
/// ``Options/onFallback``.
///
/// **Failure.** Allocation throws ``AllocationError`` — an empty hugetlb pool names the free
/// pages per node and how to reserve more — and leaves nothing mapped, locked or counted.
/// Population uses `MADV_POPULATE_WRITE`, so a shortage is an error rather than a SIGBUS; hugetlb
/// mappings are never `MAP_NORESERVE`.
///
/// **Zeroing.** Fresh anonymous mappings are zero-filled by the kernel, so `zeroed: true` costs
/// nothing for them; only memory reused from the pool is cleared (with `memset`, and only when
/// asked).
///
/// Thread-safe: share one instance. Buffers may outlive the allocator (its pool is unmapped when
/// the allocator goes; later frees unmap directly).
public final class MmapAllocator: UnmanagedMemoryAllocator, Sendable {
    /// How buffers are mapped.
    public struct Options: Sendable {
        /// The page size asked for.
        public var pageSize: PageSize
        /// What to do when it cannot be had.
        public var fallback: FallbackPolicy
        /// How pages are faulted in before a buffer is returned.
        public var populate: PopulateMode
        /// `mlock` the pages (fails with ``AllocationError/memoryLockLimit(byteCount:limit:errno:)``
        /// beyond `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`).
        public var lock: Bool
        /// Keep up to this many bytes of freed mappings to hand out again (0: no pool). Repeated
        /// allocate/free of large buffers then reuses mappings whose pages are already faulted in.
        public var reusePoolBytes: Int
        /// Called (on the allocating thread) whenever a request is served with another page size.
        public var onFallback: (@Sendable (FallbackEvent) -> Void)?
        /// The NUMA policy applied before first touch (set by `NumaAllocator`).
        public var numaPolicy: NumaPolicy?

        public init(pageSize: PageSize = .base, fallback: FallbackPolicy = .strict, populate: PopulateMode = .none,
                    lock: Bool = false, reusePoolBytes: Int = 0, numaPolicy: NumaPolicy? = nil,
                    onFallback: (@Sendable (FallbackEvent) -> Void)? = nil) {
            self.pageSize = pageSize
            self.fallback = fallback
            self.populate = populate
            self.lock = lock
            self.reusePoolBytes = reusePoolBytes
            self.numaPolicy = numaPolicy
            self.onFallback = onFallback
        }
    }

    let engine: MappingEngine

    /// An allocator mapping with `options`.
    public init(_ options: Options) {
        engine = MappingEngine(options: options, backend: options.numaPolicy == nil ? .mmap : .numa)
    }

    /// An allocator mapping `pageSize` pages (see ``Options`` for the other parameters).
    public convenience init(pageSize: PageSize = .base, fallback: FallbackPolicy = .strict,
                            populate: PopulateMode = .none, lock: Bool = false, reusePoolBytes: Int = 0) {
        self.init(Options(pageSize: pageSize, fallback: fallback, populate: populate, lock: lock,
                          reusePoolBytes: reusePoolBytes))
    }

    deinit {
        engine.close()
    }

    /// The options this allocator maps with.
    public var options: Options { engine.options }

    public var supportsIndividualDeallocation: Bool { true }

    public var statistics: AllocationStatistics { engine.recorder.snapshot }

    /// Fallbacks, page sizes obtained, pool use and mapped bytes.
    public var mmapStatistics: MmapStatistics { engine.statistics }

    public func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        try engine.allocate(request)
    }

    /// Unmaps every mapping the reuse pool holds.
    public func drainPool() {
        engine.drainPool()
    }
}
