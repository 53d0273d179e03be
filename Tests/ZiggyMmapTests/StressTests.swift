import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// The stress test runs in a child process (an exit test): other tests run concurrently in this
// process, and the child's /proc/self/maps, allocators and counters are then its own.
//
// hugetlb pages are global, and the hugetlb tests assert exact free-page counts and exact
// `nr_hugepages` values, so every use of the pool here happens under `withHugeTLBPool` (the
// file lock those tests take): the 64-page reservation is made and given back under it in this
// process (which outlives the child, so the pages come back even if the child crashes), and the
// child holds it for its whole run. The lock is never held across an `await`.

@Suite("Stress")
struct StressTests {
    @Test("8 threads × ZIGGY_STRESS_OPS mixed operations on every allocator: patterns intact, counters exact, nothing left mapped")
    func mixedOperations() async throws {
        let canReserve = isRoot && HugePageReservation.Pool.read(.huge2MiB) != nil
        var reservation: HugePageReservation? = nil
        if canReserve {
            try withHugeTLBPool { reservation = try HugePageReservation(.huge2MiB, count: 64) }
        }
        let reserved = reservation?.granted ?? 0
        if canReserve {
            #expect(reserved > 0, "the kernel granted no 2 MiB pages; every hugetlb request will fall back")
        }
        await StressHarness.runInChildProcess(reservedHugePages: reserved)
        withHugeTLBPool { reservation.take()?.release() }
    }
}

/// A 24-byte element (stride 24, alignment 8).
struct StressVector24: BitwiseCopyable { var x, y, z: Double }

enum StressHarness {
    static let threadCount = 8
    static let maximumLivePerThread = 64
    static let mailboxCapacity = 128
    /// Operations per thread: `ZIGGY_STRESS_OPS` when set; otherwise 200_000, or 20_000 under a
    /// sanitizer (ThreadSanitizer makes each operation about 15 times slower).
    static var operationsPerThread: Int {
        environmentInt("ZIGGY_STRESS_OPS").flatMap { $0 > 0 ? $0 : nil } ?? (activeSanitizer == nil ? 200_000 : 20_000)
    }
    /// `ZIGGY_STRESS_SEED` (decimal or 0x-hex) replays a run; the default is fixed so failures reproduce.
    static var seed: UInt64 { environmentInt("ZIGGY_STRESS_SEED").map { UInt64(bitPattern: Int64($0)) } ?? 0x5EED_57E5 }

    /// Runs the stress body in a child process and prints its summary; on failure, records
    /// everything the child reported.
    ///
    /// The child sends its stdout and stderr to a file rather than to the pipes an exit test can
    /// observe: when the exit status does not match, `#expect(processExitsWith:)` returns nil and
    /// the observed output is lost, and the report (or a trap message) is what explains a failure.
    static func runInChildProcess(reservedHugePages: Int) async {
        let reportPath = "/tmp/ziggy-stress-\(getpid())-\(UInt32.random(in: 0 ... .max)).log"
        defer { unlink(reportPath) }
        let result = await #expect(processExitsWith: .success, "the stress child found problems (report below)") {
            [reservedHugePages = reservedHugePages as Int, reportPath = reportPath as String] in
            let fd = open(reportPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(fd >= 0, "cannot create \(reportPath)")
            dup2(fd, STDOUT_FILENO)
            dup2(fd, STDERR_FILENO)
            close(fd)
            let succeeded = withHugeTLBPool { StressHarness.childMain(reservedHugePages: reservedHugePages) }
            exit(succeeded ? EXIT_SUCCESS : EXIT_FAILURE)  // exit() flushes stdout
        }
        let report = Kernel.readText(reportPath) ?? ""
        if result != nil {
            print(report, terminator: report.hasSuffix("\n") || report.isEmpty ? "" : "\n")
        } else {
            Issue.record("stress child report:\n\(report.isEmpty ? "(empty)" : report)")
        }
    }

