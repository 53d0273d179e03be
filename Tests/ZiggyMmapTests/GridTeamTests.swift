import Synchronization
import Testing
import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

@Suite("Grids split across a team")
struct GridTeamTests {
    @Test("a team's grid is cut between rows on page boundaries, each block on its member's node and written by it")
    func blockedGrid() throws {
        let team = try Team()
        // 1001 columns of Double padded to 1008 (8064 B rows): a block is a whole number of
        // 32-row units (lcm(8064, 4096) = 258048 B), so no row straddles two members' pages.
        var grid = try team.allocate(Double.self, extents: [301, 1001])
        #expect(grid.layout.leadingDimension == 1008)
        let blocks = team.blocks(of: grid)
        #expect(blocks.count == team.count)
        #expect(blocks.first?.indices.lowerBound == 0)
        #expect(blocks.last?.indices.upperBound == 301)
        for (a, b) in zip(blocks, blocks.dropFirst()) { #expect(a.indices.upperBound == b.indices.lowerBound) }
        for block in blocks {
            #expect(block.elements.lowerBound * 8 % 4096 == 0)
            #expect(block.elements.lowerBound == block.indices.lowerBound * 1008)
        }
        team.forEachBlock(of: &grid) { member, block, view in
            for i in view.indices(0) {
                for j in view.indices(1) { view[i, j] = Double(member.index * 1_000_000 + i) }
            }
        }
        for block in blocks {
            for i in block.indices { #expect(grid[i, 1000] == Double(block.member * 1_000_000 + i)) }
        }
        let placed = try team.placement(of: grid)
        #expect(placed.isOnBlockNodes, "\(placed)")
    }

    @Test("a stencil reads the neighbours' rows through the halo view")
    func halo() throws {
        let team = try Team()
        var source = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
        var target = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
        team.forEachBlock(of: &source) { _, _, view in
            for i in view.indices(0) { for j in view.indices(1) { view[i, j] = Double(i * 1000 + j) } }
        }
        try team.forEachBlock(of: &target, reading: source, halo: 1) { _, block, out, input in
            #expect(input.indices(0).lowerBound == max(0, block.indices.lowerBound - 1))
            for i in out.indices(0) where i > 0 && i < 63 {
                for j in 1..<511 {
                    out[i, j] = input[i - 1, j] + input[i + 1, j] + input[i, j - 1] + input[i, j + 1]
                }
            }
        }
        #expect(target[10, 10] == 4 * Double(10 * 1000 + 10))
        #expect(throws: MmapError.self) {
            try team.forEachBlock(of: &target, reading: source, halo: 1000) { _, _, _, _ in }
        }
    }
}

// MARK: shapes, blocks and views

/// A team grid's shape: 2-D or 3-D, row- or column-major, padded or not.
struct TeamGridCase: Sendable, CustomTestStringConvertible {
    enum Pad: Sendable { case none, cacheLine, page }
    let extents: [Int]
    let columnMajor: Bool
    let pad: Pad
    /// Members of an oversubscribed team (nil: one per allowed CPU).
    let members: Int?

    var order: Grid<Double>.Order { columnMajor ? .columnMajor : .rowMajor }
    var padding: Grid<Double>.Padding {
        switch pad {
        case .none: .none
        case .cacheLine: .cacheLine
        case .page: .bytes(4096)
        }
    }

    func team() throws -> Team {
        if let members { try Team(threads: members, oversubscribe: true) } else { try Team() }
    }

    var testDescription: String {
        "\(extents) \(columnMajor ? "column" : "row")-major, \(pad) padding, \(members.map { "\($0) members" } ?? "a team per CPU")"
    }

