import CZiggyShims
import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Regression tests for the defects found by an adversarial client (issue 9, "Trust"): defects 2,
// 3, 6–11. Each asserts the correct behaviour and names its defect number; each failed on the
// library before the fix (version 0.1.0). Defect 1 and the API parts of 5 and 11 are compile checks
// (Tests/CompileFail/run-compile-fail-checks); 4, the ziggy-bench part of 8, and 12 are checked by
// Tests/BenchCLI/check-ziggy-bench; the release-build trap messages by
// Tests/ReleaseTraps/check-release-trap-messages; 5's SIGBUS path by the NUMA VM tests.
//
// Anything that may trap, hang or raise SIGBUS runs in a child process (an exit test). The child
// writes what it saw to a file, which the test prints (or records as the failure's explanation):
// when the exit status does not match, the observed output of an exit test is lost.
@Suite("Trust: issue 9 defects", .serialized)
struct TrustDefectTests {
    // MARK: child processes

    /// Runs `TrustChild.run(name)` in a child process; the child's stdout and stderr go to a file
    /// whose text is returned. A child that exits non-zero (or traps) fails the test, with its report.
    @discardableResult
    static func inChild(_ name: String) async -> String {
        let reportPath = "/tmp/ziggy-trust-\(getpid())-\(UInt32.random(in: 0 ... .max)).log"
        defer { unlink(reportPath) }
        let result = await #expect(processExitsWith: .success, "child '\(name)' (report below)") {
            [name = name as String, reportPath = reportPath as String] in
            let fd = open(reportPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(fd >= 0, "cannot create \(reportPath)")
            dup2(fd, STDOUT_FILENO)
            dup2(fd, STDERR_FILENO)
            close(fd)
            exit(TrustChild.run(name) ? EXIT_SUCCESS : EXIT_FAILURE)
        }
        var report = Kernel.readText(reportPath) ?? ""
        // A trap's backtrace is long; the first lines say what happened.
        let lines = report.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 14 { report = lines.prefix(14).joined(separator: "\n") + "\n… (\(lines.count - 14) more lines)" }
        if result == nil {
            Issue.record("child '\(name)' report:\n\(report.isEmpty ? "(empty)" : report)")
        } else {
            print("child '\(name)':\n\(report)")
        }
        return report
    }

    // MARK: 2. reuse pool race

    @Test("2: a buffer freed while another thread drops its pooled MmapAllocator is always unmapped")
    func poolRaceLeavesNoMapping() async {
        await Self.inChild("poolRace")
    }

    // MARK: 3. non-regular files

    @Test("3: mapping a FIFO fails at once with a typed error (today: hangs in open)")
    func fifoDoesNotHang() async {
        await Self.inChild("fifo")
    }

    @Test("3: character devices (/dev/zero, /dev/null) are not regular files: typed error", arguments: ["/dev/zero", "/dev/null"])
    func deviceIsTypedError(path: String) {
        let outcome = TrustChild.describeReadOnly(path, count: nil, offset: 0)
        print("3: mapReadOnly(\(path)) -> \(outcome.text)")
        #expect(outcome.threw, "mapReadOnly(\(path)) gave \(outcome.text)")
        let sized = TrustChild.describeReadOnly(path, count: 4096, offset: 0)
        print("3: mapReadOnly(\(path), count: 4096) -> \(sized.text)")
    }

    @Test("3: a directory gives a typed error")
    func directoryIsTypedError() {
        let outcome = TrustChild.describeReadOnly("/tmp", count: nil, offset: 0)
        print("3: mapReadOnly(/tmp) -> \(outcome.text)")
        #expect(outcome.threw, "mapReadOnly(/tmp) gave \(outcome.text)")
    }

    @Test(
        "3: a /proc file (size 0 in fstat) is not silently an empty 'wrapped' buffer",
        arguments: ["/proc/self/status", "/proc/meminfo"])
    func procFileIsNotSilentlyEmpty(path: String) {
        let outcome = TrustChild.describeReadOnly(path, count: nil, offset: 0)
        print("3: mapReadOnly(\(path)) -> \(outcome.text)")
        #expect(outcome.threw || outcome.backend == .file, "mapReadOnly(\(path)) gave \(outcome.text)")
    }

