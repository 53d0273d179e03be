import Glibc

// What a BufferArray's copies share: the buffer, and how to allocate a copy of it. The array
// struct caches the address and the count, so reads never touch this object.

/// How a ``BufferArray`` allocates the copy it makes on write: the allocator its buffer came
/// from, captured once (allocators that copy are shared, `Sendable` classes or values).
@usableFromInline
struct _BufferArrayCopier<Element>: Sendable {
    @usableFromInline let allocate: @Sendable (_ count: Int, _ alignment: Int) throws -> UnmanagedBuffer<Element>

    @inlinable
    init<A: UnmanagedMemoryAllocator & Sendable>(_ allocator: A, site: LeakReport.CallSite) {
        allocate = { count, alignment in
            try allocator._allocate(Element.self, count: count, alignment: alignment, zeroed: false, site: site)
        }
    }

    /// The C heap: for empty arrays, and the fallback when the buffer's own allocator refuses.
    @inlinable
    static var system: _BufferArrayCopier {
        _BufferArrayCopier(
            SystemMemoryAllocator.shared, site: LeakReport.CallSite(_fileID: #fileID, line: #line, function: #function))
    }
}

/// The storage copies of a ``BufferArray`` share; frees its buffer when the last copy dies.
@usableFromInline
final class _BufferArrayStorage<Element>: @unchecked Sendable {
    // The buffer is never written through this object: the elements are, through the array's
    // cached address, by the one array that owns the storage uniquely.
    @usableFromInline let buffer: UnmanagedBuffer<Element>
    @usableFromInline let copier: _BufferArrayCopier<Element>

    @inlinable
    init(_ buffer: consuming UnmanagedBuffer<Element>, copier: _BufferArrayCopier<Element>) {
        self.buffer = buffer
        self.copier = copier
    }

    @inlinable var base: UnsafeMutablePointer<Element> { buffer._base }
    @inlinable var count: Int { buffer._count }

    /// Storage for `buffer`, copying arena and foreign memory into memory from `allocator`
    /// (an arena frees its memory at the end of its scope, which an array can outlive).
    @inlinable
    static func adopting<A: UnmanagedMemoryAllocator & Sendable>(
        _ buffer: consuming UnmanagedBuffer<Element>, allocator: A, site: LeakReport.CallSite
    ) throws(A.Failure) -> _BufferArrayStorage {
        let copier = _BufferArrayCopier<Element>(allocator, site: site)
        guard _mustCopyOnAdoption(buffer) else { return _BufferArrayStorage(buffer, copier: copier) }
        let copy = try allocator._allocate(
            Element.self, count: buffer.count, alignment: _copyAlignment(buffer), zeroed: false, site: site)
        _copyElements(from: buffer, to: copy)
        buffer.free()
        return _BufferArrayStorage(copy, copier: copier)
    }

    /// A copy of the elements from the buffer's allocator, throwing its error.
    @usableFromInline
    func copy() throws -> _BufferArrayStorage {
        let copy = try copier.allocate(count, _copyAlignment(buffer))
        _copyElements(from: buffer, to: copy)
        return _BufferArrayStorage(copy, copier: copier)
    }

    /// A copy for a write that cannot throw: from the buffer's allocator, else from the C heap
    /// (whose buffer then reports `system`), else a trap naming both errors.
    @usableFromInline
    func copyForWrite() -> _BufferArrayStorage {
        do {
            return try copy()
        } catch {
            let fallback = _BufferArrayCopier<Element>.system
            do {
                let copy = try fallback.allocate(count, _copyAlignment(buffer))
                _copyElements(from: buffer, to: copy)
                return _BufferArrayStorage(copy, copier: copier)
            } catch let heapError {
                _copyOnWriteFailed(count, String(describing: Element.self), error, heapError)
            }
        }
    }
}

/// Whether an adopted buffer must be copied: arena memory (also under a debug wrapper) dies with
/// its scope, and wrapped foreign memory is not the array's to keep.
@usableFromInline
func _mustCopyOnAdoption<T>(_ buffer: borrowing UnmanagedBuffer<T>) -> Bool {
    if buffer.count == 0 { return false }
    let backing = buffer.backing
    return backing.backend == .scoped || !backing.isOwning
}

/// The alignment a copy keeps: what the original reports, within what allocators accept.
@usableFromInline
func _copyAlignment<T>(_ buffer: borrowing UnmanagedBuffer<T>) -> Int {
    let reported = buffer.backing.alignment
    let natural = MemoryLayout<T>.alignment
    guard reported > 0, reported & (reported - 1) == 0 else { return natural }
    return Swift.min(Swift.max(reported, natural), AllocationRequest.maximumAlignment)
}

@usableFromInline
func _copyElements<T>(from source: borrowing UnmanagedBuffer<T>, to target: borrowing UnmanagedBuffer<T>) {
    if source.count > 0 { memcpy(target._base, source._base, source._byteCount) }
}

@usableFromInline @inline(never)
func _copyOnWriteFailed(_ count: Int, _ element: String, _ first: any Error, _ second: any Error) -> Never {
    fatalError(
        "BufferArray: copy on write of \(count) × \(element) failed: its allocator threw \(first), the C heap threw "
            + "\(second); call makeUnique() before writing to handle the failure")
}
