import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Hostile allocation requests — counts, alignments and element types at and beyond every
// boundary — against every allocator, through the typed `allocate` overloads. Each rejected
// request must be the exact typed error (case and payload, wrapped as the allocator's Failure)
// with the key parts of its message, and leave the allocator's counters, its mappings and the
// hugetlb pools as they were; each accepted one must give the size and alignment asked for and
// return every live counter when freed.

/// One hostile (or boundary) request.
struct RequestCase: CustomStringConvertible, Sendable {
    enum Element: String, Sendable {
        case uint8 = "UInt8", int64 = "Int64", threeBytes = "ThreeBytes", publicPair = "PublicPair"
        case notTrivialClass = "NotTrivialClass", notTrivialStruct = "NotTrivialStruct"
        case notTrivialClosure = "NotTrivialClosure", notTrivialWeak = "NotTrivialWeak"

        var stride: Int {
            switch self {
            case .uint8: 1
            case .int64: 8
            case .threeBytes: 3
            case .publicPair: 16
            case .notTrivialClass: MemoryLayout<NotTrivialClass>.stride
            case .notTrivialStruct: MemoryLayout<NotTrivialStruct>.stride
            case .notTrivialClosure: MemoryLayout<NotTrivialClosure>.stride
            case .notTrivialWeak: MemoryLayout<NotTrivialWeak>.stride
            }
        }

        var alignment: Int {
            switch self {
            case .uint8, .threeBytes: 1
            default: 8
            }
        }

        /// Whether the element goes through the `TrivialElement` overloads (it is not `BitwiseCopyable`).
        var isTrivialElementPath: Bool { self != .uint8 && self != .int64 && self != .threeBytes }
    }

    enum Expectation: Sendable {
        /// A buffer of exactly the requested count and alignment.
        case succeeds
        /// This request error, before any backend is asked.
        case rejected(AllocationError)
        /// A valid request no backend can satisfy (more than the machine): an out-of-memory or
        /// huge-page shortage error from the backend.
        case refusedByBackend
    }

    let element: Element
    let count: Int
    let alignment: Int?
    let zeroed: Bool
    let expectation: Expectation

    init(_ element: Element, count: Int, alignment: Int? = nil, zeroed: Bool = false, _ expectation: Expectation) {
        self.element = element
        self.count = count
        self.alignment = alignment
        self.zeroed = zeroed
        self.expectation = expectation
    }

    var description: String {
        "allocate(\(element.rawValue), count: \(count)\(alignment.map { ", alignment: \($0)" } ?? "")\(zeroed ? ", zeroed" : ""))"
    }

    /// The overload the request goes through.
    var entry: EntryPoint {
        element.isTrivialElementPath ? .allocateTrivial : .allocate
    }

    var byteCount: Int { count.multipliedReportingOverflow(by: element.stride).partialValue }

