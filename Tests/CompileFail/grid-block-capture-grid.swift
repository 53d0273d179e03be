// Issue 23: a member cannot write another member's block through the grid itself — the body is
// @Sendable, and the grid captured by it (every member writing row 0, which one member owns) is
// rejected: the only way in is the member's own view.
//
// EXPECT-ERROR: error: mutation of captured var 'grid' in concurrently-executing code
import ZiggyMmap

func writeOthersBlock() throws {
    let team = try Team()
    var grid = try team.allocate(Double.self, extents: [64, 512])
    team.forEachBlock(of: &grid) { _, block, view in
        grid[0, 0] = 1
        view[block.indices.lowerBound, 0] = 1
    }
}
