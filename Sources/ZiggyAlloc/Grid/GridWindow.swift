// The geometry every grid access goes through: which indices a grid or a view of it admits and
// how far apart consecutive indices are in memory. One internal value shared by the owning grid,
// its views and a team's blocks, so that the bounds rule and the offset arithmetic exist once.
//
// Indices are the grid's own (global) coordinates: a view of rows 100..<200 is indexed with
// 100..<200, so a stencil on a member's block writes `block[i, j]` with the grid's `i`. A window
// is `lower ..< lower + extent` along each dimension; `start` (held by the owner) points at the
// element at `lower`. A rank-2 window keeps its third dimension at extent 1 and stride 0.
//
// The checks are shaped like `UnmanagedBuffer`'s (see `_checkIndex`): a cold report that returns,
// then a `precondition` on the same condition — one such pair per condition (the rank, then each
// index), and the report gets the indices and the window's bounds as plain integers. Both details
// carry the speed of stencil loops (ziggy-bench `stencil`, 2-D 5-point Jacobi over 4096 × 4096
// doubles, `grid[i, j]` ÷ the same C loop): the window passed to the report by value made the
// caller build a copy of the whole window in memory for every access (its address escapes into
// the call), and reading its fields back from those overlapping stores stalled store forwarding —
// 0.08×; one report for the conjunction of all conditions kept the SIL optimizer from hoisting an
// `inout` grid's fields out of the loop, so they were reloaded after every store and the loop
// stayed scalar. Split, the rank and row checks hoist and the column checks become exits LLVM's
// vectorizer handles (as a buffer's do): 0.94–1.01× the C loop out of cache (Docs/Benchmarks.md,
// "Grid stencils"; in cache, with rows of 30–126 points, still 0.4–0.8×).

@frozen @usableFromInline
struct _GridWindow: Sendable, Hashable {
    @usableFromInline let rank: Int
    @usableFromInline let lower0: Int
    @usableFromInline let lower1: Int
    @usableFromInline let lower2: Int
    @usableFromInline let extent0: Int
    @usableFromInline let extent1: Int
    @usableFromInline let extent2: Int
    @usableFromInline let stride0: Int
    @usableFromInline let stride1: Int
    @usableFromInline let stride2: Int

    /// The whole grid of `extents` (rank 2 or 3) with element `strides`.
    @usableFromInline
    init(extents: [Int], strides: [Int]) {
        rank = extents.count
        (lower0, lower1, lower2) = (0, 0, 0)
        extent0 = extents[0]
        extent1 = extents[1]
        extent2 = rank == 3 ? extents[2] : 1
        stride0 = strides[0]
        stride1 = strides[1]
        stride2 = rank == 3 ? strides[2] : 0
    }

    @usableFromInline
    init(rank: Int, lower: (Int, Int, Int), extent: (Int, Int, Int), stride: (Int, Int, Int)) {
        self.rank = rank
        (lower0, lower1, lower2) = lower
        (extent0, extent1, extent2) = extent
        (stride0, stride1, stride2) = stride
    }

    /// The valid indices along `dimension` (0-based; empty for a dimension the rank lacks).
    @inlinable
    func indices(_ dimension: Int) -> Range<Int> {
        switch dimension {
        case 0: return lower0..<lower0 + extent0
        case 1: return lower1..<lower1 + extent1
        case 2 where rank == 3: return lower2..<lower2 + extent2
        default: return 0..<0
        }
    }

    /// Elements the window spans in memory from its first element to one past its last (0 when
    /// empty): what a pointer view of it covers.
    @inlinable
    var span: Int {
        guard extent0 > 0, extent1 > 0, extent2 > 0 else { return 0 }
        return (extent0 - 1) * stride0 + (extent1 - 1) * stride1 + (extent2 - 1) * stride2 + 1
    }

    /// The offset of `[i, j]` from the window's first element; traps, naming the indices and the
    /// window, when the rank is not 2 or an index is outside the window.
    @inlinable @inline(__always)
    func offset(_ i: Int, _ j: Int) -> Int {
        let d0 = i &- lower0
        let d1 = j &- lower1
        _check(rank == 2, 2, i, j, 0)
        _check(UInt(bitPattern: d0) < UInt(bitPattern: extent0), 2, i, j, 0)
        _check(UInt(bitPattern: d1) < UInt(bitPattern: extent1), 2, i, j, 0)
        return d0 &* stride0 &+ d1 &* stride1
    }

    /// The offset of `[i, j, k]` (rank 3).
    @inlinable @inline(__always)
    func offset(_ i: Int, _ j: Int, _ k: Int) -> Int {
        let d0 = i &- lower0
        let d1 = j &- lower1
        let d2 = k &- lower2
        _check(rank == 3, 3, i, j, k)
        _check(UInt(bitPattern: d0) < UInt(bitPattern: extent0), 3, i, j, k)
        _check(UInt(bitPattern: d1) < UInt(bitPattern: extent1), 3, i, j, k)
        _check(UInt(bitPattern: d2) < UInt(bitPattern: extent2), 3, i, j, k)
        return d0 &* stride0 &+ d1 &* stride1 &+ d2 &* stride2
    }

