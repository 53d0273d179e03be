import CZiggyShims
import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

/// Every kernel call an allocation makes is failed in turn (first, middle, last and all between):
/// each failure must surface as a typed error, leave no bytes mapped through the seam, and leave
/// the allocator's counters untouched.
@Suite("Fault injection through the kernel seam")
struct FaultInjectionTests {
    /// The calls one allocation makes with `configuration`, recorded without failing any.
    func recordCalls(_ configuration: Configuration, byteCount: Int) throws -> [(call: Kernel.Call, detail: String)] {
        let allocator = try configuration.make()
        // Once without a plan first: the population team is created on first use (its calls would
        // otherwise count in the first run only).
        _ = try allocator.allocateBytesForTest(byteCount).count
        allocator.drainPool()
        let plan = KernelFaultPlan()
        try Kernel.withFaults(plan) { () throws(MmapError) in
            let buffer = try allocator.allocateBytesForTest(byteCount)
            _ = buffer.count
        }
        return plan.calls
    }

    /// An allocator to sweep: an ``MmapAllocator`` with options, or a ``NumaAllocator``.
    enum Configuration {
        case mmap(MmapAllocator.Options)
        case numa(NumaPolicy, populate: PopulateMode)

        func make() throws -> any MappingAllocator {
            switch self {
            case .mmap(let options): return MmapAllocator(options)
            case .numa(let policy, let populate): return try NumaAllocator(policy: policy, populate: populate)
            }
        }
    }

    static let configurations: [(String, Configuration)] = [
        ("base, kernel populate, lock", .mmap(.init(pageSize: .base, populate: .kernel, lock: true))),
        ("THP, parallel populate", .mmap(.init(pageSize: .transparentHuge, populate: .parallel(threads: 2)))),
        ("base, bind to node 0", .numa(.bind([0]), populate: .kernel)),
        ("base, pooled", .mmap(.init(pageSize: .base, populate: .kernel, reusePoolBytes: 64 * MiB))),
        ("THP aligned to 64 MiB", .mmap(.init(pageSize: .transparentHuge, populate: .kernel))),
    ]

    @Test(
        "each call of an allocation fails in turn with ENOMEM, EINVAL, EFAULT and EPERM; nothing stays behind",
        arguments: [ENOMEM, EINVAL, EFAULT, EPERM])
    func everyCallSite(errno code: Int32) throws {
        for (name, configuration) in Self.configurations {
            // munmap is excluded: only cleanup calls it, and a failed cleanup is logged, not thrown
            // (see `failedUnmapIsLoggedAndCounted`).
            // Thread creation is excluded too: whether a population thread starts before or after
            // its sibling is created varies, so counting it would make "the n-th call" a different
            // call on every run (its failure has its own test below).
            let calls = try recordCalls(configuration, byteCount: 4 * MiB).filter { $0.call != .munmap && $0.call != .threadCreate }
            try #require(calls.count >= 2, "\(name): expected several kernel calls, saw \(calls)")
            for index in 1...calls.count {
                let allocator = try configuration.make()
                let plan = KernelFaultPlan.failingNthCall(index, with: Errno(rawValue: code), excluding: [.munmap, .threadCreate])
                var thrown: MmapError?
                do {
                    try Kernel.withFaults(plan) { () throws(MmapError) in
                        let buffer = try allocator.allocateBytesForTest(4 * MiB)
                        _ = buffer.count
                        buffer.free()
                        allocator.drainPool()
                    }
                } catch {
                    thrown = error
                }
                let failedCall = calls[index - 1].call
                let failedDetail = calls[index - 1].detail
                // Measurements (sysfs/procfs reads, mincore) degrade a report, the CPU count only caps
                // population threads, and a thread that cannot be created has its share run by the
                // caller: none of them fails the request.
                // EINVAL from MADV_NOHUGEPAGE means a kernel without THP, whose pages are base pages anyway.
                let tolerated = code == EINVAL && failedCall == .madvise && failedDetail.hasPrefix("advice=15 ")
                if ![.readFile, .getrlimit, .listDirectory, .mincore, .getAffinity].contains(failedCall) && !tolerated {
                    #expect(thrown != nil, "\(name): failing call \(index) (\(failedCall)) went unnoticed")
                }
                if thrown != nil {
                    #expect(allocator.statistics == .zero, "\(name): counters changed after failing \(failedCall)")
                    #expect(allocator.mmapStatistics.mappedBytes == 0)
                }
                #expect(plan.bytesStillMapped == 0, "\(name): \(plan.bytesStillMapped) B left mapped after failing \(failedCall)")
            }
        }
    }

