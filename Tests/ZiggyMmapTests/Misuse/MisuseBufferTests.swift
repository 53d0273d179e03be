import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Buffers used wrongly: indices and ranges outside them (traps, in child processes, whose
// message must name the index or range and the count), copies between different counts,
// reinterpretation as types that do not fit or are not trivial, the unsafe initializer and
// `RawAllocation.buffer(of:)` given what they forbid, and the closure-scoped accessors given
// throwing bodies and empty buffers.

/// Every trap the suite provokes, run in a child process by name.
enum TrapCase: String, CaseIterable, Sendable, Codable {
    case getMinusOne, getCount, getCountPlusOne, getIntMax, getIntMin, getEmpty, setCount, setMinusOne
    case wrappedGetMinusOne, wrappedSetCount, wrappedSpanPastEnd, wrappedMutableSpanMinusOne, readOnlyGetCount, readOnlyGetMinusOne
    case spanMinusOne, spanPastEnd, spanAtEnd, spanNearIntMax, spanIntMin, mutableSpanMinusOne, mutableSpanPastEnd
    case unsafeWrappingClass
    case dotShorter, dotLonger

    /// The entry point and the message the trap must print.
    var expectation: (EntryPoint, String) {
        switch self {
        case .getMinusOne: (.subscriptIndex, "UnmanagedBuffer index -1 out of range for count 4")
        case .getCount: (.subscriptIndex, "UnmanagedBuffer index 4 out of range for count 4")
        case .getCountPlusOne: (.subscriptIndex, "UnmanagedBuffer index 5 out of range for count 4")
        case .getIntMax: (.subscriptIndex, "UnmanagedBuffer index \(Int.max) out of range for count 4")
        case .getIntMin: (.subscriptIndex, "UnmanagedBuffer index \(Int.min) out of range for count 4")
        case .getEmpty: (.subscriptIndex, "UnmanagedBuffer index 0 out of range for count 0")
        case .setCount: (.subscriptIndex, "UnmanagedBuffer index 4 out of range for count 4")
        case .setMinusOne: (.subscriptIndex, "UnmanagedBuffer index -1 out of range for count 4")
        case .wrappedGetMinusOne: (.wrappedSubscript, "UnmanagedBuffer index -1 out of range for count 3")
        case .wrappedSetCount: (.wrappedSubscript, "UnmanagedBuffer index 3 out of range for count 3")
        case .wrappedSpanPastEnd: (.wrappedSpanRange, "UnmanagedBuffer range 2..<4 out of range for count 3")
        case .wrappedMutableSpanMinusOne: (.wrappedMutableSpanRange, "UnmanagedBuffer range -1..<1 out of range for count 3")
        case .readOnlyGetCount: (.readOnlySubscript, "UnmanagedBuffer index 4096 out of range for count 4096")
        case .readOnlyGetMinusOne: (.readOnlySubscript, "UnmanagedBuffer index -1 out of range for count 4096")
        case .spanMinusOne: (.spanRange, "UnmanagedBuffer range -1..<1 out of range for count 4")
        case .spanPastEnd: (.spanRange, "UnmanagedBuffer range 0..<5 out of range for count 4")
        case .spanAtEnd: (.spanRange, "UnmanagedBuffer range 4..<5 out of range for count 4")
        case .spanNearIntMax: (.spanRange, "UnmanagedBuffer range \(Int.max - 1)..<\(Int.max) out of range for count 4")
        case .spanIntMin: (.spanRange, "UnmanagedBuffer range \(Int.min)..<0 out of range for count 4")
        case .mutableSpanMinusOne: (.mutableSpanRange, "UnmanagedBuffer range -1..<0 out of range for count 4")
        case .mutableSpanPastEnd: (.mutableSpanRange, "UnmanagedBuffer range 3..<\(Int.max) out of range for count 4")
        case .unsafeWrappingClass: (.unsafeWrappingInit, "UnmanagedBuffer: NotTrivialClass is not trivially copyable")
        case .dotShorter: (.bufferDot, "dot: 4 elements against 3")
        case .dotLonger: (.bufferDot, "dot: 4 elements against 5")
        }
    }

    /// Runs the misuse (in the child); returning means it did not trap.
    func provoke() throws {
        let system = SystemMemoryAllocator()
        var buffer = try system.allocate(Int.self, count: 4, zeroed: true)
        var sink = 0
        switch self {
        case .getMinusOne: sink = buffer[-1]
        case .getCount: sink = buffer[4]
        case .getCountPlusOne: sink = buffer[5]
        case .getIntMax: sink = buffer[Int.max]
        case .getIntMin: sink = buffer[Int.min]
        case .getEmpty: sink = try system.allocate(Int.self, count: 0)[0]
        case .setCount: buffer[4] = 1
        case .setMinusOne: buffer[-1] = 1
        case .wrappedGetMinusOne, .wrappedSetCount:
            var storage = [Int](repeating: 0, count: 3)
            var span = storage.mutableSpan
            let index = self == .wrappedGetMinusOne ? -1 : 3
            UnmanagedBuffer<Int>.withWrapping(&span) { wrapped in
                if index < 0 { sink = wrapped[index] } else { wrapped[index] = 1 }
            }
        case .wrappedSpanPastEnd, .wrappedMutableSpanMinusOne:
            var storage = [Int](repeating: 0, count: 3)
            var span = storage.mutableSpan
            let pastEnd = self == .wrappedSpanPastEnd
            UnmanagedBuffer<Int>.withWrapping(&span) { wrapped in
                if pastEnd { sink = wrapped.span(2..<4).count } else { sink = wrapped.mutableSpan(-1..<1).count }
            }
        case .readOnlyGetCount, .readOnlyGetMinusOne:
            let path = "/tmp/ziggy-misuse-trap-\(getpid())"
            writeFile(path, [UInt8](repeating: 1, count: 4096))
            defer { unlink(path) }
            let mapped = try FileMapping.mapReadOnly(path, as: UInt8.self)
            unlink(path)
            sink = Int(mapped[self == .readOnlyGetCount ? 4096 : -1])
        case .spanMinusOne: sink = buffer.span(-1..<1).count
        case .spanPastEnd: sink = buffer.span(0..<5).count
        case .spanAtEnd: sink = buffer.span(4..<5).count
        case .spanNearIntMax: sink = buffer.span((Int.max - 1)..<Int.max).count
        case .spanIntMin: sink = buffer.span(Int.min..<0).count
        case .mutableSpanMinusOne: sink = buffer.mutableSpan(-1..<0).count
        case .mutableSpanPastEnd: sink = buffer.mutableSpan(3..<Int.max).count
        case .dotShorter, .dotLonger:
            let doubles = try system.allocate(Double.self, count: 4, zeroed: true)
            let other = try system.allocate(Double.self, count: self == .dotShorter ? 3 : 5, zeroed: true)
            sink = Int(doubles.dot(other))
        case .unsafeWrappingClass:
            let storage = UnsafeMutableBufferPointer<NotTrivialClass>.allocate(capacity: 1)
            sink = unsafe UnmanagedBuffer(unsafeWrapping: storage).count
        }
        withExtendedLifetime(sink) {}
    }
}

extension MisuseSuite {
    @Suite("Misuse: buffers")
    struct Buffers {
        @Test(
            "out-of-range indices, ranges and forbidden unsafe inputs trap, naming the index or range and the count",
            arguments: TrapCase.allCases)
        func traps(trap: TrapCase) async {
            let (entry, message) = trap.expectation
            Hostile.tried(entry, "\(trap)")
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                [trap = trap as TrapCase] in
                try trap.provoke()
            }
            let text = standardError(result)
            #expect(text.contains(message), "\(trap): stderr was \(text.prefix(300))")
        }

        @Test("ranges at the very edges are empty views, not traps")
        func edgeRanges() throws {
            var buffer = try SystemMemoryAllocator().allocate(Int.self, count: 4)
            for range in [0..<0, 4..<4, 0..<4, 2..<2] {
                Hostile.tried(.spanRange, "\(range) of 4")
                Hostile.tried(.mutableSpanRange, "\(range) of 4")
                #expect(buffer.span(range).count == range.count)
                #expect(buffer.mutableSpan(range).count == range.count)
            }
            var empty = UnmanagedBuffer<Int>()
            #expect(empty.span(0..<0).isEmpty && empty.mutableSpan(0..<0).isEmpty)
            var storage = [Int](repeating: 5, count: 4)
            var span = storage.mutableSpan
            UnmanagedBuffer<Int>.withWrapping(&span) { wrapped in
                for range in [0..<0, 4..<4, 0..<4, 2..<2] {
                    Hostile.tried(.wrappedSpanRange, "\(range) of 4")
                    Hostile.tried(.wrappedMutableSpanRange, "\(range) of 4")
                    #expect(wrapped.span(range).count == range.count)
                    #expect(wrapped.mutableSpan(range).count == range.count)
                }
            }
        }

        @Test(
            "copy(from:) with a different count throws countMismatch naming both counts and changes nothing",
            arguments: [(4, 0), (4, 3), (4, 5), (0, 1), (1, 0), (4, 4096)])
        func copyMismatch(destination: Int, source: Int) throws {
            let system = SystemMemoryAllocator()
            var target = try system.allocate(Int32.self, count: destination)
            target.fill(with: -7)
            let values = (0..<source).map { Int32($0) }
            let expected = AllocationError.countMismatch(destination: destination, source: source)
            let label = "copy \(source) into \(destination)"
            Hostile.tried(.copyFromSpan, label)
            #expect(thrownError(label) { () throws(AllocationError) in try target.copy(from: values.span) } == expected)
            Hostile.tried(.copyFromSpan, label)
            #expect(thrownError(label) { () throws(AllocationError) in try target.copy(from: values.span) } == expected)
            Hostile.tried(.copyFromSpan, label)
            let other = try system.allocate(copying: values)
            #expect(thrownError(label) { () throws(AllocationError) in try target.copy(from: other.span) } == expected)
            expectMessage(expected, contains: ["cannot copy \(source) elements into a buffer of \(destination)"])
            #expect(target.toArray().allSatisfy { $0 == -7 }, "\(label): a failed copy changed the destination")
            // The wrapped view refuses the same way.
            var storage = [Int32](repeating: -7, count: destination)
            var span = storage.mutableSpan
            Hostile.tried(.wrappedCopy, label)
            Hostile.tried(.withWrapping, "span of \(destination)")
            Hostile.tried(.wrappedCopy, label)
            UnmanagedBuffer<Int32>.withWrapping(&span) { wrapped in
                #expect(thrownError(label) { () throws(AllocationError) in try wrapped.copy(from: values.span) } == expected)
                #expect(thrownError(label) { () throws(AllocationError) in try wrapped.copy(from: other.span) } == expected)
            }
            #expect(storage.allSatisfy { $0 == -7 })
        }

        @Test("copies between equal counts, including empty into empty and a buffer into its own copy, are exact")
        func copyEqual() throws {
            let system = SystemMemoryAllocator()
            for count in [0, 1, 4097] {
                Hostile.tried(.copyFromSpan, "equal counts \(count)")
                var target = try system.allocate(UInt8.self, count: count)
                let source = try system.allocate(copying: (0..<count).map { UInt8(truncatingIfNeeded: $0) })
                try target.copy(from: source.span)
                #expect(target.toArray() == source.toArray())
            }
        }

        @Test("fill(with:) stores the exact bit pattern of edge values, in one-byte and wider elements, also into empty buffers")
        func fillValues() throws {
            let system = SystemMemoryAllocator()
            for value in [Int8.min, -1, 0, Int8.max] {
                Hostile.tried(.fill, "Int8 \(value)")
                var buffer = try system.allocate(Int8.self, count: 4097)
                buffer.fill(with: value)
                #expect(buffer.toArray().allSatisfy { $0 == value })
            }
            for value in [Double.nan, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .signalingNaN] {
                Hostile.tried(.fill, "Double bits 0x\(String(value.bitPattern, radix: 16))")
                var buffer = try system.allocate(Double.self, count: 33)
                buffer.fill(with: value)
                #expect(buffer.toArray().allSatisfy { $0.bitPattern == value.bitPattern })
            }
            Hostile.tried(.fill, "Bool true (one-byte memset path)")
            var flags = try system.allocate(Bool.self, count: 9)
            flags.fill(with: true)
            #expect(flags.toArray() == [Bool](repeating: true, count: 9))
            Hostile.tried(.fill, "empty buffer")
            var empty = UnmanagedBuffer<Double>()
            empty.fill(with: .nan)
            empty.clear()
            #expect(empty.count == 0)
            var storage: [ThreeBytes] = []
            var span = storage.mutableSpan
            Hostile.tried(.wrappedFill, "empty span")
            UnmanagedBuffer<ThreeBytes>.withWrapping(&span) { wrapped in
                wrapped.fill(with: ThreeBytes(a: 1, b: 2, c: 3))
                wrapped.clear()
                #expect(wrapped.withUnsafeBufferPointer { Array($0) }.isEmpty)
            }
            var three = [ThreeBytes](repeating: ThreeBytes(), count: 5)
            var threeSpan = three.mutableSpan
            Hostile.tried(.wrappedFill, "5 × ThreeBytes")
            UnmanagedBuffer<ThreeBytes>.withWrapping(&threeSpan) { wrapped in wrapped.fill(with: ThreeBytes(a: 0xFF, b: 0, c: 0x80))
            }
            #expect(three.allSatisfy { $0 == ThreeBytes(a: 0xFF, b: 0, c: 0x80) })
        }

        @Test("rebound(to:) to types that do not fit or are not trivial throws, frees the buffer and leaves nothing counted")
        func reboundMisfits() throws {
            // Sizes that are not whole elements.
            for (bytes, target) in [(3, "UInt16"), (7, "UInt64"), (4097, "Int32"), (1, "ThreeBytes")] {
                let system = SystemMemoryAllocator()
                let buffer = try system.allocate(UInt8.self, count: bytes)
                let address = UInt(bitPattern: unsafe buffer.unsafeBaseAddress)
                Hostile.tried(.rebound, "\(bytes) B → \(target)")
                let error: AllocationError? =
                    switch target {
                    case "UInt16": reboundError(buffer, to: UInt16.self)
                    case "UInt64": reboundError(buffer, to: UInt64.self)
                    case "Int32": reboundError(buffer, to: Int32.self)
                    default: reboundError(buffer, to: ThreeBytes.self)
                    }
                guard case .invalidArgument(let message)? = error else {
                    Issue.record("\(bytes) B → \(target): \(String(describing: error))"); continue
                }
                #expect(
                    message.contains("cannot view \(bytes) B at") && message.contains("as \(target)")
                        && message.contains(pointerText(address)), "\(message)")
                #expect(
                    system.statistics.liveAllocations == 0 && system.statistics.liveBytes == 0,
                    "the buffer was not freed: \(system.statistics)")
            }
            // Types that are not trivial, through every kind of owner.
            let debug = DebugMemoryAllocator("misuse", wrapping: SystemMemoryAllocator())
            let mmap = MmapAllocator()
            // (A String, neither BitwiseCopyable nor TrivialElement, does not compile: Tests/CompileFail.)
            for (owner, name) in [("system", "NotTrivialWeak"), ("debug", "NotTrivialClass"), ("mmap", "NotTrivialStruct")] {
                Hostile.tried(.reboundTrivial, "\(owner) buffer of 64 B → \(name)")
                let error: AllocationError? =
                    switch owner {
                    case "system":
                        reboundError(try SystemMemoryAllocator().allocate(UInt8.self, count: 64), to: NotTrivialWeak.self)
                    case "debug": reboundError(try debug.allocate(UInt8.self, count: 64), to: NotTrivialClass.self)
                    default: reboundError(try mmap.allocate(UInt8.self, count: 64), to: NotTrivialStruct.self)
                    }
                #expect(error == .nonTrivialElement(name), "\(owner) → \(name): \(String(describing: error))")
            }
            #expect(debug.leakReport.leaks.isEmpty && debug.statistics.liveAllocations == 0)
            #expect(mmap.statistics.liveAllocations == 0 && mmap.mmapStatistics.mappedBytes == 0)
            // A misaligned address: an arena packs a 1-byte and an 8-byte request with alignment 1.
            try ScopedAllocator.withScope { arena throws(AllocationError) in
                let first = try arena.allocate(UInt8.self, count: 1, alignment: 1)
                let second = try arena.allocate(UInt8.self, count: 8, alignment: 1)
                let address = Int(bitPattern: unsafe second.unsafeBaseAddress)
                Hostile.tried(.rebound, "8 B at an odd address → UInt64")
                let error = reboundError(second, to: UInt64.self)
                if address % 8 != 0 {
                    guard case .invalidArgument(let message)? = error else { Issue.record("\(String(describing: error))"); return }
                    #expect(message.contains("not 8-aligned"), "\(message)")
                }
                #expect(arena.statistics.liveAllocations == 1, "the misaligned buffer was not freed: \(arena.statistics)")
                first.free()
            }
            // Fitting reinterpretations keep ownership and count once.
            let system = SystemMemoryAllocator()
            Hostile.tried(.rebound, "6 B → ThreeBytes, 8 B → UInt64, 6 B → Void")
            let triple = try system.allocate(UInt8.self, count: 6).rebound(to: ThreeBytes.self)
            #expect(triple.count == 2)
            let word = try system.allocate(UInt8.self, count: 8).rebound(to: UInt64.self)
            #expect(word.count == 1)
            let voids = try system.allocate(UInt8.self, count: 6).rebound(to: Void.self)
            #expect(voids.count == 6)
            #expect(system.statistics.liveAllocations == 3)
        }

        @Test("rebound(to:) of an empty buffer gives an empty buffer of the new type")
        func reboundEmpty() {
            Hostile.tried(.rebound, "empty UInt8 buffer → UInt64")
            do throws(AllocationError) {
                let empty = try UnmanagedBuffer<UInt8>().rebound(to: UInt64.self)
                #expect(empty.count == 0)
            } catch {
                Issue.record("\(error)")
            }
            // An empty buffer from an allocator whose placeholder address happens to be aligned works.
            do throws(AllocationError) {
                let aligned = try SystemMemoryAllocator().allocate(UInt8.self, count: 0, alignment: 8).rebound(to: UInt64.self)
                #expect(aligned.count == 0)
            } catch {
                Issue.record("\(error)")
            }
        }

        @Test("RawAllocation.buffer(of:) refuses misfits (nil) and leaves the allocation the caller's to release")
        func rawBufferOf() throws {
            let system = SystemMemoryAllocator()
            for bytes in [3, 7, 1] {
                let raw = try system.allocateRaw(try AllocationRequest(byteCount: bytes, alignment: 1, site: LeakReport.CallSite()))
                Hostile.tried(.rawBuffer, "\(bytes) B of(UInt16), of(UInt64), of(String), of(NotTrivialClass)")
                #expect(unsafe raw.buffer(of: UInt16.self) == nil || bytes % 2 == 0)
                #expect(unsafe raw.buffer(of: UInt64.self) == nil)
                #expect(unsafe raw.buffer(of: String.self) == nil)
                #expect(unsafe raw.buffer(of: NotTrivialClass.self) == nil)
                #expect(system.statistics.liveAllocations == 1)
                unsafe raw.release()
                #expect(system.statistics.liveAllocations == 0)
            }
        }

        // What `UnmanagedBuffer(unsafeBase:count:deallocator:)` trapped on (a negative count, a
        // non-trivial element) its replacement for allocator authors refuses with nil, and a
        // misaligned base too; the allocation then stays the caller's to release.
        @Test(
            "RawAllocation(base:byteCount:owner:).buffer(of:) refuses negative sizes, misalignment and non-trivial types with nil")
        func rawBufferOfRefusals() throws {
            final class CountingOwner: BufferOwner, @unchecked Sendable {
                let releases = Locked(0)
                override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) { releases.withLock { $0 += 1 } }
            }
            let storage = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
            defer { storage.deallocate() }
            /// Whether `buffer(of:)` refused `byteCount` bytes at `base` as `T`. A refusal leaves the
            /// allocation to the caller, whose `release()` reaches the owner once; an accepted buffer
            /// releases it itself when it ends.
            func refused<T>(_ base: UnsafeMutableRawPointer, _ byteCount: Int, as type: T.Type) -> Bool {
                let owner = CountingOwner()
                let raw = RawAllocation(base: base, byteCount: byteCount, owner: owner)
                let answer = raw.buffer(of: T.self)
                let isRefused = answer == nil
                if isRefused { raw.release() } else { _ = consume answer }
                #expect(owner.releases.withLock { $0 } == 1, "\(byteCount) B as \(T.self): released once")
                return isRefused
            }
            Hostile.tried(.rawBuffer, "misaligned base (+1, +4) as UInt64")
            #expect(refused(storage + 1, 8, as: UInt64.self))
            #expect(refused(storage + 4, 16, as: UInt64.self))
            #expect(refused(storage + 1, 2, as: UInt16.self))
            Hostile.tried(.rawBuffer, "non-trivial elements: NotTrivialStruct, NotTrivialClass, String")
            #expect(refused(storage, MemoryLayout<NotTrivialStruct>.stride, as: NotTrivialStruct.self))
            #expect(refused(storage, MemoryLayout<NotTrivialClass>.stride, as: NotTrivialClass.self))
            #expect(refused(storage, MemoryLayout<String>.stride, as: String.self))
            // The controls: the same memory, aligned and trivial, is accepted.
            #expect(!refused(storage, 16, as: UInt64.self))
            #expect(!refused(storage + 2, 2, as: UInt16.self))
            // A negative byte count is refused too (a buffer of count -1 would index and free with
            // a negative size).
            for (bytes, type) in [(-8, "UInt64"), (-1, "UInt8"), (Int.min, "UInt64")] {
                Hostile.tried(.rawBuffer, "byteCount \(bytes) as \(type)")
                let isRefused = type == "UInt8" ? refused(storage, bytes, as: UInt8.self) : refused(storage, bytes, as: UInt64.self)
                #expect(isRefused, "byteCount \(bytes) as \(type)")
            }
        }

        @Test("owner(ofType:) finds owners through wrappers and nothing in buffers without one")
        func ownerOfType() throws {
            Hostile.tried(.ownerOfType, "system buffer: BufferOwner, MappingRecord")
            let heap = try SystemMemoryAllocator().allocate(UInt8.self, count: 1)
            #expect(heap.owner(ofType: BufferOwner.self) == nil && heap.owner(ofType: MappingRecord.self) == nil)
            Hostile.tried(.ownerOfType, "debug(mmap) buffer: MappingRecord through the debug record")
            let debug = DebugMemoryAllocator("misuse", wrapping: MmapAllocator())
            let tracked = try debug.allocate(UInt8.self, count: 1)
            #expect(tracked.owner(ofType: MappingRecord.self) != nil && tracked.owner(ofType: FileMappingRecord.self) == nil)
            Hostile.tried(.ownerOfType, "empty and wrapped buffers")
            #expect(UnmanagedBuffer<Int>().owner(ofType: BufferOwner.self) == nil)
        }

        @Test("the closure-scoped accessors rethrow the body's typed error and give empty buffers empty views")
        func scopedAccessors() throws {
            struct BodyError: Error, Equatable { let code: Int }
            var empty = UnmanagedBuffer<UInt64>()
            var full = try SystemMemoryAllocator().allocate(UInt64.self, count: 3, zeroed: true)
            Hostile.tried(.withBufferPointer, "empty buffer; throwing body")
            Hostile.tried(.withMutableBufferPointer, "empty buffer; throwing body")
            Hostile.tried(.withBytes, "empty buffer; throwing body")
            #expect(empty.withUnsafeBufferPointer { $0.count } == 0)
            #expect(empty.withUnsafeMutableBufferPointer { $0.count } == 0)
            #expect(empty.withUnsafeBytes { $0.count } == 0)
            #expect(throws: BodyError(code: 1)) {
                try full.withUnsafeBufferPointer { _ throws(BodyError) -> Void in throw BodyError(code: 1) }
            }
            #expect(throws: BodyError(code: 2)) {
                try full.withUnsafeMutableBufferPointer { _ throws(BodyError) -> Void in throw BodyError(code: 2) }
            }
            #expect(throws: BodyError(code: 3)) {
                try full.withUnsafeBytes { _ throws(BodyError) -> Void in throw BodyError(code: 3) }
            }
            var storage: [UInt64] = []
            var span = storage.mutableSpan
            Hostile.tried(.wrappedWithBufferPointer, "empty span; throwing body")
            Hostile.tried(.wrappedWithMutableBufferPointer, "empty span; throwing body")
            UnmanagedBuffer<UInt64>.withWrapping(&span) { wrapped in
                #expect(wrapped.withUnsafeBufferPointer { $0.count } == 0)
                #expect(wrapped.withUnsafeMutableBufferPointer { $0.count } == 0)
                #expect(wrapped.span.bytes.withUnsafeBytes { $0.count } == 0)
                #expect(throws: BodyError(code: 5)) {
                    try wrapped.withUnsafeBufferPointer { _ throws(BodyError) -> Void in throw BodyError(code: 5) }
                }
                #expect(throws: BodyError(code: 6)) {
                    try wrapped.withUnsafeMutableBufferPointer { _ throws(BodyError) -> Void in throw BodyError(code: 6) }
                }
                #expect(throws: BodyError(code: 7)) {
                    try wrapped.span.bytes.withUnsafeBytes { _ throws(BodyError) -> Void in throw BodyError(code: 7) }
                }
            }
            Hostile.tried(.withWrapping, "empty span; throwing body")
            #expect(throws: BodyError(code: 4)) {
                try UnmanagedBuffer<UInt64>.withWrapping(&span) { wrapped throws(BodyError) -> Void in
                    #expect(wrapped.isEmpty && wrapped.count == 0)
                    throw BodyError(code: 4)
                }
            }
        }

        @Test("StatisticsRecorder counts what it is told, at the edges of a byte count")
        func recorderEdges() {
            for bytes in [0, 1, 1 << 47, Int.max] {
                Hostile.tried(.recorderAllocation, "byteCount \(bytes)")
                Hostile.tried(.recorderDeallocation, "byteCount \(bytes)")
                let recorder = StatisticsRecorder()
                recorder.recordAllocation(byteCount: bytes)
                #expect(
                    recorder.snapshot.liveBytes == bytes && recorder.snapshot.liveAllocations == 1
                        && recorder.snapshot.peakBytes == bytes)
                recorder.recordDeallocation(byteCount: bytes)
                #expect(recorder.snapshot.liveBytes == 0 && recorder.snapshot.liveAllocations == 0)
                #expect(recorder.snapshot.cumulativeBytes == bytes && recorder.snapshot.totalAllocations == 1)
            }
        }
    }
}

/// What `rebound(to:)` threw (nil when it succeeded; the new buffer is freed at once).
func reboundError<T: BitwiseCopyable>(_ buffer: consuming UnmanagedBuffer<UInt8>, to type: T.Type) -> AllocationError? {
    do throws(AllocationError) {
        _ = try buffer.rebound(to: T.self).count
        return nil
    } catch {
        return error
    }
}

/// What the `TrivialElement` form of `rebound(to:)` threw.
@_disfavoredOverload
func reboundError<T: TrivialElement>(_ buffer: consuming UnmanagedBuffer<UInt8>, to type: T.Type) -> AllocationError? {
    do throws(AllocationError) {
        _ = try buffer.rebound(to: T.self).count
        return nil
    } catch {
        return error
    }
}

/// An address as Swift prints pointers: "0x" and 16 hex digits.
func pointerText(_ address: UInt) -> String {
    let digits = String(address, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
