import ComplexModule
import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Construction by copying and wrapping used wrongly: collections whose count lies or is
// impossible, wrongly conforming TrivialElement types, empty and shared sources. Each gives a
// typed error or the documented buffer, and leaves nothing allocated or mapped.

/// A collection reporting `claimed` elements while yielding `yields`.
private struct LyingCount: Collection {
    let claimed: Int
    let yields: Int
    var startIndex: Int { 0 }
    var endIndex: Int { yields }
    var count: Int { claimed }
    func index(after i: Int) -> Int { i + 1 }
    subscript(position: Int) -> UInt32 { UInt32(truncatingIfNeeded: position) }
}

/// The same for a TrivialElement type.
private struct LyingComplex: Collection {
    let claimed: Int
    let yields: Int
    var startIndex: Int { 0 }
    var endIndex: Int { yields }
    var count: Int { claimed }
    func index(after i: Int) -> Int { i + 1 }
    subscript(position: Int) -> Complex<Double> { Complex(Double(position), 0) }
}

extension MisuseSuite {
    @Suite("Misuse: copying construction and wrapping")
    struct Copying {
        @Test("allocate(copying: Collection) with lying, impossible and empty counts: typed errors, nothing left")
        func collections() throws {
            let system = SystemMemoryAllocator()
            let mmap = MmapAllocator()
            for (claimed, yields) in [(5, 0), (0, 5), (4096, 4095), (1, 2), (-1, 0), (Int.max, 0), (Int.min, 0)] {
                let label = "LyingCount(count: \(claimed), yields: \(yields))"
                Hostile.tried(.allocateCopyingCollection, label)
                let source = LyingCount(claimed: claimed, yields: yields)
                let error = thrownError(label) { () throws(AllocationError) in _ = try system.allocate(copying: source) }
                let mapped = thrownError(label) { () throws(MmapError) in _ = try mmap.allocate(copying: source) }
                switch claimed {
                case ..<0:
                    #expect(error == .negativeCount(claimed, element: "UInt32"), "\(label): \(String(describing: error))")
                case Int.max:
                    #expect(error == .sizeOverflow(count: claimed, stride: 4, element: "UInt32"), "\(label)")
                default:
                    #expect(error == .countMismatch(destination: claimed, source: yields), "\(label)")
                    #expect(mapped == .request(.countMismatch(destination: claimed, source: yields)), "\(label)")
                }
                #expect(system.statistics.liveAllocations == 0 && system.statistics.liveBytes == 0, "\(label)")
                #expect(mmap.statistics.liveAllocations == 0 && mmap.mmapStatistics.mappedBytes == 0, "\(label)")
            }
            // A count past the address space fails before anything is iterated.
            Hostile.tried(.allocateCopyingCollection, "repeatElement(0, count: Int.max / 2)")
            let huge = thrownError("repeatElement") { () throws(AllocationError) in
                _ = try system.allocate(copying: repeatElement(UInt8(0), count: Int.max / 2))
            }
            guard case .exceedsAddressSpace? = huge else { Issue.record("\(String(describing: huge))"); return }
        }

        @Test("allocate(copying:) of wrongly conforming TrivialElement spans and collections is nonTrivialElement")
        func nonTrivialSources() throws {
            let system = SystemMemoryAllocator()
            let objects = [NotTrivialClass(), NotTrivialClass()]
            Hostile.tried(.allocateCopyingSpanTrivial, "span of [NotTrivialClass] (2)")
            let fromSpan = thrownError("span") { () throws(AllocationError) in _ = try system.allocate(copying: objects.span) }
            #expect(fromSpan == .nonTrivialElement("NotTrivialClass"))
            Hostile.tried(.allocateCopyingCollectionTrivial, "[NotTrivialStruct] as a collection slice")
            let structs = [NotTrivialStruct(), NotTrivialStruct(), NotTrivialStruct()]
            let fromSlice = thrownError("slice") { () throws(AllocationError) in _ = try system.allocate(copying: structs[1...]) }
            #expect(fromSlice == .nonTrivialElement("NotTrivialStruct"))
            #expect(system.statistics.liveAllocations == 0)
            // The objects are intact: nothing was copied bitwise out of them.
            #expect(objects.allSatisfy { $0.value == 0 } && structs.allSatisfy { $0.name == "x" })
        }

