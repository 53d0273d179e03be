import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggySupport

@testable import ZiggyMmap

// Part of the suite "MmapAllocator: base pages and THP": the reuse pool against an allocator
// closing on another thread. Pooling a freed mapping and closing the pool are decided under one
// lock; before they were (version 0.1.0), a mapping freed while the last reference to its
// allocator was dropped could land in a pool nobody would drain, and stayed mapped for good.
extension MmapAllocatorTests {
    @Test("a buffer freed while another thread drops its pooled MmapAllocator is always unmapped")
    func poolRaceLeavesNoMapping() async {
        // In a child: the race needs two threads spinning for up to 100,000 rounds, and its
        // /proc/self/maps must be its own.
        await ChildScenario.poolRace.runInChild()
    }

    /// The state the three threads of `poolRace` share, one round at a time.
    final class RaceRound: @unchecked Sendable {
        var buffer: UnmanagedBuffer<UInt8>?
        var allocator: MmapAllocator?
        let go = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)

        /// Waits for round `round`; false when the run is over.
        func wait(for round: Int) -> Bool {
            while go.load(ordering: .acquiring) != round {
                if stop.load(ordering: .acquiring) { return false }
                sched_yield()
            }
            return true
        }
    }

    /// Thread A frees the buffer while thread B drops the last reference to its allocator, both
    /// released at the same moment (B after a delay that sweeps the race window). After each round
    /// the buffer's range must be unmapped. Runs until 3 leaks are seen or 100,000 rounds
    /// (ZIGGY_REPRO_ROUNDS) have passed; on the library before the fix a leak showed every
    /// 1,000–30,000 rounds.
    static func poolRace() -> Bool {
        let maximumRounds = getenv("ZIGGY_REPRO_ROUNDS").flatMap { Int(String(cString: $0)) } ?? 100_000
        let size = 64 << 10
        let state = RaceRound()
        let freeing = OSThread {
            var round = 1
            while state.wait(for: round) {
                state.buffer.take()!.free()
                state.done.add(1, ordering: .releasing)
                round += 1
            }
        }
        let dropping = OSThread {
            var round = 1
            while state.wait(for: round) {
                var spin = 0
                while spin < round % 97 { spin += 1 + state.done.load(ordering: .relaxed) & 0 }
                state.allocator = nil
                state.done.add(1, ordering: .releasing)
                round += 1
            }
        }
        var leaked: [(UnsafeMutableRawPointer, Int, round: Int)] = []
        var vector = [UInt8](repeating: 0, count: size / 4096)
        var rounds = 0
        while rounds < maximumRounds && leaked.count < 3 {
            rounds += 1
            let round = rounds
            state.allocator = MmapAllocator(pageSize: .base, reusePoolBytes: 1 << 20)
            var buffer = try! state.allocator!.allocate(UInt8.self, count: size)
            let base = UnsafeMutableRawPointer(buffer.unsafeBaseAddress)
            buffer.withUnsafeMutableBufferPointer {
                UnsafeMutableRawPointer($0.baseAddress!).storeBytes(of: UInt64(round), as: UInt64.self)
            }
            state.buffer = consume buffer
            state.go.store(round, ordering: .releasing)
            while state.done.load(ordering: .acquiring) != 2 * round { sched_yield() }
            if mincore(base, size, &vector) == 0, base.load(as: UInt64.self) == UInt64(round) {
                leaked.append((base, size, round))
            }
        }
        state.stop.store(true, ordering: .releasing)
        freeing.join()
        dropping.join()
        let maps = ProcessState.capture(hugePages: false)
        let stillMapped = leaked.filter { maps.covers(UInt(bitPattern: $0.0), byteCount: $0.1) }.count
        say(
            "rounds: \(rounds); buffers still mapped after both their buffer and their allocator ended: \(leaked.count) "
                + "(in rounds \(leaked.map(\.round))); at the end, \(stillMapped) of them are still in /proc/self/maps")
        if let first = leaked.first { say("first leaked mapping: \(first.0), \(first.1) B (still holds its round tag)") }
        return leaked.isEmpty
    }
}
