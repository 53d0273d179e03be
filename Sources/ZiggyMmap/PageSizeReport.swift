/// The page sizes really backing a range of memory, from `/proc/self/smaps`: how a user (and
/// every test) checks that "2 MiB pages" is true.
public struct PageSizeReport: Sendable, Hashable, CustomStringConvertible {
    /// One kernel mapping (VMA) overlapping the range.
    public struct Region: Sendable, Hashable {
        public let start: UInt
        public let end: UInt
        /// `KernelPageSize`: the page size the VMA is mapped with (hugetlb VMAs show 2 MiB / 1 GiB).
        public let kernelPageSize: Int
        /// `Rss`.
        public let residentBytes: Int
        /// `AnonHugePages`: bytes backed by transparent huge pages.
        public let anonHugeBytes: Int
        /// `Private_Hugetlb` + `Shared_Hugetlb`.
        public let hugetlbBytes: Int
        /// `Locked`: bytes locked in RAM (`mlock`).
        public let lockedBytes: Int
        /// `VmFlags` contains `hg` (advised `MADV_HUGEPAGE`).
        public let advisedHuge: Bool
        /// The VMA extends beyond the range (its figures include neighbouring memory).
        public let extendsBeyondRange: Bool
        /// Bytes of the VMA inside the measured range.
        public let overlapBytes: Int
    }

    public let regions: [Region]
    /// Bytes of the range itself resident in RAM (`mincore`, exact even when a VMA extends
    /// beyond the range); nil when mincore could not be asked.
    public let rangeResidentBytes: Int?

    /// Distinct `KernelPageSize` values over the range.
    public var kernelPageSizes: Set<Int> { Set(regions.map(\.kernelPageSize)) }
    /// Resident bytes of the range: exact from `mincore` when available, else the VMAs' `Rss`.
    public var residentBytes: Int { rangeResidentBytes ?? regions.reduce(0) { $0 + $1.residentBytes } }
    /// THP-backed bytes; a VMA reaching beyond the range counts at most its overlap with it.
    public var transparentHugeBytes: Int { regions.reduce(0) { $0 + min($1.anonHugeBytes, $1.overlapBytes) } }
    public var hugetlbBytes: Int { regions.reduce(0) { $0 + min($1.hugetlbBytes, $1.overlapBytes) } }
    public var lockedBytes: Int { regions.reduce(0) { $0 + min($1.lockedBytes, $1.overlapBytes) } }

    /// The page size the range is mapped with: hugetlb sizes from `KernelPageSize`;
    /// `.transparentHuge` when any resident byte is THP-backed; otherwise `.base`. Nil when the
    /// range is not mapped.
    public var obtainedPageSize: PageSize? {
        guard !regions.isEmpty else { return nil }
        if kernelPageSizes.contains(1 << 30) { return .huge1GiB }
        if kernelPageSizes.contains(2 << 20) { return .huge2MiB }
        return transparentHugeBytes > 0 ? .transparentHuge : .base
    }

    /// Fraction of resident bytes backed by transparent huge pages (0 when nothing is resident).
    public var transparentHugeFraction: Double {
        residentBytes == 0 ? 0 : Double(transparentHugeBytes) / Double(residentBytes)
    }

    public var description: String {
        guard let obtained = obtainedPageSize else { return "not mapped" }
        var text = "\(obtained): resident \(residentBytes) B"
        if transparentHugeBytes > 0 { text += ", THP \(transparentHugeBytes) B" }
        if hugetlbBytes > 0 { text += ", hugetlb \(hugetlbBytes) B" }
        if regions.contains(where: \.extendsBeyondRange) { text += " (shared VMA: figures include neighbours)" }
        return text
    }

    /// Reads `/proc/self/smaps` for `[address, address + byteCount)`.
    public static func measure(address: UnsafeRawPointer, byteCount: Int) -> PageSizeReport {
        let start = UInt(bitPattern: address)
        let end = start + UInt(max(byteCount, 1))
        let page = UInt(PageSize.basePageByteCount)
        let alignedStart = start / page * page
        let resident = try? Kernel.residentPages(UnsafeMutableRawPointer(bitPattern: alignedStart)!,
                                                Int(end - alignedStart)).get()
        let residentBytes = resident.map { $0 * PageSize.basePageByteCount }
        guard let text = Kernel.readText("/proc/self/smaps") else {
            return PageSizeReport(regions: [], rangeResidentBytes: residentBytes)
        }
        var regions: [Region] = []
        var current: (start: UInt, end: UInt)?
        var fields: [Substring: Int] = [:]
        var advised = false

        func flush() {
            guard let vma = current, vma.start < end, vma.end > start else { return }
            regions.append(Region(
                start: vma.start, end: vma.end, kernelPageSize: (fields["KernelPageSize"] ?? 4) * 1024,
                residentBytes: (fields["Rss"] ?? 0) * 1024, anonHugeBytes: (fields["AnonHugePages"] ?? 0) * 1024,
                hugetlbBytes: ((fields["Private_Hugetlb"] ?? 0) + (fields["Shared_Hugetlb"] ?? 0)) * 1024,
                lockedBytes: (fields["Locked"] ?? 0) * 1024, advisedHuge: advised, extendsBeyondRange: vma.start < start || vma.end > end,
                overlapBytes: Int(min(vma.end, end) - max(vma.start, start))))
        }

        for line in text.split(separator: "\n") {
            if let colon = line.firstIndex(of: ":"), !line[line.startIndex..<colon].contains("-") {
                let key = line[line.startIndex..<colon]
                if key == "VmFlags" {
                    advised = line[colon...].split(separator: " ").contains("hg")
                } else if let value = Int(line[line.index(after: colon)...].split(separator: " ").first ?? "") {
                    fields[key] = value
                }
                continue
            }
            // A VMA header: "start-end perms offset dev inode [path]".
            guard let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
                  let low = UInt(line[line.startIndex..<dash], radix: 16),
                  let high = UInt(line[line.index(after: dash)..<space], radix: 16)
            else { continue }
            flush()
            current = (low, high)
            fields = [:]
            advised = false
        }
        flush()
        return PageSizeReport(regions: regions, rangeResidentBytes: regions.isEmpty ? nil : residentBytes)
    }
}

extension UnmanagedBuffer {
    /// The page sizes really backing this buffer now, from `/proc/self/smaps` (for mapped
    /// buffers, over the whole mapping including rounding).
    public func pageSizeReport() -> PageSizeReport {
        if let mapping = MappingRecord.of(self) {
            return PageSizeReport.measure(address: mapping.base, byteCount: mapping.length)
        }
        return PageSizeReport.measure(address: baseAddress, byteCount: byteCount)
    }
}