    /// Every hostile request of the suite.
    static let all: [RequestCase] = {
        let limit = AllocationRequest.addressSpaceLimit
        let maxAlign = AllocationRequest.maximumAlignment
        var cases: [RequestCase] = []
        func invalidAlignment(_ a: Int, _ e: Element) -> AllocationError {
            .invalidAlignment(a, minimum: e.alignment, maximum: maxAlign, element: e.rawValue)
        }
        // Counts of bytes: 0, 1, page size ± 1, huge page size ± 1 succeed.
        for count in [0, 1, 4095, 4096, 4097, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1] {
            cases.append(RequestCase(.uint8, count: count, zeroed: count == 4097, .succeeds))
        }
        for count in [-1, -4096, Int.min, Int.min + 1] {
            cases.append(RequestCase(.uint8, count: count, .rejected(.negativeCount(count, element: "UInt8"))))
        }
        for count in [Int.max, Int.max - 1, Int.max - 7, Int.max - 4095, limit + 1, limit + 4096] {
            cases.append(RequestCase(.uint8, count: count, .rejected(.exceedsAddressSpace(byteCount: count, limit: limit))))
        }
        cases.append(RequestCase(.uint8, count: limit, .refusedByBackend))
        cases.append(RequestCase(.uint8, count: 1 << 46, .refusedByBackend))
        // Counts of 8-byte elements: the stride multiplication overflows from Int.max / 8 + 1 on.
        for count in [0, 1, 512, 513] {
            cases.append(RequestCase(.int64, count: count, zeroed: count == 513, .succeeds))
        }
        for count in [-1, Int.min] {
            cases.append(RequestCase(.int64, count: count, .rejected(.negativeCount(count, element: "Int64"))))
        }
        for count in [Int.max / 8 + 1, Int.max / 2, Int.max - 7, Int.max] {
            cases.append(RequestCase(.int64, count: count, .rejected(.sizeOverflow(count: count, stride: 8, element: "Int64"))))
        }
        for count in [Int.max / 8, limit / 8 + 1] {
            cases.append(RequestCase(.int64, count: count, .rejected(.exceedsAddressSpace(byteCount: count * 8, limit: limit))))
        }
        cases.append(RequestCase(.int64, count: limit / 8, .refusedByBackend))
        // Stride 3: sizes that are multiples of nothing larger.
        for count in [1365, 1366] { cases.append(RequestCase(.threeBytes, count: count, .succeeds)) }
        cases.append(
            RequestCase(
                .threeBytes, count: Int.max / 3 + 1,
                .rejected(.sizeOverflow(count: Int.max / 3 + 1, stride: 3, element: "ThreeBytes"))))
        for count in [Int.max / 3, limit / 3 + 1] {
            cases.append(
                RequestCase(.threeBytes, count: count, .rejected(.exceedsAddressSpace(byteCount: count * 3, limit: limit))))
        }
        // A trivial TrivialElement type (checked at run time) succeeds like any other.
        for count in [0, 1, 256] { cases.append(RequestCase(.publicPair, count: count, .succeeds)) }
        cases.append(RequestCase(.publicPair, count: -1, .rejected(.negativeCount(-1, element: "PublicPair"))))
        cases.append(
            RequestCase(
                .publicPair, count: Int.max / 16 + 1,
                .rejected(.sizeOverflow(count: Int.max / 16 + 1, stride: 16, element: "PublicPair"))))
        cases.append(RequestCase(.publicPair, count: 1, alignment: 4, .rejected(invalidAlignment(4, .publicPair))))
        cases.append(RequestCase(.publicPair, count: 4, alignment: 4096, .succeeds))
        // TrivialElement conformances on non-trivial types: a typed error, never a buffer — also for
        // an empty request and with an alignment. A negative count is reported first (size is checked first).
        for element in [Element.notTrivialClass, .notTrivialStruct, .notTrivialClosure, .notTrivialWeak] {
            for count in [1, 0, 4096] {
                cases.append(RequestCase(element, count: count, .rejected(.nonTrivialElement(element.rawValue))))
            }
            cases.append(RequestCase(element, count: 1, alignment: 64, .rejected(.nonTrivialElement(element.rawValue))))
            cases.append(RequestCase(element, count: -1, .rejected(.negativeCount(-1, element: element.rawValue))))
        }
        // Alignments: powers of two from the element's own to 1 GiB succeed; everything else is
        // invalidAlignment naming the range, also for empty requests.
        for alignment in [1, 2, 16, 64, 4096, 2 * MiB, GiB] {
            cases.append(RequestCase(.uint8, count: 1, alignment: alignment, zeroed: alignment == 64, .succeeds))
        }
        cases.append(RequestCase(.uint8, count: 4097, alignment: 4096, .succeeds))
        for alignment in [
            0, -1, -4096, Int.min, 3, 6, 12, 4095, 4097, 2 * MiB - 1, 2 * MiB + 1, GiB - 1, GiB + 1,
            2 * GiB, 1 << 62, Int.max, Int.max - 1,
        ] {
            cases.append(RequestCase(.uint8, count: 1, alignment: alignment, .rejected(invalidAlignment(alignment, .uint8))))
        }
        cases.append(RequestCase(.uint8, count: 0, alignment: 3, .rejected(invalidAlignment(3, .uint8))))
        cases.append(RequestCase(.uint8, count: 0, alignment: 2 * GiB, .rejected(invalidAlignment(2 * GiB, .uint8))))
        for alignment in [1, 2, 4] {
            cases.append(RequestCase(.int64, count: 1, alignment: alignment, .rejected(invalidAlignment(alignment, .int64))))
        }
        for alignment in [8, 4096] { cases.append(RequestCase(.int64, count: 3, alignment: alignment, .succeeds)) }
        // Two faults at once: the count is reported (it is checked first).
        cases.append(RequestCase(.uint8, count: -1, alignment: 3, .rejected(.negativeCount(-1, element: "UInt8"))))
        cases.append(
            RequestCase(
                .int64, count: Int.max, alignment: 0,
                .rejected(.sizeOverflow(count: Int.max, stride: 8, element: "Int64"))))
        return cases
    }()
}

