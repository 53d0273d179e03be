import CZiggyReferences

extension Runner {
    /// Allocation with population by the kernel (1 thread) and by N threads, against a C loop in
    /// which the same number of pinned team threads each touch their static share of a fresh
    /// mapping (`c-parallel-touch`), per page size, all round-robin.
    func populate() {
        let bytes = config.firstTouchBytes
        let threads = config.threads
        let candidates: [(Backend, Int32, Int)] = [
            (.mmapBase, Int32(ZR_PAGES_BASE), 4096), (.mmapTHP, Int32(ZR_PAGES_THP), 4096),
            (.mmap2M, Int32(ZR_PAGES_2M), 2 << 20),
        ]
        for (backend, kind, pageBytes) in candidates where backends.contains(backend) {
            let why = factory.unavailableReason(backend, bytes: bytes)
            var contenders: [Contender] = []
            for count in Array(Set([1, threads])).sorted() {
                var contender: Contender!
                contender = Contender(
                    backend.rawValue, bytes: bytes, threads: count, unit: .gigabytesPerSecond,
                    note: count == 1 ? "MADV_POPULATE_WRITE, 1 thread" : "\(count) threads, each a share",
                    unavailable: why
                ) { [factory] in
                    let start = now()
                    let region = try factory.makePopulated(backend, bytes: bytes, threads: count)
                    let seconds = now() - start
                    if contender.pageSize == "-" { contender.pageSize = region.obtainedPageSize() }
                    return Double(bytes) / seconds / 1e9
                }
                contenders.append(contender)
            }
            let name =
                pageBytes == 4096
                ? (kind == Int32(ZR_PAGES_THP) ? "c-parallel-touch-thp" : "c-parallel-touch-4k")
                : "c-parallel-touch-2m"
            var reference: Contender!
            reference = Contender(
                name, bytes: bytes, threads: threads, unit: .gigabytesPerSecond,
                note: "C: mmap + \(threads) pinned threads touching their static share", unavailable: why
            ) {
                var kb = 0
                let seconds = try checked(zr_parallel_touch(bytes, kind, Int32(threads), &kb), "mmap")
                reference.pageSize = kind == Int32(ZR_PAGES_THP) ? "THP (madvise)" : pageSizeName(kb: kb)
                return Double(bytes) / seconds / 1e9
            }
            contenders.append(reference)
            measure(Workload.populate.rawValue, contenders)
        }
    }
}
