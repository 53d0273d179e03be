import Glibc
import Synchronization
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// The mapping pipeline behind ``MmapAllocator`` and ``NumaAllocator``, read top to bottom:
/// for each page size of the fallback chain (computed once, here), reuse a pooled mapping or map a
/// fresh one — reserve aligned address space, map, advise, apply the NUMA placement, populate,
/// lock — and hand the record out. Every step that fails undoes the steps before it, so a thrown
/// error leaves nothing mapped. Thread-safe.
final class MappingEngine: Sendable {
    let options: MmapAllocator.Options
    /// How NUMA allocators place their mappings (nil: no policy is set).
    let placement: Placement?
    /// The page sizes to try, the requested one first.
    let chain: [PageSize]
    /// Why a page size of the chain cannot be had on this kernel at all, read once from sysfs
    /// (and only for the huge page sizes the chain names).
    let unsupported: [PageSize: String]
    let counters = MappingCounters()
    let pool: MappingPool?

    /// `chain`: the page sizes to try when the allocator already computed them (its population
    /// rule depends on them); otherwise computed here — once either way.
    init(options: MmapAllocator.Options, placement: Placement?, chain: [PageSize]? = nil) {
        self.options = options
        self.placement = placement
        self.chain = chain ?? options.fallback.chain(for: options.pageSize)
        unsupported = Self.unsupportedSizes(self.chain)
        pool = options.reusePoolBytes > 0 ? MappingPool(capacity: options.reusePoolBytes) : nil
    }

    /// Ends pooling and unmaps what the pool holds (the allocator is going away).
    func close() {
        for record in pool?.drain(closing: true) ?? [] { record.unmap() }
    }

    /// Unmaps what the pool holds.
    func drainPool() {
        for record in pool?.drain(closing: false) ?? [] { record.unmap() }
    }

    var mmapStatistics: MmapAllocator.Statistics { counters.mapping(pooledBytes: pool?.bytes ?? 0) }

    // MARK: allocation

    func allocate(_ request: AllocationRequest) throws(MmapError) -> RawAllocation {
        guard request.byteCount > 0 else {
            throw .invalidArgument(
                "allocateRaw: \(request) asks for no bytes; a mapping needs at least one "
                    + "(the typed allocate answers empty requests without mapping)")
        }
        var reasons: [String] = []
        var index = 0
        while true {
            let size = chain[index]
            do {
                let (record, poolHit) = try obtain(
                    size, request, fallbackReason: reasons.isEmpty ? nil : reasons.joined(separator: "; "),
                    last: index + 1 == chain.count)
                counters.allocated(
                    requestBytes: request.byteCount, mappedBytes: record.mapping.length, obtained: size,
                    fellBack: index > 0, poolHit: poolHit)
                if index > 0 {
                    options.onFallback?(
                        MmapAllocator.FallbackEvent(
                            requested: options.pageSize, obtained: size,
                            byteCount: request.byteCount, reasons: reasons))
                }
                return RawAllocation(base: record.mapping.base, byteCount: request.byteCount, deallocator: .owner(record))
            } catch {
                // Page-size shortages may fall back; everything else (bad policy, lock limits) is final.
                guard index + 1 < chain.count, error.allowsFallback else { throw error }
                // Named once: a shortage's own message already starts with the page size.
                let reason = "\(error)"
                reasons.append(reason.hasPrefix("\(size)") ? reason : "\(size): \(reason)")
                index += 1
            }
        }
    }

