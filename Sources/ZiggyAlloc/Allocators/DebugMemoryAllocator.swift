import Glibc
import Logging
import ZiggyKernel

extension LeakReport {
    /// What a ``DebugMemoryAllocator`` does with leaks when it ends (the .NET Log / Throw / Break).
    public enum Action: Sendable {
        /// Log the report at `error` level through swift-log.
        case log
        /// ``DebugMemoryAllocator/finish()`` throws the ``LeakReport``; an allocator that ends without
        /// `finish()` traps.
        case `throw`
        /// Trap with the report (stops in a debugger).
        case trap
    }
}

/// Wraps any allocator and tracks every buffer it hands out with the caller's `#fileID`, `#line`
/// and `#function`, to report leaks with their allocation sites (the .NET `DebugMemoryAllocator`,
/// Zig's `DebugAllocator`).
///
/// The report is available at any time (``leakReport``) and is acted on when the allocator ends
/// (its scope closes, or ``finish()``), according to ``LeakReport/Action``: log it, throw it, or trap.
/// Freed memory is overwritten with `0xDB` bytes by default, so a use after free through an
/// unsafe pointer reads an obvious pattern instead of stale data. Only pages already resident are
/// overwritten (`mincore`): scribbling never faults in memory, so a 16 GiB lazy mapping with one
/// touched page stays cheap to free.
///
/// Resizing through it (``UnmanagedMemoryAllocator/resize(_:to:fileID:line:function:)``) always
/// moves: a new tracked allocation from the wrapped allocator, a copy, and a tracked free of the
/// old buffer, so the leak report names the resize's call site and stays exact.
///
/// Thread-safe when the wrapped allocator is (tracking takes a lock per allocation and per free:
/// a debugging tool, not a fast path). Buffers may outlive the allocator: freeing them later is
/// still recorded, and the wrapped allocator's memory stays valid as long as that allocator does.
public struct DebugMemoryAllocator<Base: UnmanagedMemoryAllocator & ~Copyable>: ~Copyable, UnmanagedMemoryAllocator {
    // `Failure` is `Base.Failure`, inferred from the witnesses below.
    @_spi(AllocatorImplementation)
    public static func failure(forInvalidRequest error: AllocationError) -> Base.Failure {
        Base.failure(forInvalidRequest: error)
    }

    /// The wrapped allocator. (The name given at `init` is `leakReport.allocatorName`.)
    public let base: Base
    let tracker: DebugTracker

    /// Tracks allocations made through `base`.
    /// - Parameters:
    ///   - name: Names the component in reports.
    ///   - base: The allocator that allocates and frees the memory.
    ///   - onLeak: What the end of the allocator does with leaks.
    ///   - scribble: Overwrite freed memory with `0xDB`.
    ///   - logger: Where `.log` reports go (default label `ZiggyAlloc.Debug`).
    public init(
        _ name: String, wrapping base: consuming Base, onLeak: LeakReport.Action = .log, scribble: Bool = true,
        logger: Logger = Logger(label: "ZiggyAlloc.Debug")
    ) {
        self.base = base
        tracker = DebugTracker(name: name, action: onLeak, scribble: scribble, logger: logger)
    }

    deinit {
        tracker.end(explicitly: false)
    }

    public var supportsIndividualDeallocation: Bool { base.supportsIndividualDeallocation }

    /// Counters of the buffers allocated through this wrapper.
    public var statistics: AllocationStatistics { tracker.recorder.snapshot }

    @_spi(AllocatorImplementation)
    public func allocateRaw(_ request: AllocationRequest) throws(Base.Failure) -> RawAllocation {
        tracker.track(try base.allocateRaw(request), request: request)
    }

    /// The buffers allocated through this wrapper and not yet freed, oldest first.
    public var leakReport: LeakReport { tracker.report() }

    /// Ends tracking now and acts on leaks: in `.throw` mode throws the ``LeakReport`` when there are any.
    public consuming func finish() throws(LeakReport) {
        if let report = tracker.end(explicitly: true) { throw report }
    }
}

/// Shared by the allocator and its buffers' records.
final class DebugTracker: Sendable {
    struct Live {
        var records: [ObjectIdentifier: DebugRecordInfo] = [:]
        var sequence = 0
        var ended = false
    }

    let name: String
    let action: LeakReport.Action
    let scribble: Bool
    let logger: Logger
    let recorder = StatisticsRecorder()
    let live = Locked(Live())

    init(name: String, action: LeakReport.Action, scribble: Bool, logger: Logger) {
        self.name = name
        self.action = action
        self.scribble = scribble
        self.logger = logger
    }

    func insert(_ record: DebugRecord, address: UInt) {
        live.withLock { state in
            state.sequence += 1
            record.sequence = state.sequence
            state.records[ObjectIdentifier(record)] = record.info(address: address)
        }
        recorder.recordAllocation(byteCount: record.byteCount)
    }

    /// `inner`, freed through a record this tracker lists until the free.
    func track(_ inner: RawAllocation, request: AllocationRequest) -> RawAllocation {
        let record = DebugRecord(tracker: self, inner: inner.deallocator, request: request)
        insert(record, address: UInt(bitPattern: inner.base))
        return RawAllocation(base: inner.base, byteCount: inner.byteCount, deallocator: .owner(record))
    }

