import CNuma
import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

/// The process's inherited binding (issue 15, part 1): the rule over stated topologies, and the
/// real calls on this host. Under real `numactl` in the multi-node VMs: `LauncherBindingTests`.
@Suite("NUMA binding inherited from the launcher")
struct NumaBindingTests {
    /// A stated topology: `cpusPerNode` CPUs per node; the `cpuOnly` nodes have no memory;
    /// distances 10 local, 20 remote, 15 between nodes 1 and 2.
    static func topology(
        nodes: Int, cpusPerNode: Int = 2, cpuOnly: Set<Int> = [], allowedCPUs: [Int]? = nil, allowedNodes: NodeSet? = nil
    ) -> NumaTopology {
        let all = (0..<nodes).map { id in
            NumaTopology.Node(
                id: id, cpus: Array(id * cpusPerNode..<(id + 1) * cpusPerNode),
                memoryTotal: cpuOnly.contains(id) ? 0 : 1 << 30, memoryFree: cpuOnly.contains(id) ? 0 : 1 << 29,
                hugePages: [:],
                distances: (0..<nodes).map { other in other == id ? 10 : (Set([id, other]) == [1, 2] ? 15 : 20) })
        }
        return NumaTopology(
            nodes: all, isNumaAvailable: true, allowedCPUs: allowedCPUs ?? Array(0..<nodes * cpusPerNode),
            allowedNodes: allowedNodes ?? NodeSet(0..<nodes))
    }

