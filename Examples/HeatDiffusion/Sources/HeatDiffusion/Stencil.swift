import Dispatch
import ZiggyMmap

// One Jacobi sweep, twice: on the team's blocked buffers through safe spans, and on [Double]
// through unsafe pointers handed to DispatchQueue.concurrentPerform (what Swift code without the
// library writes). The arithmetic and its order are identical, so the results agree bitwise.

/// The new value of interior cell `i`: the mean of its four neighbours.
@inline(__always)
func relaxed(_ w: Double, _ e: Double, _ n: Double, _ s: Double) -> Double { 0.25 * ((w + e) + (n + s)) }

/// Sets every cell of both grids: the top row held at 1 (the heat source), everything else 0.
func initialize(_ grid: inout UnmanagedBuffer<Double>, shape: GridShape, team: Team) {
    team.forEachChunk(of: &grid) { _, range, part in
        for i in 0..<part.count { part[i] = (range.lowerBound + i) / shape.pitch == 0 ? 1 : 0 }
    }
}

/// One sweep: each member writes its rows of `next` from the read-only `current`, whose rows
/// above and below its part (the halo) belong to its neighbours. `next` is `inout`, so it cannot
/// also be the grid read: the compiler rules the race out.
func sweep(_ next: inout UnmanagedBuffer<Double>, from current: borrowing UnmanagedBuffer<Double>, shape: GridShape, team: Team) {
    team.forEachChunk(of: &next, reading: current) { _, range, part, grid in
        let (p, n, base) = (shape.pitch, shape.cols, range.lowerBound)
        for row in (range.lowerBound / p)..<(range.upperBound / p) {
            let r = row * p
            // Row-sized views of the grid read; `o` is this row's offset in the part written.
            let o = r - base
            let mid = grid.extracting(r..<(r + n))
            if row == 0 || row == shape.rows - 1 {  // fixed boundary rows
                for c in 0..<n { part[o + c] = mid[c] }
                continue
            }
            let up = grid.extracting((r - p)..<(r - p + n))
            let down = grid.extracting((r + p)..<(r + p + n))
            // One check per row that implies every per-cell one below, so the optimizer can drop
            // those and vectorize (the subscripts stay checked; nothing unsafe is needed).
            precondition(o >= 0 && o + n <= part.count && mid.count == n && up.count == n && down.count == n)
            part[o] = mid[0]
            for c in 1..<(n - 1) { part[o + c] = relaxed(mid[c - 1], mid[c + 1], up[c], down[c]) }
            part[o + n - 1] = mid[n - 1]
        }
    }
}

/// The same sweep on arrays: `chunks` parallel row ranges (as many as the team has members).
func sweep(_ next: inout [Double], from current: [Double], shape: GridShape, chunks: Int) {
    current.withUnsafeBufferPointer { grid in
        next.withUnsafeMutableBufferPointer { out in
            // Pointers are not Sendable: sharing them with Dispatch's threads is the promise, unchecked,
            // that the row ranges are disjoint (the team version has the compiler check it instead).
            nonisolated(unsafe) let out = out
            nonisolated(unsafe) let grid = grid
            let p = shape.pitch
            DispatchQueue.concurrentPerform(iterations: chunks) { k in
                for row in (shape.rows * k / chunks)..<(shape.rows * (k + 1) / chunks) {
                    let r = row * p
                    if row == 0 || row == shape.rows - 1 {
                        for c in 0..<shape.cols { out[r + c] = grid[r + c] }
                        continue
                    }
                    out[r] = grid[r]
                    for c in 1..<(shape.cols - 1) {
                        let i = r + c
                        out[i] = relaxed(grid[i - 1], grid[i + 1], grid[i - p], grid[i + p])
                    }
                    out[r + shape.cols - 1] = grid[r + shape.cols - 1]
                }
            }
        }
    }
}
