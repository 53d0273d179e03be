extension Team {
    /// Where each block of a team's grid is, per node, as the kernel reports it
    /// (``Team/placement(of:)``): the proof that first touch followed the blocks.
    public struct BlockPlacement: Sendable, Hashable, CustomStringConvertible {
        /// The blocks, ascending.
        public let blocks: [Block]
        /// The kernel's account of each block's pages, in the order of ``blocks``.
        public let reports: [PlacementReport]

        /// Whether every non-empty block has all its pages present and on its own node.
        public var isOnBlockNodes: Bool {
            zip(blocks, reports).allSatisfy { block, report in
                block.indices.isEmpty || (report.notPresent == 0 && report.nodes == NodeSet([block.node]))
            }
        }

        public var description: String {
            zip(blocks, reports).map { block, report in
                let verdict =
                    block.indices.isEmpty
                    ? "empty"
                    : report.notPresent == 0 && report.nodes == NodeSet([block.node])
                        ? "on node \(block.node)" : "NOT on node \(block.node)"
                return "\(block): \(report) → \(verdict)"
            }.joined(separator: "\n")
        }
    }
}
