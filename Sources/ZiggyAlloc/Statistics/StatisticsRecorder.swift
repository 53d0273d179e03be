import CZiggyShims

/// Exact, cheap allocation counters for one allocator, shareable by any number of threads.
///
/// The thread that creates the recorder updates its counters with plain stores; every other
/// thread uses atomic read-modify-write. The totals are sums of both halves, so no update is lost,
/// and the common case (one thread allocating and freeing) costs about a nanosecond instead of the
/// ~6 ns of each lock-prefixed atomic on the machines this library is measured on.
///
/// Buffers record their free through the recorder's `id` only, never a pointer: a buffer may outlive its allocator, and then its free is simply
/// not counted anywhere (the allocator that would report it is gone).
///
/// Custom allocators can own one to report ``AllocationStatistics`` the same way the built-in ones
/// do. Thread-safe.
@_spi(AllocatorImplementation)
public final class StatisticsRecorder: @unchecked Sendable {
    /// The identity buffers carry to find this recorder's counters when they are freed.
    @usableFromInline package let id: UInt64
    @usableFromInline let record: UnsafeMutablePointer<zg_stats>

    /// A new recorder whose owner (fast-path) thread is the calling thread.
    public init() {
        (id, record) = StatisticsRegistry.register()
    }

    deinit {
        StatisticsRegistry.unregister(id: id)
    }

    /// Counts one allocation of `byteCount` bytes.
    @inlinable @inline(__always)
    public func recordAllocation(byteCount: Int) {
        zg_stats_allocated(record, Int64(byteCount))
    }

    /// Counts one free of `byteCount` bytes made by this recorder's allocator.
    @inlinable @inline(__always)
    public func recordDeallocation(byteCount: Int) {
        zg_stats_freed(record, Int64(byteCount))
    }

    /// Counts a free for the recorder with identity `id`, if it still exists (the library's own
    /// deallocators only: an id is not a capability users may forge).
    package static func recordDeallocation(id: UInt64, byteCount: Int) {
        _recordFree(statisticsID: id, byteCount: byteCount)
    }

    /// The counters now.
    public var snapshot: AllocationStatistics {
        let s = zg_stats_read(record)
        return AllocationStatistics(
            liveBytes: Int(s.live_bytes), liveAllocations: Int(s.live_count), peakBytes: Int(s.peak_bytes),
            cumulativeBytes: Int(s.total_bytes), totalAllocations: Int(s.total_count))
    }
}
