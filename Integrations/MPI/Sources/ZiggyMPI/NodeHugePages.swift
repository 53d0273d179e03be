import CMPI
import ZiggyMmap

/// The huge pages the ranks of one node need, reserved once for all of them: the ranks of a node
/// sum their demand, the lowest of them grows the node's own pool (`/sys/devices/system/node/
/// nodeK/hugepages/…/nr_hugepages`, through ``HugePageReservation``, which is safe between
/// processes) by what the pool lacks, and the others wait for it. Made by
/// ``MPIJob/reserveHugePages(_:bytesPerRank:)``; given back by ``MPIJob/release(_:)`` or when the
/// reserving rank's value ends.
///
/// **Killed ranks.** A rank killed while it holds the reservation cannot give the pages back; the
/// reservation ledger records them, and the next ``MPIJob/reserveHugePages(_:bytesPerRank:)`` on
/// that host gives back every stale reservation before it reserves (``staleReleased`` says what).
public struct NodeHugePages: ~Copyable {
    /// The page size and node reserved on.
    public let pageSize: PageSize
    public let node: Int
    /// Pages the node's ranks asked for together, and the node's free pages before reserving.
    public let demand: Int
    public let freeBefore: Int
    /// Pages the node's pool grew by (the same on every rank of the node).
    public let added: Int
    /// Ranks sharing the node (this one included), and whether this rank reserved for them.
    public let ranksOnNode: Int
    public let isReserver: Bool
    /// Stale reservations (of killed processes) the reserver gave back first.
    public let staleReleased: [HugePageReservation.Stale]
    var reservation: HugePageReservation?

    /// Whether the node now has every page its ranks asked for.
    public var isComplete: Bool { freeBefore + added >= demand }
}

extension MPIJob {
    /// Reserves on every node the huge pages its ranks need (collective): `bytesPerRank` rounded up
    /// to whole pages, summed over the ranks of the node; the lowest rank of each node first gives
    /// back stale reservations, then grows the node's pool by what it lacks (nothing when the pool
    /// already holds enough, e.g. pages reserved at boot or by the job prolog). Needs root to grow a
    /// pool. Every rank throws ``MPIError/reservation(node:reason:)`` when any node's reservation
    /// failed (so no rank is left waiting in a later collective); a pool the kernel could grow only
    /// partly is not an error — ``NodeHugePages/isComplete`` says so, and a strict allocation then
    /// fails with a typed error, never a SIGBUS. A negative size or a page size without a pool on
    /// any rank makes every rank throw ``MPIError/invalidArgument(_:)``, before anything is reserved.
    public func reserveHugePages(_ pageSize: PageSize, bytesPerRank: Int) throws(MPIError) -> NodeHugePages {
        var problem: MPIError? = nil
        if bytesPerRank < 0 {
            problem = .invalidArgument("reserveHugePages: bytesPerRank is \(bytesPerRank); it must be 0 or more")
        } else if !pageSize.isHugeTLB {
            problem = .invalidArgument("reserveHugePages: \(pageSize) has no reserved pool; ask for .huge2MiB or .huge1GiB")
        }
        try agree(problem)
        let (quotient, remainder) = bytesPerRank.quotientAndRemainder(dividingBy: pageSize.byteCount)
        let pages = quotient + (remainder > 0 ? 1 : 0)
        let node = self.node
        var split: MPI_Comm? = nil
        try check(MPI_Comm_split(local, Int32(node), Int32(localRank), &split), "MPI_Comm_split(node \(node))")
        let nodeComm = split!
        defer { MPI_Comm_free(&split) }
        var nodeRank: Int32 = 0
        var nodeSize: Int32 = 0
        try check(MPI_Comm_rank(nodeComm, &nodeRank), "MPI_Comm_rank(node)")
        try check(MPI_Comm_size(nodeComm, &nodeSize), "MPI_Comm_size(node)")
        let demand = try allReduce(pages, .sum, over: nodeComm)

        var reservation: HugePageReservation? = nil
        var stale: [HugePageReservation.Stale] = []
        var outcome = [0, 0, 0]  // free before, added, failed
        var failure = ""
        if nodeRank == 0 {
            stale = HugePageReservation.releaseStale()
            let free = HugePageReservation.Pool.read(pageSize)?.nodes.first { $0.node == node }?.free ?? 0
            outcome[0] = free
            do {
                let made = try HugePageReservation(pageSize, count: max(0, demand - free), node: node)
                outcome[1] = made.granted
                reservation = consume made
            } catch {
                outcome[2] = 1
                failure =
                    "rank \(rank) could not add \(demand - free) \(pageSize) pages (\(demand) asked by "
                    + "\(nodeSize) rank(s), \(free) free): \(error)"
            }
        }
        outcome = try broadcast(outcome, from: 0, over: nodeComm)
        // Every rank learns whether any node failed, so all of them throw together.
        let failedNodes = try allReduce(outcome[2], .sum, over: world)
        if failedNodes > 0 {
            throw .reservation(
                node: node,
                reason: outcome[2] == 1
                    ? (nodeRank == 0 ? failure : "the reserver of node \(node) failed (its rank says why)")
                    : "\(failedNodes) other node(s) failed to reserve; this node's pages are given back")
        }
        try barrier()
        return NodeHugePages(
            pageSize: pageSize, node: node, demand: demand, freeBefore: outcome[0], added: outcome[1],
            ranksOnNode: Int(nodeSize), isReserver: nodeRank == 0, staleReleased: stale, reservation: reservation)
    }

    /// Gives a node's reserved pages back once every rank is done with its buffers (collective: a
    /// barrier, the reserver's release, a barrier).
    public func release(_ pages: consuming NodeHugePages) throws(MPIError) {
        try barrier()
        if let reservation = pages.reservation.take() { reservation.release() }
        try barrier()
    }
}
