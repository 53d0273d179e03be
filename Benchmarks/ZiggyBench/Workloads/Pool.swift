import CZiggyReferences
import Glibc

extension Runner {
    /// Repeated allocate / touch / free of 64 MiB with and without the reuse pool (ms per round),
    /// then the pool's zeroed reuse (`allocate(zeroed: true)` of a pooled mapping) against
    /// memset(0) of faulted-in memory of the same size in C (`c-memset`), round-robin.
    func pool() {
        let bytes = 64 << 20
        for backend in [Backend.mmap2M, .mmapBase] where backends.contains(backend) {
            let why = factory.unavailableReason(backend, bytes: bytes * 2)
            let pageSize = backend == .mmap2M ? "hugetlb 2 MiB" : "base 4 KiB"
            var rounds: [Contender] = []
            for pooled in [false, true] {
                let probe = why == nil ? PoolProbe(backend, poolBytes: pooled ? 2 * bytes : 0) : nil
                let contender = Contender(
                    backend.rawValue + (pooled ? "+pool" : ""), bytes: bytes, unit: .milliseconds,
                    unavailable: why
                ) {
                    let start = now()
                    try probe!.round(bytes: bytes)
                    return (now() - start) * 1e3
                }
                contender.pageSize = pageSize
                contender.finalNote = { probe?.note }
                rounds.append(contender)
            }
            measure(Workload.pool.rawValue, rounds, repetitions: config.poolRounds)

            let probe = why == nil ? PoolProbe(backend, poolBytes: 2 * bytes) : nil
            let zeroed = Contender(
                backend.rawValue + "+pool zeroed", bytes: bytes, unit: .gigabytesPerSecond,
                note: "allocate(zeroed: true) reusing a pooled mapping", unavailable: why
            ) {
                // The previous buffer went back to the pool; this allocation reuses and clears it.
                Double(bytes) / (try probe!.zeroedAllocation(bytes: bytes)) / 1e9
            }
            zeroed.pageSize = pageSize
            zeroed.finalNote = { probe?.note }
            // memset over memory of the same page size, faulted in.
            let hugetlb = backend == .mmap2M ? MAP_HUGETLB | (21 << 26) : 0
            let memory =
                why == nil ? mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | hugetlb, -1, 0) : MAP_FAILED
            let region = memory == MAP_FAILED ? nil : memory
            if let region { memset(region, 1, bytes) }
            let memsetName = backend == .mmap2M ? "c-memset-2m" : "c-memset-4k"
            let memsetRow = Contender(
                memsetName, bytes: bytes, unit: .gigabytesPerSecond,
                note: "memset(0) over faulted-in memory, same page size",
                unavailable: why ?? (region == nil ? "mmap failed" : nil)
            ) {
                Double(bytes) / zr_memset0(region, bytes) / 1e9
            }
            memsetRow.pageSize = pageSize
            let made = measure(Workload.pool.rawValue + "-zeroed", [zeroed, memsetRow], warmUps: 2)
            if let value = made.first(where: { $0.backend == memsetName })?.median { references["\(memsetName) GB/s"] = value }
            if let region { munmap(region, bytes) }
        }
    }
}
