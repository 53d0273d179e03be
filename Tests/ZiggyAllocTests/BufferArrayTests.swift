import ComplexModule
import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

/// The address of the first element (to tell shared storage from a copy).
func address<T>(_ array: BufferArray<T>) -> UInt {
    array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
}

@Suite("BufferArray")
struct BufferArrayTests {
    @Test("standard algorithms: sort, reduce, map, reversed, firstIndex, swapAt, partition, elementsEqual")
    func algorithms() throws {
        let system = SystemMemoryAllocator()
        var array = try BufferArray(allocator: system, copying: [5, 3, 9, 1, 7, 2, 8] as [Int])
        #expect(array.count == 7 && !array.isEmpty && array.indices == 0..<7)
        #expect(array.reduce(0, +) == 35)
        #expect(array.map { $0 * 2 } == [10, 6, 18, 2, 14, 4, 16])
        #expect(Array(array.reversed()) == [8, 2, 7, 1, 9, 3, 5])
        #expect(array.firstIndex(of: 9) == 2 && array.firstIndex(of: 4) == nil)
        #expect(array.max() == 9 && array.min() == 1)
        array.sort()
        #expect(Array(array) == [1, 2, 3, 5, 7, 8, 9])
        #expect(array.elementsEqual([1, 2, 3, 5, 7, 8, 9]))
        array.swapAt(0, 6)
        #expect(array.first == 9 && array.last == 1)
        let pivot = array.partition { $0 % 2 == 0 }
        #expect(array[..<pivot].allSatisfy { $0 % 2 == 1 } && array[pivot...].allSatisfy { $0 % 2 == 0 })
        #expect(pivot == 5)
        array.sort(by: >)
        #expect(array.elementsEqual([9, 8, 7, 5, 3, 2, 1]))
        array[1..<3] = array[4..<6]
        #expect(Array(array) == [9, 3, 2, 5, 3, 2, 1])
        array.reverse()
        #expect(Array(array) == [1, 2, 3, 5, 2, 3, 9])
        var sum = 0
        for value in array { sum += value }
        #expect(sum == 25)
        #expect(array.span.count == 7 && array.span[6] == 9)
        #expect(array.backing.backend == .system)
    }

    @Test("a copy shares storage until written; writing the copy leaves the original unchanged")
    func copyOnWrite() throws {
        let system = SystemMemoryAllocator()
        var original = try BufferArray(allocator: system, count: 1000, repeating: 1.5)
        let fresh = address(original)
        try original.makeUnique()
        #expect(address(original) == fresh, "a new array's storage must be its own: makeUnique must not copy it")
        var copy = original
        #expect(address(copy) == address(original), "a copy must share storage until written")
        #expect(system.statistics.liveAllocations == 1)
        copy[10] = -1
        #expect(address(copy) != address(original), "the write must have copied")
        #expect(original[10] == 1.5 && copy[10] == -1)
        #expect(original.allSatisfy { $0 == 1.5 })
        #expect(system.statistics.liveAllocations == 2 && system.statistics.liveBytes == 2 * 8000)
        // Unique now: further writes do not copy, also through the bulk accessors.
        let before = address(copy)
        copy[11] = -2
        copy.withUnsafeMutableBufferPointer { $0[12] = -3 }
        var span = copy.mutableSpan
        span[13] = -4
        copy.sort()
        #expect(address(copy) == before, "a unique array must not copy on write")
        #expect(copy[0] == -4 && copy[3] == -1)
        #expect(system.statistics.liveAllocations == 2)
    }

    @Test("every mutating path copies shared storage first: subscript, bulk pointer, mutableSpan, sort, swapAt, slices")
    func everyWriteCopies() throws {
        let system = SystemMemoryAllocator()
        let original = try BufferArray(allocator: system, copying: Array(0..<64) as [Int32])
        let writes: [(String, (inout BufferArray<Int32>) -> Void)] = [
            ("subscript", { $0[0] = -1 }),
            ("withUnsafeMutableBufferPointer", { $0.withUnsafeMutableBufferPointer { $0[0] = -1 } }),
            (
                "mutableSpan",
                {
                    var span = $0.mutableSpan
                    span[0] = -1
                }
            ),
            ("sort", { $0.sort(by: >) }),
            ("swapAt", { $0.swapAt(0, 63) }),
            ("slice", { $0[0..<2] = $0[2..<4] }),
            ("withContiguousMutableStorageIfAvailable", { _ = $0.withContiguousMutableStorageIfAvailable { $0[0] = -1 } }),
        ]
        for (name, write) in writes {
            var copy = original
            write(&copy)
            #expect(original.elementsEqual(0..<64), "\(name) changed the original")
            #expect(!copy.elementsEqual(0..<64), "\(name) did not write")
            #expect(address(copy) != address(original), "\(name)")
        }
        #expect(system.statistics.liveAllocations == 1)
    }

    @Test("makeUnique copies shared storage once and not at all when unique")
    func makeUnique() throws {
        let system = SystemMemoryAllocator()
        var array = try BufferArray(allocator: system, count: 16, repeating: UInt8(7))
        let first = address(array)
        try array.makeUnique()
        #expect(address(array) == first)
        let other = array
        try array.makeUnique()
        #expect(address(array) != first && address(other) == first)
        #expect(array.elementsEqual(other))
        let made = address(array)
        array[0] = 8
        #expect(address(array) == made, "after makeUnique a write must not copy")
    }

