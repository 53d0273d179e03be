import ZiggyKernel

/// Huge pages added to the kernel's hugetlb pool for as long as this value lives; the pool gives
/// back exactly the pages this value added when it ends (or on ``release()``).
///
/// **Safe between processes.** Growing and shrinking the pool are read-modify-writes of a sysfs
/// counter; every reservation does them — and writes or removes its ledger entry — holding the
/// machine-wide **hugetlb pool lock**: an exclusive `flock` on
/// `/sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages` of every hugetlb size, smallest
/// first (also for per-node reservations). `ziggy-bench`, the test suite and any other cooperating
/// tool take the same lock: for their own changes, and for any span over which they need the pools
/// to stay as they are (`Docs/Guarantees.md`, "Huge page reservations"). A reservation only ever
/// adds or subtracts its own pages, never writes back an old absolute value. So concurrent and
/// nested reservations restore the original size once all have ended, with other holders' pages
/// in place.
///
/// **Killed holders.** A process killed by a signal it cannot catch (SIGKILL, the OOM killer)
/// cannot give its pages back. Every reservation therefore records what it added in a small
/// ledger file (`/run/ziggyalloc/`, or `/tmp/ziggyalloc/` when `/run` is not writable; both
/// vanish at boot, as the pool does). ``releaseStale()`` gives back the pages of holders that no
/// longer run — `ziggy-bench --release-stale` calls it.
///
/// Needs root (or write access to sysfs). The kernel may grant fewer pages than asked (memory
/// fragmentation, especially for 1 GiB pages): ``granted`` says how many it did. A request for
/// more memory than the machine has available is refused before the kernel is asked.
public struct HugePageReservation: ~Copyable {
    public let pageSize: PageSize
    /// The NUMA node reserved on (nil: the kernel spreads them over the nodes).
    public let node: Int?
    /// Pages asked for.
    public let requested: Int
    /// Pages the pool grew by.
    public let granted: Int
    /// The sysfs counter grown.
    private let counterPath: String
    /// This reservation's ledger entry (nil when nothing was granted).
    private let ledgerEntry: String?
    private var active: Bool

    /// Grows the `pageSize` pool (on `node`, or wherever the kernel chooses) by `count` pages.
    ///
    /// Throws ``MmapError/unknownNode(_:available:)`` for a node that does not exist,
    /// ``MmapError/unsupportedPageSize(_:reason:)`` when the kernel lacks the size (or the node its
    /// pool), ``MmapError/invalidArgument(_:)`` for a negative count or more than the
    /// available memory holds, and ``MmapError/kernel(call:errno:request:)`` when the pool cannot
    /// be written (not root).
    public init(_ pageSize: PageSize, count: Int, node: Int? = nil) throws(MmapError) {
        guard count >= 0 else { throw .invalidArgument("HugePageReservation: negative page count \(count)") }
        if let node { try NumaTopology.current().validate([node]) }
        guard let path = Self.counterPath(pageSize, node: node) else {
            throw .unsupportedPageSize(pageSize, reason: Self.unsupportedReason(pageSize, node: node))
        }
        let available = Self.availableMemory()
        guard count <= available / pageSize.byteCount else {
            throw .invalidArgument(
                "HugePageReservation: \(count) × \(pageSize) pages is more than the "
                    + "\(available >> 20) MiB of memory available (MemAvailable); ask for at most "
                    + "\(available / pageSize.byteCount)")
        }
        let (granted, entry) = try ReservationLedger.withLock { () throws(MmapError) -> (Int, String?) in
            guard let before = Kernel.readInt(path) else {
                throw .unsupportedPageSize(pageSize, reason: "\(path) is unreadable")
            }
            if count == 0 { return (0, nil) }
            if case .failure(let error) = Kernel.writeText(path, "\(before + count)") {
                throw .kernel(call: "write \(path)", errno: error, request: Self.writeRefusal(count, pageSize, node: node, error))
            }
            let added = max(0, (Kernel.readInt(path) ?? before) - before)
            return (added, added > 0 ? ReservationLedger.record(counter: path, pages: added) : nil)
        }
        self.pageSize = pageSize
        self.node = node
        self.requested = count
        self.granted = granted
        self.counterPath = path
        self.ledgerEntry = entry
        active = granted > 0
    }

