/// A NUMA memory policy: which nodes may back a buffer's pages (the kernel's `mbind` modes).
///
/// ZiggyMmap's `NumaAllocator` applies it before first touch; a buffer's ``BufferBacking``
/// records the policy the kernel accepted, which may differ from the request (for example
/// `.preferredMany` on a kernel without `MPOL_PREFERRED_MANY`, if a fallback was allowed).
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
