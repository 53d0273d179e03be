import Glibc
import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// A user-written allocator: fixed-size blocks carved from one slab, recycled through a free list.
/// It shows the whole custom-allocator surface: the byte primitive `allocateRaw`, a ``BufferOwner`` that takes
/// blocks back, ``StatisticsRecorder`` for exact counters, and a truthful ``BufferBacking``.
final class BlockPoolAllocator: BufferOwner, UnmanagedMemoryAllocator, @unchecked Sendable {
    let blockSize: Int
    let slab: UnsafeMutableRawPointer
    let blockCount: Int
    let freeBlocks: Locked<[Int]>
    let recorder = StatisticsRecorder()

    init(blockSize: Int, blockCount: Int) {
        self.blockSize = blockSize
        self.blockCount = blockCount
        slab = UnsafeMutableRawPointer.allocate(byteCount: blockSize * blockCount, alignment: 64)
        freeBlocks = Locked(Array((0..<blockCount).reversed()))
    }

    deinit { slab.deallocate() }

    var supportsIndividualDeallocation: Bool { true }
    var statistics: AllocationStatistics { recorder.snapshot }

    func allocateRaw(_ request: AllocationRequest) throws(AllocationError) -> RawAllocation {
        guard request.byteCount <= blockSize, request.alignment <= 64 else {
            throw .invalidArgument("BlockPoolAllocator: \(request) does not fit a \(blockSize)-byte block")
        }
        guard let index = freeBlocks.withLock({ $0.popLast() }) else {
            throw .outOfMemory(byteCount: request.byteCount, backend: "BlockPoolAllocator", errno: .noMemory)
        }
        let block = slab + index * blockSize
        if request.zeroed { memset(block, 0, request.byteCount) }
        recorder.recordAllocation(byteCount: request.byteCount)
        return RawAllocation(base: block, byteCount: request.byteCount, owner: self)
    }

    override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        freeBlocks.withLock { $0.append((base - slab) / blockSize) }
        recorder.recordDeallocation(byteCount: byteCount)
    }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        BufferBacking(backend: .init("block-pool"), alignment: 64, reservedByteCount: blockSize)
    }

    var available: Int { freeBlocks.withLock { $0.count } }
}

@Suite("Custom allocators")
struct CustomAllocatorTests {
    @Test("a user-written allocator returns the same UnmanagedBuffer and gets its blocks back")
    func blockPool() throws {
        let pool = BlockPoolAllocator(blockSize: 256, blockCount: 4)
        do {
            var a = try pool.allocate(Float.self, count: 64)
            a.fill(with: 1.5)
            let b = try pool.allocate(UInt8.self, count: 10, zeroed: true)
            #expect(b.toArray() == Array(repeating: 0, count: 10))
            #expect(pool.available == 2)
            #expect(a.backing.backend.description == "block-pool")
            #expect(a.backing.backend == BufferBacking.Backend("block-pool"))
            #expect(pool.statistics.liveBytes == 266)
        }
        #expect(pool.available == 4)
        #expect(pool.statistics.liveBytes == 0 && pool.statistics.totalAllocations == 2)
    }

    @Test("custom allocators report exhaustion and misfit requests as typed errors")
    func blockPoolErrors() throws {
        let pool = BlockPoolAllocator(blockSize: 64, blockCount: 1)
        #expect(throws: AllocationError.self) { _ = try pool.allocate(UInt8.self, count: 65) }
        let only = try pool.allocate(UInt8.self, count: 64)
        #expect(throws: AllocationError.outOfMemory(byteCount: 8, backend: "BlockPoolAllocator", errno: .noMemory)) {
            _ = try pool.allocate(UInt8.self, count: 8)
        }
        _ = only.count
    }

    @Test("generic code works with any allocator, copyable or not")
    func genericUse() throws {
        func sumOfSquares<A: UnmanagedMemoryAllocator & ~Copyable>(_ allocator: borrowing A, _ n: Int) throws -> Int {
            var values = try allocator.allocate(Int.self, count: n)
            for i in values.indices { values[i] = i * i }
            return values.toArray().reduce(0, +)
        }
        #expect(try sumOfSquares(SystemMemoryAllocator(), 10) == 285)
        #expect(try sumOfSquares(BlockPoolAllocator(blockSize: 1024, blockCount: 1), 10) == 285)
        let fromArena = try ScopedAllocator.withScope { arena throws in try sumOfSquares(arena, 10) }
        #expect(fromArena == 285)
        let debug = DebugMemoryAllocator("generic", wrapping: ScopedAllocator())
        #expect(try sumOfSquares(debug, 10) == 285)
        #expect(debug.leakReport.leaks.isEmpty)
    }

    @Test("an allocator that returns the wrong size traps with a message naming it")
    func wrongSizeTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            /// Returns one byte too few.
            struct ShortAllocator: UnmanagedMemoryAllocator {
                let base = SystemMemoryAllocator()
                var supportsIndividualDeallocation: Bool { true }
                var statistics: AllocationStatistics { base.statistics }
                func allocateRaw(_ request: AllocationRequest) throws(AllocationError) -> RawAllocation {
                    let raw = try base.allocateRaw(request)
                    return RawAllocation(base: raw.base, byteCount: raw.byteCount - 1, deallocator: raw.deallocator)
                }
            }
            _ = try ShortAllocator().allocate(UInt32.self, count: 4).count
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("ShortAllocator.allocateRaw returned 15 B"))
    }
}
