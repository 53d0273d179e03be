import ZiggyAlloc

// An allocator's counters checked against what they must be, as readable strings (empty when they
// agree): the statistics half of the before-and-after checks, beside ``ProcessState``.

/// Checks of an allocator's counters.
public enum Invariants {
    /// Which counters of ``AllocationStatistics`` to compare.
    public struct Counters: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        public static let liveBytes = Counters(rawValue: 1 << 0)
        public static let liveAllocations = Counters(rawValue: 1 << 1)
        public static let peakBytes = Counters(rawValue: 1 << 2)
        public static let cumulativeBytes = Counters(rawValue: 1 << 3)
        public static let totalAllocations = Counters(rawValue: 1 << 4)

        /// What must be back to the starting value once every buffer is freed.
        public static let live: Counters = [.liveBytes, .liveAllocations]
        /// Everything: what a failed operation must leave untouched.
        public static let all: Counters = [.live, .peakBytes, .cumulativeBytes, .totalAllocations]
    }

    /// How `statistics` differs from `expected` in `counters` (default: the live ones), as
    /// readable strings; empty when they agree. Also reports counters that cannot be right at all
    /// (negative live values, a peak below the live bytes).
    ///
    ///     Invariants.statistics(allocator.statistics, equal: .zero)          // all freed
    ///     Invariants.statistics(allocator.statistics, equal: before, .all)   // a failed call changed nothing
    public static func statistics(
        _ statistics: AllocationStatistics, equal expected: AllocationStatistics,
        _ counters: Counters = .live, label: String = "statistics"
    ) -> [String] {
        var problems: [String] = []
        func compare(_ field: Counters, _ name: String, _ path: KeyPath<AllocationStatistics, Int>) {
            if counters.contains(field) && statistics[keyPath: path] != expected[keyPath: path] {
                problems.append("\(label): \(name) is \(statistics[keyPath: path]), expected \(expected[keyPath: path])")
            }
        }
        compare(.liveBytes, "liveBytes", \.liveBytes)
        compare(.liveAllocations, "liveAllocations", \.liveAllocations)
        compare(.peakBytes, "peakBytes", \.peakBytes)
        compare(.cumulativeBytes, "cumulativeBytes", \.cumulativeBytes)
        compare(.totalAllocations, "totalAllocations", \.totalAllocations)
        if statistics.liveBytes < 0 || statistics.liveAllocations < 0 {
            problems.append("\(label): negative live counters (\(statistics))")
        }
        if statistics.peakBytes < statistics.liveBytes {
            problems.append("\(label): peakBytes \(statistics.peakBytes) below liveBytes \(statistics.liveBytes)")
        }
        return problems
    }

    /// The same for an allocator's counters now (borrowing it, so arenas work too).
    public static func statistics<A: UnmanagedMemoryAllocator & ~Copyable>(
        of allocator: borrowing A, equal expected: AllocationStatistics, _ counters: Counters = .live,
        label: String? = nil
    ) -> [String] {
        statistics(allocator.statistics, equal: expected, counters, label: label ?? "\(A.self) statistics")
    }
}
