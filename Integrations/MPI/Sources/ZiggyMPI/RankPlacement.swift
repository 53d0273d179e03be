import ZiggyMmap

/// One rank's row of the job's placement table: where the rank runs and where one of its buffers
/// really is — what the kernel reports (`move_pages` through ``UnmanagedBuffer/placement(elements:maximumSamples:)``),
/// never what was asked.
public struct RankPlacement: Sendable, Hashable {
    public let rank: Int
    public let host: String
    /// The node(s) the rank is bound to, and its CPUs ("2-3").
    public let nodes: NodeSet
    public let cpus: NodeSet
    /// What the row describes (the buffer's name).
    public let label: String
    /// The page size the buffer obtained, and the policy the kernel reports for it.
    public let pageSize: String
    public let policy: String
    /// The buffer's present pages per node.
    public let pagesPerNode: [Int: Int]

    /// "N0=4096 N1=0" style, ascending.
    public var pagesText: String {
        pagesPerNode.keys.sorted().map { "N\($0)=\(pagesPerNode[$0]!)" }.joined(separator: " ")
    }

    /// The rows as one table (a header line, then one line per row).
    public static func table(_ rows: [RankPlacement]) -> String {
        let header = ["rank", "host", "node", "CPUs", "buffer", "page size", "policy", "pages per node"]
        let cells = rows.map {
            ["\($0.rank)", $0.host, "\($0.nodes)", "\($0.cpus)", $0.label, $0.pageSize, $0.policy, $0.pagesText]
        }
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1) }.joined(separator: "  ").trimmedTrailing
        }
        return ([line(header)] + cells.map(line)).joined(separator: "\n")
    }

    /// Tab-separated for ``MPIJob/gather(_:)``; labels and hosts hold no tabs or newlines.
    var encoded: String {
        [
            "\(rank)", host, "\(nodes)", "\(cpus)", label, pageSize, policy,
            pagesPerNode.keys.sorted().map { "\($0):\(pagesPerNode[$0]!)" }.joined(separator: ","),
        ].joined(separator: "\t")
    }

    init(
        rank: Int, host: String, nodes: NodeSet, cpus: NodeSet, label: String, pageSize: String, policy: String,
        pagesPerNode: [Int: Int]
    ) {
        (self.rank, self.host, self.nodes, self.cpus) = (rank, host, nodes, cpus)
        (self.label, self.pageSize, self.policy, self.pagesPerNode) = (label, pageSize, policy, pagesPerNode)
    }

    init?(encoded text: String) {
        let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 8, let rank = Int(fields[0]), let nodes = NodeSet(parsing: fields[2]),
            let cpus = NodeSet(parsing: fields[3])
        else { return nil }
        var pages: [Int: Int] = [:]
        for pair in fields[7].split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let node = Int(parts[0]), let count = Int(parts[1]) else { return nil }
            pages[node] = count
        }
        self.init(
            rank: rank, host: fields[1], nodes: nodes, cpus: cpus, label: fields[4], pageSize: fields[5],
            policy: fields[6], pagesPerNode: pages)
    }
}

extension MPIJob {
    /// Every rank's row for its buffer `buffer` (collective): the rows, in rank order, on rank 0;
    /// empty on the others. Throws ``MPIError/placement(_:)`` when the kernel cannot say where the
    /// pages are, and ``MPIError/invalidArgument(_:)`` for a label with tabs or newlines — on every
    /// rank when any rank refuses, so none is left waiting in the gather.
    public func gatherPlacement<Element>(
        of buffer: borrowing UnmanagedBuffer<Element>, label: String
    ) throws(MPIError) -> [RankPlacement] {
        // Checked on every rank before the gather; a refusal on one rank makes all of them throw.
        var row: RankPlacement? = nil
        var problem: MPIError? = nil
        if label.contains(where: { $0 == "\t" || $0 == "\n" }) {
            problem = .invalidArgument("gatherPlacement: the label \(label.debugDescription) holds a tab or newline")
        } else {
            do { row = try placementRow(of: buffer, label: label) } catch { problem = .placement(error) }
        }
        try agree(problem)
        let texts = try gather(row!.encoded)
        return texts.compactMap(RankPlacement.init(encoded:))
    }

    /// This rank's row for `buffer`, as the kernel reports its pages.
    private func placementRow<Element>(
        of buffer: borrowing UnmanagedBuffer<Element>, label: String
    ) throws(MmapError) -> RankPlacement {
        let report = try buffer.placement()
        let backing = buffer.backing
        return RankPlacement(
            rank: rank, host: host.replacing("\t", with: " "), nodes: binding.nodes, cpus: NodeSet(allowedCPUs),
            label: label,
            pageSize: "\(backing.mapping?.obtainedPageSize ?? .base)"
                + (backing.mapping?.fallbackReason != nil ? " (fell back)" : ""),
            policy: backing.mapping?.numaPolicy.map { "\($0)" + (backing.mapping?.isPolicyInherited == true ? " (inherited)" : "") }
                ?? "none",
            pagesPerNode: report.pagesPerNode)
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
    fileprivate var trimmedTrailing: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
