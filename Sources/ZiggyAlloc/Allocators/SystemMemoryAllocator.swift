import CZiggyShims
import Glibc
import ZiggyKernel

/// The C library's heap: `malloc`, `posix_memalign` for alignments above 16 bytes, and `calloc`
/// for zeroed requests (the .NET `SystemMemoryAllocator`, and the seed's `ManualAllocator` when
/// buffers are freed with ``UnmanagedBuffer/free()``).
///
/// Thread-safe: share one instance between threads. Statistics are exact under concurrent use and
/// cost about a nanosecond per operation on the creating thread (a `StatisticsRecorder`).
/// Buffers may outlive the allocator; their frees then go uncounted. Throws
/// ``AllocationError/outOfMemory(byteCount:backend:errno:)`` when the heap has no memory.
///
/// Resizing (``UnmanagedMemoryAllocator/resize(_:to:fileID:line:function:)``) uses `realloc` for
/// this allocator's own buffers aligned to at most 16 bytes (what `realloc` keeps), in place or
/// moved by the C library; other buffers are moved by allocate + copy + free. A resize counts as
/// one free of the old size and one allocation of the new.
// @unchecked: the only mutable state is the statistics record, updated with atomics or by its
// owner thread only (see CZiggyShims.h).
public final class SystemMemoryAllocator: UnmanagedMemoryAllocator, @unchecked Sendable {
    /// A process-wide instance (the .NET `Z.DefaultAllocator`).
    public static let shared = SystemMemoryAllocator()

    /// glibc's `malloc` alignment on 64-bit Linux.
    @usableFromInline static let mallocAlignment = 16

    let recorder: StatisticsRecorder
    /// The recorder's id and record, copied here so the fast path reads them without going
    /// through the recorder object (which this allocator keeps alive).
    @usableFromInline let statisticsID: UInt64
    @usableFromInline let record: UnsafeMutablePointer<zg_stats>

    /// A new allocator with its own statistics.
    public init() {
        recorder = StatisticsRecorder()
        statisticsID = recorder.id
        record = recorder.record
    }

    public var supportsIndividualDeallocation: Bool { true }

    public var statistics: AllocationStatistics { recorder.snapshot }

    @_spi(AllocatorImplementation)
    public func allocateRaw(_ request: AllocationRequest) throws(AllocationError) -> RawAllocation {
        let (memory, deallocator) = try _heapAllocate(request.byteCount, alignment: request.alignment, zeroed: request.zeroed)
        return RawAllocation(base: memory, byteCount: request.byteCount, deallocator: deallocator)
    }

    /// The heap allocation itself, a plain method so the typed calls reach it inlined, without
    /// the protocol witness or any SPI type (see SystemMemoryAllocator+Typed.swift).
    @inlinable @inline(__always)
    func _heapAllocate(
        _ bytes: Int, alignment: Int, zeroed: Bool
    ) throws(AllocationError) -> (
        UnsafeMutableRawPointer, BufferDeallocator
    ) {
        let memory: UnsafeMutableRawPointer?
        if alignment <= SystemMemoryAllocator.mallocAlignment {
            memory = Kernel.heapAllocate(bytes, zeroed: zeroed)
        } else {
            memory = Kernel.heapAllocate(bytes, alignment: alignment)
            if zeroed, let memory { memset(memory, 0, bytes) }
        }
        guard let memory else {
            throw .outOfMemory(byteCount: bytes, backend: "malloc", errno: .noMemory)
        }
        zg_stats_allocated(record, Int64(bytes))
        return (
            memory,
            .system(statisticsID: statisticsID, alignment: max(alignment, SystemMemoryAllocator.mallocAlignment))
        )
    }

    /// `realloc` for this allocator's own malloc-aligned buffers; nil for anything else. A
    /// `realloc` failure is an out-of-memory error (the C library left the block as it was).
    @_spi(AllocatorImplementation)
    public func resizeRaw(_ allocation: RawAllocation, to request: AllocationRequest) throws(AllocationError) -> RawAllocation? {
        // realloc(p, 0) may free p: a request outside the contract must not get that far.
        guard request.byteCount > 0, allocation.byteCount > 0 else { throw Self.outsideContract(allocation, request) }
        let deallocator = allocation.deallocator
        guard deallocator.kind == .system, deallocator.payload == UInt(statisticsID),
            deallocator.alignment <= SystemMemoryAllocator.mallocAlignment,
            request.alignment <= SystemMemoryAllocator.mallocAlignment
        else { return nil }
        guard let memory = Kernel.heapRealloc(allocation.base, request.byteCount) else {
            throw .outOfMemory(
                byteCount: request.byteCount,
                backend: "realloc (resizing \(allocation.byteCount) B; the buffer is unchanged)", errno: .noMemory)
        }
        zg_stats_freed(record, Int64(allocation.byteCount))
        zg_stats_allocated(record, Int64(request.byteCount))
        return RawAllocation(base: memory, byteCount: request.byteCount, deallocator: deallocator)
    }

    /// The error for a resizeRaw call the typed resize never makes (no bytes, old or new).
    static func outsideContract(_ allocation: RawAllocation, _ request: AllocationRequest) -> AllocationError {
        .invalidArgument(
            "resizeRaw of \(allocation.byteCount) B to \(request): both sizes must be at least one byte "
                + "(resize(_:to:) frees a buffer resized to 0 and allocates an empty one afresh)")
    }
}
