import Glibc
import Testing
@testable import ZiggyMmap

/// The VM configuration `Tests/NumaVM/run-numa-tests` boots, passed in the environment.
enum NumaVM {
    static func value(_ name: String) -> Int? { getenv(name).flatMap { Int(String(cString: $0)) } }
    static let nodes = value("ZIGGY_NUMA_VM_NODES")
    static let cpus = value("ZIGGY_NUMA_VM_CPUS") ?? nodes ?? 0
    static let hugePagesPerNode = value("ZIGGY_NUMA_VM_HUGEPAGES") ?? 0
    static let nodeMiB = value("ZIGGY_NUMA_VM_NODE_MB") ?? 0
    static var isInside: Bool { nodes != nil }
}

/// Multi-node NUMA behaviour, checked for real inside qemu VMs with 2 and 4 nodes. On the host
/// these tests are skipped (with the reason printed); `make test` runs them in the VMs.
@Suite("NUMA inside a multi-node VM", .serialized,
       .enabled(if: NumaVM.isInside, "multi-node tests run inside the NUMA VMs (Tests/NumaVM/run-numa-tests, part of make test)"))
struct NumaVMTests {
    let topology = NumaTopology.current()
    var nodes: [Int] { topology.nodesWithMemory.array }

    @Test("topology matches the VM: nodes, CPUs, memory, per-node huge pages, distances")
    func topologyMatches() throws {
        let expected = try #require(NumaVM.nodes)
        #expect(topology.isNumaAvailable)
        #expect(topology.nodes.map(\.id) == Array(0..<expected))
        #expect(Libnuma.maxNode == expected - 1)
        let perNode = NumaVM.cpus / expected
        for node in topology.nodes {
            if NumaVM.cpus % expected == 0 {
                #expect(node.cpus == Array(node.id * perNode..<(node.id + 1) * perNode), "node \(node.id)")
            }
            let totalMiB = node.memoryTotal >> 20
            #expect(totalMiB > NumaVM.nodeMiB * 3 / 4 && totalMiB <= NumaVM.nodeMiB, "node \(node.id): \(totalMiB) MiB")
            #expect(node.hugePages[.huge2MiB]?.total == NumaVM.hugePagesPerNode, "node \(node.id) huge pages")
            for other in topology.nodes {
                let distance = topology.distance(from: node.id, to: other.id)
                #expect(distance == (node.id == other.id ? 10 : 20))
                #expect(Libnuma.distance(node.id, other.id) == distance)
            }
        }
    }

