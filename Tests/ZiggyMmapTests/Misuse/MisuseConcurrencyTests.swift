import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Concurrent release: an allocator (or its debug tracker, or its pool) ends on one thread at the
// moment its buffers are freed on others. Every round starts all threads at one start line, so the
// drop and the frees really overlap; ThreadSanitizer (`make test-tsan`) sees every access. Afterwards
// no mapping may remain — not in the pool the allocator owned, not in its counters, not in
// /proc/self/maps at the buffers' addresses — and the counters of allocators that live on must be
// exact. Rounds are fewer under ThreadSanitizer so each test stays well under 10 s there.

/// All threads of a round wait here until every one has arrived.
final class StartLine: Sendable {
    private let arrived = Atomic<Int>(0)
    let parties: Int
    init(parties: Int) { self.parties = parties }
    func wait() {
        arrived.add(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < parties { sched_yield() }
    }
}

/// A buffer handed to another thread to free (one thread touches it after the start line).
final class Slot: @unchecked Sendable {
    var buffer: UnmanagedBuffer<UInt8>?
    /// The buffer's mapping: its address and the bytes reserved for it.
    let range: (UInt, Int)
    init(_ buffer: consuming UnmanagedBuffer<UInt8>) {
        range = (UInt(bitPattern: unsafe buffer.unsafeBaseAddress), buffer.backing.reservedByteCount)
        self.buffer = consume buffer
    }
    func free() { buffer = nil }
}

/// An object to drop on another thread (the last reference goes there).
final class Holder<Value: AnyObject>: @unchecked Sendable {
    var value: Value?
    init(_ value: Value) { self.value = value }
    func drop() { value = nil }
}

/// A noncopyable allocator to drop on another thread.
final class NoncopyableHolder<Value: ~Copyable>: @unchecked Sendable {
    var value: Value?
    init(_ value: consuming Value) { self.value = consume value }
    func drop() { value = nil }
}

/// One round's buffers and what ends their allocator. Only the dropping thread calls `drop`,
/// only thread i frees slot i.
final class RaceRound: @unchecked Sendable {
    let slots: [Slot]
    let drop: () -> Void
    init(slots: [Slot], drop: @escaping () -> Void) {
        self.slots = slots
        self.drop = drop
    }
}

enum Race {
    /// Rounds per test.
    static var rounds: Int { Host.underThreadSanitizer ? 40 : 200 }
    /// Buffer sizes (odd page counts, so the exact ranges are recognisable in /proc/self/maps).
    static let lengths = [37 * 4096, 41 * 4096, 43 * 4096]

    /// Runs `rounds` rounds of: the round's `drop` on one thread and each slot's free on its own
    /// thread, all released from one start line; `check` runs after every thread has finished.
    static func run(rounds: Int = Race.rounds, setUp: (Int) throws -> RaceRound, check: (Int) throws -> Void) rethrows {
        for round in 0..<rounds {
            let state = try setUp(round)
            let line = StartLine(parties: state.slots.count + 1)
            runOnThreads(state.slots.count + 1) { index in
                line.wait()
                if index == 0 { state.drop() } else { state.slots[index - 1].free() }
            }
            try check(round)
        }
    }

    /// Records an issue when a VMA with exactly one of `ranges` remains in /proc/self/maps.
    static func expectUnmapped(_ ranges: [(UInt, Int)], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let maps = ProcessState.readMappings()
        for (start, length) in ranges where maps.contains(where: { $0.start == start && $0.end == start + UInt(length) }) {
            Issue.record("\(what): 0x\(String(start, radix: 16)) (\(length) B) is still mapped", sourceLocation: sourceLocation)
        }
    }
}

extension MisuseSuite {
    @Suite("Misuse: concurrent release")
    struct Concurrency {
        @Test(
            "a pooled MmapAllocator dropped while its buffers are freed on other threads: nothing stays mapped or pooled",
            arguments: [64 * MiB, Int.max])
        func pooledMmapDrop(capacity: Int) throws {
            Hostile.tried(
                .mmapInit,
                "reusePoolBytes \(capacity), dropped on one thread while 3 threads free its buffers (\(Race.rounds) rounds)")
            var slots: [Slot] = []
            var ranges: [(UInt, Int)] = []
            var pool: MappingPool?
            var counters: MappingCounters?
            try Race.run(
                setUp: { _ in
                    let allocator = MmapAllocator(reusePoolBytes: capacity)
                    // Warm the pool so a freed buffer can also meet a pooled mapping being drained.
                    try allocator.allocate(UInt8.self, count: Race.lengths[0] - 1).free()
                    slots = try Race.lengths.map { Slot(try allocator.allocate(UInt8.self, count: $0 - 5)) }
                    ranges = slots.map(\.range)
                    pool = allocator.engine.pool
                    counters = allocator.engine.counters
                    let holder = Holder(allocator)
                    return RaceRound(slots: slots, drop: holder.drop)
                },
                check: { round in
                    #expect(pool?.bytes == 0, "round \(round): the closed pool still holds \(pool?.bytes ?? -1) B")
                    let mapping = counters?.mapping(pooledBytes: 0)
                    #expect(
                        mapping?.mappedBytes == 0 && counters?.allocation.liveAllocations == 0,
                        "round \(round): \(String(describing: mapping))")
                    Race.expectUnmapped(ranges, "round \(round)")
                })
        }

