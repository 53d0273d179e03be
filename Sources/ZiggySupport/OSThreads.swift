import CZiggyShims
import Glibc

/// Runs `body(i)` for i in 0..<count on `count` new OS threads (not tasks: each gets its own
/// thread-local statistics shard and malloc arena), each first pinned to `cpus` when given, and
/// waits for all of them.
public func runOnThreads(_ count: Int, cpus: [Int]? = nil, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        let cpus: [Int]?
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int, _ cpus: [Int]?) {
            self.body = body
            self.index = index
            self.cpus = cpus
        }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let job = Unmanaged.passRetained(Job(body, index, cpus)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            if let cpus = job.cpus {
                var mask = [UInt64](repeating: 0, count: 16)
                for cpu in cpus where cpu >= 0 && cpu < 1024 { mask[cpu / 64] |= 1 << UInt64(cpu % 64) }
                _ = zg_set_affinity(mask, mask.count)
            }
            job.body(job.index)
            return nil
        }, job)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}
