/// A set of NUMA node numbers, ordered ascending when iterated.
///
/// Value type; thread-safe to share. Node numbers are the kernel's (`/sys/devices/system/node/nodeN`).
public struct NodeSet: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    private var nodes: [Int]

    /// The set of the given node numbers (duplicates collapse). Any integer is accepted, so that
    /// building a set never traps; every entry point that uses one checks it and throws
    /// ``MmapError/unknownNode(_:available:)`` for a number that is not a node here (negative ones
    /// included) and ``MmapError/invalidPolicy(_:reason:)`` for an empty set where nodes are needed.
    public init(_ nodes: some Sequence<Int>) {
        self.nodes = Array(Set(nodes)).sorted()
    }

    public init(arrayLiteral elements: Int...) { self.init(elements) }

    public var isEmpty: Bool { nodes.isEmpty }
    public var count: Int { nodes.count }
    /// The smallest node (public as Sequence's `min()`).
    package var first: Int? { nodes.first }
    /// The largest node (public as Sequence's `max()`).
    package var max: Int? { nodes.last }
    public func makeIterator() -> IndexingIterator<[Int]> { nodes.makeIterator() }
    /// The nodes, ascending (public as `Array(set)`).
    package var array: [Int] { nodes }
    /// Whether every node of `self` is in `other`.
    public func isSubset(of other: NodeSet) -> Bool { nodes.allSatisfy(other.contains) }
    /// The nodes in both sets.
    public func intersection(_ other: NodeSet) -> NodeSet { NodeSet(nodes.filter(other.contains)) }

    /// "0-3,6" style, as in sysfs and numactl ("none" for the empty set would be ambiguous with a
    /// node list; it prints as the empty string).
    public var description: String {
        var parts: [String] = []
        var index = 0
        while index < nodes.count {
            var end = index
            while end + 1 < nodes.count && nodes[end + 1] == nodes[end] + 1 { end += 1 }
            parts.append(end == index ? "\(nodes[index])" : "\(nodes[index])-\(nodes[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// The most numbers one parsed range may name (the kernel's node and CPU limits are far
    /// below it): bounds the memory a hostile range such as "0-9223372036854775807" could ask for.
    package static let maximumParsedRange = 1 << 16

    /// Parses sysfs list syntax ("0-3,6"); nil on malformed text or a range of more than
    /// 65 536 numbers (the kernel's node and CPU limits are far below it: the bound keeps a hostile
    /// range such as "0-9223372036854775807" from asking for unbounded memory).
    public init?(parsing text: some StringProtocol) {
        var result: [Int] = []
        let trimmed = text.split(whereSeparator: { $0 == "\n" || $0 == " " }).joined()
        if trimmed.isEmpty { self.init([]); return }
        for part in trimmed.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                let low = Int(bounds[0]), let high = Int(bounds.last!), low >= 0, low <= high,
                high - low < NodeSet.maximumParsedRange
            else { return nil }
            result.append(contentsOf: low...high)
        }
        self.init(result)
    }
}
