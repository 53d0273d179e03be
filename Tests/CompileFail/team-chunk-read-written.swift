// Issue 12: the buffer a region writes cannot also be one it reads — a stencil reading the grid
// it writes would race with the members writing their parts. The written buffer is passed
// `inout`, so the compiler's exclusivity check rejects passing it a second time.
//
// EXPECT-ERROR: error: overlapping accesses to 'grid', but modification requires exclusive access
import ZiggyMmap

func readWhileWriting() throws {
    let team = try Team()
    var grid = try team.allocate(Double.self, count: 1 << 16)
    team.forEachChunk(of: &grid, reading: grid) { _, range, part, all in
        for i in 0..<part.count { part[i] = all[max(range.lowerBound + i - 1, 0)] }
    }
}
