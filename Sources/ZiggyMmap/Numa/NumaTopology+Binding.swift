import ZiggyKernel

extension NumaTopology {
    /// Where the process was told to run and put its memory — by a launcher (`mpirun --bind-to numa`,
    /// `srun --cpu-bind=ldoms --mem-bind=local`), `numactl --cpunodebind --membind`, `taskset` or a
    /// cgroup cpuset — and so the NUMA node(s) it is bound to.
    ///
    /// The library reads the binding and stays inside it; it never widens it. Three things are
    /// inherited, and each is read as the kernel reports it:
    /// - the CPUs (`sched_getaffinity`; a thread a ``Team`` pinned still counts the CPUs it had);
    /// - the memory nodes the cgroup cpuset allows (`Mems_allowed_list` in `/proc/self/status`);
    /// - the calling thread's memory policy (`get_mempolicy`: what `numactl --membind`/`--interleave`
    ///   or `srun --mem-bind` set), which governs every page of a range that has no policy of its own.
    ///
    /// ``nodes`` combines them: the nodes the inherited policy names, else the nodes holding the
    /// allowed CPUs — in both cases only those with memory the cpuset allows (a node whose CPUs have
    /// no memory of their own, as with CXL or HBM layouts, is served by the nearest allowed memory
    /// node). ``NumaAllocator/init(bound:spanning:pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)``
    /// turns it into a policy.
    ///
    /// A value; thread-safe to share. ``current()`` reads a few small files and one system call.
    public struct Binding: Sendable, Hashable, CustomStringConvertible {
        /// The CPUs the calling thread may run on, ascending (public as ``NumaTopology/allowedCPUs``).
        let cpus: [Int]
        /// The nodes those CPUs belong to.
        public let cpuNodes: NodeSet
        /// The nodes with memory this process may allocate on (the cgroup cpuset's memory nodes).
        public let memoryNodes: NodeSet
        /// The calling thread's inherited memory policy (``NumaPolicy/default`` when none was set).
        public let threadPolicy: NumaPolicy
        /// The node(s) the process is bound to: see the type's description.
        public let nodes: NodeSet
        /// Whether anything narrows the process: fewer CPUs or memory nodes than the host has, or an
        /// inherited policy.
        public let isRestricted: Bool

        /// The node, when the binding is exactly one (the usual MPI layout: one rank per node).
        public var node: Int? { nodes.count == 1 ? nodes.first : nil }

        /// What to do when the binding spans several nodes.
        public enum Spanning: Sendable, Hashable {
            /// Interleave pages over the nodes (`MPOL_INTERLEAVE`): even bandwidth from all of them.
            case interleave
            /// Prefer the nodes, falling back to others when they are full (`MPOL_PREFERRED_MANY`).
            case preferMany
            /// Throw ``MmapError/invalidPolicy(_:reason:)``: the caller wants one node per process.
            case refuse
        }

        /// The policy that keeps memory inside the binding: `bind` for one node; for several, what
        /// `spanning` says. Throws ``MmapError/invalidPolicy(_:reason:)`` for `.refuse` over several
        /// nodes, naming them and how to bind the process to one, and for a binding left with no node
        /// that has memory (a cpuset whose memory nodes exclude every node here).
        public func policy(spanning: Spanning) throws(MmapError) -> NumaPolicy {
            if nodes.count == 1 { return .bind(nodes) }
            if nodes.isEmpty {
                throw .invalidPolicy(
                    .bind(nodes),
                    reason: "this process may allocate on no node with memory (CPUs \(NodeSet(cpus)), memory nodes "
                        + "\(memoryNodes)): widen the cpuset's memory nodes (cpuset.mems) or the launcher's binding")
            }
            switch spanning {
            case .interleave: return .interleave(nodes)
            case .preferMany: return .preferredMany(nodes)
            case .refuse:
                throw .invalidPolicy(
                    .bind(nodes),
                    reason: "this process is bound to nodes \(nodes) (CPUs \(NodeSet(cpus))), not to one node; "
                        + "bind it to one (mpirun --map-by numa --bind-to numa, srun --cpu-bind=ldoms, "
                        + "numactl --cpunodebind=N --membind=N) or pass spanning: .interleave")
            }
        }

        /// The binding of the calling thread now.
        public static func current() -> NumaTopology.Binding {
            NumaTopology.Binding(topology: .current(), threadPolicy: Self.threadPolicy())
        }

        /// The binding `topology` describes under `threadPolicy` (separate so tests can state both).
        init(topology: NumaTopology, threadPolicy: NumaPolicy) {
            cpus = topology.allowedCPUs
            cpuNodes = topology.nodesWithAllowedCPUs
            memoryNodes = topology.nodesWithMemory.intersection(topology.allowedNodes)
            self.threadPolicy = threadPolicy
            let named = threadPolicy.nodes.intersection(memoryNodes)
            if !named.isEmpty {
                nodes = named
            } else {
                let local = cpuNodes.intersection(memoryNodes)
                nodes = local.isEmpty ? Self.nearest(to: cpuNodes, among: memoryNodes, topology) : local
            }
            isRestricted = topology.isRestricted || threadPolicy != .default
        }

        /// For CPU nodes without memory: each one's nearest memory node (the whole set when the
        /// distances are unknown).
        private static func nearest(to cpuNodes: NodeSet, among memory: NodeSet, _ topology: NumaTopology) -> NodeSet {
            var chosen: [Int] = []
            for node in cpuNodes {
                let best = memory.min {
                    (topology.distance(from: node, to: $0) ?? .max) < (topology.distance(from: node, to: $1) ?? .max)
                }
                if let best, topology.distance(from: node, to: best) != nil { chosen.append(best) }
            }
            return chosen.isEmpty ? memory : NodeSet(chosen)
        }

        /// The calling thread's policy as the kernel reports it (`.default` when it cannot be read:
        /// no NUMA in the kernel, or a mode this library does not know).
        static func threadPolicy() -> NumaPolicy {
            guard case .success(let (mode, mask)) = Kernel.getMempolicy(address: nil, maskWords: 16) else { return .default }
            return NumaPolicy(kernelMode: mode, mask: mask) ?? .default
        }

        public var description: String {
            var text = nodes.count == 1 ? "node \(nodes)" : "nodes \(nodes)"
            text += " (CPUs \(NodeSet(cpus)), memory nodes \(memoryNodes)"
            if threadPolicy != .default { text += ", inherited policy \(threadPolicy)" }
            return text + ")"
        }
    }
}
