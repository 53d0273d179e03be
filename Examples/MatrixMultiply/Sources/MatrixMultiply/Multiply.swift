import CBLAS
import ZiggyMmap

/// C = A × B for n × n row-major matrices, by OpenBLAS. The pointers are lent for the call only
/// (the buffers stay borrowed while dgemm runs, so nothing can free or move them meanwhile).
func dgemm(
    _ a: borrowing UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>,
    into c: inout UnmanagedBuffer<Double>, n: Int
) {
    precondition(a.count == n * n && b.count == n * n && c.count == n * n, "matrices must be \(n) × \(n)")
    let n32 = Int32(n)
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                cblas_dgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32,
                    1, a.baseAddress, n32, b.baseAddress, n32, 0, c.baseAddress, n32)
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

/// The reference: the textbook triple loop, in Swift, bounds-checked.
func naiveMultiply(_ a: borrowing UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for k in 0..<n {
            let aik = a[i * n + k]
            for j in 0..<n { c[i * n + j] += aik * b[k * n + j] }
        }
    }
    return c
}

/// Deterministic, not-too-regular values in [-0.5, 0.5).
func fill(_ m: inout UnmanagedBuffer<Double>, seed: Int) {
    for i in m.indices { m[i] = Double((i &* 2_654_435_761 &+ seed) & 1023) / 1024 - 0.5 }
}
