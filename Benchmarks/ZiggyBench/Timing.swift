import Foundation
import CZiggyShims
import Glibc

/// Monotonic seconds.
@inline(never)
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Keeps a value (and the memory it points into) from being optimized away.
@inline(__always)
func blackHole(_ pointer: UnsafeRawPointer?) { zg_black_hole(pointer) }

@inline(__always)
func blackHole(_ value: UInt64) {
    withUnsafePointer(to: value) { zg_black_hole($0) }
}

/// Median, minimum and maximum of samples.
struct Summary {
    let median: Double
    let min: Double
    let max: Double
    let count: Int

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        if sorted.isEmpty {
            median = .nan
        } else if sorted.count % 2 == 1 {
            median = sorted[sorted.count / 2]
        } else {
            median = (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }
}

/// Parses "64", "4KiB", "4K", "256MiB", "1GiB", "1.5GB" (powers of two for K/M/G).
func parseSize(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: " ")
    var number = ""
    var unit = ""
    for character in trimmed {
        if unit.isEmpty && (character.isNumber || character == ".") { number.append(character) } else { unit.append(character) }
    }
    guard let value = Double(number), value >= 0 else { return nil }
    let multiplier: Double
    switch unit.lowercased() {
    case "", "b": multiplier = 1
    case "k", "kb", "kib": multiplier = 1024
    case "m", "mb", "mib": multiplier = 1024 * 1024
    case "g", "gb", "gib": multiplier = 1024 * 1024 * 1024
    case "t", "tb", "tib": multiplier = 1024 * 1024 * 1024 * 1024
    default: return nil
    }
    let bytes = value * multiplier
    guard bytes < Double(Int.max) else { return nil }
    return Int(bytes)
}

/// "1 GiB", "64 B", "1.5 MiB".
func formatBytes(_ bytes: Int) -> String {
    let units: [(Int, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
    for (size, name) in units where bytes >= size {
        let value = Double(bytes) / Double(size)
        return value == value.rounded() ? "\(Int(value)) \(name)" : String(format: "%.1f %@", value, name)
    }
    return "\(bytes) B"
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        String(drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
    }
}
