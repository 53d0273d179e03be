/// A snapshot of an allocator's byte and allocation counters.
///
/// Counters are exact under concurrent use: every allocation and every free is counted once,
/// whichever thread performs it (see `StatisticsRecorder`). A snapshot taken while other threads
/// allocate is a consistent-enough view of moving counters; one taken after those threads have
/// been joined is exact.
public struct AllocationStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Bytes currently allocated and not yet freed.
    public var liveBytes: Int
    /// Buffers currently allocated and not yet freed.
    public var liveAllocations: Int
    /// The highest value `liveBytes` reached. Exact when one thread at a time uses the allocator;
    /// under concurrent use it is the highest total any allocating thread observed, which can
    /// trail the true instantaneous peak by allocations that raced with it.
    public var peakBytes: Int
    /// Bytes ever allocated (never decreases).
    public var cumulativeBytes: Int
    /// Buffers ever allocated (never decreases).
    public var totalAllocations: Int

    /// Counters with these values, for allocator authors (most record through a
    /// `StatisticsRecorder` instead, whose `snapshot` is one of these).
    @_spi(AllocatorImplementation)
    public init(
        liveBytes: Int = 0, liveAllocations: Int = 0, peakBytes: Int = 0,
        cumulativeBytes: Int = 0, totalAllocations: Int = 0
    ) {
        self.liveBytes = liveBytes
        self.liveAllocations = liveAllocations
        self.peakBytes = peakBytes
        self.cumulativeBytes = cumulativeBytes
        self.totalAllocations = totalAllocations
    }

    /// No counters at all: what allocators that do not track report.
    @_spi(AllocatorImplementation)
    public static let zero = AllocationStatistics()

    public var description: String {
        "live \(liveBytes) B in \(liveAllocations) buffers, peak \(peakBytes) B, "
            + "cumulative \(cumulativeBytes) B in \(totalAllocations) allocations"
    }
}
