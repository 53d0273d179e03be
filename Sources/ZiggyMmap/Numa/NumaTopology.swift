import ZiggyKernel

/// The host's NUMA layout: nodes with their CPUs, memory, hugetlb pages and distances.
///
/// Read from sysfs (`/sys/devices/system/node`) and checked against libnuma; a value, cheap to
/// take again (``current()`` reads a few small files). On a host without NUMA support it
/// describes one node 0 holding every CPU, so code written for many nodes runs unchanged.
public struct NumaTopology: Sendable, Hashable, CustomStringConvertible {
    /// One NUMA node.
    public struct Node: Sendable, Hashable, CustomStringConvertible {
        public let id: Int
        /// CPUs of the node (empty for memory-only nodes).
        public let cpus: [Int]
        /// `MemTotal` / `MemFree` of the node (bytes).
        public let memoryTotal: Int
        public let memoryFree: Int
        /// hugetlb pages of the node, by page size: (total, free). Shown in the description; public
        /// as `HugePageReservation.Pool.read(size)?.nodes.first { $0.node == id }`.
        let hugePages: [PageSize: HugePageCount]
        /// Distances to every node, indexed by node id position in ``NumaTopology/nodes`` (10 = local);
        /// public as ``NumaTopology/distance(from:to:)``.
        package let distances: [Int]

        public var description: String {
            let huge = hugePages.sorted { $0.key.byteCount < $1.key.byteCount }
                .map { "\($0.key) \($0.value.free)/\($0.value.total)" }.joined(separator: ", ")
            return "node \(id): cpus \(NodeSet(cpus)), \(memoryFree >> 20)/\(memoryTotal >> 20) MiB free"
                + (huge.isEmpty ? "" : ", huge pages free/total: \(huge)") + ", distances \(distances)"
        }
    }

    /// Pages of one hugetlb size on one node (public as ``HugePageReservation/Pool/nodes``).
    struct HugePageCount: Sendable, Hashable {
        let total: Int
        let free: Int
    }

    /// Online nodes, ascending.
    public let nodes: [Node]
    /// Whether the kernel implements the NUMA system calls (what libnuma's `numa_available()` asks).
    public let isNumaAvailable: Bool
    /// The CPUs the calling thread may run on when the topology was read (`sched_getaffinity`:
    /// what `taskset`, a cgroup cpuset or a launcher's `--bind-to` left it), ascending.
    public let allowedCPUs: [Int]
    /// The nodes this process may allocate memory on (`Mems_allowed_list` in `/proc/self/status`:
    /// the cgroup cpuset's memory nodes); every node when the kernel does not say. `numactl
    /// --membind` sets a memory policy instead, which ``NumaTopology/Binding/threadPolicy`` reports.
    public let allowedNodes: NodeSet

    /// Nodes with at least one CPU this thread may run on (public as
    /// ``NumaTopology/Binding/cpuNodes``).
    package var nodesWithAllowedCPUs: NodeSet {
        let allowed = Set(allowedCPUs)
        return NodeSet(nodes.filter { $0.cpus.contains(where: allowed.contains) }.map(\.id))
    }

    /// Whether the process runs restricted to part of the machine (fewer CPUs or memory nodes than
    /// the host has). Public as ``NumaTopology/Binding/isRestricted``, which also counts an
    /// inherited memory policy.
    package var isRestricted: Bool {
        allowedCPUs.count < nodes.reduce(0) { $0 + $1.cpus.count } || !nodeIDs.isSubset(of: allowedNodes)
    }

    /// The node ids (public as `NodeSet(topology.nodes.map(\.id))`).
    package var nodeIDs: NodeSet { NodeSet(nodes.map(\.id)) }
    /// Nodes that have memory (allocation targets).
    public var nodesWithMemory: NodeSet { NodeSet(nodes.filter { $0.memoryTotal > 0 }.map(\.id)) }
    /// The node with id `id` (public as `topology.nodes.first { $0.id == id }`).
    package func node(_ id: Int) -> Node? { nodes.first { $0.id == id } }
    /// Distance between two nodes (10 = local), from sysfs.
    public func distance(from a: Int, to b: Int) -> Int? {
        guard let from = node(a), let index = nodes.firstIndex(where: { $0.id == b }), index < from.distances.count
        else { return nil }
        return from.distances[index]
    }
    /// The node a CPU belongs to (public as `topology.nodes.first { $0.cpus.contains(cpu) }?.id`).
    package func node(ofCPU cpu: Int) -> Int? { nodes.first { $0.cpus.contains(cpu) }?.id }