/// The key parts every request error's message must contain.
func messageParts(_ error: AllocationError) -> [String] {
    switch error {
    case let .negativeCount(count, element): ["cannot allocate \(count) elements of \(element)", "negative"]
    case let .sizeOverflow(count, stride, element): ["\(count) elements of \(element)", "stride \(stride) B", "overflows Int"]
    case let .exceedsAddressSpace(bytes, limit): ["cannot allocate \(bytes) B", "\(limit >> 40) TiB"]
    case let .invalidAlignment(alignment, minimum, maximum, element):
        ["invalid alignment \(alignment) for \(element)", "power of two from \(minimum)", "to \(maximum)"]
    case let .nonTrivialElement(element): ["\(element) cannot live in unmanaged memory", "not trivially copyable"]
    case let .outOfMemory(bytes, backend, _): ["\(backend)", "out of memory allocating \(bytes) B"]
    case let .countMismatch(destination, source): ["cannot copy \(source) elements into a buffer of \(destination)"]
    case let .invalidArgument(message): [message]
    }
}

/// The allocators the request matrix runs against.
enum AllocatorKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case system, scoped, debugSystem, debugScoped, debugMmap, debugNuma
    case mmapBase, mmapTHP, mmapPooled, mmapHuge2MiBStrict, mmapHuge1GiBStrict, mmapHuge2MiBAnySmaller
    case numaLocal, numaBind0, numaInterleave0, numaPreferred0Pooled

    var description: String { rawValue }

    /// The page sizes a request may be tried with (for the lengths a failure could leave mapped).
    var pageSizes: [PageSize] {
        switch self {
        case .system, .scoped, .debugSystem, .debugScoped: []
        case .mmapTHP: [.transparentHuge]
        case .mmapHuge2MiBStrict: [.huge2MiB]
        case .mmapHuge1GiBStrict: [.huge1GiB]
        case .mmapHuge2MiBAnySmaller: [.huge2MiB, .transparentHuge, .base]
        default: [.base]
        }
    }

    /// hugetlb allocators only see requests that never take pages from the shared pools.
    var usesHugeTLB: Bool { self == .mmapHuge2MiBStrict || self == .mmapHuge1GiBStrict || self == .mmapHuge2MiBAnySmaller }

    func admits(_ request: RequestCase) -> Bool {
        if usesHugeTLB, case .succeeds = request.expectation { return false }
        if case .refusedByBackend = request.expectation, !Host.refusesHugeCommit { return false }
        if case .refusedByBackend = request.expectation, Host.sanitizerAbortsOnHugeMalloc, pageSizes.isEmpty { return false }
        return true
    }
}

/// What a successful request gave.
struct BufferFacts: CustomStringConvertible {
    let count: Int
    let byteCount: Int
    let address: UInt
    let backing: BufferBacking
    let readsZero: Bool

    init<T>(_ buffer: borrowing UnmanagedBuffer<T>, checkZero: Bool) {
        count = buffer.count
        byteCount = buffer.byteCount
        address = UInt(bitPattern: unsafe buffer.unsafeBaseAddress)
        backing = buffer.backing
        readsZero =
            checkZero
            && buffer.withUnsafeBytes { bytes in
                bytes.isEmpty || (bytes.first == 0 && memcmp(bytes.baseAddress!, bytes.baseAddress! + 1, bytes.count - 1) == 0)
            }
    }

    var description: String { "\(count) elements (\(byteCount) B) at 0x\(String(address, radix: 16)), \(backing)" }
}

