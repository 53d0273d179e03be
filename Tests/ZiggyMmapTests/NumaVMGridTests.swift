import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

/// One grid a team allocates inside the VMs: its shape and the page size asked for.
struct VMGridCase: Sendable, CustomTestStringConvertible {
    let extents: [Int]
    let order: Grid<Double>.Order
    let padding: Grid<Double>.Padding
    let pageSize: PageSize
    let note: String

    var testDescription: String {
        "\(extents.map(String.init).joined(separator: "×")) \(order == .rowMajor ? "row" : "column")-major, "
            + "\(padding) padding, \(pageSize) (\(note))"
    }

    /// Base pages: rows that do not divide evenly and padded rows. 2 MiB pages (8 per node in the
    /// VMs, at most 2 per node used here): rows padded to 4096 B (256 rows or 4 planes a page),
    /// and a grid whose unit lcm(2 MiB, plane bytes) exceeds it, so all but one block are empty.
    static let all: [VMGridCase] = [
        VMGridCase(
            extents: [1001, 1001], order: .rowMajor, padding: .cacheLine, pageSize: .base,
            note: "8064 B rows, units of 32 rows"),
        VMGridCase(
            extents: [1001, 1001], order: .columnMajor, padding: .cacheLine, pageSize: .base,
            note: "8064 B columns, units of 32 columns"),
        VMGridCase(
            extents: [1001, 1001], order: .rowMajor, padding: .bytes(4096), pageSize: .base,
            note: "8192 B rows, one row a unit"),
        VMGridCase(
            extents: [13, 100, 250], order: .rowMajor, padding: .cacheLine, pageSize: .base,
            note: "13 planes of 50 pages"),
        VMGridCase(
            extents: [250, 100, 13], order: .columnMajor, padding: .cacheLine, pageSize: .base,
            note: "13 planes of 50 pages, column-major"),
        VMGridCase(
            extents: [1001, 1001], order: .rowMajor, padding: .bytes(4096), pageSize: .transparentHuge,
            note: "256 rows a 2 MiB unit"),
        VMGridCase(
            extents: [1001, 1001], order: .rowMajor, padding: .bytes(4096), pageSize: .huge2MiB,
            note: "256 rows a page, 4 pages"),
        VMGridCase(
            extents: [1001, 1001], order: .columnMajor, padding: .bytes(4096), pageSize: .huge2MiB,
            note: "256 columns a page, 4 pages"),
        VMGridCase(
            extents: [12, 64, 1000], order: .rowMajor, padding: .bytes(4096), pageSize: .huge2MiB,
            note: "4 planes a page, 3 pages"),
        VMGridCase(
            extents: [10, 200, 250], order: .rowMajor, padding: .cacheLine, pageSize: .huge2MiB,
            note: "one unit: a single non-empty block"),
    ]
}

