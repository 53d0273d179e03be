import CFFTW
import ComplexModule
import Foundation
import ZiggyMmap

/// The 2-D DFT of `input` into `output` (row-major grids of one shape, `sign` FFTW_FORWARD or
/// FFTW_BACKWARD, unnormalized). Returns the best execution time of `repeats` runs.
///
/// `fftw_plan_dft_2d` takes no line length: it needs contiguous rows, so it gets grids allocated
/// with `padding: .none`. Padded grids go to the advanced interface, `fftw_plan_many_dft`, whose
/// embedded layout says where each row starts: `inembed` = {rows, layout.leadingDimension}. Both
/// are planned, executed and destroyed inside the closures that lend the pointers, as in 1-D.
@discardableResult
func transform(
    _ input: inout Grid<Complex<Double>>, into output: inout Grid<Complex<Double>>, sign: Int32, repeats: Int = 1
) -> Double {
    let (inLayout, outLayout) = (input.layout, output.layout)
    precondition(inLayout.extents.count == 2 && inLayout.extents == outLayout.extents, "the grids must be 2-D, of one shape")
    precondition(inLayout.order == .rowMajor && outLayout.order == .rowMajor, "FFTW's arrays are row-major")
    let (rows, columns) = (Int32(inLayout.extents[0]), Int32(inLayout.extents[1]))
    let (inLine, outLine) = (Int32(inLayout.leadingDimension), Int32(outLayout.leadingDimension))
    return input.withUnsafeMutableBufferPointer { input in
        output.withUnsafeMutableBufferPointer { output in
            input.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: input.count) { i in
                output.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: output.count) { o in
                    let flags = UInt32(FFTW_ESTIMATE)
                    let plan =
                        inLine == columns && outLine == columns
                        ? fftw_plan_dft_2d(rows, columns, i, o, sign, flags)
                        : fftw_plan_many_dft(
                            2, [rows, columns], 1, i, [rows, inLine], 1, 0, o, [rows, outLine], 1, 0, sign, flags)
                    defer { fftw_destroy_plan(plan) }
                    var best = Double.infinity
                    for _ in 0..<repeats {
                        let start = ContinuousClock.now
                        fftw_execute(plan)
                        best = min(best, seconds(ContinuousClock.now - start))
                    }
                    return best
                }
            }
        }
    }
}

/// A row-major grid of `Complex<Double>` from `allocator`, its rows padded as `padding` says.
///
/// `Grid(extents:…allocator:)` asks for a `BitwiseCopyable` element, which swift-numerics'
/// `Complex` does not declare; the allocators take it as a ``TrivialElement`` (its layout checked
/// at run time), and `Grid(_:layout:)` turns that flat buffer into the grid without copying.
/// Aligned to 64 bytes: every FFTW SIMD alignment, and whole cache lines for padded rows.
func complexGrid<A: UnmanagedMemoryAllocator & ~Copyable>(
    _ extents: [Int], padding: Grid<Complex<Double>>.Padding, allocator: borrowing A
) throws -> Grid<Complex<Double>> {
    let layout = try Grid<Complex<Double>>.Layout(extents, padding: padding)
    return try Grid(allocator.allocate(Complex<Double>.self, count: layout.count, alignment: 64), layout: layout)
}

/// The textbook 2-D DFT, X[k0, k1] = Σ x[j0, j1] e^(−2πi (j0 k0 / n0 + j1 k1 / n1)), in O(n²),
/// through the grid's subscripts; element [k0, k1] at k0 × n1 + k1.
func naiveDFT(_ x: borrowing Grid<Complex<Double>>) -> [Complex<Double>] {
    let (n0, n1) = (x.layout.extents[0], x.layout.extents[1])
    var result = [Complex<Double>](repeating: .zero, count: n0 * n1)
    for k0 in 0..<n0 {
        for k1 in 0..<n1 {
            var sum = Complex<Double>.zero
            for j0 in 0..<n0 {
                for j1 in 0..<n1 {
                    let turns = Double((j0 * k0) % n0) / Double(n0) + Double((j1 * k1) % n1) / Double(n1)
                    sum += x[j0, j1] * Complex(cos(-2 * .pi * turns), sin(-2 * .pi * turns))
                }
            }
            result[k0 * n1 + k1] = sum
        }
    }
    return result
}

/// Deterministic 2-D test signal: a plane wave, a tone along the rows and a ramp. The padding is
/// left as allocated (FFTW reads no element outside the embedded rows).
func fillSignal(_ x: inout Grid<Complex<Double>>) {
    let (n0, n1) = (x.layout.extents[0], x.layout.extents[1])
    var view = x.mutableView
    for j0 in 0..<n0 {
        for j1 in 0..<n1 {
            let (t0, t1) = (Double(j0) / Double(n0), Double(j1) / Double(n1))
            view[j0, j1] = Complex(cos(2 * .pi * (3 * t0 + 2 * t1)) + 0.25 * t0, 0.5 * sin(2 * .pi * 5 * t1) + 0.1 * t0 * t1)
        }
    }
}

/// The largest |a[i, j] / scale − b[i, j]| over the grids' elements (padding excluded).
func largestDifference(
    _ a: borrowing Grid<Complex<Double>>, scaledBy scale: Double, _ b: borrowing Grid<Complex<Double>>
) -> Double {
    var largest = 0.0
    for i in 0..<a.layout.extents[0] {
        for j in 0..<a.layout.extents[1] { largest = max(largest, (scaled(a[i, j], 1 / scale) - b[i, j]).length) }
    }
    return largest
}
