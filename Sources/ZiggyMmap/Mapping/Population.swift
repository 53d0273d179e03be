import ZiggyKernel

// Faulting a fresh (or pooled) mapping in before it is handed out, as the options ask. Every
// path uses MADV_POPULATE_WRITE, which reports a page shortage — an empty hugetlb pool on the
// policy's node, a hugetlb cgroup limit, memory exhaustion — as an error where a first store
// would raise SIGBUS.
extension MappingEngine {
    func populate(
        _ start: UnsafeMutableRawPointer, _ length: Int, _ size: PageSize, schedule: Team.Schedule?
    ) throws(MmapError) -> PopulateMode {
        switch options.populate {
        case .none:
            return .none
        case .kernel:
            if case .failure(let error) = Kernel.madvise(start, length, KernelConstants.MADV_POPULATE_WRITE) {
                throw populateError(error, size, length)
            }
            return .kernel
        case .parallel(let requested):
            guard requested >= 1 else {
                throw .invalidArgument("populate: .parallel(threads: \(requested)): a thread count must be at least 1")
            }
            if let blocked = placement?.blocked, let schedule {
                try populateBlocks(start, schedule, size, team: blocked.team)
                return .parallel(threads: blocked.team.count)
            }
            let pageBytes = size.byteCount
            let pages = length / pageBytes
            let team = try PopulationTeams.team(for: placement?.populateCPUs)
            let threads = max(1, min(requested, pages, team.count))
            let perThread = (pages + threads - 1) / threads
            let failures = Locked<[Errno]>([])
            let region = SendableAddress(start.assumingMemoryBound(to: UInt8.self))
            team.run { member in
                let first = member.index * perThread
                let count = min(perThread, pages - first)
                guard member.index < threads, count > 0 else { return }
                let share = region.elements(UInt8.self, first * pageBytes..<(first + count) * pageBytes)
                if case .failure(let error) = Kernel.madvise(
                    UnsafeMutableRawPointer(share.baseAddress!), share.count,
                    KernelConstants.MADV_POPULATE_WRITE)
                {
                    failures.withLock { $0.append(error) }
                }
            }
            if let error = failures.withLock({ $0.first }) { throw populateError(error, size, length) }
            return .parallel(threads: threads)
        }
    }

    /// A blocked mapping is populated by the members that will use it, each its own blocks.
    private func populateBlocks(
        _ start: UnsafeMutableRawPointer, _ schedule: Team.Schedule, _ size: PageSize,
        team: Team
    ) throws(MmapError) {
        let failures = Locked<[Errno]>([])
        let region = SendableAddress(start.assumingMemoryBound(to: UInt8.self))
        let byMember = Dictionary(grouping: schedule.parts, by: \.member)
        team.run { member in
            for part in byMember[member.index] ?? [] where !part.pages.isEmpty {
                let share = region.elements(
                    UInt8.self, part.pages.lowerBound * size.byteCount..<part.pages.upperBound * size.byteCount)
                if case .failure(let error) = Kernel.madvise(
                    UnsafeMutableRawPointer(share.baseAddress!), share.count,
                    KernelConstants.MADV_POPULATE_WRITE)
                {
                    failures.withLock { $0.append(error) }
                }
            }
        }
        if let error = failures.withLock({ $0.first }) {
            throw populateError(error, size, schedule.parts.last.map { $0.pages.upperBound * size.byteCount } ?? 0)
        }
    }

    private func populateError(_ error: Errno, _ size: PageSize, _ length: Int) -> MmapError {
        let whereText = placement.map { " under policy \($0.policy)" } ?? ""
        if size.isHugeTLB && (error == .badAddress || error == .noMemory) {
            return HugePageReservation.Pool.shortage(
                size, neededPages: length / size.byteCount, node: placement?.singleNode,
                cause: "populating\(whereText) failed with \(error.report) (when the pool shows free pages, a "
                    + "hugetlb cgroup limit such as hugetlb.\(size == .huge1GiB ? "1GB" : "2MB").max refused them)")
        }
        if error == .noMemory || error == .badAddress {
            return .outOfMemory(byteCount: length, backend: "populating \(size) pages\(whereText)", errno: error)
        }
        return .kernel(
            call: "madvise(MADV_POPULATE_WRITE)", errno: error,
            request: "populating \(length) B"
                + (error == .invalidArgument ? " (population needs Linux 5.14 or later)" : ""))
    }
}

/// The library's population teams: one dedicated team per set of CPUs population runs on (all the
/// CPUs allowed, or a NUMA policy's nodes' allowed CPUs), created on first use and kept — its
/// threads sleep when idle — so that a parallel population wakes threads instead of creating them.
enum PopulationTeams {
    private static let teams = Locked<[[Int]: Team]>([:])

    /// The team for `cpus` (nil: the CPUs the calling thread may use), never wider than them.
    static func team(for cpus: [Int]?) throws(MmapError) -> Team {
        let allowed = AllowedCPUs.current() ?? []
        var wanted = (cpus ?? allowed).filter(Set(allowed).contains).sorted()
        if wanted.isEmpty { wanted = allowed.isEmpty ? [0] : allowed }
        if let team = teams.withLock({ $0[wanted] }) { return team }
        let team = try Team(dedicatedCPUs: wanted)
        return teams.withLock { teams in
            if let existing = teams[wanted] { return existing }
            teams[wanted] = team
            return team
        }
    }
}