// Part of the suite "NUMA inside a multi-node VM" (Tests/NumaVM/vm-test-program runs the
// bundle filtered to NumaVMTests; NumaVMTests.swift is at its size limit).
extension NumaVMTests {
    @Test(
        "a team's grid: every block on its member's node (placement and numa_maps agree), each element written once by its owner",
        arguments: VMGridCase.all)
    func gridBlocksOnMemberNodes(_ shape: VMGridCase) throws {
        let team = try Team(perNode: 1)
        #expect(team.members.map(\.node) == cpuNodes, "one member per node with CPUs: \(team.members)")
        if shape.pageSize == .huge2MiB {
            let pool = try #require(HugePageReservation.Pool.read(.huge2MiB))
            for node in team.nodes.array {
                let free = pool.nodes.first { $0.node == node }?.free ?? 0
                try #require(free >= 2, "node \(node) has \(free) free 2 MiB pages; the VM reserves \(NumaVM.hugePagesPerNode)")
            }
        }
        var grid = try team.allocate(
            Double.self, extents: shape.extents, order: shape.order, padding: shape.padding, pageSize: shape.pageSize)
        #expect(grid.buffer.backing.mapping?.obtainedPageSize == shape.pageSize)
        let layout = grid.layout
        let slowest = layout.slowestDimension
        let slabElements = layout.strides[slowest]
        let pageBytes = shape.pageSize.byteCount

        // The blocks: one per member, in member order, on the member's node, whole slabs from a
        // page boundary, together covering every index of the slowest dimension once.
        let blocks = team.blocks(of: grid)
        #expect(blocks.map(\.member) == Array(team.members.indices))
        #expect(blocks.map(\.node) == team.members.map(\.node))
        #expect(blocks.first?.indices.lowerBound == 0)
        #expect(blocks.last?.indices.upperBound == layout.extents[slowest])
        for (a, b) in zip(blocks, blocks.dropFirst()) {
            #expect(a.indices.upperBound == b.indices.lowerBound, "\(a) then \(b)")
        }
        for block in blocks where !block.indices.isEmpty {
            #expect(block.elements.lowerBound == block.indices.lowerBound * slabElements, "\(block)")
            #expect(block.elements.lowerBound * 8 % pageBytes == 0, "\(block) starts inside a \(shape.pageSize) page")
        }
        if shape.padding == .bytes(4096) && shape.pageSize == .base {
            // Page-sized rows: every row is a unit, so the blocks differ by at most one row.
            let rows = blocks.map(\.indices.count)
            #expect(rows.max()! - rows.min()! <= 1, "\(blocks)")
        }

        // Where the kernel put each block: move_pages through the library's report…
        let placed = try team.placement(of: grid)
        #expect(placed.isOnBlockNodes, "\(placed)")
        for (block, report) in zip(placed.blocks, placed.reports) where !block.indices.isEmpty {
            // Queried per 2 MiB page for hugetlb, per 4 KiB page otherwise (THP included).
            let queried = shape.pageSize == .huge2MiB ? pageBytes : 4096
            let pages = (block.elements.count * 8 + queried - 1) / queried
            #expect(report.pagesPerNode == [block.node: pages], "\(block): \(report)")
            #expect(report.notPresent == 0, "\(block): \(report)")
        }
        // …and numa_maps, read independently: the VMAs over each block (mbind splits the mapping
        // per node run) are bound to its node and hold its pages there only.
        let base = UInt(bitPattern: grid.buffer.unsafeBaseAddress)
        for block in blocks where !block.indices.isEmpty {
            let range = base + UInt(block.elements.lowerBound * 8)..<base + UInt(block.elements.upperBound * 8)
            let entries = NumaMapsEntry.overlapping(range)
            try #require(!entries.isEmpty, "no numa_maps entry over \(block)")
            #expect(entries.first!.start <= range.lowerBound && entries.last!.end >= range.upperBound)
            for (a, b) in zip(entries, entries.dropFirst()) { #expect(a.end == b.start, "a gap in the VMAs over \(block)") }
            for entry in entries {
                #expect(entry.policy == "bind:\(block.node)", "\(block): \(entry)")
                #expect(Set(entry.pagesPerNode.keys) == [block.node], "\(block): \(entry)")
                if shape.pageSize == .huge2MiB { #expect(entry.kernelPageSizeKB == 2048, "\(entry)") }
            }
            let kernelPageBytes = (entries.first?.kernelPageSizeKB ?? 4) * 1024
            let present = entries.reduce(0) { $0 + ($1.pagesPerNode[block.node] ?? 0) }
            #expect(present * kernelPageBytes >= block.elements.count * 8, "\(block): \(entries)")
        }

        // forEachBlock: each member gets a view of exactly its block and adds its tag to every
        // element; an element written twice, or by another member, or missed shows in the sums.
        let views = Mutex<[Int: [Range<Int>]]>([:])
        team.forEachBlock(of: &grid) { member, block, view in
            let ranges = (0..<view.rank).map { view.indices($0) }
            views.withLock { $0[block.member] = ranges }
            let tag = Double(1 + 1000 * member.index)
            if view.rank == 2 {
                for i in ranges[0] { for j in ranges[1] { view[i, j] += tag } }
            } else {
                for i in ranges[0] { for j in ranges[1] { for k in ranges[2] { view[i, j, k] += tag } } }
            }
        }
        let seen = views.withLock { $0 }
        for block in blocks {
            var expected = layout.extents.map { 0..<$0 }
            expected[slowest] = block.indices
            #expect(seen[block.member] == (block.indices.isEmpty ? nil : expected), "\(block)")
        }
        var owner = Array(repeating: -1, count: layout.extents[slowest])
        for block in blocks { for index in block.indices { owner[index] = block.member } }
        let strides = layout.strides + [0]
        let extents = layout.extents + [1]
        let (wrong, expectedSum, sum) = grid.buffer.withUnsafeBufferPointer { flat in
            var wrong = 0
            var expectedSum = 0.0
            for i in 0..<extents[0] {
                for j in 0..<extents[1] {
                    for k in 0..<extents[2] {
                        let slab = slowest == 0 ? i : slowest == 1 ? j : k
                        let tag = Double(1 + 1000 * owner[slab])
                        if flat[i * strides[0] + j * strides[1] + k * strides[2]] != tag { wrong += 1 }
                        expectedSum += tag
                    }
                }
            }
            return (wrong, expectedSum, flat.reduce(0, +))
        }
        #expect(wrong == 0, "\(wrong) elements not written exactly once by their block's member")
        #expect(sum == expectedSum, "the padding was written (sum \(sum), elements \(expectedSum))")
        // Writing moved nothing.
        #expect(try team.placement(of: grid).isOnBlockNodes)
    }
}