    static let all: [TeamGridCase] = [
        // 301 rows of 1008 doubles (8064 B): units of 32 rows; 301 divides by neither 2 nor 3.
        TeamGridCase(extents: [301, 1001], columnMajor: false, pad: .cacheLine, members: nil),
        TeamGridCase(extents: [301, 1001], columnMajor: false, pad: .cacheLine, members: 3),
        // Column-major: 301 columns of 1000 (8000 B), units of 64 columns.
        TeamGridCase(extents: [1000, 301], columnMajor: true, pad: .cacheLine, members: 3),
        // 3-D planes of 19 × 24 doubles (3648 B): units of 256 planes, 600 planes.
        TeamGridCase(extents: [600, 19, 23], columnMajor: false, pad: .cacheLine, members: nil),
        // Rows padded to a page: every plane (10 pages) is a unit; 41 planes over 3 members.
        TeamGridCase(extents: [9, 10, 41], columnMajor: true, pad: .page, members: 3),
        TeamGridCase(extents: [41, 3, 500], columnMajor: false, pad: .page, members: 2),
        // Unpadded odd rows (1003 × 8 B): lcm with the page is 1003 pages, a unit of 4096 rows.
        TeamGridCase(extents: [9000, 1003], columnMajor: false, pad: .none, members: 2),
    ]
}

/// Calls `body` with every index of `view` (rank 2: k is 0), which it may write through.
private func forEachIndex(_ view: inout Grid<Double>.MutableView, _ body: (inout Grid<Double>.MutableView, Int, Int, Int) -> Void) {
    let (rows, columns, planes) = (view.indices(0), view.indices(1), view.rank == 3 ? view.indices(2) : 0..<1)
    for i in rows { for j in columns { for k in planes { body(&view, i, j, k) } } }
}

extension Grid<Double> {
    /// `self[i, j]` or `self[i, j, k]` by rank.
    subscript(any i: Int, _ j: Int, _ k: Int) -> Double {
        get { layout.rank == 3 ? self[i, j, k] : self[i, j] }
        set { if layout.rank == 3 { self[i, j, k] = newValue } else { self[i, j] = newValue } }
    }
}

extension Grid<Double>.MutableView {
    subscript(any i: Int, _ j: Int, _ k: Int) -> Double {
        get { rank == 3 ? self[i, j, k] : self[i, j] }
        set { if rank == 3 { self[i, j, k] = newValue } else { self[i, j] = newValue } }
    }
}

/// Checks that `blocks` cover `0..<extent` of the slowest dimension once, in order, each a whole
/// number of slabs starting `pageBytes`-aligned from the start of the storage.
private func expectBlocksCover(
    _ blocks: [Team.Block], layout: Grid<Double>.Layout, pageBytes: Int, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let slowest = layout.slowestDimension
    let slab = layout.strides[slowest]
    var next = 0
    for block in blocks {
        #expect(block.indices.lowerBound == next, "\(what): \(blocks)", sourceLocation: sourceLocation)
        next = block.indices.upperBound
        #expect(
            block.elements == block.indices.lowerBound * slab..<block.indices.upperBound * slab, "\(what): \(block)",
            sourceLocation: sourceLocation)
        #expect(
            block.elements.lowerBound * 8 % pageBytes == 0, "\(what): \(block) starts inside a page",
            sourceLocation: sourceLocation)
    }
    #expect(next == layout.extents[slowest], "\(what): \(blocks)", sourceLocation: sourceLocation)
}

/// Has every member of `team` add its number + 1 to each element of its block, then checks that
/// each member saw exactly its block (view ranges) and that every element was written once, by
/// the owner of its block.
private func writeBlocksOnce(
    _ team: Team, _ grid: inout Grid<Double>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let layout = grid.layout
    let slowest = layout.slowestDimension
    let blocks = team.blocks(of: grid)
    let wrongViews = Atomic<Int>(0)
    let calls = Atomic<Int>(0)
    try team.forEachBlock(of: &grid) { (member, block, view) throws(MmapError) in
        calls.add(1, ordering: .relaxed)
        var right = block.member == member.index && view.rank == layout.rank && view.indices(slowest) == block.indices
        for d in 0..<layout.rank where d != slowest { right = right && view.indices(d) == 0..<layout.extents[d] }
        if !right { wrongViews.add(1, ordering: .relaxed) }
        forEachIndex(&view) { view, i, j, k in view[any: i, j, k] += Double(member.index + 1) }
    }
    #expect(wrongViews.load(ordering: .relaxed) == 0, "\(what)", sourceLocation: sourceLocation)
    #expect(calls.load(ordering: .relaxed) == blocks.filter { !$0.indices.isEmpty }.count, sourceLocation: sourceLocation)
    var owner = [Int](repeating: -1, count: layout.extents[slowest])
    for block in blocks { for index in block.indices { owner[index] = block.member } }
    var wrong = 0
    let third = layout.rank == 3 ? layout.extents[2] : 1
    for i in 0..<layout.extents[0] {
        for j in 0..<layout.extents[1] {
            for k in 0..<third {
                let index = [i, j, k][slowest]
                if grid[any: i, j, k] != Double(owner[index] + 1) { wrong += 1 }
            }
        }
    }
    #expect(
        wrong == 0, "\(what): \(wrong) elements not written exactly once by their block's member", sourceLocation: sourceLocation)
}