    /// One condition of an access with `given` indices: when it fails, reports the indices and
    /// the window (as integers: see the note at the top of the file), then traps.
    @inlinable @inline(__always)
    func _check(_ holds: Bool, _ given: Int, _ i: Int, _ j: Int, _ k: Int) {
        if _slowPath(!holds) {
            _reportGridIndex(given, i, j, k, rank, lower0, extent0, lower1, extent1, lower2, extent2)
        }
        precondition(holds, "Grid index out of range")
    }

    /// The sub-window of `ranges` (one per dimension, in the grid's coordinates) and its offset
    /// from this window's first element; traps, naming the ranges and the window, unless every
    /// range lies within this window's indices.
    @usableFromInline
    func slice(_ ranges: [Range<Int>]) -> (window: _GridWindow, offset: Int) {
        let inside =
            ranges.count == rank
            && ranges.indices.allSatisfy {
                ranges[$0].lowerBound >= indices($0).lowerBound && ranges[$0].upperBound <= indices($0).upperBound
            }
        if !inside {
            _reportFatal("Grid slice \(_describe(ranges)) out of range for \(self)")
            preconditionFailure("Grid slice out of range")
        }
        let r2 = rank == 3 ? ranges[2] : lower2..<lower2 + 1
        let window = _GridWindow(
            rank: rank, lower: (ranges[0].lowerBound, ranges[1].lowerBound, r2.lowerBound),
            extent: (ranges[0].count, ranges[1].count, r2.count), stride: (stride0, stride1, stride2))
        let offset =
            (ranges[0].lowerBound - lower0) * stride0 + (ranges[1].lowerBound - lower1) * stride1
            + (r2.lowerBound - lower2) * stride2
        // An empty slice views nothing; its offset is kept in range for the pointer arithmetic.
        return (window, window.span == 0 ? 0 : offset)
    }

    /// The line along the `fastest` dimension through `fixed` (the other indices, in order): its
    /// offset from the first element and its length; traps, naming the indices and the window,
    /// when they are not `rank - 1` indices inside the window or the line is empty.
    ///
    /// Inlinable and free of arrays of its own: a stencil asks for several lines per row, and the
    /// caller's variadic array then folds away (only its count and elements are read, even on the
    /// trapping path), leaving one bounds check per line and no allocation.
    @inlinable @inline(__always)
    func line(fastest: Int, _ fixed: [Int]) -> (offset: Int, count: Int) {
        let count = extentAlong(fastest)
        let given = fixed.count
        let a = given > 0 ? fixed[0] : 0
        let b = given > 1 ? fixed[1] : 0
        // The fastest dimension's index is its first; the others are the given ones, in order
        // (the fastest dimension is the first or the last).
        let (d0, d1, d2) =
            fastest == 0 ? (0, a &- lower1, rank == 3 ? b &- lower2 : 0) : (a &- lower0, rank == 3 ? b &- lower1 : 0, 0)
        let inside =
            given == rank &- 1 && count > 0 && UInt(bitPattern: d0) < UInt(bitPattern: extent0)
            && UInt(bitPattern: d1) < UInt(bitPattern: extent1) && UInt(bitPattern: d2) < UInt(bitPattern: extent2)
        if _slowPath(!inside) { _reportGridLine(self, given, a, b, given > 2 ? fixed[2] : 0) }
        return (d0 &* stride0 &+ d1 &* stride1 &+ d2 &* stride2, count)
    }

    @inlinable
    func extentAlong(_ dimension: Int) -> Int { indices(dimension).count }
}

extension _GridWindow: CustomStringConvertible {
    @usableFromInline
    var description: String {
        "indices " + (0..<rank).map { "\(indices($0))" }.joined(separator: " × ")
    }
}

/// Writes why `[i, j]` (`given` 2) or `[i, j, k]` (`given` 3) is refused by the window of `rank`
/// with those lower bounds and extents; returns (the caller traps).
@usableFromInline @inline(never)
func _reportGridIndex(
    _ given: Int, _ i: Int, _ j: Int, _ k: Int, _ rank: Int, _ lower0: Int, _ extent0: Int, _ lower1: Int,
    _ extent1: Int, _ lower2: Int, _ extent2: Int
) {
    let index = given == 3 ? "[\(i), \(j), \(k)]" : "[\(i), \(j)]"
    let window = _GridWindow(
        rank: rank, lower: (lower0, lower1, lower2), extent: (extent0, extent1, extent2), stride: (0, 0, 0))
    if given != rank {
        let ranges = (0..<rank).map { "\(window.indices($0))" }.joined(separator: " × ")
        _reportFatal("Grid of rank \(rank) indexed with \(given) indices \(index): its indices are \(ranges)")
    } else {
        _reportFatal("Grid index \(index) out of range for \(window)")
    }
}

/// Traps for a line out of range, naming its indices (the first three of `given`) and the window.
@usableFromInline @inline(never)
func _reportGridLine(_ window: _GridWindow, _ given: Int, _ a: Int, _ b: Int, _ c: Int) -> Never {
    let shown = [a, b, c].prefix(given).map(String.init).joined(separator: ", ")
    let fixed = given > 3 ? "of \(given) indices [\(shown), …]" : "[\(shown)]"
    _reportFatal("Grid line \(fixed) out of range for \(window)")
    preconditionFailure("Grid line out of range")
}

/// Ranges as a reader writes them: `[0..<5, 2..<3]` (an array's own description spells each
/// `Range(0..<5)`).
func _describe(_ ranges: [Range<Int>]) -> String {
    "[" + ranges.map { "\($0)" }.joined(separator: ", ") + "]"
}