        @Test("a pooled NumaAllocator dropped while its buffers are freed on other threads: nothing stays mapped or pooled")
        func pooledNumaDrop() throws {
            Hostile.tried(.numaInit, "bind([0]), reusePoolBytes 64 MiB, dropped while 3 threads free its buffers")
            var slots: [Slot] = []
            var ranges: [(UInt, Int)] = []
            var pool: MappingPool?
            try Race.run(
                setUp: { _ in
                    let allocator = try NumaAllocator(policy: .bind([0]), reusePoolBytes: 64 * MiB)
                    slots = try Race.lengths.map { Slot(try allocator.allocate(UInt8.self, count: $0)) }
                    ranges = slots.map(\.range)
                    pool = allocator.engine.pool
                    let holder = Holder(allocator)
                    return RaceRound(slots: slots, drop: holder.drop)
                },
                check: { round in
                    #expect(pool?.bytes == 0, "round \(round): the closed pool still holds \(pool?.bytes ?? -1) B")
                    Race.expectUnmapped(ranges, "round \(round)")
                })
        }

        @Test(
            "a DebugMemoryAllocator over a pooled MmapAllocator dropped while its buffers are freed: the tracker and the pool end cleanly"
        )
        func debugOverPooledDrop() throws {
            Hostile.tried(.debugInit, "over MmapAllocator(reusePoolBytes: 64 MiB), dropped while 3 threads free its buffers")
            var slots: [Slot] = []
            var ranges: [(UInt, Int)] = []
            var pool: MappingPool?
            var counters: MappingCounters?
            let log = MisuseLog()
            try Race.run(
                setUp: { _ in
                    let mmap = MmapAllocator(reusePoolBytes: 64 * MiB)
                    pool = mmap.engine.pool
                    counters = mmap.engine.counters
                    let debug = DebugMemoryAllocator("race", wrapping: mmap, logger: log.logger)
                    slots = try Race.lengths.map { Slot(try debug.allocate(UInt8.self, count: $0 - 1)) }
                    ranges = slots.map(\.range)
                    let holder = NoncopyableHolder(debug)
                    return RaceRound(slots: slots, drop: holder.drop)
                },
                check: { round in
                    #expect(pool?.bytes == 0, "round \(round): the pool still holds \(pool?.bytes ?? -1) B")
                    #expect(counters?.allocation.liveAllocations == 0, "round \(round)")
                    Race.expectUnmapped(ranges, "round \(round)")
                })
            // Every leak report the dropped trackers logged named only this test's buffers.
            for message in log.messages.withLock({ $0 }) {
                #expect(message.hasPrefix("race: ") && message.contains("MisuseConcurrencyTests.swift"), "\(message.prefix(200))")
            }
        }

        @Test(
            "SystemMemoryAllocators dropped while their buffers are freed elsewhere never disturb the counters of one that lives on"
        )
        func systemDropKeepsOthersExact() throws {
            Hostile.tried(.systemAllocateRaw, "allocators dropped while other threads free their buffers, beside a survivor")
            let survivor = SystemMemoryAllocator()
            var slots: [Slot] = []
            var expectedCumulative = 0
            try Race.run(
                setUp: { round in
                    let doomed = SystemMemoryAllocator()
                    slots = try (0..<4).map { index in
                        index % 2 == 0
                            ? Slot(try doomed.allocate(UInt8.self, count: 100 + round))
                            : Slot(try survivor.allocate(UInt8.self, count: 200 + round))
                    }
                    expectedCumulative += 2 * (200 + round)
                    let holder = Holder(doomed)
                    return RaceRound(slots: slots, drop: holder.drop)
                },
                check: { round in
                    let stats = survivor.statistics
                    #expect(stats.liveAllocations == 0 && stats.liveBytes == 0, "round \(round): \(stats)")
                    #expect(
                        stats.totalAllocations == 2 * (round + 1) && stats.cumulativeBytes == expectedCumulative,
                        "round \(round): \(stats)")
                })
        }

        @Test(
            "a .throw-mode DebugMemoryAllocator finished on one thread while its buffers are freed on others: no crash, no race, base exact"
        )
        func debugFinishRace() throws {
            Hostile.tried(.debugInit, ".throw mode, finish() racing 3 frees")
            let base = SystemMemoryAllocator()
            var slots: [Slot] = []
            let reports = Counter()
            try Race.run(
                setUp: { _ in
                    let debug = DebugMemoryAllocator("finish-race", wrapping: base, onLeak: .throw)
                    slots = try (0..<3).map { _ in Slot(try debug.allocate(UInt8.self, count: 48)) }
                    let holder = NoncopyableHolder(debug)
                    return RaceRound(slots: slots) {
                        if let debug = holder.value.take() {
                            do throws(LeakReport) { try debug.finish() } catch { reports.add() }
                        }
                    }
                },
                check: { round in
                    #expect(base.statistics.liveAllocations == 0, "round \(round): \(base.statistics)")
                })
            print("misuse: finish() saw leaks in \(reports.value) of \(Race.rounds) rounds (frees still in flight)")
        }

        @Test("an arena's buffers freed on other threads during its scope: exact counts, no trap at the end")
        func arenaFreesElsewhere() throws {
            Hostile.tried(.scopedWithScope, "buffers freed on 3 other threads during the scope")
            for round in 0..<Race.rounds {
                try ScopedAllocator.withScope(chunkByteCount: 4096) { arena throws(AllocationError) in
                    var slots: [Slot] = []
                    for index in 0..<3 { slots.append(Slot(try arena.allocate(UInt8.self, count: 64 + index * 1000))) }
                    let line = StartLine(parties: 3)
                    runOnThreads(3) { [slots] index in
                        line.wait()
                        slots[index].free()
                    }
                    #expect(
                        arena.statistics.liveAllocations == 0 && arena.statistics.totalAllocations == 3,
                        "round \(round): \(arena.statistics)")
                }
            }
        }
    }
}
