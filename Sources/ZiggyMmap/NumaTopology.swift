import CNuma

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
        /// hugetlb pages of the node, by page size: (total, free).
        public let hugePages: [PageSize: HugePageCount]
        /// Distances to every node, indexed by node id position in ``NumaTopology/nodes`` (10 = local).
        public let distances: [Int]

        public var description: String {
            let huge = hugePages.sorted { $0.key.byteCount < $1.key.byteCount }
                .map { "\($0.key) \($0.value.free)/\($0.value.total)" }.joined(separator: ", ")
            return "node \(id): cpus \(NodeSet(cpus)), \(memoryFree >> 20)/\(memoryTotal >> 20) MiB free"
                + (huge.isEmpty ? "" : ", huge pages free/total: \(huge)") + ", distances \(distances)"
        }
    }

    /// Pages of one hugetlb size on one node.
    public struct HugePageCount: Sendable, Hashable {
        public let total: Int
        public let free: Int
    }

    /// Online nodes, ascending.
    public let nodes: [Node]
    /// Whether libnuma and the kernel support NUMA calls (`numa_available() >= 0`).
    public let isNumaAvailable: Bool

    /// The node ids.
    public var nodeIDs: NodeSet { NodeSet(nodes.map(\.id)) }
    /// Nodes that have memory (allocation targets).
    public var nodesWithMemory: NodeSet { NodeSet(nodes.filter { $0.memoryTotal > 0 }.map(\.id)) }
    /// The node with id `id`.
    public func node(_ id: Int) -> Node? { nodes.first { $0.id == id } }
    /// Distance between two nodes (10 = local), from sysfs.
    public func distance(from a: Int, to b: Int) -> Int? {
        guard let from = node(a), let index = nodes.firstIndex(where: { $0.id == b }), index < from.distances.count
        else { return nil }
        return from.distances[index]
    }
    /// The node a CPU belongs to.
    public func node(ofCPU cpu: Int) -> Int? { nodes.first { $0.cpus.contains(cpu) }?.id }

    public var description: String {
        "\(nodes.count) NUMA node(s)\(isNumaAvailable ? "" : " (NUMA unavailable)"):\n"
            + nodes.map { "  \($0)" }.joined(separator: "\n")
    }

    /// The topology now.
    public static func current() -> NumaTopology {
        let root = "/sys/devices/system/node"
        let online = Kernel.readText("\(root)/online").flatMap { NodeSet(parsing: $0) } ?? NodeSet([0])
        let available = Libnuma.isAvailable
        var nodes: [Node] = []
        for id in online {
            let path = "\(root)/node\(id)"
            let cpus = Kernel.readText("\(path)/cpulist").flatMap { NodeSet(parsing: $0)?.array } ?? []
            let meminfo = Kernel.readText("\(path)/meminfo") ?? ""
            var huge: [PageSize: HugePageCount] = [:]
            for size in [PageSize.huge2MiB, .huge1GiB] {
                if let total = HugePagePool.nodePath(size, node: id, "nr_hugepages").flatMap(Kernel.readInt),
                   let free = HugePagePool.nodePath(size, node: id, "free_hugepages").flatMap(Kernel.readInt) {
                    huge[size] = HugePageCount(total: total, free: free)
                }
            }
            let distances = (Kernel.readText("\(path)/distance") ?? "").split(separator: " ")
                .compactMap { Int($0.trimmingWhitespace) }
            nodes.append(Node(id: id, cpus: cpus, memoryTotal: meminfoValue(meminfo, "MemTotal"),
                              memoryFree: meminfoValue(meminfo, "MemFree"), hugePages: huge, distances: distances))
        }
        if nodes.isEmpty {
            // No sysfs node directory (NUMA compiled out): one node with every CPU.
            let cpus = (try? Kernel.getAffinity().get()) ?? [0]
            nodes = [Node(id: 0, cpus: cpus, memoryTotal: 0, memoryFree: 0, hugePages: [:], distances: [10])]
        }
        return NumaTopology(nodes: nodes, isNumaAvailable: available)
    }

    /// "Node 0 MemTotal:  4942036 kB" → bytes.
    static func meminfoValue(_ text: String, _ key: String) -> Int {
        for line in text.split(separator: "\n") where line.contains(" \(key):") {
            let fields = line.split(separator: " ")
            if let index = fields.firstIndex(where: { $0 == "\(key):" }), index + 1 < fields.count,
               let kB = Int(fields[index + 1]) {
                return kB * 1024
            }
        }
        return 0
    }

    /// Throws ``AllocationError/unknownNode(_:available:)`` for nodes that do not exist or have no
    /// memory.
    func validate(_ nodes: NodeSet) throws(AllocationError) {
        let targets = nodesWithMemory
        for node in nodes where !targets.contains(node) {
            throw .unknownNode(node, available: targets)
        }
    }
}

/// libnuma, where the library uses it directly.
enum Libnuma {
    /// `numa_available() >= 0`, asked once.
    static let isAvailable: Bool = numa_available() >= 0

    /// libnuma's view of the distance between two nodes (0 when unknown or unavailable).
    static func distance(_ a: Int, _ b: Int) -> Int {
        isAvailable ? Int(numa_distance(Int32(a), Int32(b))) : 0
    }

    /// libnuma's highest node number (-1 when unavailable).
    static var maxNode: Int { isAvailable ? Int(numa_max_node()) : -1 }
}
