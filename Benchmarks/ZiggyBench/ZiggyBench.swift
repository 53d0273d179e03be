import ArgumentParser
import CZiggyShims
import Foundation
import Glibc
import ZiggyMmap

@main
struct ZiggyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ziggy-bench",
        abstract: "Benchmark ZiggyAlloc's backends side by side against the machine's limit and the usual alternatives.",
        discussion: """
        Workloads: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).
        Backends: \(Backend.allCases.map(\.rawValue).joined(separator: ", ")).
        Every row shows its obtained page size and node histogram, median and min–max over repetitions, and its \
        ratio to a reference measured in the same run. Backends that cannot run here are listed with the reason.
        """)

    @Flag(help: "A short run (under a minute on 2 cores) that checks the command and its output formats.")
    var quick = false

    @Option(help: "Buffer size for first-touch, GUPS and pointer-chase (e.g. 1GiB, 256MiB).")
    var size: String?

    @Option(help: "Threads for parallel population (default: 2, or the CPUs available if fewer).")
    var threads: String?

    @Option(help: "Threads for Triad (default 1).")
    var triadThreads: String?

    @Option(help: "Comma-separated backends to run (default: all).")
    var backends: String?

    @Option(help: "Comma-separated workloads to run (default: all).")
    var workloads: String?

    @Option(help: "The NUMA node treated as local (default: the node of the CPU the command starts on).")
    var node: String?

    @Option(help: "Repetitions per measurement (default: 3 quick, 7 otherwise).")
    var repetitions: String?

    @Option(help: "As root: reserve this many 2 MiB huge pages for the run; the pool is restored at exit, also on Ctrl-C.")
    var reserveHugepages: String?

    @Option(name: .customLong("reserve-1g-pages"), help: "As root: reserve this many 1 GiB huge pages for the run (restored at exit).")
    var reserve1GPages: String?

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write the results as CSV to this file.")
    var csv: String?

    @Option(help: "Write a bar chart of GB/s and updates/s as SVG to this file.")
    var svg: String?

    @Option(help: "Also write the markdown table to this file.")
    var markdown: String?

    func run() throws {
        let cpus = (try? ThreadPinning.currentAffinity())?.count ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var config = quick ? BenchConfig.quick(cpus: cpus) : BenchConfig.standard(cpus: cpus)
        let topology = NumaTopology.current()

        // Everything the user typed is checked before anything is reserved.
        if let size {
            guard let bytes = parseSize(size), bytes >= 1 << 20 else { fail("--size '\(size)' is not a size of at least 1 MiB (e.g. 256MiB, 1GiB)") }
            config.firstTouchBytes = bytes
            config.gupsBytes = bytes
            config.chaseBytes = bytes
        }
        if let threads {
            guard let count = Int(threads), count >= 1 else { fail("--threads '\(threads)' is not a positive number") }
            guard count <= cpus else { fail("--threads \(count) is more than the \(cpus) CPUs this process may use") }
            config.threads = count
        }
        if let triadThreads {
            guard let count = Int(triadThreads), count >= 1 else { fail("--triad-threads '\(triadThreads)' is not a positive number") }
            guard count <= cpus else { fail("--triad-threads \(count) is more than the \(cpus) CPUs this process may use") }
            config.triadThreads = count
        }
        if let repetitions {
            guard let count = Int(repetitions), count >= 1, count <= 1000 else { fail("--repetitions '\(repetitions)' is not between 1 and 1000") }
            config.repetitions = count
        }
        let selectedBackends: [Backend] = try parseList(backends, all: Backend.allCases, kind: "backend")
        let selectedWorkloads: [Workload] = try parseList(workloads, all: Workload.allCases, kind: "workload")
        var localNode = topology.node(ofCPU: ThreadPinning.currentCPU) ?? topology.nodesWithMemory.first ?? 0
        if let node {
            guard let id = Int(node), topology.nodesWithMemory.contains(id) else {
                fail("--node '\(node)' is not a NUMA node with memory here (nodes: \(topology.nodesWithMemory))")
            }
            localNode = id
        }
        let needed = max(config.firstTouchBytes * (selectedWorkloads.contains(.firstTouch) ? 1 : 0),
                         3 * config.triadBytes, config.gupsBytes, config.chaseBytes + config.chaseBytes / 16)
        let available = memAvailable()
        if needed + (256 << 20) > available {
            fail("the run needs about \(formatBytes(needed)) at once but only \(formatBytes(available)) is available; use a smaller --size")
        }
        let hugeCount = try parseCount(reserveHugepages, option: "--reserve-hugepages")
        let gigCount = try parseCount(reserve1GPages, option: "--reserve-1g-pages")
        if (hugeCount > 0 || gigCount > 0) && geteuid() != 0 {
            fail("--reserve-hugepages / --reserve-1g-pages need root")
        }
        if hugeCount * (2 << 20) + gigCount * (1 << 30) + needed > available {
            fail("reserving \(hugeCount) × 2 MiB + \(gigCount) × 1 GiB pages would leave too little memory (\(formatBytes(available)) available)")
        }

        // Reserve, and make sure the pools come back even on Ctrl-C.
        zg_restore_install()
        var reservations: [String] = []
        var twoMiB: HugePageReservation? = nil
        var oneGiB: HugePageReservation? = nil
        if hugeCount > 0 {
            let reservation = try HugePageReservation(.huge2MiB, count: hugeCount)
            _ = zg_restore_register("/proc/sys/vm/nr_hugepages", reservation.granted)
            reservations.append("\(reservation.granted)/\(hugeCount) × 2 MiB")
            twoMiB = consume reservation
        }
        if gigCount > 0 {
            let reservation = try HugePageReservation(.huge1GiB, count: gigCount)
            _ = zg_restore_register("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", reservation.granted)
            reservations.append("\(reservation.granted)/\(gigCount) × 1 GiB")
            oneGiB = consume reservation
        }
        defer {
            zg_restore_clear()
            twoMiB.take()?.release()
            oneGiB.take()?.release()
        }

        let factory = RegionFactory(topology: topology, localNode: localNode)
        let runner = Runner(config: config, backends: selectedBackends, workloads: selectedWorkloads, factory: factory)
        let start = now()
        // Run next to the local node's memory (unpinned when the node has no CPUs).
        if (try? ThreadPinning.withCurrentThread(pinnedTo: localNode) { runner.run() }) == nil {
            runner.run()
        }
        computeRatios(&runner.rows)
        applyMemsetReference(&runner.rows, memset: runner.references["memset GB/s"])
        let report = Report(
            host: hostDescription(topology: topology, cpus: cpus, reservations: reservations),
            preset: config.preset, command: CommandLine.arguments.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                .joined(separator: " "),
            references: runner.references, rows: runner.rows, targets: targets(runner.rows))
        let table = renderMarkdown(report)
        print(table)
        FileHandle.standardError.write(Data(String(format: "ziggy-bench: done in %.1f s\n", now() - start).utf8))
        try write(table, to: markdown)
        try write(try renderJSON(report), to: json)
        try write(renderCSV(report), to: csv)
        try write(renderSVG(report), to: svg)
    }

    func write(_ text: String, to path: String?) throws {
        guard let path else { return }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            fail("cannot write \(path): \(error.localizedDescription)")
        }
    }

    func parseList<T: RawRepresentable & CaseIterable>(_ text: String?, all: T.AllCases, kind: String) throws -> [T]
        where T.RawValue == String {
        guard let text else { return Array(all) }
        var result: [T] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: " ") }) where !name.isEmpty {
            guard let value = T(rawValue: name) else {
                fail("unknown \(kind) '\(name)' (known: \(all.map(\.rawValue).joined(separator: ", ")))")
            }
            result.append(value)
        }
        guard !result.isEmpty else { fail("no \(kind) selected") }
        return result
    }

    func parseCount(_ text: String?, option: String) throws -> Int {
        guard let text else { return 0 }
        guard let count = Int(text), count >= 0 else { fail("\(option) '\(text)' is not a page count") }
        return count
    }
}

/// One line on stderr and exit code 2: the contract for bad input.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ziggy-bench: error: \(message)\n".utf8))
    zg_restore_run()
    exit(2)
}

func memAvailable() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return Int.max }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        if let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { return kB * 1024 }
    }
    return Int.max
}

func hostDescription(topology: NumaTopology, cpus: Int, reservations: [String]) -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: " ") } ?? "" } ?? "unknown CPU"
    var name = utsname()
    uname(&name)
    let kernel = withUnsafeBytes(of: name.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    let memory = topology.nodes.reduce(0) { $0 + $1.memoryTotal }
    let thp = TransparentHugePages.read()
    return "\(model), \(cpus) CPUs, \(formatBytes(memory)) in \(topology.nodes.count) NUMA node(s), Linux \(kernel), "
        + "THP \(thp.mode.rawValue); huge pages reserved for the run: \(reservations.isEmpty ? "none" : reservations.joined(separator: ", "))"
}
