import ComplexModule
import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc

/// Construction by copying (arrays, any collection, spans) and `Complex` elements from the core
/// allocators.
@Suite("Copying construction and Complex elements")
struct CopyingTests {
    @Test("allocate(copying:) takes arrays, spans, ranges, lazy maps, sets and array slices")
    func everyKindOfSource() throws {
        let system = SystemMemoryAllocator()
        let array: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6]
        let fromArray = try system.allocate(copying: array)
        #expect(fromArray.toArray() == array)
        let fromSpan = try system.allocate(copying: array.span)
        #expect(fromSpan.toArray() == array)
        let fromRange = try system.allocate(copying: 0..<1000)
        #expect(fromRange.toArray() == Array(0..<1000))
        let fromLazy = try system.allocate(copying: (0..<100).lazy.map { Double($0) / 4 })
        #expect(fromLazy.toArray() == (0..<100).map { Double($0) / 4 })
        let fromSlice = try system.allocate(copying: array[2..<6])
        #expect(fromSlice.toArray() == [4, 1, 5, 9])
        let set: Set<UInt16> = [7, 70, 700]
        let fromSet = try system.allocate(copying: set)
        #expect(fromSet.toArray().sorted() == [7, 70, 700])
        let empty = try system.allocate(copying: [Double]())
        #expect(empty.count == 0 && !empty.backing.isOwning)
        #expect(system.statistics.liveBytes == 8 * 4 * 2 + 1000 * 8 + 100 * 8 + 4 * 4 + 3 * 2)
    }

    @Test("a collection whose count lies is a countMismatch error, with nothing left allocated")
    func lyingCollection() throws {
        let system = SystemMemoryAllocator()
        for (claimed, yields) in [(10, 3), (3, 10), (1, 0)] {
            let error = #expect(throws: AllocationError.self) {
                _ = try system.allocate(copying: LyingCollection(claimed: claimed, yields: yields))
            }
            #expect(error == .countMismatch(destination: claimed, source: yields))
            #expect(system.statistics.liveBytes == 0 && system.statistics.liveAllocations == 0)
        }
    }

    @Test("Complex<Double> and Complex<Float> buffers from the system, arena and debug allocators")
    func complexFromCoreAllocators() throws {
        let values = (0..<64).map { Complex<Double>(Double($0), -Double($0)) }
        let system = SystemMemoryAllocator()
        var buffer = try system.allocate(Complex<Double>.self, count: 64)
        for i in buffer.indices { buffer[i] = values[i] }
        #expect(buffer.toArray() == values)
        let copied = try system.allocate(copying: values)
        #expect(copied.toArray() == values)
        let floatValues: [Complex<Float>] = values.map { Complex(Float($0.real), Float($0.imaginary)) }
        let floats = try system.allocate(copying: floatValues)
        #expect(floats[63] == Complex<Float>(63, -63))
        #expect(MemoryLayout<Complex<Double>>.stride == 16 && floats.byteCount == 64 * 8)
        try ScopedAllocator.withScope { arena in
            let inArena = try arena.allocate(copying: values.span)
            #expect(inArena.toArray() == values)
            #expect(inArena.backing.backend == .scoped)
        }
        let debug = DebugMemoryAllocator("Complex", wrapping: SystemMemoryAllocator(), onLeak: .log)
        do {
            let tracked = try debug.allocate(Complex<Double>.self, count: 8, zeroed: true)
            #expect(tracked.toArray() == Array(repeating: .zero, count: 8))
            #expect(tracked.backing.isDebugTracked)
        }
        #expect(debug.leakReport.leaks.isEmpty)
    }
}

/// A collection whose `count` says `claimed` while iteration yields `yields` elements.
struct LyingCollection: Collection {
    let claimed: Int
    let yields: Int
    var startIndex: Int { 0 }
    var endIndex: Int { yields }
    var count: Int { claimed }
    func index(after i: Int) -> Int { i + 1 }
    subscript(position: Int) -> UInt64 { UInt64(position) }
}
