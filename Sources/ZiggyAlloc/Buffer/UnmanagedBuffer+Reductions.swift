// Vectorized reductions. A plain `for i in buffer.indices { sum += buffer[i] }` is not vectorized
// by the compiler (floating-point addition is not associative, so it keeps one scalar chain —
// about 4× slower); these keep four SIMD8 accumulators and combine them at the end. The result
// therefore groups additions differently from a sequential loop: equal up to rounding, not bit
// for bit. Methods of the buffer (the library extends no standard-library type); the span-level
// functions are the package's, for the team reductions over each member's part.
extension UnmanagedBuffer where Element: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable {
    /// The sum of the elements (0 for an empty buffer).
    @inlinable
    public func sum() -> Element { _sum(span) }

    /// The dot product with `other`; traps, naming both counts, when they differ.
    @inlinable
    public func dot(_ other: borrowing UnmanagedBuffer<Element>) -> Element {
        if _slowPath(count != other.count) { _reportFatal("dot: \(count) elements against \(other.count)") }
        precondition(count == other.count, "dot: the counts differ")
        return _dot(span, other.span)
    }

    /// The smallest element (nil for an empty buffer); with NaN elements the result is unspecified.
    @inlinable
    public func minimum() -> Element? { _minimum(span) }

    /// The largest element (nil for an empty buffer); with NaN elements the result is unspecified.
    @inlinable
    public func maximum() -> Element? { _maximum(span) }
}

/// The sum of `span`'s elements (see the buffer's ``UnmanagedBuffer/sum()``).
@inlinable
package func _sum<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable>(_ span: Span<T>) -> T {
    span.withUnsafeBufferPointer { elements in
        _reduce(
            elements, elements, combine: { $0 + $1 }, step: { accumulator, x, _ in accumulator += x },
            scalar: { accumulator, x, _ in accumulator += x })
    }
}

/// The dot product of two spans of the same count.
@inlinable
package func _dot<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable>(_ a: Span<T>, _ b: Span<T>) -> T {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            _reduce(
                a, b, combine: { $0 + $1 }, step: { accumulator, x, y in accumulator.addProduct(x, y) },
                scalar: { accumulator, x, y in accumulator += x * y })
        }
    }
}

/// The smallest element of `span`, nil when empty.
@inlinable
package func _minimum<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable>(_ span: Span<T>) -> T? {
    guard !span.isEmpty else { return nil }
    return span.withUnsafeBufferPointer { elements in
        _reduce(
            elements, elements, initial: elements[0], combine: { Swift.min($0, $1) },
            step: { accumulator, x, _ in accumulator = pointwiseMin(accumulator, x) },
            scalar: { accumulator, x, _ in accumulator = Swift.min(accumulator, x) })
    }
}

/// The largest element of `span`, nil when empty.
@inlinable
package func _maximum<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable>(_ span: Span<T>) -> T? {
    guard !span.isEmpty else { return nil }
    return span.withUnsafeBufferPointer { elements in
        _reduce(
            elements, elements, initial: elements[0], combine: { Swift.max($0, $1) },
            step: { accumulator, x, _ in accumulator = pointwiseMax(accumulator, x) },
            scalar: { accumulator, x, _ in accumulator = Swift.max(accumulator, x) })
    }
}

/// Four SIMD8 accumulators over `a` (and `b`, read in step), then the tail, then one combine.
@inlinable @inline(__always)
func _reduce<T: BinaryFloatingPoint & SIMDScalar & BitwiseCopyable>(
    _ a: UnsafeBufferPointer<T>, _ b: UnsafeBufferPointer<T>, initial: T = 0,
    combine: (T, T) -> T, step: (inout SIMD8<T>, SIMD8<T>, SIMD8<T>) -> Void, scalar: (inout T, T, T) -> Void
) -> T {
    let n = a.count
    guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return initial }
    var acc0 = SIMD8<T>(repeating: initial), acc1 = acc0, acc2 = acc0, acc3 = acc0
    let rawA = UnsafeRawPointer(pa), rawB = UnsafeRawPointer(pb)
    let width = MemoryLayout<SIMD8<T>>.stride
    var i = 0
    while i + 32 <= n {
        let offset = i * MemoryLayout<T>.stride
        step(
            &acc0, rawA.loadUnaligned(fromByteOffset: offset, as: SIMD8<T>.self),
            rawB.loadUnaligned(fromByteOffset: offset, as: SIMD8<T>.self))
        step(
            &acc1, rawA.loadUnaligned(fromByteOffset: offset + width, as: SIMD8<T>.self),
            rawB.loadUnaligned(fromByteOffset: offset + width, as: SIMD8<T>.self))
        step(
            &acc2, rawA.loadUnaligned(fromByteOffset: offset + 2 * width, as: SIMD8<T>.self),
            rawB.loadUnaligned(fromByteOffset: offset + 2 * width, as: SIMD8<T>.self))
        step(
            &acc3, rawA.loadUnaligned(fromByteOffset: offset + 3 * width, as: SIMD8<T>.self),
            rawB.loadUnaligned(fromByteOffset: offset + 3 * width, as: SIMD8<T>.self))
        i += 32
    }
    var total = initial
    for vector in [acc0, acc1, acc2, acc3] { for lane in 0..<8 { total = combine(total, vector[lane]) } }
    while i < n {
        scalar(&total, pa[i], pb[i])
        i += 1
    }
    return total
}
