import Dispatch
import ZiggyMmap

// One Jacobi sweep, three times: on the team's grids through grid views (what this example is
// about), on the same storage as flat buffers through spans with hand-written `row × pitch +
// column` offsets (how this example was written before grids: kept to show the grid version is
// no slower), and on [Double] through unsafe pointers handed to DispatchQueue.concurrentPerform
// (what Swift code without the library writes). The arithmetic and its order are identical, so
// the three results agree bitwise.

/// The new value of an interior cell: the mean of its four neighbours.
@inline(__always)
func relaxed(_ w: Double, _ e: Double, _ n: Double, _ s: Double) -> Double { 0.25 * ((w + e) + (n + s)) }

// MARK: - Grids

/// Sets every cell: the top row held at 1 (the heat source), everything else 0. Each member
/// writes its own block (which it also touched first when the team allocated the grid).
func initialize(_ grid: inout Grid<Double>, team: Team) {
    team.forEachBlock(of: &grid) { _, _, block in
        for i in block.indices(0) {
            for j in block.indices(1) { block[i, j] = i == 0 ? 1 : 0 }
        }
    }
}

/// One sweep: each member writes its block of rows of `next` from `current`, read through a view
/// of its rows and one halo row on each side (its neighbours' boundary rows). The views are in
/// the grid's coordinates, so row `i` of the block is `grid.line(i)` whichever member runs it;
/// `next` is `inout`, so it cannot also be the grid read (the compiler rules the race out), and
/// the view of `current` admits only the rows this block may read (a row beyond the halo traps,
/// naming it).
func sweep(_ next: inout Grid<Double>, from current: borrowing Grid<Double>, team: Team) throws(MmapError) {
    let (rows, cols) = (current.layout.extents[0], current.layout.extents[1])
    try team.forEachBlock(of: &next, reading: current, halo: 1) { _, block, out, grid in
        for i in block.indices {
            // Rows as spans: `line(i)` is row i without its padding.
            let mid = grid.line(i)
            var row = out.mutableLine(i)
            if i == 0 || i == rows - 1 {  // fixed boundary rows
                for j in 0..<cols { row[j] = mid[j] }
                continue
            }
            let (up, down) = (grid.line(i - 1), grid.line(i + 1))
            // One check per row that implies every per-cell one below, so the optimizer drops those
            // and vectorizes (the spans stay checked; nothing unsafe is needed).
            precondition(row.count == cols && mid.count == cols && up.count == cols && down.count == cols)
            row[0] = mid[0]
            for j in 1..<(cols - 1) { row[j] = relaxed(mid[j - 1], mid[j + 1], up[j], down[j]) }
            row[cols - 1] = mid[cols - 1]
        }
    }
}

// MARK: - Flat buffers (the program before grids)

/// The same initial state in a flat buffer whose rows are `pitch` elements apart.
func initialize(_ flat: inout UnmanagedBuffer<Double>, pitch: Int, team: Team) {
    team.forEachChunk(of: &flat) { _, range, part in
        for i in 0..<part.count { part[i] = (range.lowerBound + i) / pitch == 0 ? 1 : 0 }
    }
}

/// The sweep as it was written on flat buffers: every offset computed by hand, and a check that
/// the team's parts begin and end on row boundaries (true here because the buffers are grids'
/// storage, cut by `Team.allocate(_:extents:)` between rows; before grids, the program rounded
/// its row count to make it so).
func sweep(
    _ next: inout UnmanagedBuffer<Double>, from current: borrowing UnmanagedBuffer<Double>,
    layout: Grid<Double>.Layout, team: Team
) {
    let (rows, cols, pitch) = (layout.extents[0], layout.extents[1], layout.leadingDimension)
    team.forEachChunk(of: &next, reading: current) { _, range, part, grid in
        precondition(range.lowerBound % pitch == 0 && range.upperBound % pitch == 0, "part \(range) splits a row")
        let (p, n, base) = (pitch, cols, range.lowerBound)
        for row in (range.lowerBound / p)..<(range.upperBound / p) {
            let r = row * p
            // Row-sized views of the grid read; `o` is this row's offset in the part written.
            let o = r - base
            let mid = grid.extracting(r..<(r + n))
            if row == 0 || row == rows - 1 {
                for c in 0..<n { part[o + c] = mid[c] }
                continue
            }
            let up = grid.extracting((r - p)..<(r - p + n))
            let down = grid.extracting((r + p)..<(r + p + n))
            // One check per row that implies every per-cell one below, so the optimizer can drop
            // those and vectorize.
            precondition(o >= 0 && o + n <= part.count && mid.count == n && up.count == n && down.count == n)
            part[o] = mid[0]
            for c in 1..<(n - 1) { part[o + c] = relaxed(mid[c - 1], mid[c + 1], up[c], down[c]) }
            part[o + n - 1] = mid[n - 1]
        }
    }
}

// MARK: - [Double]

/// The same sweep on arrays of the grid's padded size: `chunks` parallel row ranges (as many as
/// the team has members).
func sweep(_ next: inout [Double], from current: [Double], layout: Grid<Double>.Layout, chunks: Int) {
    let (rows, cols, p) = (layout.extents[0], layout.extents[1], layout.leadingDimension)
    current.withUnsafeBufferPointer { grid in
        next.withUnsafeMutableBufferPointer { out in
            // Pointers are not Sendable: sharing them with Dispatch's threads is the promise, unchecked,
            // that the row ranges are disjoint (the team versions have the compiler check it instead).
            nonisolated(unsafe) let out = out
            nonisolated(unsafe) let grid = grid
            DispatchQueue.concurrentPerform(iterations: chunks) { k in
                for row in (rows * k / chunks)..<(rows * (k + 1) / chunks) {
                    let r = row * p
                    if row == 0 || row == rows - 1 {
                        for c in 0..<cols { out[r + c] = grid[r + c] }
                        continue
                    }
                    out[r] = grid[r]
                    for c in 1..<(cols - 1) {
                        let i = r + c
                        out[i] = relaxed(grid[i - 1], grid[i + 1], grid[i - p], grid[i + p])
                    }
                    out[r + cols - 1] = grid[r + cols - 1]
                }
            }
        }
    }
}
