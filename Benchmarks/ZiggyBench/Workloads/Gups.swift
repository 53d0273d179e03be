extension Runner {
    /// HPCC RandomAccess over each backend, round-robin, a fresh table per sample (initialized
    /// untimed), after a warm-up round.
    func gups() {
        let entries = 1 << (Int.bitWidth - 1 - (config.gupsBytes / 8).leadingZeroBitCount)
        let bytes = entries * 8
        let updates = config.gupsUpdates
        var seed: UInt64 = 0
        let contenders = backends(for: .gups).map { backend in
            var contender: Contender!
            contender = Contender(
                backend.rawValue, bytes: bytes, unit: .millionUpdatesPerSecond,
                note: "\(updates) updates", unavailable: factory.unavailableReason(backend, bytes: bytes)
            ) {
                [factory] in
                let region = try factory.make(backend, bytes: bytes)
                let table = region.base.bindMemory(to: UInt64.self, capacity: entries)
                for i in 0..<entries { table[i] = UInt64(i) }
                if contender.pageSize == "-" {
                    contender.pageSize = region.obtainedPageSize()
                    contender.nodes = region.nodeHistogram()
                }
                seed += 1
                let start = now()
                randomAccess(region.base, entries: entries, updates: updates, seed: seed)
                return Double(updates) / (now() - start) / 1e6
            }
            return contender!
        }
        measure(Workload.gups.rawValue, contenders)
    }
}
