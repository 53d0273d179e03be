/// One anonymous mapping handed out as a buffer: what was mapped, how, and how to give it back.
/// Immutable; thread-safe.
final class MappingRecord: BufferOwner, @unchecked Sendable {
    let engine: MappingEngine
    let base: UnsafeMutableRawPointer
    /// Mapped bytes (whole pages of `obtained`); what munmap gets.
    let length: Int
    let requested: PageSize
    let obtained: PageSize
    let fallbackReason: String?
    let populate: PopulateMode
    let locked: Bool
    let policy: NumaPolicy?
    let reused: Bool
    let transparentHugeBytes: Int?
    let alignment: Int

    init(engine: MappingEngine, base: UnsafeMutableRawPointer, length: Int, requested: PageSize, obtained: PageSize,
         fallbackReason: String?, populate: PopulateMode, locked: Bool, policy: NumaPolicy?, reused: Bool,
         transparentHugeBytes: Int?, alignment: Int) {
        self.engine = engine
        self.base = base
        self.length = length
        self.requested = requested
        self.obtained = obtained
        self.fallbackReason = fallbackReason
        self.populate = populate
        self.locked = locked
        self.policy = policy
        self.reused = reused
        self.transparentHugeBytes = transparentHugeBytes
        self.alignment = alignment
    }

    override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        engine.recycle(self, byteCount: byteCount)
    }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        var backing = BufferBacking(backend: engine.backend, alignment: alignment, reservedByteCount: length,
                                    requestedPageSize: requested, obtainedPageSize: obtained)
        backing.fallbackReason = fallbackReason
        backing.populate = populate
        backing.isLocked = locked
        backing.numaPolicy = policy
        backing.isReused = reused
        backing.transparentHugeBytes = transparentHugeBytes
        return backing
    }

    /// The mapping record behind `buffer`, through debug wrappers; nil for other memory.
    static func of<T>(_ buffer: borrowing UnmanagedBuffer<T>) -> MappingRecord? {
        buffer.owner(ofType: MappingRecord.self)
    }
}
