import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

// BufferArray used wrongly: indices and ranges outside it (traps in child processes, naming the
// index or range and the count), sizes no allocator can give, collections that lie about their
// count, element types that only claim to be trivial, arena and foreign memory to adopt, index
// arithmetic at Int's edges, and closure-scoped accessors given throwing or pointer-swapping
// bodies — over shared storage too, where a failed write must leave every copy as it was.

/// Every trap the BufferArray misuse provokes, run in a child process by name.
enum ArrayTrapCase: String, CaseIterable, Sendable, Codable {
    case getMinusOne, getCount, getIntMax, getIntMin, getEmpty, setCount, setSharedMinusOne
    case rangePastEnd, rangeMinusOne, setRangeWrongCount, swapPastEnd, swapMinusOne, wrappedAroundIndex
    case replacedPointer

    /// The entry point and the message the trap must print.
    var expectation: (EntryPoint, String) {
        switch self {
        case .getMinusOne: (.arraySubscript, "index -1 out of range for count 4")
        case .getCount: (.arraySubscript, "index 4 out of range for count 4")
        case .getIntMax: (.arraySubscript, "index \(Int.max) out of range for count 4")
        case .getIntMin: (.arraySubscript, "index \(Int.min) out of range for count 4")
        case .getEmpty: (.arraySubscript, "index 0 out of range for count 0")
        case .setCount: (.arraySubscript, "index 4 out of range for count 4")
        case .setSharedMinusOne: (.arraySubscript, "index -1 out of range for count 4")
        case .rangePastEnd: (.arraySubscriptRange, "range 2..<5 out of range for count 4")
        case .rangeMinusOne: (.arraySubscriptRange, "range -1..<2 out of range for count 4")
        case .setRangeWrongCount: (.arraySubscriptRange, "cannot replace the 2 elements of 0..<2 with 3")
        case .swapPastEnd: (.arraySwapAt, "index 4 out of range for count 4")
        case .swapMinusOne: (.arraySwapAt, "index -1 out of range for count 4")
        case .wrappedAroundIndex: (.arrayIndexAfter, "index \(Int.min) out of range for count 4")
        case .replacedPointer: (.arrayContiguousMutable, "body replaced the buffer pointer")
        }
    }

    /// Runs the misuse (in the child); returning means it did not trap.
    func provoke() throws {
        var array = try BufferArray(allocator: SystemMemoryAllocator(), copying: [1, 2, 3, 4])
        var sink = 0
        switch self {
        case .getMinusOne: sink = array[-1]
        case .getCount: sink = array[4]
        case .getIntMax: sink = array[Int.max]
        case .getIntMin: sink = array[Int.min]
        case .getEmpty: sink = BufferArray<Int>()[0]
        case .setCount: array[4] = 0
        case .setSharedMinusOne:
            let copy = array
            array[-1] = 0
            sink = copy[0]
        case .rangePastEnd: sink = array[2..<5].count
        case .rangeMinusOne: sink = array[-1..<2].count
        case .setRangeWrongCount: array[0..<2] = array[0..<3]
        case .swapPastEnd: array.swapAt(0, 4)
        case .swapMinusOne: array.swapAt(-1, 0)
        case .wrappedAroundIndex: sink = array[array.index(after: Int.max)]
        case .replacedPointer:
            let other = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
            _ = array.withContiguousMutableStorageIfAvailable { $0 = other }
        }
        withExtendedLifetime(sink) {}
    }
}

/// A collection whose `count` says one thing and whose iteration yields another.
struct LyingCollection: Collection {
    let claimed: Int
    let yielded: Int
    var startIndex: Int { 0 }
    var endIndex: Int { yielded }
    var count: Int { claimed }
    subscript(position: Int) -> Int { position }
    func index(after i: Int) -> Int { i + 1 }
}

struct Refused: Error, Equatable {}

extension MisuseSuite {
    @Suite("Misuse: BufferArray")
    struct BufferArrays {
        @Test(
            "out-of-range indices and ranges, wrong-size slice replacements and swapped pointers trap, naming what was wrong",
            arguments: ArrayTrapCase.allCases)
        func traps(trap: ArrayTrapCase) async {
            let (entry, message) = trap.expectation
            Hostile.tried(entry, "\(trap)")
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                [trap = trap as ArrayTrapCase] in
                try trap.provoke()
            }
            let text = standardError(result)
            #expect(text.contains(message), "\(trap): stderr was \(text.prefix(300))")
        }