    @Test("3: an empty regular file is not silently an empty 'wrapped' buffer")
    func emptyFileIsNotSilentlyWrapped() {
        let file = TemporaryFile(bytes: [])
        let outcome = TrustChild.describeReadOnly(file.path, count: nil, offset: 0)
        print("3: mapReadOnly(empty file) -> \(outcome.text)")
        #expect(outcome.threw || outcome.backend == .file, "mapReadOnly(empty file) gave \(outcome.text)")
    }

    @Test(
        "3: an offset past the end of the file is an error, not an empty buffer",
        arguments: [4096, 1 << 40, Int.max - 7])
    func offsetPastEndIsError(offset: Int) {
        let file = TemporaryFile(bytes: [UInt8](repeating: 7, count: 64))
        let outcome = TrustChild.describeReadOnly(file.path, count: nil, offset: offset)
        print("3: mapReadOnly(64-byte file, offset: \(offset)) -> \(outcome.text)")
        #expect(outcome.threw, "offset \(offset) past a 64-byte file gave \(outcome.text)")
    }

    // MARK: 6. hugetlb alignment above the page size

    /// `body` with exactly one 2 MiB page available to this process, under the hugetlb test lock:
    /// 4 pages are reserved and all but one of the available pages are held by a strict mapping.
    /// The reservation and the held pages are given back when it returns.
    func withOneHugePage(_ body: (HugePageReservation.Pool) throws -> Void) throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 4)
            defer { _ = reservation.granted }
            let available = try #require(HugePageReservation.Pool.read(.huge2MiB)).available
            try #require(available >= 1)
            let hog = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            let held = available > 1 ? try hog.allocate(UInt8.self, count: (available - 1) * 2 * MiB) : UnmanagedBuffer<UInt8>()
            defer { _ = held.count }
            let pool = try #require(HugePageReservation.Pool.read(.huge2MiB))
            try #require(pool.available == 1, "pool: \(pool)")
            try body(pool)
        }
    }

    @Test(
        "6: a 1-byte 2 MiB-page request aligned to 64 MiB needs one page and succeeds with pages free",
        .enabled(if: isRoot, "needs root to reserve huge pages"),
        .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "no 2 MiB pool"),
        arguments: [64 * MiB, GiB])
    func alignedHugeRequestNeedsOnePage(alignment: Int) throws {
        try withOneHugePage { pool in
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .strict)
            do throws(MmapError) {
                let buffer = try allocator.allocate(UInt8.self, count: 1, alignment: alignment)
                #expect(buffer.backing.mapping?.obtainedPageSize == .huge2MiB)
                #expect(Int(bitPattern: buffer.unsafeBaseAddress) % alignment == 0)
            } catch {
                Issue.record("with \(pool.available) free 2 MiB pages, 1 B aligned to \(alignment) failed: \(error)")
                if case .hugePagesUnavailable(_, let needed, _) = error {
                    print("6: error says it needs \(needed) page(s); it maps \(alignment / (2 * MiB)) (alignment slack on hugetlb)")
                }
            }
        }
    }

    @Test(
        "6: with .anySmaller, an aligned 2 MiB-page request gets 2 MiB pages (no silent drop, no wrong reason)",
        .enabled(if: isRoot, "needs root to reserve huge pages"),
        .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "no 2 MiB pool"))
    func alignedHugeRequestDoesNotFallBack() throws {
        try withOneHugePage { pool in
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
            let buffer = try allocator.allocate(UInt8.self, count: 1, alignment: 64 * MiB)
            let backing = buffer.backing
            print(
                "6: .anySmaller, \(pool.available) pages free: obtained \((backing.mapping?.obtainedPageSize).printed), reason: \(backing.mapping?.fallbackReason ?? "none")"
            )
            #expect(
                backing.mapping?.obtainedPageSize == .huge2MiB,
                "fell back with reason: \(backing.mapping?.fallbackReason ?? "none")")
        }
    }

    // MARK: 7. debug allocator over mmap

    @Test("7: freeing a 512 MiB lazy mmap buffer (one page touched) through DebugMemoryAllocator does not fault it in")
    func debugScribbleDoesNotCommitLazyMemory() async {
        await Self.inChild("debugScribble")
    }

    // MARK: 8. overflow traps

    @Test("8: mapReadOnly(as: Double, count: 1, offset: Int.max - 7) throws instead of trapping")
    func fileOffsetNearMaxReadOnly() async { await Self.inChild("fileOffsetReadOnly") }

    @Test("8: mapReadOnly(as: UInt8, count: 4096, offset: Int.max - 4095) throws instead of trapping")
    func fileOffsetNearMaxReadOnlyBytes() async { await Self.inChild("fileOffsetReadOnlyBytes") }

    @Test("8: mapReadWrite(createOrExtend:, offset: Int.max - 7) throws instead of trapping")
    func fileOffsetNearMaxReadWrite() async { await Self.inChild("fileOffsetReadWrite") }

    @Test(
        "8: HugePageReservation(count: Int.max) throws instead of trapping",
        .enabled(if: isRoot, "needs root (the trap is on before + count, computed before the write)"),
        .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "no 2 MiB pool"))
    func reservationIntMax() async throws {
        // The child's overflow trap happens before anything is written only when the pool is at
        // least 1 (with 0, the kernel would be asked for Int.max pages). Hold one page ourselves:
        // no cooperating process gives back pages it did not add, so the pool stays at least 1
        // while the child runs — without this test holding the pool lock, which the child may need.
        let own = try HugePageReservation(.huge2MiB, count: 1)
        defer { _ = own.granted }
        try #require(own.granted == 1 && (Kernel.readInt("/proc/sys/vm/nr_hugepages") ?? 0) >= 1)
        await Self.inChild("reservationIntMax")
    }

    @Test("8: HugePageReservation(count: 1 << 40) is refused as more than memory holds, before asking the kernel")
    func reservationBeyondMemory() async {
        // Runs unprivileged (the child drops root first), so nothing can be written whatever happens.
        await Self.inChild("reservationBeyondMemory")
    }

    @Test("8: ScopedAllocator(chunkByteCount: Int.max - 32) then 1 byte throws instead of trapping")
    func scopedChunkNearMax() async { await Self.inChild("scopedChunkNearMax") }

    @Test("8: ScopedAllocator(chunkByteCount: 1 << 62): the out-of-memory error names the chunk size, not 1 B")
    func scopedHugeChunkErrorNamesSize() {
        let arena = ScopedAllocator(chunkByteCount: 1 << 62)
        do throws(AllocationError) {
            _ = try arena.allocate(UInt8.self, count: 1).count
            Issue.record("a 4 EiB chunk was allocated")
        } catch {
            print("8: ScopedAllocator(chunkByteCount: 1 << 62).allocate(1 B) -> \(error)")
            guard case .outOfMemory(let bytes, _, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(bytes == 1, "the request was 1 B")
            #expect(error.description.contains("\(64 + (1 << 62)) B chunk"), "the message does not name the chunk malloc refused")
        }
    }

    // MARK: 9. nodes

    @Test("9: NumaAllocator(policy: .preferred(-1)) throws unknownNode instead of trapping")
    func preferredNegativeNode() async { await Self.inChild("preferredNegative") }

    @Test("9: NumaAllocator(policy: .bind([-1])) throws unknownNode instead of trapping")
    func bindNegativeNode() async { await Self.inChild("bindNegative") }

    @Test("9: other public entries taking a node number throw unknownNode for -1")
    func otherNegativeNodeEntries() async { await Self.inChild("otherNegativeNodes") }

    @Test(
        "9: empty node sets are rejected at construction",
        arguments: ["bind", "interleave", "preferredMany", "weightedInterleave"])
    func emptyNodeSetRejected(mode: String) {
        let policy: NumaPolicy =
            switch mode {
            case "bind": .bind([])
            case "interleave": .interleave([])
            case "preferredMany": .preferredMany([])
            default: .weightedInterleave([])
            }
        do throws(MmapError) {
            let allocator = try NumaAllocator(policy: policy)
            var later = "allocate(4096 B) succeeded"
            do throws(MmapError) { _ = try allocator.allocate(UInt8.self, count: 4096).count } catch {
                later = "allocate(4096 B) -> \(error)"
            }
            Issue.record("NumaAllocator(policy: \(policy)) was accepted; later: \(later)")
        } catch {
            print("9: NumaAllocator(policy: \(policy)) -> \(error)")
            guard case .invalidPolicy(policy, let reason) = error else {
                Issue.record("rejected, but for another reason: \(error)"); return
            }
            #expect(reason.contains("names no node"), "\(reason)")
        }
    }

    // MARK: 10. file populate

    @Test("10: mapReadOnly(populate: true) reporting .kernel population has every page resident")
    func filePopulateIsReal() throws {
        let length = 16 * MiB
        let file = TemporaryFile(bytes: [UInt8](repeating: 0x5A, count: length))
        // Drop the file from the page cache (clean pages after fsync), so residency has to be earned.
        let fd = open(file.path, O_RDONLY)
        try #require(fd >= 0)
        fsync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
        let mapped = try FileMapping.mapReadOnly(file.path, as: UInt8.self, populate: true)
        let reported = mapped.backing.mapping?.populate
        let (rss, cached) = mapped.withUnsafeBufferPointer { pointer -> (Int, Int) in
            let report = PageSize.Report.measure(address: UnsafeRawPointer(pointer.baseAddress!), byteCount: pointer.count)
            return (report.regions.reduce(0) { $0 + $1.residentBytes }, report.rangeResidentBytes ?? -1)
        }
        print(
            "10: populate: true -> backing.mapping?.populate = \(reported.printed); mapped (smaps Rss) \(rss) B of \(length) B; "
                + "in page cache (mincore) \(cached) B")
        if let reported, reported != .none {
            #expect(rss >= length, "reports \(reported) population but only \(rss) of \(length) B are mapped in")
        }
    }

    // MARK: 11. smaller API gaps

    @Test("11: one rule for thread count 0 and negative: population and a node's team agree", arguments: [0, -3])
    func threadCountRuleIsConsistent(threads: Int) {
        let pinningThrows: Bool
        do throws(MmapError) { try Team(perNode: threads, nodes: [0]).run { _ in }; pinningThrows = false } catch {
            pinningThrows = true
        }
        let populateOutcome: String
        let populateThrows: Bool
        do throws(MmapError) {
            let buffer = try MmapAllocator(pageSize: .base, populate: .parallel(threads: threads)).allocate(UInt8.self, count: MiB)
            populateOutcome = "succeeded, backing.mapping?.populate = \((buffer.backing.mapping?.populate).printed)"
            populateThrows = false
        } catch {
            populateOutcome = "threw \(error)"
            populateThrows = true
        }
        print(
            "11: threads \(threads): Team(perNode:nodes:) \(pinningThrows ? "throws" : "accepts"); .parallel(threads:) population \(populateOutcome)"
        )
        #expect(
            pinningThrows == populateThrows,
            "Team(perNode:nodes:) \(pinningThrows ? "throws" : "accepts") but population \(populateOutcome)")
    }

    @Test("11: .parallel(threads: Int.max) on an 8 MiB buffer runs at most as many threads as CPUs allowed")
    func parallelThreadsCapped() async { await Self.inChild("parallelIntMax") }

    @Test("11: a buffer reused from the pool reports the same alignment as a fresh one")
    func reusedBufferAlignment() throws {
        let allocator = MmapAllocator(pageSize: .base, reusePoolBytes: 64 * MiB)
        let fresh = try allocator.allocate(UInt8.self, count: MiB)
        let freshAlignment = fresh.backing.alignment
        let address = fresh.unsafeBaseAddress
        fresh.free()
        let reused = try allocator.allocate(UInt8.self, count: MiB)
        try #require(
            reused.backing.mapping?.isReused == true && reused.unsafeBaseAddress == address,
            "the pool did not hand the mapping out again")
        print("11: fresh buffer alignment \(freshAlignment), the same mapping reused: alignment \(reused.backing.alignment)")
        #expect(reused.backing.alignment == freshAlignment)
    }
}

