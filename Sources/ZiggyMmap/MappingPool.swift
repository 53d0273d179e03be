/// Freed mappings kept for reuse, bounded by bytes; oldest evicted first. Not thread-safe (the
/// engine guards it).
struct MappingPool {
    struct Entry: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let length: Int
        let pageSize: PageSize
        let policy: NumaPolicy?
        let locked: Bool
        let transparentHugeBytes: Int?
    }

    let capacity: Int
    private(set) var entries: [Entry] = []
    private(set) var bytes = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The smallest pooled mapping with these attributes that holds `length` bytes at
    /// `alignment` without wasting more than half of itself.
    mutating func take(pageSize: PageSize, length: Int, alignment: Int, policy: NumaPolicy?, locked: Bool) -> Entry? {
        var best: Int?
        for (index, entry) in entries.enumerated()
        where entry.pageSize == pageSize && entry.policy == policy && entry.locked == locked
            && entry.length >= length && entry.length <= 2 * length
            && UInt(bitPattern: entry.base) % UInt(alignment) == 0 {
            if best.map({ entries[$0].length > entry.length }) ?? true { best = index }
        }
        guard let best else { return nil }
        bytes -= entries[best].length
        return entries.remove(at: best)
    }

    /// Keeps `entry`; returns the entries that no longer fit (to unmap), possibly `entry` itself.
    mutating func put(_ entry: Entry) -> [Entry] {
        guard entry.length <= capacity else { return [entry] }
        entries.append(entry)
        bytes += entry.length
        var evicted: [Entry] = []
        while bytes > capacity {
            let oldest = entries.removeFirst()
            bytes -= oldest.length
            evicted.append(oldest)
        }
        return evicted
    }

    /// Empties the pool; returns everything to unmap.
    mutating func drain() -> [Entry] {
        defer { entries = []; bytes = 0 }
        return entries
    }
}
