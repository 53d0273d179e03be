@_spi(AllocatorImplementation) import ZiggyAlloc

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension UnmanagedBuffer {
    /// Whether `Data(moving:)` can take this buffer's memory without copying:
    /// the buffer owns its memory, and that memory lives until the buffer releases it (not arena
    /// memory, which its scope reclaims whatever a `Data` still points at).
    public var movesIntoDataWithoutCopy: Bool {
        !isEmpty && backing.isOwning && backing.backend != .scoped
    }
}

extension Data {
    /// A `Data` holding `buffer`'s bytes: the buffer's memory itself when
    /// ``ZiggyAlloc/UnmanagedBuffer/movesIntoDataWithoutCopy`` (released through the buffer's
    /// deallocator when the last copy of the `Data` goes, from whichever thread that is; a
    /// huge-page or node-bound buffer stays so), else a copy, the buffer being freed at once.
    ///
    /// Consumes the buffer: nothing else can reach the memory afterwards, so the `Data` is its
    /// only owner. Allocator statistics count the bytes as live until the `Data` releases them.
    public init<T>(moving buffer: consuming UnmanagedBuffer<T>) {
        guard buffer.movesIntoDataWithoutCopy else {
            self = buffer.withUnsafeBytes { Data($0) }
            buffer.free()
            return
        }
        let allocation = unsafe buffer.unsafeDetach()
        self = unsafe Data(
            bytesNoCopy: allocation.base, count: allocation.byteCount,
            deallocator: .custom { _, _ in unsafe allocation.release() })
    }
}

// The element rule: `BitwiseCopyable` elements are checked by the compiler, `TrivialElement`
// elements (`Complex<Double>`) at run time (`.layout(.nonTrivialElement)`), other types do not
// compile.
extension UnmanagedBuffer where Element: BitwiseCopyable {
    /// Calls `body` with a non-owning buffer viewing the bytes of `data` as elements (a `Data`
    /// read from a file or the network, worked on in place as `Double`s).
    ///
    /// The view is an `UnmanagedBuffer.Wrapped`: non-escapable, it cannot outlive the call, and
    /// writes through it change `data` (which becomes unique first, as any `Data` mutation).
    /// Throws `WrappingError.layout(_:)` — before calling `body` — when the size is not
    /// a multiple of the element's stride or the bytes are not aligned for it.
    public static func withWrapping<R, E: Error>(
        _ data: inout Data, _ body: (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R
    ) throws(WrappingError<E>) -> R {
        try viewing(&data) { (span) throws(WrappingError<E>) -> R in
            do throws(E) {
                return try withWrapping(&span, body)
            } catch {
                throw .body(error)
            }
        }
    }
}

extension UnmanagedBuffer where Element: TrivialElement {
    /// ``withWrapping(_:_:)`` for a `TrivialElement` type (`Complex<Double>`), whose
    /// layout is checked too: a type that only claims to be trivial throws
    /// `WrappingError.layout(_:)` with `nonTrivialElement` before `body` runs.
    @_disfavoredOverload
    public static func withWrapping<R, E: Error>(
        _ data: inout Data, _ body: (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R
    ) throws(WrappingError<E>) -> R {
        guard _isPOD(Element.self) else { throw .layout(.nonTrivialElement(String(describing: Element.self))) }
        return try viewing(&data) { (span) throws(WrappingError<E>) -> R in try withWrapping(&span, body) }
    }
}

extension UnmanagedBuffer {
    /// Checks that `data` holds whole, aligned elements and calls `view` with a span of them.
    private static func viewing<R, E: Error>(
        _ data: inout Data, _ view: (inout MutableSpan<Element>) throws(WrappingError<E>) -> R
    ) throws(WrappingError<E>) -> R {
        let stride = MemoryLayout<Element>.stride
        var outcome: Result<R, WrappingError<E>>?
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            let address = unsafe raw.baseAddress.map { Int(bitPattern: $0) } ?? 0
            guard raw.count % stride == 0, address % MemoryLayout<Element>.alignment == 0 else {
                outcome = .failure(
                    .layout(
                        .invalidArgument(
                            "cannot view \(raw.count) B of Data as \(Element.self): the size is not a multiple "
                                + "of \(stride) B or the bytes are not \(MemoryLayout<Element>.alignment)-aligned; "
                                + "copy it into a buffer with allocate(copying:) instead")))
                return
            }
            let elements = unsafe UnsafeMutableBufferPointer(
                start: raw.baseAddress?.assumingMemoryBound(to: Element.self), count: raw.count / stride)
            var span = unsafe MutableSpan(_unsafeElements: elements)
            do throws(WrappingError<E>) {
                outcome = .success(try view(&span))
            } catch {
                outcome = .failure(error)
            }
        }
        // withUnsafeMutableBytes always calls its closure, which always sets the outcome.
        return try outcome!.get()
    }
}
