import CZiggyReferences
import Foundation
import Glibc
import ZiggyMmap

/// One row being measured: how to get a sample, and what to say about it.
final class Contender {
    let backend: String
    let bytes: Int
    let threads: Int
    let unit: Unit
    var note: String?
    /// Why it cannot run here (checked before anything is allocated), or nil.
    let unavailable: String?
    /// One sample in `unit`; throws when the memory cannot be had.
    let sample: () throws -> Double
    /// Page size and node histogram, filled in by `sample` when it knows them.
    var pageSize = "-"
    var nodes = "-"
    /// Notes added after sampling (e.g. pool statistics).
    var finalNote: (() -> String?)?

    init(
        _ backend: String, bytes: Int, threads: Int = 1, unit: Unit, note: String? = nil, unavailable: String? = nil,
        sample: @escaping () throws -> Double
    ) {
        self.backend = backend
        self.bytes = bytes
        self.threads = threads
        self.unit = unit
        self.note = note
        self.unavailable = unavailable
        self.sample = sample
    }
}

/// Runs the selected workloads over the selected backends and collects rows.
final class Runner {
    let config: BenchConfig
    let backends: [Backend]
    let workloads: [Workload]
    let factory: RegionFactory
    /// The fork-join team's CPUs (member 0 is the runner's own thread).
    let teamCPUs: [Int]
    var rows: [Row] = []
    var references: [String: Double] = [:]
    /// Where the team's threads run, e.g. "thread 0 → CPU 0, thread 1 → CPU 1".
    private(set) var placement = "not started"
    /// The library Team of the team workloads (made on first use, kept for the run).
    var libraryTeamCache: Team?
    private var group = 0
    private var step = 0
    private var started = now()
    /// The index in `workloads` of the workload running now.
    private var workloadIndex = 0

    init(config: BenchConfig, backends: [Backend], workloads: [Workload], factory: RegionFactory, teamCPUs: [Int]) {
        self.config = config
        self.backends = backends
        self.workloads = workloads
        self.factory = factory
        self.teamCPUs = teamCPUs
    }

    /// A progress line on standard error: the workload's place in the run, the time so far and,
    /// after the first workload, an estimate of the time left (from the time the finished ones
    /// took against their usual share of a run, `Workload.weight`).
    func progress(_ text: String) {
        step += 1
        let elapsed = now() - started
        var timing = " · \(clock(elapsed))"
        let finished = workloads.prefix(workloadIndex).map(\.weight).reduce(0, +)
        if finished > 0 && elapsed > 3 {
            let remaining = workloads.dropFirst(workloadIndex).map(\.weight).reduce(0, +)
            timing += ", about \(clock(elapsed / finished * remaining)) left"
        }
        let place = workloadIndex < workloads.count ? "[\(workloadIndex + 1)/\(workloads.count)] " : ""
        FileHandle.standardError.write(Data("ziggy-bench: \(place)\(text)\(timing)\n".utf8))
    }

    private func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }

    func run() {
        let cpus = teamCPUs.map { Int32($0) }
        let rc = cpus.withUnsafeBufferPointer { zr_team_start(Int32($0.count), $0.baseAddress) }
        if rc != 0 { progress("could not start \(teamCPUs.count) pinned threads (\(rc)); running with 1") }
        let size = Int(zr_team_size())
        placement =
            (0..<max(1, size)).map { "thread \($0) → CPU \(zr_team_cpu(Int32($0)))" }.joined(separator: ", ")
            + " (pinned, one per allowed CPU, spread)"
        defer { zr_team_stop() }
        self.started = now()
        for (index, workload) in workloads.enumerated() {
            workloadIndex = index
            switch workload {
            case .allocFree: allocFree()
            case .firstTouch: firstTouch(write: false)
            case .firstTouchWrite: firstTouch(write: true)
            case .populate: populate()
            case .pool: pool()
            case .resize: resize()
            case .triad: triad()
            case .access: access()
            case .view: view()
            case .gups: gups()
            case .pointerChase: pointerChase()
            case .teamRegion: teamRegion()
            case .teamTriad: teamTriad()
            case .teamReduce: teamReduce()
            case .stencil: stencil()
            }
        }
    }

    /// The one measure helper every workload uses.
    ///
    /// Contenders that cannot run here get a "not run" row with the reason. The others are
    /// measured round-robin: `warmUps` rounds whose samples are dropped (they fault the memory in
    /// and let the host settle it), then `repetitions` rounds of one sample per contender, the
    /// order rotated every round so that no contender always follows the same one. A contender
    /// whose sample throws is dropped with the error as its reason. Every row of one call shares a
    /// group number: their samples pair up round by round (see `RatioInterval`).
    @discardableResult
    func measure(_ workload: String, _ contenders: [Contender], warmUps: Int = 1, repetitions: Int? = nil) -> [Row] {
        defer { zr_team_pin_caller(0) }
        group += 1
        var active: [Contender] = []
        var failed: [String: String] = [:]
        for contender in contenders {
            if let why = contender.unavailable {
                failed[contender.backend + "/\(contender.threads)"] = why
            } else {
                active.append(contender)
            }
        }
        if !active.isEmpty {
            let names = active.map { $0.threads > 1 ? "\($0.backend)×\($0.threads)" : $0.backend }
            let size = active[0].bytes > 0 ? " \(formatBytes(active[0].bytes))" : ""
            progress("\(workload)\(size): \(names.joined(separator: ", "))")
        }
        var samples = Array(repeating: [Double](), count: active.count)
        var alive = Array(repeating: true, count: active.count)
        let rounds = repetitions ?? config.repetitions
        for round in 0..<(warmUps + rounds) {
            for offset in 0..<active.count {
                let index = (offset + round) % active.count
                guard alive[index] else { continue }
                do {
                    // C rows run with the caller pinned as member 0 of the C team; library rows
                    // with the affinity the process has (the library pins its own threads).
                    zr_team_pin_caller(active[index].backend.hasPrefix("c-") ? 1 : 0)
                    let value = try active[index].sample()
                    if round >= warmUps { samples[index].append(value) }
                } catch {
                    alive[index] = false
                    failed[active[index].backend + "/\(active[index].threads)"] = "\(error)"
                }
            }
        }
        var made: [Row] = []
        for contender in contenders {
            let key = contender.backend + "/\(contender.threads)"
            if let why = failed[key] {
                made.append(
                    .unavailable(
                        contender.backend, workload, bytes: contender.bytes, threads: contender.threads,
                        unit: contender.unit, reason: why))
                continue
            }
            guard let index = active.firstIndex(where: { $0 === contender }) else { continue }
            let note = [contender.note, contender.finalNote?()].compactMap { $0 }.joined(separator: "; ")
            made.append(
                Row(
                    backend: contender.backend, workload: workload, bytes: contender.bytes, threads: contender.threads,
                    unit: contender.unit, samples: samples[index], group: group, pageSize: contender.pageSize,
                    nodes: contender.nodes, note: note.isEmpty ? nil : note))
        }
        rows += made
        return made
    }

    /// The selected backends that take part in `workload`.
    func backends(for workload: Workload) -> [Backend] {
        switch workload {
        case .firstTouch, .firstTouchWrite:
            return backends.filter { $0 != .scoped }
        case .triad:
            return backends.filter { $0 != .scoped }
        case .gups, .pointerChase:
            return backends.filter { $0.isRegionBackend && $0 != .system }
        default:
            return backends
        }
    }

    /// The batch size for which one run of `body(batch)` takes at least `minSampleSeconds`.
    func calibrate(_ body: (Int) -> Void) -> Int {
        var batch = 1
        while true {
            let start = now()
            body(batch)
            if now() - start >= config.minSampleSeconds || batch >= 1 << 26 { return batch }
            batch *= 2
        }
    }
}

/// A negative errno from a C reference as an error.
func checked(_ seconds: Double, _ what: String) throws -> Double {
    if seconds < 0 {
        throw BenchError.failed("\(what): \(String(cString: strerror(Int32(-seconds))))")
    }
    return seconds
}

/// "hugetlb 2 MiB" / "base 4 KiB" / "THP" for a KernelPageSize in kB.
func pageSizeName(kb: Int) -> String {
    switch kb {
    case 4: return "base 4 KiB"
    case 2048: return "hugetlb 2 MiB"
    case 1 << 20: return "hugetlb 1 GiB"
    case 0: return "?"
    default: return "\(kb) KiB"
    }
}
