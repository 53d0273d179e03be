/// How a mapped buffer's pages are faulted in before it is handed out.
public enum PopulateMode: Hashable, Sendable, CustomStringConvertible {
    /// Lazily, by whoever touches each page first.
    case none
    /// By the kernel in the allocating thread (`MADV_POPULATE_WRITE`, Linux 5.14+). A page
    /// shortage becomes a thrown error instead of a later SIGBUS.
    case kernel
    /// By `threads` threads each populating a contiguous share with `MADV_POPULATE_WRITE`; for NUMA
    /// buffers the threads run on the CPUs of the buffer's node(s) that this thread may use. The
    /// fastest way to fault in gigabytes.
    ///
    /// The rule for thread counts, everywhere in ZiggyMmap: a count below 1 is an
    /// ``MmapError/invalidArgument(_:)`` (thrown by the allocation); a count above the CPUs this
    /// thread may run on, or above the pages to populate, is lowered to that (the report says how
    /// many threads ran).
    case parallel(threads: Int)

    public var description: String {
        switch self {
        case .none: return "lazy"
        case .kernel: return "kernel"
        case .parallel(let threads): return "parallel(\(threads))"
        }
    }
}
