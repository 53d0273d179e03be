import Foundation
import Glibc

/// CPU time of the whole machine from /proc/stat's "cpu" line, in seconds.
struct CPUTimes {
    var busy: Double
    var total: Double

    static func read() -> CPUTimes? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 4 else { return nil }
        // user nice system idle iowait irq softirq steal (guest time is already in user)
        let counted = Array(fields.prefix(8))
        let idle = counted[3] + (counted.count > 4 ? counted[4] : 0)
        let total = counted.reduce(0, +)
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return CPUTimes(busy: (total - idle) / tick, total: total / tick)
    }
}

/// CPU seconds this process (all threads) and its waited-for children have used.
func ownCPUSeconds() -> Double {
    var total = 0.0
    for who in [RUSAGE_SELF, RUSAGE_CHILDREN] {
        var usage = rusage()
        getrusage(Int32(who.rawValue), &usage)
        total +=
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    }
    return total
}

/// Watches the machine: a quiet window before measuring, and the others' share during the run.
final class HostLoadMonitor {
    static let warnAbove = 0.10
    private var runStart: CPUTimes?
    private var ownAtStart = 0.0
    private(set) var busyBefore = Double.nan
    let window: Double

    init(window: Double) { self.window = window }

    /// Samples /proc/stat over `window` seconds (this process sleeps meanwhile).
    func sampleBefore() {
        guard let first = CPUTimes.read() else { return }
        usleep(useconds_t(window * 1e6))
        guard let second = CPUTimes.read(), second.total > first.total else { return }
        busyBefore = (second.busy - first.busy) / (second.total - first.total)
        runStart = second
        ownAtStart = ownCPUSeconds()
    }

    func finish() -> HostLoad {
        var during: Double?
        if let start = runStart, let end = CPUTimes.read(), end.total > start.total {
            let others = (end.busy - start.busy) - (ownCPUSeconds() - ownAtStart)
            during = max(0, others / (end.total - start.total))
        }
        var warnings: [String] = []
        if busyBefore > HostLoadMonitor.warnAbove {
            warnings.append(String(format: "the host was %.0f%% busy before measuring", busyBefore * 100))
        }
        if let during, during > HostLoadMonitor.warnAbove {
            warnings.append(String(format: "other processes used %.0f%% of the CPUs during the run", during * 100))
        }
        let warning = warnings.isEmpty ? nil : warnings.joined(separator: "; ") + ": figures are noisier than their spreads suggest"
        return HostLoad(
            busy_before: busyBefore.isFinite ? busyBefore : 0, window_seconds: window,
            others_busy_during: during, warning: warning)
    }
}
