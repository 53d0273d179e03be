/// The size and alignment of a typed request, validated: the one rule every allocation path
/// applies (the protocol's typed calls, ``AllocationRequest``, and the inlined fast paths of the
/// system allocator and the arena, which cannot name SPI types).
@usableFromInline @frozen
struct AllocationLayout {
    @usableFromInline let byteCount: Int
    @usableFromInline let alignment: Int

    /// The largest alignment any allocator accepts (1 GiB, the largest page size).
    @inlinable static var maximumAlignment: Int { 1 << 30 }

    /// The user address space of this architecture (x86_64 4-level paging; arm64 48-bit).
    @inlinable
    static var addressSpaceLimit: Int {
        #if arch(x86_64)
        return 1 << 47
        #else
        return 1 << 48
        #endif
    }

    /// Validates `count` elements of `type`, aligned to `alignment` (nil: the element's own).
    @inlinable @inline(__always)
    init<T>(_ type: T.Type, count: Int, alignment: Int?) throws(AllocationError) {
        let stride = MemoryLayout<T>.stride
        // One unsigned comparison rules out negative counts, overflow and sizes beyond the
        // address space at once (the bound folds to a constant); the slow path says which.
        guard UInt(bitPattern: count) <= UInt(AllocationLayout.addressSpaceLimit / Swift.max(stride, 1)) else {
            throw AllocationLayout.sizeError(T.self, count: count)
        }
        // Folds to nothing for BitwiseCopyable types once specialized.
        guard _isPOD(T.self) else { throw .nonTrivialElement(String(describing: T.self)) }
        let natural = MemoryLayout<T>.alignment
        let align = alignment ?? natural
        guard align >= natural, align <= AllocationLayout.maximumAlignment, align & (align &- 1) == 0 else {
            throw .invalidAlignment(
                align, minimum: natural, maximum: AllocationLayout.maximumAlignment, element: String(describing: T.self))
        }
        byteCount = count &* stride
        self.alignment = align
    }

    /// Which of the size errors a rejected `count` of `T` is.
    @usableFromInline
    static func sizeError<T>(_ type: T.Type, count: Int) -> AllocationError {
        let stride = MemoryLayout<T>.stride
        if count < 0 { return .negativeCount(count, element: String(describing: T.self)) }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        if overflow { return .sizeOverflow(count: count, stride: stride, element: String(describing: T.self)) }
        return .exceedsAddressSpace(byteCount: bytes, limit: addressSpaceLimit)
    }
}

/// The greatest common divisor of two non-negative numbers (Euclid): a grid's padding step and
/// a team's page-and-row unit in ZiggyMmap. Kept here, on every allocation's walk, rather than
/// with the grid, so that a team's walk (which cuts in such units) does not cross the grid's file.
@usableFromInline
package func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }
