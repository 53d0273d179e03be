import CZiggyShims
import ZiggyKernel

/// The slow paths of ``StatisticsRecorder``: creating and retiring records, filling a thread's
/// record cache, and releasing a thread's cache when it exits. Everything here runs under one
/// lock; the fast paths never take it.
///
/// A record is referenced by its recorder and by every thread cache slot that holds it, and is
/// freed when the last reference goes, so a cached record pointer is always valid.
@usableFromInline
enum StatisticsRegistry {
    struct State {
        var records: [UInt64: UnsafeMutablePointer<zg_stats>] = [:]
        var nextID: UInt64 = 1
    }

    private static let state = Locked(State())

    /// Thread-exit hook: the slot's destructor releases the exiting thread's cache.
    private static let threadExit: Kernel.ThreadExitSlot = {
        guard
            let slot = Kernel.ThreadExitSlot(destructor: { table in
                guard let table else { return }
                StatisticsRegistry.releaseThread(table.assumingMemoryBound(to: zg_thread.self))
            })
        else {
            // PTHREAD_KEYS_MAX (1024) keys already taken by the process: nothing to degrade to
            // (without the hook every exiting thread would leak its cache).
            preconditionFailure("ZiggyAlloc: no thread-specific key left for the statistics (pthread_key_create)")
        }
        return slot
    }()

    static func register() -> (UInt64, UnsafeMutablePointer<zg_stats>) {
        state.withLock { state in
            let thread = currentThreadLocked()
            let raw = Kernel.bookkeepingAllocate(MemoryLayout<zg_stats>.stride, alignment: 64)
            precondition(raw != nil, "ZiggyAlloc: cannot allocate a statistics record")
            let record = raw!.bindMemory(to: zg_stats.self, capacity: 1)
            record.initialize(to: zg_stats())
            let id = state.nextID
            state.nextID += 1
            record.pointee.id = id
            record.pointee.owner_thread = thread.pointee.thread_id
            record.pointee.owner_table = UnsafeRawPointer(thread)
            record.pointee.references = 1
            state.records[id] = record
            installLocked(record, in: thread)
            return (id, record)
        }
    }

    static func unregister(id: UInt64) {
        state.withLock { state in
            guard let record = state.records.removeValue(forKey: id) else { return }
            releaseLocked(record)
        }
    }

    /// Finds the record for `id` after a cache miss and caches it on this thread; nil when the
    /// allocator is gone.
    @usableFromInline
    static func resolveSlow(id: UInt64) -> UnsafeMutablePointer<zg_stats>? {
        state.withLock { state in
            guard let record = state.records[id] else { return nil }
            installLocked(record, in: currentThreadLocked())
            return record
        }
    }

    /// Whether the record `id` is still registered (for tests that check nothing is retained).
    static func isRegistered(_ id: UInt64) -> Bool { state.withLock { $0.records[id] != nil } }

    private static func currentThreadLocked() -> UnsafeMutablePointer<zg_thread> {
        if let thread = zg_thread_get() { return thread }
        let thread = UnsafeMutablePointer<zg_thread>.allocate(capacity: 1)
        thread.initialize(to: zg_thread())
        thread.pointee.thread_id = zg_next_thread_id()
        zg_thread_set(thread)
        threadExit.set(thread)
        return thread
    }

    private static func installLocked(_ record: UnsafeMutablePointer<zg_stats>, in thread: UnsafeMutablePointer<zg_thread>) {
        let id = zg_stats_id(record)
        let index = Int(id & UInt64(ZG_TLS_SLOTS - 1))
        withUnsafeMutableBytes(of: &thread.pointee.slots) { raw in
            let slots = raw.bindMemory(to: zg_tls_slot.self)
            if let old = slots[index].stats {
                if old == record { return }
                releaseLocked(old)
            }
            zg_stats_retain(record)
            slots[index] = zg_tls_slot(
                id: id, stats: record,
                owner: zg_stats_owner(record) == thread.pointee.thread_id ? 1 : 0)
        }
    }

    private static func releaseLocked(_ record: UnsafeMutablePointer<zg_stats>) {
        if zg_stats_release(record) == 0 {
            record.deinitialize(count: 1)
            Kernel.heapFree(record)
        }
    }

    private static func releaseThread(_ thread: UnsafeMutablePointer<zg_thread>) {
        state.withLock { _ in
            withUnsafeMutableBytes(of: &thread.pointee.slots) { raw in
                for slot in raw.bindMemory(to: zg_tls_slot.self) {
                    if let record = slot.stats { releaseLocked(record) }
                }
            }
            if zg_thread_get() == thread { zg_thread_set(nil) }
            thread.deinitialize(count: 1)
            thread.deallocate()
        }
    }
}
