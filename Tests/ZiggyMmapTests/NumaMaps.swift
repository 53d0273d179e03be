import CNuma
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

/// An independent reading of where a mapping's pages are: `/proc/self/numa_maps` (the kernel's
/// per-VMA `N<node>=<pages>` counts), matched to the VMA holding an address via `/proc/self/maps`.
struct NumaMapsEntry {
    let start: UInt
    let end: UInt
    let policy: String
    let pagesPerNode: [Int: Int]
    let kernelPageSizeKB: Int

    static func containing(_ address: UnsafeRawPointer) -> NumaMapsEntry? {
        let target = UInt(bitPattern: address)
        return overlapping(target..<target + 1).first
    }

    /// The VMAs overlapping `range` (addresses), ascending: a blocked buffer's `mbind` splits its
    /// mapping into one VMA per run of pages bound to one node, so a block is covered by one or
    /// more of them.
    static func overlapping(_ range: Range<UInt>) -> [NumaMapsEntry] {
        let vmas = ProcessState.readMappings().filter { $0.start < range.upperBound && range.lowerBound < $0.end }
        guard !vmas.isEmpty, let text = Kernel.readText("/proc/self/numa_maps") else { return [] }
        var entries: [NumaMapsEntry] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let first = fields.first, let start = UInt(first, radix: 16),
                let vma = vmas.first(where: { $0.start == start })
            else { continue }
            var perNode: [Int: Int] = [:]
            var pageKB = 4
            for field in fields.dropFirst(2) {
                let parts = field.split(separator: "=")
                guard parts.count == 2 else { continue }
                if parts[0].hasPrefix("N"), let node = Int(parts[0].dropFirst()), let count = Int(parts[1]) {
                    perNode[node] = count
                } else if parts[0] == "kernelpagesize_kB", let kb = Int(parts[1]) {
                    pageKB = kb
                }
            }
            entries.append(
                NumaMapsEntry(
                    start: vma.start, end: vma.end, policy: String(fields[1]), pagesPerNode: perNode,
                    kernelPageSizeKB: pageKB))
        }
        return entries.sorted { $0.start < $1.start }
    }
}

/// libnuma, as an independent check of the topology the library reads itself.
enum Libnuma {
    static let isAvailable: Bool = numa_available() >= 0

    /// libnuma's view of the distance between two nodes (0 when unknown or unavailable).
    static func distance(_ a: Int, _ b: Int) -> Int {
        isAvailable ? Int(numa_distance(Int32(a), Int32(b))) : 0
    }

    /// libnuma's highest node number (-1 when unavailable).
    static var maxNode: Int { isAvailable ? Int(numa_max_node()) : -1 }
}
