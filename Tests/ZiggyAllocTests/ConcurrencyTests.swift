import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("8 threads allocating and freeing 100k buffers leave exact statistics")
    func exactStatistics() {
        let allocator = SystemMemoryAllocator()
        let perThread = 100_000 / 8
        let expectedBytes = Locked(0)
        runOnThreads(8) { thread in
            var generator = SplitMix64(seed: UInt64(thread + 1))
            var bytes = 0
            var kept: [UnsafeMutableRawPointer] = []
            var keptDeallocators: [RawAllocation] = []
            for i in 0..<perThread {
                let count = Int.random(in: 1...512, using: &generator)
                var buffer = try! allocator.allocate(UInt8.self, count: count)
                buffer[count - 1] = UInt8(truncatingIfNeeded: i)
                bytes += count
                if i % 10 == 0 {
                    // Free some of them later, on another pass, to interleave frees with allocations.
                    let raw = buffer.unsafeDetach()
                    kept.append(raw.base)
                    keptDeallocators.append(raw)
                }
            }
            for raw in keptDeallocators { raw.release() }
            expectedBytes.withLock { $0 += bytes }
            _ = kept.count
        }
        let stats = allocator.statistics
        #expect(stats.liveBytes == 0)
        #expect(stats.liveAllocations == 0)
        #expect(stats.totalAllocations == perThread * 8)
        #expect(stats.cumulativeBytes == expectedBytes.withLock { $0 })
        #expect(stats.peakBytes > 0)
    }

    @Test("buffers allocated on one thread and freed on another are counted once")
    func crossThreadFrees() {
        let allocator = SystemMemoryAllocator()
        let handoff = Locked<[RawAllocation]>([])
        runOnThreads(2) { thread in
            if thread == 0 {
                for _ in 0..<10_000 {
                    let raw = try! allocator.allocate(UInt64.self, count: 4).unsafeDetach()
                    handoff.withLock { $0.append(raw) }
                }
            } else {
                var freed = 0
                while freed < 10_000 {
                    let batch = handoff.withLock { queue -> [RawAllocation] in
                        defer { queue.removeAll() }
                        return queue
                    }
                    for raw in batch { raw.release() }
                    freed += batch.count
                }
            }
        }
        let stats = allocator.statistics
        #expect(stats.liveAllocations == 0 && stats.liveBytes == 0)
        #expect(stats.totalAllocations == 10_000 && stats.cumulativeBytes == 320_000)
    }

    @Test("threads that exit release their statistics caches; counts stay exact")
    func threadExit() {
        let allocator = SystemMemoryAllocator()
        for _ in 0..<20 {
            runOnThreads(4) { _ in
                let buffer = try! allocator.allocate(Int.self, count: 8)
                _ = buffer.count
            }
        }
        #expect(allocator.statistics.totalAllocations == 80)
        #expect(allocator.statistics.liveAllocations == 0)
    }
}
