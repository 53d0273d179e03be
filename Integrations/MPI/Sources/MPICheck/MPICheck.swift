import Glibc
import ZiggyMPI
import ZiggyMmap

// ziggy-mpi-check: what `make test` runs under mpirun (Integrations/MPI/run-mpi-tests), on the
// host and in the 2-node VM. Every rank runs every check in the same order (they are collective);
// rank 0 prints one line per check and "mpi-check: P passed, F failed". Each rank's own facts are
// read independently of the library where the kernel offers it (/proc/self/numa_maps,
// /proc/self/task/*/status, the sysfs pool counters).
//
// ZIGGY_MPI_EXPECT_NODES: how many distinct nodes the launcher should have spread the ranks over.

let job: MPIJob
do { job = try MPIJob() } catch {
    print("mpi-check: cannot join the job: \(error)")
    exit(1)
}
let expectedNodes = getenv("ZIGGY_MPI_EXPECT_NODES").flatMap { Int(String(cString: $0)) } ?? 1
let megabyte = 1 << 20
var passed = 0
var failed = 0

/// Runs one collective check: `body` returns this rank's complaint (nil when fine); rank 0 prints
/// the verdict with every rank's complaint.
@MainActor
func check(_ name: String, _ body: () throws -> String?) {
    var complaint: String?
    do { complaint = try body() } catch { complaint = "threw \(error)" }
    var mine = complaint.map { "rank \(job.rank): \($0)" } ?? ""
    while mine.utf8.count > MPIJob.gatherTextLimit { mine.removeLast() }
    let all: [String]
    do {
        all = try job.gather(mine)
    } catch {
        // Never a pass by default: a check whose complaints cannot be gathered failed.
        all = ["rank \(job.rank): gathering the complaints failed: \(error)"]
    }
    if job.rank == 0 {
        let complaints = all.filter { !$0.isEmpty }
        if complaints.isEmpty {
            passed += 1
            print("mpi-check: ✔ \(name)")
        } else {
            failed += 1
            print("mpi-check: ✘ \(name)\n" + complaints.map { "    \($0)" }.joined(separator: "\n"))
        }
    }
}

func readInt(_ path: String) -> Int? {
    readLines(path).first.flatMap { Int($0.filter { !$0.isWhitespace }) }
}

func readLines(_ path: String) -> [String] {
    guard let file = fopen(path, "r") else { return [] }
    defer { fclose(file) }
    var lines: [String] = []
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    while getline(&line, &capacity, file) > 0, let line { lines.append(String(cString: line)) }
    free(line)
    return lines
}

/// The `N<node>=<pages>` counts of the numa_maps line of the mapping starting at `start`.
func numaMapsNodes(_ start: UnsafeRawPointer) -> [Int: Int]? {
    let address = String(UInt(bitPattern: start), radix: 16)
    guard let line = readLines("/proc/self/numa_maps").first(where: { $0.hasPrefix(address + " ") }) else { return nil }
    var nodes: [Int: Int] = [:]
    for field in line.split(separator: " ") where field.hasPrefix("N") {
        let parts = field.dropFirst().split(separator: "=")
        if parts.count == 2, let node = Int(parts[0]), let pages = Int(parts[1]) { nodes[node] = pages }
    }
    return nodes
}

let globalCounter = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

// The pools are machine-wide: other processes may reserve pages under the hugetlb pool lock
// protocol (Docs/Guarantees.md) while the job runs, and the ranks themselves take that lock for
// each change, so no rank can hold it across the checks. What the checks compare is what every
// reservation that follows the protocol leaves unchanged: the 2 MiB pages no ledger entry accounts
// for, read holding the lock (taken here as the protocol describes it, from outside the library).

/// The reservation ledger's directory, as the library chooses it.
let ledgerDirectory: String = {
    if let custom = getenv("ZIGGY_RESERVATION_DIR").map({ String(cString: $0) }), !custom.isEmpty { return custom }
    for candidate in ["/run/ziggyalloc", "/tmp/ziggyalloc"] {
        mkdir(candidate, 0o755)  // as the library does: the first reservation may not have made it yet
        if access(candidate, W_OK) == 0 { return candidate }
    }
    return "/tmp"
}()

/// Runs `body` holding the hugetlb pool lock: an exclusive flock on every size's nr_hugepages,
/// smallest size first.
func withPoolLock<R>(_ body: () -> R) -> R {
    let root = "/sys/kernel/mm/hugepages"
    var names: [(Int, String)] = []
    if let directory = opendir(root) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("hugepages-"), name.hasSuffix("kB"), let kb = Int(name.dropFirst(10).dropLast(2)) {
                names.append((kb, "\(root)/\(name)/nr_hugepages"))
            }
        }
        closedir(directory)
    }
    let descriptors = names.sorted { $0.0 < $1.0 }.map { open($0.1, O_RDONLY | O_CLOEXEC) }.filter { $0 >= 0 }
    for fd in descriptors { while flock(fd, LOCK_EX) != 0 && errno == EINTR {} }
    defer { for fd in descriptors.reversed() { flock(fd, LOCK_UN); close(fd) } }
    return body()
}

