import Synchronization
import Glibc
import Logging

/// The shared machinery of ``MmapAllocator`` and `NumaAllocator`: map with a page size (falling
/// back as allowed), align, advise, bind, lock, populate, verify; unmap or pool on release.
/// Every step that fails undoes the steps before it, so a thrown error leaves nothing mapped.
/// Thread-safe.
final class MappingEngine: Sendable {
    let options: MmapAllocator.Options
    let backend: BufferBacking.Backend
    let recorder = StatisticsRecorder()
    let counters = Locked(MmapStatistics())
    let pool: Locked<MappingPool>?
    /// Set when the allocator is gone: released mappings are unmapped instead of pooled.
    let closed = Atomic<Bool>(false)
    /// CPUs the population threads run on (a NUMA buffer's nodes), if pinned.
    let populateCPUs: [Int]?
    /// The THP settings and hugetlb sizes when the allocator was made (read once: sysfs reads
    /// would cost more than the mmap itself on every allocation).
    let transparentHuge: TransparentHugePages
    let hugeTLBSizes: Set<PageSize>
    /// Checks run before mapping `pages` pages of a size (NUMA: the target nodes' hugetlb pools).
    let preMapCheck: (@Sendable (PageSize, Int) throws(AllocationError) -> Void)?
    static let logger = Logger(label: "ZiggyMmap")

    static let MAP_HUGE_SHIFT: Int32 = 26
    static let MADV_HUGEPAGE: Int32 = 14
    static let MADV_NOHUGEPAGE: Int32 = 15
    static let MADV_POPULATE_WRITE: Int32 = 23

    init(options: MmapAllocator.Options, backend: BufferBacking.Backend, populateCPUs: [Int]? = nil,
         preMapCheck: (@Sendable (PageSize, Int) throws(AllocationError) -> Void)? = nil) {
        self.options = options
        self.backend = backend
        self.populateCPUs = populateCPUs
        self.preMapCheck = preMapCheck
        transparentHuge = TransparentHugePages.read()
        hugeTLBSizes = Set(HugePagePool.supportedSizes)
        pool = options.reusePoolBytes > 0 ? Locked(MappingPool(capacity: options.reusePoolBytes)) : nil
    }

    /// Ends pooling and unmaps what the pool holds.
    func close() {
        closed.store(true, ordering: .sequentiallyConsistent)
        drainPool()
    }

    /// Unmaps what the pool holds.
    func drainPool() {
        let entries = pool?.withLock { $0.drain() } ?? []
        for entry in entries { unmap(entry.base, entry.length) }
    }

    /// The counters, with the pool's current size.
    var statistics: MmapStatistics {
        var statistics = counters.withLock { $0 }
        statistics.pooledBytes = pool?.withLock { $0.bytes } ?? 0
        return statistics
    }

    // MARK: allocation

    func allocate(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        if request.byteCount == 0 {
            return UnmanagedBuffer(unsafeBase: UnsafeMutablePointer(bitPattern: request.alignment)!, count: 0,
                                   deallocator: .none)
        }
        let chain = options.fallback.chain(for: options.pageSize)
        var reasons: [String] = []
        for (index, size) in chain.enumerated() {
            do {
                let record = try mapOne(size, request, fallbackReason: reasons.isEmpty ? nil : reasons.joined(separator: "; "))
                let fellBack = size != options.pageSize
                counters.withLock {
                    if fellBack { $0.fallbacks += 1 }
                    $0.obtainedPageSizes[size, default: 0] += 1
                    $0.mappedBytes += record.length
                }
                if fellBack {
                    options.onFallback?(FallbackEvent(requested: options.pageSize, obtained: size,
                                                      byteCount: request.byteCount, reasons: reasons))
                }
                recorder.recordAllocation(byteCount: request.byteCount)
                return UnmanagedBuffer(unsafeBase: record.base.assumingMemoryBound(to: UInt8.self),
                                       count: request.byteCount, deallocator: .owner(record))
            } catch {
                let isLast = index == chain.count - 1
                guard !isLast, Self.allowsFallback(error) else { throw error }
                reasons.append("\(size): \(error)")
            }
        }
        preconditionFailure("the fallback chain is never empty")
    }

