import CZiggyShims
import Glibc
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
        /// The team's size.
        public let teamSize: Int

        public var description: String { "member \(index)/\(teamSize) on cpu \(cpu) (node \(node))" }
    }

    /// The members, by index.
    public let members: [Member]
    /// The nodes the members are on, ascending.
    public let nodes: NodeSet
    let state: TeamState
    /// Whether the members are all the team's own threads (population teams).
    let isDedicated: Bool
    private let creator: pthread_t
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
        members = Self.members(cpus: cpus, topology: topology)
        nodes = NodeSet(members.map(\.node))
        creator = pthread_self()
        pinnedCreator = nil
        isDedicated = true
        state = TeamState(count: cpus.count, dedicated: true)
        if let error = state.start(members: members) {
            state.stop()
            throw error
        }
    }

    private init(cpus: [Int], topology: NumaTopology) throws(MmapError) {
        members = Self.members(cpus: cpus, topology: topology)
        nodes = NodeSet(members.map(\.node))
        isDedicated = false
        creator = pthread_self()
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

    /// The number of members.
    public var count: Int { members.count }

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
                let pinned = isDedicated || pthread_equal(pthread_self(), creator) != 0
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

/// One value per member, each written only by its member during a region and read after the
/// join (errors of `run`, partial results of the reductions).
///
/// Raw storage, not a Swift array: members writing different elements of one array property
/// would each start a modify access to the whole array at once (a data race ThreadSanitizer
/// reports, and undefined behaviour in Swift).
final class MemberSlots<Value>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Value>
    private let count: Int
    init(count: Int, initial: Value) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: initial, count: count)
    }
    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }
    /// Member `member`'s value; only that member may write it while a region runs.
    subscript(member: Int) -> Value {
        get { slots[member] }
        _modify { yield &slots[member] }
    }
    /// The values in member order (after the join).
    var values: [Value] { (0..<count).map { slots[$0] } }
}

extension MemberSlots where Value == (any Error)? {
    /// After the join: clears every slot and returns the lowest-numbered member's error.
    func takeFirst() -> (any Error)? {
        var first: (any Error)?
        for index in 0..<count where self[index] != nil {
            if first == nil { first = self[index] }
            self[index] = nil
        }
        return first
    }
}

/// What the team's threads share: the region word they wait on with the current region's work
/// beside it, the completion count, the members' error slots. The work is written before the
/// region word is stored (release) and read after it is loaded (acquire), so each member sees it.
final class TeamState: @unchecked Sendable {
    let count: Int
    /// Whether every member is a thread of the team (the caller only waits) rather than the caller
    /// being member 0.
    let dedicated: Bool
    /// Serializes regions; holds the number of regions run (a sized value: ThreadSanitizer
    /// misattributed accesses to a zero-sized guarded value).
    let regionLock = Locked(0)
    /// Each member's error of the current region, kept for the team's life (a region allocates
    /// only its work object).
    let errors: MemberSlots<(any Error)?>
    /// Two cache lines: the region word with the current work's address, and the completion count.
    /// Members spin on the first and find the work in the same line; the caller spins on the
    /// second. Sharing one line made every arrival invalidate the spinners' copy (measured: 1.8 µs
    /// a region), and reading the work from a Swift property and retaining it cost two more line
    /// transfers per member (the property's object, the closure's reference count).
    private let words = UnsafeMutableRawPointer.allocate(byteCount: 2 * TeamState.lineBytes, alignment: TeamState.lineBytes)
    private static let lineBytes = 128
    private static let workOffset = 16
    private var region: UnsafeMutablePointer<zg_word> { words.assumingMemoryBound(to: zg_word.self) }
    private var done: UnsafeMutablePointer<zg_word> { (words + Self.lineBytes).assumingMemoryBound(to: zg_word.self) }
    /// The current region's work, unretained (nil: the members stop); written only by the caller
    /// before it opens a region, read by members after they see it open.
    private var currentWork: UnsafeRawPointer? {
        get { (words + Self.workOffset).load(as: UnsafeRawPointer?.self) }
        set { (words + Self.workOffset).storeBytes(of: newValue, as: UnsafeRawPointer?.self) }
    }
    private var threads: [pthread_t] = []

    init(count: Int, dedicated: Bool = false) {
        self.count = count
        self.dedicated = dedicated
        errors = MemberSlots(count: count, initial: nil)
        for offset in [0, Self.lineBytes] {
            (words + offset).initializeMemory(as: zg_word.self, to: zg_word(value: 0, sleepers: 0))
        }
        currentWork = nil
    }

    deinit {
        words.deallocate()
    }