    @Test("bind to each node: 100% of pages there for base, THP and 2 MiB pages (placement and numa_maps agree)",
          arguments: [PageSize.base, .transparentHuge, .huge2MiB])
    func bindEachNode(pageSize: PageSize) throws {
        for node in nodes {
            let allocator = try NumaAllocator(policy: .bind([node]), pageSize: pageSize, populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
            #expect(buffer.backing.numaPolicy == .bind([node]))
            #expect(buffer.backing.obtainedPageSize == pageSize)
            let placement = try buffer.placement()
            let pages = pageSize == .huge2MiB ? 4 : 2048
            #expect(placement.pagesPerNode == [node: pages], "node \(node) \(pageSize): \(placement)")
            let maps = try #require(NumaMapsEntry.containing(buffer.baseAddress))
            #expect(maps.policy == "bind:\(node)")
            #expect(Set(maps.pagesPerNode.keys) == [node], "numa_maps: \(maps.pagesPerNode)")
            if pageSize == .huge2MiB { #expect(maps.kernelPageSizeKB == 2048) }
            // The guest runs THP `always`: base pages must still be base pages, THP must be huge.
            let report = buffer.pageSizeReport()
            if pageSize == .base { #expect(report.transparentHugeBytes == 0, "\(report)") }
            if pageSize == .transparentHuge { #expect(report.transparentHugeBytes > 0, "\(report)") }
        }
    }

    @Test("interleave over all nodes: per-node page counts differ by at most one page",
          arguments: [PageSize.base, .huge2MiB])
    func interleave(pageSize: PageSize) throws {
        let all = NodeSet(nodes)
        let allocator = try NumaAllocator(policy: .interleave(all), pageSize: pageSize, populate: .kernel)
        let pages = pageSize == .huge2MiB ? nodes.count * 2 + 1 : 4099
        let buffer = try allocator.allocate(UInt8.self, count: pages * pageSize.byteCount)
        #expect(buffer.backing.numaPolicy == .interleave(all))
        let placement = try buffer.placement()
        let counts = nodes.map { placement.pagesPerNode[$0] ?? 0 }
        #expect(counts.reduce(0, +) == pages)
        #expect(counts.max()! - counts.min()! <= 1, "\(pageSize): \(placement)")
        let maps = try #require(NumaMapsEntry.containing(buffer.baseAddress))
        #expect(maps.policy.hasPrefix("interleave"))
    }

    @Test("preferred on a node with too few free pages spills to other nodes, reported truthfully")
    func preferredSpills() throws {
        let target = nodes.last!
        let free = try #require(HugePagePool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free)
        let wanted = free + 2
        let pool = HugePagePool.read(.huge2MiB)!
        try #require(pool.available >= wanted, "need \(wanted) free 2 MiB pages in the VM, have \(pool.available)")
        let allocator = try NumaAllocator(policy: .preferred(target), pageSize: .huge2MiB, populate: .kernel)
        let buffer = try allocator.allocate(UInt8.self, count: wanted * 2 * MiB)
        let placement = try buffer.placement()
        #expect(placement.pagesPerNode[target] == free, "\(placement)")
        #expect(placement.presentPages == wanted)
        #expect(placement.nodes.count >= 2)
        #expect(buffer.backing.numaPolicy == .preferred(target))
    }

    @Test("bind with hugetlb on a node whose pool is empty: typed error naming the node and its free pages; no SIGBUS")
    func bindEmptyNodePool() throws {
        let target = nodes.last!
        let free = try #require(HugePagePool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free)
        let hog = try NumaAllocator(policy: .bind([target]), pageSize: .huge2MiB)
        let held = free > 0 ? try hog.allocate(UInt8.self, count: free * 2 * MiB) : UnmanagedBuffer<UInt8>()
        #expect(HugePagePool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free == 0)
        defer { _ = held.count }

        let allocator = try NumaAllocator(policy: .bind([target]), pageSize: .huge2MiB)
        let plan = KernelFaultPlan()
        let error = #expect(throws: AllocationError.self) {
            try Kernel.withFaults(plan) { _ = try allocator.allocate(UInt8.self, count: 4 * MiB) }
        }
        guard case .hugePagesUnavailable(.huge2MiB, 2, let detail)? = error else {
            Issue.record("expected hugePagesUnavailable, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("0 free on node \(target)"), "\(detail)")
        #expect(detail.contains("/sys/devices/system/node/node\(target)/hugepages"))
        #expect(plan.bytesStillMapped == 0)

        // Without the allocator's pre-check, populating under the policy still turns the shortage
        // into an error instead of a SIGBUS on first touch.
        let raw = MmapAllocator(MmapAllocator.Options(pageSize: .huge2MiB, populate: .kernel, numaPolicy: .bind([target])))
        let rawPlan = KernelFaultPlan()
        let rawError = #expect(throws: AllocationError.self) {
            try Kernel.withFaults(rawPlan) { _ = try raw.allocate(UInt8.self, count: 4 * MiB) }
        }
        if case .hugePagesUnavailable(.huge2MiB, 2, let rawDetail)? = rawError {
            #expect(rawDetail.contains("under policy bind(\(target))"), "\(rawDetail)")
        } else {
            Issue.record("expected hugePagesUnavailable from populate, got \(String(describing: rawError))")
        }
        #expect(rawPlan.bytesStillMapped == 0)
    }

    @Test("pinned threads run only on the CPUs of their node")
    func pinnedThreads() throws {
        for node in topology.nodes where !node.cpus.isEmpty {
            let seen = CPUSet()
            try ThreadPinning.run(onNode: node.id, threads: 2) { _ in
                for _ in 0..<200 { seen.insert(ThreadPinning.currentCPU) }
            }
            #expect(Set(seen.values).isSubset(of: Set(node.cpus)), "node \(node.id): ran on \(seen.values)")
        }
    }

    @Test("node-local parallel prefault puts every page on the target node", arguments: [PageSize.base, .huge2MiB])
    func parallelPrefault(pageSize: PageSize) throws {
        for node in nodes {
            for policy in [NumaPolicy.bind([node]), .preferred(node)] {
                let allocator = try NumaAllocator(policy: policy, pageSize: pageSize, populate: .parallel(threads: 2))
                let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
                let placement = try buffer.placement()
                #expect(placement.nodes == [node], "\(policy) \(pageSize): \(placement)")
                #expect(placement.notPresent == 0)
                if case .parallel = buffer.backing.populate {} else { Issue.record("populate was \(buffer.backing.populate)") }
            }
        }
    }

    @Test("placement of a default-policy buffer touched by a thread pinned to a node is that node")
    func firstTouchLocal() throws {
        for node in topology.nodes where !node.cpus.isEmpty && node.memoryTotal > 0 {
            let allocator = MmapAllocator(pageSize: .base)
            var buffer = try allocator.allocate(UInt8.self, count: 4 * MiB)
            let base = UInt(bitPattern: buffer.baseAddress)
            try ThreadPinning.run(onNode: node.id, threads: 1) { _ in
                let pointer = UnsafeMutableRawPointer(bitPattern: base)!
                for offset in stride(from: 0, to: 4 * MiB, by: 4096) { pointer.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
            }
            buffer[0] = 1
            #expect(try buffer.placement().nodes == [node.id])
        }
    }
}

extension NumaVMTests {
    @Test("a sampled placement of an interleaved buffer sees every node (no aliasing with the interleave period)")
    func sampledInterleave() throws {
        let all = NodeSet(nodes)
        let allocator = try NumaAllocator(policy: .interleave(all), populate: .kernel)
        let buffer = try allocator.allocate(UInt8.self, count: 16 * MiB)
        let sample = try buffer.placement(maximumSamples: 512)
        #expect(sample.isSampled && sample.queriedPages == 512)
        #expect(sample.nodes == all, "\(sample)")
        for node in nodes {
            #expect(abs(sample.fraction(onNode: node) - 1 / Double(nodes.count)) < 0.15, "\(sample)")
        }
    }
}
