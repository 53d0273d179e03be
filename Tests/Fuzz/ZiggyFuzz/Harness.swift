import Glibc
import ZiggyMmap
import ZiggySupport

#if ENABLE_MOCKING
import ZiggyKernel
#endif

// What every operation shares: the description of the operation running (for messages), the
// failure that makes libFuzzer report a crash, the mapping and pool invariants around mapping
// operations, and one checked allocate → use → free cycle for any allocator.

enum Harness {
    /// The operation running, for violation messages (printed as it starts when
    /// `ZIGGY_FUZZ_TRACE=1`, to follow a reproducer).
    nonisolated(unsafe) static var operation = "" {
        willSet {
            guard trace else { return }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let micros = Int(now.tv_sec) * 1_000_000 + Int(now.tv_nsec) / 1000
            if lastMicros > 0 { printError("ziggy-fuzz: \(micros - lastMicros) µs for \(operation)\n") }
            printError("ziggy-fuzz: \(newValue)\n")
            lastMicros = micros
        }
    }
    nonisolated(unsafe) static var lastMicros = 0
    static let trace = getenv("ZIGGY_FUZZ_TRACE").map { String(cString: $0) } == "1"
    /// The snapshot taken before the input's first mapping operation (nil: none yet).
    nonisolated(unsafe) static var baseline: ProcessState?
    /// The sizes the input's mapping operations could have mapped: the mappings the end-of-input
    /// comparison looks at (the process maps other things meanwhile — sanitizer bookkeeping,
    /// libFuzzer's tables — of other sizes).
    nonisolated(unsafe) static var mappedSizes: Set<Int> = []
    /// A fault for the next mapping operation (set by a fault op): fail the n-th kernel call.
    nonisolated(unsafe) static var pendingFault: (call: Int, errno: Errno)?
    /// Whether the operation running has a fault injected (its valid requests may then fail).
    nonisolated(unsafe) static var faulted = false
    nonisolated(unsafe) static var notedForeignPoolChange = false
    /// The pools are system-wide, so `ZIGGY_FUZZ_POOLS` says what a change means:
    /// `strict` (the default where the kernel seam is not instrumented): any change of
    /// `nr_hugepages` during an operation is a violation — for a machine of its own;
    /// `own` (the default in debug and fuzz builds): the seam sees every write this process makes,
    /// so only those are violations, and a change made by another process is noted once;
    /// `ignore`: pools are not read.
    static let poolMode: String = {
        let value = getenv("ZIGGY_FUZZ_POOLS").map { String(cString: $0) }
        #if ENABLE_MOCKING
        return value ?? "own"
        #else
        return value == "ignore" ? "ignore" : "strict"
        #endif
    }()
    static var checkPools: Bool { poolMode != "ignore" }
    /// `ZIGGY_FUZZ_MAPS=each` compares /proc/self/maps after every mapping operation instead of
    /// once per input (slower; names the operation that left a mapping behind).
    static let mapsAfterEach = getenv("ZIGGY_FUZZ_MAPS").map { String(cString: $0) } == "each"

    /// Starts an input: no snapshot yet, no fault pending.
    static func beginInput() {
        baseline = nil
        mappedSizes = []
        seamRanges = []
        pendingFault = nil
        threadsStarted = false
    }

    /// Ends an input: nothing any of its mapping operations mapped is still mapped, nothing that
    /// was mapped before is gone.
    static func endInput() {
        operation = "the end of the input (mappings of sizes \(mappedSizes.sorted()))"
        if let baseline, !mapsAfterEach { compareMappings(with: baseline) }
    }

    static func compareMappings(with before: ProcessState) {
        let after = ProcessState.capture(hugePages: false)
        let filter = MappingFilter(byteCounts: mappedSizes, matching: threadsStarted ? notAnonymous : distinctive)
        require(after.differences(since: before, mappings: filter))
    }

    /// hugetlb pages available (free minus reserved) per page size in bytes when the current
    /// mapping operation began: a fallback is judged against the pool the library could see, not
    /// one another process grew meanwhile.
    nonisolated(unsafe) static var hugePagesAvailableBefore: [Int: Int] = [:]