    func remove(_ record: DebugRecord, byteCount: Int) {
        live.withLock { state in _ = state.records.removeValue(forKey: ObjectIdentifier(record)) }
        recorder.recordDeallocation(byteCount: byteCount)
    }

    func report() -> LeakReport {
        let leaks = live.withLock { state in
            state.records.values.sorted { $0.sequence < $1.sequence }.map(\.leak)
        }
        return LeakReport(allocatorName: name, leaks: leaks)
    }

    /// Acts on leaks once; returns the report when the caller must throw it.
    @discardableResult
    func end(explicitly: Bool) -> LeakReport? {
        let first = live.withLock { state in
            defer { state.ended = true }
            return !state.ended
        }
        guard first else { return nil }
        let report = report()
        guard !report.leaks.isEmpty else { return nil }
        switch action {
        case .log:
            logger.error("\(report.description)")
            return nil
        case .throw:
            if explicitly { return report }
            fatalError("DebugMemoryAllocator ended without finish() in .throw mode with leaks:\n\(report)")
        case .trap:
            fatalError("DebugMemoryAllocator found leaks:\n\(report)")
        }
    }
}

struct DebugRecordInfo: Sendable {
    let leak: LeakReport.Leak
    var sequence: Int { leak.sequence }
}

/// One tracked buffer: removes itself from the tracker and frees through the wrapped allocator.
final class DebugRecord: BufferOwner, @unchecked Sendable {
    let tracker: DebugTracker
    let inner: BufferDeallocator
    let byteCount: Int
    let elementCount: Int
    let elementType: Any.Type
    let site: LeakReport.CallSite
    var sequence = 0

    init(tracker: DebugTracker, inner: BufferDeallocator, request: AllocationRequest) {
        self.tracker = tracker
        self.inner = inner
        self.byteCount = request.byteCount
        self.elementCount = request.elementCount
        self.elementType = request.elementType
        self.site = request.site
    }

    func info(address: UInt) -> DebugRecordInfo {
        DebugRecordInfo(
            leak: LeakReport.Leak(
                sequence: sequence, byteCount: byteCount, elementCount: elementCount,
                elementType: String(describing: elementType), site: site, address: address))
    }

    override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        tracker.remove(self, byteCount: byteCount)
        if tracker.scribble && inner.isOwning { Self.scribble(base, byteCount) }
        inner.release(base, byteCount: byteCount)
    }

    override var wrappedOwner: BufferOwner? { inner.ownerObject }

    /// Overwrites the resident pages of the range with `0xDB`, leaving untouched pages untouched.
    /// Small ranges are simply overwritten; larger ones ask `mincore` which pages are resident
    /// (and, should that fail, are left alone rather than faulted in).
    static func scribble(_ base: UnsafeMutableRawPointer, _ byteCount: Int) {
        let page = UInt(KernelConstants.basePageByteCount)
        guard byteCount >= 16 * Int(page) else {
            memset(base, 0xDB, byteCount)
            return
        }
        let first = UInt(bitPattern: base)
        let end = first + UInt(byteCount)
        let start = first / page * page
        guard case .success(let resident) = Kernel.mincore(UnsafeMutableRawPointer(bitPattern: start)!, Int(end - start))
        else { return }
        var index = 0
        while index < resident.count {
            guard resident[index] & 1 != 0 else { index += 1; continue }
            var runEnd = index + 1
            while runEnd < resident.count && resident[runEnd] & 1 != 0 { runEnd += 1 }
            let low = max(first, start + UInt(index) * page)
            let high = min(end, start + UInt(runEnd) * page)
            memset(UnsafeMutableRawPointer(bitPattern: low)!, 0xDB, Int(high - low))
            index = runEnd
        }
    }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        var backing = inner.backing(base, byteCount: byteCount)
        backing.isDebugTracked = true
        return backing
    }
}

extension DebugMemoryAllocator: Sendable where Base: Sendable & ~Copyable {}

extension DebugMemoryAllocator where Base: Sendable {
    /// A copyable stand-in that allocates through the same base and tracker (for `BufferArray`'s
    /// copies on write); it does not end the tracking when it goes.
    var _handle: DebugAllocatorHandle<Base> { DebugAllocatorHandle(base: base, tracker: tracker) }
}

/// Allocates as its ``DebugMemoryAllocator`` does, without owning the end of its tracking.
struct DebugAllocatorHandle<Base: UnmanagedMemoryAllocator & Sendable>: UnmanagedMemoryAllocator, Sendable {
    typealias Failure = Base.Failure
    let base: Base
    let tracker: DebugTracker

    static func failure(forInvalidRequest error: AllocationError) -> Base.Failure {
        Base.failure(forInvalidRequest: error)
    }

    var supportsIndividualDeallocation: Bool { base.supportsIndividualDeallocation }
    var statistics: AllocationStatistics { tracker.recorder.snapshot }

    func allocateRaw(_ request: AllocationRequest) throws(Base.Failure) -> RawAllocation {
        tracker.track(try base.allocateRaw(request), request: request)
    }
}
