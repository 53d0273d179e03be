/// Which mappings a comparison of snapshots looks at.
public struct MappingFilter: Sendable {
    /// Mappings smaller than this are ignored.
    public var minimumByteCount: Int
    /// Only anonymous memory (not file mappings).
    public var anonymousOnly: Bool
    /// Mappings whose name starts with one of these are ignored (the stack, vDSO, …).
    public var ignoredNamePrefixes: [String]
    /// When set, only mappings of these sizes (what the operation mapped) are compared: a
    /// mapping qualifies when its own size, or the number of bytes that appeared or vanished
    /// in it, is one of them (the kernel merges a new anonymous mapping with a neighbour).
    public var byteCounts: Set<Int>?
    /// Any further condition a compared mapping must meet.
    public var matching: (@Sendable (ProcessState.Mapping) -> Bool)?

    public init(
        minimumByteCount: Int = 1, anonymousOnly: Bool = false,
        ignoredNamePrefixes: [String] = MappingFilter.kernelNames, byteCounts: Set<Int>? = nil,
        matching: (@Sendable (ProcessState.Mapping) -> Bool)? = nil
    ) {
        self.minimumByteCount = minimumByteCount
        self.anonymousOnly = anonymousOnly
        self.ignoredNamePrefixes = ignoredNamePrefixes
        self.byteCounts = byteCounts
        self.matching = matching
    }

    /// Mappings the kernel makes and moves on its own, and malloc's `brk` heap (which grows and
    /// shrinks with every malloc; allocators that map memory never use it).
    public static let kernelNames = ["[stack", "[vvar", "[vdso", "[vsyscall", "[uprobes", "[heap]"]

    /// Every mapping except the kernel's own.
    public static let all = MappingFilter()

    /// Anonymous mappings of at least `bytes` (malloc arenas and thread stacks are smaller than
    /// the large buffers a test maps, or are excluded by choosing `bytes` above them).
    public static func anonymous(atLeast bytes: Int) -> MappingFilter {
        MappingFilter(minimumByteCount: bytes, anonymousOnly: true)
    }

    /// Mappings of exactly these sizes: what the operation under test mapped.
    public static func sized(_ byteCounts: Set<Int>) -> MappingFilter {
        MappingFilter(byteCounts: byteCounts)
    }

    /// Whether a comparison looks at `mapping`, of which `changed` bytes appeared or vanished.
    public func accepts(_ mapping: ProcessState.Mapping, changed: Int? = nil) -> Bool {
        guard mapping.byteCount >= minimumByteCount else { return false }
        if anonymousOnly && !mapping.isAnonymous { return false }
        if let byteCounts, !byteCounts.contains(mapping.byteCount), !(changed.map(byteCounts.contains) ?? false) {
            return false
        }
        if let matching, !matching(mapping) { return false }
        return !ignoredNamePrefixes.contains { mapping.name.hasPrefix($0) }
    }
}
