import CZiggyShims
import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Promises that root hides (issue 20, item 4): root bypasses RLIMIT_MEMLOCK (CAP_IPC_LOCK) and the
// permission checks on /sys, so the suite run as root never sees those paths fail for real. This
// suite runs only unprivileged: `make test` runs it as user nobody (`make test-unprivileged`:
// `setpriv --reuid=65534 --regid=65534 --clear-groups`, filtered to this suite) and prints its
// results. Each scenario runs in a child process, which lowers its own RLIMIT_MEMLOCK.
@Suite(
    "Unprivileged: promises root hides", .serialized,
    .enabled(
        if: !isRoot,
        "runs as an unprivileged user (make test-unprivileged, part of make test: setpriv --reuid=65534 …)"))
struct UnprivilegedTests {
    /// Runs `UnprivilegedChild.run(name)` in a child process; its report is printed, or recorded
    /// with the failure.
    static func inChild(_ name: String) async {
        let reportPath = "/tmp/ziggy-unprivileged-\(getpid())-\(UInt32.random(in: 0 ... .max)).log"
        defer { unlink(reportPath) }
        let result = await #expect(processExitsWith: .success, "child '\(name)' (report below)") {
            [name = name as String, reportPath = reportPath as String] in
            let fd = open(reportPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(fd >= 0, "cannot create \(reportPath)")
            dup2(fd, STDOUT_FILENO)
            dup2(fd, STDERR_FILENO)
            close(fd)
            exit(UnprivilegedChild.run(name) ? EXIT_SUCCESS : EXIT_FAILURE)
        }
        let report = Kernel.readText(reportPath) ?? ""
        if result == nil {
            Issue.record("child '\(name)' report:\n\(report.isEmpty ? "(empty)" : report)")
        } else {
            print("unprivileged '\(name)' (uid \(geteuid())):\n\(report)", terminator: report.hasSuffix("\n") ? "" : "\n")
        }
    }

    @Test("mlock beyond RLIMIT_MEMLOCK: memoryLockLimit naming the limit and how to raise it; nothing mapped or locked")
    func lockBeyondLimit() async { await Self.inChild("lockBeyondLimit") }

    @Test(
        "a locked buffer grown past RLIMIT_MEMLOCK (in place, moved, aligned; mmap and NUMA): memoryLockLimit, the buffer intact"
    )
    func lockedResize() async { await Self.inChild("lockedResize") }

    @Test("reserving huge pages (global and per node) without write access to /sys: a typed error naming the file and the fix")
    func reservationRefused() async { await Self.inChild("reservationRefused") }
}

/// The unprivileged scenarios; each prints what it saw and returns whether every check held.
enum UnprivilegedChild {
    static let limit = 256 << 10

    nonisolated(unsafe) static var failures: [String] = []  // the child's one thread
    static func say(_ text: String) { print(text) }
    static func check(_ condition: Bool, _ text: @autoclosure () -> String) {
        if !condition {
            failures.append(text())
            print("FAILED: \(text())")
        }
    }

    static func run(_ name: String) -> Bool {
        say("uid \(geteuid()), gid \(getegid())")
        switch name {
        case "lockBeyondLimit": lockBeyondLimit()
        case "lockedResize": lockedResize()
        case "reservationRefused": reservationRefused()
        default: check(false, "no scenario \(name)")
        }
        return failures.isEmpty
    }

