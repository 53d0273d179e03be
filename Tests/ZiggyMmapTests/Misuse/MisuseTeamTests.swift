import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Teams used wrongly: member counts and node sets that cannot be met, blocked allocations that
// cannot be mapped, buffers read that are shorter or longer than the one written, empty buffers,
// members that throw, regions inside regions, schedules of impossible sizes, reductions over
// NaN, infinities and mismatched counts. Each gives a typed error or a documented result, and
// leaves no mapping and no thread behind.

/// The kernel ids of this process's threads (`/proc/self/task`).
private func threadCount() -> Int { Kernel.listDirectory("/proc/self/task").count }

extension MisuseSuite {
    @Suite("Misuse: teams")
    struct Teams {
        static let allowed = NumaTopology.current().allowedCPUs.count

        @Test(
            "member counts below 1, above the allowed CPUs or above the limit are typed errors naming the count; no thread is left")
        func memberCounts() {
            let before = threadCount()
            let counts = [0, -1, Int.min, Self.allowed + 1, ThreadPinning.maximumThreads + 1, Int.max]
            for count in counts {
                for oversubscribe in [false, true] {
                    for binding in [Team.Binding.spread, .close] {
                        let label = "Team(threads: \(count), binding: \(binding), oversubscribe: \(oversubscribe))"
                        Hostile.tried(.teamInit, label)
                        if oversubscribe, count == Self.allowed + 1 {
                            // Allowed with oversubscribe: members share CPUs, and say so.
                            let team = try? Team(threads: count, binding: binding, oversubscribe: true)
                            #expect(team?.count == count, "\(label)")
                            continue
                        }
                        let error = thrownError(label) { () throws(MmapError) in
                            _ = try Team(threads: count, binding: binding, oversubscribe: oversubscribe)
                        }
                        guard case .invalidArgument(let message)? = error else {
                            Issue.record("\(label): \(String(describing: error))"); continue
                        }
                        #expect(message.contains("\(count)"), "\(label): \(message)")
                        if count > 0, !oversubscribe { #expect(message.contains("oversubscribe: true"), "\(label): \(message)") }
                    }
                }
            }
            for (perNode, nodes) in [
                (0, nil), (-1, nil), (Int.min, nil), (Int.max, nil), (1, NodeSet([])),
                (1, NodeSet([Int.max])), (1, NodeSet([-1])), (1, NodeSet([Host.pastLastNode])),
                (Self.allowed + 1, nil),
            ] as [(Int, NodeSet?)] {
                let label = "Team(perNode: \(perNode), nodes: \(nodes.map(\.description) ?? "nil"))"
                Hostile.tried(.teamInitPerNode, label)
                let error = thrownError(label) { () throws(MmapError) in _ = try Team(perNode: perNode, nodes: nodes) }
                switch error {
                case .invalidArgument?, .unknownNode?: break
                default: Issue.record("\(label): \(String(describing: error))")
                }
            }
            // Threads of refused teams never started, and oversubscribed ones ended with their teams.
            #expect(threadCount() <= before, "threads before \(before), after \(threadCount())")
        }

        @Test("blocked allocations that cannot be made are typed errors and leave nothing mapped")
        func blockedAllocations() throws {
            let team = try Team()
            withHugeTLBPool {
                let process = ProcessState.capture()
                for count in [-1, Int.min, Int.max, Int.max / 8, AllocationRequest.addressSpaceLimit / 8 + 1] {
                    let label = "team.allocate(Double.self, count: \(count))"
                    Hostile.tried(.teamAllocate, label)
                    let error = thrownError(label) { () throws(MmapError) in _ = try team.allocate(Double.self, count: count) }
                    guard case .request? = error else { Issue.record("\(label): \(String(describing: error))"); continue }
                }
                for nodes in hostileNodeSets where expectedPolicyError(.bind(nodes)) != nil {
                    // NumaAllocator(blockedFor:) is internal (team.allocate is its only public path, below).
                    let label = "NumaAllocator(blockedFor: team, memoryNodes: \(nodes))"
                    let error = thrownError(label) { () throws(MmapError) in
                        _ = try NumaAllocator(blockedFor: team, memoryNodes: nodes)
                    }
                    #expect(error == expectedPolicyError(.bind(nodes)), "\(label): \(String(describing: error))")
                    Hostile.tried(.teamAllocate, "team.allocate(memoryNodes: \(nodes))")
                    #expect(
                        thrownError("team.allocate(memoryNodes: \(nodes))") { () throws(MmapError) in
                            _ = try team.allocate(Double.self, count: 4096, memoryNodes: nodes)
                        } != nil)
                }
                process.expectNothingLeft(lengths: [], "blocked allocations refused at construction")
            }
            // hugetlb pages the pool cannot give, strictly: a typed error naming the node, never a SIGBUS.
            // (Holding the pool lock: no cooperating process may reserve 1 GiB pages between the
            // reading and the request.)
            withHugeTLBPool {
                let pool = HugePageReservation.Pool.read(.huge1GiB)
                if (pool?.available ?? 0) < 4 {
                    let label =
                        "team.allocate(UInt8.self, count: 4 GiB, pageSize: .huge1GiB, fallback: .strict) with \(pool?.free ?? 0) free"
                    Hostile.tried(.teamAllocate, label)
                    let process = ProcessState.capture()
                    let error = thrownError(label) { () throws(MmapError) in
                        _ = try team.allocate(UInt8.self, count: 4 << 30, pageSize: .huge1GiB)
                    }
                    #expect(error != nil)
                    expectMessage(error, contains: ["1 GiB"], label)
                    process.expectNothingLeft(lengths: suspectLengths(byteCount: 4 << 30, pageSizes: [.huge1GiB]), label)
                }
            }
        }

