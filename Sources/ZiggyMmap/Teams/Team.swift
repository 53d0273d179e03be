import CZiggyShims
import ZiggyKernel

/// A team of persistent threads, each pinned to one CPU and knowing its NUMA node, created once
/// and reused for fork-join regions — the pattern of OpenMP's `parallel` with `proc_bind`, and of
/// oneTBB's NUMA-constrained arenas.
///
/// **Placement.** Members are placed on the CPUs the creating thread may use (its affinity, which
/// a cgroup cpuset, `taskset` or a launcher's `--bind-to` may have narrowed) and never outside
/// them: `.spread` spaces them evenly over those CPUs, `.close` packs them onto consecutive ones,
/// and ``init(perNode:nodes:oversubscribe:)`` puts a number on every node. Members are numbered by
/// node, then CPU, so consecutive members share a node and a static schedule gives each node one
/// contiguous part of a buffer.
///
/// **Fork-join.** ``run(_:)`` runs a closure on every member at once and returns when all are
/// done. As in OpenMP, the calling thread is member 0: the thread that creates the team is pinned
/// to member 0's CPU for the team's life (its affinity comes back when the team ends, on whichever
/// thread; meanwhile the library still counts the CPUs it had, so a second team or a population
/// from that thread is not narrowed), and a region run from another thread pins that thread for
/// the region only. Idle members spin briefly,
/// then sleep in the kernel.
///
/// **Failure.** A member that throws does not stop the others; when all have finished, the error
/// of the lowest-numbered member that threw is rethrown, and the team stays usable. Two threads
/// running regions of one team at once take turns.
///
/// **Nesting.** A region started from inside a region of *any* team — a member's body,
/// ``forEachChunk(of:_:)``, a reduction — runs every member's share on the calling thread, one
/// after another in member order (every member runs even when an earlier one throws; the lowest
/// member's error is rethrown). So regions nest to any depth, across any teams and from any
/// threads, without deadlock; a nested region is serial and does not move to its members' CPUs.
///
/// Thread-safe. Creating a team throws ``MmapError/invalidArgument(_:)`` for a member count below
/// 1 or above the allowed CPUs (unless `oversubscribe`), and ``MmapError/unknownNode(_:available:)``
/// for nodes without allowed CPUs.
public final class Team: @unchecked Sendable {
    /// How members are spread over the allowed CPUs (OpenMP's `OMP_PROC_BIND`).
    public enum Binding: Sendable, Hashable {
        /// Evenly over all allowed CPUs (`spread`): with fewer members than CPUs, across nodes.
        case spread
        /// On consecutive allowed CPUs from the first (`close`).
        case close
    }

    /// One member of a team.
    public struct Member: Sendable, Hashable, CustomStringConvertible {
        /// 0-based; member 0 is the thread that runs the region.
        public let index: Int
        /// The CPU the member is pinned to.
        public let cpu: Int
        /// The node of that CPU.
        public let node: Int
        /// This member's position among the members on its node, and how many there are.
        public let indexOnNode: Int
        public let membersOnNode: Int
        /// The team's size (public as `team.members.count`).
        package let teamSize: Int

        public var description: String { "member \(index)/\(teamSize) on cpu \(cpu) (node \(node))" }
    }

    /// The members, by index.
    public let members: [Member]
    /// The nodes the members are on, ascending (public as `NodeSet(team.members.map(\.node))`).
    package let nodes: NodeSet
    /// The topology as the team was created: its schedules and its blocked buffers' placement use
    /// this snapshot (read once, at creation), never sysfs again.
    let topology: NumaTopology
    let state: TeamState
    /// Whether the members are all the team's own threads (population teams).
    let isDedicated: Bool
    private let creator: Kernel.Thread
    /// The kernel id of the thread pinned to member 0's CPU (nil for population teams).
    private let pinnedCreator: Int32?

    /// Spins of an idle member before it sleeps (about a quarter of a millisecond).
    static let spin: UInt32 = 50_000

    /// A team of `threads` members (default: one per allowed CPU) placed by `binding`.
    public convenience init(threads: Int? = nil, binding: Binding = .spread, oversubscribe: Bool = false) throws(MmapError) {
        let topology = NumaTopology.current()
        let allowed = Self.orderedCPUs(topology)
        guard !allowed.isEmpty else { throw .invalidArgument("Team: this thread may run on no CPU") }
        let count = threads ?? allowed.count
        try Self.checkCount(count, allowed: allowed.count, oversubscribe: oversubscribe, what: "a team of \(count)")
        let cpus = (0..<count).map { index in
            binding == .close ? allowed[index % allowed.count] : allowed[index * allowed.count / count]
        }
        try self.init(cpus: cpus, topology: topology)
    }

    /// A team with `perNode` members on each of `nodes` (default: every node with allowed CPUs).
    public convenience init(perNode: Int, nodes: NodeSet? = nil, oversubscribe: Bool = false) throws(MmapError) {
        let topology = NumaTopology.current()
        let allowed = Set(topology.allowedCPUs)
        var cpus: [Int] = []
        for node in nodes ?? topology.nodesWithAllowedCPUs {
            let onNode = topology.node(node)?.cpus.filter(allowed.contains) ?? []
            guard !onNode.isEmpty else { throw .unknownNode(node, available: topology.nodesWithAllowedCPUs) }
            try Self.checkCount(
                perNode, allowed: onNode.count, oversubscribe: oversubscribe,
                what: "\(perNode) members on node \(node)")
            cpus += (0..<perNode).map { onNode[$0 % onNode.count] }
        }
        guard !cpus.isEmpty else { throw .invalidArgument("Team(perNode:nodes:): no nodes given") }
        try self.init(cpus: cpus, topology: topology)
    }

