import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Grids used wrongly (issue 23): shapes that cannot exist (zero, negative and overflowing extents,
// ranks other than 2 and 3, paddings that are not a power of two or do not hold an element),
// alignments an allocator refuses, flat buffers of the wrong count, grids split over more members
// than they have rows, reads of grids of another shape, halos below 0 or wider than a block — each
// a typed error naming the value, with nothing allocated or mapped — and indices, slices and lines
// outside a grid, a view or a member's block, each a trap (in a child process) naming the indices
// and the ranges they had to lie in.

/// Every grid trap the suite provokes, run in a child process by name.
enum GridTrapCase: String, CaseIterable, Sendable, Codable {
    case rowPastEnd, columnPastEnd, negativeRow, intMinColumn, setRowPastEnd
    case planePastEnd, set3DColumnPastEnd, negative3D
    case twoIndicesOn3D, threeIndicesOn2D
    case viewPastEnd, viewOfSliceOutside, view3DWrongRank, mutableViewPastEnd, mutableView3DNegative
    case sliceTooLong, sliceNegative, sliceOfSliceOutside, slice3DPastEnd, mutableSliceWrongRank, mutableSlicePastEnd
    case lineRowPastEnd, lineColumnPastEnd, lineTooManyIndices, lineTooFewIndices, lineNoIndex, mutableLineNegative
    case blockViewPastBlock, blockViewBeforeBlock, haloViewPastHalo

    /// The entry point and the message the trap must print.
    var expectation: (EntryPoint, String) {
        switch self {
        case .rowPastEnd: (.gridSubscript, "Grid index [4, 0] out of range for indices 0..<4 × 0..<5")
        case .columnPastEnd: (.gridSubscript, "Grid index [0, 5] out of range for indices 0..<4 × 0..<5")
        case .negativeRow: (.gridSubscript, "Grid index [-1, 2] out of range for indices 0..<4 × 0..<5")
        case .intMinColumn: (.gridSubscript, "Grid index [3, \(Int.min)] out of range for indices 0..<4 × 0..<5")
        case .setRowPastEnd: (.gridSubscript, "Grid index [\(Int.max), 4] out of range for indices 0..<4 × 0..<5")
        case .planePastEnd: (.gridSubscript3, "Grid index [0, 0, 6] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .set3DColumnPastEnd: (.gridSubscript3, "Grid index [3, 5, 0] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .negative3D: (.gridSubscript3, "Grid index [0, -1, 0] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .twoIndicesOn3D:
            (.gridSubscript, "Grid of rank 3 indexed with 2 indices [1, 2]: its indices are 0..<4 × 0..<5 × 0..<6")
        case .threeIndicesOn2D:
            (.gridSubscript3, "Grid of rank 2 indexed with 3 indices [1, 2, 0]: its indices are 0..<4 × 0..<5")
        case .viewPastEnd: (.viewSubscript, "Grid index [4, 4] out of range for indices 0..<4 × 0..<5")
        case .viewOfSliceOutside: (.viewSubscript, "Grid index [0, 1] out of range for indices 1..<3 × 1..<4")
        case .view3DWrongRank:
            (.viewSubscript, "Grid of rank 3 indexed with 2 indices [0, 0]: its indices are 0..<4 × 0..<5 × 0..<6")
        case .mutableViewPastEnd: (.mutableViewSubscript, "Grid index [2, 5] out of range for indices 0..<4 × 0..<5")
        case .mutableView3DNegative:
            (.mutableViewSubscript3, "Grid index [-1, 0, 0] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .sliceTooLong: (.viewSlice, "Grid slice [0..<5, 0..<5] out of range for indices 0..<4 × 0..<5")
        case .sliceNegative: (.viewSlice, "Grid slice [-1..<2, 0..<5] out of range for indices 0..<4 × 0..<5")
        case .sliceOfSliceOutside: (.viewSlice, "Grid slice [0..<2, 1..<3] out of range for indices 1..<3 × 1..<4")
        case .slice3DPastEnd:
            (.viewSlice, "Grid slice [0..<4, 0..<5, 3..<7] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .mutableSliceWrongRank:
            (.mutableViewSlice, "Grid slice [0..<4, 0..<5] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .mutableSlicePastEnd: (.mutableViewSlice, "Grid slice [3..<5, 0..<5] out of range for indices 0..<4 × 0..<5")
        case .lineRowPastEnd: (.viewLine, "Grid line [4] out of range for indices 0..<4 × 0..<5")
        case .lineColumnPastEnd: (.viewLine, "Grid line [5] out of range for indices 0..<4 × 0..<5")
        case .lineTooManyIndices: (.viewLine, "Grid line [1, 2] out of range for indices 0..<4 × 0..<5")
        case .lineTooFewIndices: (.viewLine, "Grid line [1] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .lineNoIndex: (.viewLine, "Grid line [] out of range for indices 0..<4 × 0..<5")
        case .mutableLineNegative: (.mutableViewLine, "Grid line [-1, 0] out of range for indices 0..<4 × 0..<5 × 0..<6")
        case .blockViewPastBlock: (.forEachBlockOf, "Grid index [32, 0] out of range for indices 0..<32 × 0..<512")
        case .blockViewBeforeBlock: (.forEachBlockOf, "Grid index [31, 511] out of range for indices 32..<64 × 0..<512")
        case .haloViewPastHalo: (.forEachBlockOfReading, "Grid index [33, 0] out of range for indices 0..<33 × 0..<512")
        }
    }

    /// Runs the misuse (in the child); returning means it did not trap.
    func provoke() throws {
        let system = SystemMemoryAllocator()
        var grid = try Grid<Int>(extents: [4, 5], zeroed: true, allocator: system)
        var cube = try Grid<Int>(extents: [4, 5, 6], zeroed: true, allocator: system)
        var columns = try Grid<Int>(extents: [4, 5], order: .columnMajor, zeroed: true, allocator: system)
        var sink = 0
        switch self {
        case .rowPastEnd: sink = grid[4, 0]
        case .columnPastEnd: sink = grid[0, 5]
        case .negativeRow: sink = grid[-1, 2]
        case .intMinColumn: sink = grid[3, Int.min]
        case .setRowPastEnd: grid[Int.max, 4] = 1
        case .planePastEnd: sink = cube[0, 0, 6]
        case .set3DColumnPastEnd: cube[3, 5, 0] = 1
        case .negative3D: sink = cube[0, -1, 0]
        case .twoIndicesOn3D: sink = cube[1, 2]
        case .threeIndicesOn2D: grid[1, 2, 0] = 1
        case .viewPastEnd: sink = grid.view[4, 4]
        case .viewOfSliceOutside: sink = grid.view.slice(1..<3, 1..<4)[0, 1]
        case .view3DWrongRank: sink = cube.view[0, 0]
        case .mutableViewPastEnd:
            var view = grid.mutableView
            view[2, 5] = 1
        case .mutableView3DNegative:
            var view = cube.mutableView
            sink = view[-1, 0, 0]
            view[0, 0, 0] = sink
        case .sliceTooLong: sink = grid.view.slice(0..<5, 0..<5).rank
        case .sliceNegative: sink = grid.view.slice(-1..<2, 0..<5).rank
        case .sliceOfSliceOutside: sink = grid.view.slice(1..<3, 1..<4).slice(0..<2, 1..<3).rank
        case .slice3DPastEnd: sink = cube.view.slice(0..<4, 0..<5, 3..<7).rank
        case .mutableSliceWrongRank:
            var view = cube.mutableView
            sink = view.slice(0..<4, 0..<5).rank
        case .mutableSlicePastEnd:
            var view = grid.mutableView
            sink = view.slice(3..<5, 0..<5).rank
        case .lineRowPastEnd: sink = grid.view.line(4).count
        case .lineColumnPastEnd: sink = columns.view.line(5).count
        case .lineTooManyIndices: sink = grid.view.line(1, 2).count
        case .lineTooFewIndices: sink = cube.view.line(1).count
        case .lineNoIndex: sink = columns.view.line().count
        case .mutableLineNegative:
            var view = cube.mutableView
            sink = view.mutableLine(-1, 0).count
        case .blockViewPastBlock, .blockViewBeforeBlock, .haloViewPastHalo:
            // 64 page-long rows over 2 members: blocks 0..<32 and 32..<64.
            let team = try Team(threads: 2, oversubscribe: true)
            var target = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
            let source = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
            let which = self
            if which == .haloViewPastHalo {
                try team.forEachBlock(of: &target, reading: source, halo: 1) { member, _, out, input in
                    if member.index == 0 { out[0, 0] = input[33, 0] }
                }
            } else {
                team.forEachBlock(of: &target) { member, block, view in
                    if which == .blockViewPastBlock, member.index == 0 { view[block.indices.upperBound, 0] = 1 }
                    if which == .blockViewBeforeBlock, member.index == 1 { view[block.indices.lowerBound - 1, 511] = 1 }
                }
            }
        }
        _ = columns.mutableView
        withExtendedLifetime(sink) {}
    }
}

extension MisuseSuite {
    @Suite("Misuse: grids")
    struct Grids {
        @Test(
            "indices, slices and lines outside a grid, a view or a member's block trap, naming the indices and the ranges",
            arguments: GridTrapCase.allCases)
        func traps(trap: GridTrapCase) async {
            let (entry, message) = trap.expectation
            Hostile.tried(entry, "\(trap)")
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                [trap = trap as GridTrapCase] in
                try trap.provoke()
            }
            let text = standardError(result)
            #expect(text.contains(message), "\(trap): stderr was \(text.prefix(300))")
        }

        @Test("the edges that are in range: corners, empty slices at the ends, dimensions past the rank are empty")
        func edges() throws {
            var grid = try Grid<Int>(extents: [4, 5], zeroed: true, allocator: SystemMemoryAllocator())
            var cube = try Grid<Int>(extents: [4, 5, 6], order: .columnMajor, zeroed: true, allocator: SystemMemoryAllocator())
            Hostile.tried(.gridSubscript, "corners [0, 0] and [3, 4]")
            grid[3, 4] = 7
            grid[0, 0] = 1
            Hostile.tried(.gridSubscript3, "corners [0, 0, 0] and [3, 4, 5]")
            cube[3, 4, 5] = 9
            #expect(grid[3, 4] == 7 && cube[3, 4, 5] == 9 && cube[0, 0, 0] == 0)
            do {
                let view = grid.view
                for dimension in [-1, 2, 3, Int.max, Int.min] {
                    Hostile.tried(.viewIndices, "dimension \(dimension) of a rank-2 view")
                    #expect(view.indices(dimension).isEmpty, "dimension \(dimension)")
                }
                Hostile.tried(.viewSubscript, "corner [3, 4]")
                Hostile.tried(.viewSubscript3, "corner [3, 4, 5]")
                #expect(view[3, 4] == 7 && cube.view[3, 4, 5] == 9)
                for (rows, columns) in [(0..<0, 0..<5), (4..<4, 0..<5), (0..<4, 5..<5), (2..<2, 3..<3), (0..<4, 0..<5)] {
                    Hostile.tried(.viewSlice, "\(rows) × \(columns) of 0..<4 × 0..<5")
                    let part = view.slice(rows, columns)
                    #expect(part.indices(0) == rows && part.indices(1) == columns)
                }
                Hostile.tried(.viewSlice, "0..<4 × 5..<5 × 6..<6")
                #expect(cube.view.slice(0..<4, 5..<5, 6..<6).indices(2) == 6..<6)
                // The last row (row-major) and the last column (column-major) are lines, not traps.
                Hostile.tried(.viewLine, "last row, last column")
                #expect(view.line(3).count == 5 && cube.view.line(4, 5).count == 4)
            }
            do {
                var mutable = cube.mutableView
                for dimension in [-1, 3, Int.max, Int.min] {
                    Hostile.tried(.mutableViewIndices, "dimension \(dimension) of a rank-3 view")
                    #expect(mutable.indices(dimension).isEmpty)
                }
                Hostile.tried(.mutableViewSubscript3, "corner [3, 4, 5]")
                mutable[3, 4, 5] = 10
                Hostile.tried(.mutableViewSlice, "3..<4 × 4..<5 × 5..<6, then empty")
                var corner = mutable.slice(3..<4, 4..<5, 5..<6)
                Hostile.tried(.mutableViewLine, "the single line of a 1 × 1 × 1 slice")
                var line = corner.mutableLine(4, 5)
                #expect(line.count == 1)
                line[0] = 11
            }
            #expect(cube[3, 4, 5] == 11)
            do {
                var mutable = grid.mutableView
                Hostile.tried(.mutableViewSubscript, "corner [3, 4]")
                mutable[3, 4] = 12
                Hostile.tried(.mutableViewSlice, "4..<4 × 0..<5")
                #expect(mutable.slice(4..<4, 0..<5).indices(0).isEmpty)
            }
            #expect(grid[3, 4] == 12)
        }

        @Test("hostile shapes, paddings and alignments from every allocator: typed errors naming the value, state unchanged")
        func hostileShapes() throws {
            let scoped = ScopedAllocator()
            let debug = DebugMemoryAllocator("Grids", wrapping: SystemMemoryAllocator())
            // Mappings only (no hugetlb pool is involved, so the pool lock is not taken).
            let process = ProcessState.capture()
            refuse(SystemMemoryAllocator(), "system")
            refuse(scoped, "scoped")
            refuse(debug, "debug")
            refuse(MmapAllocator(pageSize: .base), "mmap")
            process.expectNothingLeft(lengths: suspectLengths(byteCount: 3 * 1000 * 8, pageSizes: [.base]), "hostile grid shapes")
            #expect(debug.leakReport.leaks.isEmpty)
        }

        /// Feeds `allocator` every hostile grid request and checks each is refused with a typed
        /// error naming the value, its state unchanged.
        func refuse<A: UnmanagedMemoryAllocator & MisuseInspectable & ~Copyable>(_ allocator: borrowing A, _ name: String) {
            typealias Padding = Grid<Double>.Padding
            let cases: [(extents: [Int], padding: Padding, alignment: Int?, names: String)] = [
                ([0, 3], .cacheLine, nil, "extent 0"), ([3, -1], .cacheLine, nil, "extent -1"),
                ([Int.min, 1], .none, nil, "extent \(Int.min)"), ([3], .cacheLine, nil, "rank 1"),
                ([1, 2, 3, 4], .cacheLine, nil, "rank 4"), ([], .cacheLine, nil, "rank 0"),
                ([Int.max / 2, 3], .cacheLine, nil, "[\(Int.max / 2), 3]"), ([Int.max, Int.max], .none, nil, "[\(Int.max)"),
                ([1 << 31, 1 << 31], .none, nil, "[2147483648, 2147483648]"), ([1 << 24, 1 << 24], .none, nil, "B"),
                ([3, 1000], .bytes(48), nil, "48 B"), ([3, 1000], .bytes(0), nil, "0 B"), ([3, 1000], .bytes(4), nil, "4 B"),
                ([3, 1000], .bytes(-4096), nil, "-4096 B"), ([3, 1000], .cacheLine, 3, "3"), ([3, 1000], .cacheLine, 0, "0"),
                ([3, 1000], .cacheLine, -64, "-64"), ([3, 1000], .cacheLine, 1 << 40, "\(1 << 40)"),
            ]
            for c in cases {
                let label = "\(name): Grid<Double>(extents: \(c.extents), padding: \(c.padding), alignment: \(c.alignment.printed))"
                Hostile.tried(.gridInitExtents, label)
                let before = allocator.misuseState
                do {
                    _ = try Grid<Double>(extents: c.extents, padding: c.padding, alignment: c.alignment, allocator: allocator)
                    Issue.record("\(label) did not throw")
                } catch {
                    let core = requestError(error)
                    #expect(core != nil, "\(label): \(error)")
                    expectMessage(error, contains: [c.names], label)
                }
                #expect(allocator.misuseState == before, "\(label)")
            }
        }

        @Test("Grid.Layout: every hostile extent, padding and size is a typed error naming it")
        func hostileLayouts() {
            for extents in [[0, 1], [1, 0], [-1, 5], [5, Int.min], [1], [], [1, 1, 1, 1], [Int.max, Int.max, Int.max]]
                + integerBoundaries.map({ [3, $0] }) + integerBoundaries.map({ [$0, 3, 2] })
            {
                for order in [Grid<Double>.Order.rowMajor, .columnMajor] {
                    Hostile.tried(.gridLayoutInit, "\(extents) \(order)")
                    do {
                        let layout = try Grid<Double>.Layout(extents, order: order)
                        // Only shapes that fit are accepted, and their sizes do fit.
                        #expect(extents.allSatisfy { $0 >= 1 } && layout.byteCount / 8 == layout.count, "\(extents)")
                    } catch {
                        expectMessage(error, contains: ["\(extents)"], "\(extents) \(order)")
                    }
                }
            }
            for bytes in integerBoundaries + [3, 24, 48, 96, 1 << 62] {
                Hostile.tried(.gridLayoutInit, "padding .bytes(\(bytes))")
                do {
                    let layout = try Grid<Double>.Layout([3, 3], padding: .bytes(bytes))
                    #expect(bytes >= 8 && bytes & (bytes - 1) == 0 && layout.leadingDimension * 8 % bytes == 0)
                } catch {
                    switch error {
                    case .invalidArgument(let message): #expect(message.contains("\(bytes) B"), "\(message)")
                    // Lines padded to 2^62 bytes: three of them do not fit.
                    case .sizeOverflow: expectMessage(error, contains: ["[3, 3]"], "padding \(bytes)")
                    default: Issue.record("\(bytes): \(error)")
                    }
                }
            }
        }

        @Test("a flat buffer of another count than the layout's: countMismatch naming both, and the buffer is released")
        func wrongCounts() throws {
            let debug = DebugMemoryAllocator("Flat", wrapping: SystemMemoryAllocator())
            let layout = try Grid<Double>.Layout([7, 9])  // 7 × 16
            for count in [0, 1, 63, 111, 113, 7 * 9] {
                Hostile.tried(.gridInitBuffer, "count \(count) for a layout of 112")
                let buffer = try debug.allocate(Double.self, count: count)
                do throws(AllocationError) {
                    _ = try Grid(buffer, layout: layout)
                    Issue.record("count \(count) did not throw")
                } catch {
                    #expect(error == .countMismatch(destination: 112, source: count))
                }
                #expect(debug.leakReport.leaks.isEmpty, "count \(count)")
            }
            Hostile.tried(.gridInitBuffer, "an empty buffer of an empty-looking layout")
            #expect(throws: AllocationError.self) { _ = try Grid(UnmanagedBuffer<Double>(), layout: layout) }
        }

        @Test("withUnsafeMutableBufferPointer: a throwing body rethrows its own error and leaves the grid usable")
        func throwingPointerBody() throws {
            struct Stop: Error, Equatable {}
            var grid = try Grid<Float>(extents: [3, 5], zeroed: true, allocator: SystemMemoryAllocator())
            Hostile.tried(.gridWithMutableBufferPointer, "a body that writes then throws")
            let last = 2 * grid.layout.strides[0] + 4  // [2, 4]
            #expect(throws: Stop.self) {
                try grid.withUnsafeMutableBufferPointer { (pointer) throws(Stop) in
                    pointer[last] = 1
                    throw Stop()
                }
            }
            #expect(grid[2, 4] == 1)
        }

        @Test("team grids: hostile shapes, fewer rows than members and unknown memory nodes are typed errors; nothing mapped")
        func teamGrids() throws {
            let team = try Team(threads: 3, oversubscribe: true)
            let process = ProcessState.capture()
            for (extents, padding) in [
                ([0, 1001], Grid<Double>.Padding.cacheLine), ([1001], .cacheLine), ([2, 1001], .cacheLine),
                ([1001, 2], .bytes(12)), ([Int.max / 2, 3], .cacheLine), ([1 << 24, 1 << 24], .none), ([2, 2, 1001], .none),
            ] {
                let label = "team.allocate(Double.self, extents: \(extents), padding: \(padding))"
                Hostile.tried(.teamAllocateGrid, label)
                let error = thrownError(label) { () throws(MmapError) in
                    _ = try team.allocate(Double.self, extents: extents, padding: padding)
                }
                switch error {
                case .request(.exceedsAddressSpace)?: expectMessage(error, contains: ["\(extents.reduce(8, *)) B"], label)
                case .request?: expectMessage(error, contains: [padding == .bytes(12) ? "12 B" : "\(extents)"], label)
                case .invalidArgument?: expectMessage(error, contains: ["\(extents)", "3 members"], label)
                default: Issue.record("\(label): \(String(describing: error))")
                }
            }
            for nodes in hostileNodeSets where expectedPolicyError(.bind(nodes)) != nil {
                let label = "team.allocate(Double.self, extents: [64, 1001], memoryNodes: \(nodes))"
                Hostile.tried(.teamAllocateGrid, label)
                #expect(
                    thrownError(label) { () throws(MmapError) in
                        _ = try team.allocate(Double.self, extents: [64, 1001], memoryNodes: nodes)
                    } != nil)
            }
            process.expectNothingLeft(
                lengths: suspectLengths(byteCount: 2 * 1008 * 8, pageSizes: [.base])
                    + suspectLengths(byteCount: 64 * 1008 * 8, pageSizes: [.base]), "hostile team grids")
        }

        @Test("blocks, forEachBlock and placement of grids the team did not allocate, of one row, and of another team")
        func foreignGrids() throws {
            let team = try Team(threads: 3, oversubscribe: true)
            let other = try Team(threads: 2, oversubscribe: true)
            // One row for three members: one block takes it, the others are empty and get no call.
            var thin = try Grid<Double>(extents: [1, 9], zeroed: true, allocator: SystemMemoryAllocator())
            Hostile.tried(.teamBlocksOf, "a 1 × 9 system grid, 3 members")
            let blocks = team.blocks(of: thin)
            #expect(blocks.map(\.indices.count).reduce(0, +) == 1 && blocks.count == 3, "\(blocks)")
            Hostile.tried(.forEachBlockOf, "a 1 × 9 system grid, 3 members")
            let calls = Atomic<Int>(0)
            team.forEachBlock(of: &thin) { _, _, view in
                calls.add(1, ordering: .relaxed)
                view[0, 8] = 1
            }
            #expect(calls.load(ordering: .relaxed) == 1 && thin[0, 8] == 1)
            Hostile.tried(.teamPlacementOf, "a 1 × 9 system grid")
            let placed = try team.placement(of: thin)
            #expect(placed.reports.count == 3)
            // A grid another team allocated: this team's own cut, still whole rows.
            var theirs = try other.allocate(Double.self, extents: [301, 1001])
            Hostile.tried(.teamBlocksOf, "a grid of another team")
            let mine = team.blocks(of: theirs)
            #expect(mine.count == 3 && mine.last?.indices.upperBound == 301 && mine.first?.indices.lowerBound == 0, "\(mine)")
            Hostile.tried(.forEachBlockOf, "a grid of another team")
            team.forEachBlock(of: &theirs) { member, _, view in view[view.indices(0).lowerBound, 0] = Double(member.index) }
            Hostile.tried(.teamPlacementOf, "a grid of another team")
            #expect(try team.placement(of: theirs).blocks == mine)
            Hostile.tried(.forEachBlockOfReading, "reading a grid of another team, halo 0")
            let source = try other.allocate(Double.self, extents: [301, 1001], padding: .none)
            try team.forEachBlock(of: &theirs, reading: source, halo: 0) { _, block, _, input in
                if input.indices(0) != block.indices { calls.add(100, ordering: .relaxed) }
            }
            #expect(calls.load(ordering: .relaxed) == 1)
        }

        @Test("forEachBlock reading another shape, another order, or with a hostile halo: invalidArgument, no member runs")
        func hostileReads() throws {
            let team = try Team(threads: 2, oversubscribe: true)
            var target = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
            let calls = Atomic<Int>(0)
            for (extents, order) in [
                ([64, 511], Grid<Double>.Order.rowMajor), ([63, 512], .rowMajor), ([64, 512], .columnMajor),
            ] {
                let source = try Grid<Double>(extents: extents, order: order, allocator: SystemMemoryAllocator())
                let label = "writing 64 × 512 row-major, reading \(extents) \(order)"
                Hostile.tried(.forEachBlockOfReading, label)
                let error = thrownError(label) { () throws(MmapError) in
                    try team.forEachBlock(of: &target, reading: source) { _, _, _, _ in calls.add(1, ordering: .relaxed) }
                }
                guard case .invalidArgument? = error else { Issue.record("\(label): \(String(describing: error))"); continue }
                expectMessage(error, contains: ["\(extents.map(String.init).joined(separator: " × ")) Double"], label)
            }
            let source = try Grid<Double>(extents: [64, 512], allocator: SystemMemoryAllocator())
            for halo in [-1, Int.min, 33, Int.max] {
                let label = "halo \(halo) with blocks of 32 rows"
                Hostile.tried(.forEachBlockOfReading, label)
                let error = thrownError(label) { () throws(MmapError) in
                    try team.forEachBlock(of: &target, reading: source, halo: halo) { _, _, _, _ in calls.add(1, ordering: .relaxed)
                    }
                }
                expectMessage(error, contains: ["halo \(halo)", "32 indices"], label)
            }
            #expect(calls.load(ordering: .relaxed) == 0)
            Hostile.tried(.forEachBlockOfReading, "halo 32, the whole neighbour block")
            try team.forEachBlock(of: &target, reading: source, halo: 32) { _, _, _, input in
                if input.indices(0) == 0..<64 { calls.add(1, ordering: .relaxed) }
            }
            #expect(calls.load(ordering: .relaxed) == 2)
        }
    }
}