    @Test("a thread the runner cannot create has its share run by the caller")
    func threadCreationFails() throws {
        let plan = KernelFaultPlan.failing(.threadCreate, with: Errno(rawValue: EAGAIN), occurrence: nil)
        let ran = Locked<[Int]>([])
        _ = Kernel.withFaults(plan) { ThreadRunner.run(count: 3) { index in ran.withLock { $0.append(index) } } }
        #expect(plan.calls.filter { $0.call == .threadCreate }.count == 3)
        #expect(ran.withLock { $0.sorted() } == [0, 1, 2])
    }

    @Test("a team whose threads cannot be created is a typed error, and nothing is left running")
    func teamCreationFails() throws {
        let plan = KernelFaultPlan.failing(.threadCreate, with: Errno(rawValue: EAGAIN), occurrence: nil)
        let error = #expect(throws: MmapError.self) {
            try Kernel.withFaults(plan) { () throws(MmapError) in _ = try Team(threads: 2, oversubscribe: true) }
        }
        #expect(error?.description.contains("pthread_create") == true)
    }

    @Test(
        "a file whose file system cannot be asked (fstatfs fails) is not mapped as if it were a regular file",
        arguments: ["/proc/self/maps", "/proc/meminfo"])
    func fileSystemUnknown(path: String) throws {
        // Found by the fuzz target: with fstatfs failing, a /proc file (size 0 in fstat) mapped as an
        // empty buffer; a mapping is only made once the file is known not to be a pseudo file.
        let plan = KernelFaultPlan.failing(.fstatfs, with: Errno(rawValue: EIO), occurrence: nil)
        for writable in [false, true] {
            let error = #expect(throws: MmapError.self, "\(path), writable: \(writable)") {
                try Kernel.withFaults(plan) { () throws(MmapError) in
                    if writable {
                        _ = try FileMapping.mapReadWrite(path, as: UInt8.self).buffer.count
                    } else {
                        _ = try FileMapping.mapReadOnly(path, as: UInt8.self).count
                    }
                }
            }
            #expect(error?.description.contains("fstatfs") == true, "\(path): \(String(describing: error))")
        }
        #expect(plan.bytesStillMapped == 0)
    }

    @Test("the seam accounts ranges, not bytes: unmapping the wrong range does not cancel a mapping")
    func seamAccountsRanges() throws {
        let page = Int(getpagesize())
        let plan = KernelFaultPlan()
        let (first, second) = try Kernel.withFaults(plan) { () throws(Errno) in
            let first = try Kernel.mmap(nil, 2 * page, .readWrite, [.private, .anonymous]).get()
            let second = try Kernel.mmap(nil, page, .readWrite, [.private, .anonymous]).get()
            // Unmap one page of the first mapping and the whole second: as many bytes as one
            // page of the first mapping plus the second, but the first's other page stays.
            _ = Kernel.munmap(first, page)
            _ = Kernel.munmap(second, page)
            return (first, second)
        }
        let rest = UInt(bitPattern: first + page)
        #expect(plan.rangesStillMapped == [rest..<rest + UInt(page)])
        #expect(plan.bytesStillMapped == page)
        #expect(plan.rangesEverMapped.count == 2)
        _ = second
        munmap(first + page, page)
    }

    @Test("a failed munmap on release is logged and counted, not a crash")
    func failedUnmapIsLoggedAndCounted() throws {
        let allocator = MmapAllocator(pageSize: .base)
        let allocated = try allocator.allocate(UInt8.self, count: 1 * MiB)
        let address = allocated.unsafeBaseAddress
        var buffer: UnmanagedBuffer<UInt8>? = consume allocated
        let plan = KernelFaultPlan.failing(.munmap, with: Errno(rawValue: EINVAL))
        Kernel.withFaults(plan) { buffer.take()!.free() }
        #expect(allocator.mmapStatistics.unmapFailures == 1)
        #expect(allocator.statistics.liveBytes == 0)
        munmap(address, 1 * MiB)  // clean up what the injected failure left
    }

    @Test("no mapping is left in /proc/self/maps after injected failures (checked in a quiet child process)")
    func procMapsClean() async {
        await #expect(processExitsWith: .success) {
            let options = MmapAllocator.Options(pageSize: .transparentHuge, populate: .kernel, lock: true)
            // Warm up every code path once so lazily created runtime mappings exist before the snapshot.
            do {
                let warm = MmapAllocator(options)
                _ = try warm.allocate(UInt8.self, count: 64 * MiB).count
            }
            let before = ProcessState.capture(hugePages: false)
            for call in [Kernel.Call.madvise, .mlock, .getMempolicy] {
                let allocator = MmapAllocator(options)
                let plan = KernelFaultPlan.failing(call, with: Errno(rawValue: ENOMEM), occurrence: nil)
                _ = try? Kernel.withFaults(plan) { try allocator.allocate(UInt8.self, count: 64 * MiB).count }
            }
            // Our request maps 64 MiB (+ up to 2 MiB of alignment slack before trimming); other new
            // mappings (thread stacks, sanitizer allocator regions) have other sizes.
            let leftovers = ProcessState.capture(hugePages: false).newMappings(since: before, atLeast: 64 * MiB)
                .filter { $0.end - $0.start <= UInt(66 * MiB) }
            precondition(leftovers.isEmpty, "mappings left behind: \(leftovers)")
        }
    }

    @Test("mlock beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK is a memoryLockLimit error, nothing left mapped")
    func mlockLimit() async {
        await #expect(processExitsWith: .success) {
            precondition(zg_set_memlock_limit(64 << 10) == 0, "setrlimit failed")
            _ = zg_drop_ipc_lock_capability()  // no-op when not root
            let before = ProcessState.capture(hugePages: false)
            let allocator = MmapAllocator(pageSize: .base, lock: true)
            do throws(MmapError) {
                _ = try allocator.allocate(UInt8.self, count: 4 * MiB).count
                preconditionFailure("mlock of 4 MiB succeeded with a 64 KiB limit")
            } catch .memoryLockLimit(let bytes, let limit, let code) {
                _ = code
                precondition(bytes == 4 * MiB && limit == 64 << 10, "wrong figures: \(bytes) \(limit)")
                let message = MmapError.memoryLockLimit(byteCount: bytes, limit: limit, errno: .noMemory).description
                precondition(message.contains("ulimit -l"), message)
            } catch {
                preconditionFailure("unexpected \(error)")
            }
            // Exactly our length: new threads' 8 MiB stacks may appear meanwhile.
            precondition(
                !ProcessState.capture(hugePages: false).newMappings(since: before, atLeast: 4 * MiB)
                    .contains { $0.end - $0.start == UInt(4 * MiB) }, "the 4 MiB mapping stayed")
            precondition(allocator.statistics == .zero)
        }
    }
}

/// The mapping allocators, as the fault-injection sweep drives them.
protocol MappingAllocator {
    func allocateBytesForTest(_ byteCount: Int) throws(MmapError) -> UnmanagedBuffer<UInt8>
    func drainPool()
    var statistics: AllocationStatistics { get }
    var mmapStatistics: MmapAllocator.Statistics { get }
}

extension MmapAllocator: MappingAllocator {
    func allocateBytesForTest(_ byteCount: Int) throws(MmapError) -> UnmanagedBuffer<UInt8> {
        try allocate(UInt8.self, count: byteCount, alignment: options.pageSize == .transparentHuge ? 64 * MiB : 16)
    }
}

extension NumaAllocator: MappingAllocator {
    func allocateBytesForTest(_ byteCount: Int) throws(MmapError) -> UnmanagedBuffer<UInt8> {
        try allocate(UInt8.self, count: byteCount)
    }
}