    /// A record of `size` pages for `request`: from the pool, or freshly mapped. The pool hit is
    /// nil when there is no pool.
    ///
    /// `last`: whether a failure here is the one the caller sees. Only then does a huge page
    /// shortage read the pools to name the free pages per node and how to reserve more; a failure
    /// the chain falls back from is recorded in a short form (it reads nothing).
    private func obtain(
        _ size: PageSize, _ request: AllocationRequest, fallbackReason: String?, last: Bool
    )
        throws(MmapError) -> (MappingRecord, Bool?)
    {
        let pageBytes = size.byteCount
        let length = (request.byteCount + pageBytes - 1) / pageBytes * pageBytes
        let alignment = max(request.alignment, size == .base ? PageSize.basePageByteCount : pageBytes)
        if let pool, let record = pool.take(pageSize: size, length: length, alignment: alignment) {
            return (try reuse(record, request, fallbackReason: fallbackReason), true)
        }
        if let reason = unsupported[size] { throw .unsupportedPageSize(size, reason: reason) }
        // A blocked placement's schedule, computed once and carried to every step and the record.
        let schedule = placement?.schedule(length, size)
        try placement?.checkPools(size, pages: length / pageBytes, schedule: schedule)
        let start = try map(size, length: length, alignment: alignment, explain: last)
        do throws(MmapError) {
            try advise(start, length, size)
            let applied = try placement?.apply(start, length, size, schedule: schedule)
            let populated: PopulateMode
            if case .none = options.populate {
                populated = .none
            } else {
                populated = try populate(start, length, size, schedule: schedule)
            }
            if options.lock, case .failure(let error) = Kernel.mlock(start, length) {
                throw .memoryLockLimit(byteCount: length, limit: Kernel.memlockLimit(), errno: error)
            }
            let thp =
                size == .transparentHuge && populated != .none
                ? PageSize.Report.measure(address: start, byteCount: length).transparentHugeBytes : nil
            let record = MappingRecord(
                .init(
                    base: start, length: length, obtained: size, alignment: alignment, locked: options.lock,
                    policy: applied?.policy, policyInherited: applied?.inherited ?? false, transparentHugeBytes: thp,
                    schedule: schedule, scheduleTeam: placement?.blocked.map { ObjectIdentifier($0.team) }),
                counters: counters, pool: pool, requested: options.pageSize, fallbackReason: fallbackReason,
                populate: populated)
            return (record, pool == nil ? nil : false)
        } catch {
            _ = Kernel.munmap(start, length)
            throw error
        }
    }

    /// A pooled record handed out again: zeroed when asked, populated as the options say.
    private func reuse(
        _ record: MappingRecord, _ request: AllocationRequest, fallbackReason: String?
    )
        throws(MmapError) -> MappingRecord
    {
        if request.zeroed { memset(record.mapping.base, 0, request.byteCount) }
        do {
            record.populate = try populate(
                record.mapping.base, record.mapping.length, record.mapping.obtained, schedule: record.mapping.schedule)
        } catch {
            // The request fails cleanly; the mapping is not worth keeping.
            record.unmap()
            throw error
        }
        record.requested = options.pageSize
        record.fallbackReason = fallbackReason
        record.reused = true
        return record
    }

    /// `length` bytes of `size` pages at an address aligned to `alignment`.
    ///
    /// When the alignment is stricter than what mmap gives, the slack is reserved as address space
    /// only (`PROT_NONE`, no memory, no huge pages) and the real mapping is placed inside it with
    /// `MAP_FIXED`: a hugetlb request then needs exactly `length / page size` pages.
    private func map(
        _ size: PageSize, length: Int, alignment: Int, explain: Bool
    ) throws(MmapError)
        -> UnsafeMutableRawPointer
    {
        let pageBytes = size.byteCount
        let basePage = PageSize.basePageByteCount
        var flags: Kernel.MapFlags = [.private, .anonymous]
        if size.isHugeTLB { flags.insert(.hugeTLB(pageBytes: pageBytes)) }
        if alignment <= (size.isHugeTLB ? pageBytes : basePage) {
            switch Kernel.mmap(nil, length, .readWrite, flags) {
            case .success(let start): return start
            case .failure(let error): throw mmapError(error, size, length: length, explain: explain)
            }
        }
        let reservation: AlignedReservation
        switch Kernel.reserveAligned(length, alignment: alignment, basePage: basePage) {
        case .success(let reserved): reservation = reserved
        case .failure(let error): throw mmapError(error, .base, length: length + alignment - basePage, explain: explain)
        }
        if case .failure(let error) = Kernel.mmap(reservation.start, length, .readWrite, flags.union(.fixed)) {
            reportSlack(reservation.release(), reservation)
            throw mmapError(error, size, length: length, explain: explain)
        }
        reportSlack(reservation.trim(), reservation)
        return reservation.start
    }

