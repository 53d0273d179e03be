import ArgumentParser
import CZiggyReferences
import Foundation
import Glibc
import ZiggyKernel
import ZiggyMmap

@main
struct ZiggyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ziggy-bench",
        abstract: "Benchmark ZiggyAlloc's backends against C references measured in the same run.",
        discussion: """
            Workloads: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).
            Backends: \(Backend.allCases.map(\.rawValue).joined(separator: ", ")).
            Rows named c-… are the outside references (C, -O3 -march=native). Every row shows its obtained \
            page size and node histogram, median, min–max and spread over its samples, and its ratio to a \
            reference with the ratio's interval. Verdicts are met / missed / within noise / n/a (see README). \
            Bad input exits 2 with one line on stderr.
            """)

    @Flag(help: "A short run (about a minute in a debug build) that checks the command and its output formats.")
    var quick = false

    @Option(parsing: .unconditional, help: "Buffer size for first-touch, populate, GUPS and pointer-chase (e.g. 1GiB, 256MiB).")
    var size: String?

    @Option(parsing: .unconditional, help: "Threads for parallel population (default: 2, or the CPUs available if fewer).")
    var threads: String?

    @Option(parsing: .unconditional, help: "Comma-separated thread counts for Triad (default: 1 and every allowed CPU).")
    var triadThreads: String?

    @Option(parsing: .unconditional, help: "Comma-separated sizes for alloc-free (e.g. 64,4KiB; default depends on the preset).")
    var allocSizes: String?

    @Option(help: "Comma-separated backends to run (default: all).")
    var backends: String?

    @Option(help: "Comma-separated workloads to run (default: all).")
    var workloads: String?

    @Option(parsing: .unconditional, help: "The NUMA node treated as local (default: the node of the CPU the command starts on).")
    var node: String?

    @Option(parsing: .unconditional, help: "Samples per row (default 7; a verdict needs at least 7).")
    var repetitions: String?

    @Option(
        parsing: .unconditional,
        help: "As root: reserve this many 2 MiB huge pages for the run; given back once at exit, also on signals.")
    var reserveHugepages: String?

    @Option(
        name: .customLong("reserve-1g-pages"), parsing: .unconditional,
        help: "As root: reserve this many 1 GiB huge pages for the run (given back at exit).")
    var reserve1GPages: String?

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write the results as CSV (RFC 4180) to this file.")
    var csv: String?

    @Option(help: "Write a bar chart of GB/s and updates/s as SVG to this file.")
    var svg: String?

    @Option(help: "Also write the markdown table to this file.")
    var markdown: String?

    @Option(help: "A free-text label for the run (e.g. the host's name), written into every output.")
    var label: String?

    @Option(help: "Save this run's JSON report as a baseline for --compare.")
    var saveBaseline: String?

    @Option(help: "Compare every row with a baseline JSON report and flag regressions beyond the measured spread.")
    var compare: String?

    @Flag(
        help:
            "As root: give back the huge pages of reservations whose processes were killed before they could (SIGKILL), then exit.")
    var releaseStale = false

    @Option(
        help:
            "The folder of the outside reference programs (stream, omp_stream, omp_fork_join) built with gcc; make bench builds them into .build/references."
    )
    var references: String?

    @Flag(
        help: "Exit 1 when a target is missed (its whole interval on the wrong side): the regression guard make bench-check runs.")
    var failOnMiss = false

    /// Whether this binary was built without optimization (its timings mean nothing).
    var isDebugBuild: Bool {
        #if DEBUG
        return true
        #else
        return false
        #endif
    }

    /// Parse errors exit 2 with one line (swift-argument-parser would exit 64 with usage text).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == glibcChildFlag { glibcChildMain(CommandLine.arguments) }
        let command: ZiggyBench
        do {
            let parsed = try parseAsRoot(arguments)
            guard let bench = parsed as? ZiggyBench else {
                // --help parses to swift-argument-parser's own help command.
                var other = parsed
                do { try other.run() } catch { exit(withError: error) }
                Glibc.exit(0)
            }
            command = bench
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "bad arguments"
            fail(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
        }
        do {
            try command.execute()
        } catch {
            FileHandle.standardError.write(Data("ziggy-bench: error: \(error)\n".utf8))
            zr_restore_pages()
            Glibc.exit(1)
        }
    }

    func execute() throws {
        if releaseStale {
            if geteuid() != 0 { fail("--release-stale needs root") }
            let stale = HugePageReservation.releaseStale()
            print(
                stale.isEmpty
                    ? "ziggy-bench: no stale huge page reservations"
                    : stale.map { "ziggy-bench: gave back \($0)" }.joined(separator: "\n"))
            return
        }
        if isDebugBuild && !quick {
            fail(
                "this is a debug build: its timings are 10-100x off; measure with make bench "
                    + "(swift build -c release --product ziggy-bench), or pass --quick to check the command")
        }
        let cpus = Host.allowedCPUs()
        var config = quick ? BenchConfig.quick(cpus: cpus) : BenchConfig.standard(cpus: cpus)
        let memory = physicalMemory()

        // Everything the user typed is checked before anything is reserved or measured.
        if let size {
            guard let bytes = parseSize(size), bytes >= 1 << 20 else {
                fail("--size '\(size)' is not a size of at least 1 MiB (e.g. 256MiB, 1GiB)")
            }
            guard bytes <= memory else { fail("--size \(size) is more than the \(formatBytes(memory)) of memory here") }
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
            var counts: [Int] = []
            for part in triadThreads.split(separator: ",", omittingEmptySubsequences: false) {
                guard let count = Int(part.trimmingCharacters(in: " ")), count >= 1 else {
                    fail("--triad-threads '\(triadThreads)' is not a list of positive numbers")
                }
                guard count <= cpus else { fail("--triad-threads \(count) is more than the \(cpus) CPUs this process may use") }
                counts.append(count)
            }
            config.triadThreads = Array(Set(counts)).sorted()
        }
        if let allocSizes {
            var sizes: [Int] = []
            for part in allocSizes.split(separator: ",", omittingEmptySubsequences: false) {
                guard let bytes = parseSize(String(part)), bytes >= 1, bytes <= memory / 4 else {
                    fail("--alloc-sizes '\(allocSizes)' is not a list of sizes between 1 B and a quarter of memory")
                }
                sizes.append(bytes)
            }
            config.allocSizes = sizes
        }
        if let repetitions {
            guard let count = Int(repetitions), count >= 1, count <= 1000 else {
                fail("--repetitions '\(repetitions)' is not between 1 and 1000")
            }
            config.repetitions = count
            config.poolRounds = max(count, 1)
        }
        if let references {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: references, isDirectory: &isDirectory), isDirectory.boolValue else {
                fail("--references '\(references)' is not a folder")
            }
            config.outside = OutsidePrograms(directory: references)
        }
        let selectedBackends: [Backend] = parseList(backends, all: Backend.allCases, kind: "backend")
        let selectedWorkloads: [Workload] = parseList(workloads, all: Workload.allCases, kind: "workload")
        let nodes = Host.nodesWithMemory()
        var localNode = Host.currentNode() ?? nodes.first ?? 0
        if let node {
            guard let id = Int(node), nodes.contains(id) else {
                fail(
                    "--node '\(node)' is not a NUMA node with memory here (nodes: \(nodes.map(String.init).joined(separator: ", ")))"
                )
            }
            localNode = id
        }
        let hugeCount = parseCount(reserveHugepages, option: "--reserve-hugepages", pageBytes: 2 << 20, memory: memory)
        let gigCount = parseCount(reserve1GPages, option: "--reserve-1g-pages", pageBytes: 1 << 30, memory: memory)
        // Sizes are at most physical memory and counts at most memory ÷ page: no product overflows.
        let needed = max(
            config.firstTouchBytes * (selectedWorkloads.contains(.firstTouch) ? 1 : 0),
            3 * config.triadBytes, config.gupsBytes, config.chaseBytes + config.chaseBytes / 16)
        let available = memAvailable()
        if needed + (256 << 20) > available {
            fail(
                "the run needs about \(formatBytes(needed)) at once but only \(formatBytes(available)) is available; use a smaller --size"
            )
        }
        if (hugeCount > 0 || gigCount > 0) && geteuid() != 0 {
            fail("--reserve-hugepages / --reserve-1g-pages need root")
        }
        if hugeCount * (2 << 20) + gigCount * (1 << 30) + needed > available {
            fail(
                "reserving \(hugeCount) × 2 MiB + \(gigCount) × 1 GiB pages would leave too little memory (\(formatBytes(available)) available)"
            )
        }
        for path in [json, csv, svg, markdown, saveBaseline].compactMap({ $0 }) {
            if let why = unwritable(path) { fail("cannot write \(path): \(why)") }
        }
        var baseline: Report?
        if let compare {
            do { baseline = try loadBaseline(compare) } catch { fail("cannot read the baseline \(compare): \(oneLine(error))") }
        }

        // Reserve; the pools come back exactly once: at exit, or in the signal handler. A run that
        // reserves holds the machine-wide hugetlb pool lock from before reserving until it exits
        // (the kernel drops it then, also on a signal): its reservation, its use of those pages
        // and their return are one span no cooperating process (another run, the tests) sees
        // half of. The C code below writes the pools only while this process holds it.
        if hugeCount > 0 || gigCount > 0 {
            let held = HugePagePoolLock.holdUntilExit(waiting: {
                let note = "ziggy-bench: waiting for the hugetlb pool lock (another process is reserving or testing huge pages)\n"
                FileHandle.standardError.write(Data(note.utf8))
            })
            if case .failure(let failure) = held {
                fail("cannot take the hugetlb pool lock: \(failure.call) \(failure.path): \(failure.errno)")
            }
        }
        zr_restore_install()
        defer { zr_restore_pages() }
        var reservations: [String] = []
        for (count, pageBytes, label) in [(hugeCount, 2 << 20, "2 MiB"), (gigCount, 1 << 30, "1 GiB")] where count > 0 {
            var granted = 0
            let path = Host.poolPath(pageBytes: pageBytes)
            let rc = zr_reserve_pages(path, count, &granted)
            if rc != 0 { fail("reserving \(count) × \(label) pages: \(String(cString: strerror(-rc)))") }
            // Recorded in the library's ledger too, so that a SIGKILL (which no handler sees) leaves
            // a record `ziggy-bench --release-stale` can give back.
            if granted > 0, let entry = ReservationLedger.record(counter: path, pages: granted) { _ = zr_attach_ledger(entry) }
            reservations.append("\(granted)/\(count) × \(label)")
        }

        let monitor = HostLoadMonitor(window: config.quietWindow)
        monitor.sampleBefore()
        if monitor.busyBefore > HostLoadMonitor.warnAbove {
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "ziggy-bench: warning: the host was %.0f%% busy before measuring\n",
                        monitor.busyBefore * 100
                    ).utf8))
        }
        var allowed = [Int32](repeating: 0, count: 1024)
        let allowedCount = Int(zr_allowed_cpus(&allowed, Int32(allowed.count)))
        let teamCPUs = allowedCount > 0 ? allowed.prefix(allowedCount).map(Int.init) : [0]
        let factory = RegionFactory(localNode: localNode)
        let runner = Runner(
            config: config, backends: selectedBackends, workloads: selectedWorkloads, factory: factory,
            teamCPUs: teamCPUs)
        let start = now()
        Host.onNode(localNode) { runner.run() }
        computeRatios(&runner.rows)
        var checks = targets(runner.rows, triadThreads: config.triadThreads)
            .filter { check in runner.workloads.contains { check.target.hasPrefix($0.targetPrefix) } }
        if isDebugBuild {
            for index in checks.indices {
                checks[index].verdict = Verdict.notApplicable.rawValue
                checks[index].detail = "debug build: not judged"
            }
        }
        var report = Report(
            label: label ?? "", host: Host.description(cpus: cpus, reservations: reservations), preset: config.preset,
            command: CommandLine.arguments.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: " "),
            thread_placement: runner.placement, host_load: monitor.finish(), references: runner.references,
            rows: runner.rows, targets: checks, verdict_counts: verdictCounts(checks), baseline: compare, comparison: nil)
        if let baseline { report.comparison = compareWithBaseline(runner.rows, baseline: baseline) }
        let table = renderMarkdown(report)
        print(renderTerminal(report, debugBuild: isDebugBuild), terminator: "")
        if let warning = report.host_load.warning {
            FileHandle.standardError.write(Data("ziggy-bench: warning: \(warning)\n".utf8))
        }
        FileHandle.standardError.write(Data(String(format: "ziggy-bench: done in %.1f s\n", now() - start).utf8))
        let encoded = try renderJSON(report)
        write(table, to: markdown)
        write(encoded, to: json)
        write(encoded, to: saveBaseline)
        write(renderCSV(report), to: csv)
        write(renderSVG(report), to: svg)
        if failOnMiss {
            let missed = checks.filter { $0.verdict == Verdict.missed.rawValue }
            if !missed.isEmpty {
                FileHandle.standardError.write(
                    Data(
                        ("ziggy-bench: \(missed.count) target(s) missed:\n"
                            + missed.map {
                                "  \($0.target): \(format($0.measured)) (needed \($0.atLeast ? "≥" : "≤") \(format($0.threshold)))"
                            }
                            .joined(separator: "\n") + "\n").utf8))
                zr_restore_pages()
                Glibc.exit(1)
            }
        }
    }

    func write(_ text: String, to path: String?) {
        guard let path else { return }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            fail("cannot write \(path): \(oneLine(error))")
        }
    }

    func parseList<T: RawRepresentable & CaseIterable>(_ text: String?, all: T.AllCases, kind: String) -> [T]
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

    /// A page count: a non-negative integer of at most the pages physical memory can hold.
    func parseCount(_ text: String?, option: String, pageBytes: Int, memory: Int) -> Int {
        guard let text else { return 0 }
        guard let count = Int(text.trimmingCharacters(in: " ")), count >= 0 else { fail("\(option) '\(text)' is not a page count") }
        guard count <= memory / pageBytes else {
            fail("\(option) \(text) is more pages than the \(formatBytes(memory)) of memory can hold (\(memory / pageBytes))")
        }
        return count
    }
}

/// One line on stderr and exit code 2: the contract for bad input. Gives back reserved pages.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ziggy-bench: error: \(message.replacingOccurrences(of: "\n", with: " "))\n".utf8))
    zr_restore_pages()
    exit(2)
}

func oneLine(_ error: any Error) -> String {
    "\(error)".replacingOccurrences(of: "\n", with: " ")
}

/// Why `path` cannot be written, or nil. Outputs are written atomically (a temporary file in the
/// same directory, renamed over the path), so the check creates and removes such a temporary file:
/// a missing directory, a read-only file system, /proc or a directory in the way is found before
/// the run.
func unwritable(_ path: String) -> String? {
    var status = stat()
    if stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR { return "it is a directory" }
    let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    var template = Array(((directory.isEmpty ? "/" : directory) + "/.ziggy-bench-check-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    if fd < 0 { return String(cString: strerror(errno)) }
    close(fd)
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    return nil
}

func memAvailable() -> Int { meminfo("MemAvailable:") ?? Int.max }

func physicalMemory() -> Int { meminfo("MemTotal:") ?? (1 << 40) }

func meminfo(_ key: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(key) {
        if let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { return kB * 1024 }
    }
    return nil
}
