import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// Real hugetlb behaviour. These tests change the kernel's huge page pools, so they run one at
/// a time and every reservation gives its pages back when it ends, also when a test fails.
@Suite(
    "MmapAllocator: hugetlb pages", .serialized,
    .enabled(if: isRoot, "needs root to reserve huge pages through /proc/sys/vm/nr_hugepages"),
    .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "this kernel has no 2 MiB hugetlb pool"))
struct HugeTLBTests {
    /// Maps every currently available 2 MiB page strictly (so the pool is empty for this process),
    /// runs `body`, then unmaps them.
    func withExhaustedPool<R>(_ body: () throws -> R) throws -> R {
        let available = HugePageReservation.Pool.read(.huge2MiB)?.available ?? 0
        let hog = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
        let held = available > 0 ? try hog.allocate(UInt8.self, count: available * 2 * MiB) : UnmanagedBuffer<UInt8>()
        defer { _ = held.count }
        #expect(HugePageReservation.Pool.read(.huge2MiB)?.available == 0)
        return try body()
    }

    @Test("2 MiB pages: backing and smaps agree on KernelPageSize 2 MiB; the pool gets its pages back")
    func twoMiB() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 8)
            try #require(reservation.granted == 8, "the kernel granted \(reservation.granted) of 8 pages")
            let before = try #require(HugePageReservation.Pool.read(.huge2MiB))
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel)
            var buffer = try allocator.allocate(UInt8.self, count: 6 * MiB + 1)
            #expect(buffer.backing.mapping?.obtainedPageSize == .huge2MiB)
            #expect(buffer.backing.reservedByteCount == 8 * MiB)
            #expect(Int(bitPattern: buffer.unsafeBaseAddress) % (2 * MiB) == 0)
            let report = buffer.pageSizeReport()
            #expect(report.kernelPageSizes == [2 * MiB])
            #expect(report.hugetlbBytes == 8 * MiB)
            #expect(report.obtainedPageSize == .huge2MiB)
            #expect(HugePageReservation.Pool.read(.huge2MiB)?.free == before.free - 4)
            buffer[6 * MiB] = 1
            buffer.free()
            #expect(HugePageReservation.Pool.read(.huge2MiB)?.free == before.free)
        }
    }

    @Test("strict 2 MiB with an exhausted pool: typed error naming free pages and how to reserve more; nothing mapped")
    func strictExhausted() throws {
        try withHugeTLBPool {
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .strict)
            try withExhaustedPool {
                let plan = KernelFaultPlan()
                let error = #expect(throws: MmapError.self) {
                    try Kernel.withFaults(plan) { _ = try allocator.allocate(UInt8.self, count: 4 * MiB) }
                }
                guard case .hugePagesUnavailable(.huge2MiB, let needed, let detail)? = error else {
                    Issue.record("expected hugePagesUnavailable, got \(String(describing: error))")
                    return
                }
                #expect(needed == 2)
                #expect(detail.contains("0 free") || detail.contains("free"))
                #expect(detail.contains("/proc/sys/vm/nr_hugepages"))
                #expect(plan.bytesStillMapped == 0)
            }
            #expect(allocator.statistics == .zero)
            #expect(allocator.mmapStatistics.mappedBytes == 0)
        }
    }

    @Test("fallback 2 MiB → THP → base with an exhausted pool serves THP (or base), reported truthfully")
    func fallbackWhenExhausted() throws {
        try withHugeTLBPool {
            let events = Locked<[MmapAllocator.FallbackEvent]>([])
            let allocator = MmapAllocator(
                pageSize: .huge2MiB, fallback: .anySmaller, populate: .kernel,
                onFallback: { event in events.withLock { $0.append(event) } })
            try withExhaustedPool {
                let buffer = try allocator.allocate(UInt8.self, count: 8 * MiB)
                let backing = buffer.backing
                let expected: PageSize = PageSize.TransparentHugePages.read().isUsable ? .transparentHuge : .base
                #expect(backing.mapping?.obtainedPageSize == expected)
                #expect(backing.mapping?.requestedPageSize == .huge2MiB)
                #expect(backing.mapping?.fallbackReason?.contains("hugetlb 2 MiB") == true)
                #expect(buffer.pageSizeReport().kernelPageSizes == [4096])
                #expect(allocator.mmapStatistics.fallbacks == 1)
                #expect(events.withLock { $0.count } == 1)
            }
        }
    }

    @Test("1 GiB pages when the kernel can assemble one: KernelPageSize 1 GiB")
    func oneGiB() throws {
        try withHugeTLBPool {
            guard HugePageReservation.Pool.read(.huge1GiB) != nil else {
                try Test.cancel("this kernel has no 1 GiB hugetlb pool")
            }
            let reservation = try HugePageReservation(.huge1GiB, count: 1)
            guard reservation.granted == 1 else {
                try Test.cancel(
                    "the kernel could not assemble a contiguous 1 GiB page (fragmentation); reserve at boot with hugepagesz=1G hugepages=1"
                )
            }
            let allocator = MmapAllocator(pageSize: .huge1GiB, populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 1 * GiB)
            #expect(buffer.backing.mapping?.obtainedPageSize == .huge1GiB)
            #expect(Int(bitPattern: buffer.unsafeBaseAddress) % GiB == 0)
            #expect(buffer.pageSizeReport().kernelPageSizes == [GiB])
            #expect(buffer.pageSizeReport().hugetlbBytes == GiB)
        }
    }

    @Test("strict 1 GiB with no 1 GiB pages is a typed error")
    func oneGiBUnavailable() throws {
        try withHugeTLBPool {
            // Pages someone else left free are held here (a hugetlb mapping reserves its pages when
            // it is made), so this process sees an empty pool.
            let available = HugePageReservation.Pool.read(.huge1GiB)?.available ?? 0
            let held =
                available > 0
                ? try MmapAllocator(pageSize: .huge1GiB).allocate(UInt8.self, count: available * GiB) : UnmanagedBuffer<UInt8>()
            defer { _ = held.count }
            try #require((HugePageReservation.Pool.read(.huge1GiB)?.available ?? 0) == 0)
            let allocator = MmapAllocator(pageSize: .huge1GiB)
            let error = #expect(throws: MmapError.self) { _ = try allocator.allocate(UInt8.self, count: 1) }
            switch error {
            case .hugePagesUnavailable(.huge1GiB, 1, _)?, .unsupportedPageSize(.huge1GiB, _)?: break
            default: Issue.record("got \(String(describing: error))")
            }
        }
    }

    @Test("reservations restore nr_hugepages when they end, also when the test throws")
    func reservationRestores() throws {
        try withHugeTLBPool {
            let path = "/proc/sys/vm/nr_hugepages"
            let before = try #require(Kernel.readInt(path))
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                let reservation = try HugePageReservation(.huge2MiB, count: 3)
                #expect(Kernel.readInt(path) == before + reservation.granted)
                throw Boom()
            }
            #expect(Kernel.readInt(path) == before)
            do {
                let outer = try HugePageReservation(.huge2MiB, count: 2)
                let inner = try HugePageReservation(.huge2MiB, count: 2)
                #expect(Kernel.readInt(path) == before + outer.granted + inner.granted)
                outer.release()
                #expect(Kernel.readInt(path) == before + inner.granted)
            }
            #expect(Kernel.readInt(path) == before)
        }
    }

    @Test("the reuse pool keeps hugetlb mappings: repeated allocate/free does not re-fault")
    func hugePool() throws {
        try withHugeTLBPool {
            let reservation = try HugePageReservation(.huge2MiB, count: 4)
            try #require(reservation.isComplete == true)
            let allocator = MmapAllocator(pageSize: .huge2MiB, populate: .kernel, reusePoolBytes: 8 * MiB)
            let free0 = HugePageReservation.Pool.read(.huge2MiB)!.free
            for round in 0..<5 {
                var buffer = try allocator.allocate(UInt8.self, count: 8 * MiB, zeroed: round == 4)
                if round == 4 { #expect(buffer[8 * MiB - 1] == 0) }
                touchPages(&buffer)
            }
            #expect(allocator.mmapStatistics.poolHits == 4)
            #expect(HugePageReservation.Pool.read(.huge2MiB)!.free == free0 - 4)  // still held by the pool
            allocator.drainPool()
            #expect(HugePageReservation.Pool.read(.huge2MiB)!.free == free0)
        }
    }

    @Test(
        "a process killed while holding a reservation: releaseStale gives back exactly its pages, another holder's stay",
        arguments: [SIGKILL, SIGTERM, SIGSEGV, SIGABRT])
    func killedHolder(signal: Int32) async throws {
        // Other processes may reserve and give back pages (under the pool lock) while the child
        // runs, when this test does not hold the lock: every comparison is made holding it, and
        // compares what it can attribute — the child's ledger entry (by its pid), the pages no
        // ledger entry accounts for, the pool's change across one releaseStale.
        let pidPath = "/tmp/ziggy-killed-holder-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        defer { unlink(pidPath) }
        let unrecorded = try #require(
            withHugeTLBPool { () -> Int? in
                // Start from a clean ledger: an earlier run killed here would count as this child.
                for stale in HugePageReservation.releaseStale() { print("gave back an earlier holder's pages: \(stale)") }
                return ReservationLedger.unrecordedPages(.huge2MiB)
            })
        var other: HugePageReservation? = try HugePageReservation(.huge2MiB, count: 2)
        try #require(other?.granted == 2)
        // The child reserves 3 pages (taking the pool lock itself: this test does not hold it
        // while it waits) and dies without running any deinit.
        await #expect(processExitsWith: .signal(signal)) { [signal = signal as Int32, pidPath = pidPath as String] in
            writeFile(pidPath, Array("\(getpid())".utf8))
            let reservation = try HugePageReservation(.huge2MiB, count: 3)
            precondition(reservation.granted == 3)
            // The test runner may block or handle signals in its children: restore the default.
            Glibc.signal(signal, SIG_DFL)
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            raise(signal)
            _ = reservation.granted
        }
        let child = try #require(Kernel.readText(pidPath).flatMap { Int32($0) }, "the child did not say its pid")
        try withHugeTLBPool {
            let path = "/proc/sys/vm/nr_hugepages"
            #expect(
                ReservationLedger.entries().filter { $0.processID == child }.map(\.pages) == [3],
                "the killed child's ledger entry: \(ReservationLedger.entries())")
            #expect(
                ReservationLedger.unrecordedPages(.huge2MiB) == unrecorded,
                "the killed child's pages are reserved and recorded exactly")
            let before = try #require(Kernel.readInt(path))
            let stale = HugePageReservation.releaseStale()
            #expect(stale.filter { $0.processID == child }.map(\.pages) == [3], "\(stale)")
            #expect(
                Kernel.readInt(path) == before - stale.reduce(0) { $0 + $1.pages },
                "releaseStale gives back exactly the stale pages, the other holder's stay")
            #expect(
                ReservationLedger.entries().contains { $0.processID == getpid() && $0.pages == 2 },
                "this process's own reservation is still recorded")
            #expect(HugePageReservation.releaseStale().isEmpty, "a second call finds nothing")
            #expect(ReservationLedger.unrecordedPages(.huge2MiB) == unrecorded)
            let held = try #require(Kernel.readInt(path))
            other.take()?.release()
            #expect(Kernel.readInt(path) == held - 2)
        }
    }

    @Test("concurrent reservations from several processes add up exactly and are given back exactly")
    func concurrentProcesses() async throws {
        // The children take the pool lock for each of their changes, so this test cannot hold it
        // while they run; other processes may reserve meanwhile too. What must not change is the
        // number of pages no ledger entry accounts for (each reservation changes the pool and the
        // ledger together, under the lock): a lost or doubled update between processes would.
        let before = try #require(unrecordedHugePages())
        // Four children each reserve and release 1 page 50 times, all at once.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    await #expect(processExitsWith: .success) {
                        for _ in 0..<50 {
                            let reservation = try HugePageReservation(.huge2MiB, count: 1)
                            precondition(reservation.granted == 1, "granted \(reservation.granted)")
                        }
                    }
                }
            }
        }
        #expect(unrecordedHugePages() == before, "lost or doubled updates between processes")
    }
}

@Suite("Reservation ledger")
struct ReservationLedgerTests {
    @Test("a live process is never taken for a stale holder: its identity reads back the same")
    func identity() {
        let me = Kernel.processIdentity
        #expect(me.startTime > 0)
        #expect(Kernel.processStartTime(me.pid) == me.startTime)
        #expect(Kernel.processStartTime(Int32.max) == nil)
    }
}
