import CZiggyShims
import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// NUMA on whatever host runs the unit tests — usually one node. Multi-node behaviour is tested
/// inside qemu VMs by `NumaVMTests` (run by `make test` through Tests/NumaVM/run-numa-tests).
@Suite("NUMA on this host")
struct NumaHostTests {
    let topology = NumaTopology.current()

    @Test("topology: online nodes with CPUs, memory and distances, agreeing with libnuma")
    func topologyReadsSysfs() throws {
        #expect(!topology.nodes.isEmpty)
        let allCPUs = topology.nodes.flatMap(\.cpus).sorted()
        #expect(allCPUs.count == Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        for node in topology.nodes {
            #expect(topology.distance(from: node.id, to: node.id) == 10)
            if topology.isNumaAvailable {
                #expect(Libnuma.distance(node.id, node.id) == 10)
            }
        }
        let withMemory = topology.nodesWithMemory
        #expect(!withMemory.isEmpty)
        #expect(topology.nodes.contains { $0.memoryTotal > 0 && $0.memoryFree > 0 })
        #expect(topology.description.contains("node \(topology.nodes[0].id)"))
    }

    @Test("bind to each node puts every page there (placement and numa_maps agree)")
    func bindEachNode() throws {
        for node in topology.nodesWithMemory {
            let allocator = try NumaAllocator(policy: .bind([node]), populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
            #expect(buffer.backing.mapping?.numaPolicy == .bind([node]))
            #expect(buffer.backing.backend == .numa)
            let placement = try buffer.placement()
            #expect(placement.pagesPerNode == [node: 2048], "\(placement)")
            let maps = try #require(NumaMapsEntry.containing(buffer.unsafeBaseAddress))
            #expect(maps.policy == "bind:\(node)")
            #expect(maps.pagesPerNode[node] ?? 0 >= 2048)
        }
    }

    @Test("a single-node host degrades gracefully: interleave over one node is local memory")
    func singleNodeInterleave() throws {
        guard topology.nodesWithMemory.count == 1, let only = topology.nodesWithMemory.first else {
            try Test.cancel("this host has \(topology.nodesWithMemory.count) memory nodes")
        }
        let allocator = try NumaAllocator(policy: .interleave([only]), populate: .kernel)
        let buffer = try allocator.allocate(UInt8.self, count: 4 * MiB)
        let placement = try buffer.placement()
        #expect(placement.nodes == [only])
        #expect(placement.presentPages == 1024)
        let local = try NumaAllocator(policy: .local, populate: .parallel(threads: 2))
        let localBuffer = try local.allocate(UInt8.self, count: 4 * MiB)
        #expect(try localBuffer.placement().pagesPerNode == [only: 1024])
        #expect(localBuffer.backing.mapping?.numaPolicy == .local)
    }

    @Test("unknown nodes are a typed error naming the nodes that exist")
    func unknownNode() {
        let missing = (topology.nodeIDs.max ?? 0) + 1
        #expect(throws: MmapError.unknownNode(missing, available: topology.nodesWithMemory)) {
            _ = try NumaAllocator(policy: .bind([missing]))
        }
        #expect(throws: MmapError.unknownNode(missing, available: topology.nodesWithMemory)) {
            _ = try NumaAllocator(policy: .preferred(missing))
        }
        #expect(throws: MmapError.unknownNode(missing, available: topology.nodesWithAllowedCPUs)) {
            try Team(perNode: 1, nodes: [missing]).run { _ in }
        }
        #expect(throws: MmapError.unknownNode(missing, available: topology.nodeIDs)) {
            _ = try ThreadPinning.pinCurrentThread(to: missing).node
        }
        let message = MmapError.unknownNode(7, available: [0, 1]).description
        #expect(message == "NUMA node 7 does not exist here (nodes with memory: 0-1)")
    }

    @Test("a node's team members and pinned threads run only on the node's CPUs, and the caller's affinity is restored")
    func pinning() throws {
        let node = try #require(topology.nodes.first { !$0.cpus.isEmpty })
        let seen = CPUSet()
        try Team(perNode: 2, nodes: [node.id], oversubscribe: true).run { _ in
            for _ in 0..<1000 { seen.insert(ThreadPinning.currentCPU) }
        }
        #expect(Set(seen.values).isSubset(of: Set(node.cpus)))
        let before = try ThreadPinning.currentAffinity()
        let pinnedCPUs = try ThreadPinning.withCurrentThread(pinnedTo: node.id) { () throws(MmapError) -> [Int] in
            try ThreadPinning.currentAffinity()
        }
        #expect(pinnedCPUs == node.cpus)
        #expect(try ThreadPinning.currentAffinity() == before)
        do {
            let pinned = try ThreadPinning.pinCurrentThread(to: node.id)
            #expect(try ThreadPinning.currentAffinity() == node.cpus)
            _ = pinned.node
        }
        #expect(try ThreadPinning.currentAffinity() == before)
    }

    @Test("placement works for buffers from every allocator")
    func placementAnyAllocator() throws {
        var system = try SystemMemoryAllocator().allocate(UInt8.self, count: 1 * MiB)
        system.fill(with: 1)
        let placement = try system.placement()
        #expect(placement.presentPages >= 255)
        #expect(placement.pageSize == .base)
        let arenaPages = try ScopedAllocator.withScope { arena throws in
            var buffer = try arena.allocate(UInt8.self, count: 64 << 10)
            buffer.fill(with: 2)
            return try buffer.placement().presentPages
        }
        #expect(arenaPages >= 16)
        let lazy = try MmapAllocator(pageSize: .base).allocate(UInt8.self, count: 1 * MiB)
        let lazyPlacement = try lazy.placement()
        #expect(lazyPlacement.notPresent == 256 && lazyPlacement.presentPages == 0)
        let sampled = try MmapAllocator(pageSize: .base, populate: .kernel).allocate(UInt8.self, count: 64 * MiB)
        let sample = try sampled.placement(maximumSamples: 1000)
        #expect(sample.isSampled && sample.queriedPages == 1000 && sample.totalPages == 16384)
        #expect(sample.presentPages == 1000)
    }

    @Test("weighted interleave and preferred-many are accepted where the kernel has them")
    func newerModes() throws {
        let nodes = topology.nodesWithMemory
        do {
            let allocator = try NumaAllocator(policy: .weightedInterleave(nodes), populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 1 * MiB)
            #expect(buffer.backing.mapping?.numaPolicy == .weightedInterleave(nodes))
        } catch .numaUnavailable(let reason) {
            try Test.cancel("weighted interleave unavailable: \(reason)")
        }
        let many = try NumaAllocator(policy: .preferredMany(nodes), populate: .kernel)
        let buffer = try many.allocate(UInt8.self, count: 1 * MiB)
        #expect(buffer.backing.mapping?.numaPolicy == .preferredMany(nodes))
    }

    // MARK: node numbers and node sets are checked where they are taken

    @Test("NumaAllocator(policy: .preferred(-1)) throws unknownNode instead of trapping")
    func preferredNegativeNode() async { await ChildScenario.preferredNegative.runInChild() }

    @Test("NumaAllocator(policy: .bind([-1])) throws unknownNode instead of trapping")
    func bindNegativeNode() async { await ChildScenario.bindNegative.runInChild() }

    @Test("other public entries taking a node number throw unknownNode for -1")
    func otherNegativeNodeEntries() async { await ChildScenario.otherNegativeNodes.runInChild() }

    @Test(
        "empty node sets are rejected at construction",
        arguments: ["bind", "interleave", "preferredMany", "weightedInterleave"])
    func emptyNodeSetRejected(mode: String) {
        let policy: NumaPolicy =
            switch mode {
            case "bind": .bind([])
            case "interleave": .interleave([])
            case "preferredMany": .preferredMany([])
            default: .weightedInterleave([])
            }
        do throws(MmapError) {
            let allocator = try NumaAllocator(policy: policy)
            var later = "allocate(4096 B) succeeded"
            do throws(MmapError) { _ = try allocator.allocate(UInt8.self, count: 4096).count } catch {
                later = "allocate(4096 B) -> \(error)"
            }
            Issue.record("NumaAllocator(policy: \(policy)) was accepted; later: \(later)")
        } catch {
            print("NumaAllocator(policy: \(policy)) -> \(error)")
            guard case .invalidPolicy(policy, let reason) = error else {
                Issue.record("rejected, but for another reason: \(error)"); return
            }
            #expect(reason.contains("names no node"), "\(reason)")
        }
    }

    // The children: a negative node once trapped, which in the test process would end every test.

    static func preferredNegative() -> Bool {
        ChildScenario.expectUnknownNode("NumaAllocator(policy: .preferred(-1))") {
            _ = try NumaAllocator(policy: .preferred(-1))
        }
    }

    static func bindNegative() -> Bool {
        ChildScenario.expectUnknownNode("NumaAllocator(policy: .bind([-1]))") {
            _ = try NumaAllocator(policy: .bind([-1]))
        }
    }

    static func otherNegativeNodes() -> Bool {
        let pin = ChildScenario.expectUnknownNode("ThreadPinning.pinCurrentThread(to: -1)") {
            _ = try ThreadPinning.pinCurrentThread(to: -1).node
        }
        let run = ChildScenario.expectUnknownNode("Team(perNode: 1, nodes: [-1])") {
            try Team(perNode: 1, nodes: [-1]).run { _ in }
        }
        let with = ChildScenario.expectUnknownNode("ThreadPinning.withCurrentThread(pinnedTo: -1)") {
            _ = try ThreadPinning.withCurrentThread(pinnedTo: -1) { 0 }
        }
        let reserve = ChildScenario.expectUnknownNode("HugePageReservation(.huge2MiB, count: 0, node: -1)") {
            _ = try HugePageReservation(.huge2MiB, count: 0, node: -1).granted
        }
        return pin && run && with && reserve
    }
}

final class CPUSet: @unchecked Sendable {
    private var set = Set<Int>()
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func insert(_ cpu: Int) { pthread_mutex_lock(&lock); set.insert(cpu); pthread_mutex_unlock(&lock) }
    var values: [Int] { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return Array(set) }
}
