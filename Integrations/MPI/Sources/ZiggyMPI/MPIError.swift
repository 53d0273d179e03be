import ZiggyMmap

/// Why an MPI integration call failed. Every case names what was asked and how to fix it.
public enum MPIError: Error, Sendable, CustomStringConvertible {
    /// An MPI call returned an error code (with MPI's own text for it).
    case call(String, code: Int32, message: String)
    /// The library refused the placement (a node, page size or policy; see ``MmapError``).
    case placement(MmapError)
    /// The huge pages a node's ranks need could not be reserved there (the reason names the node,
    /// the pages and, for the ranks that did not reserve, which rank did).
    case reservation(node: Int, reason: String)
    /// A bad argument (a negative size, a label too long to gather).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .call(call, code, message): return "\(call) failed with MPI error \(code): \(message)"
        case let .placement(error): return "placement: \(error)"
        case let .reservation(node, reason): return "reserving huge pages on node \(node): \(reason)"
        case let .invalidArgument(message): return message
        }
    }
}