    @Test("an unbound process on two nodes spans both: interleave, prefer-many, or a typed refusal naming the fix")
    func unboundSpansNodes() throws {
        let binding = NumaTopology.Binding(topology: Self.topology(nodes: 2), threadPolicy: .default)
        #expect(binding.nodes == [0, 1])
        #expect(binding.node == nil)
        #expect(!binding.isRestricted)
        #expect(try binding.policy(spanning: .interleave) == .interleave([0, 1]))
        #expect(try binding.policy(spanning: .preferMany) == .preferredMany([0, 1]))
        let error = #expect(throws: MmapError.self) { try binding.policy(spanning: .refuse) }
        guard case .invalidPolicy(let policy, let reason)? = error else {
            Issue.record("expected invalidPolicy, got \(String(describing: error))")
            return
        }
        #expect(policy == .bind([0, 1]))
        #expect(
            reason.contains("nodes 0-1") && reason.contains("--bind-to numa") && reason.contains("spanning: .interleave"),
            "\(reason)")
    }

    @Test("CPUs of one node (mpirun --bind-to numa, taskset): bound to that node, bind policy")
    func cpusOfOneNode() throws {
        let binding = NumaTopology.Binding(topology: Self.topology(nodes: 4, allowedCPUs: [6, 7]), threadPolicy: .default)
        #expect(binding.nodes == [3])
        #expect(binding.node == 3)
        #expect(binding.cpuNodes == [3])
        #expect(binding.isRestricted)
        #expect(try binding.policy(spanning: .refuse) == .bind([3]))
        // One core of a node (--bind-to core) is still that node.
        let core = NumaTopology.Binding(topology: Self.topology(nodes: 2, allowedCPUs: [1]), threadPolicy: .default)
        #expect(core.nodes == [0])
    }

    @Test("an inherited memory policy (numactl --membind, srun --mem-bind) decides the nodes over the CPUs")
    func inheritedPolicyWins() throws {
        let binding = NumaTopology.Binding(topology: Self.topology(nodes: 2, allowedCPUs: [0, 1]), threadPolicy: .bind([1]))
        #expect(binding.nodes == [1])
        #expect(binding.threadPolicy == .bind([1]))
        #expect(binding.description.contains("inherited policy bind(1)"), "\(binding)")
        let interleaved = NumaTopology.Binding(topology: Self.topology(nodes: 3), threadPolicy: .interleave([0, 2]))
        #expect(interleaved.nodes == [0, 2])
        // A policy naming nodes the cpuset forbids leaves only the allowed ones.
        let fenced = NumaTopology.Binding(
            topology: Self.topology(nodes: 3, allowedNodes: [0, 1]), threadPolicy: .interleave([1, 2]))
        #expect(fenced.nodes == [1])
    }

    @Test("CPUs on a node without memory are served by the nearest allowed memory node; the cpuset's memory fence holds")
    func memorylessCPUNode() {
        let cxl = NumaTopology.Binding(
            topology: Self.topology(nodes: 3, cpuOnly: [2], allowedCPUs: [4, 5]), threadPolicy: .default)
        #expect(cxl.cpuNodes == [2])
        #expect(cxl.memoryNodes == [0, 1])
        #expect(cxl.nodes == [1], "distance 2→1 is 15, 2→0 is 20")
        let fenced = NumaTopology.Binding(
            topology: Self.topology(nodes: 2, allowedCPUs: [2, 3], allowedNodes: [0]), threadPolicy: .default)
        #expect(fenced.nodes == [0], "CPUs on node 1, memory allowed only on node 0")
    }

    @Test("this host: the binding is what sched_getaffinity, Mems_allowed and get_mempolicy say")
    func hostBinding() throws {
        let binding = NumaTopology.Binding.current()
        let affinity = try Kernel.getAffinity().get().sorted()
        #expect(binding.cpus == affinity)
        let topology = NumaTopology.current()
        #expect(binding.cpuNodes == topology.nodesWithAllowedCPUs)
        #expect(binding.memoryNodes.isSubset(of: topology.allowedNodes))
        #expect(binding.threadPolicy == .default, "the test process runs with no inherited policy")
        #expect(!binding.nodes.isEmpty)
        let allocator = try NumaAllocator(bound: binding)
        #expect(allocator.policy == (try binding.policy(spanning: .interleave)))
    }

    @Test("an inherited thread policy is reported truthfully: .default buffers say which policy their pages follow")
    func inheritedPolicyReported() {
        let seen = Locked<[String]>([])
        runOnThreads(1) { _ in
            // What numactl --preferred=0 does to the process, done to this one thread only.
            numa_set_preferred(0)
            var notes: [String] = []
            let binding = NumaTopology.Binding.current()
            if binding.threadPolicy != .preferred(0) { notes.append("threadPolicy \(binding.threadPolicy)") }
            if binding.nodes != [0] { notes.append("nodes \(binding.nodes)") }
            do {
                let allocator = try NumaAllocator(policy: .default, populate: .kernel)
                let buffer = try allocator.allocate(UInt8.self, count: 1 << 20)
                if buffer.backing.mapping?.numaPolicy != .preferred(0) {
                    notes.append("numaPolicy \(String(describing: buffer.backing.mapping?.numaPolicy))")
                }
                if buffer.backing.mapping?.isPolicyInherited != true { notes.append("isPolicyInherited false") }
                if !(buffer.backing.mapping?.description.contains("policy preferred(0) (inherited)") ?? false) {
                    notes.append("description \(String(describing: buffer.backing.mapping))")
                }
                let bound = try NumaAllocator(bound: binding)
                if bound.policy != .bind([0]) { notes.append("bound policy \(bound.policy)") }
            } catch {
                notes.append("threw \(error)")
            }
            seen.withLock { $0 = notes }
        }
        #expect(seen.withLock { $0 }.isEmpty, "\(seen.withLock { $0 })")
        // Without an inherited policy the range reports default, not inherited.
        do {
            let plain = try NumaAllocator(policy: .default).allocate(UInt8.self, count: 4096)
            #expect(plain.backing.mapping?.numaPolicy == .default)
            #expect(plain.backing.mapping?.isPolicyInherited == false)
        } catch {
            Issue.record("NumaAllocator(policy: .default) threw \(error)")
        }
    }

    @Test("get_mempolicy failing: the thread policy reads as default, never a crash or a wrong claim")
    func threadPolicyUnreadable() {
        let policy = Kernel.withFaults(.failing(.getMempolicy, with: .noFunction)) { NumaTopology.Binding.threadPolicy() }
        #expect(policy == .default)
        let binding = Kernel.withFaults(.failing(.getMempolicy, with: .invalidArgument)) { NumaTopology.Binding.current() }
        #expect(binding.threadPolicy == .default)
        #expect(!binding.nodes.isEmpty)
    }
}
