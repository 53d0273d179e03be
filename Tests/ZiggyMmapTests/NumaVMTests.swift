import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

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
@Suite(
    "NUMA inside a multi-node VM", .serialized,
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
            #expect(
                HugePageReservation.Pool.read(.huge2MiB)?.nodes.first { $0.node == node.id }?.total == NumaVM.hugePagesPerNode,
                "node \(node.id) huge pages")
            for other in topology.nodes {
                let distance = topology.distance(from: node.id, to: other.id)
                #expect(distance == (node.id == other.id ? 10 : 20))
                #expect(Libnuma.distance(node.id, other.id) == distance)
            }
        }
    }

    @Test(
        "bind to each node: 100% of pages there for base, THP and 2 MiB pages (placement and numa_maps agree)",
        arguments: [PageSize.base, .transparentHuge, .huge2MiB])
    func bindEachNode(pageSize: PageSize) throws {
        for node in nodes {
            let allocator = try NumaAllocator(policy: .bind([node]), pageSize: pageSize, populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
            #expect(buffer.backing.mapping?.numaPolicy == .bind([node]))
            #expect(buffer.backing.mapping?.obtainedPageSize == pageSize)
            let placement = try buffer.placement()
            let pages = pageSize == .huge2MiB ? 4 : 2048
            #expect(placement.pagesPerNode == [node: pages], "node \(node) \(pageSize): \(placement)")
            let maps = try #require(NumaMapsEntry.containing(buffer.unsafeBaseAddress))
            #expect(maps.policy == "bind:\(node)")
            #expect(Set(maps.pagesPerNode.keys) == [node], "numa_maps: \(maps.pagesPerNode)")
            if pageSize == .huge2MiB { #expect(maps.kernelPageSizeKB == 2048) }
            // The guest runs THP `always`: base pages must still be base pages, THP must be huge.
            let report = buffer.pageSizeReport()
            if pageSize == .base { #expect(report.transparentHugeBytes == 0, "\(report)") }
            if pageSize == .transparentHuge { #expect(report.transparentHugeBytes > 0, "\(report)") }
        }
    }

    @Test(
        "interleave over all nodes: per-node page counts differ by at most one page",
        arguments: [PageSize.base, .huge2MiB])
    func interleave(pageSize: PageSize) throws {
        let all = NodeSet(nodes)
        let allocator = try NumaAllocator(policy: .interleave(all), pageSize: pageSize, populate: .kernel)
        let pages = pageSize == .huge2MiB ? nodes.count * 2 + 1 : 4099
        let buffer = try allocator.allocate(UInt8.self, count: pages * pageSize.byteCount)
        #expect(buffer.backing.mapping?.numaPolicy == .interleave(all))
        let placement = try buffer.placement()
        let counts = nodes.map { placement.pagesPerNode[$0] ?? 0 }
        #expect(counts.reduce(0, +) == pages)
        #expect(counts.max()! - counts.min()! <= 1, "\(pageSize): \(placement)")
        let maps = try #require(NumaMapsEntry.containing(buffer.unsafeBaseAddress))
        #expect(maps.policy.hasPrefix("interleave"))
    }

    @Test("preferred on a node with too few free pages spills to other nodes, reported truthfully")
    func preferredSpills() throws {
        let target = nodes.last!
        let free = try #require(HugePageReservation.Pool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free)
        let wanted = free + 2
        let pool = HugePageReservation.Pool.read(.huge2MiB)!
        try #require(pool.available >= wanted, "need \(wanted) free 2 MiB pages in the VM, have \(pool.available)")
        let allocator = try NumaAllocator(policy: .preferred(target), pageSize: .huge2MiB, populate: .kernel)
        let buffer = try allocator.allocate(UInt8.self, count: wanted * 2 * MiB)
        let placement = try buffer.placement()
        #expect(placement.pagesPerNode[target] == free, "\(placement)")
        #expect(placement.presentPages == wanted)
        #expect(placement.nodes.count >= 2)
        #expect(buffer.backing.mapping?.numaPolicy == .preferred(target))
    }

    @Test("bind with hugetlb on a node whose pool is empty: typed error naming the node and its free pages; no SIGBUS")
    func bindEmptyNodePool() throws {
        let target = nodes.last!
        let free = try #require(HugePageReservation.Pool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free)
        let hog = try NumaAllocator(policy: .bind([target]), pageSize: .huge2MiB)
        let held = free > 0 ? try hog.allocate(UInt8.self, count: free * 2 * MiB) : UnmanagedBuffer<UInt8>()
        #expect(HugePageReservation.Pool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free == 0)
        defer { _ = held.count }

        let allocator = try NumaAllocator(policy: .bind([target]), pageSize: .huge2MiB)
        let plan = KernelFaultPlan()
        let error = #expect(throws: MmapError.self) {
            try Kernel.withFaults(plan) { _ = try allocator.allocate(UInt8.self, count: 4 * MiB) }
        }
        guard case .hugePagesUnavailable(.huge2MiB, 2, let detail)? = error else {
            Issue.record("expected hugePagesUnavailable, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("0 free on node \(target)"), "\(detail)")
        #expect(detail.contains("/sys/devices/system/node/node\(target)/hugepages"))
        #expect(plan.bytesStillMapped == 0)

        // Without the allocator's pre-check (an engine given the policy but no pool nodes to
        // check), populating under the policy still turns the shortage into an error instead of a
        // SIGBUS on first touch.
        let raw = MappingEngine(
            options: MmapAllocator.Options(pageSize: .huge2MiB, populate: .kernel),
            placement: Placement(policy: .bind([target]), populateCPUs: nil, poolNodes: []))
        let rawPlan = KernelFaultPlan()
        let request = try AllocationRequest(byteCount: 4 * MiB, site: LeakReport.CallSite())
        let rawError = #expect(throws: MmapError.self) {
            try Kernel.withFaults(rawPlan) { () throws(MmapError) in
                let raw = try raw.allocate(request)
                unsafe raw.release()
            }
        }
        if case .hugePagesUnavailable(.huge2MiB, 2, let rawDetail)? = rawError {
            #expect(rawDetail.contains("under policy bind(\(target))"), "\(rawDetail)")
        } else {
            Issue.record("expected hugePagesUnavailable from populate, got \(String(describing: rawError))")
        }
        #expect(rawPlan.bytesStillMapped == 0)
    }

    @Test("a node's team members run only on the CPUs of their node")
    func pinnedThreads() throws {
        for node in topology.nodes where !node.cpus.isEmpty {
            let seen = CPUSet()
            try Team(perNode: 2, nodes: [node.id], oversubscribe: true).run { _ in
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
                if case .parallel = buffer.backing.mapping?.populate {
                } else {
                    Issue.record("populate was \((buffer.backing.mapping?.populate).printed)")
                }
            }
        }
    }

    @Test("placement of a default-policy buffer touched by a thread pinned to a node is that node")
    func firstTouchLocal() throws {
        for node in topology.nodes where !node.cpus.isEmpty && node.memoryTotal > 0 {
            let allocator = MmapAllocator(pageSize: .base)
            var buffer = try allocator.allocate(UInt8.self, count: 4 * MiB)
            let base = UInt(bitPattern: buffer.unsafeBaseAddress)
            try Team(perNode: 1, nodes: [node.id]).run { _ in
                let pointer = UnsafeMutableRawPointer(bitPattern: base)!
                for offset in stride(from: 0, to: 4 * MiB, by: 4096) {
                    pointer.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self)
                }
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

/// Teams and blocked placement inside the multi-node VMs.
extension NumaVMTests {
    /// Nodes with CPUs and memory.
    var cpuNodes: [Int] { topology.nodes.filter { !$0.cpus.isEmpty && $0.memoryTotal > 0 }.map(\.id) }

    @Test("team members run on their own node's CPUs (sched_getcpu), one team per node and spread")
    func teamMembersOnTheirNodes() throws {
        for team in [try Team(perNode: 1), try Team()] {
            let seen = CPUSet()
            team.run { member in
                let cpu = ThreadPinning.currentCPU
                seen.insert(cpu * 1000 + member.index)
                precondition(cpu == member.cpu, "member \(member.index) on cpu \(cpu), pinned to \(member.cpu)")
            }
            for member in team.members {
                #expect(topology.node(ofCPU: member.cpu) == member.node)
            }
            #expect(team.nodes == NodeSet(cpuNodes), "\(team.members)")
            #expect(seen.values.count == team.count)
        }
    }

    @Test(
        "a blocked buffer's part k is on member k's node: placement, numa_maps and the report agree",
        arguments: [PageSize.base, .huge2MiB])
    func blockedPlacement(pageSize: PageSize) throws {
        let team = try Team(perNode: 1)
        let perMember = pageSize == .huge2MiB ? 2 * MiB : 4 * MiB
        var buffer = try team.allocate(Double.self, count: team.count * perMember / 8, pageSize: pageSize)
        #expect(buffer.backing.mapping?.obtainedPageSize == pageSize)
        let schedule = team.schedule(for: buffer)
        for part in schedule.parts {
            let member = team.members[part.member]
            #expect(part.node == member.node)
            let placement = try buffer.placement(elements: part.elements)
            #expect(placement.pagesPerNode.keys.sorted() == [member.node], "part \(part): \(placement)")
            #expect(placement.notPresent == 0, "the members populated their parts: \(placement)")
        }
        let blocks = try #require(buffer.backing.mapping?.blocks)
        #expect(blocks.map(\.node) == team.members.map(\.node), "\(blocks)")
        // Safe chunked writes land in each member's own part, on its node.
        team.forEachChunk(of: &buffer) { member, range, part in
            for i in part.indices { part[i] = Double(range.lowerBound + i) }
        }
        #expect(buffer[buffer.count - 1] == Double(buffer.count - 1))
        for block in blocks {
            let entry = try #require(NumaMapsEntry.containing(unsafe buffer.unsafeBaseAddress + block.bytes.lowerBound / 8))
            #expect(entry.policy == "bind:\(block.node)", "\(entry.policy)")
        }
    }

    @Test("a team Triad over blocked buffers leaves every page where it was")
    func teamTriadKeepsPlacement() throws {
        let team = try Team(perNode: 1)
        let count = team.count * (2 * MiB / 8)
        var a = try team.allocate(Double.self, count: count)
        var b = try team.allocate(Double.self, count: count)
        var c = try team.allocate(Double.self, count: count)
        b.fill(with: 1)
        c.fill(with: 2)
        a.clear()
        let before = try team.schedule(for: a).parts.map { try a.placement(elements: $0.elements) }
        team.forEachChunk(of: &a, reading: b, c) { _, range, part, b, c in
            for i in part.indices { part[i] = b[range.lowerBound + i] + 3 * c[range.lowerBound + i] }
        }
        #expect(a[0] == 7 && a[count - 1] == 7)
        let after = try team.schedule(for: a).parts.map { try a.placement(elements: $0.elements) }
        #expect(before.map(\.pagesPerNode) == after.map(\.pagesPerNode))
        #expect(team.sum(a) == 7 * Double(count))
    }

    @Test("blocked 2 MiB pages with one node's pool empty: a typed error naming that node, no SIGBUS, nothing mapped")
    func blockedHugePagesShortNode() throws {
        let team = try Team(perNode: 1)
        let target = try #require(team.nodes.max)
        let free = try #require(HugePageReservation.Pool.read(.huge2MiB)?.nodes.first { $0.node == target }?.free)
        let hog = try NumaAllocator(policy: .bind([target]), pageSize: .huge2MiB)
        let held = free > 0 ? try hog.allocate(UInt8.self, count: free * 2 * MiB) : UnmanagedBuffer<UInt8>()
        defer { _ = held.count }
        let plan = KernelFaultPlan()
        let error = #expect(throws: MmapError.self) {
            try Kernel.withFaults(plan) { () throws(MmapError) in
                _ = try team.allocate(UInt8.self, count: team.count * 2 * MiB, pageSize: .huge2MiB).count
            }
        }
        guard case .hugePagesUnavailable(.huge2MiB, _, let detail)? = error else {
            Issue.record("expected hugePagesUnavailable, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("0 free on node \(target)"), "\(detail)")
        #expect(plan.bytesStillMapped == 0)
    }

    @Test("restricted to one node's CPUs (as taskset or a launcher would), a team uses only those and the topology says so")
    func restrictedTeam() async throws {
        let node = try #require(topology.nodes.first { !$0.cpus.isEmpty })
        try #require(topology.nodes.filter { !$0.cpus.isEmpty }.count >= 2, "needs two nodes with CPUs")
        await #expect(processExitsWith: .success) { [cpus = node.cpus as [Int], id = node.id as Int] in
            precondition(Kernel.setAffinity(cpus).isSuccess, "could not restrict the child")
            let restricted = NumaTopology.current()
            precondition(restricted.isRestricted, "the topology does not report the restriction")
            precondition(restricted.allowedCPUs == cpus && restricted.nodesWithAllowedCPUs == [id])
            let team = try Team()
            precondition(team.members.allSatisfy { cpus.contains($0.cpu) }, "\(team.members)")
            precondition((try? Team(threads: cpus.count + 1)) == nil, "a team wider than the binding was allowed")
            let other = NumaTopology.current().nodes.first { $0.id != id && !$0.cpus.isEmpty }!.id
            precondition((try? ThreadPinning.pinCurrentThread(to: other)) == nil, "pinning outside the binding was allowed")
            // Population never widens the binding either.
            let seen = CPUSet()
            let allocator = MmapAllocator(pageSize: .base, populate: .parallel(threads: 8))
            _ = try allocator.allocate(UInt8.self, count: 8 * MiB).count
            try Team(perNode: 2, nodes: [id], oversubscribe: true).run { _ in seen.insert(ThreadPinning.currentCPU) }
            precondition(Set(seen.values).isSubset(of: Set(cpus)))
        }
    }

    @Test("nested and throwing regions in a multi-node team: serial inside, errors after the others finish")
    func nestedAndThrowing() throws {
        struct Failure: Error {}
        let team = try Team(perNode: 1)
        let inner = CPUSet()
        team.run { outer in team.run { member in inner.insert(outer.index * 100 + member.index) } }
        #expect(inner.values.count == team.count * team.count)
        let finished = CPUSet()
        #expect(throws: Failure.self) {
            try team.run { (member: Team.Member) throws(Failure) in
                finished.insert(member.index)
                if member.index == 0 { throw Failure() }
            }
        }
        #expect(finished.values.count == team.count)
    }

    @Test(
        "memory nodes without CPUs get blocks, worked by the members of the nearest node",
        .enabled(
            if: NumaTopology.current().nodes.contains { $0.cpus.isEmpty && $0.memoryTotal > 0 },
            "every node of this VM has CPUs"))
    func memoryOnlyNodes() throws {
        let team = try Team(perNode: 1)
        let all = topology.nodesWithMemory
        let memoryOnly = topology.nodes.filter { $0.cpus.isEmpty && $0.memoryTotal > 0 }.map(\.id)
        let buffer = try team.allocate(UInt8.self, count: all.count * team.count * 4 * MiB, memoryNodes: all)
        let schedule = team.schedule(for: buffer)
        for node in memoryOnly {
            let parts = schedule.parts.filter { $0.node == node && !$0.elements.isEmpty }
            #expect(!parts.isEmpty, "no block on memory-only node \(node)")
            let nearest = cpuNodes.min {
                (topology.distance(from: node, to: $0) ?? 255, $0) < (topology.distance(from: node, to: $1) ?? 255, $1)
            }!
            for part in parts {
                #expect(team.members[part.member].node == nearest, "part \(part) worked by member \(team.members[part.member])")
                #expect(try buffer.placement(elements: part.elements).pagesPerNode.keys.sorted() == [node])
            }
        }
    }
}

/// Teams working on buffers they did not allocate, stencils, reductions and population.
extension NumaVMTests {
    @Test("a double-buffered stencil reads its neighbours' halo across nodes; results match a serial sweep, pages stay put")
    func stencilHalo() throws {
        let team = try Team(perNode: 1)
        let count = team.count * (1 * MiB / 8)
        var gridA = try team.allocate(Double.self, count: count)
        var gridB = try team.allocate(Double.self, count: count)
        for i in 0..<count { gridA[i] = Double(i % 97) }
        let before = try gridA.placement().pagesPerNode
        for _ in 0..<3 {
            // Read A, write B (the compiler rejects reading the buffer being written), then swap.
            team.forEachChunk(of: &gridB, reading: gridA) { _, range, part, old in
                for i in part.indices {
                    let g = range.lowerBound + i
                    part[i] = (old[max(g - 1, 0)] + old[g] + old[min(g + 1, old.count - 1)]) / 3
                }
            }
            swap(&gridA, &gridB)
        }
        var serial = (0..<count).map { Double($0 % 97) }
        for _ in 0..<3 {
            let old = serial
            for g in 0..<count { serial[g] = (old[max(g - 1, 0)] + old[g] + old[min(g + 1, count - 1)]) / 3 }
        }
        // The boundaries between members' parts are where a missing halo would show.
        for part in team.schedule(for: gridA).parts where !part.elements.isEmpty {
            for g in [part.elements.lowerBound, part.elements.upperBound - 1] {
                #expect(gridA[g] == serial[g], "element \(g) at the edge of \(part)")
            }
        }
        #expect((0..<count).allSatisfy { gridA[$0] == serial[$0] })
        #expect(try gridA.placement().pagesPerNode == before)
    }

    @Test("team reductions over a blocked buffer equal the serial SIMD ones: sum, dot, minimum, maximum")
    func teamReductions() throws {
        let team = try Team(perNode: 1)
        let count = team.count * (512 * 1024) + 13
        var x = try team.allocate(Double.self, count: count)
        var y = try team.allocate(Double.self, count: count)
        for i in 0..<count { x[i] = Double(i % 1000) - 500; y[i] = 0.5 }
        x[count - 1] = -9000
        x[count / 2] = 7000
        let serialSum = x.sum()
        let serialDot = x.dot(y)
        #expect(abs(team.sum(x) - serialSum) <= 1e-9 * Double(count))
        #expect(abs(try team.dot(x, y) - serialDot) <= 1e-9 * Double(count))
        #expect(team.minimum(x) == -9000)
        #expect(team.maximum(x) == 7000)
        let empty = try team.allocate(Double.self, count: 0)
        #expect(team.minimum(empty) == nil)
    }

    @Test("interleaved and single-node buffers keep their placement when a team works on them")
    func teamOnOtherPlacements() throws {
        let team = try Team(perNode: 1)
        let all = NodeSet(nodes)
        for policy in [NumaPolicy.interleave(all), .bind([nodes.last!])] {
            var buffer = try NumaAllocator(policy: policy, populate: .kernel).allocate(Double.self, count: 2 * MiB)
            let before = try buffer.placement()
            team.forEachChunk(of: &buffer) { member, _, part in
                for i in part.indices { part[i] = Double(member.index) }
            }
            let after = try buffer.placement()
            #expect(after.pagesPerNode == before.pagesPerNode, "\(policy): \(before) → \(after)")
            #expect(team.sum(buffer) > 0 || team.count == 1)
        }
    }

    @Test("parallel population of node-bound buffers runs on that node's CPUs, on threads kept between allocations")
    func populationTeamsPersist() throws {
        let node = try #require(cpuNodes.last)
        let allocator = try NumaAllocator(policy: .bind([node]), populate: .parallel(threads: Int.max))
        _ = try allocator.allocate(UInt8.self, count: 8 * MiB).count
        let threads = taskCount()
        for _ in 0..<5 {
            let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
            #expect(try buffer.placement().nodes == [node])
            guard case .parallel(let used) = buffer.backing.mapping?.populate else {
                Issue.record("populate was \((buffer.backing.mapping?.populate).printed)")
                return
            }
            let allowedOnNode = topology.node(node)!.cpus.filter(topology.allowedCPUs.contains).count
            #expect(used == allowedOnNode, "a node-bound population uses that node's CPUs")
        }
        #expect(taskCount() == threads, "population created threads instead of reusing its team")
    }

    /// Threads of this process.
    func taskCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
}

extension Result { var isSuccess: Bool { if case .success = self { return true }; return false } }
