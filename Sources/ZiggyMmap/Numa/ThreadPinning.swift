import ZiggyKernel

/// Running threads on the CPUs of a NUMA node — never outside the CPUs the calling thread may
/// use (the affinity it inherited from `taskset`, a cgroup cpuset or a launcher's `--bind-to`).
///
/// Thread counts follow the library's one rule: below 1 is ``MmapError/invalidArgument(_:)``.
public enum ThreadPinning {
    /// The most threads ``run(onNode:threads:_:)`` starts at once.
    public static let maximumThreads = 1024

    /// The CPU the calling thread runs on now (`sched_getcpu`); -1 when the kernel cannot say.
    public static var currentCPU: Int { Kernel.currentCPU() }

    /// The CPUs the calling thread may run on.
    public static func currentAffinity() throws(MmapError) -> [Int] {
        switch Kernel.getAffinity() {
        case .success(let cpus): return cpus
        case .failure(let error): throw .kernel(call: "sched_getaffinity", errno: error, request: "reading this thread's CPUs")
        }
    }

    /// Runs `body` with the calling thread restricted to `node`'s CPUs (those it may use), then
    /// restores the previous affinity — also when `body` throws.
    ///
    /// Throws ``MmapError/unknownNode(_:available:)`` for a node without CPUs, and
    /// ``MmapError/invalidArgument(_:)`` when none of the node's CPUs is allowed to this thread.
    public static func withCurrentThread<R: ~Copyable>(
        pinnedTo node: Int, _ body: () throws(MmapError) -> R
    ) throws(MmapError) -> R {
        let pinned = try pinCurrentThread(to: node)
        defer { _ = pinned.node }
        return try body()
    }

    /// Pins the calling thread to `node`'s CPUs (those it may use) until the returned value
    /// ends, which restores the previous affinity. Must end on the thread that created it.
    public static func pinCurrentThread(to node: Int) throws(MmapError) -> PinnedThread {
        let previous = try currentAffinity()
        let cpus = try cpus(of: node, within: AllowedCPUs.current() ?? previous)
        if case .failure(let error) = Kernel.setAffinity(cpus) {
            throw .kernel(call: "sched_setaffinity", errno: error, request: "pinning to node \(node) CPUs \(NodeSet(cpus))")
        }
        return PinnedThread(node: node, previous: previous)
    }

    /// Runs `body(i)` for i in 0..<threads, each on a new thread pinned to `node`'s CPUs (those
    /// the calling thread may use), and waits for all of them.
    ///
    /// `threads` must be 1...``maximumThreads``; every index runs exactly once.
    public static func run(onNode node: Int, threads: Int, _ body: @escaping @Sendable (Int) -> Void) throws(MmapError) {
        guard threads >= 1, threads <= maximumThreads else {
            throw .invalidArgument("ThreadPinning.run: thread count \(threads) must be between 1 and \(maximumThreads)")
        }
        let allowed: [Int]
        if let saved = AllowedCPUs.current() { allowed = saved } else { allowed = try currentAffinity() }
        let cpus = try cpus(of: node, within: allowed)
        if let error = ThreadRunner.run(count: threads, cpus: { _ in cpus }, body) {
            throw .kernel(call: "sched_setaffinity", errno: error, request: "pinning worker threads to node \(node)")
        }
    }

    /// `node`'s CPUs among `allowed`.
    static func cpus(of node: Int, within allowed: [Int]) throws(MmapError) -> [Int] {
        let topology = NumaTopology.current()
        guard let found = topology.node(node) else { throw .unknownNode(node, available: topology.nodeIDs) }
        guard !found.cpus.isEmpty else {
            throw .invalidArgument("NUMA node \(node) has memory but no CPUs; threads cannot run on it")
        }
        let permitted = found.cpus.filter(Set(allowed).contains)
        guard !permitted.isEmpty else {
            throw .invalidArgument(
                "NUMA node \(node)'s CPUs \(NodeSet(found.cpus)) are all outside the CPUs this "
                    + "thread may use (\(NodeSet(allowed))); a launcher or taskset restricted them")
        }
        return permitted
    }
}

/// A thread pinned to a node's CPUs; restores the thread's previous affinity when it ends.
/// Must end on the thread that created it.
public struct PinnedThread: ~Copyable {
    public let node: Int
    let previous: [Int]

    init(node: Int, previous: [Int]) {
        self.node = node
        self.previous = previous
    }

    deinit { _ = Kernel.setAffinity(previous) }
}
