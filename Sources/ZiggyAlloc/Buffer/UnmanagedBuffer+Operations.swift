import Glibc

// Bulk operations and scoped unsafe access.
extension UnmanagedBuffer {
    /// Calls `body` with a pointer to all elements; the pointer must not escape `body`.
    @inlinable
    public func withUnsafeBufferPointer<R: ~Copyable, E: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeBufferPointer(start: _base, count: _count))
    }

    /// Calls `body` with a mutable pointer to all elements; the pointer must not escape `body`.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R: ~Copyable, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: _base, count: _count))
    }

    /// Calls `body` with the elements' bytes; the pointer must not escape `body`.
    @inlinable
    public func withUnsafeBytes<R: ~Copyable, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: _base, count: _byteCount))
    }

    /// Sets every element to `value`.
    @inlinable
    public mutating func fill(with value: Element) {
        if MemoryLayout<Element>.size == 1 {
            memset(_base, Int32(unsafeBitCast(value, to: UInt8.self)), _count)
        } else {
            _base.update(repeating: value, count: _count)
        }
    }

    /// Sets every byte to zero.
    @inlinable
    public mutating func clear() {
        memset(_base, 0, _byteCount)
    }

    /// Copies `source` over all elements; throws ``AllocationError/countMismatch(destination:source:)``
    /// (and changes nothing) when the counts differ. Overlapping memory is handled. Copy from
    /// another buffer with `copy(from: other.span)`, from an array with `copy(from: array.span)`.
    @inlinable
    public mutating func copy(from source: Span<Element>) throws(AllocationError) {
        guard source.count == _count else { throw .countMismatch(destination: _count, source: source.count) }
        source.withUnsafeBufferPointer { pointer in
            if let start = pointer.baseAddress { memmove(_base, start, _byteCount) }
        }
    }

    /// The elements as a Swift array (a copy).
    @inlinable
    public func toArray() -> [Element] {
        Array(UnsafeBufferPointer(start: _base, count: _count))
    }

    /// Reinterprets the memory as elements of `T`, keeping ownership. Throws when the byte size is
    /// not a whole number of `T` or the address is not aligned for `T`; the buffer is then freed.
    @inlinable
    public consuming func rebound<T: BitwiseCopyable>(to type: T.Type) throws(AllocationError) -> UnmanagedBuffer<T> {
        try _rebound(to: T.self)
    }

    /// Reinterprets the memory as elements of a ``TrivialElement`` type (such as
    /// `Complex<Double>`), whose layout is checked too: a type that only claims to be trivial
    /// throws ``AllocationError/nonTrivialElement(_:)``. The buffer is freed when this throws.
    @inlinable @_disfavoredOverload
    public consuming func rebound<T: TrivialElement>(to type: T.Type) throws(AllocationError) -> UnmanagedBuffer<T> {
        try _rebound(to: T.self)
    }

    @usableFromInline
    consuming func _rebound<T>(to type: T.Type) throws(AllocationError) -> UnmanagedBuffer<T> {
        let allocation = unsafe unsafeDetach()
        guard let buffer = allocation.buffer(of: T.self) else {
            allocation.release()
            if !_isPOD(T.self) { throw .nonTrivialElement(String(describing: T.self)) }
            throw .invalidArgument(
                "cannot view \(allocation.byteCount) B at \(allocation.base) as \(T.self): the size is not a "
                    + "multiple of \(MemoryLayout<T>.stride) B or the address is not \(MemoryLayout<T>.alignment)-aligned")
        }
        return buffer
    }
}
