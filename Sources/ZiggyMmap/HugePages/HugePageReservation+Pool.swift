import ZiggyKernel

extension HugePageReservation {
    /// The kernel's hugetlb pool for one page size: pages reserved in total and free, globally and
    /// per NUMA node (read from sysfs; cheap, re-read on every call).
    public struct Pool: Sendable, Hashable, CustomStringConvertible {
        /// Pages of one node.
        public struct NodePages: Sendable, Hashable {
            public let node: Int
            public let total: Int
            public let free: Int
        }

        public let pageSize: PageSize
        /// `nr_hugepages`.
        public let total: Int
        /// `free_hugepages`: not faulted in by anyone.
        public let free: Int
        /// `resv_hugepages`: free but promised to existing mappings.
        public let reserved: Int
        /// `surplus_hugepages`.
        public let surplus: Int
        /// Per node (empty on kernels without per-node hugetlb sysfs).
        public let nodes: [NodePages]

        /// Pages a new private mapping can still get: free minus those promised to others (public
        /// as `max(0, pool.free - pool.reserved)`).
        package var available: Int { max(0, free - reserved) }

        static func directoryName(_ size: PageSize) -> String? {
            switch size {
            case .huge2MiB: return "hugepages-2048kB"
            case .huge1GiB: return "hugepages-1048576kB"
            case .base, .transparentHuge: return nil
            }
        }

        static func globalPath(_ size: PageSize, _ file: String) -> String? {
            directoryName(size).map { "/sys/kernel/mm/hugepages/\($0)/\(file)" }
        }

        static func nodePath(_ size: PageSize, node: Int, _ file: String) -> String? {
            directoryName(size).map { "/sys/devices/system/node/node\(node)/hugepages/\($0)/\(file)" }
        }

        /// The pool for `size`, or nil when this kernel does not offer that hugetlb size.
        public static func read(_ size: PageSize) -> HugePageReservation.Pool? {
            guard let total = globalPath(size, "nr_hugepages").flatMap(Kernel.readInt) else { return nil }
            var nodes: [NodePages] = []
            for name in Kernel.listDirectory("/sys/devices/system/node") where name.hasPrefix("node") {
                guard let node = Int(name.dropFirst(4)),
                    let nodeTotal = nodePath(size, node: node, "nr_hugepages").flatMap(Kernel.readInt),
                    let nodeFree = nodePath(size, node: node, "free_hugepages").flatMap(Kernel.readInt)
                else { continue }
                nodes.append(NodePages(node: node, total: nodeTotal, free: nodeFree))
            }
            return HugePageReservation.Pool(
                pageSize: size, total: total,
                free: globalPath(size, "free_hugepages").flatMap(Kernel.readInt) ?? 0,
                reserved: globalPath(size, "resv_hugepages").flatMap(Kernel.readInt) ?? 0,
                surplus: globalPath(size, "surplus_hugepages").flatMap(Kernel.readInt) ?? 0,
                nodes: nodes.sorted { $0.node < $1.node })
        }

        /// Free pages of `size` on `node` (one sysfs read); nil when unknown.
        package static func freePages(_ size: PageSize, node: Int) -> Int? {
            nodePath(size, node: node, "free_hugepages").flatMap(Kernel.readInt)
        }

        /// The hugetlb sizes this kernel offers (public as `PageSize.allCases.filter { Pool.read($0) != nil }`).
        package static var supportedSizes: [PageSize] {
            [.huge2MiB, .huge1GiB].filter { globalPath($0, "nr_hugepages").flatMap(Kernel.readInt) != nil }
        }

        public var description: String {
            var text = "\(pageSize): \(total) total, \(free) free, \(reserved) reserved"
            if !nodes.isEmpty {
                text += " (" + nodes.map { "node \($0.node): \($0.free) free of \($0.total)" }.joined(separator: "; ") + ")"
            }
            return text
        }

        /// The error for a hugetlb shortage — the one place it is built: what failed (`cause`), where
        /// the free pages are, and how to reserve more (on `node` when the request needs that node).
        static func shortage(_ size: PageSize, neededPages: Int, node: Int?, cause: String) -> MmapError {
            let advice = read(size).map { ". " + $0.shortageAdvice(needed: neededPages, node: node) } ?? ""
            return .hugePagesUnavailable(size, neededPages: neededPages, detail: cause + advice)
        }

        /// What to tell a user who ran out: where the pages are and how to reserve more.
        func shortageAdvice(needed: Int, node: Int? = nil) -> String {
            let sizeKB = pageSize.byteCount / 1024
            var text = "\(description)."
            if let node {
                let free = nodes.first { $0.node == node }?.free ?? 0
                text = "\(free) free on node \(node); " + text
                text +=
                    " Reserve more on that node with: echo \(needed + (nodes.first { $0.node == node }?.total ?? 0))"
                    + " > /sys/devices/system/node/node\(node)/hugepages/hugepages-\(sizeKB)kB/nr_hugepages (as root)"
            } else if pageSize == .huge1GiB {
                text +=
                    " Reserve more with: echo \(total + needed) > /sys/kernel/mm/hugepages/hugepages-\(sizeKB)kB/nr_hugepages"
                    + " (as root; 1 GiB pages need contiguous free memory, most reliably hugepagesz=1G hugepages=N at boot)"
            } else {
                text +=
                    " Reserve more with: echo \(total + needed) > /proc/sys/vm/nr_hugepages (as root),"
                    + " or sysctl vm.nr_hugepages=\(total + needed)"
            }
            return text
        }
    }
}