/// The bodies of the child processes. Each prints what it saw and returns whether the library
/// behaved correctly.
enum TrustChild {
    static func run(_ name: String) -> Bool {
        switch name {
        case "poolRace": return poolRace()
        case "fifo": return fifo()
        case "debugScribble": return debugScribble()
        case "fileOffsetReadOnly":
            return expectThrows("mapReadOnly(as: Double, count: 1, offset: Int.max - 7)") {
                try withTemporaryFile { try FileMapping.mapReadOnly($0, as: Double.self, count: 1, offset: Int.max - 7).count }
            }
        case "fileOffsetReadOnlyBytes":
            return expectThrows("mapReadOnly(as: UInt8, count: 4096, offset: Int.max - 4095)") {
                try withTemporaryFile { try FileMapping.mapReadOnly($0, as: UInt8.self, count: 4096, offset: Int.max - 4095).count }
            }
        case "fileOffsetReadWrite":
            return expectThrows("mapReadWrite(as: Double, count: 1, offset: Int.max - 7, createOrExtend: true)") {
                try withTemporaryFile {
                    try FileMapping.mapReadWrite($0, as: Double.self, count: 1, offset: Int.max - 7, createOrExtend: true).buffer
                        .count
                }
            }
        case "reservationIntMax":
            // Only safe while the pool is non-zero: on the library before the fix, `before + Int.max`
            // then overflowed before any write (with 0, the kernel would be asked for Int.max pages).
            guard (Kernel.readInt("/proc/sys/vm/nr_hugepages") ?? 0) >= 1 else {
                say("refusing: nr_hugepages is 0, the kernel would be asked for Int.max pages")
                return false
            }
            return expectThrows("HugePageReservation(.huge2MiB, count: Int.max)") {
                try HugePageReservation(.huge2MiB, count: Int.max).granted
            }
        case "reservationBeyondMemory": return reservationBeyondMemory()
        case "scopedChunkNearMax":
            return expectThrows("ScopedAllocator(chunkByteCount: Int.max - 32).allocate(1 B)") {
                let arena = ScopedAllocator(chunkByteCount: Int.max - 32)
                return try arena.allocate(UInt8.self, count: 1).count
            }
        case "preferredNegative":
            return expectUnknownNode("NumaAllocator(policy: .preferred(-1))") {
                _ = try NumaAllocator(policy: .preferred(-1))
            }
        case "bindNegative":
            return expectUnknownNode("NumaAllocator(policy: .bind([-1]))") {
                _ = try NumaAllocator(policy: .bind([-1]))
            }
        case "otherNegativeNodes":
            let pin = expectUnknownNode("ThreadPinning.pinCurrentThread(to: -1)") {
                _ = try ThreadPinning.pinCurrentThread(to: -1).node
            }
            let run = expectUnknownNode("Team(perNode: 1, nodes: [-1])") {
                try Team(perNode: 1, nodes: [-1]).run { _ in }
            }
            let with = expectUnknownNode("ThreadPinning.withCurrentThread(pinnedTo: -1)") {
                _ = try ThreadPinning.withCurrentThread(pinnedTo: -1) { 0 }
            }
            let reserve = expectUnknownNode("HugePageReservation(.huge2MiB, count: 0, node: -1)") {
                _ = try HugePageReservation(.huge2MiB, count: 0, node: -1).granted
            }
            return pin && run && with && reserve
        case "parallelIntMax": return parallelIntMax()
        default:
            say("unknown child \(name)")
            return false
        }
    }

