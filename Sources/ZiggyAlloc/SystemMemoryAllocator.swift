import CZiggyShims
import Glibc

/// The C library's heap: `malloc`, `posix_memalign` for alignments above 16 bytes, and `calloc`
/// for zeroed requests (the .NET `SystemMemoryAllocator`, and the seed's `ManualAllocator` when
/// buffers are freed with ``UnmanagedBuffer/free()``).
///
/// Thread-safe: share one instance between threads. Statistics are exact under concurrent use and
/// cost about a nanosecond per operation on the creating thread (see ``StatisticsRecorder``).
/// Buffers may outlive the allocator; their frees then go uncounted.
// @unchecked: the only mutable state is the statistics record, updated with atomics or by its
// owner thread only (see CZiggyShims.h).
public final class SystemMemoryAllocator: UnmanagedMemoryAllocator, @unchecked Sendable {
    /// A process-wide instance (the .NET `Z.DefaultAllocator`).
    public static let shared = SystemMemoryAllocator()

    /// glibc's `malloc` alignment on 64-bit Linux.
    @usableFromInline static let mallocAlignment = 16

    @usableFromInline let recorder: StatisticsRecorder
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

    @inlinable @inline(__always)
    public func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        let bytes = request.byteCount
        let alignment = request.alignment
        if bytes == 0 {
            return UnmanagedBuffer(unsafeBase: UnsafeMutablePointer(bitPattern: alignment)!, count: 0, deallocator: .none)
        }
        var memory: UnsafeMutableRawPointer?
        if alignment <= SystemMemoryAllocator.mallocAlignment {
            memory = request.zeroed ? calloc(1, bytes) : malloc(bytes)
        } else {
            let rc = posix_memalign(&memory, alignment, bytes)
            if rc != 0 { memory = nil }
            if request.zeroed, let memory { memset(memory, 0, bytes) }
        }
        guard let memory else {
            throw .outOfMemory(byteCount: bytes, backend: "malloc", errno: ENOMEM)
        }
        zg_stats_allocated(record, Int64(bytes))
        return UnmanagedBuffer(
            unsafeBase: memory.bindMemory(to: UInt8.self, capacity: bytes), count: bytes,
            deallocator: .system(statisticsID: statisticsID, alignment: max(alignment, SystemMemoryAllocator.mallocAlignment)))
    }
}

// Concrete forms of the protocol's typed calls: a generic extension method reaches
// `allocateBytes` of a class through its witness table, which costs more than malloc itself on
// a 64-byte allocation; these call it directly.
extension SystemMemoryAllocator {
    /// Allocates `count` elements of `type` (see ``UnmanagedMemoryAllocator/allocate(_:count:zeroed:fileID:line:function:)``).
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let request = try AllocationRequest(
            T.self, count: count, zeroed: zeroed, site: CallSite(fileID: fileID, line: line, function: function))
        return retype(try allocateBytes(request), request)
    }

    /// Allocates `count` aligned elements of `type` (see ``UnmanagedMemoryAllocator/allocate(_:count:alignment:zeroed:fileID:line:function:)``).
    @inlinable @inline(__always)
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, alignment: Int, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let request = try AllocationRequest(
            T.self, count: count, alignment: alignment, zeroed: zeroed,
            site: CallSite(fileID: fileID, line: line, function: function))
        return retype(try allocateBytes(request), request)
    }
}
