import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Node numbers out of range, negative and empty sets for every NUMA policy and for everything
// else that takes a node (ThreadPinning, HugePageReservation, the topology and pool lookups);
// thread counts for pinned runs; reservation counts; and node-list text for NodeSet(parsing:).

/// The node sets every policy is tried with.
let hostileNodeSets: [NodeSet] = [
    [], [-1], [1], [Host.pastLastNode], [Int.max], [Int.min], [0, -1], [0, 1], [0, Int.max], [1, 2, 3],
    NodeSet(0...1100), NodeSet([-5, -4]),
]

/// The single node numbers tried wherever one node is taken.
let hostileNodes: [Int] = [-1, 1, Host.pastLastNode, Int.max, Int.min, Int.max - 1, 1 << 20, -4096]

/// What NumaAllocator must throw for `policy` on this host (nil: it must be accepted).
func expectedPolicyError(_ policy: NumaPolicy) -> MmapError? {
    let nodes = policy.nodes
    let available = Host.topology.nodesWithMemory
    if policy != .default && policy != .local && nodes.isEmpty {
        return .invalidPolicy(policy, reason: "it names no node; name at least one of the nodes with memory (\(available))")
    }
    if let unknown = nodes.first(where: { !available.contains($0) }) { return .unknownNode(unknown, available: available) }
    return nil
}

extension MisuseSuite {
    @Suite("Misuse: nodes")
    struct Nodes {
        static let policies: [NumaPolicy] =
            hostileNodeSets.flatMap { set in
                [NumaPolicy.bind(set), .preferredMany(set), .interleave(set), .weightedInterleave(set)]
            } + hostileNodes.map { NumaPolicy.preferred($0) }

        @Test(
            "NumaAllocator: unknown, negative and empty node sets for every policy and page size are typed errors at construction",
            arguments: [PageSize.base, .transparentHuge, .huge2MiB, .huge1GiB])
        func policyNodes(pageSize: PageSize) {
            withHugeTLBPool {
                let process = ProcessState.capture()
                for policy in Self.policies {
                    for fallback in [MmapAllocator.Fallback.strict, .anySmaller] {
                        let label = "NumaAllocator(policy: \(policy), pageSize: \(pageSize), fallback: \(fallback))"
                        Hostile.tried(.numaInit, label)
                        guard let expected = expectedPolicyError(policy) else { continue }
                        let error = thrownError(label) { () throws(MmapError) in
                            _ = try NumaAllocator(
                                policy: policy, pageSize: pageSize, fallback: fallback, populate: .parallel(threads: 0))
                        }
                        #expect(error == expected, "\(label): \(String(describing: error))")
                        switch expected {
                        case .unknownNode(let node, _):
                            expectMessage(
                                error,
                                contains: [
                                    "NUMA node \(node) does not exist here", "nodes with memory: \(Host.topology.nodesWithMemory)",
                                ], label)
                        default:
                            expectMessage(error, contains: ["cannot be used", "names no node"], label)
                        }
                    }
                }
                process.expectNothingLeft(lengths: [], "NumaAllocator construction with \(pageSize)")
            }
        }

        @Test(
            "NumaAllocator(bound:) and NumaTopology.Binding.policy(spanning:): bindings naming missing, negative or no nodes, spanning nodes under .refuse, are typed errors"
        )
        func boundBindings() {
            let topology = Host.topology
            for nodes in hostileNodeSets {
                for spanning in [NumaTopology.Binding.Spanning.interleave, .preferMany, .refuse] {
                    // A binding as a hostile cpuset (memory nodes `nodes`) and policy could leave it.
                    let binding = NumaTopology.Binding(
                        topology: NumaTopology(
                            nodes: topology.nodes, isNumaAvailable: true, allowedCPUs: topology.allowedCPUs,
                            allowedNodes: nodes),
                        threadPolicy: nodes.isEmpty ? .default : .interleave(nodes))
                    let label = "NumaAllocator(bound: nodes \(binding.nodes), spanning: \(spanning))"
                    Hostile.tried(.numaInitBound, label)
                    Hostile.tried(.bindingPolicy, "policy(spanning: \(spanning)) over \(binding.nodes)")
                    let policy: NumaPolicy
                    do throws(MmapError) {
                        policy = try binding.policy(spanning: spanning)
                    } catch {
                        if binding.nodes.isEmpty {
                            expectMessage(error, contains: ["no node with memory"], label)
                        } else {
                            #expect(spanning == .refuse && binding.nodes.count > 1, "\(label): \(error)")
                            expectMessage(error, contains: ["not to one node", "--bind-to numa"], label)
                        }
                        continue
                    }
                    guard let expected = expectedPolicyError(policy) else {
                        // A policy over existing nodes: the allocator is made and binds there.
                        do throws(MmapError) {
                            let allocator = try NumaAllocator(bound: binding, spanning: spanning)
                            #expect(allocator.policy == policy, "\(label)")
                        } catch {
                            Issue.record("\(label) threw \(error)")
                        }
                        continue
                    }
                    let error = thrownError(label) { () throws(MmapError) in
                        _ = try NumaAllocator(bound: binding, spanning: spanning)
                    }
                    #expect(error == expected, "\(label): \(String(describing: error))")
                }
            }
        }

