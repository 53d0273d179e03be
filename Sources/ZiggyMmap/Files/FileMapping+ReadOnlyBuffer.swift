extension FileMapping {
    /// A read-only view of a mapped file: elements can be read (bounds-checked), never written.
    /// Unmaps the file when it ends. Noncopyable; may be sent to and read from other threads when
    /// its elements are `Sendable`.
    public struct ReadOnlyBuffer<Element>: ~Copyable {
        private var storage: UnmanagedBuffer<Element>

        init(_ storage: consuming UnmanagedBuffer<Element>) { self.storage = storage }

        /// Number of elements (whether there are none is `span.isEmpty`, the valid indices
        /// `span.indices`).
        public var count: Int { storage.count }
        /// Size in bytes (`count × stride`).
        public var byteCount: Int { storage.byteCount }

        /// The element at `index`; traps, naming the index and the count, when out of range.
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

        /// Calls `body` with a pointer to the elements; the pointer must not escape `body`.
        public func withUnsafeBufferPointer<R: ~Copyable, E: Error>(
            _ body: (UnsafeBufferPointer<Element>) throws(E) -> R
        ) throws(E) -> R {
            try storage.withUnsafeBufferPointer(body)
        }

        /// Calls `body` with the bytes; the pointer must not escape `body`.
        public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
            try storage.withUnsafeBytes(body)
        }

        /// The first element's address: the escape hatch to C (see ``UnmanagedBuffer/unsafeBaseAddress``).
        @unsafe public var unsafeBaseAddress: UnsafePointer<Element> { UnsafePointer(unsafe storage.unsafeBaseAddress) }

        /// What the memory is (a file mapping).
        public var backing: BufferBacking { storage.backing }

        /// Calls `body` with the mapping's buffer, borrowed read-only — for what the buffer reports
        /// about its memory (`pageSizeReport()`, `placement(elements:maximumSamples:)`) and a copy
        /// of the elements (`toArray()`). The buffer cannot leave `body`, and a borrowed buffer
        /// offers no safe way to write: the mapping stays read-only.
        public func withBuffer<R: ~Copyable, E: Error>(
            _ body: (borrowing UnmanagedBuffer<Element>) throws(E) -> R
        ) throws(E) -> R {
            try body(storage)
        }

        /// Gives `advice` for the pages holding `elements` (all of them by default): read-ahead
        /// (`willNeed`, `sequential`, `random`) or dropping cached pages (`dontNeed`, which re-reads the
        /// file on the next access). See ``UnmanagedBuffer/advise(_:elements:)``.
        public mutating func advise(_ advice: MemoryAdvice, elements: Range<Int>? = nil) throws(MmapError) {
            try storage.advise(advice, elements: elements)
        }
    }
}

extension FileMapping.ReadOnlyBuffer: @unchecked Sendable where Element: Sendable {}
