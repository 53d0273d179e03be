/// How a mapped buffer's pages are faulted in before it is handed out.
public enum PopulateMode: Hashable, Sendable, CustomStringConvertible {
    /// Lazily, by whoever touches each page first.
    case none
    /// By the kernel in the allocating thread (`MADV_POPULATE_WRITE`, or `MAP_POPULATE` where that
    /// is unavailable). A page shortage becomes a thrown error instead of a later SIGBUS.
    case kernel
    /// By `threads` threads each populating a contiguous share; for NUMA buffers the threads run
    /// on the CPUs of the buffer's node(s). The fastest way to fault in gigabytes.
    case parallel(threads: Int)

    public var description: String {
        switch self {
        case .none: return "lazy"
        case .kernel: return "kernel"
        case .parallel(let threads): return "parallel(\(threads))"
        }
    }
}
