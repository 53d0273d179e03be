import SystemPackage

/// Runs work on dedicated OS threads (not tasks: each gets its own thread-local statistics shard
/// and malloc arena), optionally pinned to CPUs, and waits for all of them — the library's one
/// thread runner, behind parallel population, `ThreadPinning.run` and the tests' and benchmark's
/// threads.
///
/// A thread that cannot be created does not lose its share: the calling thread runs it (pinned
/// like the thread would have been, then restored). In debug builds every thread inherits the
/// caller's kernel fault plan, so tests see every kernel call the threads make.
package enum ThreadRunner {
    /// Runs `body(i)` for i in 0..<count, each on its own thread, and returns when all are done.
    ///
    /// Thread i first restricts itself to `cpus(i)` when that is non-nil; if pinning fails, that
    /// share is skipped and the first such error is returned (callers turn it into a typed error).
    /// `body` runs concurrently on several threads and must be safe to call that way.
    @discardableResult
    package static func run(count: Int, cpus: (Int) -> [Int]? = { _ in nil }, _ body: (Int) -> Void) -> Errno? {
        guard count > 0 else { return nil }
        return withoutActuallyEscaping(body) { body in
            #if ENABLE_MOCKING
            let plan = Kernel.plan
            #endif
            // The threads work for a caller holding the hugetlb pool lock: they hold it too.
            let poolLockHeld = HugePagePoolLock.heldByTask
            let jobs = (0..<count).map { index in
                Job(index: index, cpus: cpus(index)) {
                    let work = {
                        #if ENABLE_MOCKING
                        if let plan { Kernel.withFaults(plan) { body(index) } } else { body(index) }
                        #else
                        body(index)
                        #endif
                    }
                    if poolLockHeld { HugePagePoolLock.$heldByTask.withValue(true, operation: work) } else { work() }
                }
            }
            var threads: [Kernel.Thread] = []
            for job in jobs {
                let context = Unmanaged.passRetained(job).toOpaque()
                if case .success(let thread) = createThread(context) {
                    threads.append(thread)
                } else {
                    Unmanaged<Job>.fromOpaque(context).release()
                    job.runOnCaller()
                }
            }
            for thread in threads { thread.join() }
            return jobs.lazy.compactMap(\.pinError).first
        }
    }

    private static func createThread(_ context: UnsafeMutableRawPointer) -> Result<Kernel.Thread, Errno> {
        Kernel.createThread(context) { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }
    }

    /// One share of the work. Only its own thread touches `pinError` before the join.
    private final class Job: @unchecked Sendable {
        let index: Int
        let cpus: [Int]?
        let work: () -> Void
        var pinError: Errno?

        init(index: Int, cpus: [Int]?, work: @escaping () -> Void) {
            self.index = index
            self.cpus = cpus
            self.work = work
        }

        func run() {
            if let cpus, case .failure(let error) = Kernel.setAffinity(cpus) {
                pinError = error
                return
            }
            work()
        }

        /// The share on the calling thread, whose affinity is restored afterwards.
        func runOnCaller() {
            let previous = cpus == nil ? nil : try? Kernel.getAffinity().get()
            run()
            if let previous { _ = Kernel.setAffinity(previous) }
        }
    }
}
