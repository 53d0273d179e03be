/// What a buffer's memory really is: which backend made it, its alignment and size, and what that
/// backend knows about it.
///
/// Every field reports what was obtained, never merely what was asked for. The core describes any
/// buffer; a backend attaches its own facts — ZiggyMmap's mapping details (`backing.mapping`)
/// carry the page size obtained and why it differs from the request, the NUMA policy the kernel
/// accepted, population and lock state. Values, not live views: take a new one after changing
/// the memory (advice, migration).
public struct BufferBacking: Sendable, Hashable, CustomStringConvertible {
    /// The backend that owns the memory, compared by name (its `description`). Backends add their
    /// own names with the `@_spi(AllocatorImplementation)` initializer: ZiggyMmap's `mmap`, `numa`
    /// and `file`, and a custom allocator's (`BufferBacking.Backend("block-pool")`).
    public struct Backend: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// The backend called `name` (an allocator author's own, beside the built-in ones below).
        @_spi(AllocatorImplementation)
        public init(_ name: String) { self.name = name }

        public var description: String { name }

        /// `malloc`/`posix_memalign`/`calloc` via ``SystemMemoryAllocator``.
        public static var system: Backend { Backend("system") }
        /// A ``ScopedAllocator`` arena; freed all at once at the end of its scope.
        public static var scoped: Backend { Backend("scoped") }
        /// Foreign memory wrapped without ownership; never freed by the buffer.
        public static var wrapped: Backend { Backend("wrapped") }
        /// An empty buffer: no memory at all (every allocator answers a request for zero elements
        /// with one, without allocating).
        public static var empty: Backend { Backend("empty") }
    }

    /// The backend that made the buffer: a built-in one, ZiggyMmap's, or a custom allocator's own
    /// (named by the allocator: its description is that name).
    public var backend: Backend
    /// Whether a ``DebugMemoryAllocator`` tracks the buffer (its free is recorded for leak reports).
    public var isDebugTracked: Bool = false
    /// Whether the buffer frees its memory (false for wrapped foreign memory).
    public var isOwning: Bool = true
    /// The alignment the allocator guarantees for the first element (bytes).
    public var alignment: Int
    /// Bytes reserved for the buffer, including rounding up to whole pages (at least `byteCount`).
    public var reservedByteCount: Int
    /// What the backend knows beyond the above (nil when it adds nothing). Read it through the
    /// backend's own accessors, e.g. ZiggyMmap's `backing.mapping`.
    @_spi(AllocatorImplementation)
    public var details: (any BackingDetails)? {
        get { _details?.value }
        set { _details = newValue.map(Details.init) }
    }
    /// The details, kept so that they compare and hash as values: `BufferBacking`'s `==` and
    /// `hash(into:)` are the compiler's, over every field.
    var _details: Details?

    /// The description of a buffer of `backend` (an allocator's `backing`; SPI for the details).
    @_spi(AllocatorImplementation)
    public init(
        backend: Backend, alignment: Int, reservedByteCount: Int,
        details: (any BackingDetails)? = nil
    ) {
        self.backend = backend
        self.alignment = alignment
        self.reservedByteCount = reservedByteCount
        self._details = details.map(Details.init)
    }

    /// The backend's details of type `T`, if it attached them.
    @_spi(AllocatorImplementation)
    public func details<T: BackingDetails>(as type: T.Type) -> T? { details as? T }

    public var description: String {
        var parts = [backend.name]
        if isDebugTracked { parts.append("debug-tracked") }
        if !isOwning { parts.append("non-owning") }
        parts.append("align \(alignment)")
        if let details { parts.append(details.description) }
        return parts.joined(separator: ", ")
    }
}

/// What a backend attaches to a buffer's ``BufferBacking``: its own facts about the memory, as
/// values. ZiggyMmap's mapping details are one; a custom allocator may define its own.
@_spi(AllocatorImplementation)
public protocol BackingDetails: Sendable, Hashable, CustomStringConvertible {}

extension BufferBacking {
    /// A backend's details as a value: equal when the details are of the same type and equal.
    struct Details: Hashable, Sendable {
        let value: any BackingDetails

        static func == (a: Details, b: Details) -> Bool { erased(a.value) == erased(b.value) }
        func hash(into hasher: inout Hasher) { hasher.combine(erased(value)) }
    }
}

/// The details as an `AnyHashable` (opens the existential).
private func erased(_ details: some BackingDetails) -> AnyHashable { AnyHashable(details) }
