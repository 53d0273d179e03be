/// A non-owning, non-escapable buffer over memory a `MutableSpan` describes: what
/// ``UnmanagedBuffer/withWrapping(_:_:)-(MutableSpan<Element>,_)`` hands its closure (the .NET `WrapSpan`).
///
/// It offers the buffer's element access — subscript, spans, `fill`, `clear`, `copy(from:)` —
/// through a non-owning ``UnmanagedBuffer`` it keeps private, and never frees anything. It is
/// `~Escapable`: it cannot be returned, stored, swapped with another value or captured by an
/// escaping closure, so it cannot outlive the span it views. (An `inout UnmanagedBuffer` could be
/// swapped out of the closure and used after the memory is gone; that is why this is a type of
/// its own.)
public struct WrappedBuffer<Element>: ~Copyable, ~Escapable {
    @usableFromInline var storage: UnmanagedBuffer<Element>

    @inlinable
    @_lifetime(&span)
    init(_ span: inout MutableSpan<Element>) {
        storage = unsafe UnmanagedBuffer(unsafeWrapping: span.withUnsafeMutableBufferPointer { $0 })
    }

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Whether there are no elements.
    @inlinable public var isEmpty: Bool { storage.isEmpty }
    /// The valid indices, `0..<count`.
    @inlinable public var indices: Range<Int> { storage.indices }
    /// Always false: a wrapped buffer never frees what it views (as ``UnmanagedBuffer/isOwning``).
    @inlinable public var isOwning: Bool { false }

    /// The element at `index`; traps with the index and the count when out of range.
    @inlinable
    public subscript(index: Int) -> Element {
        @inline(__always) get { storage[index] }
        @inline(__always) set { storage[index] = newValue }
    }

    /// A read-only view of all elements.
    @inlinable
    public var span: Span<Element> {
        @_lifetime(borrow self) get { _overrideLifetime(storage.span, borrowing: self) }
    }

    /// A mutable view of all elements.
    @inlinable
    public var mutableSpan: MutableSpan<Element> {
        @_lifetime(&self) mutating get {
            let elements = unsafe UnsafeMutableBufferPointer(start: storage.unsafeBaseAddress, count: storage.count)
            return _overrideLifetime(MutableSpan(_unsafeElements: elements), mutating: &self)
        }
    }

    /// Sets every element to `value`.
    @inlinable public mutating func fill(with value: Element) { storage.fill(with: value) }

    /// Sets every byte to zero.
    @inlinable public mutating func clear() { storage.clear() }

    /// Copies `source` over all elements; throws ``AllocationError/countMismatch(destination:source:)``
    /// (and changes nothing) when the counts differ.
    @inlinable
    public mutating func copy(from source: Span<Element>) throws(AllocationError) { try storage.copy(from: source) }

    /// The elements as a Swift array (a copy).
    @inlinable public func toArray() -> [Element] { storage.toArray() }
}

extension UnmanagedBuffer {
    /// Calls `body` with a non-owning buffer over the elements of `span` (the .NET `WrapSpan`).
    ///
    /// The ``WrappedBuffer`` is non-escapable: the compiler rejects any attempt to keep it past
    /// `body`, so it cannot be used after `span`'s memory is gone.
    @inlinable
    public static func withWrapping<R: ~Copyable, E: Error>(
        _ span: inout MutableSpan<Element>,
        _ body: (inout WrappedBuffer<Element>) throws(E) -> R
    ) throws(E) -> R {
        var wrapped = WrappedBuffer(&span)
        return try body(&wrapped)
    }
}

extension UnmanagedBuffer {
    /// Calls `body` with a non-owning buffer over the storage of `array` (made unique first, as
    /// any array mutation): code written against buffers works on an array in place, no copy.
    ///
    /// The view cannot outlive the call (see ``withWrapping(_:_:)-(MutableSpan<Element>,_)``).
    @inlinable
    public static func withWrapping<R: ~Copyable, E: Error>(
        _ array: inout [Element],
        _ body: (inout WrappedBuffer<Element>) throws(E) -> R
    ) throws(E) -> R {
        var span = array.mutableSpan
        return try withWrapping(&span, body)
    }
}
