import ZiggyKernel

@_exported import struct SystemPackage.Errno

/// Every way a core allocation or buffer operation can fail, with the request, the `errno` where
/// libc gave one, and a message that says what to do about it.
///
/// Thrown (typed) by ``SystemMemoryAllocator``, ``ScopedAllocator`` and buffer operations, and
/// carried inside other backends' errors for requests the typed API rejects before any backend
/// sees them (ZiggyMmap's `MmapError.request`). When an allocation throws, nothing is left behind:
/// no memory, no statistics change.
public enum AllocationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A negative element count.
    case negativeCount(Int, element: String)
    /// `count * stride` does not fit in `Int`.
    case sizeOverflow(count: Int, stride: Int, element: String)
    /// More bytes than a process can address on this architecture.
    case exceedsAddressSpace(byteCount: Int, limit: Int)
    /// An alignment that is not a power of two, is below the element's own, or is too large.
    case invalidAlignment(Int, minimum: Int, maximum: Int, element: String)
    /// An element type that is not trivially copyable (it holds references or has a non-trivial
    /// copy), so unmanaged memory cannot hold it; see ``TrivialElement``.
    case nonTrivialElement(String)
    /// The backend had no memory for the request; `errno` is libc's answer when it gave one (the
    /// only case that carries one: match `.outOfMemory(_, _, let errno?)` to read it).
    case outOfMemory(byteCount: Int, backend: String, errno: Errno?)
    /// A copy between buffers or spans of different counts.
    case countMismatch(destination: Int, source: Int)
    /// An argument outside its documented domain (the message names it).
    case invalidArgument(String)

    /// The `errno` behind the failure, when there is one (for ZiggyMmap's `MmapError.errno`).
    package var errno: Errno? {
        if case .outOfMemory(_, _, let e) = self { return e }
        return nil
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
        case let .nonTrivialElement(element):
            return "\(element) cannot live in unmanaged memory: it is not trivially copyable (it holds references "
                + "or has a non-trivial copy); use a struct of numbers, or a Swift array"
        case let .outOfMemory(bytes, backend, e):
            return "\(backend): out of memory allocating \(bytes) B" + (e.map { " (\($0.report))" } ?? "")
        case let .countMismatch(destination, source):
            return "cannot copy \(source) elements into a buffer of \(destination): the counts differ"
        case let .invalidArgument(message):
            return message
        }
    }
}
