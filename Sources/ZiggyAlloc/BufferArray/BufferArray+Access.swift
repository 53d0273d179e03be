// Bulk access: one uniqueness check per mutating call, then straight to memory.
extension BufferArray {
    /// Calls `body` with a pointer to all elements; the pointer must not escape `body`.
    @inlinable
    public func withUnsafeBufferPointer<R: ~Copyable, E: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        defer { _fixLifetime(self) }
        return try body(UnsafeBufferPointer(start: _base, count: _count))
    }

    /// Calls `body` with a mutable pointer to all elements, after copying shared storage; the
    /// pointer must not escape `body`.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R: ~Copyable, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        _makeMutable()
        defer { _fixLifetime(self) }
        return try body(UnsafeMutableBufferPointer(start: _base, count: _count))
    }

    /// A read-only view of all elements, valid while the array is borrowed.
    @inlinable
    public var span: Span<Element> {
        @_lifetime(borrow self)
        get {
            let result = Span(_unsafeElements: UnsafeBufferPointer(start: _base, count: _count))
            return _overrideLifetime(result, borrowing: self)
        }
    }

    /// A mutable view of all elements, valid while the array is exclusively accessed; copies
    /// shared storage first.
    @inlinable
    public var mutableSpan: MutableSpan<Element> {
        @_lifetime(&self)
        mutating get {
            _makeMutable()
            let result = MutableSpan(_unsafeElements: UnsafeMutableBufferPointer(start: _base, count: _count))
            return _overrideLifetime(result, mutating: &self)
        }
    }

    /// Calls `body` with the buffer this array holds, borrowed read-only — for what the buffer
    /// reports about its memory (ZiggyMmap's `pageSizeReport()` and `placement()`, its `owner`).
    /// The buffer cannot leave `body`; writing needs the array's own mutating accessors.
    @inlinable
    public func withBuffer<R: ~Copyable, E: Error>(_ body: (borrowing UnmanagedBuffer<Element>) throws(E) -> R) throws(E) -> R {
        try body(_storage.buffer)
    }
}

// Making arrays: allocate through any shared allocator, filled with a value or copied from a
// collection. One overload per half of the element rule, as the allocator's `allocate` has.
extension BufferArray where Element: BitwiseCopyable {
    /// `count` copies of `value` in memory from `allocator`, whose later copies on write come from
    /// it too. Throws `allocator`'s error for a negative or too large count, or when it has no
    /// memory (nothing is left allocated).
    @inlinable
    public init<A: UnmanagedMemoryAllocator & Sendable>(
        allocator: A, count: Int, repeating value: Element,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(A.Failure) {
        var buffer = try allocator.allocate(
            Element.self, count: count, zeroed: false, fileID: fileID, line: line, function: function)
        buffer.fill(with: value)
        try self.init(buffer, allocator: allocator, fileID: fileID, line: line, function: function)
    }

    /// The elements of `elements`, in memory from `allocator`. Throws `allocator`'s error when it
    /// has no memory, or its request error `countMismatch` when `elements` yields a different
    /// number of elements than its `count` says (a broken collection); nothing is left allocated.
    @inlinable
    public init<A: UnmanagedMemoryAllocator & Sendable>(
        allocator: A, copying elements: some Collection<Element>,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(A.Failure) {
        let buffer = try _BufferArrayStorage<Element>.filled(
            allocator, from: elements, site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
        try self.init(buffer, allocator: allocator, fileID: fileID, line: line, function: function)
    }
}

extension BufferArray where Element: TrivialElement {
    /// `count` copies of `value` (a ``TrivialElement`` such as `Complex<Double>`, whose layout is
    /// checked: a non-trivial type throws `nonTrivialElement`). See the `BitwiseCopyable` form.
    @inlinable @_disfavoredOverload
    public init<A: UnmanagedMemoryAllocator & Sendable>(
        allocator: A, count: Int, repeating value: Element,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(A.Failure) {
        var buffer = try allocator.allocate(
            Element.self, count: count, zeroed: false, fileID: fileID, line: line, function: function)
        buffer.fill(with: value)
        try self.init(buffer, allocator: allocator, fileID: fileID, line: line, function: function)
    }

    /// The elements of `elements` (a ``TrivialElement`` type). See the `BitwiseCopyable` form.
    @inlinable @_disfavoredOverload
    public init<A: UnmanagedMemoryAllocator & Sendable>(
        allocator: A, copying elements: some Collection<Element>,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(A.Failure) {
        let buffer = try _BufferArrayStorage<Element>.filled(
            allocator, from: elements, site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
        try self.init(buffer, allocator: allocator, fileID: fileID, line: line, function: function)
    }
}

extension _BufferArrayStorage {
    /// A buffer from `allocator` holding `elements`: the allocator's `allocate(copying:)` path
    /// (one `memcpy` from contiguous storage; a collection whose iteration disagrees with its
    /// `count` is a `countMismatch` error, the buffer freed).
    @inlinable
    static func filled<A: UnmanagedMemoryAllocator & Sendable>(
        _ allocator: A, from elements: some Collection<Element>, site: LeakReport.CallSite
    ) throws(A.Failure) -> UnmanagedBuffer<Element> {
        try allocator._allocate(copyingCollection: elements, site: site)
    }
}
