// Issue 23: the grid a region writes cannot also be the one it reads — a stencil reading its own
// output through the halo would race with the neighbours writing their blocks. The written grid
// is passed `inout`, so the exclusivity check rejects passing it a second time.
//
// EXPECT-ERROR: error: overlapping accesses to 'grid', but modification requires exclusive access
import ZiggyMmap

func readWhileWriting() throws {
    let team = try Team()
    var grid = try team.allocate(Double.self, extents: [64, 512])
    try team.forEachBlock(of: &grid, reading: grid, halo: 1) { _, _, out, input in
        for i in out.indices(0) where i > 0 { out[i, 0] = input[i - 1, 0] }
    }
}