extension GridTeamTests {
    @Test(
        "blocks cover the slowest dimension once, on page boundaries; each member writes only its block",
        arguments: TeamGridCase.all)
    func blocksOfShapes(_ c: TeamGridCase) throws {
        let team = try c.team()
        var grid = try team.allocate(Double.self, extents: c.extents, order: c.order, padding: c.padding)
        let layout = grid.layout
        #expect(layout.extents == c.extents && layout.order == c.order)
        let blocks = team.blocks(of: grid)
        #expect(Set(blocks.map(\.member)) == Set(0..<team.count), "\(blocks)")
        expectBlocksCover(blocks, layout: layout, pageBytes: PageSize.basePageByteCount, c.testDescription)
        // The storage is a mapping: page-aligned, so block starts are page-aligned addresses.
        #expect(UInt(bitPattern: grid.buffer.unsafeBaseAddress) % UInt(PageSize.basePageByteCount) == 0)
        try writeBlocksOnce(team, &grid, c.testDescription)
        let placed = try team.placement(of: grid)
        #expect(placed.blocks == blocks)
        #expect(placed.isOnBlockNodes, "\(placed)")
    }

    @Test("a grid smaller than one page-and-row unit goes whole to one member; the others get empty blocks and no call")
    func smallerThanAUnit() throws {
        let team = try Team(threads: 3, oversubscribe: true)
        // Rows of 100 doubles (800 B): a unit is lcm(800, 4096) = 102400 B, 128 rows; 50 rows is less.
        var grid = try team.allocate(Double.self, extents: [50, 100], padding: .none)
        let blocks = team.blocks(of: grid)
        #expect(blocks.filter { !$0.indices.isEmpty }.map(\.indices) == [0..<50], "\(blocks)")
        #expect(blocks.count == 3)
        try writeBlocksOnce(team, &grid, "50 × 100")
        // A halo is bounded by the narrowest non-empty block.
        let source = try team.allocate(Double.self, extents: [50, 100], padding: .none)
        try team.forEachBlock(of: &grid, reading: source, halo: 50) { _, _, _, _ in }
        #expect(throws: MmapError.self) { try team.forEachBlock(of: &grid, reading: source, halo: 51) { _, _, _, _ in } }
    }

    @Test("blocks(of:) of a grid from the system heap still cuts between rows (planes), page-aligned from its start")
    func blocksOfSystemGrid() throws {
        let team = try Team(threads: 3, oversubscribe: true)
        for (extents, order) in [
            ([301, 1001], Grid<Double>.Order.rowMajor), ([9, 10, 41], .columnMajor), ([7, 333], .columnMajor),
        ] {
            var grid = try Grid<Double>(extents: extents, order: order, zeroed: true, allocator: SystemMemoryAllocator())
            let what = "system \(extents) \(order)"
            let blocks = team.blocks(of: grid)
            #expect(blocks.count == team.count, "\(what): \(blocks)")
            expectBlocksCover(blocks, layout: grid.layout, pageBytes: PageSize.basePageByteCount, what)
            try writeBlocksOnce(team, &grid, what)
        }
    }

