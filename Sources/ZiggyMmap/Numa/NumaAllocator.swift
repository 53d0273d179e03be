@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// Mapped buffers whose pages follow a NUMA policy — bound to nodes, preferring a node,
/// interleaved, or local — with any page size, fallback and population mode of ``MmapAllocator``.
///
/// **Before first touch.** The policy is set with `mbind` on the fresh mapping before any page
/// is faulted in, so the kernel places every page by it; ``UnmanagedBuffer/backing`` records the
/// policy the kernel reports back (`get_mempolicy`), and ``UnmanagedBuffer/placement(elements:maximumSamples:)``
/// shows where the pages really are.
///
/// **Huge pages on a node.** hugetlb pools are global but pages live on nodes: binding a hugetlb
/// mapping to a node whose pool is empty would SIGBUS on first touch. This allocator checks the
/// node's free pages first and always populates hugetlb mappings under a policy that names
/// nodes, so a shortage is a typed error naming the node and its free pages.
///
/// **Population.** `.parallel(threads:)` runs its threads on the CPUs of the policy's nodes that
/// the allocating thread may use — never outside the affinity it inherited (a launcher's
/// `--bind-to`, `taskset`, a cgroup cpuset) — so first-touch work happens next to the memory.
///
/// **One node.** On a single-node host every policy over node 0 works and means local memory.
///
/// Thread-safe. Construction throws ``MmapError/unknownNode(_:available:)`` for a node that does
/// not exist or has no memory (negative numbers included), ``MmapError/invalidPolicy(_:reason:)``
/// for a policy that names no node, and ``MmapError/numaUnavailable(_:)`` when the kernel lacks
/// NUMA or the mode.
public final class NumaAllocator: UnmanagedMemoryAllocator, Sendable {
    @_spi(AllocatorImplementation)
    public static func failure(forInvalidRequest error: AllocationError) -> MmapError { .request(error) }

    /// The policy asked for; for a team's blocked allocator (``Team/allocate(_:count:pageSize:fallback:memoryNodes:populate:)-907kp``),
    /// `bind` over the nodes its blocks go to — each block is bound to one of them.
    public let policy: NumaPolicy
    let engine: MappingEngine

