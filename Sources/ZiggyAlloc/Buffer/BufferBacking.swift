/// What a buffer's memory really is: which backend made it, its alignment and size, and what that
/// backend knows about it.
///
/// Every field reports what was obtained, never merely what was asked for. The core describes any
/// buffer; a backend attaches its own facts — ZiggyMmap's mapping details (`backing.mapping`)
/// carry the page size obtained and why it differs from the request, the NUMA policy the kernel
/// accepted, population and lock state. Values, not live views: take a new one after changing
/// the memory (advice, migration).
public struct BufferBacking: Sendable, Hashable, CustomStringConvertible {
    /// The backend that owns the memory. Backends add their own names (ZiggyMmap: `mmap`, `numa`,
    /// `file`).
    public struct Backend: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// `malloc`/`posix_memalign`/`calloc` via ``SystemMemoryAllocator``.
        public static var system: Backend { Backend(rawValue: "system") }
        /// A ``ScopedAllocator`` arena; freed all at once at the end of its scope.
        public static var scoped: Backend { Backend(rawValue: "scoped") }
        /// Foreign memory wrapped without ownership; never freed by the buffer.
        public static var wrapped: Backend { Backend(rawValue: "wrapped") }
        /// A user-defined allocator.
        public static var custom: Backend { Backend(rawValue: "custom") }
        /// An empty buffer: no memory at all (every allocator answers a request for zero elements
        /// with one, without allocating).
        public static var empty: Backend { Backend(rawValue: "empty") }
    }

    public var backend: Backend
    /// A custom allocator's own name (nil for the built-in backends).
    public var customName: String?
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
    public var details: (any BackingDetails)?

    /// The description of a buffer of `backend` (an allocator's `backing`; SPI for the details).
    @_spi(AllocatorImplementation)
    public init(
        backend: Backend, customName: String? = nil, alignment: Int, reservedByteCount: Int,
        details: (any BackingDetails)? = nil
    ) {
        self.backend = backend
        self.customName = customName
        self.alignment = alignment
        self.reservedByteCount = reservedByteCount
        self.details = details
    }

    /// The backend's details of type `T`, if it attached them.
    @_spi(AllocatorImplementation)
    public func details<T: BackingDetails>(as type: T.Type) -> T? { details as? T }

    public static func == (a: BufferBacking, b: BufferBacking) -> Bool {
        a.backend == b.backend && a.customName == b.customName && a.isDebugTracked == b.isDebugTracked
            && a.isOwning == b.isOwning && a.alignment == b.alignment && a.reservedByteCount == b.reservedByteCount
            && a.details.map { erased($0) } == b.details.map { erased($0) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(backend)
        hasher.combine(customName)
        hasher.combine(isDebugTracked)
        hasher.combine(isOwning)
        hasher.combine(alignment)
        hasher.combine(reservedByteCount)
        hasher.combine(details.map { erased($0) })
    }

    public var description: String {
        var parts = [customName ?? backend.rawValue]
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

/// The details as an `AnyHashable` (opens the existential).
private func erased(_ details: some BackingDetails) -> AnyHashable { AnyHashable(details) }
