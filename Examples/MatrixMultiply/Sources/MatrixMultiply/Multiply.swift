import CBLAS
import ZiggyMmap

/// C = A × B by OpenBLAS, for grids in one order (row- or column-major, each its own padding): the
/// grids' pointers go to `cblas_dgemm` with their ``Grid/Layout/leadingDimension`` as lda, ldb,
/// ldc — the padded line length, not the matrix's extent. The pointers are lent for the call only
/// (the grids stay borrowed while dgemm runs, so nothing can free or move them meanwhile).
func dgemm(_ a: borrowing Grid<Double>, _ b: borrowing Grid<Double>, into c: inout Grid<Double>) {
    let (m, depth, n) = (a.layout.extents[0], a.layout.extents[1], b.layout.extents[1])
    precondition(b.layout.extents[0] == depth && c.layout.extents == [m, n], "shapes do not multiply")
    precondition(b.layout.order == a.layout.order && c.layout.order == a.layout.order, "orders differ")
    let order = a.layout.order == .rowMajor ? CblasRowMajor : CblasColMajor
    let (lda, ldb, ldc) = (a.layout.leadingDimension, b.layout.leadingDimension, c.layout.leadingDimension)
    a.buffer.withUnsafeBufferPointer { a in
        b.buffer.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                cblas_dgemm(
                    order, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(depth),
                    1, a.baseAddress, Int32(lda), b.baseAddress, Int32(ldb), 0, c.baseAddress, Int32(ldc))
            }
        }
    }
}

/// The largest |x[i] − y[i]|, by BLAS, computed in the array's own storage (no copy): y ← y − x
/// (daxpy), then the element of largest magnitude (idamax). `y` holds the differences afterwards.
/// The array is viewed as a buffer with `UnmanagedBuffer.withWrapping`, which hands C its pointer
/// as an owned buffer does (the DocC article "Passing buffers to C" shows this function).
func largestDifference(_ x: borrowing UnmanagedBuffer<Double>, _ y: inout [Double]) -> Double {
    precondition(x.count == y.count, "x and y differ in length")
    return UnmanagedBuffer.withWrapping(&y) { y in
        y.withUnsafeMutableBufferPointer { d in
            x.withUnsafeBufferPointer { x in
                let n = Int32(d.count)
                cblas_daxpy(n, -1, x.baseAddress, 1, d.baseAddress, 1)
                return d.isEmpty ? 0 : abs(d[cblas_idamax(n, d.baseAddress, 1)])
            }
        }
    }
}

/// The reference: the textbook triple loop, in Swift, through the grids' bounds-checked
/// subscripts (which know each grid's order and padding), into an array laid out as `layout`
/// (its padding left 0) so that it compares element for element with C's storage.
func naiveMultiply(_ a: borrowing Grid<Double>, _ b: borrowing Grid<Double>, layout: Grid<Double>.Layout) -> [Double] {
    let (m, depth, n) = (a.layout.extents[0], a.layout.extents[1], b.layout.extents[1])
    let (rowStride, columnStride) = (layout.strides[0], layout.strides[1])
    var c = [Double](repeating: 0, count: layout.count)
    for i in 0..<m {
        for k in 0..<depth {
            let aik = a[i, k]
            for j in 0..<n { c[i * rowStride + j * columnStride] += aik * b[k, j] }
        }
    }
    return c
}

/// Deterministic, not-too-regular values in [-0.5, 0.5), a function of the row-major position
/// (so a matrix holds the same values in either order); the padding is left as allocated.
func fill(_ m: inout Grid<Double>, seed: Int) {
    let (rows, columns) = (m.layout.extents[0], m.layout.extents[1])
    var view = m.mutableView
    for i in 0..<rows {
        for j in 0..<columns { view[i, j] = Double(((i * columns + j) &* 2_654_435_761 &+ seed) & 1023) / 1024 - 0.5 }
    }
}