    /// Every address range the kernel seam mapped during this input (debug and fuzz builds).
    nonisolated(unsafe) static var seamRanges: [Range<UInt>] = []

    /// Whether `mapping` overlaps memory the library mapped through the seam during this input.
    /// Anonymous memory that overlaps nothing the library mapped is the runtime's (a fuzz run once
    /// failed on 1 MiB that appeared beside an existing 2 MiB anonymous mapping while the seam
    /// had every range unmapped: ASan's or the Swift runtime's heap growing); the seam's exact
    /// range account checks the library's own, and /proc/self/maps confirms those are gone.
    static func overlapsSeamRanges(_ mapping: ProcessState.Mapping) -> Bool {
        #if ENABLE_MOCKING
        let range = mapping.start..<mapping.end
        return seamRanges.contains { $0.overlaps(range) }
        #else
        return true
        #endif
    }

    /// Whether an operation of this input started threads (a parallel population).
    nonisolated(unsafe) static var threadsStarted = false

    /// The mappings this process's own bookkeeping cannot be confused with: hugetlb and file
    /// mappings, and anonymous ones of 64 KiB or more. Under ASan every thread maps and unmaps a
    /// few pages of sanitizer state, so smaller anonymous ones are left to the kernel seam's exact
    /// count (debug and fuzz builds).
    static let distinctive: @Sendable (ProcessState.Mapping) -> Bool = { mapping in
        #if ENABLE_MOCKING
        return !mapping.isAnonymous || mapping.name.hasPrefix("/anon_hugepage")
            || (mapping.byteCount >= 64 << 10 && overlapsSeamRanges(mapping))
        #else
        return true
        #endif
    }

    /// After threads were started, only hugetlb and file mappings: ASan's thread registry then
    /// takes 64 KiB chunks of anonymous memory for good, and glibc caches thread stacks.
    static let notAnonymous: @Sendable (ProcessState.Mapping) -> Bool = { mapping in
        #if ENABLE_MOCKING
        return !mapping.isAnonymous || mapping.name.hasPrefix("/anon_hugepage")
        #else
        return true
        #endif
    }

    /// Runs a mapping operation that could map `sizes`: with the fault pending (if any), counting
    /// what it maps through the kernel seam, which must all be unmapped again when it returns;
    /// the hugetlb pools must be as they were.
    static func mappingOperation(sizes: Set<Int>, _ body: () -> Void) {
        if baseline == nil { baseline = ProcessState.capture(hugePages: false) }
        let before = mapsAfterEach ? ProcessState.capture(hugePages: false) : nil
        let pools = checkPools ? ProcessState.capture(mappings: false, hugePages: true) : nil
        mappedSizes.formUnion(sizes.filter { $0 > 0 })
        hugePagesAvailableBefore = [PageSize.huge2MiB, .huge1GiB].reduce(into: [:]) {
            $0[$1.byteCount] = HugePageReservation.Pool.read($1)?.available ?? 0
        }
        #if ENABLE_MOCKING
        let plan =
            pendingFault.map { KernelFaultPlan.failingNthCall($0.call, with: $0.errno, excluding: [.munmap]) }
            ?? KernelFaultPlan()
        faulted = pendingFault != nil
        pendingFault = nil
        Kernel.withFaults(plan) { body() }
        faulted = false
        seamRanges.append(contentsOf: plan.rangesEverMapped)
        require(
            plan.rangesStillMapped.isEmpty,
            "\(plan.bytesStillMapped) B mapped through the kernel seam are still mapped "
                + "(\(plan.rangesStillMapped.map { "0x\(String($0.lowerBound, radix: 16))-0x\(String($0.upperBound, radix: 16))" })); calls: "
                + plan.calls.filter { $0.call == .mmap || $0.call == .munmap }.map { "\($0.call)(\($0.detail))" }
                .joined(separator: ", "))
        // Allocating never writes kernel settings (pools, THP modes): only reservations do.
        let writes = plan.calls.filter { $0.call == .writeFile && ($0.detail.hasPrefix("/sys") || $0.detail.hasPrefix("/proc")) }
        require(writes.isEmpty, "the operation wrote kernel settings: \(writes.map(\.detail))")
        #else
        body()
        #endif
        if let pools {
            let changes = ProcessState.capture(mappings: false, hugePages: true).differences(since: pools)
            if poolMode == "strict" {
                require(changes)
            } else if !changes.isEmpty && !notedForeignPoolChange {
                // The seam saw every write this process made, and there was none (checked above):
                // another process changed the pool. Noted once, not a violation.
                notedForeignPoolChange = true
                printError("ziggy-fuzz: note: \(changes.joined(separator: "; ")) meanwhile, by another process\n")
            }
        }
        if let before { compareMappings(with: before) }
    }