    @Test("the halo view covers the block and halo more indices each side, clipped to the grid", arguments: [false, true])
    func haloClipping(columnMajor: Bool) throws {
        let team = try Team(threads: 3, oversubscribe: true)
        let extents = columnMajor ? [5, 6, 40] : [40, 6, 512]
        let order: Grid<Double>.Order = columnMajor ? .columnMajor : .rowMajor
        var source = try team.allocate(Double.self, extents: extents, order: order, padding: .bytes(4096))
        var target = try team.allocate(Double.self, extents: extents, order: order, padding: .bytes(4096))
        let slowest = source.layout.slowestDimension
        let n = extents[slowest]
        team.forEachBlock(of: &source) { _, _, view in
            forEachIndex(&view) { view, i, j, k in view[any: i, j, k] = Double(i * 1_000_000 + j * 1000 + k) }
        }
        let blocks = team.blocks(of: target)
        let narrowest = blocks.map(\.indices.count).filter { $0 > 0 }.min() ?? 0
        #expect(narrowest >= 2, "\(blocks)")
        for halo in [0, 1, 2, narrowest] {
            let wrongRanges = Atomic<Int>(0)
            let wrongValues = Atomic<Int>(0)
            try team.forEachBlock(of: &target, reading: source, halo: halo) { _, block, out, input in
                let expected = max(0, block.indices.lowerBound - halo)..<min(n, block.indices.upperBound + halo)
                var right = input.indices(slowest) == expected && out.indices(slowest) == block.indices
                for d in 0..<3 where d != slowest { right = right && input.indices(d) == 0..<extents[d] }
                if !right { wrongRanges.add(1, ordering: .relaxed) }
                // The first and last index of the halo hold the source's values.
                for index in [expected.lowerBound, expected.upperBound - 1] {
                    var at = [2, 3, 4]
                    at[slowest] = index
                    if input[at[0], at[1], at[2]] != Double(at[0] * 1_000_000 + at[1] * 1000 + at[2]) {
                        wrongValues.add(1, ordering: .relaxed)
                    }
                }
            }
            #expect(wrongRanges.load(ordering: .relaxed) == 0, "halo \(halo), \(blocks)")
            #expect(wrongValues.load(ordering: .relaxed) == 0, "halo \(halo)")
        }
    }
}

// MARK: bad input

extension GridTeamTests {
    @Test("a grid with fewer rows (planes) than members is an invalidArgument naming both, and maps nothing")
    func fewerRowsThanMembers() throws {
        let team = try Team(threads: 3, oversubscribe: true)
        let process = ProcessState.capture()
        for (extents, order) in [
            ([2, 12_345], Grid<Double>.Order.rowMajor), ([12_345, 2], .columnMajor), ([1, 7, 12_345], .rowMajor),
            ([12_345, 7, 2], .columnMajor),
        ] {
            let what = "team.allocate(extents: \(extents), order: \(order))"
            let error = teamError(what) { () throws(MmapError) in
                _ = try team.allocate(Double.self, extents: extents, order: order, padding: .none)
            }
            guard case .invalidArgument(let message)? = error else {
                Issue.record("\(what): \(String(describing: error))"); continue
            }
            #expect(message.contains("\(extents)") && message.contains("3 members"), "\(message)")
            let rows = order == .rowMajor ? extents[0] : extents[extents.count - 1]
            #expect(message.contains("has \(rows) indices"), "\(message)")
        }
        // Every refused shape is at most 3 × 7 × 12345 doubles.
        process.expectNothingLeft(
            lengths: suspectLengths(byteCount: 2 * 12_345 * 8, pageSizes: [.base])
                + suspectLengths(byteCount: 7 * 12_345 * 8, pageSizes: [.base]), "grids with fewer rows than members")
    }

    @Test("invalid shapes through a team are .request errors naming the value, and map nothing")
    func invalidShapes() throws {
        let team = try Team()
        let process = ProcessState.capture()
        for (extents, padding, part) in [
            ([0, 5], Grid<Double>.Padding.cacheLine, "extent 0"), ([5], .cacheLine, "rank 1"), ([1, 2, 3, 4], .none, "rank 4"),
            ([64, 64], .bytes(48), "48 B"), ([64, 64], .bytes(4), "4 B"), ([Int.max / 2, 3], .cacheLine, "\(Int.max / 2)"),
        ] {
            let what = "team.allocate(extents: \(extents), padding: \(padding))"
            let error = teamError(what) { () throws(MmapError) in
                _ = try team.allocate(Double.self, extents: extents, padding: padding)
            }
            guard case .request(let core)? = error else { Issue.record("\(what): \(String(describing: error))"); continue }
            #expect("\(core)".contains(part), "\(what): \(core)")
        }
        process.expectNothingLeft(lengths: suspectLengths(byteCount: 64 * 64 * 8, pageSizes: [.base]), "invalid team grid shapes")
    }

