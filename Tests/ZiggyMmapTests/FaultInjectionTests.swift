import CZiggyShims
import Glibc
import Testing
@testable import ZiggyMmap

/// Every kernel call an allocation makes is failed in turn (first, middle, last and all between):
/// each failure must surface as a typed error, leave no bytes mapped through the seam, and leave
/// the allocator's counters untouched.
@Suite("Fault injection through the kernel seam")
struct FaultInjectionTests {
    /// The calls one allocation makes with `options`, recorded without failing any.
    func recordCalls(_ options: MmapAllocator.Options, byteCount: Int) throws -> [(call: Kernel.Call, detail: String)] {
        let allocator = MmapAllocator(options)
        let plan = KernelFaultPlan()
        try Kernel.withFaults(plan) {
            let buffer = try allocator.allocate(UInt8.self, count: byteCount)
            _ = buffer.count
        }
        return plan.calls
    }

    static let configurations: [(String, MmapAllocator.Options)] = [
        ("base, kernel populate, lock", .init(pageSize: .base, populate: .kernel, lock: true)),
        ("THP, parallel populate", .init(pageSize: .transparentHuge, populate: .parallel(threads: 2))),
        ("base, bind to node 0", .init(pageSize: .base, populate: .kernel, numaPolicy: .bind([0]))),
        ("base, pooled", .init(pageSize: .base, populate: .kernel, reusePoolBytes: 64 * MiB)),
    ]

    @Test("each call of an allocation fails in turn with ENOMEM, EINVAL, EFAULT and EPERM; nothing stays behind",
          arguments: [ENOMEM, EINVAL, EFAULT, EPERM])
    func everyCallSite(errno code: Int32) throws {
        for (name, options) in Self.configurations {
            // munmap is excluded: only cleanup calls it, and a failed cleanup is logged, not thrown
            // (see `failedUnmapIsLoggedAndCounted`).
            let calls = try recordCalls(options, byteCount: 4 * MiB).filter { $0.call != .munmap }
            try #require(calls.count >= 2, "\(name): expected several kernel calls, saw \(calls)")
            for index in 1...calls.count {
                let allocator = MmapAllocator(options)
                let plan = KernelFaultPlan.failingNthCall(index, with: code, excluding: [.munmap])
                var thrown: AllocationError?
                do {
                    try Kernel.withFaults(plan) {
                        let buffer = try allocator.allocate(UInt8.self, count: 4 * MiB)
                        _ = buffer.count
                    }
                } catch let error as AllocationError {
                    thrown = error
                }
                let failedCall = calls[index - 1].call
                // Measurements (sysfs/procfs reads, mincore) degrade a report; they do not fail the request.
                if ![.readFile, .getrlimit, .listDirectory, .mincore].contains(failedCall) {
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

    @Test("a failed munmap on release is logged and counted, not a crash")
    func failedUnmapIsLoggedAndCounted() throws {
        let allocator = MmapAllocator(pageSize: .base)
        let allocated = try allocator.allocate(UInt8.self, count: 1 * MiB)
        let address = allocated.baseAddress
        var buffer: UnmanagedBuffer<UInt8>? = consume allocated
        let plan = KernelFaultPlan.failing(.munmap, with: EINVAL)
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
            let before = MapsSnapshot.take()
            for call in [Kernel.Call.madvise, .mlock, .getMempolicy] {
                let allocator = MmapAllocator(options)
                let plan = KernelFaultPlan.failing(call, with: ENOMEM, occurrence: nil)
                _ = try? Kernel.withFaults(plan) { try allocator.allocate(UInt8.self, count: 64 * MiB).count }
            }
            // Our request maps 64 MiB (+ up to 2 MiB of alignment slack before trimming); other new
            // mappings (thread stacks, sanitizer allocator regions) have other sizes.
            let leftovers = MapsSnapshot.take().newLargeMappings(since: before, minimum: 64 * MiB)
                .filter { $0.end - $0.start <= UInt(66 * MiB) }
            precondition(leftovers.isEmpty, "mappings left behind: \(leftovers)")
        }
    }

    @Test("mlock beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK is a memoryLockLimit error, nothing left mapped")
    func mlockLimit() async {
        await #expect(processExitsWith: .success) {
            precondition(zg_set_memlock_limit(64 << 10) == 0, "setrlimit failed")
            _ = zg_drop_ipc_lock_capability()  // no-op when not root
            let before = MapsSnapshot.take()
            let allocator = MmapAllocator(pageSize: .base, lock: true)
            do throws(AllocationError) {
                _ = try allocator.allocate(UInt8.self, count: 4 * MiB).count
                preconditionFailure("mlock of 4 MiB succeeded with a 64 KiB limit")
            } catch .memoryLockLimit(let bytes, let limit, let code) {
                _ = code
                precondition(bytes == 4 * MiB && limit == 64 << 10, "wrong figures: \(bytes) \(limit)")
                let message = AllocationError.memoryLockLimit(byteCount: bytes, limit: limit, errno: ENOMEM).description
                precondition(message.contains("ulimit -l"), message)
            } catch {
                preconditionFailure("unexpected \(error)")
            }
            // Exactly our length: new threads' 8 MiB stacks may appear meanwhile.
            precondition(!MapsSnapshot.take().newLargeMappings(since: before, minimum: 4 * MiB)
                .contains { $0.end - $0.start == UInt(4 * MiB) }, "the 4 MiB mapping stayed")
            precondition(allocator.statistics == .zero)
        }
    }
}
