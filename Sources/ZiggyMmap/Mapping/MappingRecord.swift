import Logging
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// One anonymous mapping handed out as a buffer: what was mapped, how, and how to give it back.
///
/// Release reads top to bottom: count the free, offer the mapping to the reuse pool, unmap
/// whatever the pool does not keep. The per-hand-out fields (request, fallback reason, population,
/// reuse) change only while the record sits in the pool, when no buffer refers to it; a buffer's
/// record is otherwise immutable, so reading its backing from any thread is safe.
final class MappingRecord: BufferOwner, @unchecked Sendable {
    /// What was mapped: fixed for the mapping's whole life.
    struct Mapping {
        let base: UnsafeMutableRawPointer
        /// Mapped bytes (whole pages of `obtained`); what munmap gets.
        let length: Int
        let obtained: PageSize
        /// The alignment the mapping was made with (at least the page size for huge pages).
        let alignment: Int
        let locked: Bool
        let policy: NumaPolicy?
        /// Whether `policy` is the allocating thread's, which a range without its own follows.
        let policyInherited: Bool
        let transparentHugeBytes: Int?
        /// For a blocked placement: the schedule its blocks were bound, populated and are worked
        /// by (computed once, when the mapping was made), and the team it is that team's for.
        let schedule: Team.Schedule?
        let scheduleTeam: ObjectIdentifier?

        /// The blocks as the details report them: consecutive pages bound to one node.
        var blocks: [MappingDetails.Block] {
            let pageBytes = obtained.byteCount
            return schedule?.nodeRuns.map {
                MappingDetails.Block(
                    node: $0.node, bytes: $0.pages.lowerBound * pageBytes..<min(length, $0.pages.upperBound * pageBytes))
            } ?? []
        }
    }

    let mapping: Mapping
    let counters: MappingCounters
    let pool: MappingPool?

    var requested: PageSize
    var fallbackReason: String?
    var populate: PopulateMode
    var reused = false

    static let logger = Logger(label: "ZiggyMmap")

    init(
        _ mapping: Mapping, counters: MappingCounters, pool: MappingPool?, requested: PageSize,
        fallbackReason: String?, populate: PopulateMode
    ) {
        self.mapping = mapping
        self.counters = counters
        self.pool = pool
        self.requested = requested
        self.fallbackReason = fallbackReason
        self.populate = populate
    }

    override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        counters.freed(requestBytes: byteCount, mappedBytes: mapping.length)
        for record in pool?.put(self) ?? [self] { record.unmap() }
    }

    /// munmap; a failure (impossible for our own whole mappings short of a kernel bug) is logged
    /// and counted, and the mapping stays.
    func unmap() {
        if !Self.unmap(mapping.base, mapping.length, what: "\(mapping.length) B at \(mapping.base)") { counters.unmapFailed() }
    }

    /// munmap of `what`; false (logged) when it fails — the mapping then stays.
    static func unmap(_ base: UnsafeMutableRawPointer, _ length: Int, what: String) -> Bool {
        guard case .failure(let error) = Kernel.munmap(base, length) else { return true }
        logger.error("munmap of \(what) failed with \(error.report); the mapping stays")
        return false
    }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        var details = MappingDetails(
            requestedPageSize: requested, obtainedPageSize: mapping.obtained, fallbackReason: fallbackReason,
            populate: populate, isLocked: mapping.locked, numaPolicy: mapping.policy, isReused: reused,
            transparentHugeBytes: mapping.transparentHugeBytes, blocks: mapping.blocks)
        details.isPolicyInherited = mapping.policyInherited
        return BufferBacking(
            backend: mapping.policy == nil ? .mmap : .numa, alignment: mapping.alignment,
            reservedByteCount: mapping.length, details: MappingDetailsRecord(details))
    }

    /// The mapping record behind `buffer`, through debug wrappers; nil for other memory.
    static func of<T>(_ buffer: borrowing UnmanagedBuffer<T>) -> MappingRecord? {
        buffer.owner(ofType: MappingRecord.self)
    }
}
