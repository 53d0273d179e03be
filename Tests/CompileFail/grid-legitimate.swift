// Issue 23: what a grid's user writes — a team grid first touched by its members, a 5-point
// stencil reading the neighbours' rows through the halo view and its lines, a flat buffer turned
// into a padded column-major grid, mutable slices and lines, the storage taken back — compiles
// without one warning under strict memory safety: no `unsafe` is needed.
//
// EXPECT-COMPILES
import ZiggyMmap

func stencil() throws {
    let team = try Team()
    var source = try team.allocate(Double.self, extents: [256, 1000])
    var target = try team.allocate(Double.self, extents: [256, 1000])
    team.forEachBlock(of: &source) { _, _, view in
        for i in view.indices(0) {
            for j in view.indices(1) { view[i, j] = Double(i * 1000 + j) }
        }
    }
    try team.forEachBlock(of: &target, reading: source, halo: 1) { _, _, out, input in
        for i in out.indices(0) where i > 0 && i < 255 {
            let above = input.line(i - 1)
            let below = input.line(i + 1)
            for j in 1..<999 {
                out[i, j] = 0.25 * (above[j] + below[j] + input[i, j - 1] + input[i, j + 1])
            }
        }
    }
    print(target.layout, team.blocks(of: target), try team.placement(of: target))

    let layout = try Grid<Float>.Layout([4, 6, 8], order: .columnMajor, padding: .bytes(32))
    let flat = try SystemMemoryAllocator().allocate(Float.self, count: layout.count, zeroed: true)
    var cube = try Grid(flat, layout: layout)
    cube[3, 5, 7] = 1
    var whole = cube.mutableView
    var corner = whole.slice(2..<4, 4..<6, 6..<8)
    var column = corner.mutableLine(5, 7)
    column[1] = 2
    let sum = cube.view.slice(0..<4, 0..<6, 0..<8).line(5, 7)[3] + cube[3, 5, 7]
    let storage = cube.takeBuffer()
    print(sum, storage.count, layout.leadingDimension)
}