        @Test("allocate(copying:) of Complex spans and lying Complex collections")
        func complexSources() throws {
            let system = SystemMemoryAllocator()
            let values: [Complex<Double>] = [.zero, .i, Complex(.infinity, .nan), Complex(-0.0, .leastNonzeroMagnitude)]
            Hostile.tried(.allocateCopyingSpanTrivial, "span of 4 Complex<Double> with inf, nan, -0, subnormal")
            let copy = try system.allocate(copying: values.span)
            for i in values.indices {
                // Bitwise copies: NaN payloads and signed zeros survive.
                #expect(copy[i].real.bitPattern == values[i].real.bitPattern)
                #expect(copy[i].imaginary.bitPattern == values[i].imaginary.bitPattern)
            }
            Hostile.tried(.allocateCopyingSpanTrivial, "empty span of Complex<Double>")
            let empty = try system.allocate(copying: [Complex<Double>]().span)
            #expect(empty.count == 0 && !empty.backing.isOwning)
            Hostile.tried(.allocateCopyingCollectionTrivial, "LyingComplex(count: 3, yields: 2)")
            let lying = thrownError("lying") { () throws(AllocationError) in
                _ = try system.allocate(copying: LyingComplex(claimed: 3, yields: 2))
            }
            #expect(lying == .countMismatch(destination: 3, source: 2))
            #expect(system.statistics.liveAllocations == 1)
        }

        @Test("allocate(copying: Span) of empty, odd-sized and 3-byte-stride spans on every core backend")
        func spans() throws {
            let sources: [[UInt8]] = [[], [0xFF], Array(repeating: 0xA5, count: 4097)]
            for values in sources {
                Hostile.tried(.allocateCopyingSpan, "span of \(values.count) bytes")
                let system = SystemMemoryAllocator()
                #expect(try system.allocate(copying: values.span).toArray() == values)
                try ScopedAllocator.withScope { arena throws(AllocationError) in
                    #expect(try arena.allocate(copying: values.span).toArray() == values)
                }
                let mmap = MmapAllocator()
                do { #expect(try mmap.allocate(copying: values.span).toArray() == values) }
                #expect(mmap.mmapStatistics.mappedBytes == 0)
            }
            Hostile.tried(.allocateCopyingSpan, "span of 5 ThreeBytes (stride 3)")
            let odd = (0..<5).map { ThreeBytes(a: UInt8($0), b: 0xFF, c: UInt8(0x80 + $0)) }
            let copy = try SystemMemoryAllocator().allocate(copying: odd.span)
            #expect(copy.byteCount == 15 && copy[4].c == 0x84)
        }

        @Test("withWrapping([T]) on empty, shared and reserved-capacity arrays")
        func wrappingArrays() {
            Hostile.tried(.withWrappingArray, "empty array")
            var empty: [Int] = []
            let count = UnmanagedBuffer.withWrapping(&empty) { $0.count }
            #expect(count == 0)
            Hostile.tried(.withWrappingArray, "array shared with a copy (copy-on-write)")
            var shared = [Int](repeating: 1, count: 64)
            let original = shared
            UnmanagedBuffer.withWrapping(&shared) { $0.fill(with: 9) }
            #expect(original.allSatisfy { $0 == 1 } && shared.allSatisfy { $0 == 9 })
            Hostile.tried(.withWrappingArray, "array with capacity beyond its count")
            var reserved = [UInt16]()
            reserved.reserveCapacity(1000)
            reserved.append(contentsOf: [1, 2, 3])
            let seen = UnmanagedBuffer.withWrapping(&reserved) { view in view.count }
            #expect(seen == 3)
        }

        @Test(
            "withWrapping of an array or a span whose element only claims to be trivial: nonTrivialElement before the body runs, never a trap"
        )
        func wrappingNonTrivial() async {
            Hostile.tried(.withWrappingArrayTrivial, "[NotTrivialClass], [NotTrivialWeak]")
            Hostile.tried(.withWrappingTrivial, "span of [NotTrivialStruct], of [NotTrivialClosure]")
            // In a child process: before the element rule this trapped (SIGILL) in safe code.
            let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                var problems: [String] = []
                func note(_ problem: String?) { if let problem { problems.append(problem) } }
                var bodyRan = false
                var objects = [NotTrivialClass(), NotTrivialClass()]
                let identities = objects.map(ObjectIdentifier.init)
                do throws(UnmanagedBuffer<NotTrivialClass>.WrappingError<Never>) {
                    try UnmanagedBuffer.withWrapping(&objects) { (_) throws(Never) in bodyRan = true }
                    note(
                        refusalProblem(
                            "array of NotTrivialClass", UnmanagedBuffer<NotTrivialClass>.WrappingError<Never>?.none,
                            "NotTrivialClass"))
                } catch {
                    note(refusalProblem("array of NotTrivialClass", error, "NotTrivialClass"))
                }
                if objects.map(ObjectIdentifier.init) != identities { problems.append("the array of objects changed") }
                var weak = [NotTrivialWeak()]
                do throws(UnmanagedBuffer<NotTrivialWeak>.WrappingError<Never>) {
                    try UnmanagedBuffer.withWrapping(&weak) { (_) throws(Never) in bodyRan = true }
                    note(
                        refusalProblem(
                            "array of NotTrivialWeak", UnmanagedBuffer<NotTrivialWeak>.WrappingError<Never>?.none, "NotTrivialWeak")
                    )
                } catch {
                    note(refusalProblem("array of NotTrivialWeak", error, "NotTrivialWeak"))
                }
                var structs = [NotTrivialStruct(), NotTrivialStruct()]
                do throws(UnmanagedBuffer<NotTrivialStruct>.WrappingError<Never>) {
                    var span = structs.mutableSpan
                    try UnmanagedBuffer.withWrapping(&span) { (_) throws(Never) in bodyRan = true }
                    note(
                        refusalProblem(
                            "span of NotTrivialStruct", UnmanagedBuffer<NotTrivialStruct>.WrappingError<Never>?.none,
                            "NotTrivialStruct"))
                } catch {
                    note(refusalProblem("span of NotTrivialStruct", error, "NotTrivialStruct"))
                }
                var closures = [NotTrivialClosure()]
                do throws(UnmanagedBuffer<NotTrivialClosure>.WrappingError<Never>) {
                    var span = closures.mutableSpan
                    try UnmanagedBuffer.withWrapping(&span) { (_) throws(Never) in bodyRan = true }
                    note(
                        refusalProblem(
                            "span of NotTrivialClosure", UnmanagedBuffer<NotTrivialClosure>.WrappingError<Never>?.none,
                            "NotTrivialClosure"))
                } catch {
                    note(refusalProblem("span of NotTrivialClosure", error, "NotTrivialClosure"))
                }
                // A real TrivialElement wraps, and the body's own error comes back as .body.
                struct Stop: Error, Equatable {}
                var pairs = [PublicPair(), PublicPair()]
                do throws(UnmanagedBuffer<PublicPair>.WrappingError<Stop>) {
                    try UnmanagedBuffer.withWrapping(&pairs) { (view) throws(Stop) in
                        view[1].b = 5
                        throw Stop()
                    }
                    problems.append("the PublicPair body's error was lost")
                } catch {
                    if error != .body(Stop()) { problems.append("PublicPair: \(error)") }
                }
                if pairs[1].b != 5 { problems.append("the PublicPair view did not write through") }
                if bodyRan { problems.append("a body ran over a non-trivial element") }
                if structs.map(\.name) != ["x", "x"] { problems.append("the array of structs changed") }
                for problem in problems { Kernel.writeToStandardError("problem: \(problem)\n") }
                exit(problems.isEmpty ? EXIT_SUCCESS : EXIT_FAILURE)
            }
            if let result { print(standardError(result), terminator: "") }
        }

