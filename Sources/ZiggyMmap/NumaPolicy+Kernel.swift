/// Translation between ``NumaPolicy`` and the kernel's `mbind`/`get_mempolicy` modes and masks.
extension NumaPolicy {
    static let MPOL_DEFAULT: Int32 = 0
    static let MPOL_PREFERRED: Int32 = 1
    static let MPOL_BIND: Int32 = 2
    static let MPOL_INTERLEAVE: Int32 = 3
    static let MPOL_LOCAL: Int32 = 4
    static let MPOL_PREFERRED_MANY: Int32 = 5
    static let MPOL_WEIGHTED_INTERLEAVE: Int32 = 6
    /// Mode flags get_mempolicy may OR into the mode.
    static let modeFlagsMask: Int32 = ~0xFF

    /// The mode and node-mask words to pass to `mbind`.
    var kernelArguments: (mode: Int32, mask: [UInt]) {
        switch self {
        case .default: return (Self.MPOL_DEFAULT, [])
        case .local: return (Self.MPOL_LOCAL, [])
        case .bind(let nodes): return (Self.MPOL_BIND, Self.mask(nodes))
        case .preferred(let node): return (Self.MPOL_PREFERRED, Self.mask([node]))
        case .preferredMany(let nodes): return (Self.MPOL_PREFERRED_MANY, Self.mask(nodes))
        case .interleave(let nodes): return (Self.MPOL_INTERLEAVE, Self.mask(nodes))
        case .weightedInterleave(let nodes): return (Self.MPOL_WEIGHTED_INTERLEAVE, Self.mask(nodes))
        }
    }

    /// The policy `get_mempolicy` reported; nil for modes this library does not know.
    init?(kernelMode rawMode: Int32, mask: [UInt]) {
        let nodes = NodeSet(Self.nodes(in: mask))
        switch rawMode & ~Self.modeFlagsMask {
        case Self.MPOL_DEFAULT: self = .default
        case Self.MPOL_LOCAL: self = .local
        case Self.MPOL_BIND: self = .bind(nodes)
        case Self.MPOL_PREFERRED: self = nodes.first.map { .preferred($0) } ?? .local
        case Self.MPOL_PREFERRED_MANY: self = .preferredMany(nodes)
        case Self.MPOL_INTERLEAVE: self = .interleave(nodes)
        case Self.MPOL_WEIGHTED_INTERLEAVE: self = .weightedInterleave(nodes)
        default: return nil
        }
    }

    static func mask(_ nodes: NodeSet) -> [UInt] {
        guard let highest = nodes.max else { return [] }
        var words = [UInt](repeating: 0, count: highest / UInt.bitWidth + 1)
        for node in nodes { words[node / UInt.bitWidth] |= 1 << UInt(node % UInt.bitWidth) }
        return words
    }

    static func nodes(in mask: [UInt]) -> [Int] {
        var nodes: [Int] = []
        for (index, word) in mask.enumerated() where word != 0 {
            for bit in 0..<UInt.bitWidth where word & (1 << UInt(bit)) != 0 { nodes.append(index * UInt.bitWidth + bit) }
        }
        return nodes
    }
}
