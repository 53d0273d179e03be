// Construction by copying: from any collection (an array among them) or a span, for both halves of the
// element rule (BitwiseCopyable checked by the compiler, TrivialElement checked at run time).
// A collection is copied through its contiguous storage when it has one (one memcpy), element by
// element otherwise.
extension UnmanagedMemoryAllocator where Self: ~Copyable {
    /// Allocates `values.count` elements and copies the elements of `values` into them.
    @inlinable
    public func allocate<T: BitwiseCopyable>(
        copying values: Span<T>, fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(copying: values, site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
    }

    /// Allocates `values.count` elements and copies `values` into them, in iteration order — an
    /// array, a range, a lazy map, a `BufferArray`: one `memcpy` from contiguous storage.
    ///
    /// Throws ``AllocationError/countMismatch(destination:source:)`` (through `failure(forInvalidRequest:)`),
    /// freeing what it allocated, when the collection yields a different number of elements than
    /// its `count` said (a collection breaking its contract is an error, not uninitialized memory).
    @inlinable
    public func allocate<C: Collection>(
        copying values: C, fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<C.Element> where C.Element: BitwiseCopyable {
        try _allocate(copyingCollection: values, site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
    }

    /// Allocates and copies a span of ``TrivialElement`` values (such as `Complex<Double>`),
    /// checking the element's layout at run time as `allocate(_:count:)` does.
    @inlinable @_disfavoredOverload
    public func allocate<T: TrivialElement>(
        copying values: Span<T>, fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<T> {
        try _allocate(copying: values, site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
    }

    /// Allocates and copies a collection of ``TrivialElement`` values (an `[Complex<Double>]`, a
    /// lazy map producing them), checking the element's layout at run time.
    @inlinable @_disfavoredOverload
    public func allocate<C: Collection>(
        copying values: C, fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Failure) -> UnmanagedBuffer<C.Element> where C.Element: TrivialElement {
        try _allocate(copyingCollection: values, site: LeakReport.CallSite(_fileID: fileID, line: line, function: function))
    }

    @inlinable
    func _allocate<T>(copying values: Span<T>, site: LeakReport.CallSite) throws(Failure) -> UnmanagedBuffer<T> {
        let buffer = try _allocate(T.self, count: values.count, alignment: nil, zeroed: false, site: site)
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress, !source.isEmpty {
                UnsafeMutableRawPointer(buffer.unsafeBaseAddress).copyMemory(
                    from: start, byteCount: source.count * MemoryLayout<T>.stride)
            }
        }
        return buffer
    }

    @usableFromInline
    func _allocate<C: Collection>(
        copyingCollection values: C, site: LeakReport.CallSite
    ) throws(Failure) -> UnmanagedBuffer<C.Element> {
        let count = values.count
        let buffer = try _allocate(C.Element.self, count: count, alignment: nil, zeroed: false, site: site)
        let copied: Int? = values.withContiguousStorageIfAvailable { source in
            guard source.count == count else { return source.count }
            if let start = source.baseAddress, count > 0 {
                UnsafeMutableRawPointer(buffer.unsafeBaseAddress).copyMemory(
                    from: start, byteCount: count * MemoryLayout<C.Element>.stride)
            }
            return count
        }
        var yielded = copied ?? 0
        if copied == nil {
            let destination = buffer.unsafeBaseAddress
            for value in values {
                // Counted past the end without storing: the mismatch is reported below.
                if yielded < count { (destination + yielded).initialize(to: value) }
                yielded += 1
            }
        }
        guard yielded == count else {
            buffer.free()
            throw Self.failure(forInvalidRequest: .countMismatch(destination: count, source: yielded))
        }
        return buffer
    }
}
