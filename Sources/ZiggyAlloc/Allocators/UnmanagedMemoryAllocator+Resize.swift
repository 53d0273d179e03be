import Glibc

// Resizing a buffer without ever losing its data: in place or remapped when the allocator can
// (`resizeRaw`, its vtable entry), by allocate + copy + free otherwise. Every check runs before
// anything changes, and every step that can fail comes before the first one that cannot be
// undone, so a thrown error leaves the buffer exactly as it was: same address, contents, count.

extension UnmanagedBuffer {
    /// How ``UnmanagedMemoryAllocator/resize(_:to:fileID:line:function:)`` changed a buffer.
    public enum ResizeOutcome: Sendable, Hashable, CustomStringConvertible {
        /// The count was already the one asked for: nothing happened.
        case unchanged
        /// The buffer kept its address (the allocator grew or shrank it where it was).
        case inPlace
        /// The kernel or the C library moved the memory to a new address without a copy by this
        /// library (`mremap` with `MREMAP_MAYMOVE`, `realloc`).
        case remapped
        /// The buffer now refers to other memory: a new allocation from this allocator holding a copy
        /// of the kept elements (the old memory is freed), or — resizing to 0 — no memory at all.
        case moved

        public var description: String {
            switch self {
            case .unchanged: return "unchanged"
            case .inPlace: return "in place"
            case .remapped: return "remapped"
            case .moved: return "moved"
            }
        }
    }
}

extension UnmanagedMemoryAllocator where Self: ~Copyable {
    /// Grows or shrinks `buffer` to `newCount` elements, keeping the first min(old, new) elements;
    /// grown elements are uninitialized (fresh mapped pages read as zero).
    ///
    /// Tries, in order: nothing (`newCount` is the count already), freeing (`newCount` 0 leaves an
    /// empty buffer), this allocator's `resizeRaw(_:to:)` (in place, or remapped by the kernel or
    /// the C library), and finally a new allocation from this allocator, a copy and a free of the
    /// old memory through its own deallocator. The buffer may come from any allocator; after a
    /// move it belongs to this one. The alignment the buffer reports is kept.
    ///
    /// **Failure.** Throws this allocator's error for a negative, overflowing or too large count
    /// (through `failure(forInvalidRequest:)`), for a buffer that does not own its memory
    /// (wrapped memory: allocate a buffer and copy instead) or whose owner refuses to be resized
    /// (`BufferOwner.resizeRefusal`, a file mapping for example), and for a backend failure (no
    /// memory, no huge pages). On every throw the buffer is exactly as before: same address, same
    /// contents, same count, still owned; nothing is left allocated, mapped or counted.
    ///
    /// **Ownership and threads.** `inout`: no other reference to the buffer exists while it is
    /// resized; the allocator's own thread-safety rules apply (arenas allocate on one thread).
    @discardableResult
    public func resize<T>(
        _ buffer: inout UnmanagedBuffer<T>, to newCount: Int,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T>.ResizeOutcome {
        let oldCount = buffer.count
        let alignment = Self.keptAlignment(of: buffer)
        let request: AllocationRequest
        do {
            request = try AllocationRequest(
                T.self, count: newCount, alignment: alignment, zeroed: false,
                site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
        } catch {
            throw Self.failure(forInvalidRequest: error)
        }
        if !buffer._deallocator.isOwning && oldCount > 0 {
            throw Self.failure(
                forInvalidRequest: .invalidArgument(
                    "resize of \(oldCount) × \(T.self) to \(newCount): a wrapped buffer does not own its memory; "
                        + "allocate a buffer and copy"))
        }
        if let refusal = Self.refusal(of: buffer) {
            throw Self.failure(
                forInvalidRequest: .invalidArgument("resize of \(oldCount) × \(T.self) to \(newCount): \(refusal)"))
        }
        if newCount == oldCount { return .unchanged }
        if request.byteCount == 0 {
            let old = buffer.unsafeDetach()
            buffer = UnmanagedBuffer(_emptyAlignedTo: request.alignment)
            old.release()
            return .moved
        }
        let oldBytes = buffer._byteCount
        let old = RawAllocation(base: UnsafeMutableRawPointer(buffer._base), byteCount: oldBytes, deallocator: buffer._deallocator)
        if oldBytes > 0, let resized = try resizeRaw(old, to: request) {
            check(resized, request)
            // resizeRaw spent the old deallocator: give the old value up without releasing it.
            _ = buffer.unsafeDetach()
            buffer = UnmanagedBuffer(_base: resized.base, count: newCount, deallocator: resized.deallocator)
            return resized.base == old.base ? .inPlace : .remapped
        }
        let fresh = try allocateRaw(request)
        check(fresh, request)
        memcpy(fresh.base, old.base, min(oldBytes, request.byteCount))
        let detached = buffer.unsafeDetach()
        buffer = UnmanagedBuffer(_base: fresh.base, count: newCount, deallocator: fresh.deallocator)
        detached.release()
        return .moved
    }

    private func check(_ raw: RawAllocation, _ request: AllocationRequest) {
        if _slowPath(raw.byteCount != request.byteCount || Int(bitPattern: raw.base) & (request.alignment &- 1) != 0) {
            _allocatorBroke(String(describing: Self.self), raw, request)
        }
    }

    /// The alignment the buffer reports, as a valid request alignment for `T` (a custom owner may
    /// report less than `T` needs, or a value that is not a power of two).
    private static func keptAlignment<T>(of buffer: borrowing UnmanagedBuffer<T>) -> Int {
        let reported = buffer.backing.alignment
        let natural = MemoryLayout<T>.alignment
        guard reported > natural, reported & (reported &- 1) == 0 else { return natural }
        return min(reported, AllocationRequest.maximumAlignment)
    }

    /// The first refusal in the buffer's chain of owners (through wrappers such as debug records).
    private static func refusal<T>(of buffer: borrowing UnmanagedBuffer<T>) -> String? {
        var current = buffer.owner
        while let owner = current {
            if let refusal = owner.resizeRefusal { return refusal }
            current = owner.wrappedOwner
        }
        return nil
    }
}
