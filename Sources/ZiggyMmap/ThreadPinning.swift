import CZiggyShims
import Glibc

/// Running threads on the CPUs of a NUMA node.
public enum ThreadPinning {
    /// The CPU the calling thread runs on now (`sched_getcpu`).
    public static var currentCPU: Int { Int(zg_current_cpu()) }

    /// The CPUs the calling thread may run on.
    public static func currentAffinity() throws(AllocationError) -> [Int] {
        switch Kernel.getAffinity() {
        case .success(let cpus): return cpus
        case .failure(let error): throw .kernel(call: "sched_getaffinity", errno: error.code, request: "reading this thread's CPUs")
        }
    }

    /// Runs `body` with the calling thread restricted to `node`'s CPUs, then restores the
    /// previous affinity (also when `body` throws).
    ///
    /// Throws ``AllocationError/unknownNode(_:available:)`` for a node without CPUs.
    public static func withCurrentThread<R: ~Copyable, E: Error>(
        pinnedTo node: Int, _ body: () throws(E) -> R
    ) throws(AllocationError) -> Result<R, E> {
        let cpus = try cpus(of: node)
        let previous = try currentAffinity()
        if case .failure(let error) = Kernel.setAffinity(cpus) {
            throw .kernel(call: "sched_setaffinity", errno: error.code, request: "pinning to node \(node) CPUs \(NodeSet(cpus))")
        }
        defer { _ = Kernel.setAffinity(previous) }
        do {
            return .success(try body())
        } catch {
            return .failure(error)
        }
    }

    /// Pins the calling thread to `node`'s CPUs until the returned value ends, which restores
    /// the previous affinity.
    public static func pinCurrentThread(to node: Int) throws(AllocationError) -> PinnedThread {
        let cpus = try cpus(of: node)
        let previous = try currentAffinity()
        if case .failure(let error) = Kernel.setAffinity(cpus) {
            throw .kernel(call: "sched_setaffinity", errno: error.code, request: "pinning to node \(node) CPUs \(NodeSet(cpus))")
        }
        return PinnedThread(node: node, previous: previous)
    }

    /// Runs `body(i)` for i in 0..<threads on `threads` new threads, each pinned to `node`'s
    /// CPUs, and waits for all of them.
    public static func run(onNode node: Int, threads: Int, _ body: @escaping @Sendable (Int) -> Void) throws(AllocationError) {
        guard threads > 0 else { throw .invalidArgument("ThreadPinning.run: thread count \(threads) must be positive") }
        let cpus = try cpus(of: node)
        if let error = WorkerThreads.run(count: threads, cpus: cpus, body) {
            throw .kernel(call: "sched_setaffinity", errno: error.code, request: "pinning worker threads to node \(node)")
        }
    }

    static func cpus(of node: Int) throws(AllocationError) -> [Int] {
        let topology = NumaTopology.current()
        guard let found = topology.node(node) else { throw .unknownNode(node, available: topology.nodeIDs) }
        guard !found.cpus.isEmpty else {
            throw .invalidArgument("NUMA node \(node) has memory but no CPUs; threads cannot run on it")
        }
        return found.cpus
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