        @Test("forEachChunk over empty buffers, and reading buffers shorter or longer than the one written")
        func chunkShapes() throws {
            let team = try Team()
            var empty = try team.allocate(Double.self, count: 0)
            let calls = Atomic<Int>(0)
            Hostile.tried(.forEachChunkOf, "empty buffer")
            team.forEachChunk(of: &empty) { _, _, _ in calls.add(1, ordering: .relaxed) }
            Hostile.tried(.forEachChunkReading, "empty buffer")
            team.forEachChunk(reading: empty) { _, _, _ in calls.add(1, ordering: .relaxed) }
            #expect(calls.load(ordering: .relaxed) == 0, "no member is called for an empty buffer")

            var a = try team.allocate(Double.self, count: 10_000)
            for readCount in [0, 1, 9_999, 10_001, 1 << 20] {
                let b = try SystemMemoryAllocator().allocate(Double.self, count: readCount, zeroed: true)
                Hostile.tried(.forEachChunkOfReading, "writing 10000, reading \(readCount)")
                Hostile.tried(.forEachChunkOfReadingTwo, "writing 10000, reading \(readCount) and 10000")
                // Atomics, not a Mutex: ThreadSanitizer cannot see Synchronization.Mutex synchronize.
                let calls = Atomic<Int>(0)
                let wrongCounts = Atomic<Int>(0)
                team.forEachChunk(of: &a, reading: b) { _, range, part, b in
                    // The read view is all of b, whatever its count: indices beyond it are the
                    // caller's to check (Span traps), never a read past its end.
                    calls.add(1, ordering: .relaxed)
                    if b.count != readCount { wrongCounts.add(1, ordering: .relaxed) }
                    for i in 0..<part.count { part[i] = range.lowerBound + i < b.count ? b[range.lowerBound + i] + 1 : -1 }
                }
                #expect(calls.load(ordering: .relaxed) > 0 && wrongCounts.load(ordering: .relaxed) == 0)
                let c = try SystemMemoryAllocator().allocate(Double.self, count: 10_000, zeroed: true)
                team.forEachChunk(of: &a, reading: b, c) { _, _, part, b, c in
                    #expect(b.count == readCount && c.count == 10_000)
                    _ = part.count
                }
                #expect(a[0] == (readCount > 0 ? 1 : -1) && a[9_999] == (readCount >= 10_000 ? 1 : -1))
            }
        }

        @Test("members that throw: every member finishes, the lowest member's error is rethrown, the team stays usable")
        func throwingMembers() throws {
            struct Failure: Error, Equatable { let member: Int }
            let team = try Team()
            var a = try team.allocate(Int32.self, count: 1 << 16)
            for thrower in [0, team.count - 1, -1] {  // -1: every member throws
                Hostile.tried(.teamRun, "member \(thrower) throws")
                let ran = Atomic<Int>(0)
                let error = thrownError("run, member \(thrower) throws") { () throws(Failure) in
                    try team.run { (member) throws(Failure) in
                        ran.add(1, ordering: .relaxed)
                        if thrower < 0 || member.index == thrower { throw Failure(member: member.index) }
                    }
                }
                #expect(error == Failure(member: max(thrower, 0)))
                #expect(ran.load(ordering: .relaxed) == team.count)
                Hostile.tried(.forEachChunkOf, "member \(thrower) throws")
                let chunkError = thrownError("forEachChunk, member \(thrower) throws") { () throws(Failure) in
                    try team.forEachChunk(of: &a) { (member, _, part) throws(Failure) in
                        part[0] = 7
                        if thrower < 0 || member.index == thrower { throw Failure(member: member.index) }
                    }
                }
                #expect(chunkError == Failure(member: max(thrower, 0)))
            }
            // Still usable: a region after the failures runs every member.
            let after = Atomic<Int>(0)
            team.run { _ in after.add(1, ordering: .relaxed) }
            #expect(after.load(ordering: .relaxed) == team.count)
            // A region inside a region of the same team runs serially on that member.
            Hostile.tried(.teamRun, "nested region")
            let nested = Atomic<Int>(0)
            team.run { _ in team.run { _ in nested.add(1, ordering: .relaxed) } }
            #expect(nested.load(ordering: .relaxed) == team.count * team.count)
        }

