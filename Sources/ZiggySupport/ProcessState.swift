import ZiggyKernel

// The one snapshot of process state the tests and the fuzz target compare before and after an
// operation: take one before, another after, and ask what differs — as readable strings, empty
// when everything holds, or as the mappings that are new.
//
//     let before = ProcessState.capture()
//     …operation, buffers freed…
//     let problems = ProcessState.capture().differences(since: before, mappings: .anonymous(atLeast: 4096))
//         + Invariants.statistics(allocator.statistics, equal: .zero)
//
// What "unchanged" means for mappings is the caller's to say (``MappingFilter``): a process maps
// things legitimately — thread stacks, malloc arenas, sanitizer shadow — so a test compares the
// mappings its operation could have made: anonymous ones of at least N bytes, or those of the
// sizes it mapped.
//
// The hugetlb pools are machine-wide: any process following the hugetlb pool lock protocol
// (`HugePagePoolLock`, Docs/Guarantees.md) may reserve pages whenever it does not hold the lock. A
// comparison of pools is only valid while this task holds that lock from before to after, so by
// default `capture` reads them only then; a caller that owns the machine (the fuzz target) asks
// for them explicitly.

/// What must be the same before and after an operation: this process's memory mappings
/// (`/proc/self/maps`) and the hugetlb pools' sizes (`nr_hugepages` of each hugetlb page size the
/// kernel offers, system-wide).
public struct ProcessState: Sendable, Hashable {
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
        /// The mapped file's path: the name without the " (deleted)" the kernel appends once the
        /// file is unlinked.
        public var path: String { name.hasSuffix(" (deleted)") ? String(name.dropLast(" (deleted)".count)) : name }
        /// Anonymous memory (not backed by a file): no inode, and no path. hugetlb mappings show
        /// as a deleted `/anon_hugepage` file and count as anonymous.
        public var isAnonymous: Bool { inode == 0 || name.hasPrefix("/anon_hugepage") }
        public var isShared: Bool { permissions.hasSuffix("s") }

        public var description: String {
            "0x\(String(start, radix: 16))-0x\(String(end, radix: 16)) \(permissions) \(byteCount) B "
                + (name.isEmpty ? "anonymous" : name)
        }
    }

    /// The mappings, in address order (nil when not captured; empty when `/proc/self/maps` is
    /// unreadable).
    public var mappings: [Mapping]?
    /// `nr_hugepages` per hugetlb page size in KiB (2048, 1048576) that the kernel offers (nil
    /// when not read).
    public var hugePages: [Int: Int]?

    public init(mappings: [Mapping]? = nil, hugePages: [Int: Int]? = nil) {
        self.mappings = mappings
        self.hugePages = hugePages
    }

    /// The state now. Reading the maps costs tens of microseconds (more under ASan, which maps
    /// a lot); the pools, two sysfs reads.
    ///
    /// `hugePages` nil (the default) reads the pools only when the calling task holds the hugetlb
    /// pool lock: only then does a comparison of pools mean anything (see the file comment), and
    /// the lock must then be held until the snapshot after. Pass `true` only for a machine of
    /// one's own.
    public static func capture(mappings: Bool = true, hugePages: Bool? = nil) -> ProcessState {
        ProcessState(
            mappings: mappings ? readMappings() : nil,
            hugePages: (hugePages ?? HugePagePoolLock.isHeldHere) ? readHugePagePools() : nil)
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
    public func differences(since earlier: ProcessState, mappings filter: MappingFilter = .all) -> [String] {
        var problems: [String] = []
        if let mappings, let earlierMappings = earlier.mappings, !mappings.isEmpty, !earlierMappings.isEmpty {
            for (mapping, new) in Self.uncovered(mappings, by: earlierMappings) where filter.accepts(mapping, changed: new) {
                problems.append("left mapped: \(mapping)" + (new == mapping.byteCount ? "" : " (\(new) B of it new)"))
            }
            for (mapping, gone) in Self.uncovered(earlierMappings, by: mappings) where filter.accepts(mapping, changed: gone) {
                problems.append("unmapped: \(mapping)" + (gone == mapping.byteCount ? "" : " (\(gone) B of it)"))
            }
        }
        if let hugePages, let earlierPools = earlier.hugePages, !hugePages.isEmpty, !earlierPools.isEmpty {
            for kiB in Set(hugePages.keys).union(earlierPools.keys).sorted() where hugePages[kiB] != earlierPools[kiB] {
                let name = kiB >= 1 << 20 ? "\(kiB >> 20) GiB" : "\(kiB >> 10) MiB"
                problems.append(
                    "hugetlb \(name) pool: nr_hugepages was \(earlierPools[kiB].map(String.init) ?? "absent"), "
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
        return (mappings ?? []).filter { $0.start < end && $0.end > start }
    }

    /// Whether any mapping overlaps `[start, start + byteCount)`.
    public func covers(_ start: UInt, byteCount: Int) -> Bool {
        !mappings(overlapping: start, byteCount: byteCount).isEmpty
    }

    /// The mappings of at least `minimum` bytes present now whose exact range (start and end) was
    /// not a mapping in `earlier`: what an operation between the two snapshots left mapped, for a
    /// test that looks for a range of a known length. (`differences` compares coverage instead.)
    public func newMappings(since earlier: ProcessState, atLeast minimum: Int) -> [Mapping] {
        let old = Set((earlier.mappings ?? []).map { [$0.start, $0.end] })
        return (mappings ?? []).filter { $0.byteCount >= minimum && !old.contains([$0.start, $0.end]) }
    }
}
