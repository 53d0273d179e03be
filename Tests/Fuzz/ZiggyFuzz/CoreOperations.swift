@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyMmap
import ZiggySupport

// (a) AllocationRequest validation against the model, and (b) the typed allocate path of the core
// allocators: small sizes, and huge counts that must fail at once without allocating.

/// Bytes the core allocators may be asked for (kept in ASan's primary allocator, which never
/// unmaps, and below glibc's mmap threshold).
let coreCap = 32 << 10
/// Valid requests this large must fail for lack of memory (malloc refuses 2 TiB; ASan refuses
/// anything above 1 TiB with `allocator_may_return_null=1`).
let impossibleBytes = 1 << 41

enum RequestOperation {
    static func run(_ input: inout FuzzInput) {
        let selector = input.byte()
        let flags = input.byte()
        let count = input.int()
        let alignment: Int? = flags & 1 != 0 ? input.int() : nil
        let zeroed = flags & 2 != 0
        if flags & 4 != 0 {
            let align = alignment ?? 16
            Harness.operation = "AllocationRequest(byteCount: \(count), alignment: \(align), zeroed: \(zeroed))"
            let result: Result<AllocationRequest, AllocationError>
            do throws(AllocationError) {
                result = .success(
                    try AllocationRequest(byteCount: count, alignment: align, zeroed: zeroed, site: LeakReport.CallSite()))
            } catch {
                result = .failure(error)
            }
            compare(result, RequestModel.expect(UInt8.self, count: count, alignment: align), UInt8.self, count, zeroed)
        } else {
            withElementType(selector) { type in run(type, count: count, alignment: alignment, zeroed: zeroed) }
        }
    }

    static func run<T>(_ type: T.Type, count: Int, alignment: Int?, zeroed: Bool) {
        Harness.operation = "AllocationRequest(\(T.self), count: \(count), alignment: \(alignment.map(String.init) ?? "nil"))"
        let result: Result<AllocationRequest, AllocationError>
        do throws(AllocationError) {
            result = .success(
                try AllocationRequest(T.self, count: count, alignment: alignment, zeroed: zeroed, site: LeakReport.CallSite()))
        } catch {
            result = .failure(error)
        }
        compare(result, RequestModel.expect(T.self, count: count, alignment: alignment), T.self, count, zeroed)
    }

    static func compare<T>(
        _ result: Result<AllocationRequest, AllocationError>, _ model: Result<ValidRequest, AllocationError>,
        _ type: T.Type, _ count: Int, _ zeroed: Bool
    ) {
        switch (result, model) {
        case (.failure(let error), .failure(let expected)):
            Harness.require(error == expected, "threw \(error); the model expects \(expected)")
            Harness.require(!error.description.isEmpty, "an error without a message")
        case (.failure(let error), .success(let valid)):
            Harness.violation("threw \(error) for a valid request (\(valid.byteCount) B, align \(valid.alignment))")
        case (.success(let request), .failure(let expected)):
            Harness.violation("accepted \(request); the model expects \(expected)")
        case (.success(let request), .success(let valid)):
            Harness.require(
                request.byteCount == valid.byteCount && request.alignment == valid.alignment
                    && request.elementCount == count && request.zeroed == zeroed
                    && request.elementType == T.self,
                "accepted as \(request); the model expects \(valid.byteCount) B, align \(valid.alignment)")
        }
    }
}

enum CoreOperation {
    static func run(_ input: inout FuzzInput) {
        let which = input.byte() % 5
        let selector = input.byte()
        let flags = input.byte()
        let count = input.int()
        let alignment: Int? = flags & 1 != 0 ? input.int() : nil
        let chunk = which == 1 || which == 3 ? input.int() : 0
        withElementType(selector) { type in
            run(type, which: which, flags: flags, count: count, alignment: alignment, chunk: chunk)
        }
    }