    /// munmaps of reservation slack that failed: logged and counted, as every unmap failure is.
    func reportSlack(_ failures: [Errno], _ reservation: AlignedReservation) {
        for error in failures {
            MappingRecord.logger.error(
                "munmap of reservation slack around \(reservation.start) failed with \(error.report); it stays reserved")
            counters.unmapFailed()
        }
    }

    private func mmapError(_ error: Errno, _ size: PageSize, length: Int, explain: Bool) -> MmapError {
        if size.isHugeTLB && (error == .noMemory || error == .invalidArgument) {
            // The pool exists (checked once, when the engine was made): a shortage.
            let cause = "mmap failed with \(error.report)"
            guard explain else {
                return .hugePagesUnavailable(size, neededPages: length / size.byteCount, detail: cause + " (no free pages)")
            }
            return HugePageReservation.Pool.shortage(size, neededPages: length / size.byteCount, node: nil, cause: cause)
        }
        if error == .noMemory { return .outOfMemory(byteCount: length, backend: "mmap (\(size))", errno: error) }
        return .kernel(call: "mmap", errno: error, request: "mapping \(length) B of \(size) pages")
    }

    /// THP regions are advised huge; base regions always opt out of THP, so the buffer is what it
    /// says even when THP is `always` (or becomes so while the buffer lives). EINVAL from
    /// MADV_NOHUGEPAGE means the kernel has no THP at all: the pages are base pages anyway.
    private func advise(_ start: UnsafeMutableRawPointer, _ length: Int, _ size: PageSize) throws(MmapError) {
        switch size {
        case .transparentHuge:
            if case .failure(let error) = Kernel.madvise(start, length, KernelConstants.MADV_HUGEPAGE) {
                throw .unsupportedPageSize(size, reason: "madvise(MADV_HUGEPAGE) failed with \(error.report)")
            }
        case .base:
            if case .failure(let error) = Kernel.madvise(start, length, KernelConstants.MADV_NOHUGEPAGE),
                error != .invalidArgument
            {
                throw .kernel(call: "madvise(MADV_NOHUGEPAGE)", errno: error, request: "keeping \(length) B on base pages")
            }
        case .huge2MiB, .huge1GiB:
            break
        }
    }

    /// Page sizes of the chain this kernel cannot provide, with the reason and what to do.
    private static func unsupportedSizes(_ chain: [PageSize]) -> [PageSize: String] {
        var reasons: [PageSize: String] = [:]
        for size in chain {
            switch size {
            case .base:
                break
            case .transparentHuge:
                let mode = PageSize.TransparentHugePages.readMode()
                guard mode != .always && mode != .madvise else { break }
                reasons[size] =
                    mode == .unavailable
                    ? "this kernel has no transparent huge pages"
                    : "transparent huge pages are disabled (enabled=never); "
                        + "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (as root)"
            case .huge2MiB, .huge1GiB:
                if !(HugePageReservation.Pool.globalPath(size, "nr_hugepages").map(Kernel.pathExists) ?? false) {
                    reasons[size] =
                        "the kernel offers no \(size) pool "
                        + "(/sys/kernel/mm/hugepages/\(HugePageReservation.Pool.directoryName(size) ?? "?") is missing)"
                }
            }
        }
        return reasons
    }
}

extension MmapError {
    /// Page-size shortages may fall back to the next page size; other failures are final.
    var allowsFallback: Bool {
        switch self {
        case .hugePagesUnavailable, .unsupportedPageSize: return true
        default: return false
        }
    }
}

