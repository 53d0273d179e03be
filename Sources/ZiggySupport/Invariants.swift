import ZiggyAlloc
import ZiggyKernel

// The invariants every operation must keep, shared by the misuse suite, the stress and
// fault-injection tests and the fuzz target: take a snapshot before, another after, and ask for
// the differences — readable strings, empty when everything holds.
//
//     let before = InvariantSnapshot.capture()
//     …operation, buffers freed…
//     let problems = InvariantSnapshot.capture().differences(since: before, mappings: .anonymous(atLeast: 4096))
//         + Invariants.statistics(allocator.statistics, equal: .zero)
//
// What "unchanged" means for mappings is the caller's to say (``MappingFilter``): a process maps
// things legitimately — thread stacks, malloc arenas, sanitizer shadow — so a test compares the
// mappings its operation could have made: anonymous ones of at least N bytes, or those of the
// sizes it mapped.

/// What must be the same before and after an operation: this process's memory mappings
/// (`/proc/self/maps`) and the hugetlb pools' sizes (`nr_hugepages` of each hugetlb page size the
/// kernel offers, system-wide).
public struct InvariantSnapshot: Sendable, Hashable {
    /// One line of `/proc/self/maps`.
    public struct Mapping: Sendable, Hashable, CustomStringConvertible {
        public let start: UInt
        public let end: UInt
        /// `rw-p`, `---p`, `r--s`, …
        public let permissions: String
        public let offset: UInt64
        public let inode: UInt64
        /// The file, or a kernel name such as `[heap]`, `[stack]`, `[anon:…]`; empty for plain
        /// anonymous memory.
        public let name: String

        public init(start: UInt, end: UInt, permissions: String, offset: UInt64, inode: UInt64, name: String) {
            self.start = start
            self.end = end
            self.permissions = permissions
            self.offset = offset
            self.inode = inode
            self.name = name
        }

        public var byteCount: Int { Int(end - start) }
        /// Anonymous memory (not backed by a file): no inode, and no path. hugetlb mappings show
        /// as a deleted `/anon_hugepage` file and count as anonymous.
        public var isAnonymous: Bool { inode == 0 || name.hasPrefix("/anon_hugepage") }
        public var isShared: Bool { permissions.hasSuffix("s") }

        public var description: String {
            "0x\(String(start, radix: 16))-0x\(String(end, radix: 16)) \(permissions) \(byteCount) B "
                + (name.isEmpty ? "anonymous" : name)
        }
    }

    /// The mappings, in address order (empty when not captured or `/proc/self/maps` is unreadable).
    public var mappings: [Mapping]
    /// `nr_hugepages` per hugetlb page size in KiB (2048, 1048576) that the kernel offers (empty
    /// when not captured).
    public var hugePages: [Int: Int]

    public init(mappings: [Mapping] = [], hugePages: [Int: Int] = [:]) {
        self.mappings = mappings
        self.hugePages = hugePages
    }

    /// The state now. Reading the maps costs tens of microseconds (more under ASan, which maps
    /// a lot); the pools, two sysfs reads.
    public static func capture(mappings: Bool = true, hugePages: Bool = true) -> InvariantSnapshot {
        InvariantSnapshot(
            mappings: mappings ? readMappings() : [],
            hugePages: hugePages ? readHugePagePools() : [:])
    }

    /// This process's mappings now.
    public static func readMappings() -> [Mapping] {
        guard let bytes = Kernel.readBytes("/proc/self/maps") else { return [] }
        return parseMappings(bytes)
    }

    /// `nr_hugepages` of the 2 MiB and 1 GiB pools, for the sizes this kernel offers.
    public static func readHugePagePools() -> [Int: Int] {
        var pools: [Int: Int] = [:]
        for kiB in [2048, 1 << 20] {
            if let pages = Kernel.readInt("/sys/kernel/mm/hugepages/hugepages-\(kiB)kB/nr_hugepages") {
                pools[kiB] = pages
            }
        }
        return pools
    }