        @Test("Team.allocate of Complex<Double> with hostile counts: typed errors, nothing mapped")
        func teamComplex() throws {
            let team = try Team(threads: 1)
            for count in [-1, Int.min, Int.max, Int.max / 16, AllocationRequest.addressSpaceLimit / 16 + 1] {
                let label = "team.allocate(Complex<Double>.self, count: \(count))"
                Hostile.tried(.teamAllocateTrivial, label)
                let error = thrownError(label) { () throws(MmapError) in _ = try team.allocate(Complex<Double>.self, count: count) }
                guard case .request? = error else { Issue.record("\(label): \(String(describing: error))"); continue }
            }
            Hostile.tried(.teamAllocateTrivial, "team.allocate(NotTrivialClass.self, count: 4)")
            let error = thrownError("class") { () throws(MmapError) in _ = try team.allocate(NotTrivialClass.self, count: 4) }
            #expect(error == .request(.nonTrivialElement("NotTrivialClass")))
        }
    }
}

/// What is wrong with `outcome`, a wrapping that had to be refused as `nonTrivialElement(element)`;
/// nil when it was. (Generic, so outside the exit test's closure, which cannot capture generics.)
func refusalProblem<Element>(
    _ what: String, _ outcome: UnmanagedBuffer<Element>.WrappingError<Never>?, _ element: String
) -> String? {
    outcome == .layout(.nonTrivialElement(element)) ? nil : "\(what): \(String(describing: outcome))"
}
