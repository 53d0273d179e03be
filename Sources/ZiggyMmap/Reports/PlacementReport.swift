import ZiggyKernel

/// Where a buffer's pages are: how many sit on each NUMA node, asked of the kernel with
/// `move_pages` in query mode (nothing moves).
public struct PlacementReport: Sendable, Hashable, CustomStringConvertible {
    /// Pages found on each node.
    public let pagesPerNode: [Int: Int]
    /// Pages not yet faulted in: `-ENOENT`, or `-EFAULT` which kernels before 6.x (and every
    /// kernel for the shared zero page) report for untouched anonymous memory.
    public let notPresent: Int
    /// Pages the kernel could not report, by `errno`.
    public let errors: [Int32: Int]
    /// The step between queried addresses: the hugetlb page size for hugetlb buffers, base pages
    /// for all others — transparent huge pages included, since the kernel may split them, so a
    /// THP buffer's count is in 4 KiB units (``UnmanagedBuffer/pageSizeReport()`` tells THP apart).
    public let pageSize: PageSize
    /// Pages the buffer spans.
    public let totalPages: Int
    /// Pages queried: all of them, or one page from each of that many equal slices of very large
    /// buffers (at a jittered offset, so interleaving patterns do not alias).
    public let queriedPages: Int

    /// Whether only a sample of the pages was queried (public as `queriedPages < totalPages`).
    package var isSampled: Bool { queriedPages < totalPages }
    /// Queried pages that are resident (public as `pagesPerNode.values.reduce(0, +)`).
    package var presentPages: Int { pagesPerNode.values.reduce(0, +) }
    /// Nodes holding at least one queried page, ascending.
    public var nodes: NodeSet { NodeSet(pagesPerNode.filter { $0.value > 0 }.keys) }
    /// The share of present pages on `node` (0 when nothing is present).
    public func fraction(onNode node: Int) -> Double {
        presentPages == 0 ? 0 : Double(pagesPerNode[node] ?? 0) / Double(presentPages)
    }

    public var description: String {
        let perNode = pagesPerNode.sorted { $0.key < $1.key }.map { "N\($0.key)=\($0.value)" }.joined(separator: " ")
        var text = "\(pageSize) pages: \(perNode.isEmpty ? "none present" : perNode)"
        if notPresent > 0 { text += ", \(notPresent) not present" }
        if !errors.isEmpty { text += ", errors \(errors)" }
        if isSampled { text += " (sampled \(queriedPages) of \(totalPages))" }
        return text
    }
}

extension PlacementReport {
    /// Where the pages of `[address, address + byteCount)` are now, stepping by `pageSize`
    /// (`move_pages` in query mode; nothing moves). More than `maximumSamples` pages are sampled:
    /// one page from each of that many equal slices, at a jittered offset.
    static func measure(
        address: UnsafeRawPointer, byteCount: Int, pageSize: PageSize,
        maximumSamples: Int
    ) throws(MmapError) -> PlacementReport {
        guard maximumSamples > 0 else {
            throw .invalidArgument("placement: maximumSamples is \(maximumSamples); it must be at least 1")
        }
        let step = UInt(pageSize.byteCount)
        let start = UInt(bitPattern: address) / step * step
        let end = UInt(bitPattern: address) + UInt(byteCount)
        let totalPages = byteCount == 0 ? 0 : Int((end - start + step - 1) / step)
        let queried = min(totalPages, maximumSamples)
        var perNode: [Int: Int] = [:]
        var notPresent = 0
        var errors: [Int32: Int] = [:]
        var batch: [UnsafeMutableRawPointer?] = []
        batch.reserveCapacity(min(queried, 4096))

        func flush() throws(MmapError) {
            guard !batch.isEmpty else { return }
            switch Kernel.queryPageNodes(batch) {
            case .success(let status):
                for value in status {
                    if value >= 0 {
                        perNode[Int(value), default: 0] += 1
                    } else if value == -Errno.noSuchFileOrDirectory.rawValue || value == -Errno.badAddress.rawValue {
                        notPresent += 1
                    } else {
                        errors[-value, default: 0] += 1
                    }
                }
            case .failure(let error):
                throw .kernel(call: "move_pages", errno: error, request: "querying the nodes of \(batch.count) pages")
            }
            batch.removeAll(keepingCapacity: true)
        }

        // Sampling takes one page from each of `queried` equal buckets, at a pseudo-random offset
        // within the bucket: evenly spaced samples would alias with interleaving (every second
        // page of a 2-node interleave is on the same node).
        var jitter: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in 0..<queried {
            var page = index
            if queried < totalPages {
                let low = index * totalPages / queried
                let high = (index + 1) * totalPages / queried
                jitter = jitter &* 6364136223846793005 &+ 1442695040888963407
                page = low + Int((jitter >> 33) % UInt64(max(1, high - low)))
            }
            batch.append(UnsafeMutableRawPointer(bitPattern: start + UInt(page) * step))
            if batch.count == 4096 { try flush() }
        }
        try flush()
        return PlacementReport(
            pagesPerNode: perNode, notPresent: notPresent, errors: errors, pageSize: pageSize,
            totalPages: totalPages, queriedPages: queried)
    }
}

extension UnmanagedBuffer {
    /// Where the pages holding `elements` (nil, the default: the whole buffer) are now, per NUMA
    /// node — for buffers from every allocator; a range gives a part of a blocked buffer, for
    /// example.
    ///
    /// Steps by the page size the buffer obtained (hugetlb buffers: one query per huge page).
    /// Buffers of more than `maximumSamples` pages are sampled (one page per equal slice, at a
    /// jittered offset); the report says so. Throws ``MmapError/invalidArgument(_:)`` for
    /// `maximumSamples` below 1 or a range outside the buffer, and
    /// ``MmapError/kernel(call:errno:request:)`` when `move_pages` fails.
    public func placement(elements: Range<Int>? = nil, maximumSamples: Int = 1 << 18) throws(MmapError) -> PlacementReport {
        let elements = elements ?? 0..<count
        guard elements.lowerBound >= 0, elements.upperBound <= count else {
            throw .invalidArgument("placement: range \(elements) is outside 0..<\(count)")
        }
        let obtained = MappingRecord.of(self)?.mapping.obtained
        let stride = MemoryLayout<Element>.stride
        return try PlacementReport.measure(
            address: unsafe UnsafeRawPointer(unsafeBaseAddress + elements.lowerBound), byteCount: elements.count * stride,
            pageSize: obtained.map { $0.isHugeTLB ? $0 : .base } ?? .base, maximumSamples: maximumSamples)
    }
}
