// Grids split across a team: whole rows (2-D, row-major) or planes (3-D) per member, each block
// starting on a page of the page size obtained, bound to its member's node and first touched by
// that member — the blocked schedule of a flat buffer (`Team.Schedule`) with one more rule: every
// cut is a multiple of the grid's slab (row or plane) bytes, so no row straddles two members'
// pages. The grid's shape is the caller's; only where it is cut is the team's.
extension Team {
    /// One member's block of a grid: whole indices of the grid's slowest dimension
    /// (the first in row-major order, the last in column-major), on one node.
    public struct Block: Sendable, Hashable, CustomStringConvertible {
        /// The member that owns it (writes it in ``Team/forEachBlock(of:_:)``, touched it first).
        public let member: Int
        /// The node its pages are bound to.
        public let node: Int
        /// Its indices along the grid's slowest dimension (rows of a row-major 2-D grid, planes of
        /// a 3-D one; empty when the member's share is below one page-aligned unit).
        public let indices: Range<Int>
        /// Its elements in the grid's storage (``Grid/buffer``), padding included.
        public let elements: Range<Int>

        public var description: String { "member \(member): indices \(indices) on node \(node)" }
    }

    /// A grid of `extents` of `type` for this team, split into blocks of whole rows (or planes)
    /// along its slowest dimension — one block per member, each starting on a page boundary of
    /// the page size obtained, bound to its member's node (or with `memoryNodes` to one of those
    /// nodes) and populated by that member; its first element is aligned to the page or the
    /// padding's multiple, whichever is larger, so every line starts on the padding's boundary. See
    /// ``Grid/Layout/init(_:order:padding:)`` for the shape and
    /// ``allocate(_:count:pageSize:fallback:memoryNodes:populate:)-907kp`` for the rest.
    ///
    /// Blocks are cut in units of the least common multiple of the page and one row (or plane),
    /// shared out as evenly as whole units allow: rows whose byte length is a power of two or a
    /// multiple of the page keep units small (``Grid/Padding/bytes(_:)`` with 4096 makes every
    /// row its own page run). A member whose share is below one unit gets an empty block — a grid
    /// is never cut inside a page. ``blocks(of:)`` and ``placement(of:)`` say where each block is.
    ///
    /// Throws ``MmapError/request(_:)`` for an invalid shape and ``MmapError/invalidArgument(_:)``
    /// when the grid has fewer rows (planes) than the team has members; else what the blocked
    /// allocation throws. Nothing stays allocated after a throw.
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, extents: [Int], order: Grid<T>.Order = .rowMajor, padding: Grid<T>.Padding = .cacheLine,
        pageSize: PageSize = .base, fallback: MmapAllocator.Fallback = .strict, memoryNodes: NodeSet? = nil,
        populate: PopulateMode = .parallel(threads: Int.max)
    ) throws(MmapError) -> Grid<T> {
        let layout: Grid<T>.Layout
        do {
            layout = try Grid<T>.Layout(extents, order: order, padding: padding)
        } catch {
            throw .request(error)
        }
        let slabs = layout.extents[layout.slowestDimension]
        guard slabs >= count else {
            throw .invalidArgument(
                "Team.allocate: a grid of extents \(extents) has \(slabs) indices along dimension "
                    + "\(layout.slowestDimension), fewer than the team's \(count) members; "
                    + "make the grid larger or the team smaller")
        }
        // A mapping starts on a page; a padding above the page (lines on 8 KiB, 2 MiB) needs the
        // start aligned to it too, or its lines start on the padding only relative to the grid.
        let alignment = max(64, padding.byteMultiple, MemoryLayout<T>.alignment)
        let buffer = try NumaAllocator(
            blockedFor: self, memoryNodes: memoryNodes, pageSize: pageSize, fallback: fallback, populate: populate,
            granule: Self.slabBytes(layout)
        ).allocate(T.self, count: layout.count, alignment: alignment)
        do {
            return try Grid(buffer, layout: layout)
        } catch {
            throw .request(error)
        }
    }

    /// The blocks this team works `grid` in, ascending: the ones its pages were bound by when this
    /// team allocated it (kept with the mapping: nothing is recomputed or read), else this team's
    /// blocks for the page size the grid's storage obtained.
    public func blocks<T>(of grid: borrowing Grid<T>) -> [Block] {
        let layout = grid.layout
        let slab = layout.strides[layout.slowestDimension]
        return schedule(for: grid.buffer, granule: Self.slabBytes(layout)).parts.map { part in
            Block(
                member: part.member, node: part.node,
                indices: part.elements.lowerBound / slab..<(part.elements.upperBound + slab - 1) / slab,
                elements: part.elements)
        }
    }

    /// Runs `body` on every member with each of its blocks of `grid` (see ``blocks(of:)``) and a
    /// mutable view of exactly that block, indexed with the grid's own indices.
    ///
    /// The grid is taken `inout` — exclusive for the whole call — so it cannot also be read in
    /// the region, and a member reaches only its own block: writing another member's block, or
    /// keeping the view past the call, does not compile. An empty block gets no call.
    public func forEachBlock<T, E: Error>(
        of grid: inout Grid<T>, _ body: @Sendable (Member, Block, inout Grid<T>.MutableView) throws(E) -> Void
    ) throws(E) {
        let blocks = self.blocks(of: grid)
        let layout = grid.layout
        let written = unsafe SendableAddress(grid.buffer.unsafeBaseAddress)
        try forEachBlock(blocks) { (member, block) throws(E) in
            var view = Grid<T>.MutableView(_unsafeStart: written.pointer(T.self), layout: layout, slowest: block.indices)
            try body(member, block, &view)
        }
    }

    /// ``forEachBlock(of:_:)`` with a read-only view of `source` (a grid of the same extents and
    /// order) over the member's block and `halo` more indices on each side of it along the slowest
    /// dimension, clipped to the grid: a stencil's neighbour rows.
    ///
    /// Throws ``MmapError/invalidArgument(_:)`` — before any member runs — when the shapes differ
    /// or `halo` is negative or wider than a non-empty block; else the error of the lowest member
    /// whose `body` threw.
    public func forEachBlock<T, S>(
        of grid: inout Grid<T>, reading source: borrowing Grid<S>, halo: Int = 0,
        _ body: @Sendable (Member, Block, inout Grid<T>.MutableView, Grid<S>.View) throws(MmapError) -> Void
    ) throws(MmapError) {
        let layout = grid.layout
        let sourceLayout = source.layout
        guard sourceLayout.extents == layout.extents, sourceLayout.slowestDimension == layout.slowestDimension else {
            throw .invalidArgument(
                "forEachBlock: the grid read (\(sourceLayout)) must have the extents and order of the grid written (\(layout))")
        }
        let blocks = self.blocks(of: grid)
        let narrowest = blocks.filter { !$0.indices.isEmpty }.min { $0.indices.count < $1.indices.count }
        guard halo >= 0, halo <= narrowest?.indices.count ?? 0 else {
            throw .invalidArgument(
                "forEachBlock: halo \(halo) must be from 0 to the narrowest block's "
                    + "\(narrowest?.indices.count ?? 0) indices (\(narrowest.map { "\($0)" } ?? "no block"))")
        }
        let slabs = layout.extents[layout.slowestDimension]
        let written = unsafe SendableAddress(grid.buffer.unsafeBaseAddress)
        let read = unsafe SendableAddress(source.buffer.unsafeBaseAddress)
        try forEachBlock(blocks) { (member, block) throws(MmapError) in
            var view = Grid<T>.MutableView(_unsafeStart: written.pointer(T.self), layout: layout, slowest: block.indices)
            let around = max(0, block.indices.lowerBound - halo)..<min(slabs, block.indices.upperBound + halo)
            let neighbours = Grid<S>.View(_unsafeStart: read.pointer(S.self), layout: sourceLayout, slowest: around)
            try body(member, block, &view, neighbours)
        }
    }

    /// Where each block of `grid` is, asked of the kernel (`move_pages`, sampled as
    /// ``UnmanagedBuffer/placement(elements:maximumSamples:)`` is): the report a user prints to
    /// show that every member's block was first touched on its node.
    public func placement<T>(of grid: borrowing Grid<T>) throws(MmapError) -> BlockPlacement {
        let blocks = self.blocks(of: grid)
        var reports: [PlacementReport] = []
        for block in blocks {
            reports.append(try grid.buffer.placement(elements: block.elements))
        }
        return BlockPlacement(blocks: blocks, reports: reports)
    }

    /// Runs `work(member, block)` for every non-empty block, each on the member that owns it.
    private func forEachBlock<E: Error>(_ blocks: [Block], _ work: @Sendable (Member, Block) throws(E) -> Void) throws(E) {
        try forEachPiece(blocks.filter { !$0.indices.isEmpty }, owner: \.member, work)
    }

    /// Bytes of one index of the slowest dimension (a padded row, or a plane): the unit a grid's
    /// blocks are made of.
    static func slabBytes<T>(_ layout: Grid<T>.Layout) -> Int {
        layout.strides[layout.slowestDimension] * MemoryLayout<T>.stride
    }
}

extension SendableAddress {
    func pointer<T>(_ type: T.Type) -> UnsafeMutablePointer<T> { UnsafeMutablePointer<T>(bitPattern: bits)! }
}
