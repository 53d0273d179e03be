import ZiggyKernel

/// Every way a ZiggyMmap operation can fail — mapping, huge pages, NUMA placement, thread
/// pinning, file mappings, reservations — with the request, the typed `errno` where the kernel
/// gave one, and a message that says what to do about it.
///
/// Thrown (typed) by ``MmapAllocator``, ``NumaAllocator``, ``FileMapping``,
/// ``HugePageReservation`` and ``Team``. Requests the core's typed API rejects before any
/// mapping is attempted (a negative count, an overflowing size, a bad alignment) arrive as
/// ``request(_:)``. When an allocation throws, nothing is left behind: no mapping, no lock, no
/// reservation, no statistics change.
public enum MmapError: Error, Hashable, CustomStringConvertible {
    /// The request itself is invalid (see ``AllocationError``).
    case request(AllocationError)
    /// The kernel had no memory for the request.
    case outOfMemory(byteCount: Int, backend: String, errno: Errno)
    /// A kernel call failed; `request` describes what was being attempted.
    case kernel(call: String, errno: Errno, request: String)
    /// Not enough free hugetlb pages; `detail` lists free pages per node and how to reserve more.
    case hugePagesUnavailable(PageSize, neededPages: Int, detail: String)
    /// This kernel or configuration cannot provide the page size at all.
    case unsupportedPageSize(PageSize, reason: String)
    /// A NUMA node that does not exist (or has no memory, or no CPUs where CPUs are needed) here.
    case unknownNode(Int, available: NodeSet)
    /// A policy that cannot be applied as given (an empty node set, for example).
    case invalidPolicy(NumaPolicy, reason: String)
    /// NUMA support is unavailable (the kernel lacks NUMA, or a policy mode).
    case numaUnavailable(String)
    /// `mlock` would exceed `RLIMIT_MEMLOCK` (or the process lacks `CAP_IPC_LOCK`).
    case memoryLockLimit(byteCount: Int, limit: Int, errno: Errno)
    /// A file to map does not exist or cannot be opened.
    case fileUnavailable(path: String, errno: Errno)
    /// A path that cannot be mapped as a data file: a FIFO, socket, device or directory, or a
    /// procfs/sysfs file whose size says nothing about its contents.
    case notMappable(path: String, reason: String)
    /// A file is shorter than the requested elements (or the offset) need.
    case fileTooShort(path: String, fileSize: Int, required: Int)
    /// A file's size is not a whole number of elements.
    case fileSizeNotMultiple(path: String, fileSize: Int, stride: Int)
    /// An argument outside its documented domain (the message names it and the valid range).
    case invalidArgument(String)

    /// The `errno` behind the failure, when there is one.
    public var errno: Errno? {
        switch self {
        case .request(let error): return error.errno
        case .outOfMemory(_, _, let e), .kernel(_, let e, _), .memoryLockLimit(_, _, let e), .fileUnavailable(_, let e):
            return e
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .request(error):
            return error.description
        case let .outOfMemory(bytes, backend, e):
            return "\(backend): out of memory allocating \(bytes) B (\(e.report))"
        case let .kernel(call, e, request):
            return "\(call) failed with \(e.report) while \(request)"
        case let .hugePagesUnavailable(size, needed, detail):
            return "\(size) pages: \(needed) needed, not enough free. \(detail)"
        case let .unsupportedPageSize(size, reason):
            return "\(size) pages are not supported here: \(reason)"
        case let .unknownNode(node, available):
            return
                "NUMA node \(node) does not exist here (nodes with memory: \(available.isEmpty ? "none" : available.description))"
        case let .invalidPolicy(policy, reason):
            return "NUMA policy \(policy) cannot be used: \(reason)"
        case let .numaUnavailable(reason):
            return "NUMA is unavailable: \(reason)"
        case let .memoryLockLimit(bytes, limit, e):
            let limitText = limit == Int.max ? "unlimited" : "\(limit) B"
            return "mlock of \(bytes) B failed with \(e.report): RLIMIT_MEMLOCK is \(limitText); "
                + "raise it (ulimit -l, or LimitMEMLOCK= in a systemd unit) or run with CAP_IPC_LOCK"
        case let .fileUnavailable(path, e):
            return "cannot open \(path): \(e.report)"
        case let .notMappable(path, reason):
            return "cannot map \(path): \(reason)"
        case let .fileTooShort(path, size, required):
            return "\(path) has \(size) B but \(required) B are needed"
        case let .fileSizeNotMultiple(path, size, stride):
            return "\(path) has \(size) B, not a whole number of \(stride)-byte elements"
        case let .invalidArgument(message):
            return message
        }
    }
}
