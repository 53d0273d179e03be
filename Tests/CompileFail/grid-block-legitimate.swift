// Issue 23: what a stencil over a team's grid needs compiles without `unsafe` and without a
// warning: allocating the grids, writing each member's block, reading a halo of another grid,
// slices and lines of the views, and the placement report.
//
// EXPECT-COMPILES
import ZiggyMmap

func heat() throws {
    let team = try Team()
    var old = try team.allocate(Double.self, extents: [512, 512], padding: .bytes(4096))
    var new = try team.allocate(Double.self, extents: [512, 512], padding: .bytes(4096))
    team.forEachBlock(of: &old) { _, _, block in
        for i in block.indices(0) {
            var row = block.mutableLine(i)
            for j in row.indices { row[j] = Double(i + j) }
        }
    }
    try team.forEachBlock(of: &new, reading: old, halo: 1) { _, _, block, input in
        for i in block.indices(0) where i > 0 && i < 511 {
            let above = input.line(i - 1)
            let below = input.line(i + 1)
            for j in 1..<511 { block[i, j] = (above[j] + below[j] + input[i, j - 1] + input[i, j + 1]) / 4 }
        }
    }
    let corner = new.view.slice(0..<2, 0..<2)
    print(corner[1, 1], try team.placement(of: new).isOnBlockNodes)
}
