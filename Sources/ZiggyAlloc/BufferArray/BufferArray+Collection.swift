// The collection protocols, over the cached address and count: reads never touch the storage
// object, writes check uniqueness once per element (subscript) or once per call (bulk access).
// What the standard library's defaults for `Int` indices already give is not restated: `count`,
// `isEmpty`, `indices` (a `Range<Int>`), the `IndexingIterator` of `for x in array` (which the
// optimizer reduces to the same pointer loop: ziggy-bench's view-sum "array (for-in)" row).
extension BufferArray: RandomAccessCollection, MutableCollection {
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { _count }

    // Index arithmetic never traps: positions are plain integers, and one outside the array
    // (also one that wrapped around Int's range) is refused by the subscript, naming the index
    // and the count — the one trap bad indices lead to.
    @inlinable public func index(after i: Int) -> Int { i &+ 1 }
    @inlinable public func index(before i: Int) -> Int { i &- 1 }
    @inlinable public func index(_ i: Int, offsetBy distance: Int) -> Int { i &+ distance }
    @inlinable public func distance(from start: Int, to end: Int) -> Int { end &- start }

    @inlinable
    public func index(_ i: Int, offsetBy distance: Int, limitedBy limit: Int) -> Int? {
        let room = limit &- i
        if distance >= 0 ? (room >= 0 && room < distance) : (room <= 0 && room > distance) { return nil }
        return i &+ distance
    }

    /// The element at `index`; traps with the index and the count when out of range. Setting
    /// copies shared storage first (see the type's discussion).
    @inlinable
    public subscript(index: Int) -> Element {
        @inline(__always) get {
            _checkIndex(index, _count)
            return _base[index]
        }
        @inline(__always) set {
            _checkIndex(index, _count)
            _makeMutable()
            _base[index] = newValue
        }
    }

    /// A view of `bounds`; traps, naming the range and the count, when `bounds` is not within
    /// `0..<count`. Writing through it copies shared storage first.
    @inlinable
    public subscript(bounds: Range<Int>) -> Slice<BufferArray<Element>> {
        get {
            _checkRange(bounds, _count)
            return Slice(base: self, bounds: bounds)
        }
        set {
            _checkRange(bounds, _count)
            if _slowPath(newValue.count != bounds.count) { _sliceCountMismatch(newValue.count, bounds) }
            _makeMutable()
            var target = bounds.lowerBound
            for element in newValue {
                _base[target] = element
                target &+= 1
            }
        }
    }

    @inlinable
    public mutating func swapAt(_ i: Int, _ j: Int) {
        _checkIndex(i, _count)
        _checkIndex(j, _count)
        guard i != j else { return }
        _makeMutable()
        let first = _base[i]
        _base[i] = _base[j]
        _base[j] = first
    }

    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R? {
        try withUnsafeBufferPointer(body)
    }

    @inlinable
    public mutating func withContiguousMutableStorageIfAvailable<R>(
        _ body: (inout UnsafeMutableBufferPointer<Element>) throws -> R
    ) rethrows -> R? {
        try withUnsafeMutableBufferPointer { pointer in
            var lent = pointer
            // As Array does: a body that swaps the pointer for another could free or leak memory.
            defer {
                if _slowPath(lent.baseAddress != pointer.baseAddress || lent.count != pointer.count) { _bufferPointerReplaced() }
            }
            return try body(&lent)
        }
    }
}

@usableFromInline @inline(never)
func _sliceCountMismatch(_ count: Int, _ bounds: Range<Int>) -> Never {
    fatalError("BufferArray: cannot replace the \(bounds.count) elements of \(bounds) with \(count) (the count is fixed)")
}

@usableFromInline @inline(never)
func _bufferPointerReplaced() -> Never {
    fatalError("BufferArray: withContiguousMutableStorageIfAvailable's body replaced the buffer pointer")
}
