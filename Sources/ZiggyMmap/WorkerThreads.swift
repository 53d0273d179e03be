import Glibc

/// Runs work on dedicated OS threads (not tasks), optionally pinned to CPUs: the tool behind
/// parallel population and node-pinned work. Threads inherit the caller's kernel fault plan, so
/// tests see every kernel call they make.
enum WorkerThreads {
    private final class Job: @unchecked Sendable {
        let body: (Int) -> Void
        let index: Int
        let cpus: [Int]?
        let plan: KernelFaultPlan?
        var pinError: Errno?
        init(body: @escaping (Int) -> Void, index: Int, cpus: [Int]?, plan: KernelFaultPlan?) {
            self.body = body
            self.index = index
            self.cpus = cpus
            self.plan = plan
        }
        func run() {
            let work = {
                if let cpus = self.cpus, case .failure(let error) = Kernel.setAffinity(cpus) {
                    self.pinError = error
                    return
                }
                self.body(self.index)
            }
            if let plan { Kernel.withFaults(plan, work) } else { work() }
        }
    }

    /// Runs `body(i)` for i in 0..<count on `count` threads and waits for all; each thread first
    /// pins itself to `cpus` when given. Returns the first pinning error, if any (that thread then
    /// skipped its work).
    static func run(count: Int, cpus: [Int]? = nil, _ body: @escaping (Int) -> Void) -> Errno? {
        let plan = Kernel.plan
        let jobs = (0..<count).map { Job(body: body, index: $0, cpus: cpus, plan: plan) }
        if count == 1 {
            jobs[0].run()
            return jobs[0].pinError
        }
        var threads: [pthread_t] = []
        for job in jobs {
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, Unmanaged.passRetained(job).toOpaque())
            if rc != 0 {
                // No thread: run the share here rather than lose it.
                Unmanaged.passUnretained(job).release()
                job.run()
            } else {
                threads.append(thread)
            }
        }
        for thread in threads { pthread_join(thread, nil) }
        return jobs.compactMap(\.pinError).first
    }
}