    public var description: String {
        "\(nodes.count) NUMA node(s)\(isNumaAvailable ? "" : " (NUMA unavailable)"):\n"
            + nodes.map { "  \($0)" }.joined(separator: "\n")
            + (isRestricted ? "\n  allowed: cpus \(NodeSet(allowedCPUs)), memory on nodes \(allowedNodes)" : "")
    }

    /// The topology now.
    public static func current() -> NumaTopology {
        let root = "/sys/devices/system/node"
        let online = Kernel.readText("\(root)/online").flatMap { NodeSet(parsing: $0) } ?? NodeSet([0])
        let available = Self.kernelHasNuma
        var nodes: [Node] = []
        for id in online {
            let path = "\(root)/node\(id)"
            let cpus = Kernel.readText("\(path)/cpulist").flatMap { NodeSet(parsing: $0)?.array } ?? []
            let meminfo = Kernel.readText("\(path)/meminfo") ?? ""
            var huge: [PageSize: HugePageCount] = [:]
            for size in [PageSize.huge2MiB, .huge1GiB] {
                if let total = HugePageReservation.Pool.nodePath(size, node: id, "nr_hugepages").flatMap(Kernel.readInt),
                    let free = HugePageReservation.Pool.nodePath(size, node: id, "free_hugepages").flatMap(Kernel.readInt)
                {
                    huge[size] = HugePageCount(total: total, free: free)
                }
            }
            let distances = (Kernel.readText("\(path)/distance") ?? "").split(separator: " ")
                .compactMap { Int($0.trimmingWhitespace) }
            nodes.append(
                Node(
                    id: id, cpus: cpus, memoryTotal: Kernel.meminfoBytes(meminfo, "MemTotal") ?? 0,
                    memoryFree: Kernel.meminfoBytes(meminfo, "MemFree") ?? 0, hugePages: huge, distances: distances))
        }
        if nodes.isEmpty {
            // No sysfs node directory (NUMA compiled out): one node with every CPU.
            let cpus = (try? Kernel.getAffinity().get()) ?? [0]
            nodes = [Node(id: 0, cpus: cpus, memoryTotal: 0, memoryFree: 0, hugePages: [:], distances: [10])]
        }
        let affinity = AllowedCPUs.current() ?? nodes.flatMap(\.cpus)
        let mems = Kernel.processStatusField("Mems_allowed_list").flatMap { NodeSet(parsing: $0) } ?? NodeSet(nodes.map(\.id))
        return NumaTopology(nodes: nodes, isNumaAvailable: available, allowedCPUs: affinity.sorted(), allowedNodes: mems)
    }

    /// Throws ``MmapError/unknownNode(_:available:)`` for nodes that do not exist or have no
    /// memory (negative numbers included): the library's one rule for a node that memory is asked
    /// of (policies, per-node reservations, a team's memory nodes). Running threads on a node is
    /// the other question (its CPUs the thread may use), asked by teams and pinning.
    func validate(_ nodes: NodeSet) throws(MmapError) {
        let targets = nodesWithMemory
        for node in nodes where !targets.contains(node) {
            throw .unknownNode(node, available: targets)
        }
    }
}

extension NumaTopology {
    /// Whether the kernel implements the NUMA system calls — what libnuma's `numa_available()`
    /// asks, through the seam (`get_mempolicy` fails with ENOSYS on kernels built without NUMA).
    static var kernelHasNuma: Bool {
        if case .failure(let error) = Kernel.getMempolicy(address: nil, maskWords: 16), error == .noFunction {
            return false
        }
        return true
    }
}