enum RequestOutcome {
    case allocated(BufferFacts)
    case failed(any Error)
}

/// Makes `request` through `allocator`'s typed API (freeing the buffer at once).
func attempt<A: UnmanagedMemoryAllocator & ~Copyable>(_ allocator: borrowing A, _ request: RequestCase) -> RequestOutcome {
    switch request.element {
    case .uint8: attemptBitwise(allocator, UInt8.self, request)
    case .int64: attemptBitwise(allocator, Int64.self, request)
    case .threeBytes: attemptBitwise(allocator, ThreeBytes.self, request)
    case .publicPair: attemptTrivial(allocator, PublicPair.self, request)
    case .notTrivialClass: attemptTrivial(allocator, NotTrivialClass.self, request)
    case .notTrivialStruct: attemptTrivial(allocator, NotTrivialStruct.self, request)
    case .notTrivialClosure: attemptTrivial(allocator, NotTrivialClosure.self, request)
    case .notTrivialWeak: attemptTrivial(allocator, NotTrivialWeak.self, request)
    }
}

func attemptBitwise<A: UnmanagedMemoryAllocator & ~Copyable, T: BitwiseCopyable>(
    _ allocator: borrowing A, _ type: T.Type, _ request: RequestCase
) -> RequestOutcome {
    do throws(A.Failure) {
        let buffer: UnmanagedBuffer<T>
        if let alignment = request.alignment {
            buffer = try allocator.allocate(T.self, count: request.count, alignment: alignment, zeroed: request.zeroed)
        } else {
            buffer = try allocator.allocate(T.self, count: request.count, zeroed: request.zeroed)
        }
        let facts = BufferFacts(buffer, checkZero: request.zeroed)
        buffer.free()
        return .allocated(facts)
    } catch {
        return .failed(error)
    }
}

func attemptTrivial<A: UnmanagedMemoryAllocator & ~Copyable, T: TrivialElement>(
    _ allocator: borrowing A, _ type: T.Type, _ request: RequestCase
) -> RequestOutcome {
    do throws(A.Failure) {
        let buffer: UnmanagedBuffer<T>
        if let alignment = request.alignment {
            buffer = try allocator.allocate(T.self, count: request.count, alignment: alignment, zeroed: request.zeroed)
        } else {
            buffer = try allocator.allocate(T.self, count: request.count, zeroed: request.zeroed)
        }
        let facts = BufferFacts(buffer, checkZero: request.zeroed)
        buffer.free()
        return .allocated(facts)
    } catch {
        return .failed(error)
    }
}

/// Whether `error` is a backend's refusal of a valid request (not a request error).
func isRefusal(_ error: any Error) -> Bool {
    if let core = error as? AllocationError, case .outOfMemory = core { return true }
    if let mmap = error as? MmapError {
        switch mmap {
        case .outOfMemory, .hugePagesUnavailable, .unsupportedPageSize: return true
        default: return false
        }
    }
    return false
}

