/// A set of NUMA node numbers, ordered ascending when iterated.
///
/// Value type; thread-safe to share. Node numbers are the kernel's (`/sys/devices/system/node/nodeN`).
public struct NodeSet: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    private var nodes: [Int]

    /// The set of the given node numbers (duplicates collapse). Negative numbers trap: they are
    /// never node numbers, and allocators reject unknown nodes with a typed error before use.
    public init(_ nodes: some Sequence<Int>) {
        self.nodes = Array(Set(nodes)).sorted()
        precondition(self.nodes.first.map { $0 >= 0 } ?? true, "NodeSet: node numbers are never negative")
    }

    public init(arrayLiteral elements: Int...) { self.init(elements) }

    public var isEmpty: Bool { nodes.isEmpty }
    public var count: Int { nodes.count }
    public var first: Int? { nodes.first }
    public var max: Int? { nodes.last }
    public func contains(_ node: Int) -> Bool { nodes.contains(node) }
    public func makeIterator() -> IndexingIterator<[Int]> { nodes.makeIterator() }
    public var array: [Int] { nodes }

    /// "0-3,6" style, as in sysfs and numactl.
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

    /// Parses sysfs list syntax ("0-3,6"); nil on malformed text.
    public init?(parsing text: some StringProtocol) {
        var result: [Int] = []
        let trimmed = text.split(whereSeparator: { $0 == "\n" || $0 == " " }).joined()
        if trimmed.isEmpty { self.init([]); return }
        for part in trimmed.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let low = Int(bounds[0]), let high = Int(bounds.last!), low >= 0, low <= high
            else { return nil }
            result.append(contentsOf: low...high)
        }
        self.init(result)
    }
}
