extension FileMapping {
    /// A read-only view of a mapped file: elements can be read (bounds-checked), never written.
    /// Unmaps the file when it ends. Noncopyable; may be sent to and read from other threads when
    /// its elements are `Sendable`.
    public struct ReadOnlyBuffer<Element>: ~Copyable {
        private var storage: UnmanagedBuffer<Element>

        init(_ storage: consuming UnmanagedBuffer<Element>) { self.storage = storage }

        public var count: Int { storage.count }
        public var isEmpty: Bool { storage.isEmpty }
        public var byteCount: Int { storage.byteCount }
        public var indices: Range<Int> { storage.indices }

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

        /// The bytes, read-only (`bytes.withUnsafeBytes` gives the raw pointer for C).
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

        /// The first element's address: the escape hatch to C (see ``UnmanagedBuffer/unsafeBaseAddress``).
        @unsafe public var unsafeBaseAddress: UnsafePointer<Element> { UnsafePointer(unsafe storage.unsafeBaseAddress) }

        /// What the memory is (a file mapping).
        public var backing: BufferBacking { storage.backing }

        /// The page sizes backing the mapping now, from `/proc/self/smaps`.
        public func pageSizeReport() -> PageSize.Report { storage.pageSizeReport() }

        /// Where the mapping's pages are now, per NUMA node (see ``UnmanagedBuffer/placement(elements:maximumSamples:)``).
        public func placement(maximumSamples: Int = 1 << 18) throws(MmapError) -> PlacementReport {
            try storage.placement(maximumSamples: maximumSamples)
        }

        /// Gives `advice` for the pages holding `elements` (all of them by default): read-ahead
        /// (`willNeed`, `sequential`, `random`) or dropping cached pages (`dontNeed`, which re-reads the
        /// file on the next access). See ``UnmanagedBuffer/advise(_:elements:)``.
        public mutating func advise(_ advice: MemoryAdvice, elements: Range<Int>? = nil) throws(MmapError) {
            try storage.advise(advice, elements: elements)
        }

        /// The elements as an array (a copy).
        public func toArray() -> [Element] { storage.toArray() }
    }
}

extension FileMapping.ReadOnlyBuffer: @unchecked Sendable where Element: Sendable {}