    /// A team whose members are all its own threads, one per CPU of `cpus`, and whose regions the
    /// caller only waits for (nothing is pinned on the caller): the library's population teams.
    init(dedicatedCPUs cpus: [Int]) throws(MmapError) {
        let topology = NumaTopology.current()
        self.topology = topology
        members = Self.members(cpus: cpus, topology: topology)
        nodes = NodeSet(members.map(\.node))
        creator = .current
        pinnedCreator = nil
        isDedicated = true
        state = TeamState(count: cpus.count, dedicated: true)
        if let error = state.start(members: members) {
            state.stop()
            throw error
        }
    }

    private init(cpus: [Int], topology: NumaTopology) throws(MmapError) {
        self.topology = topology
        members = Self.members(cpus: cpus, topology: topology)
        nodes = NodeSet(members.map(\.node))
        isDedicated = false
        creator = .current
        state = TeamState(count: cpus.count)
        switch AllowedCPUs.pinForTeam(cpus[0]) {
        case .success(let thread): pinnedCreator = thread
        case .failure(let error):
            throw .kernel(call: "sched_setaffinity", errno: error, request: "pinning the team's calling thread to cpu \(cpus[0])")
        }
        if let error = state.start(members: members) {
            state.stop()
            AllowedCPUs.unpin(pinnedCreator!)
            throw error
        }
    }

    deinit {
        state.stop()
        if let pinnedCreator { AllowedCPUs.unpin(pinnedCreator) }
    }

    /// The number of members (public as `members.count`).
    package var count: Int { members.count }

    /// Runs `body` on every member at once — member 0 on the calling thread — and returns when all
    /// have finished; then rethrows the error of the lowest-numbered member that threw, if any.
    ///
    /// Called from inside a region of any team (a member's body, `forEachChunk`, a reduction), it
    /// runs every member's share on the calling thread, in member order, instead: waiting there
    /// for another team's threads could close a cycle of teams waiting for each other.
    @inlinable
    public func run<E: Error>(_ body: @Sendable (Member) throws(E) -> Void) throws(E) {
        // Inlinable so that the client specializes it: the work object's type is then known where
        // it is made (no generic metadata lookup per region, a third of an empty region's cost),
        // and everything else happens in the non-generic `_run(_:)`.
        let failure = withoutActuallyEscaping(body) { body in _run(_RegionWork(body)) }
        if let failure { throw failure as! E }
    }

    /// Runs one region of `work` and returns the lowest-numbered member's error.
    @usableFromInline
    func _run(_ work: _RegionWorkBase) -> (any Error)? {
        let nested = !isDedicated && zg_team_current() != nil
        // A nested region keeps its errors in its own work object: the team's slots belong to
        // the region that holds the region lock, which another thread may be running meanwhile.
        work.errors = nested ? nil : state.errors
        return members.withUnsafeBufferPointer { members in
            // Read through a pointer: members loading the array itself would each retain it.
            work.members = members.baseAddress!
            if nested {
                for member in members.indices { work.enter(member) }
                return work.firstError
            }
            return state.regionLock.withLock { regions in
                regions &+= 1
                let pinned = isDedicated || Kernel.Thread.current == creator
                let previous = pinned ? nil : try? Kernel.getAffinity().get()
                if previous != nil { _ = Kernel.setAffinity([members[0].cpu]) }
                state.runRegion(work)
                if let previous { _ = Kernel.setAffinity(previous) }
                // Taken before the lock goes: the next region (another thread's) reuses the slots.
                return state.errors.takeFirst()
            }
        }
    }

    static func members(cpus: [Int], topology: NumaTopology) -> [Member] {
        let perNode = Dictionary(grouping: cpus.indices, by: { topology.node(ofCPU: cpus[$0]) ?? 0 })
        return cpus.enumerated().map { index, cpu in
            let node = topology.node(ofCPU: cpu) ?? 0
            let peers = perNode[node] ?? [index]
            return Member(
                index: index, cpu: cpu, node: node, indexOnNode: peers.firstIndex(of: index) ?? 0,
                membersOnNode: peers.count, teamSize: cpus.count)
        }
    }

    /// The allowed CPUs, ordered by node, then CPU number.
    static func orderedCPUs(_ topology: NumaTopology) -> [Int] {
        topology.allowedCPUs.sorted { (topology.node(ofCPU: $0) ?? 0, $0) < (topology.node(ofCPU: $1) ?? 0, $1) }
    }

    private static func checkCount(_ count: Int, allowed: Int, oversubscribe: Bool, what: String) throws(MmapError) {
        guard count >= 1 else { throw .invalidArgument("Team: \(what): a member count must be at least 1") }
        guard count <= allowed || oversubscribe else {
            throw .invalidArgument(
                "Team: \(what) is more than the \(allowed) CPU(s) allowed; "
                    + "pass oversubscribe: true to share CPUs between members")
        }
        guard count <= ThreadPinning.maximumThreads else {
            throw .invalidArgument("Team: \(what) is more than \(ThreadPinning.maximumThreads) members")
        }
    }
}
