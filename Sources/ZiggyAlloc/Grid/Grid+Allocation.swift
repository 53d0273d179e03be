extension Grid where Element: BitwiseCopyable {
    /// Allocates a grid of `extents` from `allocator` (see ``Layout/init(_:order:padding:)`` for
    /// the shape rules), its first element aligned to `alignment` bytes — by default 64 or the
    /// padding's multiple, whichever is larger (every line then starts on that boundary).
    ///
    /// Throws the allocator's error: for an invalid shape the one it makes of the
    /// ``AllocationError`` naming the value (nothing is allocated), else what allocation throws.
    public init<A: UnmanagedMemoryAllocator & ~Copyable>(
        extents: [Int], order: Order = .rowMajor, padding: Padding = .cacheLine, alignment: Int? = nil,
        zeroed: Bool = false, allocator: borrowing A,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(A.Failure) {
        let layout: Layout
        do {
            layout = try Layout(extents, order: order, padding: padding)
        } catch {
            throw A.failure(forInvalidRequest: error)
        }
        let align = alignment ?? max(64, padding.byteMultiple, MemoryLayout<Element>.alignment)
        let buffer = try allocator._allocate(
            Element.self, count: layout.count, alignment: align, zeroed: zeroed,
            site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
        self.init(_checked: buffer, layout: layout)
    }
}
