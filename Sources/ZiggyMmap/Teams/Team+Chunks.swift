// Safe chunked access: each member gets its disjoint part of a buffer as a MutableSpan that cannot
// leave the call, in the schedule the buffer was placed with, plus read-only views of other
// buffers. The buffer being written is taken `inout` — exclusive for the whole call — so it cannot
// also be passed as one of the buffers read (the compiler rejects that), and no member can reach
// another member's part: the data race a stencil would risk reading the grid it writes is not
// expressible. The pointer arithmetic is the library's, inside; the callers write no `unsafe`.
extension Team {
    /// Runs `body` on every member with its part of `buffer`: the part's range of indices and a
    /// mutable view of exactly those elements (element `range.lowerBound` is `part[0]`).
    ///
    /// The parts follow ``schedule(for:)``: for a buffer this team allocated (blocked placement),
    /// the parts its pages are bound by; otherwise this team's static schedule for the buffer's
    /// page size. A member with several parts gets one call per part; an empty part, none.
    public func forEachChunk<T, E: Error>(
        of buffer: inout UnmanagedBuffer<T>,
        _ body: @Sendable (Member, Range<Int>, inout MutableSpan<T>) throws(E) -> Void
    ) throws(E) {
        let written = unsafe SendableAddress(buffer.unsafeBaseAddress)
        try forEachPart(schedule(for: buffer)) { (member, range) throws(E) in
            var part = unsafe MutableSpan(_unsafeElements: written.elements(T.self, range))
            try body(member, range, &part)
        }
    }

    /// ``forEachChunk(of:_:)`` with a read-only view of all of `source` (neighbours' elements too:
    /// a stencil's halo).
    public func forEachChunk<T, S, E: Error>(
        of buffer: inout UnmanagedBuffer<T>, reading source: borrowing UnmanagedBuffer<S>,
        _ body: @Sendable (Member, Range<Int>, inout MutableSpan<T>, Span<S>) throws(E) -> Void
    ) throws(E) {
        let written = unsafe SendableAddress(buffer.unsafeBaseAddress)
        let read = unsafe SendableAddress(source.unsafeBaseAddress)
        let readCount = source.count
        try forEachPart(schedule(for: buffer)) { (member, range) throws(E) in
            var part = unsafe MutableSpan(_unsafeElements: written.elements(T.self, range))
            let all = unsafe Span(_unsafeElements: UnsafeBufferPointer(read.elements(S.self, 0..<readCount)))
            try body(member, range, &part, all)
        }
    }

    /// ``forEachChunk(of:_:)`` with read-only views of all of `first` and `second` (Triad reads
    /// `b` and `c` while writing its part of `a`).
    public func forEachChunk<T, S1, S2, E: Error>(
        of buffer: inout UnmanagedBuffer<T>, reading first: borrowing UnmanagedBuffer<S1>,
        _ second: borrowing UnmanagedBuffer<S2>,
        _ body: @Sendable (Member, Range<Int>, inout MutableSpan<T>, Span<S1>, Span<S2>) throws(E) -> Void
    ) throws(E) {
        let written = unsafe SendableAddress(buffer.unsafeBaseAddress)
        let read1 = unsafe SendableAddress(first.unsafeBaseAddress)
        let read2 = unsafe SendableAddress(second.unsafeBaseAddress)
        let (count1, count2) = (first.count, second.count)
        try forEachPart(schedule(for: buffer)) { (member, range) throws(E) in
            var part = unsafe MutableSpan(_unsafeElements: written.elements(T.self, range))
            let all1 = unsafe Span(_unsafeElements: UnsafeBufferPointer(read1.elements(S1.self, 0..<count1)))
            let all2 = unsafe Span(_unsafeElements: UnsafeBufferPointer(read2.elements(S2.self, 0..<count2)))
            try body(member, range, &part, all1, all2)
        }
    }

    /// Runs `body` on every member with its part of `buffer`, read-only (for reductions and
    /// checks): the range and a view of all of the buffer.
    public func forEachChunk<T, E: Error>(
        reading buffer: borrowing UnmanagedBuffer<T>, _ body: @Sendable (Member, Range<Int>, Span<T>) throws(E) -> Void
    ) throws(E) {
        let read = unsafe SendableAddress(buffer.unsafeBaseAddress)
        let count = buffer.count
        try forEachPart(schedule(for: buffer)) { (member, range) throws(E) in
            let all = unsafe Span(_unsafeElements: UnsafeBufferPointer(read.elements(T.self, 0..<count)))
            try body(member, range, all)
        }
    }