        @Test("NumaAllocator: every policy over the nodes that exist is accepted and reported back by the kernel")
        func validPolicies() throws {
            let nodes = Host.topology.nodesWithMemory
            for policy in [
                NumaPolicy.default, .local, .bind(nodes), .preferred(nodes.first ?? 0), .preferredMany(nodes),
                .interleave(nodes), .weightedInterleave(nodes),
            ] {
                Hostile.tried(.numaInit, "NumaAllocator(policy: \(policy)) over existing nodes")
                do throws(MmapError) {
                    let allocator = try NumaAllocator(policy: policy, populate: .kernel)
                    let buffer = try allocator.allocate(UInt8.self, count: 3 * 4096 + 1)
                    if policy != .default {
                        #expect(buffer.backing.mapping?.numaPolicy != nil, "\(policy): \(buffer.backing)")
                    }
                    #expect(try buffer.placement().nodes.isSubset(of: nodes))
                } catch {
                    // Older kernels lack some modes; that must be said as such.
                    guard case .numaUnavailable = error else { Issue.record("\(policy): \(error)"); continue }
                }
            }
        }

        @Test(
            "NumaAllocator bind with hugetlb pages the node lacks: strict names the node, fallback is reported (never SIGBUS)",
            arguments: [MmapAllocator.Fallback.strict, .anySmaller])
        func hugeTLBBindShortage(fallback: MmapAllocator.Fallback) throws {
            try withHugeTLBPool {
                let free = HugePageReservation.Pool.freePages(.huge2MiB, node: 0) ?? 0
                let bytes = (free + 1) * 2 * MiB
                let log = FallbackLog()
                let allocator = try NumaAllocator(
                    policy: .bind([0]), pageSize: .huge2MiB, fallback: fallback, onFallback: log.handler)
                let label = "bind([0]) 2 MiB \(fallback), \(bytes) B with \(free) free on node 0"
                Hostile.tried(.numaInit, label)
                Hostile.tried(.allocate, "numa: " + label)
                let process = ProcessState.capture()
                let before = allocator.misuseState
                do throws(MmapError) {
                    let buffer = try allocator.allocate(UInt8.self, count: bytes)
                    #expect(fallback != .strict, "\(label): strict succeeded: \(buffer.backing)")
                    let mapping = buffer.backing.mapping
                    #expect(mapping?.fallbackReason != nil && mapping?.obtainedPageSize != .huge2MiB, "\(buffer.backing)")
                    let reason = mapping?.fallbackReason ?? ""
                    #expect(reason.contains("free on node 0"), "\(buffer.backing)")
                    #expect(log.all.count == 1 && allocator.mmapStatistics.fallbacks == 1)
                } catch {
                    #expect(fallback == .strict, "\(label): \(error)")
                    guard case .hugePagesUnavailable(.huge2MiB, let needed, let detail) = error else {
                        Issue.record("\(label): \(error)"); return
                    }
                    #expect(
                        needed == free + 1 && detail.contains("\(free) free on node 0") && detail.contains("node0"),
                        "\(label): \(detail)")
                    #expect(allocator.misuseState == before)
                }
                #expect(allocator.statistics.liveAllocations == 0 && allocator.mmapStatistics.mappedBytes == 0)
                process.expectNothingLeft(
                    lengths: suspectLengths(byteCount: bytes, pageSizes: [.huge2MiB, .transparentHuge, .base]), label)
            }
        }

        // MARK: ThreadPinning