        @Test("counts no allocator can give are typed errors from every allocator, leaving nothing allocated or mapped")
        func impossibleCounts() throws {
            let system = SystemMemoryAllocator()
            let mmap = MmapAllocator()
            for count in [-1, Int.min, Int.max, Int.max / 8 + 1, 1 << 47] {
                Hostile.tried(.arrayInitRepeating, "count \(count)")
                let error = thrownError("system \(count)") { () throws(AllocationError) in
                    _ = try BufferArray(allocator: system, count: count, repeating: 1.0)
                }
                #expect(error != nil)
                let mapped = thrownError("mmap \(count)") { () throws(MmapError) in
                    _ = try BufferArray(allocator: mmap, count: count, repeating: UInt64(7))
                }
                guard case .request? = mapped else { Issue.record("mmap \(count): \(String(describing: mapped))"); continue }
                Hostile.tried(.arrayInitRepeatingTrivial, "PublicPair count \(count)")
                #expect(
                    thrownError("pair \(count)") { () throws(AllocationError) in
                        _ = try BufferArray(allocator: system, count: count, repeating: PublicPair())
                    } != nil)
            }
            #expect(system.statistics.liveAllocations == 0 && system.statistics.totalAllocations == 0)
            #expect(mmap.statistics.liveAllocations == 0 && mmap.mmapStatistics.mappedBytes == 0)
        }

        @Test("element types that only claim to be trivial are nonTrivialElement errors, never arrays")
        func nonTrivialElements() throws {
            let system = SystemMemoryAllocator()
            Hostile.tried(.arrayInitRepeatingTrivial, "NotTrivialClass")
            #expect(
                thrownError("class") { () throws(AllocationError) in
                    _ = try BufferArray(allocator: system, count: 4, repeating: NotTrivialClass())
                } == .nonTrivialElement("NotTrivialClass"))
            Hostile.tried(.arrayInitCopyingTrivial, "[NotTrivialStruct]")
            #expect(
                thrownError("struct") { () throws(AllocationError) in
                    _ = try BufferArray(allocator: system, copying: [NotTrivialStruct(), NotTrivialStruct()])
                } == .nonTrivialElement("NotTrivialStruct"))
            Hostile.tried(.arrayInitCopyingTrivial, "[PublicPair] (trivial: must succeed)")
            let pairs = try BufferArray(allocator: system, copying: [PublicPair(a: 1, b: 2)])
            #expect(pairs[0].b == 2)
            #expect(system.statistics.totalAllocations == 1)
        }

        @Test(
            "a collection whose count lies is refused with countMismatch naming both counts; nothing is left allocated",
            arguments: [(4, 3), (4, 5), (0, 2), (3, 0)])
        func lyingCollections(claimed: Int, yielded: Int) throws {
            let system = SystemMemoryAllocator()
            Hostile.tried(.arrayInitCopying, "count \(claimed), yields \(yielded)")
            let error = thrownError("lying") { () throws(AllocationError) in
                _ = try BufferArray(allocator: system, copying: LyingCollection(claimed: claimed, yielded: yielded))
            }
            #expect(error == .countMismatch(destination: claimed, source: yielded), "\(String(describing: error))")
            #expect(system.statistics.liveAllocations == 0)
            Hostile.tried(.arrayInitCopying, "empty collection")
            #expect(try BufferArray(allocator: system, copying: [Int]()).isEmpty)
        }

        @Test("arena, foreign and empty buffers: adopted safely (copied when the array could outlive them)")
        func adoptionInputs() throws {
            let system = SystemMemoryAllocator()
            let debug = DebugMemoryAllocator("adopt", wrapping: SystemMemoryAllocator(), onLeak: .throw)
            let (fromArena, intoDebug) = try ScopedAllocator.withScope {
                arena throws(AllocationError) -> (BufferArray<Int>, BufferArray<Int>) in
                Hostile.tried(.arrayInit, "arena buffer")
                var one = try arena.allocate(Int.self, count: 8)
                one.fill(with: 3)
                Hostile.tried(.arrayInitDebug, "arena buffer")
                var two = try arena.allocate(Int.self, count: 8)
                two.fill(with: 4)
                return (try BufferArray(one, allocator: system), try BufferArray(two, allocator: debug))
            }
            #expect(fromArena.allSatisfy { $0 == 3 } && fromArena.backing.backend == .system)
            #expect(intoDebug.allSatisfy { $0 == 4 } && intoDebug.backing.isDebugTracked)
            Hostile.tried(.arrayInit, "foreign memory (unsafeWrapping)")
            let foreign = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
            foreign.initialize(repeating: 9)
            let adopted = try BufferArray(UnmanagedBuffer(unsafeWrapping: foreign), allocator: system)
            foreign.initialize(repeating: -1)
            foreign.deallocate()
            #expect(adopted.elementsEqual([9, 9, 9, 9]) && adopted.backing.isOwning)
            Hostile.tried(.arrayInit, "empty buffer")
            Hostile.tried(.arrayInitDebug, "empty buffer")
            #expect(try BufferArray(UnmanagedBuffer<Int>(), allocator: system).isEmpty)
            #expect(try BufferArray(UnmanagedBuffer<Int>(), allocator: debug).isEmpty)
            #expect(debug.leakReport.leaks.count == 1)
        }

        @Test("index arithmetic at Int's edges never traps; the subscript refuses what it gives")
        func indexArithmetic() throws {
            let array = try BufferArray(allocator: SystemMemoryAllocator(), copying: [1, 2, 3, 4])
            for value in integerBoundaries {
                Hostile.tried(.arrayIndexAfter, "\(value)")
                Hostile.tried(.arrayIndexBefore, "\(value)")
                Hostile.tried(.arrayIndexOffset, "\(value) by \(value)")
                Hostile.tried(.arrayDistance, "\(value) to Int.min")
                Hostile.tried(.arrayIndexLimited, "\(value) by \(value) limited by 3")
                #expect(array.index(after: value) == value &+ 1 && array.index(before: value) == value &- 1)
                #expect(array.index(value, offsetBy: value) == value &+ value)
                #expect(array.distance(from: value, to: Int.min) == Int.min &- value)
                _ = array.index(value, offsetBy: value, limitedBy: 3)
            }
            #expect(array.index(0, offsetBy: 4, limitedBy: 3) == nil && array.index(0, offsetBy: 3, limitedBy: 3) == 3)
            #expect(array.index(4, offsetBy: -5, limitedBy: 0) == nil && array.index(4, offsetBy: -4, limitedBy: 0) == 0)
            #expect(array.index(Int.max, offsetBy: Int.max, limitedBy: 3) != 3, "must not trap")
            #expect(array.distance(from: 0, to: 4) == 4)
        }

        @Test(
            "throwing bodies leave the array and its shared copies as they were; a failed write through shared storage changes no copy"
        )
        func throwingBodies() throws {
            let system = SystemMemoryAllocator()
            var array = try BufferArray(allocator: system, copying: [1, 2, 3, 4])
            let copy = array
            Hostile.tried(.arrayWithBufferPointer, "throwing body")
            #expect(throws: Refused.self) { try array.withUnsafeBufferPointer { _ throws(Refused) in throw Refused() } }
            Hostile.tried(.arrayContiguous, "throwing body")
            #expect(throws: Refused.self) { _ = try array.withContiguousStorageIfAvailable { _ in throw Refused() } }
            Hostile.tried(.arrayWithBuffer, "throwing body")
            #expect(throws: Refused.self) { try array.withBuffer { _ throws(Refused) in throw Refused() } }
            Hostile.tried(.arrayWithMutableBufferPointer, "body that writes then throws, storage shared")
            #expect(throws: Refused.self) {
                try array.withUnsafeMutableBufferPointer { pointer throws(Refused) in
                    pointer[0] = -1
                    throw Refused()
                }
            }
            #expect(copy.elementsEqual([1, 2, 3, 4]), "a write to shared storage reached the copy")
            #expect(array[0] == -1, "the write before the throw stays, as with Array")
            Hostile.tried(.arrayContiguousMutable, "body that throws")
            #expect(throws: Refused.self) {
                _ = try array.withContiguousMutableStorageIfAvailable { _ in throw Refused() }
            }
            Hostile.tried(.arraySwapAt, "the same index twice")
            array.swapAt(2, 2)
            #expect(array.elementsEqual([-1, 2, 3, 4]))
            Hostile.tried(.arraySubscriptRange, "empty ranges at both ends")
            #expect(array[0..<0].isEmpty && array[4..<4].isEmpty)
            Hostile.tried(.arraySubscript, "every valid index")
            #expect(array.indices.map { array[$0] } == [-1, 2, 3, 4])
            #expect(system.statistics.liveAllocations == 2)
        }
    }
}