/// A mapping allocator's one counter system: every event (an allocation, a free, a failed unmap)
/// updates these counters and no others. Atomics, so no event waits for another; each counter is
/// exact, and a snapshot taken while other threads allocate is a consistent-enough view of moving
/// counters (one taken after they are joined is exact).
final class MappingCounters: Sendable {
    private let liveBytes = Atomic<Int>(0)
    private let liveAllocations = Atomic<Int>(0)
    private let peakBytes = Atomic<Int>(0)
    private let cumulativeBytes = Atomic<Int>(0)
    private let totalAllocations = Atomic<Int>(0)
    private let mappedBytes = Atomic<Int>(0)
    private let fallbacks = Atomic<Int>(0)
    private let poolHits = Atomic<Int>(0)
    private let poolMisses = Atomic<Int>(0)
    private let unmapFailures = Atomic<Int>(0)
    /// Buffers handed out by obtained page size.
    private let obtainedBase = Atomic<Int>(0)
    private let obtainedTHP = Atomic<Int>(0)
    private let obtained2MiB = Atomic<Int>(0)
    private let obtained1GiB = Atomic<Int>(0)

    /// One buffer handed out; `poolHit` is nil when the allocator has no pool.
    func allocated(requestBytes: Int, mappedBytes mapped: Int, obtained size: PageSize, fellBack: Bool, poolHit: Bool?) {
        let live = liveBytes.add(requestBytes, ordering: .relaxed).newValue
        peakBytes.max(live, ordering: .relaxed)
        liveAllocations.add(1, ordering: .relaxed)
        cumulativeBytes.add(requestBytes, ordering: .relaxed)
        totalAllocations.add(1, ordering: .relaxed)
        mappedBytes.add(mapped, ordering: .relaxed)
        switch size {
        case .base: obtainedBase.add(1, ordering: .relaxed)
        case .transparentHuge: obtainedTHP.add(1, ordering: .relaxed)
        case .huge2MiB: obtained2MiB.add(1, ordering: .relaxed)
        case .huge1GiB: obtained1GiB.add(1, ordering: .relaxed)
        }
        if fellBack { fallbacks.add(1, ordering: .relaxed) }
        if let poolHit {
            if poolHit { poolHits.add(1, ordering: .relaxed) } else { poolMisses.add(1, ordering: .relaxed) }
        }
    }

    /// One buffer freed (its mapping pooled or unmapped).
    func freed(requestBytes: Int, mappedBytes mapped: Int) {
        liveBytes.subtract(requestBytes, ordering: .relaxed)
        liveAllocations.subtract(1, ordering: .relaxed)
        mappedBytes.subtract(mapped, ordering: .relaxed)
    }

    func unmapFailed() { unmapFailures.add(1, ordering: .relaxed) }

    var allocation: AllocationStatistics {
        AllocationStatistics(
            liveBytes: liveBytes.load(ordering: .relaxed), liveAllocations: liveAllocations.load(ordering: .relaxed),
            peakBytes: peakBytes.load(ordering: .relaxed), cumulativeBytes: cumulativeBytes.load(ordering: .relaxed),
            totalAllocations: totalAllocations.load(ordering: .relaxed))
    }

    func mapping(pooledBytes: Int) -> MmapAllocator.Statistics {
        var mapping = MmapAllocator.Statistics()
        mapping.fallbacks = fallbacks.load(ordering: .relaxed)
        for (size, count) in [
            (PageSize.base, obtainedBase.load(ordering: .relaxed)),
            (.transparentHuge, obtainedTHP.load(ordering: .relaxed)),
            (.huge2MiB, obtained2MiB.load(ordering: .relaxed)),
            (.huge1GiB, obtained1GiB.load(ordering: .relaxed)),
        ] where count > 0 {
            mapping.obtainedPageSizes[size] = count
        }
        mapping.poolHits = poolHits.load(ordering: .relaxed)
        mapping.poolMisses = poolMisses.load(ordering: .relaxed)
        mapping.pooledBytes = pooledBytes
        mapping.mappedBytes = mappedBytes.load(ordering: .relaxed)
        mapping.unmapFailures = unmapFailures.load(ordering: .relaxed)
        return mapping
    }
}
