// Reductions by a team: each member reduces its part with SIMD accumulators (Span.sum and
// friends), then the partial results are combined in member order — the same result for the
// same team and buffer, every time. Double and Float are pre-specialized: called from another
// module, a generic reduction would run its SIMD loop through witness tables (measured 70× slower).
extension Team {
    /// The sum of `buffer`'s elements, each member summing its part.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public func sum<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable & SendableMetatype>(
        _ buffer: borrowing UnmanagedBuffer<T>
    ) -> T {
        reduce(buffer, initial: 0, combine: +) { part in _sum(part) }
    }

    /// The dot product of `a` and `b`, each member taking its part of both. Throws
    /// ``AllocationError/countMismatch(destination:source:)`` when the counts differ.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public func dot<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable & SendableMetatype>(
        _ a: borrowing UnmanagedBuffer<T>, _ b: borrowing UnmanagedBuffer<T>
    ) throws(AllocationError) -> T {
        guard a.count == b.count else { throw .countMismatch(destination: a.count, source: b.count) }
        let other = unsafe SendableAddress(b.unsafeBaseAddress)
        return reduce(a, initial: 0, combine: +) { part, range in
            _dot(part, unsafe Span(_unsafeElements: UnsafeBufferPointer(other.elements(T.self, range))))
        }
    }

    /// The smallest element of `buffer` (nil when it is empty).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public func minimum<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable & SendableMetatype>(
        _ buffer: borrowing UnmanagedBuffer<T>
    ) -> T? {
        guard !buffer.isEmpty else { return nil }
        return reduce(buffer, initial: T.infinity, combine: { Swift.min($0, $1) }) { part in _minimum(part) ?? T.infinity }
    }

    /// The largest element of `buffer` (nil when it is empty).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public func maximum<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable & SendableMetatype>(
        _ buffer: borrowing UnmanagedBuffer<T>
    ) -> T? {
        guard !buffer.isEmpty else { return nil }
        return reduce(buffer, initial: -T.infinity, combine: { Swift.max($0, $1) }) { part in _maximum(part) ?? -T.infinity }
    }

    /// Each member reduces its parts with `partial`; the results are combined in member order.
    private func reduce<T: BitwiseCopyable & SendableMetatype>(
        _ buffer: borrowing UnmanagedBuffer<T>, initial: T, combine: (T, T) -> T,
        _ partial: @Sendable (Span<T>, Range<Int>) -> T
    ) -> T {
        let results = MemberSlots<[T]>(count: count, initial: [])
        let read = unsafe SendableAddress(buffer.unsafeBaseAddress)
        forEachPart(schedule(for: buffer)) { member, range in
            let part = unsafe Span(_unsafeElements: UnsafeBufferPointer(read.elements(T.self, range)))
            results[member.index].append(partial(part, range))
        }
        return results.values.joined().reduce(initial, combine)
    }

    private func reduce<T: BitwiseCopyable & SendableMetatype>(
        _ buffer: borrowing UnmanagedBuffer<T>, initial: T, combine: (T, T) -> T, _ partial: @Sendable (Span<T>) -> T
    ) -> T {
        reduce(buffer, initial: initial, combine: combine) { part, _ in partial(part) }
    }
}
