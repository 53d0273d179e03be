extension Runner {
    /// Fill and Triad over the same three buffers through a C kernel (the reference), a Swift raw
    /// pointer, `buffer[i]` and `mutableSpan`, round-robin: the question is code, so the memory is
    /// the same for every variant.
    func access() {
        let count = config.accessBytes / 8
        let bytes = count * 8
        guard let buffers = try? AccessBuffers(count: count) else {
            rows.append(
                .unavailable(
                    "system", "access-fill", bytes: bytes, threads: 1, unit: .gigabytesPerSecond,
                    reason: "could not allocate 3 × \(formatBytes(bytes))"))
            return
        }
        for (workload, moved, pass) in [("access-fill", bytes, buffers.fill), ("access-triad", 3 * bytes, buffers.triad)] {
            let contenders = AccessVariant.allCases.map { variant in
                let contender = Contender(
                    variant == .c ? "c-kernel" : "system (\(variant.rawValue))", bytes: bytes,
                    unit: .gigabytesPerSecond,
                    note: variant == .c ? "C loop, -O3 -march=native, same memory" : "same memory"
                ) {
                    Double(moved) / pass(variant) / 1e9
                }
                contender.pageSize = "malloc"
                return contender
            }
            measure(workload, contenders)
        }
    }
}
