/// A read-only view of a mapped file: elements can be read (bounds-checked), never written.
/// Unmaps the file when it ends. Noncopyable; may be sent to and read from other threads.
public struct ReadOnlyMappedBuffer<Element: BitwiseCopyable>: ~Copyable, @unchecked Sendable {
    private let storage: UnmanagedBuffer<Element>

    init(_ storage: consuming UnmanagedBuffer<Element>) { self.storage = storage }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var byteCount: Int { storage.byteCount }

    /// The element at `index`; traps when out of range.
    public subscript(index: Int) -> Element { storage[index] }

    /// All elements, read-only.
    public var span: Span<Element> {
        @_lifetime(borrow self)
        get {
            let result = storage.span
            return _overrideLifetime(result, borrowing: self)
        }
    }

    /// The bytes, read-only.
    public var bytes: RawSpan {
        @_lifetime(borrow self)
        get {
            let result = storage.bytes
            return _overrideLifetime(result, borrowing: self)
        }
    }

    public func withUnsafeBufferPointer<R: ~Copyable, E: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// What the memory is (a file mapping).
    public var backing: BufferBacking { storage.backing }

    /// The elements as an array (a copy).
    public func toArray() -> [Element] { storage.toArray() }
}