    enum Backend: Int, CaseIterable, CustomStringConvertible {
        case system, scoped, debug, mmapBase, mmapTHP, mmapHuge
        var description: String {
            switch self {
            case .system: "SystemMemoryAllocator"
            case .scoped: "ScopedAllocator (per thread)"
            case .debug: "DebugMemoryAllocator<System>"
            case .mmapBase: "MmapAllocator(.base)"
            case .mmapTHP: "MmapAllocator(.transparentHuge, .anySmaller)"
            case .mmapHuge: "MmapAllocator(.huge2MiB, .anySmaller)"
            }
        }
        var isMmap: Bool { self == .mmapBase || self == .mmapTHP || self == .mmapHuge }
    }

    /// One live buffer, detached from its `UnmanagedBuffer` so threads can keep sets of them and
    /// hand them to each other; released exactly once by whoever frees it.
    struct Live: Sendable {
        let raw: RawAllocation
        let tag: UInt64
        let phase: Int
        let origin: Int  // the thread whose PatternSource filled it
        let backend: Backend
    }

    /// What the threads counted themselves, per backend.
    struct Tally: Sendable {
        var allocations = 0
        var nonEmptyAllocations = 0
        var bytes = 0
        var largest = 0
        var obtainedPageSizes: [PageSize: Int] = [:]

        mutating func merge(_ other: Tally) {
            allocations += other.allocations
            nonEmptyAllocations += other.nonEmptyAllocations
            bytes += other.bytes
            largest = max(largest, other.largest)
            obtainedPageSizes.merge(other.obtainedPageSizes, uniquingKeysWith: +)
        }
    }

    struct OperationCounts: Sendable {
        var allocate = 0, verify = 0, free = 0, handOff = 0, takeOver = 0, zeroedChecked = 0
        mutating func merge(_ o: OperationCounts) {
            allocate += o.allocate; verify += o.verify; free += o.free
            handOff += o.handOff; takeOver += o.takeOver; zeroedChecked += o.zeroedChecked
        }
        var total: Int { allocate + verify + free + handOff + takeOver }
    }

    /// The Debug allocator is noncopyable and not `Sendable` (a public struct without the
    /// conformance), so threads cannot capture it. It is documented thread-safe when its base is,
    /// and sharing one instance is the point (its tracker's lock and the shared-path statistics
    /// are what concurrent use exercises), so it lives in this box and every thread borrows it.
    final class DebugBox: @unchecked Sendable {
        let allocator = DebugMemoryAllocator("Stress", wrapping: SystemMemoryAllocator(), onLeak: .log)
    }

    /// Everything the threads share. The allocators are made on the child's main thread, so all
    /// worker-thread updates take the shared (atomic) statistics path and the final drain on the
    /// main thread takes the owner path.
    final class Shared: Sendable {
        let system = SystemMemoryAllocator()
        let debug = DebugBox()
        let mmapBase = MmapAllocator(pageSize: .base)
        let mmapTHP = MmapAllocator(pageSize: .transparentHuge, fallback: .anySmaller)
        let mmapHuge = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
        let patterns: [PatternSource]
        let mailbox = Locked<[Live]>([])
        let failures = Locked<[String]>([])
        let tallies = Locked<[Tally]>(Array(repeating: Tally(), count: Backend.allCases.count))
        let operations = Locked(OperationCounts())

        init(seed: UInt64, threads: Int) {
            patterns = (0..<threads).map { PatternSource(seed: seed ^ (0xA5A5_0000 &+ UInt64($0))) }
        }

        func fail(_ message: String) {
            failures.withLock { if $0.count < 100 { $0.append(message) } }
        }

        func mmap(_ backend: Backend) -> MmapAllocator {
            switch backend {
            case .mmapBase: mmapBase
            case .mmapTHP: mmapTHP
            default: mmapHuge
            }
        }
    }

    // MARK: the child