    /// `VmLck` of this process in bytes (what is locked right now).
    static func lockedBytes() -> Int {
        let text = Kernel.readText("/proc/self/status") ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("VmLck:") {
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1) * 1024
        }
        return -1
    }

    static func lowerLimit() -> Bool {
        guard zg_set_memlock_limit(UInt64(limit)) == 0 else {
            check(false, "setrlimit(RLIMIT_MEMLOCK, \(limit)) failed")
            return false
        }
        say("RLIMIT_MEMLOCK lowered to \(Kernel.memlockLimit()) B; VmLck \(lockedBytes()) B")
        return true
    }

    static func lockBeyondLimit() {
        guard lowerLimit() else { return }
        let plan = KernelFaultPlan()  // records the mappings the library makes, injects nothing
        for (label, make) in [
            ("MmapAllocator(lock: true)", { MmapAllocator(pageSize: .base, lock: true) as any MisuseLockingAllocator }),
            (
                "NumaAllocator(policy: .local, lock: true)",
                { try! NumaAllocator(policy: .local, lock: true) as any MisuseLockingAllocator }
            ),
        ] as [(String, () -> any MisuseLockingAllocator)] {
            let allocator = make()
            let error = Kernel.withFaults(plan) { allocator.lockedAllocationError(byteCount: 1 << 20) }
            say("\(label).allocate(1 MiB): \(error.map { "\($0)" } ?? "no error")")
            guard case .memoryLockLimit(let bytes, let reported, _)? = error else {
                check(false, "\(label): expected memoryLockLimit, got \(String(describing: error))")
                continue
            }
            check(bytes == 1 << 20 && reported == limit, "\(label): the error says \(bytes) B over a \(reported) B limit")
            let message = error!.description
            check(
                message.contains("RLIMIT_MEMLOCK is \(limit) B") && message.contains("ulimit -l")
                    && message.contains("LimitMEMLOCK=") && message.contains("CAP_IPC_LOCK"),
                "\(label): the message does not say the limit and how to raise it: \(message)")
            check(allocator.statisticsAreZero, "\(label): statistics changed")
        }
        check(plan.bytesStillMapped == 0, "\(plan.bytesStillMapped) B left mapped")
        check(lockedBytes() == 0, "VmLck is \(lockedBytes()) B after the refusals")
    }

    static func lockedResize() {
        guard lowerLimit() else { return }
        let small = 64 << 10
        let mmap = MmapAllocator(pageSize: .base, lock: true)
        let numa = try! NumaAllocator(policy: .local, lock: true)
        resizeCase("MmapAllocator, in place", mmap, count: small, alignment: nil, blocked: false)
        resizeCase("MmapAllocator, blocked (must move)", mmap, count: small, alignment: nil, blocked: true)
        resizeCase(
            "MmapAllocator, 64 KiB-aligned, blocked (moved into a reservation)", mmap, count: small, alignment: 64 << 10,
            blocked: true)
        resizeCase("NumaAllocator(.local), in place", numa, count: small, alignment: nil, blocked: false)
        resizeCase("NumaAllocator(.local), blocked", numa, count: small, alignment: nil, blocked: true)
        check(lockedBytes() == 0, "VmLck is \(lockedBytes()) B after every buffer was freed")
    }

    /// A locked buffer of `count` bytes grown to 1 MiB (over the 256 KiB limit): a typed error and
    /// the buffer exactly as it was; then grown within the limit, which works.
    static func resizeCase<A: UnmanagedMemoryAllocator & MisuseLockingAllocator>(
        _ label: String, _ allocator: A, count: Int, alignment: Int?, blocked: Bool
    ) {
        let plan = KernelFaultPlan()
        Kernel.withFaults(plan) {
            var buffer: UnmanagedBuffer<UInt8>
            do throws(A.Failure) {
                buffer =
                    if let alignment { try allocator.allocate(UInt8.self, count: count, alignment: alignment) } else {
                        try allocator.allocate(UInt8.self, count: count)
                    }
            } catch {
                check(false, "\(label): the \(count) B locked buffer could not be made: \(error)")
                return
            }
            for i in buffer.indices { buffer[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
            let address = UInt(bitPattern: buffer.unsafeBaseAddress)
            let lockedBefore = lockedBytes()
            let statistics = allocator.statistics
            let guardPage = blocked ? blockGrowth(after: buffer) : nil
            if blocked { check(guardPage != nil || isBlocked(after: buffer), "\(label): could not block growth after the buffer") }
            do throws(A.Failure) {
                let outcome = try allocator.resize(&buffer, to: 1 << 20)
                check(false, "\(label): growing a locked \(count) B buffer to 1 MiB over a \(limit) B limit succeeded (\(outcome))")
            } catch {
                say("\(label): resize to 1 MiB: \(error)")
                if case .memoryLockLimit(let bytes, let reported, _)? = error as? MmapError {
                    check(bytes >= 1 << 20 && reported == limit, "\(label): the error says \(bytes) B over \(reported) B")
                    check("\(error)".contains("ulimit -l"), "\(label): no fix in \(error)")
                } else {
                    check(false, "\(label): expected memoryLockLimit, got \(error)")
                }
            }
            // Intact: address, count, contents, still locked, counted as before.
            check(UInt(bitPattern: buffer.unsafeBaseAddress) == address, "\(label): the buffer moved")
            check(buffer.count == count, "\(label): the count changed to \(buffer.count)")
            let intact = buffer.indices.allSatisfy { buffer[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            check(intact, "\(label): the contents changed")
            check(buffer.backing.mapping?.isLocked == true, "\(label): the buffer no longer reports itself locked")
            check(lockedBytes() == lockedBefore, "\(label): VmLck went from \(lockedBefore) to \(lockedBytes()) B")
            check(allocator.statistics == statistics, "\(label): statistics changed: \(statistics) → \(allocator.statistics)")
            unblock(guardPage)
            // Within the limit it grows, contents kept, still locked.
            do throws(A.Failure) {
                try allocator.resize(&buffer, to: 2 * count)
                check(buffer.count == 2 * count, "\(label): grew to \(buffer.count)")
                let kept = (0..<count).allSatisfy { buffer[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                check(kept, "\(label): growing within the limit lost the contents")
                check(buffer.backing.mapping?.isLocked == true, "\(label): the grown buffer is not locked")
            } catch {
                check(false, "\(label): growing to \(2 * count) B within the limit failed: \(error)")
            }
            buffer.free()
        }
        check(plan.bytesStillMapped == 0, "\(label): \(plan.bytesStillMapped) B left mapped")
    }

    static func reservationRefused() {
        let path = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
        guard HugePageReservation.Pool.read(.huge2MiB) != nil else {
            say("no 2 MiB hugetlb pool here: nothing to check")
            return
        }
        guard access(path, W_OK) != 0 else {
            check(false, "\(path) is writable by uid \(geteuid()): cannot check the refusal")
            return
        }
        let me = getpid()
        let before = Kernel.readInt(path)
        for node in [nil, 0] as [Int?] {
            let label = "HugePageReservation(.huge2MiB, count: 1\(node.map { ", node: \($0)" } ?? ""))"
            do throws(MmapError) {
                let reservation = try HugePageReservation(.huge2MiB, count: 1, node: node)
                check(false, "\(label) succeeded unprivileged: granted \(reservation.granted)")
            } catch {
                say("\(label): \(error)")
                guard case .kernel(let call, let errno, _) = error else {
                    check(false, "\(label): expected a kernel error for the write, got \(error)")
                    continue
                }
                check(call.hasPrefix("write /sys/") && call.hasSuffix("nr_hugepages"), "\(label): the call is \(call)")
                check(errno == .permissionDenied || errno == .notPermitted, "\(label): errno \(errno)")
                check(
                    error.description.contains("needs root") && error.description.contains("hugepages="),
                    "\(label): the message does not say how to fix it: \(error)")
            }
        }
        check(Kernel.readInt(path) == before, "nr_hugepages changed from \(before ?? -1) to \(Kernel.readInt(path) ?? -1)")
        check(!ReservationLedger.entries().contains { $0.processID == me }, "a refused reservation left a ledger entry")
        let stale = HugePageReservation.releaseStale()
        say("releaseStale() unprivileged: \(stale.isEmpty ? "nothing given back" : "\(stale)")")
        check(stale.isEmpty, "releaseStale gave back pages without write access: \(stale)")
        check(Kernel.readInt(path) == before, "releaseStale changed nr_hugepages")
    }
}

/// The locking allocators under test, as the scenarios drive them.
protocol MisuseLockingAllocator {
    func lockedAllocationError(byteCount: Int) -> MmapError?
    var statisticsAreZero: Bool { get }
}

extension MmapAllocator: MisuseLockingAllocator {
    func lockedAllocationError(byteCount: Int) -> MmapError? {
        do throws(MmapError) {
            _ = try allocate(UInt8.self, count: byteCount).count
            return nil
        } catch {
            return error
        }
    }
    var statisticsAreZero: Bool { statistics == .zero && mmapStatistics.mappedBytes == 0 }
}

extension NumaAllocator: MisuseLockingAllocator {
    func lockedAllocationError(byteCount: Int) -> MmapError? {
        do throws(MmapError) {
            _ = try allocate(UInt8.self, count: byteCount).count
            return nil
        } catch {
            return error
        }
    }
    var statisticsAreZero: Bool { statistics == .zero && mmapStatistics.mappedBytes == 0 }
}
