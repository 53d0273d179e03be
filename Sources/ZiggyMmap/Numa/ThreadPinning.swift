import ZiggyKernel

/// Running threads on the CPUs of a NUMA node — never outside the CPUs the calling thread may
/// use (the affinity it inherited from `taskset`, a cgroup cpuset or a launcher's `--bind-to`).
///
/// Thread counts follow the library's one rule: below 1 is ``MmapError/invalidArgument(_:)``.
///
/// Package-only since 1.0: work on a node is a ``Team``'s (`Team(perNode: 1, nodes: [node]).run { … }`
/// runs a body on one thread pinned to the node, which `withCurrentThread(pinnedTo:_:)` did on the
/// calling thread); a member's CPU is ``Team/Member/cpu``; the CPUs the thread may use are
/// ``NumaTopology/allowedCPUs``. Teams and population use the helpers here.
package enum ThreadPinning {
    /// The most threads a team or a population starts.
    static let maximumThreads = 1024

    /// The CPU the calling thread runs on now (`sched_getcpu`); -1 when the kernel cannot say.
    package static var currentCPU: Int { Kernel.currentCPU() }

    /// The CPUs the calling thread may run on, as the kernel reports them now.
    static func currentAffinity() throws(MmapError) -> [Int] {
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
    package static func withCurrentThread<R: ~Copyable>(
        pinnedTo node: Int, _ body: () throws(MmapError) -> R
    ) throws(MmapError) -> R {
        let pinned = try pinCurrentThread(to: node)
        defer { _ = pinned.node }
        return try body()
    }

    /// Pins the calling thread to `node`'s CPUs (those it may use) until the returned value
    /// ends, which restores the previous affinity. Must end on the thread that created it.
    package static func pinCurrentThread(to node: Int) throws(MmapError) -> ThreadPinning.Pinned {
        let previous = try currentAffinity()
        let cpus = try cpus(of: node, within: AllowedCPUs.current() ?? previous)
        if case .failure(let error) = Kernel.setAffinity(cpus) {
            throw .kernel(call: "sched_setaffinity", errno: error, request: "pinning to node \(node) CPUs \(NodeSet(cpus))")
        }
        return ThreadPinning.Pinned(node: node, previous: previous)
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

extension ThreadPinning {
    /// A thread pinned to a node's CPUs; restores the thread's previous affinity when it ends.
    /// Must end on the thread that created it.
    package struct Pinned: ~Copyable {
        package let node: Int
        let previous: [Int]

        init(node: Int, previous: [Int]) {
            self.node = node
            self.previous = previous
        }

        deinit { _ = Kernel.setAffinity(previous) }
    }
}