    /// The whole stress run; prints a summary and any problems, returns whether there were none.
    static func childMain(reservedHugePages: Int) -> Bool {
        let threads = threadCount
        let operations = operationsPerThread
        let seed = seed
        let hugePoolAtStart = HugePageReservation.Pool.read(.huge2MiB)
        let thp = PageSize.TransparentHugePages.read()
        // The shared state (with its pattern noise) exists before the first snapshot.
        let shared = Shared(seed: seed, threads: threads)
        let mapsBefore = ProcessState.capture(hugePages: false)
        let clock = ContinuousClock()
        let started = clock.now

        runOnThreads(threads) { thread in
            worker(thread, operations: operations, seed: seed, shared: shared)
        }
        // Whatever is still in the mailbox is verified and freed here, on the allocators' owner thread.
        let leftovers = shared.mailbox.withLock { box in
            defer { box.removeAll() }; return box
        }
        for live in leftovers { verifyAndFree(live, shared: shared, by: -1) }
        let elapsed = clock.now - started

        let tallies = shared.tallies.withLock { $0 }
        let counts = shared.operations.withLock { $0 }

        // Counters: every allocator is back to zero live, and counted exactly what the threads did.
        func checkStatistics(_ name: String, _ stats: AllocationStatistics, _ tally: Tally, countsEmpty: Bool) {
            let expectedCount = countsEmpty ? tally.allocations : tally.nonEmptyAllocations
            if stats.liveBytes != 0 || stats.liveAllocations != 0 {
                shared.fail("\(name): \(stats.liveAllocations) buffers / \(stats.liveBytes) B still live after every free")
            }
            if stats.totalAllocations != expectedCount || stats.cumulativeBytes != tally.bytes {
                shared.fail(
                    "\(name): counted \(stats.totalAllocations) allocations / \(stats.cumulativeBytes) B, "
                        + "the threads made \(expectedCount) / \(tally.bytes) B")
            }
            if stats.peakBytes < tally.largest {
                shared.fail("\(name): peak \(stats.peakBytes) B is below the largest single buffer (\(tally.largest) B)")
            }
        }
        // Empty buffers (0 bytes) are no allocation in any allocator (they are non-owning).
        checkStatistics("SystemMemoryAllocator", shared.system.statistics, tallies[Backend.system.rawValue], countsEmpty: false)
        checkStatistics(
            "DebugMemoryAllocator", shared.debug.allocator.statistics, tallies[Backend.debug.rawValue], countsEmpty: false)
        checkStatistics(
            "DebugMemoryAllocator.base", shared.debug.allocator.base.statistics, tallies[Backend.debug.rawValue],
            countsEmpty: false)
        let leaks = shared.debug.allocator.leakReport
        if !leaks.leaks.isEmpty { shared.fail("DebugMemoryAllocator leak report is not empty: \(leaks)") }
        for backend in [Backend.mmapBase, .mmapTHP, .mmapHuge] {
            let allocator = shared.mmap(backend)
            let tally = tallies[backend.rawValue]
            checkStatistics("\(backend)", allocator.statistics, tally, countsEmpty: false)
            let mmapStats = allocator.mmapStatistics
            if mmapStats.mappedBytes != 0 || mmapStats.unmapFailures != 0 {
                shared.fail("\(backend): \(mmapStats.mappedBytes) B still mapped, \(mmapStats.unmapFailures) unmap failures")
            }
            if mmapStats.obtainedPageSizes.filter({ $0.value > 0 }) != tally.obtainedPageSizes.filter({ $0.value > 0 }) {
                shared.fail(
                    "\(backend): mmapStatistics says page sizes \(mmapStats.obtainedPageSizes), "
                        + "the buffers' backing said \(tally.obtainedPageSizes)")
            }
        }
        let thpBuffers = tallies[Backend.mmapTHP.rawValue].obtainedPageSizes[.transparentHuge] ?? 0
        if thp.isUsable && tallies[Backend.mmapTHP.rawValue].nonEmptyAllocations > 0 && thpBuffers == 0 {
            shared.fail("THP is usable (\(thp)) but no THP buffer obtained .transparentHuge")
        }
        let hugeBuffers = tallies[Backend.mmapHuge.rawValue].obtainedPageSizes[.huge2MiB] ?? 0
        if reservedHugePages > 0 && tallies[Backend.mmapHuge.rawValue].nonEmptyAllocations > 0 && hugeBuffers == 0 {
            shared.fail("\(reservedHugePages) 2 MiB pages were reserved but no hugetlb buffer obtained .huge2MiB")
        }
        if (hugePoolAtStart?.available ?? 0) == 0 && hugeBuffers != 0 {
            shared.fail("\(hugeBuffers) buffers report .huge2MiB although the pool had no available page")
        }

        // The hugetlb pool is back where it was (this child is the pool's only user meanwhile).
        if let before = hugePoolAtStart, let after = HugePageReservation.Pool.read(.huge2MiB),
            before.free != after.free || before.reserved != after.reserved
        {
            shared.fail(
                "hugetlb pool: \(before.free) free / \(before.reserved) reserved before, "
                    + "\(after.free) / \(after.reserved) after")
        }

        // /proc/self/maps: no anonymous mapping is left that glibc's stacks and heaps do not explain
        // (not under a sanitizer, whose allocator keeps its own mappings).
        let before = Set(mapsBefore.unexplainedAnonymous())
        let leftover =
            activeSanitizer != nil
            ? [] : ProcessState.capture(hugePages: false).unexplainedAnonymous().filter { !before.contains($0) }
        if !leftover.isEmpty {
            shared.fail(
                "\(leftover.count) anonymous mapping(s) appeared and stayed: "
                    + leftover.map(\.stressDescription).joined(separator: ", "))
        }

        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        var summary =
            "Stress: \(threads) threads × \(operations) operations (seed 0x\(String(seed, radix: 16))) in "
            + "\(String(format2(seconds))) s: \(counts.total) operations — \(counts.allocate) allocations "
            + "(\(counts.zeroedChecked) zeroed), \(counts.verify) verifications, \(counts.free) frees, "
            + "\(counts.handOff) hand-offs, \(counts.takeOver) cross-thread frees\n"
        for backend in Backend.allCases {
            let tally = tallies[backend.rawValue]
            summary +=
                "  \(backend): \(tally.allocations) allocations (\(tally.nonEmptyAllocations) non-empty), "
                + "\(tally.bytes >> 20) MiB, largest \(tally.largest >> 10) KiB"
            if backend.isMmap {
                let sizes = tally.obtainedPageSizes.sorted { $0.key.byteCount < $1.key.byteCount }
                    .map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                summary += " — obtained [\(sizes)]"
            }
            summary += "\n"
        }
        summary +=
            "  hugetlb: \(reservedHugePages) pages reserved by the parent; pool at start: "
            + "\(hugePoolAtStart.map(\.description) ?? "none")\n"
        if let activeSanitizer { summary += "  \(activeSanitizer): the /proc/self/maps comparison is skipped\n" }
        print(summary, terminator: "")
        fflush(nil)

        let failures = shared.failures.withLock { $0 }
        if failures.isEmpty { return true }
        var report = "Stress found \(failures.count) problem(s) (seed 0x\(String(seed, radix: 16))):\n"
        for failure in failures { report += "  - \(failure)\n" }
        _ = report.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        return false
    }

