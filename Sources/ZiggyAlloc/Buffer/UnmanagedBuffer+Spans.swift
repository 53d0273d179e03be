// Span views: bounds-checked, lifetime-checked access at unsafe-pointer speed.
extension UnmanagedBuffer {
    /// A read-only view of all elements, valid while the buffer is borrowed.
    @inlinable
    public var span: Span<Element> {
        @_lifetime(borrow self)
        get {
            let result = Span(_unsafeElements: UnsafeBufferPointer(start: _base, count: _count))
            return _overrideLifetime(result, borrowing: self)
        }
    }

    /// A mutable view of all elements, valid while the buffer is exclusively accessed.
    @inlinable
    public var mutableSpan: MutableSpan<Element> {
        @_lifetime(&self)
        mutating get {
            let result = MutableSpan(_unsafeElements: UnsafeMutableBufferPointer(start: _base, count: _count))
            return _overrideLifetime(result, mutating: &self)
        }
    }

    /// The elements' bytes, read-only.
    @inlinable
    public var bytes: RawSpan {
        @_lifetime(borrow self)
        get {
            let result = RawSpan(_unsafeBytes: UnsafeRawBufferPointer(start: _base, count: _byteCount))
            return _overrideLifetime(result, borrowing: self)
        }
    }

    /// The elements' bytes, writable.
    @inlinable
    public var mutableBytes: MutableRawSpan {
        @_lifetime(&self)
        mutating get {
            let result = MutableRawSpan(_unsafeBytes: UnsafeMutableRawBufferPointer(start: _base, count: _byteCount))
            return _overrideLifetime(result, mutating: &self)
        }
    }

    /// A read-only view of `bounds`; traps, naming the range and the count, when `bounds` is not
    /// within `0..<count`.
    @inlinable
    @_lifetime(borrow self)
    public func span(_ bounds: Range<Int>) -> Span<Element> {
        _checkRange(bounds, _count)
        let result = Span(_unsafeElements: UnsafeBufferPointer(start: _base + bounds.lowerBound, count: bounds.count))
        return _overrideLifetime(result, borrowing: self)
    }

    /// A mutable view of `bounds`; traps, naming the range and the count, when `bounds` is not
    /// within `0..<count`.
    @inlinable
    @_lifetime(&self)
    public mutating func mutableSpan(_ bounds: Range<Int>) -> MutableSpan<Element> {
        _checkRange(bounds, _count)
        let result = MutableSpan(
            _unsafeElements: UnsafeMutableBufferPointer(start: _base + bounds.lowerBound, count: bounds.count))
        return _overrideLifetime(result, mutating: &self)
    }
}
