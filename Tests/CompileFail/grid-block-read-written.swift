// Issue 23: a stencil cannot read the grid its team is writing — the members writing their blocks
// would race with the reads of the halo. The written grid is passed `inout`, so the compiler's
// exclusivity check rejects lending it again as the grid read.
//
// EXPECT-ERROR: error: overlapping accesses to 'grid', but modification requires exclusive access
import ZiggyMmap

func readWhileWriting() throws {
    let team = try Team()
    var grid = try team.allocate(Double.self, extents: [512, 512])
    try team.forEachBlock(of: &grid, reading: grid, halo: 1) { _, _, block, old in
        for i in block.indices(0) { for j in block.indices(1) { block[i, j] = old[max(i - 1, 0), j] } }
    }
}
