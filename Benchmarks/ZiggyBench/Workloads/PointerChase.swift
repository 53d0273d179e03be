import ZiggySupport

extension Runner {
    /// Dependent loads along one random cycle through every cache line, over each backend,
    /// round-robin, a fresh region per sample (the cycle written untimed), after a warm-up round.
    func pointerChase() {
        let lines = config.chaseBytes / 64
        let bytes = lines * 64
        var permutation = [UInt32](unsafeUninitializedCapacity: lines) { buffer, count in
            for i in 0..<lines { buffer[i] = UInt32(i) }
            count = lines
        }
        var generator = SplitMix64(seed: 42)
        // Sattolo's algorithm: one cycle through every line.
        for i in stride(from: lines - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i))
            permutation.swapAt(i, j)
        }
        let loads = config.chaseLoads
        let contenders = backends(for: .pointerChase).map { backend in
            var contender: Contender!
            contender = Contender(
                backend.rawValue, bytes: bytes, unit: .nanosecondsPerLoad,
                unavailable: factory.unavailableReason(backend, bytes: bytes)
            ) { [factory] in
                let region = try factory.make(backend, bytes: bytes)
                let slots = region.base.bindMemory(to: UInt64.self, capacity: lines * 8)
                permutation.withUnsafeBufferPointer { next in
                    for i in 0..<lines { slots[i * 8] = UInt64(next[i]) * 8 }
                }
                if contender.pageSize == "-" {
                    contender.pageSize = region.obtainedPageSize()
                    contender.nodes = region.nodeHistogram()
                }
                let start = now()
                chase(region.base, loads: loads)
                return (now() - start) / Double(loads) * 1e9
            }
            return contender!
        }
        measure(Workload.pointerChase.rawValue, contenders)
    }
}
