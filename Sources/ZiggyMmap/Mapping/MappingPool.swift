import ZiggyKernel

/// Freed mappings kept for reuse, bounded by bytes, oldest evicted first: the same
/// ``MappingRecord``s the engine hands out, waiting for their next buffer. Thread-safe.
///
/// Closing and pooling are decided under one lock, so a record freed while the allocator goes
/// away is either in the pool when `close` drains it or unmapped by its freer — never left mapped.
final class MappingPool: Sendable {
    private struct State {
        var records: [MappingRecord] = []
        var bytes = 0
        var closed = false
    }

    let capacity: Int
    private let state = Locked(State())

    init(capacity: Int) { self.capacity = capacity }

    /// Bytes held now.
    var bytes: Int { state.withLock { $0.bytes } }

    /// The smallest pooled mapping of `pageSize` that holds `length` bytes at `alignment` without
    /// wasting more than half of itself; nil when none fits or the pool is closed.
    func take(pageSize: PageSize, length: Int, alignment: Int) -> MappingRecord? {
        state.withLock { state in
            var best: Int?
            for (index, record) in state.records.enumerated()
            where record.mapping.obtained == pageSize && record.mapping.length >= length && record.mapping.length <= 2 * length
                && record.mapping.alignment >= alignment
            {
                if best.map({ state.records[$0].mapping.length > record.mapping.length }) ?? true { best = index }
            }
            guard let best else { return nil }
            state.bytes -= state.records[best].mapping.length
            return state.records.remove(at: best)
        }
    }

    /// Keeps `record`; returns the records that no longer fit (for the caller to unmap): those
    /// evicted, or `record` itself when it is too large or the pool is closed.
    func put(_ record: MappingRecord) -> [MappingRecord] {
        state.withLock { state in
            guard !state.closed, record.mapping.length <= capacity else { return [record] }
            state.records.append(record)
            state.bytes += record.mapping.length
            var evicted: [MappingRecord] = []
            while state.bytes > capacity {
                let oldest = state.records.removeFirst()
                state.bytes -= oldest.mapping.length
                evicted.append(oldest)
            }
            return evicted
        }
    }

    /// Empties the pool; returns everything to unmap. With `closing`, later `put`s are refused.
    func drain(closing: Bool) -> [MappingRecord] {
        state.withLock { state in
            if closing { state.closed = true }
            defer { state.records = []; state.bytes = 0 }
            return state.records
        }
    }
}