    static func format2(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    // MARK: one thread

    static func worker(_ thread: Int, operations: Int, seed: UInt64, shared: Shared) {
        var random = SplitMix64(seed: seed &+ UInt64(thread + 1) &* 0xD1B5_4A32_D192_ED03)
        // One arena per thread (ScopedAllocator is not Sendable); all its buffers end before it.
        let arena = ScopedAllocator(chunkByteCount: 64 << 10)
        var live: [Live] = []
        live.reserveCapacity(maximumLivePerThread)
        var tallies = Array(repeating: Tally(), count: Backend.allCases.count)
        var counts = OperationCounts()
        var nextTag = UInt64(thread + 1) << 48

        for _ in 0..<operations {
            let roll = random.below(1000)
            if live.isEmpty || (live.count < maximumLivePerThread && roll < 420) {
                nextTag += 1
                if let buffer = allocate(
                    thread, tag: nextTag, arena: arena, shared: shared, random: &random,
                    tallies: &tallies, counts: &counts)
                {
                    live.append(buffer)
                }
            } else if roll < 620 {
                counts.verify += 1
                verify(live[random.below(live.count)], shared: shared, by: thread)
            } else if roll < 660 {
                // Hand a buffer to whichever thread looks next (arena buffers stay: their arena
                // ends with this thread).
                let index = random.below(live.count)
                guard live[index].backend != .scoped else { continue }
                let handed = shared.mailbox.withLock { box -> Bool in
                    guard box.count < mailboxCapacity else { return false }
                    box.append(live[index])
                    return true
                }
                if handed {
                    counts.handOff += 1
                    live.swapAt(index, live.count - 1)
                    live.removeLast()
                }
            } else if roll < 700 {
                let pick = random.next()
                let taken = shared.mailbox.withLock { box -> Live? in
                    box.isEmpty ? nil : box.remove(at: Int(pick % UInt64(box.count)))
                }
                if let taken {
                    counts.takeOver += 1
                    verifyAndFree(taken, shared: shared, by: thread)
                }
            } else {
                let index = random.below(live.count)
                live.swapAt(index, live.count - 1)
                counts.free += 1
                verifyAndFree(live.removeLast(), shared: shared, by: thread)
            }
        }
        // The end of the thread: every pattern is checked once more and freed, in random order.
        live.shuffle(using: &random)
        for buffer in live { verifyAndFree(buffer, shared: shared, by: thread) }
        live.removeAll()

        let arenaStats = arena.statistics
        let scoped = tallies[Backend.scoped.rawValue]
        if arenaStats.liveAllocations != 0 || arenaStats.liveBytes != 0
            || arenaStats.totalAllocations != scoped.nonEmptyAllocations || arenaStats.cumulativeBytes != scoped.bytes
        {
            shared.fail(
                "thread \(thread) arena: \(arenaStats); the thread made \(scoped.nonEmptyAllocations) "
                    + "non-empty allocations of \(scoped.bytes) B and freed them all")
        }
        shared.tallies.withLock { all in
            for backend in Backend.allCases { all[backend.rawValue].merge(tallies[backend.rawValue]) }
        }
        shared.operations.withLock { $0.merge(counts) }
        // `arena` ends here; it traps if a buffer of it were still alive.
    }

    /// Mostly 0…64 KiB (log-uniform, so small sizes dominate as in real programs), 0.3 % up to 4 MiB.
    static func randomByteCount(_ random: inout SplitMix64) -> Int {
        if random.below(1000) < 3 {
            let bits = 16 + random.below(6)  // 64 KiB ..< 4 MiB
            return min(4 << 20, (1 << bits) + random.below(1 << bits))
        }
        let bits = random.below(17)  // 0 ... 16
        return bits == 0 ? 0 : (1 << (bits - 1)) + random.below(1 << (bits - 1))
    }

    static func allocate(
        _ thread: Int, tag: UInt64, arena: borrowing ScopedAllocator, shared: Shared,
        random: inout SplitMix64, tallies: inout [Tally], counts: inout OperationCounts
    ) -> Live? {
        let roll = random.below(1000)
        let backend: Backend =
            roll < 10
            ? .mmapBase
            : roll < 20
                ? .mmapTHP
                : roll < 30
                    ? .mmapHuge
                    : roll < 480 ? .system : roll < 730 ? .scoped : .debug
        let element = random.below(5)
        let requested = randomByteCount(&random)
        let alignment = 1 << random.below(13)  // 1 … 4096; raised to the element's own below
        let zeroed = random.below(16) == 0

        let result: Result<(RawAllocation, Int, Int), any Error>
        switch backend {
        case .system: result = allocateElements(shared.system, element, requested, alignment, zeroed)
        case .scoped: result = allocateElements(arena, element, requested, alignment, zeroed)
        case .debug: result = allocateElements(shared.debug.allocator, element, requested, alignment, zeroed)
        case .mmapBase, .mmapTHP, .mmapHuge:
            result = allocateElements(shared.mmap(backend), element, requested, alignment, zeroed)
        }
        let raw: RawAllocation, byteCount: Int, effectiveAlignment: Int
        switch result {
        case .success(let value): (raw, byteCount, effectiveAlignment) = value
        case .failure(let error):
            shared.fail("thread \(thread): \(backend) failed to allocate \(requested) B aligned \(alignment): \(error)")
            return nil
        }
        counts.allocate += 1
        tallies[backend.rawValue].allocations += 1
        tallies[backend.rawValue].bytes += byteCount
        tallies[backend.rawValue].largest = max(tallies[backend.rawValue].largest, byteCount)

        if raw.byteCount != byteCount {
            shared.fail("\(backend): a \(byteCount) B request gave \(raw.byteCount) B")
        }
        if Int(bitPattern: raw.base) % effectiveAlignment != 0 {
            shared.fail("\(backend): \(raw.base) is not aligned to \(effectiveAlignment)")
        }
        if byteCount > 0 {
            tallies[backend.rawValue].nonEmptyAllocations += 1
            let backing = raw.deallocator.backing(raw.base, byteCount: raw.byteCount)
            let expectedBackend: BufferBacking.Backend = backend.isMmap ? .mmap : backend == .scoped ? .scoped : .system
            if backing.backend != expectedBackend || backing.isDebugTracked != (backend == .debug)
                || backing.reservedByteCount < byteCount || backing.alignment < effectiveAlignment
            {
                shared.fail("\(backend): backing \(backing) for \(byteCount) B aligned \(effectiveAlignment)")
            }
            if backend.isMmap {
                // Memory without mapping details is on base pages.
                let obtained = backing.mapping?.obtainedPageSize ?? .base
                let fellBack = backing.mapping?.fallbackReason != nil
                tallies[backend.rawValue].obtainedPageSizes[obtained, default: 0] += 1
                let requestedSize: PageSize = backend == .mmapBase ? .base : backend == .mmapTHP ? .transparentHuge : .huge2MiB
                if backing.mapping?.requestedPageSize != requestedSize || fellBack != (obtained != requestedSize) {
                    shared.fail("\(backend): backing \(backing) (asked \(requestedSize))")
                }
            }
        }
        if zeroed {
            counts.zeroedChecked += 1
            if let offset = PatternSource.firstNonZero(raw.base, byteCount: raw.byteCount) {
                shared.fail("\(backend): a zeroed \(byteCount) B buffer has a non-zero byte in the block at \(offset)")
            }
        }
        let phase = PatternSource.phase(for: tag)
        shared.patterns[thread].fill(raw.base, byteCount: raw.byteCount, tag: tag, phase: phase)
        return Live(raw: raw, tag: tag, phase: phase, origin: thread, backend: backend)
    }

    /// Allocates about `byteCount` bytes as elements of a type picked by `element` (strides 1, 4,
    /// 8, 16 and 24; alignments 1 to 16) and detaches them. Returns the allocation, its expected
    /// byte count (whole elements) and the alignment asked for.
    static func allocateElements<A: UnmanagedMemoryAllocator & ~Copyable>(
        _ allocator: borrowing A, _ element: Int, _ byteCount: Int, _ alignment: Int, _ zeroed: Bool
    ) -> Result<(RawAllocation, Int, Int), any Error> {
        func make<T: BitwiseCopyable>(_ type: T.Type) -> Result<(RawAllocation, Int, Int), any Error> {
            let count = byteCount / MemoryLayout<T>.stride
            let align = max(alignment, MemoryLayout<T>.alignment)
            do {
                let buffer = try allocator.allocate(T.self, count: count, alignment: align, zeroed: zeroed)
                guard buffer.count == count else {
                    return .failure(AllocationError.invalidArgument("asked \(count) elements, got \(buffer.count)"))
                }
                return .success((buffer.unsafeDetach(), count * MemoryLayout<T>.stride, align))
            } catch {
                return .failure(error)
            }
        }
        switch element {
        case 0: return make(UInt8.self)
        case 1: return make(UInt32.self)
        case 2: return make(UInt64.self)
        case 3: return make(SIMD4<Float>.self)
        default: return make(StressVector24.self)
        }
    }

    static func verify(_ live: Live, shared: Shared, by thread: Int) {
        if let offset = shared.patterns[live.origin].firstMismatch(
            live.raw.base, byteCount: live.raw.byteCount,
            tag: live.tag, phase: live.phase)
        {
            shared.fail(
                "thread \(thread): the pattern of a \(live.raw.byteCount) B \(live.backend) buffer "
                    + "(tag 0x\(String(live.tag, radix: 16)), filled by thread \(live.origin)) differs in the block at \(offset)")
        }
    }

    static func verifyAndFree(_ live: Live, shared: Shared, by thread: Int) {
        verify(live, shared: shared, by: thread)
        live.raw.release()
    }
}
