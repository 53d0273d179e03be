/// An owning two- or three-dimensional array over one ``UnmanagedBuffer``: row- or column-major,
/// its lines padded to a boundary the caller chooses, indexed `grid[i, j]` or `grid[i, j, k]`.
///
/// **Ownership.** Noncopyable, like the buffer it owns: the memory goes back to its allocator when
/// the grid is destroyed, or moves out with ``takeBuffer()`` (no copy). ``init(_:layout:)`` turns a
/// flat buffer into a grid without copying.
///
/// **Access.** The subscripts trap on an index outside the extents, naming the indices and the
/// extents — in release builds too. The inner loop of a stencil still vectorizes: over grids
/// larger than the caches it runs at the C loop's speed (ziggy-bench `stencil`, 5- and 7-point
/// sweeps: 0.94–1.09× C `-O3 -march=native` with `restrict`); over grids held in cache, with short
/// rows, at 0.4–0.8× of it (Docs/Benchmarks.md). ``view`` and ``mutableView`` give non-escaping
/// views with lines as `Span`s and sub-grids; ``layout`` gives the strides and leading dimension C
/// needs.
///
/// **Threads.** A grid may be sent to another thread when its elements are `Sendable`; writing
/// needs exclusive (`inout`) access. A ZiggyMmap `Team` splits a grid into blocks of whole rows
/// or planes, each placed on its member's node (`Team.allocate(_:extents:…)` and
/// `Team.forEachBlock`).
@frozen
public struct Grid<Element>: ~Copyable {
    @usableFromInline var _buffer: UnmanagedBuffer<Element>
    @usableFromInline let _window: _GridWindow

    /// The grid's shape in memory.
    public let layout: Layout

    /// Makes a grid of `layout` over `buffer`, without copying: element `[i, j]` is
    /// `buffer[i × strides[0] + j × strides[1]]`.
    ///
    /// Throws ``AllocationError/countMismatch(destination:source:)`` when the buffer does not hold
    /// exactly `layout.count` elements; the buffer is then released (nothing leaks).
    public init(_ buffer: consuming UnmanagedBuffer<Element>, layout: Layout) throws(AllocationError) {
        guard buffer.count == layout.count else {
            throw .countMismatch(destination: layout.count, source: buffer.count)
        }
        self.init(_checked: buffer, layout: layout)
    }

    /// A grid over a buffer of exactly `layout.count` elements (checked by the caller).
    @usableFromInline
    init(_checked buffer: consuming UnmanagedBuffer<Element>, layout: Layout) {
        _buffer = buffer
        _window = _GridWindow(extents: layout.extents, strides: layout.strides)
        self.layout = layout
    }

    /// Gives up the grid and returns its storage as a flat buffer (padding included), without
    /// copying.
    public consuming func takeBuffer() -> UnmanagedBuffer<Element> {
        _buffer
    }

    /// The storage, read-only: its ``UnmanagedBuffer/backing``, its placement, its pointer for C
    /// functions that read (`grid.buffer.withUnsafeBufferPointer`).
    public var buffer: UnmanagedBuffer<Element> {
        _read { yield _buffer }
    }

    /// Calls `body` with a pointer to the storage (for a C function that writes the grid: BLAS,
    /// LAPACK, FFTW, with ``Layout/leadingDimension``); the pointer must not escape `body`.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: _buffer._base, count: _buffer._count))
    }

    /// The element at `[i, j]` of a 2-D grid; traps, naming the indices and the extents, when an
    /// index is out of range or the grid has 3 dimensions.
    @inlinable
    public subscript(i: Int, j: Int) -> Element {
        @inline(__always) get { _buffer._base[_window.offset(i, j)] }
        @inline(__always) set { _buffer._base[_window.offset(i, j)] = newValue }
    }

    /// The element at `[i, j, k]` of a 3-D grid; traps, naming the indices and the extents, when
    /// an index is out of range or the grid has 2 dimensions.
    @inlinable
    public subscript(i: Int, j: Int, k: Int) -> Element {
        @inline(__always) get { _buffer._base[_window.offset(i, j, k)] }
        @inline(__always) set { _buffer._base[_window.offset(i, j, k)] = newValue }
    }

    /// A read-only view of the whole grid, valid while the grid is borrowed.
    @inlinable
    public var view: View {
        @_lifetime(borrow self)
        get {
            let result = View(_start: UnsafePointer(_buffer._base), window: _window, fastest: layout.fastestDimension)
            return _overrideLifetime(result, borrowing: self)
        }
    }

    /// A mutable view of the whole grid, valid while the grid is exclusively accessed.
    @inlinable
    public var mutableView: MutableView {
        @_lifetime(&self)
        mutating get {
            let result = MutableView(_start: _buffer._base, window: _window, fastest: layout.fastestDimension)
            return _overrideLifetime(result, mutating: &self)
        }
    }
}

extension Grid: @unchecked Sendable where Element: Sendable {}