/// Runs every admitted request of the matrix against `allocator`.
func runRequestMatrix<A: UnmanagedMemoryAllocator & MisuseInspectable & ~Copyable>(
    _ kind: AllocatorKind, _ allocator: borrowing A
) {
    for request in RequestCase.all where kind.admits(request) {
        let label = "\(kind): \(request)"
        Hostile.tried(request.entry, label)
        let before = allocator.misuseState
        var refused = false
        if case .refusedByBackend = request.expectation { refused = true }
        let process = ProcessState.capture(mappings: refused)
        let outcome = attempt(allocator, request)
        let after = allocator.misuseState
        switch (request.expectation, outcome) {
        case (.succeeds, .allocated(let facts)):
            let alignment = request.alignment ?? request.element.alignment
            #expect(facts.count == request.count, "\(label): got \(facts)")
            #expect(facts.byteCount == request.byteCount, "\(label): got \(facts)")
            #expect(facts.address % UInt(alignment) == 0, "\(label): address not \(alignment)-aligned: \(facts)")
            if request.count > 0 {
                #expect(facts.backing.isOwning, "\(label): a non-empty buffer must own its memory: \(facts)")
                #expect(facts.backing.alignment >= alignment, "\(label): backing reports less alignment than asked: \(facts)")
                #expect(facts.backing.reservedByteCount >= facts.byteCount, "\(label): reserves less than its size: \(facts)")
                // Memory without mapping details is on base pages.
                let obtained = facts.backing.mapping?.obtainedPageSize ?? .base
                if let page = kind.pageSizes.first, page != .transparentHuge || obtained == page {
                    let bytes = obtained.byteCount
                    #expect(
                        facts.backing.reservedByteCount == (facts.byteCount + bytes - 1) / bytes * bytes,
                        "\(label): a mapping reserves whole pages of what it obtained: \(facts)")
                }
                #expect(after.live == before.live, "\(label): freeing did not restore the live counters: \(before) → \(after)")
                #expect(
                    after.statistics.totalAllocations == before.statistics.totalAllocations + 1,
                    "\(label): one allocation must be counted once: \(before) → \(after)")
            } else {
                #expect(after == before, "\(label): an empty request must not reach the allocator: \(before) → \(after)")
            }
            if request.zeroed { #expect(facts.readsZero, "\(label): zeroed memory does not read zero") }
        case (.rejected(let expected), .failed(let error)):
            let wrapped = A.failure(forInvalidRequest: expected)
            #expect(sameError(error, wrapped), "\(label): threw \(error) (\(String(reflecting: error))), expected \(wrapped)")
            expectMessage(error, contains: messageParts(expected), label)
            #expect(after == before, "\(label): a rejected request changed the allocator: \(before) → \(after)")
            process.expectNothingLeft(lengths: [], label)
        case (.refusedByBackend, .failed(let error)):
            #expect(isRefusal(error), "\(label): expected the backend's refusal, got \(error)")
            expectMessage(
                error, contains: [kind.usesHugeTLB && kind != .mmapHuge2MiBAnySmaller ? "needed" : "out of memory"], label)
            #expect(after == before, "\(label): a refused request changed the allocator: \(before) → \(after)")
            process.expectNothingLeft(lengths: suspectLengths(byteCount: request.byteCount, pageSizes: kind.pageSizes), label)
        case (.succeeds, .failed(let error)):
            Issue.record("\(label): threw \(error)")
        case (_, .allocated(let facts)):
            Issue.record("\(label): expected \(request.expectation), got a buffer: \(facts)")
        }
    }
}

extension MisuseSuite {
    @Suite("Misuse: allocation requests")
    struct Requests {
        @Test(
            "hostile counts, alignments and element types are exact typed errors and leave nothing behind",
            arguments: AllocatorKind.allCases)
        func requestMatrix(kind: AllocatorKind) throws {
            switch kind {
            case .system: runRequestMatrix(kind, SystemMemoryAllocator())
            case .scoped: runRequestMatrix(kind, ScopedAllocator())
            case .debugSystem: runRequestMatrix(kind, DebugMemoryAllocator("misuse", wrapping: SystemMemoryAllocator()))
            case .debugScoped: runRequestMatrix(kind, DebugMemoryAllocator("misuse", wrapping: ScopedAllocator()))
            case .debugMmap: runRequestMatrix(kind, DebugMemoryAllocator("misuse", wrapping: MmapAllocator()))
            case .debugNuma: runRequestMatrix(kind, DebugMemoryAllocator("misuse", wrapping: try NumaAllocator(policy: .bind([0]))))
            case .mmapBase: runRequestMatrix(kind, MmapAllocator())
            case .mmapTHP: runRequestMatrix(kind, MmapAllocator(pageSize: .transparentHuge))
            case .mmapPooled: runRequestMatrix(kind, MmapAllocator(reusePoolBytes: 64 * MiB))
            case .mmapHuge2MiBStrict:
                withHugeTLBPool { runRequestMatrix(kind, MmapAllocator(pageSize: .huge2MiB)) }
            case .mmapHuge1GiBStrict:
                withHugeTLBPool { runRequestMatrix(kind, MmapAllocator(pageSize: .huge1GiB)) }
            case .mmapHuge2MiBAnySmaller:
                withHugeTLBPool { runRequestMatrix(kind, MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)) }
            case .numaLocal: runRequestMatrix(kind, try NumaAllocator(policy: .local))
            case .numaBind0: runRequestMatrix(kind, try NumaAllocator(policy: .bind([0])))
            case .numaInterleave0: runRequestMatrix(kind, try NumaAllocator(policy: .interleave([0])))
            case .numaPreferred0Pooled: runRequestMatrix(kind, try NumaAllocator(policy: .preferred(0), reusePoolBytes: 64 * MiB))
            }
        }