    /// Page-size shortages may fall back; everything else (bad policy, lock limits) is final.
    static func allowsFallback(_ error: AllocationError) -> Bool {
        switch error {
        case .hugePagesUnavailable, .unsupportedPageSize: return true
        default: return false
        }
    }

    private func mapOne(_ size: PageSize, _ request: AllocationRequest, fallbackReason: String?) throws(AllocationError) -> MappingRecord {
        let pageBytes = size.byteCount
        let length = (request.byteCount + pageBytes - 1) / pageBytes * pageBytes
        let policy = options.numaPolicy
        if pool != nil, !closed.load(ordering: .relaxed) {
            let taken = pool?.withLock {
                $0.take(pageSize: size, length: length, alignment: request.alignment, policy: policy, locked: options.lock)
            }
            counters.withLock {
                if taken != nil { $0.poolHits += 1 } else { $0.poolMisses += 1 }
            }
            if let taken {
                return try reuse(taken, size, request, fallbackReason: fallbackReason)
            }
        }
        try checkAvailable(size, pages: length / pageBytes)
        try preMapCheck?(size, length / pageBytes)

        // Map, over-reserving when the alignment is stricter than what mmap guarantees.
        let natural = size.isHugeTLB ? pageBytes : PageSize.basePageByteCount
        let alignment = max(request.alignment, size == .transparentHuge ? pageBytes : natural)
        let mapLength = length + (alignment - natural)
        var flags = MAP_PRIVATE | MAP_ANONYMOUS
        if size.isHugeTLB { flags |= MAP_HUGETLB | (Int32(pageBytes.trailingZeroBitCount) << Self.MAP_HUGE_SHIFT) }
        let raw: UnsafeMutableRawPointer
        switch Kernel.mmap(nil, mapLength, PROT_READ | PROT_WRITE, flags, -1, 0) {
        case .success(let pointer): raw = pointer
        case .failure(let error): throw mmapError(error, size, length: length)
        }
        let start = UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: raw) + UInt(alignment - 1)) & ~UInt(alignment - 1))!
        let head = start - raw
        if head > 0 { unmap(raw, head) }
        let tail = mapLength - head - length
        if tail > 0 { unmap(start + length, tail) }

        do throws(AllocationError) {
            if size == .transparentHuge, case .failure(let error) = Kernel.madvise(start, length, Self.MADV_HUGEPAGE) {
                throw AllocationError.unsupportedPageSize(size, reason: "madvise(MADV_HUGEPAGE) failed with \(error)")
            }
            // With THP `always`, a base-page request would silently get huge pages; opt out so the
            // buffer is what it says.
            if size == .base && transparentHuge.mode == .always,
               case .failure(let error) = Kernel.madvise(start, length, Self.MADV_NOHUGEPAGE) {
                throw AllocationError.kernel(call: "madvise(MADV_NOHUGEPAGE)", errno: error.code,
                                             request: "keeping \(length) B on base pages (THP is always)")
            }
            let accepted = try applyPolicy(start, length)
            let populated = try populate(start, length, size)
            if options.lock { try lock(start, length) }
            let thp = size == .transparentHuge && populated != .none
                ? PageSizeReport.measure(address: start, byteCount: length).transparentHugeBytes : nil
            return MappingRecord(
                engine: self, base: start, length: length, requested: options.pageSize, obtained: size,
                fallbackReason: fallbackReason, populate: populated, locked: options.lock, policy: accepted,
                reused: false, transparentHugeBytes: thp, alignment: alignment)
        } catch {
            unmap(start, length)
            throw error
        }
    }

    private func reuse(_ entry: MappingPool.Entry, _ size: PageSize, _ request: AllocationRequest,
                       fallbackReason: String?) throws(AllocationError) -> MappingRecord {
        if request.zeroed { memset(entry.base, 0, request.byteCount) }
        let populated: PopulateMode
        do {
            populated = try populate(entry.base, entry.length, size)
        } catch {
            // The request fails cleanly; the mapping is not worth keeping.
            unmap(entry.base, entry.length)
            throw error
        }
        return MappingRecord(
            engine: self, base: entry.base, length: entry.length, requested: options.pageSize, obtained: size,
            fallbackReason: fallbackReason, populate: populated, locked: entry.locked, policy: entry.policy,
            reused: true, transparentHugeBytes: entry.transparentHugeBytes, alignment: request.alignment)
    }

    /// hugetlb and THP preconditions, with messages that say what to do.
    private func checkAvailable(_ size: PageSize, pages: Int) throws(AllocationError) {
        switch size {
        case .base:
            return
        case .transparentHuge:
            let thp = transparentHuge
            guard thp.isUsable else {
                throw .unsupportedPageSize(size, reason: thp.mode == .unavailable
                    ? "this kernel has no transparent huge pages"
                    : "transparent huge pages are disabled (enabled=never); "
                        + "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (as root)")
            }
        case .huge2MiB, .huge1GiB:
            guard hugeTLBSizes.contains(size) else {
                throw .unsupportedPageSize(size, reason: "the kernel offers no \(size) pool "
                    + "(/sys/kernel/mm/hugepages/\(HugePagePool.directoryName(size) ?? "?") is missing)")
            }
        }
    }

    private func mmapError(_ error: Errno, _ size: PageSize, length: Int) -> AllocationError {
        let pages = length / size.byteCount
        if size.isHugeTLB && (error.code == ENOMEM || error.code == EINVAL) {
            guard let pool = HugePagePool.read(size) else {
                return .unsupportedPageSize(size, reason: "mmap(MAP_HUGETLB) failed with \(error)")
            }
            return .hugePagesUnavailable(size, neededPages: pages,
                                         detail: "mmap failed with \(error). \(pool.shortageAdvice(needed: pages))")
        }
        if error.code == ENOMEM {
            return .outOfMemory(byteCount: length, backend: "mmap (\(size))", errno: error.code)
        }
        return .kernel(call: "mmap", errno: error.code, request: "mapping \(length) B of \(size) pages")
    }

    /// Binds the range to the NUMA policy before anything touches it; returns what the kernel
    /// reports it accepted.
    private func applyPolicy(_ start: UnsafeMutableRawPointer, _ length: Int) throws(AllocationError) -> NumaPolicy? {
        guard let policy = options.numaPolicy else { return nil }
        let (mode, mask) = policy.kernelArguments
        if policy != .default, case .failure(let error) = Kernel.mbind(start, length, mode, mask, 0) {
            throw .kernel(call: "mbind", errno: error.code, request: "applying NUMA policy \(policy) to \(length) B"
                + (error.code == EINVAL ? " (a mode this kernel lacks, or nodes without memory)" : ""))
        }
        switch Kernel.getMempolicy(address: start, maskWords: max(mask.count, 16)) {
        case .success(let (acceptedMode, acceptedMask)):
            return NumaPolicy(kernelMode: acceptedMode, mask: acceptedMask) ?? policy
        case .failure(let error):
            throw .kernel(call: "get_mempolicy", errno: error.code, request: "reading back the policy of \(length) B")
        }
    }

    /// Faults the range in as the options ask; shortages become errors, never SIGBUS.
    func populate(_ start: UnsafeMutableRawPointer, _ length: Int, _ size: PageSize) throws(AllocationError) -> PopulateMode {
        let mode = options.populate
        switch mode {
        case .none:
            return .none
        case .kernel:
            if let error = populateRange(start, length) { throw populateError(error, size, length) }
            return .kernel
        case .parallel(let requestedThreads):
            let pageBytes = size.byteCount
            let pages = length / pageBytes
            let threads = max(1, min(requestedThreads, pages))
            let perThread = (pages + threads - 1) / threads
            let failures = Locked<[Errno]>([])
            let pinError = WorkerThreads.run(count: threads, cpus: populateCPUs) { index in
                let first = index * perThread
                let count = min(perThread, pages - first)
                guard count > 0 else { return }
                if let error = self.populateRange(start + first * pageBytes, count * pageBytes) {
                    failures.withLock { $0.append(error) }
                }
            }
            if let pinError {
                throw .kernel(call: "sched_setaffinity", errno: pinError.code,
                              request: "pinning population threads to CPUs \(populateCPUs ?? [])")
            }
            if let error = failures.withLock({ $0.first }) { throw populateError(error, size, length) }
            return .parallel(threads: threads)
        }
    }

    /// `MADV_POPULATE_WRITE` (Linux 5.14+): faults the range in and reports a shortage as an
    /// error where touching the pages would raise SIGBUS.
    private func populateRange(_ start: UnsafeMutableRawPointer, _ length: Int) -> Errno? {
        if case .failure(let error) = Kernel.madvise(start, length, Self.MADV_POPULATE_WRITE) { return error }
        return nil
    }

    private func populateError(_ error: Errno, _ size: PageSize, _ length: Int) -> AllocationError {
        let pages = length / size.byteCount
        if size.isHugeTLB && (error.code == EFAULT || error.code == ENOMEM) {
            let node = options.numaPolicy.flatMap { policy -> Int? in
                if case .bind(let nodes) = policy, nodes.count == 1 { return nodes.first }
                return nil
            }
            let advice = HugePagePool.read(size)?.shortageAdvice(needed: pages, node: node) ?? ""
            let whereText = options.numaPolicy.map { " under policy \($0)" } ?? ""
            return .hugePagesUnavailable(size, neededPages: pages,
                                         detail: "populating\(whereText) failed with \(error). \(advice)")
        }
        if error.code == ENOMEM || error.code == EFAULT {
            let whereText = options.numaPolicy.map { " under policy \($0)" } ?? ""
            return .outOfMemory(byteCount: length, backend: "populating \(size) pages\(whereText)", errno: error.code)
        }
        return .kernel(call: "madvise(MADV_POPULATE_WRITE)", errno: error.code, request: "populating \(length) B"
            + (error.code == EINVAL ? " (population needs Linux 5.14 or later)" : ""))
    }

    private func lock(_ start: UnsafeMutableRawPointer, _ length: Int) throws(AllocationError) {
        if case .failure(let error) = Kernel.mlock(start, length) {
            throw .memoryLockLimit(byteCount: length, limit: Kernel.memlockLimit(), errno: error.code)
        }
    }

    // MARK: release

    func recycle(_ record: MappingRecord, byteCount: Int) {
        recorder.recordDeallocation(byteCount: byteCount)
        counters.withLock { $0.mappedBytes -= record.length }
        if pool != nil, !closed.load(ordering: .relaxed) {
            let entry = MappingPool.Entry(base: record.base, length: record.length, pageSize: record.obtained,
                                          policy: record.policy, locked: record.locked,
                                          transparentHugeBytes: record.transparentHugeBytes)
            let evicted = pool?.withLock { $0.put(entry) } ?? [entry]
            for stale in evicted { unmap(stale.base, stale.length) }
            return
        }
        unmap(record.base, record.length)
    }

    /// munmap; a failure (impossible for our own whole mappings short of a kernel bug) is logged
    /// and counted, and the mapping stays.
    func unmap(_ start: UnsafeMutableRawPointer, _ length: Int) {
        if case .failure(let error) = Kernel.munmap(start, length) {
            counters.withLock { $0.unmapFailures += 1 }
            Self.logger.error("munmap of \(length) B at \(start) failed with \(error); the mapping stays")
        }
    }
}