    /// Parses the text of a `/proc/PID/maps` file (lines that do not parse are skipped).
    public static func parseMappings(_ bytes: [UInt8]) -> [Mapping] {
        var result: [Mapping] = []
        result.reserveCapacity(256)
        var index = 0
        let count = bytes.count
        @inline(__always) func hex() -> UInt64? {
            var value: UInt64 = 0
            var digits = 0
            while index < count {
                let c = bytes[index]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: return digits > 0 ? value : nil
                }
                value = value << 4 | UInt64(digit)
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        @inline(__always) func skip(_ byte: UInt8) { while index < count && bytes[index] == byte { index += 1 } }
        @inline(__always) func word() -> ArraySlice<UInt8> {
            let begin = index
            while index < count && bytes[index] != UInt8(ascii: " ") && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            return bytes[begin..<index]
        }
        while index < count {
            // Whatever happens below, the next iteration starts at the next line.
            defer {
                while index < count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                index += 1
            }
            guard let low = hex(), index < count, bytes[index] == UInt8(ascii: "-") else { continue }
            index += 1
            guard let high = hex() else { continue }
            skip(UInt8(ascii: " "))
            let permissions = String(decoding: word(), as: UTF8.self)
            skip(UInt8(ascii: " "))
            guard let offset = hex() else { continue }
            skip(UInt8(ascii: " "))
            _ = word()  // device
            skip(UInt8(ascii: " "))
            let inodeText = word()
            var inode: UInt64 = 0
            for c in inodeText where c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { inode = inode &* 10 &+ UInt64(c - 48) }
            skip(UInt8(ascii: " "))
            let nameStart = index
            while index < count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
            result.append(
                Mapping(
                    start: UInt(low), end: UInt(high), permissions: permissions, offset: offset,
                    inode: inode, name: name))
        }
        return result
    }

    /// What differs from `earlier`, as readable strings (empty: every invariant holds).
    ///
    /// - Mappings (when both snapshots have them): address space mapped now that was not mapped
    ///   then ("left mapped"), and address space mapped then that is gone ("unmapped"), for the
    ///   mappings `filter` accepts. Only coverage is compared: a mapping split, merged or
    ///   re-protected over address space that stays mapped is not a difference.
    /// - Pools (when both have them): any `nr_hugepages` that changed. Pools are system-wide:
    ///   another process reserving pages meanwhile also shows here.
    public func differences(since earlier: InvariantSnapshot, mappings filter: MappingFilter = .all) -> [String] {
        var problems: [String] = []
        if !mappings.isEmpty && !earlier.mappings.isEmpty {
            for (mapping, new) in Self.uncovered(mappings, by: earlier.mappings) where filter.accepts(mapping, changed: new) {
                problems.append("left mapped: \(mapping)" + (new == mapping.byteCount ? "" : " (\(new) B of it new)"))
            }
            for (mapping, gone) in Self.uncovered(earlier.mappings, by: mappings) where filter.accepts(mapping, changed: gone) {
                problems.append("unmapped: \(mapping)" + (gone == mapping.byteCount ? "" : " (\(gone) B of it)"))
            }
        }
        if !hugePages.isEmpty && !earlier.hugePages.isEmpty {
            for kiB in Set(hugePages.keys).union(earlier.hugePages.keys).sorted() where hugePages[kiB] != earlier.hugePages[kiB] {
                let name = kiB >= 1 << 20 ? "\(kiB >> 20) GiB" : "\(kiB >> 10) MiB"
                problems.append(
                    "hugetlb \(name) pool: nr_hugepages was \(earlier.hugePages[kiB].map(String.init) ?? "absent"), "
                        + "now \(hugePages[kiB].map(String.init) ?? "absent")")
            }
        }
        return problems
    }

    /// Mappings of `mappings` (sorted) with bytes outside every range of `cover` (sorted), and how
    /// many bytes.
    static func uncovered(_ mappings: [Mapping], by cover: [Mapping]) -> [(Mapping, Int)] {
        var result: [(Mapping, Int)] = []
        var j = 0
        for mapping in mappings {
            // Skip cover ranges entirely below this mapping (both lists are in address order and
            // do not overlap, so j only moves forward).
            while j < cover.count && cover[j].end <= mapping.start { j += 1 }
            var position = mapping.start
            var missing = 0
            var k = j
            while position < mapping.end {
                if k < cover.count && cover[k].start <= position {
                    position = max(position, cover[k].end)
                    k += 1
                } else {
                    let next = k < cover.count ? min(cover[k].start, mapping.end) : mapping.end
                    missing += Int(next - position)
                    position = next
                }
            }
            if missing > 0 { result.append((mapping, missing)) }
        }
        return result
    }

    /// The mappings that overlap `[start, start + byteCount)` (to check that a freed buffer's
    /// range is no longer mapped).
    public func mappings(overlapping start: UInt, byteCount: Int) -> [Mapping] {
        let end = start &+ UInt(max(byteCount, 0))
        return mappings.filter { $0.start < end && $0.end > start }
    }
}

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
    public var matching: (@Sendable (InvariantSnapshot.Mapping) -> Bool)?