    deinit {
        if active { Self.giveBack(granted, counter: counterPath, entry: ledgerEntry) }
    }

    /// Gives the pages back now.
    public consuming func release() {
        if active { Self.giveBack(granted, counter: counterPath, entry: ledgerEntry) }
        active = false
    }

    /// Whether every requested page was granted (public as `granted >= requested`).
    package var isComplete: Bool { granted >= requested }

    /// Gives back the pages of reservations whose processes no longer run (killed before they
    /// could), and returns what was given back. Needs root, like reserving.
    @discardableResult
    public static func releaseStale() -> [HugePageReservation.Stale] {
        ReservationLedger.staleEntries().filter { entry in
            (try? ReservationLedger.withLock { () throws(MmapError) -> Bool in
                // Checked again under the lock: its owner may have given it back meanwhile.
                guard case .success = Kernel.removeFile(entry.ledgerPath) else { return false }
                subtract(entry.pages, from: entry.counterPath)
                return true
            }) ?? false
        }
    }

    private static func giveBack(_ pages: Int, counter: String, entry: String?) {
        _ = try? ReservationLedger.withLock { () throws(MmapError) in
            subtract(pages, from: counter)
            if let entry { _ = Kernel.removeFile(entry) }
        }
    }

    /// Lowers the counter by `pages` (not below 0). Pages still in use become surplus pages,
    /// which the kernel frees when they are unmapped.
    private static func subtract(_ pages: Int, from counter: String) {
        guard let now = Kernel.readInt(counter) else { return }
        _ = Kernel.writeText(counter, "\(max(0, now - pages))")
    }

    private static func counterPath(_ size: PageSize, node: Int?) -> String? {
        let path =
            node.map { HugePageReservation.Pool.nodePath(size, node: $0, "nr_hugepages") }
            ?? HugePageReservation.Pool.globalPath(size, "nr_hugepages")
        guard let path, Kernel.readInt(path) != nil else { return nil }
        return path
    }

    private static func unsupportedReason(_ size: PageSize, node: Int?) -> String {
        if !size.isHugeTLB { return "only hugetlb sizes (2 MiB, 1 GiB) have a reserved pool" }
        if let node { return "node \(node) has no \(size) pool in sysfs" }
        return
            "the kernel offers no \(size) pool (no \(HugePageReservation.Pool.directoryName(size) ?? "?") in /sys/kernel/mm/hugepages)"
    }

    /// What a refused write of the pool means, and how to get the pages some other way.
    private static func writeRefusal(_ count: Int, _ size: PageSize, node: Int?, _ error: Errno) -> String {
        let what = "reserving \(count) \(size) pages"
        guard error == .permissionDenied || error == .notPermitted || error == .readOnlyFileSystem else { return what }
        let boot = size == .huge1GiB ? "hugepagesz=1G hugepages=N" : "hugepagesz=2M hugepages=N"
        return "\(what): only root may write the pool (needs root); run as root, or have the pages reserved "
            + "at boot (kernel command line \(boot)\(node.map { ", or hugepages=\($0):N for node \($0)" } ?? ""))"
            + (size == .huge1GiB ? "" : " or by vm.nr_hugepages in /etc/sysctl.conf")
    }

    /// `MemAvailable` in bytes (0 when unreadable, which refuses every request but an empty one).
    private static func availableMemory() -> Int {
        Kernel.readText("/proc/meminfo").flatMap { Kernel.meminfoBytes($0, "MemAvailable") } ?? 0
    }
}

extension HugePageReservation {
    /// A reservation of a process that ended without giving its pages back.
    public struct Stale: Sendable, Hashable, CustomStringConvertible {
        /// The process that made it.
        public let processID: Int32
        /// The sysfs counter it grew, and by how many pages.
        public let counterPath: String
        public let pages: Int
        let ledgerPath: String

        public var description: String { "\(pages) pages of \(counterPath) reserved by process \(processID)" }
    }
}

