import ZiggyKernel

/// How a ``NumaAllocator`` places its mappings, handed to the mapping engine as a value: the
/// policy to bind before first touch (one for the whole mapping, or one node per block of a team's
/// schedule), the CPUs population runs on, and the nodes whose hugetlb pools must hold the pages
/// before anything is mapped. No public option can set a policy without these checks.
struct Placement: Sendable {
    /// The policy of a uniform placement; for a blocked one, `bind` over the blocks' nodes.
    let policy: NumaPolicy
    /// CPUs population threads run on: the policy's nodes' CPUs that the allocating thread may
    /// use (never wider); nil to run wherever allowed.
    let populateCPUs: [Int]?
    /// Nodes whose hugetlb pools must hold every page (bind: no other node may supply them).
    let poolNodes: NodeSet
    /// For a blocked placement: the team whose schedule cuts the mapping into blocks (one node
    /// each, populated by the members that will use them) and the memory nodes asked for.
    let blocked: (team: Team, memoryNodes: NodeSet?, granule: Int)?

    init(policy: NumaPolicy, populateCPUs: [Int]?, poolNodes: NodeSet) {
        self.policy = policy
        self.populateCPUs = populateCPUs
        self.poolNodes = poolNodes
        blocked = nil
    }

    /// `granule`: bytes every cut between blocks is a multiple of (a grid's row or plane; 1 for a
    /// flat buffer).
    init(blockedFor team: Team, memoryNodes: NodeSet?, granule: Int = 1) {
        policy = .bind(memoryNodes ?? team.nodes)
        populateCPUs = nil
        poolNodes = memoryNodes ?? team.nodes
        blocked = (team, memoryNodes, granule)
    }

    /// The one node a bind policy names, for messages about its pool.
    var singleNode: Int? { poolNodes.count == 1 ? poolNodes.first : nil }

    /// The blocks of a blocked placement over `length` bytes of `size` pages: computed once per
    /// mapping by the engine, which hands it to every step below and to the record.
    func schedule(_ length: Int, _ size: PageSize) -> Team.Schedule? {
        blocked.map {
            $0.team.schedule(UInt8.self, count: length, pageSize: size, memoryNodes: $0.memoryNodes, granule: $0.granule)
        }
    }

    /// Before mapping hugetlb pages: the nodes that must supply them have them free (one sysfs
    /// read per node; the full pool is read only to explain a shortage). For a blocked placement
    /// each block's node must hold that block's pages — the pool is global, so a short node would
    /// otherwise raise SIGBUS at the first store into its block.
    func checkPools(_ size: PageSize, pages: Int, schedule: Team.Schedule?) throws(MmapError) {
        guard size.isHugeTLB, !poolNodes.isEmpty else { return }
        if let schedule {
            for (node, needed) in Dictionary(grouping: schedule.nodeRuns, by: \.node).mapValues({
                $0.reduce(0) { $0 + $1.pages.count }
            }) {
                guard let free = HugePageReservation.Pool.freePages(size, node: node), free < needed else { continue }
                throw HugePageReservation.Pool.shortage(
                    size, neededPages: needed, node: node,
                    cause: "\(free) free on node \(node), whose block needs \(needed)")
            }
            return
        }
        var free = 0
        for node in poolNodes {
            guard let count = HugePageReservation.Pool.freePages(size, node: node) else { return }
            free += count
        }
        guard free < pages else { return }
        let target = poolNodes.count == 1 ? "node \(poolNodes.first!)" : "nodes \(poolNodes)"
        throw HugePageReservation.Pool.shortage(size, neededPages: pages, node: singleNode, cause: "\(free) free on \(target)")
    }

    /// Binds the fresh range before anything touches it — the whole range, or each block to its
    /// node — and returns the policy the kernel reports (for blocks, `bind` over their nodes) and
    /// whether it is the thread's inherited one (a `.default` range under `numactl --membind`).
    func apply(
        _ start: UnsafeMutableRawPointer, _ length: Int, _ size: PageSize, schedule: Team.Schedule?
    ) throws(MmapError) -> (policy: NumaPolicy, inherited: Bool) {
        if let schedule {
            for run in schedule.nodeRuns {
                let (mode, mask) = NumaPolicy.bind([run.node]).kernelArguments
                let offset = run.pages.lowerBound * size.byteCount
                let bytes = min(length, run.pages.upperBound * size.byteCount) - offset
                try bind(start + offset, bytes, mode, mask, "binding pages \(run.pages) of \(size) to node \(run.node)")
            }
            return (policy, false)
        }
        let (mode, mask) = policy.kernelArguments
        if policy != .default { try bind(start, length, mode, mask, "applying NUMA policy \(policy) to \(length) B") }
        switch Kernel.getMempolicy(address: start, maskWords: max(mask.count, 16)) {
        case .success(let (acceptedMode, acceptedMask)):
            let accepted = NumaPolicy(kernelMode: acceptedMode, mask: acceptedMask) ?? policy
            // A range with no policy of its own follows the faulting thread's — what numactl
            // --membind or a launcher's --mem-bind set. The kernel reports such a range as
            // "default"; the truthful answer is the policy its pages will follow.
            if accepted == .default {
                let inherited = NumaTopology.Binding.threadPolicy()
                if inherited != .default { return (inherited, true) }
            }
            return (accepted, false)
        case .failure(let error):
            throw .kernel(call: "get_mempolicy", errno: error, request: "reading back the policy of \(length) B")
        }
    }

    private func bind(
        _ start: UnsafeMutableRawPointer, _ length: Int, _ mode: Int32, _ mask: [UInt],
        _ request: String
    ) throws(MmapError) {
        if case .failure(let error) = Kernel.mbind(start, length, mode, mask, 0) {
            throw .kernel(
                call: "mbind", errno: error,
                request: request
                    + (error == .invalidArgument ? " (a mode this kernel lacks, or nodes without memory)" : ""))
        }
    }
}
