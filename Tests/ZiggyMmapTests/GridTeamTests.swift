import Testing
import ZiggyMmap

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