        @Test("AllocationRequest's initializers reject the same inputs with the same errors")
        func requestInitializers() {
            let site = LeakReport.CallSite()
            for request in RequestCase.all where request.element == .uint8 || request.element == .int64 {
                Hostile.tried(
                    .requestInit,
                    "AllocationRequest(\(request.element.rawValue), count: \(request.count), alignment: \(request.alignment.map(String.init) ?? "nil"))"
                )
                let result: Result<AllocationRequest, AllocationError>
                do throws(AllocationError) {
                    result = .success(
                        request.element == .uint8
                            ? try AllocationRequest(UInt8.self, count: request.count, alignment: request.alignment, site: site)
                            : try AllocationRequest(Int64.self, count: request.count, alignment: request.alignment, site: site))
                } catch {
                    result = .failure(error)
                }
                switch (request.expectation, result) {
                case (.rejected(let expected), .failure(let error)):
                    #expect(error == expected, "\(request): \(error)")
                case (.rejected(let expected), .success(let made)):
                    Issue.record("\(request): accepted as \(made), expected \(expected)")
                case (_, .success(let made)):
                    #expect(made.byteCount == request.byteCount && made.elementCount == request.count, "\(request): \(made)")
                    #expect(made.alignment == (request.alignment ?? request.element.alignment), "\(request): \(made)")
                case (_, .failure(let error)):
                    Issue.record("\(request): \(error)")
                }
            }
            // The byte form: its default alignment is 16.
            for bytes in integerBoundaries + [
                4095, 4097, AllocationRequest.addressSpaceLimit, AllocationRequest.addressSpaceLimit + 1,
            ] {
                Hostile.tried(.requestInitBytes, "AllocationRequest(byteCount: \(bytes))")
                do throws(AllocationError) {
                    let made = try AllocationRequest(byteCount: bytes, site: site)
                    #expect(bytes >= 0 && bytes <= AllocationRequest.addressSpaceLimit, "byteCount \(bytes) accepted: \(made)")
                    #expect(made.alignment == 16 && made.byteCount == bytes)
                } catch {
                    let expected: AllocationError =
                        bytes < 0
                        ? .negativeCount(bytes, element: "UInt8")
                        : .exceedsAddressSpace(byteCount: bytes, limit: AllocationRequest.addressSpaceLimit)
                    #expect(error == expected, "byteCount \(bytes): \(error)")
                }
            }
            for alignment in [0, -16, 3, 24, Int.min, Int.max, 2 * GiB] {
                Hostile.tried(.requestInitBytes, "AllocationRequest(byteCount: 64, alignment: \(alignment))")
                let error = thrownError("AllocationRequest(byteCount: 64, alignment: \(alignment))") { () throws(AllocationError) in
                    _ = try AllocationRequest(byteCount: 64, alignment: alignment, site: site)
                }
                #expect(error == .invalidAlignment(alignment, minimum: 1, maximum: GiB, element: "UInt8"))
            }
        }

