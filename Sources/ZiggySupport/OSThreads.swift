import ZiggyKernel

/// Runs `body(i)` for i in 0..<count on `count` new OS threads (not tasks: each gets its own
/// thread-local statistics shard and malloc arena), each first pinned to `cpus` when given, and
/// waits for all of them — the library's one thread runner, for tests and ziggy-bench.
public func runOnThreads(_ count: Int, cpus: [Int]? = nil, _ body: @escaping @Sendable (Int) -> Void) {
    ThreadRunner.run(count: count, cpus: { _ in cpus }, body)
}