    /// Starts members 1...; returns the first error (the threads already started are then stopped
    /// by the caller).
    func start(members: [Team.Member]) -> MmapError? {
        for member in dedicated ? members[...] : members.dropFirst() {
            let context = Unmanaged.passRetained(MemberContext(state: self, member: member)).toOpaque()
            var thread = pthread_t()
            let rc = Kernel.createThread(&thread, context) { raw in
                let context = Unmanaged<MemberContext>.fromOpaque(raw!).takeRetainedValue()
                context.state.memberLoop(context.member)
                return nil
            }
            guard rc == 0 else {
                Unmanaged<MemberContext>.fromOpaque(context).release()
                return .kernel(call: "pthread_create", errno: Errno(rawValue: rc), request: "starting team member \(member.index)")
            }
            threads.append(thread)
        }
        return nil
    }

    /// Runs one region: publish the work, wake the members, do member 0's share, wait for the rest.
    /// `work` stays alive for the call; members use it unretained.
    func runRegion(_ work: _RegionWorkBase) {
        #if ENABLE_MOCKING
        // The members are long-lived threads: they run the region under the caller's fault plan.
        work.plan = Kernel.plan
        #endif
        withExtendedLifetime(work) {
            currentWork = UnsafeRawPointer(Unmanaged.passUnretained(work).toOpaque())
            zg_word_store_wake(done, 0)
            let next = zg_word_load(region) &+ 1
            zg_word_store_wake(region, next)
            if dedicated {
                // The caller has no share: it sleeps at once rather than spin against the members.
                zg_word_wait_equal(done, UInt32(count), 0)
            } else {
                zg_team_set_current(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()), 0)
                work.enter(0)
                zg_team_set_current(nil, -1)
                zg_word_wait_equal(done, UInt32(count - 1), Team.spin)
            }
        }
    }

    /// Ends the members' loops and joins them.
    func stop() {
        currentWork = nil
        zg_word_store_wake(region, zg_word_load(region) &+ 1)
        for thread in threads { pthread_join(thread, nil) }
        threads = []
    }

    fileprivate func memberLoop(_ member: Team.Member) {
        _ = Kernel.setAffinity([member.cpu])
        zg_team_set_current(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()), Int32(member.index))
        // 0, not a fresh load: a region opened before this thread first looks must not be missed.
        var seen: UInt32 = 0
        while true {
            seen = zg_word_wait_change(region, seen, Team.spin)
            guard let work = currentWork else { return }
            // Unretained: the caller keeps the work alive until every member has arrived below.
            Unmanaged<_RegionWorkBase>.fromOpaque(work)._withUnsafeGuaranteedRef { $0.enter(member.index) }
            zg_word_add_wake_at(done, 1, UInt32(dedicated ? count : count - 1))
        }
    }
}

/// The work of one region, type-erased so the members' loop is not generic: members call it
/// unretained, and it reaches the body through a `let` (no reference count shared between threads
/// changes during a region).
@usableFromInline
class _RegionWorkBase: @unchecked Sendable {
    #if ENABLE_MOCKING
    var plan: KernelFaultPlan?
    #endif
    /// Set by the team before the region starts; read by the members.
    final var members: UnsafePointer<Team.Member>?
    // Unowned: the team keeps the slots alive, and no reference count changes per region.
    // nil for a nested region, which runs its members one after another on one thread.
    final unowned(unsafe) var errors: MemberSlots<(any Error)?>?
    /// A nested region's first error: its members run in order, so the lowest member's.
    final var firstError: (any Error)?

    @usableFromInline init() {}

    /// Runs member `index`'s share (under the caller's fault plan in debug builds).
    final func enter(_ index: Int) {
        #if ENABLE_MOCKING
        if let plan, Kernel.plan !== plan {
            Kernel.withFaults(plan) { run(index) }
            return
        }
        #endif
        run(index)
    }

    /// Member `index`'s share; records what it throws.
    @usableFromInline func run(_ index: Int) {}

    /// Records member `index`'s error (members write only their own slot; a nested region, whose
    /// members run in order on one thread, keeps the first).
    @usableFromInline final func fail(_ index: Int, _ error: any Error) {
        if let errors {
            errors[index] = error
        } else if firstError == nil {
            firstError = error
        }
    }

    @usableFromInline final func member(_ index: Int) -> Team.Member { members![index] }
}

/// A region's body.
@usableFromInline
final class _RegionWork<E: Error>: _RegionWorkBase, @unchecked Sendable {
    @usableFromInline let body: @Sendable (Team.Member) throws(E) -> Void

    @inlinable
    init(_ body: @escaping @Sendable (Team.Member) throws(E) -> Void) {
        self.body = body
    }

    @inlinable
    override func run(_ index: Int) {
        do throws(E) { try body(member(index)) } catch { fail(index, error) }
    }
}

private final class MemberContext: Sendable {
    let state: TeamState
    let member: Team.Member
    init(state: TeamState, member: Team.Member) {
        self.state = state
        self.member = member
    }
}