/// 2 MiB pages no ledger entry accounts for (nil without the pool), read holding the lock.
func unrecordedPages() -> Int? {
    withPoolLock {
        guard let total = readInt(globalCounter) else { return nil }
        var recorded = 0
        if let directory = opendir(ledgerDirectory) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard name.hasPrefix("hugepages-") else { continue }
                let lines = readLines("\(ledgerDirectory)/\(name)")
                if lines.count == 2, lines[0].contains("/hugepages-2048kB/"), let pages = Int(lines[1].filter { !$0.isWhitespace })
                {
                    recorded += pages
                }
            }
            closedir(directory)
        }
        return total - recorded
    }
}

/// How many ledger entries this process has (reservations it holds).
func ledgerEntries() -> Int {
    guard let directory = opendir(ledgerDirectory) else { return 0 }
    defer { closedir(directory) }
    var count = 0
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasPrefix("hugepages-\(getpid())-") { count += 1 }
    }
    return count
}

let poolAtStart = job.rank == 0 ? unrecordedPages() : nil

check("binding: every rank is bound to one node; \(expectedNodes) distinct node(s), rank k on node k when one rank per node") {
    guard let node = job.binding.node else { return "bound to \(job.binding), not to one node" }
    let nodes = try job.gather("\(node)").compactMap { Int($0) }
    guard job.rank == 0 else { return nil }
    if Set(nodes).count != expectedNodes { return "ranks on nodes \(nodes), expected \(expectedNodes) distinct" }
    if expectedNodes == job.size && nodes != Array(0..<job.size) { return "rank → node \(nodes)" }
    print("mpi-check: ranks on nodes \(nodes) (\(job.binding))")
    return nil
}

var nodePages: NodeHugePages? = nil
check("reservation: one reserver per node sizes the node's pool for all its ranks") {
    let pages = try job.reserveHugePages(.huge2MiB, bytesPerRank: 8 * megabyte)
    let complaint = try reservationComplaint(pages)
    nodePages = consume pages
    return complaint
}

@MainActor
func reservationComplaint(_ pages: borrowing NodeHugePages) throws -> String? {
    let reservers = try job.allReduce(pages.isReserver ? 1 : 0, .sum)
    let free = HugePageReservation.Pool.read(.huge2MiB)?.nodes.first { $0.node == pages.node }?.free ?? -1
    if job.rank == 0 {
        print(
            "mpi-check: node \(pages.node): \(pages.ranksOnNode) rank(s) asked \(pages.demand) pages, "
                + "\(pages.freeBefore) were free, the reserver added \(pages.added)")
    }
    if reservers != expectedNodes { return "\(reservers) reservers for \(expectedNodes) node(s)" }
    if pages.demand != 4 * pages.ranksOnNode { return "demand \(pages.demand) for \(pages.ranksOnNode) rank(s) of 4 pages" }
    if !pages.isComplete || free < pages.demand { return "node \(pages.node) has \(free) free for \(pages.demand)" }
    return nil
}

check("placement: each rank's 2 MiB buffer is on its own node (numa_maps read in the rank); rank 0 gathers the table") {
    let allocator = try job.nodeAllocator(pageSize: .huge2MiB, fallback: .strict, populate: .kernel)
    var buffer = try allocator.allocate(Double.self, count: 8 * megabyte / 8)
    buffer.fill(with: 1)
    let rows = try job.gatherPlacement(of: buffer, label: "check")
    if job.rank == 0 {
        print(RankPlacement.table(rows))
        if rows.map(\.rank) != Array(0..<job.size) { return "gathered rows for ranks \(rows.map(\.rank))" }
    }
    if buffer.backing.mapping?.obtainedPageSize != .huge2MiB {
        return "obtained \(buffer.backing.mapping?.obtainedPageSize ?? .base)"
    }
    guard let maps = numaMapsNodes(buffer.unsafeBaseAddress) else { return "no numa_maps line for the buffer" }
    if maps != [job.node: 4] { return "numa_maps N counts \(maps), expected node \(job.node) × 4" }
    return nil
}

check("threads: a team and parallel population on a rank never run outside the rank's binding") {
    let team = try Team()
    let allocator = try job.nodeAllocator(pageSize: .base, populate: .parallel(threads: Int.max))
    let buffer = try allocator.allocate(UInt8.self, count: 16 * megabyte)
    let allowed = Set(job.allowedCPUs)
    var outside: [String] = []
    guard let dir = opendir("/proc/self/task") else { return "cannot list /proc/self/task" }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        guard Int(name) != nil else { continue }
        let line = readLines("/proc/self/task/\(name)/status").first { $0.hasPrefix("Cpus_allowed_list:") } ?? ""
        let cpus = NodeSet(parsing: line.dropFirst("Cpus_allowed_list:".count)) ?? []
        if !Set(cpus).isSubset(of: allowed) { outside.append("thread \(name) on CPUs \(cpus)") }
    }
    withExtendedLifetime(team) {}
    _ = buffer.count
    return outside.isEmpty ? nil : "outside CPUs \(NodeSet(job.allowedCPUs)): " + outside.joined(separator: ", ")
}

