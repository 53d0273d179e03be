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
// then a `precondition` on the same condition. The rank test is loop-invariant and hoists.

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
        let inside =
            rank == 2 && UInt(bitPattern: d0) < UInt(bitPattern: extent0) && UInt(bitPattern: d1) < UInt(bitPattern: extent1)
        if _slowPath(!inside) { _reportGridIndex(self, 2, i, j, 0) }
        precondition(inside, "Grid index out of range")
        return d0 &* stride0 &+ d1 &* stride1
    }

    /// The offset of `[i, j, k]` (rank 3).
    @inlinable @inline(__always)
    func offset(_ i: Int, _ j: Int, _ k: Int) -> Int {
        let d0 = i &- lower0
        let d1 = j &- lower1
        let d2 = k &- lower2
        let inside =
            rank == 3 && UInt(bitPattern: d0) < UInt(bitPattern: extent0)
            && UInt(bitPattern: d1) < UInt(bitPattern: extent1) && UInt(bitPattern: d2) < UInt(bitPattern: extent2)
        if _slowPath(!inside) { _reportGridIndex(self, 3, i, j, k) }
        precondition(inside, "Grid index out of range")
        return d0 &* stride0 &+ d1 &* stride1 &+ d2 &* stride2
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
    /// offset from the first element and its length; traps as `offset` does.
    @usableFromInline
    func line(fastest: Int, _ fixed: [Int]) -> (offset: Int, count: Int) {
        // One index per slower dimension: checked before they are read, so that too few of them
        // trap with this message rather than the array's.
        if fixed.count != rank - 1 {
            _reportFatal("Grid line \(fixed) out of range for \(self): a line takes \(rank - 1) indices")
            preconditionFailure("Grid line out of range")
        }
        var index = [0, 0, 0]
        var k = 0
        for d in 0..<rank where d != fastest {
            index[d] = fixed[k]
            k += 1
        }
        index[fastest] = indices(fastest).lowerBound
        let ranges = (0..<rank).map { indices($0) }
        let inside =
            extentAlong(fastest) > 0
            && (0..<rank).allSatisfy { $0 == fastest || ranges[$0].contains(index[$0]) }
        if !inside {
            _reportFatal("Grid line \(fixed) out of range for \(self)")
            preconditionFailure("Grid line out of range")
        }
        let offset = rank == 3 ? self.offset(index[0], index[1], index[2]) : self.offset(index[0], index[1])
        return (offset, extentAlong(fastest))
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

@usableFromInline @inline(never)
func _reportGridIndex(_ window: _GridWindow, _ given: Int, _ i: Int, _ j: Int, _ k: Int) {
    let index = given == 3 ? "[\(i), \(j), \(k)]" : "[\(i), \(j)]"
    if given != window.rank {
        let ranges = (0..<window.rank).map { "\(window.indices($0))" }.joined(separator: " × ")
        _reportFatal("Grid of rank \(window.rank) indexed with \(given) indices \(index): its indices are \(ranges)")
    } else {
        _reportFatal("Grid index \(index) out of range for \(window)")
    }
}

/// Ranges as a reader writes them: `[0..<5, 2..<3]` (an array's own description spells each
/// `Range(0..<5)`).
func _describe(_ ranges: [Range<Int>]) -> String {
    "[" + ranges.map { "\($0)" }.joined(separator: ", ") + "]"
}
