import ZiggyMmap

// One Jacobi sweep of the 7-point Laplacian stencil, twice: on the team's grids through grid views
// (each member its block of planes, reading one halo plane on each side), and naively on a
// [Double] cube in one thread. Cells on the cube's faces are held fixed. The arithmetic and its
// order are identical, so the results agree bitwise.

/// The new value of an interior cell: the mean of its six neighbours.
@inline(__always)
func relaxed(_ w: Double, _ e: Double, _ n: Double, _ s: Double, _ b: Double, _ a: Double) -> Double {
    ((w + e) + (n + s) + (b + a)) * (1.0 / 6.0)
}

/// The initial value of cell `[k, j, i]`: the face k = 0 held at 1 (the heat source), a
/// deterministic, irregular pattern elsewhere (so that an indexing mistake cannot cancel out).
@inline(__always)
func initialValue(_ k: Int, _ j: Int, _ i: Int) -> Double {
    k == 0 ? 1 : Double((i &* 7 &+ j &* 13 &+ k &* 29) % 17) / 16
}

/// Sets every cell; each member writes its own block of planes.
func initialize(_ grid: inout Grid<Double>, team: Team) {
    team.forEachBlock(of: &grid) { _, _, block in
        for k in block.indices(0) {
            for j in block.indices(1) {
                for i in block.indices(2) { block[k, j, i] = initialValue(k, j, i) }
            }
        }
    }
}

/// One sweep: each member writes its planes of `next` from `current`, read through a view of
/// its planes and one halo plane on each side (its neighbours' boundary planes). Lines are the
/// rows along the fastest index, as spans: `grid.line(k, j)` is row j of plane k.
func sweep(_ next: inout Grid<Double>, from current: borrowing Grid<Double>, team: Team) throws(MmapError) {
    let n = current.layout.extents[2]
    let (planes, rows) = (current.layout.extents[0], current.layout.extents[1])
    try team.forEachBlock(of: &next, reading: current, halo: 1) { _, block, out, grid in
        for k in block.indices {
            for j in 0..<rows {
                let mid = grid.line(k, j)
                var row = out.mutableLine(k, j)
                if k == 0 || k == planes - 1 || j == 0 || j == rows - 1 {  // a face: fixed
                    for i in 0..<n { row[i] = mid[i] }
                    continue
                }
                let (north, south) = (grid.line(k, j - 1), grid.line(k, j + 1))
                let (below, above) = (grid.line(k - 1, j), grid.line(k + 1, j))
                // One check per row that implies every per-cell one below, so the optimizer drops
                // those and vectorizes (the spans stay checked).
                precondition(
                    row.count == n && mid.count == n && north.count == n && south.count == n && below.count == n
                        && above.count == n)
                row[0] = mid[0]
                for i in 1..<(n - 1) {
                    row[i] = relaxed(mid[i - 1], mid[i + 1], north[i], south[i], below[i], above[i])
                }
                row[n - 1] = mid[n - 1]
            }
        }
    }
}

/// The reference: an unpadded n³ cube in a [Double], cell `[k, j, i]` at `(k × n + j) × n + i`,
/// swept by the textbook triple loop in one thread.
struct NaiveCube {
    let n: Int
    var cells: [Double]

    init(size n: Int) {
        self.n = n
        cells = [Double](repeating: 0, count: n * n * n)
        for k in 0..<n {
            for j in 0..<n {
                for i in 0..<n { cells[(k * n + j) * n + i] = initialValue(k, j, i) }
            }
        }
    }

    mutating func sweep(from current: NaiveCube) {
        let u = current.cells
        for k in 0..<n {
            for j in 0..<n {
                for i in 0..<n {
                    let c = (k * n + j) * n + i
                    let face = k == 0 || k == n - 1 || j == 0 || j == n - 1 || i == 0 || i == n - 1
                    cells[c] =
                        face ? u[c] : relaxed(u[c - 1], u[c + 1], u[c - n], u[c + n], u[c - n * n], u[c + n * n])
                }
            }
        }
    }

    /// The largest |grid − self| over every cell (0 when they agree bitwise).
    func largestDifference(from grid: borrowing Grid<Double>) -> Double {
        var largest = 0.0
        for k in 0..<n {
            for j in 0..<n {
                for i in 0..<n { largest = max(largest, abs(grid[k, j, i] - cells[(k * n + j) * n + i])) }
            }
        }
        return largest
    }
}