    /// An allocator placing pages by `policy`; the other parameters are those of
    /// ``MmapAllocator/init(pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)``.
    public init(
        policy: NumaPolicy, pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict,
        populate: PopulateMode = .none, lock: Bool = false, reusePoolBytes: Int = 0,
        onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)? = nil
    ) throws(MmapError) {
        let topology = NumaTopology.current()
        try Self.validate(policy, topology)
        self.policy = policy
        // A hugetlb page faulted under a policy whose nodes have no free page raises SIGBUS;
        // populating with MADV_POPULATE_WRITE reports it as an error instead.
        let chain = fallback.chain(for: pageSize)
        var populateMode = populate
        if chain.contains(where: \.isHugeTLB), populate == .none, policy.needsNodes {
            populateMode = .kernel
        }
        let allowed = Set(AllowedCPUs.current() ?? [])
        let cpus = policy.nodes.flatMap { topology.node($0)?.cpus ?? [] }.filter(allowed.contains)
        var poolNodes: NodeSet = []
        if case .bind(let nodes) = policy { poolNodes = nodes }
        let options = MmapAllocator.Options(
            pageSize: pageSize, fallback: fallback, populate: populateMode, lock: lock,
            reusePoolBytes: reusePoolBytes, onFallback: onFallback)
        engine = MappingEngine(
            options: options,
            placement: Placement(policy: policy, populateCPUs: cpus.isEmpty ? nil : cpus, poolNodes: poolNodes),
            chain: chain)
    }

    /// An allocator that keeps memory inside the process's inherited binding (``NumaTopology/Binding``):
    /// `bind` to its node when it is bound to one — the MPI layout, one rank per node — and, when
    /// it spans several, what `spanning` says (interleave over them by default; `.refuse` throws
    /// ``MmapError/invalidPolicy(_:reason:)`` naming the nodes and how to bind to one). Population
    /// threads run on the binding's CPUs only. ``policy`` says which policy was chosen.
    public convenience init(
        bound binding: NumaTopology.Binding = .current(), spanning: NumaTopology.Binding.Spanning = .interleave,
        pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict, populate: PopulateMode = .none,
        lock: Bool = false, reusePoolBytes: Int = 0, onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)? = nil
    ) throws(MmapError) {
        try self.init(
            policy: binding.policy(spanning: spanning), pageSize: pageSize, fallback: fallback, populate: populate,
            lock: lock, reusePoolBytes: reusePoolBytes, onFallback: onFallback)
    }

    /// An allocator of blocked buffers for `team` (Chapel's Block distribution): each buffer is cut
    /// by the team's static schedule (``Team/Schedule``) into contiguous parts on page boundaries of
    /// the page size obtained; each part is bound (`mbind`) to its node — member k's node, or with
    /// `memoryNodes` one of those nodes, a node without CPUs worked by the members of the nearest
    /// node — and populated (`MADV_POPULATE_WRITE`) by the member that will use it, so placement and
    /// work agree by construction. With hugetlb pages every block's node must hold that block's
    /// pages before anything is mapped (a typed error naming the node otherwise, never a SIGBUS).
    /// ``Team/forEachChunk(of:_:)`` hands each member exactly its parts.
    ///
    /// `populate: .none` leaves the first touch to the members (for base pages; hugetlb blocks are
    /// always populated). ``Team/schedule(for:)`` and ``UnmanagedBuffer/placement(elements:maximumSamples:)``
    /// show where each block is.
    init(
        blockedFor team: Team, memoryNodes: NodeSet? = nil, pageSize: PageSize = .base,
        fallback: MmapAllocator.Fallback = .strict, populate: PopulateMode = .parallel(threads: Int.max),
        lock: Bool = false, reusePoolBytes: Int = 0, granule: Int = 1,
        onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)? = nil
    ) throws(MmapError) {
        let nodes = memoryNodes ?? team.nodes
        try Self.validate(.bind(nodes), team.topology)
        policy = .bind(nodes)
        // Blocks are populated by the members that will use them: always so for hugetlb blocks
        // (a short node must be an error, not a SIGBUS), and for `.kernel`, which would populate
        // every block from the allocating thread.
        let chain = fallback.chain(for: pageSize)
        var populateMode = populate
        if chain.contains(where: \.isHugeTLB) || populate == .kernel {
            populateMode = .parallel(threads: team.count)
        }
        let options = MmapAllocator.Options(
            pageSize: pageSize, fallback: fallback, populate: populateMode, lock: lock,
            reusePoolBytes: reusePoolBytes, onFallback: onFallback)
        engine = MappingEngine(
            options: options, placement: Placement(blockedFor: team, memoryNodes: memoryNodes, granule: granule),
            chain: chain)
    }

    deinit {
        engine.close()
    }

    /// Every node must exist and have memory; policies that name nodes must name at least one;
    /// the kernel must offer the mode.
    static func validate(_ policy: NumaPolicy, _ topology: NumaTopology) throws(MmapError) {
        if policy.needsNodes && policy.nodes.isEmpty {
            throw .invalidPolicy(
                policy,
                reason: "it names no node; name at least one of the nodes with memory ("
                    + "\(topology.nodesWithMemory))")
        }
        try topology.validate(policy.nodes)
        if case .weightedInterleave = policy, Kernel.listDirectory("/sys/kernel/mm/mempolicy/weighted_interleave").isEmpty {
            throw .numaUnavailable("weighted interleave needs Linux 6.9+ (/sys/kernel/mm/mempolicy/weighted_interleave is missing)")
        }
        if policy.needsNodes && !topology.isNumaAvailable {
            throw .numaUnavailable("numa_available() failed: the kernel was built without NUMA or it is disabled (numa=off)")
        }
    }

    /// The options buffers are mapped with (population may be raised to `.kernel`, see above;
    /// a buffer's ``MappingDetails/populate`` says how it was populated).
    package var options: MmapAllocator.Options { engine.options }

    public var supportsIndividualDeallocation: Bool { true }

    public var statistics: AllocationStatistics { engine.counters.allocation }

    /// Fallbacks, page sizes obtained, pool use and mapped bytes.
    public var mmapStatistics: MmapAllocator.Statistics { engine.mmapStatistics }

    @_spi(AllocatorImplementation)
    public func allocateRaw(_ request: AllocationRequest) throws(MmapError) -> RawAllocation {
        try engine.allocate(request)
    }

    /// Resizes this allocator's own mappings as ``MmapAllocator/resizeRaw(_:to:)`` does, keeping
    /// the buffer's NUMA policy (the kernel keeps a mapping's policy for its grown pages).
    ///
    /// Blocked buffers (one mapping part per node) are never remapped: resizing allocates a new
    /// blocked buffer of the new size and copies.
    @_spi(AllocatorImplementation)
    public func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(MmapError) -> RawAllocation? {
        try engine.resize(allocation, to: request)
    }

    /// Unmaps every mapping the reuse pool holds.
    public func drainPool() { engine.drainPool() }
}