    @Test("statistics return to zero when every copy has died")
    func statisticsBackToZero() throws {
        let system = SystemMemoryAllocator()
        do {
            var arrays: [BufferArray<Double>] = []
            for i in 0..<10 {
                arrays.append(try BufferArray(allocator: system, count: 100 + i, repeating: Double(i)))
            }
            var copies = arrays
            for index in copies.indices { copies[index][0] = -1 }
            #expect(system.statistics.liveAllocations == 20)
            #expect(arrays.allSatisfy { $0[0] >= 0 } && copies.allSatisfy { $0[0] == -1 })
        }
        #expect(system.statistics.liveAllocations == 0 && system.statistics.liveBytes == 0)
        #expect(system.statistics.totalAllocations == 20)
    }

    @Test("debug allocator: the copy on write is tracked, named at the array's creation, and nothing leaks after both die")
    func debugTracksCopies() throws {
        let debug = DebugMemoryAllocator("arrays", wrapping: SystemMemoryAllocator(), onLeak: .throw)
        do {
            let original = try BufferArray(try debug.allocate(Int.self, count: 32, zeroed: true), allocator: debug)
            #expect(original.backing.isDebugTracked)
            var copy = original
            copy[0] = 1
            #expect(copy.backing.isDebugTracked, "the copy must come from the debug allocator")
            #expect(debug.leakReport.leaks.count == 2)
            #expect(debug.statistics.liveAllocations == 2)
            #expect(debug.leakReport.leaks.allSatisfy { $0.site.fileID.description.hasSuffix("BufferArrayTests.swift") })
            #expect(original[0] == 0 && copy[0] == 1)
        }
        #expect(debug.leakReport.leaks.isEmpty && debug.statistics.liveAllocations == 0)
        try debug.finish()
    }

    @Test("Complex<Double> elements: fill, copy on write, reduce")
    func complexElements() throws {
        let system = SystemMemoryAllocator()
        let original = try BufferArray(allocator: system, count: 8, repeating: Complex<Double>(1, 2))
        var copy = original
        copy[3] = Complex(-1, 0)
        #expect(original[3] == Complex(1, 2) && copy[3] == Complex(-1, 0))
        let total = copy.reduce(Complex<Double>.zero, +)
        #expect(total == Complex(6, 14))
        let copied = try BufferArray(allocator: system, copying: [Complex<Double>(0, 1), Complex(2, 3)])
        #expect(copied.map(\.imaginary) == [1, 3])
    }

    @Test("arena buffers are copied into the given allocator at adoption, so the array may outlive the arena")
    func arenaBuffersAreCopied() throws {
        let system = SystemMemoryAllocator()
        let escaped = try ScopedAllocator.withScope { arena throws(AllocationError) -> BufferArray<Int> in
            var buffer = try arena.allocate(Int.self, count: 100)
            for i in buffer.indices { buffer[i] = i }
            let array = try BufferArray(buffer, allocator: system)
            #expect(array.backing.backend == .system, "an arena-backed array would die with the arena")
            return array
        }
        #expect(escaped.elementsEqual(0..<100))
        #expect(system.statistics.liveAllocations == 1)
    }

    @Test("empty arrays: no memory, and writes and copies are free")
    func emptyArrays() throws {
        var empty = BufferArray<Double>()
        #expect(empty.isEmpty && empty.reduce(0, +) == 0 && empty.backing.backend == .empty)
        let system = SystemMemoryAllocator()
        var zero = try BufferArray(allocator: system, count: 0, repeating: 1.0)
        let copy = zero
        zero.sort()
        empty.withUnsafeMutableBufferPointer { #expect($0.isEmpty) }
        #expect(copy.isEmpty && zero.isEmpty && system.statistics.totalAllocations == 0)
    }

    @Test("Sendable: many threads read one array and mutate their own copies; the original is unchanged")
    func sendableAcrossThreads() throws {
        let system = SystemMemoryAllocator()
        let shared = try BufferArray(allocator: system, copying: (0..<10_000).map(Double.init))
        let expected = shared.reduce(0, +)
        let results = Locked([Double](repeating: 0, count: 8))
        runOnThreads(8) { thread in
            #expect(shared.reduce(0, +) == expected)
            var mine = shared
            for i in mine.indices { mine[i] += Double(thread) }
            let total = mine.reduce(0, +)
            results.withLock { $0[thread] = total }
        }
        for thread in 0..<8 {
            #expect(results.withLock { $0[thread] } == expected + Double(thread * 10_000))
        }
        #expect(shared.elementsEqual((0..<10_000).map(Double.init)))
        #expect(system.statistics.liveAllocations == 1, "every thread's copy must be freed")
    }

    @Test("out-of-range subscripts trap, naming the index and the count", arguments: [-1, 4, Int.max])
    func indexTraps(index: Int) async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            [index = index as Int] in
            let array = try BufferArray(allocator: SystemMemoryAllocator(), count: 4, repeating: 0)
            _ = array[index]
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("index \(index) out of range for count 4"), "\(text.prefix(300))")
    }
}
