import Glibc

/// Huge pages added to the kernel's hugetlb pool for as long as this value lives; the pool goes
/// back to its previous size when it ends (or on ``release()``).
///
/// Needs root (or write access to sysfs). Reservations compose: each adds pages to the current
/// pool size and removes exactly those it added, under a process-wide lock, so nested or
/// concurrent reservations restore the original size once all have ended. The kernel may grant
/// fewer pages than asked (memory fragmentation, especially for 1 GiB pages): ``granted`` says how
/// many it did.
public struct HugePageReservation: ~Copyable {
    public let pageSize: PageSize
    /// The NUMA node reserved on (nil: the kernel spreads them over nodes).
    public let node: Int?
    /// Pages asked for.
    public let requested: Int
    /// Pages the pool grew by.
    public let granted: Int
    private var active: Bool

    private static let lock = Locked<Void>(())

    /// Grows the `pageSize` pool (on `node`, or wherever the kernel chooses) so that at least
    /// `count` more pages are available than now.
    ///
    /// Throws ``AllocationError/unsupportedPageSize(_:reason:)`` when the kernel lacks the size and
    /// ``AllocationError/kernel(call:errno:request:)`` when the pool cannot be written (not root).
    public init(_ pageSize: PageSize, count: Int, node: Int? = nil) throws(AllocationError) {
        self.granted = try HugePageReservation.grow(pageSize, node: node, by: count)
        self.pageSize = pageSize
        self.node = node
        self.requested = count
        active = granted > 0
    }

    private static func grow(_ pageSize: PageSize, node: Int?, by count: Int) throws(AllocationError) -> Int {
        guard count >= 0 else { throw .invalidArgument("HugePageReservation: negative page count \(count)") }
        guard let path = path(pageSize, node: node) else {
            throw .unsupportedPageSize(pageSize, reason: unsupportedReason(pageSize, node: node))
        }
        let result: Result<Int, AllocationError> = lock.withLock { _ in
            guard let before = Kernel.readInt(path) else {
                return .failure(.unsupportedPageSize(pageSize, reason: "\(path) is unreadable"))
            }
            if count == 0 { return .success(0) }
            if case .failure(let error) = Kernel.writeText(path, "\(before + count)") {
                return .failure(.kernel(call: "write \(path)", errno: error.code,
                                        request: "reserving \(count) \(pageSize) pages (needs root)"))
            }
            let after = Kernel.readInt(path) ?? before
            return .success(max(0, after - before))
        }
        return try result.get()
    }

    deinit {
        if active { HugePageReservation.shrink(pageSize, node: node, by: granted) }
    }

    /// Gives the pages back now.
    public consuming func release() {
        if active { HugePageReservation.shrink(pageSize, node: node, by: granted) }
        active = false
    }

    /// Whether every requested page was granted.
    public var isComplete: Bool { granted >= requested }

    private static func path(_ size: PageSize, node: Int?) -> String? {
        let path = node.map { HugePagePool.nodePath(size, node: $0, "nr_hugepages") }
            ?? HugePagePool.globalPath(size, "nr_hugepages")
        guard let path, Kernel.readInt(path) != nil else { return nil }
        return path
    }

    private static func unsupportedReason(_ size: PageSize, node: Int?) -> String {
        if !size.isHugeTLB { return "only hugetlb sizes (2 MiB, 1 GiB) have a reserved pool" }
        if let node { return "node \(node) has no \(size) pool in sysfs" }
        return "the kernel offers no \(size) pool (no \(HugePagePool.directoryName(size) ?? "?") in /sys/kernel/mm/hugepages)"
    }

    private static func shrink(_ size: PageSize, node: Int?, by pages: Int) {
        lock.withLock { _ in
            guard let path = path(size, node: node), let now = Kernel.readInt(path) else { return }
            _ = Kernel.writeText(path, "\(max(0, now - pages))")
        }
    }
}