    // MARK: helpers

    static func expectThrows(_ what: String, _ body: () throws -> Int) -> Bool {
        say("calling \(what) …")
        do {
            let value = try body()
            say("\(what) returned \(value) instead of throwing")
            return false
        } catch {
            say("\(what) threw: \(error)")
            return true
        }
    }

    static func expectUnknownNode(_ what: String, _ body: () throws -> Void) -> Bool {
        say("calling \(what) …")
        do {
            try body()
            say("\(what) succeeded")
            return false
        } catch let error as MmapError {
            if case .unknownNode = error { say("\(what) threw unknownNode: \(error)"); return true }
            say("\(what) threw, but not unknownNode: \(error)")
            return false
        } catch {
            say("\(what) threw \(error)")
            return false
        }
    }

    static func withTemporaryFile<R>(_ body: (String) throws -> R) rethrows -> R {
        let file = TemporaryFile(bytes: [UInt8](repeating: 1, count: 4096))
        return try body(file.path)
    }

    struct Outcome {
        var threw: Bool
        var backend: BufferBacking.Backend?
        var text: String
    }

    static func describeReadOnly(_ path: String, count: Int?, offset: Int) -> Outcome {
        do throws(MmapError) {
            let mapped = try FileMapping.mapReadOnly(path, as: UInt8.self, count: count, offset: offset)
            let backing = mapped.backing
            return Outcome(
                threw: false, backend: backing.backend,
                text: "a buffer of \(mapped.count) B, backing \(backing.backend) (owning: \(backing.isOwning))")
        } catch {
            return Outcome(threw: true, backend: nil, text: "threw \(error)")
        }
    }