    /// Reports an invariant violation and aborts, so libFuzzer saves the input.
    static func violation(_ message: String) -> Never {
        let text = "ziggy-fuzz: INVARIANT VIOLATED in \(operation):\n  \(message)\n"
        printError(text)
        if FuzzFiles.created { FuzzFiles.shared.remove() }  // abort skips atexit
        abort()
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { violation(message()) }
    }

    static func require(_ problems: [String]) {
        if !problems.isEmpty { violation(problems.joined(separator: "\n  ")) }
    }
}

/// Writes `text` to standard error (unbuffered).
func printError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
}

/// What an allocation must do.
struct Expectation {
    var count: Int
    var alignment: Int?
    var zeroed: Bool
    /// The model's verdict on the request.
    var model: Result<ValidRequest, AllocationError>
    /// A valid request that must fail nonetheless (no memory for it).
    var mustFail = false
    /// Judges a failure of a valid request: nil accepts it, a string is the violation. Without a
    /// judge, valid requests must succeed.
    var judgeFailure: ((any Error) -> String?)?
}

/// A buffer's address.
func address<T>(_ buffer: borrowing UnmanagedBuffer<T>) -> UInt {
    UInt(bitPattern: buffer.unsafeBaseAddress)
}

/// Writes `value` to the first and last byte of the buffer (a fault here is a crash libFuzzer
/// reports: memory that was promised and is not there).
func touch<T>(_ buffer: inout UnmanagedBuffer<T>, _ value: UInt8) {
    let bytes = buffer.byteCount
    guard bytes > 0 else { return }
    let base = UnsafeMutableRawPointer(buffer.unsafeBaseAddress)
    base.storeBytes(of: value, as: UInt8.self)
    base.storeBytes(of: value, toByteOffset: bytes - 1, as: UInt8.self)
}

/// Whether the first and last 64 bytes (all of them when `all`) read as zero.
func readsZero<T>(_ buffer: borrowing UnmanagedBuffer<T>, all: Bool) -> Bool {
    let bytes = buffer.byteCount
    let base = UnsafeRawPointer(buffer.unsafeBaseAddress)
    func zero(_ range: Range<Int>) -> Bool { range.allSatisfy { base.load(fromByteOffset: $0, as: UInt8.self) == 0 } }
    if all { return zero(0..<bytes) }
    return zero(0..<min(64, bytes)) && zero(max(0, bytes - 64)..<bytes)
}

