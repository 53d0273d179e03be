extension UnmanagedBuffer {
    /// A non-owning, non-escapable buffer over memory a `MutableSpan` describes: what
    /// ``UnmanagedBuffer/withWrapping(_:_:)-392k4`` hands its closure (the .NET `WrapSpan`).
    ///
    /// It offers the owned buffer's element access — subscript, spans and sub-spans, the scoped
    /// pointer accessors C calls need, `fill`, `clear`, `copy(from:)` — through a non-owning
    /// ``UnmanagedBuffer`` it keeps private, and never frees anything (it has no `backing`: its
    /// memory is whatever the span views, and it is never the owner).
    ///
    /// Generic code that should take either an owned buffer or a wrapped array takes the view both
    /// hand out — `inout MutableSpan<Element>` to write, `Span<Element>` to read — and is called with
    /// `buffer.mutableSpan` or `wrapped.mutableSpan`: one function, no protocol to conform to, and
    /// the same speed (a span loop vectorizes as a buffer loop does). It is
    /// `~Escapable`: it cannot be returned, stored, swapped with another value or captured by an
    /// escaping closure, so it cannot outlive the span it views. (An `inout UnmanagedBuffer` could be
    /// swapped out of the closure and used after the memory is gone; that is why this is a type of
    /// its own.)
    public struct Wrapped: ~Copyable, ~Escapable {
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

        /// A read-only view of `bounds`; traps, naming the range and the count, when `bounds` is
        /// not within `0..<count`.
        @inlinable
        @_lifetime(borrow self)
        public func span(_ bounds: Range<Int>) -> Span<Element> {
            _overrideLifetime(storage.span(bounds), borrowing: self)
        }

        /// A mutable view of `bounds`; traps, naming the range and the count, when `bounds` is not
        /// within `0..<count`.
        @inlinable
        @_lifetime(&self)
        public mutating func mutableSpan(_ bounds: Range<Int>) -> MutableSpan<Element> {
            _checkRange(bounds, storage.count)
            let elements = unsafe UnsafeMutableBufferPointer(
                start: storage.unsafeBaseAddress + bounds.lowerBound, count: bounds.count)
            return _overrideLifetime(MutableSpan(_unsafeElements: elements), mutating: &self)
        }

        /// Calls `body` with a pointer to all elements (for a C function that reads them); the
        /// pointer must not escape `body`.
        @inlinable
        public func withUnsafeBufferPointer<R: ~Copyable, E: Error>(
            _ body: (UnsafeBufferPointer<Element>) throws(E) -> R
        ) throws(E) -> R {
            try storage.withUnsafeBufferPointer(body)
        }

        /// Calls `body` with a mutable pointer to all elements (for a C function that writes
        /// them); the pointer must not escape `body`.
        @inlinable
        public mutating func withUnsafeMutableBufferPointer<R: ~Copyable, E: Error>(
            _ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R
        ) throws(E) -> R {
            try storage.withUnsafeMutableBufferPointer(body)
        }

        /// Sets every element to `value`.
        @inlinable public mutating func fill(with value: Element) { storage.fill(with: value) }

        /// Sets every byte to zero.
        @inlinable public mutating func clear() { storage.clear() }

        /// Copies `source` over all elements; throws ``AllocationError/countMismatch(destination:source:)``
        /// (and changes nothing) when the counts differ. From a buffer: `copy(from: buffer.span)`.
        @inlinable
        public mutating func copy(from source: Span<Element>) throws(AllocationError) { try storage.copy(from: source) }
    }
}

// The element rule on the wrapping forms: `BitwiseCopyable` elements are checked by the compiler
// (no error to handle); `TrivialElement` elements (`Complex<Double>`, a user's conformance) are
// checked at run time and throw `WrappingError.layout(.nonTrivialElement)` before the body runs;
// any other type (a `String`, a class) does not compile.
extension UnmanagedBuffer where Element: BitwiseCopyable {
    /// Calls `body` with a non-owning buffer over the elements of `span` (the .NET `WrapSpan`).
    ///
    /// The ``UnmanagedBuffer/Wrapped`` is non-escapable: the compiler rejects any attempt to keep it past
    /// `body`, so it cannot be used after `span`'s memory is gone.
    @inlinable
    public static func withWrapping<R: ~Copyable, E: Error>(
        _ span: inout MutableSpan<Element>,
        _ body: (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R
    ) throws(E) -> R {
        var wrapped = UnmanagedBuffer.Wrapped(&span)
        return try body(&wrapped)
    }

    /// Calls `body` with a non-owning buffer over the storage of `array` (made unique first, as
    /// any array mutation): code written against buffers works on an array in place, no copy.
    ///
    /// The view cannot outlive the call (see ``withWrapping(_:_:)-392k4``).
    @inlinable
    public static func withWrapping<R: ~Copyable, E: Error>(
        _ array: inout [Element],
        _ body: (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R
    ) throws(E) -> R {
        var span = array.mutableSpan
        return try withWrapping(&span, body)
    }
}

extension UnmanagedBuffer where Element: TrivialElement {
    /// ``withWrapping(_:_:)-392k4`` for a ``TrivialElement`` type (such as
    /// `Complex<Double>`), whose layout is checked first: throws
    /// ``UnmanagedBuffer/WrappingError/layout(_:)`` with ``AllocationError/nonTrivialElement(_:)`` — before `body`
    /// runs — for a type that only claims to be trivial, and ``UnmanagedBuffer/WrappingError/body(_:)`` with the
    /// body's own error.
    @inlinable @_disfavoredOverload
    public static func withWrapping<R: ~Copyable, E: Error>(
        _ span: inout MutableSpan<Element>,
        _ body: (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R
    ) throws(WrappingError<E>) -> R {
        guard _isPOD(Element.self) else { throw .layout(.nonTrivialElement(String(describing: Element.self))) }
        var wrapped = UnmanagedBuffer.Wrapped(&span)
        do throws(E) {
            return try body(&wrapped)
        } catch {
            throw .body(error)
        }
    }

    /// ``withWrapping(_:_:)-7s3g`` for a ``TrivialElement`` type, whose layout is checked
    /// first (see the span form); `array` is left as it was when the check fails.
    @inlinable @_disfavoredOverload
    public static func withWrapping<R: ~Copyable, E: Error>(
        _ array: inout [Element],
        _ body: (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R
    ) throws(WrappingError<E>) -> R {
        guard _isPOD(Element.self) else { throw .layout(.nonTrivialElement(String(describing: Element.self))) }
        var span = array.mutableSpan
        return try withWrapping(&span, body)
    }
}

extension UnmanagedBuffer {
    /// Why a `withWrapping` of ``TrivialElement`` elements (or of a `Data`'s bytes) did not return:
    /// the memory cannot be viewed as the element type, or the body threw.
    public enum WrappingError<Body: Error>: Error, CustomStringConvertible {
        /// The element is not trivially copyable (``AllocationError/nonTrivialElement(_:)``), or — for
        /// a `Data` — its size is not a whole number of elements or its bytes are not aligned for them.
        case layout(AllocationError)
        /// The body's own error.
        case body(Body)

        public var description: String {
            switch self {
            case .layout(let error): return "cannot wrap the memory: \(error)"
            case .body(let error): return "the body threw: \(error)"
            }
        }
    }
}

extension UnmanagedBuffer.WrappingError: Equatable where Body: Equatable {}
extension UnmanagedBuffer.WrappingError: Hashable where Body: Hashable {}
