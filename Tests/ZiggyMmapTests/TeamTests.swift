import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// Teams on this host (one node here; the multi-node behaviour runs in the NUMA VMs).
@Suite("Teams")
struct TeamTests {
    let topology = NumaTopology.current()

    @Test("a default team has one member per allowed CPU, pinned there, numbered by node")
    func defaultTeam() throws {
        let team = try Team()
        #expect(team.count == topology.allowedCPUs.count)
        #expect(Set(team.members.map(\.cpu)) == Set(topology.allowedCPUs))
        #expect(team.members.map(\.index) == Array(0..<team.count))
        let seen = Locked<[Int: Int]>([:])  // pthread-backed: ThreadSanitizer cannot see Mutex synchronize
        team.run { member in
            let cpu = ThreadPinning.currentCPU
            seen.withLock { $0[member.index] = cpu }
        }
        let cpus = seen.withLock { $0 }
        for member in team.members { #expect(cpus[member.index] == member.cpu, "\(member) ran on \(cpus[member.index] ?? -1)") }
    }

    @Test("a region runs every member exactly once, thousands of times in a row")
    func manyRegions() throws {
        let team = try Team()
        let runs = Atomic<Int>(0)
        for _ in 0..<5_000 { team.run { _ in runs.add(1, ordering: .relaxed) } }
        #expect(runs.load(ordering: .relaxed) == 5_000 * team.count)
    }

    @Test("a member that throws: the others finish, the lowest-numbered error is rethrown, the team stays usable")
    func throwingMember() throws {
        struct Failure: Error, Equatable { let member: Int }
        let team = try Team(threads: 2, oversubscribe: true)
        let finished = Atomic<Int>(0)
        #expect(throws: Failure(member: 0)) {
            try team.run { (member: Team.Member) throws(Failure) in
                finished.add(1, ordering: .relaxed)
                throw Failure(member: member.index)
            }
        }
        #expect(finished.load(ordering: .relaxed) == 2)
        #expect(throws: Failure(member: 1)) {
            try team.run { (member: Team.Member) throws(Failure) in
                if member.index == 1 { throw Failure(member: 1) }
            }
        }
        let after = Atomic<Int>(0)
        team.run { _ in after.add(1, ordering: .relaxed) }
        #expect(after.load(ordering: .relaxed) == 2)
    }

    @Test("a region started inside a member of the same team runs serially there, without deadlock")
    func nestedRegion() throws {
        let team = try Team(threads: 2, oversubscribe: true)
        let inner = Atomic<Int>(0)
        team.run { outer in
            team.run { _ in inner.add(1, ordering: .relaxed) }
            _ = outer
        }
        #expect(inner.load(ordering: .relaxed) == 4)  // each of 2 members ran all 2 inner shares
    }

    @Test("two threads using one team at once take turns")
    func concurrentCallers() throws {
        let team = try Team(threads: 2, oversubscribe: true)
        let total = Atomic<Int>(0)
        ThreadRunner.run(count: 2) { _ in
            for _ in 0..<500 { team.run { _ in total.add(1, ordering: .relaxed) } }
        }
        #expect(total.load(ordering: .relaxed) == 2 * 500 * 2)
    }

    @Test("member counts: 0 is an error, more than the allowed CPUs needs oversubscribe", arguments: [0, -1, Int.min])
    func badCounts(count: Int) {
        #expect(throws: MmapError.self) { _ = try Team(threads: count) }
    }

    @Test("more members than CPUs is refused unless oversubscribe is asked for, and the message names the CPUs")
    func oversubscription() throws {
        let allowed = topology.allowedCPUs.count
        let error = #expect(throws: MmapError.self) { _ = try Team(threads: allowed + 1) }
        #expect(error?.description.contains("oversubscribe") == true)
        let team = try Team(threads: allowed + 1, oversubscribe: true)
        #expect(team.count == allowed + 1)
    }

    @Test("spread and close place members by the allowed CPUs; perNode puts members on every node")
    func bindings() throws {
        let ordered = Team.orderedCPUs(topology)
        let close = try Team(threads: 1, binding: .close)
        #expect(close.members.map(\.cpu) == [ordered[0]])
        let perNode = try Team(perNode: 1)
        #expect(perNode.nodes == topology.nodesWithAllowedCPUs)
        #expect(Set(perNode.members.map(\.node)).count == perNode.count)
        #expect(throws: MmapError.self) { _ = try Team(perNode: 1, nodes: [topology.nodeIDs.max! + 1]) }
    }

    @Test("the creating thread's affinity comes back when the team ends")
    func creatorAffinityRestored() throws {
        let before = try ThreadPinning.currentAffinity()
        do {
            let team = try Team()
            #expect(try ThreadPinning.currentAffinity() == [team.members[0].cpu])
        }
        #expect(try ThreadPinning.currentAffinity() == before)
    }
}
