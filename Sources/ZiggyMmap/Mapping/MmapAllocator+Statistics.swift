extension MmapAllocator {
    /// Counters specific to mapping allocators, beside the common ``AllocationStatistics``.
    public struct Statistics: Sendable, Hashable, CustomStringConvertible {
        /// Requests served with another page size than asked for.
        public var fallbacks = 0
        /// Buffers handed out, by the page size they obtained.
        public var obtainedPageSizes: [PageSize: Int] = [:]
        /// Requests served from the reuse pool / needing a fresh mapping while a pool was enabled.
        public var poolHits = 0
        public var poolMisses = 0
        /// Bytes held in the reuse pool now (mapped, not handed out).
        public var pooledBytes = 0
        /// Bytes mapped for live buffers now, including rounding to whole pages.
        public var mappedBytes = 0
        /// munmap calls that failed (the mapping stayed; logged).
        public var unmapFailures = 0

        init() {}

        public var description: String {
            let sizes = obtainedPageSizes.sorted { $0.key.byteCount < $1.key.byteCount }
                .map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            return "fallbacks \(fallbacks); obtained [\(sizes)]; pool hits \(poolHits), misses \(poolMisses), "
                + "pooled \(pooledBytes) B; mapped \(mappedBytes) B; unmap failures \(unmapFailures)"
        }
    }
}
