import Glibc
import Logging

/// Wraps any allocator and tracks every buffer it hands out with the caller's `#fileID`, `#line`
/// and `#function`, to report leaks with their allocation sites (the .NET `DebugMemoryAllocator`,
/// Zig's `DebugAllocator`).
///
/// The report is available at any time (``leakReport``) and is acted on when the allocator ends
/// (its scope closes, or ``finish()``), according to ``LeakAction``: log it, throw it, or trap.
/// Freed memory is overwritten with `0xDB` bytes by default, so a use after free through an
/// unsafe pointer reads an obvious pattern instead of stale data.
///
/// Thread-safe when the wrapped allocator is (tracking takes a lock per allocation and per free:
/// a debugging tool, not a fast path). Buffers may outlive the allocator: freeing them later is
/// still recorded, and the wrapped allocator's memory stays valid as long as that allocator does.
/// What a ``DebugMemoryAllocator`` does with leaks when it ends (the .NET Log / Throw / Break).
public enum LeakAction: Sendable {
    /// Log the report at `error` level through swift-log.
    case log
    /// ``DebugMemoryAllocator/finish()`` throws ``LeakError``; an allocator that ends without
    /// `finish()` traps.
    case `throw`
    /// Trap with the report (stops in a debugger).
    case trap
}

public struct DebugMemoryAllocator<Base: UnmanagedMemoryAllocator & ~Copyable>: ~Copyable, UnmanagedMemoryAllocator {
    /// The name leak reports carry.
    public let name: String
    /// The wrapped allocator.
    public let base: Base
    let tracker: DebugTracker

    /// Tracks allocations made through `base`.
    /// - Parameters:
    ///   - name: Names the component in reports.
    ///   - onLeak: What the end of the allocator does with leaks.
    ///   - scribble: Overwrite freed memory with `0xDB`.
    ///   - logger: Where `.log` reports go (default label `ZiggyAlloc.Debug`).
    public init(_ name: String, wrapping base: consuming Base, onLeak: LeakAction = .log, scribble: Bool = true,
                logger: Logger = Logger(label: "ZiggyAlloc.Debug")) {
        self.name = name
        self.base = base
        tracker = DebugTracker(name: name, action: onLeak, scribble: scribble, logger: logger)
    }

    deinit {
        tracker.end(explicitly: false)
    }

    public var supportsIndividualDeallocation: Bool { base.supportsIndividualDeallocation }

    /// Counters of the buffers allocated through this wrapper.
    public var statistics: AllocationStatistics { tracker.recorder.snapshot }

    public func allocateBytes(_ request: AllocationRequest) throws(AllocationError) -> UnmanagedBuffer<UInt8> {
        let buffer = try base.allocateBytes(request)
        // Empty buffers hold nothing and count as no allocation, as in every other allocator.
        if !buffer.isOwning { return buffer }
        let inner = buffer.unsafeDetach()
        let record = DebugRecord(tracker: tracker, inner: inner.deallocator, request: request)
        tracker.insert(record, address: UInt(bitPattern: inner.base))
        return UnmanagedBuffer(unsafeBase: inner.base.assumingMemoryBound(to: UInt8.self), count: inner.byteCount,
                               deallocator: .owner(record))
    }

    /// The buffers allocated through this wrapper and not yet freed, oldest first.
    public var leakReport: LeakReport { tracker.report() }

    /// Ends tracking now and acts on leaks: in `.throw` mode throws ``LeakError`` when there are any.
    public consuming func finish() throws(LeakError) {
        if let report = tracker.end(explicitly: true) { throw LeakError(report: report) }
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
    let action: LeakAction
    let scribble: Bool
    let logger: Logger
    let recorder = StatisticsRecorder()
    let live = Locked(Live())

    init(name: String, action: LeakAction, scribble: Bool, logger: Logger) {
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
        guard !report.isEmpty else { return nil }
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
    let site: CallSite
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
        DebugRecordInfo(leak: LeakReport.Leak(
            sequence: sequence, byteCount: byteCount, elementCount: elementCount,
            elementType: String(describing: elementType), site: site, address: address))
    }

    override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        tracker.remove(self, byteCount: byteCount)
        if tracker.scribble && inner.isOwning { memset(base, 0xDB, byteCount) }
        inner.release(base, byteCount: byteCount)
    }

    override var wrappedOwner: BufferOwner? { inner.ownerObject }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        var backing = inner.backing(base, byteCount: byteCount)
        backing.isDebugTracked = true
        return backing
    }
}