/// The machine-wide record of who reserved which huge pages: one small file per live reservation,
/// named after the process (pid and start time), and the lock that orders every change.
package enum ReservationLedger {
    /// The directory of the ledger: `$ZIGGY_RESERVATION_DIR`, `/run/ziggyalloc`, or
    /// `/tmp/ziggyalloc` when `/run` is not writable.
    static let directory: String = {
        if let custom = Kernel.environment("ZIGGY_RESERVATION_DIR") {
            _ = Kernel.makeDirectory(custom)
            return custom
        }
        for candidate in ["/run/ziggyalloc", "/tmp/ziggyalloc"] {
            if case .success = Kernel.makeDirectory(candidate), Kernel.isWritable(candidate) { return candidate }
        }
        return "/tmp"
    }()

    private static let sequence = Locked(0)

    /// Runs `body` holding the machine-wide hugetlb pool lock (``HugePagePoolLock``): every change
    /// to a pool and to the ledger is made under it.
    static func withLock<R>(_ body: () throws(MmapError) -> R) throws(MmapError) -> R {
        try HugePagePoolLock.withLock(
            onFailure: { failure in
                .kernel(call: failure.call, errno: failure.errno, request: "taking the hugetlb pool lock (\(failure.path))")
            }, body)
    }

    /// Records that this process added `pages` to `counter`; returns the entry's path (nil when
    /// it could not be written — the reservation still holds, it is only not recoverable). Tools
    /// that reserve by other means (ziggy-bench's signal-safe C code) record here too, and remove
    /// the entry when they give the pages back.
    package static func record(counter: String, pages: Int) -> String? {
        let me = Kernel.processIdentity
        let number = sequence.withLock { value in
            value += 1
            return value
        }
        let path = "\(directory)/hugepages-\(me.pid)-\(me.startTime)-\(number)"
        guard case .success = Kernel.writeFile(path, "\(counter)\n\(pages)\n") else { return nil }
        return path
    }

    /// Every entry of the ledger, live or stale: who reserved how many pages of which counter.
    /// Read it holding the pool lock to see it agree with the pools.
    package static func entries() -> [HugePageReservation.Stale] {
        Kernel.listDirectory(directory).compactMap { name -> HugePageReservation.Stale? in
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "hugepages", let pid = Int32(parts[1]) else { return nil }
            let path = "\(directory)/\(name)"
            let lines = (Kernel.readText(path) ?? "").split(separator: "\n")
            guard lines.count == 2, let pages = Int(lines[1]) else { return nil }
            return HugePageReservation.Stale(processID: pid, counterPath: String(lines[0]), pages: pages, ledgerPath: path)
        }
    }

    /// The pages of `size` no ledger entry accounts for: the global `nr_hugepages` minus every
    /// entry's pages of that size (global and per-node counters). Reservations that follow the
    /// protocol change both together, so — read holding the pool lock — it stays the same however
    /// many of them come and go, and a change is something else (a lost update, a writer outside
    /// the protocol). nil without that pool.
    package static func unrecordedPages(_ size: PageSize) -> Int? {
        guard let name = HugePageReservation.Pool.directoryName(size),
            let total = HugePageReservation.Pool.globalPath(size, "nr_hugepages").flatMap(Kernel.readInt)
        else { return nil }
        return total - entries().filter { $0.counterPath.contains("/\(name)/") }.reduce(0) { $0 + $1.pages }
    }

    /// Entries whose process is gone (or whose pid now belongs to another process).
    static func staleEntries() -> [HugePageReservation.Stale] {
        Kernel.listDirectory(directory).compactMap { name -> HugePageReservation.Stale? in
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "hugepages", let pid = Int32(parts[1]), let start = UInt64(parts[2])
            else { return nil }
            if Kernel.processStartTime(pid) == start { return nil }
            let path = "\(directory)/\(name)"
            let lines = (Kernel.readText(path) ?? "").split(separator: "\n")
            guard lines.count == 2, let pages = Int(lines[1]) else { return nil }
            return HugePageReservation.Stale(processID: pid, counterPath: String(lines[0]), pages: pages, ledgerPath: path)
        }
    }
}