        @Test("schedules of impossible sizes and unknown memory nodes are schedules, never traps")
        func schedules() throws {
            let team = try Team()
            for count in [Int.min, -1, 0, 1, Int.max] {
                for pageSize in PageSize.allCases {
                    let s = team.schedule(UInt64.self, count: count, pageSize: pageSize)
                    #expect(s.count == max(count, 0))
                    #expect((s.parts.last?.elements.upperBound ?? 0) == max(count, 0))
                    for member in [-1, team.count, Int.max, Int.min] { #expect(s.parts(of: member).isEmpty) }
                }
            }
            for nodes in hostileNodeSets {
                let s = team.schedule(Double.self, count: 1 << 20, memoryNodes: nodes)
                #expect(s.parts.last?.elements.upperBound == 1 << 20, "memoryNodes \(nodes)")
            }
            let system = try SystemMemoryAllocator().allocate(Double.self, count: 1000)
            Hostile.tried(.teamScheduleFor, "a system-heap buffer (no mapping record)")
            #expect(team.schedule(for: system).parts.last?.elements.upperBound == 1000)
        }

        @Test("reductions: empty buffers, NaN, infinities, mismatched counts")
        func reductions() throws {
            let team = try Team()
            let empty = try team.allocate(Double.self, count: 0)
            Hostile.tried(.teamSum, "empty"); Hostile.tried(.teamMinimum, "empty"); Hostile.tried(.teamMaximum, "empty")
            #expect(team.sum(empty) == 0 && team.minimum(empty) == nil && team.maximum(empty) == nil)
            var a = try team.allocate(Double.self, count: 100_003)
            team.forEachChunk(of: &a) { _, range, part in for i in 0..<part.count { part[i] = Double(range.lowerBound + i) } }
            a[50_000] = .infinity
            Hostile.tried(.teamSum, "with +infinity"); Hostile.tried(.teamMaximum, "with +infinity")
            #expect(team.sum(a) == .infinity && team.maximum(a) == .infinity)
            a[7] = -.infinity
            Hostile.tried(.teamSum, "with both infinities"); Hostile.tried(.teamMinimum, "with -infinity")
            #expect(team.sum(a).isNaN && team.minimum(a) == -.infinity)
            a[99] = .nan
            Hostile.tried(.teamSum, "with NaN")
            #expect(team.sum(a).isNaN)
            let b = try team.allocate(Double.self, count: 100_002)
            Hostile.tried(.teamDot, "counts 100003 and 100002")
            let error = thrownError("dot of different counts") { () throws(AllocationError) in _ = try team.dot(a, b) }
            #expect(error == .countMismatch(destination: 100_003, source: 100_002))
            Hostile.tried(.teamDot, "empty and empty")
            #expect(try team.dot(empty, empty) == 0)
        }

        @Test("placement of element ranges outside the buffer is a typed error naming the range")
        func placementRanges() throws {
            let team = try Team()
            let a = try team.allocate(Double.self, count: 4096)
            for range in [-1..<1, 0..<4097, 4096..<4097, Int.min..<0, (Int.max - 1)..<Int.max] {
                Hostile.tried(.placementElements, "\(range) of 4096")
                let error = thrownError("placement(elements: \(range))") { () throws(MmapError) in
                    _ = try a.placement(elements: range)
                }
                #expect(error == .invalidArgument("placement: range \(range) is outside 0..<4096"))
            }
            Hostile.tried(.placementElements, "empty range at the end, maximumSamples 0")
            #expect(try a.placement(elements: 4096..<4096).presentPages == 0)
            #expect(
                thrownError("maximumSamples 0") { () throws(MmapError) in
                    _ = try a.placement(elements: 0..<10, maximumSamples: 0)
                } != nil)
        }
    }
}