    public init(
        minimumByteCount: Int = 1, anonymousOnly: Bool = false,
        ignoredNamePrefixes: [String] = MappingFilter.kernelNames, byteCounts: Set<Int>? = nil,
        matching: (@Sendable (InvariantSnapshot.Mapping) -> Bool)? = nil
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
    public func accepts(_ mapping: InvariantSnapshot.Mapping, changed: Int? = nil) -> Bool {
        guard mapping.byteCount >= minimumByteCount else { return false }
        if anonymousOnly && !mapping.isAnonymous { return false }
        if let byteCounts, !byteCounts.contains(mapping.byteCount), !(changed.map(byteCounts.contains) ?? false) {
            return false
        }
        if let matching, !matching(mapping) { return false }
        return !ignoredNamePrefixes.contains { mapping.name.hasPrefix($0) }
    }
}

/// Checks of an allocator's counters.
public enum Invariants {
    /// Which counters of ``AllocationStatistics`` to compare.
    public struct Counters: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        public static let liveBytes = Counters(rawValue: 1 << 0)
        public static let liveAllocations = Counters(rawValue: 1 << 1)
        public static let peakBytes = Counters(rawValue: 1 << 2)
        public static let cumulativeBytes = Counters(rawValue: 1 << 3)
        public static let totalAllocations = Counters(rawValue: 1 << 4)

        /// What must be back to the starting value once every buffer is freed.
        public static let live: Counters = [.liveBytes, .liveAllocations]
        /// Everything: what a failed operation must leave untouched.
        public static let all: Counters = [.live, .peakBytes, .cumulativeBytes, .totalAllocations]
    }

    /// How `statistics` differs from `expected` in `counters` (default: the live ones), as
    /// readable strings; empty when they agree. Also reports counters that cannot be right at all
    /// (negative live values, a peak below the live bytes).
    ///
    ///     Invariants.statistics(allocator.statistics, equal: .zero)          // all freed
    ///     Invariants.statistics(allocator.statistics, equal: before, .all)   // a failed call changed nothing
    public static func statistics(
        _ statistics: AllocationStatistics, equal expected: AllocationStatistics,
        _ counters: Counters = .live, label: String = "statistics"
    ) -> [String] {
        var problems: [String] = []
        func compare(_ field: Counters, _ name: String, _ path: KeyPath<AllocationStatistics, Int>) {
            if counters.contains(field) && statistics[keyPath: path] != expected[keyPath: path] {
                problems.append("\(label): \(name) is \(statistics[keyPath: path]), expected \(expected[keyPath: path])")
            }
        }
        compare(.liveBytes, "liveBytes", \.liveBytes)
        compare(.liveAllocations, "liveAllocations", \.liveAllocations)
        compare(.peakBytes, "peakBytes", \.peakBytes)
        compare(.cumulativeBytes, "cumulativeBytes", \.cumulativeBytes)
        compare(.totalAllocations, "totalAllocations", \.totalAllocations)
        if statistics.liveBytes < 0 || statistics.liveAllocations < 0 {
            problems.append("\(label): negative live counters (\(statistics))")
        }
        if statistics.peakBytes < statistics.liveBytes {
            problems.append("\(label): peakBytes \(statistics.peakBytes) below liveBytes \(statistics.liveBytes)")
        }
        return problems
    }

    /// The same for an allocator's counters now (borrowing it, so arenas work too).
    public static func statistics<A: UnmanagedMemoryAllocator & ~Copyable>(
        of allocator: borrowing A, equal expected: AllocationStatistics, _ counters: Counters = .live,
        label: String? = nil
    ) -> [String] {
        statistics(allocator.statistics, equal: expected, counters, label: label ?? "\(A.self) statistics")
    }
}
