import Glibc

/// Mapped buffers whose pages follow a NUMA policy — bound to nodes, preferring a node,
/// interleaved, or local — with any page size, fallback and population mode of ``MmapAllocator``.
///
/// **Before first touch.** The policy is set with `mbind` on the fresh mapping before any page
/// is faulted in, so the kernel places every page by it; ``UnmanagedBuffer/backing`` records the
/// policy the kernel reports back (`get_mempolicy`), and ``UnmanagedBuffer/placement(maximumSamples:)``
/// shows where the pages really are.
///
/// **Huge pages on a node.** hugetlb pools are global but pages live on nodes: binding a hugetlb
/// mapping to a node whose pool is empty would SIGBUS on first touch. This allocator checks the
/// node's free pages first and always populates hugetlb mappings under a bind or preferred
/// policy, so a shortage is a typed error naming the node and its free pages.
///
/// **Population.** `.parallel(threads:)` runs its threads on the CPUs of the policy's nodes
/// (where the nodes have CPUs), so first-touch work happens next to the memory.
///
/// **One node.** On a single-node host every policy over node 0 works and means local memory.
///
/// Thread-safe. Throws ``AllocationError/unknownNode(_:available:)`` at construction for nodes
/// without memory, and ``AllocationError/numaUnavailable(_:)`` when the kernel lacks a mode.
public final class NumaAllocator: UnmanagedMemoryAllocator, Sendable {
    /// The policy asked for.
    public let policy: NumaPolicy
    let engine: MappingEngine

    /// An allocator placing pages by `policy`. See ``MmapAllocator/Options`` for the rest.
    public init(policy: NumaPolicy, pageSize: PageSize = .base, fallback: FallbackPolicy = .strict,
                populate: PopulateMode = .none, lock: Bool = false, reusePoolBytes: Int = 0,
                onFallback: (@Sendable (FallbackEvent) -> Void)? = nil) throws(AllocationError) {
        let topology = NumaTopology.current()
        try topology.validate(policy.nodes)
        if case .weightedInterleave = policy, Kernel.listDirectory("/sys/kernel/mm/mempolicy/weighted_interleave").isEmpty {
            throw .numaUnavailable("weighted interleave needs Linux 6.9+ (/sys/kernel/mm/mempolicy/weighted_interleave is missing)")
        }
        if policy != .default && policy != .local && !topology.isNumaAvailable {
            throw .numaUnavailable("numa_available() failed: the kernel was built without NUMA or it is disabled (numa=off)")
        }
        self.policy = policy
        // A hugetlb page faulted under a policy whose nodes have no free page raises SIGBUS;
        // populating with MADV_POPULATE_WRITE reports it as an error instead.
        var populateMode = populate
        let chain = fallback.chain(for: pageSize)
        if chain.contains(where: \.isHugeTLB), populate == .none, Self.restrictsNodes(policy) {
            populateMode = .kernel
        }
        let cpus = policy.nodes.flatMap { topology.node($0)?.cpus ?? [] }
        let options = MmapAllocator.Options(pageSize: pageSize, fallback: fallback, populate: populateMode, lock: lock,
                                            reusePoolBytes: reusePoolBytes, numaPolicy: policy, onFallback: onFallback)
        engine = MappingEngine(options: options, backend: .numa, populateCPUs: cpus.isEmpty ? nil : cpus,
                               preMapCheck: { size, pages throws(AllocationError) in
                                   try NumaAllocator.checkNodePool(policy: policy, size: size, pages: pages)
                               })
    }

    deinit {
        engine.close()
    }

    /// Policies under which a page can only come from named nodes (or prefers them strongly
    /// enough that hugetlb faults are refused elsewhere).
    static func restrictsNodes(_ policy: NumaPolicy) -> Bool {
        switch policy {
        case .bind, .preferred, .preferredMany, .interleave, .weightedInterleave: return true
        case .default, .local: return false
        }
    }

    /// Before mapping hugetlb pages under `bind`, make sure the nodes have them free (one sysfs
    /// read per node; the full pool is read only to explain a shortage).
    static func checkNodePool(policy: NumaPolicy, size: PageSize, pages: Int) throws(AllocationError) {
        guard size.isHugeTLB, case .bind(let nodes) = policy else { return }
        var free = 0
        for node in nodes {
            guard let count = HugePagePool.freePages(size, node: node) else { return }
            free += count
        }
        guard free < pages, let pool = HugePagePool.read(size) else { return }
        let perNode = pool.nodes.map { "node \($0.node): \($0.free) free" }.joined(separator: ", ")
        let target = nodes.count == 1 ? "node \(nodes.first!)" : "nodes \(nodes)"
        throw .hugePagesUnavailable(size, neededPages: pages, detail:
            "\(free) free on \(target) (\(perNode)). " + pool.shortageAdvice(needed: pages - free, node: nodes.count == 1 ? nodes.first : nil))
    }

    /// The options buffers are mapped with (population may be raised to `.kernel`, see above).
    public var options: MmapAllocator.Options { engine.options }

    public var supportsIndividualDeallocation: Bool { true }

    public var statistics: AllocationStatistics { engine.recorder.snapshot }

    /// Fallbacks, page sizes obtained, pool use and mapped bytes.
    public var mmapStatistics: MmapStatistics { engine.statistics }

    public func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        try engine.allocate(request)
    }

    /// Unmaps every mapping the reuse pool holds.
    public func drainPool() { engine.drainPool() }
}
