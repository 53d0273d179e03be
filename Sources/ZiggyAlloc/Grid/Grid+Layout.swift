extension Grid {
    /// Which index varies fastest in memory.
    public enum Order: Sendable, Hashable {
        /// C order: the last index is contiguous (`[row, column]`, a row is one line).
        case rowMajor
        /// Fortran, BLAS and LAPACK order: the first index is contiguous (a column is one line).
        case columnMajor
    }

    /// How the fastest dimension is padded, so that every line (a row in row-major order) starts
    /// on a boundary of its own.
    public enum Padding: Sendable, Hashable {
        /// Lines are exactly as long as the extent.
        case none
        /// Every line starts on a 64-byte cache line: no line's first load straddles two lines, and
        /// a team's blocks (whole lines) never share one. The default, for elements of any size
        /// (lines of elements wider than 64 B are padded to a multiple of lcm(64, stride) bytes).
        case cacheLine
        /// Every line starts on a multiple of this many bytes (a power of two, at least the
        /// element's stride): a SIMD width, or 4096 for page-aligned lines.
        case bytes(Int)

        /// The byte multiple a line is padded to (1 for none).
        package var byteMultiple: Int {
            switch self {
            case .none: return 1
            case .cacheLine: return 64
            case .bytes(let bytes): return bytes
            }
        }
    }

    /// A grid's shape in memory: its extents, the order and padding of its lines, and the strides
    /// that follow — what `cblas_dgemm`'s `lda`, LAPACK's leading dimension and FFTW's embedded
    /// layouts (`inembed`) need.
    ///
    /// A value: computing one allocates nothing, so a caller can size a buffer before asking for it.
    public struct Layout: Sendable, Hashable, CustomStringConvertible {
        /// The number of indices along each dimension, in index order (rank 2 or 3).
        public let extents: [Int]
        /// Elements between consecutive indices of each dimension, in index order (1 for the
        /// fastest dimension).
        public let strides: [Int]
        /// Which index is contiguous.
        public let order: Order
        /// How lines are padded.
        public let padding: Padding
        /// Elements the storage holds, padding included (what a flat buffer for it must have).
        public let count: Int

        /// Describes a grid of `extents` (2 or 3 of them, each at least 1) of `Element` in `order`,
        /// its fastest dimension padded as `padding` says.
        ///
        /// Throws ``AllocationError/invalidArgument(_:)`` naming the value for a rank other than 2
        /// or 3, an extent below 1, a padding that is not a power of two or (``Padding/bytes(_:)``)
        /// is smaller than the element, and ``AllocationError/sizeOverflow(count:stride:element:)``
        /// naming the extents when the padded size does not fit in `Int` (its count is `Int.max`
        /// when the element count itself overflows).
        public init(_ extents: [Int], order: Order = .rowMajor, padding: Padding = .cacheLine) throws(AllocationError) {
            let element = "\(Element.self)"
            let stride = MemoryLayout<Element>.stride
            guard extents.count == 2 || extents.count == 3 else {
                throw .invalidArgument(
                    "Grid extents \(extents) have rank \(extents.count); a grid has 2 or 3 dimensions "
                        + "(use UnmanagedBuffer for one)")
            }
            if let bad = extents.firstIndex(where: { $0 < 1 }) {
                throw .invalidArgument(
                    "Grid extents \(extents): extent \(extents[bad]) of dimension \(bad) is below 1; "
                        + "every extent must be at least 1")
            }
            let multiple = padding.byteMultiple
            // A padding the caller chose must hold an element; the default (a cache line) serves
            // elements of any size, since lines of wider ones need at most lcm(64, stride) bytes.
            let holdsElement = padding == .none || padding == .cacheLine || multiple >= stride
            guard multiple > 0, multiple & (multiple - 1) == 0, holdsElement else {
                throw .invalidArgument(
                    "Grid padding \(multiple) B for \(element) (stride \(stride) B): a padding must be a power of two "
                        + "of at least the element's stride")
            }
            let fastest = order == .rowMajor ? extents.count - 1 : 0
            // Padding to `multiple` bytes rounds the line to a multiple of this many elements.
            let step = padding == .none ? 1 : multiple / greatestCommonDivisor(multiple, stride)
            let (rounded, roundOverflow) = extents[fastest].addingReportingOverflow(step - 1)
            let line = rounded / step * step
            var strides = Array(repeating: 1, count: extents.count)
            var running = line
            var overflow = roundOverflow
            // Strides grow away from the fastest dimension: the next one's is the padded line.
            let others = order == .rowMajor ? Array((0..<fastest).reversed()) : Array(1..<extents.count)
            for dimension in others {
                strides[dimension] = running
                let (next, over) = running.multipliedReportingOverflow(by: extents[dimension])
                overflow = overflow || over
                running = next
            }
            let (_, bytesOverflow) = running.multipliedReportingOverflow(by: stride)
            guard !overflow, !bytesOverflow else {
                // The count may itself have overflowed: the extents are what names the request.
                throw .sizeOverflow(
                    count: overflow ? Int.max : running, stride: stride, element: "\(element) in a grid of extents \(extents)")
            }
            self.extents = extents
            self.strides = strides
            self.order = order
            self.padding = padding
            count = running
        }

        /// The number of dimensions (2 or 3; public as `extents.count`).
        @usableFromInline package var rank: Int { extents.count }

        /// Elements between consecutive lines: the padded extent of the fastest dimension — BLAS
        /// and LAPACK's `lda`, FFTW's `inembed` for the fastest dimension.
        public var leadingDimension: Int { strides[order == .rowMajor ? rank - 2 : 1] }

        /// Bytes the storage occupies, padding included (public as `count * MemoryLayout<Element>.stride`,
        /// and as a grid's `buffer.byteCount`).
        package var byteCount: Int { count * MemoryLayout<Element>.stride }

        /// The dimension a team splits the grid along (the first in row-major order, the last in
        /// column-major): whole indices of it — rows of a 2-D grid, planes of a 3-D one — make a block.
        /// Public as `order == .rowMajor ? 0 : extents.count - 1`.
        package var slowestDimension: Int { order == .rowMajor ? 0 : rank - 1 }

        @usableFromInline var fastestDimension: Int { order == .rowMajor ? rank - 1 : 0 }

        public var description: String {
            let fastest = fastestDimension
            let pad = leadingDimension - extents[fastest]
            let stride = MemoryLayout<Element>.stride
            return "\(extents.map(String.init).joined(separator: " × ")) \(Element.self), "
                + "\(order == .rowMajor ? "row-major" : "column-major"), strides \(strides) elements, lines of "
                + "\(leadingDimension) (\(pad) padding, \(leadingDimension * stride) B), \(count * stride) B"
        }
    }
}
