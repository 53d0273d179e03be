import CZiggyReferences
import Foundation
import Glibc

/// Monotonic seconds.
@inline(never)
func now() -> Double { zr_now() }

/// Keeps a value (and the memory it points into) from being optimized away.
@inline(__always)
func blackHole(_ pointer: UnsafeRawPointer?) { zr_black_hole(pointer) }

@inline(__always)
func blackHole(_ value: UInt64) {
    withUnsafePointer(to: value) { zr_black_hole($0) }
}

/// Median, mean, minimum and maximum of samples.
struct Summary {
    let median: Double
    let mean: Double
    let min: Double
    let max: Double
    let count: Int

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        mean = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
        median = Summary.median(sorted)
    }

    static func median(_ sorted: [Double]) -> Double {
        if sorted.isEmpty { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// The interval rule behind every verdict.
///
/// A comparison needs at least ``minimumSamples`` samples of each side. When both sides were
/// measured round-robin in the same group (sample i of each in the same round), the ratio is taken
/// per round, r_i = a_i / b_i, and its interval is the distribution-free 95 % confidence interval
/// for the median ratio: [r_(k), r_(n+1-k)] of the sorted r, with k the largest rank for which
/// 1 − 2·P(Binomial(n, ½) ≤ k − 1) ≥ 0.95 (k = 1, i.e. min…max, for n = 7 or 8; k = 2 for 9–11).
/// Otherwise (different groups or counts) the interval is the conservative range
/// [min(a) / max(b), max(a) / min(b)]. The point value is always median(a) / median(b).
struct RatioInterval: Codable, Equatable {
    static let minimumSamples = 7
    var value: Double
    var lower: Double
    var upper: Double
    var samples: Int
    var paired: Bool

    init?(_ a: [Double], _ b: [Double], paired: Bool) {
        guard a.count >= 1, b.count >= 1 else { return nil }
        let medianB = Summary(b).median
        guard medianB > 0 else { return nil }
        value = Summary(a).median / medianB
        if paired && a.count == b.count {
            let ratios = zip(a, b).map { $0 / $1 }.sorted()
            let k = RatioInterval.rank(ratios.count)
            lower = ratios[k - 1]
            upper = ratios[ratios.count - k]
            samples = ratios.count
            self.paired = true
        } else {
            lower = (a.min() ?? .nan) / (b.max() ?? .nan)
            upper = (a.max() ?? .nan) / (b.min() ?? .nan)
            samples = Swift.min(a.count, b.count)
            self.paired = false
        }
    }

    /// The ratio of two lower-is-better measurements' reciprocals is the same rule on 1/x.
    func inverted() -> RatioInterval {
        var copy = self
        copy.value = 1 / value
        copy.lower = 1 / upper
        copy.upper = 1 / lower
        return copy
    }

    /// The largest k with two-sided coverage ≥ 95 % (at least 1).
    static func rank(_ n: Int) -> Int {
        var best = 1
        var k = 1
        while k <= n / 2 {
            // P(B ≤ k − 1) for B ~ Binomial(n, 1/2)
            var tail = 0.0
            for i in 0..<k { tail += binomial(n, i) }
            tail /= pow(2.0, Double(n))
            if 1 - 2 * tail >= 0.95 { best = k } else { break }
            k += 1
        }
        return best
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        var result = 1.0
        for i in 0..<k { result = result * Double(n - i) / Double(i + 1) }
        return result
    }
}

/// "met" / "missed" / "within noise" / "n/a" for `interval` against `threshold`.
enum Verdict: String, Codable, CaseIterable {
    case met
    case missed
    case withinNoise = "within noise"
    case notApplicable = "n/a"

    init(_ interval: RatioInterval?, threshold: Double, atLeast: Bool) {
        guard let interval, interval.samples >= RatioInterval.minimumSamples,
            interval.lower.isFinite, interval.upper.isFinite
        else {
            self = .notApplicable
            return
        }
        if atLeast {
            self = interval.lower >= threshold ? .met : interval.upper < threshold ? .missed : .withinNoise
        } else {
            self = interval.upper <= threshold ? .met : interval.lower > threshold ? .missed : .withinNoise
        }
    }
}

/// Parses "64", "4KiB", "4K", "256MiB", "1GiB", "1.5GB" (powers of two for K/M/G/T); nil for
/// anything negative, malformed, or not representable in an `Int`.
func parseSize(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: " ")
    var number = ""
    var unit = ""
    for character in trimmed {
        if unit.isEmpty && (character.isNumber || character == ".") { number.append(character) } else { unit.append(character) }
    }
    guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else { return nil }
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
    // 2^62: far beyond any memory, and sums of a few such sizes cannot overflow.
    guard bytes < 0x1p62 else { return nil }
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
