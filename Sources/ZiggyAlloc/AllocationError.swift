import Glibc

/// Every way an allocation or a buffer operation can fail, with the request, the `errno` where
/// the kernel or libc gave one, and a message that says what to do about it.
///
/// Thrown (typed) by every allocator in ZiggyAlloc and ZiggyMmap. When an allocation throws,
/// nothing is left behind: no memory, no mapping, no lock, no statistics change.
public enum AllocationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A negative element count.
    case negativeCount(Int, element: String)
    /// `count * stride` does not fit in `Int`.
    case sizeOverflow(count: Int, stride: Int, element: String)
    /// More bytes than a process can address on this architecture.
    case exceedsAddressSpace(byteCount: Int, limit: Int)
    /// An alignment that is not a power of two, is below the element's own, or is too large.
    case invalidAlignment(Int, minimum: Int, maximum: Int, element: String)
    /// The backend had no memory for the request.
    case outOfMemory(byteCount: Int, backend: String, errno: Int32)
    /// A copy between buffers or spans of different counts.
    case countMismatch(destination: Int, source: Int)
    /// A kernel call failed; `request` describes what was being attempted.
    case kernel(call: String, errno: Int32, request: String)
    /// Not enough free hugetlb pages; `detail` lists free pages per node and how to reserve more.
    case hugePagesUnavailable(PageSize, neededPages: Int, detail: String)
    /// This kernel or configuration cannot provide the page size at all.
    case unsupportedPageSize(PageSize, reason: String)
    /// A NUMA node that does not exist (or has no memory) on this host.
    case unknownNode(Int, available: NodeSet)
    /// NUMA support is unavailable (libnuma reports no NUMA, or the kernel lacks a mode).
    case numaUnavailable(String)
    /// `mlock` would exceed `RLIMIT_MEMLOCK` (or the process lacks `CAP_IPC_LOCK`).
    case memoryLockLimit(byteCount: Int, limit: Int, errno: Int32)
    /// A file to map does not exist or cannot be opened.
    case fileUnavailable(path: String, errno: Int32)
    /// A file is shorter than the requested elements need.
    case fileTooShort(path: String, fileSize: Int, required: Int)
    /// A file's size is not a whole number of elements.
    case fileSizeNotMultiple(path: String, fileSize: Int, stride: Int)
    /// An argument outside its documented domain (the message names it).
    case invalidArgument(String)

    /// The `errno` behind the failure, when there is one.
    public var errno: Int32? {
        switch self {
        case .outOfMemory(_, _, let e), .kernel(_, let e, _), .memoryLockLimit(_, _, let e), .fileUnavailable(_, let e):
            return e
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .negativeCount(count, element):
            return "cannot allocate \(count) elements of \(element): the count is negative"
        case let .sizeOverflow(count, stride, element):
            return "cannot allocate \(count) elements of \(element) (stride \(stride) B): the byte size overflows Int"
        case let .exceedsAddressSpace(bytes, limit):
            return "cannot allocate \(bytes) B: more than the \(limit >> 40) TiB a process can address here"
        case let .invalidAlignment(alignment, minimum, maximum, element):
            return "invalid alignment \(alignment) for \(element): it must be a power of two from \(minimum) "
                + "(the element's own alignment) to \(maximum)"
        case let .outOfMemory(bytes, backend, e):
            return "\(backend): out of memory allocating \(bytes) B (\(Self.errnoName(e)))"
        case let .countMismatch(destination, source):
            return "cannot copy \(source) elements into a buffer of \(destination): the counts differ"
        case let .kernel(call, e, request):
            return "\(call) failed with \(Self.errnoName(e)) while \(request)"
        case let .hugePagesUnavailable(size, needed, detail):
            return "\(size) pages: \(needed) needed, not enough free. \(detail)"
        case let .unsupportedPageSize(size, reason):
            return "\(size) pages are not supported here: \(reason)"
        case let .unknownNode(node, available):
            return "NUMA node \(node) does not exist here (nodes with memory: \(available.isEmpty ? "none" : available.description))"
        case let .numaUnavailable(reason):
            return "NUMA is unavailable: \(reason)"
        case let .memoryLockLimit(bytes, limit, e):
            let limitText = limit == Int.max ? "unlimited" : "\(limit) B"
            return "mlock of \(bytes) B failed with \(Self.errnoName(e)): RLIMIT_MEMLOCK is \(limitText); "
                + "raise it (ulimit -l, or LimitMEMLOCK= in a systemd unit) or run with CAP_IPC_LOCK"
        case let .fileUnavailable(path, e):
            return "cannot open \(path): \(Self.errnoName(e))"
        case let .fileTooShort(path, size, required):
            return "\(path) has \(size) B but \(required) B are needed"
        case let .fileSizeNotMultiple(path, size, stride):
            return "\(path) has \(size) B, not a whole number of \(stride)-byte elements"
        case let .invalidArgument(message):
            return message
        }
    }

    /// "ENOMEM (Cannot allocate memory)".
    public static func errnoName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF", EAGAIN: "EAGAIN",
            ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST",
            ENODEV: "ENODEV", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", EFBIG: "EFBIG",
            ENOSPC: "ENOSPC", ERANGE: "ERANGE", ENOSYS: "ENOSYS", EOVERFLOW: "EOVERFLOW", ENOTSUP: "ENOTSUP",
            EISDIR: "EISDIR", ESRCH: "ESRCH", ENXIO: "ENXIO", EHWPOISON: "EHWPOISON",
        ]
        let text = String(cString: strerror(code))
        return "\(names[code] ?? "errno \(code)") (\(text))"
    }
}