        @Test("failure(forInvalidRequest:) wraps every request error unchanged, for every allocator")
        func failureWrapping() throws {
            let samples: [AllocationError] = [
                .negativeCount(Int.min, element: ""), .sizeOverflow(count: Int.max, stride: Int.max, element: "\n"),
                .exceedsAddressSpace(byteCount: -1, limit: 0),
                .invalidAlignment(0, minimum: Int.max, maximum: Int.min, element: "x"),
                .nonTrivialElement(""), .outOfMemory(byteCount: Int.min, backend: "", errno: nil),
                .countMismatch(destination: -1, source: Int.max), .invalidArgument(""),
            ]
            for sample in samples {
                let text = String(reflecting: sample)
                Hostile.tried(.failureDefault, "SystemMemoryAllocator.failure(forInvalidRequest: \(text))")
                #expect(SystemMemoryAllocator.failure(forInvalidRequest: sample) == sample)
                Hostile.tried(.failureRequirement, "ScopedAllocator.failure(forInvalidRequest: \(text))")
                #expect(ScopedAllocator.failure(forInvalidRequest: sample) == sample)
                Hostile.tried(.mmapFailure, "MmapAllocator.failure(forInvalidRequest: \(text))")
                #expect(MmapAllocator.failure(forInvalidRequest: sample) == .request(sample))
                Hostile.tried(.numaFailure, "NumaAllocator.failure(forInvalidRequest: \(text))")
                #expect(NumaAllocator.failure(forInvalidRequest: sample) == .request(sample))
                Hostile.tried(.debugFailure, "DebugMemoryAllocator<MmapAllocator>.failure(forInvalidRequest: \(text))")
                #expect(DebugMemoryAllocator<MmapAllocator>.failure(forInvalidRequest: sample) == .request(sample))
                #expect(DebugMemoryAllocator<ScopedAllocator>.failure(forInvalidRequest: sample) == sample)
                // The message of a wrapped error is the core error's.
                #expect(MmapError.request(sample).description == sample.description)
            }
        }

        @Test("allocate(copying:) with empty, one-element and odd-sized arrays, on every core backend")
        func allocateCopying() throws {
            let arrays: [[UInt16]] = [[], [0xFFFF], Array(0..<2049), [UInt16](repeating: 7, count: 4097)]
            for values in arrays {
                Hostile.tried(.allocateCopyingCollection, "system: \(values.count) elements")
                Hostile.tried(.allocateCopyingCollection, "scoped: \(values.count) elements")
                Hostile.tried(.allocateCopyingCollection, "mmap: \(values.count) elements")
                let system = SystemMemoryAllocator()
                let fromSystem = try system.allocate(copying: values)
                #expect(fromSystem.toArray() == values)
                #expect(fromSystem.backing.isOwning == !values.isEmpty)
                try ScopedAllocator.withScope { arena throws(AllocationError) in
                    let copy = try arena.allocate(copying: values)
                    #expect(copy.toArray() == values)
                }
                let mmap = MmapAllocator()
                do {
                    let copy = try mmap.allocate(copying: values)
                    #expect(copy.toArray() == values)
                }
                #expect(mmap.statistics.liveAllocations == 0 && mmap.mmapStatistics.mappedBytes == 0)
            }
        }

        @Test("SystemMemoryAllocator's direct typed calls answer every hostile count and alignment as the protocol's do")
        func systemDirectCalls() throws {
            let system = SystemMemoryAllocator()
            // The protocol's path, reached through a generic function (the concrete overloads are
            // what a call on the class itself picks).
            func generic<A: UnmanagedMemoryAllocator>(
                _ allocator: A, count: Int, alignment: Int?
            ) -> Result<Int, A.Failure> {
                do throws(A.Failure) {
                    if let alignment {
                        return .success(try allocator.allocate(UInt32.self, count: count, alignment: alignment).count)
                    }
                    return .success(try allocator.allocate(UInt32.self, count: count).count)
                } catch {
                    return .failure(error)
                }
            }
            let counts =
                integerBoundaries + [4, 4097, AllocationRequest.addressSpaceLimit / 4, AllocationRequest.addressSpaceLimit / 4 + 1]
            for count in counts {
                for alignment in [nil, 0, 1, 3, 4, 64, 4096, 1 << 30, 1 << 31, -8] as [Int?] {
                    let label = "system.allocate(UInt32.self, count: \(count)\(alignment.map { ", alignment: \($0)" } ?? ""))"
                    Hostile.tried(.systemAllocate, label)
                    let direct: Result<Int, AllocationError>
                    do throws(AllocationError) {
                        if let alignment {
                            direct = .success(try system.allocate(UInt32.self, count: count, alignment: alignment).count)
                        } else {
                            direct = .success(try system.allocate(UInt32.self, count: count).count)
                        }
                    } catch {
                        direct = .failure(error)
                    }
                    let viaProtocol = generic(system, count: count, alignment: alignment)
                    switch (direct, viaProtocol) {
                    case (.success(let a), .success(let b)): #expect(a == b && a == count, "\(label)")
                    case (.failure(let a), .failure(let b)):
                        // Both out of memory (a huge but valid size) may differ only in nothing.
                        #expect(a == b, "\(label): direct \(a), protocol \(b)")
                    default: Issue.record("\(label): direct \(direct), protocol \(viaProtocol)")
                    }
                    #expect(system.statistics.liveAllocations == 0, "\(label)")
                }
            }
        }