    static func run<T: TrivialElement>(
        _ type: T.Type, which: UInt8, flags: UInt8, count rawCount: Int,
        alignment rawAlignment: Int?, chunk rawChunk: Int
    ) {
        let alignment = cappedAlignment(rawAlignment, cap: coreCap)
        let count = capped(T.self, count: rawCount, alignment: alignment, cap: coreCap, passAbove: impossibleBytes)
        // Chunks of 2 TiB or more (Int.max − 32, 1 << 62) must fail as a typed error at the first
        // allocation; others are kept small.
        let chunk = rawChunk >= impossibleBytes || rawChunk <= 0 ? rawChunk : rawChunk % (coreCap * 2 + 1)
        let zeroed = flags & 2 != 0
        let second = flags & 4 != 0
        let model = RequestModel.expect(T.self, count: count, alignment: alignment)
        var expect = Expectation(count: count, alignment: alignment, zeroed: zeroed, model: model)
        if case .success(let valid) = model, valid.byteCount > 0 {
            let impossible = valid.byteCount >= impossibleBytes || ((which == 1 || which == 3) && chunk >= impossibleBytes)
            if impossible {
                expect.mustFail = true
                expect.judgeFailure = { error in
                    if case .outOfMemory? = error as? AllocationError { return nil }
                    return "expected outOfMemory"
                }
            }
        }
        let names = [
            "SystemMemoryAllocator", "ScopedAllocator(chunkByteCount: \(chunk))", "Debug(System)",
            "Debug(Scoped(chunkByteCount: \(chunk)))", "Debug(System, scribble: false)",
        ]
        Harness.operation =
            "\(names[Int(which)]).allocate(\(T.self), count: \(count) (input \(rawCount)), "
            + "alignment: \(alignment.map(String.init) ?? "nil") (input \(rawAlignment.map(String.init) ?? "nil")), "
            + "zeroed: \(zeroed))\(second ? " twice" : "")"

        switch which {
        case 0:
            let allocator = SystemMemoryAllocator()
            exercise(allocator, T.self, expect, second: second, backend: .system)
            Harness.require(Invariants.statistics(of: allocator, equal: .zero, label: "SystemMemoryAllocator at the end"))
        case 1:
            let allocator = ScopedAllocator(chunkByteCount: chunk)
            exercise(allocator, T.self, expect, second: second, backend: .scoped)
            Harness.require(Invariants.statistics(of: allocator, equal: .zero, label: "ScopedAllocator at the end"))
        case 2, 4:
            let allocator = DebugMemoryAllocator(
                "fuzz", wrapping: SystemMemoryAllocator(), onLeak: .trap,
                scribble: which == 2)
            exercise(allocator, T.self, expect, second: second, backend: .system)
            Harness.require(allocator.leakReport.leaks.isEmpty, "leaks after every buffer was freed: \(allocator.leakReport)")
            Harness.require(Invariants.statistics(of: allocator.base, equal: .zero, label: "the wrapped allocator at the end"))
        default:
            let allocator = DebugMemoryAllocator("fuzz", wrapping: ScopedAllocator(chunkByteCount: chunk), onLeak: .trap)
            exercise(allocator, T.self, expect, second: second, backend: .scoped)
            Harness.require(allocator.leakReport.leaks.isEmpty, "leaks after every buffer was freed: \(allocator.leakReport)")
            Harness.require(Invariants.statistics(of: allocator.base, equal: .zero, label: "the wrapped arena at the end"))
        }
    }

    /// One allocation (and a second while the first lives, when asked): disjoint, writable, counted.
    static func exercise<A: UnmanagedMemoryAllocator & ~Copyable, T: TrivialElement>(
        _ allocator: borrowing A, _ type: T.Type, _ expect: Expectation, second: Bool, backend: BufferBacking.Backend
    ) {
        withAllocation(allocator, T.self, expect) { first, valid in
            guard valid.byteCount > 0 else { return }
            Harness.require(first.backing.backend == backend, "backend \(first.backing.backend), expected \(backend)")
            touch(&first, 0xA5)
            guard second else { return }
            let firstStart = address(first)
            let firstEnd = firstStart + UInt(valid.byteCount)
            withAllocation(allocator, T.self, expect) { other, _ in
                let start = address(other)
                Harness.require(
                    start >= firstEnd || start + UInt(valid.byteCount) <= firstStart,
                    "two live buffers overlap: 0x\(String(firstStart, radix: 16)) and 0x\(String(start, radix: 16)), "
                        + "\(valid.byteCount) B each")
                touch(&other, 0x5A)
            }
            // The second buffer's writes and free must not have touched the first.
            let base = UnsafeRawPointer(first.unsafeBaseAddress)
            Harness.require(
                base.load(as: UInt8.self) == 0xA5
                    && base.load(fromByteOffset: valid.byteCount - 1, as: UInt8.self) == 0xA5,
                "the first buffer changed while the second was allocated and freed")
        }
    }
}