    @Test(
        "reading a grid of another shape or order, or a halo below 0 or wider than a block: invalidArgument before any member runs")
    func readingMismatches() throws {
        let team = try Team(threads: 2, oversubscribe: true)
        var target = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
        let calls = Atomic<Int>(0)
        let shorter = try team.allocate(Double.self, extents: [64, 511])
        let transposed = try team.allocate(Double.self, extents: [64, 512], order: .columnMajor)
        let threeD = try team.allocate(Double.self, extents: [64, 512, 1])
        for which in 0..<3 {
            let error = teamError("reading \(which)") { () throws(MmapError) in
                switch which {
                case 0: try team.forEachBlock(of: &target, reading: shorter) { _, _, _, _ in calls.add(1, ordering: .relaxed) }
                case 1: try team.forEachBlock(of: &target, reading: transposed) { _, _, _, _ in calls.add(1, ordering: .relaxed) }
                default: try team.forEachBlock(of: &target, reading: threeD) { _, _, _, _ in calls.add(1, ordering: .relaxed) }
                }
            }
            guard case .invalidArgument(let message)? = error else {
                Issue.record("\(which): \(String(describing: error))"); continue
            }
            #expect(message.contains("64 × 512 Double"), "\(message)")
            #expect(message.contains(["64 × 511", "column-major", "64 × 512 × 1"][which]), "\(message)")
        }
        // A padded source of the same extents and order is fine (padding is the source's own).
        let padded = try team.allocate(Double.self, extents: [64, 512], padding: .none)
        try team.forEachBlock(of: &target, reading: padded) { _, _, _, _ in }

        let narrowest = team.blocks(of: target).map(\.indices.count).filter { $0 > 0 }.min() ?? 0
        for halo in [-1, Int.min, narrowest + 1, Int.max] {
            let error = teamError("halo \(halo)") { () throws(MmapError) in
                try team.forEachBlock(of: &target, reading: padded, halo: halo) { _, _, _, _ in calls.add(1, ordering: .relaxed) }
            }
            guard case .invalidArgument(let message)? = error else {
                Issue.record("halo \(halo): \(String(describing: error))"); continue
            }
            #expect(message.contains("halo \(halo)") && message.contains("\(narrowest) indices"), "\(message)")
        }
        #expect(calls.load(ordering: .relaxed) == 0)
    }

    @Test("a member that throws in forEachBlock: every member finishes, the lowest member's error comes back")
    func throwingBlocks() throws {
        let team = try Team(threads: 3, oversubscribe: true)
        var target = try team.allocate(Double.self, extents: [90, 512], padding: .bytes(4096))
        let source = try team.allocate(Double.self, extents: [90, 512], padding: .bytes(4096))
        let ran = Atomic<Int>(0)
        let error = teamError("throwing members") { () throws(MmapError) in
            try team.forEachBlock(of: &target, reading: source, halo: 1) { (member, _, out, _) throws(MmapError) in
                ran.add(1, ordering: .relaxed)
                out[out.indices(0).lowerBound, 0] = 1
                if member.index >= 1 { throw .invalidArgument("member \(member.index)") }
            }
        }
        #expect(error == .invalidArgument("member 1"))
        #expect(ran.load(ordering: .relaxed) == 3)
        #expect(team.blocks(of: target).allSatisfy { target[$0.indices.lowerBound, 0] == 1 })
        // Typed throws of the body's own error type.
        struct Stop: Error, Equatable { let member: Int }
        let stop = teamError("Stop") { () throws(Stop) in
            try team.forEachBlock(of: &target) { (member, _, _) throws(Stop) in if member.index == 2 { throw Stop(member: 2) } }
        }
        #expect(stop == Stop(member: 2))
    }
}

/// What `body` threw (nil, with an issue recorded, when it returned).
private func teamError<E: Error>(
    _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(E) -> Void
) -> E? {
    do throws(E) {
        try body()
    } catch {
        return error
    }
    Issue.record("\(what()) did not throw", sourceLocation: sourceLocation)
    return nil
}

extension GridTeamTests {
    @Test("a team grid's lines start on its padding's boundary, also for paddings above the page", arguments: [13, 14, 21])
    func linesAlignedAbovePage(log2Padding: Int) throws {
        let team = try Team(threads: 2, oversubscribe: true)
        let padding = 1 << log2Padding
        // Several grids, so that a base that happens to fall on the boundary cannot pass alone.
        for round in 0..<4 {
            let grid = try team.allocate(Double.self, extents: [4, 100 + round], padding: .bytes(padding))
            let base = UInt(bitPattern: grid.buffer.unsafeBaseAddress)
            for i in 0..<4 {
                let row = base + UInt(i * grid.layout.leadingDimension * 8)
                #expect(row % UInt(padding) == 0, "padding \(padding): row \(i) at 0x\(String(row, radix: 16))")
            }
        }
    }
}
