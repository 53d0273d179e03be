import Foundation

/// What `/proc/self/numa_maps` says about one address range: the kernel's own account, read
/// independently of the library's `placement()` (which asks `move_pages`).
struct NumaMapsView: CustomStringConvertible {
    /// One mapping (VMA) overlapping the range: its bounds, policy and pages per node. The
    /// counts are the whole mapping's: the kernel merges neighbouring mappings with the same
    /// policy (on a one-node host both grids end up in one), so `overlap` says how much is ours.
    struct Area {
        let start: UInt
        let end: UInt
        let overlap: Int
        let policy: String
        let pagesPerNode: [Int: Int]
    }
    let areas: [Area]

    var pagesPerNode: [Int: Int] { areas.reduce(into: [:]) { $0.merge($1.pagesPerNode, uniquingKeysWith: +) } }

    /// The mappings overlapping `start ..< start + byteCount`: bounds from /proc/self/maps,
    /// policy and per-node pages from /proc/self/numa_maps (which gives only each start). `mbind`
    /// splits a blocked buffer into one mapping per node run, each with its own `bind:` policy.
    static func read(start: UInt, byteCount: Int) -> NumaMapsView? {
        guard let maps = procFile("/proc/self/maps"),
            let numa = procFile("/proc/self/numa_maps")
        else { return nil }
        let end = start + UInt(byteCount)
        var bounds: [UInt: UInt] = [:]
        for line in maps.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            if range.count == 2, let low = UInt(range[0], radix: 16), let high = UInt(range[1], radix: 16),
                low < end, high > start
            {
                bounds[low] = high
            }
        }
        var areas: [Area] = []
        for line in numa.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let low = UInt(fields[0], radix: 16), let high = bounds[low] else { continue }
            var pages: [Int: Int] = [:]
            for field in fields.dropFirst(2) where field.hasPrefix("N") {
                let pair = field.dropFirst().split(separator: "=")
                if pair.count == 2, let node = Int(pair[0]), let count = Int(pair[1]) { pages[node] = count }
            }
            let overlap = Int(min(high, end) - max(low, start))
            areas.append(Area(start: low, end: high, overlap: overlap, policy: String(fields[1]), pagesPerNode: pages))
        }
        return NumaMapsView(areas: areas)
    }

    var description: String {
        let each = areas.map { area in
            let nodes = area.pagesPerNode.sorted { $0.key < $1.key }.map { "N\($0.key)=\($0.value)" }
            let share =
                area.overlap == Int(area.end - area.start)
                ? "" : " (\(area.overlap) B of its \(area.end - area.start) B are this grid)"
            return "0x\(String(area.start, radix: 16)) \(area.policy) \(nodes.joined(separator: " "))\(share)"
        }
        return "\(areas.count) mapping(s): \(each.joined(separator: "; "))"
    }
}

/// MemAvailable from /proc/meminfo, in bytes (nil where the file says nothing).
func memoryAvailable() -> Int? {
    guard let text = procFile("/proc/meminfo") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}

/// A /proc file read to its end. `String(contentsOfFile:)` stops after the first 4 KiB of a file
/// whose size stat reports as 0 (every /proc file), which drops most mappings of numa_maps.
func procFile(_ path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
}