    static func readStatusKB(_ field: String) -> Int {
        let text = Kernel.readText("/proc/self/status") ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        return -1
    }

    // MARK: 2

    final class RaceRound: @unchecked Sendable {
        var buffer: UnmanagedBuffer<UInt8>?
        var allocator: MmapAllocator?
        let go = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)

        /// Waits for round `round`; false when the run is over.
        func wait(for round: Int) -> Bool {
            while go.load(ordering: .acquiring) != round {
                if stop.load(ordering: .acquiring) { return false }
                sched_yield()
            }
            return true
        }
    }

    /// Thread A frees the buffer while thread B drops the last reference to its allocator, both
    /// released at the same moment (B after a delay that sweeps the race window). After each round
    /// the buffer's range must be unmapped. Runs until 3 leaks are seen or 100,000 rounds
    /// (ZIGGY_REPRO_ROUNDS) have passed; today a leak shows every 1,000–30,000 rounds here.
    static func poolRace() -> Bool {
        let maximumRounds = getenv("ZIGGY_REPRO_ROUNDS").flatMap { Int(String(cString: $0)) } ?? 100_000
        let size = 64 << 10
        let state = RaceRound()
        let freeing = OSThread {
            var round = 1
            while state.wait(for: round) {
                state.buffer.take()!.free()
                state.done.add(1, ordering: .releasing)
                round += 1
            }
        }
        let dropping = OSThread {
            var round = 1
            while state.wait(for: round) {
                var spin = 0
                while spin < round % 97 { spin += 1 + state.done.load(ordering: .relaxed) & 0 }
                state.allocator = nil
                state.done.add(1, ordering: .releasing)
                round += 1
            }
        }
        var leaked: [(UnsafeMutableRawPointer, Int, round: Int)] = []
        var vector = [UInt8](repeating: 0, count: size / 4096)
        var rounds = 0
        while rounds < maximumRounds && leaked.count < 3 {
            rounds += 1
            let round = rounds
            state.allocator = MmapAllocator(pageSize: .base, reusePoolBytes: 1 << 20)
            var buffer = try! state.allocator!.allocate(UInt8.self, count: size)
            let base = UnsafeMutableRawPointer(buffer.unsafeBaseAddress)
            buffer.withUnsafeMutableBufferPointer {
                UnsafeMutableRawPointer($0.baseAddress!).storeBytes(of: UInt64(round), as: UInt64.self)
            }
            state.buffer = consume buffer
            state.go.store(round, ordering: .releasing)
            while state.done.load(ordering: .acquiring) != 2 * round { sched_yield() }
            if mincore(base, size, &vector) == 0, base.load(as: UInt64.self) == UInt64(round) {
                leaked.append((base, size, round))
            }
        }
        state.stop.store(true, ordering: .releasing)
        freeing.join()
        dropping.join()
        let maps = MapsSnapshot.take()
        let stillMapped = leaked.filter { maps.covers(UInt(bitPattern: $0.0), $0.1) }.count
        say(
            "rounds: \(rounds); buffers still mapped after both their buffer and their allocator ended: \(leaked.count) "
                + "(in rounds \(leaked.map(\.round))); at the end, \(stillMapped) of them are still in /proc/self/maps")
        if let first = leaked.first { say("first leaked mapping: \(first.0), \(first.1) B (still holds its round tag)") }
        return leaked.isEmpty
    }

    // MARK: 3

    final class Flag: @unchecked Sendable {
        let finished = Atomic<Bool>(false)
        let tid = Atomic<Int>(0)
        var outcome = ""
    }

    static func fifo() -> Bool {
        let path = "/tmp/ziggy-trust-fifo-\(getpid())"
        unlink(path)
        guard mkfifo(path, 0o600) == 0 else { say("mkfifo failed: errno \(errno)"); return false }
        defer { unlink(path) }
        let flag = Flag()
        let thread = OSThread {
            flag.tid.store(currentThreadID(), ordering: .releasing)
            flag.outcome = describeReadOnly(path, count: nil, offset: 0).text
            flag.finished.store(true, ordering: .releasing)
        }
        var waited = 0
        while !flag.finished.load(ordering: .acquiring) && waited < 300 { usleep(10_000); waited += 1 }
        if flag.finished.load(ordering: .acquiring) {
            thread.join()
            say("mapReadOnly(FIFO) returned after \(waited * 10) ms: \(flag.outcome)")
            return flag.outcome.hasPrefix("threw")
        }
        let tid = flag.tid.load(ordering: .acquiring)
        let syscall = Kernel.readText("/proc/self/task/\(tid)/syscall")?.split(separator: " ").first ?? "?"
        let wchan = Kernel.readText("/proc/self/task/\(tid)/wchan") ?? "?"
        say(
            "HUNG: mapReadOnly(FIFO) had not returned after 3 s; its thread is in syscall \(syscall) "
                + "(257 = openat on x86_64), wchan \(wchan)")
        return false  // exit() ends the blocked thread with the process
    }

    // MARK: 7

    static func debugScribble() -> Bool {
        let debug = DebugMemoryAllocator("issue9", wrapping: MmapAllocator(pageSize: .base))
        var buffer = try! debug.allocate(UInt8.self, count: 512 * MiB)
        buffer[12345] = 1  // one page touched
        let before = readStatusKB("VmHWM")
        let rssBefore = readStatusKB("VmRSS")
        buffer.free()
        let after = readStatusKB("VmHWM")
        say(
            "512 MiB lazy buffer, 1 page touched: VmRSS before free \(rssBefore) kB; VmHWM before free \(before) kB, "
                + "after free \(after) kB (+\(after - before) kB)")
        return after - before < 64 * 1024
    }

    // MARK: 8

    static func reservationBeyondMemory() -> Bool {
        if geteuid() == 0 {
            guard setgid(65534) == 0, setuid(65534) == 0, geteuid() != 0 else {
                say("could not drop root; not calling")
                return false
            }
        }
        guard access("/proc/sys/vm/nr_hugepages", W_OK) != 0 else {
            say("nr_hugepages is writable unprivileged; not calling")
            return false
        }
        say("unprivileged (uid \(geteuid())): the pool cannot be written, whatever the library does")
        do throws(MmapError) {
            let reservation = try HugePageReservation(.huge2MiB, count: 1 << 40)
            say("HugePageReservation(count: 1 << 40) returned granted \(reservation.granted)")
            return false
        } catch {
            say("HugePageReservation(.huge2MiB, count: 1 << 40 = 2 EiB of pages) threw: \(error)")
            if case .kernel(let call, _, _) = error, call.hasPrefix("write") {
                say("=> no bound: the request went to the kernel (as root it would have been written)")
                return false
            }
            return true
        }
    }

    // MARK: 11

    static func parallelIntMax() -> Bool {
        let allowed = NumaTopology.current().allowedCPUs.count
        final class Sampling: Sendable {
            let peak = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
        }
        let sampling = Sampling()
        let sampler = OSThread {
            while !sampling.stop.load(ordering: .acquiring) {
                let count = Kernel.listDirectory("/proc/self/task").count
                if count > sampling.peak.load(ordering: .relaxed) { sampling.peak.store(count, ordering: .relaxed) }
            }
        }
        let baseline = Kernel.listDirectory("/proc/self/task").count
        let buffer = try! MmapAllocator(pageSize: .base, populate: .parallel(threads: Int.max)).allocate(UInt8.self, count: 8 * MiB)
        sampling.stop.store(true, ordering: .releasing)
        sampler.join()
        say(
            "CPUs allowed: \(allowed); .parallel(threads: Int.max) on 8 MiB: backing.mapping?.populate = \((buffer.backing.mapping?.populate).printed); "
                + "peak threads seen in /proc/self/task \(sampling.peak.load(ordering: .relaxed)) (before: \(baseline), incl. the sampler)"
        )
        if case .parallel(let threads) = buffer.backing.mapping?.populate { return threads <= allowed }
        return true
    }
}

/// One OS thread running a closure; join() waits for it.
final class OSThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
        let rc = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<OSThread>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, Unmanaged.passRetained(self).toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() { pthread_join(thread, nil) }
}

/// One line on stderr, unbuffered (print's buffered stdout is lost when the child traps).
func say(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

/// The calling thread's kernel id, from /proc/thread-self ("PID/task/TID").
func currentThreadID() -> Int {
    var buffer = [UInt8](repeating: 0, count: 64)
    let length = buffer.withUnsafeMutableBufferPointer { readlink("/proc/thread-self", $0.baseAddress!, 63) }
    guard length > 0 else { return 0 }
    return Int(String(decoding: buffer[0..<length], as: UTF8.self).split(separator: "/").last ?? "") ?? 0
}
