import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// What the wrapper that started this process under a real launcher tool says it asked for:
/// `Tests/NumaVM/vm-test-program` runs the test bundle inside the VMs under `numactl
/// --cpunodebind=K --membind=K` and under `numactl --physcpubind=C` (taskset's binding).
enum LauncherExpectation {
    static func text(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
    /// The node(s) the process was bound to ("1", "0-1").
    static let nodes = text("ZIGGY_EXPECT_BINDING_NODES").flatMap { NodeSet(parsing: $0) }
    /// The inherited policy as `NumaPolicy.description` prints it ("bind(1)", "default").
    static let threadPolicy = text("ZIGGY_EXPECT_THREAD_POLICY")
    /// The command line the wrapper used, for messages.
    static let launcher = text("ZIGGY_EXPECT_LAUNCHER") ?? "?"
    static var isSet: Bool { nodes != nil }
}

/// The library under a launcher's binding, checked against what the launcher was told (issue 15,
/// part 1, without MPI). Runs only when started by the VM wrapper; skipped otherwise with the reason.
@Suite(
    "Launcher binding (under numactl in the VMs)", .serialized,
    .enabled(
        if: LauncherExpectation.isSet,
        "runs under numactl inside the NUMA VMs (Tests/NumaVM/vm-test-program, part of make test-numa)"))
struct LauncherBindingTests {
    let expected = LauncherExpectation.nodes ?? []
    let topology = NumaTopology.current()
    var expectedCPUs: Set<Int> {
        Set(expected.flatMap { topology.node($0)?.cpus ?? [] })
    }

    @Test("NumaTopology.Binding reports the launcher's node, CPUs and inherited policy")
    func bindingMatches() {
        let binding = NumaTopology.Binding.current()
        print("launcher \(LauncherExpectation.launcher): \(binding)")
        #expect(binding.nodes == expected, "\(LauncherExpectation.launcher): \(binding)")
        #expect(Set(binding.cpus).isSubset(of: expectedCPUs), "\(binding.cpus) outside \(expectedCPUs.sorted())")
        #expect(binding.threadPolicy.description == LauncherExpectation.threadPolicy, "\(binding.threadPolicy)")
        #expect(binding.isRestricted)
    }

    @Test("NumaAllocator(bound:) keeps every page on the bound node (placement and numa_maps agree), base and 2 MiB pages")
    func boundAllocatorPlacesOnNode() throws {
        let node = try #require(expected.first)
        for pageSize in [PageSize.base, .huge2MiB] {
            let allocator = try NumaAllocator(bound: .current(), spanning: .refuse, pageSize: pageSize, populate: .kernel)
            #expect(allocator.policy == .bind([node]))
            let buffer = try allocator.allocate(UInt8.self, count: 8 << 20)
            #expect(buffer.backing.mapping?.obtainedPageSize == pageSize)
            let placement = try buffer.placement()
            #expect(placement.pagesPerNode == [node: pageSize == .base ? 2048 : 4], "\(pageSize): \(placement)")
            let maps = try #require(NumaMapsEntry.containing(buffer.unsafeBaseAddress))
            #expect(maps.policy == "bind:\(node)")
            #expect(Set(maps.pagesPerNode.keys) == [node], "numa_maps: \(maps.pagesPerNode)")
        }
    }

    @Test("a .default buffer follows, and reports, the policy numactl gave the process")
    func defaultPolicyReportsInherited() throws {
        let node = try #require(expected.first)
        let buffer = try NumaAllocator(policy: .default, populate: .kernel).allocate(UInt8.self, count: 4 << 20)
        let placement = try buffer.placement()
        #expect(placement.pagesPerNode == [node: 1024], "\(placement)")
        if LauncherExpectation.threadPolicy == "default" {
            #expect(buffer.backing.mapping?.numaPolicy == .default)
            #expect(buffer.backing.mapping?.isPolicyInherited == false)
        } else {
            #expect(buffer.backing.mapping?.numaPolicy?.description == LauncherExpectation.threadPolicy)
            #expect(buffer.backing.mapping?.isPolicyInherited == true)
        }
    }

    @Test("a team and parallel population never run a thread outside the binding")
    func threadsStayInside() throws {
        let team = try Team()
        #expect(team.nodes == expected, "team nodes \(team.nodes)")
        let allocator = try NumaAllocator(bound: .current(), populate: .parallel(threads: Int.max))
        let buffer = try allocator.allocate(Double.self, count: 1 << 20)
        #expect(try buffer.placement().pagesPerNode.keys.sorted() == expected.array)
        // Every thread of the process now — team members, population threads kept for reuse,
        // the test runner's own — may run only on the launcher's CPUs.
        for task in Kernel.listDirectory("/proc/self/task") {
            let status = Kernel.readText("/proc/self/task/\(task)/status") ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") } ?? ""
            let cpus = NodeSet(parsing: line.dropFirst("Cpus_allowed_list:".count)) ?? []
            #expect(Set(cpus.array).isSubset(of: expectedCPUs), "thread \(task) may run on \(cpus)")
        }
        withExtendedLifetime(team) {}
    }
}