        // Work on a node from several threads is a team's: `Team(perNode:nodes:)` took over from
        // ThreadPinning.run(onNode:threads:_:), with the same rules for nodes and thread counts.
        @Test(
            "ThreadPinning and Team(perNode:nodes:): unknown and negative nodes are unknownNode, member counts outside 1...1024 invalidArgument; affinity unchanged"
        )
        func pinningArguments() throws {
            let affinity = try ThreadPinning.currentAffinity()
            let nodeIDs = Host.topology.nodeIDs
            let nodesWithCPUs = Host.topology.nodesWithAllowedCPUs
            for node in hostileNodes {
                Hostile.tried(.teamInitPerNode, "Team(perNode: 1, nodes: [\(node)])")
                let ran = Counter()
                #expect(
                    thrownError("Team(perNode: 1, nodes: [\(node)])") { () throws(MmapError) in
                        try Team(perNode: 1, nodes: [node]).run { _ in ran.add() }
                    } == .unknownNode(node, available: nodesWithCPUs))
                #expect(ran.value == 0, "the body ran for an unknown node")
                #expect(
                    thrownError("pinCurrentThread(to: \(node))") { () throws(MmapError) in
                        _ = try ThreadPinning.pinCurrentThread(to: node).node
                    } == .unknownNode(node, available: nodeIDs))
                var bodyRan = false
                #expect(
                    thrownError("withCurrentThread(pinnedTo: \(node))") { () throws(MmapError) in
                        try ThreadPinning.withCurrentThread(pinnedTo: node) { () throws(MmapError) in bodyRan = true }
                    } == .unknownNode(node, available: nodeIDs))
                #expect(!bodyRan)
            }
            // oversubscribe: true leaves the library's own bounds, 1...maximumThreads members.
            for threads in [0, -1, Int.min, Int.max, Int.max - 1, ThreadPinning.maximumThreads + 1] {
                let label = "Team(perNode: \(threads), nodes: [0], oversubscribe: true)"
                Hostile.tried(.teamInitPerNode, label)
                let ran = Counter()
                let reason =
                    threads < 1 ? "a member count must be at least 1" : "is more than \(ThreadPinning.maximumThreads) members"
                #expect(
                    thrownError(label) { () throws(MmapError) in
                        try Team(perNode: threads, nodes: [0], oversubscribe: true).run { _ in ran.add() }
                    }
                        == .invalidArgument(
                            "Team: \(threads) members on node 0\(threads < 1 ? ": " : " ")\(reason)"))
                #expect(ran.value == 0, "\(label): the body ran")
            }
            // Both faults at once: one typed error, the node's (it is checked first).
            Hostile.tried(.teamInitPerNode, "Team(perNode: 0, nodes: [-1])")
            #expect(
                thrownError("Team(perNode: 0, nodes: [-1])") { () throws(MmapError) in _ = try Team(perNode: 0, nodes: [-1]) }
                    == .unknownNode(-1, available: nodesWithCPUs))
            #expect(try ThreadPinning.currentAffinity() == affinity, "a failed pinning changed this thread's affinity")
        }

        @Test(
            "Team(perNode:nodes: [0]) at the edges: 1 and maximumThreads members run exactly once each on node 0's CPUs; a throwing body restores the affinity"
        )
        func pinningEdges() throws {
            let affinity = try ThreadPinning.currentAffinity()
            let node0 = Host.topology.node(0)?.cpus ?? []
            for threads in [1, 2, Host.underThreadSanitizer ? 64 : ThreadPinning.maximumThreads] {
                Hostile.tried(.teamInitPerNode, "Team(perNode: \(threads), nodes: [0], oversubscribe: true)")
                let seen = Collector()
                let outside = Counter()
                let team = try Team(perNode: threads, nodes: [0], oversubscribe: true)
                team.run { member in
                    seen.append(member.index)
                    if let cpus = try? ThreadPinning.currentAffinity(), !Set(cpus).isSubset(of: Set(node0)) { outside.add() }
                    if !node0.contains(member.cpu) { outside.add() }
                }
                #expect(seen.values.sorted() == Array(0..<threads), "\(threads) threads")
                #expect(outside.value == 0, "threads ran outside node 0's CPUs")
            }
            #expect(try ThreadPinning.currentAffinity() == affinity, "the teams' ends did not restore the affinity")
            struct Escape: Error {}
            let thrown = thrownError("throwing body") { () throws(MmapError) in
                try ThreadPinning.withCurrentThread(pinnedTo: 0) { () throws(MmapError) in
                    throw MmapError.invalidArgument("from the body")
                }
            }
            #expect(thrown == .invalidArgument("from the body"))
            #expect(try ThreadPinning.currentAffinity() == affinity, "the affinity was not restored after the body threw")
            do {
                let pinned = try ThreadPinning.pinCurrentThread(to: 0)
                #expect(pinned.node == 0)
            }
            #expect(try ThreadPinning.currentAffinity() == affinity)
        }

        // MARK: HugePageReservation

        @Test("HugePageReservation: negative, huge and unknown-node requests are refused before the pool is touched")
        func reservationArguments() throws {
            try withHugeTLBPool {
                let process = ProcessState.capture()
                let memAvailable =
                    (Kernel.readText("/proc/meminfo") ?? "").split(separator: "\n")
                    .first { $0.hasPrefix("MemAvailable:") }.flatMap { Int($0.split(separator: " ")[1]) }.map { $0 * 1024 } ?? 0
                for size in [PageSize.huge2MiB, .huge1GiB] where HugePageReservation.Pool.read(size) != nil {
                    for count in [-1, -2, Int.min, Int.min + 1] {
                        Hostile.tried(.reservationInit, "\(size), count \(count)")
                        #expect(
                            thrownError("reserve \(count)") { () throws(MmapError) in
                                _ = try HugePageReservation(size, count: count).granted
                            }
                                == .invalidArgument("HugePageReservation: negative page count \(count)"))
                    }
                    let most = memAvailable / size.byteCount
                    for count in [Int.max, Int.max - 1, Int.max / size.byteCount + 1, 1 << 40, most + 1 + most / 10] {
                        Hostile.tried(
                            .reservationInit,
                            "\(size), count \(count == most + 1 + most / 10 ? "MemAvailable + 10 %" : String(count))")
                        let error = thrownError("reserve \(count)") { () throws(MmapError) in
                            _ = try HugePageReservation(size, count: count).granted
                        }
                        guard case .invalidArgument(let message)? = error else {
                            Issue.record("\(count): \(String(describing: error))"); continue
                        }
                        #expect(
                            message.contains("HugePageReservation: \(count) × \(size) pages is more than the")
                                && message.contains("MemAvailable"), "\(message)")
                    }
                    for node in hostileNodes {
                        Hostile.tried(.reservationInit, "\(size), count 1, node \(node)")
                        #expect(
                            thrownError("reserve node \(node)") { () throws(MmapError) in
                                _ = try HugePageReservation(size, count: 1, node: node).granted
                            }
                                == .unknownNode(node, available: Host.topology.nodesWithMemory))
                    }
                    // Both faults at once: the count is reported.
                    Hostile.tried(.reservationInit, "\(size), count -1, node -1")
                    #expect(
                        thrownError("reserve -1 -1") { () throws(MmapError) in
                            _ = try HugePageReservation(size, count: -1, node: -1).granted
                        }
                            == .invalidArgument("HugePageReservation: negative page count -1"))
                    // Zero pages, globally and on node 0: nothing changes, nothing to give back.
                    for node in [nil, 0] as [Int?] {
                        Hostile.tried(.reservationInit, "\(size), count 0, node \(node.map(String.init) ?? "nil")")
                        let none = try HugePageReservation(size, count: 0, node: node)
                        #expect(none.granted == 0 && none.isComplete && none.requested == 0)
                    }
                }
                for size in [PageSize.base, .transparentHuge] {
                    for count in [0, 1] {
                        Hostile.tried(.reservationInit, "\(size), count \(count)")
                        let error = thrownError("reserve \(size)") { () throws(MmapError) in
                            _ = try HugePageReservation(size, count: count).granted
                        }
                        #expect(
                            error == .unsupportedPageSize(size, reason: "only hugetlb sizes (2 MiB, 1 GiB) have a reserved pool"),
                            "\(String(describing: error))")
                    }
                }
                process.expectNothingLeft(lengths: [], "refused reservations")
            }
        }

        @Test(
            "HugePageReservation of one page, globally and on node 0, gives back exactly what it added",
            .enabled(if: isRoot, "reserving needs root"),
            .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "no 2 MiB pool"))
        func reservationGivesBackExactly() throws {
            try withHugeTLBPool {
                for node in [nil, 0] as [Int?] {
                    Hostile.tried(
                        .reservationInit, "huge2MiB, count 1, node \(node.map(String.init) ?? "nil") (granted and released)")
                    let before = ProcessState.readHugePagePools()
                    do {
                        let reservation = try HugePageReservation(.huge2MiB, count: 1, node: node)
                        #expect(reservation.granted <= 1 && reservation.requested == 1)
                        print(
                            "misuse: HugePageReservation(.huge2MiB, count: 1, node: \(node.map(String.init) ?? "nil")) granted \(reservation.granted)"
                        )
                        #expect(ProcessState.readHugePagePools()[2048] == before[2048].map { $0 + reservation.granted })
                        reservation.release()
                    }
                    #expect(ProcessState.readHugePagePools() == before, "the pool after the reservation ended differs from before")
                }
            }
        }

        // MARK: node lookups and NodeSet

        @Test("topology lookups with hostile node and CPU numbers answer nil, never trap")
        func topologyLookups() {
            let topology = NumaTopology.current()
            for value in hostileNodes + integerBoundaries {
                #expect((topology.node(value) == nil) == !topology.nodeIDs.contains(value))
                Hostile.tried(.topologyDistance, "distance(from: 0, to: \(value)) and (from: \(value), to: 0)")
                #expect(topology.distance(from: 0, to: value) == nil || topology.nodeIDs.contains(value))
                #expect(topology.distance(from: value, to: 0) == nil || topology.nodeIDs.contains(value))
                let cpu = topology.node(ofCPU: value)
                #expect(cpu == nil || topology.nodes.contains { $0.cpus.contains(value) })
            }
            #expect(topology.distance(from: 0, to: 0) == 10)
        }

        @Test("NodeSet: any integers build a set; membership, subsets and intersections over hostile numbers")
        func nodeSetValues() {
            let values = [Int.min, -1, 0, 1, Int.max, Int.max, -1]
            Hostile.tried(.nodeSetInit, "NodeSet(\(values))")
            let set = NodeSet(values)
            #expect(set.array == [Int.min, -1, 0, 1, Int.max])
            Hostile.tried(.nodeSetLiteral, "[Int.min, Int.max, 0, 0]")
            let literal: NodeSet = [Int.min, Int.max, 0, 0]
            #expect(literal.count == 3)
            for value in integerBoundaries + [-4096] {
                #expect(set.contains(value) == values.contains(value))
            }
            for other in hostileNodeSets {
                Hostile.tried(.nodeSetSubset, "isSubset(of: \(other.count) nodes)")
                Hostile.tried(.nodeSetIntersection, "intersection(\(other.count) nodes)")
                #expect(set.isSubset(of: other) == set.allSatisfy(other.contains))
                #expect(set.intersection(other).array == set.array.filter(other.contains))
                #expect(NodeSet([]).isSubset(of: other))
            }
        }

        @Test(
            "NodeSet(parsing:) over malformed and extreme node lists: nil or the exact set",
            arguments: [
                ("", []), (" ", []), ("\n", []), ("0", [0]), ("0-0", [0]), ("0-3,6", [0, 1, 2, 3, 6]), (" 0 - 2 ", [0, 1, 2]),
                ("3-1", nil), ("-1", nil), ("1-", nil), ("-", nil), ("a", nil), ("1-2-3", nil), ("0x1", nil), ("1,,2", [1, 2]),
                (",", []), ("0-1023", Array(0...1023)), ("9223372036854775807", [Int.max]), ("9223372036854775808", nil),
                ("9223372036854775806-9223372036854775807", [Int.max - 1, Int.max]), ("-9223372036854775808", nil), ("٣", nil),
            ] as [(String, [Int]?)])
        func nodeSetParsing(text: String, expected: [Int]?) {
            Hostile.tried(.nodeSetParsing, text.debugDescription)
            #expect(NodeSet(parsing: text)?.array == expected, "\(text.debugDescription)")
        }

        @Test(
            "NodeSet(parsing:) of ranges with more nodes than memory holds (exit test): nil, not a trap",
            arguments: ["0-9223372036854775807", "1-9223372036854775807", "0-4611686018427387904"])
        func nodeSetParsingHugeRange(text: String) async {
            Hostile.tried(.nodeSetParsing, text.debugDescription)
            await #expect(processExitsWith: .success) { [text = text as String] in
                exit(NodeSet(parsing: text) == nil ? EXIT_SUCCESS : EXIT_FAILURE)
            }
        }
    }
}
