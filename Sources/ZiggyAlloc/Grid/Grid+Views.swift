// Non-escaping views of a grid — the grid's analogue of `Span` and `MutableSpan`: they cannot be
// returned, stored or captured by an escaping closure, so they never outlive the grid. A view
// keeps the grid's coordinates (a view of rows 100..<200 is indexed with 100..<200), which is what
// lets a team member run the same stencil code on its block as on the whole grid.
extension Grid {
    /// A read-only, non-escaping view of a grid or of a rectangular part of it (``slice(_:)``),
    /// indexed with the grid's own indices.
    @frozen
    public struct View: ~Escapable {
        @usableFromInline let _start: UnsafePointer<Element>
        @usableFromInline let _window: _GridWindow
        @usableFromInline let _fastest: Int

        @inlinable @_lifetime(borrow start)
        init(_start start: UnsafePointer<Element>, window: _GridWindow, fastest: Int) {
            _start = start
            _window = window
            _fastest = fastest
        }

        /// The number of dimensions (2 or 3; public as the grid's `layout.extents.count`).
        @inlinable package var rank: Int { _window.rank }

        /// The indices this view admits along `dimension` (in the grid's coordinates; empty for a
        /// dimension beyond the rank).
        @inlinable public func indices(_ dimension: Int) -> Range<Int> { _window.indices(dimension) }

        /// The element at `[i, j]`; traps, naming the indices and the view's ranges, outside them.
        @inlinable
        public subscript(i: Int, j: Int) -> Element {
            @inline(__always) get { _start[_window.offset(i, j)] }
        }

        /// The element at `[i, j, k]`; traps, naming the indices and the view's ranges, outside them.
        @inlinable
        public subscript(i: Int, j: Int, k: Int) -> Element {
            @inline(__always) get { _start[_window.offset(i, j, k)] }
        }

        /// The part of this view within `ranges` (2 or 3, one per dimension, in the grid's
        /// coordinates); traps, naming the ranges, unless each lies within the view.
        @_lifetime(copy self)
        public func slice(_ ranges: Range<Int>...) -> View {
            let (window, offset) = _window.slice(ranges)
            return _overrideLifetime(View(_start: _start + offset, window: window, fastest: _fastest), copying: self)
        }

        /// The contiguous line through the given indices of the slower dimensions (a row of a
        /// row-major 2-D view: `line(i)`; a column of a column-major one: `line(j)`; in 3-D, two
        /// indices), over the view's range of the fastest dimension; traps outside the view.
        @inlinable @inline(__always) @_lifetime(copy self)
        public func line(_ indices: Int...) -> Span<Element> {
            let (offset, count) = _window.line(fastest: _fastest, indices)
            let span = Span(_unsafeElements: UnsafeBufferPointer(start: _start + offset, count: count))
            return _overrideLifetime(span, copying: self)
        }
    }

    /// A mutable, non-escaping view of a grid or of a rectangular part of it, indexed with the
    /// grid's own indices: what a team member gets for its block.
    @frozen
    public struct MutableView: ~Copyable, ~Escapable {
        @usableFromInline let _start: UnsafeMutablePointer<Element>
        @usableFromInline let _window: _GridWindow
        @usableFromInline let _fastest: Int

        @inlinable @_lifetime(borrow start)
        init(_start start: UnsafeMutablePointer<Element>, window: _GridWindow, fastest: Int) {
            _start = start
            _window = window
            _fastest = fastest
        }

        /// The number of dimensions (2 or 3; public as the grid's `layout.extents.count`).
        @inlinable package var rank: Int { _window.rank }

        /// The indices this view admits along `dimension` (in the grid's coordinates).
        @inlinable public func indices(_ dimension: Int) -> Range<Int> { _window.indices(dimension) }

        /// The element at `[i, j]`; traps, naming the indices and the view's ranges, outside them.
        @inlinable
        public subscript(i: Int, j: Int) -> Element {
            @inline(__always) get { _start[_window.offset(i, j)] }
            @inline(__always) set { _start[_window.offset(i, j)] = newValue }
        }

        /// The element at `[i, j, k]`; traps, naming the indices and the view's ranges, outside them.
        @inlinable
        public subscript(i: Int, j: Int, k: Int) -> Element {
            @inline(__always) get { _start[_window.offset(i, j, k)] }
            @inline(__always) set { _start[_window.offset(i, j, k)] = newValue }
        }

        /// A read-only view of the same elements, valid while this view is borrowed.
        public var view: View {
            @_lifetime(borrow self)
            get {
                _overrideLifetime(View(_start: UnsafePointer(_start), window: _window, fastest: _fastest), borrowing: self)
            }
        }

        /// The mutable part of this view within `ranges` (2 or 3 ranges, one per dimension); traps,
        /// naming the ranges, unless each lies within the view.
        @_lifetime(&self)
        public mutating func slice(_ ranges: Range<Int>...) -> MutableView {
            let (window, offset) = _window.slice(ranges)
            return _overrideLifetime(MutableView(_start: _start + offset, window: window, fastest: _fastest), mutating: &self)
        }

        /// The contiguous line through the given indices of the slower dimensions, writable (see
        /// ``View/line(_:)``).
        @inlinable @inline(__always) @_lifetime(&self)
        public mutating func mutableLine(_ indices: Int...) -> MutableSpan<Element> {
            let (offset, count) = _window.line(fastest: _fastest, indices)
            let span = MutableSpan(_unsafeElements: UnsafeMutableBufferPointer(start: _start + offset, count: count))
            return _overrideLifetime(span, mutating: &self)
        }
    }
}

// What a team region builds for each member: a view of one block of whole indices of the slowest
// dimension (plus `halo` on each side for a read view, clipped to the grid). Package-internal:
// the region guarantees the blocks are disjoint and that the grid is exclusively accessed.
extension Grid.MutableView {
    @_lifetime(borrow start)
    package init(_unsafeStart start: UnsafeMutablePointer<Element>, layout: Grid.Layout, slowest: Range<Int>) {
        let (window, offset) = _GridWindow(extents: layout.extents, strides: layout.strides).slice(
            Grid.blockRanges(layout, slowest))
        let view = Grid.MutableView(_start: start + offset, window: window, fastest: layout.fastestDimension)
        self = _overrideLifetime(view, borrowing: start)
    }
}

extension Grid.View {
    @_lifetime(borrow start)
    package init(_unsafeStart start: UnsafePointer<Element>, layout: Grid.Layout, slowest: Range<Int>) {
        let (window, offset) = _GridWindow(extents: layout.extents, strides: layout.strides).slice(
            Grid.blockRanges(layout, slowest))
        let view = Grid.View(_start: start + offset, window: window, fastest: layout.fastestDimension)
        self = _overrideLifetime(view, borrowing: start)
    }
}

extension Grid {
    /// Every index of every dimension but the slowest, whose indices are `slowest`.
    static func blockRanges(_ layout: Layout, _ slowest: Range<Int>) -> [Range<Int>] {
        (0..<layout.rank).map { $0 == layout.slowestDimension ? slowest : 0..<layout.extents[$0] }
    }
}
