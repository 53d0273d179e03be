import ZiggyKernel

/// A NUMA memory policy: which nodes may back a buffer's pages (the kernel's `mbind` modes).
///
/// ``NumaAllocator`` checks it when it is made (every node must exist and have memory; sets that
/// must name nodes must not be empty) and applies it before first touch; a buffer's
/// ``MappingDetails/numaPolicy`` records the policy the kernel reports back, which may differ from
/// the request.
public enum NumaPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The process default (usually local allocation); nothing is set on the mapping.
    case `default`
    /// Allocate on the node of the CPU that first touches each page (`MPOL_LOCAL`).
    case local
    /// Only these nodes; allocation fails (or, for hugetlb, errors at populate) when they are full.
    case bind(NodeSet)
    /// This node first, others when it is full.
    case preferred(Int)
    /// These nodes first, others when they are full (`MPOL_PREFERRED_MANY`, Linux 5.15+).
    case preferredMany(NodeSet)
    /// Pages spread round-robin over these nodes.
    case interleave(NodeSet)
    /// Pages spread over these nodes in proportion to the kernel's per-node weights
    /// (`MPOL_WEIGHTED_INTERLEAVE`, Linux 6.9+).
    case weightedInterleave(NodeSet)

    /// The nodes the policy names (empty for `default` and `local`).
    public var nodes: NodeSet {
        switch self {
        case .default, .local: return []
        case .bind(let n), .preferredMany(let n), .interleave(let n), .weightedInterleave(let n): return n
        case .preferred(let node): return [node]
        }
    }

    /// Whether the policy must name at least one node.
    var needsNodes: Bool { self != .default && self != .local }

    public var description: String {
        switch self {
        case .default: return "default"
        case .local: return "local"
        case .bind(let n): return "bind(\(n))"
        case .preferred(let node): return "preferred(\(node))"
        case .preferredMany(let n): return "preferred-many(\(n))"
        case .interleave(let n): return "interleave(\(n))"
        case .weightedInterleave(let n): return "weighted-interleave(\(n))"
        }
    }
}

// Translation to and from the kernel's modes and node masks.
extension NumaPolicy {
    /// The mode and node-mask words to pass to `mbind`.
    var kernelArguments: (mode: Int32, mask: [UInt]) {
        switch self {
        case .default: return (KernelConstants.MPOL_DEFAULT, [])
        case .local: return (KernelConstants.MPOL_LOCAL, [])
        case .bind(let nodes): return (KernelConstants.MPOL_BIND, Self.mask(nodes))
        case .preferred(let node): return (KernelConstants.MPOL_PREFERRED, Self.mask([node]))
        case .preferredMany(let nodes): return (KernelConstants.MPOL_PREFERRED_MANY, Self.mask(nodes))
        case .interleave(let nodes): return (KernelConstants.MPOL_INTERLEAVE, Self.mask(nodes))
        case .weightedInterleave(let nodes): return (KernelConstants.MPOL_WEIGHTED_INTERLEAVE, Self.mask(nodes))
        }
    }

    /// The policy `get_mempolicy` reported; nil for modes this library does not know.
    init?(kernelMode rawMode: Int32, mask: [UInt]) {
        let nodes = NodeSet(Self.nodes(in: mask))
        switch rawMode & ~KernelConstants.MPOL_MODE_FLAGS {
        case KernelConstants.MPOL_DEFAULT: self = .default
        case KernelConstants.MPOL_LOCAL: self = .local
        case KernelConstants.MPOL_BIND: self = .bind(nodes)
        case KernelConstants.MPOL_PREFERRED: self = nodes.first.map { .preferred($0) } ?? .local
        case KernelConstants.MPOL_PREFERRED_MANY: self = .preferredMany(nodes)
        case KernelConstants.MPOL_INTERLEAVE: self = .interleave(nodes)
        case KernelConstants.MPOL_WEIGHTED_INTERLEAVE: self = .weightedInterleave(nodes)
        default: return nil
        }
    }

    /// Node-mask words for valid (non-negative) node numbers.
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
