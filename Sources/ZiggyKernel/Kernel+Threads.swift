import CZiggyShims
import Glibc
import SystemPackage

// Threads and limits: affinity, creation and joining, the current CPU, RLIMIT_MEMLOCK.
extension Kernel {
    /// Restricts the calling thread — or the thread with kernel id `thread` — to `cpus`
    /// (`sched_setaffinity`; any CPU numbers).
    package static func setAffinity(_ cpus: [Int], thread: Int32 = 0) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.setAffinity, "\(cpus)") { return .failure(e) }
        #endif
        guard let highest = cpus.max(), cpus.allSatisfy({ $0 >= 0 }) else { return .failure(.invalidArgument) }
        var mask = [UInt64](repeating: 0, count: highest / 64 + 1)
        for cpu in cpus { mask[cpu / 64] |= 1 << UInt64(cpu % 64) }
        return zg_set_thread_affinity(thread, mask, mask.count) == 0 ? .success(()) : .failure(.current)
    }

    /// The calling thread's kernel thread id (`gettid`).
    package static var threadID: Int32 { zg_gettid() }

    /// The CPUs the calling thread may run on (`sched_getaffinity`), ascending.
    package static func getAffinity() -> Result<[Int], Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.getAffinity) { return .failure(e) }
        #endif
        var words = 16
        while true {
            var mask = [UInt64](repeating: 0, count: words)
            if zg_get_affinity(&mask, words) == 0 {
                var cpus: [Int] = []
                for (index, word) in mask.enumerated() where word != 0 {
                    for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 { cpus.append(index * 64 + bit) }
                }
                return .success(cpus)
            }
            // EINVAL: the kernel's mask is wider than ours (more than words × 64 possible CPUs).
            guard Glibc.errno == EINVAL, words < 1 << 16 else { return .failure(.current) }
            words *= 2
        }
    }

    /// A POSIX thread: who is running (`pthread_self`, a thread-local read, cheap enough for
    /// every team region) and waiting for one to end (`pthread_join`).
    package struct Thread: Equatable, Sendable {
        package let handle: pthread_t

        package init(_ handle: pthread_t) { self.handle = handle }

        /// The calling thread.
        package static var current: Thread { Thread(pthread_self()) }

        package static func == (a: Thread, b: Thread) -> Bool { pthread_equal(a.handle, b.handle) != 0 }

        /// Waits for the thread to end. Never injected: a started thread must be joined.
        package func join() { pthread_join(handle, nil) }
    }

    /// `pthread_create` with default attributes: a thread running `start(context)`, or the error.
    package static func createThread(
        _ context: UnsafeMutableRawPointer,
        _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?
    ) -> Result<Thread, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.threadCreate) { return .failure(e) }
        #endif
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, start, context)
        return rc == 0 ? .success(Thread(handle)) : .failure(Errno(rawValue: rc))
    }

    /// The CPU the calling thread runs on now (`sched_getcpu`); -1 when unknown.
    package static func currentCPU() -> Int {
        #if ENABLE_MOCKING
        if injected(.getcpu) != nil { return -1 }
        #endif
        return Int(zg_current_cpu())
    }

    /// `RLIMIT_MEMLOCK` (soft limit, bytes; `Int.max` for unlimited; 0 when unknown).
    package static func memlockLimit() -> Int {
        #if ENABLE_MOCKING
        if injected(.getrlimit) != nil { return 0 }
        #endif
        let limit = zg_memlock_limit()
        return limit < 0 ? 0 : Int(limit)
    }
}
