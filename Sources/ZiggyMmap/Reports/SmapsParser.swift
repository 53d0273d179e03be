/// A byte-level reader of `/proc/self/smaps` for one address range.
///
/// Why by hand, over bytes: the file has one block per mapping of the process (hundreds in a
/// Swift program, thousands under sanitizers), and every populated THP or hugetlb allocation
/// measures its range. Splitting it into `String` lines and a dictionary per block cost 4–9 ms;
/// this scan skips the blocks outside the range after reading their header, and parses only the
/// handful of fields a ``PageSize/Report/Region`` holds.
struct SmapsParser {
    let start: UInt
    let end: UInt

    /// The regions of `bytes` (the file's contents) overlapping `[start, end)`, in address order.
    func regions(in bytes: [UInt8]) -> [PageSize.Report.Region] {
        var regions: [PageSize.Report.Region] = []
        bytes.withUnsafeBufferPointer { text in
            var block: Block?
            var index = 0
            while index < text.count {
                var lineEnd = index
                while lineEnd < text.count, text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let line = UnsafeBufferPointer(rebasing: text[index..<lineEnd])
                index = lineEnd + 1
                if let range = Self.header(line) {
                    if let finished = block { regions.append(finished.region(start, end)) }
                    block = range.low < end && range.high > start ? Block(low: range.low, high: range.high) : nil
                } else if block != nil {
                    block!.read(line)
                }
            }
            if let finished = block { regions.append(finished.region(start, end)) }
        }
        return regions
    }

    /// "start-end perms offset dev inode [path]" → (start, end); nil for a field line.
    static func header(_ line: UnsafeBufferPointer<UInt8>) -> (low: UInt, high: UInt)? {
        var index = 0
        guard let low = hex(line, &index), index < line.count, line[index] == UInt8(ascii: "-") else { return nil }
        index += 1
        guard let high = hex(line, &index), index < line.count, line[index] == UInt8(ascii: " ") else { return nil }
        return (low, high)
    }

    /// The hexadecimal number at `index` (lower case, as the kernel prints), advancing past it.
    private static func hex(_ line: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> UInt? {
        var value: UInt = 0
        var digits = 0
        while index < line.count {
            let c = line[index]
            let digit: UInt
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt(c - UInt8(ascii: "a") + 10)
            default: return digits > 0 && digits <= 16 ? value : nil
            }
            value = value &<< 4 | digit
            digits += 1
            index += 1
        }
        return nil
    }

    /// The fields of one mapping's block, in KiB as the file gives them.
    struct Block {
        let low: UInt
        let high: UInt
        var kernelPageKiB = 4
        var rssKiB = 0
        var anonHugeKiB = 0
        var hugetlbKiB = 0
        var lockedKiB = 0
        var advisedHuge = false

        mutating func read(_ line: UnsafeBufferPointer<UInt8>) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            let key = UnsafeBufferPointer(rebasing: line[..<colon])
            let rest = UnsafeBufferPointer(rebasing: line[(colon + 1)...])
            if Self.equal(key, "VmFlags") {
                advisedHuge = Self.containsWord(rest, UInt8(ascii: "h"), UInt8(ascii: "g"))
                return
            }
            // Only the fields a region holds; the rest (Pss, Swap, …) are skipped unparsed.
            if Self.equal(key, "Rss") {
                rssKiB = Self.kibibytes(rest)
            } else if Self.equal(key, "KernelPageSize") {
                kernelPageKiB = Self.kibibytes(rest)
            } else if Self.equal(key, "AnonHugePages") {
                anonHugeKiB = Self.kibibytes(rest)
            } else if Self.equal(key, "Private_Hugetlb") || Self.equal(key, "Shared_Hugetlb") {
                hugetlbKiB += Self.kibibytes(rest)
            } else if Self.equal(key, "Locked") {
                lockedKiB = Self.kibibytes(rest)
            }
        }

        func region(_ start: UInt, _ end: UInt) -> PageSize.Report.Region {
            PageSize.Report.Region(
                start: low, end: high, kernelPageSize: kernelPageKiB * 1024, residentBytes: rssKiB * 1024,
                anonHugeBytes: anonHugeKiB * 1024, hugetlbBytes: hugetlbKiB * 1024, lockedBytes: lockedKiB * 1024,
                advisedHuge: advisedHuge, extendsBeyondRange: low < start || high > end,
                overlapBytes: Int(min(high, end) - max(low, start)))
        }

        private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ key: StaticString) -> Bool {
            guard bytes.count == key.utf8CodeUnitCount else { return false }
            let expected = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            return bytes.elementsEqual(expected)
        }

        /// The first decimal number (leading blanks skipped); 0 when there is none or it overflows.
        private static func kibibytes(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            var value = 0
            var seen = false
            for c in bytes {
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") {
                    if seen { break } else { continue }
                }
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { break }
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
                if o1 || o2 { return 0 }
                value = sum
                seen = true
            }
            return value
        }

        /// Whether the space-separated two-letter word `a b` occurs.
        private static func containsWord(_ bytes: UnsafeBufferPointer<UInt8>, _ a: UInt8, _ b: UInt8) -> Bool {
            var index = 0
            while index + 1 < bytes.count {
                let before = index == 0 || bytes[index - 1] == UInt8(ascii: " ")
                let after = index + 2 == bytes.count || bytes[index + 2] == UInt8(ascii: " ")
                if before, after, bytes[index] == a, bytes[index + 1] == b { return true }
                index += 1
            }
            return false
        }
    }
}
