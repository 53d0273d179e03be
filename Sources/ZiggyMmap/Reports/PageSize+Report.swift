import ZiggyKernel

extension PageSize {
    /// The page sizes really backing a range of memory, from `/proc/self/smaps`: how a user (and
    /// every test) checks that "2 MiB pages" is true.
    public struct Report: Sendable, Hashable, CustomStringConvertible {
        /// One kernel mapping (VMA) overlapping the range.
        package struct Region: Sendable, Hashable {
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

        package let regions: [Region]
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

        public var description: String {
            guard let obtained = obtainedPageSize else { return "not mapped" }
            var text = "\(obtained): resident \(residentBytes) B"
            if transparentHugeBytes > 0 { text += ", THP \(transparentHugeBytes) B" }
            if hugetlbBytes > 0 { text += ", hugetlb \(hugetlbBytes) B" }
            if regions.contains(where: \.extendsBeyondRange) { text += " (shared VMA: figures include neighbours)" }
            return text
        }

        /// Reads `/proc/self/smaps` for `[address, address + byteCount)`.
        /// Any range is accepted: a byte count below 1 measures the byte at `address`, one running past
        /// the end of the address space is clipped, and only the parts the kernel has mapped are asked
        /// about (so the address of an empty buffer gives an empty report).
        package static func measure(address: UnsafeRawPointer, byteCount: Int) -> PageSize.Report {
            let start = UInt(bitPattern: address)
            let (sum, overflow) = start.addingReportingOverflow(UInt(max(byteCount, 1)))
            let end = overflow ? UInt.max : sum
            guard let bytes = Kernel.readBytes("/proc/self/smaps") else {
                return PageSize.Report(regions: [], rangeResidentBytes: nil)
            }
            let regions = SmapsParser(start: start, end: end).regions(in: bytes)
            return PageSize.Report(
                regions: regions, rangeResidentBytes: regions.isEmpty ? nil : residentBytesInRange(regions, start, end))
        }
    }
}

extension PageSize.Report {
    /// Resident bytes of `[start, end)` within the mapped `regions` (`mincore`, 1 GiB at a time, so
    /// the vector stays small); nil when mincore could not be asked.
    static func residentBytesInRange(_ regions: [Region], _ start: UInt, _ end: UInt) -> Int? {
        let page = UInt(PageSize.basePageByteCount)
        let window = UInt(1 << 30)
        var total = 0
        for region in regions {
            // A mapping wholly inside the range: smaps already counts it (Rss, and hugetlb pages,
            // which Rss leaves out). mincore is asked only about mappings the range cuts — asking
            // it about every mapping of a range up to Int.max walked ASan's terabytes of shadow
            // 1 GiB at a time (minutes).
            if !region.extendsBeyondRange {
                total += max(region.residentBytes, region.hugetlbBytes)
                continue
            }
            var low = max(region.start, start) / page * page
            let high = min(region.end, end)
            while low < high {
                let length = min(window, high - low)
                guard case .success(let vector) = Kernel.mincore(UnsafeMutableRawPointer(bitPattern: low)!, Int(length))
                else { return nil }
                total += vector.reduce(0) { $0 + Int($1 & 1) } * Int(page)
                low += length
            }
        }
        return total
    }
}

extension UnmanagedBuffer {
    /// The page sizes really backing this buffer now, from `/proc/self/smaps` (for mapped
    /// buffers, over the whole mapping including rounding).
    public func pageSizeReport() -> PageSize.Report {
        if let mapping = MappingRecord.of(self)?.mapping {
            return PageSize.Report.measure(address: mapping.base, byteCount: mapping.length)
        }
        return PageSize.Report.measure(address: unsafe unsafeBaseAddress, byteCount: _byteCount)
    }
}
