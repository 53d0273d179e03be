import Glibc
import ZiggyMmap

extension Runner {
    /// A 64 MiB buffer, every page touched, grown to 128 MiB with `resize`, for base pages, THP and
    /// hugetlb 2 MiB (ms per resize, round-robin). The note tallies how the resizes went (in place,
    /// remapped by the kernel, moved by a copy) and how often the address changed: growth by
    /// `mremap` moves page tables, not bytes, while hugetlb growth maps 128 MiB and copies 64.
    func resize() {
        let bytes = 64 << 20
        var rows: [Contender] = []
        for (backend, pageSize) in [(Backend.mmapBase, PageSize.base), (.mmapTHP, .transparentHuge), (.mmap2M, .huge2MiB)]
        where backends.contains(backend) {
            // hugetlb growth holds the old and the new pages at once.
            let why = factory.unavailableReason(backend, bytes: 3 * bytes)
            let allocator = MmapAllocator(pageSize: pageSize)
            var outcomes: [UnmanagedBuffer<UInt8>.ResizeOutcome: Int] = [:]
            var moves = 0
            var samples = 0
            let contender = Contender(
                backend.rawValue, bytes: bytes, unit: .milliseconds, note: "resize 64 → 128 MiB, pages touched",
                unavailable: why
            ) {
                var buffer = try allocator.allocate(UInt8.self, count: bytes)
                buffer.fill(with: 1)
                let before = UInt(bitPattern: buffer.unsafeBaseAddress)
                let start = now()
                let outcome = try allocator.resize(&buffer, to: 2 * bytes)
                let elapsed = (now() - start) * 1e3
                outcomes[outcome, default: 0] += 1
                if UInt(bitPattern: buffer.unsafeBaseAddress) != before { moves += 1 }
                samples += 1
                buffer.free()
                return elapsed
            }
            contender.pageSize = pageSize.description
            contender.finalNote = {
                let tally = outcomes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }
                return samples == 0 ? nil : tally.joined(separator: ", ") + "; address changed \(moves)/\(samples)"
            }
            rows.append(contender)
        }
        measure(Workload.resize.rawValue, rows, repetitions: config.poolRounds)
    }
}