        @Test("ScopedAllocator's direct typed calls answer every hostile count and alignment as the protocol's do")
        func scopedDirectCalls() throws {
            // The protocol's path, reached through a generic function (the concrete overloads are
            // what a call on the arena itself picks).
            func generic<A: UnmanagedMemoryAllocator & ~Copyable>(
                _ allocator: borrowing A, count: Int, alignment: Int?
            ) -> Result<Int, A.Failure> {
                do throws(A.Failure) {
                    if let alignment {
                        return .success(try allocator.allocate(UInt32.self, count: count, alignment: alignment).count)
                    }
                    return .success(try allocator.allocate(UInt32.self, count: count).count)
                } catch {
                    return .failure(error)
                }
            }
            let counts =
                integerBoundaries + [4, 4097, AllocationRequest.addressSpaceLimit / 4, AllocationRequest.addressSpaceLimit / 4 + 1]
            for count in counts {
                for alignment in [nil, 0, 1, 3, 4, 64, 4096, 1 << 30, 1 << 31, -8] as [Int?] {
                    let label = "arena.allocate(UInt32.self, count: \(count)\(alignment.map { ", alignment: \($0)" } ?? ""))"
                    Hostile.tried(.scopedAllocate, label)
                    // A fresh arena per case: what one case reserved does not change the next one's answer.
                    let arena = ScopedAllocator()
                    let direct: Result<Int, AllocationError>
                    do throws(AllocationError) {
                        if let alignment {
                            direct = .success(try arena.allocate(UInt32.self, count: count, alignment: alignment).count)
                        } else {
                            direct = .success(try arena.allocate(UInt32.self, count: count).count)
                        }
                    } catch {
                        direct = .failure(error)
                    }
                    let viaProtocol = generic(arena, count: count, alignment: alignment)
                    switch (direct, viaProtocol) {
                    case (.success(let a), .success(let b)): #expect(a == b && a == count, "\(label)")
                    case (.failure(let a), .failure(let b)): #expect(a == b, "\(label): direct \(a), protocol \(b)")
                    default: Issue.record("\(label): direct \(direct), protocol \(viaProtocol)")
                    }
                    #expect(arena.statistics.liveAllocations == 0, "\(label)")
                }
            }
        }

        // The byte requests the removed allocateBytes(_:) took: the typed allocate of UInt8 with an
        // alignment answers them (what its callers now write).
        @Test("allocate(UInt8.self, count:alignment:) answers hostile but valid byte requests (the removed allocateBytes')")
        func byteRequests() throws {
            let allocator = SystemMemoryAllocator()
            for (bytes, alignment) in [(0, 16), (0, GiB), (1, 1), (4097, 4096), (3, 2 * MiB)] {
                Hostile.tried(.systemAllocate, "system: UInt8 × \(bytes), alignment: \(alignment)")
                Hostile.tried(.requestInitBytes, "AllocationRequest(byteCount: \(bytes), alignment: \(alignment))")
                let request = try AllocationRequest(byteCount: bytes, alignment: alignment, site: LeakReport.CallSite())
                #expect(request.byteCount == bytes && request.alignment == alignment)
                let buffer = try allocator.allocate(UInt8.self, count: request.byteCount, alignment: request.alignment)
                #expect(buffer.count == bytes)
                #expect(Int(bitPattern: unsafe buffer.unsafeBaseAddress) % alignment == 0)
                #expect(allocator.statistics.liveAllocations == (bytes > 0 ? 1 : 0))
            }
            #expect(allocator.statistics.liveAllocations == 0)
        }
    }
}
