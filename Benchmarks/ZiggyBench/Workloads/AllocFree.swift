import CZiggyReferences

extension Runner {
    /// Allocate + free latency by size: glibc's malloc+free in C (`c-malloc`) against each backend,
    /// round-robin, each sample a calibrated batch.
    func allocFree() {
        for size in config.allocSizes {
            var contenders: [Contender] = []
            let cBatch = calibrate { n in _ = zr_malloc_free(size, n) }
            contenders.append(
                Contender("c-malloc", bytes: size, unit: .nanoseconds, note: "glibc malloc + free, C loop") {
                    zr_malloc_free(size, cBatch) / Double(cBatch) * 1e9
                })
            for backend in backends {
                if backend == .scoped && size > 65536 {
                    contenders.append(
                        Contender(
                            backend.rawValue, bytes: size, unit: .nanoseconds,
                            unavailable: "arena sizes above 64 KiB live until the scope ends"
                        ) { 0 })
                    continue
                }
                if let why = factory.unavailableReason(backend, bytes: size) {
                    contenders.append(Contender(backend.rawValue, bytes: size, unit: .nanoseconds, unavailable: why) { 0 })
                    continue
                }
                do {
                    let loop = try factory.allocFreeLoop(backend, size)
                    let batch = calibrate(loop)
                    contenders.append(
                        Contender(backend.rawValue, bytes: size, unit: .nanoseconds) {
                            let start = now()
                            loop(batch)
                            return (now() - start) / Double(batch) * 1e9
                        })
                } catch {
                    contenders.append(Contender(backend.rawValue, bytes: size, unit: .nanoseconds, unavailable: "\(error)") { 0 })
                }
            }
            for contender in contenders { contender.pageSize = "untouched" }
            measure(Workload.allocFree.rawValue, contenders)
        }
    }
}