/// Allocates `T`s from `allocator` as `expect` says, checks the outcome against the model, runs
/// `body` with the buffer, frees it and checks the counters are back. Returns whether a buffer
/// was handed out. `extra` reads backend counters that must also be unchanged after a failure.
@discardableResult
func withAllocation<A: UnmanagedMemoryAllocator & ~Copyable, T: TrivialElement>(
    _ allocator: borrowing A, _ type: T.Type, _ expect: Expectation,
    extra: () -> MmapAllocator.Statistics? = { nil },
    body: (inout UnmanagedBuffer<T>, ValidRequest) -> Void
) -> Bool {
    let before = allocator.statistics
    let extraBefore = extra()
    var buffer: UnmanagedBuffer<T>
    do throws(A.Failure) {
        if let alignment = expect.alignment {
            buffer = try allocator.allocate(T.self, count: expect.count, alignment: alignment, zeroed: expect.zeroed)
        } else {
            buffer = try allocator.allocate(T.self, count: expect.count, zeroed: expect.zeroed)
        }
    } catch {
        switch expect.model {
        case .failure(let modelError):
            Harness.require(
                requestError(error) == modelError,
                "threw \(error) (\(Swift.type(of: error))); the model expects request error \(modelError)")
        case .success(let valid):
            if requestError(error) != nil {
                Harness.violation("a valid request (\(valid.byteCount) B, align \(valid.alignment)) was refused: \(error)")
            }
            if valid.byteCount == 0 { Harness.violation("an empty request threw \(error)") }
            if Harness.faulted {
                // An injected kernel failure: any typed error will do, as long as nothing is left.
            } else if let judge = expect.judgeFailure {
                if let problem = judge(error) { Harness.violation("failure not allowed: \(error)\n  \(problem)") }
            } else {
                Harness.violation("a valid request of \(valid.byteCount) B (align \(valid.alignment)) failed: \(error)")
            }
        }
        Harness.require(
            Invariants.statistics(
                allocator.statistics, equal: before, .all,
                label: "after a failed allocation (\(error))"))
        if let extraBefore, var now = extra() {
            // A pooled mapping that fails to be reused (its population failed) is unmapped, not
            // kept: the pool may only shrink. Every counter stays.
            Harness.require(
                now.pooledBytes <= extraBefore.pooledBytes,
                "a failed allocation (\(error)) grew the pool: \(extraBefore) → \(now)")
            now.pooledBytes = extraBefore.pooledBytes
            Harness.require(
                now == extraBefore,
                "a failed allocation (\(error)) changed the mapping counters: \(extraBefore) → \(now)")
        }
        return false
    }
    guard case .success(let valid) = expect.model else {
        Harness.violation("allocated \(buffer.count) elements (\(buffer.backing)); the model expects \(expect.model)")
    }
    Harness.require(!expect.mustFail, "allocated \(valid.byteCount) B, which cannot exist here: \(buffer.backing)")
    Harness.require(
        buffer.count == expect.count && buffer.byteCount == valid.byteCount,
        "got \(buffer.count) elements / \(buffer.byteCount) B for \(expect.count) / \(valid.byteCount) B")
    let base = address(buffer)
    Harness.require(
        base != 0 && base % UInt(valid.alignment) == 0,
        "address 0x\(String(base, radix: 16)) is not aligned to \(valid.alignment)")
    if valid.byteCount == 0 {
        Harness.require(!buffer.backing.isOwning, "an empty buffer owns memory: \(buffer.backing)")
        Harness.require(Invariants.statistics(allocator.statistics, equal: before, .all, label: "after an empty allocation"))
    } else {
        let backing = buffer.backing
        Harness.require(buffer.backing.isOwning && backing.isOwning, "a fresh buffer does not own its memory: \(backing)")
        Harness.require(
            backing.alignment >= valid.alignment && backing.alignment.nonzeroBitCount == 1
                && base % UInt(backing.alignment) == 0,
            "backing claims alignment \(backing.alignment) at 0x\(String(base, radix: 16)) for \(valid.alignment)")
        Harness.require(
            backing.reservedByteCount >= valid.byteCount,
            "backing reserves \(backing.reservedByteCount) B for \(valid.byteCount) B")
        if expect.zeroed {
            Harness.require(readsZero(buffer, all: valid.byteCount <= 64 << 10), "a zeroed buffer is not zero: \(backing)")
        }
        var expected = before
        expected.liveBytes += valid.byteCount
        expected.liveAllocations += 1
        Harness.require(Invariants.statistics(allocator.statistics, equal: expected, label: "while allocated"))
    }
    body(&buffer, valid)
    buffer.free()
    Harness.require(Invariants.statistics(allocator.statistics, equal: before, label: "after free"))
    return true
}