check("concurrent reservations: every rank reserving 3 pages on its node at once adds up exactly and gives back exactly") {
    try job.barrier()
    let before = job.rank == 0 ? unrecordedPages() ?? -1 : 0
    let entriesBefore = ledgerEntries()
    try job.barrier()
    var reservation: HugePageReservation? = try HugePageReservation(.huge2MiB, count: 3, node: job.node)
    let granted = reservation?.granted ?? 0
    let entriesDuring = ledgerEntries()
    try job.barrier()
    let during = job.rank == 0 ? unrecordedPages() ?? -1 : 0
    try job.barrier()
    reservation = nil
    try job.barrier()
    let restored = job.rank == 0 ? unrecordedPages() ?? -1 : 0
    let entriesAfter = ledgerEntries()
    let totalGranted = try job.allReduce(granted, .sum)
    if job.rank == 0 {
        print(
            "mpi-check: 2 MiB pages no reservation accounts for: before \(before), with every rank's 3 pages \(during), "
                + "after release \(restored); granted \(totalGranted)")
        if totalGranted != 3 * job.size { return "granted \(totalGranted) for \(job.size) × 3 pages" }
        if during != before { return "unrecorded pages \(before) → \(during) with the ranks' pages (a lost or unrecorded update)" }
        if restored != before { return "unrecorded pages \(before) → \(restored) after every release" }
    }
    if entriesDuring != entriesBefore + (granted > 0 ? 1 : 0) { return "node \(job.node): the reservation left no ledger entry" }
    if entriesAfter != entriesBefore { return "node \(job.node): a ledger entry survived the release" }
    return nil
}

check("release: the node reservations are given back; the pool is as the job found it") {
    if let pages = nodePages.take() { try job.release(pages) }
    guard job.rank == 0 else { return nil }
    let now = unrecordedPages()
    return now == poolAtStart
        ? nil
        : "2 MiB pages no reservation accounts for: \(String(describing: poolAtStart)) at start, \(String(describing: now)) now"
}

check("gather: a text over the limit on one rank makes every rank throw at once (none waits in MPI_Gather)") {
    let text = job.rank == 0 ? String(repeating: "x", count: MPIJob.gatherTextLimit + 1) : "short"
    do throws(MPIError) {
        _ = try job.gather(text)
        return "gather of \(text.utf8.count) B did not throw"
    } catch {
        guard case .invalidArgument(let message) = error else { return "threw \(error)" }
        return message.contains("\(MPIJob.gatherTextLimit + 1) B") ? nil : "message: \(message)"
    }
}

check("bad input on one rank: reserveHugePages and gatherPlacement throw on every rank, nothing reserved") {
    let before = unrecordedPages()
    let entriesBefore = ledgerEntries()
    let last = job.size - 1
    var complaints: [String] = []
    do throws(MPIError) {
        _ = try job.reserveHugePages(.huge2MiB, bytesPerRank: job.rank == last ? -1 : 8 * megabyte)
        complaints.append("reserveHugePages with rank \(last) passing -1 did not throw")
    } catch {
        let own = "\(error)".contains("bytesPerRank is -1")
        let other = "\(error)".contains("other rank(s) refused")
        if job.rank == last ? !own : !other { complaints.append("reserveHugePages threw \(error)") }
    }
    let buffer = try SystemMemoryAllocator().allocate(UInt8.self, count: 4096)
    do throws(MPIError) {
        _ = try job.gatherPlacement(of: buffer, label: job.rank == 0 ? "tab\there" : "fine")
        complaints.append("gatherPlacement with a tab in rank 0's label did not throw")
    } catch {
        guard case .invalidArgument = error else { return "gatherPlacement threw \(error)" }
    }
    try job.barrier()
    let after = unrecordedPages()
    if after != before || ledgerEntries() != entriesBefore {
        complaints.append(
            "the 2 MiB pages no reservation accounts for changed: \(String(describing: before)) → \(String(describing: after)); "
                + "ledger entries of this rank \(entriesBefore) → \(ledgerEntries())")
    }
    return complaints.isEmpty ? nil : complaints.joined(separator: "; ")
}

if job.rank == 0 { print("mpi-check: \(passed) passed, \(failed) failed") }
let failures = (try? job.allReduce(failed, .max)) ?? 1
job.finalize()
exit(failures == 0 ? 0 : 1)