    /// The schedule this team uses for `buffer`: the one its blocks were bound with when this team
    /// allocated it (kept with the mapping: nothing is recomputed or read), else this team's
    /// schedule for the page size the buffer obtained.
    public func schedule<T>(for buffer: borrowing UnmanagedBuffer<T>) -> Team.Schedule {
        schedule(for: buffer, granule: 1)
    }

    /// ``schedule(for:)`` with every cut also on a multiple of `granule` bytes (1 for flat
    /// buffers; a grid's row or plane bytes for its blocks): the schedule the buffer's pages were
    /// bound with when this team allocated it with that granule, else this team's schedule for
    /// the page size the buffer obtained.
    func schedule<T>(for buffer: borrowing UnmanagedBuffer<T>, granule: Int) -> Team.Schedule {
        let record = MappingRecord.of(buffer)
        if let mapping = record?.mapping, let blocks = mapping.schedule, mapping.scheduleTeam == ObjectIdentifier(self),
            blocks.parts.allSatisfy({ $0.elements.lowerBound % granule == 0 })
        {
            return blocks.retyped(count: buffer.count, stride: MemoryLayout<T>.stride)
        }
        // Another team's blocked buffer: this team's members over the nodes its blocks are on.
        let blockNodes = record?.mapping.schedule.map { NodeSet($0.parts.map(\.node)) }
        return schedule(
            T.self, count: buffer.count, pageSize: record?.mapping.obtained ?? .base, memoryNodes: blockNodes,
            granule: granule)
    }

    /// Runs `work(member, range)` for every non-empty part, each part on the member that owns it.
    func forEachPart<E: Error>(_ schedule: Team.Schedule, _ work: @Sendable (Member, Range<Int>) throws(E) -> Void) throws(E) {
        try forEachPiece(schedule.parts.filter { !$0.elements.isEmpty }, owner: \.member) { (member, part) throws(E) in
            try work(member, part.elements)
        }
    }

    /// Runs `work(member, piece)` for every piece (a part of a buffer, a block of a grid), each
    /// on the member that owns it, in order: the one grouping of work by member.
    func forEachPiece<Piece: Sendable, E: Error>(
        _ pieces: [Piece], owner: (Piece) -> Int, _ work: @Sendable (Member, Piece) throws(E) -> Void
    ) throws(E) {
        let byMember = Dictionary(grouping: pieces, by: owner)
        try run { (member: Member) throws(E) in
            for piece in byMember[member.index] ?? [] { try work(member, piece) }
        }
    }
}

/// An address handed to the members of a region, which only use it while the caller's access to
/// the buffer (inout or borrowing) lasts.
struct SendableAddress: @unchecked Sendable {
    let bits: UInt
    init<T>(_ pointer: UnsafeMutablePointer<T>) { bits = UInt(bitPattern: pointer) }

    func elements<T>(_ type: T.Type, _ range: Range<Int>) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(start: UnsafeMutablePointer<T>(bitPattern: bits)! + range.lowerBound, count: range.count)
    }
}

extension Team {
    /// A blocked buffer of `count` elements of `type` for this team (Chapel's Block distribution):
    /// cut by the team's static schedule (``Team/Schedule``) into contiguous parts on page
    /// boundaries of the page size obtained, each part bound to its member's node — or with
    /// `memoryNodes` to one of those nodes — and populated by the member that will use it.
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int, pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict,
        memoryNodes: NodeSet? = nil, populate: PopulateMode = .parallel(threads: Int.max)
    ) throws(MmapError) -> UnmanagedBuffer<T> {
        try NumaAllocator(
            blockedFor: self, memoryNodes: memoryNodes, pageSize: pageSize, fallback: fallback,
            populate: populate
        ).allocate(T.self, count: count)
    }

    /// A blocked buffer of a ``TrivialElement`` type (such as `Complex<Double>`), its layout
    /// checked at run time (see ``allocate(_:count:pageSize:fallback:memoryNodes:populate:)-907kp``).
    @_disfavoredOverload
    public func allocate<T: TrivialElement>(
        _ type: T.Type, count: Int, pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict,
        memoryNodes: NodeSet? = nil, populate: PopulateMode = .parallel(threads: Int.max)
    ) throws(MmapError) -> UnmanagedBuffer<T> {
        try NumaAllocator(
            blockedFor: self, memoryNodes: memoryNodes, pageSize: pageSize, fallback: fallback,
            populate: populate
        ).allocate(T.self, count: count)
    }
}
